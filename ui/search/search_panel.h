#pragma once
// Search a folder by text: choose a folder, type what to look for, and the hits come back
// ranked (ITC, then the best re-ranked by ITM) as thumbnails with their scores and where the
// text is in each; double-click one to open it. The model worker indexes and searches; the
// thumbnails are decoded on a pool thread, so the window never waits.

#include "worker/explain_types.h"

#include <QWidget>

class QCheckBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QPushButton;
class QSpinBox;

namespace querylens::ui {

class SearchPanel : public QWidget {
    Q_OBJECT
public:
    explicit SearchPanel(QWidget* parent = nullptr);

    void setCanSearch(bool can, const QString& reason);
    void showOutcome(const SearchOutcome& outcome);
    void fail(const QString& message, bool cancelled);
    void setBusy(bool busy);

    // Driving it (the GUI tests do; so do the controls).
    void setFolder(const QString& folder);
    void search();
    void openHit(int row);

    QLineEdit* folderEdit() const { return folder_; }
    QLineEdit* queryEdit() const { return query_; }
    QPushButton* searchButton() const { return search_; }
    QListWidget* results() const { return results_; }
    QString statusText() const;
    const SearchOutcome& outcome() const { return outcome_; }

signals:
    void searchRequested(const querylens::ui::SearchRequest& request);
    void stopRequested();
    void openRequested(const QString& path);
    void thumbnailsReady();

private:
    void chooseFolder();
    void loadThumbnails();

    SearchOutcome outcome_;
    bool canSearch_ = false;
    bool busy_ = false;
    int generation_ = 0;  // thumbnails of an older search are dropped

    QLineEdit* folder_;
    QPushButton* browse_;
    QCheckBox* recursive_;
    QLineEdit* query_;
    QSpinBox* top_;
    QSpinBox* rerank_;
    QCheckBox* maps_;
    QPushButton* search_;
    QPushButton* stop_;
    QLabel* status_;
    QListWidget* results_;
};

}  // namespace querylens::ui
