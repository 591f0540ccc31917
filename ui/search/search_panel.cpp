#include "search/search_panel.h"

#include "explorer/heatmap.h"
#include "image_file.h"

#include <QCheckBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPainter>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>

namespace querylens::ui {

namespace {

constexpr int kThumbnail = 176;

// A hit's picture: the image, and over it where the text is (its map), on a square tile.
QImage hitTile(const QString& path, const std::vector<float>& map, int grid, bool withMap)
{
    QImage tile(kThumbnail, kThumbnail, QImage::Format_ARGB32_Premultiplied);
    tile.fill(Qt::transparent);
    const DecodedImage decoded = decodeImageFile(path);
    if (!decoded.ok())
        return tile;
    const QImage scaled = decoded.image.scaled(kThumbnail, kThumbnail, Qt::KeepAspectRatio, Qt::SmoothTransformation);
    const QPoint at((kThumbnail - scaled.width()) / 2, (kThumbnail - scaled.height()) / 2);
    QPainter painter(&tile);
    painter.drawImage(at, scaled);
    if (withMap && !map.empty()) {
        const auto [low, high] = std::minmax_element(map.begin(), map.end());
        painter.drawImage(at, heatmapOverlay(map, grid, *low, *high, scaled.size(), 0.65));
    }
    return tile;
}

}  // namespace

SearchPanel::SearchPanel(QWidget* parent)
    : QWidget(parent), folder_(new QLineEdit), browse_(new QPushButton(tr("Choose…"))),
      recursive_(new QCheckBox(tr("Subfolders"))), query_(new QLineEdit), top_(new QSpinBox), rerank_(new QSpinBox),
      maps_(new QCheckBox(tr("Maps"))), search_(new QPushButton(tr("Search"))), stop_(new QPushButton(tr("Stop"))),
      status_(new QLabel), results_(new QListWidget)
{
    folder_->setPlaceholderText(tr("Folder of images"));
    folder_->setText(QSettings().value(QStringLiteral("search/folder")).toString());
    query_->setPlaceholderText(tr("What to look for, e.g. “a red circle next to a blue square”"));
    query_->setClearButtonEnabled(true);
    top_->setRange(1, 200);
    top_->setValue(12);
    top_->setPrefix(tr("show "));
    rerank_->setRange(0, 200);
    rerank_->setValue(12);
    rerank_->setPrefix(tr("re-rank "));
    rerank_->setToolTip(tr("How many of the best by ITC (embeddings, fast) are re-ranked by ITM (the Q-Former reading "
                           "image and text together, one forward each)"));
    maps_->setChecked(true);
    maps_->setToolTip(tr("Show where the text is in each hit (its localisation map)"));
    status_->setWordWrap(true);
    results_->setViewMode(QListView::IconMode);
    results_->setIconSize(QSize(kThumbnail, kThumbnail));
    results_->setGridSize(QSize(kThumbnail + 24, kThumbnail + 52));
    results_->setResizeMode(QListView::Adjust);
    results_->setMovement(QListView::Static);
    results_->setWordWrap(true);
    results_->setSelectionMode(QAbstractItemView::SingleSelection);

    auto* controls = new QGridLayout;
    controls->addWidget(new QLabel(tr("Folder")), 0, 0);
    controls->addWidget(folder_, 0, 1);
    controls->addWidget(browse_, 0, 2);
    controls->addWidget(recursive_, 0, 3);
    controls->addWidget(new QLabel(tr("Text")), 1, 0);
    controls->addWidget(query_, 1, 1);
    auto* options = new QHBoxLayout;
    options->addWidget(top_);
    options->addWidget(rerank_);
    options->addWidget(maps_);
    options->addWidget(search_);
    options->addWidget(stop_);
    controls->addLayout(options, 1, 2, 1, 2);
    controls->setColumnStretch(1, 1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->addLayout(controls);
    layout->addWidget(status_);
    layout->addWidget(results_, 1);

    connect(browse_, &QPushButton::clicked, this, &SearchPanel::chooseFolder);
    connect(search_, &QPushButton::clicked, this, &SearchPanel::search);
    connect(query_, &QLineEdit::returnPressed, this, &SearchPanel::search);
    connect(stop_, &QPushButton::clicked, this, &SearchPanel::stopRequested);
    connect(results_, &QListWidget::itemActivated, this, [this](QListWidgetItem* item) { openHit(results_->row(item)); });
    connect(maps_, &QCheckBox::toggled, this, &SearchPanel::loadThumbnails);
    setCanSearch(false, tr("Open an image-text matching model (Blip2ForImageTextRetrieval, e.g. Salesforce/blip2-itm-vit-g) "
                           "to search folders by text."));
}

void SearchPanel::setCanSearch(bool can, const QString& reason)
{
    canSearch_ = can;
    status_->setText(can ? tr("Choose a folder and type what to look for. The first search of a folder encodes its images "
                              "(kept on disk for the next time).")
                         : reason);
    setBusy(busy_);
}

void SearchPanel::setBusy(bool busy)
{
    busy_ = busy;
    search_->setEnabled(canSearch_ && !busy);
    stop_->setEnabled(busy);
}

void SearchPanel::setFolder(const QString& folder) { folder_->setText(folder); }

void SearchPanel::chooseFolder()
{
    const QString folder = QFileDialog::getExistingDirectory(this, tr("Folder to search"), folder_->text());
    if (!folder.isEmpty())
        folder_->setText(folder);
}

void SearchPanel::search()
{
    if (!canSearch_ || busy_)
        return;
    const QString folder = folder_->text().trimmed();
    if (folder.isEmpty() || !QFileInfo(folder).isDir()) {
        status_->setText(tr("“%1” is not a folder.").arg(folder.toHtmlEscaped()));
        return;
    }
    if (query_->text().trimmed().isEmpty()) {
        status_->setText(tr("Type what to look for."));
        return;
    }
    QSettings().setValue(QStringLiteral("search/folder"), folder);
    SearchRequest request;
    request.folder = QDir(folder).absolutePath();
    request.recursive = recursive_->isChecked();
    request.text = query_->text().trimmed();
    request.options.top = top_->value();
    request.options.rerank = rerank_->value();
    request.options.maps = maps_->isChecked();
    status_->setText(tr("Searching %1 for “%2”…").arg(request.folder.toHtmlEscaped(), request.text.toHtmlEscaped()));
    emit searchRequested(request);
}

void SearchPanel::showOutcome(const SearchOutcome& outcome)
{
    outcome_ = outcome;
    const IndexReport& index = outcome.index;
    QString text = tr("%1 of %2 images for “%3” (%4 newly encoded, %5 from the cache)")
                       .arg(outcome.result.hits.size())
                       .arg(outcome.result.searched)
                       .arg(QString::fromStdString(outcome.result.text).toHtmlEscaped())
                       .arg(index.encoded)
                       .arg(index.fromCache + index.unchanged);
    if (index.failed > 0)
        text += tr("; %n could not be read: %1", nullptr, index.failed)
                    .arg(QString::fromStdString(index.problems.front()).toHtmlEscaped());
    status_->setText(text + tr(". Double-click a hit to open it."));
    results_->clear();
    for (std::size_t i = 0; i < outcome.result.hits.size(); ++i) {
        const SearchHit& hit = outcome.result.hits[i];
        const QString name = QFileInfo(QString::fromStdString(hit.path)).fileName();
        const QString scores = hit.reranked ? tr("%1. match %2% · itc %3").arg(i + 1).arg(100 * hit.itmProbability, 0, 'f', 0).arg(hit.itcSimilarity, 0, 'f', 3)
                                            : tr("%1. itc %2").arg(i + 1).arg(hit.itcSimilarity, 0, 'f', 3);
        auto* item = new QListWidgetItem(scores + QLatin1Char('\n') + name);
        item->setToolTip(tr("%1\nITC similarity %2 (best query %3, ITC rank %4)%5")
                             .arg(QString::fromStdString(hit.path))
                             .arg(hit.itcSimilarity, 0, 'f', 4)
                             .arg(hit.bestQuery)
                             .arg(hit.itcRank + 1)
                             .arg(hit.reranked ? tr("\nITM match probability %1").arg(hit.itmProbability, 0, 'f', 3) : QString()));
        results_->addItem(item);
    }
    loadThumbnails();
}

void SearchPanel::loadThumbnails()
{
    // Decoding full-size photos takes tens of milliseconds each: on a pool thread.
    const int generation = ++generation_;
    const std::vector<SearchHit> hits = outcome_.result.hits;
    const bool withMaps = maps_->isChecked();
    auto* watcher = new QFutureWatcher<QList<QImage>>(this);
    connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher, generation] {
        const QList<QImage> tiles = watcher->result();
        watcher->deleteLater();
        if (generation != generation_)
            return;
        for (int i = 0; i < tiles.size() && i < results_->count(); ++i)
            results_->item(i)->setIcon(QIcon(QPixmap::fromImage(tiles[i])));
        emit thumbnailsReady();
    });
    watcher->setFuture(QtConcurrent::run([hits, withMaps] {
        QList<QImage> tiles;
        for (const SearchHit& hit : hits)
            tiles.append(hitTile(QString::fromStdString(hit.path), hit.map, hit.gridSize, withMaps));
        return tiles;
    }));
}

void SearchPanel::openHit(int row)
{
    if (row >= 0 && std::size_t(row) < outcome_.result.hits.size())
        emit openRequested(QString::fromStdString(outcome_.result.hits[std::size_t(row)].path));
}

void SearchPanel::fail(const QString& message, bool cancelled)
{
    status_->setText(cancelled ? tr("Stopped. The images indexed so far are kept; the next search goes on from there.")
                               : message.toHtmlEscaped());
}

QString SearchPanel::statusText() const { return status_->text(); }

}  // namespace querylens::ui
