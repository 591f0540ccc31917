// The command line of matching, localisation, search and word explanations, run as a person
// runs it on the fixtures: the documented --json fields with the reference's numbers, the files
// --out writes, the help that documents them, and clear refusals (wrong model kind, bad options,
// unreadable files) with the documented exit codes.

#include "cli_runner.h"
#include "fixtures.h"
#include "io/safetensors.h"

#include <QDir>
#include <QFile>
#include <QImage>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

using nlohmann::json;

namespace {

QString fixture(const std::string& relative) { return QString::fromStdString(testsupport::fixturePath(relative)); }

json itmSummary()
{
    std::ifstream in(testsupport::fixturePath("tiny-itm/summary.json"));
    return json::parse(in);
}

}  // namespace

class TestCliExplain : public QObject {
    Q_OBJECT

private slots:
    void matchReportsTheReferenceScores()
    {
        const json texts = itmSummary()["texts"];
        QStringList arguments{QStringLiteral("match"), fixture("image.png")};
        for (const auto& t : texts)
            arguments << QString::fromStdString(t["text"].get<std::string>());
        arguments << QStringLiteral("--model") << fixture("tiny-itm") << QStringLiteral("--json");
        const CliRun run = runQuerylens(arguments);
        QCOMPARE(run.exitCode, 0);
        const json report = run.lastJsonLine();
        QCOMPARE(report["results"].size(), texts.size());
        QCOMPARE(report["model"]["architecture"], "Blip2ForImageTextRetrieval");
        for (std::size_t i = 0; i < texts.size(); ++i) {
            const json& r = report["results"][i];
            QCOMPARE(r["text"], texts[i]["text"]);
            QCOMPARE(r["input_ids"], texts[i]["input_ids"]);
            QVERIFY(std::abs(r["itm_logits"][1].get<double>() - texts[i]["itm_logits"][1].get<double>()) <= 1e-4);
            QVERIFY(std::abs(r["itm_probability"].get<double>() - texts[i]["itm_match_probability"].get<double>()) <= 1e-4);
            QVERIFY(std::abs(r["itc_similarity"].get<double>() - texts[i]["itc_logit"].get<double>()) <= 1e-5);
            QVERIFY(r["best_query"].get<int>() >= 0 && r["best_query"].get<int>() < 32);
        }
        QVERIFY(run.textBeforeLastLine().contains("match 0.761"));
    }

    void helpDocumentsTheJson_data()
    {
        QTest::addColumn<QString>("command");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("match") << "match" << "itm_probability";
        QTest::newRow("localize") << "localize" << "word_maps";
        QTest::newRow("search") << "search" << "itc_rank";
        QTest::newRow("explain-words") << "explain-words" << "query_weights";
        QTest::newRow("eval-demo") << "eval-demo" << "itm_precision";
    }
    void helpDocumentsTheJson()
    {
        QFETCH(QString, command);
        QFETCH(QString, mentions);
        const CliRun run = runQuerylens({command, QStringLiteral("--help")});
        QCOMPARE(run.exitCode, 0);
        QVERIFY2(run.out.contains(mentions.toUtf8()), run.out.constData());
        QVERIFY(runQuerylens({QStringLiteral("--help")}).out.contains(command.toUtf8() + ' '));
    }

    // The shipped demo (generation and matching) scored by eval-demo: the gradient maps sit in
    // the methods beside the attention maps and the random map, and the search's figures follow.
    void evalDemoScoresGradientMapsAndSearch()
    {
        const QString resources = QStringLiteral(QUERYLENS_RESOURCES_DIR);
        const CliRun run = runQuerylens({QStringLiteral("eval-demo"), QStringLiteral("--model"),
                                         resources + QStringLiteral("/demo-model"), QStringLiteral("--itm"),
                                         resources + QStringLiteral("/demo-itm"), QStringLiteral("--scenes"),
                                         QStringLiteral("4"), QStringLiteral("--deletion-scenes"), QStringLiteral("4"),
                                         QStringLiteral("--search-scenes"), QStringLiteral("60"), QStringLiteral("--json")});
        QCOMPARE(run.exitCode, 0);
        const json report = run.lastJsonLine();
        QCOMPARE(report["scenes"], 4);
        const double followUps = report["vqa_followup_accuracy"].get<double>();
        QVERIFY2(followUps >= 0 && followUps <= 1, report.dump().c_str());
        // Of seed 2's first four scenes only scene 2 has two objects, whose relation is scored.
        QCOMPARE(report["caption_relations"]["asked"], 1);
        QVERIFY(report["caption_relations"]["right"].get<int>() <= 1);
        QCOMPARE(report["caption_relation_accuracy"].get<double>(), report["caption_relations"]["right"].get<double>());
        for (const char* name : {"word map, mean of layers", "GradCAM (cross-attention)", "relevancy (Q-Former + LM)",
                                 "input x gradient", "random map"}) {
            QVERIFY2(report["methods"].contains(name), name);
            const json& m = report["methods"][name];
            QCOMPARE(m["words"], report["methods"]["random map"]["words"]);
            QVERIFY(m["pointing_game"].get<double>() >= 0 && m["pointing_game"].get<double>() <= 1);
            QVERIFY2(m["deletion_words"].get<int>() > 0, name);
            QVERIFY(m["deletion_auc"].get<double>() > 0);
        }
        const json& search = report["search"];
        QCOMPARE(search["scenes"], 60);
        QCOMPARE(search["top"], 5);
        QVERIFY(!search["queries"].empty());
        for (const auto& q : search["queries"]) {
            QVERIFY(q["relevant"].get<int>() >= 5);
            QVERIFY(q["text"].get<std::string>().rfind("a ", 0) == 0);
        }
        for (const char* field : {"itc_precision", "itm_precision", "random_precision", "chance_precision"})
            QVERIFY2(search[field].get<double>() >= 0 && search[field].get<double>() <= 1, field);
    }

    // Beam search for the captions and answers: said in the report, scored the same way.
    void evalDemoByBeamSearch()
    {
        const QString resources = QStringLiteral(QUERYLENS_RESOURCES_DIR);
        const CliRun run = runQuerylens({QStringLiteral("eval-demo"), QStringLiteral("--model"),
                                         resources + QStringLiteral("/demo-model"), QStringLiteral("--scenes"),
                                         QStringLiteral("6"), QStringLiteral("--deletion-scenes"), QStringLiteral("0"),
                                         QStringLiteral("--search-scenes"), QStringLiteral("0"), QStringLiteral("--num-beams"),
                                         QStringLiteral("3"), QStringLiteral("--json")});
        QCOMPARE(run.exitCode, 0);
        const json report = run.lastJsonLine();
        QCOMPARE(report["num_beams"], 3);
        QVERIFY(report["caption_accuracy"].get<double>() >= 0.5);  // the shipped model names most scenes right
        QVERIFY(report["methods"]["word map, mean of layers"]["words"].get<int>() > 0);
        const CliRun wrong = runQuerylens({QStringLiteral("eval-demo"), QStringLiteral("--num-beams"), QStringLiteral("0")});
        QCOMPARE(wrong.exitCode, 2);
    }

    void localizeWritesMapsAndCurves()
    {
        QTemporaryDir dir;
        const QString tensors = dir.filePath(QStringLiteral("cats.safetensors")), png = dir.filePath(QStringLiteral("cats.png"));
        CliRun run = runQuerylens({QStringLiteral("localize"), fixture("image.png"), QStringLiteral("two cats lying on a pink couch"),
                                   QStringLiteral("--model"), fixture("tiny-itm"), QStringLiteral("--out"), tensors,
                                   QStringLiteral("--json"), QStringLiteral("--faithfulness"), QStringLiteral("--steps"),
                                   QStringLiteral("4")});
        QCOMPARE(run.exitCode, 0);
        const json report = run.lastJsonLine();
        QCOMPARE(report["words"].size(), std::size_t(7));
        QCOMPARE(report["words"][1]["word"], "cats");
        QCOMPARE(report["faithfulness"]["deletion"]["scores"].size(), std::size_t(5));
        QVERIFY(std::abs(report["faithfulness"]["original"].get<double>() - report["itm_logits"][1].get<double>()) < 1e-4);
        const auto file = querylens::io::SafetensorsFile::open(tensors.toStdString());
        QCOMPARE(file->find("phrase_map")->shape, (std::vector<std::int64_t>{16, 16}));
        QCOMPARE(file->find("word_maps")->shape, (std::vector<std::int64_t>{7, 16, 16}));
        QCOMPARE(file->find("gradcam")->shape, (std::vector<std::int64_t>{2, 32, 257}));
        QCOMPARE(file->metadata().at("format"), std::string("querylens-localization/1"));
        QCOMPARE(json::parse(file->metadata().at("words"))[6], "couch");

        run = runQuerylens({QStringLiteral("localize"), fixture("image.png"), QStringLiteral("a remote"), QStringLiteral("--model"),
                            fixture("tiny-itm"), QStringLiteral("--out"), png});
        QCOMPARE(run.exitCode, 0);
        const QImage sheet(png);
        QVERIFY(!sheet.isNull());
        QVERIFY(sheet.width() > 3 * 224);  // the phrase and its two words side by side
    }

    void searchRanksAFolderAndCachesIt()
    {
        QTemporaryDir images, cache, maps;
        const QImage photo(fixture("image.png"));
        photo.save(images.filePath(QStringLiteral("cats.png")));
        photo.mirrored(true, false).save(images.filePath(QStringLiteral("mirror.jpg")));
        QImage plain(64, 64, QImage::Format_RGB32);
        plain.fill(Qt::green);
        plain.save(images.filePath(QStringLiteral("green.png")));
        std::ofstream(images.filePath(QStringLiteral("broken.png")).toStdString()) << "not a PNG";
        const QStringList arguments{QStringLiteral("search"), images.path(), QStringLiteral("two cats"), QStringLiteral("--model"),
                                    fixture("tiny-itm"), QStringLiteral("--cache"), cache.path(), QStringLiteral("--top"),
                                    QStringLiteral("2"), QStringLiteral("--rerank"), QStringLiteral("3"), QStringLiteral("--json")};
        CliRun run = runQuerylens(arguments + QStringList{QStringLiteral("--maps"), maps.path()});
        QCOMPARE(run.exitCode, 0);
        json report = run.lastJsonLine();
        QCOMPARE(report["searched"], 3);
        QCOMPARE(report["index"]["encoded"], 3);
        QCOMPARE(report["index"]["failed"], 1);
        QVERIFY(run.err.contains("broken.png"));
        QCOMPARE(report["results"].size(), std::size_t(2));
        QCOMPARE(report["results"][0]["rank"], 1);
        QCOMPARE(report["results"][0]["reranked"], true);
        QVERIFY(report["results"][0]["itm_probability"].get<double>() >= report["results"][1]["itm_probability"].get<double>());
        QVERIFY(QFile::exists(QString::fromStdString(report["results"][0]["map"].get<std::string>())));
        // Again: everything from the cache.
        run = runQuerylens(arguments);
        report = run.lastJsonLine();
        QCOMPARE(report["index"]["encoded"], 0);
        QCOMPARE(report["index"]["from_cache"], 3);
    }

    void explainWordsWritesEveryMethod()
    {
        QTemporaryDir dir;
        const QString tensors = dir.filePath(QStringLiteral("words.safetensors"));
        const CliRun run = runQuerylens({QStringLiteral("explain-words"), fixture("image.png"), QStringLiteral("--model"),
                                         fixture("tiny-opt"), QStringLiteral("--max-new-tokens"), QStringLiteral("5"),
                                         QStringLiteral("--out"), tensors, QStringLiteral("--json")});
        QCOMPARE(run.exitCode, 0);
        const json report = run.lastJsonLine();
        const std::size_t words = report["words"].size();
        QVERIFY(words >= 1);
        for (const auto& word : report["words"])
            for (const char* method : {"attention", "gradcam", "relevancy", "input_x_gradient"})
                QVERIFY(word["peaks"].contains(method));
        const auto file = querylens::io::SafetensorsFile::open(tensors.toStdString());
        QCOMPARE(file->find("word_maps")->shape, (std::vector<std::int64_t>{std::int64_t(words), 4, 16, 16}));
        QCOMPARE(file->find("query_weights")->shape, (std::vector<std::int64_t>{std::int64_t(words), 4, 32}));
        QCOMPARE(file->metadata().at("methods"), std::string("attention,gradcam,relevancy,input_x_gradient"));
    }

    void refusalsSayWhy_data()
    {
        QTest::addColumn<QStringList>("arguments");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<QString>("message");
        const QString image = fixture("image.png");
        QTest::newRow("caption with a matching model") << QStringList{"caption", image, "--model", fixture("tiny-itm")} << 1
                                                       << "cannot caption or chat";
        QTest::newRow("match with a captioning model") << QStringList{"match", image, "cats", "--model", fixture("tiny-opt")} << 1
                                                       << "Blip2ForImageTextRetrieval";
        QTest::newRow("explain-words with a matching model")
            << QStringList{"explain-words", image, "--model", fixture("tiny-itm")} << 1 << "cannot caption";
        QTest::newRow("localize without a phrase") << QStringList{"localize", image, "--model", fixture("tiny-itm")} << 2
                                                   << "give an image and a phrase";
        QTest::newRow("localize to a .jpg") << QStringList{"localize", image, "cats", "--model", fixture("tiny-itm"), "--out", "x.jpg"}
                                            << 2 << ".png or .safetensors";
        QTest::newRow("unknown baseline") << QStringList{"localize", image, "cats", "--model", fixture("tiny-itm"), "--faithfulness",
                                                         "--baseline", "noise"}
                                          << 2 << "blur or mean";
        QTest::newRow("search a file") << QStringList{"search", image, "cats", "--model", fixture("tiny-itm")} << 1 << "not a folder";
        QTest::newRow("search --top 0") << QStringList{"search", fixture("tiny-itm"), "cats", "--model", fixture("tiny-itm"), "--top", "0"}
                                        << 2 << "--top";
        QTest::newRow("unknown method") << QStringList{"explain-words", image, "--model", fixture("tiny-opt"), "--methods", "lrp"}
                                        << 2 << "unknown method";
        QTest::newRow("unreadable image") << QStringList{"match", fixture("tiny-itm/vocab.txt"), "cats", "--model", fixture("tiny-itm")}
                                          << 1 << "vocab.txt";
    }
    void refusalsSayWhy()
    {
        QFETCH(QStringList, arguments);
        QFETCH(int, exitCode);
        QFETCH(QString, message);
        const CliRun run = runQuerylens(arguments);
        QCOMPARE(run.exitCode, exitCode);
        QVERIFY2(run.err.contains(message.toUtf8()), run.err.constData());
    }
};

QTEST_GUILESS_MAIN(TestCliExplain)
#include "test_cli_explain.moc"
