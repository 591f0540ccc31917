// A checkpoint folder whose config.json, preprocessor_config.json and processor_config.json come
// from the input (in that order), beside the tiny-opt fixture's real weights and tokenizer: the
// processor's config reader, the checkpoint listing, then the whole load (model_type, sizes,
// activations and layouts checked against real weights). Only querylens::Error may come out: a libtorch error or an exception
// of the JSON library would reach the user as an "unexpected failure".

#include "fixture_files.h"
#include "fuzz_support.h"
#include "image/image_preprocessor.h"
#include "querylens/checkpoints.h"
#include "querylens/error.h"
#include "querylens/model.h"

#include <filesystem>

QUERYLENS_FUZZ_TARGET(checkpoint_config)
{
    namespace fs = std::filesystem;
    const auto parts = fuzzsupport::splitParts(data, size, 3);
    static const fuzzsupport::Scratch scratch("checkpoint_config");
    static const bool linked = [&] {
        for (const char* name : {"model.safetensors", "vocab.json", "merges.txt"})
            fs::create_symlink(fuzzfixtures::path(std::string("tiny-opt/") + name), fs::path(scratch.folder()) / name);
        return true;
    }();
    (void)linked;
    const char* names[] = {"config.json", "preprocessor_config.json", "processor_config.json"};
    for (int i = 0; i < 3; ++i) {
        std::error_code ignored;
        fs::remove(fs::path(scratch.folder()) / names[i], ignored);
        if (!parts[std::size_t(i)].empty())
            scratch.write(names[i], parts[std::size_t(i)]);
    }
    try {
        querylens::image::PreprocessorConfig::fromFolder(scratch.folder(), 224);
    } catch (const querylens::Error&) {
    }
    querylens::inspectCheckpoint(scratch.folder());  // reports problems, never throws
    try {
        querylens::LoadOptions options;
        options.folder = scratch.folder();
        options.threads = 1;
        querylens::Model::load(options);
    } catch (const querylens::Error&) {
    }
    return 0;
}
