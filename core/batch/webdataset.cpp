#include "batch/webdataset.h"

#include "batch/tar_archive.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <regex>
#include <set>

namespace querylens::batch {

namespace {

// webdataset.autodecode.IMAGE_EXTENSIONS: what Pillow opens.
constexpr std::array<const char*, 62> kImageExtensions = {
    "blp", "bmp", "dib", "bufr", "cur", "pcx", "dcx", "dds", "ps", "eps", "fit", "fits", "fli", "flc", "ftc", "ftu",
    "gbr", "gif", "grib", "h5", "hdf", "png", "apng", "jp2", "j2k", "jpc", "jpf", "jpx", "j2c", "icns", "ico", "im",
    "iim", "tif", "tiff", "jfif", "jpe", "jpg", "jpeg", "mpg", "mpeg", "msp", "pcd", "pxr", "pbm", "pgm", "ppm", "pnm",
    "psd", "bw", "rgb", "rgba", "sgi", "ras", "tga", "icb", "vda", "vst", "webp", "wmf", "emf", "xbm"};

// The suffixes a sample's image is looked for first, in this order (what datasets use).
constexpr std::array<const char*, 4> kPreferredImages = {"jpg", "jpeg", "png", "webp"};

std::string lowerCase(std::string text)
{
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return text;
}

struct OpenSample {
    std::string key;
    std::vector<std::pair<std::string, std::string>> members;  // suffix, member name
};

// The sample's image member, or empty.
std::string imageOf(const OpenSample& sample)
{
    for (const char* preferred : kPreferredImages)
        for (const auto& [suffix, member] : sample.members)
            if (suffix == preferred)
                return member;
    for (const auto& [suffix, member] : sample.members)
        if (isImageSuffix(suffix))
            return member;
    return {};
}

}  // namespace

std::optional<WebDatasetName> splitWebDatasetName(const std::string& member)
{
    static const std::regex pattern(R"(^((?:.*/|)[^.]+)[.]([^/]*)$)");
    std::smatch match;
    if (!std::regex_match(member, match, pattern))
        return std::nullopt;
    return WebDatasetName{match[1].str(), lowerCase(match[2].str())};
}

bool isWebDatasetMetadata(const std::string& member)
{
    static const std::regex folder(R"(^__[^/]*__($|/))");
    const bool topLevel = member.find('/') == std::string::npos && member.size() >= 4 && member.rfind("__", 0) == 0 &&
                          member.compare(member.size() - 2, 2, "__") == 0;
    return topLevel || std::regex_search(member, folder);
}

bool isImageSuffix(const std::string& suffix)
{
    const std::string last = lowerCase(suffix.substr(suffix.rfind('.') == std::string::npos ? 0 : suffix.rfind('.') + 1));
    return std::any_of(kImageExtensions.begin(), kImageExtensions.end(), [&](const char* e) { return last == e; });
}

ShardListing listWebDatasetShard(const std::string& path)
{
    ShardListing listing;
    TarReader reader(path);
    std::set<std::string> seenKeys;
    OpenSample sample;
    std::size_t withoutImage = 0;
    auto close = [&] {
        if (sample.key.empty())
            return;
        const std::string image = imageOf(sample);
        if (seenKeys.count(sample.key))
            listing.warnings.push_back(path + ": sample " + sample.key +
                                       " comes back after other samples (its members are not together); passed over");
        else if (image.empty())
            ++withoutImage;
        else
            listing.samples.push_back({sample.key, image});
        seenKeys.insert(sample.key);
        sample = OpenSample{};
    };
    while (reader.next()) {
        const std::string& member = reader.name();
        if (isWebDatasetMetadata(member))
            continue;
        const auto name = splitWebDatasetName(member);
        if (!name)
            continue;
        if (name->key != sample.key)
            close();
        sample.key = name->key;
        const bool repeated = std::any_of(sample.members.begin(), sample.members.end(),
                                          [&](const auto& m) { return m.first == name->suffix; });
        if (repeated)
            listing.warnings.push_back(path + ": " + member + " repeats suffix " + name->suffix + " of sample " +
                                       name->key + "; passed over");
        else
            sample.members.emplace_back(name->suffix, member);
    }
    close();
    if (withoutImage > 0)
        listing.warnings.push_back(path + ": " + std::to_string(withoutImage) + " sample" +
                                   (withoutImage > 1 ? "s have" : " has") + " no image member; passed over");
    return listing;
}

}  // namespace querylens::batch
