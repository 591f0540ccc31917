// Scaled dot-product attention (declared in layers.h). Its own file because it calls
// at::parallel_for, which only spreads work over threads in files compiled with OpenMP.

#include "model/layers.h"

#include "model/kernels/matmul.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <atomic>

namespace querylens::model {

namespace {

// Query rows from which the heads are run in parallel. libtorch's batched product runs the
// heads one after another and splits each small product over the threads, which mostly waits:
// for an image (ViT-g/14: 16 heads of 257 x 88) a head per thread is twice as fast (15 -> 7 ms a
// layer on 2 threads). One decoded token (a single row per head) is cheaper batched.
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

at::Tensor headParallelAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale,
                                 const at::Tensor& mask, at::Tensor* probabilities)
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
    at::parallel_for(0, std::min<std::int64_t>(at::get_num_threads(), b * heads), 1, [&](std::int64_t, std::int64_t) {
        const c10::InferenceMode guard(inference);
        for (std::int64_t i; (i = next.fetch_add(1)) < b * heads;) {
            const std::int64_t batch = i / heads, head = i % heads;
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

}  // namespace

at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale,
                     const at::Tensor& mask, at::Tensor* probabilities)
{
    // (kernels::setLibtorchOnly selects libtorch's batched product, as eager PyTorch runs it;
    // so does autograd: the head-parallel path writes into preallocated outputs, which backward
    // cannot follow, while the batched one keeps `probabilities` in the graph for GradCAM.)
    if (q.size(2) >= kParallelHeadRows && q.device().is_cpu() && at::get_num_threads() > 1 && !kernels::libtorchOnly() &&
        !kernels::needsAutograd({q, k, v}))
        return headParallelAttention(q, k, v, scale, mask, probabilities);
    return batchedAttention(q, k, v, scale, mask, probabilities);
}

}  // namespace querylens::model
