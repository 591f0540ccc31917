#include "querylens/attention_views.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace querylens {

namespace {

// [queries][tokens] of one cross-attention layer under the head aggregation.
std::vector<float> aggregateHeads(const CrossAttentionMaps& cross, int layer, const MapSelection& selection)
{
    const std::size_t rowLength = std::size_t(cross.queries) * cross.tokens;
    std::vector<float> out(rowLength, 0.0f);
    const float* base = cross.probabilities.data() + std::size_t(layer) * cross.heads * rowLength;
    switch (selection.heads) {
    case HeadAggregation::Single:
        if (selection.head < 0 || selection.head >= cross.heads)
            throw std::out_of_range("head " + std::to_string(selection.head) + " does not exist");
        std::copy(base + selection.head * rowLength, base + (selection.head + 1) * rowLength, out.begin());
        break;
    case HeadAggregation::Mean:
        for (int h = 0; h < cross.heads; ++h)
            for (std::size_t i = 0; i < rowLength; ++i)
                out[i] += base[h * rowLength + i] / float(cross.heads);
        break;
    case HeadAggregation::Max:
        for (int h = 0; h < cross.heads; ++h)
            for (std::size_t i = 0; i < rowLength; ++i)
                out[i] = std::max(out[i], base[h * rowLength + i]);
        break;
    }
    return out;
}

// Mean over heads of the queries' self-attention in one Q-Former layer, [queries][queries].
std::vector<double> meanSelfAttention(const QuerySelfAttention& self, int layer)
{
    const int q = self.queries;
    std::vector<double> mean(std::size_t(q) * q, 0.0);
    for (int h = 0; h < self.heads; ++h)
        for (int i = 0; i < q; ++i)
            for (int j = 0; j < q; ++j)
                mean[std::size_t(i) * q + j] += self.at(layer, h, i, j) / double(self.heads);
    return mean;
}

std::vector<float> queryFlow(const CrossAttentionMaps& cross, const QuerySelfAttention& self,
                             const MapSelection& selection)
{
    const int q = cross.queries, t = cross.tokens;
    std::vector<double> flow(std::size_t(q) * t, 0.0), mixed(flow.size());
    for (int layer = 0; layer < self.layers; ++layer) {
        // Self-attention with its residual: F <- (F + S F) / 2.
        const std::vector<double> s = meanSelfAttention(self, layer);
        for (int i = 0; i < q; ++i)
            for (int k = 0; k < t; ++k) {
                double sum = 0;
                for (int j = 0; j < q; ++j)
                    sum += s[std::size_t(i) * q + j] * flow[std::size_t(j) * t + k];
                mixed[std::size_t(i) * t + k] = 0.5 * (flow[std::size_t(i) * t + k] + sum);
            }
        flow.swap(mixed);
        // Cross-attention with its residual: F <- (F + C) / 2.
        const auto it = std::find(cross.qformerLayers.begin(), cross.qformerLayers.end(), layer);
        if (it == cross.qformerLayers.end())
            continue;
        const std::vector<float> c = aggregateHeads(cross, int(it - cross.qformerLayers.begin()), selection);
        for (std::size_t i = 0; i < flow.size(); ++i)
            flow[i] = 0.5 * (flow[i] + c[i]);
    }
    std::vector<float> out(flow.size());
    for (int i = 0; i < q; ++i) {
        double total = 0;
        for (int k = 0; k < t; ++k)
            total += flow[std::size_t(i) * t + k];
        for (int k = 0; k < t; ++k)
            out[std::size_t(i) * t + k] = total > 0 ? float(flow[std::size_t(i) * t + k] / total) : 0.0f;
    }
    return out;
}

}  // namespace

std::vector<float> QueryMaps::patches(int query) const
{
    const float* r = row(query);
    return std::vector<float>(r + 1, r + tokens());
}

QueryMaps selectMaps(const CrossAttentionMaps& cross, const QuerySelfAttention& self, const MapSelection& selection)
{
    QueryMaps maps;
    maps.queries = cross.queries;
    maps.gridSize = cross.gridSize;
    switch (selection.layers) {
    case LayerAggregation::Single:
        if (selection.layer < 0 || selection.layer >= cross.layers)
            throw std::out_of_range("cross-attention layer " + std::to_string(selection.layer) + " does not exist");
        maps.values = aggregateHeads(cross, selection.layer, selection);
        break;
    case LayerAggregation::Mean:
        maps.values.assign(std::size_t(cross.queries) * cross.tokens, 0.0f);
        for (int l = 0; l < cross.layers; ++l) {
            const std::vector<float> layer = aggregateHeads(cross, l, selection);
            for (std::size_t i = 0; i < layer.size(); ++i)
                maps.values[i] += layer[i] / float(cross.layers);
        }
        break;
    case LayerAggregation::Flow:
        maps.values = queryFlow(cross, self, selection);
        break;
    }
    return maps;
}

std::vector<QueryStatistics> queryStatistics(const QueryMaps& maps)
{
    std::vector<QueryStatistics> stats(maps.queries);
    const int patches = maps.gridSize * maps.gridSize;
    for (int q = 0; q < maps.queries; ++q) {
        const float* r = maps.row(q);
        double total = 0, patchTotal = 0;
        for (int k = 0; k < maps.tokens(); ++k)
            total += r[k];
        QueryStatistics& s = stats[q];
        for (int p = 0; p < patches; ++p) {
            patchTotal += r[1 + p];
            if (r[1 + p] > s.peakValue) {
                s.peakValue = r[1 + p];
                s.peakPatch = p;
            }
        }
        s.clsShare = total > 0 ? r[0] / total : 0;
        for (int p = 0; p < patches && patchTotal > 0; ++p) {
            const double v = r[1 + p] / patchTotal;
            if (v > 0)
                s.entropy -= v * std::log(v);
        }
        s.normalizedEntropy = patches > 1 ? s.entropy / std::log(double(patches)) : 0;
    }
    return stats;
}

std::vector<float> mapSimilarity(const QueryMaps& maps)
{
    const int q = maps.queries, patches = maps.gridSize * maps.gridSize;
    std::vector<double> norms(q, 0.0);
    for (int i = 0; i < q; ++i)
        for (int p = 0; p < patches; ++p)
            norms[i] += double(maps.row(i)[1 + p]) * maps.row(i)[1 + p];
    std::vector<float> similarity(std::size_t(q) * q, 0.0f);
    for (int i = 0; i < q; ++i)
        for (int j = i; j < q; ++j) {
            double dot = 0;
            for (int p = 0; p < patches; ++p)
                dot += double(maps.row(i)[1 + p]) * maps.row(j)[1 + p];
            const double denominator = std::sqrt(norms[i] * norms[j]);
            const float value = denominator > 0 ? float(dot / denominator) : 0.0f;
            similarity[std::size_t(i) * q + j] = similarity[std::size_t(j) * q + i] = value;
        }
    return similarity;
}

std::vector<float> weightedPatchMap(const QueryMaps& maps, const std::vector<float>& weights,
                                    const std::vector<int>& queryIndices)
{
    if (weights.size() != queryIndices.size())
        throw std::invalid_argument("one weight per query in the input is needed");
    const int patches = maps.gridSize * maps.gridSize;
    std::vector<double> sum(patches, 0.0);
    double total = 0;
    for (std::size_t i = 0; i < weights.size(); ++i) {
        const int q = queryIndices[i];
        if (q < 0 || q >= maps.queries)
            throw std::out_of_range("query " + std::to_string(q) + " does not exist");
        total += weights[i];
        for (int p = 0; p < patches; ++p)
            sum[p] += double(weights[i]) * maps.row(q)[1 + p];
    }
    std::vector<float> out(patches, 0.0f);
    for (int p = 0; p < patches && total > 0; ++p)
        out[p] = float(sum[p] / total);
    return out;
}

std::string statisticsCsv(const QueryMaps& maps, const std::vector<QueryStatistics>& statistics)
{
    std::ostringstream csv;
    csv << "query,entropy_nats,normalized_entropy,cls_share,peak_patch,peak_row,peak_column,peak_value\n";
    for (std::size_t q = 0; q < statistics.size(); ++q) {
        const QueryStatistics& s = statistics[q];
        csv << q << ',' << s.entropy << ',' << s.normalizedEntropy << ',' << s.clsShare << ',' << s.peakPatch << ','
            << s.peakPatch / maps.gridSize << ',' << s.peakPatch % maps.gridSize << ',' << s.peakValue << '\n';
    }
    return csv.str();
}

}  // namespace querylens
