// sessions: the saved conversations — list, show, export, import, delete. The files are the
// window's and `chat --session`'s; a file that cannot be read is listed with its problem and
// left as it is.

#include "cli/command_runner.h"
#include "cli/commands.h"
#include "io/atomic_file.h"
#include "querylens/error.h"
#include "querylens/session_store.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>

namespace querylens::cli {

namespace {

// "2026-12-05T14:30:12Z" -> "2026-12-05 14:30"
std::string shortTime(const std::string& iso)
{
    if (iso.size() < 16)
        return iso.empty() ? "-" : iso;
    return iso.substr(0, 10) + " " + iso.substr(11, 5);
}

std::string cell(std::string text, std::size_t width)
{
    if (text.size() > width)
        text = text.substr(0, width - 3) + "...";
    return text + std::string(width - text.size() + 2, ' ');
}

int listSessions(const SessionStore& store, bool json)
{
    const auto sessions = store.list();
    if (json) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& s : sessions)
            list.push_back({{"name", s.name}, {"path", s.path}, {"title", s.title}, {"created", s.created},
                            {"updated", s.updated}, {"image", s.imagePath}, {"model", s.model}, {"turns", s.turns},
                            {"interrupted", s.interrupted}, {"problem", s.problem}});
        std::cout << nlohmann::json{{"folder", store.folder()}, {"sessions", list}}.dump() << "\n";
        return 0;
    }
    if (sessions.empty()) {
        std::cout << "No sessions in " << store.folder() << " yet (querylens chat IMAGE --session NAME starts one).\n";
        return 0;
    }
    std::cout << "Sessions in " << store.folder() << ":\n"
              << cell("NAME", 28) << cell("UPDATED", 16) << cell("TURNS", 5) << cell("MODEL", 28) << "TITLE\n";
    for (const auto& s : sessions) {
        if (!s.problem.empty()) {
            std::cout << cell(s.name, 28) << "(cannot be read: " << s.problem << ")\n";
            continue;
        }
        std::string turns = std::to_string(s.turns);
        if (s.interrupted > 0)
            turns += "!";
        std::cout << cell(s.name, 28) << cell(shortTime(s.updated), 16) << cell(turns, 5) << cell(s.model, 28) << s.title
                  << "\n";
    }
    if (std::any_of(sessions.begin(), sessions.end(), [](const auto& s) { return s.interrupted > 0; }))
        std::cout << "(!: an answer was interrupted when QueryLens ended)\n";
    return 0;
}

// To FILE (atomically) or stdout.
void writeOut(const std::string& text, const QString& out)
{
    if (out.isEmpty() || out == QLatin1String("-")) {
        std::cout << text << std::flush;
        return;
    }
    io::writeFileAtomically(out.toStdString(), text);
    std::cerr << "Wrote " << out.toStdString() << "\n";
}

}  // namespace

int runSessions(const QStringList& arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Saved conversations (the window's and `querylens chat IMAGE --session NAME`'s).\n"
        "  list                               the sessions, most recent first\n"
        "  show NAME                          the conversation on screen, as Markdown\n"
        "  export NAME --format md|json       to stdout, or to --out FILE\n"
        "  import FILE [--as NAME]            a session JSON file (an export) into the sessions\n"
        "  delete NAME                        remove a session\n"
        "Sessions are in $QUERYLENS_SESSIONS_DIR, else $XDG_DATA_HOME/querylens/sessions, else "
        "~/.local/share/querylens/sessions."));
    parser.addPositionalArgument(QStringLiteral("ACTION"), QStringLiteral("list, show, export, import or delete."));
    parser.addPositionalArgument(QStringLiteral("NAME"), QStringLiteral("The session (import: the file)."), QStringLiteral("[NAME]"));
    parser.addOptions({
        {QStringLiteral("format"), QStringLiteral("export: md (Markdown, the branch on screen) or json (everything)."),
         QStringLiteral("md|json"), QStringLiteral("md")},
        {QStringLiteral("out"), QStringLiteral("export: write to FILE instead of stdout."), QStringLiteral("FILE")},
        {QStringLiteral("as"), QStringLiteral("import: the name to give it (default: from the file's name)."),
         QStringLiteral("NAME")},
        {QStringLiteral("json"), QStringLiteral("list: one JSON object instead of a table.")},
    });
    return runCommand(parser, arguments, [&] {
        const QStringList positional = parser.positionalArguments();
        const QString action = positional.value(0, QStringLiteral("list"));
        const SessionStore store;
        if (action == QLatin1String("list")) {
            positionalArguments(parser, 0, 1, QStringLiteral("list takes no name"));
            return listSessions(store, parser.isSet(QStringLiteral("json")));
        }
        const QStringList known{QStringLiteral("show"), QStringLiteral("export"), QStringLiteral("import"),
                                QStringLiteral("delete")};
        if (!known.contains(action))
            throw UsageError{QStringLiteral("unknown action '%1': use list, show, export, import or delete").arg(action)};
        const std::string name =
            positionalArguments(parser, 2, 2, QStringLiteral("%1 needs one %2").arg(action, action == QLatin1String("import") ? QStringLiteral("file") : QStringLiteral("session name")))
                .at(1)
                .toStdString();
        if (action == QLatin1String("import")) {
            const std::string imported = store.importFile(name, parser.value(QStringLiteral("as")).toStdString());
            std::cout << "Imported " << name << " as session " << imported << "\n";
            return 0;
        }
        if (action == QLatin1String("delete")) {
            store.remove(name);
            std::cout << "Deleted session " << name << "\n";
            return 0;
        }
        const Conversation conversation = store.load(name);
        const QString format = parser.value(QStringLiteral("format"));
        if (action == QLatin1String("show") || format == QLatin1String("md"))
            writeOut(sessionToMarkdown(conversation), action == QLatin1String("show") ? QString() : parser.value(QStringLiteral("out")));
        else if (format == QLatin1String("json"))
            writeOut(sessionToJson(conversation), parser.value(QStringLiteral("out")));
        else
            throw UsageError{QStringLiteral("--format must be md or json, not '%1'").arg(format)};
        return 0;
    });
}

}  // namespace querylens::cli
