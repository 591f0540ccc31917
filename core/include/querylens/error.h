#pragma once
// The one exception type of core, and the distinct "cancelled" outcome.

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace querylens {

// Everything core throws for bad input: a broken checkpoint, a wrong config, an unreadable
// tokenizer file, a prompt that does not fit. `file` and `key` name what is wrong (either
// may be empty) so that the command line and the window can say so where the user looks.
// what() and message() are safe to print: the key (often a name read from the file) and any
// non-printable byte of the message pass through printableText (newlines and tabs of the
// message itself stay); file() and key() keep their bytes.
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

// Bytes from a file or a server as they may be quoted in a message: valid UTF-8 stays as it is;
// control characters (ESC, CR, NUL, ...), DEL, C1 controls and bytes that are not UTF-8 become
// escapes (\n, \t, \r, \xNN), so that a garbage file cannot print binary or terminal escape
// sequences; past `maxBytes` of input the rest is cut and "..." says so.
std::string printableText(std::string_view bytes, std::size_t maxBytes = 200);

// Thrown when a progress or cancel hook asked a long operation to stop. It is an outcome,
// not a failure, so it does not derive from Error.
class Cancelled : public std::exception {
public:
    const char* what() const noexcept override { return "cancelled"; }
};

}  // namespace querylens
