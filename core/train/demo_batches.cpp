#include "train/demo_batches.h"

#include "image/image_resize.h"

#include <algorithm>
#include <atomic>
#include <thread>

namespace querylens::train {

namespace {

// A patch shows the object that covers most of it, if that is at least 30 % of the patch.
void labelPatches(const demo::Scene& scene, int grid, std::int64_t* colour, std::int64_t* shape, std::int64_t* size,
                  std::int64_t* object)
{
    const int w = scene.image.width, h = scene.image.height;
    std::vector<int> counts(scene.objects.size());
    for (int r = 0; r < grid; ++r)
        for (int c = 0; c < grid; ++c) {
            const int y0 = r * h / grid, y1 = (r + 1) * h / grid, x0 = c * w / grid, x1 = (c + 1) * w / grid;
            std::fill(counts.begin(), counts.end(), 0);
            for (std::size_t o = 0; o < scene.objects.size(); ++o)
                for (int y = y0; y < y1; ++y)
                    for (int x = x0; x < x1; ++x)
                        counts[o] += scene.objects[o].mask[std::size_t(y) * w + x];
            const auto best = std::max_element(counts.begin(), counts.end());
            const int patch = r * grid + c;
            colour[patch] = shape[patch] = size[patch] = object[patch] = 0;
            if (best == counts.end() || *best * 10 < 3 * (y1 - y0) * (x1 - x0))
                continue;
            const demo::SceneObject& o = scene.objects[std::size_t(best - counts.begin())];
            object[patch] = 1 + (best - counts.begin());
            colour[patch] = 1 + int(o.colour);
            shape[patch] = 1 + int(o.shape);
            size[patch] = 1 + int(o.size);
        }
}

}  // namespace

ScenePool drawPool(std::uint64_t seed, int count, int imageSize, int grid, const std::function<void(double)>& progress)
{
    ScenePool pool;
    const std::int64_t n = count, patches = std::int64_t(grid) * grid;
    pool.scenes.resize(std::size_t(count));
    pool.pixels = at::empty({n, imageSize, imageSize, 3}, at::kByte);
    pool.colour = at::empty({n, patches}, at::kLong);
    pool.shape = at::empty({n, patches}, at::kLong);
    pool.size = at::empty({n, patches}, at::kLong);
    pool.object = at::empty({n, patches}, at::kLong);
    pool.row = at::arange(patches, at::kLong).div(grid, "floor");
    pool.column = at::arange(patches, at::kLong).remainder(grid);
    std::atomic<int> done{0};
    auto draw = [&](int parity) {
        for (int i = parity; i < count; i += 2) {
            demo::SceneOptions options;
            options.size = imageSize;
            options.varySize = i % 4 == 3;
            demo::Scene scene = demo::generateScene(seed, i, options);
            labelPatches(scene, grid, pool.colour[i].data_ptr<std::int64_t>(), pool.shape[i].data_ptr<std::int64_t>(),
                         pool.size[i].data_ptr<std::int64_t>(), pool.object[i].data_ptr<std::int64_t>());
            const RgbImage input = scene.image.width == imageSize ? scene.image
                                                                  : image::resizeBicubic(scene.image, imageSize, imageSize);
            std::copy(input.pixels.begin(), input.pixels.end(), pool.pixels[i].data_ptr<std::uint8_t>());
            scene.image = {};
            scene.background = {};
            for (auto& o : scene.objects)
                o.mask = {};
            pool.scenes[std::size_t(i)] = std::move(scene);
            const int finished = ++done;
            if (progress && parity == 0 && finished % 256 < 2)
                progress(double(finished) / count);
        }
    };
    std::thread helper(draw, 1);
    draw(0);
    helper.join();
    return pool;
}

at::Tensor pixelValues(const ScenePool& pool, const at::Tensor& indices)
{
    // BlipImageProcessor: x / 255, then (x - mean) / std per channel, channels first.
    const at::Tensor mean = at::tensor({0.48145466f, 0.4578275f, 0.40821073f}).view({1, 3, 1, 1});
    const at::Tensor std = at::tensor({0.26862954f, 0.26130258f, 0.27577711f}).view({1, 3, 1, 1});
    const at::Tensor x = pool.pixels.index_select(0, indices).permute({0, 3, 1, 2}).to(at::kFloat) / 255.0;
    return ((x - mean) / std).contiguous();
}

PaddedIds padRows(const std::vector<std::vector<std::int64_t>>& rows, std::int64_t padId)
{
    std::size_t length = 0;
    for (const auto& row : rows)
        length = std::max(length, row.size());
    PaddedIds out{at::full({std::int64_t(rows.size()), std::int64_t(length)}, padId, at::kLong),
                  at::zeros({std::int64_t(rows.size()), std::int64_t(length)}, at::kLong)};
    auto ids = out.ids.accessor<std::int64_t, 2>(), mask = out.mask.accessor<std::int64_t, 2>();
    for (std::size_t i = 0; i < rows.size(); ++i)
        for (std::size_t j = 0; j < rows[i].size(); ++j) {
            ids[std::int64_t(i)][std::int64_t(j)] = rows[i][j];
            mask[std::int64_t(i)][std::int64_t(j)] = 1;
        }
    return out;
}

}  // namespace querylens::train
