#pragma once
// The images the user has opened in this run, each with its caption and conversation.

#include "worker/worker_types.h"

#include <QIcon>
#include <QImage>
#include <QList>
#include <QObject>
#include <QString>

namespace querylens::ui {

struct ChatEntry {
    QString question;
    QString answer;
    GenerationResult result;
    bool finished = false;
};

struct ImageDocument {
    int id = 0;
    QString path;           // file path, or a label such as "Pasted image 2"
    QImage image;           // oriented for display
    QIcon thumbnail;
    QString caption;
    GenerationResult captionResult;
    bool captionFinished = false;
    QList<ChatEntry> chat;
    ImageEncodingPtr encoding;
};

class ImageLibrary : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;

    int add(const QString& path, const QImage& image);
    void remove(int id);
    ImageDocument* find(int id);
    ImageDocument* current();
    int currentId() const { return current_; }
    void setCurrent(int id);
    // Forgets every caption, conversation and encoding (they belong to the model that made them).
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
