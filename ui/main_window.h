#pragma once
// The main window: it wires the panels to the model worker and owns the actions (open, paste,
// caption, ask, stop, models). Panels do not reach into each other; everything passes here.

#include "image_file.h"
#include "image_library.h"
#include "worker/worker_types.h"

#include <QMainWindow>
#include <QThread>

#include <optional>

class QAction;
class QListWidget;
class QMenu;
class QSplitter;
class QTabWidget;

namespace querylens::ui {

class BatchWindow;
class CaptionPanel;
class ChatController;
class ChatPane;
class LocalizePanel;
class SearchPanel;
class WordGradientsView;
class DecodingPanel;
class ExplorerPanel;
class ImageView;
class MessageBar;
class ModelWorker;
class DownloadManager;
class SampleScenes;
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
    // Ctrl+R: the last answer of the conversation on screen, else the caption.
    void regenerate();
    // Opens `path` as an image with a saved conversation about it (or, when `replaceDocument` is
    // set, gives that document its image, found again). See main_window_chat.cpp.
    void openSessionImage(const QString& path, std::shared_ptr<Conversation> conversation,
                          std::shared_ptr<SessionLock> lock, int replaceDocument = 0);
    void showShortcuts();
    void showConversations();
    void stopGeneration();
    void createDemoModel(const QString& folder);
    // With no checkpoint anywhere: says so, and opens the model dialog, which lists the
    // Hugging Face cache and offers the demo model (random weights).
    void offerModel();
    // File → Caption a Folder…: the batch window, made on first use (main_window_batch.cpp).
    void openBatchWindow();
    BatchWindow* batchWindow() const { return batchWindow_; }

    // For tests and screenshots.
    CaptionPanel* captionPanel() const { return captionPanel_; }
    ChatPane* chatPane() const { return chatPane_; }
    ChatController* chat() const { return chat_; }
    MessageBar* messageBar() const { return messageBar_; }
    StatusPanel* statusPanel() const { return status_; }
    DecodingPanel* decodingPanel() const { return decoding_; }
    QTabWidget* tabs() const { return tabs_; }
    ExplorerPanel* explorer() const { return explorer_; }
    LocalizePanel* localizePanel() const { return localize_; }
    SearchPanel* searchPanel() const { return search_; }
    WordGradientsView* wordGradients() const { return wordGradients_; }
    QTabWidget* sideTabs() const { return sideTabs_; }
    // The worker on its thread (tests hold it at a point with direct connections to its signals).
    ModelWorker* worker() const { return worker_; }
    ImageLibrary* library() const { return library_; }
    SampleScenes* sampleScenes() const { return samples_; }
    bool isBusy() const { return pendingJobs_ > 0; }
    bool hasModel() const { return modelLoaded_; }

signals:
    void modelReady();
    void captionFinished(int imageId);
    void answerFinished(int imageId);
    void ablationFinished(int imageId);
    void imagesOpened();
    void jobEnded();
    void wordsExplained();
    void textLocalized();
    void faithfulnessShown();
    void searchShown();

protected:
    void closeEvent(QCloseEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void stopWorker();  // cancels, ends the worker thread and with it the worker (once)
    void buildActions();
    void buildConversationActions(QMenu* generate);
    void buildLayout();
    void connectChat();
    void saveLayout() const;
    void connectWorker();
    void showCurrentImage();
    void refreshExplorer();
    void updateActions();
    void rememberRecent(const QString& path);
    // `file` and `sha256`: where the image came from (empty for one that was never a file).
    int addDecodedImage(const QString& label, const DecodedImage& decoded, const QString& file = {},
                        const QString& sha256 = {});
    void giveImage(ImageDocument& document, const DecodedImage& decoded, const QString& file, const QString& sha256);
    void rebuildRecentMenu();
    void pasteImage();
    void chooseModel();
    void openImageDialog();
    int startJob();
    void endJob(int jobId);
    void generateFor(int imageId, GenerationKind kind, const QString& question = {},
                     const std::vector<int>& disabled = {}, int turnId = 0, const std::vector<ChatTurn>& history = {},
                     const std::optional<DecodingOptions>& options = {});

    // Explanations, localisation and search (main_window_explain.cpp).
    void buildExplainViews();
    void connectExplainWorker();
    // What a new image or a new model starts: a caption, or for a matching model an encoding.
    void startImageWork(int imageId);
    void applyModelCapabilities();
    void refreshExplainViews();
    void updateExplainActions();
    // Routes a failed explanation job to its view; false when the job is not one of them.
    bool explainJobFailed(int jobId, const QString& message, bool cancelled);
    template <typename Call>
    int sendExplainJob(int kind, const Call& call);
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
    SampleScenes* samples_ = nullptr;  // offered while no image is open
    CaptionPanel* captionPanel_;
    ChatPane* chatPane_;
    ChatController* chat_ = nullptr;
    DecodingPanel* decoding_;
    MessageBar* messageBar_;
    StatusPanel* status_;
    QTabWidget* tabs_;
    ExplorerPanel* explorer_;
    QTabWidget* sideTabs_;     // under the image: the caption and the decoding settings
    QSplitter* describeSplitter_ = nullptr;  // image | conversation
    QSplitter* imageSplitter_ = nullptr;     // image over caption
    LocalizePanel* localize_ = nullptr;
    SearchPanel* search_ = nullptr;
    WordGradientsView* wordGradients_ = nullptr;
    std::map<int, int> explainJobs_;  // job id -> what it is (main_window_explain.cpp)
    QMenu* recentMenu_ = nullptr;
    QAction* openAction_ = nullptr;
    QAction* pasteAction_ = nullptr;
    QAction* modelAction_ = nullptr;
    QAction* regenerateAction_ = nullptr;
    QAction* stopAction_ = nullptr;
    QAction* askAction_ = nullptr;
    QAction* regenerateAnswerAction_ = nullptr;
    BatchWindow* batchWindow_ = nullptr;
    int batchJob_ = 0;  // the running batch's job, or 0

    struct PendingGeneration {
        int imageId = 0;
        GenerationKind kind = GenerationKind::Caption;
        QString question;
        int turnId = 0;  // Question: the turn of the conversation it answers
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
