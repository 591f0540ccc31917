// The explorer's maps and statistics, on the reference cross- and self-attention tensors of
// ../shared/fixtures/tiny-opt: selections reproduce the tensors exactly, aggregations and
// statistics match a direct computation, and the flow and word maps keep their definitions.

#include "fixtures.h"
#include "querylens/attention_export.h"
#include "querylens/attention_views.h"

#include <QtTest>

#include <cmath>
#include <numeric>

using namespace querylens;

namespace {

const char* kConfig = "tiny-opt";
constexpr int kHeads = 4, kQueries = 32, kTokens = 257, kGrid = 16;

CrossAttentionMaps referenceCross()
{
    CrossAttentionMaps cross;
    cross.layers = 2;
    cross.heads = kHeads;
    cross.queries = kQueries;
    cross.tokens = kTokens;
    cross.gridSize = kGrid;
    cross.qformerLayers = {0, 2};
    for (int layer : cross.qformerLayers) {
        const auto values = testsupport::goldenFloats(kConfig, "qformer_cross_attentions_L" + std::to_string(layer));
        cross.probabilities.insert(cross.probabilities.end(), values.begin(), values.end());
    }
    return cross;
}

QuerySelfAttention referenceSelf()
{
    QuerySelfAttention self;
    self.layers = 4;
    self.heads = kHeads;
    self.queries = kQueries;
    for (int layer = 0; layer < 4; ++layer) {
        const auto values = testsupport::goldenFloats(kConfig, "qformer_self_attentions_L" + std::to_string(layer));
        self.probabilities.insert(self.probabilities.end(), values.begin(), values.end());
    }
    return self;
}

// golden [1, heads, queries, tokens] of one Q-Former layer at (head, query, token).
float golden(const std::vector<float>& layer, int head, int query, int token)
{
    return layer[(std::size_t(head) * kQueries + query) * kTokens + token];
}

}  // namespace

class TestAttentionViews : public QObject {
    Q_OBJECT

private slots:
    void everyRowIsAProbabilityDistribution()
    {
        const CrossAttentionMaps cross = referenceCross();
        for (int l = 0; l < cross.layers; ++l)
            for (int h = 0; h < cross.heads; ++h)
                for (int q = 0; q < cross.queries; ++q) {
                    double sum = 0;
                    for (int t = 0; t < cross.tokens; ++t)
                        sum += cross.at(l, h, q, t);
                    QVERIFY(std::abs(sum - 1.0) < 1e-5);
                }
    }

    void singleLayerAndHeadIsTheReferenceTensor()
    {
        const CrossAttentionMaps cross = referenceCross();
        const QuerySelfAttention self = referenceSelf();
        const auto layer2 = testsupport::goldenFloats(kConfig, "qformer_cross_attentions_L2");
        const QueryMaps maps = selectMaps(cross, self, {LayerAggregation::Single, 1, HeadAggregation::Single, 3});
        QCOMPARE(maps.queries, kQueries);
        QCOMPARE(maps.gridSize, kGrid);
        for (int q = 0; q < kQueries; ++q)
            for (int t = 0; t < kTokens; ++t)
                QCOMPARE(maps.row(q)[t], golden(layer2, 3, q, t));
        // patches() is the grid without the CLS token, row-major.
        const std::vector<float> grid = maps.patches(7);
        QCOMPARE(int(grid.size()), kGrid * kGrid);
        QCOMPARE(grid[5 * kGrid + 9], golden(layer2, 3, 7, 1 + 5 * kGrid + 9));
    }

    void meanAndMaxMatchADirectComputation()
    {
        const CrossAttentionMaps cross = referenceCross();
        const QuerySelfAttention self = referenceSelf();
        const auto l0 = testsupport::goldenFloats(kConfig, "qformer_cross_attentions_L0");
        const auto l2 = testsupport::goldenFloats(kConfig, "qformer_cross_attentions_L2");
        const QueryMaps mean = selectMaps(cross, self, {LayerAggregation::Mean, 0, HeadAggregation::Mean, 0});
        const QueryMaps max = selectMaps(cross, self, {LayerAggregation::Single, 0, HeadAggregation::Max, 0});
        for (int q : {0, 13, 31})
            for (int t : {0, 1, 100, 256}) {
                double sum = 0;
                float best = 0;
                for (int h = 0; h < kHeads; ++h) {
                    sum += golden(l0, h, q, t) + golden(l2, h, q, t);
                    best = std::max(best, golden(l0, h, q, t));
                }
                QVERIFY(std::abs(mean.row(q)[t] - sum / (2 * kHeads)) < 1e-7);
                QCOMPARE(max.row(q)[t], best);
            }
    }

    void statisticsMatchADirectComputation()
    {
        const QueryMaps maps = selectMaps(referenceCross(), referenceSelf(),
                                          {LayerAggregation::Single, 0, HeadAggregation::Single, 1});
        const auto stats = queryStatistics(maps);
        QCOMPARE(int(stats.size()), kQueries);
        for (int q = 0; q < kQueries; ++q) {
            const float* r = maps.row(q);
            double patchSum = 0, entropy = 0, peak = -1;
            int peakAt = -1;
            for (int p = 0; p < kGrid * kGrid; ++p) {
                patchSum += r[1 + p];
                if (r[1 + p] > peak) {
                    peak = r[1 + p];
                    peakAt = p;
                }
            }
            for (int p = 0; p < kGrid * kGrid; ++p)
                entropy -= r[1 + p] / patchSum * std::log(r[1 + p] / patchSum);
            QVERIFY(std::abs(stats[q].entropy - entropy) < 1e-9);
            QVERIFY(std::abs(stats[q].normalizedEntropy - entropy / std::log(256.0)) < 1e-9);
            QVERIFY(std::abs(stats[q].clsShare - r[0]) < 1e-6);  // the row sums to 1
            QCOMPARE(stats[q].peakPatch, peakAt);
            QVERIFY(stats[q].normalizedEntropy > 0 && stats[q].normalizedEntropy <= 1);
        }
        // A one-hot map has zero entropy; a uniform one has normalised entropy 1.
        QueryMaps synthetic;
        synthetic.queries = 2;
        synthetic.gridSize = 2;
        synthetic.values = {0.2f, 0.8f, 0, 0, 0, 0, 0.25f, 0.25f, 0.25f, 0.25f};
        const auto s = queryStatistics(synthetic);
        QCOMPARE(s[0].entropy, 0.0);
        QVERIFY(std::abs(s[0].clsShare - 0.2) < 1e-7);
        QVERIFY(std::abs(s[1].normalizedEntropy - 1.0) < 1e-9);
        QCOMPARE(s[1].clsShare, 0.0);
    }

    void flowOfOneLayerIsItsCrossAttention()
    {
        // A one-layer Q-Former: the flow is exactly that layer's cross-attention.
        CrossAttentionMaps cross = referenceCross();
        cross.layers = 1;
        cross.qformerLayers = {0};
        cross.probabilities.resize(std::size_t(kHeads) * kQueries * kTokens);
        QuerySelfAttention self = referenceSelf();
        self.layers = 1;
        self.probabilities.resize(std::size_t(kHeads) * kQueries * kQueries);
        const QueryMaps flow = selectMaps(cross, self, {LayerAggregation::Flow, 0, HeadAggregation::Mean, 0});
        const QueryMaps layer = selectMaps(cross, self, {LayerAggregation::Single, 0, HeadAggregation::Mean, 0});
        for (std::size_t i = 0; i < flow.values.size(); ++i)
            QVERIFY(std::abs(flow.values[i] - layer.values[i]) < 1e-6);
    }

    void flowRowsAreDistributionsAndFollowSelfAttention()
    {
        const CrossAttentionMaps cross = referenceCross();
        const QuerySelfAttention self = referenceSelf();
        const QueryMaps flow = selectMaps(cross, self, {LayerAggregation::Flow, 0, HeadAggregation::Mean, 0});
        for (int q = 0; q < kQueries; ++q) {
            double sum = 0;
            for (int t = 0; t < kTokens; ++t)
                sum += flow.row(q)[t];
            QVERIFY(std::abs(sum - 1.0) < 1e-5);
        }
        // With identity self-attention, the flow is a fixed mix of the layers: (C0/4 + C2/2)... normalised.
        QuerySelfAttention identity = self;
        std::fill(identity.probabilities.begin(), identity.probabilities.end(), 0.0f);
        for (int l = 0; l < 4; ++l)
            for (int h = 0; h < kHeads; ++h)
                for (int q = 0; q < kQueries; ++q)
                    identity.probabilities[identity.index(l, h, q, q)] = 1.0f;
        const QueryMaps mixed = selectMaps(cross, identity, {LayerAggregation::Flow, 0, HeadAggregation::Mean, 0});
        const QueryMaps c0 = selectMaps(cross, self, {LayerAggregation::Single, 0, HeadAggregation::Mean, 0});
        const QueryMaps c2 = selectMaps(cross, self, {LayerAggregation::Single, 1, HeadAggregation::Mean, 0});
        // Layer 0: F = C0/2; layers 1, 2: F = (C0/2 + C2)/2 = C0/4 + C2/2; total weight 3/4.
        for (std::size_t i = 0; i < mixed.values.size(); i += 97) {
            const double expected = (c0.values[i] / 4 + c2.values[i] / 2) / 0.75;
            QVERIFY(std::abs(mixed.values[i] - expected) < 1e-6);
        }
    }

    void wordMapWeightsTheQueryMaps()
    {
        const QueryMaps maps = selectMaps(referenceCross(), referenceSelf(),
                                          {LayerAggregation::Mean, 0, HeadAggregation::Mean, 0});
        std::vector<int> indices(kQueries);
        std::iota(indices.begin(), indices.end(), 0);
        // All weight on one query: its map, renormalised by the weight.
        std::vector<float> oneHot(kQueries, 0.0f);
        oneHot[9] = 0.3f;
        QCOMPARE(weightedPatchMap(maps, oneHot, indices), maps.patches(9));
        // Equal weights: the mean of all maps.
        const std::vector<float> equal = weightedPatchMap(maps, std::vector<float>(kQueries, 1.0f), indices);
        for (int p = 0; p < kGrid * kGrid; p += 17) {
            double mean = 0;
            for (int q = 0; q < kQueries; ++q)
                mean += maps.row(q)[1 + p] / kQueries;
            QVERIFY(std::abs(equal[p] - mean) < 1e-6);
        }
        // Ablated queries: weights refer to the queries that were in the input.
        const std::vector<float> partial = weightedPatchMap(maps, {1.0f, 3.0f}, {4, 20});
        for (int p = 0; p < kGrid * kGrid; p += 31)
            QVERIFY(std::abs(partial[p] - (maps.row(4)[1 + p] + 3 * maps.row(20)[1 + p]) / 4) < 1e-6);
    }

    void similarityIsCosineOfTheMaps()
    {
        const QueryMaps maps = selectMaps(referenceCross(), referenceSelf(),
                                          {LayerAggregation::Single, 1, HeadAggregation::Mean, 0});
        const auto sim = mapSimilarity(maps);
        for (int i = 0; i < kQueries; ++i) {
            QVERIFY(std::abs(sim[i * kQueries + i] - 1.0f) < 1e-5);
            for (int j = 0; j < kQueries; ++j)
                QCOMPARE(sim[i * kQueries + j], sim[j * kQueries + i]);
        }
        const auto a = maps.patches(2), b = maps.patches(11);
        double dot = 0, na = 0, nb = 0;
        for (std::size_t p = 0; p < a.size(); ++p) {
            dot += double(a[p]) * b[p];
            na += double(a[p]) * a[p];
            nb += double(b[p]) * b[p];
        }
        QVERIFY(std::abs(sim[2 * kQueries + 11] - dot / std::sqrt(na * nb)) < 1e-6);
    }

    void badSelectionsAreRefused()
    {
        QVERIFY_THROWS_EXCEPTION(std::out_of_range, selectMaps(referenceCross(), referenceSelf(),
                                                               {LayerAggregation::Single, 2, HeadAggregation::Mean, 0}));
        QVERIFY_THROWS_EXCEPTION(std::out_of_range, selectMaps(referenceCross(), referenceSelf(),
                                                               {LayerAggregation::Mean, 0, HeadAggregation::Single, 4}));
    }

    void csvHasOneLinePerQuery()
    {
        const QueryMaps maps = selectMaps(referenceCross(), referenceSelf(), {});
        const std::string csv = statisticsCsv(maps, queryStatistics(maps));
        QCOMPARE(int(std::count(csv.begin(), csv.end(), '\n')), kQueries + 1);
        QVERIFY(csv.rfind("query,entropy_nats,", 0) == 0);
    }
};

QTEST_APPLESS_MAIN(TestAttentionViews)
#include "test_attention_views.moc"
