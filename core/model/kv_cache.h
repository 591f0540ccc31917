#pragma once
// Keys and values of past positions, per layer, for a batch of rows (beams). Buffers grow by
// doubling so that appending one token is amortised O(1); a cache can be cut back to a
// shared prefix (the next chat turn), have its rows reordered (beam search), or be copied.

#include <ATen/ATen.h>

#include <utility>
#include <vector>

namespace querylens::model {

class KvCache {
public:
    KvCache() = default;
    explicit KvCache(int layers);

    // Appends k, v [B, H, T, d] to `layer` and returns all keys and values so far, [B, H, L, d].
    std::pair<at::Tensor, at::Tensor> append(int layer, const at::Tensor& k, const at::Tensor& v);

    std::int64_t length() const;  // positions held (equal in every layer between forward passes)
    std::int64_t rows() const;
    void truncate(std::int64_t length);
    // Keeps, in order, the rows named by `rows` [B'] (repeats allowed: beams that share a parent).
    void selectRows(const at::Tensor& rows);
    KvCache clone() const;
    std::size_t bytes() const;

private:
    struct Layer {
        at::Tensor keys;    // [B, H, capacity, d]
        at::Tensor values;  // [B, H, capacity, d]
        std::int64_t length = 0;
    };
    std::vector<Layer> layers_;
};

}  // namespace querylens::model
