#include "cli/cli_options.h"

#include "querylens/hub_cache.h"

#include <QDir>
#include <QProcessEnvironment>

namespace querylens::cli {

namespace {

int intValue(const QCommandLineParser& parser, const QString& name, int fallback)
{
    if (!parser.isSet(name))
        return fallback;
    bool ok = false;
    const int value = parser.value(name).toInt(&ok);
    if (!ok)
        throw UsageError{QStringLiteral("--%1 needs a whole number, not '%2'").arg(name, parser.value(name))};
    return value;
}

double doubleValue(const QCommandLineParser& parser, const QString& name, double fallback)
{
    if (!parser.isSet(name))
        return fallback;
    bool ok = false;
    const double value = parser.value(name).toDouble(&ok);
    if (!ok)
        throw UsageError{QStringLiteral("--%1 needs a number, not '%2'").arg(name, parser.value(name))};
    return value;
}

}  // namespace

void addModelOptions(QCommandLineParser& parser)
{
    parser.addOptions({
        {{QStringLiteral("m"), QStringLiteral("model")},
         QStringLiteral("BLIP-2 checkpoint folder (Hugging Face layout), or a repository id downloaded into the "
                        "Hugging Face cache (e.g. Salesforce/blip2-opt-2.7b). Default: $QUERYLENS_MODEL."),
         QStringLiteral("DIR|REPO")},
        {QStringLiteral("precision"), QStringLiteral("Weights in memory: fp32 (exact), bf16, int8. Default: fp32."),
         QStringLiteral("P"), QStringLiteral("fp32")},
        {QStringLiteral("threads"), QStringLiteral("Compute threads (default: all cores)."), QStringLiteral("N"),
         QStringLiteral("0")},
        {QStringLiteral("device"), QStringLiteral("cpu, or cuda where libtorch has it."), QStringLiteral("D"),
         QStringLiteral("cpu")},
    });
}

void addDecodingOptions(QCommandLineParser& parser)
{
    parser.addOptions({
        {QStringLiteral("max-new-tokens"), QStringLiteral("Most tokens to generate (default 30)."), QStringLiteral("N")},
        {QStringLiteral("min-new-tokens"), QStringLiteral("Fewest tokens before the end is allowed (default 0)."),
         QStringLiteral("N")},
        {QStringLiteral("beams"), QStringLiteral("Beam search with N beams (default 1: greedy)."), QStringLiteral("N")},
        {QStringLiteral("length-penalty"), QStringLiteral("Beam score = log p / length^X (default 1)."),
         QStringLiteral("X")},
        {QStringLiteral("early-stopping"), QStringLiteral("Stop beam search once N beams have finished.")},
        {QStringLiteral("sample"), QStringLiteral("Sample tokens instead of taking the most probable.")},
        {QStringLiteral("temperature"), QStringLiteral("Sampling temperature (default 1)."), QStringLiteral("T")},
        {QStringLiteral("top-k"), QStringLiteral("Sample among the K most probable tokens (default 50; 0: all)."),
         QStringLiteral("K")},
        {QStringLiteral("top-p"), QStringLiteral("Sample within probability mass P (default 1)."), QStringLiteral("P")},
        {QStringLiteral("seed"), QStringLiteral("Random seed for sampling (default 0)."), QStringLiteral("S")},
        {QStringLiteral("repetition-penalty"), QStringLiteral("Penalise repeated tokens, > 1 (default 1)."),
         QStringLiteral("X")},
        {QStringLiteral("no-repeat-ngram"), QStringLiteral("Never repeat an n-gram of this size (default off)."),
         QStringLiteral("N")},
        {QStringLiteral("num-captions"),
         QStringLiteral("How many texts to return (beams or samples; default 1)."), QStringLiteral("N")},
        {QStringLiteral("ignore-eos"), QStringLiteral("Do not stop at the end-of-text token.")},
    });
}

void addOutputOptions(QCommandLineParser& parser)
{
    parser.addOption({QStringLiteral("json"),
                      QStringLiteral("After the text, print one JSON object (text, token_ids, per-token probabilities, "
                                     "timings_ms, tokens_per_s) as the last line.")});
}

LoadOptions loadOptions(const QCommandLineParser& parser, const QString& fallbackFolder)
{
    LoadOptions options;
    QString folder = parser.value(QStringLiteral("model"));
    if (folder.isEmpty())
        folder = QProcessEnvironment::systemEnvironment().value(QStringLiteral("QUERYLENS_MODEL"));
    if (folder.isEmpty())
        folder = fallbackFolder;
    if (folder.isEmpty())
        throw UsageError{QStringLiteral("no model: give --model DIR (or set QUERYLENS_MODEL); "
                                        "`querylens make-demo-model DIR` writes a small random one")};
    // A folder, or a repository id ("Salesforce/blip2-opt-2.7b[@rev]") resolved offline to its
    // snapshot in the Hugging Face cache.
    options.folder = hub::resolveModelFolder(QDir::cleanPath(folder).toStdString());
    const auto precision = parsePrecision(parser.value(QStringLiteral("precision")).toStdString());
    if (!precision)
        throw UsageError{QStringLiteral("--precision must be fp32, bf16 or int8")};
    options.precision = *precision;
    options.threads = intValue(parser, QStringLiteral("threads"), 0);
    if (options.threads < 0)
        throw UsageError{QStringLiteral("--threads must be 0 (all cores) or more")};
    options.device = parser.value(QStringLiteral("device")).toStdString();
    return options;
}

DecodingOptions decodingOptions(const QCommandLineParser& parser)
{
    DecodingOptions o;
    o.maxNewTokens = intValue(parser, QStringLiteral("max-new-tokens"), o.maxNewTokens);
    o.minNewTokens = intValue(parser, QStringLiteral("min-new-tokens"), o.minNewTokens);
    o.numBeams = intValue(parser, QStringLiteral("beams"), o.numBeams);
    o.lengthPenalty = doubleValue(parser, QStringLiteral("length-penalty"), o.lengthPenalty);
    o.earlyStopping = parser.isSet(QStringLiteral("early-stopping"));
    o.doSample = parser.isSet(QStringLiteral("sample"));
    o.temperature = doubleValue(parser, QStringLiteral("temperature"), o.temperature);
    o.topK = intValue(parser, QStringLiteral("top-k"), o.topK);
    o.topP = doubleValue(parser, QStringLiteral("top-p"), o.topP);
    o.seed = std::uint64_t(intValue(parser, QStringLiteral("seed"), 0));
    o.repetitionPenalty = doubleValue(parser, QStringLiteral("repetition-penalty"), o.repetitionPenalty);
    o.noRepeatNgramSize = intValue(parser, QStringLiteral("no-repeat-ngram"), o.noRepeatNgramSize);
    o.numReturnSequences = intValue(parser, QStringLiteral("num-captions"), o.numReturnSequences);
    o.stopAtEos = !parser.isSet(QStringLiteral("ignore-eos"));
    return o;
}

}  // namespace querylens::cli
