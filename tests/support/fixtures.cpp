#include "fixtures.h"

#include "querylens/error.h"

#include <QImage>
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

querylens::RgbImage fixtureImage()
{
    const QImage image = QImage(QString::fromStdString(fixturePath("image.png"))).convertToFormat(QImage::Format_RGB888);
    querylens::RgbImage rgb;
    rgb.width = image.width();
    rgb.height = image.height();
    rgb.pixels.resize(static_cast<std::size_t>(rgb.width) * rgb.height * 3);
    for (int y = 0; y < rgb.height; ++y)
        std::memcpy(rgb.pixels.data() + static_cast<std::size_t>(y) * rgb.width * 3, image.constScanLine(y),
                    static_cast<std::size_t>(rgb.width) * 3);
    return rgb;
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
