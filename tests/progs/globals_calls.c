// SPDX-License-Identifier: GPL-2.0
/*
 * globals_calls.c — global variables in .data, .rodata and .bss, and
 * bpf-to-bpf calls three levels deep (one callee takes five arguments).
 *
 * Section "socket" (BPF_PROG_TYPE_SOCKET_FILTER). With len = skb->len:
 *
 *   result = clamp(len * cfg_mult + weights[len & 3] + cfg_add, cfg_max)
 *          = min(3 * len + ((len & 3) + 1) + 7, 1000)     with the compiled defaults
 *
 * and per run: runs += 1 (.data, starts at 100), total_len += len (.bss),
 * mix5_calls += 1 (.bss), last_result = result (.bss). It also prints
 * "globals_calls len=<len> result=<result>" with bpf_printk (trace_printk).
 *
 * Call graph: globals_calls -> score (level 1) -> mix5 (level 2, 5 args)
 *             -> clamp_u32 (level 3). All are static __noinline: one program,
 * subprograms reached through "call" instructions with src_reg=1 (pseudo call).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* .rodata: a loader may rewrite these before load (libbpf skeleton style). */
const volatile __u32 cfg_mult = 3;
const volatile __u32 cfg_add = 7;
const volatile __u32 cfg_max = 1000;

/* .data */
__u32 weights[4] = { 1, 2, 3, 4 };
__u64 runs = 100;

/* .bss */
__u64 total_len;
__u32 last_result;
__u32 mix5_calls;

static __noinline __u32 clamp_u32(__u32 v, __u32 max)
{
	return v > max ? max : v;
}

static __noinline __u32 mix5(__u32 a, __u32 b, __u32 c, __u32 d, __u32 e)
{
	mix5_calls++;
	return clamp_u32(a * b + c + d, e);
}

static __noinline __u32 score(struct __sk_buff *skb)
{
	__u32 len = skb->len;

	return mix5(len, cfg_mult, weights[len & 3], cfg_add, cfg_max);
}

SEC("socket")
int globals_calls(struct __sk_buff *skb)
{
	__u32 len = skb->len;
	__u32 result;

	runs++;
	total_len += len;
	result = score(skb);
	last_result = result;
	bpf_printk("globals_calls len=%u result=%u", len, result);
	return result;
}

char LICENSE[] SEC("license") = "GPL";
