#pragma once
// The BLIP-2 repositories of the Hub's catalogue, with their download size (from the tree
// listing) and the memory their weights take at each precision (from the safetensors headers,
// fetched with ranged requests and sized with estimateWeightMemory). Fetched off the GUI thread,
// kept in QSettings so that the window shows them offline; "unknown" when never fetched.

#include "querylens/hub.h"

#include <QDateTime>
#include <QList>
#include <QObject>
#include <QString>

#include <atomic>
#include <memory>

namespace querylens::ui {

struct CatalogueEntry {
    QString repo;
    QString languageModel;            // "OPT", "Flan-T5", "image-text matching"
    qint64 downloadBytes = -1;        // -1: unknown
    qint64 memoryBytes[3] = {-1, -1, -1};  // fp32, bf16, int8 (Precision order)
    QDateTime fetched;                // when the sizes came from the Hub
};

class HubCatalogue : public QObject {
    Q_OBJECT
public:
    HubCatalogue(const hub::HubSettings& settings, QObject* parent = nullptr);
    ~HubCatalogue() override;

    static QStringList blip2Repositories();
    QList<CatalogueEntry> entries() const { return entries_; }

    // Asks the Hub for every repository's sizes (in the thread pool); entryUpdated() for each
    // answer, refreshFailed() for each failure (the cached values stay). Nothing when offline.
    void refresh();

signals:
    void entryUpdated(const querylens::ui::CatalogueEntry& entry);
    void refreshFailed(const QString& repo, const QString& message);

private:
    void store(const CatalogueEntry& entry);

    hub::HubSettings settings_;
    QList<CatalogueEntry> entries_;
    std::shared_ptr<std::atomic<bool>> alive_;
};

}  // namespace querylens::ui

Q_DECLARE_METATYPE(querylens::ui::CatalogueEntry)
