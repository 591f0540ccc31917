// Search a folder by text with the tiny-itm matching model: the index (encoded once, then
// unchanged files kept, then read back from the on-disk cache, changed and broken files
// noticed, torn cache files replaced, cancel keeping what was done), and the search (ITC
// ranking equal to matching each image, the re-ranked hits ordered by ITM, a localisation map
// per hit).

#include "fixtures.h"
#include "image_folder.h"
#include "querylens/error.h"
#include "querylens/image_search.h"
#include "querylens/model.h"

#include <QDir>
#include <QFile>
#include <QImage>
#include <QPainter>
#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <fstream>

using namespace querylens;

namespace {

std::vector<std::string> pathsOf(const QStringList& files)
{
    std::vector<std::string> out;
    for (const auto& f : files)
        out.push_back(f.toStdString());
    return out;
}

}  // namespace

class TestImageSearch : public QObject {
    Q_OBJECT
private:
    std::shared_ptr<const Model> model_;
    QTemporaryDir images_;
    QTemporaryDir cacheDir_;

    // Six pictures: the fixture photo, a crop, a mirror, and three drawn scenes.
    void writeImages()
    {
        const QImage photo(QString::fromStdString(testsupport::fixturePath("image.png")));
        photo.save(images_.filePath(QStringLiteral("a-photo.png")));
        photo.copy(100, 50, 300, 300).save(images_.filePath(QStringLiteral("b-crop.jpg")));
        photo.mirrored(true, false).save(images_.filePath(QStringLiteral("c-mirror.png")));
        const QColor colours[] = {Qt::red, Qt::darkGreen, Qt::blue};
        for (int i = 0; i < 3; ++i) {
            QImage scene(224, 224, QImage::Format_RGB32);
            scene.fill(Qt::white);
            QPainter painter(&scene);
            painter.setBrush(colours[i]);
            painter.drawEllipse(QPoint(40 + 60 * i, 112), 30, 30);
            painter.end();
            scene.save(images_.filePath(QStringLiteral("d-scene%1.png").arg(i)));
        }
        QDir(images_.path()).mkdir(QStringLiteral("sub"));
        photo.save(images_.filePath(QStringLiteral("sub/e-nested.png")));
        std::ofstream(images_.filePath(QStringLiteral("notes.txt")).toStdString()) << "not an image";
    }

    EmbeddingCache cache() const { return EmbeddingCache(cacheDir_.path().toStdString(), modelFingerprint(*model_)); }

private slots:
    void initTestCase()
    {
        LoadOptions options;
        options.folder = testsupport::fixturePath("tiny-itm");
        options.threads = 2;
        model_ = Model::load(options);
        writeImages();
    }

    void imageFilesOfAFolder()
    {
        QCOMPARE(ui::imageFilesIn(images_.path(), false).size(), 6);
        QCOMPARE(ui::imageFilesIn(images_.path(), true).size(), 7);
        QVERIFY(ui::imageFilesIn(images_.path(), true).last().endsWith(QStringLiteral("sub/e-nested.png")));
    }

    void indexIsIncrementalAndCached()
    {
        const auto paths = pathsOf(ui::imageFilesIn(images_.path(), false));
        ImageIndex index;
        IndexReport report = index.update(*model_, paths, ui::imageFileDecoder(), cache());
        QCOMPARE(report.encoded, 6);
        QCOMPARE(report.images, 6);
        // The same files again: nothing to do.
        report = index.update(*model_, paths, ui::imageFileDecoder(), cache());
        QCOMPARE(report.unchanged, 6);
        QCOMPARE(report.encoded, 0);
        // A new index (a new run): every embedding from the cache, equal to what was encoded.
        ImageIndex fresh;
        report = fresh.update(*model_, paths, ui::imageFileDecoder(), cache());
        QCOMPARE(report.fromCache, 6);
        QCOMPARE(report.encoded, 0);
        QCOMPARE(fresh.images().front().embedding.values, index.images().front().embedding.values);
        QCOMPARE(fresh.images().front().embedding.queries, 32);
        QCOMPARE(fresh.images().front().embedding.size, 32);
    }

    void changedBrokenAndRemovedFiles()
    {
        QTemporaryDir dir;
        const QString a = dir.filePath(QStringLiteral("a.png")), b = dir.filePath(QStringLiteral("b.png"));
        QImage image(64, 64, QImage::Format_RGB32);
        image.fill(Qt::yellow);
        image.save(a);
        image.save(b);
        ImageIndex index;
        IndexReport report = index.update(*model_, {a.toStdString(), b.toStdString()}, ui::imageFileDecoder(), cache());
        QCOMPARE(report.images, 2);
        QCOMPARE(report.encoded + report.fromCache, 2);
        // a changes content; b is broken; a third file is listed that does not exist.
        image.fill(Qt::black);
        image.save(a);
        std::ofstream(b.toStdString(), std::ios::binary | std::ios::trunc) << "\x89PNG broken";
        const std::string missing = dir.filePath(QStringLiteral("gone.png")).toStdString();
        report = index.update(*model_, {a.toStdString(), b.toStdString(), missing}, ui::imageFileDecoder(), cache());
        QCOMPARE(report.images, 1);
        QCOMPARE(report.failed, 2);
        QCOMPARE(report.encoded + report.fromCache, 1);
        QVERIFY(QString::fromStdString(report.problems.at(0)).contains(QStringLiteral("b.png")));
        QVERIFY(QString::fromStdString(report.problems.at(1)).contains(QStringLiteral("gone.png")));
        // Removed from the list: removed from the index.
        report = index.update(*model_, {a.toStdString()}, ui::imageFileDecoder(), cache());
        QCOMPARE(report.images, 1);
        QCOMPARE(report.unchanged, 1);
    }

    void tornCacheFilesAreReplaced()
    {
        const std::string path = images_.filePath(QStringLiteral("a-photo.png")).toStdString();
        const EmbeddingCache c = cache();
        const std::string key = fileContentKey(path);
        ImageIndex index;
        index.update(*model_, {path}, ui::imageFileDecoder(), c);
        const std::string file = c.pathOf(key);
        QVERIFY(std::filesystem::exists(file));
        std::filesystem::resize_file(file, 100);  // a kill mid-write, on a file system without rename
        QVERIFY(!c.find(key));
        ImageIndex again;
        const IndexReport report = again.update(*model_, {path}, ui::imageFileDecoder(), c);
        QCOMPARE(report.encoded, 1);
        QVERIFY(c.find(key).has_value());
    }

    // Images are encoded eight at a time: a cancel after the first eight keeps them (in the
    // cache), and the next run encodes only the rest.
    void cancelKeepsWhatWasIndexed()
    {
        QTemporaryDir folder, otherCache;
        std::vector<std::string> paths;
        for (int i = 0; i < 10; ++i) {
            QImage image(32, 32, QImage::Format_RGB32);
            image.fill(QColor::fromHsv(36 * i, 200, 200));
            const QString path = folder.filePath(QStringLiteral("%1.png").arg(i));
            image.save(path);
            paths.push_back(path.toStdString());
        }
        const EmbeddingCache c(otherCache.path().toStdString(), modelFingerprint(*model_));
        ImageIndex index;
        int calls = 0;
        QVERIFY_THROWS_EXCEPTION(Cancelled, index.update(*model_, paths, ui::imageFileDecoder(), c,
                                                         [&](double, const std::string&) { return ++calls < 10; }));
        QCOMPARE(int(index.images().size()), 8);
        ImageIndex next;
        const IndexReport report = next.update(*model_, paths, ui::imageFileDecoder(), c);
        QCOMPARE(report.fromCache, 8);
        QCOMPARE(report.encoded, 2);
    }

    void searchRanksByItcThenItm()
    {
        const auto paths = pathsOf(ui::imageFilesIn(images_.path(), false));
        ImageIndex index;
        index.update(*model_, paths, ui::imageFileDecoder(), cache());
        SearchOptions options;
        options.top = 4;
        options.rerank = 3;
        const std::string text = "two cats lying on a pink couch";
        const SearchResult result = searchImages(*model_, index, text, options, ui::imageFileDecoder());
        QCOMPARE(result.searched, 6);
        QCOMPARE(result.hits.size(), std::size_t(4));
        QCOMPARE(result.inputIds, (std::vector<int>{12, 87, 91, 95, 102, 53, 117, 126, 13}));
        for (std::size_t i = 0; i < result.hits.size(); ++i) {
            const SearchHit& hit = result.hits[i];
            // The same scores as matching the image directly.
            const auto encoding = model_->encode(ui::imageFileDecoder()(hit.path));
            const TextMatch match = matchTexts(*model_, *encoding, {text}).front();
            QVERIFY(std::abs(hit.itcSimilarity - match.itcSimilarity) < 1e-5);
            QCOMPARE(hit.bestQuery, match.bestQuery);
            QCOMPARE(hit.reranked, i < 3);
            if (hit.reranked) {
                QVERIFY(std::abs(hit.itmProbability - match.itmProbability) < 1e-5);
                QVERIFY(hit.itcRank < 3);
            }
            if (i > 0 && i < 3)
                QVERIFY(result.hits[i - 1].itmProbability >= hit.itmProbability);
            QCOMPARE(hit.map.size(), std::size_t(256));
            QCOMPARE(hit.gridSize, 16);
            QCOMPARE(hit.map, localizeText(*model_, *encoding, text).maps.phraseMap);
        }
        // Without re-ranking: pure ITC order.
        options.rerank = 0;
        options.maps = false;
        const SearchResult itc = searchImages(*model_, index, text, options, ui::imageFileDecoder());
        for (std::size_t i = 1; i < itc.hits.size(); ++i)
            QVERIFY(itc.hits[i - 1].itcSimilarity >= itc.hits[i].itcSimilarity);
        QVERIFY(itc.hits.front().map.empty());
    }

    void captioningModelsCannotSearch()
    {
        LoadOptions options;
        options.folder = testsupport::fixturePath("tiny-opt");
        const auto captioner = Model::load(options);
        ImageIndex index;
        QVERIFY_THROWS_EXCEPTION(Error, index.update(*captioner, {}, ui::imageFileDecoder(), cache()));
        QVERIFY(modelFingerprint(*captioner) != modelFingerprint(*model_));
        options.folder = testsupport::fixturePath("tiny-itm");
        options.precision = Precision::BFloat16;
        QVERIFY(modelFingerprint(*Model::load(options)) != modelFingerprint(*model_));
    }
};

QTEST_GUILESS_MAIN(TestImageSearch)
#include "test_image_search.moc"
