#include "model_dialog.h"

#include "download/download_manager.h"
#include "download/download_panel.h"
#include "status_panel.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QTabWidget>
#include <QTableWidget>
#include <QThread>
#include <QVBoxLayout>

namespace querylens::ui {

namespace {
// Leave room for activations, caches, the window and the rest of the system.
constexpr double kUsableShareOfFreeMemory = 0.9;
}

ModelDialog::ModelDialog(QWidget* parent, const QString& currentFolder, DownloadManager* downloads)
    : QDialog(parent), table_(new QTableWidget(0, 4, this)), precision_(new QComboBox(this)),
      threads_(new QSpinBox(this)), fit_(new QLabel(this)), emptyNote_(new QLabel(this)),
      demo_(new QPushButton(tr("Create the demo model"), this)), load_(nullptr), tabs_(new QTabWidget(this)),
      downloadPanel_(nullptr)
{
    setWindowTitle(tr("Open a BLIP-2 model"));
    table_->setObjectName(QStringLiteral("checkpointTable"));  // the Download tab has a table too
    resize(860, 600);
    if (!downloads)
        downloads = new DownloadManager(this);
    downloadPanel_ = new DownloadPanel(downloads, this);
    connect(downloadPanel_, &DownloadPanel::openRequested, this, &ModelDialog::openDownloaded);
    table_->setHorizontalHeaderLabels({tr("Model"), tr("Language model"), tr("Parameters"), tr("On disk")});
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
    table_->verticalHeader()->hide();
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);

    precision_->addItem(tr("fp32 — exact, 4 bytes per weight"), int(Precision::Float32));
    precision_->addItem(tr("bf16 — half the memory"), int(Precision::BFloat16));
    precision_->addItem(tr("int8 — language model in 8 bits"), int(Precision::Int8));
    threads_->setRange(0, 256);
    threads_->setSpecialValueText(tr("all cores (%1)").arg(QThread::idealThreadCount()));
    QSettings settings;
    precision_->setCurrentIndex(qBound(0, settings.value(QStringLiteral("model/precision"), 0).toInt(), 2));
    threads_->setValue(settings.value(QStringLiteral("model/threads"), 0).toInt());

    emptyNote_->setWordWrap(true);
    emptyNote_->setText(tr("No BLIP-2 checkpoint was found in the Hugging Face cache (%1). Download one (the Download "
                           "tab), open a folder, or create the demo model: a small BLIP-2 trained on synthetic shapes "
                           "(not a real BLIP-2) that shows how the program works.")
                            .arg(QString::fromStdString(hubCacheFolder())));
    connect(demo_, &QPushButton::clicked, this, [this] {
        wantsDemo_ = true;
        accept();
    });

    auto* browse = new QPushButton(tr("Other folder…"), this);
    connect(browse, &QPushButton::clicked, this, &ModelDialog::addFolder);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Open | QDialogButtonBox::Cancel, this);
    load_ = buttons->button(QDialogButtonBox::Open);
    load_->setText(tr("Load"));
    buttons->addButton(browse, QDialogButtonBox::ActionRole);
    buttons->addButton(demo_, QDialogButtonBox::ActionRole);
    connect(buttons, &QDialogButtonBox::accepted, this, [this] {
        QSettings s;
        s.setValue(QStringLiteral("model/precision"), precision_->currentIndex());
        s.setValue(QStringLiteral("model/threads"), threads_->value());
        accept();
    });
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto* form = new QFormLayout;
    form->addRow(tr("Precision"), precision_);
    form->addRow(tr("Threads"), threads_);
    fit_->setWordWrap(true);
    fit_->setObjectName(QStringLiteral("memoryFit"));
    auto* installed = new QWidget(this);
    auto* installedLayout = new QVBoxLayout(installed);
    installedLayout->addWidget(new QLabel(tr("Checkpoints in the Hugging Face cache:"), installed));
    installedLayout->addWidget(table_, 1);
    installedLayout->addWidget(emptyNote_);
    tabs_->addTab(installed, tr("On this computer"));
    tabs_->addTab(downloadPanel_, tr("Download"));
    connect(tabs_, &QTabWidget::currentChanged, this, [this](int index) {
        if (tabs_->widget(index) == downloadPanel_ && !catalogueAsked_) {
            catalogueAsked_ = true;
            downloadPanel_->refreshCatalogue();
        }
    });
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(tabs_, 1);
    layout->addLayout(form);
    layout->addWidget(fit_);
    layout->addWidget(buttons);

    connect(table_, &QTableWidget::itemSelectionChanged, this, &ModelDialog::updateEstimate);
    connect(precision_, &QComboBox::currentIndexChanged, this, &ModelDialog::updateEstimate);
    connect(table_, &QTableWidget::cellDoubleClicked, this, [this] {
        if (canLoad())
            accept();
    });

    std::vector<CheckpointSummary> found = findHubCheckpoints();
    if (!currentFolder.isEmpty() &&
        std::none_of(found.begin(), found.end(), [&](const auto& c) { return c.folder == currentFolder.toStdString(); }))
        found.insert(found.begin(), inspectCheckpoint(currentFolder.toStdString()));
    setCheckpoints(found);
}

void ModelDialog::setCheckpoints(const std::vector<CheckpointSummary>& checkpoints)
{
    checkpoints_.clear();
    table_->setRowCount(0);
    for (const auto& summary : checkpoints)
        addRow(summary);
    if (!checkpoints_.empty())
        table_->selectRow(0);
    updateEstimate();
}

void ModelDialog::addRow(const CheckpointSummary& summary)
{
    checkpoints_.push_back(summary);
    const int row = table_->rowCount();
    table_->insertRow(row);
    QString name = QString::fromStdString(summary.name);
    if (summary.isDemo)
        name += tr(" (demo, random weights)");
    else if (summary.isTrainedDemo)
        name += tr(" (demo, trained on synthetic shapes)");
    auto* nameItem = new QTableWidgetItem(name);
    nameItem->setToolTip(QString::fromStdString(summary.folder));
    table_->setItem(row, 0, nameItem);
    table_->setItem(row, 1, new QTableWidgetItem(QString::fromStdString(summary.languageModel)));
    const double parameters = double(summary.parameters);
    const QString count = parameters >= 1e9   ? tr("%1 billion").arg(parameters / 1e9, 0, 'f', 2)
                          : parameters >= 1e6 ? tr("%1 million").arg(parameters / 1e6, 0, 'f', 1)
                          : parameters > 0    ? tr("%1 thousand").arg(parameters / 1e3, 0, 'f', 0)
                                              : QStringLiteral("—");
    table_->setItem(row, 2, new QTableWidgetItem(count));
    table_->setItem(row, 3, new QTableWidgetItem(summary.fileBytes ? formatBytes(summary.fileBytes) : QStringLiteral("—")));
    if (!summary.problem.empty())
        for (int c = 0; c < 4; ++c)
            table_->item(row, c)->setToolTip(QString::fromStdString(summary.problem));
    emptyNote_->setVisible(false);
}

void ModelDialog::showDownloads() { tabs_->setCurrentWidget(downloadPanel_); }

void ModelDialog::openDownloaded(const QString& folder)
{
    const std::string path = folder.toStdString();
    auto existing = std::find_if(checkpoints_.begin(), checkpoints_.end(),
                                 [&](const CheckpointSummary& c) { return c.folder == path; });
    if (existing == checkpoints_.end()) {
        addRow(inspectCheckpoint(path));
        existing = checkpoints_.end() - 1;
    }
    table_->selectRow(int(existing - checkpoints_.begin()));
    tabs_->setCurrentIndex(0);
    if (canLoad())
        accept();  // fits at the chosen precision: load it now; else the reason shows under the list
}

void ModelDialog::addFolder()
{
    const QString folder = QFileDialog::getExistingDirectory(this, tr("Open a BLIP-2 checkpoint folder"));
    if (folder.isEmpty())
        return;
    addRow(inspectCheckpoint(folder.toStdString()));
    table_->selectRow(table_->rowCount() - 1);
}

bool ModelDialog::canLoad() const { return load_ && load_->isEnabled(); }

QString ModelDialog::fitText() const { return fit_->text(); }

void ModelDialog::updateEstimate()
{
    emptyNote_->setVisible(checkpoints_.empty());
    demo_->setVisible(true);
    const int row = table_->currentRow();
    if (row < 0 || row >= int(checkpoints_.size())) {
        fit_->setText(checkpoints_.empty() ? QString() : tr("Choose a checkpoint."));
        load_->setEnabled(false);
        return;
    }
    const CheckpointSummary& summary = checkpoints_[std::size_t(row)];
    if (!summary.problem.empty()) {
        fit_->setText(tr("Cannot be loaded: %1").arg(QString::fromStdString(summary.problem)));
        load_->setEnabled(false);
        return;
    }
    const auto precision = Precision(precision_->currentData().toInt());
    std::size_t needed = 0;
    try {
        needed = estimateWeightMemory(summary.folder, precision);
    } catch (const std::exception& e) {
        fit_->setText(tr("Cannot be loaded: %1").arg(QString::fromUtf8(e.what())));
        load_->setEnabled(false);
        return;
    }
    const std::size_t available = availableMemoryBytes();
    const bool fits = available == 0 || double(needed) <= kUsableShareOfFreeMemory * double(available);
    QString text = tr("Weights need about %1 at %2; %3 of memory is available.")
                       .arg(formatBytes(needed), QString::fromLatin1(precisionName(precision)), formatBytes(available));
    if (!fits)
        text += QLatin1Char(' ') + tr("It will not fit: choose a lower precision (bf16 halves it, int8 quarters the "
                                      "language model) or close other programs.");
    fit_->setText(text);
    fit_->setStyleSheet(fits ? QString() : QStringLiteral("color: #d33;"));
    load_->setEnabled(fits);
}

LoadOptions ModelDialog::options() const
{
    LoadOptions options;
    const int row = table_->currentRow();
    if (row >= 0 && row < int(checkpoints_.size()))
        options.folder = checkpoints_[std::size_t(row)].folder;
    options.precision = Precision(precision_->currentData().toInt());
    options.threads = threads_->value();
    return options;
}

}  // namespace querylens::ui
