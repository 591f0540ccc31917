#include "querylens/demo_scenes.h"

#include "train/scene_random.h"
#include "train/scene_renderer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

namespace querylens::demo {

namespace {

constexpr const char* kShapeNames[] = {"circle", "square", "triangle", "star"};
constexpr const char* kColourNames[] = {"red", "green", "blue", "yellow", "orange", "purple"};
constexpr const char* kSizeNames[] = {"small", "large"};
constexpr const char* kNumbers[] = {"zero", "one", "two", "three", "four"};
constexpr std::array<std::array<std::uint8_t, 3>, 6> kRgb{{
    {0xE0, 0x20, 0x20}, {0x20, 0xA0, 0x40}, {0x20, 0x40, 0xE0}, {0xF0, 0xD0, 0x20}, {0xF0, 0x80, 0x20}, {0x80, 0x30, 0xC0}}};

// Random streams of one scene: layout, drawing style, background, noise.
enum Stream : std::uint64_t { kLayout = 1, kStyle = 2, kBackground = 3, kNoise = 4 };

std::uint64_t streamOf(int index, Stream stream) { return std::uint64_t(index) * 16 + stream; }

double boxOverlap(const SceneObject& a, const SceneObject& b)
{
    // Overlap of the shapes' squares, as a share of the smaller one.
    const double ha = a.extent / 2, hb = b.extent / 2;
    const double w = std::min(a.centreX + ha, b.centreX + hb) - std::max(a.centreX - ha, b.centreX - hb);
    const double h = std::min(a.centreY + ha, b.centreY + hb) - std::max(a.centreY - ha, b.centreY - hb);
    if (w <= 0 || h <= 0)
        return 0;
    const double smaller = std::min(a.extent, b.extent);
    return w * h / (smaller * smaller);
}

std::vector<SceneObject> layOut(int size, SceneRandom& random)
{
    const double r = random.uniform();
    const int count = 1 + int(std::count_if(kObjectCountThresholds.begin(), kObjectCountThresholds.end(),
                                            [&](double threshold) { return r >= threshold; }));
    std::vector<SceneObject> objects;
    for (int n = 0; n < count; ++n) {
        for (int attempt = 0; attempt < 400; ++attempt) {
            SceneObject o;
            o.shape = Shape(random.below(kShapeCount));
            o.colour = Colour(random.below(kColourCount));
            const bool duplicate = std::any_of(objects.begin(), objects.end(), [&](const SceneObject& p) {
                return p.shape == o.shape && p.colour == o.colour;
            });
            if (duplicate)
                continue;
            const double largeChance = count <= 2 ? 0.5 : 0.35;
            o.size = attempt < 200 && random.chance(largeChance) ? SizeClass::Large : SizeClass::Small;
            const double fraction = o.size == SizeClass::Small ? random.uniform(0.13, 0.24)
                                                               : random.uniform(0.32, count <= 2 ? 0.55 : 0.42);
            o.extent = fraction * size;
            const double tilt = o.shape == Shape::Circle ? 0.0 : o.shape == Shape::Star ? 0.3 : 0.2;
            o.rotation = random.uniform(-tilt, tilt);
            const double margin = o.extent * 0.55 + 2;
            o.centreX = random.uniform(margin, size - margin);
            o.centreY = random.uniform(margin, size - margin);
            const bool crowded = std::any_of(objects.begin(), objects.end(),
                                             [&](const SceneObject& p) { return boxOverlap(o, p) > 0.15; });
            if (crowded)
                continue;
            const auto& nominal = kRgb[std::size_t(o.colour)];
            for (int c = 0; c < 3; ++c)
                o.rgb[c] = std::uint8_t(std::clamp(int(nominal[c]) + int(random.uniform(-16, 17)), 0, 255));
            objects.push_back(o);
            break;
        }
    }
    return objects;
}

std::string describe(const SceneObject& o) { return std::string(colourName(o.colour)) + " " + shapeName(o.shape); }

// Where `o` is relative to `other`, as the grammar says it: the larger of the horizontal and
// vertical offsets between their centres decides (captions, "where" answers, and the scoring of
// a caption's relation all use this one rule).
enum class Relation { LeftOf, RightOf, Above, Below };
Relation relationOf(const SceneObject& o, const SceneObject& other)
{
    const double dx = o.centreX - other.centreX, dy = o.centreY - other.centreY;
    if (std::fabs(dx) >= std::fabs(dy))
        return dx < 0 ? Relation::LeftOf : Relation::RightOf;
    return dy < 0 ? Relation::Above : Relation::Below;
}
const char* relationPhrase(Relation r)
{
    switch (r) {
    case Relation::LeftOf: return "to the left of";
    case Relation::RightOf: return "to the right of";
    case Relation::Above: return "above";
    case Relation::Below: break;
    }
    return "below";
}
// The word of a relation phrase that tells it apart from the others.
std::optional<Relation> parseRelationWord(const std::string& word)
{
    if (word == "left")
        return Relation::LeftOf;
    if (word == "right")
        return Relation::RightOf;
    if (word == "above")
        return Relation::Above;
    if (word == "below")
        return Relation::Below;
    return std::nullopt;
}

// Where `o` is relative to `other`, or in the picture when there is no single other object.
std::string whereAnswer(const std::vector<SceneObject>& objects, std::size_t i, int size)
{
    const SceneObject& o = objects[i];
    if (objects.size() == 2) {
        const SceneObject& other = objects[1 - i];
        return std::string(relationPhrase(relationOf(o, other))) + " the " + describe(other);
    }
    const double dx = o.centreX / size - 0.5, dy = o.centreY / size - 0.5;
    if (std::max(std::fabs(dx), std::fabs(dy)) < 0.12)
        return "in the middle";
    if (std::fabs(dx) >= std::fabs(dy))
        return dx < 0 ? "on the left" : "on the right";
    return dy < 0 ? "at the top" : "at the bottom";
}

std::vector<QuestionAnswer> questionsOf(const std::vector<SceneObject>& objects, int size, SceneRandom& random)
{
    std::vector<QuestionAnswer> qa;
    auto countShape = [&](Shape s) { return std::count_if(objects.begin(), objects.end(), [&](auto& o) { return o.shape == s; }); };
    auto countColour = [&](Colour c) { return std::count_if(objects.begin(), objects.end(), [&](auto& o) { return o.colour == c; }); };
    for (std::size_t i = 0; i < objects.size(); ++i) {
        const SceneObject& o = objects[i];
        if (countShape(o.shape) == 1)
            qa.push_back({"colour", std::string("what colour is the ") + shapeName(o.shape) + "?", colourName(o.colour)});
        if (countColour(o.colour) == 1)
            qa.push_back({"shape", std::string("what shape is the ") + colourName(o.colour) + " object?", shapeName(o.shape)});
        qa.push_back({"where", "where is the " + describe(o) + "?", whereAnswer(objects, i, size)});
    }
    qa.push_back({"count", "how many shapes are there?", kNumbers[std::min<std::size_t>(objects.size(), 4)]});
    const SceneObject& present = objects[std::size_t(random.below(int(objects.size())))];
    qa.push_back({"exists", "is there a " + describe(present) + "?", "yes"});
    // An absent object, often sharing the colour or the shape of a present one (the hard case).
    for (int attempt = 0; attempt < 100; ++attempt) {
        Colour c = Colour(random.below(kColourCount));
        Shape s = Shape(random.below(kShapeCount));
        const double r = random.uniform();
        if (r < 0.35)
            c = present.colour;
        else if (r < 0.7)
            s = present.shape;
        const bool there = std::any_of(objects.begin(), objects.end(), [&](auto& o) { return o.colour == c && o.shape == s; });
        if (!there) {
            qa.push_back({"exists", std::string("is there a ") + colourName(c) + " " + shapeName(s) + "?", "no"});
            break;
        }
    }
    return qa;
}

}  // namespace

const char* shapeName(Shape shape) { return kShapeNames[int(shape)]; }
const char* colourName(Colour colour) { return kColourNames[int(colour)]; }
const char* sizeName(SizeClass size) { return kSizeNames[int(size)]; }

std::optional<Shape> parseShape(const std::string& word)
{
    for (int i = 0; i < kShapeCount; ++i)
        if (word == kShapeNames[i])
            return Shape(i);
    return std::nullopt;
}

std::optional<Colour> parseColour(const std::string& word)
{
    for (int i = 0; i < kColourCount; ++i)
        if (word == kColourNames[i])
            return Colour(i);
    return std::nullopt;
}

std::optional<SizeClass> parseSize(const std::string& word)
{
    for (int i = 0; i < 2; ++i)
        if (word == kSizeNames[i])
            return SizeClass(i);
    return std::nullopt;
}

std::array<std::uint8_t, 3> nominalRgb(Colour colour) { return kRgb[std::size_t(colour)]; }

std::string SceneObject::phrase(bool withSize) const
{
    return std::string("a ") + (withSize ? std::string(sizeName(size)) + " " : std::string()) + describe(*this);
}

std::string captionOf(const std::vector<SceneObject>& objects)
{
    std::vector<const SceneObject*> order;
    for (const auto& o : objects)
        order.push_back(&o);
    std::stable_sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->centreX < b->centreX; });
    if (order.empty())
        return "nothing";
    if (order.size() == 1)
        return order[0]->phrase();
    if (order.size() == 2) {
        // The leftmost first, so a horizontal relation always reads "to the left of" (for two
        // centres at the very same x as well).
        const Relation r = relationOf(*order[0], *order[1]);
        return order[0]->phrase() + " " + relationPhrase(r == Relation::RightOf ? Relation::LeftOf : r) + " " +
               order[1]->phrase();
    }
    std::string text;
    for (std::size_t i = 0; i < order.size(); ++i) {
        if (i > 0)
            text += i + 1 == order.size() ? " and " : ", ";
        text += order[i]->phrase();
    }
    return text;
}

Scene generateScene(std::uint64_t seed, int index, const SceneOptions& options)
{
    Scene scene;
    scene.seed = seed;
    scene.index = index;
    SceneRandom layout(seed, streamOf(index, kLayout)), styleRandom(seed, streamOf(index, kStyle));
    SceneRandom backgroundRandom(seed, streamOf(index, kBackground));
    const int size = options.varySize ? int(std::lround(options.size * styleRandom.uniform(0.6, 1.5))) : options.size;
    // The layout is drawn in a unit square of the nominal size, then scaled: the same index
    // gives the same arrangement whatever the drawing size.
    scene.objects = layOut(options.size, layout);
    const double scale = double(size) / options.size;
    for (auto& o : scene.objects) {
        o.centreX *= scale;
        o.centreY *= scale;
        o.extent *= scale;
    }
    scene.caption = captionOf(scene.objects);
    scene.questions = questionsOf(scene.objects, size, layout);

    if (!options.draw)
        return scene;
    const RenderStyle style = drawStyle(styleRandom, options.artefacts);
    std::vector<float> canvas = drawBackground(size, size, backgroundRandom, options.artefacts);
    std::vector<float> empty = canvas;
    drawObjects(canvas, size, size, scene.objects, style.supersample);
    SceneRandom noise(seed, streamOf(index, kNoise)), sameNoise(seed, streamOf(index, kNoise));
    scene.image = finishImage(canvas, size, size, style, noise);
    scene.background = finishImage(empty, size, size, style, sameNoise);
    return scene;
}

std::vector<std::string> splitWords(const std::string& text)
{
    std::vector<std::string> words;
    std::string word;
    for (char ch : text + " ") {
        const unsigned char c = static_cast<unsigned char>(ch);
        if (std::isalnum(c)) {
            word += char(std::tolower(c));
        } else if (!word.empty()) {
            words.push_back(word);
            word.clear();
        }
    }
    return words;
}

std::vector<MentionedObject> mentionedObjects(const std::string& text)
{
    const std::vector<std::string> words = splitWords(text);
    std::vector<MentionedObject> found;
    for (std::size_t i = 0; i + 1 < words.size(); ++i) {
        const auto colour = parseColour(words[i]);
        const auto shape = parseShape(words[i + 1]);
        if (!colour || !shape)
            continue;
        MentionedObject m;
        m.colour = *colour;
        m.shape = *shape;
        m.colourWord = int(i);
        m.shapeWord = int(i + 1);
        if (i > 0)
            m.size = parseSize(words[i - 1]);
        found.push_back(m);
    }
    return found;
}

std::optional<int> findObject(const Scene& scene, Colour colour, Shape shape)
{
    std::optional<int> found;
    for (std::size_t i = 0; i < scene.objects.size(); ++i)
        if (scene.objects[i].colour == colour && scene.objects[i].shape == shape) {
            if (found)
                return std::nullopt;
            found = int(i);
        }
    return found;
}

std::optional<bool> captionRelationHolds(const Scene& scene, const std::string& caption)
{
    if (scene.objects.size() != 2)
        return std::nullopt;
    const std::vector<MentionedObject> named = mentionedObjects(caption);
    if (named.size() != 2)
        return false;
    // The relation is in the words between the two mentions: "to the left of a small".
    const std::vector<std::string> words = splitWords(caption);
    std::optional<Relation> said;
    for (int w = named[0].shapeWord + 1; w < named[1].colourWord; ++w)
        if (const auto r = parseRelationWord(words[std::size_t(w)]))
            said = r;
    if (!said)
        return false;
    // Which object each mention names: by colour and shape, and by size too when the two are
    // otherwise alike. Two objects alike in all three may be named in either order.
    auto names = [&](const MentionedObject& m, const SceneObject& o, bool bySize) {
        return m.colour == o.colour && m.shape == o.shape && (!bySize || !m.size || *m.size == o.size);
    };
    const SceneObject& a = scene.objects[0];
    const SceneObject& b = scene.objects[1];
    const bool alike = a.colour == b.colour && a.shape == b.shape;
    const bool bySize = alike && a.size != b.size;
    bool holds = false;
    if (names(named[0], a, bySize) && names(named[1], b, bySize))
        holds = holds || *said == relationOf(a, b);
    if (names(named[0], b, bySize) && names(named[1], a, bySize))
        holds = holds || *said == relationOf(b, a);
    return holds;
}

std::vector<std::string> grammarWords()
{
    std::set<std::string> words;
    for (const char* w : kShapeNames)
        words.insert(w);
    for (const char* w : kColourNames)
        words.insert(w);
    for (const char* w : kSizeNames)
        words.insert(w);
    for (int i = 1; i <= 4; ++i)
        words.insert(kNumbers[i]);
    for (const char* w : {"a", "the", "to", "left", "right", "of", "above", "below", "and", "on", "at", "top",
                          "bottom", "in", "middle", "what", "colour", "is", "shape", "object", "how", "many", "shapes",
                          "are", "there", "where", "yes", "no", "question", "answer"})
        words.insert(w);
    return {words.begin(), words.end()};
}

std::string sceneJson(const Scene& scene, const std::string& imageFile)
{
    nlohmann::json root;
    root["image"] = imageFile;
    root["width"] = scene.image.width;
    root["height"] = scene.image.height;
    root["seed"] = scene.seed;
    root["index"] = scene.index;
    root["caption"] = scene.caption;
    root["questions"] = nlohmann::json::array();
    for (const auto& q : scene.questions)
        root["questions"].push_back({{"type", q.type}, {"question", q.question}, {"answer", q.answer}});
    root["objects"] = nlohmann::json::array();
    for (const auto& o : scene.objects) {
        std::vector<int> counts;
        std::uint8_t current = 0;
        int run = 0;
        for (std::uint8_t v : o.mask) {
            if (v != current) {
                counts.push_back(run);
                run = 0;
                current = v;
            }
            ++run;
        }
        counts.push_back(run);
        root["objects"].push_back({{"shape", shapeName(o.shape)},
                                   {"colour", colourName(o.colour)},
                                   {"size", sizeName(o.size)},
                                   {"rgb", o.rgb},
                                   {"centre", {o.centreX, o.centreY}},
                                   {"extent", o.extent},
                                   {"rotation_degrees", o.rotation * 180 / 3.14159265358979323846},
                                   {"bbox", o.box},
                                   {"mask_pixels", o.maskPixels},
                                   {"mask_rle", {{"order", "row-major, runs alternate starting with 0"},
                                                 {"counts", counts}}}});
    }
    return root.dump(1) + "\n";
}

}  // namespace querylens::demo
