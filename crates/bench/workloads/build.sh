#!/bin/sh
# Rebuilds the committed workload fixtures (*.o) from their C sources.
#
# -mcpu=v2: no JMP32 and no ALU32 class, which solana-sbpf's SBPFVersion::V0 lacks (JMP32)
# or runs with different semantics (ALU32 add/sub/mul results are sign-extended there), and
# no atomics, which rbpf 0.4 lacks. Every engine of the bench runs the same bytes.
set -eu
cd "$(dirname "$0")"
CLANG=${CLANG:-clang-19}
for src in simple arith ilp memsum prime log2_int; do
	"$CLANG" -O2 -target bpf -mcpu=v2 -ffreestanding -fno-stack-protector -Wall -Werror \
		-c "$src.c" -o "$src.o"
done
