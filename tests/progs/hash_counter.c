// SPDX-License-Identifier: GPL-2.0
/*
 * hash_counter.c — the map-semantics fixture: a small BPF_MAP_TYPE_HASH keyed
 * by IPv4 source address, updated with BPF_NOEXIST / BPF_EXIST, atomic adds on
 * a looked-up value, and a BPF_MAP_TYPE_PERCPU_ARRAY of event counters.
 *
 * Program hash_counter (section "xdp"), for an untagged Ethernet + IPv4 frame
 * (anything else: XDP_PASS, no map touched), with key = iph->saddr (the four
 * address bytes as stored in the packet, i.e. a little-endian __u32 read of
 * network-order bytes) and len = frame length (data_end - data):
 *
 *   ICMP (protocol 1): reset. bpf_map_update_elem(&flows, &key, {0, 0}, BPF_EXIST)
 *       0       -> stats[STAT_RESET]++            entry now {packets 0, bytes 0}
 *       -ENOENT -> stats[STAT_RESET_MISSING]++    nothing inserted
 *     return XDP_PASS.
 *   other protocols: v = bpf_map_lookup_elem(&flows, &key)
 *     found     -> __sync_fetch_and_add(&v->packets, 1), (&v->bytes, len);
 *                  stats[STAT_HIT]++, return XDP_PASS
 *     not found -> bpf_map_update_elem(&flows, &key, {1, len}, BPF_NOEXIST)
 *       0       -> stats[STAT_INSERT]++, XDP_PASS
 *       -E2BIG  -> stats[STAT_FULL]++,   XDP_DROP   (table of 4 entries is full)
 *       other   -> stats[STAT_OTHER_ERR]++, XDP_ABORTED
 *
 * The last error returned by an update is kept in the .bss global last_err.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ENOENT 2
#define E2BIG  7

enum {
	STAT_INSERT = 0,
	STAT_HIT = 1,
	STAT_FULL = 2,
	STAT_RESET = 3,
	STAT_RESET_MISSING = 4,
	STAT_OTHER_ERR = 5,
	STAT_MAX = 6,
};

struct flow_val {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct flow_val);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

long last_err;

static __always_inline void stat(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&stats, &idx);

	if (c)
		*c += 1; /* per-CPU slot: no atomic needed */
}

SEC("xdp")
int hash_counter(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	struct iphdr *iph = data + sizeof(*eth);
	__u64 len = data_end - data;
	struct flow_val *v;
	__u32 key;
	long err;

	if ((void *)(iph + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	key = iph->saddr;

	if (iph->protocol == IPPROTO_ICMP) {
		struct flow_val zero = { 0, 0 };

		err = bpf_map_update_elem(&flows, &key, &zero, BPF_EXIST);
		if (err) {
			last_err = err;
			stat(err == -ENOENT ? STAT_RESET_MISSING : STAT_OTHER_ERR);
		} else {
			stat(STAT_RESET);
		}
		return XDP_PASS;
	}

	v = bpf_map_lookup_elem(&flows, &key);
	if (v) {
		__sync_fetch_and_add(&v->packets, 1);
		__sync_fetch_and_add(&v->bytes, len);
		stat(STAT_HIT);
		return XDP_PASS;
	}

	struct flow_val init = { .packets = 1, .bytes = len };

	err = bpf_map_update_elem(&flows, &key, &init, BPF_NOEXIST);
	if (!err) {
		stat(STAT_INSERT);
		return XDP_PASS;
	}
	last_err = err;
	if (err == -E2BIG) {
		stat(STAT_FULL);
		return XDP_DROP;
	}
	stat(STAT_OTHER_ERR);
	return XDP_ABORTED;
}

char LICENSE[] SEC("license") = "GPL";
