#pragma once
// The matrix products of the vision encoder as the kernel choice measures them: the shapes of
// one image's pass (the rows of an image, its patches plus the class token), at the weights'
// precision.

#include "model/kernels/kernel_choice.h"
#include "model/linear.h"
#include "model/vision_encoder.h"

#include <vector>

namespace querylens::model {

// Patch embedding, qkv, attention output projection, fc1 and fc2 of one layer (all layers have
// the same shapes); empty for int8 weights, which always run our kernels.
std::vector<kernels::GemmShape> visionProductShapes(const VisionConfig& config, WeightFormat format);

}  // namespace querylens::model
