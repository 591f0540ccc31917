#include "fixtures.h"

#include "querylens/error.h"

#include <QImage>
#include <QtGlobal>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>

namespace testsupport {

std::string fixturePath(const std::string& relative)
{
    const auto path = std::filesystem::path(QUERYLENS_FIXTURES) / relative;
    if (!std::filesystem::exists(path))
        throw querylens::Error("fixture not found (tests read ../shared/fixtures beside the repository)",
                               path.string());
    return path.string();
}

bool fixtureLoads(const char* config)
{
    if (kT5FixtureLoads || std::strstr(config, "t5") == nullptr)
        return true;
    qInfo("%s left out: AddressSanitizer cannot open the SentencePiece plugin (RTLD_DEEPBIND)", config);
    return false;
}

const querylens::io::WeightArchive& golden(const std::string& set)
{
    static std::map<std::string, std::unique_ptr<querylens::io::WeightArchive>> cache;
    auto& slot = cache[set];
    const std::string file = set.find('/') == std::string::npos ? set + "/golden.safetensors" : set + ".safetensors";
    if (!slot)
        slot = std::make_unique<querylens::io::WeightArchive>(querylens::io::WeightArchive::openFile(fixturePath(file)));
    return *slot;
}

namespace {

const querylens::io::WeightArchive::Entry& goldenEntry(const std::string& config, const std::string& name)
{
    const auto* entry = golden(config).find(name);
    if (!entry)
        throw querylens::Error("golden tensor missing", config, name);
    return *entry;
}

}  // namespace

std::vector<float> goldenFloats(const std::string& config, const std::string& name)
{
    const auto& entry = goldenEntry(config, name);
    if (entry.record->dtype != querylens::io::DType::F32)
        throw querylens::Error("golden tensor is not F32", config, name);
    std::vector<float> values(static_cast<std::size_t>(entry.record->numel()));
    std::memcpy(values.data(), entry.file->data(*entry.record), entry.record->nbytes);
    return values;
}

std::vector<std::int64_t> goldenInts(const std::string& config, const std::string& name)
{
    const auto& entry = goldenEntry(config, name);
    if (entry.record->dtype != querylens::io::DType::I64)
        throw querylens::Error("golden tensor is not I64", config, name);
    std::vector<std::int64_t> values(static_cast<std::size_t>(entry.record->numel()));
    std::memcpy(values.data(), entry.file->data(*entry.record), entry.record->nbytes);
    return values;
}

std::vector<std::int64_t> goldenShape(const std::string& config, const std::string& name)
{
    return goldenEntry(config, name).record->shape;
}

querylens::RgbImage toRgb(const QImage& source)
{
    const QImage image = source.convertToFormat(QImage::Format_RGB888);
    querylens::RgbImage rgb;
    rgb.width = image.width();
    rgb.height = image.height();
    rgb.pixels.resize(static_cast<std::size_t>(rgb.width) * rgb.height * 3);
    for (int y = 0; y < rgb.height; ++y)
        std::memcpy(rgb.pixels.data() + static_cast<std::size_t>(y) * rgb.width * 3, image.constScanLine(y),
                    static_cast<std::size_t>(rgb.width) * 3);
    return rgb;
}

querylens::RgbImage fixtureImage()
{
    return toRgb(QImage(QString::fromStdString(fixturePath("image.png"))));
}

QImage fixtureVariant(int index)
{
    const QImage photo(QString::fromStdString(fixturePath("image.png")));
    if (index == 0)
        return photo;
    // Windows of the photo at different places and sizes, every other one mirrored: each one a
    // different image to the model, all of them real photo content.
    const int width = photo.width() * (5 + index % 4) / 8, height = photo.height() * (5 + (index / 4) % 4) / 8;
    const int x = (index * 97) % (photo.width() - width + 1), y = (index * 61) % (photo.height() - height + 1);
    QImage window = photo.copy(x, y, width, height);
    return index % 2 ? window.mirrored(true, false) : window;
}

QString Difference::describe() const
{
    if (!sizesMatch)
        return QStringLiteral("sizes differ");
    return QStringLiteral("max abs %1 at element %2, mean abs %3").arg(maxAbs).arg(worstIndex).arg(meanAbs);
}

Difference compare(const float* actual, const std::vector<float>& expected)
{
    Difference d;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const double diff = std::fabs(double(actual[i]) - double(expected[i]));
        if (!(diff <= d.maxAbs)) {  // also catches NaN
            d.maxAbs = std::isnan(diff) ? INFINITY : diff;
            d.worstIndex = i;
        }
        d.meanAbs += diff;
    }
    if (!expected.empty())
        d.meanAbs /= double(expected.size());
    return d;
}

Difference compare(const std::vector<float>& actual, const std::vector<float>& expected)
{
    if (actual.size() != expected.size()) {
        Difference d;
        d.sizesMatch = false;
        d.maxAbs = INFINITY;
        return d;
    }
    return compare(actual.data(), expected);
}

}  // namespace testsupport
