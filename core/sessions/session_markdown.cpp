// A conversation as Markdown: the branch on screen, each turn with its figures, and the other
// versions of every turn that has them.

#include "querylens/session_store.h"

#include <cstdio>
#include <sstream>

namespace querylens {

namespace {

std::string number(double value, int decimals)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    return text;
}

// The text on one Markdown line of a list or quote.
std::string oneLine(std::string text)
{
    for (char& c : text)
        if (c == '\n' || c == '\r')
            c = ' ';
    return text;
}

std::string figures(const Turn& t)
{
    std::string text;
    if (!t.result.sequences.empty()) {
        const GenerationResult& r = t.result;
        text += std::to_string(r.sequences.front().ids.size()) + " tokens";
        text += " · first token " + number(r.timings.firstTokenMs, 0) + " ms";
        if (r.timings.tokensPerSecond > 0)
            text += " · " + number(r.timings.tokensPerSecond, 1) + " tokens/s";
        text += " · " + std::to_string(r.reusedPositions) + " positions reused";
        text += " · ";
    }
    text += describeDecoding(t.options);
    if (!t.model.empty())
        text += " · " + t.model;
    return text;
}

std::string stateNote(const Turn& t)
{
    switch (t.state) {
    case TurnState::Complete: return {};
    case TurnState::InProgress: return "(being generated)";
    case TurnState::Interrupted: return "(interrupted: the program ended before this answer was finished)";
    case TurnState::Stopped: return "(stopped)";
    case TurnState::Failed: return "(failed: " + t.error + ")";
    }
    return {};
}

}  // namespace

std::string describeDecoding(const DecodingOptions& o)
{
    std::string text;
    if (o.doSample) {
        text = "sampling (temperature " + number(o.temperature, 2) + ", top-k " + std::to_string(o.topK) + ", top-p " +
               number(o.topP, 2) + ", seed " + std::to_string(o.seed) + ")";
    } else if (o.numBeams > 1) {
        text = "beam search (" + std::to_string(o.numBeams) + " beams, length penalty " + number(o.lengthPenalty, 2) + ")";
    } else {
        text = "greedy";
    }
    text += ", up to " + std::to_string(o.maxNewTokens) + " new tokens";
    if (o.repetitionPenalty != 1.0)
        text += ", repetition penalty " + number(o.repetitionPenalty, 2);
    if (o.noRepeatNgramSize > 0)
        text += ", no repeated " + std::to_string(o.noRepeatNgramSize) + "-grams";
    return text;
}

std::string sessionToMarkdown(const Conversation& c)
{
    std::ostringstream md;
    md << "# " << oneLine(c.title.empty() ? c.name : c.title) << "\n\n";
    md << "- Image: `" << c.image.path << "`";
    if (c.image.width > 0)
        md << " (" << c.image.width << " x " << c.image.height << ")";
    md << ", sha256 `" << c.image.sha256 << "`\n";
    md << "- Model: " << c.model.name;
    if (!c.model.languageModel.empty())
        md << " (" << c.model.languageModel << ", " << c.model.precision << ")";
    md << "\n- Started " << c.created << ", last changed " << c.updated << "\n";

    for (int id : c.activePath()) {
        const Turn& t = *c.find(id);
        const auto [index, count] = c.siblingPosition(id);
        md << "\n**You:** " << t.question << "\n\n";
        md << "**BLIP-2:** " << t.answer;
        if (const std::string note = stateNote(t); !note.empty())
            md << (t.answer.empty() ? "" : " ") << "*" << note << "*";
        md << "\n\n<sub>" << figures(t);
        if (count > 1)
            md << " · version " << index << " of " << count;
        md << "</sub>\n";
        if (count > 1) {
            md << "\n> Other versions of this turn:\n";
            int n = 0;
            for (int sibling : c.children(t.parent)) {
                ++n;
                if (sibling == id)
                    continue;
                const Turn& other = *c.find(sibling);
                md << "> - " << n << " of " << count << ": *" << oneLine(other.question) << "* — "
                   << oneLine(other.answer.empty() ? stateNote(other) : other.answer) << "\n";
            }
        }
    }
    return md.str();
}

}  // namespace querylens
