#include "chat/question_edit.h"

#include <QFileInfo>
#include <QImageReader>
#include <QKeyEvent>
#include <QMimeData>

namespace querylens::ui {

namespace {

bool isSend(const QKeyEvent* key)
{
    const bool enter = key->key() == Qt::Key_Return || key->key() == Qt::Key_Enter;
    return enter && !(key->modifiers() & Qt::ShiftModifier);
}

}  // namespace

QStringList imageFilesIn(const QMimeData* mime)
{
    QStringList paths;
    if (!mime || !mime->hasUrls())
        return paths;
    const QList<QByteArray> formats = QImageReader::supportedImageFormats();
    for (const QUrl& url : mime->urls()) {
        const QFileInfo file(url.toLocalFile());
        if (url.isLocalFile() && file.isFile() && formats.contains(file.suffix().toLower().toLatin1()))
            paths << file.absoluteFilePath();
    }
    return paths;
}

QuestionEdit::QuestionEdit(QWidget* parent) : QPlainTextEdit(parent)
{
    setTabChangesFocus(true);
    setLineWrapMode(QPlainTextEdit::WidgetWidth);
    setPlaceholderText(tr("Ask about the image, e.g. “what is on the couch?” — Enter sends, Shift+Enter for a new line"));
}

QSize QuestionEdit::sizeHint() const
{
    // Room for three lines: questions are short, but an edited one may be longer.
    const int lines = 3;
    return {QPlainTextEdit::sizeHint().width(),
            fontMetrics().lineSpacing() * lines + int(document()->documentMargin() * 2) + frameWidth() * 2};
}

bool QuestionEdit::event(QEvent* event)
{
    // The window's Esc (Stop) and Ctrl+Enter (Ask) shortcuts would take these keys first.
    if (event->type() == QEvent::ShortcutOverride) {
        auto* key = static_cast<QKeyEvent*>(event);
        if (isSend(key) || (key->key() == Qt::Key_Escape && editing_)) {
            event->accept();
            return true;
        }
    }
    return QPlainTextEdit::event(event);
}

void QuestionEdit::keyPressEvent(QKeyEvent* event)
{
    if (isSend(event)) {
        emit sendRequested();
        return;
    }
    if (event->key() == Qt::Key_Up && event->modifiers() == Qt::NoModifier && toPlainText().isEmpty()) {
        emit editLastRequested();
        return;
    }
    if (event->key() == Qt::Key_Escape && editing_) {
        emit editCancelled();
        return;
    }
    QPlainTextEdit::keyPressEvent(event);
}

bool QuestionEdit::canInsertFromMimeData(const QMimeData* source) const
{
    return source->hasImage() || !imageFilesIn(source).isEmpty() || QPlainTextEdit::canInsertFromMimeData(source);
}

void QuestionEdit::insertFromMimeData(const QMimeData* source)
{
    if (const QStringList files = imageFilesIn(source); !files.isEmpty()) {
        emit filesPasted(files);
        return;
    }
    if (source->hasImage() && !source->hasText()) {
        emit imagePasted(qvariant_cast<QImage>(source->imageData()));
        return;
    }
    QPlainTextEdit::insertFromMimeData(source);
}

}  // namespace querylens::ui
