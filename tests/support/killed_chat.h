#pragma once
// A `querylens chat --session` child process killed with SIGKILL in the middle of an answer,
// deterministically: the child's stdout is a pipe this process also holds the write end of, and
// fills before the last question, so that the child blocks on its first streamed token and
// cannot finish the answer before the kill.

#include <QString>
#include <QStringList>

#include <functional>

namespace testsupport {

struct KilledChat {
    QByteArray output;   // stdout up to the last question (the answers and their --json reports)
    QString stderrFile;  // where the child's stderr went
    bool killed = false; // the child ended by SIGKILL (not by itself)
};

// Runs `binary arguments` (a chat with --json), asks `completed` one by one, waiting for each
// report, then asks `last` and kills the child once `answerStarted()` holds (e.g. the session
// file shows the turn in progress). Uses QTRY_VERIFY: check QTest::currentTestFailed() after.
void killChatMidAnswer(const QString& binary, const QStringList& arguments, const QStringList& completed,
                       const QString& last, const std::function<bool()>& answerStarted, KilledChat& result);

}  // namespace testsupport
