// BLIP-2 with Flan-T5 against the reference outputs of ../shared/fixtures/tiny-t5, loaded through
// the real loader: the image side, the T5 encoder over [soft prompt; prompt], teacher-forced
// decoder logits, greedy ids with and without the prompt, and the decoder's caches.

#include "golden_gradients.h"
#include "golden_tensors.h"
#include "io/safetensors.h"
#include "model/blip2.h"
#include "model/kernels/isa.h"
#include "querylens/error.h"

#include <ATen/Parallel.h>

#include <QTemporaryDir>

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

using namespace querylens::model;
using testsupport::compare;

namespace {

const char* kConfig = "tiny-t5";

at::Tensor goldenTensor(const std::string& name) { return testsupport::goldenTensor(kConfig, name); }
std::vector<int> ids(const std::string& name) { return testsupport::goldenIdList(kConfig, name); }
using testsupport::floats;

// Checks a difference against its tolerance and prints the measured figures either way.
#define CHECK_CLOSE(what, d, tolerance)                                                      \
    do {                                                                                     \
        const auto diff_ = (d);                                                              \
        qInfo("%s: %s", what, qPrintable(diff_.describe()));                                 \
        QVERIFY2(diff_.sizesMatch && diff_.maxAbs <= (tolerance), qPrintable(diff_.describe())); \
    } while (false)

// A copy of tiny-t5 in `dir` with its tensors passed through `change` (return an undefined
// tensor to leave one out), `extra` tensors added, and config.json edited by `configure`.
void writeVariant(const QString& dir, const std::function<at::Tensor(const std::string&, const at::Tensor&)>& change,
                  const std::vector<std::pair<std::string, at::Tensor>>& extra = {},
                  const std::function<void(nlohmann::json&)>& configure = {})
{
    const std::string from = testsupport::fixturePath(kConfig);
    std::ifstream configIn(from + "/config.json");
    nlohmann::json config = nlohmann::json::parse(configIn);
    if (configure)
        configure(config);
    std::ofstream(QDir(dir).filePath(QStringLiteral("config.json")).toStdString()) << config.dump(2);

    const auto archive = querylens::io::WeightArchive::openFolder(from);
    std::vector<std::pair<std::string, at::Tensor>> all;
    for (const auto& name : archive.names()) {
        const auto* entry = archive.find(name);
        const at::Tensor stored = at::from_blob(const_cast<std::byte*>(entry->file->data(*entry->record)),
                                                entry->record->shape, at::kFloat);
        at::Tensor t = change(name, stored.clone());
        if (t.defined())
            all.emplace_back(name, t.contiguous());
    }
    all.insert(all.end(), extra.begin(), extra.end());
    std::vector<querylens::io::TensorToWrite> tensors;
    for (auto& [name, t] : all) {
        t = t.contiguous();
        tensors.push_back({name, querylens::io::DType::F32, t.sizes().vec(), t.data_ptr()});
    }
    querylens::io::writeSafetensors(QDir(dir).filePath(QStringLiteral("model.safetensors")).toStdString(), tensors);
}

at::Tensor storedTensor(const std::string& name)
{
    const auto archive = querylens::io::WeightArchive::openFolder(testsupport::fixturePath(kConfig));
    const auto* entry = archive.find(name);
    return at::from_blob(const_cast<std::byte*>(entry->file->data(*entry->record)), entry->record->shape, at::kFloat)
        .clone();
}

at::Tensor unchanged(const std::string&, const at::Tensor& t) { return t; }

}  // namespace

class TestT5Parity : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<Blip2Model> model_;
    ImageFeatures features_;

    const T5Model& t5() const { return dynamic_cast<const T5Model&>(model_->languageModel()); }


private Q_SLOTS:
    void initTestCase()
    {
        // Two threads, as the program runs on this kind of machine: the threaded paths (a head
        // per thread in attention, rows split in the kernels) are the ones compared.
        at::set_num_threads(2);
        qInfo("kernels: %s (QUERYLENS_ISA caps it)", querylens::model::kernels::isaName(querylens::model::kernels::activeIsa()));
        model_ = Blip2Model::load(testsupport::fixturePath(kConfig), WeightFormats{}, at::kCPU);
        features_ = model_->encode(goldenTensor("pixel_values"));
        QVERIFY(model_->languageModel().isEncoderDecoder());
    }

    // Under autograd (gradient explanations build on it): the gradients of five teacher-forced
    // decoder logits with respect to the soft prompt and the cross-attention probabilities.
    void gradientsUnderAutograd()
    {
        const std::string failures = testsupport::compareGoldenGradients(*model_, kConfig);
        QVERIFY2(failures.empty(), failures.c_str());
    }

    void configReadsGatedExactGelu()
    {
        const T5Config& c = model_->config().t5;
        QVERIFY(c.is_gated_act);
        QCOMPARE(c.dense_act_fn, std::string("gelu"));  // the file's dense_act_fn beats gated-gelu's gelu_new
        QVERIFY(!c.tie_word_embeddings);
        QCOMPARE(c.decoder_start_token_id, 0);
    }

    void imageSideMatches()
    {
        CHECK_CLOSE("vision_last_hidden_state",
                    compare(floats(features_.visionHidden), testsupport::goldenFloats(kConfig, "vision_last_hidden_state")),
                    1e-4);
        CHECK_CLOSE("qformer_last_hidden_state",
                    compare(floats(features_.qformer.lastHiddenState),
                            testsupport::goldenFloats(kConfig, "qformer_last_hidden_state")),
                    1e-4);
        CHECK_CLOSE("language_projection_output",
                    compare(floats(features_.projected), testsupport::goldenFloats(kConfig, "language_projection_output")),
                    1e-4);
    }

    void encoderOutput()
    {
        const at::Tensor encoded = t5().encode(features_.projected, ids("prompt_input_ids"));
        QCOMPARE(encoded.sizes().vec(), testsupport::goldenShape(kConfig, "t5_encoder_last_hidden_state"));
        CHECK_CLOSE("t5_encoder_last_hidden_state",
                    compare(floats(encoded), testsupport::goldenFloats(kConfig, "t5_encoder_last_hidden_state")), 1e-4);
    }

    void teacherForcedLogits()
    {
        const at::Tensor logits =
            model_->languageModel().forwardLogits(features_.projected, ids("prompt_input_ids"), ids("decoder_input_ids"));
        QCOMPARE(logits.sizes().vec(), testsupport::goldenShape(kConfig, "logits"));
        CHECK_CLOSE("logits (teacher forced)", compare(floats(logits), testsupport::goldenFloats(kConfig, "logits")), 1e-3);
    }

    void greedyIds_data()
    {
        QTest::addColumn<QString>("input");
        QTest::addColumn<QString>("expected");
        QTest::newRow("caption") << "caption_input_ids" << "greedy_ids";
        QTest::newRow("with the VQA prompt") << "prompt_input_ids" << "greedy_ids_prompt";
    }
    void greedyIds()
    {
        QFETCH(QString, input);
        QFETCH(QString, expected);
        QCOMPARE(testsupport::greedyIds(model_->languageModel(), features_.projected, ids(input.toStdString()), 20), ids(expected.toStdString()));
    }

    void stepLogitsEqualTeacherForcedLogits()
    {
        // The cached decoder (self-attention cache, encoder keys computed once) gives the same
        // logits as running every position at once.
        const auto& lm = model_->languageModel();
        const auto prompt = ids("prompt_input_ids");
        const auto decoderIds = ids("decoder_input_ids");
        const at::Tensor full = lm.forwardLogits(features_.projected, prompt, decoderIds);
        auto state = lm.newState();
        StepOutput out = lm.prefill(*state, features_.projected, prompt);
        for (std::size_t i = 0; i < decoderIds.size(); ++i) {
            if (i > 0)
                out = lm.step(*state, at::tensor(std::vector<std::int64_t>{decoderIds[i]}, at::kLong));
            const auto d = compare(floats(out.logits), floats(full[0][std::int64_t(i)]));
            QVERIFY2(d.maxAbs <= 1e-4, qPrintable(QStringLiteral("position %1: ").arg(i) + d.describe()));
        }
        QCOMPARE(decoderIds.front(), 0);  // decoder_input_ids start with decoder_start_token_id
    }

    void rowsCanBeDuplicatedAndCloned()
    {
        // Beams: rows duplicated from one prefill, each fed its own token, then reordered. Every
        // row must equal a single-row run of the same tokens (the encoder's keys and values are
        // shared by all rows, not copied).
        const auto& lm = model_->languageModel();
        auto state = lm.newState();
        const StepOutput out = lm.prefill(*state, features_.projected, ids("prompt_input_ids"));
        const std::vector<std::int64_t> tokens = {out.logits.argmax(-1).item<std::int64_t>(), 5, 17};
        std::vector<std::unique_ptr<querylens::model::LanguageModelState>> singles;
        std::vector<StepOutput> singleOut;
        for (std::int64_t token : tokens) {
            singles.push_back(state->clone());
            singleOut.push_back(lm.step(*singles.back(), at::tensor(std::vector<std::int64_t>{token}, at::kLong)));
        }
        state->selectRows(at::zeros({3}, at::kLong));
        const StepOutput three = lm.step(*state, at::tensor(tokens, at::kLong));
        QCOMPARE(three.logits.size(0), std::int64_t(3));
        for (int r = 0; r < 3; ++r) {
            QVERIFY2(at::allclose(three.logits[r], singleOut[r].logits[0], 1e-5, 1e-5), qPrintable(QString::number(r)));
            QVERIFY(at::allclose(three.queryAttention[r], singleOut[r].queryAttention[0], 1e-6, 1e-6));
        }
        // Reorder (row 2 twice, then row 0) and step again: each row follows its own history.
        state->selectRows(at::tensor(std::vector<std::int64_t>{2, 2, 0}, at::kLong));
        const StepOutput again = lm.step(*state, at::tensor(std::vector<std::int64_t>{3, 4, 3}, at::kLong));
        const std::vector<std::pair<int, std::int64_t>> history = {{2, 3}, {2, 4}, {0, 3}};
        for (int r = 0; r < 3; ++r) {
            auto single = singles[history[r].first]->clone();
            const StepOutput expected = lm.step(*single, at::tensor(std::vector<std::int64_t>{history[r].second}, at::kLong));
            QVERIFY2(at::allclose(again.logits[r], expected.logits[0], 1e-5, 1e-5), qPrintable(QString::number(r)));
        }
        QCOMPARE(three.queryAttention.size(1), std::int64_t(32));
    }

    void sameInputReusesTheEncoder()
    {
        const auto& lm = model_->languageModel();
        auto state = lm.newState();
        const auto prompt = ids("prompt_input_ids");
        const StepOutput first = lm.prefill(*state, features_.projected, prompt);
        QCOMPARE(state->reusedPositions(), std::int64_t(0));
        const StepOutput again = lm.prefill(*state, features_.projected, prompt);
        QCOMPARE(state->reusedPositions(), std::int64_t(32 + prompt.size()));
        QVERIFY(at::equal(first.logits, again.logits));
    }

    void weightBytesCountEveryTensor()
    {
        // float32 weights: exactly the bytes of the checkpoint's language_model.* tensors.
        const auto archive = querylens::io::WeightArchive::openFolder(testsupport::fixturePath(kConfig));
        std::size_t expected = 0;
        for (const auto& name : archive.names())
            if (name.rfind("language_model.", 0) == 0)
                expected += std::size_t(archive.find(name)->record->numel()) * sizeof(float);
        QCOMPARE(model_->languageModel().weightBytes(), expected);
    }

    void progressCoversBothStacksAndCancels()
    {
        const auto& lm = model_->languageModel();
        auto state = lm.newState();
        std::vector<double> seen;
        lm.prefill(*state, features_.projected, ids("prompt_input_ids"), [&](double f, const std::string&) {
            seen.push_back(f);
            return true;
        });
        QCOMPARE(seen.size(), std::size_t(4));  // 2 encoder + 2 decoder layers
        QVERIFY(std::is_sorted(seen.begin(), seen.end()));
        auto fresh = lm.newState();
        QVERIFY_THROWS_EXCEPTION(querylens::Cancelled,
                                 lm.prefill(*fresh, features_.projected, ids("prompt_input_ids"),
                                            [](double, const std::string&) { return false; }));
    }

    void reducedPrecision_data()
    {
        QTest::addColumn<int>("format");
        QTest::addColumn<double>("logitTolerance");
        QTest::addColumn<int>("sameIds");
        // Not held to the float32 tolerances (fixtures README): a loose logit bound, and the
        // greedy ids of the first steps (the smallest top-2 gap of the prompt run is 0.027; measured:
        // bf16 keeps all 20 where activations stay float32 and the first 5 where the encoder's
        // products round them to bf16 (avx512bf16), int8 the first 17).
        QTest::newRow("bf16") << int(WeightFormat::BFloat16) << 0.5 << 5;
        QTest::newRow("int8") << int(WeightFormat::Int8) << 0.5 << 5;
    }
    void reducedPrecision()
    {
        QFETCH(int, format);
        QFETCH(double, logitTolerance);
        QFETCH(int, sameIds);
        WeightFormats formats;
        formats.language = WeightFormat(format);
        const auto model = Blip2Model::load(testsupport::fixturePath(kConfig), formats, at::kCPU);
        const auto& lm = model->languageModel();
        const at::Tensor logits = lm.forwardLogits(features_.projected, ids("prompt_input_ids"), ids("decoder_input_ids"));
        CHECK_CLOSE(QTest::currentDataTag(), compare(floats(logits), testsupport::goldenFloats(kConfig, "logits")),
                    logitTolerance);
        const auto golden = ids("greedy_ids_prompt");
        const auto greedy = testsupport::greedyIds(lm, features_.projected, ids("prompt_input_ids"), int(golden.size()));
        const auto agree = std::mismatch(greedy.begin(), greedy.end(), golden.begin()).first - greedy.begin();
        qInfo("%s: the first %d of %d greedy ids agree", QTest::currentDataTag(), int(agree), int(golden.size()));
        QVERIFY(agree >= sameIds);
        QVERIFY(lm.weightBytes() < model_->languageModel().weightBytes());
    }

    void storedEmbeddingAliasesLoad()
    {
        // Some checkpoints store encoder/decoder embed_tokens as well as shared.
        QTemporaryDir dir;
        const at::Tensor shared = storedTensor("language_model.shared.weight");
        writeVariant(dir.path(), unchanged,
                     {{"language_model.encoder.embed_tokens.weight", shared},
                      {"language_model.decoder.embed_tokens.weight", shared}});
        const auto model = Blip2Model::load(dir.path().toStdString(), WeightFormats{}, at::kCPU);
        const at::Tensor logits =
            model->languageModel().forwardLogits(features_.projected, ids("prompt_input_ids"), ids("decoder_input_ids"));
        CHECK_CLOSE("logits with stored aliases", compare(floats(logits), testsupport::goldenFloats(kConfig, "logits")),
                    1e-3);
    }

    void tiedHeadReadsSharedScaled()
    {
        // Tied (plain T5): lm_head is shared, applied to hidden * d_model^-0.5, and a stored
        // lm_head.weight is an alias to ignore. The same numbers come from an untied head that
        // stores shared * d_model^-0.5.
        QTemporaryDir tiedDir, scaledDir;
        writeVariant(tiedDir.path(), unchanged, {}, [](nlohmann::json& c) { c["text_config"]["tie_word_embeddings"] = true; });
        const at::Tensor shared = storedTensor("language_model.shared.weight");
        writeVariant(scaledDir.path(), [&](const std::string& name, const at::Tensor& t) {
            return name == "language_model.lm_head.weight" ? shared * (1.0 / std::sqrt(64.0)) : t;
        });
        const auto tied = Blip2Model::load(tiedDir.path().toStdString(), WeightFormats{}, at::kCPU);
        const auto scaled = Blip2Model::load(scaledDir.path().toStdString(), WeightFormats{}, at::kCPU);
        QVERIFY(tied->config().t5.tie_word_embeddings);
        const auto prompt = ids("prompt_input_ids");
        const auto decoderIds = ids("decoder_input_ids");
        const at::Tensor a = tied->languageModel().forwardLogits(features_.projected, prompt, decoderIds);
        const at::Tensor b = scaled->languageModel().forwardLogits(features_.projected, prompt, decoderIds);
        CHECK_CLOSE("tied vs pre-scaled untied head", compare(floats(a), floats(b)), 1e-4);
    }

    void missingRelativeBiasIsNamed()
    {
        QTemporaryDir dir;
        const std::string key = "language_model.decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight";
        writeVariant(dir.path(), [&](const std::string& name, const at::Tensor& t) {
            return name == key ? at::Tensor() : t;
        });
        try {
            Blip2Model::load(dir.path().toStdString(), WeightFormats{}, at::kCPU);
            QFAIL("a checkpoint without the decoder's relative attention bias loaded");
        } catch (const querylens::Error& e) {
            QVERIFY2(std::string(e.what()).find(key) != std::string::npos, e.what());
        }
    }

    void configDefaults_data()
    {
        QTest::addColumn<QString>("json");
        QTest::addColumn<bool>("gated");
        QTest::addColumn<QString>("activation");
        QTest::addColumn<int>("decoderLayers");
        QTest::newRow("empty: T5Config defaults") << "{}" << false << "relu" << 6;
        QTest::newRow("num_decoder_layers follows num_layers") << R"({"num_layers": 24})" << false << "relu" << 24;
        QTest::newRow("explicit num_decoder_layers") << R"({"num_layers": 24, "num_decoder_layers": 3})" << false
                                                     << "relu" << 3;
        QTest::newRow("gated-gelu alone means gelu_new") << R"({"feed_forward_proj": "gated-gelu"})" << true
                                                         << "gelu_new" << 6;
        QTest::newRow("dense_act_fn wins") << R"({"feed_forward_proj": "gated-gelu", "dense_act_fn": "gelu"})" << true
                                           << "gelu" << 6;
        QTest::newRow("gated-silu") << R"({"feed_forward_proj": "gated-silu"})" << true << "silu" << 6;
    }
    void configDefaults()
    {
        QFETCH(QString, json);
        QFETCH(bool, gated);
        QFETCH(QString, activation);
        QFETCH(int, decoderLayers);
        const T5Config c = T5Config::fromJson(
            querylens::io::ConfigReader(nlohmann::json::parse(json.toStdString()), "config.json", "text_config"));
        QCOMPARE(c.is_gated_act, gated);
        QCOMPARE(QString::fromStdString(c.dense_act_fn), activation);
        QCOMPARE(c.num_decoder_layers, decoderLayers);
        QCOMPARE(c.vocab_size, 32128);
        QCOMPARE(c.eos_token_id, std::vector<int>{1});
        QCOMPARE(c.pad_token_id, 0);
        QCOMPARE(c.decoder_start_token_id, 0);
        QVERIFY(c.tie_word_embeddings);
    }

    void badFeedForwardKindIsNamed()
    {
        try {
            T5Config::fromJson(querylens::io::ConfigReader(nlohmann::json{{"feed_forward_proj", "double-gelu"}},
                                                           "config.json", "text_config"));
            QFAIL("feed_forward_proj 'double-gelu' was accepted");
        } catch (const querylens::Error& e) {
            QVERIFY2(std::string(e.what()).find("feed_forward_proj") != std::string::npos, e.what());
        }
    }

    void relativeBuckets()
    {
        // Hand-computed from T5's formula with 32 buckets, max distance 128.
        QCOMPARE(relativePositionBucket(0, true, 32, 128), 0);
        QCOMPARE(relativePositionBucket(3, true, 32, 128), 19);
        QCOMPARE(relativePositionBucket(-3, true, 32, 128), 3);
        QCOMPARE(relativePositionBucket(-20, true, 32, 128), 10);    // 8 + int(log(20/8) / log(16) * 8) = 8 + 2
        QCOMPARE(relativePositionBucket(-1000, true, 32, 128), 15);  // capped
        QCOMPARE(relativePositionBucket(5, false, 32, 128), 0);      // the future: bucket 0 in a decoder
        QCOMPARE(relativePositionBucket(-20, false, 32, 128), 17);   // 16 + int(log(20/16)/log(8)*16) = 16 + 1
    }
};

QTEST_APPLESS_MAIN(TestT5Parity)
#include "test_t5_parity.moc"
