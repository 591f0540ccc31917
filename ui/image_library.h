#pragma once
// The images the user has opened in this run, each with its caption and conversation.

#include "querylens/conversation.h"
#include "querylens/session_store.h"
#include "worker/worker_types.h"

#include <QIcon>
#include <QImage>
#include <QList>
#include <QObject>
#include <QString>

namespace querylens::ui {

struct ImageDocument {
    int id = 0;
    QString path;           // file path, or a label such as "Pasted image 2"
    QString file;           // the image's file (a pasted image is kept in the sessions folder), or empty
    QString sha256;         // of the file's bytes: how a session recognises its image
    QImage image;           // oriented for display; null while a session's image is missing
    QIcon thumbnail;
    QString caption;
    GenerationResult captionResult;
    bool captionFinished = false;
    // The conversation about it (null until the first question or an opened session), and the
    // lock that makes this window its writer (null: someone else writes it; it is read-only).
    std::shared_ptr<Conversation> conversation;
    std::shared_ptr<SessionLock> sessionLock;
    ImageEncodingPtr encoding;
};

class ImageLibrary : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;

    // A null image: a document whose image is missing (a saved session's, moved away).
    int add(const QString& path, const QImage& image);
    static QIcon thumbnailOf(const QImage& image);
    void remove(int id);
    ImageDocument* find(int id);
    ImageDocument* current();
    int currentId() const { return current_; }
    void setCurrent(int id);
    // Forgets every caption and encoding (they belong to the model that made them); the
    // conversations stay, and go on with the next model (each turn names the model that answered).
    void resetResults();
    const QList<ImageDocument>& documents() const { return documents_; }
    bool isEmpty() const { return documents_.isEmpty(); }

signals:
    void added(int id);
    void removed(int id);
    void currentChanged(int id);

private:
    QList<ImageDocument> documents_;
    int current_ = 0;
    int nextId_ = 1;
};

}  // namespace querylens::ui
