#pragma once
// The Download part of the model dialog: the catalogue of BLIP-2 repositories with their
// download size and whether each fits in memory at fp32 / bf16 / int8, a field for any
// repository id and revision, progress per file and in total, pause / resume / cancel, the
// unfinished downloads of earlier runs (of the window or of `querylens download`) offered for
// resumption, and Open for a finished model. The download itself runs in a DownloadManager,
// which outlives the dialog.

#include "download/download_manager.h"
#include "download/hub_catalogue.h"

#include <QWidget>

class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QTableWidget;

namespace querylens::ui {

class DownloadPanel : public QWidget {
    Q_OBJECT
public:
    DownloadPanel(DownloadManager* manager, QWidget* parent = nullptr);

    // Asks the Hub for the catalogue's sizes (asynchronously); the dialog calls it once shown.
    void refreshCatalogue();
    QString repoText() const;
    void setRepoText(const QString& repo);

signals:
    void openRequested(const QString& snapshotFolder);

private:
    void buildCatalogue();
    void showEntry(const CatalogueEntry& entry);
    void showUnfinished();
    void showStatus(const DownloadStatus& status);
    void updateButtons();
    void startDownload();
    void resumeDownload();
    void cancelDownload();

    DownloadManager* manager_;
    HubCatalogue* catalogue_;
    QTableWidget* table_;
    QLineEdit* repoField_;
    QPushButton* download_;
    QLabel* unfinished_;
    QLabel* fileLabel_;
    QProgressBar* fileBar_;
    QProgressBar* totalBar_;
    QLabel* status_;
    QPushButton* pause_;
    QPushButton* resume_;
    QPushButton* cancel_;
    QPushButton* open_;
    QString pausedRepo_;      // stopped with its partials kept: Resume and Cancel apply to it
    QString finishedFolder_;  // what Open opens
};

}  // namespace querylens::ui
