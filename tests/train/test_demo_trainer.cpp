// The demo trainer on a tiny geometry: a few steps of each stage lower that stage's loss, the
// ViT does not move in stages 1 and 2 nor the OPT in stage 1 (stage 2 fine-tunes it, unlike
// BLIP-2: see TrainerOptions::tuneLanguageModel), and the checkpoints it writes load through the
// ordinary loader and give the trainer's own logits.

#include "model/blip2.h"
#include "querylens/demo_scenes.h"
#include "querylens/prompts.h"
#include "train/demo_batches.h"
#include "train/demo_checkpoint.h"
#include "train/demo_trainer.h"
#include "train/demo_text.h"
#include "train/generation_rows.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

using namespace querylens;
using namespace querylens::train;

namespace {

std::map<std::string, at::Tensor> snapshot(const ParameterSet& p, const std::string& prefix)
{
    std::map<std::string, at::Tensor> copy;
    for (const auto& name : p.names())
        if (name.rfind(prefix, 0) == 0)
            copy[name] = p[name].detach().clone();
    return copy;
}

bool unchanged(const ParameterSet& p, const std::map<std::string, at::Tensor>& before)
{
    for (const auto& [name, tensor] : before)
        if (!at::equal(p[name].detach(), tensor))
            return false;
    return true;
}

}  // namespace

class TestDemoTrainer : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase()
    {
        at::set_num_threads(1);
        QVERIFY(dir_.isValid());
        trainer_ = std::make_unique<DemoTrainer>(TrainerOptions::tiny(), dir_.filePath(QStringLiteral("model")).toStdString());
    }

    void stagesLowerTheirLossAndKeepFrozenPartsStill()
    {
        // Stage 0: each part learns on its own; the ViT names held-out patches' colours better.
        const VisionAccuracy untrained = trainer_->visionAccuracy(7, 24);
        const StageResult vision = trainer_->trainVision(60);
        QVERIFY2(vision.last.at("total") < vision.first.at("total"), "vision loss did not fall");
        QVERIFY(vision.cpuSeconds > 0);
        const VisionAccuracy trained = trainer_->visionAccuracy(7, 24);
        QVERIFY(trained.patches > 0 && trained.patches == untrained.patches && trained.objects > 0);
        QVERIFY2(trained.colour > untrained.colour + 0.1,
                 qPrintable(QStringLiteral("%1 -> %2").arg(untrained.colour).arg(trained.colour)));
        QVERIFY(trained.shape >= 0 && trained.shape <= 1 && trained.objectShape >= 0 && trained.objectShape <= 1);
        const StageResult language = trainer_->trainLanguageModel(30);
        QVERIFY2(language.last.at("lm") < language.first.at("lm"), "language-model loss did not fall");

        // Stage 1: the Q-Former learns; the ViT and the OPT do not move.
        const auto vit = snapshot(trainer_->parameters(), "vision_model.");
        const auto opt = snapshot(trainer_->parameters(), "language_model.");
        const auto queries = snapshot(trainer_->parameters(), "query_tokens");
        const StageResult representation = trainer_->trainRepresentation(30);
        QVERIFY2(representation.last.at("total") < representation.first.at("total"), "stage 1 loss did not fall");
        QVERIFY(representation.first.count("itc") && representation.first.count("itm") && representation.first.count("itg"));
        QVERIFY(unchanged(trainer_->parameters(), vit));
        QVERIFY(unchanged(trainer_->parameters(), opt));
        QVERIFY(!unchanged(trainer_->parameters(), queries));

        // Stage 2: Q-Former and projection learn, with the OPT (fine-tuned: see TrainerOptions); the ViT stays.
        QVERIFY(trainer_->options().tuneLanguageModel);
        const auto projection = snapshot(trainer_->parameters(), "language_projection.");
        const StageResult generation = trainer_->trainGeneration(40);
        QVERIFY2(generation.last.at("lm") < generation.first.at("lm"), "stage 2 loss did not fall");
        QVERIFY(unchanged(trainer_->parameters(), vit));
        QVERIFY(!unchanged(trainer_->parameters(), opt));
        QVERIFY(!unchanged(trainer_->parameters(), projection));
    }

    void shardsAddUpToTheBatch_data()
    {
        QTest::addColumn<int>("stage");
        QTest::newRow("stage 0: vision encoder") << 0;
        QTest::newRow("stage 1: ITC, ITM, ITG") << 1;
        QTest::newRow("stage 2: language model") << 2;
    }

    void shardsAddUpToTheBatch()
    {
        // Stages 0, 1 and 2 cut each batch into one shard per thread they were given; the shards'
        // losses and gradients must add up to the batch's (stage 1's ITC, which compares every
        // pair of the batch, included). Two fresh trainers, one and two threads.
        QFETCH(int, stage);
        TrainerOptions options = TrainerOptions::tiny();
        options.entropyWeight = 0.5;  // stage 1's regulariser is cut into shares too
        std::map<std::string, at::Tensor> gradients[2];
        std::map<std::string, double> losses[2];
        for (int threads : {1, 2}) {
            QTemporaryDir folder;
            DemoTrainer trainer(options, folder.filePath(QStringLiteral("model")).toStdString());
            at::set_num_threads(threads);
            const StageResult result = stage == 0   ? trainer.trainVision(1)
                                       : stage == 1 ? trainer.trainRepresentation(1)
                                                    : trainer.trainGeneration(1);
            at::set_num_threads(1);
            QCOMPARE(at::get_num_threads(), 1);  // the stage gives the threads back as they were
            losses[threads - 1] = result.curve.front().losses;
            // The step's gradients stay on the parameters after the optimiser's step. (Compared
            // after more steps, AdamW's division by the gradients' size turns the rounding of
            // near-zero gradients into differences of a sizeable share of the rate.)
            for (const std::string& name : trainer.parameters().names())
                if (const at::Tensor& g = trainer.parameters()[name].grad(); g.defined())
                    gradients[threads - 1][name] = g.clone();
        }
        QCOMPARE(losses[1].size(), losses[0].size());
        for (const auto& [name, whole] : losses[0]) {
            const double sharded = losses[1].at(name);
            QVERIFY2(std::abs(sharded - whole) <= 1e-5 * std::max(1.0, std::abs(whole)),
                     qPrintable(QStringLiteral("%1: %2 against %3").arg(QString::fromStdString(name)).arg(sharded).arg(whole)));
        }
        QVERIFY(!gradients[0].empty());
        if (stage == 1)  // ITC alone reaches the projections: its gradient crosses from the batch to both sides' shards
            for (const char* name : {"vision_projection.weight", "text_projection.weight"})
                for (const auto& run : gradients)
                    QVERIFY2(run.count(name) && run.at(name).abs().max().item<double>() > 0, name);
        QCOMPARE(gradients[1].size(), gradients[0].size());
        // Against the step's largest gradient: some are zero but for rounding (an attention key's
        // bias shifts every score of a query alike), and their rounding differs.
        double scale = 0;
        for (const auto& [name, whole] : gradients[0])
            scale = std::max(scale, whole.abs().max().item<double>());
        QVERIFY(scale > 0);
        double worst = 0;
        for (const auto& [name, whole] : gradients[0]) {
            const double difference = (gradients[1].at(name) - whole).abs().max().item<double>() / scale;
            worst = std::max(worst, difference);
            QVERIFY2(difference < 1e-5, qPrintable(QStringLiteral("%1: %2 of the largest gradient")
                                                       .arg(QString::fromStdString(name))
                                                       .arg(difference)));
        }
        qInfo("largest difference of a gradient: %.3g of the largest gradient", worst);
    }

    void answerRowsAreTheChatsTurns()
    {
        // Stage 2's answer rows with three questions each: the text is what chatPrompt writes for
        // follow-ups, tokenised as the whole string would be; only the answers and the end of
        // each are scored, each an answer of a different question of the scene.
        GenerationMix mix;
        mix.captionShare = 0;
        mix.answersPerRow = 3;
        std::vector<demo::Scene> scenes;
        for (int i = 0; i < 12; ++i)
            scenes.push_back(demo::generateScene(9, i));
        const text::BpeTokenizer& bpe = trainer_->bpe();
        const int newline = trainer_->newlineId();
        demo::SceneRandom choice(3, 0);
        const GenerationRows rows = generationRows(scenes, mix, bpe, newline, 1000, choice);
        QCOMPARE(rows.ids.size(), scenes.size());
        for (std::size_t r = 0; r < scenes.size(); ++r) {
            const std::vector<std::int64_t>& ids = rows.ids[r];
            QCOMPARE(ids.front(), kOptBos);
            QCOMPARE(ids.back(), std::int64_t(newline));
            const std::vector<int> text(ids.begin() + 1, ids.end() - 1);
            const std::string decoded = bpe.decode(text);
            QCOMPARE(bpe.encode(decoded, false), text);  // the pieces tokenise as the whole string
            QCOMPARE(rows.targets[r].size(), std::size_t(3));
            std::vector<ChatTurn> turns;
            for (std::size_t t = 0; t < rows.targets[r].size(); ++t) {
                const TokenSpan span = rows.targets[r][t];
                const bool last = t + 1 == rows.targets[r].size();
                // Every answer ends the model's turn: the token after it is the newline in the
                // labels, though in the ids the turns go on with a full stop.
                QCOMPARE(rows.labels[r][span.end - 1], std::int64_t(newline));
                if (last) {
                    QCOMPARE(span.end, ids.size());
                } else {
                    QCOMPARE(bpe.decode({int(ids[span.end - 1])}), std::string("."));
                    QVERIFY(span.end < rows.targets[r][t + 1].begin);  // " Question: ... Answer:" unscored
                }
                for (std::size_t i = span.begin; i + 1 < span.end; ++i)
                    QCOMPARE(rows.labels[r][i], ids[i]);
                const std::string answer = bpe.decode({ids.begin() + std::ptrdiff_t(span.begin), ids.begin() + std::ptrdiff_t(span.end - 1)});
                const std::string before = bpe.decode({ids.begin() + 1, ids.begin() + std::ptrdiff_t(span.begin)});
                QVERIFY2(before.size() >= 7 && before.compare(before.size() - 7, 7, "Answer:") == 0, before.c_str());
                // Which question: the one the text between the previous turn and this answer asks.
                const std::size_t asked = before.rfind("Question: ");
                QVERIFY(asked != std::string::npos);
                const std::string question = before.substr(asked + 10, before.size() - 8 - (asked + 10));
                const auto qa = std::find_if(scenes[r].questions.begin(), scenes[r].questions.end(),
                                             [&](const demo::QuestionAnswer& q) { return q.question == question; });
                QVERIFY2(qa != scenes[r].questions.end(), question.c_str());
                QCOMPARE(answer, " " + qa->answer);
                for (const ChatTurn& turn : turns)
                    QVERIFY2(turn.question != question, question.c_str());
                if (last)
                    QCOMPARE(decoded, chatPrompt(turns, question) + answer);
                else
                    turns.push_back({question, qa->answer});
            }
        }

        // Rows that would not fit keep as many answers as do, and always one.
        demo::SceneRandom again(3, 0);
        const GenerationRows short_ = generationRows(scenes, mix, bpe, newline, 20, again);
        for (std::size_t r = 0; r < scenes.size(); ++r) {
            QVERIFY(!short_.targets[r].empty());
            QVERIFY(short_.ids[r].size() <= 20 || short_.targets[r].size() == 1);
            QVERIFY(short_.targets[r].size() <= rows.targets[r].size());
            QCOMPARE(short_.targets[r].back().end, short_.ids[r].size());
        }
    }

    void generationCheckpointReloadsWithTheSameLogits()
    {
        const std::string folder = dir_.filePath(QStringLiteral("model")).toStdString();
        writeGenerationCheckpoint(*trainer_, folder);
        c10::InferenceMode inference;
        const auto model = model::Blip2Model::load(folder, {}, at::kCPU);  // the ordinary loader, no special case
        const demo::Scene scene = demo::generateScene(5, 0);
        const ScenePool pool = drawPool(5, 2, trainer_->geometry().imageSize, trainer_->geometry().grid(), {});
        const at::Tensor pixels = pixelValues(pool, at::arange(1, at::kLong));
        std::vector<int> ids{2};
        for (int id : trainer_->bpe().encode(scene.caption, false))
            ids.push_back(id);
        const at::Tensor expected = trainer_->generationLogits(pixels, {ids.begin(), ids.end()});
        const model::ImageFeatures features = model->encode(pixels);
        const at::Tensor logits = model->languageModel().forwardLogits(features.projected, ids, {});
        QCOMPARE(logits.sizes(), expected.sizes());
        const double difference = (logits - expected).abs().max().item<double>();
        QVERIFY2(difference < 1e-4, qPrintable(QString::number(difference)));
    }

    void retrievalCheckpointHasTheItmLayout()
    {
        const QString folder = dir_.filePath(QStringLiteral("itm"));
        writeRetrievalCheckpoint(*trainer_, folder.toStdString());
        // BERT's conventions, as the fixture's vocab.txt: [PAD]=0, [UNK]=11, [CLS]=12, [SEP]=13, [MASK]=14.
        std::ifstream vocab((folder + QStringLiteral("/vocab.txt")).toStdString());
        std::vector<std::string> lines;
        for (std::string line; std::getline(vocab, line);)
            lines.push_back(line);
        QCOMPARE(lines.at(0), std::string("[PAD]"));
        QCOMPARE(lines.at(11), std::string("[UNK]"));
        QCOMPARE(lines.at(12), std::string("[CLS]"));
        QCOMPARE(lines.at(13), std::string("[SEP]"));
        QCOMPARE(lines.at(14), std::string("[MASK]"));
        for (const char* word : {"red", "circle", "left", "above"})
            QVERIFY(std::find(lines.begin(), lines.end(), word) != lines.end());
        std::ifstream added((folder + QStringLiteral("/added_tokens.json")).toStdString());
        QCOMPARE(nlohmann::json::parse(added).at("[DEC]").get<std::size_t>(), lines.size());
        std::ifstream configFile((folder + QStringLiteral("/config.json")).toStdString());
        const nlohmann::json config = nlohmann::json::parse(configFile);
        QCOMPARE(config.at("architectures")[0].get<std::string>(), std::string("Blip2ForImageTextRetrieval"));
        QCOMPARE(config.at("qformer_config").at("vocab_size").get<std::size_t>(), lines.size() + 1);
        // The weights: the tiny-itm fixture's names (Q-Former with both branches, projections, ITM head).
        for (const char* name : {"embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
                                 "qformer.encoder.layer.0.crossattention.attention.key.weight",
                                 "qformer.encoder.layer.1.intermediate.dense.weight",
                                 "qformer.encoder.layer.1.output_query.LayerNorm.bias", "vision_projection.weight",
                                 "text_projection.bias", "itm_head.weight", "query_tokens",
                                 "vision_model.encoder.layers.0.self_attn.qkv.bias"})
            QVERIFY2(isRetrievalWeight(name) && trainer_->parameters().contains(name), name);
        QVERIFY(!isRetrievalWeight("language_projection.weight"));
        QVERIFY(!isRetrievalWeight("head.itg.bias"));
        QVERIFY(!isGenerationWeight("qformer.encoder.layer.1.intermediate.dense.weight"));
        QVERIFY(isGenerationWeight("qformer.encoder.layer.1.intermediate_query.dense.weight"));
        QVERIFY(isGenerationWeight("qformer.encoder.layer.0.attention.output.dense.weight"));
    }

private:
    QTemporaryDir dir_;
    std::unique_ptr<DemoTrainer> trainer_;
};

QTEST_APPLESS_MAIN(TestDemoTrainer)
#include "test_demo_trainer.moc"
