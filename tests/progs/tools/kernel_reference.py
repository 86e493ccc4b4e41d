#!/usr/bin/env python3
"""Runs the tests/progs fixtures in the running Linux kernel and records what it says.

For each fixture: load it (bpftool prog loadall, or tools/legacy_load.py for the legacy
object), run a fixed sequence of test packets through BPF_PROG_TEST_RUN (bpftool prog run),
and record every return value, whether the output packet equals the input, and the
contents of the maps after every run. The result, tests/progs/kernel-reference.json, is
the reference README.md's expectation tables were checked against.

Usage (root, bpffs mounted on /sys/fs/bpf):
    python3 tests/progs/tools/kernel_reference.py [-o OUT.json]

Nothing is attached anywhere: programs are only loaded, test-run and removed (pins are
deleted at the end). Needs bpftool (any version with `prog run`).
"""
import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PROGS = os.path.dirname(HERE)
PKTS = os.path.join(PROGS, "packets")
PIN = "/sys/fs/bpf/ebpfvm_ref"

# fixture -> list of (program, packet or None for a run without data)
SEQUENCES = {
    "xdp_drop_udp": [("xdp_drop_udp", p) for p in (
        "ipv4_udp", "ipv4_tcp80", "ipv6_tcp80", "ipv6_udp", "arp", "vlan_ipv4_udp",
        "vlan_ipv4_tcp80", "trunc_ipv4", "ipv4_icmp")],
    # The frames of packets/mixed.pcap, in capture order, through a fresh xdp_drop_udp.
    "xdp_drop_udp@mixed.pcap": [("xdp_drop_udp", p) for p in (
        "ipv4_udp", "ipv4_tcp80", "ipv4_tcp22", "ipv4_tcp443", "ipv4_icmp", "ipv6_tcp80", "ipv6_udp", "arp",
        "vlan_ipv4_udp", "vlan_ipv4_tcp80", "trunc_ipv4", "ipv4_tcp80_big",
        "ipv4_udp_src12", "ipv4_udp_src13", "ipv4_udp_src14", "ipv4_udp_src15")],
    "socket_filter": [("socket_filter", p) for p in (
        "ipv4_tcp80", "ipv4_tcp22", "ipv4_tcp443", "ipv6_tcp80", "ipv4_udp", "vlan_ipv4_tcp80",
        "arp", "ipv4_tcp80_big")],
    "kprobe_ringbuf": [],
    "globals_calls": [("globals_calls", p) for p in ("ipv4_udp", "ipv4_tcp80", "ipv6_tcp80")],
    "map_in_map": [("map_in_map", p) for p in (
        "sel_0_2_0", "sel_1_3_0", "sel_0_1_1", "sel_1_0_1", "sel_2_0_0", "sel_5_0_1", "sel_0_9_0",
        "sel_0_2_0")],
    "tail_calls": [("tail_entry", "tail_%d" % i) for i in range(5)] + [("tail_loop", "tail_0")],
    "bpf_loop": [("bpf_loop_prog", p) for p in ("ipv4_udp", "ipv4_tcp80", "ipv4_tcp80_big")],
    "core_access": [("core_xdp", "arp"), ("core_xdp", "ipv4_tcp80"), ("core_task", None)],
    "hash_counter": [("hash_counter", p) for p in (
        "ipv4_icmp", "ipv4_udp", "ipv4_tcp80", "ipv4_icmp", "ipv4_udp_src12", "ipv4_udp_src13",
        "ipv4_udp_src14", "ipv4_udp_src15", "ipv4_udp_src14", "arp", "ipv6_udp", "vlan_ipv4_udp")],
    "legacy_maps": [("legacy_prog", p) for p in (
        "ipv4_udp", "ipv4_tcp80", "ipv4_tcp80_big", "ipv4_icmp", "ipv6_udp", "arp", "vlan_ipv4_udp")],
}

# Maps whose values are kernel object ids (not stable) or that cannot be dumped.
KEYS_ONLY = {"outer_arr", "outer_hash", "jmp_table"}
SKIP = {"events"}


def sh(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def le(hexbytes):
    return int.from_bytes(bytes(int(b, 16) for b in hexbytes), "little")


def dump_map(path, name):
    info = json.loads(sh(["bpftool", "-j", "map", "show", "pinned", path]).stdout or "{}")
    # Array slots holding only zero bytes are left out (a global-data map has 1 slot: kept).
    skip_zero = info.get("type") in ("array", "percpu_array") and info.get("max_entries", 1) > 1
    r = sh(["bpftool", "-j", "map", "dump", "pinned", path])
    if r.returncode != 0:
        return {"error": (r.stderr or r.stdout).strip()}
    entries = []
    for e in json.loads(r.stdout):
        key = "".join(b[2:] for b in e["key"])
        if name in KEYS_ONLY:
            entries.append({"key": key})
            continue
        if "values" in e:  # per-CPU
            per_cpu = ["".join(b[2:] for b in v["value"]) for v in e["values"]]
            if skip_zero and all(set(v) <= {"0"} for v in per_cpu):
                continue
            ent = {"key": key, "per_cpu": per_cpu}
            if all(len(v) == 16 for v in per_cpu):
                ent["sum_u64"] = sum(le(v["value"]) for v in e["values"])
            entries.append(ent)
            continue
        val = "".join(b[2:] for b in e["value"])
        if skip_zero and set(val) <= {"0"}:
            continue
        ent = {"key": key, "value": val}
        if "formatted" in e:
            ent["formatted"] = e["formatted"]
        entries.append(ent)
    return sorted(entries, key=lambda e: e["key"])  # hash maps iterate in no useful order


def dump_maps(map_dir):
    out = {}
    for name in sorted(os.listdir(map_dir)) if os.path.isdir(map_dir) else []:
        if name not in SKIP:
            out[name] = dump_map(os.path.join(map_dir, name), name)
    return out


def run_prog(path, packet, tmp):
    args = ["bpftool", "prog", "run", "pinned", path]
    if packet:
        args += ["data_in", os.path.join(PKTS, packet + ".bin"), "data_out", os.path.join(tmp, "out.bin"),
                 "repeat", "1"]
    else:
        args += ["repeat", "0"]  # raw_tp test runs take no data and no repeat
    r = sh(args)
    m = re.search(r"Return value: (\d+)", r.stdout + r.stderr)
    res = {"prog": os.path.basename(path), "packet": packet}
    if r.returncode != 0 or not m:
        res["error"] = (r.stderr or r.stdout).strip()
        return res
    res["retval"] = int(m.group(1))
    if packet:
        out = open(os.path.join(tmp, "out.bin"), "rb").read()
        inp = open(os.path.join(PKTS, packet + ".bin"), "rb").read()
        if out == inp:
            res["data_out"] = "same as data_in"
        elif out == bytes(14) + inp[14:]:
            # Socket-filter test runs: the kernel hands the program the packet after
            # eth_type_trans() and zeroes the 14 bytes it pushes back before copying out.
            res["data_out"] = "data_in with the 14-byte Ethernet header zeroed"
        else:
            res["data_out"] = out.hex()
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-o", default=os.path.join(PROGS, "kernel-reference.json"))
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (bpf() and bpffs)")
    if not os.path.isdir("/sys/fs/bpf"):
        sys.exit("bpffs not mounted: mount -t bpf bpf /sys/fs/bpf")
    shutil.rmtree(PIN, ignore_errors=True)
    bt = sh(["bpftool", "version"]).stdout.splitlines()
    report = {"kernel": platform.release(), "bpftool": bt[0] if bt else "?",
              "libbpf": bt[1].strip() if len(bt) > 1 else "?", "fixtures": {}}
    tmp = tempfile.mkdtemp(prefix="ebpfvm_ref")
    try:
        for fx, seq in SEQUENCES.items():
            obj = os.path.join(PROGS, fx.split("@")[0] + ".o")
            pin_dir = os.path.join(PIN, re.sub(r"[^A-Za-z0-9_]", "_", fx))  # bpffs refuses "."
            pdir, mdir = os.path.join(pin_dir, "progs"), os.path.join(pin_dir, "maps")
            os.makedirs(pin_dir, exist_ok=True)
            if fx.startswith("legacy_maps"):
                ld = sh([sys.executable, os.path.join(HERE, "legacy_load.py"), obj, pdir, mdir])
                how = "tools/legacy_load.py (libbpf >= 1.0 refuses 'maps' sections)"
            else:
                ld = sh(["bpftool", "prog", "loadall", obj, pdir, "pinmaps", mdir])
                how = "bpftool prog loadall"
            entry = {"loader": how, "loaded": ld.returncode == 0,
                     "loader_output": (ld.stdout + ld.stderr).strip()[-2000:]}
            if ld.returncode == 0:
                entry["programs"] = {}
                for prog in sorted(os.listdir(pdir)):
                    info = json.loads(sh(["bpftool", "-j", "prog", "show", "pinned",
                                          os.path.join(pdir, prog)]).stdout or "{}")
                    entry["programs"][prog] = {k: info.get(k) for k in ("type", "tag", "bytes_xlated")}
                entry["maps_at_load"] = dump_maps(mdir)
                runs = []
                for prog, pkt in seq:
                    res = run_prog(os.path.join(pdir, prog), pkt, tmp)
                    res["maps_after"] = dump_maps(mdir)
                    runs.append(res)
                entry["runs"] = runs
            report["fixtures"][fx] = entry
            print("%-24s loaded=%s runs=%s" % (fx, entry["loaded"],
                  [r.get("retval", r.get("error")) for r in entry.get("runs", [])]))
    finally:
        shutil.rmtree(PIN, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    with open(args.o, "w") as fh:
        json.dump(report, fh, indent=1, sort_keys=True)
        fh.write("\n")
    print("wrote", args.o)


if __name__ == "__main__":
    main()
