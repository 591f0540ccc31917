#include "io/user_folders.h"

#include <cstdlib>
#include <filesystem>

namespace querylens::io {

namespace fs = std::filesystem;

namespace {

const char* variableOrNull(const char* name)
{
    const char* value = name ? std::getenv(name) : nullptr;
    return value && *value ? value : nullptr;
}

}  // namespace

std::string querylensUserPath(UserFolder kind, const std::string& name, const char* overrideVariable)
{
    if (const char* own = variableOrNull(overrideVariable))
        return own;
    const bool cache = kind == UserFolder::Cache;
    if (const char* xdg = variableOrNull(cache ? "XDG_CACHE_HOME" : "XDG_DATA_HOME"))
        return (fs::path(xdg) / "querylens" / name).string();
    const char* home = variableOrNull("HOME");
    const fs::path base = fs::path(home ? home : ".") / (cache ? fs::path(".cache") : fs::path(".local") / "share");
    return (base / "querylens" / name).string();
}

}  // namespace querylens::io
