#!/usr/bin/env bash
# Regenerates tests/golden/object/inventory.tsv — the programs and maps of every corpus object
# as llvm-readelf-19 shows them (section headers and symbol tables) — for
# crates/object/tests/all/corpus.rs, which compares ebpfvm-object's loader with it without
# needing llvm at test time.
#
# Usage: scripts/regen-object-golden.sh     (env: CORPUS=dir, LLVM_READELF=llvm-readelf-19)
#
# Input: every *.o under $CORPUS except invalid/, read with `llvm-readelf-19 -S -s -W`.
# The rules below are libbpf's (and PREVAIL's, which lists the same 636 programs), applied
# to llvm's view of the file:
#
# * Programs, per executable section (flag X, type PROGBITS, size > 0), in section order:
#   every FUNC symbol of the section (any binding; one per address), by address, with its
#   length in 8-byte slots (st_size, or up to the next function / the section end when
#   st_size is 0). A section without FUNC symbols (objects from old compilers) is one program
#   named by the first GLOBAL/WEAK symbol at offset 0 of the section, or else by the section.
#   `.text` functions are listed too (they are also linked into their callers).
# * Maps: legacy `maps` and `maps/*` sections, one per named non-section symbol, by offset,
#   each record section-size / symbol-count bytes; BTF `.maps`, one per named OBJECT symbol
#   (size "-": it comes from BTF); global data, one per non-empty `.data*`/`.rodata*`
#   (PROGBITS) and `.bss*` (NOBITS) section, sized as the section. (`.kconfig` maps come from
#   BTF externs and are not listed; the corpus has none.)
#
# Output lines (tab-separated, after two comment lines):
#   file  prog  section  name  offset(hex)  slots
#   file  map   section  name  offset(hex)  size|-
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CORPUS=${CORPUS:-$ROOT/../shared/corpus/ebpf-samples}
READELF=${LLVM_READELF:-llvm-readelf-19}
OUT=$ROOT/tests/golden/object

[ -d "$CORPUS" ] || { echo "corpus not found at $CORPUS" >&2; exit 1; }
command -v "$READELF" >/dev/null || { echo "$READELF not found" >&2; exit 1; }

exec python3 - "$CORPUS" "$READELF" "$OUT" <<'PY'
import os, re, subprocess, sys

corpus, readelf, out = sys.argv[1:4]

def readelf_view(path):
    res = subprocess.run([readelf, "-S", "-s", "-W", path], capture_output=True, text=True)
    if res.returncode != 0 or res.stderr.strip():
        raise SystemExit(f"{readelf} {path} failed: {res.stderr}")
    sections, symbols = {}, []
    for line in res.stdout.splitlines():
        m = re.match(r"^\s*\[\s*(\d+)\]\s(.*)$", line)
        if m:
            idx, rest = int(m.group(1)), m.group(2).split()
            if idx == 0:
                continue
            # name type address offset size es [flags] link info align
            name, typ, size = rest[0], rest[1], int(rest[4], 16)
            flags = rest[6] if len(rest) == 10 else ""
            sections[idx] = dict(name=name, type=typ, size=size, flags=flags)
            continue
        m = re.match(r"^\s*(\d+):\s+([0-9a-f]+)\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s?(.*)$", line)
        if m:
            ndx = m.group(7)
            symbols.append(dict(value=int(m.group(2), 16), size=int(m.group(3)),
                                type=m.group(4), bind=m.group(5),
                                ndx=int(ndx) if ndx.isdigit() else None,
                                name=m.group(8).strip()))
    return sections, symbols

def inventory(rel):
    sections, symbols = readelf_view(os.path.join(corpus, rel))
    lines = []
    for idx in sorted(sections):
        s = sections[idx]
        if "X" not in s["flags"] or s["type"] != "PROGBITS" or s["size"] == 0:
            continue
        funcs, seen = [], set()
        for sym in sorted((x for x in symbols if x["ndx"] == idx and x["type"] == "FUNC"),
                          key=lambda x: x["value"]):
            if sym["value"] not in seen:
                seen.add(sym["value"])
                funcs.append(sym)
        if not funcs:
            name = next((x["name"] for x in symbols
                         if x["ndx"] == idx and x["value"] == 0 and x["bind"] in ("GLOBAL", "WEAK")
                         and x["type"] not in ("SECTION", "FILE") and x["name"]), s["name"])
            lines.append(f"{rel}\tprog\t{s['name']}\t{name}\t0x0\t{s['size'] // 8}\n")
        for k, f in enumerate(funcs):
            end = f["value"] + f["size"] if f["size"] else (
                funcs[k + 1]["value"] if k + 1 < len(funcs) else s["size"])
            name = f["name"] or f"{s['name']}+{f['value']:#x}"
            lines.append(f"{rel}\tprog\t{s['name']}\t{name}\t{f['value']:#x}\t"
                         f"{(end - f['value']) // 8}\n")
    for idx in sorted(sections):
        s = sections[idx]
        if s["name"] == "maps" or s["name"].startswith("maps/"):
            syms = sorted((x for x in symbols if x["ndx"] == idx and x["name"]
                           and x["type"] not in ("SECTION", "FILE")), key=lambda x: x["value"])
            for sym in syms:
                lines.append(f"{rel}\tmap\t{s['name']}\t{sym['name']}\t{sym['value']:#x}\t"
                             f"{s['size'] // len(syms)}\n")
    for idx in sorted(sections):
        s = sections[idx]
        if s["name"] == ".maps":
            for sym in sorted((x for x in symbols if x["ndx"] == idx and x["name"]
                               and x["type"] == "OBJECT"), key=lambda x: x["value"]):
                lines.append(f"{rel}\tmap\t.maps\t{sym['name']}\t{sym['value']:#x}\t-\n")
    for idx in sorted(sections):
        s, n = sections[idx], sections[idx]["name"]
        is_data = s["type"] == "PROGBITS" and any(
            n == p or n.startswith(p + ".") for p in (".data", ".rodata"))
        is_bss = s["type"] == "NOBITS" and (n == ".bss" or n.startswith(".bss."))
        if (is_data or is_bss) and s["size"] > 0:
            lines.append(f"{rel}\tmap\t{n}\t{n}\t0x0\t{s['size']}\n")
    return lines

files = []
for dirpath, dirnames, filenames in os.walk(corpus):
    rel = os.path.relpath(dirpath, corpus)
    if rel.split(os.sep)[0] == "invalid":
        continue
    files += [os.path.normpath(os.path.join(rel, f)) for f in filenames if f.endswith(".o")]
files.sort()

os.makedirs(out, exist_ok=True)
lines = []
for rel in files:
    lines += inventory(rel)
with open(os.path.join(out, "inventory.tsv"), "w") as fh:
    fh.write(f"# Generated by scripts/regen-object-golden.sh from `{os.path.basename(readelf)} "
             "-S -s -W`; do not edit.\n")
    fh.write("# file\tprog|map\tsection\tname\toffset\tslots (prog) | size or - (map)\n")
    fh.writelines(lines)
nprog = sum(1 for l in lines if "\tprog\t" in l)
print(f"{len(files)} files, {nprog} programs, {len(lines) - nprog} maps")
PY
