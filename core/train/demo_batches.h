#pragma once
// The scenes the trainer learns from, drawn once into a pool: pictures already at the model's
// input size (uint8), per-patch labels for the vision encoder's pre-training, and the texts.
// Drawing is a large part of a step's cost on two cores, so every stage reuses the pool.

#include "querylens/demo_scenes.h"
#include "train/demo_networks.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace querylens::train {

struct ScenePool {
    std::vector<demo::Scene> scenes;  // objects, caption, questions (pictures and masks dropped)
    at::Tensor pixels;                // [N, S, S, 3] uint8, resized to the model's size as its processor would
    at::Tensor colour, shape, size;   // [N, grid^2] int64 patch labels: 0 background, else 1 + class
    at::Tensor object;                // [N, grid^2] int64: 0 background, else 1 + the object's index
    at::Tensor row, column;           // [grid^2] int64

    std::int64_t count() const { return pixels.size(0); }
};

// Scenes 0 .. count - 1 of `seed`, drawn on two threads. A quarter are drawn at another size
// (0.6x-1.5x) and resized with Pillow's bicubic, as the model's processor resizes any file.
// `progress` gets the fraction done.
ScenePool drawPool(std::uint64_t seed, int count, int imageSize, int grid, const std::function<void(double)>& progress);

// pixel_values [B, 3, S, S] of the pool's rows `indices` (CLIP mean and std).
at::Tensor pixelValues(const ScenePool& pool, const at::Tensor& indices);

// Token id rows padded on the right to one length: ids [B, L] and a 0/1 mask [B, L].
struct PaddedIds {
    at::Tensor ids;
    at::Tensor mask;
};
PaddedIds padRows(const std::vector<std::vector<std::int64_t>>& rows, std::int64_t padId);

}  // namespace querylens::train
