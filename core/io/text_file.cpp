#include "io/text_file.h"

#include "querylens/error.h"

#include <fstream>

namespace querylens::io {

void writeTextFile(const std::string& path, const std::string& text)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out)
        throw Error("cannot write the file", path);
}

}  // namespace querylens::io
