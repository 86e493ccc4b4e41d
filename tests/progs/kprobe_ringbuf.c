// SPDX-License-Identifier: GPL-2.0
/*
 * kprobe_ringbuf.c — a tracing program in the style of opensnoop.
 *
 * kprobe/do_sys_openat2(int dfd, const char __user *filename, struct open_how *how)
 *   reads its three arguments from struct pt_regs (x86-64: rdi, rsi, rdx via
 *   PT_REGS_PARM1..3 in BPF_KPROBE), reserves a struct open_event in the ring
 *   buffer `events`, fills pid/tgid, a timestamp, dfd, how->flags and how->mode
 *   (bpf_probe_read_kernel), a copy of the user string filename
 *   (bpf_probe_read_user_str) and submits it. If the ring buffer is full it
 *   counts the loss in dropped[0] instead.
 *
 * kretprobe/do_sys_openat2 sends a smaller struct ret_event with the return
 *   value (PT_REGS_RC: rax) using bpf_ringbuf_output (copying variant).
 *
 * Never attached by the tests: the kernel only loads (verifies) it, ebpfvm runs
 * it with a hand-made pt_regs.
 */
#include <linux/bpf.h>
#include <linux/openat2.h>
#include <asm/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define NAME_LEN 256

enum event_kind {
	EVENT_ENTRY = 1,
	EVENT_RETURN = 2,
};

struct open_event {
	__u32 kind;     /* EVENT_ENTRY */
	__u32 pid;      /* thread id: low 32 bits of bpf_get_current_pid_tgid() */
	__u32 tgid;     /* process id: high 32 bits */
	__s32 dfd;
	__u64 ts_ns;    /* bpf_ktime_get_ns() */
	__u64 flags;    /* how->flags, 0 if unreadable */
	__u64 mode;     /* how->mode,  0 if unreadable */
	__s64 name_len; /* bpf_probe_read_user_str() result: bytes incl. NUL, or -errno */
	char filename[NAME_LEN];
};

struct ret_event {
	__u32 kind;     /* EVENT_RETURN */
	__u32 pid;
	__u32 tgid;
	__s32 pad;
	__s64 ret;      /* PT_REGS_RC(ctx) */
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} dropped SEC(".maps");

static __always_inline void count_drop(void)
{
	__u32 zero = 0;
	__u64 *d = bpf_map_lookup_elem(&dropped, &zero);

	if (d)
		__sync_fetch_and_add(d, 1);
}

SEC("kprobe/do_sys_openat2")
int BPF_KPROBE(trace_openat2, int dfd, const char *filename, struct open_how *how)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct open_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return 0;
	}

	e->kind = EVENT_ENTRY;
	e->pid = (__u32)id;
	e->tgid = id >> 32;
	e->dfd = dfd;
	e->ts_ns = bpf_ktime_get_ns();
	if (bpf_probe_read_kernel(&e->flags, sizeof(e->flags), &how->flags))
		e->flags = 0;
	if (bpf_probe_read_kernel(&e->mode, sizeof(e->mode), &how->mode))
		e->mode = 0;
	e->name_len = bpf_probe_read_user_str(e->filename, sizeof(e->filename), filename);

	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("kretprobe/do_sys_openat2")
int BPF_KRETPROBE(trace_openat2_ret, long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ret_event e = {
		.kind = EVENT_RETURN,
		.pid = (__u32)id,
		.tgid = id >> 32,
		.ret = ret,
	};

	if (bpf_ringbuf_output(&events, &e, sizeof(e), 0))
		count_drop();
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
