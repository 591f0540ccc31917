#pragma once
// Element types as safetensors names them.

#include <cstddef>
#include <optional>
#include <string>

namespace querylens::io {

enum class DType { Bool, U8, I8, I16, U16, I32, U32, I64, U64, F16, BF16, F32, F64 };

std::size_t dtypeSize(DType type);
const char* dtypeName(DType type);  // "F32", "BF16", ...
std::optional<DType> parseDType(const std::string& name);

}  // namespace querylens::io
