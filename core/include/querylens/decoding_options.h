#pragma once
// How text is decoded: one struct shared by the command line and the window. The semantics
// follow Hugging Face's generate() for the same settings, so that people moving from Python
// get the same text.

#include <cstdint>

namespace querylens {

struct DecodingOptions {
    int maxNewTokens = 30;
    int minNewTokens = 0;         // EOS is forbidden until this many tokens exist
    bool stopAtEos = true;        // false: always generate maxNewTokens (benchmarks)

    // Strategy: greedy when numBeams == 1 and !doSample; beam search when numBeams > 1;
    // multinomial sampling when doSample (with numBeams == 1).
    int numBeams = 1;
    double lengthPenalty = 1.0;   // beam scores are sum(log p) / length^lengthPenalty
    bool earlyStopping = false;   // stop beam search once numBeams hypotheses are finished
    int numReturnSequences = 1;   // <= numBeams for beam search; independent samples when sampling

    bool doSample = false;
    double temperature = 1.0;
    int topK = 50;                // 0 disables (Hugging Face's default is 50)
    double topP = 1.0;            // nucleus: keep the smallest set with this much probability
    std::uint64_t seed = 0;       // sampling is reproducible for a given seed

    double repetitionPenalty = 1.0;  // > 1 discourages tokens already generated (CTRL paper)
    int noRepeatNgramSize = 0;       // > 0 forbids repeating any n-gram of this size

    int topAlternatives = 5;      // alternatives kept per generated token (for the charts)
};

}  // namespace querylens
