// Gradient explanations of generated words through the public API, against the reference's
// gradient goldens (tiny-opt, tiny-t5: the fixture's own greedy caption, five targets): each
// map compared with the same formula applied to the golden probabilities and gradients; then
// the properties (GradCAM never negative, a language model that ignores the queries gives zero
// relevancy, words of several tokens sum their tokens), ablation, and errors.

#include "fixtures.h"
#include "golden_tensors.h"
#include "io/safetensors.h"
#include "io/weight_archive.h"
#include "querylens/error.h"
#include "querylens/image_encoding.h"
#include "querylens/model.h"
#include "querylens/session.h"
#include "querylens/word_explanations.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

using namespace querylens;

namespace {

struct Fixture {
    std::shared_ptr<const Model> model;
    std::shared_ptr<const ImageEncoding> image;
    GenerationResult result;  // the golden targets as a generated caption
};

std::shared_ptr<const Model> load(const std::string& folder)
{
    LoadOptions options;
    options.folder = folder;
    options.threads = 2;
    return Model::load(options);
}

Fixture fixture(const std::string& config, const std::string& folder = {})
{
    Fixture f;
    f.model = load(folder.empty() ? testsupport::fixturePath(config) : folder);
    f.image = f.model->encode(testsupport::fixtureImage());
    f.result.promptIds = f.model->tokenize(f.model->captionPrompt());
    GeneratedSequence sequence;
    for (auto id : testsupport::goldenInts(config + "/golden_gradients", "target_ids")) {
        sequence.ids.push_back(int(id));
        GeneratedToken token;
        token.id = int(id);
        token.text = f.model->tokenText(int(id));
        sequence.tokens.push_back(token);
    }
    f.result.sequences.push_back(sequence);
    return f;
}

double maxAbs(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

at::Tensor tensorOf(const std::vector<float>& values, at::IntArrayRef shape)
{
    return at::tensor(values).view(shape);
}

}  // namespace

class TestWordExplanations : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { at::set_num_threads(2); }

    void mapsMatchTheFormulaOnTheGoldens_data()
    {
        QTest::addColumn<QString>("config");
        QTest::newRow("tiny-opt (decoder-only)") << "tiny-opt";
        QTest::newRow("tiny-t5 (encoder-decoder)") << "tiny-t5";
    }
    void mapsMatchTheFormulaOnTheGoldens()
    {
        QFETCH(QString, config);
        QUERYLENS_SKIP_T5_UNDER_ASAN(config);
        const std::string c = config.toStdString(), set = c + "/golden_gradients";
        const Fixture f = fixture(c);
        const std::vector<std::vector<int>> words{{0}, {1}, {2}, {3}, {4}};
        const auto explanations = explainWords(*f.model, *f.image, f.result, words);
        QCOMPARE(explanations.size(), words.size());
        const at::Tensor goldenLogits = testsupport::goldenTensor(set, "target_logits");
        const at::Tensor logProbabilities = at::log_softmax(testsupport::goldenTensor(set, "logits"), -1);
        const auto positions = testsupport::goldenInts(set, "target_positions");
        const auto targets = testsupport::goldenInts(set, "target_ids");
        const at::Tensor softPrompt = testsupport::goldenTensor(c, "language_projection_output")[0];  // [32, 64]
        const at::Tensor lmToQueries = at::cat({testsupport::goldenTensor(set, "lm_attentions_to_queries_L0"),
                                                testsupport::goldenTensor(set, "lm_attentions_to_queries_L1")});  // [2, 4, 5, 32]
        for (std::size_t t = 0; t < words.size(); ++t) {
            const WordExplanation& w = explanations[t];
            const auto index = std::int64_t(t);
            QVERIFY2(std::abs(w.targetLogits.at(0) - goldenLogits[index].item<double>()) <= 1e-3, "target logit");
            const double logp = logProbabilities[0][positions[t]][targets[t]].item<double>();
            QVERIFY2(std::abs(w.logProbability - logp) <= 1e-3, "log probability");
            // GradCAM of each cross-attention layer: mean over heads of relu(grad * probabilities).
            QCOMPARE(w.crossAttentionLayers, (std::vector<int>{0, 2}));
            for (std::size_t l = 0; l < 2; ++l) {
                const std::string layer = "_L" + std::to_string(2 * l);
                const at::Tensor probs = testsupport::goldenTensor(c, "qformer_cross_attentions" + layer)[0];
                const at::Tensor grads = testsupport::goldenTensor(set, "grad_qformer_cross_attentions" + layer)[index];
                const at::Tensor expected = (grads * probs).clamp_min(0).mean(0);  // [32, 257]
                const std::vector<float> values(w.gradcamLayers.begin() + std::ptrdiff_t(l * 32 * 257),
                                                w.gradcamLayers.begin() + std::ptrdiff_t((l + 1) * 32 * 257));
                const double bound = 1e-4 * (grads.abs().max() * probs.max()).item<double>();
                const double worst = maxAbs(tensorOf(values, {32, 257}), expected);
                QVERIFY2(worst <= bound, qPrintable(QStringLiteral("GradCAM%1 t=%2: %3 > %4")
                                                        .arg(QString::fromStdString(layer)).arg(t).arg(worst).arg(bound)));
            }
            // Input x gradient of the soft prompt.
            const at::Tensor grad = testsupport::goldenTensor(set, "grad_language_projection_output")[index];
            const at::Tensor ixg = (softPrompt * grad).sum(-1);
            const double ixgBound = 1e-4 * (grad.abs().max() * softPrompt.abs().max()).item<double>() * 64;
            QVERIFY2(maxAbs(tensorOf(w.inputTimesGradient, {32}), ixg) <= ixgBound, "input x gradient");
            // The attention baseline: the target position's attention to the queries, mean over layers and heads.
            const at::Tensor attention = lmToQueries.select(2, index).mean(at::IntArrayRef{0, 1});
            QVERIFY2(maxAbs(tensorOf(w.attentionToQueries, {32}), attention) <= 1e-5, "attention to the queries");
            QCOMPARE(w.gradcamMap.size(), std::size_t(256));
            QCOMPARE(w.relevancyMap.size(), std::size_t(256));
        }
    }

    void gradCamMapsAreNeverNegative()
    {
        for (const char* config : {"tiny-opt", "tiny-t5"}) {
            if (!testsupport::fixtureLoads(config))
                continue;
            const Fixture f = fixture(config);
            for (const WordExplanation& w : explainWords(*f.model, *f.image, f.result, {{0}, {1, 2}, {3, 4}})) {
                for (float v : w.gradcamLayers)
                    QVERIFY(v >= 0.0f);
                for (float v : w.gradcamMap)
                    QVERIFY(v >= 0.0f);
                double total = 0;
                for (float v : w.relevancyMap)
                    total += v;
                QVERIFY2(total > 0, "the relevancy of a word of a working model is not all zero");
            }
        }
    }

    // tiny-opt with language_projection set to zero: the language model's input no longer
    // depends on the Q-Former, so no gradient reaches the queries' attention.
    void languageModelIgnoringTheQueriesGivesZeroRelevancy()
    {
        QTemporaryDir dir;
        const std::string from = testsupport::fixturePath("tiny-opt");
        for (const char* file : {"config.json", "vocab.json", "merges.txt"})
            QFile::link(QString::fromStdString(from + "/" + file), dir.filePath(QLatin1String(file)));
        const auto archive = io::WeightArchive::openFolder(from);
        std::vector<at::Tensor> keep;
        std::vector<io::TensorToWrite> tensors;
        for (const auto& name : archive.names()) {
            const auto* entry = archive.find(name);
            at::Tensor t = at::from_blob(const_cast<std::byte*>(entry->file->data(*entry->record)), entry->record->shape,
                                         at::kFloat).clone();
            if (name.rfind("language_projection.", 0) == 0)
                t.zero_();
            keep.push_back(t);
            tensors.push_back({name, io::DType::F32, t.sizes().vec(), t.data_ptr()});
        }
        io::writeSafetensors(dir.filePath(QStringLiteral("model.safetensors")).toStdString(), tensors);

        const Fixture f = fixture("tiny-opt", dir.path().toStdString());
        for (const WordExplanation& w : explainWords(*f.model, *f.image, f.result, {{0}, {1}, {2, 3}})) {
            for (float v : w.relevancyMap)
                QCOMPARE(v, 0.0f);
            for (float v : w.gradcamMap)
                QCOMPARE(v, 0.0f);
            for (float v : w.inputTimesGradient)
                QCOMPARE(v, 0.0f);
            for (float v : w.qformerRelevancy.values)
                QCOMPARE(v, 0.0f);
        }
    }

    void wordsOfSeveralTokensSumTheirTokens()
    {
        const Fixture f = fixture("tiny-opt");
        const auto single = explainWords(*f.model, *f.image, f.result, {{1}, {2}});
        const auto both = explainWords(*f.model, *f.image, f.result, {{1, 2}}).front();
        QCOMPARE(both.tokens, (std::vector<int>{1, 2}));
        QVERIFY(std::abs(both.logProbability - (single[0].logProbability + single[1].logProbability)) < 1e-6);
        for (std::size_t i = 0; i < both.gradcamLayers.size(); ++i)
            QVERIFY(std::abs(both.gradcamLayers[i] - (single[0].gradcamLayers[i] + single[1].gradcamLayers[i])) <= 1e-5);
        for (std::size_t p = 0; p < both.relevancyMap.size(); ++p)
            QVERIFY(std::abs(both.relevancyMap[p] - (single[0].relevancyMap[p] + single[1].relevancyMap[p])) <=
                    1e-4 * std::max(1.0f, std::abs(both.relevancyMap[p])));
        for (std::size_t q = 0; q < both.attentionToQueries.size(); ++q)  // attention is averaged, as the explorer does
            QVERIFY(std::abs(both.attentionToQueries[q] - 0.5f * (single[0].attentionToQueries[q] + single[1].attentionToQueries[q])) <= 1e-6);
    }

    // A caption generated with queries switched off: the language model saw only the rest.
    void ablatedQueriesHaveNoWeight()
    {
        const auto model = load(testsupport::fixturePath("tiny-opt"));
        const auto image = model->encode(testsupport::fixtureImage());
        auto session = model->newSession(image);
        session->setDisabledQueries({0, 5, 31});
        DecodingOptions options;
        options.maxNewTokens = 4;
        const GenerationResult result = session->caption(options);
        QCOMPARE(result.queryIndices.size(), std::size_t(29));
        const WordExplanation w = explainWords(*model, *image, result, {{0}}).front();
        QCOMPARE(w.queryRelevancy.size(), std::size_t(29));
        for (MapMethod method : {MapMethod::Attention, MapMethod::Relevancy, MapMethod::InputTimesGradient}) {
            const std::vector<float> weights = w.queryWeights(method);
            QCOMPARE(weights.size(), std::size_t(32));
            for (int q : {0, 5, 31})
                QCOMPARE(weights[std::size_t(q)], 0.0f);
        }
        // The teacher-forced pass sees what generation saw: the first token's logit is the
        // generated token's, so its log-probability matches the reported probability.
        QVERIFY(std::abs(std::exp(w.logProbability) - result.sequences.front().tokens.front().probability) < 1e-4);
    }

    // The curves track the word's log-probability: unchanged image = the explanation's value,
    // the ends shared by deletion and insertion, the baseline image different from the image.
    void faithfulnessCurvesOfAWord_data()
    {
        QTest::addColumn<QString>("config");
        QTest::addColumn<int>("baseline");
        QTest::newRow("tiny-opt, blurred") << "tiny-opt" << int(PerturbationBaseline::Blur);
        QTest::newRow("tiny-t5, mean colour") << "tiny-t5" << int(PerturbationBaseline::Mean);
    }
    void faithfulnessCurvesOfAWord()
    {
        QFETCH(QString, config);
        QUERYLENS_SKIP_T5_UNDER_ASAN(config);
        QFETCH(int, baseline);
        const Fixture f = fixture(config.toStdString());
        const WordExplanation w = explainWords(*f.model, *f.image, f.result, {{1, 2}}).front();
        FaithfulnessOptions options;
        options.steps = 4;
        options.randomOrders = 1;
        options.baseline = PerturbationBaseline(baseline);
        const FaithfulnessReport report = wordFaithfulness(*f.model, *f.image, f.result, w.tokens, w.relevancyMap, options);
        QCOMPARE(report.score, std::string("log p(word)"));
        QVERIFY2(std::abs(report.original - w.logProbability) < 1e-3, "the unchanged image scores the explained log p");
        QCOMPARE(report.insertion.scores.back(), report.original);
        QCOMPARE(report.insertion.scores.front(), report.baseline);
        QVERIFY(report.baseline != report.original);
        QCOMPARE(report.deletion.scores.size(), std::size_t(5));
        QCOMPARE(report.randomDeletion.scores.size(), std::size_t(5));
        QVERIFY_THROWS_EXCEPTION(Error, wordFaithfulness(*f.model, *f.image, f.result, w.tokens, {1.0f, 2.0f}, options));
    }

    void errorsAndCancel()
    {
        const Fixture f = fixture("tiny-opt");
        QVERIFY_THROWS_EXCEPTION(Error, explainWords(*f.model, *f.image, f.result, {{7}}));
        QVERIFY_THROWS_EXCEPTION(Cancelled, explainWords(*f.model, *f.image, f.result, {{0}, {1}},
                                                         [](double, const std::string&) { return false; }));
        const auto matcher = load(testsupport::fixturePath("tiny-itm"));
        const auto image = matcher->encode(testsupport::fixtureImage());
        QVERIFY_THROWS_EXCEPTION(Error, explainWords(*matcher, *image, f.result, {{0}}));
    }
};

QTEST_GUILESS_MAIN(TestWordExplanations)
#include "test_word_explanations.moc"
