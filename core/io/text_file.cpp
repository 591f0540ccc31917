#include "io/text_file.h"

#include "io/atomic_file.h"

namespace querylens::io {

void writeTextFile(const std::string& path, const std::string& text) { writeFileAtomically(path, text); }

}  // namespace querylens::io
