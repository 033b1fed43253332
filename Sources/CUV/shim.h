#include <uv.h>

/* O_DIRECT: declared by <fcntl.h> only under _GNU_SOURCE, and its value differs between architectures. */
#if defined(__aarch64__) || defined(__arm__)
static inline int dc_o_direct(void) { return 0200000; }
#else
static inline int dc_o_direct(void) { return 040000; }
#endif

/* mallopt and its options, for the Loop layer's process set-up (not in Swift's Glibc module). */
#include <malloc.h>
