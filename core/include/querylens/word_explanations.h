#pragma once
// Gradient explanations of generated words: the model run once more, teacher-forced on the text
// it generated, under autograd (float32), and each word's raw logits differentiated with respect
// to every attention probability of the Q-Former and the language model and to the soft
// prompt. What the maps are is in querylens/word_maps.h.

#include "querylens/faithfulness.h"
#include "querylens/generation.h"
#include "querylens/image_encoding.h"
#include "querylens/progress.h"
#include "querylens/word_maps.h"

#include <string>
#include <vector>

namespace querylens {

class Model;

// `result` is what a Session returned for `image` (its prompt ids, generated ids and the
// queries that were in the input); `words` lists, per word, indices into its generated
// tokens. Throws Error for a matching model or indices out of range, Cancelled when
// `progress` returns false.
std::vector<WordExplanation> explainWords(const Model& model, const ImageEncoding& image, const GenerationResult& result,
                                          const std::vector<std::vector<int>>& words,
                                          const ProgressCallback& progress = {});

// Deletion and insertion curves of a word's patch map (querylens/faithfulness.h): the word's
// teacher-forced log-probability (the sum over its `tokens`) on the image with patches
// removed or revealed in the map's order, and in random orders.
FaithfulnessReport wordFaithfulness(const Model& model, const ImageEncoding& image, const GenerationResult& result,
                                    const std::vector<int>& tokens, const std::vector<float>& map,
                                    const FaithfulnessOptions& options = {}, const ProgressCallback& progress = {});

// Autograd's float32 products are libtorch's, which go to OpenBLAS: a warning when the
// environment (OPENBLAS_CORETYPE) holds OpenBLAS's kernels below this CPU's, which makes every
// gradient map slower; empty otherwise. For the commands that compute these maps to print once.
std::string gradientMapSpeedWarning();

}  // namespace querylens
