#pragma once
// The demo model's world: pictures of 1-4 flat-coloured shapes on light backgrounds, with the
// ground truth of every object (class, colour, size, bounding box, pixel mask), a caption from
// a small grammar and question/answer pairs. Deterministic: scene `index` of `seed` is the same
// picture on every machine. No torch here; the trainer, the evaluation and `querylens
// make-scenes` all draw from this one generator.

#include "querylens/image.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace querylens::demo {

enum class Shape { Circle, Square, Triangle, Star };
enum class Colour { Red, Green, Blue, Yellow, Orange, Purple };
enum class SizeClass { Small, Large };

constexpr int kShapeCount = 4;
constexpr int kColourCount = 6;

// How many objects a scene is drawn with: 1 below the first threshold of a uniform draw, 2 below
// the second, 3 below the third, else 4. (A crowded picture may place fewer.)
constexpr int kMaxObjects = 4;
constexpr std::array<double, kMaxObjects - 1> kObjectCountThresholds{0.25, 0.6, 0.85};
constexpr double kMeanObjectCount = 1 + (1 - kObjectCountThresholds[0]) + (1 - kObjectCountThresholds[1]) +
                                    (1 - kObjectCountThresholds[2]);  // 2.3

const char* shapeName(Shape shape);
const char* colourName(Colour colour);
const char* sizeName(SizeClass size);
std::optional<Shape> parseShape(const std::string& word);
std::optional<Colour> parseColour(const std::string& word);
std::optional<SizeClass> parseSize(const std::string& word);
// The plain RGB meaning of a colour word (red #E02020, green #20A040, ...).
std::array<std::uint8_t, 3> nominalRgb(Colour colour);

struct SceneObject {
    Shape shape = Shape::Circle;
    Colour colour = Colour::Red;
    SizeClass size = SizeClass::Small;
    std::array<std::uint8_t, 3> rgb{};  // the drawn colour (the nominal one, varied a little)
    double centreX = 0, centreY = 0;    // pixels
    double extent = 0;                  // the shape's width in pixels (its circumscribed square)
    double rotation = 0;                // radians
    std::array<int, 4> box{};           // visible pixels: x0, y0, x1, y1 (inclusive)
    std::vector<std::uint8_t> mask;     // [height][width]: 1 where the object is visible (on top)
    int maskPixels = 0;

    std::string phrase(bool withSize = true) const;  // "a large red circle"
};

struct QuestionAnswer {
    std::string type;      // "colour", "shape", "count", "exists", "where"
    std::string question;  // "what colour is the circle?"
    std::string answer;    // "red"
};

struct Scene {
    std::uint64_t seed = 0;
    int index = 0;
    RgbImage image;
    RgbImage background;             // the same picture without the objects (deletion curves)
    std::vector<SceneObject> objects;  // in drawing order (later ones on top)
    std::string caption;
    std::vector<QuestionAnswer> questions;
};

struct SceneOptions {
    int size = 224;             // width = height, pixels
    bool varySize = false;      // draw at 0.6x-1.5x of `size` (the model then resizes, as for any file)
    bool artefacts = true;      // noise, texture and JPEG-like block quantisation
    bool draw = true;           // false: objects, caption and questions only (text corpora)
};

// Scene `index` of the stream `seed`.
Scene generateScene(std::uint64_t seed, int index, const SceneOptions& options = {});

// The caption grammar. One object: "a small green triangle". Two: "a large red circle to the
// left of a small blue square" (the leftmost first; "above"/"below" when they are more apart
// vertically). Three or four: "a ..., a ... and a ...", left to right.
std::string captionOf(const std::vector<SceneObject>& objects);

// An object phrase found in generated text: its colour and shape words, in order of mention.
struct MentionedObject {
    Colour colour = Colour::Red;
    Shape shape = Shape::Circle;
    std::optional<SizeClass> size;
    int colourWord = 0;  // index of the colour word among the text's words
    int shapeWord = 0;
};
std::vector<std::string> splitWords(const std::string& text);  // lower case, punctuation dropped
std::vector<MentionedObject> mentionedObjects(const std::string& text);

// The index of the object with that colour and shape, if exactly one has them.
std::optional<int> findObject(const Scene& scene, Colour colour, Shape shape);

// Whether a caption of a two-object scene says where they are right: it names exactly the
// scene's two objects (colour and shape), with a relation between them ("to the left of",
// "to the right of", "above", "below") that holds by the grammar's rule, the larger of the
// horizontal and vertical offsets deciding. Either object may be named first. Empty when the
// scene does not have exactly two objects. The caption score (every object's colour and shape)
// does not look at relations; this does.
std::optional<bool> captionRelationHolds(const Scene& scene, const std::string& caption);

// Every word the grammar uses (captions, questions, answers), sorted: the WordPiece vocabulary.
std::vector<std::string> grammarWords();

// Ground truth as JSON: file, size, caption, questions, and per object its class, colour, size,
// centre, bounding box and mask (run-length encoded, row-major, counts alternate starting with
// a run of zeros).
std::string sceneJson(const Scene& scene, const std::string& imageFile);

}  // namespace querylens::demo
