#pragma once
// The decoding controls in a compact form: a strategy (greedy, beam search, sampling) and the
// parameters that apply to it. Values persist across runs (QSettings).

#include "querylens/decoding_options.h"

#include <QWidget>

class QComboBox;
class QDoubleSpinBox;
class QFormLayout;
class QSpinBox;

namespace querylens::ui {

class DecodingPanel : public QWidget {
    Q_OBJECT
public:
    // `remembered`: the values persist across runs (the window's panel); a panel for one
    // regeneration leaves the saved values alone.
    explicit DecodingPanel(QWidget* parent = nullptr, bool remembered = true);

    DecodingOptions options() const;
    void setOptions(const DecodingOptions& options);

signals:
    void changed();

private:
    void updateVisibility();
    void save() const;
    void restore();

    QFormLayout* form_;
    QComboBox* strategy_;
    QSpinBox* maxNewTokens_;
    QSpinBox* minNewTokens_;
    QSpinBox* beams_;
    QDoubleSpinBox* lengthPenalty_;
    QDoubleSpinBox* temperature_;
    QSpinBox* topK_;
    QDoubleSpinBox* topP_;
    QSpinBox* seed_;
    QDoubleSpinBox* repetitionPenalty_;
    QSpinBox* noRepeatNgram_;
    bool remembered_ = true;
};

}  // namespace querylens::ui
