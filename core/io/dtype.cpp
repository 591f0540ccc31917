#include "io/dtype.h"

#include <array>
#include <utility>

namespace querylens::io {
namespace {

struct DTypeInfo {
    DType type;
    const char* name;
    std::size_t size;
};

constexpr std::array<DTypeInfo, 13> kTypes{{
    {DType::Bool, "BOOL", 1}, {DType::U8, "U8", 1},     {DType::I8, "I8", 1},     {DType::I16, "I16", 2},
    {DType::U16, "U16", 2},   {DType::I32, "I32", 4},   {DType::U32, "U32", 4},   {DType::I64, "I64", 8},
    {DType::U64, "U64", 8},   {DType::F16, "F16", 2},   {DType::BF16, "BF16", 2}, {DType::F32, "F32", 4},
    {DType::F64, "F64", 8},
}};

const DTypeInfo& info(DType type)
{
    for (const auto& entry : kTypes)
        if (entry.type == type)
            return entry;
    return kTypes[0];  // unreachable: every enumerator is in the table
}

}  // namespace

std::size_t dtypeSize(DType type) { return info(type).size; }
const char* dtypeName(DType type) { return info(type).name; }

std::optional<DType> parseDType(const std::string& name)
{
    for (const auto& entry : kTypes)
        if (name == entry.name)
            return entry.type;
    return std::nullopt;
}

}  // namespace querylens::io
