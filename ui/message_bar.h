#pragma once
// A strip at the top of the window for errors and notices, where the user is looking: the text
// can be selected and copied, and it stays until dismissed or replaced.

#include <QFrame>

class QLabel;

namespace querylens::ui {

class MessageBar : public QFrame {
    Q_OBJECT
public:
    enum class Kind { Info, Warning, Error };
    explicit MessageBar(QWidget* parent = nullptr);

    void show(Kind kind, const QString& text);
    QString text() const;

private:
    QLabel* icon_;
    QLabel* label_;
};

}  // namespace querylens::ui
