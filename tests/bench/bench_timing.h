#pragma once
// Timing helpers of the benchmark: a stopwatch, medians and spreads, resident memory.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <fstream>
#include <string>
#include <vector>

class Stopwatch {
public:
    double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
    double milliseconds() const { return seconds() * 1000; }

private:
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

inline double median(std::vector<double> values)
{
    if (values.empty())
        return 0;
    std::sort(values.begin(), values.end());
    const std::size_t mid = values.size() / 2;
    return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

// (max - min) / median: how much the repetitions disagree.
inline double spread(const std::vector<double>& values)
{
    if (values.empty())
        return 0;
    const auto [low, high] = std::minmax_element(values.begin(), values.end());
    const double m = median(values);
    return m > 0 ? (*high - *low) / m : 0;
}

// A field of /proc/self/status in bytes (VmHWM: peak resident memory; VmRSS: now).
inline std::size_t statusBytes(const std::string& field)
{
    std::ifstream status("/proc/self/status");
    std::string key;
    std::size_t kilobytes = 0;
    std::string unit;
    while (status >> key) {
        if (key == field + ":") {
            status >> kilobytes >> unit;
            return kilobytes * 1024;
        }
        status.ignore(1 << 12, '\n');
    }
    return 0;
}
