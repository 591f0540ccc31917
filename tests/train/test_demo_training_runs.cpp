// Whole `train-demo` runs on the tiny geometry, the way a student retrains in several sittings:
// a run that resumes from an earlier folder keeps the earlier run's matching model when it
// trains no stage 1 of its own, and its model card and training_log.json list every invocation
// that led to the checkpoint, not only the last.

#include "io/safetensors.h"
#include "querylens/error.h"
#include "querylens/demo_training.h"
#include "train/demo_training_log.h"

#include <QTemporaryDir>
#include <QtTest>

#include <cstring>
#include <fstream>
#include <sstream>

using namespace querylens;

namespace {

// The bytes of one tensor of FOLDER/model.safetensors.
std::string tensorBytes(const std::string& folder, const std::string& name)
{
    const auto file = io::SafetensorsFile::open(folder + "/model.safetensors");
    const io::TensorRecord* record = file->find(name);
    if (!record)
        return {};
    return std::string(reinterpret_cast<const char*>(file->data(*record)), record->nbytes);
}

std::string readText(const std::string& path)
{
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

DemoTrainingOptions tinyRun(const QString& folder)
{
    DemoTrainingOptions o;
    o.folder = folder.toStdString();
    o.tiny = true;
    o.visionSteps = 8;
    o.languageSteps = 8;
    o.representationSteps = 8;
    o.generationSteps = 8;
    o.generationStage1Steps = 4;
    o.evaluationScenes = 0;
    o.threads = 1;
    return o;
}

}  // namespace

class TestDemoTrainingRuns : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void resumedRunKeepsStageOneAndTheWholeRecord()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString first = dir.filePath(QStringLiteral("first")), second = dir.filePath(QStringLiteral("second"));
        const DemoTrainingResult a = trainDemoModel(tinyRun(first), {});
        QCOMPARE(a.run.stages.size(), std::size_t(5));  // ViT, OPT, stage 1 twice, stage 2
        QCOMPARE(a.run.stages[3].name, std::string("stage 1 for stage 2: Q-Former (ITC, ITM, ITG)"));
        QCOMPARE(a.run.stages[3].steps, 4);
        QVERIFY(a.earlier.empty());

        DemoTrainingOptions resumed = tinyRun(second);
        resumed.resume = first.toStdString();
        resumed.representationSteps = 0;   // stage 1 taken from the first run
        resumed.generationSteps = 6;
        resumed.captionShare = 0.6;        // more caption rows in this sitting
        resumed.captionCrowding = 0.8;     // and more of them from crowded scenes
        resumed.answersPerRow = 2;         // and the chat's follow-ups
        const DemoTrainingResult b = trainDemoModel(resumed, {});
        QCOMPARE(b.run.stages.size(), std::size_t(1));  // stage 2 only

        // The matching model is still stage 1's Q-Former: the first run's, not stage 2's.
        const std::string name = "qformer.encoder.layer.0.attention.attention.query.weight";
        const std::string stageOne = tensorBytes(a.retrievalFolder, name);
        QVERIFY(!stageOne.empty());
        QVERIFY(stageOne != tensorBytes(a.generationFolder, name));  // stage 2 moved it
        QVERIFY(stageOne == tensorBytes(b.retrievalFolder, name));
        QVERIFY(tensorBytes(b.generationFolder, name) != stageOne);

        // Both invocations, oldest first, in the log and on the card of both checkpoints.
        const std::vector<DemoInvocation> log = train::readTrainingLog(b.generationFolder);
        QCOMPARE(log.size(), std::size_t(2));
        QCOMPARE(log[0].stages.size(), std::size_t(5));
        QCOMPARE(log[0].stages[0].steps, 8);
        QVERIFY(!log[0].visionAccuracy.empty());
        QCOMPARE(log[1].stages.size(), std::size_t(1));
        QCOMPARE(log[1].stages[0].steps, 6);
        QVERIFY(log[1].arguments.find("--resume " + first.toStdString()) != std::string::npos);
        QVERIFY2(log[1].arguments.find("--caption-share 0.6") != std::string::npos, log[1].arguments.c_str());
        QVERIFY2(log[1].arguments.find("--caption-crowding 0.8") != std::string::npos, log[1].arguments.c_str());
        QVERIFY2(log[0].arguments.find("--caption-share 0.35") != std::string::npos, log[0].arguments.c_str());
        QVERIFY2(log[0].arguments.find("--caption-crowding") == std::string::npos, log[0].arguments.c_str());
        QVERIFY2(log[1].arguments.find("--answers-per-row 2") != std::string::npos, log[1].arguments.c_str());
        QVERIFY2(log[0].arguments.find("--answers-per-row 3") != std::string::npos, log[0].arguments.c_str());
        QCOMPARE(train::readTrainingLog(b.retrievalFolder).size(), std::size_t(2));
        for (const std::string& folder : {b.generationFolder, b.retrievalFolder}) {
            const std::string card = readText(folder + "/README.md");
            QVERIFY2(card.find(log[0].arguments) != std::string::npos, "first invocation missing from the card");
            QVERIFY2(card.find(log[1].arguments) != std::string::npos, "second invocation missing from the card");
            QVERIFY(card.find("in 2 invocations") != std::string::npos);
            QVERIFY(card.find("captions (60 % of rows in the last invocation") != std::string::npos);
            QVERIFY(card.find("; 2 questions a row in the last invocation, in the chat's format") != std::string::npos);
            QVERIFY(card.find("### stage 0: vision encoder") != std::string::npos);
        }
    }

    // Stage 1 twice from one start: the matching model is the long run's whatever the short one
    // does, and stage 2 starts from the short one.
    void shortStageOneForStageTwoLeavesTheMatchingModel()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        DemoTrainingOptions single = tinyRun(dir.filePath(QStringLiteral("single")));
        single.generationStage1Steps = 0;  // stage 2 goes on from the matching model's stage 1
        const DemoTrainingResult a = trainDemoModel(single, {});
        const DemoTrainingResult b = trainDemoModel(tinyRun(dir.filePath(QStringLiteral("forked"))), {});
        QCOMPARE(a.run.stages.size(), std::size_t(4));
        for (const std::string name : {"qformer.encoder.layer.0.attention.attention.query.weight", "itm_head.weight"})
            QVERIFY2(tensorBytes(a.retrievalFolder, name) == tensorBytes(b.retrievalFolder, name), name.c_str());
        const std::string query = "qformer.encoder.layer.0.attention.attention.query.weight";
        QVERIFY(tensorBytes(a.generationFolder, query) != tensorBytes(b.generationFolder, query));
        QVERIFY(b.run.arguments.find("--generation-stage1-steps 4") != std::string::npos);
        QVERIFY(a.run.arguments.find("--generation-stage1-steps 0") != std::string::npos);
    }

    void unreadableTrainingLogIsNamed()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        std::ofstream(dir.filePath(QStringLiteral("training_log.json")).toStdString()) << R"({"invocations": [{"arguments": 3}]})";
        try {
            train::readTrainingLog(dir.path().toStdString());
            QFAIL("a malformed training log was accepted");
        } catch (const Error& e) {
            QVERIFY2(std::strstr(e.what(), "training_log.json") != nullptr, e.what());
        }
        QVERIFY(train::readTrainingLog(dir.filePath(QStringLiteral("absent")).toStdString()).empty());
    }
};

QTEST_APPLESS_MAIN(TestDemoTrainingRuns)
#include "test_demo_training_runs.moc"
