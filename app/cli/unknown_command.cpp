#include "cli/unknown_command.h"

#include "querylens/error.h"

#include <algorithm>
#include <cctype>

namespace querylens::cli {

namespace {

// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
// neighbours each cost one ("captoin" is one swap from "caption").
std::size_t editDistance(const std::string& a, const std::string& b)
{
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i)
        d[i][0] = i;
    for (std::size_t j = 0; j <= b.size(); ++j)
        d[0][j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i)
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t substitution = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + substitution});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    return d[a.size()][b.size()];
}

std::string lowered(std::string text)
{
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return text;
}

}  // namespace

std::string closestCommand(const std::string& word, const std::vector<std::string>& commands)
{
    const std::string typed = lowered(word);
    std::string best;
    std::size_t bestDistance = 0;
    for (const std::string& command : commands) {
        std::size_t distance = editDistance(typed, command);
        // A clear beginning of a command ("expl" for explain) counts as close.
        if (typed.size() >= 3 && command.compare(0, typed.size(), typed) == 0)
            distance = std::min<std::size_t>(distance, 1);
        if (best.empty() || distance < bestDistance) {
            best = command;
            bestDistance = distance;
        }
    }
    // Two slips in a word of five letters or more, one in a shorter one; beyond that the
    // "suggestion" would be a guess.
    const std::size_t allowed = typed.size() >= 5 ? 2 : 1;
    return bestDistance <= allowed ? best : std::string();
}

std::string unknownCommandMessage(const std::string& word, const std::vector<std::string>& commands)
{
    const std::string quoted = "'" + printableText(word, 80) + "'";
    std::string message;
    if (word.find('/') != std::string::npos || word.find('.') != std::string::npos)
        message = "querylens: " + quoted + " is neither a command nor an existing file";
    else
        message = "querylens: unknown command " + quoted;
    const std::string suggestion = closestCommand(word, commands);
    if (!suggestion.empty())
        message += "; did you mean '" + suggestion + "'?";
    return message +
           "\nRun 'querylens --help' for the commands; 'querylens IMAGE...' opens existing images in the window.\n";
}

}  // namespace querylens::cli
