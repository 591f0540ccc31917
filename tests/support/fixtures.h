#pragma once
// Access to ../shared/fixtures for the test suites: paths, golden tensors, the test photo,
// and comparisons that report the worst element.

#include "io/weight_archive.h"
#include "querylens/image.h"

#include <QImage>
#include <QString>
#include <cstdint>
#include <string>
#include <vector>

namespace testsupport {

// AddressSanitizer builds (scripts/sanitize.sh) cannot open the SentencePiece plugin, which
// needs dlopen(RTLD_DEEPBIND) (DESIGN.md), so the tiny-t5 fixture cannot load there: its rows
// skip, saying so. (GCC defines __SANITIZE_ADDRESS__; clang answers __has_feature.)
#if defined(__SANITIZE_ADDRESS__)
#define QUERYLENS_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define QUERYLENS_TEST_ASAN 1
#endif
#endif
#if defined(QUERYLENS_TEST_ASAN)
inline constexpr bool kT5FixtureLoads = false;
#else
inline constexpr bool kT5FixtureLoads = true;
#endif
// Skips the test function (a row, or what is left of it) when config names a T5 fixture that
// this build cannot load.
#define QUERYLENS_SKIP_T5_UNDER_ASAN(config)                                                               \
    do {                                                                                                   \
        if (!testsupport::kT5FixtureLoads && QString(config).contains(QStringLiteral("t5")))               \
            QSKIP("AddressSanitizer cannot open the SentencePiece plugin (RTLD_DEEPBIND): no T5 here");    \
    } while (0)
// For loops over configs: false, saying so, for a T5 fixture this build cannot load.
bool fixtureLoads(const char* config);

// Absolute path of a file or folder under the fixtures folder ("tiny-opt", "image.png", ...).
std::string fixturePath(const std::string& relative);
// The golden tensors of a set: a config ("tiny-opt", "tiny-t5", "tiny-itm") names its
// golden.safetensors; a path below a config names that file without its extension
// ("tiny-opt/golden_gradients"). The functions below take the same names.
const querylens::io::WeightArchive& golden(const std::string& set);
std::vector<float> goldenFloats(const std::string& config, const std::string& name);
std::vector<std::int64_t> goldenShape(const std::string& config, const std::string& name);
std::vector<std::int64_t> goldenInts(const std::string& config, const std::string& name);
// image.png decoded with Qt into RGB8, as the program decodes it.
querylens::RgbImage fixtureImage();
// Different images made from the photo (index 0 is the photo itself), for batches.
QImage fixtureVariant(int index);
querylens::RgbImage toRgb(const QImage& image);

struct Difference {
    double maxAbs = 0;
    double meanAbs = 0;
    std::size_t worstIndex = 0;
    bool sizesMatch = true;
    QString describe() const;
};
Difference compare(const float* actual, const std::vector<float>& expected);
Difference compare(const std::vector<float>& actual, const std::vector<float>& expected);

}  // namespace testsupport
