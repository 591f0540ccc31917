#pragma once
// What the generating commands share: decoding an image file and encoding it, streaming text
// to stdout, printing a result (and its --json report), and their common options.

#include "cli/json_report.h"
#include "querylens/generation.h"
#include "querylens/image_encoding.h"
#include "querylens/model.h"

#include <QCommandLineParser>
#include <QString>

#include <memory>
#include <string>

namespace querylens::cli {

struct EncodedImage {
    std::shared_ptr<const ImageEncoding> encoding;
    double encodeMs = 0;
};
// Throws Error naming the file when it cannot be decoded.
EncodedImage encodeFile(const Model& model, const QString& path);

// Streams text to stdout as it is generated, without the space a first token often starts
// with; keeps what it printed (the answer so far, for a stop).
class StdoutStream {
public:
    TokenCallback callback();
    const std::string& text() const { return text_; }

private:
    bool started_ = false;
    std::string text_;
};

void printResult(const GenerationResult& result, const ModelInfo& info, const QString& image, const std::string& prompt,
                 const RunTimings& timings, bool json, bool streamed);

// The model, decoding and output options of caption, ask and chat.
QCommandLineParser& commonParser(QCommandLineParser& parser, const QString& description);

}  // namespace querylens::cli
