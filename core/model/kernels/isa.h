#pragma once
// Which instruction set the kernels use, chosen once per process from what the CPU has and the
// operating system has enabled (cpuid and xgetbv), capped by QUERYLENS_ISA for tests and
// comparisons. One binary runs everywhere: the code of each level lives in files named by it
// (gemv_avx2.cpp, gemm_avx512.cpp, gemm_avx512bf16.cpp, ...), each compiled with its own flags
// and called only when activeIsa() reaches its level.

#include <optional>
#include <string>

namespace querylens::model::kernels {

// Ordered: each level includes the ones before it.
enum class Isa {
    Portable,    // plain C++
    Avx2,        // AVX2 + FMA (+ F16C)
    Avx512,      // AVX-512 F/BW/VL/DQ + VNNI (vpdpbusd): Ice Lake, Sapphire Rapids, Zen 4
    Avx512Bf16,  // + AVX512_BF16 (vdpbf16ps): Sapphire Rapids, Zen 4
    Amx,         // + AMX-TILE/BF16 with the kernel's permission: bf16 products on tiles (gemm_amx_tiles.h)
};

const char* isaName(Isa isa);  // "portable", "avx2", "avx512", "avx512bf16", "amx"
std::optional<Isa> parseIsa(const std::string& name);

struct CpuFeatures {
    std::string model;  // the brand string, e.g. "AMD EPYC 9654 96-Core Processor"
    bool avx2 = false, fma = false, f16c = false;
    bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
    bool avx512vnni = false, avx512bf16 = false, avxvnni = false;
    bool amxTile = false, amxBf16 = false, amxInt8 = false;
    bool osYmm = false;      // XCR0: the OS saves YMM state
    bool osZmm = false;      // XCR0: opmask and ZMM state
    bool osAmx = false;      // XCR0: tile config and data (the permission is requested separately)
    bool amxPermitted = false;  // arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) granted

    // "avx2 fma avx512f ... amx-bf16": what was found, in lscpu's spelling.
    std::string flags() const;
};

// Read once (cpuid, xgetbv; for AMX also the Linux permission request).
const CpuFeatures& cpuFeatures();

// The best level this CPU and OS can run, ignoring QUERYLENS_ISA.
Isa supportedIsa();
// What the kernels use: supportedIsa() capped by QUERYLENS_ISA (read once at start) and by
// setIsaCap. At the amx level bf16 products of 9 rows and more run on tiles; everything else
// (fp32 and int8 weights, decoding, attention) runs the avx512bf16 level's kernels.
Isa activeIsa();
// Tests and benchmarks: cap the level for this process (nullopt: back to the environment's cap).
void setIsaCap(std::optional<Isa> cap);
// The QUERYLENS_ISA value that was ignored because it named no level, or empty.
std::string invalidIsaEnvironment();

// Linux keeps AMX tile data off until a process asks for it; true when granted. Safe to call on
// any CPU: without AMX the request is refused and this returns false.
bool requestAmxPermission();

}  // namespace querylens::model::kernels
