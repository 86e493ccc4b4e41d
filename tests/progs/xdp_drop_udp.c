// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_drop_udp.c — the seed's XDP example.
 *
 * Parses Ethernet, one optional 802.1Q VLAN tag (TPID 0x8100), then IPv4 or
 * IPv6. Drops IPv4 UDP, passes everything else, and counts every frame whose
 * headers could be read in the array map `proto_count`:
 *
 *   IPv4            -> proto_count[iph->protocol]
 *   IPv6            -> proto_count[ip6h->nexthdr]   (first next-header only)
 *   anything else   -> proto_count[0]               (ARP, LLDP, QinQ inner tag, ...)
 *
 * Frames too short for the header they announce (Ethernet, VLAN tag, IPv4 or
 * IPv6 header) are passed and NOT counted. IPv4 version/IHL/checksum are not
 * validated; the protocol byte decides.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* Not in uapi: the 4 bytes following the MAC addresses' TPID. */
struct vlan_hdr {
	__be16 h_vlan_TCI;
	__be16 h_vlan_encapsulated_proto;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} proto_count SEC(".maps");

SEC("xdp")
int xdp_drop_udp(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	__u32 action = XDP_PASS;
	__u32 key = 0;
	__u64 *count;
	__u16 h_proto;
	__u64 off;

	off = sizeof(*eth);
	if (data + off > data_end)
		return XDP_PASS;
	h_proto = eth->h_proto;

	if (h_proto == bpf_htons(ETH_P_8021Q)) {
		struct vlan_hdr *vh = data + off;

		off += sizeof(*vh);
		if (data + off > data_end)
			return XDP_PASS;
		h_proto = vh->h_vlan_encapsulated_proto;
	}

	if (h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = data + off;

		if ((void *)(iph + 1) > data_end)
			return XDP_PASS;
		key = iph->protocol;
		if (iph->protocol == IPPROTO_UDP)
			action = XDP_DROP;
	} else if (h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6h = data + off;

		if ((void *)(ip6h + 1) > data_end)
			return XDP_PASS;
		key = ip6h->nexthdr;
	}

	count = bpf_map_lookup_elem(&proto_count, &key);
	if (count)
		__sync_fetch_and_add(count, 1);

	return action;
}

char LICENSE[] SEC("license") = "GPL";
