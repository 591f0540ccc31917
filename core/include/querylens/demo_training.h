#pragma once
// `querylens train-demo`: trains the demo BLIP-2 on generated scenes (BLIP-2's two-stage recipe
// in miniature, see core/train/demo_trainer.h) and writes its two checkpoints and model card.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace querylens {

// Stage 2's mix of rows by default: the share that are captions (the rest are answers) and how
// far those lean towards scenes of many objects (core/train/generation_rows.h).
inline constexpr double kDefaultCaptionShare = 0.35, kDefaultCaptionCrowding = 0;
// Questions in each of stage 2's answer rows, asked in turn as the chat asks follow-ups
// ("Question: q1 Answer: a1. Question: q2 Answer: a2"), each scored on its answer only. Three
// since 2026-12-06 (one before): a default invocation answers 86.8 % of held-out questions
// alone and 82.9 % as follow-ups, where one a row answered 66-76 % alone and 38-48 % as
// follow-ups (README, "Several answers per row").
inline constexpr int kDefaultAnswersPerRow = 3;
// Scenes drawn once and shared by every stage, and the rows of a stage-2 step, by default: the
// command's options and the trainer's own defaults (core/train/demo_trainer.h) both start here.
inline constexpr int kDefaultScenePool = 8000, kDefaultGenerationBatch = 24;

struct DemoTrainingOptions {
    std::string folder;           // writes FOLDER/demo-model (stage 2) and FOLDER/demo-itm (stage 1)
    std::uint64_t seed = 1;       // training scenes (the evaluation uses other seeds)
    int visionSteps = 1500, languageSteps = 400, representationSteps = 1600, generationSteps = 16000;
    double entropyWeight = 0.5;   // cross-attention entropy regulariser in stage 1 (0: off)
    double stage1Rate = 1e-3, stage2Rate = 1e-3;  // AdamW's peak rates
    // Stage 1 is run twice from the same start: representationSteps at stage1Rate for the
    // matching model (its ITM loss needs a long stage 1 to leave the prior), then this short,
    // light one for stage 2 to start from (after the long one stage 2 learned several-fold
    // slower: loss 0.45 against 0.27 at the same step). 0: stage 2 starts from the long one.
    int generationStage1Steps = 400;
    double generationStage1Rate = 5e-4;
    double captionShare = kDefaultCaptionShare;
    double captionCrowding = kDefaultCaptionCrowding;
    int answersPerRow = kDefaultAnswersPerRow;
    std::string resume;           // an earlier run's FOLDER: its ViT and its OPT as it left them; stage 0 skipped
    int poolSize = kDefaultScenePool;
    int generationBatch = kDefaultGenerationBatch;  // the tiny geometry keeps its own
    bool tiny = false;            // a tiny geometry (tests, smoke runs)
    bool stage0Only = false;      // stop after stage 0 (its checkpoint is a later run's --resume)
    int evaluationScenes = 50;    // held-out scenes evaluated at the end (model card, query catalogue); 0: none
    int threads = 2;
};

struct DemoStageSummary {
    std::string name;
    int steps = 0;
    double seconds = 0;
    double cpuSeconds = 0;        // this process's CPU time in the stage (seconds x cores it got)
    std::vector<std::pair<std::string, double>> firstLosses, lastLosses;
    std::string curveCsv;         // step,seconds,loss columns...
};

// One run of `train-demo`: what it was asked, where it ran, what each stage did.
struct DemoInvocation {
    std::string arguments;        // its options, as a command line ("--resume s0 --stage2-steps 6000 ...")
    std::string cpu;              // the machine's processor
    int threads = 1;
    double seconds = 0;
    std::string visionAccuracy;   // stage 0's ViT on held-out scenes, one line (empty when resumed)
    std::vector<DemoStageSummary> stages;
};

struct DemoTrainingResult {
    // The runs that made the folder this one resumed from (its training_log.json), oldest first.
    std::vector<DemoInvocation> earlier;
    DemoInvocation run;           // this one
    std::string generationFolder, retrievalFolder;
    std::string evaluationTable;  // empty when not evaluated
    double entropyWeight = 0;     // the regulariser's weight, as trained
    std::string questionShares;   // stage 2's weights of the question types ("colour 1, shape 1, ...")
    double captionShare = kDefaultCaptionShare;  // stage 2's share of caption rows, as trained
    int answersPerRow = kDefaultAnswersPerRow;  // stage 2's questions per answer row, as trained
};

// The model card (README.md of the checkpoint): data, geometry, training recipe, every
// invocation that led to it with each stage's losses, and the evaluation table.
std::string demoModelCard(const DemoTrainingResult& result, const std::string& geometry);

// The options as the command line that would repeat them.
std::string describeTrainingOptions(const DemoTrainingOptions& options);

// The processor's model name from /proc/cpuinfo ("unknown CPU" elsewhere).
std::string cpuName();

// Writes progress lines through `log` (return false to stop: Cancelled is thrown).
DemoTrainingResult trainDemoModel(const DemoTrainingOptions& options,
                                  const std::function<bool(const std::string& line)>& log);

}  // namespace querylens
