#pragma once
// The command lines of the benchmark programs: each option is read with its value checked, and a
// mistyped option, a missing value or a value that is not a number stops the program with its
// usage (exit code 2), rather than being ignored so that a run measures something else than asked.

#include <cstdlib>
#include <iostream>
#include <string>

class BenchArguments {
public:
    BenchArguments(int argc, char** argv, std::string program, std::string usage)
        : argc_(argc), argv_(argv), program_(std::move(program)), usage_(std::move(usage))
    {
    }

    // Steps to the next option; false after the last. --help and -h print the usage and exit 0.
    bool next()
    {
        if (++at_ >= argc_)
            return false;
        option_ = argv_[at_];
        if (option_ == "--help" || option_ == "-h") {
            std::cout << usage_;
            std::exit(0);
        }
        return true;
    }

    const std::string& option() const { return option_; }

    std::string text()
    {
        if (at_ + 1 >= argc_)
            fail(option_ + " needs a value");
        return argv_[++at_];
    }

    long integer(long minimum)
    {
        const std::string value = text();
        char* end = nullptr;
        const long parsed = std::strtol(value.c_str(), &end, 10);
        if (value.empty() || *end != '\0' || parsed < minimum)
            fail(option_ + " needs a whole number of at least " + std::to_string(minimum) + ", not '" + value + "'");
        return parsed;
    }

    double number(double above)
    {
        const std::string value = text();
        char* end = nullptr;
        const double parsed = std::strtod(value.c_str(), &end);
        if (value.empty() || *end != '\0' || !(parsed > above))
            fail(option_ + " needs a number above " + std::to_string(above) + ", not '" + value + "'");
        return parsed;
    }

    // One of the words in `choices` (separated by '|').
    std::string choice(const std::string& choices)
    {
        const std::string value = text();
        if (("|" + choices + "|").find("|" + value + "|") == std::string::npos)
            fail(option_ + " takes " + choices + ", not '" + value + "'");
        return value;
    }

    [[noreturn]] void unknown() const { fail("unknown option " + option_); }

    [[noreturn]] void fail(const std::string& problem) const
    {
        std::cerr << program_ << ": " << problem << "\n" << usage_;
        std::exit(2);
    }

private:
    int argc_;
    char** argv_;
    int at_ = 0;
    std::string option_;
    std::string program_;
    std::string usage_;
};
