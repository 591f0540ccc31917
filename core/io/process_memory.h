#pragma once
// How this process's allocator treats freed memory: an inference engine frees and allocates
// the same activations at every layer.

namespace querylens::io {

// Has malloc keep the memory of freed activations for the next ones instead of giving it back
// to the system and page-faulting it in again at the next layer (see process_memory.cpp). Call
// once, before a model runs; a no-op where the allocator is not glibc's.
void keepFreedMemoryForReuse();

// Has every thread allocate from malloc's one main arena (see process_memory.cpp). Call first
// in main, before any thread starts: a thread that has allocated keeps the arena it was given.
void allocateFromOneArena();

}  // namespace querylens::io
