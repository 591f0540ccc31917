#include "querylens/faithfulness.h"

#include "querylens/error.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <random>
#include <stdexcept>

namespace querylens {

const char* baselineName(PerturbationBaseline baseline)
{
    return baseline == PerturbationBaseline::Blur ? "blur" : "mean";
}

std::vector<int> patchOrder(const std::vector<float>& map)
{
    std::vector<int> order(map.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return map[std::size_t(a)] > map[std::size_t(b)]; });
    return order;
}

std::vector<int> randomPatchOrder(int patches, std::uint64_t seed)
{
    // A Fisher-Yates shuffle on mt19937_64's raw output: std::shuffle's use of the engine is
    // left to the library, and the orders should not change between machines.
    std::vector<int> order(std::size_t(std::max(0, patches)));
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 engine(seed);
    for (std::size_t i = order.size(); i > 1; --i)
        std::swap(order[i - 1], order[std::size_t(engine() % i)]);
    return order;
}

std::vector<int> stepPatchCounts(int patches, int steps)
{
    if (patches <= 0 || steps <= 0)
        throw std::invalid_argument("faithfulness: needs patches and at least one step");
    std::vector<int> counts;
    for (int s = 0; s <= steps; ++s)
        counts.push_back(int((std::int64_t(patches) * s + steps / 2) / steps));
    return counts;
}

std::vector<std::uint8_t> baselineMask(const std::vector<int>& order, int count, bool deletion)
{
    std::vector<std::uint8_t> mask(order.size(), deletion ? 0 : 1);
    for (int i = 0; i < count && std::size_t(i) < order.size(); ++i)
        mask[std::size_t(order[std::size_t(i)])] = deletion ? 1 : 0;
    return mask;
}

double curveArea(const std::vector<double>& fractions, const std::vector<double>& scores)
{
    if (fractions.size() != scores.size())
        throw std::invalid_argument("faithfulness: one score per fraction");
    double area = 0;
    for (std::size_t i = 1; i < fractions.size(); ++i)
        area += (fractions[i] - fractions[i - 1]) * (scores[i] + scores[i - 1]) / 2;
    return area;
}

FaithfulnessReport faithfulnessCurves(const std::vector<float>& map, const FaithfulnessOptions& options,
                                      const std::string& scoreName, const MaskScorer& score,
                                      const ProgressCallback& progress)
{
    const int patches = int(map.size());
    const std::vector<int> counts = stepPatchCounts(patches, options.steps);
    std::vector<std::vector<int>> orders{patchOrder(map)};
    for (int r = 0; r < options.randomOrders; ++r)
        orders.push_back(randomPatchOrder(patches, options.seed + std::uint64_t(r)));

    // Every image to score, each distinct mask once (the ends are the same in every order).
    std::map<std::vector<std::uint8_t>, std::size_t> index;
    std::vector<std::vector<std::uint8_t>> masks;
    auto maskIndex = [&](const std::vector<std::uint8_t>& mask) {
        const auto [it, added] = index.emplace(mask, masks.size());
        if (added)
            masks.push_back(mask);
        return it->second;
    };
    // slots[order][deletion?][step] -> mask index
    std::vector<std::vector<std::vector<std::size_t>>> slots(orders.size(), std::vector<std::vector<std::size_t>>(2));
    for (std::size_t o = 0; o < orders.size(); ++o)
        for (int d = 0; d < 2; ++d)
            for (int count : counts)
                slots[o][std::size_t(d)].push_back(maskIndex(baselineMask(orders[o], count, d == 1)));

    std::vector<double> scores;
    const std::size_t batch = std::size_t(std::max(1, options.batchSize));
    for (std::size_t begin = 0; begin < masks.size(); begin += batch) {
        if (progress && !progress(double(begin) / double(masks.size()), "faithfulness"))
            throw Cancelled();
        const std::vector<std::vector<std::uint8_t>> group(masks.begin() + std::ptrdiff_t(begin),
                                                           masks.begin() + std::ptrdiff_t(std::min(masks.size(), begin + batch)));
        const std::vector<double> groupScores = score(group);
        if (groupScores.size() != group.size())
            throw std::logic_error("faithfulness: the scorer returned the wrong number of scores");
        scores.insert(scores.end(), groupScores.begin(), groupScores.end());
    }

    FaithfulnessReport report;
    report.score = scoreName;
    report.baselineKind = options.baseline;
    std::vector<double> fractions;
    for (int count : counts)
        fractions.push_back(double(count) / double(patches));
    auto curve = [&](std::size_t o, int d) {
        FaithfulnessCurve c;
        c.fractions = fractions;
        for (std::size_t slot : slots[o][std::size_t(d)])
            c.scores.push_back(scores[slot]);
        return c;
    };
    auto finish = [](FaithfulnessCurve& c) { c.area = curveArea(c.fractions, c.scores); };
    report.deletion = curve(0, 1);
    report.insertion = curve(0, 0);
    report.randomDeletion.fractions = report.randomInsertion.fractions = fractions;
    report.randomDeletion.scores.assign(fractions.size(), 0.0);
    report.randomInsertion.scores.assign(fractions.size(), 0.0);
    for (std::size_t o = 1; o < orders.size(); ++o) {
        const FaithfulnessCurve del = curve(o, 1), ins = curve(o, 0);
        for (std::size_t i = 0; i < fractions.size(); ++i) {
            report.randomDeletion.scores[i] += del.scores[i] / double(orders.size() - 1);
            report.randomInsertion.scores[i] += ins.scores[i] / double(orders.size() - 1);
        }
    }
    if (orders.size() == 1) {
        report.randomDeletion = {};
        report.randomInsertion = {};
    }
    for (FaithfulnessCurve* c : {&report.deletion, &report.insertion, &report.randomDeletion, &report.randomInsertion})
        if (!c->scores.empty())
            finish(*c);
    report.original = report.deletion.scores.front();
    report.baseline = report.deletion.scores.back();
    return report;
}

}  // namespace querylens
