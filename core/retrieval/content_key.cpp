#include "retrieval/content_key.h"

#include "io/weight_archive.h"
#include "querylens/error.h"
#include "querylens/image_search.h"
#include "querylens/model.h"

#include <openssl/evp.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <vector>

namespace querylens {

namespace retrieval {

struct Sha256::Context {
    EVP_MD_CTX* md = nullptr;
};

Sha256::Sha256() : context_(std::make_unique<Context>())
{
    context_->md = EVP_MD_CTX_new();
    if (!context_->md || EVP_DigestInit_ex(context_->md, EVP_sha256(), nullptr) != 1)
        throw Error("OpenSSL could not start a SHA-256 digest");
}

Sha256::~Sha256() { EVP_MD_CTX_free(context_->md); }

void Sha256::add(const void* data, std::size_t size)
{
    if (size > 0 && EVP_DigestUpdate(context_->md, data, size) != 1)
        throw Error("OpenSSL's SHA-256 digest failed");
}

std::string Sha256::hex()
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(context_->md, digest, &length) != 1)
        throw Error("OpenSSL's SHA-256 digest failed");
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < length; ++i) {
        out += digits[digest[i] >> 4];
        out += digits[digest[i] & 15];
    }
    return out;
}

}  // namespace retrieval

namespace fs = std::filesystem;

std::string fileContentKey(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error("cannot read the file", path);
    retrieval::Sha256 sha;
    std::vector<char> buffer(1 << 20);
    while (in) {
        in.read(buffer.data(), std::streamsize(buffer.size()));
        sha.add(buffer.data(), std::size_t(in.gcount()));
    }
    if (in.bad())
        throw Error("reading the file failed", path);
    return sha.hex();
}

std::string modelFingerprint(const Model& model)
{
    const ModelInfo& info = model.info();
    const fs::path folder(info.folder);
    retrieval::Sha256 sha;
    sha.add(std::string("querylens-embeddings/1 precision=") + precisionName(info.precision) + "\n");
    for (const char* name : {"config.json", "preprocessor_config.json", "processor_config.json"}) {
        std::ifstream in(folder / name, std::ios::binary);
        if (in)
            sha.add(std::string(std::istreambuf_iterator<char>(in), {}));
    }
    const io::WeightArchive archive = io::WeightArchive::openFolder(folder.string());
    std::set<std::string> blobNames;
    for (const auto& name : archive.names()) {
        const io::WeightArchive::Entry* entry = archive.find(name);
        std::string line = name + " " + io::dtypeName(entry->record->dtype);
        for (auto d : entry->record->shape)
            line += " " + std::to_string(d);
        sha.add(line + "\n");
        // A page of each tensor's values: a fine-tuned checkpoint of the same shapes differs there.
        sha.add(entry->file->data(*entry->record), std::min<std::size_t>(entry->record->nbytes, 4096));
        // Hub snapshots link to blobs named by their content hash: the strongest name there is.
        std::error_code error;
        const fs::path file = entry->file->path();
        if (fs::is_symlink(file, error))
            blobNames.insert(fs::read_symlink(file, error).filename().string());
    }
    for (const auto& blob : blobNames)
        sha.add("blob " + blob + "\n");
    return sha.hex();
}

}  // namespace querylens
