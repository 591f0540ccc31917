// train-demo and make-scenes: the demo model's training and its generated scenes.

#include "cli/command_runner.h"
#include "cli/commands.h"
#include "image_folder.h"
#include "querylens/demo_evaluation.h"
#include "querylens/demo_model.h"
#include "querylens/demo_scenes.h"
#include "querylens/demo_training.h"
#include "querylens/error.h"
#include "querylens/word_explanations.h"

#include <QDir>
#include <QFileInfo>
#include <QImage>
#include <QSaveFile>
#include <QTemporaryDir>

#include <cmath>
#include <iostream>
#include <limits>

namespace querylens::cli {

namespace {

int intOption(const QCommandLineParser& parser, const QString& name, int fallback, int least)
{
    if (!parser.isSet(name))
        return fallback;
    bool ok = false;
    const int value = parser.value(name).toInt(&ok);
    if (!ok || value < least)
        throw UsageError{QStringLiteral("--%1 must be a whole number of at least %2").arg(name).arg(least)};
    return value;
}

enum class LowerBound { Included, Excluded };

// A finite number in [least, most] (or (least, most] with LowerBound::Excluded); most may be
// infinity: no upper bound. The message says the range as a person would.
double doubleOption(const QCommandLineParser& parser, const QString& name, double fallback, double least, double most,
                    LowerBound lower = LowerBound::Included)
{
    if (!parser.isSet(name))
        return fallback;
    bool ok = false;
    const double value = parser.value(name).toDouble(&ok);
    const bool aboveLeast = lower == LowerBound::Included ? value >= least : value > least;
    if (ok && std::isfinite(value) && aboveLeast && value <= most)
        return value;
    QString range;
    if (lower == LowerBound::Included)
        range = std::isinf(most) ? QStringLiteral("of at least %1").arg(least)
                                 : QStringLiteral("from %1 to %2").arg(least).arg(most);
    else
        range = std::isinf(most) ? QStringLiteral("above %1").arg(least)
                                 : QStringLiteral("above %1 and at most %2").arg(least).arg(most);
    throw UsageError{QStringLiteral("--%1 must be a number %2").arg(name, range)};
}

void saveImage(const RgbImage& image, const QString& path, int quality)
{
    const QImage view(image.pixels.data(), image.width, image.height, image.width * 3, QImage::Format_RGB888);
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || !view.save(&file, nullptr, quality) || !file.commit())
        throw Error("cannot write the image: " + file.errorString().toStdString(), path.toStdString());
}

// The matching model of the same training run (train-demo writes DIR/demo-model and DIR/demo-itm),
// else the bundled one; empty when there is none.
QString siblingItm(const std::string& modelFolder)
{
    const QString beside = QFileInfo(QString::fromStdString(modelFolder)).dir().filePath(QStringLiteral("demo-itm"));
    if (QFileInfo(beside + QStringLiteral("/config.json")).isFile())
        return beside;
    return QString::fromStdString(bundledResourceFolder("demo-itm"));
}

// Search measured on a temporary folder of scene files (PNG) with its own embedding cache.
DemoSearchEvaluation evaluateSearch(const QString& itmFolder, int threads, const DemoSearchOptions& options,
                                    const ProgressCallback& progress)
{
    LoadOptions load;
    load.folder = itmFolder.toStdString();
    load.threads = threads;
    const auto itm = Model::load(load);
    if (!itm->info().canMatch)
        throw Error(capabilitySummary(itm->info()));
    QTemporaryDir folder;
    if (!folder.isValid())
        throw Error("cannot create a temporary folder for the searched scenes: " + folder.errorString().toStdString());
    const auto write = [&](const demo::Scene& scene, int index) {
        const QString path = folder.filePath(QStringLiteral("scene-%1.png").arg(index, 5, 10, QLatin1Char('0')));
        saveImage(scene.image, path, -1);
        return path.toStdString();
    };
    const DemoSearchEvaluation result = evaluateDemoSearch(*itm, options, write, ui::imageFileDecoder(),
                                                           folder.filePath(QStringLiteral("cache")).toStdString(), progress);
    std::cerr << "\n";
    return result;
}

void saveText(const std::string& text, const QString& path)
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(text.data(), qint64(text.size())) != qint64(text.size()) ||
        !file.commit())
        throw Error("cannot write the file: " + file.errorString().toStdString(), path.toStdString());
}

}  // namespace

int runMakeScenes(const QStringList& arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Write generated scenes of the demo model's world (1-4 coloured shapes on a light background) with their "
        "ground truth: scene-N.png (or .jpg) and scene-N.json (caption, questions and answers, and per object its "
        "shape, colour, size, bounding box and pixel mask as run-length code)."));
    parser.addPositionalArgument(QStringLiteral("DIR"), QStringLiteral("Folder to write (created if needed)."));
    parser.addOption({QStringLiteral("count"), QStringLiteral("Number of scenes (default 16)."), QStringLiteral("N")});
    parser.addOption({QStringLiteral("seed"), QStringLiteral("Scene stream (default 2; the demo model trained on 1)."),
                      QStringLiteral("S")});
    parser.addOption({QStringLiteral("first"), QStringLiteral("Index of the first scene (default 0)."), QStringLiteral("I")});
    parser.addOption({QStringLiteral("size"), QStringLiteral("Width and height in pixels (default 224)."), QStringLiteral("PX")});
    parser.addOption({QStringLiteral("jpeg"), QStringLiteral("Save JPEG (quality 90) instead of PNG.")});
    parser.addOption({QStringLiteral("clean"), QStringLiteral("No noise, texture or block artefacts.")});
    return runCommand(parser, arguments, [&] {
        const QStringList positional = positionalArguments(parser, 1, 1, QStringLiteral("give one folder"));
        const int count = intOption(parser, QStringLiteral("count"), 16, 1);
        const int seed = intOption(parser, QStringLiteral("seed"), 2, 0);
        const int first = intOption(parser, QStringLiteral("first"), 0, 0);
        demo::SceneOptions options;
        options.size = intOption(parser, QStringLiteral("size"), 224, 32);
        options.artefacts = !parser.isSet(QStringLiteral("clean"));
        const bool jpeg = parser.isSet(QStringLiteral("jpeg"));
        QDir dir(positional[0]);
        if (!dir.mkpath(QStringLiteral(".")))
            throw Error("cannot create the folder", positional[0].toStdString());
        for (int i = first; i < first + count; ++i) {
            if (interrupted())
                throw Cancelled();
            const demo::Scene scene = demo::generateScene(std::uint64_t(seed), i, options);
            const QString name = QStringLiteral("scene-%1").arg(i, 5, 10, QLatin1Char('0'));
            const QString imageName = name + (jpeg ? QStringLiteral(".jpg") : QStringLiteral(".png"));
            saveImage(scene.image, dir.filePath(imageName), jpeg ? 90 : -1);
            saveText(demo::sceneJson(scene, imageName.toStdString()), dir.filePath(name + QStringLiteral(".json")));
            std::cout << imageName.toStdString() << "  " << scene.caption << "\n";
        }
        return 0;
    });
}

int runTrainDemo(const QStringList& arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Train the demo BLIP-2 on generated scenes, as BLIP-2 is trained: stage 0 pre-trains a small ViT on the "
        "scenes and a small OPT on the grammar's text (then both are frozen), stage 1 trains the Q-Former with "
        "ITC, ITM and ITG, stage 2 the Q-Former and the projection into the frozen OPT. Writes DIR/demo-model "
        "(Blip2ForConditionalGeneration) and DIR/demo-itm (Blip2ForImageTextRetrieval). About 28 minutes on the 2 cores of a Zen 5 (34 with OPENBLAS_CORETYPE=Haswell, which it warns about; 64 on one thread of a Zen 4); "
        "the losses stream to stdout."));
    parser.addOption({QStringLiteral("out"), QStringLiteral("Folder to write."), QStringLiteral("DIR")});
    parser.addOption({QStringLiteral("seed"), QStringLiteral("Training scenes (default 1)."), QStringLiteral("S")});
    const DemoTrainingOptions defaults;
    parser.addOption({QStringLiteral("vision-steps"), QStringLiteral("Stage 0 ViT steps (default %1).").arg(defaults.visionSteps),
                      QStringLiteral("N")});
    parser.addOption({QStringLiteral("language-steps"),
                      QStringLiteral("Stage 0 OPT steps (default %1).").arg(defaults.languageSteps), QStringLiteral("N")});
    parser.addOption({QStringLiteral("stage1-steps"),
                      QStringLiteral("Stage 1 steps (default %1; 0 with --resume: take stage 1 from there too).")
                          .arg(defaults.representationSteps),
                      QStringLiteral("N")});
    parser.addOption({QStringLiteral("stage2-steps"),
                      QStringLiteral("Stage 2 steps (default %1).").arg(defaults.generationSteps), QStringLiteral("N")});
    parser.addOption({QStringLiteral("stage0-only"),
                      QStringLiteral("Train the frozen parts only (ViT and OPT), print the ViT's accuracy on held-out "
                                     "scenes, and write them for a later --resume.")});
    parser.addOption({QStringLiteral("entropy-weight"),
                      QStringLiteral("Weight of a cross-attention entropy regulariser in stage 1 (default 0.5; 0: the paper's losses alone)."),
                      QStringLiteral("W")});
    parser.addOption({QStringLiteral("stage1-rate"), QStringLiteral("Stage 1's peak learning rate (default 1e-3)."),
                      QStringLiteral("R")});
    parser.addOption({QStringLiteral("generation-stage1-steps"),
                      QStringLiteral("Stage 1 run again from the same start, short and light, for stage 2 to start from "
                                     "(the long one, --stage1-steps, makes the matching model; default %1; 0: stage 2 "
                                     "starts from the long one).")
                          .arg(defaults.generationStage1Steps),
                      QStringLiteral("N")});
    parser.addOption({QStringLiteral("generation-stage1-rate"),
                      QStringLiteral("That short stage 1's peak learning rate (default 5e-4)."), QStringLiteral("R")});
    parser.addOption({QStringLiteral("stage2-rate"), QStringLiteral("Stage 2's peak learning rate (default 1e-3)."),
                      QStringLiteral("R")});
    parser.addOption({QStringLiteral("caption-share"),
                      QStringLiteral("Share of stage 2's rows that are captions; the rest are answers (default 0.35)."),
                      QStringLiteral("F")});
    parser.addOption({QStringLiteral("caption-crowding"),
                      QStringLiteral("Leans the caption rows towards scenes of many objects: 0 treats every scene alike "
                                     "(default), 1 makes a 4-object scene's row a caption twice as often and a "
                                     "1-object scene's a quarter as often; the share of captions stays the same."),
                      QStringLiteral("F")});
    parser.addOption({QStringLiteral("answers-per-row"),
                      QStringLiteral("Questions in each of stage 2's answer rows, asked in turn as the chat asks "
                                     "follow-ups, each scored on its answer (default %1).")
                          .arg(defaults.answersPerRow),
                      QStringLiteral("N")});
    parser.addOption({QStringLiteral("stage2-batch"),
                      QStringLiteral("Rows (captions and answers) in each stage-2 step (default %1).").arg(defaults.generationBatch),
                      QStringLiteral("N")});
    parser.addOption({QStringLiteral("pool"), QStringLiteral("Scenes drawn for training (default %1).").arg(defaults.poolSize),
                      QStringLiteral("N")});
    parser.addOption({QStringLiteral("resume"),
                      QStringLiteral("Skip stage 0: take the ViT and the OPT from an earlier run's folder. The ViT is "
                                     "stage 0's; the OPT is as that run left it: stage 0's after --stage0-only, "
                                     "fine-tuned by stage 2 after a full run."),
                      QStringLiteral("DIR")});
    parser.addOption({QStringLiteral("tiny"), QStringLiteral("A tiny geometry, for trying the trainer in seconds.")});
    parser.addOption({QStringLiteral("threads"), QStringLiteral("Threads (default 2)."), QStringLiteral("N")});
    return runCommand(parser, arguments, [&] {
        positionalArguments(parser, 0, 0, QStringLiteral("train-demo takes no positional arguments"));
        if (!parser.isSet(QStringLiteral("out")))
            throw UsageError{QStringLiteral("--out DIR is required")};
        DemoTrainingOptions options;
        options.folder = parser.value(QStringLiteral("out")).toStdString();
        options.seed = std::uint64_t(intOption(parser, QStringLiteral("seed"), 1, 0));
        options.visionSteps = intOption(parser, QStringLiteral("vision-steps"), options.visionSteps, 1);
        options.languageSteps = intOption(parser, QStringLiteral("language-steps"), options.languageSteps, 1);
        options.representationSteps = intOption(parser, QStringLiteral("stage1-steps"), options.representationSteps,
                                                parser.isSet(QStringLiteral("resume")) ? 0 : 1);
        options.generationSteps = intOption(parser, QStringLiteral("stage2-steps"), options.generationSteps, 1);
        options.generationStage1Steps =
            intOption(parser, QStringLiteral("generation-stage1-steps"), options.generationStage1Steps, 0);
        options.poolSize = intOption(parser, QStringLiteral("pool"), options.poolSize, 16);
        options.generationBatch = intOption(parser, QStringLiteral("stage2-batch"), options.generationBatch, 1);
        options.tiny = parser.isSet(QStringLiteral("tiny"));
        options.stage0Only = parser.isSet(QStringLiteral("stage0-only"));
        if (options.stage0Only && parser.isSet(QStringLiteral("resume")))
            throw UsageError{QStringLiteral("--stage0-only trains what --resume would take: use one of them")};
        options.resume = parser.value(QStringLiteral("resume")).toStdString();
        options.threads = intOption(parser, QStringLiteral("threads"), 2, 1);
        const double unbounded = std::numeric_limits<double>::infinity();
        options.entropyWeight = doubleOption(parser, QStringLiteral("entropy-weight"), options.entropyWeight, 0, unbounded);
        for (auto [name, rate] : {std::pair{QStringLiteral("stage1-rate"), &options.stage1Rate},
                                  std::pair{QStringLiteral("stage2-rate"), &options.stage2Rate},
                                  std::pair{QStringLiteral("generation-stage1-rate"), &options.generationStage1Rate}})
            *rate = doubleOption(parser, name, *rate, 0, 1, LowerBound::Excluded);
        options.captionShare = doubleOption(parser, QStringLiteral("caption-share"), options.captionShare, 0, 1);
        options.captionCrowding = doubleOption(parser, QStringLiteral("caption-crowding"), options.captionCrowding, 0, 1);
        options.answersPerRow = intOption(parser, QStringLiteral("answers-per-row"), options.answersPerRow, 1);
        const DemoTrainingResult result = trainDemoModel(options, [](const std::string& line) {
            std::cout << line << std::endl;
            return !interrupted();
        });
        std::cout << "Trained in " << result.run.seconds << " s. Wrote " << result.generationFolder;
        if (!result.retrievalFolder.empty())
            std::cout << " and " << result.retrievalFolder;
        std::cout << "\n";
        return 0;
    });
}

int runEvalDemo(const QStringList& arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Evaluate the demo model on held-out generated scenes: captions (every object's colour and shape named), "
        "answers per question type, the same questions as follow-ups in one conversation per scene, and for each map of a caption's colour and shape words (the explorer's attention "
        "maps, and explain-words' GradCAM, relevancy and input x gradient) the pointing game, the energy in the "
        "object's mask and a deletion curve against a random order, with a "
        "random-map baseline; then search by text with the matching model (--itm). Writes the query catalogue (what "
        "each query learned) with --catalogue.\n\n"
        "With --json stdout is one JSON object: scenes, seed, num_beams, caption_accuracy, vqa_accuracy, vqa_by_type (per type "
        "right, asked, accuracy), vqa_followup_accuracy, mean_query_entropy, seconds, failures, methods (per map's name: words, "
        "pointing_game, pointing_game_colour, pointing_game_shape, energy_in_mask, deletion_words, deletion_auc, "
        "random_deletion_auc) and search (scenes, top, rerank, itc_precision, itm_precision, random_precision, "
        "chance_precision, index_seconds, search_seconds, queries: per text its text, relevant, itc_precision, "
        "itm_precision, random_precision)."));
    parser.addOption({QStringLiteral("model"), QStringLiteral("Checkpoint folder (default: the installed demo model)."),
                      QStringLiteral("DIR")});
    parser.addOption({QStringLiteral("scenes"), QStringLiteral("Scenes to evaluate (default 50)."), QStringLiteral("N")});
    parser.addOption({QStringLiteral("seed"), QStringLiteral("Scene stream (default 2; the model trained on 1)."),
                      QStringLiteral("S")});
    parser.addOption({QStringLiteral("deletion-scenes"),
                      QStringLiteral("Scenes whose words get deletion curves (default 10; each costs many encodes)."),
                      QStringLiteral("N")});
    parser.addOption({QStringLiteral("itm"),
                      QStringLiteral("Matching model whose search by text is measured (precision at 5 of \"a red circle\" "
                                     "and the like on generated scenes, against random rankings; default: demo-itm beside "
                                     "the model, else the bundled one)."),
                      QStringLiteral("DIR")});
    parser.addOption({QStringLiteral("search-scenes"),
                      QStringLiteral("Scenes in the searched folder (default 100; 0: no search)."), QStringLiteral("N")});
    parser.addOption({QStringLiteral("catalogue"),
                      QStringLiteral("Write query_catalogue.json into the model folder.")});
    parser.addOption({QStringLiteral("json"), QStringLiteral("Print one JSON object instead of the table.")});
    parser.addOption({QStringLiteral("num-beams"),
                      QStringLiteral("Captions and answers by beam search with N beams (default 1: greedy)."),
                      QStringLiteral("N")});
    parser.addOption({QStringLiteral("threads"), QStringLiteral("Threads (default 1)."), QStringLiteral("N")});
    return runCommand(parser, arguments, [&] {
        positionalArguments(parser, 0, 0, QStringLiteral("eval-demo takes no positional arguments"));
        LoadOptions load;
        load.folder = parser.isSet(QStringLiteral("model")) ? parser.value(QStringLiteral("model")).toStdString()
                                                            : defaultDemoModelFolder();
        load.threads = intOption(parser, QStringLiteral("threads"), 1, 1);
        DemoEvaluationOptions options;
        options.scenes = intOption(parser, QStringLiteral("scenes"), options.scenes, 1);
        options.seed = std::uint64_t(intOption(parser, QStringLiteral("seed"), 2, 0));
        options.deletionScenes = intOption(parser, QStringLiteral("deletion-scenes"), options.deletionScenes, 0);
        options.numBeams = intOption(parser, QStringLiteral("num-beams"), options.numBeams, 1);
        DemoSearchOptions search;
        search.scenes = intOption(parser, QStringLiteral("search-scenes"), search.scenes, 0);
        search.seed = options.seed;
        // Every option checked before the model loads: a mistyped number is a usage error (exit 2).
        const auto model = Model::load(load);
        printWarnings(model->info().warnings);
        printWarning(gradientMapSpeedWarning());  // its gradient maps run under autograd on OpenBLAS
        const auto progress = [](double, const std::string& stage) {
            std::cerr << "\r\033[K" << stage << std::flush;
            return !interrupted();
        };
        DemoEvaluation evaluation = evaluateDemoModel(model, options, progress);
        std::cerr << "\n";
        const QString itm = parser.isSet(QStringLiteral("itm")) ? parser.value(QStringLiteral("itm")) : siblingItm(load.folder);
        if (search.scenes > 0 && itm.isEmpty())
            std::cerr << "querylens: no demo-itm found beside the model nor bundled: search not measured (--itm DIR)\n";
        if (search.scenes > 0 && !itm.isEmpty())
            evaluation.search = evaluateSearch(itm, load.threads, search, progress);
        if (parser.isSet(QStringLiteral("catalogue")))
            writeQueryCatalogue(evaluation.catalogue, load.folder);
        if (parser.isSet(QStringLiteral("json")))
            std::cout << evaluationJson(evaluation) << "\n";
        else
            std::cout << evaluationTable(evaluation);
        return 0;
    });
}

}  // namespace querylens::cli
