#include "querylens/gradient_maps.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace querylens {

namespace {

void requireShape(bool ok, const char* what)
{
    if (!ok)
        throw std::invalid_argument(std::string("gradient maps: ") + what);
}

}  // namespace

FloatMatrix::FloatMatrix(int rowCount, int colCount, float fill)
    : rows(rowCount), cols(colCount), values(std::size_t(rowCount) * std::size_t(colCount), fill)
{
}

FloatMatrix FloatMatrix::identity(int n)
{
    FloatMatrix m(n, n);
    for (int i = 0; i < n; ++i)
        m.at(i, i) = 1.0f;
    return m;
}

FloatMatrix multiply(const FloatMatrix& a, const FloatMatrix& b)
{
    requireShape(a.cols == b.rows, "a b with mismatched inner sizes");
    FloatMatrix out(a.rows, b.cols);
    // i-k-j order: the inner loop runs along rows of b and out.
    for (int i = 0; i < a.rows; ++i) {
        float* o = out.values.data() + std::size_t(i) * std::size_t(out.cols);
        for (int k = 0; k < a.cols; ++k) {
            const float x = a.at(i, k);
            if (x == 0.0f)
                continue;
            const float* br = b.row(k);
            for (int j = 0; j < b.cols; ++j)
                o[j] += x * br[j];
        }
    }
    return out;
}

FloatMatrix multiplyTransposed(const FloatMatrix& a, const FloatMatrix& b)
{
    requireShape(a.rows == b.rows, "a^T b with mismatched inner sizes");
    FloatMatrix out(a.cols, b.cols);
    for (int k = 0; k < a.rows; ++k) {
        const float* br = b.row(k);
        for (int i = 0; i < a.cols; ++i) {
            const float x = a.at(k, i);
            if (x == 0.0f)
                continue;
            float* o = out.values.data() + std::size_t(i) * std::size_t(out.cols);
            for (int j = 0; j < b.cols; ++j)
                o[j] += x * br[j];
        }
    }
    return out;
}

void addInPlace(FloatMatrix& to, const FloatMatrix& add)
{
    requireShape(to.rows == add.rows && to.cols == add.cols, "adding matrices of different shapes");
    for (std::size_t i = 0; i < to.values.size(); ++i)
        to.values[i] += add.values[i];
}

FloatMatrix gradCam(const AttentionGradientView& layer)
{
    requireShape(layer.heads > 0 && layer.probabilities && layer.gradients, "an empty attention layer");
    FloatMatrix cam(layer.rows, layer.cols);
    const std::size_t plane = std::size_t(layer.rows) * std::size_t(layer.cols);
    for (int h = 0; h < layer.heads; ++h) {
        const float* a = layer.probabilities + std::size_t(h) * plane;
        const float* g = layer.gradients + std::size_t(h) * plane;
        for (std::size_t i = 0; i < plane; ++i)
            cam.values[i] += std::max(0.0f, a[i] * g[i]);
    }
    for (float& v : cam.values)
        v /= float(layer.heads);
    return cam;
}

FloatMatrix normalizeResidual(const FloatMatrix& r)
{
    requireShape(r.rows == r.cols, "normalising a non-square relevancy");
    FloatMatrix out = r;
    for (int i = 0; i < r.rows; ++i) {
        out.at(i, i) -= 1.0f;
        double sum = 0;
        for (int j = 0; j < r.cols; ++j)
            sum += out.at(i, j);
        // A row that gained nothing (no gradient reached it) has nothing to normalise: the
        // reference code would divide 0 by 0 here and then zero the NaNs of the whole product.
        if (sum != 0.0)
            for (int j = 0; j < r.cols; ++j)
                out.at(i, j) = float(out.at(i, j) / sum);
        out.at(i, i) += 1.0f;
    }
    return out;
}

FloatMatrix qformerRelevancy(const std::vector<QFormerLayerCam>& layers, int imageTokens)
{
    if (layers.empty())
        return {};
    const int queries = layers.front().self.rows;
    FloatMatrix rqq = FloatMatrix::identity(queries);
    FloatMatrix rqi(queries, imageTokens);
    for (const QFormerLayerCam& layer : layers) {
        requireShape(layer.self.rows == queries && layer.self.cols == queries, "a query self-attention of the wrong size");
        // Self-attention rules 6 and 7.
        const FloatMatrix addQ = multiply(layer.self, rqq);
        const FloatMatrix addI = multiply(layer.self, rqi);
        addInPlace(rqq, addQ);
        addInPlace(rqi, addI);
        if (layer.cross) {
            requireShape(layer.cross->rows == queries && layer.cross->cols == imageTokens,
                         "a cross-attention of the wrong size");
            // Rule 10 with R̄_ii = I (the image tokens attend to nothing here); rule 11 adds
            // Ā R_iq = 0.
            addInPlace(rqi, multiplyTransposed(normalizeResidual(rqq), *layer.cross));
        }
    }
    return rqi;
}

FloatMatrix selfAttentionRelevancy(const std::vector<FloatMatrix>& cams, int n)
{
    FloatMatrix r = FloatMatrix::identity(n);
    for (const FloatMatrix& cam : cams) {
        requireShape(cam.rows == n && cam.cols == n, "a self-attention of the wrong size");
        addInPlace(r, multiply(cam, r));
    }
    return r;
}

std::vector<float> selfAttentionRelevancyRow(const std::vector<FloatMatrix>& cams, int n, int row)
{
    requireShape(row >= 0 && row < n, "a row outside the relevancy");
    // R = (I + Ā_L) ... (I + Ā_1): e_row^T R, taken from the last layer back to the first.
    std::vector<float> v(std::size_t(n), 0.0f);
    std::vector<float> next(std::size_t(n), 0.0f);
    v[std::size_t(row)] = 1.0f;
    for (auto cam = cams.rbegin(); cam != cams.rend(); ++cam) {
        requireShape(cam->rows == n && cam->cols == n, "a self-attention of the wrong size");
        next = v;
        for (int k = 0; k < n; ++k) {
            const float x = v[std::size_t(k)];
            if (x == 0.0f)
                continue;
            const float* cr = cam->row(k);
            for (int j = 0; j < n; ++j)
                next[std::size_t(j)] += x * cr[j];
        }
        v.swap(next);
    }
    return v;
}

FloatMatrix encoderDecoderRelevancy(const std::vector<FloatMatrix>& encoderCams,
                                    const std::vector<FloatMatrix>& decoderSelfCams,
                                    const std::vector<FloatMatrix>& crossCams)
{
    requireShape(decoderSelfCams.size() == crossCams.size() && !crossCams.empty(),
                 "one self- and one cross-attention per decoder layer");
    const int d = crossCams.front().rows, e = crossCams.front().cols;
    const FloatMatrix ree = normalizeResidual(selfAttentionRelevancy(encoderCams, e));
    FloatMatrix rdd = FloatMatrix::identity(d);
    FloatMatrix rde(d, e);
    for (std::size_t l = 0; l < crossCams.size(); ++l) {
        const FloatMatrix& self = decoderSelfCams[l];
        requireShape(self.rows == d && self.cols == d, "a decoder self-attention of the wrong size");
        const FloatMatrix addD = multiply(self, rdd);
        const FloatMatrix addE = multiply(self, rde);
        addInPlace(rdd, addD);
        addInPlace(rde, addE);
        requireShape(crossCams[l].rows == d && crossCams[l].cols == e, "a cross-attention of the wrong size");
        addInPlace(rde, multiplyTransposed(normalizeResidual(rdd), multiply(crossCams[l], ree)));
    }
    return rde;
}

std::vector<float> weightedQueryPatches(const FloatMatrix& maps, const std::vector<float>& weights)
{
    requireShape(weights.empty() || int(weights.size()) == maps.rows, "one weight per query");
    std::vector<float> out(std::size_t(std::max(0, maps.cols - 1)), 0.0f);
    for (int q = 0; q < maps.rows; ++q) {
        const float w = weights.empty() ? 1.0f : weights[std::size_t(q)];
        if (w == 0.0f)
            continue;
        const float* row = maps.row(q);
        for (std::size_t p = 0; p < out.size(); ++p)
            out[p] += w * row[p + 1];
    }
    return out;
}

}  // namespace querylens
