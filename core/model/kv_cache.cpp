#include "model/kv_cache.h"

#include <algorithm>

namespace querylens::model {

KvCache::KvCache(int layers) : layers_(static_cast<std::size_t>(layers)) {}

std::pair<at::Tensor, at::Tensor> KvCache::append(int layerIndex, const at::Tensor& k, const at::Tensor& v)
{
    Layer& layer = layers_.at(static_cast<std::size_t>(layerIndex));
    const std::int64_t needed = layer.length + k.size(2);
    if (!layer.keys.defined() || layer.keys.size(2) < needed) {
        const std::int64_t capacity = std::max<std::int64_t>(needed + 16, layer.keys.defined() ? 2 * layer.keys.size(2) : 0);
        auto grow = [&](const at::Tensor& old, const at::Tensor& like) {
            at::Tensor buffer = at::empty({like.size(0), like.size(1), capacity, like.size(3)}, like.options());
            if (old.defined() && layer.length > 0)
                buffer.narrow(2, 0, layer.length).copy_(old.narrow(2, 0, layer.length));
            return buffer;
        };
        layer.keys = grow(layer.keys, k);
        layer.values = grow(layer.values, v);
    }
    layer.keys.narrow(2, layer.length, k.size(2)).copy_(k);
    layer.values.narrow(2, layer.length, v.size(2)).copy_(v);
    layer.length = needed;
    return {layer.keys.narrow(2, 0, needed), layer.values.narrow(2, 0, needed)};
}

std::int64_t KvCache::length() const { return layers_.empty() ? 0 : layers_.front().length; }

std::int64_t KvCache::rows() const
{
    return layers_.empty() || !layers_.front().keys.defined() ? 0 : layers_.front().keys.size(0);
}

void KvCache::truncate(std::int64_t length)
{
    for (auto& layer : layers_)
        layer.length = std::min(layer.length, length);
}

void KvCache::selectRows(const at::Tensor& rows)
{
    for (auto& layer : layers_) {
        if (!layer.keys.defined())
            continue;
        layer.keys = layer.keys.index_select(0, rows);
        layer.values = layer.values.index_select(0, rows);
    }
}

KvCache KvCache::clone() const
{
    KvCache copy = *this;
    for (auto& layer : copy.layers_) {
        if (layer.keys.defined()) {
            layer.keys = layer.keys.clone();
            layer.values = layer.values.clone();
        }
    }
    return copy;
}

std::size_t KvCache::bytes() const
{
    std::size_t total = 0;
    for (const auto& layer : layers_)
        if (layer.keys.defined())
            total += layer.keys.nbytes() + layer.values.nbytes();
    return total;
}

}  // namespace querylens::model
