#include <malloc.h>

#include "cli/common.h"

int main(int argc, char** argv) {
#ifdef M_MMAP_THRESHOLD
  // Every batch allocates and frees the same large tensors. By default glibc
  // serves those with mmap and hands them back to the kernel on free, so the
  // next batch page-faults them in again (measured: 14 % of a small training
  // step). Keep them in the heap instead (peak RSS +1-5 %).
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's largest
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
  return attn::cli::main(argc, argv);
}
