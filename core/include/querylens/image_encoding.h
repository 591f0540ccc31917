#pragma once
// One image as BLIP-2 sees it, computed once: the Q-Former's 32 query outputs and all of its
// attention maps. Sessions (caption, chat, ablation) start from it without re-encoding.

#include "querylens/attention_maps.h"

#include <memory>
#include <vector>

namespace querylens {

class ImageEncoding {
public:
    struct Tensors;  // the torch side, private to core
    ImageEncoding(std::unique_ptr<Tensors> tensors, CrossAttentionMaps cross, QuerySelfAttention self,
                  int imageWidth, int imageHeight, double encodeMs);
    ~ImageEncoding();

    const CrossAttentionMaps& crossAttention() const { return cross_; }
    const QuerySelfAttention& selfAttention() const { return self_; }
    // The Q-Former's output for each query, [queries][hidden], row-major.
    std::vector<float> queryOutputs() const;
    int queryCount() const { return cross_.queries; }
    int imageWidth() const { return width_; }
    int imageHeight() const { return height_; }
    double encodeMs() const { return encodeMs_; }

    const Tensors& tensors() const { return *tensors_; }

private:
    std::unique_ptr<Tensors> tensors_;
    CrossAttentionMaps cross_;
    QuerySelfAttention self_;
    int width_ = 0;
    int height_ = 0;
    double encodeMs_ = 0;
};

}  // namespace querylens
