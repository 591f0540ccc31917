#pragma once
// SHA-256 (OpenSSL) of bytes as they stream in, written as 64 lower-case hex digits.

#include <memory>
#include <string>

namespace querylens::retrieval {

class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    void add(const void* data, std::size_t size);
    void add(const std::string& text) { add(text.data(), text.size()); }
    std::string hex();  // ends the digest

private:
    struct Context;
    std::unique_ptr<Context> context_;
};

}  // namespace querylens::retrieval
