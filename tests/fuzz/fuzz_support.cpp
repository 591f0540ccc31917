#include "fuzz_support.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

namespace fuzzsupport {

namespace fs = std::filesystem;

namespace {

std::map<std::string, Entry>& registry()
{
    static std::map<std::string, Entry> targets;
    return targets;
}

}  // namespace

bool registerTarget(const char* name, Entry entry)
{
    registry()[name] = entry;
    return true;
}

Entry findTarget(const std::string& name)
{
    const auto it = registry().find(name);
    return it == registry().end() ? nullptr : it->second;
}

std::vector<std::string> targetNames()
{
    std::vector<std::string> names;
    for (const auto& [name, entry] : registry())
        names.push_back(name);
    return names;
}

std::vector<std::string> splitParts(const std::uint8_t* data, std::size_t size, std::size_t count)
{
    const std::string input(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (parts.size() + 1 < count) {
        const std::size_t at = input.find(kPartSeparator, start);
        if (at == std::string::npos)
            break;
        parts.push_back(input.substr(start, at - start));
        start = at + kPartSeparator.size();
    }
    parts.push_back(start <= input.size() ? input.substr(start) : std::string());
    parts.resize(count);
    return parts;
}

namespace {

const std::string& processFolder()
{
    // Never destroyed: the exit handler below reads it, and a static string would be destroyed
    // first (ASan: heap use after free at exit).
    static const std::string& folder = *new std::string([] {
        const char* tmp = std::getenv("TMPDIR");
        std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/querylens-fuzz-XXXXXX";
        if (!::mkdtemp(pattern.data())) {
            std::perror("mkdtemp");
            std::abort();
        }
        std::atexit([] {
            std::error_code ignored;
            fs::remove_all(processFolder(), ignored);
        });
        return pattern;
    }());
    return folder;
}

}  // namespace

Scratch::Scratch(const std::string& target) : folder_(processFolder() + "/" + target)
{
    fs::create_directories(folder_);
}

void Scratch::clear() const
{
    std::error_code ignored;
    for (const auto& entry : fs::directory_iterator(folder_, ignored))
        fs::remove_all(entry.path(), ignored);
}

std::string Scratch::write(const std::string& name, const std::string& bytes) const
{
    const std::string path = folder_ + "/" + name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    if (!out) {
        std::fprintf(stderr, "fuzz: cannot write %s\n", path.c_str());
        std::abort();
    }
    return path;
}

void fail(const char* condition, const char* file, int line, const std::string& detail)
{
    std::fprintf(stderr, "\nFUZZ_CHECK failed at %s:%d: %s\n  %s\n", file, line, condition, detail.c_str());
    std::abort();
}

}  // namespace fuzzsupport
