#pragma once
// What each Q-Former query learned, measured over evaluation scenes: its mean focus (how peaked
// its map is, where it tends to look) and the words whose maps weight it most. Computed by
// `querylens eval-demo` and shipped beside the demo checkpoint as query_catalogue.json; the
// explorer shows it beside the grid.

#include <string>
#include <vector>

namespace querylens {

struct CatalogueWord {
    std::string word;
    double share = 0;  // mean share of the word's query weights that fell on this query
    double lift = 0;   // share x queries: 1 = an even share, 3 = three times it
};

struct QueryCatalogueEntry {
    int query = 0;
    double meanNormalizedEntropy = 0;  // of its mean-of-layers patch map: 0 one patch, 1 uniform
    double meanClsShare = 0;
    std::vector<float> meanMap;        // [grid * grid] its map averaged over the scenes
    std::vector<CatalogueWord> topWords;  // best first, at most five
};

struct QueryCatalogue {
    int scenes = 0;
    int gridSize = 0;
    std::string source;                // e.g. "50 held-out scenes of seed 2"
    std::vector<QueryCatalogueEntry> queries;

    bool empty() const { return queries.empty(); }
};

std::string queryCatalogueJson(const QueryCatalogue& catalogue);
// query_catalogue.json of a checkpoint folder; empty when there is none. Throws Error naming
// the file when it exists but is malformed.
QueryCatalogue readQueryCatalogue(const std::string& folder);
void writeQueryCatalogue(const QueryCatalogue& catalogue, const std::string& folder);

}  // namespace querylens
