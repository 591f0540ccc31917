// AVX512_BF16 matrix product for prompts and images with bfloat16 weights:
// y [m][n] = act(x [m][k] W^T + bias) + residual, with x rounded to bfloat16 (the precision the
// user chose) and float32 sums (compiled with the AVX-512 and AVX512_BF16 flags; called at the
// avx512bf16 level).
//
// vdpbf16ps multiplies 16 pairs of bf16 values by 16 pairs and adds each pair's two products
// to a float32 lane: 64 flops an instruction, twice the float32 FMA's. It wants the weights
// pair-interleaved: lane j holds (W[j][2p], W[j][2p + 1]). The loops, outermost first:
//  - x is rounded to bf16 and packed once per call, 12 rows at a time, as [pair][12] (each tile
//    by the first thread to need it): a register tile reads its x pairs from one contiguous
//    stream (one pointer and immediate offsets; the hardware prefetcher follows it, and it no
//    longer needs 12 row pointers);
//  - a panel of 32 weight rows is repacked over the whole of k into [pair][32 rows] (an 8 x 8
//    transpose of 32-bit pairs; 90 KB for k = 1408, 393 KB for 6144: it stays in L2 while
//    every tile of x passes over it); the weights of the thread's next panel are fetched while
//    the tiles of this one run, a line every 4 pairs;
//  - 12 x 32 register tiles (24 accumulators of the 32 zmm registers) run over the whole of k:
//    per pair of columns, 2 weight loads and 12 broadcasts feed 24 vdpbf16ps (each broadcast
//    serves two; folding it into both as a {1to16} memory operand was 4-18 % slower on Zen 5,
//    twice the loads); each output is
//    written once, with its bias, activation and residual applied in registers (the earlier
//    256-column chunks read and wrote every output k / 256 times and left GELU and the
//    residual to separate passes over memory).
// Repacking per call rather than once at load keeps the weights in their stored [n][k] form,
// which the decode kernels, the tied embedding lookup, autograd and the libtorch baseline read,
// and which memory-mapped bf16 checkpoints provide without a copy. On Zen 4 (one core, cpu
// time, 257 rows) the tiles run at ~0.99 of the vdpbf16ps peak; the weight repacking costs
// ~3-7 % and the packing of x ~1-3.5 % (less the wider the layer), the 5-row tail ~2 %. On a
// Zen 5 VM (2 threads, full ViT-g) the repacking took ~10 % of the encode until the next panel
// was fetched ahead (now ~6 %), and the packing of x ~8 % (half of it one thread waiting for the
// other's tile) until the threads started on different tiles and the transposition moved into
// registers (now ~2 %).

#include "model/kernels/avx2_common.h"
#include "model/kernels/avx512_common.h"
#include "model/kernels/bf16_gemm_avx512.h"
#include "model/kernels/gemv.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <vector>

namespace querylens::model::kernels {

namespace {

constexpr int kPanel = 32;     // weight rows per panel: two zmm of float32 sums per x row
constexpr int kTileRows = 12;  // x rows per register tile

inline std::uint32_t pairAt(const std::uint16_t* row, std::int64_t col, std::int64_t end)
{
    const std::uint32_t low = col < end ? row[col] : 0u, high = col + 1 < end ? row[col + 1] : 0u;
    return low | (high << 16);
}

// packed[p][r] = (W[row0 + r][2p], W[row0 + r][2p + 1]) for p < (k + 1) / 2, r < kPanel; rows
// past `rows` and the column past an odd k are 0.
void packPanel(const GemvArguments& a, std::int64_t row0, int rows, std::uint32_t* packed)
{
    const auto* weight = static_cast<const std::uint16_t*>(a.weight);
    const std::int64_t pairs = (a.k + 1) / 2;
    for (int g = 0; g < kPanel; g += 8) {
        std::int64_t p = 0;
        if (rows - g >= 8) {
            const std::uint16_t* w[8];
            for (int r = 0; r < 8; ++r)
                w[r] = weight + (row0 + g + r) * a.k;
            // 8 rows x 8 pairs (16 columns) a step, as 32-bit elements.
            for (; 2 * (p + 8) <= a.k; p += 8) {
                __m256 v[8];
                for (int r = 0; r < 8; ++r)
                    v[r] = _mm256_castsi256_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[r] + 2 * p)));
                transpose8(v);
                for (int j = 0; j < 8; ++j)
                    _mm256_store_ps(reinterpret_cast<float*>(packed + (p + j) * kPanel + g), v[j]);
            }
        }
        for (; p < pairs; ++p)
            for (int r = g; r < g + 8; ++r)
                packed[p * kPanel + r] = r < rows ? pairAt(weight + (row0 + r) * a.k, 2 * p, a.k) : 0u;
    }
}

// Rows [m0, m0 + MR) of x (packed: xp [pair][kTileRows]) against a packed panel.
// Meanwhile `aheadLines` cache lines from `ahead` are fetched, one every 4 pairs.
template <int MR>
void tile(const GemvArguments& a, const std::uint32_t* xp, const std::uint32_t* packed, std::int64_t m0,
          std::int64_t row0, int rows, const char* ahead, std::int64_t aheadLines)
{
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i)
        c0[i] = c1[i] = _mm512_setzero_ps();
    const std::int64_t pairs = (a.k + 1) / 2;
    for (std::int64_t p = 0; p < pairs; ++p) {
        const __m512bh w0 = (__m512bh)_mm512_load_si512(packed + p * kPanel);
        const __m512bh w1 = (__m512bh)_mm512_load_si512(packed + p * kPanel + 16);
        _mm_prefetch(reinterpret_cast<const char*>(xp + p * kTileRows) + 1024, _MM_HINT_T0);
        if ((p & 3) == 0 && (p >> 2) < aheadLines)
            _mm_prefetch(ahead + (p >> 2) * 64, _MM_HINT_T1);
#pragma GCC unroll 12
        for (int i = 0; i < MR; ++i) {
            const __m512bh xi = (__m512bh)_mm512_set1_epi32(int(xp[p * kTileRows + i]));
            c0[i] = _mm512_dpbf16_ps(c0[i], xi, w0);
            c1[i] = _mm512_dpbf16_ps(c1[i], xi, w1);
        }
    }
    const __mmask16 mask0 = rows >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << rows) - 1);
    const __mmask16 mask1 = rows >= 32 ? __mmask16(0xFFFF) : rows > 16 ? __mmask16((1u << (rows - 16)) - 1) : 0;
    __m512 b0 = _mm512_setzero_ps(), b1 = _mm512_setzero_ps();
    if (a.bias) {
        b0 = _mm512_maskz_loadu_ps(mask0, a.bias + row0);
        b1 = _mm512_maskz_loadu_ps(mask1, a.bias + row0 + 16);
    }
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
        storeOutputs(a, c0[i], b0, m0 + i, row0, mask0);
        if (mask1)
            storeOutputs(a, c1[i], b1, m0 + i, row0 + 16, mask1);
    }
}

template <int MR>
void tailTile(const GemvArguments& a, const std::uint32_t* xp, const std::uint32_t* packed, std::int64_t m0,
              std::int64_t left, std::int64_t row0, int rows)
{
    if constexpr (MR > 0) {
        if (left == MR)
            tile<MR>(a, xp, packed, m0, row0, rows, nullptr, 0);
        else
            tailTile<MR - 1>(a, xp, packed, m0, left, row0, rows);
    }
}

}  // namespace

std::int64_t gemmPanelCountAvx512Bf16(std::int64_t n) { return (n + kPanel - 1) / kPanel; }
std::int64_t gemmTileCountAvx512Bf16(std::int64_t m) { return (m + kTileRows - 1) / kTileRows; }
std::int64_t packedActivationsSizeAvx512Bf16(std::int64_t m, std::int64_t k)
{
    return gemmTileCountAvx512Bf16(m) * ((k + 1) / 2) * kTileRows;
}

void packActivationsAvx512Bf16(const float* x, std::int64_t m, std::int64_t k, std::int64_t tileBegin,
                               std::int64_t tileEnd, std::uint32_t* packed)
{
    static_assert(kTileRows <= 16, "a tile's rows are lanes of one transpose");
    const std::int64_t pairs = (k + 1) / 2;
    const __mmask16 tileLanes = __mmask16((1u << kTileRows) - 1);
    for (std::int64_t t = tileBegin; t < tileEnd; ++t) {
        std::uint32_t* out = packed + t * pairs * kTileRows;
        // 16 pairs (32 columns) of the tile's rows a step, each pair's 12 rows one store.
        for (std::int64_t p0 = 0; p0 < pairs; p0 += 16) {
            __m512i lanes[16];
            bf16PairsOfRows(x, m, k, t * kTileRows, kTileRows, p0, lanes);
            const int count = int(std::min<std::int64_t>(16, pairs - p0));
            for (int p = 0; p < count; ++p)
                _mm512_mask_storeu_epi32(out + (p0 + p) * kTileRows, tileLanes, lanes[p]);
        }
    }
}

namespace {

// Tile t of x, packed by whichever thread reaches it first (the others wait the few
// microseconds that takes): the threads share the packing without a parallel region of its own,
// whose end would make each wait for the slowest.
const std::uint32_t* readyTile(const GemvArguments& a, const PackedActivations& x, std::int64_t t)
{
    std::atomic<int>& state = x.state[t];
    if (state.load(std::memory_order_acquire) != PackedActivations::kReady) {
        int expected = PackedActivations::kEmpty;
        if (state.compare_exchange_strong(expected, PackedActivations::kPacking, std::memory_order_acq_rel)) {
            packActivationsAvx512Bf16(a.x, a.m, a.k, t, t + 1, x.values);
            state.store(PackedActivations::kReady, std::memory_order_release);
        } else {
            while (state.load(std::memory_order_acquire) != PackedActivations::kReady)
                _mm_pause();
        }
    }
    return x.values + t * ((a.k + 1) / 2) * kTileRows;
}

}  // namespace

void gemmPanelsAvx512Bf16(const GemvArguments& a, const PackedActivations& x, std::int64_t panelBegin,
                          std::int64_t panelEnd, std::int64_t firstTile, std::int64_t panelAfter)
{
    // The packed panel [pair][32], kept by each thread from call to call.
    struct alignas(64) Line {
        std::uint32_t pair[16];
    };
    thread_local std::vector<Line> buffer;
    const std::int64_t pairs = (a.k + 1) / 2;
    buffer.resize(std::size_t(pairs * kPanel / 16));
    auto* packed = reinterpret_cast<std::uint32_t*>(buffer.data());
    const std::int64_t tiles = gemmTileCountAvx512Bf16(a.m);
    for (std::int64_t panel = panelBegin; panel < panelEnd; ++panel) {
        const std::int64_t row0 = panel * kPanel;
        const int rows = int(std::min<std::int64_t>(kPanel, a.n - row0));
        packPanel(a, row0, rows, packed);
        // The weights of the panel this thread packs next, fetched a slice per tile while the
        // tiles run: its 32 rows are one contiguous block, but packPanel reads them as 8 short
        // streams at a time, which the hardware prefetchers do not follow in time (on Zen 5 the
        // packing stalled on those loads for ~10 % of an image encode).
        const std::int64_t coming = panel + 1 < panelEnd ? panel + 1 : panelAfter;
        const char* ahead = nullptr;
        std::int64_t aheadLines = 0;
        if (coming >= 0 && coming * kPanel < a.n) {
            ahead = static_cast<const char*>(a.weight) + coming * kPanel * a.k * 2;
            aheadLines = (std::min<std::int64_t>(kPanel, a.n - coming * kPanel) * a.k * 2 + 63) / 64;
        }
        for (std::int64_t step = 0; step < tiles; ++step) {
            const std::int64_t t = (firstTile + step) % tiles;
            const std::int64_t m0 = t * kTileRows;
            const std::uint32_t* xp = readyTile(a, x, t);
            const std::int64_t from = step * aheadLines / tiles, to = (step + 1) * aheadLines / tiles;
            if (m0 + kTileRows <= a.m)
                tile<kTileRows>(a, xp, packed, m0, row0, rows, ahead + from * 64, to - from);
            else
                tailTile<kTileRows - 1>(a, xp, packed, m0, a.m - m0, row0, rows);
        }
    }
}

double bf16PeakGflopsAvx512Bf16(std::int64_t iterations)
{
    __m512 acc[12];
    for (int i = 0; i < 12; ++i)
        acc[i] = _mm512_set1_ps(float(i));
    const __m512bh a = (__m512bh)_mm512_set1_epi32(0x3f803f80), b = (__m512bh)_mm512_set1_epi32(0x33d633d6);
    const auto start = std::chrono::steady_clock::now();
    for (std::int64_t it = 0; it < iterations; ++it) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; ++i)
            acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    __m512 sum = acc[0];
    for (int i = 1; i < 12; ++i)
        sum = _mm512_add_ps(sum, acc[i]);
    volatile float sink = _mm512_reduce_add_ps(sum);
    (void)sink;
    return 4.0 * 16 * 12 * double(iterations) / seconds / 1e9;
}

}  // namespace querylens::model::kernels
