// The AMX-BF16 product of gemm_amx_tiles.h on the hardware: the Tiles are the tile instructions,
// the Helpers the AVX-512 code of gemm_amx_avx512.h. Compiled with the AVX-512, AVX512_BF16,
// AMX-TILE and AMX-BF16 flags; gemv.cpp calls it only at the amx level (the CPU has the
// instructions and Linux granted the tile data, isa.cpp) and once the kernel has passed its
// check against a scalar product on this CPU.

#include "model/kernels/gemm_amx_avx512.h"

#include <chrono>

namespace querylens::model::kernels {

namespace {

// GCC's tile intrinsics are macros that paste the register number into the instruction text,
// so each register the kernel uses is spelled out once here.
struct HardwareTiles {
    static void configure(const amx::TileConfig& config) { _tile_loadconfig(&config); }
    static void release() { _tile_release(); }

    template <int T>
    static void zero()
    {
        static_assert(T >= 0 && T <= 3, "the kernel zeroes only its C tiles");
        if constexpr (T == 0)
            _tile_zero(0);
        else if constexpr (T == 1)
            _tile_zero(1);
        else if constexpr (T == 2)
            _tile_zero(2);
        else
            _tile_zero(3);
    }

    template <int T>
    static void load(const void* base, std::int64_t stride)
    {
        static_assert(T >= 4 && T <= 7, "the kernel loads only its A and B tiles");
        // GCC's tileloadd is an asm statement that takes only the address, not the memory it
        // reads: without this barrier the compiler may delay (or, for a local buffer, drop) the
        // stores that fill what it loads: the padded panel, the peak probe's operands. It costs
        // nothing in the loop, which has no pending stores.
        __asm__ volatile("" ::: "memory");
        if constexpr (T == 4)
            _tile_loadd(4, base, stride);
        else if constexpr (T == 5)
            _tile_loadd(5, base, stride);
        else if constexpr (T == 6)
            _tile_loadd(6, base, stride);
        else
            _tile_loadd(7, base, stride);
    }

    template <int C, int A, int B>
    static void dot()
    {
        if constexpr (C == 0 && A == 4 && B == 6)
            _tile_dpbf16ps(0, 4, 6);
        else if constexpr (C == 1 && A == 4 && B == 7)
            _tile_dpbf16ps(1, 4, 7);
        else if constexpr (C == 2 && A == 5 && B == 6)
            _tile_dpbf16ps(2, 5, 6);
        else {
            static_assert(C == 3 && A == 5 && B == 7, "C[i][j] += A[i] B[j]");
            _tile_dpbf16ps(3, 5, 7);
        }
    }

    template <int T>
    static void store(void* base, std::int64_t stride)
    {
        static_assert(T >= 0 && T <= 3, "the kernel stores only its C tiles");
        if constexpr (T == 0)
            _tile_stored(0, base, stride);
        else if constexpr (T == 1)
            _tile_stored(1, base, stride);
        else if constexpr (T == 2)
            _tile_stored(2, base, stride);
        else
            _tile_stored(3, base, stride);
    }
};

}  // namespace

void packRowsAmx(const float* x, std::int64_t m, std::int64_t k, std::int64_t blockBegin, std::int64_t blockEnd,
                 std::uint32_t* packed)
{
    amx::Avx512Helpers::packRows(x, m, k, blockBegin, blockEnd, packed);
}

void gemmPanelsAmx(const GemvArguments& args, const std::uint32_t* packedX, std::int64_t panelBegin, std::int64_t panelEnd)
{
    amx::gemmPanels<HardwareTiles, amx::Avx512Helpers>(args, packedX, panelBegin, panelEnd);
}

double bf16PeakGflopsAmx(std::int64_t iterations)
{
    // Four independent accumulators over the same A and B tiles: tdpbf16ps's throughput, 16 x 16
    // outputs x 32 products each.
    alignas(64) std::uint16_t ones[16 * 32];
    for (std::uint16_t& v : ones)
        v = 0x3f80;  // 1.0
    alignas(64) float sink[16 * 16];
    HardwareTiles::configure(amx::gemmTileConfig());
    HardwareTiles::zero<0>();
    HardwareTiles::zero<1>();
    HardwareTiles::zero<2>();
    HardwareTiles::zero<3>();
    HardwareTiles::load<4>(ones, 64);
    HardwareTiles::load<5>(ones, 64);
    HardwareTiles::load<6>(ones, 64);
    HardwareTiles::load<7>(ones, 64);
    const auto start = std::chrono::steady_clock::now();
    for (std::int64_t it = 0; it < iterations; ++it) {
        HardwareTiles::dot<0, 4, 6>();
        HardwareTiles::dot<1, 4, 7>();
        HardwareTiles::dot<2, 5, 6>();
        HardwareTiles::dot<3, 5, 7>();
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    HardwareTiles::store<0>(sink, 64);
    HardwareTiles::release();
    volatile float keep = sink[0];
    (void)keep;
    return 4.0 * 16 * 16 * 32 * 2 * double(iterations) / seconds / 1e9;
}

}  // namespace querylens::model::kernels
