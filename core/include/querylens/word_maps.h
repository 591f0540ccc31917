#pragma once
// Which image regions a generated word depends on, four ways, on plain float buffers:
//  - attention: the language model's attention from the positions that predicted the word to
//    the query positions (mean over layers and heads), weighting the queries' cross-attention
//    maps (mean over layers and heads) — what the explorer's "Word → queries" shows;
//  - GradCAM: per Q-Former cross-attention layer, mean over heads of max(0, dlogit/dA ⊙ A)
//    ([queries, image tokens]), the mean over layers, summed over the queries;
//  - relevancy: Chefer et al.'s propagation through the Q-Former (queries -> image tokens) and
//    through the language model (word -> query positions), one map carried over both hops:
//    sum over queries of R_LM[word, q] R_qformer[q, :];
//  - input x gradient: sum over the hidden size of soft prompt ⊙ dlogit/d(soft prompt) per
//    query, its positive part weighting the queries' cross-attention maps.
// A word of several tokens sums its tokens' maps (each token explained by its own raw
// logit, the one that picked it).

#include "querylens/attention_views.h"
#include "querylens/generation.h"
#include "querylens/gradient_maps.h"

#include <optional>
#include <string>
#include <vector>

namespace querylens {

enum class MapMethod { Attention, GradCam, Relevancy, InputTimesGradient };
const char* mapMethodName(MapMethod method);  // "attention", "gradcam", "relevancy", "input_x_gradient"
std::optional<MapMethod> parseMapMethod(const std::string& name);
const std::vector<MapMethod>& allMapMethods();

// What the rules need of one explained token, reduced layer by layer as the pass runs (so that
// the raw attention tensors of a large model never all sit in memory at once).
struct TokenCams {
    std::vector<QFormerLayerCam> qformer;     // Q-Former layers in order
    std::vector<FloatMatrix> lmSelf;          // OPT: self-attention [N][N]; T5: decoder self-attention [D][D]
    std::vector<FloatMatrix> lmEncoderSelf;   // T5: encoder self-attention [E][E]
    std::vector<FloatMatrix> lmCross;         // T5: decoder cross-attention [D][E]
    int targetRow = 0;                        // the position whose logit is explained (row of lmSelf / lmCross)
    std::vector<float> attentionToQueries;    // [kept queries] raw attention, mean over layers and heads
    std::vector<float> inputTimesGradient;    // [kept queries]
    double logit = 0;
    double logProbability = 0;
};

struct WordExplanation {
    std::string text;
    std::vector<int> tokens;                  // indices into the generated sequence
    std::vector<float> targetLogits;          // each token's raw logit, teacher-forced
    double logProbability = 0;                // sum over the tokens of log p
    int queries = 0;                          // Q-Former queries (all of them)
    int imageTokens = 0;                      // 1 + grid * grid (token 0 is CLS)
    int gridSize = 0;
    std::vector<int> queryIndices;            // the queries that were in the language model's input
    std::vector<int> crossAttentionLayers;
    std::vector<float> gradcamLayers;         // [layers][queries][imageTokens], summed over the tokens
    FloatMatrix gradcam;                      // [queries][imageTokens]: mean over layers
    FloatMatrix qformerRelevancy;             // [queries][imageTokens]: R_qi summed over the tokens
    std::vector<float> queryRelevancy;        // [queryIndices]: the language model's R[word, query position]
    std::vector<float> inputTimesGradient;    // [queryIndices]
    std::vector<float> attentionToQueries;    // [queryIndices], mean over the tokens
    // Patch maps [grid * grid] (CLS left out), one per method.
    std::vector<float> attentionMap, gradcamMap, relevancyMap, inputGradientMap;

    const std::vector<float>& patchMap(MapMethod method) const;
    // How much each query counts for the word under a method, [queries] (0 for queries left out).
    std::vector<float> queryWeights(MapMethod method) const;
};

// Adds one token's cams to a word (the first token sizes it). `meanMaps` are the image's
// cross-attention maps, mean over layers and heads (the attention and input x gradient maps
// weight them); `encoderDecoder` says which language-model rule applies.
void addTokenToWord(WordExplanation& word, const TokenCams& token, bool encoderDecoder, const QueryMaps& meanMaps);

// Input x gradient per query: sum over the hidden size of x ⊙ g, [queries] (x, g [queries][hidden]).
std::vector<float> inputTimesGradient(const std::vector<float>& x, const std::vector<float>& g, int queries);

// Words of a generated sequence: a word starts at a token that begins with a space (BPE "Ġ",
// SentencePiece "▁" both show as one); tokens that are only white space or special end a word.
struct GeneratedWordSpan {
    std::string text;
    std::vector<int> tokens;
};
std::vector<GeneratedWordSpan> generatedWords(const GeneratedSequence& sequence);

}  // namespace querylens
