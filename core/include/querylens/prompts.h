#pragma once
// The prompts BLIP-2 was trained and evaluated with.

#include "querylens/session.h"

#include <string>
#include <vector>

namespace querylens {

// "Question: {question} Answer:" (the BLIP-2 paper's VQA prompt for OPT).
std::string questionPrompt(const std::string& question);
// The paper's chat format: past turns as "Question: q Answer: a." then the new question.
// `firstTurn` leaves out the turns before it.
std::string chatPrompt(const std::vector<ChatTurn>& history, const std::string& question, std::size_t firstTurn = 0);

}  // namespace querylens
