#pragma once
// The file `querylens explain` and the window's "Export attention" write: one safetensors file
// that numpy (safetensors.numpy.load_file) and PyTorch (safetensors.torch.load_file) read.
//
// Tensors (float32, row-major):
//   query_outputs         [queries, qformer_hidden]   the Q-Former's last hidden state
//   cross_attention       [layers, heads, queries, tokens]  softmax probabilities; layer i is
//                         Q-Former layer cross_attention_layers[i]; token 0 is the vision CLS
//                         token, token 1 + r * grid + c is the patch at row r, column c
//   query_self_attention  [qformer_layers, heads, queries, queries]
//   cross_attention_mean  [queries, grid, grid]  mean over layers and heads, CLS left out,
//                         ready to overlay on the image
// Metadata (strings): format "querylens-attention/1", model, image, image_width, image_height,
// image_size, patch_size, grid_size, cross_attention_layers ("0,2,4,..."), token_layout.

#include "querylens/attention_maps.h"

#include <map>
#include <string>
#include <vector>

namespace querylens {

struct AttentionExport {
    CrossAttentionMaps cross;
    QuerySelfAttention self;
    std::vector<float> queryOutputs;  // [queries][qformerHidden]
    int qformerHidden = 0;
    std::map<std::string, std::string> metadata;  // added to the keys above
};

// Throws Error naming `path` when it cannot be written or the buffers do not match their sizes.
void writeAttentionExport(const std::string& path, const AttentionExport& data);

// Mean over layers and heads of the patch tokens (CLS left out): [queries][grid * grid].
std::vector<float> meanPatchAttention(const CrossAttentionMaps& cross);

}  // namespace querylens
