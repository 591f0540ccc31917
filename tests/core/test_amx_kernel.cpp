// The AMX-BF16 kernel (core/model/kernels/gemm_amx_tiles.h), which no machine it was developed on
// can run, checked three ways:
//  - its loops on a software model of the tile instructions (amx_tile_model.h) with plain C++
//    helpers, on every CPU: every tail of rows, outputs and k, the in-place and padded weight
//    reads, the epilogue, split panels; against float64;
//  - the same with the AVX-512 helpers the hardware path uses (Zen 4/5, Sapphire Rapids);
//  - on the real instructions, where the CPU has AMX and Linux grants the tiles: the
//    self check the program runs, and (test_kernels) linear() at the amx level.
// The model itself is checked first against the SDM's definition of tdpbf16ps on hand-made
// tiles, and it faults where the hardware would (#UD).

#include "amx_model_products.h"
#include "amx_tile_model.h"

#include "model/kernels/gemm_amx_tiles.h"
#include "model/kernels/gemv.h"
#include "model/kernels/isa.h"
#include "model/kernels/matmul.h"

#include <ATen/ATen.h>

#include <QtTest>

#include <cmath>
#include <vector>

using namespace querylens;
using model::kernels::GemvArguments;
using model::kernels::Isa;
namespace amx = model::kernels::amx;

namespace {

std::uint16_t bf16Bits(float v) { return c10::BFloat16(v).x; }  // round to nearest even

// The plain C++ helpers: x rounded to nearest even (as vcvtne2ps2bf16), the epilogue with the
// exact erf.
struct ScalarHelpers {
    static void packRows(const float* x, std::int64_t m, std::int64_t k, std::int64_t blockBegin, std::int64_t blockEnd,
                         std::uint32_t* packed)
    {
        const std::int64_t pairs = amx::paddedPairs(k);
        for (std::int64_t b = blockBegin; b < blockEnd; ++b)
            for (std::int64_t p = 0; p < pairs; ++p)
                for (int r = 0; r < amx::kBlock; ++r) {
                    const std::int64_t row = b * amx::kBlock + r;
                    const auto at = [&](std::int64_t col) -> std::uint32_t {
                        return row < m && col < k ? bf16Bits(x[row * k + col]) : 0u;
                    };
                    packed[(b * pairs + p) * amx::kBlock + r] = at(2 * p) | (at(2 * p + 1) << 16);
                }
    }
    static void writeOutputs(const GemvArguments& a, const float* c, std::int64_t out0, int outputs, std::int64_t m0, int rows)
    {
        for (int r = 0; r < rows; ++r)
            for (int o = 0; o < outputs; ++o) {
                float v = c[o * amx::kBlock + r] + (a.bias ? a.bias[out0 + o] : 0.0f);
                if (a.activation == model::kernels::GemmActivation::Gelu)
                    v = 0.5f * v * (1.0f + std::erf(v * 0.70710678f));
                if (a.residual)
                    v += a.residual[(m0 + r) * a.n + out0 + o];
                a.y[(m0 + r) * a.n + out0 + o] = v;
            }
    }
};

enum class Helpers { Scalar, Avx512 };

// y of the product on the modelled tiles, the panels split in two calls as two threads would
// take them.
at::Tensor modelledProduct(Helpers helpers, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                           const at::Tensor& residual, bool gelu)
{
    const std::int64_t m = x.size(0), k = x.size(1), n = weight.size(0);
    at::Tensor y = at::full({m, n}, std::nanf(""));
    GemvArguments a;
    a.weight = weight.data_ptr();
    a.type = model::kernels::WeightType::BFloat16;
    a.bias = bias.defined() ? bias.data_ptr<float>() : nullptr;
    a.x = x.data_ptr<float>();
    a.y = y.data_ptr<float>();
    a.m = m;
    a.n = n;
    a.k = k;
    a.residual = residual.defined() ? residual.data_ptr<float>() : nullptr;
    a.activation = gelu ? model::kernels::GemmActivation::Gelu : model::kernels::GemmActivation::None;
    std::vector<std::uint32_t> packed(std::size_t(amx::packedRowsSize(m, k)), 0xFFFFFFFFu);  // NaN pairs unless written
    const std::int64_t panels = amx::panelCount(n), half = panels / 2;
    if (helpers == Helpers::Scalar) {
        ScalarHelpers::packRows(a.x, m, k, 0, amx::rowBlockCount(m), packed.data());
        amx::gemmPanels<tests::ModelledTiles, ScalarHelpers>(a, packed.data(), 0, half);
        amx::gemmPanels<tests::ModelledTiles, ScalarHelpers>(a, packed.data(), half, panels);
    } else {
        tests::amxModelPackRowsAvx512(a.x, m, k, packed.data());
        tests::amxModelPanelsAvx512(a, packed.data(), 0, half);
        tests::amxModelPanelsAvx512(a, packed.data(), half, panels);
    }
    return y;
}

void addShapes()
{
    QTest::addColumn<int>("m");
    QTest::addColumn<int>("n");
    QTest::addColumn<int>("k");
    QTest::addColumn<bool>("epilogue");
    // Rows: one, a block less one, one block, one more, two blocks, two and one (a lone last
    // block), an image (16 blocks and a row). Outputs and k: whole tiles read in place (32/64,
    // 64/128, 96/1408 as ViT-g's k), and every tail read from the padded copy (n of one half
    // block, of a block and a half, odd; k below a step, odd, one past a step, a pair's tail).
    for (int m : {1, 15, 16, 17, 32, 33, 257})
        for (auto [n, k] : {std::pair{32, 64}, std::pair{64, 128}, std::pair{96, 1408}, std::pair{7, 33},
                            std::pair{45, 258}, std::pair{16, 32}, std::pair{33, 7}, std::pair{50, 101}})
            for (bool epilogue : {false, true})
                QTest::addRow("m%d n%d k%d%s", m, n, k, epilogue ? " gelu+residual" : "") << m << n << k << epilogue;
}

void checkModelledProduct(Helpers helpers)
{
    QFETCH(int, m);
    QFETCH(int, n);
    QFETCH(int, k);
    QFETCH(bool, epilogue);
    at::manual_seed(m * 1000 + n * 10 + k);
    const at::Tensor weight = (at::randn({n, k}) / std::sqrt(double(k))).to(at::kBFloat16);
    const at::Tensor x = at::randn({m, k}) * 2.0;
    const at::Tensor bias = m % 2 ? at::randn({n}) : at::Tensor();
    const at::Tensor residual = epilogue ? at::randn({m, n}) : at::Tensor();
    at::Tensor expected = at::linear(x.to(at::kBFloat16).to(at::kDouble), weight.to(at::kDouble),
                                     bias.defined() ? bias.to(at::kDouble) : at::Tensor());
    if (epilogue)
        expected = 0.5 * expected * (1.0 + at::erf(expected / std::sqrt(2.0))) + residual.to(at::kDouble);

    const at::Tensor actual = modelledProduct(helpers, x, weight, bias, residual, epilogue);
    QVERIFY2(!actual.isnan().any().item<bool>(), "an output was not written, or read a padding value");
    const double error = (actual.to(at::kDouble) - expected).abs().max().item<double>() /
                         std::max(1e-6, expected.abs().max().item<double>());
    QVERIFY2(error < 1e-5, qPrintable(QStringLiteral("relative error %1 against float64").arg(error)));
    // Every call configured the tiles before its first op and released them.
    const tests::amxmodel::State& s = tests::amxmodel::state();
    QVERIFY(!s.configured);
    QCOMPARE(s.configureCount, s.releaseCount);
}

}  // namespace

class TestAmxKernel : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase()
    {
        qInfo("CPU: %s; flags: %s; best level %s", model::kernels::cpuFeatures().model.c_str(),
              model::kernels::cpuFeatures().flags().c_str(), model::kernels::isaName(model::kernels::supportedIsa()));
    }

    // The model against the SDM's definition on hand-made tiles of odd shapes: C 2 x 3 columns,
    // A 2 rows x 2 pairs, B 2 pairs x 3 columns. C[m][n] += sum over pairs p of
    // A[m][2p] B[p][2n] + A[m][2p+1] B[p][2n+1]; a bf16 denormal reads as zero.
    void modelFollowsTheDefinition()
    {
        amx::TileConfig config;
        config.rows[0] = 2;
        config.bytesPerRow[0] = 12;  // C: 2 x 3 float32
        config.rows[1] = 2;
        config.bytesPerRow[1] = 8;  // A: 2 x 2 pairs
        config.rows[2] = 2;
        config.bytesPerRow[2] = 12;  // B: 2 pairs x 3 columns
        tests::ModelledTiles::configure(config);
        const float a[2][4] = {{1, 2, 3, 4}, {-1, 0.5f, 2, -2}};
        const float b[2][6] = {{1, 10, 2, 20, 3, 30}, {-1, 1, 0.25f, 4, 5, -5}};
        std::uint16_t aBits[2][4], bBits[2][6];
        for (int i = 0; i < 2; ++i) {
            for (int j = 0; j < 4; ++j)
                aBits[i][j] = bf16Bits(a[i][j]);
            for (int j = 0; j < 6; ++j)
                bBits[i][j] = bf16Bits(b[i][j]);
        }
        aBits[1][1] = 0x0001;  // a denormal: zero, not 9.2e-41
        const float c0[2][3] = {{100, 200, 300}, {0, 0, 0}};
        tests::ModelledTiles::load<0>(c0, sizeof c0[0]);
        tests::ModelledTiles::load<1>(aBits, sizeof aBits[0]);
        tests::ModelledTiles::load<2>(bBits, sizeof bBits[0]);
        tests::ModelledTiles::dot<0, 1, 2>();
        float c[2][3];
        tests::ModelledTiles::store<0>(c, sizeof c[0]);
        const float aSeen[2][4] = {{1, 2, 3, 4}, {-1, 0, 2, -2}};
        for (int m = 0; m < 2; ++m)
            for (int n = 0; n < 3; ++n) {
                float want = c0[m][n];
                for (int p = 0; p < 2; ++p)
                    want += aSeen[m][2 * p] * b[p][2 * n] + aSeen[m][2 * p + 1] * b[p][2 * n + 1];
                QCOMPARE(c[m][n], want);
            }
        tests::ModelledTiles::release();
    }

    // Where the hardware raises #UD, the model throws, so such a kernel fails its tests here.
    void modelFaultsLikeTheHardware()
    {
        QVERIFY_THROWS_EXCEPTION(std::logic_error, tests::ModelledTiles::zero<0>());  // before ldtilecfg
        amx::TileConfig config = amx::gemmTileConfig();
        config.rows[6] = 8;  // B of 8 pairs against A of 16
        tests::ModelledTiles::configure(config);
        QVERIFY_THROWS_EXCEPTION(std::logic_error, (tests::ModelledTiles::dot<0, 4, 6>()));
        tests::ModelledTiles::release();
        QVERIFY_THROWS_EXCEPTION(std::logic_error, tests::ModelledTiles::zero<0>());  // after tilerelease
        config = amx::gemmTileConfig();
        config.palette = 0;
        QVERIFY_THROWS_EXCEPTION(std::logic_error, tests::ModelledTiles::configure(config));
        config = amx::gemmTileConfig();
        config.bytesPerRow[2] = 128;
        QVERIFY_THROWS_EXCEPTION(std::logic_error, tests::ModelledTiles::configure(config));
    }

    void modelledWithScalarHelpers_data() { addShapes(); }
    void modelledWithScalarHelpers() { checkModelledProduct(Helpers::Scalar); }

    void modelledWithAvx512Helpers_data() { addShapes(); }
    void modelledWithAvx512Helpers()
    {
        if (model::kernels::supportedIsa() < Isa::Avx512Bf16)
            QSKIP(qPrintable(QStringLiteral("this CPU (%1; %2) has no AVX512_BF16 for the AMX path's vector helpers")
                                 .arg(QString::fromStdString(model::kernels::cpuFeatures().model),
                                      QString::fromStdString(model::kernels::cpuFeatures().flags()))));
        checkModelledProduct(Helpers::Avx512);
    }

    // The program checks the real instructions once before using them. On an AMX CPU that
    // check must pass (if it did not, products would be right but slower, and this says why);
    // on any other it runs the kernel anyway and must report the fault (an AVX-512 or tile
    // instruction the CPU lacks), not die of it.
    void hardwareSelfCheck()
    {
        const std::string problem = model::kernels::checkAmxKernel();
        if (model::kernels::supportedIsa() >= Isa::Amx) {
            QVERIFY2(problem.empty(), problem.c_str());
            QVERIFY(model::kernels::amxKernelProblem().empty());
            return;
        }
        qInfo("no AMX here (%s; %s): %s", model::kernels::cpuFeatures().model.c_str(),
              model::kernels::cpuFeatures().flags().c_str(), problem.c_str());
        QVERIFY2(problem.find("faulted on this CPU (Illegal instruction") != std::string::npos, problem.c_str());
        QVERIFY(model::kernels::amxKernelProblem().empty());  // never run where the level is not reached
        // The process goes on: the tiles' model and the kernels of this CPU still run.
        at::manual_seed(1);
        const at::Tensor x = at::randn({20, 64});
        const at::Tensor w = at::randn({32, 64}).to(at::kBFloat16);
        const at::Tensor y = model::kernels::linear(x, w, {}, {});
        QVERIFY(at::allclose(y, at::linear(x, w.to(at::kFloat)), 1e-2, 1e-2));
    }
};

QTEST_GUILESS_MAIN(TestAmxKernel)
#include "test_amx_kernel.moc"
