#!/bin/sh
# Regenerates the golden C dumps (tests/data/golden/*.h) from the shared corpus, checks that
# each compiles with clang (-target bpf), and, if bpftool is installed, shows how the type
# declarations differ from `bpftool btf dump file X format c` (ebpfvm also prints variables
# and functions, which bpftool does not).
set -eu
root=$(cd "$(dirname "$0")/../../../.." && pwd)
cd "$root"
EBPFVM_TEST_BLESS=1 cargo test -q -p ebpfvm-btf --test all corpus_dumps_match_golden_files
clang=$(command -v clang-19 || command -v clang || true)
corpus="$root/../shared/corpus/ebpf-samples"
for h in crates/btf/tests/data/golden/*.h; do
    if [ -n "$clang" ]; then
        "$clang" -target bpf -fsyntax-only -x c "$h"
    fi
    if command -v bpftool >/dev/null 2>&1; then
        obj="$corpus/$(basename "$h" .h | sed 's/__/\//').o"
        bpftool btf dump file "$obj" format c |
            grep -v -e '^$' -e VMLINUX_H -e BPF_NO_PRESERVE -e 'pragma clang' -e '^#endif' >"$h.bpftool" || true
        awk '/^\/\* /{exit} {print}' "$h" | grep -v '^$' | diff - "$h.bpftool" >/dev/null &&
            echo "$h: types identical to bpftool" || echo "$h: types differ from bpftool"
        rm -f "$h.bpftool"
    fi
done
