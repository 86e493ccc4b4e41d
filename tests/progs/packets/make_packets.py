#!/usr/bin/env python3
"""Writes the test frames of tests/progs/packets/ (raw Ethernet frames, no pcap header).

Usage: python3 make_packets.py [OUTDIR]      (scripts/build-progs.sh runs it)

Deterministic: fixed addresses, ports, ids and payloads; IPv4 header checksums and
TCP/UDP checksums are correct. The README next to the fixtures lists every frame
with its length and what each program returns for it.
"""
import os
import struct
import sys

SRC_MAC = bytes.fromhex("020000000001")
DST_MAC = bytes.fromhex("020000000002")


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def eth(ethertype: int, dst: bytes = DST_MAC) -> bytes:
    return dst + SRC_MAC + struct.pack("!H", ethertype)


def vlan(vid: int, ethertype: int) -> bytes:
    return struct.pack("!HH", vid & 0x0FFF, ethertype)


def ipv4(proto: int, payload: bytes, src="10.0.0.1", dst="10.0.0.2", ident=0x1234, frag=0x4000) -> bytes:
    s = bytes(int(x) for x in src.split("."))
    d = bytes(int(x) for x in dst.split("."))
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, frag, 64, proto, 0, s, d)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def ipv6(nexthdr: int, payload: bytes) -> bytes:
    src = bytes.fromhex("fd000000000000000000000000000001")
    dst = bytes.fromhex("fd000000000000000000000000000002")
    return struct.pack("!IHBB", 0x60000000, len(payload), nexthdr, 64) + src + dst + payload


def l4_csum_v4(proto, seg, src="10.0.0.1", dst="10.0.0.2"):
    s = bytes(int(x) for x in src.split("."))
    d = bytes(int(x) for x in dst.split("."))
    return csum(s + d + struct.pack("!BBH", 0, proto, len(seg)) + seg)


def l4_csum_v6(proto, seg):
    src = bytes.fromhex("fd000000000000000000000000000001")
    dst = bytes.fromhex("fd000000000000000000000000000002")
    return csum(src + dst + struct.pack("!IxxxB", len(seg), proto) + seg)


def udp(sport, dport, payload, v6=False, src="10.0.0.1", dst="10.0.0.2"):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    c = l4_csum_v6(17, seg) if v6 else l4_csum_v4(17, seg, src, dst)
    return seg[:6] + struct.pack("!H", c or 0xFFFF) + seg[8:]


def tcp(sport, dport, flags=0x02, v6=False, payload=b"", src="10.0.0.1", dst="10.0.0.2"):
    seg = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, 5 << 4, flags, 65535, 0, 0) + payload
    c = l4_csum_v6(6, seg) if v6 else l4_csum_v4(6, seg, src, dst)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def icmp_echo(ident=1, seq=1, payload=b"ping"):
    msg = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + payload
    return msg[:2] + struct.pack("!H", csum(msg)) + msg[4:]


def arp_request():
    return eth(0x0806, dst=b"\xff" * 6) + struct.pack(
        "!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, SRC_MAC, bytes([10, 0, 0, 1]), b"\0" * 6, bytes([10, 0, 0, 2]))


def frames():
    f = {}
    f["ipv4_udp"] = eth(0x0800) + ipv4(17, udp(1234, 53, b"hello"))
    f["ipv4_tcp80"] = eth(0x0800) + ipv4(6, tcp(40000, 80))
    f["ipv4_tcp22"] = eth(0x0800) + ipv4(6, tcp(40001, 22))
    f["ipv4_tcp443"] = eth(0x0800) + ipv4(6, tcp(40002, 443))
    f["ipv4_icmp"] = eth(0x0800) + ipv4(1, icmp_echo())
    f["ipv6_tcp80"] = eth(0x86DD) + ipv6(6, tcp(40003, 80, v6=True))
    f["ipv6_udp"] = eth(0x86DD) + ipv6(17, udp(5353, 5353, b"mdns", v6=True))
    f["arp"] = arp_request()
    f["vlan_ipv4_udp"] = eth(0x8100) + vlan(100, 0x0800) + ipv4(17, udp(1234, 53, b"hello"))
    f["vlan_ipv4_tcp80"] = eth(0x8100) + vlan(100, 0x0800) + ipv4(6, tcp(40004, 80))
    # Ethernet header announcing IPv4, followed by only 10 bytes: truncated IPv4 header.
    f["trunc_ipv4"] = eth(0x0800) + ipv4(17, udp(1234, 53, b""))[:10]
    # Big (>100 bytes) IPv4 TCP segment to port 80 with 100 bytes of payload.
    f["ipv4_tcp80_big"] = eth(0x0800) + ipv4(6, tcp(40005, 80, flags=0x18, payload=bytes(range(100))))
    # IPv4 UDP from other sources (hash_counter fills its 4-entry table with these).
    for i in range(2, 6):
        src = "10.0.0.%d" % (i + 10)
        f["ipv4_udp_src%d" % (i + 10)] = eth(0x0800) + ipv4(17, udp(1234, 53, b"hello", src=src), src=src)
    # Selector frames for map_in_map (bytes 0..2) and tail_calls (byte 0):
    # 14 bytes, EtherType 0x88B5 (IEEE local experimental).
    for sel in ([0, 2, 0], [1, 3, 0], [0, 1, 1], [1, 0, 1], [2, 0, 0], [5, 0, 1], [0, 9, 0]):
        name = "sel_%d_%d_%d" % tuple(sel)
        f[name] = bytes(sel) + b"\0" * 9 + b"\x88\xb5"
    for idx in range(0, 5):
        f["tail_%d" % idx] = bytes([idx]) + b"\0" * 11 + b"\x88\xb5"
    return f


# The frames of mixed.pcap, in capture order (the selector frames are left out).
MIXED = [
    "ipv4_udp", "ipv4_tcp80", "ipv4_tcp22", "ipv4_tcp443", "ipv4_icmp", "ipv6_tcp80", "ipv6_udp", "arp",
    "vlan_ipv4_udp", "vlan_ipv4_tcp80", "trunc_ipv4", "ipv4_tcp80_big",
    "ipv4_udp_src12", "ipv4_udp_src13", "ipv4_udp_src14", "ipv4_udp_src15",
]


def pcap(frames_in_order):
    """Classic pcap (microsecond, little-endian), LINKTYPE_ETHERNET, one frame per second."""
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for i, data in enumerate(frames_in_order):
        out += struct.pack("<IIII", 1700000000 + i, 0, len(data), len(data)) + data
    return out


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    os.makedirs(out, exist_ok=True)
    f = frames()
    for name, data in sorted(f.items()):
        with open(os.path.join(out, name + ".bin"), "wb") as fh:
            fh.write(data)
    with open(os.path.join(out, "mixed.pcap"), "wb") as fh:
        fh.write(pcap([f[n] for n in MIXED]))


if __name__ == "__main__":
    main()
