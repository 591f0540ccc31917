// Deletion and insertion curves on plain data: patch orders, step counts, masks, areas, and
// the curves of a scorer whose score is the sum of the visible patches' weights — where a map
// equal to those weights must beat random orders — with each distinct image scored once.

#include "querylens/error.h"
#include "querylens/faithfulness.h"

#include <QtTest>

#include <numeric>
#include <random>
#include <set>

using namespace querylens;

namespace {

// The score of an image: the summed weight of the patches that still show the image.
MaskScorer visibleWeight(const std::vector<float>& weights, int& calls, int& images)
{
    return [&weights, &calls, &images](const std::vector<std::vector<std::uint8_t>>& masks) {
        ++calls;
        images += int(masks.size());
        std::vector<double> scores;
        for (const auto& mask : masks) {
            double s = 0;
            for (std::size_t p = 0; p < mask.size(); ++p)
                s += mask[p] ? 0.0 : weights[p];
            scores.push_back(s);
        }
        return scores;
    };
}

}  // namespace

class TestFaithfulness : public QObject {
    Q_OBJECT

private slots:
    void patchOrderIsMostImportantFirstWithStableTies()
    {
        QCOMPARE(patchOrder({0.1f, 0.5f, 0.5f, -1.0f, 0.3f}), (std::vector<int>{1, 2, 4, 0, 3}));
    }

    void randomOrdersArePermutationsFixedBySeed()
    {
        const auto a = randomPatchOrder(256, 7), b = randomPatchOrder(256, 7), c = randomPatchOrder(256, 8);
        QCOMPARE(a, b);
        QVERIFY(a != c);
        std::vector<int> sorted = a;
        std::sort(sorted.begin(), sorted.end());
        std::vector<int> all(256);
        std::iota(all.begin(), all.end(), 0);
        QCOMPARE(sorted, all);
    }

    void stepsAndMasks()
    {
        QCOMPARE(stepPatchCounts(256, 4), (std::vector<int>{0, 64, 128, 192, 256}));
        QCOMPARE(stepPatchCounts(10, 3), (std::vector<int>{0, 3, 7, 10}));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, stepPatchCounts(10, 0));
        const std::vector<int> order{2, 0, 1, 3};
        QCOMPARE(baselineMask(order, 2, true), (std::vector<std::uint8_t>{1, 0, 1, 0}));   // deleted: 2 and 0
        QCOMPARE(baselineMask(order, 2, false), (std::vector<std::uint8_t>{0, 1, 0, 1}));  // revealed: 2 and 0
        QCOMPARE(curveArea({0, 0.5, 1}, {1, 1, 0}), 0.75);
    }

    void aFaithfulMapBeatsRandomOrders_data()
    {
        QTest::addColumn<int>("steps");
        QTest::addColumn<int>("randomOrders");
        QTest::newRow("10 steps, 2 random orders") << 10 << 2;
        QTest::newRow("4 steps, 5 random orders") << 4 << 5;
    }
    void aFaithfulMapBeatsRandomOrders()
    {
        QFETCH(int, steps);
        QFETCH(int, randomOrders);
        std::mt19937 rng(3);
        std::exponential_distribution<float> weight(1.0f);
        std::vector<float> weights(256);
        for (float& w : weights)
            w = weight(rng);
        FaithfulnessOptions options;
        options.steps = steps;
        options.randomOrders = randomOrders;
        options.batchSize = 7;
        int calls = 0, images = 0;
        const FaithfulnessReport report = faithfulnessCurves(weights, options, "visible weight", visibleWeight(weights, calls, images));
        QCOMPARE(report.score, std::string("visible weight"));
        QCOMPARE(int(report.deletion.scores.size()), steps + 1);
        const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
        QVERIFY(std::abs(report.original - total) < 1e-3);
        QCOMPARE(report.baseline, 0.0);
        QCOMPARE(report.insertion.scores.front(), 0.0);  // all baseline
        QVERIFY(std::abs(report.insertion.scores.back() - total) < 1e-3);
        QVERIFY(report.deletion.area < report.randomDeletion.area);
        QVERIFY(report.insertion.area > report.randomInsertion.area);
        for (std::size_t i = 1; i < report.deletion.scores.size(); ++i)
            QVERIFY(report.deletion.scores[i] <= report.deletion.scores[i - 1] + 1e-9);  // only patches leave
        // Each distinct image once: the two ends, and the inner steps of every order and direction.
        QCOMPARE(images, 2 + 2 * (steps - 1) * (1 + randomOrders));
        QCOMPARE(calls, (images + 6) / 7);
    }

    void anInvertedMapLosesToRandom()
    {
        std::vector<float> weights(64);
        for (std::size_t i = 0; i < weights.size(); ++i)
            weights[i] = float(i);
        std::vector<float> inverted(weights.rbegin(), weights.rend());
        int calls = 0, images = 0;
        const FaithfulnessReport report = faithfulnessCurves(inverted, {}, "visible weight", visibleWeight(weights, calls, images));
        QVERIFY(report.deletion.area > report.randomDeletion.area);
    }

    void cancelStopsBetweenGroups()
    {
        std::vector<float> weights(64, 1.0f);
        int calls = 0, images = 0;
        int asked = 0;
        QVERIFY_THROWS_EXCEPTION(Cancelled, faithfulnessCurves(weights, {}, "w", visibleWeight(weights, calls, images),
                                                               [&](double, const std::string&) { return ++asked < 2; }));
        QCOMPARE(calls, 1);
    }
};

QTEST_GUILESS_MAIN(TestFaithfulness)
#include "test_faithfulness.moc"
