#pragma once
// The options every model command shares (model, precision, threads, decoding controls), read
// from one QCommandLineParser into core's structs.

#include "querylens/decoding_options.h"
#include "querylens/model.h"

#include <QCommandLineParser>
#include <QString>

namespace querylens::cli {

// Thrown for a bad command line; main prints it with the usage and exits with 2.
struct UsageError {
    QString message;
};

void addModelOptions(QCommandLineParser& parser);
void addDecodingOptions(QCommandLineParser& parser);
void addOutputOptions(QCommandLineParser& parser);

// The model folder is --model, else $QUERYLENS_MODEL, else `fallbackFolder` (a saved session's);
// none of them is a UsageError.
LoadOptions loadOptions(const QCommandLineParser& parser, const QString& fallbackFolder = {});
DecodingOptions decodingOptions(const QCommandLineParser& parser);

}  // namespace querylens::cli
