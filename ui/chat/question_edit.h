#pragma once
// The question box: Enter (or Ctrl+Enter) sends, Shift+Enter starts a new line, Up in an empty
// box edits the last question, Esc while editing gives up the edit. An image pasted here (or a
// file of one) starts a conversation about it instead of becoming text.

#include <QPlainTextEdit>

namespace querylens::ui {

class QuestionEdit : public QPlainTextEdit {
    Q_OBJECT
public:
    explicit QuestionEdit(QWidget* parent = nullptr);

    void setEditing(bool editing) { editing_ = editing; }
    bool isEditing() const { return editing_; }
    QSize sizeHint() const override;

signals:
    void sendRequested();
    void editLastRequested();
    void editCancelled();
    void imagePasted(const QImage& image);
    void filesPasted(const QStringList& paths);

protected:
    bool event(QEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
    bool canInsertFromMimeData(const QMimeData* source) const override;
    void insertFromMimeData(const QMimeData* source) override;

private:
    bool editing_ = false;
};

// Local image files named by a drop or a paste (URLs or file paths), or empty.
QStringList imageFilesIn(const QMimeData* mime);

}  // namespace querylens::ui
