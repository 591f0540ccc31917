#include "io/process_memory.h"

#include <cstdlib>  // defines __GLIBC__ where the C library is glibc (tested below)

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace querylens::io {

void keepFreedMemoryForReuse()
{
#if defined(__GLIBC__)
    // libtorch's CPU tensors come from malloc, and each layer frees what the one before
    // allocated. glibc maps blocks above its mmap threshold (128 KB at first, adapting to at
    // most 32 MB) afresh and unmaps them when they are freed, and gives the top of its heap back
    // to the system once more than the trim threshold is free there: so every layer's
    // activations were new pages, each a page fault and a page the kernel clears, which costs
    // most in a virtual machine (see README, Speed). Blocks up to 64 MB (one image's largest
    // activation is 6 MB, a batch of 8 images' 50 MB) now come from the heap and stay there for
    // reuse, and up to 256 MB of free heap is kept. The peak resident memory is what it was: only
    // memory that was in use a moment before is kept. Weights are not affected: their tensors
    // are mapped files or allocated once.
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

void allocateFromOneArena()
{
#if defined(__GLIBC__)
    // glibc gives a thread that allocates while another holds the main arena an arena of its
    // own, made of heaps of at most 64 MB, and unmaps a heap as soon as all of it is free,
    // whatever the trim threshold says. So a thread whose work of a step needs more than one
    // heap (a training shard, a model run on a worker thread of the window) faulted its pages
    // in anew at every step: 0.34 to 1.5 million page faults in 100 steps of the demo's ViT on
    // two shards (Zen 5 VM), and a step took 0.16 to 0.31 s depending on how many. With one
    // arena, 180 000 faults and 0.14 s. The threads that allocate at once are few (a step's
    // shards, an image decoder), and glibc's per-thread cache serves small blocks without the
    // arena's lock.
    mallopt(M_ARENA_MAX, 1);
#endif
}

}  // namespace querylens::io
