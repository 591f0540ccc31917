#pragma once
// The one exception type of core, and the distinct "cancelled" outcome.

#include <stdexcept>
#include <string>

namespace querylens {

// Everything core throws for bad input: a broken checkpoint, a wrong config, an unreadable
// tokenizer file, a prompt that does not fit. `file` and `key` name what is wrong (either
// may be empty) so that the command line and the window can say so where the user looks.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message, std::string file = {}, std::string key = {});

    const std::string& file() const { return file_; }
    const std::string& key() const { return key_; }
    // The bare message, without the file and key that what() prefixes.
    const std::string& message() const { return message_; }

private:
    std::string file_;
    std::string key_;
    std::string message_;
};

// Thrown when a progress or cancel hook asked a long operation to stop. It is an outcome,
// not a failure, so it does not derive from Error.
class Cancelled : public std::exception {
public:
    const char* what() const noexcept override { return "cancelled"; }
};

}  // namespace querylens
