#pragma once
// The interface between querylens_text and the SentencePiece plugin module. Debian's
// libsentencepiece carries its own protobuf, which clashes with libtorch's in one process;
// so only the plugin links it, and it is opened with dlopen(RTLD_LOCAL | RTLD_DEEPBIND)
// (see DESIGN.md). This header is all the two sides share.

#include <string>
#include <vector>

namespace querylens::text {

class SentencePieceBackend {
public:
    virtual ~SentencePieceBackend() = default;
    virtual std::vector<int> encode(const std::string& text) const = 0;
    virtual std::string decode(const std::vector<int>& ids) const = 0;
    virtual std::string piece(int id) const = 0;
    virtual int pieceCount() const = 0;
    virtual bool isControl(int id) const = 0;
    virtual bool isUnknown(int id) const = 0;
};

}  // namespace querylens::text

// The plugin's one exported symbol: a backend for the bytes of a model file (checked first by
// sentencepiece_model_check.h), or null with `error` set.
extern "C" querylens::text::SentencePieceBackend* querylens_sentencepiece_create(const std::string& modelBytes,
                                                                                 std::string* error);
using QuerylensSentencePieceCreate = decltype(&querylens_sentencepiece_create);
