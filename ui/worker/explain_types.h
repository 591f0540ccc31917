#pragma once
// The explanation, matching and search jobs the window sends the worker, and their results
// made known to Qt's meta-type system (they come back through queued signals).

#include "querylens/faithfulness.h"
#include "querylens/generation.h"
#include "querylens/image_search.h"
#include "querylens/matching.h"
#include "querylens/word_maps.h"

#include <QMetaType>
#include <QString>

#include <vector>

namespace querylens::ui {

// Gradient maps of words of a generated text of an image.
struct WordGradientRequest {
    int imageId = 0;
    GenerationResult result;
    std::vector<std::vector<int>> words;  // token indices of each word
};

// Deletion and insertion curves of a map: a word's (log p) or a phrase's (ITM match logit).
struct FaithfulnessRequest {
    int imageId = 0;
    bool phrase = false;
    QString text;                // the phrase
    GenerationResult result;     // the word's text
    std::vector<int> tokens;     // the word's tokens
    std::vector<float> map;      // [grid * grid]
    FaithfulnessOptions options;
};

struct SearchRequest {
    QString folder;
    bool recursive = false;
    QString text;
    SearchOptions options;
};

// What a search job found, with what indexing the folder did.
struct SearchOutcome {
    SearchResult result;
    IndexReport index;
};

using WordExplanations = std::vector<WordExplanation>;

void registerExplainTypes();

}  // namespace querylens::ui

Q_DECLARE_METATYPE(querylens::ui::WordExplanations)
Q_DECLARE_METATYPE(querylens::FaithfulnessReport)
Q_DECLARE_METATYPE(querylens::PhraseLocalization)
Q_DECLARE_METATYPE(querylens::ui::SearchOutcome)
