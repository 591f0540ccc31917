#include "io/sha256.h"

#include "io/digest.h"
#include "querylens/error.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

namespace querylens::io {

std::string sha256OfFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error(std::string("cannot read the file: ") + std::strerror(errno), path);
    Digest digest(Digest::Kind::Sha256);
    std::vector<char> buffer(1 << 20);
    while (in) {
        in.read(buffer.data(), std::streamsize(buffer.size()));
        digest.update(buffer.data(), std::size_t(in.gcount()));
    }
    if (in.bad())
        throw Error("the file could not be read to its end", path);
    return digest.hexDigest();
}

std::string sha256OfBytes(const std::string& bytes)
{
    Digest digest(Digest::Kind::Sha256);
    digest.update(bytes.data(), bytes.size());
    return digest.hexDigest();
}

}  // namespace querylens::io
