#include "download/download_panel.h"

#include "querylens/checkpoints.h"

#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

namespace querylens::ui {

namespace {

constexpr double kUsableShareOfFreeMemory = 0.9;  // as the model dialog's estimate
constexpr int kPermille = 1000;                  // progress bars count thousandths

enum Column { Name, Download, Fp32, Bf16, Int8, Here, ColumnCount };

// Sizes as the Hub and `querylens download` write them (powers of 1000: "15.5 GB").
QString sizeText(qint64 bytes)
{
    return bytes < 0 ? QObject::tr("unknown") : QString::fromStdString(hub::formatSize(std::uint64_t(bytes)));
}

int permille(std::uint64_t part, std::uint64_t whole)
{
    return whole ? int(double(part) / double(whole) * kPermille) : kPermille;
}

QString durationText(double seconds)
{
    if (seconds < 0)
        return QObject::tr("unknown");
    const qint64 s = qint64(seconds + 0.5);
    if (s >= 3600)
        return QObject::tr("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60);
    if (s >= 60)
        return QObject::tr("%1 min %2 s").arg(s / 60).arg(s % 60);
    return QObject::tr("%1 s").arg(s);
}

}  // namespace

DownloadPanel::DownloadPanel(DownloadManager* manager, QWidget* parent)
    : QWidget(parent), manager_(manager), catalogue_(new HubCatalogue(manager->settings(), this)),
      table_(new QTableWidget(0, ColumnCount, this)), repoField_(new QLineEdit(this)),
      download_(new QPushButton(tr("Download"), this)), unfinished_(new QLabel(this)), fileLabel_(new QLabel(this)),
      fileBar_(new QProgressBar(this)), totalBar_(new QProgressBar(this)), status_(new QLabel(this)),
      pause_(new QPushButton(tr("Pause"), this)), resume_(new QPushButton(tr("Resume"), this)),
      cancel_(new QPushButton(tr("Cancel download"), this)), open_(new QPushButton(tr("Open"), this))
{
    table_->setObjectName(QStringLiteral("catalogueTable"));
    repoField_->setObjectName(QStringLiteral("repoField"));
    download_->setObjectName(QStringLiteral("downloadButton"));
    pause_->setObjectName(QStringLiteral("pauseButton"));
    resume_->setObjectName(QStringLiteral("resumeButton"));
    cancel_->setObjectName(QStringLiteral("cancelButton"));
    open_->setObjectName(QStringLiteral("openButton"));
    fileBar_->setObjectName(QStringLiteral("fileProgress"));
    totalBar_->setObjectName(QStringLiteral("totalProgress"));
    status_->setObjectName(QStringLiteral("downloadStatus"));
    unfinished_->setObjectName(QStringLiteral("unfinishedDownloads"));

    const QString available = sizeText(qint64(availableMemoryBytes()));
    auto* heading = new QLabel(tr("BLIP-2 on the Hugging Face Hub. Sizes come from the Hub; memory is what the weights "
                                  "take at each precision, against %1 available now. Downloads go to %2, shared with "
                                  "Python's huggingface_hub.")
                                   .arg(available, QString::fromStdString(manager->settings().cacheFolder)),
                               this);
    heading->setWordWrap(true);
    table_->setHorizontalHeaderLabels({tr("Repository"), tr("Download"), tr("fp32"), tr("bf16"), tr("int8"), tr("Here")});
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->horizontalHeader()->setSectionResizeMode(Name, QHeaderView::Stretch);
    table_->verticalHeader()->hide();
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    repoField_->setPlaceholderText(tr("org/name or org/name@revision"));
    repoField_->setClearButtonEnabled(true);
    unfinished_->setWordWrap(true);
    fileLabel_->setWordWrap(true);
    status_->setWordWrap(true);
    status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    // Room for an error of a few lines: a word-wrapped label in a full dialog is otherwise squeezed.
    status_->setMinimumHeight(3 * fontMetrics().lineSpacing());
    status_->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    for (QProgressBar* bar : {fileBar_, totalBar_}) {
        bar->setRange(0, kPermille);
        bar->setValue(0);
    }
    fileBar_->setFormat(tr("file %p%"));
    totalBar_->setFormat(tr("total %p%"));

    auto* field = new QHBoxLayout;
    field->addWidget(new QLabel(tr("Repository:"), this));
    field->addWidget(repoField_, 1);
    field->addWidget(download_);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(pause_);
    buttons->addWidget(resume_);
    buttons->addWidget(cancel_);
    buttons->addStretch(1);
    buttons->addWidget(open_);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(heading);
    layout->addWidget(table_, 1);
    layout->addLayout(field);
    layout->addWidget(unfinished_);
    layout->addWidget(fileLabel_);
    layout->addWidget(fileBar_);
    layout->addWidget(totalBar_);
    layout->addWidget(status_);
    layout->addLayout(buttons);

    buildCatalogue();
    showUnfinished();
    connect(table_, &QTableWidget::itemSelectionChanged, this, [this] {
        const int row = table_->currentRow();
        if (row >= 0)
            repoField_->setText(table_->item(row, Name)->data(Qt::UserRole).toString());
    });
    connect(repoField_, &QLineEdit::textChanged, this, &DownloadPanel::updateButtons);
    connect(repoField_, &QLineEdit::returnPressed, this, &DownloadPanel::startDownload);
    connect(download_, &QPushButton::clicked, this, &DownloadPanel::startDownload);
    connect(pause_, &QPushButton::clicked, manager_, &DownloadManager::pause);
    connect(resume_, &QPushButton::clicked, this, &DownloadPanel::resumeDownload);
    connect(cancel_, &QPushButton::clicked, this, &DownloadPanel::cancelDownload);
    connect(open_, &QPushButton::clicked, this, [this] { emit openRequested(finishedFolder_); });
    connect(catalogue_, &HubCatalogue::entryUpdated, this, &DownloadPanel::showEntry);

    connect(manager_, &DownloadManager::started, this, [this](const QString& repo) {
        pausedRepo_.clear();
        finishedFolder_.clear();
        repoField_->setText(repo);
        fileLabel_->setText(tr("%1: asking the Hub for its files…").arg(repo));
        status_->clear();
        fileBar_->setValue(0);
        totalBar_->setValue(0);
        updateButtons();
    });
    connect(manager_, &DownloadManager::progress, this, &DownloadPanel::showStatus);
    connect(manager_, &DownloadManager::finished, this, [this](const QString& repo, const QString& folder, const QString& warning) {
        finishedFolder_ = folder;
        fileBar_->setValue(kPermille);
        totalBar_->setValue(kPermille);
        fileLabel_->setText(tr("%1 is downloaded and verified.").arg(repo));
        status_->setText(tr("In %1").arg(folder) + (warning.isEmpty() ? QString() : QStringLiteral("\n") + warning));
        showUnfinished();
        buildCatalogue();
        updateButtons();
    });
    connect(manager_, &DownloadManager::paused, this, [this](const QString& repo) {
        pausedRepo_ = repo;
        if (!fileLabel_->text().isEmpty())
            fileLabel_->setText(fileLabel_->text().section(QStringLiteral(", "), 0, -2) + tr(", paused"));
        status_->setText(tr("Paused. What was downloaded is kept: Resume continues from there, now or after a restart "
                            "(also `querylens download %1`).")
                             .arg(repo));
        showUnfinished();
        updateButtons();
    });
    connect(manager_, &DownloadManager::cancelled, this, [this](const QString& repo) {
        pausedRepo_.clear();
        fileBar_->setValue(0);
        totalBar_->setValue(0);
        fileLabel_->clear();
        status_->setText(tr("The download of %1 was cancelled and its partial files removed.").arg(repo));
        showUnfinished();
        updateButtons();
    });
    connect(manager_, &DownloadManager::failed, this, [this](const QString& repo, const QString& message) {
        pausedRepo_.clear();  // showUnfinished() offers it again if some of it was kept
        if (manager_->lastStatus().progress.fileCount == 0)
            fileLabel_->clear();  // it never got to a file
        status_->setText(tr("The download of %1 stopped: %2").arg(repo, message));
        status_->setStyleSheet(QStringLiteral("color: #d33;"));
        showUnfinished();
        updateButtons();
    });
    connect(manager_, &DownloadManager::started, this, [this] { status_->setStyleSheet(QString()); });
    if (manager_->busy())
        showStatus(manager_->lastStatus());
    updateButtons();
}

void DownloadPanel::refreshCatalogue() { catalogue_->refresh(); }

QString DownloadPanel::repoText() const { return repoField_->text().trimmed(); }

void DownloadPanel::setRepoText(const QString& repo) { repoField_->setText(repo); }

void DownloadPanel::buildCatalogue()
{
    table_->setRowCount(0);
    for (const CatalogueEntry& entry : catalogue_->entries()) {
        const int row = table_->rowCount();
        table_->insertRow(row);
        auto* name = new QTableWidgetItem(QStringLiteral("%1  (%2)").arg(entry.repo, entry.languageModel));
        name->setData(Qt::UserRole, entry.repo);
        table_->setItem(row, Name, name);
        for (int column = Download; column < ColumnCount; ++column)
            table_->setItem(row, column, new QTableWidgetItem);
        showEntry(entry);
    }
}

void DownloadPanel::showEntry(const CatalogueEntry& entry)
{
    for (int row = 0; row < table_->rowCount(); ++row) {
        if (table_->item(row, Name)->data(Qt::UserRole).toString() != entry.repo)
            continue;
        table_->item(row, Download)->setText(sizeText(entry.downloadBytes));
        if (entry.fetched.isValid())
            table_->item(row, Download)->setToolTip(tr("from the Hub, %1").arg(entry.fetched.toLocalTime().toString()));
        const double usable = kUsableShareOfFreeMemory * double(availableMemoryBytes());
        for (int p = 0; p < 3; ++p) {
            QTableWidgetItem* item = table_->item(row, Fp32 + p);
            const qint64 bytes = entry.memoryBytes[p];
            if (bytes < 0) {
                item->setText(tr("unknown"));
                continue;
            }
            const bool fits = double(bytes) <= usable;
            item->setText(sizeText(bytes) + (fits ? QStringLiteral("  ✓") : QStringLiteral("  ✗")));
            item->setForeground(fits ? QColor(0x2e, 0x7d, 0x32) : QColor(0xd3, 0x33, 0x33));
            item->setToolTip(fits ? tr("fits in the memory available now") : tr("more than the memory available now"));
        }
        const auto ref = hub::parseRepoRef(entry.repo.toStdString());
        const auto& settings = manager_->settings();
        QString here;
        if (ref && hub::cachedSnapshotFolder(settings.cacheFolder, settings.stateFolder, *ref))
            here = tr("downloaded");
        for (const auto& download : hub::findIncompleteDownloads(settings.cacheFolder, settings.stateFolder))
            if (ref && download.repo == ref->repo && download.revision == ref->revision)
                here = QString::fromStdString(download.describe());
        table_->item(row, Here)->setText(here);
    }
}

void DownloadPanel::showUnfinished()
{
    const auto& settings = manager_->settings();
    QStringList lines;
    for (const auto& download : hub::findIncompleteDownloads(settings.cacheFolder, settings.stateFolder)) {
        if (download.commit.empty())
            continue;  // partials of another tool: listed by `querylens models`, not ours to resume here
        const QString repo = QString::fromStdString(
            download.revision == "main" ? download.repo : download.repo + "@" + download.revision);
        if (repo == manager_->currentRepo())
            continue;
        lines << tr("%1 — %2").arg(repo, QString::fromStdString(download.describe()));
        if (pausedRepo_.isEmpty() && !manager_->busy())
            pausedRepo_ = repo;  // offered for resumption
    }
    unfinished_->setText(lines.isEmpty() ? QString() : tr("Unfinished downloads (Resume continues the first):\n") + lines.join('\n'));
    unfinished_->setVisible(!lines.isEmpty());
    updateButtons();
}

void DownloadPanel::showStatus(const DownloadStatus& status)
{
    const hub::DownloadProgress& p = status.progress;
    if (p.fileCount == 0)
        return;
    QString phase;
    switch (p.phase) {
    case hub::DownloadPhase::Downloading: phase = tr("downloading"); break;
    case hub::DownloadPhase::Verifying: phase = tr("verifying"); break;
    case hub::DownloadPhase::Hashing: phase = tr("checking what was downloaded before"); break;
    case hub::DownloadPhase::Waiting: phase = tr("waiting for another download of this file"); break;
    case hub::DownloadPhase::Retrying: phase = tr("retrying: %1").arg(QString::fromStdString(p.message)); break;
    }
    fileLabel_->setText(tr("%1 — file %2 of %3: %4 (%5 of %6), %7")
                            .arg(status.repo)
                            .arg(p.fileIndex + 1)
                            .arg(p.fileCount)
                            .arg(QString::fromStdString(p.file), sizeText(qint64(p.fileBytes)), sizeText(qint64(p.fileSize)), phase));
    fileBar_->setValue(permille(p.fileBytes, p.fileSize));
    totalBar_->setValue(permille(p.totalBytes, p.totalSize));
    status_->setText(tr("%1 of %2 — %3/s — %4 left")
                         .arg(sizeText(qint64(p.totalBytes)), sizeText(qint64(p.totalSize)),
                              sizeText(qint64(p.bytesPerSecond)), durationText(p.etaSeconds)));
}

void DownloadPanel::updateButtons()
{
    const bool busy = manager_->busy();
    download_->setEnabled(!busy && hub::parseRepoRef(repoText().toStdString()).has_value());
    pause_->setEnabled(busy);
    resume_->setEnabled(!busy && !pausedRepo_.isEmpty());
    cancel_->setEnabled(busy || !pausedRepo_.isEmpty());
    open_->setEnabled(!busy && !finishedFolder_.isEmpty());
}

void DownloadPanel::startDownload()
{
    if (!manager_->busy() && hub::parseRepoRef(repoText().toStdString()))
        manager_->start(repoText());
}

void DownloadPanel::resumeDownload()
{
    if (!pausedRepo_.isEmpty() && !manager_->busy())
        manager_->start(pausedRepo_);
}

void DownloadPanel::cancelDownload()
{
    if (manager_->busy()) {
        manager_->cancel();
        return;
    }
    // A paused download: forget it here (local files only; no network).
    if (const auto ref = hub::parseRepoRef(pausedRepo_.toStdString())) {
        hub::discardDownload(manager_->settings(), *ref);
        status_->setText(tr("The download of %1 was cancelled and its partial files removed.").arg(pausedRepo_));
    }
    pausedRepo_.clear();
    fileBar_->setValue(0);
    totalBar_->setValue(0);
    fileLabel_->clear();
    showUnfinished();
    buildCatalogue();
}

}  // namespace querylens::ui
