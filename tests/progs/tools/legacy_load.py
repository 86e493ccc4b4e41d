#!/usr/bin/env python3
"""Loads an old-style BPF object (maps as struct bpf_map_def records in a "maps" section)
into the running kernel and pins its programs and maps, like
`bpftool prog loadall OBJ PROG_DIR pinmaps MAP_DIR` does for BTF-defined maps.

libbpf >= 1.0 (and so bpftool 7.x) refuses "maps" sections; this minimal loader exists
only to prove that tests/progs/legacy_maps.o is a valid Linux program. It needs root (bpf()
syscall, bpffs mounted at the pin directories' filesystem).

Usage: legacy_load.py OBJ.o PROG_DIR MAP_DIR

Supported: ELF64 little-endian, e_machine 247 (BPF) or 0; records of 20 bytes or more in
"maps" (type, key_size, value_size, max_entries, map_flags; extra fields ignored);
program sections "socket*" (SOCKET_FILTER) and "xdp*" (XDP); R_BPF_64_64 relocations of
ld_imm64 against symbols of "maps" (-> src_reg 1, BPF_PSEUDO_MAP_FD). Anything else is an
error. On a verifier rejection the kernel's log is printed.
"""
import ctypes
import os
import struct
import sys

SYS_BPF = 321  # x86-64
BPF_MAP_CREATE, BPF_PROG_LOAD, BPF_OBJ_PIN = 0, 5, 6
PROG_TYPES = (("socket", 1), ("xdp", 6))

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def bpf(cmd, attr: bytearray):
    buf = ctypes.create_string_buffer(bytes(attr), len(attr))
    r = libc.syscall(ctypes.c_long(SYS_BPF), ctypes.c_long(cmd), buf, ctypes.c_uint(len(attr)))
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, "bpf(cmd %d): %s" % (cmd, os.strerror(e)))
    return r


def parse_elf(data):
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise SystemExit("not an ELF64 little-endian file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    secs = []
    for i in range(shnum):
        name, typ, flags, _a, off, size, link, info, _al, entsize = struct.unpack_from(
            "<IIQQQQIIQQ", data, shoff + i * shentsize)
        secs.append(dict(name=name, type=typ, flags=flags, off=off, size=size, link=link, info=info,
                         entsize=entsize))
    strtab = secs[shstrndx]

    def cstr(sec, off):
        start = sec["off"] + off
        return data[start:data.index(b"\0", start)].decode()

    for s in secs:
        s["name"] = cstr(strtab, s["name"])
    symtab = next(s for s in secs if s["type"] == 2)
    syms = []
    for i in range(symtab["size"] // 24):
        name, info, _other, shndx, value, size = struct.unpack_from("<IBBHQQ", data, symtab["off"] + i * 24)
        syms.append(dict(name=cstr(secs[symtab["link"]], name), info=info, shndx=shndx, value=value, size=size))
    return secs, syms


def pin(fd, path):
    p = ctypes.create_string_buffer(path.encode())
    attr = bytearray(struct.pack("<QII", ctypes.addressof(p), fd, 0)) + bytearray(112)
    bpf(BPF_OBJ_PIN, attr)


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    obj, prog_dir, map_dir = sys.argv[1:]
    data = open(obj, "rb").read()
    secs, syms = parse_elf(data)
    idx = {s["name"]: i for i, s in enumerate(secs)}

    license_ = b"GPL"
    if "license" in idx:
        s = secs[idx["license"]]
        license_ = data[s["off"]:s["off"] + s["size"]].split(b"\0")[0]
    lic = ctypes.create_string_buffer(license_ + b"\0")

    # Maps: one record per symbol of the "maps" section.
    maps = {}
    ms = idx.get("maps")
    if ms is not None:
        for sym in syms:
            if sym["shndx"] != ms or (sym["info"] & 0xF) != 1:  # STT_OBJECT
                continue
            off = secs[ms]["off"] + sym["value"]
            mtype, ksz, vsz, maxe, flags = struct.unpack_from("<5I", data, off)
            name = sym["name"].encode()[:15]
            attr = bytearray(struct.pack("<7I16s", mtype, ksz, vsz, maxe, flags, 0, 0, name)) + bytearray(80)
            fd = bpf(BPF_MAP_CREATE, attr)
            maps[sym["name"]] = fd
            os.makedirs(map_dir, exist_ok=True)
            pin(fd, os.path.join(map_dir, sym["name"]))
            print("map %s: type %d key %d value %d max_entries %d flags %#x -> fd %d"
                  % (sym["name"], mtype, ksz, vsz, maxe, flags, fd))

    for i, s in enumerate(secs):
        if s["type"] != 1 or not (s["flags"] & 0x4) or s["size"] == 0:
            continue  # SHT_PROGBITS + SHF_EXECINSTR only
        ptype = next((t for prefix, t in PROG_TYPES if s["name"].startswith(prefix)), None)
        if ptype is None:
            raise SystemExit("section %s: program type not supported by this loader" % s["name"])
        insns = bytearray(data[s["off"]:s["off"] + s["size"]])
        for r in secs:
            if r["type"] != 9 or r["info"] != i:  # SHT_REL for this section
                continue
            for k in range(r["size"] // 16):
                roff, rinfo = struct.unpack_from("<QQ", data, r["off"] + k * 16)
                sym = syms[rinfo >> 32]
                if (rinfo & 0xFFFFFFFF) != 1 or sym["name"] not in maps:
                    raise SystemExit("unsupported relocation at %#x against %s" % (roff, sym["name"]))
                if insns[roff] != 0x18:
                    raise SystemExit("relocation at %#x is not on ld_imm64" % roff)
                insns[roff + 1] = (insns[roff + 1] & 0x0F) | (1 << 4)  # src_reg = BPF_PSEUDO_MAP_FD
                struct.pack_into("<i", insns, roff + 4, maps[sym["name"]])
        for sym in syms:
            if sym["shndx"] != i or (sym["info"] & 0xF) != 2 or (sym["info"] >> 4) != 1:
                continue  # STT_FUNC, STB_GLOBAL: the entry points
            if sym["value"] != 0 or sym["size"] != s["size"]:
                raise SystemExit("section %s: one program per section only" % s["name"])
            ibuf = ctypes.create_string_buffer(bytes(insns), len(insns))
            log = ctypes.create_string_buffer(1 << 20)
            attr = bytearray(struct.pack("<IIQQIIQII16s", ptype, len(insns) // 8, ctypes.addressof(ibuf),
                                         ctypes.addressof(lic), 1, len(log), ctypes.addressof(log), 0, 0,
                                         sym["name"].encode()[:15])) + bytearray(64)
            try:
                fd = bpf(BPF_PROG_LOAD, attr)
            except OSError as e:
                print(log.value.decode(errors="replace"), file=sys.stderr)
                raise SystemExit("program %s rejected: %s" % (sym["name"], e))
            os.makedirs(prog_dir, exist_ok=True)
            pin(fd, os.path.join(prog_dir, sym["name"]))
            print("program %s (section %s, type %d, %d insns) -> fd %d, verifier: %s"
                  % (sym["name"], s["name"], ptype, len(insns) // 8, fd,
                     log.value.decode(errors="replace").strip().splitlines()[-1:] or ["ok"]))


if __name__ == "__main__":
    main()
