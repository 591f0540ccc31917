// caption and ask: the commands that generate text about an image (chat: chat_command.cpp).

#include "cli/command_runner.h"
#include "cli/commands.h"
#include "cli/generation_output.h"
#include "querylens/error.h"
#include "querylens/prompts.h"
#include "querylens/session.h"

#include <iostream>
#include <string>

namespace querylens::cli {

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

}  // namespace querylens::cli
