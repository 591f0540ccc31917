#include "querylens/prompts.h"

namespace querylens {

std::string questionPrompt(const std::string& question) { return "Question: " + question + " Answer:"; }

std::string chatPrompt(const std::vector<ChatTurn>& history, const std::string& question, std::size_t firstTurn)
{
    std::string prompt;
    for (std::size_t i = firstTurn; i < history.size(); ++i) {
        std::string answer = history[i].answer;
        // The paper's examples end each past answer with a full stop; do not double one.
        if (answer.empty() || answer.back() != '.')
            answer += '.';
        prompt += "Question: " + history[i].question + " Answer: " + answer + " ";
    }
    return prompt + questionPrompt(question);
}

}  // namespace querylens
