#include "explain/localize_panel.h"

#include "explain/faithfulness_chart.h"
#include "explorer/map_view.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSplitter>
#include <QVBoxLayout>

namespace querylens::ui {

LocalizePanel::LocalizePanel(QWidget* parent)
    : QWidget(parent), phrase_(new QLineEdit), localize_(new QPushButton(tr("Localize"))), scores_(new QLabel),
      words_(new QLabel), map_(new MapView), faithfulness_(new QPushButton(tr("Check faithfulness"))),
      chart_(new FaithfulnessChart)
{
    phrase_->setPlaceholderText(tr("A phrase to find, e.g. “a cat on the left”"));
    phrase_->setClearButtonEnabled(true);
    scores_->setWordWrap(true);
    scores_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    words_->setWordWrap(true);
    faithfulness_->setToolTip(tr("Remove the map's patches from the image one group at a time (and reveal them into a "
                                 "blurred image), tracking the match logit, against random orders"));
    auto* row = new QHBoxLayout;
    row->addWidget(phrase_, 1);
    row->addWidget(localize_);
    auto* wordsRow = new QHBoxLayout;
    wordsRow->addWidget(words_, 1);
    wordsRow->addWidget(faithfulness_, 0, Qt::AlignTop);
    auto* split = new QSplitter(Qt::Vertical);
    split->addWidget(map_);
    split->addWidget(chart_);
    split->setStretchFactor(0, 1);
    split->setStretchFactor(1, 1);
    split->setSizes({280, 320});  // the curves need their axes more than the map needs the room
    split->setChildrenCollapsible(false);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(row);
    layout->addWidget(scores_);
    layout->addLayout(wordsRow);
    layout->addWidget(split, 1);

    connect(localize_, &QPushButton::clicked, this, [this] { localize(phrase_->text()); });
    connect(phrase_, &QLineEdit::returnPressed, this, [this] { localize(phrase_->text()); });
    connect(words_, &QLabel::linkActivated, this, [this](const QString& link) { selectWord(link.mid(1).toInt()); });
    connect(faithfulness_, &QPushButton::clicked, this, &LocalizePanel::checkFaithfulness);
    setCanLocalize(false, tr("Open an image-text matching model (Blip2ForImageTextRetrieval, e.g. Salesforce/blip2-itm-vit-g) "
                             "to find phrases in images."));
}

void LocalizePanel::setCanLocalize(bool can, const QString& reason)
{
    canLocalize_ = can;
    phrase_->setEnabled(can);
    localize_->setEnabled(can && !busy_ && imageId_ != 0);
    faithfulness_->setEnabled(can && !busy_ && haveResult_);
    if (!can) {
        haveResult_ = false;
        scores_->setText(reason);
        words_->clear();
        map_->clearMap(reason);
        chart_->clear({});
    } else if (!haveResult_) {
        scores_->setText(tr("Type a phrase and press Enter: the map shows where the model finds it (GradCAM of the match "
                            "logit on the Q-Former's cross-attention); click a word for its own map."));
        map_->clearMap(imageId_ ? QString() : tr("Open an image first."));
    }
}

void LocalizePanel::setImage(int imageId, const QImage& image)
{
    if (imageId == imageId_)
        return;
    imageId_ = imageId;
    image_ = image;
    haveResult_ = false;
    word_ = -1;
    words_->clear();
    chart_->clear({});
    setCanLocalize(canLocalize_, scores_->text());
    if (canLocalize_)
        map_->clearMap(tr("Type a phrase above to see where it is in this image."));
}

void LocalizePanel::clearImage()
{
    imageId_ = 0;
    image_ = QImage();
    haveResult_ = false;
    setCanLocalize(canLocalize_, scores_->text());
}

void LocalizePanel::setBusy(bool busy)
{
    busy_ = busy;
    localize_->setEnabled(canLocalize_ && !busy && imageId_ != 0);
    faithfulness_->setEnabled(canLocalize_ && !busy && haveResult_);
}

void LocalizePanel::localize(const QString& text)
{
    if (!canLocalize_ || imageId_ == 0 || text.trimmed().isEmpty())
        return;
    scores_->setText(tr("Localising “%1”…").arg(text.trimmed().toHtmlEscaped()));
    chart_->clear({});
    emit localizeRequested(imageId_, text.trimmed());
}

void LocalizePanel::showResult(int imageId, const PhraseLocalization& result)
{
    if (imageId != imageId_)
        return;
    result_ = result;
    haveResult_ = true;
    word_ = -1;
    const TextMatch& m = result.match;
    scores_->setText(tr("Match probability %1 (ITM logits %2, %3) · ITC similarity %4, best query %5%6")
                         .arg(m.itmProbability, 0, 'f', 3)
                         .arg(m.itmLogits[0], 0, 'f', 3)
                         .arg(m.itmLogits[1], 0, 'f', 3)
                         .arg(m.itcSimilarity, 0, 'f', 4)
                         .arg(m.bestQuery)
                         .arg(m.truncated ? tr(" (the text was cut to the model's length)") : QString()));
    chart_->clear(tr("Check faithfulness to see whether the match depends on the patches this map ranks first."));
    showMap();
    setBusy(busy_);
}

const std::vector<float>& LocalizePanel::currentMap() const
{
    return word_ < 0 ? result_.maps.phraseMap : result_.maps.wordMaps.at(std::size_t(word_));
}

void LocalizePanel::selectWord(int index)
{
    if (!haveResult_ || index < -1 || index >= wordCount())
        return;
    word_ = index;
    chart_->clear(tr("Check faithfulness to see whether the match depends on the patches this map ranks first."));
    showMap();
}

void LocalizePanel::showMap()
{
    QStringList links;
    links << (word_ < 0 ? tr("<b>whole phrase</b>") : QStringLiteral("<a href=\"w-1\">%1</a>").arg(tr("whole phrase")));
    for (int w = 0; w < wordCount(); ++w) {
        const QString text = QString::fromStdString(result_.words[std::size_t(w)]).toHtmlEscaped();
        links << (w == word_ ? QStringLiteral("<b><u>%1</u></b>").arg(text) : QStringLiteral("<a href=\"w%1\">%2</a>").arg(w).arg(text));
    }
    words_->setText(tr("Map of: ") + links.join(QStringLiteral(" · ")));
    const QString title = word_ < 0 ? tr("Where “%1” is").arg(QString::fromStdString(result_.match.text))
                                    : tr("“%1” in “%2”").arg(QString::fromStdString(result_.words[std::size_t(word_)]),
                                                             QString::fromStdString(result_.match.text));
    map_->setMap(image_, currentMap(), result_.gridSize, title, 0.7);
}

void LocalizePanel::checkFaithfulness()
{
    if (!haveResult_ || busy_)
        return;
    chart_->clear(tr("Running the curves: the image with patches removed and revealed, a group at a time…"));
    emit faithfulnessRequested(imageId_, QString::fromStdString(result_.match.text), currentMap());
}

void LocalizePanel::showFaithfulness(int imageId, const FaithfulnessReport& report)
{
    if (imageId != imageId_ || !haveResult_)
        return;
    chart_->showReport(report, word_ < 0 ? tr("phrase") : tr("word “%1”").arg(QString::fromStdString(result_.words[std::size_t(word_)])));
}

void LocalizePanel::fail(const QString& message, bool cancelled)
{
    scores_->setText(cancelled ? tr("Stopped.") : message.toHtmlEscaped());
}

QString LocalizePanel::scoresText() const { return scores_->text(); }

}  // namespace querylens::ui
