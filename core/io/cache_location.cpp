#include "io/cache_location.h"

#include <cstdlib>
#include <filesystem>

namespace querylens::io {

namespace fs = std::filesystem;

std::string querylensCachePath(const std::string& name, const char* overrideVariable)
{
    if (const char* own = std::getenv(overrideVariable); own && *own)
        return own;
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
        return (fs::path(xdg) / "querylens" / name).string();
    const char* home = std::getenv("HOME");
    return (fs::path(home ? home : ".") / ".cache" / "querylens" / name).string();
}

}  // namespace querylens::io
