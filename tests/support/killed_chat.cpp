#include "killed_chat.h"

#include <QtTest>

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

extern char** environ;

namespace testsupport {

namespace {

bool writeAll(int fd, const QByteArray& data)
{
    qsizetype done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd, data.constData() + done, std::size_t(data.size() - done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        done += n;
    }
    return true;
}

int completeReports(const QByteArray& output)
{
    int reports = 0;
    for (const QByteArray& line : output.split('\n'))
        reports += line.startsWith('{') && line.endsWith('}');
    return reports - (output.endsWith('\n') ? 0 : 1);  // a last line without its newline is not whole yet
}

// Fills the pipe to the byte. The child's end shares the file status flags, so O_NONBLOCK is
// on only while the child is idle (reading its next question) and off again before it runs.
void fillPipe(int fd)
{
    const int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    const QByteArray page(4096, '#');
    while (::write(fd, page.constData(), std::size_t(page.size())) > 0) {
    }
    while (::write(fd, "#", 1) > 0) {
    }
    ::fcntl(fd, F_SETFL, flags);
}

// Whatever happens to the test, the child ends and the pipes close.
struct ChildGuard {
    pid_t pid = 0;
    int status = 0;
    std::vector<int> fds;
    void end()
    {
        if (pid > 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            pid = 0;
        }
    }
    ~ChildGuard()
    {
        end();
        for (int fd : fds)
            ::close(fd);
    }
};

}  // namespace

void killChatMidAnswer(const QString& binary, const QStringList& arguments, const QStringList& completed,
                       const QString& last, const std::function<bool()>& answerStarted, KilledChat& result)
{
    int input[2], output[2];
    QVERIFY(::pipe2(input, O_CLOEXEC) == 0 && ::pipe2(output, O_CLOEXEC) == 0);
    static int runs = 0;
    result.stderrFile = QDir::temp().filePath(QStringLiteral("querylens-killed-chat-%1-%2.err").arg(::getpid()).arg(++runs));

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, input[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, output[1], STDOUT_FILENO);
    const QByteArray errPath = result.stderrFile.toLocal8Bit();
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, errPath.constData(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<QByteArray> storage{binary.toLocal8Bit()};
    for (const QString& a : arguments)
        storage.push_back(a.toLocal8Bit());
    std::vector<char*> argv;
    for (QByteArray& a : storage)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    ChildGuard child;
    child.fds = {input[1], output[0], output[1]};
    const int spawned = ::posix_spawn(&child.pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(input[0]);
    QVERIFY2(spawned == 0, "cannot start the chat");
    // output[1] stays open here on purpose: it is how the pipe gets filled.

    char buffer[65536];
    for (int asked = 0; asked < completed.size(); ++asked) {
        QVERIFY(writeAll(input[1], completed[asked].toUtf8() + '\n'));
        while (completeReports(result.output) < asked + 1) {
            const ssize_t n = ::read(output[0], buffer, sizeof buffer);
            if (n <= 0)
                break;
            result.output.append(buffer, n);
        }
        QVERIFY2(completeReports(result.output) == asked + 1, result.output.constData());
    }
    fillPipe(output[1]);
    QVERIFY(writeAll(input[1], last.toUtf8() + '\n'));
    QTRY_VERIFY_WITH_TIMEOUT(answerStarted(), 120000);
    child.end();
    result.killed = WIFSIGNALED(child.status) && WTERMSIG(child.status) == SIGKILL;
}

}  // namespace testsupport
