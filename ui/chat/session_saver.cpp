#include "chat/session_saver.h"

#include "io/atomic_file.h"
#include "querylens/error.h"

namespace querylens::ui {

// Lives on the saver's thread; every call arrives there by a queued invocation.
class SessionSaver::Writer : public QObject {
public:
    explicit Writer(const SessionStore& store) : store_(store) {}

    void save(SessionSaver* owner, const Conversation& conversation)
    {
        try {
            store_.save(conversation);
            emit owner->saved(QString::fromStdString(conversation.name));
        } catch (const std::exception& e) {
            emit owner->failed(QObject::tr("The conversation could not be saved: %1").arg(QString::fromStdString(e.what())));
        }
    }
    void write(SessionSaver* owner, const QString& path, const std::string& text)
    {
        try {
            io::writeFileAtomically(path.toStdString(), text);
            emit owner->written(path);
        } catch (const std::exception& e) {
            emit owner->failed(QString::fromStdString(e.what()));
        }
    }

private:
    SessionStore store_;
};

SessionSaver::SessionSaver(const SessionStore& store, QObject* parent) : QObject(parent), writer_(new Writer(store))
{
    writer_->moveToThread(&thread_);
    connect(&thread_, &QThread::finished, writer_, &QObject::deleteLater);
    thread_.setObjectName(QStringLiteral("session saver"));
    thread_.start();
}

SessionSaver::~SessionSaver()
{
    flush();
    thread_.quit();
    thread_.wait();
}

void SessionSaver::save(const Conversation& conversation)
{
    QMetaObject::invokeMethod(writer_, [this, conversation] { writer_->save(this, conversation); }, Qt::QueuedConnection);
}

void SessionSaver::writeFile(const QString& path, const std::string& text)
{
    QMetaObject::invokeMethod(writer_, [this, path, text] { writer_->write(this, path, text); }, Qt::QueuedConnection);
}

void SessionSaver::flush()
{
    // Queued after everything asked before it: when it has run, they have too.
    if (thread_.isRunning())
        QMetaObject::invokeMethod(writer_, [] {}, Qt::BlockingQueuedConnection);
}

}  // namespace querylens::ui
