#include "chat/shortcuts_dialog.h"

#include <QAction>
#include <QDialogButtonBox>
#include <QHeaderView>
#include <QTableWidget>
#include <QVBoxLayout>

namespace querylens::ui {

ShortcutsDialog::ShortcutsDialog(const QList<QAction*>& actions, QWidget* parent)
    : QDialog(parent), table_(new QTableWidget)
{
    setObjectName(QStringLiteral("shortcutsDialog"));
    setWindowTitle(tr("Keyboard Shortcuts"));
    resize(560, 560);
    QList<QPair<QString, QString>> rows;
    for (const QAction* action : actions) {
        QStringList keys;
        for (const QKeySequence& key : action->shortcuts())
            keys << key.toString(QKeySequence::NativeText);
        if (!keys.isEmpty())
            rows.append({action->text().remove(QLatin1Char('&')).remove(QStringLiteral("…")), keys.join(tr(" or "))});
    }
    // The question box's keys are not actions: they depend on where the cursor is.
    rows.append({tr("Send the question (in the question box)"), tr("Enter")});
    rows.append({tr("New line in the question"), tr("Shift+Enter")});
    rows.append({tr("Edit the last question (in an empty question box)"), tr("Up")});
    rows.append({tr("Give up editing a question"), tr("Esc")});
    rows.append({tr("Continue a recent conversation (in the list)"), tr("Enter or double-click")});

    table_->setObjectName(QStringLiteral("shortcutsTable"));
    table_->setColumnCount(2);
    table_->setHorizontalHeaderLabels({tr("Action"), tr("Keys")});
    table_->setRowCount(int(rows.size()));
    for (int r = 0; r < rows.size(); ++r) {
        table_->setItem(r, 0, new QTableWidgetItem(rows[r].first));
        table_->setItem(r, 1, new QTableWidgetItem(rows[r].second));
    }
    table_->verticalHeader()->hide();
    table_->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
    table_->horizontalHeader()->setSectionResizeMode(1, QHeaderView::ResizeToContents);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->setSelectionMode(QAbstractItemView::NoSelection);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(table_);
    layout->addWidget(buttons);
}

}  // namespace querylens::ui
