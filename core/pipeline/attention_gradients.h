#pragma once
// What the gradient explanations share inside the pipeline: attention tensors of a pass under
// autograd, their gradients after a backward, and Ā of each layer as a plain matrix.

#include "querylens/gradient_maps.h"

#include <ATen/ATen.h>

#include <vector>

namespace querylens::explain {

// Ā of one attention layer, probs [1, H, R, C] with the gradient the last backward left in it
// (none: the explained score does not depend on the layer, and Ā = 0).
FloatMatrix camOf(const at::Tensor& probs);

// A tensor's values as floats (detached, on the CPU, row-major).
std::vector<float> floatsOf(const at::Tensor& t);

// The attention tensors of a pass, so that their gradients can be kept and cleared between
// the scores explained one after another.
class TrackedTensors {
public:
    void track(const at::Tensor& t);
    void clearGradients();

private:
    std::vector<at::Tensor> tensors_;
};

}  // namespace querylens::explain
