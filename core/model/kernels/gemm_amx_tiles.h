#pragma once
// The AMX-BF16 matrix product for prompts and images with bfloat16 weights,
// y = act(x W^T + bias) + residual with x rounded to bf16 and float32 sums, written once over
// the tile instructions. The same loops run on the hardware (gemm_amx.cpp: the Tiles are the
// real ldtilecfg / tileloadd / tdpbf16ps / tilestored) and, in the tests, on a software model of
// those instructions (tests/core/amx_tile_model.h), which is how they are checked on machines
// without AMX.
//
// Orientation: the weights are the A operand and x the B operand, so C holds outputs x rows of
// x (y transposed):
//  - an A tile is 16 weight rows x 32 bf16 of k: read straight from the stored [n][k] layout
//    with a stride of 2k bytes. The weights need no repacking, at load or per call: the decode
//    kernels, the tied embedding lookup, autograd and memory-mapped checkpoints keep reading the
//    same bytes, and the process holds one copy (peak RSS stays ~ the weights);
//  - a B tile is 16 pairs of k x 16 rows of x, pair-interleaved as tdpbf16ps wants (row p, lane r
//    = x[r][2p], x[r][2p + 1]). x is the small operand (257 rows an image, 1408-6144 columns), so
//    it is rounded and packed once per call, as [block of 16 rows][pair][16];
//  - four C tiles (2 blocks of 16 outputs x 2 blocks of 16 rows) take the whole of k, then go
//    through the Helpers' epilogue, which transposes them and writes y with bias, activation
//    and residual. Per 32 columns of k: 2 weight loads, 2 x loads, 4 tdpbf16ps.
// Shapes not made of whole tiles (n not a multiple of 32, k not a multiple of 32) read their
// panel of weights from a zero-padded copy; x's padding rows and pairs are zero. Every BLIP-2
// shape (ViT-g 1408/6144, Q-Former 768/3072, OPT 2560/10240, Flan-T5 2048/5120) is whole tiles.
//
// Tiles: static configure(const TileConfig&), release(), zero<T>(), load<T>(base, strideBytes),
// dot<C, A, B>() (C += A B, tdpbf16ps), store<T>(base, strideBytes), with T the tile register.
// Helpers: packRows(x, m, k, blockBegin, blockEnd, packed) and writeOutputs(args, c, out0,
// outputs, m0, rows), the parts that are plain vector code (AVX-512 on the hardware).

#include "model/kernels/gemv.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace querylens::model::kernels::amx {

// The 64-byte operand of ldtilecfg (palette 1): rows and bytes per row of each tile register.
struct TileConfig {
    std::uint8_t palette = 1;
    std::uint8_t startRow = 0;
    std::uint8_t reserved[14] = {};
    std::uint16_t bytesPerRow[16] = {};
    std::uint8_t rows[16] = {};
};
static_assert(sizeof(TileConfig) == 64, "ldtilecfg reads 64 bytes");

constexpr int kBlock = 16;                 // outputs per A tile, rows of x per B tile
constexpr int kPairsPerStep = 16;          // pairs of k per tile step: 32 bf16, 64 bytes a row
constexpr int kPanelOutputs = 2 * kBlock;  // outputs per panel (two A tiles)

// Tile registers: C[i][j] = tmm(2i + j) for output block i and row block j; A (weights) tmm4-5;
// B (x) tmm6-7. Every one 16 rows x 64 bytes.
inline TileConfig gemmTileConfig()
{
    TileConfig config;
    for (int t = 0; t < 8; ++t) {
        config.rows[t] = kBlock;
        config.bytesPerRow[t] = 64;
    }
    return config;
}

// Pairs of k in the packed layouts: (k + 1) / 2 rounded up to whole tile steps.
inline std::int64_t paddedPairs(std::int64_t k)
{
    return ((k + 1) / 2 + kPairsPerStep - 1) / kPairsPerStep * kPairsPerStep;
}
inline std::int64_t rowBlockCount(std::int64_t m) { return (m + kBlock - 1) / kBlock; }
inline std::int64_t panelCount(std::int64_t n) { return (n + kPanelOutputs - 1) / kPanelOutputs; }
// 32-bit pairs in x packed as [block][pair][16].
inline std::int64_t packedRowsSize(std::int64_t m, std::int64_t k) { return rowBlockCount(m) * paddedPairs(k) * kBlock; }

namespace detail {

// Whole-k products of one panel's A tiles (Outputs of them) against Rows blocks of x from
// `packedX` (block j at packedX + j * blockStride); the C tiles are stored to c[i][j].
template <class Tiles, int Outputs, int Rows>
void panelTiles(const std::uint16_t* weight, std::int64_t weightStrideBytes, const std::uint32_t* packedX,
                std::int64_t blockStride, std::int64_t steps, float (*c)[2][kBlock * kBlock])
{
    Tiles::template zero<0>();
    if constexpr (Rows == 2)
        Tiles::template zero<1>();
    if constexpr (Outputs == 2) {
        Tiles::template zero<2>();
        if constexpr (Rows == 2)
            Tiles::template zero<3>();
    }
    const std::int64_t secondBlock = kBlock * weightStrideBytes / 2;  // in bf16 values
    for (std::int64_t s = 0; s < steps; ++s) {
        const std::uint16_t* w = weight + s * 2 * kPairsPerStep;
        const std::uint32_t* x = packedX + s * kPairsPerStep * kBlock;
        Tiles::template load<4>(w, weightStrideBytes);
        Tiles::template load<6>(x, kBlock * 4);
        if constexpr (Rows == 2)
            Tiles::template load<7>(x + blockStride, kBlock * 4);
        Tiles::template dot<0, 4, 6>();
        if constexpr (Rows == 2)
            Tiles::template dot<1, 4, 7>();
        if constexpr (Outputs == 2) {
            Tiles::template load<5>(w + secondBlock, weightStrideBytes);
            Tiles::template dot<2, 5, 6>();
            if constexpr (Rows == 2)
                Tiles::template dot<3, 5, 7>();
        }
    }
    Tiles::template store<0>(c[0][0], kBlock * 4);
    if constexpr (Rows == 2)
        Tiles::template store<1>(c[0][1], kBlock * 4);
    if constexpr (Outputs == 2) {
        Tiles::template store<2>(c[1][0], kBlock * 4);
        if constexpr (Rows == 2)
            Tiles::template store<3>(c[1][1], kBlock * 4);
    }
}

}  // namespace detail

// Panels [panelBegin, panelEnd) (32 outputs each) against every block of x, packed by
// Helpers::packRows into packedX. Configures the tiles on the calling thread (ldtilecfg is per
// thread) and releases them before it returns.
template <class Tiles, class Helpers>
void gemmPanels(const GemvArguments& a, const std::uint32_t* packedX, std::int64_t panelBegin, std::int64_t panelEnd)
{
    const std::int64_t pairs = paddedPairs(a.k), steps = pairs / kPairsPerStep;
    const std::int64_t blocks = rowBlockCount(a.m), blockStride = pairs * kBlock;
    const bool wholeColumns = a.k % (2 * kPairsPerStep) == 0;
    // The zero-padded copy of a panel that is not whole tiles: [32][2 * pairs] bf16.
    thread_local std::vector<std::uint16_t> padded;
    const auto* weights = static_cast<const std::uint16_t*>(a.weight);
    alignas(64) float c[2][2][kBlock * kBlock];
    Tiles::configure(gemmTileConfig());
    for (std::int64_t panel = panelBegin; panel < panelEnd; ++panel) {
        const std::int64_t out0 = panel * kPanelOutputs;
        const int outputs = int(std::min<std::int64_t>(kPanelOutputs, a.n - out0));
        const std::uint16_t* w = weights + out0 * a.k;
        std::int64_t strideBytes = 2 * a.k;
        if (!wholeColumns || outputs < kPanelOutputs) {
            padded.assign(std::size_t(kPanelOutputs * 2 * pairs), 0);
            for (int r = 0; r < outputs; ++r)
                std::memcpy(padded.data() + r * 2 * pairs, w + r * a.k, std::size_t(2 * a.k));
            w = padded.data();
            strideBytes = 4 * pairs;
        }
        const int outputBlocks = outputs > kBlock ? 2 : 1;
        // The next panel's weights (32 rows, one contiguous block), fetched a slice per pass
        // over two row blocks while this one runs: its first tile loads would otherwise wait on
        // 32 streams of memory at once, more than the hardware prefetchers follow (the
        // avx512bf16 kernel measured ~10 % of an image encode lost to that on Zen 5).
        const char* ahead = nullptr;
        std::int64_t aheadLines = 0;
        if (panel + 1 < panelEnd && (panel + 1) * kPanelOutputs < a.n) {
            ahead = reinterpret_cast<const char*>(weights + (panel + 1) * kPanelOutputs * a.k);
            aheadLines = (std::min<std::int64_t>(kPanelOutputs, a.n - (panel + 1) * kPanelOutputs) * a.k * 2 + 63) / 64;
        }
        const std::int64_t passes = (blocks + 1) / 2;
        for (std::int64_t b = 0; b < blocks; b += 2) {
            for (std::int64_t line = b / 2 * aheadLines / passes; line < (b / 2 + 1) * aheadLines / passes; ++line)
                __builtin_prefetch(ahead + line * 64, 0, 3);
            const std::uint32_t* x = packedX + b * blockStride;
            const bool twoRowBlocks = b + 1 < blocks;
            if (outputBlocks == 2 && twoRowBlocks)
                detail::panelTiles<Tiles, 2, 2>(w, strideBytes, x, blockStride, steps, c);
            else if (outputBlocks == 2)
                detail::panelTiles<Tiles, 2, 1>(w, strideBytes, x, blockStride, steps, c);
            else if (twoRowBlocks)
                detail::panelTiles<Tiles, 1, 2>(w, strideBytes, x, blockStride, steps, c);
            else
                detail::panelTiles<Tiles, 1, 1>(w, strideBytes, x, blockStride, steps, c);
            for (int i = 0; i < outputBlocks; ++i)
                for (int j = 0; j < (twoRowBlocks ? 2 : 1); ++j) {
                    const std::int64_t m0 = (b + j) * kBlock;
                    Helpers::writeOutputs(a, c[i][j], out0 + i * kBlock, std::min(kBlock, outputs - i * kBlock),
                                          m0, int(std::min<std::int64_t>(kBlock, a.m - m0)));
                }
        }
    }
    Tiles::release();
}

}  // namespace querylens::model::kernels::amx
