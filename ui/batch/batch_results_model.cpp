#include "batch/batch_results_model.h"

#include "image_file.h"
#include "querylens/batch_results.h"

#include <QColor>
#include <QCoreApplication>
#include <QDir>
#include <QImageReader>
#include <QPointer>
#include <QThreadPool>

#include <nlohmann/json.hpp>

namespace querylens::ui {

namespace {

constexpr int kThumbnailWidth = 96, kThumbnailHeight = 72;

QString csvField(const QString& text)
{
    if (!text.contains(QLatin1Char(',')) && !text.contains(QLatin1Char('"')) && !text.contains(QLatin1Char('\n')) &&
        !text.contains(QLatin1Char('\r')))
        return text;
    QString quoted = text;
    quoted.replace(QLatin1Char('"'), QStringLiteral("\"\""));
    return QLatin1Char('"') + quoted + QLatin1Char('"');
}

}  // namespace

BatchResultsModel::BatchResultsModel(QObject* parent) : QAbstractTableModel(parent) {}

int BatchResultsModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(rows_.size()); }

int BatchResultsModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant BatchResultsModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || index.row() >= int(rows_.size()))
        return {};
    const BatchRow& row = rows_[std::size_t(index.row())];
    const bool failed = !row.error.isEmpty();
    switch (index.column()) {
    case ImageColumn:
        if (role == Qt::DecorationRole) {
            if (row.thumbnail.isNull())
                requestThumbnail(index.row());
            return row.thumbnail;
        }
        if (role == Qt::SizeHintRole)
            return QSize(kThumbnailWidth + 8, kThumbnailHeight + 6);
        break;
    case NameColumn:
        if (role == Qt::DisplayRole)
            return folder_.isEmpty() ? row.key : QDir(folder_).relativeFilePath(row.key);
        if (role == Qt::ToolTipRole)
            return row.key;
        break;
    case TextColumn:
        if (role == Qt::DisplayRole)
            return failed ? row.error : row.text;
        if (role == Qt::ForegroundRole && failed)
            return QColor(176, 0, 32);
        if (role == Qt::ToolTipRole)
            return failed ? row.error : row.text;
        break;
    case TimeColumn:
        if (role == Qt::DisplayRole)
            return failed ? QString() : QStringLiteral("%1 ms").arg(row.milliseconds, 0, 'f', 0);
        if (role == Qt::TextAlignmentRole)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        break;
    }
    return {};
}

QVariant BatchResultsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case ImageColumn: return tr("Image");
    case NameColumn: return tr("File");
    case TextColumn: return tr("Text");
    case TimeColumn: return tr("Time");
    }
    return {};
}

void BatchResultsModel::setFolder(const QString& folder)
{
    beginResetModel();
    folder_ = folder;
    endResetModel();
}

void BatchResultsModel::setRows(std::vector<BatchRow> rows)
{
    beginResetModel();
    rows_ = std::move(rows);
    thumbnailsAsked_.clear();
    endResetModel();
}

void BatchResultsModel::addRow(const BatchRow& row)
{
    beginInsertRows({}, int(rows_.size()), int(rows_.size()));
    rows_.push_back(row);
    endInsertRows();
}

int BatchResultsModel::errorCount() const
{
    return int(std::count_if(rows_.begin(), rows_.end(), [](const BatchRow& r) { return !r.error.isEmpty(); }));
}

QByteArray BatchResultsModel::csv() const
{
    QString text = QStringLiteral("key,text,error,milliseconds\r\n");
    for (const BatchRow& row : rows_)
        text += csvField(row.key) + QLatin1Char(',') + csvField(row.text) + QLatin1Char(',') + csvField(row.error) +
                QLatin1Char(',') + (row.error.isEmpty() ? QString::number(row.milliseconds, 'f', 1) : QString()) +
                QStringLiteral("\r\n");
    return text.toUtf8();
}

void BatchResultsModel::requestThumbnail(int row) const
{
    const BatchRow& wanted = rows_[std::size_t(row)];
    if (wanted.file.isEmpty() || !wanted.error.isEmpty() || thumbnailsAsked_.contains(wanted.key))
        return;
    thumbnailsAsked_.insert(wanted.key);
    QPointer<BatchResultsModel> self(const_cast<BatchResultsModel*>(this));
    const QString key = wanted.key, file = wanted.file;
    QThreadPool::globalInstance()->start([self, key, file] {
        QImageReader reader(file);
        reader.setAutoTransform(true);
        // Decode at a reduced size where the format can (JPEG's DCT scaling): a thumbnail of a
        // 12-megapixel photo need not cost its full decode.
        const QSize size = reader.size();
        if (size.isValid())
            reader.setScaledSize(size.scaled(kThumbnailWidth * 2, kThumbnailHeight * 2, Qt::KeepAspectRatio));
        const QImage image = reader.read();
        if (image.isNull())
            return;
        const QImage thumbnail = image.scaled(kThumbnailWidth, kThumbnailHeight, Qt::KeepAspectRatio, Qt::SmoothTransformation);
        // To the GUI thread, where the model (if it still exists) can be looked at safely.
        QMetaObject::invokeMethod(
            qApp, [self, key, thumbnail] {
                if (self)
                    self->setThumbnail(key, thumbnail);
            },
            Qt::QueuedConnection);
    });
}

void BatchResultsModel::setThumbnail(const QString& key, const QImage& thumbnail)
{
    for (std::size_t i = 0; i < rows_.size(); ++i)
        if (rows_[i].key == key) {
            rows_[i].thumbnail = thumbnail;
            const QModelIndex cell = index(int(i), ImageColumn);
            emit dataChanged(cell, cell, {Qt::DecorationRole});
            return;
        }
}

std::vector<BatchRow> readBatchRows(const QString& path, QString* error)
{
    std::vector<BatchRow> rows;
    try {
        const ResultsContent content = readResults(path.toStdString());
        std::map<std::string, std::size_t> byKey;  // a later line for a key (a retry) replaces the earlier
        for (const ResultLine& line : content.lines) {
            const nlohmann::json json = nlohmann::json::parse(line.json, nullptr, false);
            BatchRow row;
            row.key = QString::fromStdString(line.key);
            if (json.contains("source") && json["source"].contains("file") && json["source"]["file"].is_string())
                row.file = QString::fromStdString(json["source"]["file"].get<std::string>());
            row.text = QString::fromStdString(json.value("text", std::string()));
            row.error = QString::fromStdString(json.value("error", std::string()));
            if (json.contains("timings_ms") && json["timings_ms"].is_object())
                row.milliseconds = json["timings_ms"].value("image_encode", 0.0) + json["timings_ms"].value("generate", 0.0);
            const auto [it, added] = byKey.emplace(line.key, rows.size());
            if (added)
                rows.push_back(std::move(row));
            else
                rows[it->second] = std::move(row);
        }
    } catch (const std::exception& e) {
        if (error)
            *error = QString::fromStdString(e.what());
    }
    return rows;
}

}  // namespace querylens::ui
