// merge-results: the results files of a dataset's shards as one, checked for completeness.

#include "cli/command_runner.h"
#include "cli/commands.h"
#include "image_file.h"
#include "querylens/batch_results.h"
#include "querylens/dataset_inputs.h"
#include "querylens/error.h"

#include <nlohmann/json.hpp>

#include <iostream>

namespace querylens::cli {

namespace {

// At most `shown` of `keys`, then how many more.
std::string someKeys(const std::vector<std::string>& keys, std::size_t shown = 10)
{
    std::string text;
    for (std::size_t i = 0; i < keys.size() && i < shown; ++i)
        text += (i ? ", " : "") + keys[i];
    if (keys.size() > shown)
        text += " and " + std::to_string(keys.size() - shown) + " more";
    return text;
}

}  // namespace

int runMergeResults(const QStringList& arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Merge the results files of a batch's shards (querylens batch --shard I/N) into OUT, one line per input, and "
        "check that every input appears once: missing inputs, missing shards and inputs with two results are reported. "
        "With --inputs (the batch's inputs again), every input is checked; without, the shards the lines name. OUT is "
        "written atomically in any case. Exit codes: 0 complete, 1 something is missing or doubled, 2 usage."));
    parser.addPositionalArgument(QStringLiteral("OUT"), QStringLiteral("The merged results file."));
    parser.addPositionalArgument(QStringLiteral("IN"), QStringLiteral("Results files of the shards."), QStringLiteral("IN..."));
    parser.addOptions({
        {QStringLiteral("inputs"),
         QStringLiteral("An input of the batch (file, folder, @LIST, tar shard), as given to querylens batch; repeat it "
                        "for each."),
         QStringLiteral("INPUT")},
        {QStringLiteral("json"), QStringLiteral("Print the report as one JSON object on stdout.")},
    });
    return runCommand(parser, arguments, [&] {
        const QStringList positional = positionalArguments(parser, 2, -1, QStringLiteral("give OUT and at least one IN"));
        std::vector<std::string> files;
        for (int i = 1; i < positional.size(); ++i)
            files.push_back(positional[i].toStdString());

        std::vector<std::string> expected;
        const bool checkInputs = parser.isSet(QStringLiteral("inputs"));
        if (checkInputs) {
            std::vector<std::string> inputs;
            for (const QString& input : parser.values(QStringLiteral("inputs")))
                inputs.push_back(input.toStdString());
            for (const DatasetItem& item : listInputs(inputs, ui::readableImageExtensions()).items)
                expected.push_back(item.key);
        }
        const MergeReport report = mergeResults(files, positional[0].toStdString(), checkInputs ? &expected : nullptr);

        printWarnings(report.problems);
        if (!report.missingShards.empty()) {
            std::string shards;
            for (int shard : report.missingShards)
                shards += (shards.empty() ? "" : ", ") + std::to_string(shard) + "/" + std::to_string(report.shardCount);
            std::cerr << "Missing shard" << (report.missingShards.size() > 1 ? "s " : " ") << shards
                      << (checkInputs ? ": none of their inputs has a line\n"
                                      : ": no line names them (a results file not given, or a shard with no inputs)\n");
        }
        if (!report.missingKeys.empty())
            std::cerr << "Missing " << report.missingKeys.size() << " input" << (report.missingKeys.size() > 1 ? "s" : "")
                      << ": " << someKeys(report.missingKeys) << "\n";
        if (!report.duplicateKeys.empty())
            std::cerr << report.duplicateKeys.size() << " input" << (report.duplicateKeys.size() > 1 ? "s have" : " has")
                      << " more than one result (the first is kept): " << someKeys(report.duplicateKeys) << "\n";
        if (!report.unexpectedKeys.empty())
            std::cerr << "Note: " << report.unexpectedKeys.size() << " line" << (report.unexpectedKeys.size() > 1 ? "s are" : " is")
                      << " for inputs not among --inputs (kept): " << someKeys(report.unexpectedKeys) << "\n";
        std::cerr << "Wrote " << report.written << " line" << (report.written == 1 ? "" : "s") << " ("
                  << report.errorLines << " error" << (report.errorLines == 1 ? "" : "s") << ") to "
                  << positional[0].toStdString() << (report.complete() ? "" : "; incomplete") << "\n";
        if (parser.isSet(QStringLiteral("json"))) {
            const nlohmann::json json = {
                {"output", positional[0].toStdString()},
                {"written", report.written},
                {"error_lines", report.errorLines},
                {"complete", report.complete()},
                {"missing_keys", report.missingKeys},
                {"duplicate_keys", report.duplicateKeys},
                {"unexpected_keys", report.unexpectedKeys},
                {"shard_count", report.shardCount},
                {"missing_shards", report.missingShards},
                {"problems", report.problems},
            };
            std::cout << json.dump() << "\n" << std::flush;
        }
        return report.complete() ? 0 : 1;
    });
}

}  // namespace querylens::cli
