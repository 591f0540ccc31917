#include "status_panel.h"

#include <QFile>
#include <QLabel>
#include <QProgressBar>
#include <QStatusBar>
#include <QTimer>

#include <unistd.h>

namespace querylens::ui {

std::size_t residentMemoryBytes()
{
    QFile statm(QStringLiteral("/proc/self/statm"));
    if (!statm.open(QIODevice::ReadOnly))
        return 0;
    const QList<QByteArray> fields = statm.readAll().split(' ');
    return fields.size() > 1 ? std::size_t(fields[1].toULongLong()) * std::size_t(::sysconf(_SC_PAGESIZE)) : 0;
}

QString formatBytes(std::size_t bytes)
{
    const double gib = double(bytes) / (1024.0 * 1024.0 * 1024.0);
    if (gib >= 1.0)
        return QStringLiteral("%1 GiB").arg(gib, 0, 'f', 2);
    return QStringLiteral("%1 MiB").arg(double(bytes) / (1024.0 * 1024.0), 0, 'f', 0);
}

StatusPanel::StatusPanel(QStatusBar* bar)
    : QObject(bar), model_(new QLabel(bar)), hardware_(new QLabel(bar)), figures_(new QLabel(bar)),
      memory_(new QLabel(bar)), progress_(new QProgressBar(bar)), memoryTimer_(new QTimer(this))
{
    model_->setObjectName(QStringLiteral("statusModel"));
    figures_->setObjectName(QStringLiteral("statusFigures"));
    hardware_->setObjectName(QStringLiteral("statusHardware"));
    progress_->setRange(0, 1000);
    progress_->setMaximumWidth(220);
    progress_->setTextVisible(true);
    progress_->hide();
    // The model's name gives way first when the window is narrow (its folder is in the tooltip):
    // the figures and the hardware on the right are what a user watches while generating.
    model_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    model_->setMinimumWidth(80);
    bar->addWidget(model_, 1);
    bar->addWidget(progress_);
    bar->addPermanentWidget(figures_);
    bar->addPermanentWidget(hardware_);
    bar->addPermanentWidget(memory_);
    connect(memoryTimer_, &QTimer::timeout, this, &StatusPanel::updateMemory);
    memoryTimer_->start(2000);
    setNoModel();
    updateMemory();
}

void StatusPanel::setModel(const ModelInfo& info)
{
    QString name = QString::fromStdString(info.name);
    if (info.isDemo)
        name += tr(" (demo: random weights)");
    else if (info.isTrainedDemo)
        name += tr(" (demo: synthetic shapes)");
    model_->setText(name + QStringLiteral(" · ") + QString::fromStdString(info.languageModel));
    model_->setToolTip(QString::fromStdString(info.folder));
    hardware_->setText(QStringLiteral("%1 · %2 · %3 · %4")
                           .arg(QString::fromStdString(info.device).toUpper(),
                                QString::fromLatin1(precisionName(info.precision)),
                                tr("%n thread(s)", nullptr, info.threads), QString::fromStdString(info.kernels.isa)));
    // The kernel of each regime, as the benchmark and --json report them.
    QString tip = tr("CPU: %1\nfeatures: %2\nimages: %3\nprompts: %4\ndecode: %5\nattention: %6\nkernel choice: %7")
                      .arg(QString::fromStdString(info.kernels.cpu), QString::fromStdString(info.kernels.cpuFlags),
                           QString::fromStdString(info.kernels.images), QString::fromStdString(info.kernels.prompts),
                           QString::fromStdString(info.kernels.decode), QString::fromStdString(info.kernels.attention),
                           QString::fromStdString(info.kernels.choice));
    // The measured choice per image product: which kernel runs it and both rates.
    for (const ModelInfo::Kernels::Product& p : info.kernels.products)
        tip += tr("\n  %1 (%2x%3x%4): %5; ours %6, libtorch %7 GFLOP/s")
                   .arg(QString::fromStdString(p.layer))
                   .arg(p.m)
                   .arg(p.k)
                   .arg(p.n)
                   .arg(QString::fromStdString(p.kernel))
                   .arg(p.oursGflops, 0, 'f', 0)
                   .arg(p.libtorchGflops, 0, 'f', 0);
    hardware_->setToolTip(tip);
}

void StatusPanel::setNoModel()
{
    model_->setText(tr("No model loaded"));
    hardware_->clear();
    hardware_->setToolTip({});
}

void StatusPanel::setEncodeTime(double ms)
{
    encodeMs_ = ms;
    figures_->setText(figuresText());
}

void StatusPanel::setGeneration(const GenerationResult& result)
{
    firstTokenMs_ = result.timings.firstTokenMs;
    tokensPerSecond_ = result.timings.tokensPerSecond;
    figures_->setText(figuresText());
}

QString StatusPanel::figuresText() const
{
    QStringList parts;
    if (encodeMs_ >= 0)
        parts << tr("image %1 ms").arg(encodeMs_, 0, 'f', 0);
    if (firstTokenMs_ >= 0)
        parts << tr("first token %1 ms").arg(firstTokenMs_, 0, 'f', 0);
    if (tokensPerSecond_ > 0)
        parts << tr("%1 tokens/s").arg(tokensPerSecond_, 0, 'f', 1);
    return parts.join(QStringLiteral(" · "));
}

QString StatusPanel::modelText() const { return model_->text(); }

QString StatusPanel::hardwareText() const { return hardware_->text(); }

QString StatusPanel::kernelsToolTip() const { return hardware_->toolTip(); }

void StatusPanel::showProgress(const QString& stage, double fraction)
{
    progress_->setFormat(stage + QStringLiteral(" %p%"));
    progress_->setValue(int(fraction * 1000));
    progress_->show();
}

void StatusPanel::hideProgress() { progress_->hide(); }

void StatusPanel::updateMemory() { memory_->setText(tr("RSS %1").arg(formatBytes(residentMemoryBytes()))); }

}  // namespace querylens::ui
