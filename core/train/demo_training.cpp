#include "querylens/demo_training.h"

#include "io/text_file.h"
#include "pipeline/runtime.h"
#include "querylens/demo_evaluation.h"
#include "train/demo_checkpoint.h"
#include "train/demo_trainer.h"

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

}  // namespace

DemoTrainingResult trainDemoModel(const DemoTrainingOptions& options,
                                  const std::function<bool(const std::string& line)>& log)
{
    runtime::setThreadCount(options.threads);
    const auto start = std::chrono::steady_clock::now();
    train::TrainerOptions trainerOptions = options.tiny ? train::TrainerOptions::tiny() : train::TrainerOptions{};
    trainerOptions.seed = options.seed;
    trainerOptions.entropyWeight = options.entropyWeight;
    if (!options.tiny)
        trainerOptions.poolSize = options.poolSize;
    const fs::path root(options.folder);
    const std::string tokenizer = (root / "demo-model").string();
    fs::create_directories(tokenizer);
    train::DemoTrainer trainer(trainerOptions, tokenizer);

    const train::StageLog stageLog = [&](const std::string& stage, const train::LossPoint& point) {
        return !log || log(formatPoint(stage, point));
    };
    DemoTrainingResult result;
    result.entropyWeight = options.entropyWeight;
    result.threads = options.threads;
    if (options.resume.empty()) {
        result.stages.push_back(summarise(trainer.trainVision(options.visionSteps, stageLog)));
        // What the frozen ViT hands the Q-Former: measured on scenes it never saw.
        const train::VisionAccuracy a = trainer.visionAccuracy(options.seed + 1, options.tiny ? 16 : 300);
        std::ostringstream line;
        line << std::fixed;
        line.precision(1);
        line << "ViT on " << a.patches << " object patches of held-out scenes: colour " << 100 * a.colour << " %, shape "
             << 100 * a.shape << " %, size " << 100 * a.size << " %; shape of " << a.objects
             << " objects by their patches' vote " << 100 * a.objectShape << " %, by their mean output "
             << 100 * a.pooledShape << " %";
        result.visionAccuracy = line.str();
        if (log)
            log(result.visionAccuracy);
        result.stages.push_back(summarise(trainer.trainLanguageModel(options.languageSteps, stageLog)));
    } else {
        // Stage 0's parts are frozen from then on: an earlier run's checkpoint holds them exactly.
        trainer.loadParameters((fs::path(options.resume) / "demo-model").string(), {"vision_model.", "language_model."});
        if (log)
            log("stage 0 taken from " + options.resume);
    }
    if (options.stage0Only) {
        // The frozen parts alone, in the stage-2 layout (its Q-Former untrained): what --resume takes.
        result.generationFolder = tokenizer;
        train::writeGenerationCheckpoint(trainer, result.generationFolder);
        result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        return result;
    }
    if (!options.resume.empty() && options.representationSteps == 0) {
        // And stage 1 too: the Q-Former as the earlier run's retrieval checkpoint holds it.
        trainer.loadParameters((fs::path(options.resume) / "demo-itm").string(),
                               {"query_tokens", "qformer.", "embeddings.", "vision_projection", "text_projection", "itm_head"});
        // Where the earlier run got to in stage 2 (its Q-Former and projection), stage 2 goes on from.
        trainer.loadParameters((fs::path(options.resume) / "demo-model").string(),
                               {"query_tokens", "qformer.", "language_projection"}, false);
        if (log)
            log("stage 1 taken from " + options.resume + ", and stage 2 goes on from where it ended");
    }
    if (options.representationSteps > 0 || options.resume.empty())
        result.stages.push_back(summarise(trainer.trainRepresentation(options.representationSteps, stageLog)));
    result.retrievalFolder = (root / "demo-itm").string();
    train::writeRetrievalCheckpoint(trainer, result.retrievalFolder);
    result.stages.push_back(summarise(trainer.trainGeneration(options.generationSteps, stageLog)));
    result.generationFolder = tokenizer;
    train::writeGenerationCheckpoint(trainer, result.generationFolder);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

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
    const train::DemoGeometry& g = trainer.geometry();
    std::ostringstream geometry;
    geometry << g.imageSize << " px images in " << g.patchSize << " px patches (a " << g.grid() << " x " << g.grid()
             << " grid); ViT " << g.visionLayers << " layers of " << g.visionHidden << "; Q-Former " << g.qformerLayers
             << " layers of " << g.qformerHidden << ", cross-attention every " << g.crossAttentionFrequency
             << " layers, " << g.queries << " queries; OPT " << g.optLayers << " layers of " << g.optHidden
             << ", vocabulary " << g.optVocab << "; WordPiece vocabulary " << g.textVocab;
    const std::string card = demoModelCard(result, geometry.str(), cpuName());
    io::writeTextFile((fs::path(result.generationFolder) / "README.md").string(), card);
    io::writeTextFile((fs::path(result.retrievalFolder) / "README.md").string(), card);
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

std::string demoModelCard(const DemoTrainingResult& result, const std::string& geometry, const std::string& cpu)
{
    std::ostringstream card;
    card << "# QueryLens demo model: BLIP-2 in miniature, trained on synthetic shapes\n\n"
         << "**Not a real BLIP-2.** A small BLIP-2 (OPT) that `querylens train-demo` trained from scratch on generated "
            "pictures of 1-4 flat-coloured shapes (red, green, blue, yellow, orange, purple; circle, square, triangle, "
            "star; small or large) on light, lightly textured backgrounds, with noise and JPEG-like artefacts. It "
            "captions such pictures (\"a large red circle to the left of a small blue square\") and answers "
            "`Question: {q} Answer:` about colour, shape, count, presence and position. Anything else is outside "
            "its world.\n\n"
         << "- `demo-model/`: stage 2, `Blip2ForConditionalGeneration` (OPT, byte-level BPE trained on the grammar's "
            "text), with `query_catalogue.json` (what each query learned).\n"
         << "- `demo-itm/`: stage 1, `Blip2ForImageTextRetrieval` (Q-Former with its text branch, ITC projections, "
            "ITM head, WordPiece `vocab.txt` over the grammar's words).\n\n"
         << "## Geometry\n\n" << geometry << ".\n\n"
         << "## Training (BLIP-2's recipe in miniature)\n\n"
         << "- Stage 0: the ViT learns what each patch shows (colour, shape, size of the object covering it, or "
            "background) and where it is (row, column) — dense labels from the ground truth, which keep the patch "
            "tokens local — and, per object, its shape and size from the mean of its patches' outputs (the way the "
            "Q-Former will read it), at a rate of 6e-3 (at 1e-3 the shape loss sat at chance for 400 steps); the OPT learns the grammar's text, a caption in the 32 positions the soft prompt will "
            "take, then BOS and the caption again or a question and its answer. Both are then frozen.\n"
         << "- Stage 1: the Q-Former with ITC (uni-modal masks, the best query per pair, fixed temperature 0.07, "
            "identical captions counted as positives), ITM (bi-directional mask, one hard negative text per image "
            "and image per text drawn from the ITC similarities) and ITG (multimodal causal mask, [DEC] first).\n"
         << "- Stage 2: Q-Former and language projection into the OPT, language-modelling loss on captions "
            "(35 %) and answers (question types in equal shares). **Unlike BLIP-2, the OPT is fine-tuned in "
            "stage 2**: frozen, this 3-layer OPT could not be steered by the soft prompt (the loss stayed at 0.80, "
            "where it is without image information, in two runs of 700 and 800 steps).\n"
         << "- The Q-Former's cross-attention query and key matrices start at N(0, 0.15) rather than BERT's "
            "N(0, 0.02): from a near-uniform start the softmax barely moves (normalised entropy 0.995 after 280 "
            "stage-1 steps in a run without it).\n"
         << "- AdamW, linear warm-up then cosine decay, gradient norm clipped at 1.\n";
    if (result.entropyWeight > 0)
        card << "- **Added to the paper's losses**: in stage 1, " << result.entropyWeight
             << " x the mean normalised entropy of the Q-Former's cross-attention, so that queries settle on "
                "objects rather than spreading over the picture (the explorer's maps are then about something).\n";
    card << "\n"
         << "Total " << int(result.seconds) << " s on " << cpu << " (" << result.threads
         << " threads; the machine was shared, each stage says the share of the cores it got).\n\n";
    if (!result.visionAccuracy.empty())
        card << "After stage 0, the " << result.visionAccuracy << ".\n\n";
    for (const DemoStageSummary& stage : result.stages) {
        card << "### " << stage.name << "\n\n" << stage.steps << " steps, " << int(stage.seconds) << " s";
        if (stage.seconds > 0 && result.threads > 0)
            card << " (" << int(stage.cpuSeconds) << " CPU s: " << int(100 * stage.cpuSeconds / (stage.seconds * result.threads))
                 << " % of " << result.threads << " cores)";
        card << ". Loss (first window -> last window): ";
        bool first = true;
        for (std::size_t i = 0; i < stage.lastLosses.size(); ++i) {
            card << (first ? "" : ", ") << stage.lastLosses[i].first << " " << stage.firstLosses[i].second << " -> "
                 << stage.lastLosses[i].second;
            first = false;
        }
        card << ".\n\n```\n" << stage.curveCsv << "```\n\n";
    }
    if (!result.evaluationTable.empty())
        card << "## Evaluation (`querylens eval-demo`, held-out scenes)\n\n```\n" << result.evaluationTable << "```\n";
    return card.str();
}

}  // namespace querylens
