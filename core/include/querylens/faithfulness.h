#pragma once
// Faithfulness of a patch map (Petsiuk et al.'s deletion and insertion, RISE 2018): does the
// score the map explains depend on the patches the map ranks first?
//  - deletion: the patches, most important first, are replaced by a baseline image (blurred, or
//    the mean colour) a step at a time, and the score is taken after each step: a faithful map
//    makes it fall fast (a small area under the curve);
//  - insertion: from the baseline, the patches are revealed in the same order: a faithful map
//    makes the score rise fast (a large area).
// Both are also run in random patch orders (averaged), the reference a map must beat. Scores:
// the log-probability of a generated word (teacher-forced), or the ITM match logit of a phrase.

#include "querylens/progress.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace querylens {

enum class PerturbationBaseline {
    Blur,  // a Gaussian blur of the image (sigma = the patch size): shapes gone, colours kept
    Mean,  // the normalisation mean: every pixel the dataset's mean colour
};
const char* baselineName(PerturbationBaseline baseline);  // "blur", "mean"

struct FaithfulnessOptions {
    int steps = 10;            // points after the start: patches change in `steps` equal groups
    PerturbationBaseline baseline = PerturbationBaseline::Blur;
    int randomOrders = 2;      // random orders averaged for the reference curves
    std::uint64_t seed = 0;    // of the random orders
    int batchSize = 8;         // perturbed images per forward
};

struct FaithfulnessCurve {
    std::vector<double> fractions;  // share of the patches removed (deletion) or revealed (insertion), 0..1
    std::vector<double> scores;
    double area = 0;                // trapezoid area under the curve over fractions 0..1
};

struct FaithfulnessReport {
    std::string score;        // what was tracked: "log p(word)" or "ITM match logit"
    double original = 0;      // the score on the unchanged image
    double baseline = 0;      // on the baseline image (every patch replaced)
    PerturbationBaseline baselineKind = PerturbationBaseline::Blur;
    FaithfulnessCurve deletion, insertion;              // in the map's order
    FaithfulnessCurve randomDeletion, randomInsertion;  // mean of the random orders
};

// Patch indices, most important first (larger value first; equal values in index order).
std::vector<int> patchOrder(const std::vector<float>& map);
// A random permutation of 0..patches-1 (the same for the same seed on every machine).
std::vector<int> randomPatchOrder(int patches, std::uint64_t seed);
// How many patches are changed at each point: 0, then `steps` equal groups up to `patches`.
std::vector<int> stepPatchCounts(int patches, int steps);
// Which patches show the baseline (1) at a point: deletion replaces the first `count` of
// `order`; insertion has revealed them, so every other patch shows the baseline.
std::vector<std::uint8_t> baselineMask(const std::vector<int>& order, int count, bool deletion);
double curveArea(const std::vector<double>& fractions, const std::vector<double>& scores);

// Builds the four curves from a scorer of masks: `score` takes masks ([grid*grid] each, 1 =
// baseline) and returns one score per mask. Every distinct image is scored once (the ends
// are shared by all orders), in groups of options.batchSize; `progress` gets the fraction done
// and can stop the work (Cancelled).
using MaskScorer = std::function<std::vector<double>(const std::vector<std::vector<std::uint8_t>>& masks)>;
FaithfulnessReport faithfulnessCurves(const std::vector<float>& map, const FaithfulnessOptions& options,
                                      const std::string& scoreName, const MaskScorer& score,
                                      const ProgressCallback& progress = {});

}  // namespace querylens
