// The querylens command line on the golden fixtures: the greedy ids of the reference come out
// of the real binary, the JSON report has what it promises, and bad input gives the documented
// exit codes with a message naming the file.

#include "cli_runner.h"
#include "fixtures.h"
#include "io/safetensors.h"

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

using nlohmann::json;

namespace {

QString fixture(const std::string& relative) { return QString::fromStdString(testsupport::fixturePath(relative)); }

json summary(const std::string& config)
{
    std::ifstream in(testsupport::fixturePath(config + "/summary.json"));
    return json::parse(in);
}

std::vector<int> goldenIds(const std::string& config, const std::string& name)
{
    const auto wide = testsupport::goldenInts(config, name);
    return std::vector<int>(wide.begin(), wide.end());
}

std::string trimmed(const std::string& text)
{
    const auto first = text.find_first_not_of(' ');
    const auto last = text.find_last_not_of(' ');
    return first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
}

// Copies a fixture checkpoint so that a test can break one file of it.
void copyCheckpoint(const QString& from, const QString& to)
{
    for (const QString& name : QDir(from).entryList(QDir::Files))
        QVERIFY(QFile::copy(from + QLatin1Char('/') + name, to + QLatin1Char('/') + name));
}

}  // namespace

class TestCli : public QObject {
    Q_OBJECT

private slots:
    void captionMatchesReferenceGreedyIds_data()
    {
        QTest::addColumn<QString>("config");
        QTest::newRow("opt") << QStringLiteral("tiny-opt");
        QTest::newRow("t5") << QStringLiteral("tiny-t5");
    }
    void captionMatchesReferenceGreedyIds()
    {
        QFETCH(QString, config);
        const std::string name = config.toStdString();
        const CliRun run = runQuerylens({QStringLiteral("caption"), fixture("image.png"), QStringLiteral("--model"),
                                         fixture(name), QStringLiteral("--max-new-tokens"), QStringLiteral("20"),
                                         QStringLiteral("--json")});
        QVERIFY2(run.exitCode == 0, run.err.constData());
        const json report = run.lastJsonLine();
        QVERIFY2(report.is_object(), run.out.constData());
        QCOMPARE(report.at("token_ids").get<std::vector<int>>(), goldenIds(name, "greedy_ids"));
        const std::string expected = trimmed(summary(name).at("greedy_text").get<std::string>());
        QCOMPARE(report.at("text").get<std::string>(), expected);
        // The streamed text before the report is the same text.
        QCOMPARE(run.textBeforeLastLine().toStdString(), expected);
        QCOMPARE(report.at("stop_reason").get<std::string>(), std::string("max_new_tokens"));
        QCOMPARE(report.at("tokens").size(), std::size_t(20));
        for (const char* key : {"load", "image_encode", "first_token", "total"})
            QVERIFY2(report.at("timings_ms").at(key).get<double>() > 0, key);
        QVERIFY(report.at("timings_ms").at("total").get<double>() >= report.at("timings_ms").at("first_token").get<double>());
        QVERIFY(report.at("tokens_per_s").get<double>() > 0);
        // Each token's probability is a probability, and the top alternative is the token itself (greedy).
        for (const auto& token : report.at("tokens")) {
            const double p = token.at("probability").get<double>();
            QVERIFY(p > 0 && p <= 1);
            QCOMPARE(token.at("top").at(0).at("id").get<int>(), token.at("id").get<int>());
        }
    }

    // --json's model object names the CPU kernels of each regime; QUERYLENS_ISA caps their level.
    void jsonNamesTheKernels_data()
    {
        QTest::addColumn<QByteArray>("cap");
        QTest::newRow("best level") << QByteArray();
        QTest::newRow("QUERYLENS_ISA=avx2") << QByteArray("avx2");
        QTest::newRow("QUERYLENS_ISA=portable") << QByteArray("portable");
    }
    void jsonNamesTheKernels()
    {
        QFETCH(QByteArray, cap);
        if (!cap.isEmpty())
            qputenv("QUERYLENS_ISA", cap);
        const CliRun run = runQuerylens({QStringLiteral("caption"), fixture("image.png"), QStringLiteral("--model"),
                                         fixture("tiny-opt"), QStringLiteral("--max-new-tokens"), QStringLiteral("2"),
                                         QStringLiteral("--json")});
        qunsetenv("QUERYLENS_ISA");
        QVERIFY2(run.exitCode == 0, run.err.constData());
        const json kernels = run.lastJsonLine().at("model").at("kernels");
        const std::string isa = kernels.at("isa").get<std::string>();
        for (const char* key : {"cpu_flags", "images", "prompts", "decode", "attention"})
            QVERIFY2(!kernels.at(key).get<std::string>().empty(), key);
        if (cap == "portable") {
            QCOMPARE(isa, std::string("portable"));
            QVERIFY(kernels.at("decode").get<std::string>().rfind("portable", 0) == 0);
        } else if (cap == "avx2") {
            QVERIFY2(isa == "avx2" || isa == "portable", isa.c_str());  // lower on a CPU without AVX2
            QVERIFY(kernels.at("images").get<std::string>().rfind(isa, 0) == 0);
        } else {
            QVERIFY(isa == "portable" || isa == "avx2" || isa == "avx512" || isa == "avx512bf16");
        }
    }

    void askMatchesReferenceGreedyIds_data() { captionMatchesReferenceGreedyIds_data(); }
    void askMatchesReferenceGreedyIds()
    {
        QFETCH(QString, config);
        const std::string name = config.toStdString();
        const CliRun run = runQuerylens({QStringLiteral("ask"), fixture("image.png"), QStringLiteral("what is in the picture?"),
                                         QStringLiteral("--model"), fixture(name), QStringLiteral("--max-new-tokens"),
                                         QStringLiteral("20"), QStringLiteral("--json")});
        QVERIFY2(run.exitCode == 0, run.err.constData());
        const json report = run.lastJsonLine();
        QCOMPARE(report.at("token_ids").get<std::vector<int>>(), goldenIds(name, "greedy_ids_prompt"));
        QCOMPARE(report.at("prompt").get<std::string>(), summary(name).at("prompt").get<std::string>());
        QCOMPARE(report.at("prompt_tokens").get<int>(), int(summary(name).at("prompt_input_ids").size()));
    }

    void maxNewTokensLimitsTheOutput()
    {
        const CliRun run = runQuerylens({QStringLiteral("caption"), fixture("image.png"), QStringLiteral("--model"),
                                         fixture("tiny-opt"), QStringLiteral("--max-new-tokens"), QStringLiteral("3"),
                                         QStringLiteral("--json")});
        QCOMPARE(run.exitCode, 0);
        const auto ids = goldenIds("tiny-opt", "greedy_ids");
        QCOMPARE(run.lastJsonLine().at("token_ids").get<std::vector<int>>(), std::vector<int>(ids.begin(), ids.begin() + 3));
    }

    void explainWritesTheReferenceAttentionMaps()
    {
        QTemporaryDir dir;
        const QString out = dir.filePath(QStringLiteral("maps.safetensors"));
        const CliRun run = runQuerylens({QStringLiteral("explain"), fixture("image.png"), QStringLiteral("--model"),
                                         fixture("tiny-opt"), QStringLiteral("--out"), out});
        QVERIFY2(run.exitCode == 0, run.err.constData());
        const auto file = querylens::io::SafetensorsFile::open(out.toStdString());
        const auto* cross = file->find("cross_attention");
        QVERIFY(cross);
        QCOMPARE(cross->shape, (std::vector<std::int64_t>{2, 4, 32, 257}));
        const float* values = reinterpret_cast<const float*>(file->data(*cross));
        const std::size_t layer = 4 * 32 * 257;
        for (int l = 0; l < 2; ++l) {
            const auto golden = testsupport::goldenFloats("tiny-opt", "qformer_cross_attentions_L" + std::to_string(2 * l));
            const auto diff = testsupport::compare(values + l * layer, golden);
            QVERIFY2(diff.maxAbs <= 1e-5, qPrintable(diff.describe()));
        }
        const auto* outputs = file->find("query_outputs");
        QVERIFY(outputs);
        const auto diff = testsupport::compare(reinterpret_cast<const float*>(file->data(*outputs)),
                                               testsupport::goldenFloats("tiny-opt", "qformer_last_hidden_state"));
        QVERIFY2(diff.maxAbs <= 1e-4, qPrintable(diff.describe()));
        QCOMPARE(file->metadata().at("cross_attention_layers"), std::string("0,2"));
        QCOMPARE(file->find("cross_attention_mean")->shape, (std::vector<std::int64_t>{32, 16, 16}));
    }

    void explainWritesStatisticsCsv()
    {
        QTemporaryDir dir;
        const QString csv = dir.filePath(QStringLiteral("stats.csv"));
        const CliRun run = runQuerylens({QStringLiteral("explain"), fixture("image.png"), QStringLiteral("--model"),
                                         fixture("tiny-opt"), QStringLiteral("--csv"), csv});
        QVERIFY2(run.exitCode == 0, run.err.constData());
        QFile stats(csv);
        QVERIFY(stats.open(QIODevice::ReadOnly));
        const QList<QByteArray> lines = stats.readAll().trimmed().split('\n');
        QCOMPARE(lines.size(), 33);
        QVERIFY(lines[0].startsWith("query,entropy_nats"));
        QVERIFY(lines[1].startsWith("0,"));
        QFile maps(dir.filePath(QStringLiteral("stats-maps.csv")));
        QVERIFY(maps.open(QIODevice::ReadOnly));
        QCOMPARE(maps.readAll().count('\n'), 1 + 32 * 257);
    }

    void usageErrorsExitWithTwo()
    {
        QCOMPARE(runQuerylens({QStringLiteral("caption")}).exitCode, 2);  // no image
        const CliRun noModel = runQuerylens({QStringLiteral("caption"), fixture("image.png")});
        QCOMPARE(noModel.exitCode, 2);
        QVERIFY(noModel.err.contains("--model"));
        QCOMPARE(runQuerylens({QStringLiteral("caption"), fixture("image.png"), QStringLiteral("--model"), fixture("tiny-opt"),
                               QStringLiteral("--max-new-tokens"), QStringLiteral("many")})
                     .exitCode,
                 2);
        QCOMPARE(runQuerylens({QStringLiteral("ask"), fixture("image.png"), QStringLiteral("--model"), fixture("tiny-opt")})
                     .exitCode,
                 2);  // no question
        QCOMPARE(runQuerylens({QStringLiteral("caption"), QStringLiteral("--no-such-option")}).exitCode, 2);
    }

    void badInputExitsWithOneNamingTheFile()
    {
        QTemporaryDir dir;
        // A truncated PNG.
        QFile source(fixture("image.png"));
        QVERIFY(source.open(QIODevice::ReadOnly));
        const QString truncated = dir.filePath(QStringLiteral("truncated.png"));
        QFile broken(truncated);
        QVERIFY(broken.open(QIODevice::WriteOnly));
        broken.write(source.read(2000));
        broken.close();
        CliRun run = runQuerylens({QStringLiteral("caption"), truncated, QStringLiteral("--model"), fixture("tiny-opt")});
        QCOMPARE(run.exitCode, 1);
        QVERIFY2(run.err.contains("truncated.png"), run.err.constData());

        run = runQuerylens({QStringLiteral("caption"), dir.filePath(QStringLiteral("missing.jpg")), QStringLiteral("--model"),
                            fixture("tiny-opt")});
        QCOMPARE(run.exitCode, 1);
        QVERIFY2(run.err.contains("missing.jpg"), run.err.constData());

        run = runQuerylens({QStringLiteral("caption"), fixture("image.png"), QStringLiteral("--model"),
                            dir.filePath(QStringLiteral("no-model"))});
        QCOMPARE(run.exitCode, 1);
        QVERIFY2(run.err.contains("no-model"), run.err.constData());
    }

    void brokenCheckpointNamesTheFile()
    {
        QTemporaryDir dir;
        copyCheckpoint(fixture("tiny-opt"), dir.path());
        const QString weights = dir.filePath(QStringLiteral("model.safetensors"));
        QVERIFY(QFile::resize(weights, QFileInfo(weights).size() / 2));
        CliRun run = runQuerylens({QStringLiteral("caption"), fixture("image.png"), QStringLiteral("--model"), dir.path()});
        QCOMPARE(run.exitCode, 1);
        QVERIFY2(run.err.contains("model.safetensors"), run.err.constData());

        QTemporaryDir noTokenizer;
        copyCheckpoint(fixture("tiny-opt"), noTokenizer.path());
        QVERIFY(QFile::remove(noTokenizer.filePath(QStringLiteral("vocab.json"))));
        run = runQuerylens({QStringLiteral("caption"), fixture("image.png"), QStringLiteral("--model"), noTokenizer.path()});
        QCOMPARE(run.exitCode, 1);
        QVERIFY2(run.err.contains("vocab.json"), run.err.constData());
    }

    void promptLongerThanTheContextIsRefused()
    {
        // tiny-opt sees 128 positions; 32 go to the image.
        const QString question = QStringLiteral("what is this? ").repeated(40);
        const CliRun run = runQuerylens({QStringLiteral("ask"), fixture("image.png"), question, QStringLiteral("--model"),
                                         fixture("tiny-opt")});
        QCOMPARE(run.exitCode, 1);
        QVERIFY2(run.err.contains("context"), run.err.constData());
    }

    void chatReadsQuestionsFromStdin()
    {
        const CliRun run = runQuerylens({QStringLiteral("chat"), fixture("image.png"), QStringLiteral("--model"),
                                         fixture("tiny-opt"), QStringLiteral("--max-new-tokens"), QStringLiteral("4"),
                                         QStringLiteral("--json")},
                                        "what is in the picture?\nand what colour is it?\n");
        QVERIFY2(run.exitCode == 0, run.err.constData());
        QList<json> reports;
        for (const QByteArray& line : run.out.split('\n'))
            if (line.startsWith('{'))
                reports.append(json::parse(line.toStdString()));
        QCOMPARE(reports.size(), 2);
        const auto ids = goldenIds("tiny-opt", "greedy_ids_prompt");
        QCOMPARE(reports[0].at("token_ids").get<std::vector<int>>(), std::vector<int>(ids.begin(), ids.begin() + 4));
        // The second turn's prompt holds the first turn, and reuses its cached positions.
        const std::string second = reports[1].at("prompt").get<std::string>();
        QVERIFY(second.rfind("Question: what is in the picture? Answer: ", 0) == 0);
        QVERIFY(reports[1].at("reused_positions").get<int>() > 32);
    }

    void demoModelIsMadeAndRunsAndSaysItIsRandom()
    {
        QTemporaryDir dir;
        const QString folder = dir.filePath(QStringLiteral("demo"));
        CliRun run = runQuerylens({QStringLiteral("make-demo-model"), QStringLiteral("--random"), folder});
        QVERIFY2(run.exitCode == 0, run.err.constData());
        QVERIFY(run.out.contains("random"));
        run = runQuerylens({QStringLiteral("caption"), fixture("image.png"), QStringLiteral("--model"), folder,
                            QStringLiteral("--max-new-tokens"), QStringLiteral("8"), QStringLiteral("--json")});
        QVERIFY2(run.exitCode == 0, run.err.constData());
        QVERIFY(run.err.contains("random weights"));
        const json report = run.lastJsonLine();
        QCOMPARE(report.at("model").at("random_weights").get<bool>(), true);
        QVERIFY(!report.at("token_ids").empty());
        // The real geometry: 32 queries over a 16 x 16 patch grid.
        const QString out = dir.filePath(QStringLiteral("maps.safetensors"));
        run = runQuerylens({QStringLiteral("explain"), fixture("image.png"), QStringLiteral("--model"), folder,
                            QStringLiteral("--out"), out});
        QVERIFY2(run.exitCode == 0, run.err.constData());
        const auto file = querylens::io::SafetensorsFile::open(out.toStdString());
        QCOMPARE(file->find("cross_attention_mean")->shape, (std::vector<std::int64_t>{32, 16, 16}));
    }
};

QTEST_APPLESS_MAIN(TestCli)
#include "test_cli.moc"
