// SPDX-License-Identifier: GPL-2.0
/*
 * legacy_maps.c — an old-style object: maps declared as struct bpf_map_def
 * records in the "maps" section (pre-BTF libbpf / samples/bpf convention, no
 * BTF map definitions), a "version" section, and packet access with the
 * legacy LD_ABS instructions (load_byte/load_half, as samples/bpf/sockex1 did).
 *
 * libbpf >= 1.0 refuses "maps" sections, so this object exercises a loader's
 * legacy path (ebpfvm's, iproute2's, or libbpf < 1.0).
 *
 * Maps (three 20-byte records, in this order in the "maps" section):
 *   proto_bytes : ARRAY, key 4, value 8, 256 entries — bytes per IPv4 protocol
 *   proto_pkts  : ARRAY, key 4, value 8, 256 entries — packets per IPv4 protocol
 *   big_packets : HASH,  key 4, value 8, 64 entries, BPF_F_NO_PREALLOC —
 *                 {IPv4 protocol: count} of packets with skb->len > 100
 *
 * Program legacy_prog (section "socket"): like sockex1, but written for the
 * L3 view (skb->data at the IPv4 header: AF_PACKET SOCK_DGRAM sockets and
 * BPF_PROG_TEST_RUN of socket filters). For skb->protocol == ETH_P_IP:
 *   proto = LD_ABS byte at 9; proto_pkts[proto] += 1;
 *   proto_bytes[proto] += skb->len; if skb->len > 100: big_packets[proto] += 1
 *   (inserted with BPF_NOEXIST as 1 when absent).
 * Returns 0 for every packet (a pure monitor: the socket receives nothing).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <stddef.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* The classic record (tools/lib/bpf/libbpf.h before v1.0, samples/bpf). */
struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");

struct bpf_map_def SEC("maps") proto_bytes = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 256,
};

struct bpf_map_def SEC("maps") proto_pkts = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 256,
};

struct bpf_map_def SEC("maps") big_packets = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 64,
	.map_flags = BPF_F_NO_PREALLOC,
};

SEC("socket")
int legacy_prog(struct __sk_buff *skb)
{
	__u32 proto;
	__u64 *v;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return 0;
	/* load_half returns host order: 0x4500 for an IPv4 header with IHL 5 */
	if ((load_half(skb, 0) >> 12) != 4)
		return 0;
	proto = load_byte(skb, offsetof(struct iphdr, protocol));

	v = bpf_map_lookup_elem(&proto_pkts, &proto);
	if (v)
		__sync_fetch_and_add(v, 1);
	v = bpf_map_lookup_elem(&proto_bytes, &proto);
	if (v)
		__sync_fetch_and_add(v, skb->len);

	if (skb->len > 100) {
		v = bpf_map_lookup_elem(&big_packets, &proto);
		if (v) {
			__sync_fetch_and_add(v, 1);
		} else {
			__u64 one = 1;

			bpf_map_update_elem(&big_packets, &proto, &one, BPF_NOEXIST);
		}
	}
	return 0;
}

char _license[] SEC("license") = "GPL";
__u32 _version SEC("version") = 0x060100; /* LINUX_VERSION_CODE of 6.1.0, unused since 5.0 */
