#include "batch/batch_window.h"

#include "batch/batch_results_model.h"
#include "querylens/batch_results.h"
#include "querylens/shard.h"

#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSaveFile>
#include <QScrollBar>
#include <QSettings>
#include <QStandardPaths>
#include <QTableView>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

namespace querylens::ui {

namespace {

const QString kFolderKey = QStringLiteral("batch/folder");
const QString kOutputKey = QStringLiteral("batch/output");
const QString kQuestionKey = QStringLiteral("batch/question");
const QString kRunningKey = QStringLiteral("batch/running");

QString durationText(double seconds)
{
    const qint64 total = qint64(seconds + 0.5);
    if (total >= 3600)
        return QStringLiteral("%1 h %2 min").arg(total / 3600).arg((total % 3600) / 60, 2, 10, QLatin1Char('0'));
    if (total >= 60)
        return QStringLiteral("%1 min %2 s").arg(total / 60).arg(total % 60, 2, 10, QLatin1Char('0'));
    return QStringLiteral("%1 s").arg(total);
}

bool writeAtomically(const QString& path, const QByteArray& data)
{
    QSaveFile file(path);
    return file.open(QIODevice::WriteOnly) && file.write(data) == data.size() && file.commit();
}

}  // namespace

BatchWindow::BatchWindow(QWidget* parent)
    : QWidget(parent, Qt::Window), folder_(new QLineEdit), output_(new QLineEdit), question_(new QLineEdit),
      startButton_(new QPushButton(tr("Start"))), pauseButton_(new QPushButton(tr("Pause"))),
      stopButton_(new QPushButton(tr("Stop"))), exportJsonButton_(new QPushButton(tr("Export JSONL…"))),
      exportCsvButton_(new QPushButton(tr("Export CSV…"))), progress_(new QProgressBar), status_(new QLabel),
      table_(new QTableView), model_(new BatchResultsModel(this))
{
    qRegisterMetaType<BatchRequest>();
    qRegisterMetaType<BatchRow>();
    qRegisterMetaType<BatchEnd>();
    qRegisterMetaType<BatchProgress>();
    setWindowTitle(tr("Caption a Folder — QueryLens"));
    setObjectName(QStringLiteral("batchWindow"));
    resize(900, 640);
    buildLayout();

    const QSettings settings;
    folder_->setText(settings.value(kFolderKey).toString());
    output_->setText(settings.value(kOutputKey).toString());
    question_->setText(settings.value(kQuestionKey).toString());
    model_->setFolder(folder_->text());
    resumeWhenModelLoads_ = settings.value(kRunningKey, false).toBool() && !folder_->text().isEmpty();
    loadExistingResults();
    if (resumeWhenModelLoads_)
        showStatus(tr("The batch was running when the program closed: it resumes when the model is loaded."));
    updateButtons();
}

BatchWindow::~BatchWindow() = default;

void BatchWindow::buildLayout()
{
    folder_->setPlaceholderText(tr("A folder of images (searched with its subfolders)"));
    output_->setPlaceholderText(tr("Where the results go (JSON Lines; continued when it exists)"));
    question_->setPlaceholderText(tr("Leave empty to caption; or ask every image a question"));
    auto* chooseFolder = new QPushButton(tr("Choose…"));
    auto* chooseOutput = new QPushButton(tr("Choose…"));
    connect(chooseFolder, &QPushButton::clicked, this, &BatchWindow::chooseFolder);
    connect(chooseOutput, &QPushButton::clicked, this, &BatchWindow::chooseOutput);
    connect(folder_, &QLineEdit::editingFinished, this, &BatchWindow::folderChanged);
    connect(output_, &QLineEdit::editingFinished, this, &BatchWindow::loadExistingResults);

    auto* form = new QGridLayout;
    form->addWidget(new QLabel(tr("Folder:")), 0, 0);
    form->addWidget(folder_, 0, 1);
    form->addWidget(chooseFolder, 0, 2);
    form->addWidget(new QLabel(tr("Results file:")), 1, 0);
    form->addWidget(output_, 1, 1);
    form->addWidget(chooseOutput, 1, 2);
    form->addWidget(new QLabel(tr("Question:")), 2, 0);
    form->addWidget(question_, 2, 1, 1, 2);

    startButton_->setDefault(true);
    connect(startButton_, &QPushButton::clicked, this, &BatchWindow::start);
    connect(pauseButton_, &QPushButton::clicked, this, &BatchWindow::pause);
    connect(stopButton_, &QPushButton::clicked, this, &BatchWindow::stop);
    connect(exportJsonButton_, &QPushButton::clicked, this, [this] { chooseExport(false); });
    connect(exportCsvButton_, &QPushButton::clicked, this, [this] { chooseExport(true); });
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(startButton_);
    buttons->addWidget(pauseButton_);
    buttons->addWidget(stopButton_);
    buttons->addStretch(1);
    buttons->addWidget(exportJsonButton_);
    buttons->addWidget(exportCsvButton_);

    progress_->setTextVisible(true);
    progress_->setFormat(QStringLiteral("%v / %m"));
    progress_->setRange(0, 1);
    progress_->setValue(0);
    status_->setWordWrap(true);
    status_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    table_->setModel(model_);
    table_->setObjectName(QStringLiteral("batchResults"));
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->setWordWrap(true);
    table_->setIconSize(QSize(96, 72));
    table_->verticalHeader()->setDefaultSectionSize(78);
    table_->verticalHeader()->hide();
    table_->horizontalHeader()->setSectionResizeMode(BatchResultsModel::ImageColumn, QHeaderView::Fixed);
    table_->horizontalHeader()->resizeSection(BatchResultsModel::ImageColumn, 104);
    table_->horizontalHeader()->resizeSection(BatchResultsModel::NameColumn, 180);
    table_->horizontalHeader()->setSectionResizeMode(BatchResultsModel::TextColumn, QHeaderView::Stretch);
    table_->horizontalHeader()->setSectionResizeMode(BatchResultsModel::TimeColumn, QHeaderView::Fixed);
    table_->horizontalHeader()->resizeSection(BatchResultsModel::TimeColumn, 80);
    // New rows arrive at the bottom: follow them unless the user scrolled up to read.
    connect(model_, &QAbstractItemModel::rowsInserted, this, [this] {
        if (table_->verticalScrollBar()->value() >= table_->verticalScrollBar()->maximum() - 80)
            table_->scrollToBottom();
    });

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addLayout(buttons);
    layout->addWidget(progress_);
    layout->addWidget(status_);
    layout->addWidget(table_, 1);
}

QString BatchWindow::defaultOutputFor(const QString& folder)
{
    // Beside the program's data, not in the user's dataset; one file per folder.
    const QString absolute = QDir(folder).absolutePath();
    const QString name = QFileInfo(absolute).fileName().isEmpty() ? QStringLiteral("root") : QFileInfo(absolute).fileName();
    const QString hash = QString::number(stableKeyHash(absolute.toStdString()) & 0xffffffffu, 16).rightJustified(8, QLatin1Char('0'));
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/batches/") + name +
           QLatin1Char('-') + hash + QStringLiteral(".jsonl");
}

void BatchWindow::chooseFolder()
{
    const QString folder = QFileDialog::getExistingDirectory(this, tr("Folder of images"), folder_->text());
    if (folder.isEmpty())
        return;
    folder_->setText(folder);
    folderChanged();
}

void BatchWindow::chooseOutput()
{
    const QString path = QFileDialog::getSaveFileName(this, tr("Results file"), output_->text(),
                                                      tr("JSON Lines (*.jsonl)"), nullptr, QFileDialog::DontConfirmOverwrite);
    if (path.isEmpty())
        return;
    output_->setText(path);
    loadExistingResults();
}

void BatchWindow::chooseExport(bool csv)
{
    const QString suggested = QFileInfo(output_->text()).completeBaseName() + (csv ? QStringLiteral(".csv") : QStringLiteral(".jsonl"));
    const QString path = QFileDialog::getSaveFileName(this, csv ? tr("Export as CSV") : tr("Export as JSON Lines"),
                                                      QDir::home().filePath(suggested),
                                                      csv ? tr("CSV (*.csv)") : tr("JSON Lines (*.jsonl)"));
    if (!path.isEmpty())
        csv ? exportCsv(path) : exportJsonLines(path);
}

void BatchWindow::folderChanged()
{
    const QString folder = folder_->text().trimmed();
    if (folder.isEmpty())
        return;
    // A new folder gets its own results file, unless the user chose one.
    const QString previous = QSettings().value(kFolderKey).toString();
    if (output_->text().isEmpty() || output_->text() == defaultOutputFor(previous))
        output_->setText(defaultOutputFor(folder));
    model_->setFolder(folder);
    loadExistingResults();
}

void BatchWindow::loadExistingResults()
{
    const QString path = output_->text().trimmed();
    const int generation = ++loadGeneration_;
    loadedPath_ = path;
    if (path.isEmpty() || !QFileInfo::exists(path)) {
        loading_ = false;
        model_->setRows(liveRows_);
        liveRows_.clear();
        updateButtons();
        emit rowsLoaded();
        return;
    }
    // Read on a pool thread: a results file can hold many thousand lines.
    loading_ = true;
    auto* watcher = new QFutureWatcher<std::pair<std::vector<BatchRow>, QString>>(this);
    connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher, generation, path] {
        auto [rows, error] = watcher->result();
        watcher->deleteLater();
        if (generation != loadGeneration_)
            return;
        loading_ = false;
        // Rows a running batch added while the file was being read come after the file's.
        QSet<QString> keys;
        for (const BatchRow& row : rows)
            keys.insert(row.key);
        for (const BatchRow& row : liveRows_)
            if (!keys.contains(row.key))
                rows.push_back(row);
        liveRows_.clear();
        const int count = int(rows.size());
        model_->setRows(std::move(rows));
        if (!running_) {
            if (!error.isEmpty())
                showStatus(error, true);
            else if (!resumeWhenModelLoads_ && !failed_)
                showStatus(tr("%n image(s) done in %1; Resume continues with the rest.", nullptr, count).arg(path));
            // How many images the folder has is known once a run lists it: until then, the count.
            progress_->setFormat(tr("%v done"));
            progress_->setRange(0, std::max(count, 1));
            progress_->setValue(count);
        }
        updateButtons();
        emit rowsLoaded();
    });
    watcher->setFuture(QtConcurrent::run([path] {
        QString error;
        std::vector<BatchRow> rows = readBatchRows(path, &error);
        return std::make_pair(std::move(rows), error);
    }));
}

void BatchWindow::setModelAvailable(bool available)
{
    modelAvailable_ = available;
    updateButtons();
    if (available && resumeWhenModelLoads_ && !running_) {
        resumeWhenModelLoads_ = false;
        start();
    }
}

void BatchWindow::start()
{
    if (running_)
        return;
    const QString folder = folder_->text().trimmed(), output = output_->text().trimmed();
    if (folder.isEmpty() || !QFileInfo(folder).isDir()) {
        showStatus(tr("Choose a folder of images first."), true);
        return;
    }
    if (output.isEmpty()) {
        showStatus(tr("Choose where the results go."), true);
        return;
    }
    if (!modelAvailable_) {
        showStatus(tr("Open a model first (File → Open Model, Ctrl+M)."), true);
        return;
    }
    BatchRequest request;
    request.folder = folder;
    request.output = output;
    request.question = question_->text().trimmed();
    running_ = true;
    pausing_ = false;
    failed_ = false;
    if (output != loadedPath_)
        loadExistingResults();  // the table shows the file being continued
    model_->setFolder(folder);
    remember(true);
    showStatus(tr("Finding the images…"));
    updateButtons();
    emit startRequested(request);
}

void BatchWindow::pause()
{
    if (!running_ || pausing_)
        return;
    pausing_ = true;
    showStatus(tr("Pausing once the images in flight are done…"));
    updateButtons();
    emit pauseRequested();
}

void BatchWindow::stop()
{
    if (!running_)
        return;
    showStatus(tr("Stopping…"));
    emit stopRequested();
}

void BatchWindow::onStarted(int inputs, int alreadyDone)
{
    inputs_ = inputs;
    alreadyDone_ = alreadyDone;
    progress_->setFormat(QStringLiteral("%v / %m"));
    progress_->setRange(0, std::max(inputs, 1));
    progress_->setValue(alreadyDone);
    showStatus(alreadyDone > 0 ? tr("%1 images, %2 done before: resuming.").arg(inputs).arg(alreadyDone)
                               : tr("%1 images.").arg(inputs));
}

void BatchWindow::onRow(const BatchRow& row)
{
    if (loading_)
        liveRows_.push_back(row);  // kept when the file's rows replace the table
    model_->addRow(row);
    progress_->setValue(std::min(progress_->maximum(), progress_->value() + 1));
}

void BatchWindow::onProgress(const BatchProgress& p)
{
    if (pausing_)
        return;
    QString text = tr("%1 of %2 done · %3 images/s").arg(alreadyDone_ + int(p.done)).arg(inputs_).arg(p.imagesPerSecond, 0, 'f', 2);
    if (p.done < p.total && p.imagesPerSecond > 0)
        text += tr(" · about %1 left").arg(durationText(p.etaSeconds));
    if (p.errors > 0)
        text += tr(" · %n image(s) could not be read", nullptr, int(p.errors));
    showStatus(text);
}

void BatchWindow::onEnded(BatchEnd end)
{
    running_ = false;
    pausing_ = false;
    remember(false);
    const int errors = model_->errorCount();
    switch (end) {
    case BatchEnd::Finished:
        showStatus(tr("Done: %1 images, %2 with text, %n could not be read. Results in %3.", nullptr, errors)
                       .arg(model_->rowCount())
                       .arg(model_->rowCount() - errors)
                       .arg(output_->text()));
        break;
    case BatchEnd::Paused:
        showStatus(tr("Paused after %1 of %2 images. Resume continues with the rest.").arg(model_->rowCount()).arg(inputs_));
        break;
    case BatchEnd::Cancelled:
        showStatus(tr("Stopped after %1 of %2 images; the images in flight were dropped. Resume continues.")
                       .arg(model_->rowCount())
                       .arg(inputs_));
        break;
    }
    updateButtons();
    emit ended(end);
}

void BatchWindow::onFailed(const QString& message)
{
    running_ = false;
    pausing_ = false;
    remember(false);
    showStatus(message, true);
    updateButtons();
    failed_ = true;
    loadExistingResults();  // what the file holds, as before the start
}

bool BatchWindow::exportJsonLines(const QString& path)
{
    try {
        // The file's complete lines, one per image (a retried image's last line).
        QByteArray data;
        for (const ResultLine& line : readResults(output_->text().trimmed().toStdString()).lines)
            data += QByteArray::fromStdString(line.json) + '\n';
        if (writeAtomically(path, data)) {
            showStatus(tr("Exported %1.").arg(path));
            return true;
        }
    } catch (const std::exception& e) {
        showStatus(QString::fromStdString(e.what()), true);
        return false;
    }
    showStatus(tr("%1: cannot be written.").arg(path), true);
    return false;
}

bool BatchWindow::exportCsv(const QString& path)
{
    if (writeAtomically(path, model_->csv())) {
        showStatus(tr("Exported %1.").arg(path));
        return true;
    }
    showStatus(tr("%1: cannot be written.").arg(path), true);
    return false;
}

QString BatchWindow::statusText() const { return status_->text(); }

void BatchWindow::updateButtons()
{
    const bool hasResults = model_->rowCount() > 0;
    startButton_->setText(hasResults ? tr("Resume") : tr("Start"));
    startButton_->setEnabled(!running_ && modelAvailable_);
    pauseButton_->setEnabled(running_ && !pausing_);
    stopButton_->setEnabled(running_);
    folder_->setEnabled(!running_);
    output_->setEnabled(!running_);
    question_->setEnabled(!running_);
    exportJsonButton_->setEnabled(hasResults);
    exportCsvButton_->setEnabled(hasResults);
}

void BatchWindow::remember(bool running)
{
    QSettings settings;
    settings.setValue(kFolderKey, folder_->text().trimmed());
    settings.setValue(kOutputKey, output_->text().trimmed());
    settings.setValue(kQuestionKey, question_->text().trimmed());
    settings.setValue(kRunningKey, running);
    settings.sync();
}

void BatchWindow::showStatus(const QString& text, bool problem)
{
    status_->setText(text);
    status_->setStyleSheet(problem ? QStringLiteral("color: #b00020;") : QString());
}

}  // namespace querylens::ui
