#pragma once
// What the batch window and the model worker say to each other about "Caption a folder...".

#include "querylens/batch_runner.h"
#include "querylens/decoding_options.h"

#include <QImage>
#include <QMetaType>
#include <QString>

namespace querylens::ui {

struct BatchRequest {
    QString folder;     // every image below it, recursively
    QString output;     // the results file (JSON Lines), continued when it exists
    QString question;   // empty: captions; else this question about every image
    DecodingOptions options;
    int batchSize = 8;
};

// One row of the results table: an image done (or failed).
struct BatchRow {
    QString key;          // as in the results file
    QString file;         // the image file, for a thumbnail (empty inside a tar shard)
    QString text;         // the caption or answer; empty for an error
    QString error;
    double milliseconds = 0;
    QImage thumbnail;     // may be null: the table makes one from `file` when shown
};

enum class BatchEnd { Finished, Paused, Cancelled };

}  // namespace querylens::ui

Q_DECLARE_METATYPE(querylens::ui::BatchRequest)
Q_DECLARE_METATYPE(querylens::ui::BatchRow)
Q_DECLARE_METATYPE(querylens::ui::BatchEnd)
Q_DECLARE_METATYPE(querylens::BatchProgress)
