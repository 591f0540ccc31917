// The demo checkpoint's model card: what the model is, its geometry, the recipe, every
// invocation of train-demo that led to it with each stage's losses, and its evaluation.

#include "querylens/demo_training.h"

#include <cmath>
#include <sstream>
#include <vector>

namespace querylens {

std::string demoModelCard(const DemoTrainingResult& result, const std::string& geometry)
{
    // A resumed chain's card describes its last invocation's rows; the earlier ones' are on their lines.
    const char* inLastInvocation = result.earlier.empty() ? "" : " in the last invocation";
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
            "identical captions counted as positives), ITM (bi-directional mask, one negative text per image and image "
            "per text, drawn half from the ITC similarities as BLIP mines hard negatives and half uniformly: with "
            "hard negatives alone the ITM loss stayed at its prior) and ITG (multimodal causal mask, [DEC] first). "
            "Run twice from the same start: a long run makes the matching model, then a short, light one is what stage 2 "
            "starts from (after the long one stage 2 learned several-fold slower); each invocation's command line "
            "gives their steps and rates.\n"
         << "- Stage 2: Q-Former and language projection into the OPT, language-modelling loss on captions "
            "(" << int(std::lround(result.captionShare * 100)) << " % of rows"
         << inLastInvocation << (result.earlier.empty() ? "" : "; the earlier ones' command lines give theirs")
         << ") and answers (question types weighted " << result.questionShares;
    if (result.answersPerRow > 1)
        card << "; " << result.answersPerRow << " questions a row"
             << inLastInvocation
             << ", in the chat's format for follow-ups, \"Question: q1 Answer: a1. Question: q2 Answer: a2\", each "
                "answer ending the model's turn";
    card << "). **Unlike BLIP-2, the OPT is fine-tuned in "
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
    card << "\n## How this checkpoint was made\n\n";
    std::vector<const DemoInvocation*> runs;
    for (const DemoInvocation& run : result.earlier)
        runs.push_back(&run);
    runs.push_back(&result.run);
    double total = 0;
    card << "| invocation of `querylens train-demo` | stages | wall | machine |\n|---|---|---|---|\n";
    for (const DemoInvocation* run : runs) {
        card << "| `" << run->arguments << "` | ";
        for (std::size_t i = 0; i < run->stages.size(); ++i)
            card << (i ? "; " : "") << run->stages[i].name << ", " << run->stages[i].steps << " steps";
        card << " | " << int(run->seconds) << " s | " << run->cpu << ", " << run->threads << (run->threads == 1 ? " thread" : " threads") << " |\n";
        total += run->seconds;
    }
    card << "\nTotal " << int(total) << " s of wall clock";
    if (runs.size() > 1)
        card << " in " << runs.size() << " invocations, each resuming from the folder the one before wrote";
    card << ". The machine may have been shared: each stage says the share of the cores it got.\n\n";
    if (result.run.arguments.find("--resume") != std::string::npos && result.earlier.empty())
        card << "The folder this run resumed from has no training log (written by an older QueryLens), so the "
                "stages trained there are not listed.\n\n";
    for (const DemoInvocation* run : runs) {
        if (!run->visionAccuracy.empty())
            card << "After stage 0, the " << run->visionAccuracy << ".\n\n";
        for (const DemoStageSummary& stage : run->stages) {
            card << "### " << stage.name << "\n\n" << stage.steps << " steps, " << int(stage.seconds) << " s";
            if (stage.seconds > 0 && stage.cpuSeconds > 0 && run->threads > 0)
                card << " (" << int(stage.cpuSeconds) << " CPU s: "
                     << int(100 * stage.cpuSeconds / (stage.seconds * run->threads)) << " % of " << run->threads << " cores)";
            card << ". Loss (first window -> last window): ";
            for (std::size_t i = 0; i < stage.lastLosses.size(); ++i)
                card << (i ? ", " : "") << stage.lastLosses[i].first << " " << stage.firstLosses[i].second << " -> "
                     << stage.lastLosses[i].second;
            card << ".\n\n```\n" << stage.curveCsv << "```\n\n";
        }
    }
    if (!result.evaluationTable.empty())
        card << "## Evaluation (`querylens eval-demo`, held-out scenes)\n\n```\n" << result.evaluationTable << "```\n";
    return card.str();
}

std::string describeTrainingOptions(const DemoTrainingOptions& o)
{
    std::ostringstream line;
    line << "--out " << o.folder;
    if (o.tiny)
        line << " --tiny";
    if (!o.resume.empty())
        line << " --resume " << o.resume;
    else
        line << " --vision-steps " << o.visionSteps << " --language-steps " << o.languageSteps;
    if (o.stage0Only)
        line << " --stage0-only";
    else {
        line << " --stage1-steps " << o.representationSteps;
        if (o.representationSteps > 0)  // 0: stage 1 taken from --resume, so its settings played no part
            line << " --stage1-rate " << o.stage1Rate << " --entropy-weight " << o.entropyWeight
                 << " --generation-stage1-steps " << o.generationStage1Steps << " --generation-stage1-rate "
                 << o.generationStage1Rate;
        line << " --stage2-steps " << o.generationSteps << " --stage2-rate " << o.stage2Rate
             << " --caption-share " << o.captionShare;
        if (o.captionCrowding != 0)  // not written when off, so that earlier runs' lines read as they ran
            line << " --caption-crowding " << o.captionCrowding;
        // Always written: its default was 1 until 2026-12-06, so an earlier line without it ran with 1.
        line << " --answers-per-row " << o.answersPerRow;
        if (o.generationBatch != DemoTrainingOptions{}.generationBatch && !o.tiny)  // as caption-crowding
            line << " --stage2-batch " << o.generationBatch;
    }
    line << " --seed " << o.seed;
    if (!o.tiny)  // the tiny geometry draws its own small pool
        line << " --pool " << o.poolSize;
    line << " --threads " << o.threads;
    return line.str();
}

}  // namespace querylens
