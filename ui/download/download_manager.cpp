#include "download/download_manager.h"

#include <QThread>

namespace querylens::ui {

void registerDownloadTypes() { qRegisterMetaType<querylens::ui::DownloadStatus>(); }

void DownloadWorker::download(const QString& repo, bool force)
{
    stop_ = int(Stop::None);
    const auto ref = hub::parseRepoRef(repo.toStdString());
    if (!ref) {
        emit failed(repo, tr("'%1' is not a repository id: write it as org/name, optionally with @revision.").arg(repo));
        return;
    }
    try {
        hub::PlanOptions options;
        options.force = force;
        const hub::DownloadPlan plan = hub::planDownload(settings_, *ref, options);
        emit planned(repo, plan.totalBytes, plan.cachedBytes + plan.partialBytes, int(plan.files.size()));
        const hub::DownloadResult result = hub::downloadSnapshot(settings_, plan, [&](const hub::DownloadProgress& p) {
            emit progress(DownloadStatus{repo, p});
            return stop_ == int(Stop::None);
        });
        emit finished(repo, QString::fromStdString(result.snapshotFolder),
                      result.warnings.empty() ? QString() : QString::fromStdString(result.warnings.front()));
    } catch (const Cancelled&) {
        if (stop_ == int(Stop::Cancel)) {
            hub::discardDownload(settings_, *ref);
            emit cancelled(repo);
        } else {
            emit paused(repo);
        }
    } catch (const std::exception& e) {
        emit failed(repo, QString::fromUtf8(e.what()));
    }
}

DownloadManager::DownloadManager(QObject* parent) : DownloadManager(hub::HubSettings::fromEnvironment(), parent) {}

DownloadManager::DownloadManager(const hub::HubSettings& settings, QObject* parent) : QObject(parent), settings_(settings)
{
    registerDownloadTypes();
    setUp();
}

void DownloadManager::setUp()
{
    thread_ = new QThread(this);
    thread_->setObjectName(QStringLiteral("QueryLens downloads"));
    worker_ = new DownloadWorker(settings_);
    worker_->moveToThread(thread_);
    connect(thread_, &QThread::finished, worker_, &QObject::deleteLater);
    connect(worker_, &DownloadWorker::progress, this, [this](const DownloadStatus& status) {
        last_ = status;
        emit progress(status);
    });
    const auto done = [this] {
        current_.clear();
        emit idle();
    };
    connect(worker_, &DownloadWorker::finished, this, [this, done](const QString& repo, const QString& folder, const QString& warning) {
        done();
        emit finished(repo, folder, warning);
    });
    connect(worker_, &DownloadWorker::paused, this, [this, done](const QString& repo) {
        done();
        emit paused(repo);
    });
    connect(worker_, &DownloadWorker::cancelled, this, [this, done](const QString& repo) {
        done();
        emit cancelled(repo);
    });
    connect(worker_, &DownloadWorker::failed, this, [this, done](const QString& repo, const QString& message) {
        done();
        emit failed(repo, message);
    });
    thread_->start();
}

DownloadManager::~DownloadManager()
{
    worker_->requestStop(DownloadWorker::Stop::Pause);
    thread_->quit();
    thread_->wait();
}

void DownloadManager::start(QString repo, bool force)
{
    if (busy())
        return;
    current_ = repo;
    last_ = DownloadStatus{repo, {}};
    emit started(repo);
    QMetaObject::invokeMethod(worker_, [worker = worker_, repo, force] { worker->download(repo, force); },
                              Qt::QueuedConnection);
}

void DownloadManager::pause()
{
    if (busy())
        worker_->requestStop(DownloadWorker::Stop::Pause);
}

void DownloadManager::cancel()
{
    if (busy())
        worker_->requestStop(DownloadWorker::Stop::Cancel);
}

}  // namespace querylens::ui
