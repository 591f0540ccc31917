// batch: caption (or ask about) a whole dataset into a results file that resumes after any
// interruption; the progress shows on stderr, the summary (--json) on stdout.

#include "cli/batch_progress.h"
#include "cli/command_runner.h"
#include "cli/commands.h"
#include "image_file.h"
#include "querylens/batch_runner.h"
#include "querylens/error.h"

#include <QFileInfo>

#include <nlohmann/json.hpp>

#include <iostream>
#include <set>
#include <thread>

namespace querylens::cli {

namespace {

int positiveValue(const QCommandLineParser& parser, const QString& name, int fallback)
{
    if (!parser.isSet(name))
        return fallback;
    bool ok = false;
    const int value = parser.value(name).toInt(&ok);
    if (!ok || value < 1)
        throw UsageError{QStringLiteral("--%1 needs a whole number of at least 1, not '%2'").arg(name, parser.value(name))};
    return value;
}

BatchSettings batchSettings(const QCommandLineParser& parser)
{
    BatchSettings settings;
    const QString task = parser.value(QStringLiteral("task"));
    if (task != QLatin1String("caption") && task != QLatin1String("ask"))
        throw UsageError{QStringLiteral("--task must be caption or ask, not '%1'").arg(task)};
    settings.task = task == QLatin1String("ask") ? BatchTask::Ask : BatchTask::Caption;
    const bool questions = parser.isSet(QStringLiteral("question")) || parser.isSet(QStringLiteral("questions"));
    if (settings.task == BatchTask::Ask && !questions)
        throw UsageError{QStringLiteral("--task ask needs --question \"...\" or --questions FILE.jsonl")};
    if (settings.task == BatchTask::Caption && questions)
        throw UsageError{QStringLiteral("--question and --questions go with --task ask")};
    if (parser.isSet(QStringLiteral("prompt"))) {
        if (settings.task == BatchTask::Ask)
            throw UsageError{QStringLiteral("--prompt goes with --task caption (questions make their own prompt)")};
        settings.prompt = parser.value(QStringLiteral("prompt")).toStdString();
    }
    settings.question = parser.value(QStringLiteral("question")).trimmed().toStdString();
    if (parser.isSet(QStringLiteral("questions")))
        settings.questions = readQuestionFile(parser.value(QStringLiteral("questions")).toStdString());
    settings.decoding = decodingOptions(parser);
    settings.batchSize = positiveValue(parser, QStringLiteral("batch-size"), 8);
    settings.decodeThreads =
        positiveValue(parser, QStringLiteral("decode-threads"), std::max(1, int(std::thread::hardware_concurrency()) / 4));
    if (parser.isSet(QStringLiteral("shard"))) {
        settings.shard = parseShard(parser.value(QStringLiteral("shard")).toStdString());
        if (!settings.shard)
            throw UsageError{QStringLiteral("--shard must be I/N with 0 <= I < N (e.g. 3/8), not '%1'")
                                 .arg(parser.value(QStringLiteral("shard")))};
    }
    settings.tokenProbabilities = parser.isSet(QStringLiteral("token-probabilities"));
    return settings;
}

void addBatchOptions(QCommandLineParser& parser)
{
    parser.addOptions({
        {{QStringLiteral("o"), QStringLiteral("out")},
         QStringLiteral("The results file (JSON Lines, one line per input; only ever appended to)."), QStringLiteral("FILE")},
        {QStringLiteral("resume"),
         QStringLiteral("Continue the results file: inputs it has a line for are skipped (a torn last line is redone).")},
        {QStringLiteral("retry-errors"), QStringLiteral("With --resume: do again the inputs whose line is an error.")},
        {QStringLiteral("task"), QStringLiteral("caption (default) or ask."), QStringLiteral("TASK"), QStringLiteral("caption")},
        {QStringLiteral("prompt"), QStringLiteral("caption: text the captions continue (default: the model's)."),
         QStringLiteral("TEXT")},
        {QStringLiteral("question"), QStringLiteral("ask: the question for every input without its own."),
         QStringLiteral("TEXT")},
        {QStringLiteral("questions"),
         QStringLiteral("ask: a JSON Lines file of {\"key\": ..., \"question\": ...}, one question per input."),
         QStringLiteral("FILE")},
        {QStringLiteral("batch-size"), QStringLiteral("Images encoded and decoded together (default 8)."),
         QStringLiteral("B")},
        {QStringLiteral("decode-threads"),
         QStringLiteral("Threads decoding images ahead of the model (default: a quarter of the cores, at least 1)."),
         QStringLiteral("N")},
        {QStringLiteral("shard"),
         QStringLiteral("Do only shard I of N: the inputs whose key hashes to I (for cluster job arrays)."),
         QStringLiteral("I/N")},
        {QStringLiteral("token-probabilities"),
         QStringLiteral("Write each token's probability and the most probable alternatives in the lines.")},
        {QStringLiteral("json"), QStringLiteral("Print a JSON summary of the run as the last line of stdout.")},
    });
}

}  // namespace

int runBatch(const QStringList& arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Caption (or ask about) many images: files, folders (recursive), @LIST files (one path per line) and WebDataset "
        "tar shards. One JSON line per input is appended to --out as it is done; run again with --resume to continue "
        "after any interruption. Exit codes: 0 done (inputs that failed have an error line), 1 bad input, 2 usage, "
        "130 interrupted (rerun with --resume)."));
    addModelOptions(parser);
    addDecodingOptions(parser);
    addBatchOptions(parser);
    parser.addPositionalArgument(QStringLiteral("INPUT"),
                                 QStringLiteral("Image files, folders, @LIST.txt files, WebDataset .tar shards."),
                                 QStringLiteral("INPUT..."));
    stopOnTermination();
    return runCommand(parser, arguments, [&] {
        const QStringList inputs = positionalArguments(parser, 1, -1, QStringLiteral("give at least one input"));
        const QString out = parser.value(QStringLiteral("out"));
        if (out.isEmpty())
            throw UsageError{QStringLiteral("give the results file with --out FILE.jsonl")};
        const bool resume = parser.isSet(QStringLiteral("resume"));
        if (!resume && QFileInfo(out).exists() && QFileInfo(out).size() > 0)
            throw UsageError{QStringLiteral("%1 exists: add --resume to continue it, or give another --out").arg(out)};
        if (parser.isSet(QStringLiteral("retry-errors")) && !resume)
            throw UsageError{QStringLiteral("--retry-errors goes with --resume")};
        const BatchSettings settings = batchSettings(parser);

        std::vector<std::string> inputPaths;
        for (const QString& input : inputs)
            inputPaths.push_back(input.toStdString());
        const InputListing listing = listInputs(inputPaths, ui::readableImageExtensions());
        std::set<std::string> keys;
        for (const DatasetItem& item : listing.items)
            keys.insert(item.key);
        std::size_t unknownQuestions = 0;
        for (const auto& entry : settings.questions)
            unknownQuestions += keys.count(entry.first) ? 0 : 1;
        if (unknownQuestions > 0)
            printWarning(std::to_string(unknownQuestions) + (unknownQuestions > 1 ? " keys of --questions are" : " key of --questions is") +
                         " not among the inputs");
        printWarnings(listing.warnings);
        if (listing.items.empty())
            throw Error("no images among the inputs");

        ResultsLog log(out.toStdString());
        if (log.existing().tornEnd)
            std::cerr << "Note: " << out.toStdString()
                      << " ended inside a line (the last run stopped while writing it): that line was cut off and its "
                         "input is done again.\n";
        for (const auto& problem : log.existing().problems)
            printWarning(out.toStdString() + ": " + problem + " (left as it is)");
        const BatchPlan plan = planBatch(listing.items, log.existing(), settings.shard, parser.isSet(QStringLiteral("retry-errors")));
        std::cerr << listing.items.size() << " input" << (listing.items.size() == 1 ? "" : "s");
        if (settings.shard)
            std::cerr << ", " << plan.inShard << " in shard " << settings.shard->text();
        if (plan.alreadyDone > 0)
            std::cerr << ", " << plan.alreadyDone << " already in " << out.toStdString();
        std::cerr << ": " << plan.todo.size() << " to do\n";

        BatchSummary summary;
        double loadMs = 0;
        if (!plan.todo.empty()) {
            const auto model = loadModel(parser, loadMs);
            checkResumable(log.existing(), out.toStdString(), *model, settings);
            BatchProgressPrinter printer;
            BatchCallbacks callbacks;
            callbacks.load = ui::loadDatasetImage;
            callbacks.cancel = interrupted;
            callbacks.onProgress = [&](const BatchProgress& progress) { printer.update(progress); };
            callbacks.onRecord = [&](const BatchRecord& record) {
                if (!record.error.empty())
                    printer.error(record.error);
            };
            summary = runBatch(*model, plan.todo, settings, log, callbacks);
            printer.finish(summary, out.toStdString());
        }
        if (parser.isSet(QStringLiteral("json"))) {
            const BatchProgress& p = summary.progress;
            const char* outcome = summary.outcome == BatchOutcome::Cancelled ? "cancelled"
                                  : summary.outcome == BatchOutcome::Paused  ? "paused"
                                                                             : "finished";
            const nlohmann::json report = {
                {"output", out.toStdString()},
                {"inputs", listing.items.size()},
                {"in_shard", plan.inShard},
                {"shard", settings.shard ? nlohmann::json(settings.shard->text()) : nlohmann::json()},
                {"already_done", plan.alreadyDone},
                {"done", p.done},
                {"errors", p.errors},
                {"remaining", plan.todo.size() - p.done},
                {"outcome", outcome},
                {"seconds", p.elapsedSeconds},
                {"images_per_s", p.imagesPerSecond},
                {"load_ms", loadMs},
            };
            std::cout << report.dump() << "\n" << std::flush;
        }
        return summary.outcome == BatchOutcome::Cancelled ? 130 : 0;
    });
}

}  // namespace querylens::cli
