// BLIP-2 with Flan-T5 against the reference outputs of ../shared/fixtures/tiny-t5, loaded through
// the real loader: the image side, the T5 encoder over [soft prompt; prompt], teacher-forced
// decoder logits, greedy ids with and without the prompt, and the decoder's caches.

#include "golden_tensors.h"
#include "model/blip2.h"

#include <QtTest>

using namespace querylens::model;
using testsupport::compare;

namespace {

const char* kConfig = "tiny-t5";

at::Tensor goldenTensor(const std::string& name) { return testsupport::goldenTensor(kConfig, name); }
std::vector<int> ids(const std::string& name) { return testsupport::goldenIdList(kConfig, name); }
using testsupport::floats;

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
        model_ = Blip2Model::load(testsupport::fixturePath(kConfig), WeightFormats{}, at::kCPU);
        features_ = model_->encode(goldenTensor("pixel_values"));
        QVERIFY(model_->languageModel().isEncoderDecoder());
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
        auto d = compare(floats(features_.visionHidden), testsupport::goldenFloats(kConfig, "vision_last_hidden_state"));
        QVERIFY2(d.maxAbs <= 1e-4, qPrintable(d.describe()));
        d = compare(floats(features_.qformer.lastHiddenState), testsupport::goldenFloats(kConfig, "qformer_last_hidden_state"));
        QVERIFY2(d.maxAbs <= 1e-4, qPrintable(d.describe()));
        d = compare(floats(features_.projected), testsupport::goldenFloats(kConfig, "language_projection_output"));
        QVERIFY2(d.maxAbs <= 1e-4, qPrintable(d.describe()));
    }

    void encoderOutput()
    {
        const at::Tensor encoded = t5().encode(features_.projected, ids("prompt_input_ids"));
        QCOMPARE(encoded.sizes().vec(), testsupport::goldenShape(kConfig, "t5_encoder_last_hidden_state"));
        const auto d = compare(floats(encoded), testsupport::goldenFloats(kConfig, "t5_encoder_last_hidden_state"));
        QVERIFY2(d.maxAbs <= 1e-4, qPrintable(d.describe()));
    }

    void teacherForcedLogits()
    {
        const at::Tensor logits =
            model_->languageModel().forwardLogits(features_.projected, ids("prompt_input_ids"), ids("decoder_input_ids"));
        QCOMPARE(logits.sizes().vec(), testsupport::goldenShape(kConfig, "logits"));
        const auto d = compare(floats(logits), testsupport::goldenFloats(kConfig, "logits"));
        QVERIFY2(d.maxAbs <= 1e-3, qPrintable(d.describe()));
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
        const auto& lm = model_->languageModel();
        auto state = lm.newState();
        StepOutput out = lm.prefill(*state, features_.projected, ids("prompt_input_ids"));
        auto copy = state->clone();
        state->selectRows(at::zeros({2}, at::kLong));
        const at::Tensor next = out.logits.argmax(-1);
        const StepOutput two = lm.step(*state, at::cat({next, next}));
        const StepOutput one = lm.step(*copy, next);
        QCOMPARE(two.logits.size(0), std::int64_t(2));
        QVERIFY(at::allclose(two.logits[0], one.logits[0], 1e-5, 1e-5));
        QVERIFY(at::allclose(two.logits[1], one.logits[0], 1e-5, 1e-5));
        QCOMPARE(one.queryAttention.size(1), std::int64_t(32));
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
