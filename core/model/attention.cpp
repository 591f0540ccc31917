// Scaled dot-product attention (declared in layers.h). Its own file because it calls
// at::parallel_for, which only spreads work over threads in files compiled with OpenMP.

#include "model/layers.h"

#include "model/kernels/attention_head.h"
#include "model/kernels/isa.h"
#include "model/kernels/matmul.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <atomic>
#include <vector>

namespace querylens::model {

namespace {

// Query rows from which the heads are run in parallel. libtorch's batched product runs the
// heads one after another and splits each small product over the threads, which mostly waits:
// for an image (ViT-g/14: 16 heads of 257 x 88) a head per thread is twice as fast (15 -> 7 ms a
// layer on 2 threads). Fewer rows (a decoded token) take the few-rows kernel, or the batched
// product where it does not apply.
constexpr std::int64_t kParallelHeadRows = 16;

at::Tensor batchedAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale,
                            const at::Tensor& mask, at::Tensor* probabilities)
{
    at::Tensor scores = at::matmul(q, k.transpose(-1, -2));  // [B, H, Tq, Tk]
    if (scale != 1.0)
        scores.mul_(scale);
    if (mask.defined())
        scores.add_(mask);
    at::Tensor probs = at::softmax(scores, -1);
    if (probabilities)
        *probabilities = probs;
    return at::matmul(probs, v);
}

// Query rows from which our fused head is used: it transposes k and packs v once per head,
// which a few rows do not repay (Zen 4, querylens-kernel-bench --only attention: 1.4x OpenBLAS's
// products for an image's 257 rows, 0.85x for the Q-Former's 32 queries over 257 keys).
constexpr std::int64_t kFusedHeadRows = 64;

// Our fused head applies: enough rows, no mask, each row of q, k and v contiguous in memory
// (an image's q, k and v are strided views of the qkv product).
// What every float32 attention kernel reads: float32 q, k and v, as many values as query
// dimensions, each row contiguous; and a CPU with at least AVX2.
bool kernelsReadThese(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v)
{
    const auto isFloat = [](const at::Tensor& t) { return t.scalar_type() == at::kFloat; };
    return kernels::activeIsa() >= kernels::Isa::Avx2 && isFloat(q) && isFloat(k) && isFloat(v) &&
           q.size(3) == v.size(3) && q.stride(3) == 1 && k.stride(3) == 1 && v.stride(3) == 1;
}

bool fusedHeadApplies(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask)
{
    return q.size(2) >= kFusedHeadRows && !mask.defined() && kernelsReadThese(q, k, v);
}

// A fused head and the scratch floats it needs for tk keys of d values.
struct FusedHead {
    void (*run)(const kernels::AttentionHeadArguments&, float* scratch) = nullptr;
    std::int64_t (*scratchFloats)(std::int64_t tk, std::int64_t d) = nullptr;
};

// The fused head for these inputs, or none: AVX512_BF16's for bf16 models where the CPU has
// it, else AVX-512 F's in float32, else AVX2's.
FusedHead fusedHeadFor(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                       AttentionProducts products)
{
    if (!fusedHeadApplies(q, k, v, mask))
        return {};
    if (products == AttentionProducts::Bfloat16 && kernels::activeIsa() >= kernels::Isa::Avx512Bf16)
        return {kernels::attentionHeadAvx512Bf16, kernels::attentionHeadScratchFloats};
    if (kernels::activeIsa() >= kernels::Isa::Avx512)
        return {kernels::attentionHeadAvx512, kernels::attentionHeadScratchFloats};
    return {kernels::attentionHeadAvx2, kernels::attentionHeadAvx2ScratchFloats};
}

// The kernels' view of head `i` (batch i / H, head i % H) of q, k, v [B, H, T, d] (rows strided,
// each contiguous) and of the outputs probs [B, H, Tq, Tk] and context [B, H, Tq, d] (contiguous).
kernels::AttentionHeadArguments headArguments(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                              const at::Tensor& probs, const at::Tensor& context, double scale, std::int64_t i)
{
    const std::int64_t batch = i / q.size(1), head = i % q.size(1);
    kernels::AttentionHeadArguments args;
    args.q = q.data_ptr<float>() + batch * q.stride(0) + head * q.stride(1);
    args.k = k.data_ptr<float>() + batch * k.stride(0) + head * k.stride(1);
    args.v = v.data_ptr<float>() + batch * v.stride(0) + head * v.stride(1);
    args.qStride = q.stride(2);
    args.kStride = k.stride(2);
    args.vStride = v.stride(2);
    args.tq = q.size(2);
    args.tk = k.size(2);
    args.d = q.size(3);
    args.probabilities = probs.data_ptr<float>() + i * args.tq * args.tk;
    args.context = context.data_ptr<float>() + i * args.tq * v.size(3);
    args.contextStride = v.size(3);
    args.scale = float(scale);
    return args;
}

at::Tensor headParallelAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale,
                                 const at::Tensor& mask, at::Tensor* probabilities, AttentionProducts products)
{
    const std::int64_t b = q.size(0), heads = q.size(1), tq = q.size(2), tk = k.size(2);
    const at::Tensor context = at::empty({b, heads, tq, v.size(3)}, q.options());
    const at::Tensor probs = at::empty({b, heads, tq, tk}, q.options());
    const at::Tensor fullMask = mask.defined() ? mask.expand({b, heads, tq, tk}) : at::Tensor();
    // Inference mode is per thread: the pool's threads take the caller's, or they could not
    // write into the inference tensors made here.
    const bool inference = c10::InferenceMode::is_enabled();
    // Heads are taken one at a time from a shared counter, not split in fixed halves: where the
    // cores also run other work, a thread that loses its core for a few milliseconds leaves its
    // heads to the other instead of holding up the layer (an image: 16 heads, each under 1 ms).
    std::atomic<std::int64_t> next{0};
    const FusedHead fusedHead = fusedHeadFor(q, k, v, mask, products);
    at::parallel_for(0, std::min<std::int64_t>(at::get_num_threads(), b * heads), 1, [&](std::int64_t, std::int64_t) {
        const c10::InferenceMode guard(inference);
        std::vector<float> scratch(fusedHead.run ? std::size_t(fusedHead.scratchFloats(tk, q.size(3))) : 0);
        for (std::int64_t i; (i = next.fetch_add(1)) < b * heads;) {
            const std::int64_t batch = i / heads, head = i % heads;
            if (fusedHead.run) {
                fusedHead.run(headArguments(q, k, v, probs, context, scale, i), scratch.data());
                continue;
            }
            at::Tensor p = probs[batch][head];
            at::mm_out(p, q[batch][head], k[batch][head].t());
            if (scale != 1.0)
                p.mul_(scale);
            if (fullMask.defined())
                p.add_(fullMask[batch][head]);
            at::_softmax_out(p, p, -1, false);
            at::Tensor out = context[batch][head];
            at::mm_out(out, p, v[batch][head]);
        }
    });
    if (probabilities)
        *probabilities = probs;
    return context;
}

// The few-rows kernel applies: float32 throughout, each row of q, k and v contiguous in memory
// (the cache's keys and values are views of a longer buffer), and the mask, if any, an additive
// float one whose rows are contiguous once expanded to every head.
bool fewRowsApply(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& fullMask)
{
    return kernelsReadThese(q, k, v) &&
           (!fullMask.defined() || (fullMask.scalar_type() == at::kFloat && fullMask.stride(3) == 1));
}

// A decoded token's heads (or a few rows each: the beams' tokens, T5's cross-attention rows):
// the AVX2 kernel per head, the heads split over the threads.
at::Tensor fewRowsAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale,
                            const at::Tensor& fullMask, at::Tensor* probabilities)
{
    const std::int64_t b = q.size(0), heads = q.size(1), tq = q.size(2), tk = k.size(2);
    const at::Tensor context = at::empty({b, heads, tq, v.size(3)}, q.options());
    const at::Tensor probs = at::empty({b, heads, tq, tk}, q.options());
    // Heads in runs of 8: a head is a few microseconds, not worth a hand-off of its own.
    at::parallel_for(0, b * heads, 8, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) {
            const std::int64_t batch = i / heads, head = i % heads;
            const float* mask = fullMask.defined()
                                    ? fullMask.data_ptr<float>() + batch * fullMask.stride(0) + head * fullMask.stride(1)
                                    : nullptr;
            kernels::attentionRowsAvx2(headArguments(q, k, v, probs, context, scale, i), mask,
                                       fullMask.defined() ? fullMask.stride(2) : 0);
        }
    });
    if (probabilities)
        *probabilities = probs;
    return context;
}

}  // namespace

at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale,
                     const at::Tensor& mask, at::Tensor* probabilities, AttentionProducts products)
{
    // (kernels::setLibtorchOnly selects libtorch's batched product, as eager PyTorch runs it;
    // so does autograd: the head-parallel path writes into preallocated outputs, which backward
    // cannot follow, while the batched one keeps `probabilities` in the graph for GradCAM.)
    // (On one thread the head-parallel path is used for the fused kernel alone.)
    if (q.size(2) >= kParallelHeadRows && q.device().is_cpu() && !kernels::libtorchOnly() &&
        !kernels::needsAutograd({q, k, v}) && (at::get_num_threads() > 1 || fusedHeadApplies(q, k, v, mask)))
        return headParallelAttention(q, k, v, scale, mask, probabilities, products);
    if (q.size(2) < kParallelHeadRows && q.device().is_cpu() && !kernels::libtorchOnly() && !kernels::needsAutograd({q, k, v})) {
        const at::Tensor fullMask = mask.defined() ? mask.expand({q.size(0), q.size(1), q.size(2), k.size(2)}) : at::Tensor();
        if (fewRowsApply(q, k, v, fullMask))
            return fewRowsAttention(q, k, v, scale, fullMask, probabilities);
    }
    return batchedAttention(q, k, v, scale, mask, probabilities);
}

}  // namespace querylens::model
