#!/usr/bin/env bash
# Regenerates tests/golden/disasm/ — what llvm-objdump-19 prints for every executable section
# of the real-world corpus — for crates/testkit/tests/disasm_golden.rs, which compares
# ebpfvm's disassembler with it without needing llvm at test time.
#
# Usage: scripts/regen-disasm-golden.sh     (env: CORPUS=dir, LLVM_OBJDUMP=llvm-objdump-19)
#
# What is captured, per executable section (SHF_EXECINSTR, non-empty) of every *.o under
# $CORPUS except invalid/, from `llvm-objdump-19 -d --no-show-raw-insn FILE` (plus
# `--triple=bpfel` for the old objects whose ELF e_machine is 0, which llvm cannot otherwise
# disassemble):
#
# * Normalised text: only the instruction lines (`%8d:\t<text>`), one per instruction,
#   each ending in "\n". Dropped: the file header, "Disassembly of section" lines, blank
#   lines, the symbol header lines (`0000000000000068 <LBB0_3>:`) and llvm's `...` lines for
#   skipped zero bytes.
# * Jump annotations (` <LBB0_3>`, ` <func+0x28>`, ` <.text+0x70>`) are KEPT: the test
#   reproduces them from the ELF symbol table the way llvm-objdump does (ebpfvm_isa::disasm::
#   SymbolLabels), so they are compared too.
# * `<unknown>` lines (slots llvm cannot decode; llvm 19 prints none in this corpus) are kept;
#   the test prints `<unknown>` for a slot ebpfvm's strict decoder rejects and moves one slot
#   on, so both must reject the same slots.
#
# Output:
# * tests/golden/disasm/full/*.txt — the whole normalised text of a few representative
#   sections (the FULL list below), headed by `# file:` and `# section:` lines;
# * tests/golden/disasm/index.tsv — for every other section one line
#   `file<TAB>section<TAB>sha256-of-normalised-text<TAB>instruction-count`.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CORPUS=${CORPUS:-$ROOT/../shared/corpus/ebpf-samples}
OBJDUMP=${LLVM_OBJDUMP:-llvm-objdump-19}
OUT=$ROOT/tests/golden/disasm

[ -d "$CORPUS" ] || { echo "corpus not found at $CORPUS" >&2; exit 1; }
command -v "$OBJDUMP" >/dev/null || { echo "$OBJDUMP not found" >&2; exit 1; }

exec python3 - "$CORPUS" "$OBJDUMP" "$OUT" <<'PY'
import hashlib, os, re, struct, subprocess, sys

corpus, objdump, out = sys.argv[1:4]

# Representative sections kept as whole text: one or more per project, chosen for the
# spellings they show (legacy packet loads, byte swaps, 32-bit ALU/JMP, atomics, local calls,
# symbol+offset annotations, an e_machine-0 object).
FULL = [
    ("linux/sockex1_kern.o", "socket1"),                       # ld_abs, lock *(u64 *) +=
    ("new_linux/sockex3_kern.o", "socket/2"),                  # ld_ind skb[rN]
    ("build/byteswap.o", ".text"),                             # le16/32/64, be16/32/64
    ("build/global_variable.o", ".text"),                      # lock *(u32 *) +=
    ("build/bpf2bpf.o", ".text"),                              # local calls
    ("build/dependent_read.o", "xdp"),                         # <sym+0x..> annotations
    ("cilium-core/bpf_overlay.o", ".text"),                    # w registers, JMP32
    ("cilium/bpf_lxc.o", "1/0x1010"),                          # negation
    ("prototype-kernel/xdp_vlan01_kern.o", "xdp_vlan_change"),
    ("linux/xdp2skb_meta_kern.o", "xdp_mark"),                 # s>>=
    ("suricata/lb.o", "loadbalancer"),
    ("falco/probe.o", "raw_tracepoint/filler/terminate_filler"),
    ("ovs/datapath.o", "tail-5"),                              # ELF e_machine 0
    ("bpf_cilium_test/bpf_netdev.o", "3/2"),
    ("cilium-examples/tracepoint_in_c_bpf_bpfel.o", "tracepoint/kmem/mm_page_alloc"),
]

def exec_sections(path):
    """Names of the non-empty SHF_EXECINSTR sections, and e_machine."""
    d = open(path, "rb").read()
    if d[:4] != b"\x7fELF" or d[4] != 2 or d[5] != 1:
        raise SystemExit(f"{path}: not a 64-bit little-endian ELF")
    machine, = struct.unpack_from("<H", d, 0x12)
    shoff, = struct.unpack_from("<Q", d, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", d, 0x3A)
    hdrs = [struct.unpack_from("<IIQQQQIIQQ", d, shoff + i * shentsize) for i in range(shnum)]
    stroff = hdrs[shstrndx][4]
    names = []
    for name, typ, flags, _addr, _off, size, *_ in hdrs:
        if flags & 0x4 and size and typ != 8:
            end = d.index(b"\0", stroff + name)
            names.append(d[stroff + name:end].decode())
    return names, machine

def disassemble(path, machine):
    cmd = [objdump, "-d", "--no-show-raw-insn"]
    if machine != 247:  # EM_BPF
        cmd.append("--triple=bpfel")
    res = subprocess.run(cmd + [path], capture_output=True, text=True)
    if res.returncode != 0 or res.stderr.strip():
        raise SystemExit(f"{' '.join(cmd)} {path} failed: {res.stderr}")
    sections, cur = {}, None
    for line in res.stdout.splitlines():
        m = re.match(r"^Disassembly of section (.*):$", line)
        if m:
            cur = sections.setdefault(m.group(1), [])
        elif cur is not None and re.match(r"^\s*\d+:\t", line):
            cur.append(line + "\n")
    return sections

def safe(s):
    return re.sub(r"[^A-Za-z0-9._-]", "_", s)

files = []
for dirpath, dirnames, filenames in os.walk(corpus):
    rel = os.path.relpath(dirpath, corpus)
    if rel.split(os.sep)[0] == "invalid":
        continue
    files += [os.path.normpath(os.path.join(rel, f)) for f in filenames if f.endswith(".o")]
files.sort()

os.makedirs(os.path.join(out, "full"), exist_ok=True)
for f in os.listdir(os.path.join(out, "full")):
    os.remove(os.path.join(out, "full", f))

index, nsec, ninsn, seen_full = [], 0, 0, set()
for rel in files:
    names, machine = exec_sections(os.path.join(corpus, rel))
    secs = disassemble(os.path.join(corpus, rel), machine)
    if sorted(secs) != sorted(names):
        raise SystemExit(f"{rel}: llvm printed sections {sorted(secs)}, ELF has {sorted(names)}")
    for name in names:
        text = "".join(secs[name])
        count = len(secs[name])
        nsec += 1
        ninsn += count
        if (rel, name) in FULL:
            seen_full.add((rel, name))
            fname = f"{safe(rel)}@{safe(name)}.txt"
            with open(os.path.join(out, "full", fname), "w") as fh:
                fh.write(f"# file: {rel}\n# section: {name}\n{text}")
        else:
            sha = hashlib.sha256(text.encode()).hexdigest()
            index.append(f"{rel}\t{name}\t{sha}\t{count}\n")

missing = set(FULL) - seen_full
if missing:
    raise SystemExit(f"representative sections not found: {sorted(missing)}")

with open(os.path.join(out, "index.tsv"), "w") as fh:
    fh.write("# Generated by scripts/regen-disasm-golden.sh from "
             f"`{os.path.basename(objdump)} -d --no-show-raw-insn`; do not edit.\n")
    fh.write("# file\tsection\tsha256 of the normalised text\tinstructions\n")
    fh.writelines(index)
print(f"{len(files)} files, {nsec} sections, {ninsn} instructions; "
      f"{len(seen_full)} sections in full/, {len(index)} in index.tsv")
PY
