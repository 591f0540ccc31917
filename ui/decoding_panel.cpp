#include "decoding_panel.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QSettings>
#include <QSpinBox>

namespace querylens::ui {

namespace {

enum Strategy { Greedy, Beam, Sample };

QSpinBox* intBox(QWidget* parent, int min, int max, const QString& tip)
{
    auto* box = new QSpinBox(parent);
    box->setRange(min, max);
    box->setToolTip(tip);
    return box;
}

QDoubleSpinBox* realBox(QWidget* parent, double min, double max, double step, const QString& tip)
{
    auto* box = new QDoubleSpinBox(parent);
    box->setRange(min, max);
    box->setSingleStep(step);
    box->setDecimals(2);
    box->setToolTip(tip);
    return box;
}

}  // namespace

DecodingPanel::DecodingPanel(QWidget* parent, bool remembered)
    : QWidget(parent), form_(new QFormLayout(this)), remembered_(remembered)
{
    strategy_ = new QComboBox(this);
    strategy_->addItems({tr("Greedy"), tr("Beam search"), tr("Sampling")});
    strategy_->setToolTip(tr("How each next word is chosen"));
    maxNewTokens_ = intBox(this, 1, 512, tr("The most tokens to generate"));
    minNewTokens_ = intBox(this, 0, 512, tr("Tokens to generate before the text may end"));
    beams_ = intBox(this, 2, 16, tr("Hypotheses kept at each step"));
    lengthPenalty_ = realBox(this, -5, 5, 0.1, tr("Beam scores are divided by length^penalty: above 0 favours longer text"));
    temperature_ = realBox(this, 0.05, 5, 0.05, tr("Below 1: more predictable; above 1: more varied"));
    topK_ = intBox(this, 0, 1000, tr("Sample among the K most probable tokens (0: all)"));
    topP_ = realBox(this, 0.01, 1, 0.05, tr("Sample within the smallest set holding this much probability"));
    seed_ = intBox(this, 0, 1 << 30, tr("The same seed gives the same text"));
    repetitionPenalty_ = realBox(this, 0.5, 3, 0.05, tr("Above 1 discourages repeating tokens"));
    noRepeatNgram_ = intBox(this, 0, 10, tr("Never repeat a sequence of this many tokens (0: off)"));

    form_->setContentsMargins(0, 0, 0, 0);
    form_->addRow(tr("Decoding"), strategy_);
    form_->addRow(tr("Max tokens"), maxNewTokens_);
    form_->addRow(tr("Min tokens"), minNewTokens_);
    form_->addRow(tr("Beams"), beams_);
    form_->addRow(tr("Length penalty"), lengthPenalty_);
    form_->addRow(tr("Temperature"), temperature_);
    form_->addRow(tr("Top-k"), topK_);
    form_->addRow(tr("Top-p"), topP_);
    form_->addRow(tr("Seed"), seed_);
    form_->addRow(tr("Repetition penalty"), repetitionPenalty_);
    form_->addRow(tr("No-repeat n-gram"), noRepeatNgram_);

    restore();
    updateVisibility();
    connect(strategy_, &QComboBox::currentIndexChanged, this, [this] {
        updateVisibility();
        save();
        emit changed();
    });
    for (auto* box : {maxNewTokens_, minNewTokens_, beams_, topK_, seed_, noRepeatNgram_})
        connect(box, &QSpinBox::valueChanged, this, [this] { save(); emit changed(); });
    for (auto* box : {lengthPenalty_, temperature_, topP_, repetitionPenalty_})
        connect(box, &QDoubleSpinBox::valueChanged, this, [this] { save(); emit changed(); });
}

void DecodingPanel::updateVisibility()
{
    const int strategy = strategy_->currentIndex();
    form_->setRowVisible(beams_, strategy == Beam);
    form_->setRowVisible(lengthPenalty_, strategy == Beam);
    form_->setRowVisible(temperature_, strategy == Sample);
    form_->setRowVisible(topK_, strategy == Sample);
    form_->setRowVisible(topP_, strategy == Sample);
    form_->setRowVisible(seed_, strategy == Sample);
}

DecodingOptions DecodingPanel::options() const
{
    DecodingOptions o;
    const int strategy = strategy_->currentIndex();
    o.maxNewTokens = maxNewTokens_->value();
    o.minNewTokens = qMin(minNewTokens_->value(), o.maxNewTokens);
    o.numBeams = strategy == Beam ? beams_->value() : 1;
    o.lengthPenalty = lengthPenalty_->value();
    o.doSample = strategy == Sample;
    o.temperature = temperature_->value();
    o.topK = topK_->value();
    o.topP = topP_->value();
    o.seed = std::uint64_t(seed_->value());
    o.repetitionPenalty = repetitionPenalty_->value();
    o.noRepeatNgramSize = noRepeatNgram_->value();
    return o;
}

void DecodingPanel::setOptions(const DecodingOptions& o)
{
    strategy_->setCurrentIndex(o.doSample ? Sample : o.numBeams > 1 ? Beam : Greedy);
    maxNewTokens_->setValue(o.maxNewTokens);
    minNewTokens_->setValue(o.minNewTokens);
    beams_->setValue(qMax(2, o.numBeams));
    lengthPenalty_->setValue(o.lengthPenalty);
    temperature_->setValue(o.temperature);
    topK_->setValue(o.topK);
    topP_->setValue(o.topP);
    seed_->setValue(int(o.seed));
    repetitionPenalty_->setValue(o.repetitionPenalty);
    noRepeatNgram_->setValue(o.noRepeatNgramSize);
    updateVisibility();
}

void DecodingPanel::save() const
{
    if (!remembered_)
        return;
    const DecodingOptions o = options();
    QSettings settings;
    settings.beginGroup(QStringLiteral("decoding"));
    settings.setValue(QStringLiteral("strategy"), strategy_->currentIndex());
    settings.setValue(QStringLiteral("maxNewTokens"), o.maxNewTokens);
    settings.setValue(QStringLiteral("minNewTokens"), o.minNewTokens);
    settings.setValue(QStringLiteral("beams"), beams_->value());
    settings.setValue(QStringLiteral("lengthPenalty"), o.lengthPenalty);
    settings.setValue(QStringLiteral("temperature"), o.temperature);
    settings.setValue(QStringLiteral("topK"), o.topK);
    settings.setValue(QStringLiteral("topP"), o.topP);
    settings.setValue(QStringLiteral("seed"), qulonglong(o.seed));
    settings.setValue(QStringLiteral("repetitionPenalty"), o.repetitionPenalty);
    settings.setValue(QStringLiteral("noRepeatNgram"), o.noRepeatNgramSize);
}

void DecodingPanel::restore()
{
    const DecodingOptions d;
    QSettings settings;
    settings.beginGroup(QStringLiteral("decoding"));
    const int strategy = settings.value(QStringLiteral("strategy"), int(Greedy)).toInt();
    strategy_->setCurrentIndex(qBound(0, strategy, 2));
    maxNewTokens_->setValue(settings.value(QStringLiteral("maxNewTokens"), d.maxNewTokens).toInt());
    minNewTokens_->setValue(settings.value(QStringLiteral("minNewTokens"), d.minNewTokens).toInt());
    beams_->setValue(settings.value(QStringLiteral("beams"), 3).toInt());
    lengthPenalty_->setValue(settings.value(QStringLiteral("lengthPenalty"), d.lengthPenalty).toDouble());
    temperature_->setValue(settings.value(QStringLiteral("temperature"), d.temperature).toDouble());
    topK_->setValue(settings.value(QStringLiteral("topK"), d.topK).toInt());
    topP_->setValue(settings.value(QStringLiteral("topP"), d.topP).toDouble());
    seed_->setValue(settings.value(QStringLiteral("seed"), 0).toInt());
    repetitionPenalty_->setValue(settings.value(QStringLiteral("repetitionPenalty"), d.repetitionPenalty).toDouble());
    noRepeatNgram_->setValue(settings.value(QStringLiteral("noRepeatNgram"), d.noRepeatNgramSize).toInt());
}

}  // namespace querylens::ui
