#pragma once
// The window's conversations: each image's branch tree (core's Conversation), kept as a session
// that is saved when an answer starts and when it ends (and when the branch on screen changes),
// on a thread of its own. It turns the pane's requests (ask, edit, regenerate, versions, open a
// session) into generation requests for the worker, and the worker's tokens and results into
// turns. The model work itself stays on the worker thread; nothing here waits for it.

#include "image_library.h"
#include "querylens/session_store.h"

#include <QObject>
#include <QPointer>

#include <functional>
#include <map>
#include <memory>

namespace querylens::ui {

class ChatPane;
class CompareDialog;
class SessionSaver;

class ChatController : public QObject {
    Q_OBJECT
public:
    ChatController(ImageLibrary* library, ChatPane* pane, QWidget* window);
    ~ChatController() override;  // waits for pending saves

    const SessionStore& store() const { return store_; }
    void setModel(const ModelInfo* info);  // null: none loaded
    void setDecodingOptions(std::function<DecodingOptions()> options) { options_ = std::move(options); }
    void setBusy(bool busy);
    // The current image changed, or something about it (its image, its encoding).
    void showCurrent();

    // What people do; the pane's signals and the window's actions call these.
    void ask(const QString& question, int editedTurn = 0);
    void regenerate(int turnId, const DecodingOptions& options);
    void regenerateWithOtherSettings(int turnId);  // asks for the settings first
    bool regenerateLast();                          // false when there is no answer to regenerate
    void editLast();
    void switchVersion(int turnId, int delta);
    void newConversation();
    // Opens a saved session: the window adds its image (sessionImageRequested); problems (a bad
    // file) go to message(). Returns false when it cannot be opened.
    bool openSession(const QString& name);
    // The current session's image, found somewhere else (or another picture, on confirmation).
    void locateImage(const QString& path);
    void exportCurrent(const QString& path, bool markdown);
    // Deletes a saved session; one open here is closed first (its image stays).
    void deleteSession(const QString& name);
    void saveConversation(const Conversation& conversation) { save(conversation); }
    void importFile(const QString& path);
    void refreshRecent();
    void compare(int turnId);
    CompareDialog* compareDialog() const;

    // The worker's results for question jobs.
    void answerToken(int imageId, int turnId, const QString& delta);
    void answerFinished(int imageId, int turnId, const GenerationResult& result);
    void answerFailed(int imageId, int turnId, const QString& message, bool cancelled);

    // Waits until every save asked for so far is on disk (tests; closing).
    void flushSaves();

signals:
    void generationRequested(int imageId, int turnId, const QString& question, const std::vector<ChatTurn>& history,
                             const DecodingOptions& options);
    // A session's image to open as a document with the conversation attached.
    void sessionImageRequested(const QString& path, std::shared_ptr<Conversation> conversation,
                               std::shared_ptr<SessionLock> lock);
    void modelLoadRequested(const QString& folder);
    void errorMessage(const QString& text);
    void infoMessage(const QString& text);
    void sessionSaved(const QString& name);
    void answerCompleted(int imageId);
    void recentSessionsShown();

private:
    ImageDocument* current();
    bool writable(const ImageDocument* document) const;
    void startConversation(ImageDocument& document);
    void startTurn(ImageDocument& document, int parent, const QString& question, const DecodingOptions& options);
    void save(const Conversation& conversation);
    void showNotices(const ImageDocument& document);
    // The answer being generated ended: `record` writes its outcome into the turn, then it is saved.
    void endTurn(int imageId, int turnId, const std::function<void(Turn&)>& record);
    void updateCanAsk();

    ImageLibrary* library_;
    ChatPane* pane_;
    QWidget* window_;
    SessionStore store_;
    SessionSaver* saver_;
    std::function<DecodingOptions()> options_;
    std::optional<ModelInfo> model_;
    // The answer being generated: document id and turn id, and the text streamed so far (kept
    // if the user stops it).
    struct Streaming {
        int imageId = 0;
        int turnId = 0;
        QString text;
    };
    std::optional<Streaming> streaming_;
    QPointer<CompareDialog> compare_;
};

}  // namespace querylens::ui
