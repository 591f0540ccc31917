#pragma once
// Streaming sha256 (LFS files) and sha1 (git blob ids of small files) through OpenSSL's EVP.

#include <cstddef>
#include <memory>
#include <string>

namespace querylens::hub {

class Digest {
public:
    enum class Kind { Sha256, Sha1 };
    explicit Digest(Kind kind);
    ~Digest();
    Digest(const Digest&) = delete;
    Digest& operator=(const Digest&) = delete;

    void reset();
    void update(const void* data, std::size_t size);
    std::string hexDigest();  // finishes; reset() before reuse

private:
    struct State;
    std::unique_ptr<State> state_;
    Kind kind_;
};

}  // namespace querylens::hub
