// SPDX-License-Identifier: GPL-2.0
/*
 * tail_calls.c — a BPF_MAP_TYPE_PROG_ARRAY statically initialised with
 * programs of the same object, an entry program that tail-calls by an index
 * taken from the packet, a chain of tail calls, and a self tail call that runs
 * into the kernel's limit of 33 tail calls per run (MAX_TAIL_CALL_CNT).
 *
 *   jmp_table: [0] = tail_a, [1] = tail_b, [2] = tail_loop, [3] empty
 *
 *   tail_entry : hits[0]++; tail-call jmp_table[frame byte 0];
 *                if that fails (empty slot, index >= 4) return XDP_DROP (1).
 *   tail_a     : hits[1]++; tail-call jmp_table[1] (tail_b);
 *                if that fails return XDP_ABORTED (0).
 *   tail_b     : hits[2]++; return XDP_PASS (2).
 *   tail_loop  : hits[3]++; tail-call jmp_table[2] (itself);
 *                once the limit is reached the call fails: return XDP_TX (3).
 *
 * All four are SEC("xdp") programs; any of them can be run directly.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

int tail_a(struct xdp_md *ctx);
int tail_b(struct xdp_md *ctx);
int tail_loop(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__uint(key_size, sizeof(__u32));
	__array(values, int (struct xdp_md *));
} jmp_table SEC(".maps") = {
	.values = {
		[0] = (void *)&tail_a,
		[1] = (void *)&tail_b,
		[2] = (void *)&tail_loop,
	},
};

static __always_inline void hit(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&hits, &idx);

	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("xdp")
int tail_entry(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *p = (void *)(long)ctx->data;
	__u32 idx;

	hit(0);
	if ((void *)(p + 1) > data_end)
		return XDP_DROP;
	idx = p[0];
	bpf_tail_call(ctx, &jmp_table, idx);
	return XDP_DROP;
}

SEC("xdp")
int tail_a(struct xdp_md *ctx)
{
	hit(1);
	bpf_tail_call(ctx, &jmp_table, 1);
	return XDP_ABORTED;
}

SEC("xdp")
int tail_b(struct xdp_md *ctx)
{
	hit(2);
	return XDP_PASS;
}

SEC("xdp")
int tail_loop(struct xdp_md *ctx)
{
	hit(3);
	bpf_tail_call(ctx, &jmp_table, 2);
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
