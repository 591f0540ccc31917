#include "querylens/error.h"
#include "querylens/image_encoding.h"
#include "querylens/image_search.h"
#include "querylens/model.h"

#include <algorithm>
#include <numeric>

namespace querylens {

SearchResult searchImages(const Model& model, const ImageIndex& index, const std::string& text,
                          const SearchOptions& options, const ImageDecoder& decode, const ProgressCallback& progress)
{
    if (!model.info().canMatch)
        throw Error(capabilitySummary(model.info()));
    if (options.top < 1 || options.rerank < 0)
        throw Error("--top must be at least 1 and --rerank 0 or more", {}, "top");
    SearchResult result;
    result.text = text;
    const TextEmbedding query = textEmbedding(model, text);
    result.inputIds = query.inputIds;
    const auto& images = index.images();
    result.searched = int(images.size());

    // ITC against every image: the best query's cosine.
    std::vector<SearchHit> ranked;
    for (const IndexedImage& image : images) {
        const ItcScore score = itcScore(image.embedding, query);
        SearchHit hit;
        hit.path = image.path;
        hit.itcSimilarity = score.similarity;
        hit.bestQuery = score.bestQuery;
        ranked.push_back(std::move(hit));
    }
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const SearchHit& a, const SearchHit& b) { return a.itcSimilarity > b.itcSimilarity; });
    for (std::size_t i = 0; i < ranked.size(); ++i)
        ranked[i].itcRank = int(i);

    // ITM on the best few: the image and the text read together. Their encodings are kept for
    // the maps below.
    const std::size_t rerank = std::min(ranked.size(), std::size_t(options.rerank));
    const std::size_t top = std::min(ranked.size(), std::size_t(std::max(options.top, 1)));
    const std::size_t work = std::max(rerank, options.maps ? top : 0) * (options.maps ? 2 : 1);
    std::size_t done = 0;
    auto step = [&](const char* stage) {
        if (progress && !progress(double(done++) / double(std::max<std::size_t>(1, work)), stage))
            throw Cancelled();
    };
    std::vector<std::shared_ptr<const ImageEncoding>> encodings(ranked.size());
    auto encodingOf = [&](std::size_t i) -> const ImageEncoding* {
        if (!encodings[i]) {
            try {
                encodings[i] = model.encode(decode(ranked[i].path));
            } catch (const Error& e) {
                result.problems.push_back(e.what());
                return nullptr;
            }
        }
        return encodings[i].get();
    };
    for (std::size_t i = 0; i < rerank; ++i) {
        step("re-ranking by ITM");
        if (const ImageEncoding* encoding = encodingOf(i)) {
            const TextMatch match = matchTexts(model, *encoding, {text}).front();
            ranked[i].reranked = true;
            ranked[i].itmLogits = match.itmLogits;
            ranked[i].itmProbability = match.itmProbability;
        }
    }
    // The re-ranked ones first, by match probability; the rest keep the ITC order.
    std::stable_sort(ranked.begin(), ranked.begin() + std::ptrdiff_t(rerank), [](const SearchHit& a, const SearchHit& b) {
        if (a.reranked != b.reranked)
            return a.reranked;
        return a.itmProbability > b.itmProbability;
    });
    // (encodings follow their hits)
    std::vector<std::shared_ptr<const ImageEncoding>> reordered(encodings.size());
    for (std::size_t i = 0; i < ranked.size(); ++i)
        reordered[i] = encodings[std::size_t(ranked[i].itcRank)];
    encodings = std::move(reordered);

    ranked.resize(top);
    if (options.maps)
        for (std::size_t i = 0; i < ranked.size(); ++i) {
            step("localising the text");
            if (const ImageEncoding* encoding = encodingOf(i)) {
                const PhraseLocalization located = localizeText(model, *encoding, text);
                ranked[i].map = located.maps.phraseMap;
                ranked[i].gridSize = located.gridSize;
            }
        }
    result.hits = std::move(ranked);
    return result;
}

}  // namespace querylens
