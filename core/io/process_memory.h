#pragma once
// How this process's allocator treats freed memory: an inference engine frees and allocates
// the same activations at every layer.

namespace querylens::io {

// Has malloc keep the memory of freed activations for the next ones instead of giving it back
// to the system and page-faulting it in again at the next layer (see process_memory.cpp). Call
// once, before a model runs; a no-op where the allocator is not glibc's.
void keepFreedMemoryForReuse();

// Has malloc keep the heaps of every thread's arena once they come free (see process_memory.cpp),
// for work that runs in threads of its own step after step (the demo trainer's shards).
void keepThreadHeaps();

}  // namespace querylens::io
