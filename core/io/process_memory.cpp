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

}  // namespace querylens::io
