/* Shared definitions for the ebpfvm-bench workloads.
 *
 * Every workload is compiled with `clang-19 -O2 -target bpf -mcpu=v2` (see build.sh) and
 * has the entry `u64 main(void *mem, u64 len)`. rbpf 0.4's interpreter sets only r1, so the
 * workloads take their sizes and trip counts from a header of little-endian u64 words at the
 * start of `mem` and never read `len` (r2). */
#ifndef EBPFVM_BENCH_COMMON_H
#define EBPFVM_BENCH_COMMON_H

typedef unsigned long long u64;
typedef unsigned int u32;

#define ENTRY __attribute__((used))

#endif
