#include "querylens/attention_export.h"

#include "io/safetensors.h"
#include "querylens/error.h"

namespace querylens {

std::vector<float> meanPatchAttention(const CrossAttentionMaps& cross)
{
    const int patches = cross.gridSize * cross.gridSize;
    std::vector<float> mean(std::size_t(cross.queries) * patches, 0.0f);
    if (cross.layers == 0 || cross.heads == 0)
        return mean;
    const float weight = 1.0f / float(cross.layers * cross.heads);
    for (int l = 0; l < cross.layers; ++l)
        for (int h = 0; h < cross.heads; ++h)
            for (int q = 0; q < cross.queries; ++q) {
                const float* row = &cross.probabilities[cross.index(l, h, q, 1)];
                float* out = &mean[std::size_t(q) * patches];
                for (int p = 0; p < patches; ++p)
                    out[p] += weight * row[p];
            }
    return mean;
}

void writeAttentionExport(const std::string& path, const AttentionExport& data)
{
    const CrossAttentionMaps& cross = data.cross;
    const QuerySelfAttention& self = data.self;
    auto require = [&](bool ok, const std::string& what) {
        if (!ok)
            throw Error("cannot export attention: " + what, path);
    };
    require(cross.tokens == 1 + cross.gridSize * cross.gridSize, "the token count does not match the patch grid");
    require(cross.probabilities.size() == std::size_t(cross.layers) * cross.heads * cross.queries * cross.tokens,
            "the cross-attention buffer does not match its shape");
    require(self.probabilities.size() == std::size_t(self.layers) * self.heads * self.queries * self.queries,
            "the self-attention buffer does not match its shape");
    require(data.queryOutputs.size() == std::size_t(cross.queries) * data.qformerHidden,
            "the query outputs do not match their shape");

    const std::vector<float> mean = meanPatchAttention(cross);
    const std::vector<io::TensorToWrite> tensors{
        {"query_outputs", io::DType::F32, {cross.queries, data.qformerHidden}, data.queryOutputs.data()},
        {"cross_attention", io::DType::F32, {cross.layers, cross.heads, cross.queries, cross.tokens},
         cross.probabilities.data()},
        {"query_self_attention", io::DType::F32, {self.layers, self.heads, self.queries, self.queries},
         self.probabilities.data()},
        {"cross_attention_mean", io::DType::F32, {cross.queries, cross.gridSize, cross.gridSize}, mean.data()},
    };
    std::map<std::string, std::string> metadata = data.metadata;
    std::string layers;
    for (std::size_t i = 0; i < cross.qformerLayers.size(); ++i)
        layers += (i ? "," : "") + std::to_string(cross.qformerLayers[i]);
    metadata["format"] = "querylens-attention/1";
    metadata["grid_size"] = std::to_string(cross.gridSize);
    metadata["cross_attention_layers"] = layers;
    metadata["token_layout"] = "token 0 is the vision CLS token; token 1 + r * grid_size + c is the patch at row r, "
                               "column c of the resized image";
    io::writeSafetensors(path, tensors, metadata);
}

}  // namespace querylens
