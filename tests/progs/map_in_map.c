// SPDX-License-Identifier: GPL-2.0
/*
 * map_in_map.c — BPF_MAP_TYPE_ARRAY_OF_MAPS and BPF_MAP_TYPE_HASH_OF_MAPS with
 * an inner map template (__array(values, struct inner_map)) and statically
 * initialised outer slots:
 *
 *   outer_arr  (array of maps, 4 slots):  [0] = inner_a, [1] = inner_b, [2], [3] empty
 *   outer_hash (hash of maps, 8 max):     {0: inner_b, 1: inner_a}  (keys are the slot indices)
 *
 * inner_a, inner_b: BPF_MAP_TYPE_ARRAY, 4 x __u64, all zero at load.
 *
 * Program map_in_map (section "xdp") reads three selector bytes from the start
 * of the frame (bytes 0..2, i.e. the first destination-MAC bytes):
 *   b0 = outer key, b1 = inner key, b2 = which outer map (0: outer_arr, else outer_hash)
 * and returns
 *   XDP_DROP    (1) if the outer lookup fails (no such slot / key),
 *   XDP_ABORTED (0) if the inner lookup fails (b1 >= 4),
 *   XDP_PASS    (2) after inner[b1] += 1 (atomic) otherwise.
 * Frames shorter than 3 bytes return XDP_PASS without touching maps (the
 * kernel's test run never passes fewer than 14 bytes anyway).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct inner_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner_map);
} outer_arr SEC(".maps") = {
	.values = {
		[0] = &inner_a,
		[1] = &inner_b,
	},
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 8);
	__type(key, __u32);
	__array(values, struct inner_map);
} outer_hash SEC(".maps") = {
	.values = {
		[0] = &inner_b,
		[1] = &inner_a,
	},
};

SEC("xdp")
int map_in_map(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *p = (void *)(long)ctx->data;
	__u32 outer_key, inner_key;
	void *inner;
	__u64 *val;

	if ((void *)(p + 3) > data_end)
		return XDP_PASS;
	outer_key = p[0];
	inner_key = p[1];

	if (p[2] == 0)
		inner = bpf_map_lookup_elem(&outer_arr, &outer_key);
	else
		inner = bpf_map_lookup_elem(&outer_hash, &outer_key);
	if (!inner)
		return XDP_DROP;

	val = bpf_map_lookup_elem(inner, &inner_key);
	if (!val)
		return XDP_ABORTED;
	__sync_fetch_and_add(val, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
