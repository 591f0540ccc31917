// querylens_fuzz_seeds OUT_DIR: the starting corpus of every fuzz target, made from the golden
// fixtures (../shared/fixtures), one folder per target. Real files where they are small
// (configs, tokenizer files, the photo); safetensors files shrunk to a few small tensors of
// the fixtures' own names and dtypes so that each run mutates kilobytes, not megabytes; a
// session file written by the session code itself; Hub answers shaped like huggingface.co's.

#include "fixture_files.h"
#include "fuzz_support.h"
#include "io/safetensors.h"
#include "io/sha256.h"
#include "querylens/conversation.h"
#include "querylens/session_store.h"
#include "spiece_model_builder.h"

#include <QBuffer>
#include <QImage>

#include <archive.h>
#include <archive_entry.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path g_out;

std::string readFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot read " + path);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

std::string fixture(const std::string& relative) { return readFile(fuzzfixtures::path(relative)); }

void seed(const std::string& target, const std::string& name, const std::string& bytes)
{
    fs::create_directories(g_out / target);
    std::ofstream out(g_out / target / name, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
}

std::string joined(const std::vector<std::string>& parts)
{
    std::string bytes;
    for (std::size_t i = 0; i < parts.size(); ++i)
        bytes += (i ? fuzzsupport::kPartSeparator : std::string()) + parts[i];
    return bytes;
}

// The first `count` tensors of a fixture file (in name order), each cut to at most 4 elements
// along a shape of the same rank, written with the fixture's metadata.
std::string miniature(const std::string& relative, std::size_t count, std::size_t skip = 0)
{
    using namespace querylens::io;
    const auto file = SafetensorsFile::open(fuzzfixtures::path(relative));
    std::vector<TensorRecord> records = file->tensors();
    std::sort(records.begin(), records.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    std::vector<TensorToWrite> tensors;
    for (std::size_t i = skip; i < records.size() && tensors.size() < count; ++i) {
        TensorToWrite t{records[i].name, records[i].dtype, records[i].shape, file->data(records[i])};
        std::int64_t kept = 1;
        for (auto& dim : t.shape) {
            dim = std::min<std::int64_t>(dim, kept < 4 ? 2 : 1);
            kept *= dim;
        }
        tensors.push_back(t);
    }
    const fs::path path = g_out / "tmp.safetensors";
    writeSafetensors(path.string(), tensors, file->metadata());
    std::string bytes = readFile(path.string());
    fs::remove(path);
    return bytes;
}

void safetensorsSeeds()
{
    seed("safetensors", "tiny-opt-model", miniature("tiny-opt/model.safetensors", 6));
    seed("safetensors", "tiny-t5-model", miniature("tiny-t5/model.safetensors", 6, 20));
    seed("safetensors", "tiny-itm-model", miniature("tiny-itm/model.safetensors", 6, 40));
    seed("safetensors", "tiny-opt-golden-int64", miniature("tiny-opt/golden.safetensors", 4));
    seed("safetensors", "empty-header", std::string("\x02\0\0\0\0\0\0\0{}", 10));

    // A checkpoint in two shards and its index, from tiny-opt's names.
    const std::string first = miniature("tiny-opt/model.safetensors", 3);
    const std::string second = miniature("tiny-opt/model.safetensors", 3, 3);
    json index = {{"metadata", {{"total_size", 96}}}, {"weight_map", json::object()}};
    const auto names = [](const std::string& bytes) {
        std::uint64_t length = 0;
        for (int i = 7; i >= 0; --i)
            length = (length << 8) | static_cast<unsigned char>(bytes[std::size_t(i)]);
        std::vector<std::string> result;
        const json header = json::parse(bytes.substr(8, length));  // items() of a temporary would dangle
        for (const auto& [name, entry] : header.items())
            if (name != "__metadata__")
                result.push_back(name);
        return result;
    };
    for (const auto& name : names(first))
        index["weight_map"][name] = "model-00001-of-00002.safetensors";
    for (const auto& name : names(second))
        index["weight_map"][name] = "model-00002-of-00002.safetensors";
    seed("weight_index", "two-shards", joined({index.dump(2), first, second}));
    seed("weight_index", "one-shard", joined({json{{"weight_map", {{names(first)[0], "model-00001-of-00002.safetensors"}}}}.dump(), first, ""}));
}

void configSeeds()
{
    const std::string processor = json{{"num_query_tokens", 32}, {"processor_class", "Blip2Processor"}}.dump(2);
    seed("checkpoint_config", "tiny-opt", joined({fixture("tiny-opt/config.json"), fixture("tiny-itm/preprocessor_config.json"), processor}));
    seed("checkpoint_config", "tiny-opt-config-only", fixture("tiny-opt/config.json"));
    seed("checkpoint_config", "tiny-t5", fixture("tiny-t5/config.json"));
    seed("checkpoint_config", "tiny-itm", joined({fixture("tiny-itm/config.json"), fixture("tiny-itm/preprocessor_config.json")}));
    seed("checkpoint_config", "size-forms", joined({fixture("tiny-opt/config.json"), R"({"size": 224, "image_mean": 0.5, "image_std": [0.5, 0.5, 0.5]})", ""}));
}

void tokenizerSeeds()
{
    const std::vector<std::string> texts = {
        "Question: what is in the picture? Answer:",
        "two cats  sleeping on a PINK couch\n\twith remotes!!",
        "caf\xc3\xa9 na\xc3\xafve \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x90\x88 \xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a",
        std::string("\xff\xfe\x00\x01 broken \xe2\x82 utf-8 \xc0\xaf", 23),  // its NULs counted in
        "</s><pad>[CLS] <image> [DEC] [MASK] don't it's",
    };
    const std::string vocab = fixture("tiny-opt/vocab.json");
    const std::string merges = fixture("tiny-opt/merges.txt");
    json tokenizer = {{"model", {{"type", "BPE"}, {"vocab", json::parse(vocab)}, {"merges", json::array()}}},
                      {"added_tokens", json::array({{{"id", 1000}, {"content", "<image>"}}})}};
    std::istringstream lines(merges);
    std::string line;
    while (std::getline(lines, line))
        if (!line.empty() && line[0] != '#')
            tokenizer["model"]["merges"].push_back(line);
    for (std::size_t i = 0; i < texts.size(); ++i) {
        seed("bpe_text", "text-" + std::to_string(i), texts[i]);
        seed("wordpiece_text", "text-" + std::to_string(i), texts[i]);
        seed("sentencepiece_text", "text-" + std::to_string(i), texts[i]);
    }
    seed("bpe_files", "vocab-merges", joined({vocab, merges, "", "", texts[0]}));
    seed("bpe_files", "vocab-merges-added", joined({vocab, merges, R"({"<image>": 1000})", "", texts[4]}));
    seed("bpe_files", "tokenizer-json", joined({"", "", "", tokenizer.dump(), texts[2]}));
    seed("wordpiece_files", "tiny-itm",
         joined({fixture("tiny-itm/vocab.txt"), fixture("tiny-itm/tokenizer_config.json"),
                 fixture("tiny-itm/special_tokens_map.json"), fixture("tiny-itm/added_tokens.json"), texts[1]}));
    seed("wordpiece_files", "vocab-only", joined({fixture("tiny-itm/vocab.txt"), "", "", "", texts[2]}));
    seed("sentencepiece_model", "tiny-t5", joined({fixture("tiny-t5/spiece.model"), texts[0]}));
    // 2 KB with a normalization table of one rule: the fixture's 250 KB runs ~1 input a second
    // under ASan, and mutations of a small table reach the trie's every field.
    seed("sentencepiece_model", "one-rule", joined({spmodel::healthyModel(), "a cat ate a bat"}));
}

void sessionSeeds()
{
    using namespace querylens;
    Conversation c;
    c.title = "two cats";
    c.created = c.updated = "2026-12-05T14:30:12Z";
    c.image = {"/home/user/cats.png", std::string(64, 'a'), 640, 480};
    c.model = {"tiny-opt", "/models/tiny-opt", "OPT", "fp32"};
    DecodingOptions options;
    const int first = c.addTurn(0, "what is this?", options, "tiny-opt", c.created);
    c.turn(first).answer = "two cats";
    c.turn(first).state = TurnState::Complete;
    GenerationResult result;
    GeneratedSequence sequence;
    sequence.text = "two cats";
    sequence.ids = {12, 34};
    for (int id : sequence.ids)
        sequence.tokens.push_back({id, "tok" + std::to_string(id), 0.5f, {{id, "tok", 0.5f}, {7, "alt", 0.25f}}, {0.1f, 0.9f}});
    result.sequences.push_back(sequence);
    result.queryIndices = {0, 1};
    c.turn(first).result = result;
    const int second = c.addTurn(first, "and the couch?", options, "tiny-opt", c.created);
    c.turn(second).state = TurnState::InProgress;
    const int edited = c.addTurn(0, "what is in the picture?", options, "tiny-opt", c.created);
    c.turn(edited).state = TurnState::Failed;
    c.turn(edited).error = "cancelled";
    seed("session_file", "branches", sessionToJson(c));
    Conversation empty;
    empty.image = {"x.png", "00", 1, 1};
    empty.model = {"m", "", "", ""};
    seed("session_file", "empty", sessionToJson(empty));
}

void imageSeeds()
{
    const std::string photo = fixture("image.png");
    const std::string pixels = photo.substr(photo.size() / 2, 3 * 64 * 48);
    seed("image_preprocess", "photo-640x480-to-224", std::string("\x02\x7f\x01\xdf\xdf\xdf\x07\x00", 8) + pixels);
    seed("image_preprocess", "strip-2048x1", std::string("\x07\xff\x00\x00\x10\x10\x01\x01", 8));
    seed("image_preprocess", "upscale-3x5", std::string("\x00\x02\x00\x04\xdf\xdf\x03\x00", 8) + pixels.substr(0, 45));

    seed("image_file", "photo.png", photo);
    QImage image(QString::fromStdString(fuzzfixtures::path("image.png")));
    const QImage small = image.scaled(32, 24);
    for (const char* format : {"png", "jpg", "bmp", "gif", "webp", "ppm"}) {
        QByteArray bytes;
        QBuffer buffer(&bytes);
        buffer.open(QIODevice::WriteOnly);
        if (small.save(&buffer, format))
            seed("image_file", std::string("small.") + format, bytes.toStdString());
    }
    QImage alpha = small.convertToFormat(QImage::Format_ARGB32);
    alpha.setPixel(0, 0, qRgba(10, 20, 30, 40));
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    alpha.save(&buffer, "png");
    seed("image_file", "alpha.png", bytes.toStdString());
}

// Answers of the Hub as huggingface.co gives them, for the files of the tiny-opt fixture.
void hubSeeds()
{
    const std::string headers =
        "HTTP/1.1 302 Found\r\nLocation: https://cdn-lfs.hf.co/repos/ab/cd/x?X-Amz=1\r\n\r\n"
        "HTTP/2 206\r\ncontent-type: application/octet-stream\r\ncontent-length: 100\r\n"
        "Content-Range: bytes 100-199/1000\r\nETag: W/\"3a5b9c0d1e2f\"\r\n"
        "X-Repo-Commit: 0123456789abcdef0123456789abcdef01234567\r\nX-Linked-Size: 1000\r\n"
        "X-Linked-Etag: \"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"\r\n"
        "Link: <https://huggingface.co/api/models/u/r/tree/main?cursor=abc>; rel=\"next\", <x>; rel=prev\r\n"
        "Retry-After: Sun, 06 Nov 1994 08:49:37 GMT\r\nX-Error-Code: GatedRepo\r\n"
        "X-Error-Message: Access to model u/r is restricted.\r\n\r\n";
    json tree = json::array();
    for (const char* name : {"config.json", "vocab.json", "merges.txt", "model.safetensors", "golden.safetensors"}) {
        const std::string bytes = fixture(std::string("tiny-opt/") + name);
        json entry = {{"type", "file"}, {"path", name}, {"size", bytes.size()},
                      {"oid", querylens::io::sha256OfBytes(bytes).substr(0, 40)}};
        if (std::string(name).find(".safetensors") != std::string::npos)
            entry["lfs"] = {{"oid", querylens::io::sha256OfBytes(bytes)}, {"size", bytes.size()}, {"pointerSize", 134}};
        tree.push_back(entry);
    }
    tree.push_back({{"type", "directory"}, {"path", "onnx"}, {"size", 0}, {"oid", std::string(40, 'a')}});
    const std::string revision = json{{"id", "user/tiny-opt"}, {"sha", std::string(40, 'c')}}.dump();
    const std::string index =
        json{{"metadata", {{"total_size", 1000}}}, {"weight_map", {{"a.weight", "model.safetensors"}}}}.dump();
    seed("hub_protocol", "tiny-opt", joined({headers, tree.dump(), revision, index, "*.md\nonnx/*"}));
    seed("hub_protocol", "headers-only", headers);
}

// WebDataset shards written with libarchive: samples of an image and its caption, a sample
// without an image, metadata, and the same shard gzip-compressed.
std::string tarOf(const std::vector<std::pair<std::string, std::string>>& members, bool gzip)
{
    std::vector<char> buffer(1 << 20);
    std::size_t used = 0;
    archive* out = archive_write_new();
    archive_write_set_format_pax_restricted(out);
    if (gzip)
        archive_write_add_filter_gzip(out);
    archive_write_open_memory(out, buffer.data(), buffer.size(), &used);
    for (const auto& [name, bytes] : members) {
        archive_entry* entry = archive_entry_new();
        archive_entry_set_pathname(entry, name.c_str());
        archive_entry_set_size(entry, la_int64_t(bytes.size()));
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_perm(entry, 0644);
        archive_write_header(out, entry);
        archive_write_data(out, bytes.data(), bytes.size());
        archive_entry_free(entry);
    }
    archive_write_close(out);
    archive_write_free(out);
    return std::string(buffer.data(), used);
}

void webDatasetSeeds()
{
    QImage image(QString::fromStdString(fuzzfixtures::path("image.png")));
    QByteArray jpeg;
    QBuffer buffer(&jpeg);
    buffer.open(QIODevice::WriteOnly);
    image.scaled(24, 16).save(&buffer, "jpg");
    const std::vector<std::pair<std::string, std::string>> members = {
        {"__meta__/info.json", "{}"},
        {"shard/000.jpg", jpeg.toStdString()},
        {"shard/000.txt", "two cats on a couch"},
        {"shard/001.seg.PNG", jpeg.toStdString()},
        {"shard/001.json", R"({"caption": "a cat"})"},
        {"shard/002.txt", "no image here"},
    };
    seed("webdataset_tar", "shard.tar", tarOf(members, false));
    seed("webdataset_tar", "shard.tar.gz", tarOf(members, true));
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::cerr << "usage: querylens_fuzz_seeds OUT_DIR\n";
        return 2;
    }
    g_out = argv[1];
    try {
        fs::create_directories(g_out);  // miniature() writes its temporary file there first
        safetensorsSeeds();
        configSeeds();
        tokenizerSeeds();
        sessionSeeds();
        imageSeeds();
        hubSeeds();
        webDatasetSeeds();
    } catch (const std::exception& e) {
        std::cerr << "querylens_fuzz_seeds: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
