// Session files as they may be found on disk (hand-edited, torn, from another version):
// reading either refuses the file with a message or gives a conversation that writes back to
// a file which reads as the same conversation (export -> import -> export gives the same
// bytes), and whose branch on screen exports to Markdown.

#include "fuzz_support.h"
#include "querylens/error.h"
#include "querylens/session_store.h"

QUERYLENS_FUZZ_TARGET(session_file)
{
    using namespace querylens;
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        Conversation conversation = sessionFromJson(text, "fuzz.json");
        const std::string written = sessionToJson(conversation);
        const Conversation again = sessionFromJson(written, "written.json");
        FUZZ_CHECK(sessionToJson(again) == written, "a written session does not read back the same");
        sessionToMarkdown(conversation);
        for (int id : conversation.activePath()) {
            conversation.siblingPosition(id);
            conversation.historyUpTo(id);
        }
        if (const int leaf = conversation.activeLeaf(); leaf != 0) {
            conversation.switchSibling(leaf, -1);
            conversation.markInterrupted();
        }
    } catch (const Error&) {
    }
    return 0;
}
