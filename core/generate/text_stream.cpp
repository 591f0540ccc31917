#include "generate/text_stream.h"

#include "text/utf8.h"

namespace querylens::generate {

std::string TextStream::push(int id)
{
    ids_.push_back(id);
    std::string bytes = tokenizer_.decodeBytes(ids_);
    bytes.resize(text::completeUtf8Prefix(bytes));
    const std::string text = text::repairUtf8(bytes);
    if (text.size() <= emitted_)
        return {};
    std::string delta = text.substr(emitted_);
    emitted_ = text.size();
    return delta;
}

std::string TextStream::finish()
{
    const std::string text = text::repairUtf8(tokenizer_.decodeBytes(ids_));
    std::string delta = text.size() > emitted_ ? text.substr(emitted_) : std::string();
    emitted_ = text.size();
    return delta;
}

}  // namespace querylens::generate
