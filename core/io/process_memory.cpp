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

void keepThreadHeaps()
{
#if defined(__GLIBC__)
    // A thread other than the first allocates from an arena of its own, made of heaps of at most
    // 64 MB, and glibc unmaps such a heap as soon as all of it is free, whatever the trim
    // threshold, unless the heap before it lacks the "top pad" of free room. So a thread whose
    // work of a step needs more than one heap (a training shard of the demo's ViT) faulted its
    // pages in anew at every step: 0.34 to 1.5 million page faults in 100 steps on two shards
    // (Zen 5 VM), and a step took 0.16 to 0.31 s depending on how many; with a pad of a whole
    // heap, 186 000 faults and 0.16 s. (One arena for all threads also kept the heaps, but the
    // shards' locking of it cost stage 2 of the demo trainer 10 %.) The pad also lets the main
    // heap keep up to 64 MB more at its top, so blocks above the mmap threshold may come from
    // there: this is for training, not for the model runs whose peak memory is measured.
    mallopt(M_TOP_PAD, 64 << 20);
#endif
}

}  // namespace querylens::io
