// The demo model's world: generated scenes are deterministic, their ground truth agrees with
// their pixels, captions follow the grammar, and the ground-truth JSON decodes to the masks.

#include "querylens/demo_scenes.h"

#include <nlohmann/json.hpp>

#include <QtTest>

#include <cmath>

using namespace querylens;
using namespace querylens::demo;

namespace {

// Mean colour of an object's visible pixels.
std::array<double, 3> meanColour(const Scene& scene, const SceneObject& o)
{
    std::array<double, 3> sum{};
    for (std::size_t i = 0; i < o.mask.size(); ++i)
        if (o.mask[i])
            for (int c = 0; c < 3; ++c)
                sum[c] += scene.image.pixels[3 * i + c];
    for (double& v : sum)
        v /= std::max(1, o.maskPixels);
    return sum;
}

}  // namespace

class TestDemoScenes : public QObject {
    Q_OBJECT
private slots:
    void sameSeedSamePicture()
    {
        const Scene a = generateScene(7, 3), b = generateScene(7, 3), c = generateScene(8, 3);
        QVERIFY(a.image.pixels == b.image.pixels);
        QCOMPARE(a.caption, b.caption);
        QVERIFY(a.image.pixels != c.image.pixels);
    }

    void groundTruthMatchesPixels()
    {
        // Each object's visible pixels are, on average, near its drawn colour, and its box holds its mask.
        int objects = 0;
        for (int index = 0; index < 40; ++index) {
            const Scene scene = generateScene(2, index);
            QVERIFY(!scene.objects.empty() && scene.objects.size() <= 4);
            for (const SceneObject& o : scene.objects) {
                ++objects;
                QVERIFY2(o.maskPixels > 20, qPrintable(QString::fromStdString(scene.caption)));
                const auto mean = meanColour(scene, o);
                for (int c = 0; c < 3; ++c)
                    QVERIFY2(std::fabs(mean[c] - o.rgb[c]) < 30, qPrintable(QString::fromStdString(o.phrase())));
                const double extentShare = o.extent / scene.image.width;
                QVERIFY(extentShare >= 0.12 && extentShare <= 0.56);
                QVERIFY(o.box[0] <= o.box[2] && o.box[1] <= o.box[3]);
                QVERIFY(std::fabs((o.box[0] + o.box[2]) / 2.0 - o.centreX) < o.extent * 0.6);
            }
        }
        QVERIFY(objects > 60);
    }

    void backgroundHasNoObjects()
    {
        const Scene scene = generateScene(2, 5);
        const SceneObject& o = scene.objects.front();
        // Where the object is, the background picture shows something else.
        double difference = 0;
        for (std::size_t i = 0; i < o.mask.size(); ++i)
            if (o.mask[i])
                for (int c = 0; c < 3; ++c)
                    difference += std::fabs(double(scene.image.pixels[3 * i + c]) - scene.background.pixels[3 * i + c]);
        QVERIFY(difference / (3.0 * o.maskPixels) > 40);
    }

    void captions_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<int>("objects");
        QTest::newRow("one") << "a small green triangle" << 1;
        QTest::newRow("relation") << "a large red circle to the left of a small blue square" << 2;
        QTest::newRow("list") << "a small red circle, a large blue star and a small yellow square" << 3;
        QTest::newRow("nothing") << "there is nothing here" << 0;
    }
    void captions()
    {
        QFETCH(QString, text);
        QFETCH(int, objects);
        QCOMPARE(int(mentionedObjects(text.toStdString()).size()), objects);
    }

    void captionsNameEveryObject()
    {
        for (int index = 0; index < 60; ++index) {
            const Scene scene = generateScene(2, index);
            const auto mentioned = mentionedObjects(scene.caption);
            QCOMPARE(mentioned.size(), scene.objects.size());
            for (const auto& m : mentioned)
                QVERIFY(findObject(scene, m.colour, m.shape).has_value());
            QVERIFY(!scene.questions.empty());
        }
    }

    // A caption's relation is scored by the grammar's rule whichever object comes first, and a
    // wrong or missing relation is not.
    void captionRelationsAreScored()
    {
        int pairs = 0;
        for (int index = 0; index < 120; ++index) {
            const Scene scene = generateScene(2, index);
            if (scene.objects.size() != 2) {
                QVERIFY(!captionRelationHolds(scene, scene.caption).has_value());
                continue;
            }
            ++pairs;
            const std::string& caption = scene.caption;
            QVERIFY2(captionRelationHolds(scene, caption) == true, caption.c_str());
            // The grammar names the leftmost first: "A to the left of B", "A above B", "A below B".
            const bool firstIsObject0 = caption.rfind(scene.objects[0].phrase(), 0) == 0;
            const std::string a = scene.objects[firstIsObject0 ? 0 : 1].phrase();
            const std::string b = scene.objects[firstIsObject0 ? 1 : 0].phrase();
            const std::string relation = caption.substr(a.size() + 1, caption.size() - a.size() - b.size() - 2);
            const std::string opposite = relation == "to the left of" ? "to the right of"
                                         : relation == "above"        ? "below"
                                                                      : "above";
            QCOMPARE(a + " " + relation + " " + b, caption);
            QVERIFY2(captionRelationHolds(scene, b + " " + opposite + " " + a) == true, caption.c_str());
            QVERIFY2(captionRelationHolds(scene, a + " " + opposite + " " + b) == false, caption.c_str());
            QVERIFY2(captionRelationHolds(scene, a + " and " + b) == false, caption.c_str());
            QVERIFY2(captionRelationHolds(scene, a + " " + relation + " " + a) == false || a == b, caption.c_str());
            QVERIFY2(captionRelationHolds(scene, a + ", " + b + " and " + b) == false, caption.c_str());
        }
        QVERIFY(pairs >= 20);
    }

    void questionsAreAnsweredByTheScene()
    {
        for (int index = 0; index < 40; ++index) {
            const Scene scene = generateScene(2, index);
            for (const auto& qa : scene.questions) {
                if (qa.type == "count")
                    QCOMPARE(QString::fromStdString(qa.answer),
                             QString::fromLatin1(std::array{"one", "two", "three", "four"}[scene.objects.size() - 1]));
                if (qa.type == "colour") {
                    const auto words = splitWords(qa.question);
                    const auto shape = parseShape(words.back());
                    QVERIFY(shape);
                    for (const auto& o : scene.objects)
                        if (o.shape == *shape)
                            QCOMPARE(std::string(colourName(o.colour)), qa.answer);
                }
                if (qa.type == "exists") {
                    const auto words = splitWords(qa.question);
                    const auto colour = parseColour(words[3]);
                    const auto shape = parseShape(words[4]);
                    QVERIFY(colour && shape);
                    const bool present = std::any_of(scene.objects.begin(), scene.objects.end(),
                                                     [&](auto& o) { return o.colour == *colour && o.shape == *shape; });
                    QCOMPARE(qa.answer, std::string(present ? "yes" : "no"));
                }
            }
        }
    }

    void jsonMasksDecode()
    {
        const Scene scene = generateScene(2, 1);
        const nlohmann::json root = nlohmann::json::parse(sceneJson(scene, "scene.png"));
        QCOMPARE(root.at("objects").size(), scene.objects.size());
        for (std::size_t i = 0; i < scene.objects.size(); ++i) {
            const auto counts = root["objects"][i]["mask_rle"]["counts"].get<std::vector<int>>();
            std::vector<std::uint8_t> mask;
            for (std::size_t k = 0; k < counts.size(); ++k)
                mask.insert(mask.end(), std::size_t(counts[k]), std::uint8_t(k % 2));
            QVERIFY(mask == scene.objects[i].mask);
        }
    }

    void grammarWordsCoverTheTexts()
    {
        const auto vocabulary = grammarWords();
        for (int index = 0; index < 30; ++index) {
            const Scene scene = generateScene(2, index);
            std::vector<std::string> texts{scene.caption};
            for (const auto& qa : scene.questions) {
                texts.push_back(qa.question);
                texts.push_back(qa.answer);
            }
            for (const auto& text : texts)
                for (const auto& word : splitWords(text))
                    QVERIFY2(std::binary_search(vocabulary.begin(), vocabulary.end(), word), word.c_str());
        }
    }
};

QTEST_APPLESS_MAIN(TestDemoScenes)
#include "test_demo_scenes.moc"
