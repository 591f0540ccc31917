#pragma once
// Streaming sha256 and sha1 through OpenSSL's EVP: image keys of sessions, and the Hub
// client's checks (sha256 of LFS files, git blob sha1 of small ones).

#include <cstddef>
#include <memory>
#include <string>

namespace querylens::io {

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

}  // namespace querylens::io
