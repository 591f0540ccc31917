#pragma once
// Downloads from the Hugging Face Hub for the window: one download at a time on a worker
// object in its own QThread (not the model worker's: that one owns the model and must stay
// free), so that downloads carry on while the user works and the GUI thread never touches the
// network. Pause and cancel are flags the download checks between chunks: pause keeps the
// partials (resumable, also by `querylens download` and at the next start), cancel removes them.

#include "querylens/hub.h"

#include <QObject>
#include <QString>
#include <QStringList>

#include <atomic>
#include <memory>

class QThread;

namespace querylens::ui {

// What the window shows of a running download (a copy of core's report, queued to the GUI).
struct DownloadStatus {
    QString repo;                     // "Salesforce/blip2-opt-2.7b" or "...@revision"
    hub::DownloadProgress progress;
};

class DownloadWorker : public QObject {
    Q_OBJECT
public:
    explicit DownloadWorker(hub::HubSettings settings) : settings_(std::move(settings)) {}
    enum class Stop { None, Pause, Cancel };
    void requestStop(Stop stop) { stop_ = int(stop); }  // thread-safe

public slots:
    void download(const QString& repo, bool force);

signals:
    void planned(const QString& repo, qulonglong totalBytes, qulonglong onDisk, int files);
    void progress(const querylens::ui::DownloadStatus& status);
    void finished(const QString& repo, const QString& snapshotFolder, const QString& warning);
    void paused(const QString& repo);
    void cancelled(const QString& repo);
    void failed(const QString& repo, const QString& message);

private:
    hub::HubSettings settings_;
    std::atomic<int> stop_{0};
};

class DownloadManager : public QObject {
    Q_OBJECT
public:
    // `settings` default to the environment's (HF_ENDPOINT, HF_HUB_CACHE, HF_TOKEN, ...).
    explicit DownloadManager(QObject* parent = nullptr);
    DownloadManager(const hub::HubSettings& settings, QObject* parent);
    ~DownloadManager() override;  // pauses a running download (its partials stay) and waits

    const hub::HubSettings& settings() const { return settings_; }
    bool busy() const { return !current_.isEmpty(); }
    QString currentRepo() const { return current_; }
    const DownloadStatus& lastStatus() const { return last_; }

    void start(QString repo, bool force = false);  // ignored while busy (a copy: callers pass their own members)
    void pause();
    void cancel();

signals:
    void started(const QString& repo);
    void progress(const querylens::ui::DownloadStatus& status);
    void finished(const QString& repo, const QString& snapshotFolder, const QString& warning);
    void paused(const QString& repo);
    void cancelled(const QString& repo);
    void failed(const QString& repo, const QString& message);
    void idle();  // after any of the four above

private:
    void setUp();

    hub::HubSettings settings_;
    QThread* thread_ = nullptr;
    DownloadWorker* worker_ = nullptr;
    QString current_;
    DownloadStatus last_;
};

void registerDownloadTypes();

}  // namespace querylens::ui

Q_DECLARE_METATYPE(querylens::ui::DownloadStatus)
