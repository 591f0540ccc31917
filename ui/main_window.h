#pragma once
// The main window: it wires the panels to the model worker and owns the actions (open, paste,
// caption, ask, stop, models). Panels do not reach into each other; everything passes here.

#include "image_file.h"
#include "image_library.h"
#include "worker/worker_types.h"

#include <QMainWindow>
#include <QThread>

class QAction;
class QListWidget;
class QMenu;
class QTabWidget;

namespace querylens::ui {

class CaptionPanel;
class ChatPanel;
class DecodingPanel;
class ExplorerPanel;
class ImageView;
class MessageBar;
class ModelWorker;
class DownloadManager;
class StatusPanel;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    void loadModel(const LoadOptions& options);
    // Opens image files; unreadable ones are reported together in the message bar.
    void openImages(const QStringList& paths);  // asynchronous: imagesOpened() when done
    // Decodes off the GUI thread; imagesOpened() follows when the images are in.
    void addImage(const QString& label, const QImage& image);
    void askQuestion(const QString& question);
    void regenerateCaption();
    void stopGeneration();
    void createDemoModel(const QString& folder);
    // With no checkpoint anywhere: says so, and opens the model dialog, which lists the
    // Hugging Face cache and offers the demo model (random weights).
    void offerModel();

    // For tests and screenshots.
    CaptionPanel* captionPanel() const { return captionPanel_; }
    ChatPanel* chatPanel() const { return chatPanel_; }
    MessageBar* messageBar() const { return messageBar_; }
    StatusPanel* statusPanel() const { return status_; }
    DecodingPanel* decodingPanel() const { return decoding_; }
    QTabWidget* tabs() const { return tabs_; }
    ExplorerPanel* explorer() const { return explorer_; }
    ImageLibrary* library() const { return library_; }
    bool isBusy() const { return pendingJobs_ > 0; }
    bool hasModel() const { return modelLoaded_; }

signals:
    void modelReady();
    void captionFinished(int imageId);
    void answerFinished(int imageId);
    void ablationFinished(int imageId);
    void imagesOpened();
    void jobEnded();

protected:
    void closeEvent(QCloseEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void buildActions();
    void buildLayout();
    void connectWorker();
    void showCurrentImage();
    void refreshExplorer();
    void updateActions();
    void rememberRecent(const QString& path);
    void addDecodedImage(const QString& label, const DecodedImage& decoded);
    void rebuildRecentMenu();
    void pasteImage();
    void chooseModel();
    void openImageDialog();
    int startJob();
    void endJob(int jobId);
    void generateFor(int imageId, GenerationKind kind, const QString& question = {},
                     const std::vector<int>& disabled = {});

    // Worker results.
    void onModelLoaded(int jobId, const ModelInfo& info);
    void onImageEncoded(int jobId, int imageId, const ImageEncodingPtr& encoding);
    void onToken(int jobId, const GeneratedToken& token, const QString& delta);
    void onGenerationFinished(int jobId, const GenerationResult& result);
    void onJobFailed(int jobId, const QString& message, bool cancelled);

    QThread workerThread_;
    ModelWorker* worker_;
    DownloadManager* downloads_;  // Hub downloads, on their own thread; outlive the model dialog
    ImageLibrary* library_;
    ImageView* imageView_;
    QListWidget* thumbnails_;
    CaptionPanel* captionPanel_;
    ChatPanel* chatPanel_;
    DecodingPanel* decoding_;
    MessageBar* messageBar_;
    StatusPanel* status_;
    QTabWidget* tabs_;
    ExplorerPanel* explorer_;
    QTabWidget* sideTabs_;
    QMenu* recentMenu_ = nullptr;
    QAction* openAction_ = nullptr;
    QAction* pasteAction_ = nullptr;
    QAction* modelAction_ = nullptr;
    QAction* regenerateAction_ = nullptr;
    QAction* stopAction_ = nullptr;
    QAction* askAction_ = nullptr;

    struct PendingGeneration {
        int imageId = 0;
        GenerationKind kind = GenerationKind::Caption;
        QString question;
    };
    std::map<int, PendingGeneration> generations_;  // by job id
    int nextJob_ = 1;
    int lastJob_ = 0;          // the newest job sent to the worker: Stop cancels up to it
    int pendingJobs_ = 0;      // sent and not yet answered
    int loadJob_ = 0;
    bool modelLoaded_ = false;
    bool explorerStale_ = false;  // the current image changed while the explorer was hidden
    ModelInfo modelInfo_;
};

}  // namespace querylens::ui
