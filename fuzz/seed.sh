#!/usr/bin/env bash
# Fills the (git-ignored) seed corpora of the ELF and BTF fuzz targets from the real-world
# object corpus:
#   corpus/object_parse/  every *.o under ../shared/corpus/ebpf-samples, and every file of
#                         its invalid/ (some are not named *.o)
#   corpus/btf_parse/     for each object with a .BTF section: .BTF, then .BTF.ext if it has
#                         one, back to back (the input format of the btf_parse oracle)
# Files are named by the object's path, so running it again overwrites rather than adds.
#
# Usage: fuzz/seed.sh [CORPUS_DIR]   (default: ../shared/corpus/ebpf-samples beside the repo)
# Needs llvm-objcopy (llvm-objcopy-19 or any llvm-objcopy on PATH).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="${1:-$here/../../shared/corpus/ebpf-samples}"
if [[ ! -d "$src" ]]; then
    echo "seed.sh: no corpus at $src" >&2
    exit 1
fi
objcopy=""
for c in llvm-objcopy-19 llvm-objcopy; do
    if command -v "$c" >/dev/null; then
        objcopy="$c"
        break
    fi
done
if [[ -z "$objcopy" ]]; then
    echo "seed.sh: llvm-objcopy not found (apt-get install llvm-19)" >&2
    exit 1
fi

obj_dir="$here/corpus/object_parse"
btf_dir="$here/corpus/btf_parse"
mkdir -p "$obj_dir" "$btf_dir"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

objects=0
blobs=0
while IFS= read -r -d '' o; do
    rel="${o#"$src"/}"
    name="${rel//\//__}"
    install -m 644 "$o" "$obj_dir/$name" # the corpus files are read-only
    objects=$((objects + 1))
    rm -f "$tmp/btf" "$tmp/ext"
    # llvm-objcopy fails when the section is missing (or the file is not a valid ELF).
    if "$objcopy" --dump-section ".BTF=$tmp/btf" "$o" "$tmp/out" 2>/dev/null; then
        "$objcopy" --dump-section ".BTF.ext=$tmp/ext" "$o" "$tmp/out" 2>/dev/null || true
        if [[ -f "$tmp/ext" ]]; then
            cat "$tmp/btf" "$tmp/ext" >"$btf_dir/${name%.o}.btf"
        else
            cp "$tmp/btf" "$btf_dir/${name%.o}.btf"
        fi
        blobs=$((blobs + 1))
    fi
done < <(find "$src" -type f \( -name '*.o' -o -path '*/invalid/*' \) -print0 | sort -z)

echo "seed.sh: $objects objects in $obj_dir, $blobs BTF blobs in $btf_dir"
