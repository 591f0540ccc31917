// The SentencePiece plugin module: the only code in the program that links libsentencepiece.

#include "text/sentencepiece/sentencepiece_backend.h"

#include <sentencepiece_processor.h>

#include <exception>
#include <memory>

namespace {

class Backend : public querylens::text::SentencePieceBackend {
public:
    sentencepiece::SentencePieceProcessor processor;

    std::vector<int> encode(const std::string& text) const override
    {
        std::vector<int> ids;
        processor.Encode(text, &ids).IgnoreError();
        return ids;
    }
    std::string decode(const std::vector<int>& ids) const override
    {
        std::string text;
        processor.Decode(ids, &text).IgnoreError();
        return text;
    }
    std::string piece(int id) const override { return processor.IdToPiece(id); }
    int pieceCount() const override { return processor.GetPieceSize(); }
    bool isControl(int id) const override { return processor.IsControl(id); }
    bool isUnknown(int id) const override { return processor.IsUnknown(id); }
};

}  // namespace

extern "C" __attribute__((visibility("default"))) querylens::text::SentencePieceBackend*
querylens_sentencepiece_create(const std::string& modelBytes, std::string* error)
{
    auto backend = std::make_unique<Backend>();
    try {
        const auto status = backend->processor.LoadFromSerializedProto(modelBytes);
        if (!status.ok()) {
            if (error)
                *error = status.ToString();
            return nullptr;
        }
    } catch (const std::exception& e) {
        // darts-clone throws through Load on keys it cannot take; the caller's checks refuse
        // those known so far, this keeps any other from ending the program.
        if (error)
            *error = e.what();
        return nullptr;
    }
    return backend.release();
}
