#include "chat/session_browser.h"

#include <QDialogButtonBox>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QTreeWidget>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

namespace querylens::ui {

namespace {

enum Column { Title, Match, Image, Model, Updated, Turns };

QString searchableText(const Conversation& c)
{
    QStringList parts{QString::fromStdString(c.title)};
    for (const Turn& t : c.turns())
        parts << QString::fromStdString(t.question) << QString::fromStdString(t.answer);
    return parts.join(QLatin1Char('\n'));
}

// The text around the first word found, on one line.
QString context(const QString& text, const QString& word)
{
    const int at = text.indexOf(word, 0, Qt::CaseInsensitive);
    if (at < 0 || word.isEmpty())
        return {};
    const int from = std::max(0, at - 30);
    QString snippet = text.mid(from, word.size() + 60).replace(QLatin1Char('\n'), QStringLiteral(" · "));
    return (from > 0 ? QStringLiteral("…") : QString()) + snippet + QStringLiteral("…");
}

}  // namespace

SessionBrowser::SessionBrowser(const SessionStore& store, QWidget* parent)
    : QDialog(parent), store_(store), search_(new QLineEdit), list_(new QTreeWidget), status_(new QLabel),
      open_(new QPushButton(tr("Open"))), delete_(new QPushButton(tr("Delete…")))
{
    setObjectName(QStringLiteral("sessionBrowser"));
    setWindowTitle(tr("Conversations"));
    resize(980, 560);
    search_->setObjectName(QStringLiteral("sessionSearch"));
    search_->setPlaceholderText(tr("Search the questions and answers of every conversation"));
    search_->setClearButtonEnabled(true);
    connect(search_, &QLineEdit::textChanged, this, &SessionBrowser::applyFilter);
    list_->setObjectName(QStringLiteral("sessionList"));
    list_->setHeaderLabels({tr("Conversation"), tr("Match"), tr("Image"), tr("Model"), tr("Updated"), tr("Turns")});
    list_->setRootIsDecorated(false);
    list_->setAlternatingRowColors(true);
    list_->header()->setSectionResizeMode(Title, QHeaderView::Stretch);
    list_->header()->setSectionResizeMode(Match, QHeaderView::Stretch);
    connect(list_, &QTreeWidget::itemActivated, this, [this] {
        if (const QString name = selectedName(); !name.isEmpty())
            emit openRequested(name);
    });
    connect(list_, &QTreeWidget::currentItemChanged, this, [this] {
        open_->setEnabled(!selectedName().isEmpty());
        delete_->setEnabled(list_->currentItem() != nullptr);
    });

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    auto* import = buttons->addButton(tr("Import…"), QDialogButtonBox::ActionRole);
    buttons->addButton(delete_, QDialogButtonBox::ActionRole);
    buttons->addButton(open_, QDialogButtonBox::AcceptRole);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(import, &QPushButton::clicked, this, &SessionBrowser::importRequested);
    connect(open_, &QPushButton::clicked, this, [this] {
        if (const QString name = selectedName(); !name.isEmpty())
            emit openRequested(name);
    });
    connect(delete_, &QPushButton::clicked, this, [this] {
        QTreeWidgetItem* item = list_->currentItem();
        if (!item)
            return;
        const QString name = item->data(Title, Qt::UserRole).toString();
        if (QMessageBox::question(this, tr("Delete conversation"),
                                  tr("Delete the conversation “%1” (session %2)? This cannot be undone.")
                                      .arg(item->text(Title), name)) == QMessageBox::Yes)
            emit deleteRequested(name);
    });

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(search_);
    layout->addWidget(list_, 1);
    status_->setForegroundRole(QPalette::PlaceholderText);
    layout->addWidget(status_);
    layout->addWidget(buttons);
    reload();
}

void SessionBrowser::reload()
{
    status_->setText(tr("Reading the conversations in %1…").arg(QString::fromStdString(store_.folder())));
    auto* watcher = new QFutureWatcher<std::vector<Entry>>(this);
    connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher] {
        entries_ = watcher->result();
        watcher->deleteLater();
        applyFilter();
        emit loaded();
    });
    const SessionStore store = store_;
    watcher->setFuture(QtConcurrent::run([store] {
        std::vector<Entry> entries;
        for (SessionSummary& s : store.list()) {
            Entry entry{s, {}};
            if (s.problem.empty()) {
                try {
                    entry.text = searchableText(store.load(s.name));
                } catch (const std::exception& e) {
                    entry.summary.problem = e.what();
                }
            }
            entries.push_back(std::move(entry));
        }
        return entries;
    }));
}

void SessionBrowser::setFilter(const QString& text) { search_->setText(text); }

void SessionBrowser::applyFilter()
{
    const QStringList words = search_->text().simplified().split(QLatin1Char(' '), Qt::SkipEmptyParts);
    list_->clear();
    int shown = 0;
    for (const Entry& e : entries_) {
        const bool matches = std::all_of(words.begin(), words.end(),
                                         [&](const QString& w) { return e.text.contains(w, Qt::CaseInsensitive); });
        if (!matches)
            continue;
        const SessionSummary& s = e.summary;
        auto* item = new QTreeWidgetItem(list_);
        item->setData(Title, Qt::UserRole, QString::fromStdString(s.name));
        item->setData(Title, Qt::UserRole + 1, s.problem.empty());
        if (!s.problem.empty()) {
            item->setText(Title, QString::fromStdString(s.name));
            item->setText(Match, tr("cannot be read: %1").arg(QString::fromStdString(s.problem)));
            item->setForeground(Match, palette().color(QPalette::PlaceholderText));
        } else {
            item->setText(Title, QString::fromStdString(s.title));
            item->setText(Match, words.isEmpty() ? QString() : context(e.text, words.front()));
            item->setText(Image, QFileInfo(QString::fromStdString(s.imagePath)).fileName());
            item->setText(Model, QString::fromStdString(s.model));
            item->setText(Updated, QString::fromStdString(s.updated).left(16).replace(QLatin1Char('T'), QLatin1Char(' ')));
            item->setText(Turns, QString::number(s.turns));
        }
        item->setToolTip(Title, QString::fromStdString(s.path));
        ++shown;
    }
    status_->setText(words.isEmpty() ? tr("Conversations in %1: %2").arg(QString::fromStdString(store_.folder())).arg(shown)
                                     : tr("%1 of %2 conversations match").arg(shown).arg(entries_.size()));
    if (list_->topLevelItemCount() > 0)
        list_->setCurrentItem(list_->topLevelItem(0));
    open_->setEnabled(!selectedName().isEmpty());
    delete_->setEnabled(list_->currentItem() != nullptr);
}

QString SessionBrowser::selectedName() const
{
    const QTreeWidgetItem* item = list_->currentItem();
    return item && item->data(Title, Qt::UserRole + 1).toBool() ? item->data(Title, Qt::UserRole).toString() : QString();
}

QStringList SessionBrowser::visibleNames() const
{
    QStringList names;
    for (int i = 0; i < list_->topLevelItemCount(); ++i)
        names << list_->topLevelItem(i)->data(Title, Qt::UserRole).toString();
    return names;
}

}  // namespace querylens::ui
