#pragma once
// "Caption a folder...": every image of a folder captioned (or asked a question) by the model
// worker into a results file, with a progress bar, Pause / Resume and Stop, a table that fills
// as images are done, and export to JSON Lines or CSV. The results file is append-only, so
// nothing done is ever lost: the window remembers its folder and file, shows what the file
// holds when it opens again, and resumes by itself a batch that was running when it (or the
// program) closed.

#include "batch/batch_types.h"

#include <QWidget>

class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QTableView;

namespace querylens::ui {

class BatchResultsModel;

class BatchWindow : public QWidget {
    Q_OBJECT
public:
    explicit BatchWindow(QWidget* parent = nullptr);
    ~BatchWindow() override;

    // Whether a model is loaded: starting needs one; a batch that was running when the window
    // closed resumes as soon as there is one.
    void setModelAvailable(bool available);

    // The main window fills in the decoding options and sends the request to the worker.
    void start();
    void pause();
    void stop();
    bool isRunning() const { return running_; }

    // Writes the results (atomically): the results file's lines as JSON Lines, or the table as CSV.
    bool exportJsonLines(const QString& path);
    bool exportCsv(const QString& path);

    // For tests and screenshots.
    BatchResultsModel* results() const { return model_; }
    QLineEdit* folderEdit() const { return folder_; }
    QLineEdit* outputEdit() const { return output_; }
    QLineEdit* questionEdit() const { return question_; }
    QPushButton* startButton() const { return startButton_; }
    QPushButton* pauseButton() const { return pauseButton_; }
    QPushButton* stopButton() const { return stopButton_; }
    QProgressBar* progressBar() const { return progress_; }
    QString statusText() const;

    // The results file a folder gets by default: in the program's data folder, named after it.
    static QString defaultOutputFor(const QString& folder);

public slots:
    // From the worker, through the main window.
    void onStarted(int inputs, int alreadyDone);
    void onRow(const querylens::ui::BatchRow& row);
    void onProgress(const querylens::BatchProgress& progress);
    void onEnded(querylens::ui::BatchEnd end);
    void onFailed(const QString& message);

signals:
    void startRequested(const querylens::ui::BatchRequest& request);
    void pauseRequested();
    void stopRequested();
    void ended(querylens::ui::BatchEnd end);
    void rowsLoaded();

private:
    void buildLayout();
    void chooseFolder();
    void chooseOutput();
    void chooseExport(bool csv);
    void folderChanged();
    void loadExistingResults();
    void updateButtons();
    void remember(bool running);
    void showStatus(const QString& text, bool problem = false);

    QLineEdit* folder_;
    QLineEdit* output_;
    QLineEdit* question_;
    QPushButton* startButton_;
    QPushButton* pauseButton_;
    QPushButton* stopButton_;
    QPushButton* exportJsonButton_;
    QPushButton* exportCsvButton_;
    QProgressBar* progress_;
    QLabel* status_;
    QTableView* table_;
    BatchResultsModel* model_;

    bool modelAvailable_ = false;
    bool running_ = false;
    bool pausing_ = false;
    bool resumeWhenModelLoads_ = false;
    bool failed_ = false;  // the last start failed: its message stays up
    int inputs_ = 0;
    int alreadyDone_ = 0;
    int loadGeneration_ = 0;  // a newer load of the table supersedes one still reading
    bool loading_ = false;    // the results file is being read into the table
    QString loadedPath_;      // the file the table shows
    std::vector<BatchRow> liveRows_;  // rows of the running batch that came while the file was read
};

}  // namespace querylens::ui
