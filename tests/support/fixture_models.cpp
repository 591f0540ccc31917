#include "fixture_models.h"

#include "fixtures.h"

#include <map>
#include <utility>

namespace testsupport {

std::shared_ptr<const querylens::Model> fixtureModel(const std::string& config)
{
    static std::map<std::string, std::shared_ptr<const querylens::Model>> loaded;
    auto& model = loaded[config];
    if (!model) {
        querylens::LoadOptions options;
        options.folder = fixturePath(config);
        options.threads = 1;
        model = querylens::Model::load(options);
    }
    return model;
}

std::shared_ptr<const querylens::ImageEncoding> fixtureEncoding(const std::string& config, int variant)
{
    static std::map<std::pair<std::string, int>, std::shared_ptr<const querylens::ImageEncoding>> encoded;
    auto& encoding = encoded[{config, variant}];
    if (!encoding)
        encoding = fixtureModel(config)->encode(toRgb(fixtureVariant(variant)));  // variant 0: the photo
    return encoding;
}

querylens::DecodingOptions greedy(int tokens)
{
    querylens::DecodingOptions options;
    options.maxNewTokens = tokens;
    return options;
}

}  // namespace testsupport
