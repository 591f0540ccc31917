#pragma once
// Help > Keyboard Shortcuts: every action's keys, read from the actions themselves (so the list
// cannot go stale), and the question box's own keys.

#include <QDialog>

class QAction;
class QTableWidget;

namespace querylens::ui {

class ShortcutsDialog : public QDialog {
    Q_OBJECT
public:
    ShortcutsDialog(const QList<QAction*>& actions, QWidget* parent = nullptr);
    QTableWidget* table() const { return table_; }

private:
    QTableWidget* table_;
};

}  // namespace querylens::ui
