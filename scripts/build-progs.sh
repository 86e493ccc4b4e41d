#!/usr/bin/env bash
# Rebuilds the C fixtures of tests/progs/ — tests/progs/*.c -> tests/progs/*.o — and the
# test packets and mixed.pcap of tests/progs/packets/ (packets/make_packets.py).
#
# Usage: scripts/build-progs.sh [NAME ...]     (default: every tests/progs/*.c)
#        env: CLANG=clang-19
#
# Deterministic: rerunning it gives the same bytes, whatever the checkout path. Sources are
# compiled from inside tests/progs by their relative names, with the directory mapped to
# "." in debug info (-ffile-prefix-map), so neither DWARF nor BTF line info records an
# absolute path of the checkout. The system headers (/usr/include/...) do appear in DWARF
# file tables; they are the same on every machine with the same packages. The objects do
# record the compiler's version string in .comment: rebuild with the same clang (19.1.x)
# to get the committed bytes.
#
# Needs: clang-19 (apt-get install -y clang-19 llvm-19 libbpf-dev linux-libc-dev).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PROGS=$ROOT/tests/progs
CLANG=${CLANG:-clang-19}

command -v "$CLANG" >/dev/null || { echo "$CLANG not found (apt-get install -y clang-19)" >&2; exit 1; }
[ -f /usr/include/bpf/bpf_helpers.h ] || { echo "libbpf headers not found (apt-get install -y libbpf-dev)" >&2; exit 1; }

# asm/types.h and friends live in the multiarch directory, which -target bpf does not search.
MULTIARCH=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)

COMMON=(
	-O2 -g -target bpf -mcpu=v3
	-Wall -Werror
	-I "/usr/include/$MULTIARCH"
	-ffile-prefix-map="$PROGS"=.
	-fdebug-compilation-dir=.
)

# Extra flags per program (pt_regs layout of bpf_tracing.h).
extra_flags() {
	case "$1" in
	kprobe_ringbuf | core_access) echo "-D__TARGET_ARCH_x86" ;;
	*) echo "" ;;
	esac
}

cd "$PROGS"
if [ $# -gt 0 ]; then
	names=("$@")
else
	names=()
	for f in *.c; do names+=("${f%.c}"); done
fi

for n in "${names[@]}"; do
	n=${n%.c}
	n=${n%.o}
	[ -f "$n.c" ] || { echo "no such fixture: tests/progs/$n.c" >&2; exit 1; }
	# shellcheck disable=SC2046
	"$CLANG" "${COMMON[@]}" $(extra_flags "$n") -c "$n.c" -o "$n.o.tmp"
	mv "$n.o.tmp" "$n.o"
	echo "built tests/progs/$n.o"
done

python3 packets/make_packets.py packets
