// Image-text matching (Blip2ForImageTextRetrieval) against the reference outputs of
// ../shared/fixtures/tiny-itm: the query branch and ITC embeddings, ITM logits of each text
// and of the padded batch, the ITM cross-attention maps and their gradients, and the public
// matching API on the fixture image; then the loader: the architecture told from the config
// or from the weights, and a matching model that says it cannot caption.

#include "fixtures.h"
#include "golden_tensors.h"
#include "model/blip2.h"
#include "querylens/error.h"
#include "querylens/image_encoding.h"
#include "querylens/matching.h"
#include "querylens/model.h"
#include "querylens/session.h"

#include <ATen/Parallel.h>
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <nlohmann/json.hpp>

using namespace querylens;
using namespace querylens::model;
using testsupport::compare;
using testsupport::floats;

namespace {

const char* kConfig = "tiny-itm";

at::Tensor golden(const std::string& name) { return testsupport::goldenTensor(kConfig, name); }
at::Tensor goldenLong(const std::string& name)
{
    const auto values = testsupport::goldenInts(kConfig, name);
    return at::tensor(values, at::kLong).view(testsupport::goldenShape(kConfig, name));
}
std::string text(int index) { return "text" + std::to_string(index); }

double maxAbs(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

// A copy of tiny-itm with its config changed by `configure`.
void writeConfigVariant(const QString& dir, const std::function<void(nlohmann::json&)>& configure)
{
    const QString from = QString::fromStdString(testsupport::fixturePath(kConfig));
    for (const char* file : {"model.safetensors", "vocab.txt", "added_tokens.json", "tokenizer_config.json",
                             "special_tokens_map.json", "preprocessor_config.json"})
        QFile::link(from + QLatin1Char('/') + QLatin1String(file), dir + QLatin1Char('/') + QLatin1String(file));
    std::ifstream in(testsupport::fixturePath(std::string(kConfig) + "/config.json"));
    nlohmann::json config = nlohmann::json::parse(in);
    configure(config);
    std::ofstream(QDir(dir).filePath(QStringLiteral("config.json")).toStdString()) << config.dump(2);
}

}  // namespace

class TestItmParity : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<Blip2Model> model_;
    ImageFeatures features_;
    std::shared_ptr<const Model> publicModel_;           // through the public API
    std::shared_ptr<const ImageEncoding> publicImage_;   // the decoded fixture photo

    const ImageTextHeads& heads() const { return *model_->matching(); }

private Q_SLOTS:
    void initTestCase()
    {
        at::set_num_threads(2);
        model_ = Blip2Model::load(testsupport::fixturePath(kConfig), WeightFormats{}, at::kCPU);
        features_ = model_->encode(golden("pixel_values"));
        LoadOptions options;
        options.folder = testsupport::fixturePath(kConfig);
        publicModel_ = Model::load(options);
        publicImage_ = publicModel_->encode(testsupport::fixtureImage());
    }

    void loadsAsAMatchingModel()
    {
        QVERIFY(model_->config().architecture == Blip2Architecture::ImageTextRetrieval);
        QVERIFY(!model_->hasLanguageModel());
        QVERIFY(model_->matching() != nullptr);
        QCOMPARE(heads().projectionSize(), 32);
        QVERIFY_THROWS_EXCEPTION(Error, model_->languageModel());
    }

    void queryBranchAndImageEmbeddings()
    {
        QVERIFY(maxAbs(features_.visionHidden, golden("vision_last_hidden_state")) <= 1e-4);
        QVERIFY(maxAbs(features_.qformer.lastHiddenState, golden("itc_qformer_last_hidden_state")) <= 1e-4);
        const at::Tensor embeds = heads().imageEmbeds(features_.qformer.lastHiddenState);
        const auto d = compare(floats(embeds), testsupport::goldenFloats(kConfig, "itc_image_embeds"));
        QVERIFY2(d.maxAbs <= 1e-4, qPrintable(d.describe()));
    }

    void imageTextMatching_data()
    {
        QTest::addColumn<int>("index");
        QTest::newRow("two cats lying on a pink couch") << 0;
        QTest::newRow("a remote control") << 1;
        QTest::newRow("a red sports car on a road") << 2;
        QTest::newRow("accents, punctuation, CJK") << 3;
    }
    void imageTextMatching()
    {
        QFETCH(int, index);
        const ItmOutput itm = heads().matching(model_->qformer(), model_->queryTokens(), goldenLong(text(index) + "_input_ids"),
                                               goldenLong(text(index) + "_attention_mask"), features_.visionHidden);
        QVERIFY2(maxAbs(itm.logits, golden(text(index) + "_itm_logits")) <= 1e-4, "ITM logits");
        QVERIFY2(maxAbs(itm.queryLogits, golden(text(index) + "_itm_query_logits")) <= 1e-4, "per-query ITM logits");
        QVERIFY2(maxAbs(itm.qformer.lastHiddenState, golden(text(index) + "_itm_qformer_last_hidden_state")) <= 1e-4,
                 "ITM Q-Former output");
        QCOMPARE(itm.qformer.crossAttentionLayers, (std::vector<int>{0, 2}));
        for (std::size_t i = 0; i < 2; ++i) {
            const std::string name = text(index) + "_itm_cross_attentions_L" + std::to_string(2 * i);
            const auto d = compare(floats(itm.qformer.crossAttentions[i]), testsupport::goldenFloats(kConfig, name));
            QVERIFY2(d.maxAbs <= 1e-5, qPrintable(QString::fromStdString(name) + ": " + d.describe()));
        }
    }

    void imageTextContrastive_data() { imageTextMatching_data(); }
    void imageTextContrastive()
    {
        QFETCH(int, index);
        const ItcTextOutput itc =
            heads().textEmbeds(model_->qformer(), goldenLong(text(index) + "_input_ids"), goldenLong(text(index) + "_attention_mask"));
        QVERIFY2(maxAbs(itc.hidden, golden(text(index) + "_itc_text_last_hidden_state")) <= 1e-4, "text-only Q-Former");
        QVERIFY2(maxAbs(itc.embeds, golden(text(index) + "_itc_text_embeds")) <= 1e-4, "text embeddings");
        const at::Tensor image = heads().imageEmbeds(features_.qformer.lastHiddenState)[0];  // [Q, D]
        const at::Tensor logit = at::matmul(image, itc.embeds.t()).max();                    // max over queries
        QVERIFY2(maxAbs(logit, golden(text(index) + "_itc_logits")) <= 1e-5, "ITC similarity");
    }

    void paddedBatchEqualsSingleTexts()
    {
        const at::Tensor ids = goldenLong("batch_input_ids"), mask = goldenLong("batch_attention_mask");
        const ItmOutput itm = heads().matching(model_->qformer(), model_->queryTokens(), ids, mask, features_.visionHidden);
        QVERIFY2(maxAbs(itm.logits, golden("batch_itm_logits")) <= 1e-4, "batched ITM logits");
        const ItcTextOutput itc = heads().textEmbeds(model_->qformer(), ids, mask);
        QVERIFY2(maxAbs(itc.embeds, golden("batch_itc_text_embeds")) <= 1e-4, "batched text embeddings");
        const at::Tensor perImage =
            std::get<0>(at::matmul(heads().imageEmbeds(features_.qformer.lastHiddenState), itc.embeds.t()).max(1));  // [1, 4]
        QVERIFY2(maxAbs(perImage, golden("batch_itc_logits_per_image")) <= 1e-5, "batched ITC");
    }

    // d (match logit) / d (ITM cross-attention probabilities), as the reference's save_attention
    // hooks record them.
    void crossAttentionGradients_data() { imageTextMatching_data(); }
    void crossAttentionGradients()
    {
        QFETCH(int, index);
        const at::AutoGradMode gradients(true);
        const at::Tensor queries = model_->queryTokens().detach().clone().requires_grad_(true);
        const ItmOutput itm = heads().matching(model_->qformer(), queries, goldenLong(text(index) + "_input_ids"),
                                               goldenLong(text(index) + "_attention_mask"), features_.visionHidden);
        for (const at::Tensor& probs : itm.qformer.crossAttentions)
            probs.retain_grad();
        itm.logits[0][1].backward();
        for (std::size_t i = 0; i < 2; ++i) {
            const std::string name = text(index) + "_itm_cross_attention_grads_L" + std::to_string(2 * i);
            const at::Tensor expected = golden(name);
            const double bound = 1e-4 * expected.abs().max().item<double>();
            const double worst = maxAbs(itm.qformer.crossAttentions[i].grad(), expected);
            QVERIFY2(worst <= bound, qPrintable(QStringLiteral("%1: %2 > %3").arg(QString::fromStdString(name)).arg(worst).arg(bound)));
        }
    }

    // The public API on the decoded fixture photo (PIL-exact preprocessing): the same scores.
    void publicMatchingApi()
    {
        const auto& model = publicModel_;
        QVERIFY(model->info().canMatch);
        QVERIFY(!model->info().canGenerate);
        QCOMPARE(model->info().languageModel, std::string("none"));
        QCOMPARE(model->info().architecture, std::string("Blip2ForImageTextRetrieval"));
        const auto& image = publicImage_;
        try {
            model->newSession(image);
            QFAIL("a matching model opened a captioning session");
        } catch (const Error& e) {
            QVERIFY2(QString::fromStdString(e.what()).contains(QStringLiteral("cannot caption")), e.what());
        }
        std::ifstream in(testsupport::fixturePath(std::string(kConfig) + "/summary.json"));
        const nlohmann::json summary = nlohmann::json::parse(in);
        std::vector<std::string> texts;
        for (const auto& entry : summary["texts"])
            texts.push_back(entry["text"].get<std::string>());
        const std::vector<TextMatch> matches = matchTexts(*model, *image, texts);
        QCOMPARE(matches.size(), texts.size());
        for (std::size_t i = 0; i < texts.size(); ++i) {
            const auto& expected = summary["texts"][i];
            QCOMPARE(matches[i].inputIds, expected["input_ids"].get<std::vector<int>>());
            QCOMPARE(matches[i].tokens, expected["tokens"].get<std::vector<std::string>>());
            QVERIFY(std::abs(matches[i].itmLogits[0] - expected["itm_logits"][0].get<double>()) <= 1e-4);
            QVERIFY(std::abs(matches[i].itmLogits[1] - expected["itm_logits"][1].get<double>()) <= 1e-4);
            QVERIFY(std::abs(matches[i].itmProbability - expected["itm_match_probability"].get<double>()) <= 1e-4);
            QVERIFY(std::abs(matches[i].itcSimilarity - expected["itc_logit"].get<double>()) <= 1e-5);
            QCOMPARE(matches[i].queryItc.size(), std::size_t(32));
            QCOMPARE(double(matches[i].queryItc[std::size_t(matches[i].bestQuery)]), matches[i].itcSimilarity);
        }
        // ITC through the index's embeddings gives the same similarity and winning query.
        const ItcScore score = itcScore(imageEmbedding(*model, *image), textEmbedding(*model, texts[1]));
        QVERIFY(std::abs(score.similarity - matches[1].itcSimilarity) <= 1e-6);
        QCOMPARE(score.bestQuery, matches[1].bestQuery);
    }

    // Text localisation through the public API: its GradCAM is the formula applied to the
    // golden probabilities and gradients; words get their pieces and maps that never go negative.
    void localizationFromTheGoldenGradients_data() { imageTextMatching_data(); }
    void localizationFromTheGoldenGradients()
    {
        QFETCH(int, index);
        const auto& model = publicModel_;
        const auto& image = publicImage_;
        std::ifstream in(testsupport::fixturePath(std::string(kConfig) + "/summary.json"));
        const nlohmann::json entry = nlohmann::json::parse(in)["texts"][std::size_t(index)];
        const PhraseLocalization result = localizeText(*model, *image, entry["text"].get<std::string>());
        QVERIFY(std::abs(result.match.itmLogits[1] - entry["itm_logits"][1].get<double>()) <= 1e-4);
        QCOMPARE(result.gridSize, 16);
        const PhraseLocalizationMaps& maps = result.maps;
        at::Tensor mean = at::zeros({32, 257});
        for (std::int64_t l = 0; l < 2; ++l) {
            const std::string layer = "_L" + std::to_string(2 * l);
            const at::Tensor probs = golden(text(index) + "_itm_cross_attentions" + layer)[0];
            const at::Tensor grads = golden(text(index) + "_itm_cross_attention_grads" + layer)[0];
            const at::Tensor expected = (grads * probs).clamp_min(0).mean(0);
            mean += expected / 2;
            const at::Tensor actual = at::tensor(std::vector<float>(maps.gradcamLayers.begin() + l * 32 * 257,
                                                                    maps.gradcamLayers.begin() + (l + 1) * 32 * 257))
                                          .view({32, 257});
            const double bound = 1e-4 * (grads.abs().max() * probs.max()).item<double>();
            QVERIFY2(maxAbs(actual, expected) <= bound, "GradCAM of the match logit");
        }
        const at::Tensor phrase = mean.narrow(1, 1, 256).sum(0);
        QVERIFY2(maxAbs(at::tensor(maps.phraseMap), phrase) <= 1e-4 * phrase.abs().max().item<double>() + 1e-9, "phrase map");
        // Every word of the phrase that has pieces, with the pieces of the reference's tokens.
        std::size_t pieces = 0;
        for (const auto& tokens : result.wordTokens)
            pieces += tokens.size();
        QCOMPARE(pieces + 2, entry["input_ids"].size());  // + [CLS] and [SEP]
        QCOMPARE(maps.wordMaps.size(), result.words.size());
        for (const auto& map : maps.wordMaps) {
            QCOMPARE(map.size(), std::size_t(256));
            for (float v : map)
                QVERIFY(v >= 0.0f);
        }
        if (index == 0)
            QCOMPARE(result.words, (std::vector<std::string>{"two", "cats", "lying", "on", "a", "pink", "couch"}));
    }

    void faithfulnessOfAPhraseMap()
    {
        const std::string text = "two cats lying on a pink couch";
        const PhraseLocalization located = localizeText(*publicModel_, *publicImage_, text);
        FaithfulnessOptions options;
        options.steps = 5;
        const FaithfulnessReport report = phraseFaithfulness(*publicModel_, *publicImage_, text, located.maps.phraseMap, options);
        QCOMPARE(report.score, std::string("ITM match logit"));
        QVERIFY(std::abs(report.original - located.match.itmLogits[1]) <= 1e-4);
        QCOMPARE(report.deletion.scores.back(), report.baseline);
        QCOMPARE(report.insertion.scores.back(), report.original);
        QCOMPARE(report.randomInsertion.scores.size(), std::size_t(6));
    }

    void architectureFromConfigOrWeights_data()
    {
        QTest::addColumn<QString>("change");
        QTest::newRow("as the reference writes it") << "none";
        QTest::newRow("the real checkpoint's bare text_config") << "bare text_config";
        QTest::newRow("no architectures: told by the weights") << "no architectures";
    }
    void architectureFromConfigOrWeights()
    {
        QFETCH(QString, change);
        QTemporaryDir dir;
        writeConfigVariant(dir.path(), [&](nlohmann::json& config) {
            if (change == QLatin1String("bare text_config"))
                config["text_config"] = {{"model_type", "opt"}};
            if (change == QLatin1String("no architectures")) {
                config.erase("architectures");
                config["text_config"] = {{"model_type", "opt"}};
            }
        });
        LoadOptions options;
        options.folder = dir.path().toStdString();
        const auto model = Model::load(options);
        QVERIFY(model->info().canMatch);
        QVERIFY(!model->info().canGenerate);
        QVERIFY(capabilitySummary(model->info()).find("cannot caption or chat") != std::string::npos);
    }

    void matchingOnACaptioningModelSaysWhy()
    {
        LoadOptions options;
        options.folder = testsupport::fixturePath("tiny-opt");
        const auto model = Model::load(options);
        QVERIFY(!model->info().canMatch);
        const auto image = model->encode(testsupport::fixtureImage());
        try {
            matchTexts(*model, *image, {"a cat"});
            QFAIL("a captioning model matched a text");
        } catch (const Error& e) {
            QVERIFY2(QString::fromStdString(e.what()).contains(QStringLiteral("Blip2ForImageTextRetrieval")), e.what());
        }
    }
};

QTEST_GUILESS_MAIN(TestItmParity)
#include "test_itm_parity.moc"
