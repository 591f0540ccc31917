#pragma once
// A first word that is neither a command nor a file: `querylens captoin x.png` must not open
// the window with two missing images (or abort with no display), it is a typing mistake.

#include <string>
#include <vector>

namespace querylens::cli {

// The command closest to `word` (a typing slip: letters swapped, one or two wrong, missing or
// extra), or an empty string when none is close.
std::string closestCommand(const std::string& word, const std::vector<std::string>& commands);

// The usage error for `word`, ending in a newline: "unknown command 'captoin'; did you mean
// 'caption'?" and where to look.
std::string unknownCommandMessage(const std::string& word, const std::vector<std::string>& commands);

}  // namespace querylens::cli
