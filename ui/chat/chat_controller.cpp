#include "chat/chat_controller.h"

#include "chat/chat_pane.h"
#include "chat/compare_dialog.h"
#include "chat/conversation_view.h"
#include "chat/session_saver.h"
#include "decoding_panel.h"
#include "querylens/error.h"

#include <QDialog>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <filesystem>

namespace querylens::ui {

namespace {

QString text(const std::string& s) { return QString::fromStdString(s); }

bool modelFolderPresent(const std::string& folder)
{
    std::error_code error;
    return !folder.empty() && std::filesystem::exists(std::filesystem::path(folder) / "config.json", error);
}

// Asks for decoding settings, starting from `start`, in a panel that does not touch the saved
// ones. Returns false when cancelled.
bool askDecodingOptions(QWidget* parent, const DecodingOptions& start, DecodingOptions& chosen)
{
    QDialog dialog(parent);
    dialog.setWindowTitle(QObject::tr("Regenerate with other settings"));
    auto* panel = new DecodingPanel(&dialog, /*remembered=*/false);
    panel->setOptions(start);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    buttons->button(QDialogButtonBox::Ok)->setText(QObject::tr("Regenerate"));
    QObject::connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
    QObject::connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
    auto* layout = new QVBoxLayout(&dialog);
    layout->addWidget(new QLabel(QObject::tr("The new answer is kept beside the old one.")));
    layout->addWidget(panel);
    layout->addWidget(buttons);
    if (dialog.exec() != QDialog::Accepted)
        return false;
    chosen = panel->options();
    return true;
}

}  // namespace

ChatController::ChatController(ImageLibrary* library, ChatPane* pane, QWidget* window)
    : QObject(window), library_(library), pane_(pane), window_(window), saver_(new SessionSaver(store_, this))
{
    connect(saver_, &SessionSaver::saved, this, &ChatController::sessionSaved);
    connect(saver_, &SessionSaver::failed, this, &ChatController::errorMessage);
    connect(saver_, &SessionSaver::written, this,
            [this](const QString& path) { emit infoMessage(tr("Exported the conversation to %1.").arg(path)); });
    connect(pane_, &ChatPane::questionSubmitted, this, &ChatController::ask);
    connect(pane_, &ChatPane::editLastRequested, this, &ChatController::editLast);
    connect(pane_, &ChatPane::newConversationRequested, this, &ChatController::newConversation);
    connect(pane_, &ChatPane::sessionOpenRequested, this, &ChatController::openSession);
    ConversationView* view = pane_->view();
    connect(view, &ConversationView::editRequested, this, [this](int turnId) {
        if (const ImageDocument* document = current(); document && document->conversation)
            if (const Turn* t = document->conversation->find(turnId))
                pane_->beginEdit(turnId, text(t->question));
    });
    connect(view, &ConversationView::regenerateRequested, this, [this](int turnId, bool otherSettings) {
        if (otherSettings)
            regenerateWithOtherSettings(turnId);
        else
            regenerate(turnId, options_ ? options_() : DecodingOptions{});
    });
    connect(view, &ConversationView::versionRequested, this, &ChatController::switchVersion);
    connect(view, &ConversationView::compareRequested, this, &ChatController::compare);
}

ChatController::~ChatController() { flushSaves(); }

void ChatController::flushSaves() { saver_->flush(); }

ImageDocument* ChatController::current() { return library_->current(); }

bool ChatController::writable(const ImageDocument* document) const
{
    return document && (!document->conversation || document->sessionLock);
}

void ChatController::setModel(const ModelInfo* info)
{
    if (info)
        model_ = *info;
    else
        model_.reset();
    showCurrent();
}

void ChatController::setBusy(bool busy)
{
    pane_->setBusy(busy);
    updateCanAsk();
}

void ChatController::save(const Conversation& conversation) { saver_->save(conversation); }

void ChatController::showCurrent()
{
    ImageDocument* document = current();
    const int generating = streaming_ && document && streaming_->imageId == document->id ? streaming_->turnId : 0;
    pane_->showConversation(document ? document->conversation.get() : nullptr, generating, !writable(document),
                            document && model_ && model_->canGenerate && !document->image.isNull());
    if (generating)
        pane_->appendAnswer(generating, streaming_->text);
    if (document && document->conversation)
        showNotices(*document);
    else
        pane_->hideNotice();
    updateCanAsk();
    if (!document || !document->conversation)
        refreshRecent();
}

void ChatController::showNotices(const ImageDocument& document)
{
    const Conversation& c = *document.conversation;
    const QString needed = text(c.model.name);
    if (document.image.isNull()) {
        pane_->showNotice(tr("The image of this conversation is not at %1 any more, or it changed (its SHA-256 differs). "
                             "Show where it is now to continue the conversation.")
                              .arg(text(c.image.path)),
                          tr("Locate Image…"), [this] {
                              const QString path = QFileDialog::getOpenFileName(window_, tr("Where is the image now?"));
                              if (!path.isEmpty())
                                  locateImage(path);
                          });
    } else if (!document.sessionLock) {
        pane_->showNotice(tr("This conversation is open in another QueryLens (a window or `querylens chat`): it is shown "
                             "here read-only."));
    } else if (!model_ || model_->name != c.model.name) {
        const QString loaded = model_ ? text(model_->name) : QString();
        if (modelFolderPresent(c.model.folder)) {
            const QString folder = text(c.model.folder);
            pane_->showNotice(model_ ? tr("This conversation was with %1; new answers would come from %2.").arg(needed, loaded)
                                     : tr("This conversation was with %1.").arg(needed),
                              tr("Load %1").arg(QFileInfo(folder).fileName()), [this, folder] { emit modelLoadRequested(folder); });
        } else {
            pane_->showNotice(tr("This conversation needs %1 (it was at %2), which is not on this machine. Download it and "
                                 "open it with File → Open Model to continue with it%3.")
                                  .arg(needed, text(c.model.folder),
                                       model_ ? tr("; new answers would otherwise come from %1").arg(loaded) : QString()));
        }
    } else {
        pane_->hideNotice();
    }
}

void ChatController::updateCanAsk()
{
    const ImageDocument* document = library_->current();
    QString why;
    if (!document)
        why = tr("Open an image (Ctrl+O), or drop one here.");
    else if (!model_)
        why = tr("Open a model first (Ctrl+M).");
    else if (!model_->canGenerate)  // an image-text matching model has no language model
        why = QString::fromStdString(capabilitySummary(*model_));
    else if (document->image.isNull())
        why = tr("The image is missing.");
    else if (!writable(document))
        why = tr("Read-only: open in another QueryLens.");
    // Another job (a caption) may run: the question waits its turn on the worker. One answer at
    // a time, though: the next question follows it.
    pane_->setCanAsk(why.isEmpty() && !streaming_, why);
}

void ChatController::refreshRecent()
{
    auto* watcher = new QFutureWatcher<std::vector<SessionSummary>>(this);
    connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher] {
        std::vector<SessionSummary> sessions = watcher->result();
        watcher->deleteLater();
        // Sessions open in this window are not offered again.
        for (const ImageDocument& d : library_->documents())
            if (d.conversation)
                sessions.erase(std::remove_if(sessions.begin(), sessions.end(),
                                              [&](const SessionSummary& s) { return s.name == d.conversation->name; }),
                               sessions.end());
        if (sessions.size() > 12)
            sessions.resize(12);
        pane_->setRecentSessions(sessions);
        emit recentSessionsShown();
    });
    const SessionStore store = store_;
    watcher->setFuture(QtConcurrent::run([store] { return store.list(); }));
}

void ChatController::startConversation(ImageDocument& document)
{
    auto c = std::make_shared<Conversation>();
    const QString base = QFileInfo(document.file.isEmpty() ? document.path : document.file).completeBaseName();
    c->name = store_.uniqueName(QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss-")).toStdString() +
                                base.toStdString());
    c->created = isoTimeNow();
    c->image = {document.file.toStdString(), document.sha256.toStdString(), document.image.width(), document.image.height()};
    if (model_)
        c->model = {model_->name, model_->folder, model_->languageModel, precisionName(model_->precision)};
    document.sessionLock = SessionLock::tryAcquire(store_, c->name);
    document.conversation = std::move(c);
}

void ChatController::startTurn(ImageDocument& document, int parent, const QString& question, const DecodingOptions& options)
{
    Conversation& c = *document.conversation;
    const int turnId = c.addTurn(parent, question.toStdString(), options, model_ ? model_->name : std::string(), isoTimeNow());
    if (model_ && c.model.name != model_->name)
        c.model = {model_->name, model_->folder, model_->languageModel, precisionName(model_->precision)};
    save(c);  // in progress: a crash from here on leaves the turn marked so
    streaming_ = Streaming{document.id, turnId, {}};
    if (document.id == library_->currentId())
        showCurrent();
    updateCanAsk();
    emit generationRequested(document.id, turnId, question, c.historyUpTo(parent), options);
}

void ChatController::ask(const QString& question, int editedTurn)
{
    ImageDocument* document = current();
    if (!document || !model_ || document->image.isNull() || streaming_ || !writable(document) || question.trimmed().isEmpty())
        return;
    if (!document->conversation)
        startConversation(*document);
    int parent = document->conversation->activeLeaf();
    if (editedTurn != 0)
        if (const Turn* t = document->conversation->find(editedTurn))
            parent = t->parent;  // the edited question becomes a new version beside the old one
    startTurn(*document, parent, question.trimmed(), options_ ? options_() : DecodingOptions{});
}

void ChatController::regenerate(int turnId, const DecodingOptions& options)
{
    ImageDocument* document = current();
    if (!document || !document->conversation || !model_ || streaming_ || !writable(document) || document->image.isNull())
        return;
    const Turn* t = document->conversation->find(turnId);
    if (!t)
        return;
    const QString question = text(t->question);
    startTurn(*document, t->parent, question, options);
}

void ChatController::regenerateWithOtherSettings(int turnId)
{
    const ImageDocument* document = current();
    if (!document || !document->conversation)
        return;
    const Turn* t = document->conversation->find(turnId);
    DecodingOptions options;
    if (t && askDecodingOptions(window_, t->options, options))
        regenerate(turnId, options);
}

bool ChatController::regenerateLast()
{
    const ImageDocument* document = current();
    if (!document || !document->conversation || document->conversation->empty())
        return false;
    regenerate(document->conversation->activeLeaf(), options_ ? options_() : DecodingOptions{});
    return true;
}

void ChatController::editLast()
{
    const ImageDocument* document = current();
    if (!document || !document->conversation || streaming_ || !writable(document))
        return;
    if (const Turn* t = document->conversation->find(document->conversation->activeLeaf()))
        pane_->beginEdit(t->id, text(t->question));
}

void ChatController::switchVersion(int turnId, int delta)
{
    ImageDocument* document = current();
    if (!document || !document->conversation || streaming_ || !writable(document))
        return;
    document->conversation->switchSibling(turnId, delta);
    save(*document->conversation);
    showCurrent();
}

void ChatController::newConversation()
{
    ImageDocument* document = current();
    if (!document || streaming_)
        return;
    document->conversation.reset();
    document->sessionLock.reset();
    pane_->cancelEdit();
    showCurrent();
    pane_->focusQuestion();
}

bool ChatController::openSession(const QString& name)
{
    // Already open here: show it.
    for (const ImageDocument& d : library_->documents())
        if (d.conversation && d.conversation->name == name.toStdString()) {
            library_->setCurrent(d.id);
            return true;
        }
    std::shared_ptr<SessionLock> lock;
    auto conversation = std::make_shared<Conversation>();
    try {
        lock = SessionLock::tryAcquire(store_, name.toStdString());
        *conversation = store_.load(name.toStdString());
    } catch (const Error& e) {
        emit errorMessage(text(e.what()));
        return false;
    }
    if (lock) {
        // Nobody else writes it, so a turn in progress was cut off when its program ended.
        if (const int cut = conversation->markInterrupted(); cut > 0) {
            save(*conversation);
            emit infoMessage(cut == 1 ? tr("An answer of this conversation was interrupted when QueryLens last ended; the "
                                           "turns before it are intact. Regenerate it to answer again.")
                                      : tr("%1 answers of this conversation were interrupted when QueryLens last ended; "
                                           "the turns before them are intact.")
                                            .arg(cut));
        }
    }
    emit sessionImageRequested(text(conversation->image.path), conversation, lock);
    return true;
}

void ChatController::locateImage(const QString& path)
{
    ImageDocument* document = current();
    if (!document || !document->conversation)
        return;
    emit sessionImageRequested(QFileInfo(path).absoluteFilePath(), document->conversation, document->sessionLock);
}

void ChatController::deleteSession(const QString& name)
{
    for (const ImageDocument& d : library_->documents())
        if (d.conversation && d.conversation->name == name.toStdString()) {
            if (ImageDocument* open = library_->find(d.id)) {
                open->conversation.reset();
                open->sessionLock.reset();
            }
            break;
        }
    flushSaves();  // a queued save must not bring it back
    try {
        store_.remove(name.toStdString());
    } catch (const Error& e) {
        emit errorMessage(text(e.what()));
    }
    showCurrent();
}

void ChatController::exportCurrent(const QString& path, bool markdown)
{
    const ImageDocument* document = current();
    if (!document || !document->conversation) {
        emit errorMessage(tr("There is no conversation to export: ask a question first."));
        return;
    }
    const Conversation& c = *document->conversation;
    saver_->writeFile(path, markdown ? sessionToMarkdown(c) : sessionToJson(c));
}

void ChatController::importFile(const QString& path)
{
    auto* watcher = new QFutureWatcher<QString>(this);
    connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher] {
        const QString result = watcher->result();
        watcher->deleteLater();
        if (result.startsWith(QLatin1Char('!')))
            emit errorMessage(result.mid(1));
        else
            openSession(result);
    });
    const SessionStore store = store_;
    watcher->setFuture(QtConcurrent::run([store, path]() -> QString {
        try {
            return text(store.importFile(path.toStdString()));
        } catch (const std::exception& e) {
            return QLatin1Char('!') + text(e.what());
        }
    }));
}

void ChatController::compare(int turnId)
{
    ImageDocument* document = current();
    if (!document || !document->conversation)
        return;
    if (!compare_) {
        compare_ = new CompareDialog(window_);
        compare_->setAttribute(Qt::WA_DeleteOnClose);
    }
    compare_->setSources(document->image, document->encoding, *document->conversation);
    // The other answer: a sibling if there is one (why did the two versions differ?), else the
    // answer before it.
    const Conversation& c = *document->conversation;
    int other = 0;
    if (const Turn* t = c.find(turnId)) {
        for (int sibling : c.children(t->parent))
            if (sibling != turnId && c.find(sibling)->result.sequences.size() > 0)
                other = sibling;
        if (other == 0 && t->parent != 0)
            other = t->parent;
    }
    compare_->setAnswers(turnId, other);
    compare_->show();
    compare_->raise();
}

CompareDialog* ChatController::compareDialog() const { return compare_.data(); }

void ChatController::answerToken(int imageId, int turnId, const QString& delta)
{
    if (!streaming_ || streaming_->imageId != imageId || streaming_->turnId != turnId)
        return;
    streaming_->text += delta;
    if (imageId == library_->currentId())
        pane_->appendAnswer(turnId, delta);
}

void ChatController::endTurn(int imageId, int turnId, const std::function<void(Turn&)>& record)
{
    streaming_.reset();
    updateCanAsk();
    ImageDocument* document = library_->find(imageId);
    if (!document || !document->conversation || !document->conversation->find(turnId))
        return;
    Conversation& c = *document->conversation;
    record(c.turn(turnId));
    c.updated = isoTimeNow();
    save(c);
    if (imageId != library_->currentId())
        return;
    showCurrent();
    if (compare_)
        compare_->setSources(document->image, document->encoding, c);
}

void ChatController::answerFinished(int imageId, int turnId, const GenerationResult& result)
{
    endTurn(imageId, turnId, [&](Turn& t) {
        t.result = result;
        t.answer = result.sequences.front().text;
        t.state = result.stopReason == StopReason::Cancelled ? TurnState::Stopped : TurnState::Complete;
    });
    emit answerCompleted(imageId);
}

void ChatController::answerFailed(int imageId, int turnId, const QString& message, bool cancelled)
{
    // A stop before any result (while the image was encoded, say) keeps what was streamed.
    const QString partial = streaming_ ? streaming_->text.trimmed() : QString();
    endTurn(imageId, turnId, [&](Turn& t) {
        t.answer = partial.toStdString();
        t.state = cancelled ? TurnState::Stopped : TurnState::Failed;
        if (!cancelled)
            t.error = message.toStdString();
    });
}

}  // namespace querylens::ui
