#pragma once
// Image-text matching with a Blip2ForImageTextRetrieval checkpoint (Salesforce/blip2-itm-vit-g
// and -coco): does this text describe this image? Two scores, as BLIP-2 defines them:
//  - ITM: the Q-Former reads the queries and the text together; a linear head on the query
//    outputs gives (no match, match) logits, averaged over the queries;
//  - ITC: the cosine similarity of the text's embedding with each query's embedding, the best
//    query winning (what retrieval ranks by: image embeddings can be computed once and kept).
// Plain data only (no torch), like the rest of the public API.

#include "querylens/image_encoding.h"
#include "querylens/progress.h"

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

}  // namespace querylens
