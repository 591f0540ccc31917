#pragma once
// A conversation about one image as a tree of turns: editing a question or regenerating an
// answer adds a sibling turn instead of replacing it, so every version stays. One path from
// the root to a leaf is the conversation on screen; it is what the next question continues.
// Plain data (no torch, no Qt): the command line and the window share it, and the session
// store (session_store.h) keeps it on disk.

#include "querylens/decoding_options.h"
#include "querylens/generation.h"
#include "querylens/session.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace querylens {

enum class TurnState {
    Complete,     // the answer finished (end of sequence, token limit or full context)
    InProgress,   // being generated; on disk, this is what a crash leaves behind
    Interrupted,  // the program ended while the answer was being generated
    Stopped,      // the user stopped it; the text so far is kept
    Failed,       // generation failed; `error` says why
};
const char* turnStateName(TurnState state);  // "complete", "in_progress", ...
bool parseTurnState(const std::string& name, TurnState& state);

// A question and its answer, with what produced the answer.
struct Turn {
    int id = 0;         // unique in its conversation, from 1; ids grow with creation
    int parent = 0;     // the turn it follows; 0 for a first question
    std::string question;
    std::string answer;  // the text shown: the best sequence, or what was generated before a stop
    TurnState state = TurnState::InProgress;
    std::string error;   // Failed: the message
    std::string created; // ISO 8601, UTC
    std::string model;   // the model that answered (name)
    DecodingOptions options;
    // Tokens with probabilities, alternatives and attention to the queries; stop reason;
    // timings; prompt tokens and the positions reused from the cache. Empty sequences until
    // the answer completes (or stops).
    GenerationResult result;

    bool hasAnswer() const { return !answer.empty(); }
};

struct ImageReference {
    std::string path;    // absolute path of the image file
    std::string sha256;  // of the file's bytes: how a moved or changed image is recognised
    int width = 0;
    int height = 0;
};

struct ModelReference {
    std::string name;    // "Salesforce/blip2-opt-2.7b", or the folder's name
    std::string folder;
    std::string languageModel;  // "OPT" or "Flan-T5"
    std::string precision;      // "fp32", "bf16", "int8"
};

class Conversation {
public:
    std::string name;      // the session's name (its file name without ".json"); not stored in the file
    std::string title;     // the first question, unless the user renamed it
    std::string created;
    std::string updated;
    ImageReference image;
    ModelReference model;
    DecodingOptions settings;  // the settings of the latest question

    const std::vector<Turn>& turns() const { return turns_; }
    bool empty() const { return turns_.empty(); }
    const Turn* find(int id) const;
    Turn& turn(int id);  // throws std::out_of_range for an unknown id

    // Turns that follow `parent` (0: the first questions), oldest first.
    std::vector<int> children(int parent) const;
    // The chosen child of `parent` (the newest unless one was chosen), or 0 for none.
    int activeChild(int parent) const;
    // The turns on screen, from the first question to the leaf.
    std::vector<int> activePath() const;
    int activeLeaf() const;  // 0 when empty

    // Position of a turn among its siblings: {1-based index, count}.
    std::pair<int, int> siblingPosition(int id) const;
    // Shows the sibling `delta` steps away (clamped) and returns its id; the path below it is
    // the one chosen there before.
    int switchSibling(int id, int delta);
    // Makes `id` and its ancestors the path on screen.
    void activate(int id);

    // The turns before a question that follows `parent`, as the prompt joins them: the path
    // from the first question down to `parent`, leaving out turns without an answer.
    std::vector<ChatTurn> historyUpTo(int parent) const;

    // Adds a question after `parent`, InProgress, and makes it the active path. Returns its id.
    int addTurn(int parent, const std::string& question, const DecodingOptions& options, const std::string& model,
                const std::string& now);
    // A turn found InProgress when a session is opened was cut off by a crash or kill.
    // Returns how many turns were marked Interrupted.
    int markInterrupted();

    // Loading: turns as stored (ids, parents and choices are checked by the store).
    void setTurns(std::vector<Turn> turns, std::map<int, int> chosen);
    const std::map<int, int>& chosenChildren() const { return chosen_; }

private:
    std::vector<Turn> turns_;
    std::map<int, int> chosen_;  // parent -> child chosen by the user (absent: the newest)
};

// Decoding settings in a few words: "greedy, up to 30 new tokens", "beam search (4 beams, length
// penalty 1), ...", "sampling (temperature 0.7, top-k 50, top-p 0.9, seed 3), ...".
std::string describeDecoding(const DecodingOptions& options);

// The current time as ISO 8601 in UTC, e.g. "2026-12-05T14:30:12Z".
std::string isoTimeNow();

}  // namespace querylens
