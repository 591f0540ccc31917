#include "pipeline/runtime.h"

#include <ATen/Parallel.h>

#include <fstream>
#include <string>
#include <thread>

namespace querylens::runtime {

int setThreadCount(int threads)
{
    const int available = int(std::max(1u, std::thread::hardware_concurrency()));
    const int count = threads > 0 ? threads : available;
    at::set_num_threads(count);
    return at::get_num_threads();
}

int threadCount() { return at::get_num_threads(); }

std::vector<std::string> environmentWarnings()
{
    std::vector<std::string> warnings;
    // Debian's libtorch uses whichever libblas.so.3 the alternatives system points to; the
    // reference implementation lives under .../blas/ and runs matrix products ~25x slower.
    std::ifstream maps("/proc/self/maps");
    std::string line;
    bool reference = false, openblas = false;
    while (std::getline(maps, line)) {
        if (line.find("openblas") != std::string::npos)
            openblas = true;
        else if (line.find("/blas/libblas.so") != std::string::npos)
            reference = true;
    }
    if (reference && !openblas)
        warnings.push_back("the slow reference BLAS is in use: install libopenblas0-openmp (about 25x faster "
                           "matrix products)");
    return warnings;
}

}  // namespace querylens::runtime
