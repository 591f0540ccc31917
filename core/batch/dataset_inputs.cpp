#include "querylens/dataset_inputs.h"

#include "batch/webdataset.h"
#include "querylens/error.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>

namespace querylens {

namespace fs = std::filesystem;

namespace {

std::string lowerCase(std::string text)
{
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return text;
}

bool endsWith(const std::string& text, const std::string& end)
{
    return text.size() >= end.size() && text.compare(text.size() - end.size(), end.size(), end) == 0;
}

// The key of a path: normalised, with forward slashes, relative staying relative.
std::string keyOf(const fs::path& path)
{
    std::string key = path.lexically_normal().generic_string();
    while (key.size() > 1 && key.back() == '/')
        key.pop_back();
    return key;
}

class Lister {
public:
    explicit Lister(const std::vector<std::string>& extensions)
    {
        for (const auto& e : extensions)
            extensions_.insert(lowerCase(e));
    }

    void add(const fs::path& path, bool fromList)
    {
        std::error_code error;
        const fs::file_status status = fs::status(path, error);
        if (error || !fs::exists(status))
            throw Error(fromList ? "listed, but there is no such file or folder" : "no such file or folder", path.string());
        if (fs::is_directory(status))
            addFolder(path);
        else if (isTarShard(path.string()))
            addShard(path);
        else
            addItem({keyOf(path), path.string(), {}});
    }

    void addList(const fs::path& list)
    {
        std::ifstream in(list, std::ios::binary);
        if (!in)
            throw Error("cannot read the list of inputs", list.string());
        std::string line;
        const fs::path folder = list.parent_path();
        std::size_t number = 0;
        while (std::getline(in, line)) {
            ++number;
            while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back())))
                line.pop_back();
            line.erase(0, line.find_first_not_of(" \t"));
            if (line.empty() || line[0] == '#')
                continue;
            const fs::path entry = fs::path(line).is_absolute() ? fs::path(line) : folder / line;
            try {
                add(entry, true);
            } catch (const Error& e) {
                throw Error(e.message() + " (" + entry.string() + ", line " + std::to_string(number) + ")", list.string());
            }
        }
        if (in.bad())
            throw Error("cannot read the list of inputs", list.string());
    }

    InputListing take() { return std::move(listing_); }

private:
    bool isImage(const fs::path& path) const
    {
        std::string extension = lowerCase(path.extension().string());
        return !extension.empty() && extensions_.count(extension.substr(1));
    }

    void addFolder(const fs::path& folder)
    {
        std::vector<fs::path> files;
        std::error_code error;
        fs::recursive_directory_iterator it(folder, fs::directory_options::skip_permission_denied, error), end;
        if (error)
            throw Error("cannot read the folder: " + error.message(), folder.string());
        for (; it != end; it.increment(error)) {
            if (error)
                throw Error("cannot read the folder: " + error.message(), folder.string());
            const std::string name = it->path().filename().string();
            if (!name.empty() && name[0] == '.') {
                if (it->is_directory(error))
                    it.disable_recursion_pending();
                continue;
            }
            if (it->is_regular_file(error) && isImage(it->path()))
                files.push_back(it->path());
        }
        std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) {
            return a.generic_string() < b.generic_string();
        });
        if (files.empty())
            listing_.warnings.push_back(folder.string() + ": no image files in this folder");
        for (const auto& file : files)
            addItem({keyOf(file), file.string(), {}});
    }

    void addShard(const fs::path& shard)
    {
        batch::ShardListing samples = batch::listWebDatasetShard(shard.string());
        listing_.warnings.insert(listing_.warnings.end(), samples.warnings.begin(), samples.warnings.end());
        for (const auto& sample : samples.samples)
            addItem({keyOf(shard) + "/" + sample.key, shard.string(), sample.imageMember});
    }

    void addItem(DatasetItem item)
    {
        if (!keys_.insert(item.key).second) {
            listing_.warnings.push_back(item.key + ": given more than once; captioned once");
            return;
        }
        listing_.items.push_back(std::move(item));
    }

    std::set<std::string> extensions_;
    std::set<std::string> keys_;
    InputListing listing_;
};

}  // namespace

const std::vector<std::string>& defaultImageExtensions()
{
    static const std::vector<std::string> extensions = {"bmp", "gif", "jpeg", "jpg", "pbm", "pgm", "png",
                                                        "ppm", "tif", "tiff", "webp", "xbm", "xpm"};
    return extensions;
}

bool isTarShard(const std::string& path)
{
    const std::string name = lowerCase(path);
    for (const char* end : {".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar.zst"})
        if (endsWith(name, end))
            return true;
    return false;
}

InputListing listInputs(const std::vector<std::string>& arguments, const std::vector<std::string>& imageExtensions)
{
    Lister lister(imageExtensions);
    for (const std::string& argument : arguments) {
        if (argument.size() > 1 && argument[0] == '@')
            lister.addList(argument.substr(1));
        else
            lister.add(argument, false);
    }
    return lister.take();
}

}  // namespace querylens
