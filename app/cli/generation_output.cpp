#include "cli/generation_output.h"

#include "cli/cli_options.h"
#include "cli/command_runner.h"
#include "image_file.h"
#include "querylens/error.h"

#include <iostream>

namespace querylens::cli {

EncodedImage encodeFile(const Model& model, const QString& path)
{
    const ui::DecodedImage decoded = ui::decodeImageFile(path);
    if (!decoded.ok())
        throw Error(decoded.error.toStdString());
    EncodedImage image;
    image.encoding = model.encode(decoded.rgb, [](double, const std::string&) { return !interrupted(); });
    image.encodeMs = image.encoding->encodeMs();
    return image;
}

TokenCallback StdoutStream::callback()
{
    return [this](const GeneratedToken&, const std::string& delta) {
        std::string text = delta;
        if (!started_) {
            text.erase(0, text.find_first_not_of(" \t\n"));
            started_ = !text.empty();
        }
        text_ += text;
        std::cout << text << std::flush;
        return !interrupted();
    };
}

void printResult(const GenerationResult& result, const ModelInfo& info, const QString& image, const std::string& prompt,
                 const RunTimings& timings, bool json, bool streamed)
{
    if (!streamed)
        std::cout << result.sequences.front().text;
    std::cout << "\n";
    for (std::size_t i = 1; i < result.sequences.size(); ++i)
        std::cout << result.sequences[i].text << "\n";
    if (!result.notice.empty())
        std::cerr << "Note: " << result.notice << "\n";
    if (result.stopReason == StopReason::Cancelled)
        std::cerr << "(stopped)\n";
    if (json)
        std::cout << resultJson(result, info, image.toStdString(), prompt, timings).dump() << "\n" << std::flush;
}

QCommandLineParser& commonParser(QCommandLineParser& parser, const QString& description)
{
    parser.setApplicationDescription(description);
    addModelOptions(parser);
    addDecodingOptions(parser);
    addOutputOptions(parser);
    return parser;
}

}  // namespace querylens::cli
