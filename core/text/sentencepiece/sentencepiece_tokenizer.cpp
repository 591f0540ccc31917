#include "text/sentencepiece/sentencepiece_tokenizer.h"

#include "io/json_file.h"
#include "io/sanitizer_build.h"
#include "querylens/error.h"
#include "text/sentencepiece/sentencepiece_backend.h"
#include "text/sentencepiece/sentencepiece_model_check.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>

namespace querylens::text {

namespace fs = std::filesystem;

namespace {

const char* const kPluginName = "libquerylens_sentencepiece.so";

// The module is opened once and stays loaded for the life of the process.
QuerylensSentencePieceCreate openPlugin()
{
    static std::once_flag once;
    static QuerylensSentencePieceCreate create = nullptr;
    static std::string failure;
    std::call_once(once, [] {
        if (io::kSanitizerRuntime) {
            // The sanitizers' runtime kills the process on any dlopen with RTLD_DEEPBIND, and
            // without it the plugin's protobuf binds to libtorch's and aborts: say so instead of dying.
            failure = "AddressSanitizer and ThreadSanitizer builds cannot open it: it needs RTLD_DEEPBIND";
            return;
        }
        const std::string path = SentencePieceTokenizer::pluginPath();
        void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
        if (!handle) {
            failure = dlerror();
            return;
        }
        create = reinterpret_cast<QuerylensSentencePieceCreate>(dlsym(handle, "querylens_sentencepiece_create"));
        if (!create)
            failure = "the plugin has no querylens_sentencepiece_create";
    });
    if (!create)
        throw Error("cannot open the SentencePiece plugin: " + failure, SentencePieceTokenizer::pluginPath());
    return create;
}

}  // namespace

std::string SentencePieceTokenizer::pluginPath()
{
    // $QUERYLENS_PLUGIN_DIR, then beside the executable or in its ../lib/querylens, then the build
    // tree, then the configured install prefix.
    std::vector<fs::path> candidates;
    if (const char* dir = std::getenv("QUERYLENS_PLUGIN_DIR"); dir && *dir)
        candidates.emplace_back(fs::path(dir) / kPluginName);
    std::error_code error;
    const fs::path exe = fs::read_symlink("/proc/self/exe", error);
    if (!error) {
        candidates.push_back(exe.parent_path() / kPluginName);
        candidates.push_back(exe.parent_path().parent_path() / "lib" / "querylens" / kPluginName);  // installed: bin/../lib
    }
    candidates.emplace_back(QUERYLENS_SENTENCEPIECE_BUILD_PATH);
    candidates.emplace_back(QUERYLENS_SENTENCEPIECE_INSTALL_PATH);
    for (const auto& candidate : candidates)
        if (fs::exists(candidate))
            return candidate.string();
    return QUERYLENS_SENTENCEPIECE_INSTALL_PATH;
}

std::unique_ptr<SentencePieceTokenizer> SentencePieceTokenizer::fromFolder(const std::string& dir)
{
    const std::string path = (fs::path(dir) / "spiece.model").string();
    if (!fs::exists(path))
        throw Error("the tokenizer is missing: no spiece.model", path);
    return fromModelFile(path, openPlugin());
}

std::unique_ptr<SentencePieceTokenizer> SentencePieceTokenizer::fromModelFile(const std::string& path,
                                                                              QuerylensSentencePieceCreate create)
{
    io::checkFileSize(path, io::kMaxTokenizerFileBytes);
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error("cannot read the SentencePiece model", path);
    const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    checkSentencePieceModel(bytes, path);
    std::string error;
    std::unique_ptr<SentencePieceBackend> backend(create(bytes, &error));
    if (!backend)
        throw Error("not a readable SentencePiece model (" + error + ")", path);
    return std::unique_ptr<SentencePieceTokenizer>(new SentencePieceTokenizer(std::move(backend)));
}

SentencePieceTokenizer::SentencePieceTokenizer(std::unique_ptr<SentencePieceBackend> backend)
    : backend_(std::move(backend))
{
    // T5's layout: <pad> = 0, </s> = 1, <unk> = 2.
    for (int id = 0; id < std::min(3, backend_->pieceCount()); ++id) {
        const std::string piece = backend_->piece(id);
        if (piece == "</s>")
            eos_ = id;
        else if (piece == "<pad>")
            pad_ = id;
    }
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

std::vector<int> SentencePieceTokenizer::encode(const std::string& text, bool addSpecialTokens) const
{
    std::vector<int> ids = backend_->encode(text);
    if (addSpecialTokens && eos_)
        ids.push_back(*eos_);
    return ids;
}

bool SentencePieceTokenizer::isSpecial(int id) const
{
    return id >= 0 && id < backend_->pieceCount() && (backend_->isControl(id) || backend_->isUnknown(id));
}

std::string SentencePieceTokenizer::decodeBytes(const std::vector<int>& ids, bool skipSpecialTokens) const
{
    std::vector<int> kept;
    for (int id : ids)
        if (id >= 0 && id < backend_->pieceCount() && !(skipSpecialTokens && isSpecial(id)))
            kept.push_back(id);  // rows beyond the pieces (resized embeddings) have no text
    return backend_->decode(kept);
}

std::string SentencePieceTokenizer::decode(const std::vector<int>& ids, bool skipSpecialTokens) const
{
    return decodeBytes(ids, skipSpecialTokens);
}

std::string SentencePieceTokenizer::tokenText(int id) const
{
    if (id < 0 || id >= backend_->pieceCount())
        return "<" + std::to_string(id) + ">";
    std::string piece = backend_->piece(id);
    if (isSpecial(id))
        return piece;
    // "▁" (U+2581) marks a word start: show it as the space it stands for.
    for (std::size_t pos; (pos = piece.find("\xe2\x96\x81")) != std::string::npos;)
        piece.replace(pos, 3, " ");
    return piece;
}

int SentencePieceTokenizer::vocabSize() const { return backend_->pieceCount(); }

}  // namespace querylens::text
