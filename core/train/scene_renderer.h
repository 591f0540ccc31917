#pragma once
// The scene generator's own rasteriser: shapes antialiased by supersampling, a light background
// with an optional texture, sensor-like noise, and a JPEG-like round trip (8x8 DCT blocks
// quantised with the standard tables, optionally 4:2:0 chroma), so that the model does not
// learn one renderer's edges.

#include "querylens/demo_scenes.h"
#include "train/scene_random.h"

#include <vector>

namespace querylens::demo {

struct RenderStyle {
    int supersample = 3;        // samples per pixel side (1 = hard, aliased edges)
    double noiseSigma = 0;      // Gaussian noise, in 8-bit levels
    int jpegQuality = 0;        // 0: no block quantisation; else 1-100 as libjpeg's quality
    bool chromaSubsampling = false;
};

RenderStyle drawStyle(SceneRandom& random, bool artefacts);

// A light background, [height][width][3] floats in 0-255.
std::vector<float> drawBackground(int width, int height, SceneRandom& random, bool artefacts);

// True when the point (x, y) in pixels lies inside the object's shape.
bool insideShape(const SceneObject& object, double x, double y);

// Paints the objects in order over `canvas` and fills each object's mask, box and pixel count
// (a pixel belongs to the topmost object covering at least half of it).
void drawObjects(std::vector<float>& canvas, int width, int height, std::vector<SceneObject>& objects,
                 int supersample);

// Noise (drawn from `random`), rounding to 8 bits, and the JPEG-like round trip.
RgbImage finishImage(const std::vector<float>& canvas, int width, int height, const RenderStyle& style,
                     SceneRandom& random);

}  // namespace querylens::demo
