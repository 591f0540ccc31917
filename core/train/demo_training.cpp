#include "querylens/demo_training.h"

#include "io/process_memory.h"
#include "io/text_file.h"
#include "model/kernels/openblas_core.h"
#include "pipeline/runtime.h"
#include "querylens/demo_evaluation.h"
#include "train/demo_checkpoint.h"
#include "train/demo_trainer.h"
#include "train/demo_training_log.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace querylens {

namespace fs = std::filesystem;

namespace {

std::string formatPoint(const std::string& stage, const train::LossPoint& point)
{
    std::ostringstream line;
    line << stage << "  step " << point.step << "  " << std::fixed;
    line.precision(1);
    line << point.seconds << " s ";
    line.precision(4);
    for (const auto& [name, value] : point.losses)
        line << " " << name << " " << value;
    return line.str();
}

DemoStageSummary summarise(const train::StageResult& result)
{
    DemoStageSummary s;
    s.name = result.name;
    s.steps = result.steps;
    s.seconds = result.seconds;
    s.cpuSeconds = result.cpuSeconds;
    s.firstLosses.assign(result.first.begin(), result.first.end());
    s.lastLosses.assign(result.last.begin(), result.last.end());
    std::ostringstream csv;
    csv << "step,seconds";
    for (const auto& entry : result.first)
        csv << "," << entry.first;
    csv << "\n";
    for (const auto& point : result.curve) {
        csv << point.step << "," << point.seconds;
        for (const auto& entry : result.first)
            csv << "," << (point.losses.count(entry.first) ? point.losses.at(entry.first) : 0.0);
        csv << "\n";
    }
    s.curveCsv = csv.str();
    return s;
}


std::string describeGeometry(const train::DemoGeometry& g)
{
    std::ostringstream geometry;
    geometry << g.imageSize << " px images in " << g.patchSize << " px patches (a " << g.grid() << " x " << g.grid()
             << " grid); ViT " << g.visionLayers << " layers of " << g.visionHidden << "; Q-Former " << g.qformerLayers
             << " layers of " << g.qformerHidden << ", cross-attention every " << g.crossAttentionFrequency
             << " layers, " << g.queries << " queries; OPT " << g.optLayers << " layers of " << g.optHidden
             << ", vocabulary " << g.optVocab << "; WordPiece vocabulary " << g.textVocab;
    return geometry.str();
}

// The training log (every invocation so far) and the model card, beside each checkpoint written.
void writeRecords(const DemoTrainingResult& result, const train::DemoTrainer& trainer)
{
    std::vector<DemoInvocation> invocations = result.earlier;
    invocations.push_back(result.run);
    const std::string card = demoModelCard(result, describeGeometry(trainer.geometry()));
    for (const std::string& folder : {result.generationFolder, result.retrievalFolder}) {
        if (folder.empty())
            continue;
        train::writeTrainingLog(folder, invocations);
        io::writeTextFile((fs::path(folder) / "README.md").string(), card);
    }
}

}  // namespace

DemoTrainingResult trainDemoModel(const DemoTrainingOptions& options,
                                  const std::function<bool(const std::string& line)>& log)
{
    runtime::setThreadCount(options.threads);
    io::keepFreedMemoryForReuse();
    io::keepThreadHeaps();  // the stages' shards (train/sharded_backward.h)
    // Said here rather than at every model load: inference runs on our own kernels.
    if (const std::string blas = model::kernels::forcedOpenBlasWarning(); log && !blas.empty())
        log("warning: " + blas);
    const auto start = std::chrono::steady_clock::now();
    train::TrainerOptions trainerOptions = options.tiny ? train::TrainerOptions::tiny() : train::TrainerOptions{};
    trainerOptions.seed = options.seed;
    trainerOptions.entropyWeight = options.entropyWeight;
    trainerOptions.stage1Rate = options.stage1Rate;
    trainerOptions.stage2Rate = options.stage2Rate;
    trainerOptions.generationMix.captionShare = options.captionShare;
    trainerOptions.generationMix.captionCrowding = options.captionCrowding;
    trainerOptions.generationMix.answersPerRow = options.answersPerRow;
    if (!options.tiny) {
        trainerOptions.poolSize = options.poolSize;
        trainerOptions.stage2Batch = options.generationBatch;
    }
    const fs::path root(options.folder);
    const std::string tokenizer = (root / "demo-model").string();
    fs::create_directories(tokenizer);
    train::DemoTrainer trainer(trainerOptions, tokenizer);

    const train::StageLog stageLog = [&](const std::string& stage, const train::LossPoint& point) {
        return !log || log(formatPoint(stage, point));
    };
    DemoTrainingResult result;
    result.entropyWeight = options.entropyWeight;
    result.captionShare = options.captionShare;
    result.answersPerRow = options.answersPerRow;
    result.run.threads = options.threads;
    {
        std::ostringstream shares;
        for (std::size_t t = 0; t < trainerOptions.generationMix.questionWeights.size(); ++t)
            shares << (t ? ", " : "") << train::kQuestionTypes[t] << " " << trainerOptions.generationMix.questionWeights[t];
        result.questionShares = shares.str();
    }
    result.run.cpu = cpuName();
    result.run.arguments = describeTrainingOptions(options);
    if (options.resume.empty()) {
        result.run.stages.push_back(summarise(trainer.trainVision(options.visionSteps, stageLog)));
        // What the frozen ViT hands the Q-Former: measured on scenes it never saw.
        const train::VisionAccuracy a = trainer.visionAccuracy(options.seed + 1, options.tiny ? 16 : 300);
        std::ostringstream line;
        line << std::fixed;
        line.precision(1);
        line << "ViT on " << a.patches << " object patches of held-out scenes: colour " << 100 * a.colour << " %, shape "
             << 100 * a.shape << " %, size " << 100 * a.size << " %; shape of " << a.objects
             << " objects by their patches' vote " << 100 * a.objectShape << " %, by their mean output "
             << 100 * a.pooledShape << " %";
        result.run.visionAccuracy = line.str();
        if (log)
            log(result.run.visionAccuracy);
        result.run.stages.push_back(summarise(trainer.trainLanguageModel(options.languageSteps, stageLog)));
    } else {
        // The ViT is frozen from stage 0 on, so an earlier run's checkpoint holds it exactly. The OPT
        // is as that run left it: stage 0's after --stage0-only, but after a full run the one stage 2
        // fine-tuned, which is what a chain of stage-2 runs goes on from, and a head start for any
        // other (a fresh stage 1 and 6000 stage-2 steps on r34's: 76.1 % of answers right, against
        // 57.6-66.3 % on six OPTs fresh from stage 0; README, "What holds the answers back").
        trainer.loadParameters((fs::path(options.resume) / "demo-model").string(), {"vision_model.", "language_model."});
        result.earlier = train::readTrainingLog((fs::path(options.resume) / "demo-model").string());
        if (log)
            log("stage 0 taken from " + options.resume + " (its ViT, and its OPT as that run left it)");
    }
    if (options.stage0Only) {
        // The frozen parts alone, in the stage-2 layout (its Q-Former untrained): what --resume takes.
        result.generationFolder = tokenizer;
        train::writeGenerationCheckpoint(trainer, result.generationFolder);
        result.run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        writeRecords(result, trainer);
        return result;
    }
    result.retrievalFolder = (root / "demo-itm").string();
    if (!options.resume.empty() && options.representationSteps == 0) {
        // And stage 1 too: the Q-Former as the earlier run's retrieval checkpoint holds it, written
        // out again before stage 2's Q-Former replaces it (the matching model is stage 1's).
        trainer.loadParameters((fs::path(options.resume) / "demo-itm").string(),
                               {"query_tokens", "qformer.", "embeddings.", "vision_projection", "text_projection", "itm_head"});
        train::writeRetrievalCheckpoint(trainer, result.retrievalFolder);
        // Where the earlier run got to in stage 2 (its Q-Former and projection), stage 2 goes on from.
        trainer.loadParameters((fs::path(options.resume) / "demo-model").string(),
                               {"query_tokens", "qformer.", "language_projection"}, false);
        if (log)
            log("stage 1 taken from " + options.resume + ", and stage 2 goes on from where it ended");
    } else {
        const auto stageOneStart = trainer.representationSnapshot();
        result.run.stages.push_back(summarise(trainer.trainRepresentation(options.representationSteps, stageLog)));
        train::writeRetrievalCheckpoint(trainer, result.retrievalFolder);
        if (options.generationStage1Steps > 0) {
            // The same start again, a short light stage 1 for stage 2 (see DemoTrainingOptions).
            trainer.restore(stageOneStart);
            result.run.stages.push_back(summarise(trainer.trainRepresentationForGeneration(
                options.generationStage1Steps, options.generationStage1Rate, stageLog)));
        }
    }
    result.run.stages.push_back(summarise(trainer.trainGeneration(options.generationSteps, stageLog)));
    result.generationFolder = tokenizer;
    train::writeGenerationCheckpoint(trainer, result.generationFolder);
    result.run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    if (options.evaluationScenes > 0) {
        // The card's figures and the query catalogue, on held-out scenes, through the ordinary loader.
        LoadOptions load;
        load.folder = result.generationFolder;
        load.threads = options.threads;
        DemoEvaluationOptions evaluation;
        evaluation.scenes = options.evaluationScenes;
        evaluation.seed = options.seed + 1;
        const DemoEvaluation e = evaluateDemoModel(Model::load(load), evaluation);
        writeQueryCatalogue(e.catalogue, result.generationFolder);
        result.evaluationTable = evaluationTable(e);
        if (log)
            log(result.evaluationTable);
    }
    writeRecords(result, trainer);
    return result;
}

std::string cpuName()
{
    std::ifstream info("/proc/cpuinfo");
    for (std::string line; std::getline(info, line);)
        if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos)
            return line.substr(line.find(':') + 2);
    return "unknown CPU";
}

}  // namespace querylens
