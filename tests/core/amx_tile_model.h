#pragma once
// A software model of the AMX tile instructions the bf16 kernel uses (ldtilecfg, tilerelease,
// tilezero, tileloadd, tdpbf16ps, tilestored), written from the Intel SDM's definitions, so that
// the kernel's loops (core/model/kernels/gemm_amx_tiles.h) run and are checked on CPUs without
// AMX. It also faults where the hardware raises #UD, so a kernel that would crash on the real
// thing fails here: a tile op before ldtilecfg or after tilerelease, a palette other than 1,
// more than 16 rows or 64 bytes a row, and tdpbf16ps operands whose shapes do not chain
// (A.rows == C.rows, A.bytesPerRow == 4 B.rows, B.bytesPerRow == C.bytesPerRow).
//
// tdpbf16ps, per the SDM: for each row m of C and each column n (C.bytesPerRow / 4 of them),
// the even products A[m].bf16[2k] B[k].bf16[2n] and the odd ones A[m].bf16[2k + 1]
// B[k].bf16[2n + 1] are summed over k (A.bytesPerRow / 4 pairs) in float32 with round to
// nearest even, bf16 denormals read as zero, then added to C[m][n]; denormal results flush to
// zero. The order of the float32 additions inside one instruction is the model's; the tests
// allow for it (sums agree to ~1e-6 relative).

#include "model/kernels/gemm_amx_tiles.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace querylens::tests {

namespace amxmodel {

struct State {
    bool configured = false;
    querylens::model::kernels::amx::TileConfig config;
    alignas(64) std::uint8_t tiles[8][16][64] = {};
    int configureCount = 0, releaseCount = 0;
    long long dotCount = 0;
};

inline State& state()
{
    thread_local State s;
    return s;
}

[[noreturn]] inline void fault(const std::string& what) { throw std::logic_error("AMX #UD: " + what); }

inline void requireTile(int t)
{
    const State& s = state();
    if (!s.configured)
        fault("tile " + std::to_string(t) + " used without a tile configuration (ldtilecfg)");
    if (s.config.rows[t] == 0 || s.config.bytesPerRow[t] == 0)
        fault("tile " + std::to_string(t) + " is not configured");
}

inline float fromBf16(std::uint16_t bits)
{
    if ((bits & 0x7F80u) == 0)  // zero or denormal: read as zero
        bits &= 0x8000u;
    const std::uint32_t wide = std::uint32_t(bits) << 16;
    float v;
    std::memcpy(&v, &wide, 4);
    return v;
}

inline float flushDenormal(float v) { return std::fpclassify(v) == FP_SUBNORMAL ? std::copysign(0.0f, v) : v; }

}  // namespace amxmodel

struct ModelledTiles {
    static void configure(const querylens::model::kernels::amx::TileConfig& config)
    {
        if (config.palette != 1)
            amxmodel::fault("palette " + std::to_string(config.palette) + " (only palette 1 exists)");
        for (int t = 0; t < 16; ++t) {
            const bool used = t < 8;
            if (!used && (config.rows[t] || config.bytesPerRow[t]))
                amxmodel::fault("tile " + std::to_string(t) + " configured; palette 1 has 8");
            if (config.rows[t] > 16 || config.bytesPerRow[t] > 64 || config.bytesPerRow[t] % 4)
                amxmodel::fault("tile " + std::to_string(t) + " shape " + std::to_string(config.rows[t]) + " x " +
                                std::to_string(config.bytesPerRow[t]) + " bytes");
        }
        amxmodel::State& s = amxmodel::state();
        s.config = config;
        s.configured = true;
        std::memset(s.tiles, 0, sizeof s.tiles);  // ldtilecfg zeroes the tile data
        ++s.configureCount;
    }
    static void release()
    {
        amxmodel::State& s = amxmodel::state();
        s.configured = false;
        ++s.releaseCount;
    }

    template <int T>
    static void zero()
    {
        amxmodel::requireTile(T);
        std::memset(amxmodel::state().tiles[T], 0, sizeof amxmodel::state().tiles[T]);
    }

    template <int T>
    static void load(const void* base, std::int64_t stride)
    {
        amxmodel::requireTile(T);
        amxmodel::State& s = amxmodel::state();
        std::memset(s.tiles[T], 0, sizeof s.tiles[T]);
        for (int r = 0; r < s.config.rows[T]; ++r)
            std::memcpy(s.tiles[T][r], static_cast<const std::uint8_t*>(base) + r * stride, s.config.bytesPerRow[T]);
    }

    template <int T>
    static void store(void* base, std::int64_t stride)
    {
        amxmodel::requireTile(T);
        const amxmodel::State& s = amxmodel::state();
        for (int r = 0; r < s.config.rows[T]; ++r)
            std::memcpy(static_cast<std::uint8_t*>(base) + r * stride, s.tiles[T][r], s.config.bytesPerRow[T]);
    }

    template <int C, int A, int B>
    static void dot()
    {
        static_assert(C != A && C != B && A != B, "tdpbf16ps operands must be three different tiles");
        amxmodel::requireTile(C);
        amxmodel::requireTile(A);
        amxmodel::requireTile(B);
        amxmodel::State& s = amxmodel::state();
        const auto& cfg = s.config;
        if (cfg.rows[A] != cfg.rows[C] || cfg.bytesPerRow[A] != 4 * cfg.rows[B] || cfg.bytesPerRow[B] != cfg.bytesPerRow[C])
            amxmodel::fault("tdpbf16ps shapes do not chain: C " + std::to_string(cfg.rows[C]) + "x" +
                            std::to_string(cfg.bytesPerRow[C]) + ", A " + std::to_string(cfg.rows[A]) + "x" +
                            std::to_string(cfg.bytesPerRow[A]) + ", B " + std::to_string(cfg.rows[B]) + "x" +
                            std::to_string(cfg.bytesPerRow[B]));
        const int pairs = cfg.bytesPerRow[A] / 4, columns = cfg.bytesPerRow[C] / 4;
        for (int m = 0; m < cfg.rows[C]; ++m) {
            std::uint16_t a[32];
            std::memcpy(a, s.tiles[A][m], 64);
            float* c = reinterpret_cast<float*>(s.tiles[C][m]);
            for (int n = 0; n < columns; ++n) {
                float even = 0.0f, odd = 0.0f;
                for (int k = 0; k < pairs; ++k) {
                    std::uint16_t b[32];
                    std::memcpy(b, s.tiles[B][k], 64);
                    even = std::fma(amxmodel::fromBf16(a[2 * k]), amxmodel::fromBf16(b[2 * n]), even);
                    odd = std::fma(amxmodel::fromBf16(a[2 * k + 1]), amxmodel::fromBf16(b[2 * n + 1]), odd);
                }
                float sum;
                std::memcpy(&sum, &c[n], 4);
                sum = amxmodel::flushDenormal(amxmodel::flushDenormal(sum + even) + odd);
                std::memcpy(&c[n], &sum, 4);
            }
        }
        ++s.dotCount;
    }
};

}  // namespace querylens::tests
