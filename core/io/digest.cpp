#include "io/digest.h"

#include "querylens/error.h"

#include <openssl/evp.h>

namespace querylens::io {

struct Digest::State {
    EVP_MD_CTX* context = nullptr;
};

Digest::Digest(Kind kind) : state_(std::make_unique<State>()), kind_(kind)
{
    state_->context = EVP_MD_CTX_new();
    if (!state_->context)
        throw Error("OpenSSL could not create a digest context");
    reset();
}

Digest::~Digest() { EVP_MD_CTX_free(state_->context); }

void Digest::reset()
{
    if (EVP_DigestInit_ex(state_->context, kind_ == Kind::Sha256 ? EVP_sha256() : EVP_sha1(), nullptr) != 1)
        throw Error("OpenSSL could not start a digest");
}

void Digest::update(const void* data, std::size_t size)
{
    if (size && EVP_DigestUpdate(state_->context, data, size) != 1)
        throw Error("OpenSSL digest update failed");
}

std::string Digest::hexDigest()
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(state_->context, digest, &length) != 1)
        throw Error("OpenSSL digest failed");
    static const char* hex = "0123456789abcdef";
    std::string text;
    for (unsigned int i = 0; i < length; ++i) {
        text += hex[digest[i] >> 4];
        text += hex[digest[i] & 15];
    }
    return text;
}

}  // namespace querylens::io
