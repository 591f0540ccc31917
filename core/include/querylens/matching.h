#pragma once
// Image-text matching with a Blip2ForImageTextRetrieval checkpoint (Salesforce/blip2-itm-vit-g
// and -coco): does this text describe this image? Two scores, as BLIP-2 defines them:
//  - ITM: the Q-Former reads the queries and the text together; a linear head on the query
//    outputs gives (no match, match) logits, averaged over the queries;
//  - ITC: the cosine similarity of the text's embedding with each query's embedding, the best
//    query winning (what retrieval ranks by: image embeddings can be computed once and kept).
// Plain data only (no torch), like the rest of the public API.

#include "querylens/faithfulness.h"
#include "querylens/image_encoding.h"
#include "querylens/progress.h"
#include "querylens/text_localization.h"

#include <array>
#include <memory>
#include <string>
#include <vector>

namespace querylens {

class Model;

struct TextMatch {
    std::string text;
    std::vector<int> inputIds;        // [CLS] pieces [SEP]
    std::vector<std::string> tokens;  // the pieces, as the vocabulary writes them ("##s")
    bool truncated = false;           // the text was longer than the Q-Former's positions
    std::array<float, 2> itmLogits{};  // raw ITM logits: (no match, match)
    double itmProbability = 0;        // softmax of itmLogits: the match probability
    double itcSimilarity = 0;         // the best query's cosine similarity with the text
    int bestQuery = 0;                // which query that was
    std::vector<float> queryItc;      // every query's cosine similarity, [queries]
};

// Scores each text against an image the model encoded. Throws Error when the model is not a
// matching model (ModelInfo::canMatch).
std::vector<TextMatch> matchTexts(const Model& model, const ImageEncoding& image, const std::vector<std::string>& texts);

// The image side of ITC: one unit vector per query, [queries][size] row-major. What the search
// index keeps per image.
struct ImageEmbedding {
    int queries = 0;
    int size = 0;
    std::vector<float> values;
};
ImageEmbedding imageEmbedding(const Model& model, const ImageEncoding& image);

// The text side of ITC: a unit vector [size], and the ids it came from.
struct TextEmbedding {
    std::vector<float> values;
    std::vector<int> inputIds;
};
TextEmbedding textEmbedding(const Model& model, const std::string& text);

struct ItcScore {
    double similarity = 0;  // max over queries of dot(query, text)
    int bestQuery = 0;
};
ItcScore itcScore(const ImageEmbedding& image, const TextEmbedding& text);

// Where a phrase is in the image: the ITM match logit differentiated with respect to the
// Q-Former's attention (querylens/text_localization.h says how the maps are made).
struct PhraseLocalization {
    TextMatch match;
    std::vector<std::string> words;            // the phrase's words as written (those with pieces)
    std::vector<std::vector<int>> wordTokens;  // each word's pieces, as positions in match.inputIds
    int gridSize = 0;
    std::vector<int> crossAttentionLayers;
    PhraseLocalizationMaps maps;
};
// Throws Error for a model without matching heads, Cancelled when `progress` returns false.
PhraseLocalization localizeText(const Model& model, const ImageEncoding& image, const std::string& text,
                                const ProgressCallback& progress = {});

// Deletion and insertion curves of a phrase's patch map: the ITM match logit on the image
// with patches removed or revealed in the map's order, and in random orders.
FaithfulnessReport phraseFaithfulness(const Model& model, const ImageEncoding& image, const std::string& text,
                                      const std::vector<float>& map, const FaithfulnessOptions& options = {},
                                      const ProgressCallback& progress = {});

}  // namespace querylens
