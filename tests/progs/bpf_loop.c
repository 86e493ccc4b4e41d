// SPDX-License-Identifier: GPL-2.0
/*
 * bpf_loop.c — bpf_loop() and bpf_for_each_map_elem() with static callback
 * functions (their addresses are loaded with ld_imm64 src_reg=4,
 * BPF_PSEUDO_FUNC).
 *
 * Section "socket". With len = skb->len (0 < len, capped at 4096 loop rounds):
 *
 *   1. bpf_loop(len, sum_cb, &c, 0): sum_cb adds its index: c.sum = 0+1+...+(len-1)
 *      = len*(len-1)/2, bpf_loop returns len  -> results[0] = sum, results[1] = len
 *   2. bpf_loop(64, sqrt_cb, &s, 0): sqrt_cb stops (returns 1) at the first i
 *      with i*i >= len; bpf_loop returns the rounds run = that i + 1
 *      -> results[2] = ceil(sqrt(len)) + 1   (len <= 63*63; else 64)
 *   3. vals[len & 7] += len, then bpf_for_each_map_elem(&vals, sum_vals_cb, &v, 0)
 *      visits all 8 array slots in key order and sums them; it returns 8
 *      -> results[3] = sum of vals (= sum of len over all runs so far),
 *         results[4] = 8 (elements visited)
 *
 * Return value: the sum of step 1, truncated to 32 bits.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define MAX_ROUNDS 4096

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 5);
	__type(key, __u32);
	__type(value, __u64);
} results SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} vals SEC(".maps");

struct sum_ctx {
	__u64 sum;
};

struct sqrt_ctx {
	__u64 target;
	__u64 root;
};

struct fold_ctx {
	__u64 sum;
	__u64 seen;
};

static int sum_cb(__u32 index, void *data)
{
	struct sum_ctx *c = data;

	c->sum += index;
	return 0;
}

static int sqrt_cb(__u32 index, void *data)
{
	struct sqrt_ctx *s = data;

	if ((__u64)index * index >= s->target) {
		s->root = index;
		return 1; /* stop */
	}
	return 0;
}

static long sum_vals_cb(void *map, __u32 *key, __u64 *val, void *data)
{
	struct fold_ctx *f = data;

	f->sum += *val;
	f->seen++;
	return 0;
}

static __always_inline void put(__u32 idx, __u64 v)
{
	__u64 *slot = bpf_map_lookup_elem(&results, &idx);

	if (slot)
		*slot = v;
}

SEC("socket")
int bpf_loop_prog(struct __sk_buff *skb)
{
	__u32 len = skb->len;
	struct sum_ctx c = { 0 };
	struct sqrt_ctx s = { .target = len };
	struct fold_ctx f = { 0 };
	__u32 slot = len & 7;
	__u64 *v;
	long n;

	if (len > MAX_ROUNDS)
		len = MAX_ROUNDS;

	n = bpf_loop(len, sum_cb, &c, 0);
	put(0, c.sum);
	put(1, n);

	n = bpf_loop(64, sqrt_cb, &s, 0);
	put(2, n);

	v = bpf_map_lookup_elem(&vals, &slot);
	if (v)
		__sync_fetch_and_add(v, skb->len);
	n = bpf_for_each_map_elem(&vals, sum_vals_cb, &f, 0);
	put(3, f.sum);
	put(4, n);

	return (__u32)c.sum;
}

char LICENSE[] SEC("license") = "GPL";
