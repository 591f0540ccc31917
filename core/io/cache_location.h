#pragma once
// Where QueryLens keeps what it can compute again (image embeddings, the kernel choice): one
// per-user cache folder, following the XDG base directory rules, with a variable of our own
// that names the place outright (tests, a shared machine, a read-only home).

#include <string>

namespace querylens::io {

// $<overrideVariable> as it is (the whole path of the folder or file, `name` not appended), else
// $XDG_CACHE_HOME/querylens/<name>, else $HOME/.cache/querylens/<name> (./.cache/... without
// $HOME). Empty variables count as unset.
std::string querylensCachePath(const std::string& name, const char* overrideVariable);

}  // namespace querylens::io
