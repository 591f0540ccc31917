// The rules of gradient-weighted attention maps on plain buffers: GradCAM never negative,
// Chefer et al.'s relevancy for a one-layer Q-Former equal to its rule written out, the
// row-at-a-time relevancy equal to the full product, the encoder-decoder rule, zero relevancy
// when nothing reaches the query positions, and the words of a generated sequence.

#include "querylens/gradient_maps.h"
#include "querylens/text_localization.h"
#include "querylens/word_maps.h"

#include <QtTest>

#include <random>

using namespace querylens;

namespace {

FloatMatrix randomMatrix(int rows, int cols, std::mt19937& rng, float low = 0.0f, float high = 1.0f)
{
    std::uniform_real_distribution<float> value(low, high);
    FloatMatrix m(rows, cols);
    for (float& v : m.values)
        v = value(rng);
    return m;
}

double maxDifference(const FloatMatrix& a, const FloatMatrix& b)
{
    double worst = 0;
    for (std::size_t i = 0; i < a.values.size(); ++i)
        worst = std::max(worst, double(std::abs(a.values[i] - b.values[i])));
    return worst;
}

GeneratedToken token(const std::string& text)
{
    GeneratedToken t;
    t.text = text;
    return t;
}

}  // namespace

class TestGradientMaps : public QObject {
    Q_OBJECT

private slots:
    void gradCamIsTheMeanOfThePositivePart()
    {
        std::mt19937 rng(1);
        const int heads = 3, rows = 4, cols = 5;
        const FloatMatrix probs = randomMatrix(heads * rows, cols, rng);
        const FloatMatrix grads = randomMatrix(heads * rows, cols, rng, -2.0f, 2.0f);  // signed
        const FloatMatrix cam = gradCam({heads, rows, cols, probs.values.data(), grads.values.data()});
        QCOMPARE(cam.rows, rows);
        QCOMPARE(cam.cols, cols);
        for (int r = 0; r < rows; ++r)
            for (int c = 0; c < cols; ++c) {
                double expected = 0;
                for (int h = 0; h < heads; ++h)
                    expected += std::max(0.0f, probs.at(h * rows + r, c) * grads.at(h * rows + r, c));
                expected /= heads;
                QVERIFY(std::abs(cam.at(r, c) - expected) < 1e-6);
                QVERIFY(cam.at(r, c) >= 0.0f);
            }
    }

    void normalisationKeepsRowsWithoutRelevance()
    {
        // The identity has nothing to normalise: it stays the identity (no 0/0).
        QCOMPARE(normalizeResidual(FloatMatrix::identity(4)).values, FloatMatrix::identity(4).values);
        FloatMatrix r = FloatMatrix::identity(2);
        r.at(0, 1) = 3.0f;
        r.at(0, 0) = 2.0f;  // R - I = [[1, 3], [0, 0]] -> rows normalised: [[0.25, 0.75], [0, 0]]
        const FloatMatrix n = normalizeResidual(r);
        QCOMPARE(n.at(0, 0), 1.25f);
        QCOMPARE(n.at(0, 1), 0.75f);
        QCOMPARE(n.at(1, 0), 0.0f);
        QCOMPARE(n.at(1, 1), 1.0f);
    }

    // With one layer (self-attention, then cross-attention) the propagation is
    // R_qi = (rownorm(Ā_self) + I)^T Ā_cross: rule 10 after rules 6-7 from R_qq = I, R_qi = 0.
    void oneLayerQFormerReducesToItsRule_data()
    {
        QTest::addColumn<int>("seed");
        QTest::addColumn<bool>("emptyRow");
        QTest::newRow("random gradients") << 3 << false;
        QTest::newRow("a query no gradient reached") << 4 << true;
    }
    void oneLayerQFormerReducesToItsRule()
    {
        QFETCH(int, seed);
        QFETCH(bool, emptyRow);
        std::mt19937 rng{unsigned(seed)};
        const int queries = 6, tokens = 9;
        FloatMatrix self = randomMatrix(queries, queries, rng);
        if (emptyRow)
            for (int c = 0; c < queries; ++c)
                self.at(2, c) = 0.0f;
        const FloatMatrix cross = randomMatrix(queries, tokens, rng);
        const FloatMatrix relevancy = qformerRelevancy({QFormerLayerCam{self, cross}}, tokens);

        FloatMatrix rule(queries, queries);  // rownorm(Ā_self) + I, written out
        for (int r = 0; r < queries; ++r) {
            double sum = 0;
            for (int c = 0; c < queries; ++c)
                sum += self.at(r, c);
            for (int c = 0; c < queries; ++c)
                rule.at(r, c) = float((sum > 0 ? self.at(r, c) / sum : 0.0) + (r == c ? 1.0 : 0.0));
        }
        FloatMatrix expected(queries, tokens);
        for (int q = 0; q < queries; ++q)
            for (int t = 0; t < tokens; ++t)
                for (int j = 0; j < queries; ++j)
                    expected.at(q, t) += rule.at(j, q) * cross.at(j, t);
        QVERIFY2(maxDifference(relevancy, expected) < 1e-5, "one-layer relevancy differs from its rule");
    }

    void layersWithoutCrossAttentionCarryTheQueriesMixing()
    {
        // A first layer with cross-attention, then a self-attention-only layer: R_qi picks up
        // (I + Ā_2) from the second layer.
        std::mt19937 rng(5);
        const FloatMatrix s1 = randomMatrix(4, 4, rng), c1 = randomMatrix(4, 7, rng), s2 = randomMatrix(4, 4, rng);
        const FloatMatrix one = qformerRelevancy({QFormerLayerCam{s1, c1}}, 7);
        const FloatMatrix two = qformerRelevancy({QFormerLayerCam{s1, c1}, QFormerLayerCam{s2, std::nullopt}}, 7);
        FloatMatrix expected = one;
        addInPlace(expected, multiply(s2, one));
        QVERIFY(maxDifference(two, expected) < 1e-5);
    }

    void relevancyRowEqualsTheFullProduct()
    {
        std::mt19937 rng(7);
        const int n = 11;
        std::vector<FloatMatrix> cams;
        for (int l = 0; l < 4; ++l)
            cams.push_back(randomMatrix(n, n, rng, 0.0f, 0.3f));
        const FloatMatrix full = selfAttentionRelevancy(cams, n);
        for (int row : {0, 5, 10}) {
            const std::vector<float> fast = selfAttentionRelevancyRow(cams, n, row);
            for (int c = 0; c < n; ++c)
                QVERIFY2(std::abs(fast[std::size_t(c)] - full.at(row, c)) < 1e-4 * std::max(1.0f, std::abs(full.at(row, c))),
                         "row and full relevancy differ");
        }
    }

    // A language model that never attends to the query positions (Ā zero in their columns)
    // gives them no relevancy, whatever the rest of the attention does.
    void noAttentionToTheQueriesGivesZeroRelevancy()
    {
        std::mt19937 rng(9);
        const int queries = 4, n = 10;
        std::vector<FloatMatrix> cams;
        for (int l = 0; l < 3; ++l) {
            FloatMatrix cam = randomMatrix(n, n, rng);
            for (int r = 0; r < n; ++r)
                for (int c = 0; c < queries; ++c)
                    cam.at(r, c) = 0.0f;
            cams.push_back(cam);
        }
        const std::vector<float> row = selfAttentionRelevancyRow(cams, n, n - 1);
        for (int c = 0; c < queries; ++c)
            QCOMPARE(row[std::size_t(c)], 0.0f);
        // T5: no cross-attention to the query positions -> R_de is zero there.
        std::vector<FloatMatrix> encoder{randomMatrix(n, n, rng)}, decoderSelf{randomMatrix(3, 3, rng)};
        FloatMatrix cross = randomMatrix(3, n, rng);
        for (int r = 0; r < 3; ++r)
            for (int c = 0; c < n; ++c)
                cross.at(r, c) = 0.0f;
        const FloatMatrix rde = encoderDecoderRelevancy(encoder, decoderSelf, {cross});
        for (float v : rde.values)
            QCOMPARE(v, 0.0f);
    }

    void encoderDecoderRuleWithOneLayer()
    {
        // No encoder layer, one decoder layer: R_de = R̄_dd^T Ā_cross with R_dd = I + Ā_self.
        std::mt19937 rng(11);
        const FloatMatrix self = randomMatrix(3, 3, rng), cross = randomMatrix(3, 5, rng);
        const FloatMatrix rde = encoderDecoderRelevancy({}, {self}, {cross});
        FloatMatrix rdd = FloatMatrix::identity(3);
        addInPlace(rdd, self);
        const FloatMatrix expected = multiplyTransposed(normalizeResidual(rdd), cross);
        QVERIFY(maxDifference(rde, expected) < 1e-6);
    }

    void weightedQueryPatchesLeavesOutTheClsToken()
    {
        FloatMatrix maps(2, 5);  // 1 CLS + 2x2 patches
        maps.values = {9, 1, 2, 3, 4, 9, 10, 20, 30, 40};
        QCOMPARE(weightedQueryPatches(maps, {1.0f, 0.5f}), (std::vector<float>{6, 12, 18, 24}));
        QCOMPARE(weightedQueryPatches(maps, {}), (std::vector<float>{11, 22, 33, 44}));
    }

    void inputTimesGradientSumsOverTheHiddenSize()
    {
        QCOMPARE(inputTimesGradient({1, 2, 3, 4}, {1, 1, -1, 0.5}, 2), (std::vector<float>{3, -1}));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, inputTimesGradient({1, 2, 3}, {1, 2, 3}, 2));
    }

    void wordsOfAGeneratedSequence()
    {
        GeneratedSequence sequence;
        for (const char* t : {" a", " cat", "s", " on", "\n", " the", " so", "fa", "</s>"})
            sequence.tokens.push_back(token(t));
        const auto words = generatedWords(sequence);
        QCOMPARE(int(words.size()), 5);
        QCOMPARE(words[1].text, std::string("cats"));
        QCOMPARE(words[1].tokens, (std::vector<int>{1, 2}));
        QCOMPARE(words[4].text, std::string("sofa"));
        QCOMPARE(words[4].tokens, (std::vector<int>{6, 7}));
    }

    // A word's weight on a query is R[q, Q + t] of the query-and-text self-attention relevancy:
    // with one layer, Ā itself (R = I + Ā and q != Q + t).
    void localizationWeightsQueriesByTheWordsRelevancy()
    {
        std::mt19937 rng(13);
        const int queries = 3, text = 4, tokens = 5;
        const FloatMatrix self = randomMatrix(queries + text, queries + text, rng);
        const FloatMatrix cross = randomMatrix(queries, tokens, rng);
        const PhraseLocalizationMaps maps = localizationMaps({self}, {cross}, queries, {{1}, {2, 3}});
        QCOMPARE(maps.phraseMap, weightedQueryPatches(cross, {}));
        QCOMPARE(maps.wordQueryWeights[0], (std::vector<float>{self.at(0, 4), self.at(1, 4), self.at(2, 4)}));
        for (int q = 0; q < queries; ++q)
            QVERIFY(std::abs(maps.wordQueryWeights[1][std::size_t(q)] - (self.at(q, 5) + self.at(q, 6))) < 1e-6);
        QCOMPARE(maps.wordMaps[0], weightedQueryPatches(cross, maps.wordQueryWeights[0]));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, localizationMaps({self}, {cross}, queries, {{4}}));
    }

    void methodNamesRoundTrip()
    {
        for (MapMethod m : allMapMethods())
            QCOMPARE(parseMapMethod(mapMethodName(m)).value(), m);
        QVERIFY(!parseMapMethod("saliency"));
    }
};

QTEST_GUILESS_MAIN(TestGradientMaps)
#include "test_gradient_maps.moc"
