#pragma once
// Core's plain result types, made known to Qt's meta-type system so that they travel through
// queued signals from the worker thread to the window.

#include "querylens/decoding_options.h"
#include "querylens/generation.h"
#include "querylens/image_encoding.h"
#include "querylens/model.h"
#include "querylens/query_catalogue.h"
#include "querylens/session.h"

#include <QMetaType>
#include <QString>

#include <memory>

namespace querylens::ui {

using ImageEncodingPtr = std::shared_ptr<const ImageEncoding>;

// What a generation request asks for.
enum class GenerationKind { Caption, Question, Ablation };

struct GenerationRequest {
    int imageId = 0;
    GenerationKind kind = GenerationKind::Caption;
    QString question;                  // Question: the new question
    std::vector<ChatTurn> history;     // Question: the turns before it (the branch it follows)
    std::vector<int> disabledQueries;  // Ablation: queries left out of the language model's input
    DecodingOptions options;
};

void registerWorkerTypes();

}  // namespace querylens::ui

Q_DECLARE_METATYPE(querylens::ModelInfo)
Q_DECLARE_METATYPE(querylens::QueryCatalogue)
Q_DECLARE_METATYPE(querylens::LoadOptions)
Q_DECLARE_METATYPE(querylens::DecodingOptions)
Q_DECLARE_METATYPE(querylens::GeneratedToken)
Q_DECLARE_METATYPE(querylens::GenerationResult)
Q_DECLARE_METATYPE(querylens::RgbImage)
Q_DECLARE_METATYPE(querylens::ui::ImageEncodingPtr)
Q_DECLARE_METATYPE(querylens::ui::GenerationRequest)
