#pragma once
// A random stream whose numbers are the same with every compiler and standard library
// (std::uniform_real_distribution is not), so that scene `index` of seed `seed` is the same
// picture everywhere.

#include <cmath>
#include <cstdint>
#include <random>

namespace querylens::demo {

class SceneRandom {
public:
    SceneRandom(std::uint64_t seed, std::uint64_t stream) : engine_(mix(seed * 0x9E3779B97F4A7C15ull + stream)) {}

    double uniform() { return double(engine_() >> 11) * (1.0 / 9007199254740992.0); }  // [0, 1)
    double uniform(double low, double high) { return low + (high - low) * uniform(); }
    int below(int n) { return int(uniform() * n); }  // [0, n)
    bool chance(double p) { return uniform() < p; }
    double normal()
    {
        // Box-Muller: two uniforms give one standard normal.
        const double u = 1.0 - uniform(), v = uniform();
        return std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * v);
    }

private:
    static std::uint64_t mix(std::uint64_t x)
    {
        // splitmix64's finaliser: nearby seeds give unrelated streams.
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
        return x ^ (x >> 31);
    }
    std::mt19937_64 engine_;
};

}  // namespace querylens::demo
