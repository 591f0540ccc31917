#pragma once
// The prompts BLIP-2 was trained and evaluated with.

#include "querylens/session.h"

#include <string>
#include <vector>

namespace querylens {

// "Question: {question} Answer:" (the BLIP-2 paper's VQA prompt for OPT).
std::string questionPrompt(const std::string& question);
// What follows a prompt's "Answer:" when the answer is written out: " {answer}", as the model
// generates it.
std::string writtenAnswer(const std::string& answer);
// The paper's chat format: past turns as "Question: q Answer: a." then the new question.
// `firstTurn` leaves out the turns before it.
std::string chatPrompt(const std::vector<ChatTurn>& history, const std::string& question, std::size_t firstTurn = 0);

// chatPrompt's text cut where each past answer and its closing full stop begin and end, for a
// trainer that scores the answers alone. Joined, the pieces' texts are chatPrompt's.
struct ChatPiece {
    enum class Kind { Prompt, Answer, AnswerEnd };
    Kind kind;
    std::string text;
};
std::vector<ChatPiece> chatPieces(const std::vector<ChatTurn>& history, const std::string& question,
                                  std::size_t firstTurn = 0);

}  // namespace querylens
