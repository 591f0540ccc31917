// chat: a conversation about an image, one question per line on stdin. With --session NAME it
// is a saved session: created when new, continued along its branch on screen when it exists,
// saved when each answer starts (marked in progress) and when it ends, so that a crash or kill
// loses at most the answer being generated.

#include "cli/command_runner.h"
#include "cli/commands.h"
#include "cli/generation_output.h"
#include "io/sha256.h"
#include "querylens/error.h"
#include "querylens/prompts.h"
#include "querylens/session.h"
#include "querylens/session_store.h"

#include <QFileInfo>

#include <iostream>
#include <string>
#include <unistd.h>

namespace querylens::cli {

namespace {

// Questions from stdin: a prompt on a terminal, none from a pipe; blank lines skipped.
bool readQuestion(QString& question)
{
    static const bool interactive = ::isatty(STDIN_FILENO);
    std::string line;
    while (true) {
        if (interactive)
            std::cout << "> " << std::flush;
        if (!std::getline(std::cin, line))
            return false;
        question = QString::fromStdString(line).trimmed();
        if (!question.isEmpty())
            return true;
    }
}

int chatWithoutSession(const QCommandLineParser& parser)
{
    const QStringList positional = positionalArguments(parser, 1, 1, QStringLiteral("give one image"));
    const DecodingOptions decoding = decodingOptions(parser);
    RunTimings timings;
    const auto model = loadModel(parser, timings.loadMs);
    const EncodedImage image = encodeFile(*model, positional[0]);
    timings.encodeMs = image.encodeMs;
    auto session = model->newSession(image.encoding);
    QString question;
    while (readQuestion(question)) {
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
}

// The session's image: IMAGE when given (it must be the same picture, byte for byte), else the
// path it was saved with. Returns the path to use and updates the reference when it moved.
QString sessionImage(Conversation& conversation, const QStringList& positional, const std::string& sessionFile)
{
    const QString path = QFileInfo(positional.isEmpty() ? QString::fromStdString(conversation.image.path) : positional[0])
                             .absoluteFilePath();
    if (!QFileInfo::exists(path))
        throw Error("the image of this session is not at " + path.toStdString() +
                        " any more: give its new place as IMAGE (querylens chat IMAGE --session " + conversation.name + ")",
                    sessionFile);
    if (io::sha256OfFile(path.toStdString()) != conversation.image.sha256)
        throw Error(path.toStdString() + " is not the image this session is about (its bytes differ from those of " +
                        conversation.image.path + ", sha256 " + conversation.image.sha256.substr(0, 12) + "...)",
                    sessionFile);
    conversation.image.path = path.toStdString();
    return path;
}

int chatInSession(const QCommandLineParser& parser)
{
    const std::string name = parser.value(QStringLiteral("session")).toStdString();
    if (const std::string problem = sessionNameProblem(name); !problem.empty())
        throw UsageError{QString::fromStdString(problem)};
    const QStringList positional =
        positionalArguments(parser, 0, 1, QStringLiteral("give one image (or none, to continue with the session's)"));
    const DecodingOptions decoding = decodingOptions(parser);
    const SessionStore store;
    const auto lock = SessionLock::tryAcquire(store, name);
    if (!lock)
        throw Error("the session is open in another QueryLens (a window or a chat); close it there first", store.pathOf(name));

    Conversation conversation;
    QString imagePath;
    const bool existing = store.exists(name);
    if (existing) {
        conversation = store.load(name);  // a bad file: the message names it, and it stays as it is
        if (const int cut = conversation.markInterrupted(); cut > 0) {
            std::cerr << "Note: " << cut << " answer" << (cut > 1 ? "s were" : " was")
                      << " interrupted when QueryLens last ended; the earlier turns are intact.\n";
            store.save(conversation);
        }
        imagePath = sessionImage(conversation, positional, store.pathOf(name));
    } else {
        if (positional.isEmpty())
            throw UsageError{QStringLiteral("there is no session named %1 yet: give the image to start it with")
                                 .arg(QString::fromStdString(name))};
        imagePath = QFileInfo(positional[0]).absoluteFilePath();
    }

    RunTimings timings;
    const auto model =
        loadModel(parser, timings.loadMs, existing ? QString::fromStdString(conversation.model.folder) : QString());
    const ModelInfo& info = model->info();
    const EncodedImage image = encodeFile(*model, imagePath);
    timings.encodeMs = image.encodeMs;
    if (!existing) {
        conversation.name = name;
        conversation.created = isoTimeNow();
        conversation.image = {imagePath.toStdString(), io::sha256OfFile(imagePath.toStdString()),
                              image.encoding->imageWidth(), image.encoding->imageHeight()};
        conversation.model = {info.name, info.folder, info.languageModel, precisionName(info.precision)};
    } else {
        if (conversation.model.name != info.name)
            std::cerr << "Note: this conversation was with " << conversation.model.name << "; it goes on with "
                      << info.name << ".\n";
        const auto path = conversation.activePath();
        std::cerr << "Session " << name << ": " << conversation.turns().size() << " turn"
                  << (conversation.turns().size() == 1 ? "" : "s") << ", " << path.size() << " on the branch it continues"
                  << (path.empty() ? "" : ", after \"" + conversation.find(path.back())->question + "\"") << ".\n";
    }

    auto session = model->newSession(image.encoding);
    bool freshBranch = false;
    QString question;
    while (readQuestion(question)) {
        if (question == QLatin1String("/clear")) {
            freshBranch = true;  // the next question starts a new branch; the old one stays saved
            continue;
        }
        const int parent = freshBranch ? 0 : conversation.activeLeaf();
        freshBranch = false;
        const std::string text = question.toStdString();
        const int id = conversation.addTurn(parent, text, decoding, info.name, isoTimeNow());
        store.save(conversation);  // in progress: a kill from here on leaves it marked so

        const std::vector<ChatTurn> history = conversation.historyUpTo(parent);
        StdoutStream stream;
        GenerationResult result;
        try {
            result = session->answer(history, text, decoding, stream.callback(), interrupted);
        } catch (const Error& e) {
            conversation.turn(id).state = TurnState::Failed;
            conversation.turn(id).error = e.what();
            store.save(conversation);
            throw;
        }
        Turn& turn = conversation.turn(id);
        turn.result = result;
        turn.answer = result.sequences.front().text;
        turn.state = result.stopReason == StopReason::Cancelled ? TurnState::Stopped : TurnState::Complete;
        conversation.updated = isoTimeNow();
        store.save(conversation);
        printResult(result, info, imagePath, chatPrompt(history, text), timings, parser.isSet(QStringLiteral("json")), true);
        timings.encodeMs = 0;
        if (interrupted())
            return 130;
    }
    return 0;
}

}  // namespace

int runChat(const QStringList& arguments)
{
    QCommandLineParser parser;
    commonParser(parser, QStringLiteral(
                             "Chat about an image: one question per line on stdin, answers on stdout. Each turn reuses the "
                             "image and the cache of the conversation so far. /clear starts afresh.\n"
                             "With --session NAME the conversation is kept (see `querylens sessions`): a new NAME starts "
                             "one about IMAGE; an existing one continues its branch on screen, with the model it was "
                             "made with unless --model says otherwise. Sessions are in $QUERYLENS_SESSIONS_DIR, else "
                             "$XDG_DATA_HOME/querylens/sessions, else ~/.local/share/querylens/sessions."));
    parser.addPositionalArgument(QStringLiteral("IMAGE"),
                                 QStringLiteral("Image file (with an existing --session: may be left out)."),
                                 QStringLiteral("[IMAGE]"));
    parser.addOption({QStringLiteral("session"), QStringLiteral("Keep the conversation as the session NAME."),
                      QStringLiteral("NAME")});
    return runCommand(parser, arguments, [&] {
        return parser.isSet(QStringLiteral("session")) ? chatInSession(parser) : chatWithoutSession(parser);
    });
}

}  // namespace querylens::cli
