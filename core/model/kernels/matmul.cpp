#include "model/kernels/matmul.h"

#include "model/kernels/gemv.h"
#include "model/kernels/isa.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <optional>

namespace querylens::model::kernels {

namespace {

std::atomic<bool> g_libtorchOnly{false};

// Rows of x up to which the matrix-vector kernels are used (decoding, a few beams): they read
// each weight once and need no packing; the packed GEMM overtakes them at about 10-16 rows
// (querylens-kernel-bench --only crossover).
constexpr std::int64_t kGemvRows = 8;
// Above kGemvRows our packed GEMM runs at every size and weight type, unless the measured
// kernel choice found libtorch faster for the shape. Float32 batches past 512 rows once went to
// OpenBLAS outright (as fast on Zen 3); which is faster depends on the kernels OpenBLAS runs
// (openblas_core.h): held to its AVX2 ones by OPENBLAS_CORETYPE=Haswell on a Zen 5 it ran at
// about half our AVX-512 rate, and with its own choice level with it, so it is measured.

WeightType weightType(const at::Tensor& weight)
{
    switch (weight.scalar_type()) {
    case at::kBFloat16: return WeightType::BFloat16;
    case at::kChar: return WeightType::Int8;
    default: return WeightType::Float32;
    }
}

at::Tensor referenceLinear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& scales, const at::Tensor& bias)
{
    if (weight.scalar_type() == at::kFloat)
        return at::linear(x, weight, bias);
    at::Tensor wide = weight.to(at::kFloat);
    if (scales.defined())
        wide = wide * scales.unsqueeze(1);
    return at::linear(x, wide, bias);
}

const char* weightTypeName(WeightType type)
{
    return type == WeightType::Float32 ? "fp32" : type == WeightType::BFloat16 ? "bf16" : "int8";
}

// The product as libtorch computes it at the weights' precision (what eager PyTorch runs): bf16
// x and weights through at::linear in bfloat16 (oneDNN), float32 through at::linear (OpenBLAS).
at::Tensor libtorchProduct(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias)
{
    if (weight.scalar_type() == at::kBFloat16)
        return at::linear(x.to(at::kBFloat16), weight, bias.defined() ? bias.to(at::kBFloat16) : bias).to(at::kFloat);
    return at::linear(x, weight, bias);
}

// Our GEMM's path at the active level, for gemmPath().
std::string oursGemmPath(const std::string& weightType);

}  // namespace

bool needsAutograd(std::initializer_list<at::Tensor> tensors)
{
    if (!at::GradMode::is_enabled())
        return false;
    for (const at::Tensor& t : tensors)
        if (t.defined() && t.requires_grad())
            return true;
    return false;
}

void setLibtorchOnly(bool value) { g_libtorchOnly = value; }
bool libtorchOnly() { return g_libtorchOnly; }

at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& scales, const at::Tensor& bias)
{
    return linear(x, weight, scales, bias, Epilogue{});
}

namespace {

at::Tensor product(std::optional<GemmKernel> forced, const at::Tensor& x, const at::Tensor& weight,
                   const at::Tensor& scales, const at::Tensor& bias, const Epilogue& epilogue)
{
    // The epilogue after the product, as separate libtorch ops (differentiable, any device).
    const auto finish = [&](at::Tensor y) {
        if (epilogue.gelu)
            y = at::gelu(y);
        return epilogue.residual.defined() ? y + epilogue.residual : y;
    };
    if (g_libtorchOnly && weight.scalar_type() == at::kBFloat16)
        return finish(libtorchProduct(x, weight, bias));  // what eager PyTorch does with a bf16 model (the baseline)
    if (needsAutograd({x, weight, bias, epilogue.residual}))
        return finish(referenceLinear(x, weight, scales, bias));
    if (g_libtorchOnly || !x.device().is_cpu() || x.scalar_type() != at::kFloat || !weight.is_contiguous())
        return finish(referenceLinear(x, weight, scales, bias));
    const std::int64_t k = weight.size(1), n = weight.size(0);
    const at::Tensor rows = x.reshape({-1, k}).contiguous();
    const std::int64_t m = rows.size(0);
    std::vector<std::int64_t> shape = x.sizes().vec();
    shape.back() = n;
    const WeightType type = weightType(weight);
    if (m > kGemvRows && type != WeightType::Int8 &&
        forced.value_or(chosenKernel(weightTypeName(type), m, n, k)) == GemmKernel::Libtorch)
        return finish(libtorchProduct(x, weight, bias));
    const at::Tensor biasValues = bias.defined() ? bias.to(at::kFloat).contiguous() : at::Tensor();
    const at::Tensor scaleValues = scales.defined() ? scales.contiguous() : at::Tensor();

    const bool packed = activeIsa() >= Isa::Avx2;
    if (m <= kGemvRows || packed) {
        at::Tensor y = at::empty({m, n}, x.options());
        GemvArguments args;
        args.weight = weight.data_ptr();
        args.type = type;
        args.scales = scaleValues.defined() ? scaleValues.data_ptr<float>() : nullptr;
        args.bias = biasValues.defined() ? biasValues.data_ptr<float>() : nullptr;
        args.x = rows.data_ptr<float>();
        args.y = y.data_ptr<float>();
        args.m = m;
        args.n = n;
        args.k = k;
        if (m <= kGemvRows) {
            gemv(args);
            return finish(y.view(shape));
        }
        // The bf16 kernel applies the epilogue in registers; the float32-FMA kernels would in a
        // scalar pass, slower than libtorch's vectorised GELU, so they leave it to finish().
        const bool fused = type == WeightType::BFloat16 && activeIsa() >= Isa::Avx512Bf16;  // avx512bf16 and amx
        at::Tensor residual;
        if (fused && epilogue.residual.defined()) {
            residual = epilogue.residual.to(at::kFloat).expand(y.view(shape).sizes()).reshape({m, n}).contiguous();
            args.residual = residual.data_ptr<float>();
        }
        if (fused && epilogue.gelu)
            args.activation = GemmActivation::Gelu;
        gemm(args);
        return fused ? y.view(shape) : finish(y.view(shape));
    }
    if (type == WeightType::Float32)
        return finish(at::linear(x, weight, bias));

    // Widen ~8 MB of weight rows at a time (they stay in the last-level cache) and multiply.
    const std::int64_t block = std::clamp<std::int64_t>((std::int64_t(8) << 20) / (4 * k), 128, n);
    at::Tensor y = at::empty({m, n}, x.options());
    at::Tensor scratch = at::empty({block, k}, x.options());
    const float* scalePtr = scaleValues.defined() ? scaleValues.data_ptr<float>() : nullptr;
    for (std::int64_t r0 = 0; r0 < n; r0 += block) {
        const std::int64_t r1 = std::min(n, r0 + block);
        float* out = scratch.data_ptr<float>();
        at::parallel_for(r0, r1, 16, [&](std::int64_t begin, std::int64_t end) {
            dequantizeRows(weight.data_ptr(), type, scalePtr, k, begin, end, out + (begin - r0) * k);
        });
        y.narrow(1, r0, r1 - r0).copy_(at::mm(rows, scratch.narrow(0, 0, r1 - r0).t()));
    }
    if (biasValues.defined())
        y.add_(biasValues);
    return finish(y.view(shape));
}

}  // namespace

at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& scales, const at::Tensor& bias,
                  const Epilogue& epilogue)
{
    return product(std::nullopt, x, weight, scales, bias, epilogue);
}

at::Tensor linearWith(GemmKernel kernel, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& scales,
                      const at::Tensor& bias, const Epilogue& epilogue)
{
    return product(kernel, x, weight, scales, bias, epilogue);
}

std::string gemmPath(const std::string& weightType)
{
    if (g_libtorchOnly)
        return weightType == "bf16" ? "libtorch bf16 at::linear" : "libtorch fp32 at::linear";
    if (weightType != "int8" && kernelChoiceMode() == KernelChoiceMode::Libtorch)
        return "libtorch " + weightType + " at::linear (QUERYLENS_KERNEL_CHOICE=libtorch)";
    std::string ours = oursGemmPath(weightType);
    if (weightType != "int8" && kernelChoiceMode() == KernelChoiceMode::Measured)
        ours += "; libtorch's at::linear for the shapes where it measured faster";
    return ours;
}

namespace {

std::string oursGemmPath(const std::string& weightType)
{
    const Isa isa = activeIsa();
    if (isa < Isa::Avx2)
        return weightType == "fp32" ? "libtorch fp32 GEMM" : "portable: widened, then libtorch fp32 GEMM";
    if (weightType == "bf16" && isa >= Isa::Amx) {
        const std::string& problem = amxKernelProblem();
        if (problem.empty())
            return "amx: bf16 tiles (tdpbf16ps), weights read in place, activations rounded to bf16";
        return "avx512bf16: bf16 GEMM (vdpbf16ps, activations rounded to bf16), as " + problem;
    }
    const std::string level = isaName(isa >= Isa::Avx512Bf16 ? Isa::Avx512Bf16 : isa);
    if (weightType == "bf16" && isa >= Isa::Avx512Bf16)
        return level + ": bf16 GEMM (vdpbf16ps, activations rounded to bf16)";
    const std::string gemmIsa = isa >= Isa::Avx512 ? "avx512" : "avx2";
    if (weightType == "fp32")
        return gemmIsa + ": fp32 GEMM";
    return gemmIsa + ": fp32 GEMM, " + weightType + " widened in cache";
}

}  // namespace

std::string decodePath(const std::string& weightType)
{
    if (g_libtorchOnly)
        return weightType == "bf16" ? "libtorch bf16 at::linear" : "libtorch fp32 at::linear";
    const Isa isa = activeIsa();
    if (isa < Isa::Avx2)
        return "portable: matrix-vector, fp32 activations";
    const std::string level = isa >= Isa::Avx512 ? "avx512" : "avx2";
    if (weightType == "int8")
        return level + (isa >= Isa::Avx512 ? ": int8 dot (vpdpbusd)" : ": int8 dot (maddubs)") +
               ", activations int8 per block of 32";
    return level + ": matrix-vector, " + weightType + " widened in registers";
}

std::string attentionPath()
{
    if (g_libtorchOnly)
        return "libtorch batched matmul";
    // A decoded token's few rows per head take the AVX2 kernel at every level from avx2 up.
    const std::string fewRows = "; a decoded token's rows: avx2, a kernel per head without packing";
    if (activeIsa() >= Isa::Avx512Bf16)
        return "avx512bf16: fused softmax(QK^T)V, a head per thread, bf16 products (vdpbf16ps) for bf16 models and fp32 "
               "for the others (OpenBLAS fp32 products where there is a mask)" + fewRows;
    if (activeIsa() >= Isa::Avx512)
        return "avx512: fused fp32 softmax(QK^T)V, a head per thread (OpenBLAS fp32 products where there is a mask)" + fewRows;
    if (activeIsa() >= Isa::Avx2)
        return "avx2: fused fp32 softmax(QK^T)V, a head per thread (OpenBLAS fp32 products where there is a mask)" + fewRows;
    return "a head per thread, OpenBLAS fp32 products";
}

}  // namespace querylens::model::kernels
