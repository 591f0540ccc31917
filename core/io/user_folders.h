#pragma once
// Where QueryLens keeps its per-user files, following the XDG base directory rules: what it can
// compute again (image embeddings, the kernel choice) in the cache folder, what the user made or
// installed (sessions, the demo model) in the data folder. Each place also has a variable of our
// own that names it outright (tests, a shared machine, a read-only home).

#include <string>

namespace querylens::io {

enum class UserFolder {
    Cache,  // $XDG_CACHE_HOME, else $HOME/.cache
    Data,   // $XDG_DATA_HOME, else $HOME/.local/share
};

// $<overrideVariable> as it is (the whole path, `name` not appended), else
// <the kind's folder>/querylens/<name> (under "." without $HOME). Empty variables count as unset;
// a null overrideVariable means the place has none.
std::string querylensUserPath(UserFolder kind, const std::string& name, const char* overrideVariable);

}  // namespace querylens::io
