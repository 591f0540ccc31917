#include "querylens/prompts.h"

namespace querylens {

std::string questionPrompt(const std::string& question) { return "Question: " + question + " Answer:"; }

std::string writtenAnswer(const std::string& answer) { return " " + answer; }

std::vector<ChatPiece> chatPieces(const std::vector<ChatTurn>& history, const std::string& question, std::size_t firstTurn)
{
    std::vector<ChatPiece> pieces;
    std::string separator;
    for (std::size_t i = firstTurn; i < history.size(); ++i) {
        const std::string& answer = history[i].answer;
        pieces.push_back({ChatPiece::Kind::Prompt, separator + questionPrompt(history[i].question)});
        pieces.push_back({ChatPiece::Kind::Answer, writtenAnswer(answer)});
        // The paper's examples end each past answer with a full stop; do not double one.
        if (answer.empty() || answer.back() != '.')
            pieces.push_back({ChatPiece::Kind::AnswerEnd, "."});
        separator = " ";
    }
    pieces.push_back({ChatPiece::Kind::Prompt, separator + questionPrompt(question)});
    return pieces;
}

std::string chatPrompt(const std::vector<ChatTurn>& history, const std::string& question, std::size_t firstTurn)
{
    std::string prompt;
    for (const ChatPiece& piece : chatPieces(history, question, firstTurn))
        prompt += piece.text;
    return prompt;
}

}  // namespace querylens
