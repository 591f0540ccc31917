#include "model/kernels/isa.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define QUERYLENS_X86 1
#endif
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace querylens::model::kernels {

namespace {

#ifdef QUERYLENS_X86
struct Registers {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
};

Registers cpuid(unsigned leaf, unsigned subleaf = 0)
{
    Registers r;
    if (!__get_cpuid_count(leaf, subleaf, &r.eax, &r.ebx, &r.ecx, &r.edx))
        return {};
    return r;
}

// XCR0: which register state the OS saves on a context switch. Only valid when cpuid reports
// OSXSAVE; without it the instruction faults.
unsigned long long xcr0()
{
    unsigned eax = 0, edx = 0;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return (static_cast<unsigned long long>(edx) << 32) | eax;
}

bool bit(unsigned value, int index) { return (value >> index) & 1u; }

std::string brandString()
{
    if (cpuid(0x80000000).eax < 0x80000004)
        return {};
    char text[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
        const Registers r = cpuid(0x80000002 + i);
        std::memcpy(text + 16 * i, &r, 16);
    }
    std::string brand(text);
    const auto first = brand.find_first_not_of(' ');
    const auto last = brand.find_last_not_of(' ');
    return first == std::string::npos ? std::string() : brand.substr(first, last - first + 1);
}
#endif

CpuFeatures detect()
{
    CpuFeatures f;
#ifdef QUERYLENS_X86
    f.model = brandString();
    const unsigned maxLeaf = cpuid(0).eax;
    const Registers l1 = cpuid(1);
    const bool osxsave = bit(l1.ecx, 27);
    const unsigned long long xcr = osxsave ? xcr0() : 0;
    f.osYmm = (xcr & 0x6) == 0x6;                  // SSE and AVX state
    f.osZmm = f.osYmm && (xcr & 0xE0) == 0xE0;     // opmask, ZMM_Hi256, Hi16_ZMM
    f.osAmx = (xcr & 0x60000) == 0x60000;          // XTILECFG, XTILEDATA
    f.fma = bit(l1.ecx, 12) && f.osYmm;
    f.f16c = bit(l1.ecx, 29) && f.osYmm;
    if (maxLeaf >= 7) {
        const Registers l7 = cpuid(7, 0);
        f.avx2 = bit(l7.ebx, 5) && f.osYmm;
        f.avx512f = bit(l7.ebx, 16) && f.osZmm;
        f.avx512dq = bit(l7.ebx, 17) && f.osZmm;
        f.avx512bw = bit(l7.ebx, 30) && f.osZmm;
        f.avx512vl = bit(l7.ebx, 31) && f.osZmm;
        f.avx512vnni = bit(l7.ecx, 11) && f.osZmm;
        f.amxBf16 = bit(l7.edx, 22);
        f.amxTile = bit(l7.edx, 24);
        f.amxInt8 = bit(l7.edx, 25);
        if (l7.eax >= 1) {
            const Registers l71 = cpuid(7, 1);
            f.avxvnni = bit(l71.eax, 4) && f.osYmm;
            f.avx512bf16 = bit(l71.eax, 5) && f.osZmm;
        }
    }
    if (f.amxTile && f.osAmx)
        f.amxPermitted = requestAmxPermission();
#endif
    return f;
}

std::optional<Isa> environmentCap()
{
    const char* value = std::getenv("QUERYLENS_ISA");
    if (!value || !*value)
        return std::nullopt;
    return parseIsa(value);
}

constexpr int kNoCap = -1;
std::atomic<int> g_cap{kNoCap};

}  // namespace

const char* isaName(Isa isa)
{
    switch (isa) {
    case Isa::Portable: return "portable";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
    case Isa::Avx512Bf16: return "avx512bf16";
    case Isa::Amx: return "amx";
    }
    return "portable";
}

std::optional<Isa> parseIsa(const std::string& name)
{
    for (Isa isa : {Isa::Portable, Isa::Avx2, Isa::Avx512, Isa::Avx512Bf16, Isa::Amx})
        if (name == isaName(isa))
            return isa;
    return std::nullopt;
}

std::string CpuFeatures::flags() const
{
    std::string text;
    auto add = [&](bool present, const char* name) {
        if (present)
            text += (text.empty() ? "" : " ") + std::string(name);
    };
    add(avx2, "avx2");
    add(fma, "fma");
    add(f16c, "f16c");
    add(avx512f, "avx512f");
    add(avx512bw, "avx512bw");
    add(avx512vl, "avx512vl");
    add(avx512dq, "avx512dq");
    add(avx512vnni, "avx512_vnni");
    add(avx512bf16, "avx512_bf16");
    add(avxvnni, "avx_vnni");
    add(amxTile, "amx-tile");
    add(amxBf16, "amx-bf16");
    add(amxInt8, "amx-int8");
    if (amxTile)
        add(true, amxPermitted ? "(amx permitted)" : "(amx not permitted)");
    return text.empty() ? "none" : text;
}

const CpuFeatures& cpuFeatures()
{
    static const CpuFeatures features = detect();
    return features;
}

Isa supportedIsa()
{
    const CpuFeatures& f = cpuFeatures();
    if (!(f.avx2 && f.fma && f.f16c))
        return Isa::Portable;
    if (!(f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512vnni))
        return Isa::Avx2;
    if (!f.avx512bf16)
        return Isa::Avx512;
    if (!(f.amxTile && f.amxBf16 && f.amxPermitted))
        return Isa::Avx512Bf16;
    return Isa::Amx;
}

Isa activeIsa()
{
    static const Isa supported = supportedIsa();
    static const std::optional<Isa> environment = environmentCap();
    Isa isa = supported;
    if (environment)
        isa = std::min(isa, *environment);
    const int cap = g_cap.load(std::memory_order_relaxed);
    if (cap != kNoCap)
        isa = std::min(isa, Isa(cap));
    return isa;
}

void setIsaCap(std::optional<Isa> cap) { g_cap = cap ? int(*cap) : kNoCap; }

std::string invalidIsaEnvironment()
{
    const char* value = std::getenv("QUERYLENS_ISA");
    return value && *value && !parseIsa(value) ? std::string(value) : std::string();
}

bool requestAmxPermission()
{
#if defined(__linux__) && defined(QUERYLENS_X86) && defined(SYS_arch_prctl)
    // ARCH_REQ_XCOMP_PERM and XFEATURE_XTILEDATA from <asm/prctl.h> (not in older headers).
    constexpr int kRequestPermission = 0x1023;
    constexpr int kTileData = 18;
    return syscall(SYS_arch_prctl, kRequestPermission, kTileData) == 0;
#else
    return false;
#endif
}

}  // namespace querylens::model::kernels
