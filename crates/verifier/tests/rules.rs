//! One accept and one reject case per verifier rule, with Linux's messages.

mod common;
use common::{accept, reject};
use ebpfvm_verifier::ProgramType::{self, CgroupSkb, Kprobe, SchedCls, SocketFilter, Xdp};

const SF: ProgramType = SocketFilter;

#[test]
fn exit_needs_r0() {
    accept("r0 = 0\nexit", SF);
    reject("exit", SF, "R0 !read_ok");
}

#[test]
fn uninit_register_read() {
    reject("r0 = r2\nexit", SF, "R2 !read_ok");
    reject("r0 = 0\nr0 += r3\nexit", SF, "R3 !read_ok");
    reject("r0 = 0\nif r4 > 0 goto +0\nexit", SF, "R4 !read_ok");
}

#[test]
fn frame_pointer_read_only() {
    reject("r10 = 0\nr0 = 0\nexit", SF, "frame pointer is read only");
    reject("r10 += 8\nr0 = 0\nexit", SF, "frame pointer is read only");
}

#[test]
fn stack_access() {
    accept(
        "r1 = 1\n*(u64 *)(r10 - 8) = r1\nr0 = *(u64 *)(r10 - 8)\nexit",
        SF,
    );
    accept("*(u32 *)(r10 - 4) = 7\nr0 = *(u32 *)(r10 - 4)\nexit", SF);
    // Privileged programs may read uninitialised stack (Linux `allow_uninit_stack`).
    accept("r0 = *(u64 *)(r10 - 8)\nexit", SF);
    accept("*(u32 *)(r10 - 4) = 7\nr0 = *(u64 *)(r10 - 8)\nexit", SF);
    reject(
        "r0 = *(u64 *)(r10 - 520)\nexit",
        SF,
        "invalid read from stack R10 off=-520 size=8",
    );
    reject(
        "r1 = 0\n*(u64 *)(r10 - 520) = r1\nr0 = 0\nexit",
        SF,
        "invalid write to stack",
    );
    reject(
        "r1 = 0\n*(u64 *)(r10 + 0) = r1\nr0 = 0\nexit",
        SF,
        "invalid write to stack",
    );
    reject(
        "r1 = 0\n*(u32 *)(r10 - 6) = r1\nr0 = 0\nexit",
        SF,
        "misaligned stack access",
    );
}

#[test]
fn spill_keeps_pointer_type() {
    accept(
        "*(u64 *)(r10 - 8) = r1\nr2 = *(u64 *)(r10 - 8)\nr0 = *(u32 *)(r2 + 0)\nexit",
        SF,
    );
    reject(
        "*(u64 *)(r10 - 8) = r1\nr2 = *(u32 *)(r10 - 8)\nr0 = 0\nexit",
        SF,
        "invalid size of register fill",
    );
    // A partial overwrite turns the spill into bytes: the reload is a scalar.
    reject(
        "*(u64 *)(r10 - 8) = r1\n*(u8 *)(r10 - 8) = 0\nr2 = *(u64 *)(r10 - 8)\nr0 = *(u32 *)(r2 + 0)\nexit",
        SF,
        "invalid mem access 'scalar'",
    );
}

#[test]
fn scalar_dereference() {
    reject(
        "r1 = 0\nr0 = *(u64 *)(r1 + 0)\nexit",
        SF,
        "R1 invalid mem access 'scalar'",
    );
}

#[test]
fn ctx_access() {
    accept("r0 = *(u32 *)(r1 + 0)\nexit", SF);
    reject(
        "r0 = *(u32 *)(r1 + 200)\nexit",
        SF,
        "invalid bpf_context access off=200 size=4",
    );
    reject(
        "r1 += 4\nr0 = *(u32 *)(r1 + 0)\nexit",
        SF,
        "dereference of modified ctx ptr R1 off=4 disallowed",
    );
    reject(
        "r2 = 1\n*(u32 *)(r1 + 8) = r2\nr0 = 0\nexit",
        SF,
        "invalid bpf_context access",
    );
    accept("r2 = 1\n*(u32 *)(r1 + 8) = r2\nr0 = 0\nexit", SchedCls);
    reject(
        "*(u32 *)(r1 + 8) = 1\nr0 = 0\nexit",
        SchedCls,
        "BPF_ST stores into R1 ctx is not allowed",
    );
    accept("r0 = *(u64 *)(r1 + 112)\nexit", Kprobe);
    reject(
        "r2 = 1\n*(u64 *)(r1 + 112) = r2\nr0 = 0\nexit",
        Kprobe,
        "invalid bpf_context access",
    );
    reject(
        "r0 = *(u32 *)(r1 + 76)\nexit",
        SF,
        "invalid bpf_context access off=76 size=4",
    );
}

#[test]
fn pointer_arithmetic() {
    reject(
        "r1 &= 4\nr0 = 0\nexit",
        SF,
        "R1 bitwise operator &= on pointer prohibited",
    );
    reject(
        "r1 *= 4\nr0 = 0\nexit",
        SF,
        "R1 pointer arithmetic with *= operator prohibited",
    );
    reject(
        "r2 = r10\nr2 += r1\nr0 = 0\nexit",
        SF,
        "R2 pointer += pointer prohibited",
    );
    accept("r2 = r10\nr2 -= r1\nr0 = 0\nexit", SF);
    reject(
        "w1 += 4\nr0 = 0\nexit",
        SF,
        "R1 32-bit pointer arithmetic prohibited",
    );
    reject(
        "r2 = 0\nr2 -= r1\nr0 = 0\nexit",
        SF,
        "R2 tried to subtract pointer from scalar",
    );
    reject(
        "ld_pseudo r1, 5, 0\nr1 += 8\nr0 = 0\nexit",
        SF,
        "R1 pointer arithmetic on map_ptr prohibited",
    );
    reject(
        "r6 = r10\ncall 7\nr6 += r0\nr0 = 0\nexit",
        SF,
        "math between fp pointer and register with unbounded min value is not allowed",
    );
    // Privileged: the negation of a pointer is a number.
    reject(
        "r1 = -r1\nr0 = *(u8 *)(r1 + 0)\nexit",
        SF,
        "R1 invalid mem access 'scalar'",
    );
}

const LOOKUP: &str =
    "r1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\nld_pseudo r1, 5, 1\ncall 1\n";

#[test]
fn map_lookup_null_check() {
    accept(
        &format!("{LOOKUP}if r0 == 0 goto +1\nr0 = *(u64 *)(r0 + 40)\nr0 = 0\nexit"),
        SF,
    );
    reject(
        &format!("{LOOKUP}r0 = *(u64 *)(r0 + 0)\nexit"),
        SF,
        "R0 invalid mem access 'map_value_or_null'",
    );
    reject(
        &format!("{LOOKUP}if r0 == 0 goto +1\nr0 = *(u64 *)(r0 + 48)\nr0 = 0\nexit"),
        SF,
        "invalid access to map value, value_size=48 off=48 size=8",
    );
    // The copy shares the null check.
    accept(
        &format!("{LOOKUP}r6 = r0\nif r0 != 0 goto +2\nr0 = 0\nexit\nr0 = *(u64 *)(r6 + 0)\nexit"),
        SF,
    );
    reject(
        &format!("{LOOKUP}r0 += 8\nr0 = 0\nexit"),
        SF,
        "pointer arithmetic on map_value_or_null prohibited, null-check it first",
    );
}

#[test]
fn map_value_variable_offset() {
    let pre = format!("{LOOKUP}if r0 == 0 goto +5\nr1 = *(u32 *)(r0 + 0)\n");
    accept(
        &format!("{pre}if r1 > 40 goto +2\nr0 += r1\nr0 = *(u64 *)(r0 + 0)\nr0 = 0\nexit"),
        SF,
    );
    reject(
        &format!("{pre}if r1 > 41 goto +2\nr0 += r1\nr0 = *(u64 *)(r0 + 0)\nr0 = 0\nexit"),
        SF,
        "max value is outside of the allowed memory range",
    );
    reject(
        &format!("{pre}r0 += r1\nr0 = *(u64 *)(r0 + 0)\nr0 = 0\nexit\nexit"),
        SF,
        "R0 unbounded memory access",
    );
}

#[test]
fn map_helper_args() {
    accept(
        "r1 = 0\nr2 = r10\nr2 += -4\nld_pseudo r1, 5, 1\ncall 1\nr0 = 0\nexit",
        SF,
    );
    reject(
        "r2 = r10\nr2 += -2\nld_pseudo r1, 5, 1\ncall 1\nr0 = 0\nexit",
        SF,
        "invalid read from stack R2 off=-2 size=4",
    );
    reject(
        "r2 = r10\nr2 += -4\nr1 = 0\ncall 1\nr0 = 0\nexit",
        SF,
        "R1 type=scalar expected=map_ptr",
    );
    reject(
        "ld_pseudo r1, 5, 1\nr2 = 0\ncall 1\nr0 = 0\nexit",
        SF,
        "R2 type=scalar expected=",
    );
    reject("r1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\nld_pseudo r1, 5, 2\ncall 1\nr0 = 0\nexit", SF, "cannot pass map_type 27 into func bpf_map_lookup_elem#1");
}

#[test]
fn tail_call_needs_prog_array() {
    accept(
        "r6 = r1\nld_pseudo r2, 5, 3\nr3 = 0\ncall 12\nr0 = 0\nexit",
        SF,
    );
    reject(
        "ld_pseudo r2, 5, 1\nr3 = 0\ncall 12\nr0 = 0\nexit",
        SF,
        "expected prog array map for tail call",
    );
}

#[test]
fn immediate_division_and_shift() {
    reject("r0 = 1\nr0 /= 0\nexit", SF, "division by zero");
    reject("r0 = 1\nr0 <<= 64\nexit", SF, "invalid shift 64");
    reject("w0 = 1\nw0 >>= 32\nexit", SF, "invalid shift 32");
    accept("r0 = 1\nr1 = 0\nr0 /= r1\nexit", SF);
}

#[test]
fn packet_pointer_compared_with_null_explores_both_ways() {
    reject(
        "r2 = *(u32 *)(r1 + 0)\nif r2 == 0 goto +1\nr0 = 2\nexit",
        Xdp,
        "R0 !read_ok",
    );
}

#[test]
fn unknown_helper() {
    reject(
        "call 100000\nr0 = 0\nexit",
        SF,
        "invalid func unknown#100000",
    );
}

#[test]
fn helper_clobbers_args() {
    reject("r1 = 1\ncall 5\nr0 = r1\nexit", SF, "R1 !read_ok");
    accept("r6 = 1\ncall 5\nr0 = r6\nexit", SF);
}

#[test]
fn mem_size_pairs() {
    // probe_read(dst, size, src) into the stack.
    accept(
        "r1 = r10\nr1 += -16\nr2 = 16\nr3 = 0\ncall 4\nr0 = *(u64 *)(r10 - 16)\nexit",
        Kprobe,
    );
    reject(
        "r1 = r10\nr1 += -16\nr2 = 24\nr3 = 0\ncall 4\nr0 = 0\nexit",
        Kprobe,
        "invalid write to stack R1 off=-16 size=24",
    );
    reject(
        "r1 = r10\nr1 += -16\nr2 = *(u64 *)(r1 + 0)\nr3 = 0\ncall 4\nr0 = 0\nexit",
        Kprobe,
        "",
    );
}

const XDP_PRE: &str = "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = r2\nr4 += 14\n";

#[test]
fn packet_bounds_all_forms() {
    accept(
        &format!("{XDP_PRE}if r4 > r3 goto +1\nr0 = *(u8 *)(r2 + 13)\nr0 = 2\nexit"),
        Xdp,
    );
    accept(
        &format!("{XDP_PRE}if r3 < r4 goto +1\nr0 = *(u8 *)(r2 + 13)\nr0 = 2\nexit"),
        Xdp,
    );
    accept(
        &format!("{XDP_PRE}if r3 >= r4 goto +2\nr0 = 2\nexit\nr0 = *(u8 *)(r2 + 13)\nr0 = 2\nexit"),
        Xdp,
    );
    accept(
        &format!(
            "{XDP_PRE}if r4 <= r3 goto +2\nr0 = 2\nexit\nr0 = *(u16 *)(r2 + 12)\nr0 = 2\nexit"
        ),
        Xdp,
    );
    reject(
        &format!("{XDP_PRE}if r4 > r3 goto +1\nr0 = *(u8 *)(r2 + 14)\nr0 = 2\nexit"),
        Xdp,
        "invalid access to packet, off=14 size=1, R2(id=0,off=0,r=14)",
    );
    reject(
        &format!("{XDP_PRE}r0 = *(u8 *)(r2 + 0)\nr0 = 2\nexit"),
        Xdp,
        "invalid access to packet",
    );
    reject(
        "r3 = *(u32 *)(r1 + 4)\nr0 = *(u8 *)(r3 + 0)\nr0 = 2\nexit",
        Xdp,
        "R3 invalid mem access 'pkt_end'",
    );
}

#[test]
fn packet_pointers_invalidated_by_helper() {
    reject(
        &format!("r6 = r1\n{XDP_PRE}if r4 > r3 goto +5\nr1 = r6\nr2 = 0\ncall 44\nr0 = *(u8 *)(r2 + 0)\nr0 = 2\nexit\nr0 = 2\nexit"),
        Xdp,
        "",
    );
}

#[test]
fn return_value_range() {
    accept("r0 = 1\nexit", CgroupSkb);
    reject(
        "r0 = 2\nexit",
        CgroupSkb,
        "At program exit the register R0 has",
    );
    accept("r0 = 7\nexit", Xdp);
}

#[test]
fn ringbuf_reference() {
    let reserve = "ld_pseudo r1, 5, 2\nr2 = 8\nr3 = 0\ncall 131\n";
    accept(&format!("{reserve}if r0 == 0 goto +5\nr1 = 5\n*(u64 *)(r0 + 0) = r1\nr1 = r0\nr2 = 0\ncall 132\nr0 = 0\nexit"), SF);
    reject(
        &format!("{reserve}if r0 == 0 goto +2\nr1 = 5\n*(u64 *)(r0 + 0) = r1\nr0 = 0\nexit"),
        SF,
        "Unreleased reference",
    );
    reject(&format!("{reserve}if r0 == 0 goto +5\nr1 = 5\n*(u64 *)(r0 + 8) = r1\nr1 = r0\nr2 = 0\ncall 132\nr0 = 0\nexit"), SF, "invalid access to memory, mem_size=8 off=8 size=8");
}

#[test]
fn bpf_to_bpf_calls() {
    accept("r1 = 5\ncall +2\nr0 += 1\nexit\nr0 = r1\nexit", SF);
    // Callee-saved registers survive; r1-r5 do not.
    accept("r6 = 5\ncall +2\nr0 = r6\nexit\nr0 = 0\nexit", SF);
    reject(
        "r1 = 5\ncall +2\nr0 = r1\nexit\nr0 = 0\nexit",
        SF,
        "R1 !read_ok",
    );
    // The callee may read the caller's stack through a pointer.
    accept("r1 = 7\n*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\ncall +1\nexit\nr0 = *(u64 *)(r1 + 0)\nexit", SF);
    reject(
        "call +1\nexit\nr0 = r10\nexit",
        SF,
        "cannot return stack pointer to the caller frame",
    );
}

#[test]
fn infinite_loop() {
    reject(
        "r0 = 0\nr1 = 0\nif r0 == 0 goto -2\nexit",
        SF,
        "infinite loop detected",
    );
}

#[test]
fn too_large() {
    // A loop whose counter is never compared: not the same state each time (r0 grows).
    let r = common::run("r0 = 0\nr0 += 1\nif r0 != 0 goto -2\nexit", SF);
    assert!(r.is_err());
}

#[test]
fn callbacks() {
    // bpf_loop(4, cb, &ctx, 0) with cb adding its index into ctx.
    accept(
        "r1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = 4\nld_pseudo r2, 4, 7\nr3 = r10\nr3 += -8\nr4 = 0\ncall 181\nr0 = 0\nexit\n\
         r3 = *(u64 *)(r2 + 0)\nr3 += r1\n*(u64 *)(r2 + 0) = r3\nr0 = 0\nexit",
        SF,
    );
    reject(
        "r1 = 4\nld_pseudo r2, 4, 6\nr3 = 0\nr4 = 0\ncall 181\nr0 = 0\nexit\nr0 = 2\nexit",
        SF,
        "At callback return the register R0 has",
    );
}

#[test]
fn unreachable_and_jumps() {
    reject("r0 = 0\nexit\nr0 = 1\nexit", SF, "unreachable insn 2");
    reject("r0 = 0\ngoto +5\nexit", SF, "jump out of range");
    reject("r0 = 0", SF, "last insn is not an exit or jmp");
}

#[test]
fn log_has_stats_line() {
    let v = common::run("r0 = 0\nexit", SF).unwrap();
    assert!(
        v.log
            .contains("processed 2 insns (limit 1000000) max_states_per_insn"),
        "{}",
        v.log
    );
    let e = common::run("exit", SF).unwrap_err();
    assert!(e.log.contains("R0 !read_ok"));
    assert!(e.log.trim_end().ends_with("mark_read 0"), "{}", e.log);
    assert_eq!(e.to_string(), "pc 0: R0 !read_ok");
}
