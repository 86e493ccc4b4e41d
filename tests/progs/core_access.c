// SPDX-License-Identifier: GPL-2.0
/*
 * core_access.c — CO-RE (compile once, run everywhere) relocations without
 * vmlinux.h: the kernel types used are declared locally with
 * __attribute__((preserve_access_index)) (applied by pragma, as vmlinux.h
 * does), so every field access, field query, type query and enum query below
 * produces a .BTF.ext CO-RE relocation record that a loader resolves against
 * the target BTF (the kernel's /sys/kernel/btf/vmlinux for libbpf).
 *
 * Program core_xdp (section "xdp") — kernel-independent answers: struct
 * ethhdr, struct iphdr and enum xdp_action are uapi and identical in every
 * kernel. It stores into core_out[0..15] (see README.md for the table) and
 * returns bpf_core_enum_value(enum xdp_action, XDP_PASS) = 2.
 *
 * Program core_task (section "raw_tp/sys_enter") — kernel-dependent answers
 * about struct task_struct, read with BPF_CORE_READ (bpf_probe_read_kernel)
 * from bpf_get_current_task(); stores into core_out[16..25], returns 0.
 *
 * Relocation kinds produced: FIELD_BYTE_OFFSET, FIELD_BYTE_SIZE, FIELD_EXISTS,
 * FIELD_SIGNED, FIELD_LSHIFT_U64, FIELD_RSHIFT_U64, TYPE_ID_LOCAL,
 * TYPE_ID_TARGET, TYPE_EXISTS, TYPE_SIZE, TYPE_MATCHES, ENUMVAL_EXISTS,
 * ENUMVAL_VALUE.
 */
#include <linux/types.h>

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

/* Subsets of the kernel's definitions (CO-RE matches fields by name). */
struct xdp_md {
	__u32 data;
	__u32 data_end;
};

struct ethhdr {
	unsigned char h_dest[6];
	unsigned char h_source[6];
	__be16 h_proto;
};

struct iphdr {
	__u8 ihl : 4, version : 4;
	__u8 tos;
	__be16 tot_len;
	__be16 id;
	__be16 frag_off;
	__u8 ttl;
	__u8 protocol;
	__sum16 check;
	__be32 saddr;
	__be32 daddr;
};

/* A "flavour" (suffix ___...) of iphdr with a field no kernel has. */
struct iphdr___future {
	__u8 ttl;
	__u32 flow_hint;
};

/* A type no kernel has. */
struct ebpfvm_no_such_type {
	int x;
};

struct task_struct {
	unsigned int __state;
	int pid;
	int tgid;
	struct task_struct *real_parent;
};

/* Before Linux 5.14 task_struct had "long state" instead of "__state". */
struct task_struct___old {
	long state;
};

#pragma clang attribute pop

enum xdp_action {
	XDP_ABORTED = 0,
	XDP_DROP,
	XDP_PASS,
	XDP_TX,
	XDP_REDIRECT,
};

enum xdp_action___future {
	XDP_FUTURE_ACTION = 100,
};

enum pid_type {
	PIDTYPE_PID,
	PIDTYPE_TGID,
	PIDTYPE_PGID,
	PIDTYPE_SID,
	PIDTYPE_MAX,
};

/* bpf_helpers.h needs these uapi names; define the few we use. */
#define BPF_MAP_TYPE_ARRAY 2
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 32);
	__type(key, __u32);
	__type(value, __u64);
} core_out SEC(".maps");

static __always_inline void out(__u32 idx, __u64 v)
{
	__u64 *slot = bpf_map_lookup_elem(&core_out, &idx);

	if (slot)
		*slot = v;
}

SEC("xdp")
int core_xdp(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	struct iphdr *iph;

	out(0, bpf_core_type_size(struct ethhdr));
	out(1, bpf_core_type_size(struct iphdr));
	out(2, bpf_core_field_offset(struct iphdr, protocol));
	out(3, bpf_core_field_size(struct iphdr, saddr));
	out(4, bpf_core_field_exists(struct iphdr, tos));
	out(5, bpf_core_field_exists(struct iphdr___future, flow_hint));
	out(6, bpf_core_enum_value(enum xdp_action, XDP_TX));
	out(7, bpf_core_enum_value_exists(enum xdp_action, XDP_REDIRECT));
	out(8, bpf_core_enum_value_exists(enum xdp_action___future, XDP_FUTURE_ACTION));
	out(9, bpf_core_type_exists(struct iphdr));
	out(10, bpf_core_type_exists(struct ebpfvm_no_such_type));
	out(11, bpf_core_type_matches(struct xdp_md));
	out(12, bpf_core_type_id_local(struct iphdr) != 0);

	if ((void *)(eth + 1) > data_end)
		goto done;
	if (eth->h_proto != bpf_htons(0x0800))
		goto done;
	iph = (void *)(eth + 1);
	if ((void *)(iph + 1) > data_end)
		goto done;
	out(13, BPF_CORE_READ_BITFIELD(iph, version));
	out(14, BPF_CORE_READ_BITFIELD(iph, ihl));
	out(15, iph->protocol);
done:
	return bpf_core_enum_value(enum xdp_action, XDP_PASS);
}

SEC("raw_tp/sys_enter")
int core_task(void *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid();

	out(16, BPF_CORE_READ(task, pid));
	out(17, BPF_CORE_READ(task, tgid));
	out(18, BPF_CORE_READ(task, real_parent, tgid));
	out(19, bpf_core_field_exists(task->__state));
	out(20, bpf_core_field_exists(((struct task_struct___old *)task)->state));
	out(21, bpf_core_type_size(struct task_struct));
	out(22, bpf_core_enum_value(enum pid_type, PIDTYPE_TGID));
	out(23, bpf_core_type_id_kernel(struct task_struct));
	out(24, bpf_core_field_offset(struct task_struct, pid));
	out(25, (__u32)id == (__u32)BPF_CORE_READ(task, pid));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
