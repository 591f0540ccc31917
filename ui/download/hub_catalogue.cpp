#include "download/hub_catalogue.h"

#include <QCoreApplication>
#include <QPointer>
#include <QSettings>
#include <QtConcurrent/QtConcurrentRun>

namespace querylens::ui {

namespace {

QString languageModelOf(const QString& repo)
{
    if (repo.contains(QStringLiteral("itm")))
        return QObject::tr("image-text matching");
    return repo.contains(QStringLiteral("t5")) ? QStringLiteral("Flan-T5") : QStringLiteral("OPT");
}

QString settingsKey(const QString& repo) { return QStringLiteral("hub/catalogue/") + QString(repo).replace('/', '~'); }

}  // namespace

QStringList HubCatalogue::blip2Repositories()
{
    return {QStringLiteral("Salesforce/blip2-opt-2.7b"),     QStringLiteral("Salesforce/blip2-opt-2.7b-coco"),
            QStringLiteral("Salesforce/blip2-opt-6.7b"),     QStringLiteral("Salesforce/blip2-opt-6.7b-coco"),
            QStringLiteral("Salesforce/blip2-flan-t5-xl"),   QStringLiteral("Salesforce/blip2-flan-t5-xl-coco"),
            QStringLiteral("Salesforce/blip2-flan-t5-xxl"),  QStringLiteral("Salesforce/blip2-itm-vit-g"),
            QStringLiteral("Salesforce/blip2-itm-vit-g-coco")};
}

HubCatalogue::HubCatalogue(const hub::HubSettings& settings, QObject* parent)
    : QObject(parent), settings_(settings), alive_(std::make_shared<std::atomic<bool>>(true))
{
    qRegisterMetaType<querylens::ui::CatalogueEntry>();
    // Short limits: the catalogue is a courtesy, and the application waits for the thread pool
    // when it quits.
    settings_.connectTimeoutSeconds = 5;
    settings_.stallSeconds = 10;
    settings_.maxAttempts = 2;
    QSettings stored;
    for (const QString& repo : blip2Repositories()) {
        CatalogueEntry entry;
        entry.repo = repo;
        entry.languageModel = languageModelOf(repo);
        const QString key = settingsKey(repo);
        entry.downloadBytes = stored.value(key + QStringLiteral("/bytes"), -1).toLongLong();
        for (int p = 0; p < 3; ++p)
            entry.memoryBytes[p] = stored.value(key + QStringLiteral("/memory%1").arg(p), -1).toLongLong();
        entry.fetched = stored.value(key + QStringLiteral("/fetched")).toDateTime();
        entries_ << entry;
    }
}

HubCatalogue::~HubCatalogue() { *alive_ = false; }

void HubCatalogue::store(const CatalogueEntry& entry)
{
    for (auto& known : entries_)
        if (known.repo == entry.repo)
            known = entry;
    QSettings stored;
    const QString key = settingsKey(entry.repo);
    stored.setValue(key + QStringLiteral("/bytes"), entry.downloadBytes);
    for (int p = 0; p < 3; ++p)
        stored.setValue(key + QStringLiteral("/memory%1").arg(p), entry.memoryBytes[p]);
    stored.setValue(key + QStringLiteral("/fetched"), entry.fetched);
}

void HubCatalogue::refresh()
{
    if (settings_.offline)
        return;
    QPointer<HubCatalogue> self(this);
    const auto alive = alive_;
    const hub::HubSettings settings = settings_;
    const QList<CatalogueEntry> entries = entries_;
    (void)QtConcurrent::run([self, alive, settings, entries] {
        for (CatalogueEntry entry : entries) {
            if (!*alive)
                return;
            QString problem;
            try {
                const auto plan = hub::planDownload(settings, *hub::parseRepoRef(entry.repo.toStdString()));
                entry.downloadBytes = qint64(plan.totalBytes);
                const auto shapes = hub::fetchWeightShapes(settings, plan);
                for (int p = 0; p < 3; ++p)
                    entry.memoryBytes[p] = qint64(estimateWeightMemory(shapes, Precision(p)));
                entry.fetched = QDateTime::currentDateTimeUtc();
            } catch (const std::exception& e) {
                problem = QString::fromUtf8(e.what());
            }
            QMetaObject::invokeMethod(
                qApp, [self, entry, problem] {
                    if (!self)
                        return;
                    if (!problem.isEmpty()) {
                        emit self->refreshFailed(entry.repo, problem);
                        return;
                    }
                    self->store(entry);
                    emit self->entryUpdated(entry);
                },
                Qt::QueuedConnection);
        }
    });
}

}  // namespace querylens::ui
