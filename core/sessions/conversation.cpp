#include "querylens/conversation.h"

#include <algorithm>
#include <ctime>
#include <stdexcept>

namespace querylens {

const char* turnStateName(TurnState state)
{
    switch (state) {
    case TurnState::Complete: return "complete";
    case TurnState::InProgress: return "in_progress";
    case TurnState::Interrupted: return "interrupted";
    case TurnState::Stopped: return "stopped";
    case TurnState::Failed: return "failed";
    }
    return "complete";
}

bool parseTurnState(const std::string& name, TurnState& state)
{
    for (TurnState candidate : {TurnState::Complete, TurnState::InProgress, TurnState::Interrupted, TurnState::Stopped,
                                TurnState::Failed})
        if (name == turnStateName(candidate)) {
            state = candidate;
            return true;
        }
    return false;
}

std::string isoTimeNow()
{
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
}

const Turn* Conversation::find(int id) const
{
    // Ids grow with creation and turns are never removed, so the list is sorted by id.
    const auto it = std::lower_bound(turns_.begin(), turns_.end(), id, [](const Turn& t, int value) { return t.id < value; });
    return it != turns_.end() && it->id == id ? &*it : nullptr;
}

Turn& Conversation::turn(int id)
{
    const Turn* found = find(id);
    if (!found)
        throw std::out_of_range("no turn " + std::to_string(id) + " in the conversation");
    return const_cast<Turn&>(*found);
}

std::vector<int> Conversation::children(int parent) const
{
    std::vector<int> ids;
    for (const Turn& t : turns_)
        if (t.parent == parent)
            ids.push_back(t.id);
    return ids;
}

int Conversation::activeChild(int parent) const
{
    const std::vector<int> ids = children(parent);
    if (ids.empty())
        return 0;
    const auto chosen = chosen_.find(parent);
    if (chosen != chosen_.end() && std::find(ids.begin(), ids.end(), chosen->second) != ids.end())
        return chosen->second;
    return ids.back();
}

std::vector<int> Conversation::activePath() const
{
    std::vector<int> path;
    for (int id = activeChild(0); id != 0; id = activeChild(id))
        path.push_back(id);
    return path;
}

int Conversation::activeLeaf() const
{
    const std::vector<int> path = activePath();
    return path.empty() ? 0 : path.back();
}

std::pair<int, int> Conversation::siblingPosition(int id) const
{
    const Turn* t = find(id);
    if (!t)
        return {0, 0};
    const std::vector<int> siblings = children(t->parent);
    const auto at = std::find(siblings.begin(), siblings.end(), id);
    return {int(at - siblings.begin()) + 1, int(siblings.size())};
}

int Conversation::switchSibling(int id, int delta)
{
    const Turn* t = find(id);
    if (!t)
        return id;
    const std::vector<int> siblings = children(t->parent);
    const int at = int(std::find(siblings.begin(), siblings.end(), id) - siblings.begin());
    const int target = siblings[std::size_t(std::clamp(at + delta, 0, int(siblings.size()) - 1))];
    chosen_[t->parent] = target;
    return target;
}

void Conversation::activate(int id)
{
    for (const Turn* t = find(id); t; t = find(t->parent))
        chosen_[t->parent] = t->id;
}

std::vector<ChatTurn> Conversation::historyUpTo(int parent) const
{
    std::vector<ChatTurn> history;
    for (const Turn* t = find(parent); t; t = find(t->parent))
        if (t->hasAnswer())
            history.push_back({t->question, t->answer});
    std::reverse(history.begin(), history.end());
    return history;
}

int Conversation::addTurn(int parent, const std::string& question, const DecodingOptions& options,
                          const std::string& model, const std::string& now)
{
    if (parent != 0 && !find(parent))
        throw std::out_of_range("no turn " + std::to_string(parent) + " to follow");
    Turn t;
    t.id = turns_.empty() ? 1 : turns_.back().id + 1;
    t.parent = parent;
    t.question = question;
    t.state = TurnState::InProgress;
    t.created = now;
    t.model = model;
    t.options = options;
    turns_.push_back(std::move(t));
    chosen_[parent] = turns_.back().id;
    if (title.empty())
        title = question;
    settings = options;
    updated = now;
    return turns_.back().id;
}

int Conversation::markInterrupted()
{
    int marked = 0;
    for (Turn& t : turns_)
        if (t.state == TurnState::InProgress) {
            t.state = TurnState::Interrupted;
            ++marked;
        }
    return marked;
}

void Conversation::setTurns(std::vector<Turn> turns, std::map<int, int> chosen)
{
    std::sort(turns.begin(), turns.end(), [](const Turn& a, const Turn& b) { return a.id < b.id; });
    turns_ = std::move(turns);
    chosen_ = std::move(chosen);
}

}  // namespace querylens
