#include "querylens/error.h"

namespace querylens {
namespace {

std::string describe(const std::string& message, const std::string& file, const std::string& key)
{
    std::string text;
    if (!file.empty())
        text += file + ": ";
    if (!key.empty())
        text += "'" + key + "': ";
    return text + message;
}

}  // namespace

Error::Error(const std::string& message, std::string file, std::string key)
    : std::runtime_error(describe(message, file, key)), file_(std::move(file)), key_(std::move(key)),
      message_(message)
{
}

}  // namespace querylens
