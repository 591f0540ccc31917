#pragma once
// The command-line interface: one function per command, each with its own parser and --help.
// Exit codes: 0 done, 1 a failed load or bad input (message on stderr), 2 a usage error,
// 130 interrupted (Ctrl+C).

#include <QStringList>

namespace querylens::cli {

int runCaption(const QStringList& arguments);
int runAsk(const QStringList& arguments);
int runChat(const QStringList& arguments);
int runSessions(const QStringList& arguments);
int runExplain(const QStringList& arguments);
int runExplainWords(const QStringList& arguments);
int runMatch(const QStringList& arguments);
int runLocalize(const QStringList& arguments);
int runSearch(const QStringList& arguments);
int runMakeDemoModel(const QStringList& arguments);
int runModels(const QStringList& arguments);
int runDownload(const QStringList& arguments);
int runBatch(const QStringList& arguments);
int runMergeResults(const QStringList& arguments);
int runMakeScenes(const QStringList& arguments);
int runTrainDemo(const QStringList& arguments);
int runEvalDemo(const QStringList& arguments);

// The commands and one line about each, for the top-level --help.
QString commandSummary();

}  // namespace querylens::cli
