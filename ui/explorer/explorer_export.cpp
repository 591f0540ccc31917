// The explorer's exports: the view as PNG, all maps as safetensors (the layout of `querylens
// explain`), and the statistics and current maps as CSV.

#include "explorer/explorer_panel.h"

#include "querylens/attention_export.h"
#include "querylens/error.h"

#include <QFile>
#include <QFileInfo>
#include <QTextStream>

namespace querylens::ui {

QString ExplorerPanel::exportPng(const QString& path)
{
    if (!grab().save(path, "PNG"))
        return tr("Could not write %1.").arg(path);
    return {};
}

QString ExplorerPanel::exportSafetensors(const QString& path) const
{
    if (!encoding_)
        return tr("No image is encoded yet.");
    AttentionExport data;
    data.cross = encoding_->crossAttention();
    data.self = encoding_->selfAttention();
    data.queryOutputs = encoding_->queryOutputs();
    data.qformerHidden = int(data.queryOutputs.size() / std::size_t(std::max(1, encoding_->queryCount())));
    data.metadata = {{"image_width", std::to_string(encoding_->imageWidth())},
                     {"image_height", std::to_string(encoding_->imageHeight())}};
    try {
        writeAttentionExport(path.toStdString(), data);
    } catch (const Error& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

QString ExplorerPanel::exportCsv(const QString& path) const
{
    if (!encoding_)
        return tr("No image is encoded yet.");
    // Two files: the per-query statistics, and beside them the maps of the current selection.
    QFile statsFile(path);
    if (!statsFile.open(QIODevice::WriteOnly | QIODevice::Truncate | QIODevice::Text))
        return tr("Could not write %1: %2").arg(path, statsFile.errorString());
    statsFile.write(QByteArray::fromStdString(statisticsCsv(maps_, statistics_)));
    const QFileInfo info(path);
    const QString mapsPath = info.path() + QLatin1Char('/') + info.completeBaseName() + QStringLiteral("-maps.csv");
    QFile mapsFile(mapsPath);
    if (!mapsFile.open(QIODevice::WriteOnly | QIODevice::Truncate | QIODevice::Text))
        return tr("Could not write %1: %2").arg(mapsPath, mapsFile.errorString());
    QTextStream out(&mapsFile);
    out << "query,token,row,column,value\n";
    for (int q = 0; q < maps_.queries; ++q)
        for (int t = 0; t < maps_.tokens(); ++t) {
            const int patch = t - 1;
            out << q << ',' << t << ',' << (t == 0 ? QStringLiteral("cls") : QString::number(patch / maps_.gridSize)) << ','
                << (t == 0 ? QStringLiteral("cls") : QString::number(patch % maps_.gridSize)) << ','
                << QString::number(double(maps_.row(q)[t]), 'g', 8) << '\n';
        }
    return {};
}

}  // namespace querylens::ui
