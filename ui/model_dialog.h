#pragma once
// Choosing a checkpoint: those in the Hugging Face cache by name and size, or any folder; the
// precision and threads; and the memory it will take against what is free. A model that will
// not fit is refused with the reason. With no checkpoint anywhere, it offers the demo model.
// Its Download tab fetches BLIP-2 checkpoints from the Hub (ui/download/).

#include "querylens/checkpoints.h"
#include "querylens/model.h"

#include <QDialog>

class QComboBox;
class QLabel;
class QPushButton;
class QSpinBox;
class QTableWidget;
class QTabWidget;

namespace querylens::ui {

class DownloadManager;
class DownloadPanel;

class ModelDialog : public QDialog {
    Q_OBJECT
public:
    // `downloads` runs Hub downloads beyond the dialog's life (the main window's); without one
    // the dialog makes its own.
    explicit ModelDialog(QWidget* parent = nullptr, const QString& currentFolder = {},
                         DownloadManager* downloads = nullptr);

    LoadOptions options() const;
    bool wantsDemo() const { return wantsDemo_; }
    // For tests: the same checks on a given list.
    void setCheckpoints(const std::vector<CheckpointSummary>& checkpoints);
    QString fitText() const;
    bool canLoad() const;
    DownloadPanel* downloadPanel() const { return downloadPanel_; }
    void showDownloads();  // the Download tab, with the catalogue's sizes asked for

private:
    void addFolder();
    void updateEstimate();
    void addRow(const CheckpointSummary& summary);
    void openDownloaded(const QString& folder);

    QTableWidget* table_;
    QComboBox* precision_;
    QSpinBox* threads_;
    QLabel* fit_;
    QLabel* emptyNote_;
    QPushButton* demo_;
    QPushButton* load_;
    std::vector<CheckpointSummary> checkpoints_;
    bool wantsDemo_ = false;
    QTabWidget* tabs_;
    DownloadPanel* downloadPanel_;
    bool catalogueAsked_ = false;
};

}  // namespace querylens::ui
