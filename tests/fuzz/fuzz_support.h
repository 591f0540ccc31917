#pragma once
// What the fuzz targets share. Each target is one file that defines its entry point with
// QUERYLENS_FUZZ_TARGET(name). In the libFuzzer build (-DQUERYLENS_FUZZ=ON, clang) that is
// LLVMFuzzerTestOneInput of an executable of its own; in every other build the targets are
// compiled into test_fuzz_regressions, which replays the inputs that once found a bug
// (tests/fuzz/regressions/<name>/) through the same code, so each finding stays a test.
//
// A target treats querylens::Error as the expected outcome of bad input. Anything else that
// escapes (std::bad_alloc, nlohmann or filesystem exceptions, a crash, a sanitizer report, a
// broken property checked with FUZZ_CHECK) is a finding.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fuzzsupport {

using Entry = int (*)(const std::uint8_t* data, std::size_t size);

bool registerTarget(const char* name, Entry entry);
Entry findTarget(const std::string& name);
std::vector<std::string> targetNames();

// Inputs made of several files are the files joined by kPartSeparator (the seeds in the fuzz
// corpora are made that way from the fixtures, see make_fuzz_seeds.cpp). Always `count` parts:
// missing ones are empty, extra separators stay inside the last part.
inline const std::string kPartSeparator("\n\x00QL-PART\x00\n", 11);
std::vector<std::string> splitParts(const std::uint8_t* data, std::size_t size, std::size_t count);

// A folder of one target in a folder of this process under $TMPDIR, removed at exit: the
// readers under test take paths, as the program gives them.
class Scratch {
public:
    explicit Scratch(const std::string& target);
    const std::string& folder() const { return folder_; }
    void clear() const;  // removes everything in the folder
    // Writes `bytes` to folder()/name and returns the path.
    std::string write(const std::string& name, const std::string& bytes) const;

private:
    std::string folder_;
};

// Reports a broken property of the code under test and aborts, so that libFuzzer saves the input.
[[noreturn]] void fail(const char* condition, const char* file, int line, const std::string& detail);

}  // namespace fuzzsupport

#define FUZZ_CHECK(condition, detail)                                                 \
    do {                                                                              \
        if (!(condition))                                                             \
            ::fuzzsupport::fail(#condition, __FILE__, __LINE__, (detail));            \
    } while (0)

#ifdef QUERYLENS_LIBFUZZER
#define QUERYLENS_FUZZ_TARGET(name) extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
#else
#define QUERYLENS_FUZZ_TARGET(name)                                                                  \
    static int fuzzTarget_##name(const std::uint8_t* data, std::size_t size);                        \
    [[maybe_unused]] static const bool fuzzRegistered_##name =                                       \
        ::fuzzsupport::registerTarget(#name, fuzzTarget_##name);                                     \
    static int fuzzTarget_##name(const std::uint8_t* data, std::size_t size)
#endif
