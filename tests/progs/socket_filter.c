// SPDX-License-Identifier: GPL-2.0
/*
 * socket_filter.c — a classic socket filter: keep TCP segments to port 22 or
 * 80 (return skb->len, i.e. the whole packet), drop everything else (return 0).
 *
 * Socket filters may not use direct packet access (__sk_buff data/data_end),
 * so the headers are read with bpf_skb_load_bytes(). Offsets are relative to
 * skb->data, which for this filter is the network header: that is what a
 * socket filter sees on an AF_PACKET SOCK_DGRAM or an AF_INET raw socket, and
 * what BPF_PROG_TEST_RUN gives a BPF_PROG_TYPE_SOCKET_FILTER program (the
 * kernel runs eth_type_trans() on data_in, which consumes the 14-byte Ethernet
 * header and sets skb->protocol from its EtherType).
 *
 * The network protocol comes from skb->protocol (ETH_P_IP or ETH_P_IPV6; a
 * VLAN-tagged frame has skb->protocol 0x8100 and is dropped).
 * IPv4: version must be 4, IHL >= 5, and the packet must not be a non-first
 * fragment; the TCP header starts at IHL*4. IPv6: the TCP header must directly
 * follow the fixed 40-byte header (no extension headers).
 *
 * accept_count[0] += 1 and accept_count[1] += skb->len for every accepted packet.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <stddef.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define IP_MF     0x2000
#define IP_OFFSET 0x1FFF

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} accept_count SEC(".maps");

static __always_inline void account(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&accept_count, &idx);

	if (v)
		__sync_fetch_and_add(v, n);
}

SEC("socket")
int socket_filter(struct __sk_buff *skb)
{
	__u32 l4_off;
	__u8 l4_proto;
	__be16 dport;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		__u8 ver_ihl;
		__be16 frag;

		if (bpf_skb_load_bytes(skb, 0, &ver_ihl, 1))
			return 0;
		if ((ver_ihl >> 4) != 4 || (ver_ihl & 0xf) < 5)
			return 0;
		if (bpf_skb_load_bytes(skb, offsetof(struct iphdr, frag_off), &frag, 2))
			return 0;
		if (frag & bpf_htons(IP_OFFSET))
			return 0;
		if (bpf_skb_load_bytes(skb, offsetof(struct iphdr, protocol), &l4_proto, 1))
			return 0;
		l4_off = (ver_ihl & 0xf) * 4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		if (bpf_skb_load_bytes(skb, offsetof(struct ipv6hdr, nexthdr), &l4_proto, 1))
			return 0;
		l4_off = sizeof(struct ipv6hdr);
	} else {
		return 0;
	}

	if (l4_proto != IPPROTO_TCP)
		return 0;
	if (bpf_skb_load_bytes(skb, l4_off + offsetof(struct tcphdr, dest), &dport, 2))
		return 0;
	if (dport != bpf_htons(22) && dport != bpf_htons(80))
		return 0;

	account(0, 1);
	account(1, skb->len);
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
