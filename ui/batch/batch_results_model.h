#pragma once
// The rows of "Caption a folder...": one per image done, as they arrive from the worker or as
// read back from a results file. Thumbnails of rows read back are made when the table first
// shows them, on a thread of the global pool, so a file of many thousand lines opens at once.

#include "batch/batch_types.h"

#include <QAbstractTableModel>
#include <QSet>
#include <QString>

#include <vector>

namespace querylens::ui {

class BatchResultsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { ImageColumn, NameColumn, TextColumn, TimeColumn, ColumnCount };

    explicit BatchResultsModel(QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

    // Names are shown relative to this folder.
    void setFolder(const QString& folder);
    void setRows(std::vector<BatchRow> rows);
    void addRow(const BatchRow& row);
    const std::vector<BatchRow>& rows() const { return rows_; }
    int errorCount() const;

    // The rows as CSV (RFC 4180: key,text,error,milliseconds).
    QByteArray csv() const;

private:
    void requestThumbnail(int row) const;
    void setThumbnail(const QString& key, const QImage& thumbnail);

    QString folder_;
    std::vector<BatchRow> rows_;
    mutable QSet<QString> thumbnailsAsked_;
};

// The rows of a results file (its complete lines); `error` says why it could not be read.
std::vector<BatchRow> readBatchRows(const QString& path, QString* error);

}  // namespace querylens::ui
