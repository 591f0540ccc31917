#pragma once
// Writes sessions and exports on a thread of its own, in the order asked, so that the GUI
// thread never waits on fsync. flush() waits for what is queued (when the window closes).

#include "querylens/session_store.h"

#include <QObject>
#include <QThread>

namespace querylens::ui {

class SessionSaver : public QObject {
    Q_OBJECT
public:
    explicit SessionSaver(const SessionStore& store, QObject* parent = nullptr);
    ~SessionSaver() override;

    void save(const Conversation& conversation);               // asynchronous
    void writeFile(const QString& path, const std::string& text);  // asynchronous, atomic
    void flush();                                              // waits for both queues to drain

signals:
    void saved(const QString& name);
    void written(const QString& path);
    void failed(const QString& message);  // names the file and the problem

private:
    class Writer;
    QThread thread_;
    Writer* writer_;
};

}  // namespace querylens::ui
