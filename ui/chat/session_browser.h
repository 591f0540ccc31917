#pragma once
// All saved conversations, searchable (Ctrl+F): every word typed must appear in a session's
// title, questions or answers; the first match is shown in context. Open, delete, import.
// Sessions are read on a pool thread; the dialog never waits for the disk.

#include "querylens/session_store.h"

#include <QDialog>

class QLabel;
class QLineEdit;
class QPushButton;
class QTreeWidget;

namespace querylens::ui {

class SessionBrowser : public QDialog {
    Q_OBJECT
public:
    SessionBrowser(const SessionStore& store, QWidget* parent = nullptr);

    void reload();
    void setFilter(const QString& text);
    QLineEdit* searchField() const { return search_; }
    QTreeWidget* list() const { return list_; }
    QStringList visibleNames() const;

signals:
    void loaded();
    void openRequested(const QString& name);
    void deleteRequested(const QString& name);
    void importRequested();

private:
    struct Entry {
        SessionSummary summary;
        QString text;  // title, questions and answers, for searching
    };
    void applyFilter();
    QString selectedName() const;

    SessionStore store_;
    std::vector<Entry> entries_;
    QLineEdit* search_;
    QTreeWidget* list_;
    QLabel* status_;
    QPushButton* open_;
    QPushButton* delete_;
};

}  // namespace querylens::ui
