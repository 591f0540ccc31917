#include "train/demo_text.h"

#include "querylens/prompts.h"

#include <algorithm>
#include <cctype>

namespace querylens::train {

WordPieceVocabulary::WordPieceVocabulary()
{
    tokens_.push_back("[PAD]");
    for (int i = 0; i < 10; ++i)
        tokens_.push_back("[unused" + std::to_string(i) + "]");
    unknown_ = int(tokens_.size());
    for (const char* special : {"[UNK]", "[CLS]", "[SEP]", "[MASK]"})
        tokens_.push_back(special);
    for (int c = 33; c < 127; ++c)
        if (c < 'A' || c > 'Z')
            tokens_.push_back(std::string(1, char(c)));
    for (const std::string& word : demo::grammarWords())
        if (std::find(tokens_.begin(), tokens_.end(), word) == tokens_.end())
            tokens_.push_back(word);
    for (const char* c = "abcdefghijklmnopqrstuvwxyz0123456789"; *c; ++c)
        tokens_.push_back(std::string("##") + *c);
}

std::vector<std::int64_t> WordPieceVocabulary::encode(const std::string& text) const
{
    std::vector<std::int64_t> ids{cls()};
    auto push = [&](const std::string& piece) {
        const auto it = std::find(tokens_.begin(), tokens_.end(), piece);
        ids.push_back(it == tokens_.end() ? unknown_ : it - tokens_.begin());
    };
    std::string word;
    for (char ch : text + " ") {
        const unsigned char c = static_cast<unsigned char>(ch);
        if (std::isalnum(c)) {
            word += char(std::tolower(c));
            continue;
        }
        if (!word.empty())
            push(word);
        word.clear();
        if (std::ispunct(c))
            push(std::string(1, ch));
    }
    ids.push_back(sep());
    return ids;
}

std::vector<std::string> sceneTexts(const demo::Scene& scene)
{
    std::vector<std::string> texts{scene.caption};
    for (const auto& qa : scene.questions)
        texts.push_back(questionPrompt(qa.question) + writtenAnswer(qa.answer));
    return texts;
}

}  // namespace querylens::train
