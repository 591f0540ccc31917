#pragma once
// The measurement behind the kernel choice (kernel_choice.h): our GEMM and libtorch's
// at::linear timed on the shapes a loaded model runs, once per machine, the result kept in a
// small JSON file so that later loads read it instead of timing again.
//
// The file holds one entry per machine and set-up: the key names the CPU model and its features,
// the kernel level, the thread count and the libtorch version, since a change in any of them can
// change which kernel is faster. A file that is not what this program writes (torn, edited,
// foreign) is ignored with a warning and rewritten; writes are atomic (temp file, fsync, rename).

#include "model/kernels/kernel_choice.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace querylens::model::kernels {

// $QUERYLENS_KERNEL_CACHE, else $XDG_CACHE_HOME/querylens/kernel-choice.json, else
// ~/.cache/querylens/kernel-choice.json.
std::string defaultCalibrationFile();

// "cpu=AMD EPYC 9R14 96-Core Processor; flags=avx2 fma ...; isa=avx512bf16; threads=2; libtorch=1.13.0;
// openblas=Cooperlake": what decides which kernel is faster (OpenBLAS's kernels, which the
// environment can force, decide libtorch's float32 rate).
std::string calibrationKey();

struct CalibrationOutcome {
    std::vector<GemmTiming> timings;    // one per shape asked for, in that order
    std::vector<std::string> warnings;  // a cache file that was refused or could not be written
    double seconds = 0;                 // time spent measuring (0 when everything came from the file)
};

// For each shape: the timings recorded under calibrationKey() in `file`, else both kernels timed
// now (the best of 5 alternated runs each, taken in rounds over all the shapes; a kernel more
// than 4x slower than the other on a probe of 32 rows is not run at full size: both times are
// then the probe's, scaled by the rows), and
// the choice made by fasterKernel(). Newly measured shapes are written back to `file`. Never
// throws for the file: its problems become warnings.
CalibrationOutcome calibrate(const std::vector<GemmShape>& shapes, const std::string& file);

// The file's format, for tests: parse() refuses anything but an object of this layout (throws
// std::runtime_error saying what is wrong); serialize() writes it.
//   {"format": "querylens-kernel-choice", "version": 1,
//    "machines": {KEY: [{"layer", "weights", "m", "n", "k", "ours_s", "libtorch_s"}, ...]}}
std::vector<GemmTiming> parseCalibrationEntries(const nlohmann::json& file, const std::string& key);
nlohmann::json withCalibrationEntries(nlohmann::json file, const std::string& key, const std::vector<GemmTiming>& timings);

}  // namespace querylens::model::kernels
