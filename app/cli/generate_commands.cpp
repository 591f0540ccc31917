// caption, ask and chat: the commands that generate text about an image.

#include "cli/command_runner.h"
#include "cli/commands.h"
#include "cli/json_report.h"
#include "image_file.h"
#include "querylens/error.h"
#include "querylens/image_encoding.h"
#include "querylens/prompts.h"
#include "querylens/session.h"

#include <QCoreApplication>

#include <iostream>
#include <string>
#include <unistd.h>

namespace querylens::cli {

namespace {

struct EncodedImage {
    std::shared_ptr<const ImageEncoding> encoding;
    double encodeMs = 0;
};

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

// Streams text to stdout as it is generated, without the space a first token often starts with.
class StdoutStream {
public:
    TokenCallback callback()
    {
        return [this](const GeneratedToken&, const std::string& delta) {
            std::string text = delta;
            if (!started_) {
                text.erase(0, text.find_first_not_of(" \t\n"));
                started_ = !text.empty();
            }
            std::cout << text << std::flush;
            return !interrupted();
        };
    }

private:
    bool started_ = false;
};

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

}  // namespace

int runCaption(const QStringList& arguments)
{
    QCommandLineParser parser;
    commonParser(parser, QStringLiteral("Caption images: the text streams to stdout as it is generated."));
    parser.addPositionalArgument(QStringLiteral("IMAGE"), QStringLiteral("Image files (PNG, JPEG, WebP, BMP, GIF, ...)."),
                                 QStringLiteral("IMAGE..."));
    parser.addOption({QStringLiteral("prompt"), QStringLiteral("Text the caption continues (default: the model's)."),
                      QStringLiteral("TEXT")});
    return runCommand(parser, arguments, [&] {
        const QStringList images = positionalArguments(parser, 1, -1, QStringLiteral("give at least one image"));
        const DecodingOptions decoding = decodingOptions(parser);
        RunTimings timings;
        const auto model = loadModel(parser, timings.loadMs);
        const std::string prompt =
            parser.isSet(QStringLiteral("prompt")) ? parser.value(QStringLiteral("prompt")).toStdString() : model->captionPrompt();
        int failures = 0;
        for (const QString& path : images) {
            try {
                const EncodedImage image = encodeFile(*model, path);
                timings.encodeMs = image.encodeMs;
                if (images.size() > 1)
                    std::cout << path.toStdString() << ": " << std::flush;
                StdoutStream stream;
                const GenerationResult result =
                    model->newSession(image.encoding)->generate(prompt, decoding, stream.callback(), interrupted);
                printResult(result, model->info(), path, prompt, timings, parser.isSet(QStringLiteral("json")), true);
            } catch (const Error& e) {
                // One unreadable file does not stop a batch: say which, go on, and fail at the end.
                if (images.size() == 1)
                    throw;
                std::cout << "\n" << std::flush;
                std::cerr << "querylens: " << e.what() << "\n";
                ++failures;
            }
            if (interrupted())
                return 130;
        }
        return failures ? 1 : 0;
    });
}

int runAsk(const QStringList& arguments)
{
    QCommandLineParser parser;
    commonParser(parser, QStringLiteral("Ask a question about an image (prompt \"Question: {q} Answer:\")."));
    parser.addPositionalArgument(QStringLiteral("IMAGE"), QStringLiteral("Image file."));
    parser.addPositionalArgument(QStringLiteral("QUESTION"), QStringLiteral("The question, in quotes."));
    return runCommand(parser, arguments, [&] {
        const QStringList positional = positionalArguments(parser, 2, 2, QStringLiteral("give an image and a question"));
        if (positional[1].trimmed().isEmpty())
            throw UsageError{QStringLiteral("the question is empty")};
        const DecodingOptions decoding = decodingOptions(parser);
        RunTimings timings;
        const auto model = loadModel(parser, timings.loadMs);
        const EncodedImage image = encodeFile(*model, positional[0]);
        timings.encodeMs = image.encodeMs;
        StdoutStream stream;
        auto session = model->newSession(image.encoding);
        const GenerationResult result = session->ask(positional[1].trimmed().toStdString(), decoding, stream.callback(), interrupted);
        printResult(result, model->info(), positional[0], questionPrompt(positional[1].trimmed().toStdString()), timings,
                    parser.isSet(QStringLiteral("json")), true);
        return result.stopReason == StopReason::Cancelled ? 130 : 0;
    });
}

int runChat(const QStringList& arguments)
{
    QCommandLineParser parser;
    commonParser(parser, QStringLiteral("Chat about an image: one question per line on stdin, answers on stdout. "
                                        "Each turn reuses the image and the cache of the conversation so far."));
    parser.addPositionalArgument(QStringLiteral("IMAGE"), QStringLiteral("Image file."));
    return runCommand(parser, arguments, [&] {
        const QStringList positional = positionalArguments(parser, 1, 1, QStringLiteral("give one image"));
        const DecodingOptions decoding = decodingOptions(parser);
        RunTimings timings;
        const auto model = loadModel(parser, timings.loadMs);
        const EncodedImage image = encodeFile(*model, positional[0]);
        timings.encodeMs = image.encodeMs;
        auto session = model->newSession(image.encoding);
        const bool interactive = ::isatty(STDIN_FILENO);
        std::string line;
        while (true) {
            if (interactive)
                std::cout << "> " << std::flush;
            if (!std::getline(std::cin, line))
                break;
            const QString question = QString::fromStdString(line).trimmed();
            if (question.isEmpty())
                continue;
            if (question == QLatin1String("/clear")) {
                session->clearHistory();
                continue;
            }
            StdoutStream stream;
            const auto prompt = chatPrompt(session->history(), question.toStdString());
            const GenerationResult result = session->ask(question.toStdString(), decoding, stream.callback(), interrupted);
            printResult(result, model->info(), positional[0], prompt, timings, parser.isSet(QStringLiteral("json")), true);
            timings.encodeMs = 0;  // the image is encoded once
            if (interrupted())
                return 130;
        }
        return 0;
    });
}

}  // namespace querylens::cli
