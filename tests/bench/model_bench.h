#pragma once
// The model's figures: load, image encoding, first token, decoding, a follow-up turn, memory.

#include "model/blip2.h"

#include <cstddef>
#include <string>
#include <utility>

struct ModelFigures {
    double loadSeconds = 0;
    std::size_t weightBytes = 0;          // in memory at the chosen precision
    std::size_t languageBytesPerToken = 0;  // weights one decoding step reads
    double visionMs = 0, visionSpread = 0;
    double qformerMs = 0;
    double encodeMs = 0, encodeSpread = 0;
    double visionGflop = 0;               // floating-point work of one vision pass
    double prefillMs = 0, prefillSpread = 0;  // the language model's prompt pass and first token
    // Image in to first token out (encode + prefill), as Hugging Face's generate() measures it
    // with pixel_values: what a first question about a new image costs.
    double firstTokenMs = 0, firstTokenSpread = 0;
    double decodeTokensPerSecond = 0, decodeSpread = 0;
    double followupFirstTokenMs = 0;  // the next turn: image encoding and shared prefix cached
    std::int64_t followupReused = 0;
    double baselineDecodeTokensPerSecond = 0;  // the same decoding through libtorch's at::linear
    // The image encode as eager PyTorch runs it: every product through at::linear at the
    // model's precision, libtorch's batched attention (kernels::setLibtorchOnly).
    double eagerEncodeMs = 0, eagerEncodeSpread = 0;
    // Several images encoded at once (vision encoder and Q-Former over B x 257 tokens).
    int batchSize = 0;
    double batchImagesPerSecond = 0, batchSpread = 0;
    std::size_t peakRssBytes = 0;
};

ModelFigures benchModel(const querylens::model::Blip2Model& model, int repeats, int decodeTokens, int batchSize);

// Median milliseconds of `repeats` encodes of a batch of `batchSize` random images (after one to
// warm up), and their spread.
std::pair<double, double> timeImageEncode(const querylens::model::Blip2Model& model, int batchSize, int repeats);

// Tokens a second of `tokens` greedy steps after a prompt on one random image (the image encoded
// and the prompt prefilled first, untimed).
double timeDecode(const querylens::model::Blip2Model& model, int tokens);
