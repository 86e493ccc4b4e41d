//! The context access conversion on small hand-written programs.
//!
//! Expectations come from the layouts: the runtime `xdp_buff` keeps `data`, `data_end`
//! and `data_meta` at 24, 32 and 40 (uapi 0, 4, 8); the runtime `sk_buff` at 192, 200 and
//! 208 (uapi 76, 80, 140).

use ebpfvm_abi::ProgramType;
use ebpfvm_isa::asm::llvm::assemble;
use ebpfvm_isa::RawInsn;
use ebpfvm_rewrite::{
    convert_ctx_access, convert_ctx_access_with, Conversion, ConvertOptions, RewriteError,
};

fn asm(text: &str) -> Vec<RawInsn> {
    assemble(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn convert(text: &str, t: ProgramType) -> Result<Conversion, RewriteError> {
    convert_ctx_access_with(&asm(text), t, &ConvertOptions::default())
}

/// Converts `input` and checks the result is `expected`, with `converted` rewritten.
fn check(t: ProgramType, input: &str, expected: &str, converted: &[usize]) {
    let out = convert(input, t).unwrap_or_else(|e| panic!("{e}\n{input}"));
    assert_eq!(out.slots, asm(expected), "\n{input}");
    assert_eq!(out.converted, converted, "\n{input}");
}

/// Converting `input` fails at `pc` with `message`.
fn check_err(t: ProgramType, input: &str, pc: usize, message: &str) {
    match convert(input, t) {
        Ok(out) => panic!("converted, expected an error: {:?}\n{input}", out.converted),
        Err(e) => assert_eq!((e.pc, e.message.as_str()), (pc, message), "\n{input}"),
    }
}

const XDP: ProgramType = ProgramType::Xdp;
const TC: ProgramType = ProgramType::SchedCls;

#[test]
fn xdp_pointer_fields() {
    check(
        XDP,
        "r2 = *(u32 *)(r1 + 0)
         r3 = *(u32 *)(r1 + 4)
         r4 = *(u32 *)(r1 + 8)
         r5 = *(u32 *)(r1 + 12)
         r5 = *(u32 *)(r1 + 16)
         r5 = *(u32 *)(r1 + 20)
         r0 = 2
         exit",
        "r2 = *(u64 *)(r1 + 24)
         r3 = *(u64 *)(r1 + 32)
         r4 = *(u64 *)(r1 + 40)
         r5 = *(u32 *)(r1 + 12)
         r5 = *(u32 *)(r1 + 16)
         r5 = *(u32 *)(r1 + 20)
         r0 = 2
         exit",
        &[0, 1, 2],
    );
}

#[test]
fn skb_pointer_fields() {
    for t in [ProgramType::SchedCls, ProgramType::SchedAct] {
        check(
            t,
            "r2 = *(u32 *)(r1 + 76)
             r3 = *(u32 *)(r1 + 80)
             r4 = *(u32 *)(r1 + 140)
             r5 = *(u32 *)(r1 + 0)
             r0 = 0
             exit",
            "r2 = *(u64 *)(r1 + 192)
             r3 = *(u64 *)(r1 + 200)
             r4 = *(u64 *)(r1 + 208)
             r5 = *(u32 *)(r1 + 0)
             r0 = 0
             exit",
            &[0, 1, 2],
        );
    }
    // cgroup skb programs see data and data_end.
    check(
        ProgramType::CgroupSkb,
        "r2 = *(u32 *)(r1 + 76)\n r0 = 1\n exit",
        "r2 = *(u64 *)(r1 + 192)\n r0 = 1\n exit",
        &[0],
    );
}

#[test]
fn ctx_moved_to_callee_saved_register() {
    check(
        XDP,
        "r6 = r1
         call 5
         r2 = *(u32 *)(r6 + 0)
         r7 = r6
         r3 = *(u32 *)(r7 + 4)
         r0 = 2
         exit",
        "r6 = r1
         call 5
         r2 = *(u64 *)(r6 + 24)
         r7 = r6
         r3 = *(u64 *)(r7 + 32)
         r0 = 2
         exit",
        &[2, 4],
    );
}

#[test]
fn ctx_in_caller_saved_register_is_lost_across_calls() {
    // r1 holds a helper's leftovers after the call (the kernel calls it uninitialised):
    // the load is not a context access.
    let text = "call 5\n r2 = *(u32 *)(r1 + 0)\n r0 = 2\n exit";
    check(XDP, text, text, &[]);
}

#[test]
fn ctx_with_constant_offset() {
    check(
        XDP,
        "r1 += 4
         r2 = *(u32 *)(r1 + 0)
         r3 = *(u32 *)(r1 - 4)
         r1 -= 4
         r4 = *(u32 *)(r1 + 8)
         r0 = 2
         exit",
        "r1 += 4
         r2 = *(u64 *)(r1 + 28)
         r3 = *(u64 *)(r1 + 20)
         r1 -= 4
         r4 = *(u64 *)(r1 + 40)
         r0 = 2
         exit",
        &[1, 2, 4],
    );
}

#[test]
fn ctx_spilled_and_filled() {
    check(
        XDP,
        "*(u64 *)(r10 - 8) = r1
         r1 = 0
         call 5
         r7 = *(u64 *)(r10 - 8)
         r2 = *(u32 *)(r7 + 4)
         r0 = 2
         exit",
        "*(u64 *)(r10 - 8) = r1
         r1 = 0
         call 5
         r7 = *(u64 *)(r10 - 8)
         r2 = *(u64 *)(r7 + 32)
         r0 = 2
         exit",
        &[4],
    );
}

#[test]
fn ctx_spilled_through_a_stack_pointer() {
    check(
        XDP,
        "r2 = r10
         r2 += -16
         *(u64 *)(r2 + 0) = r1
         r3 = *(u64 *)(r10 - 16)
         r4 = *(u32 *)(r3 + 0)
         r0 = 2
         exit",
        "r2 = r10
         r2 += -16
         *(u64 *)(r2 + 0) = r1
         r3 = *(u64 *)(r10 - 16)
         r4 = *(u64 *)(r3 + 24)
         r0 = 2
         exit",
        &[4],
    );
}

#[test]
fn overwritten_spill_is_not_ctx() {
    // An 8-byte scalar over the spill, through r10 or through an alias, and a 4-byte
    // store into half of it: the filled value is not the context.
    for overwrite in [
        "*(u64 *)(r10 - 8) = r0",
        "r2 = r10\n r2 += -8\n *(u64 *)(r2 + 0) = r0",
        "*(u32 *)(r10 - 4) = 0",
        "r2 = r10\n r2 += -6\n *(u16 *)(r2 + 0) = r0",
    ] {
        let text = format!(
            "r0 = 0
             *(u64 *)(r10 - 8) = r1
             {overwrite}
             r3 = *(u64 *)(r10 - 8)
             r4 = *(u32 *)(r3 + 0)
             r0 = 2
             exit"
        );
        check(XDP, &text, &text, &[]);
    }
}

#[test]
fn store_at_variable_stack_offset() {
    // A store at an unknown stack offset may hit the spill: the fill is the context on
    // some paths and a scalar on others.
    check_err(
        XDP,
        "*(u64 *)(r10 - 8) = r1
         r2 = *(u32 *)(r1 + 16)
         r3 = r10
         r3 += r2
         *(u64 *)(r3 - 64) = r0
         r4 = *(u64 *)(r10 - 8)
         r5 = *(u32 *)(r4 + 0)
         r0 = 2
         exit",
        6,
        "same insn cannot be used with different pointers",
    );
}

#[test]
fn narrow_fill_is_not_ctx() {
    let text = "*(u64 *)(r10 - 8) = r1
                r3 = *(u32 *)(r10 - 8)
                r4 = *(u32 *)(r3 + 0)
                r0 = 2
                exit";
    check(XDP, text, text, &[]);
}

#[test]
fn ctx_passed_to_subprogram() {
    check(
        XDP,
        "r6 = r1
         call f
         r1 = r6
         call f
         r0 = 2
         exit
         f:
         r2 = *(u32 *)(r1 + 0)
         r3 = *(u32 *)(r1 + 12)
         r0 = 0
         exit",
        "r6 = r1
         call f
         r1 = r6
         call f
         r0 = 2
         exit
         f:
         r2 = *(u64 *)(r1 + 24)
         r3 = *(u32 *)(r1 + 12)
         r0 = 0
         exit",
        &[6],
    );
}

#[test]
fn ctx_passed_two_levels_in_another_argument() {
    check(
        XDP,
        "r3 = r1
         r1 = 0
         call f
         r0 = 2
         exit
         f:
         r1 = r3
         call g
         exit
         g:
         r2 = *(u32 *)(r1 + 4)
         r0 = 0
         exit",
        "r3 = r1
         r1 = 0
         call f
         r0 = 2
         exit
         f:
         r1 = r3
         call g
         exit
         g:
         r2 = *(u64 *)(r1 + 32)
         r0 = 0
         exit",
        &[8],
    );
}

#[test]
fn subprogram_called_with_different_pointers() {
    check_err(
        XDP,
        "r6 = r1
         call f
         r1 = r10
         r1 += -8
         call f
         r0 = 2
         exit
         f:
         r2 = *(u32 *)(r1 + 0)
         r0 = 0
         exit",
        7,
        "same insn cannot be used with different pointers",
    );
}

#[test]
fn ctx_on_one_path_only() {
    check_err(
        XDP,
        "r2 = *(u32 *)(r1 + 16)
         if r2 == 0 goto L
         r1 = r10
         r1 += -8
         L:
         r3 = *(u32 *)(r1 + 0)
         r0 = 2
         exit",
        4,
        "same insn cannot be used with different pointers",
    );
    // A scalar on the other path is a conflict too.
    check_err(
        XDP,
        "r2 = *(u32 *)(r1 + 16)
         if r2 == 0 goto L
         r1 = *(u32 *)(r1 + 4)
         L:
         r3 = *(u32 *)(r1 + 0)
         r0 = 2
         exit",
        3,
        "same insn cannot be used with different pointers",
    );
}

#[test]
fn ctx_on_every_path_of_a_join() {
    check(
        XDP,
        "r6 = r1
         r2 = *(u32 *)(r1 + 16)
         if r2 == 0 goto L
         r6 = r1
         L:
         r3 = *(u32 *)(r6 + 0)
         r0 = 2
         exit",
        "r6 = r1
         r2 = *(u32 *)(r1 + 16)
         if r2 == 0 goto L
         r6 = r1
         L:
         r3 = *(u64 *)(r6 + 24)
         r0 = 2
         exit",
        &[4],
    );
}

#[test]
fn ctx_in_a_loop() {
    // The context pointer survives the loop's back edge.
    check(
        XDP,
        "r6 = r1
         r7 = 0
         L:
         r2 = *(u32 *)(r6 + 4)
         r7 += 1
         if r7 < 4 goto L
         r0 = 2
         exit",
        "r6 = r1
         r7 = 0
         L:
         r2 = *(u64 *)(r6 + 32)
         r7 += 1
         if r7 < 4 goto L
         r0 = 2
         exit",
        &[2],
    );
}

#[test]
fn variable_ctx_offset() {
    check_err(
        XDP,
        "r2 = *(u32 *)(r1 + 16)
         r1 += r2
         r3 = *(u32 *)(r1 + 0)
         r0 = 2
         exit",
        2,
        "variable ctx access off=0 size=4",
    );
    // Different constant offsets on two paths.
    check_err(
        XDP,
        "r2 = *(u32 *)(r1 + 16)
         if r2 == 0 goto L
         r1 += 4
         L:
         r3 = *(u32 *)(r1 + 0)
         r0 = 2
         exit",
        3,
        "variable ctx access off=0 size=4",
    );
}

#[test]
fn truncated_ctx_is_not_ctx() {
    let text = "w2 = w1\n r3 = *(u32 *)(r2 + 0)\n r0 = 2\n exit";
    check(XDP, text, text, &[]);
}

#[test]
fn invalid_xdp_accesses() {
    let cases = [
        (
            "r2 = *(u16 *)(r1 + 0)",
            "invalid bpf_context access off=0 size=2",
        ),
        (
            "r2 = *(u8 *)(r1 + 4)",
            "invalid bpf_context access off=4 size=1",
        ),
        (
            "r2 = *(u64 *)(r1 + 0)",
            "invalid bpf_context access off=0 size=8",
        ),
        (
            "r2 = *(s32 *)(r1 + 0)",
            "invalid bpf_context access off=0 size=4",
        ),
        (
            "r2 = *(u32 *)(r1 + 24)",
            "invalid bpf_context access off=24 size=4",
        ),
        (
            "r2 = *(u32 *)(r1 - 4)",
            "invalid bpf_context access off=-4 size=4",
        ),
        (
            "r2 = *(u16 *)(r1 + 12)",
            "invalid bpf_context access off=12 size=2",
        ),
        (
            "*(u32 *)(r1 + 0) = r2",
            "invalid bpf_context access off=0 size=4",
        ),
        (
            "*(u32 *)(r1 + 12) = 1",
            "invalid bpf_context access off=12 size=4",
        ),
        (
            "lock *(u32 *)(r1 + 12) += r2",
            "BPF_ATOMIC stores into R1 ctx is not allowed",
        ),
        (
            "r2 = load_acquire((u64 *)(r1 + 0))",
            "BPF_ATOMIC loads from R1 ctx is not allowed",
        ),
    ];
    for (insn, message) in cases {
        check_err(XDP, &format!("r2 = 0\n {insn}\n r0 = 2\n exit"), 1, message);
    }
}

#[test]
fn invalid_skb_accesses() {
    let cases = [
        (
            TC,
            "r2 = *(u16 *)(r1 + 76)",
            "invalid bpf_context access off=76 size=2",
        ),
        (
            TC,
            "*(u32 *)(r1 + 76) = r2",
            "invalid bpf_context access off=76 size=4",
        ),
        (
            TC,
            "*(u32 *)(r1 + 80) = r2",
            "invalid bpf_context access off=80 size=4",
        ),
        (
            TC,
            "r2 = *(u64 *)(r1 + 80)",
            "invalid bpf_context access off=80 size=8",
        ),
        (
            TC,
            "r2 = *(u32 *)(r1 + 192)",
            "invalid bpf_context access off=192 size=4",
        ),
        (
            TC,
            "r2 = *(u64 *)(r1 + 168)",
            "__sk_buff.sk is not supported by ebpfvm",
        ),
        (
            TC,
            "r2 = *(u64 *)(r1 + 144)",
            "__sk_buff.flow_keys is not supported by ebpfvm",
        ),
        (
            TC,
            "*(u32 *)(r1 + 0) = r2",
            "invalid bpf_context access off=0 size=4",
        ),
        (
            ProgramType::SocketFilter,
            "r2 = *(u32 *)(r1 + 76)",
            "invalid bpf_context access off=76 size=4",
        ),
        (
            ProgramType::SocketFilter,
            "*(u32 *)(r1 + 8) = r2",
            "invalid bpf_context access off=8 size=4",
        ),
    ];
    for (t, insn, message) in cases {
        check_err(t, &format!("r2 = 0\n {insn}\n r0 = 0\n exit"), 1, message);
    }
}

#[test]
fn skb_fields_read_in_place() {
    // len, a narrow read of protocol, mark written by tc, an 8-byte read of cb[0..1].
    let text = "r2 = *(u32 *)(r1 + 0)
                r3 = *(u16 *)(r1 + 16)
                *(u32 *)(r1 + 8) = r3
                r4 = *(u64 *)(r1 + 48)
                r0 = 0
                exit";
    check(TC, text, text, &[]);
    let len = "r0 = *(u32 *)(r1 + 0)\n exit";
    check(ProgramType::SocketFilter, len, len, &[]);
}

#[test]
fn types_without_conversion_unchanged() {
    // A kprobe reading pt_regs->di (8 bytes at 112): left alone, as is anything else.
    let text = asm("r2 = *(u64 *)(r1 + 112)\n r3 = *(u32 *)(r1 + 0)\n r0 = 0\n exit");
    for t in [
        ProgramType::Kprobe,
        ProgramType::Tracepoint,
        ProgramType::RawTracepoint,
    ] {
        assert_eq!(convert_ctx_access(&text, t), Ok(text.clone()));
    }
    // Even slots that do not decode.
    let garbage = vec![RawInsn::new(0xff, 0, 0, 0, 0)];
    assert_eq!(
        convert_ctx_access(&garbage, ProgramType::Kprobe),
        Ok(garbage.clone())
    );
}

#[test]
fn ld_imm64_counts_two_slots() {
    check(
        XDP,
        "r5 = 0x123456789 ll
         r2 = *(u32 *)(r1 + 0)
         r0 = 2
         exit",
        "r5 = 0x123456789 ll
         r2 = *(u64 *)(r1 + 24)
         r0 = 2
         exit",
        &[2],
    );
}

#[test]
fn bpf_loop_callback_gets_ctx() {
    // bpf_loop(4, cb, ctx, 0): the callback's r2 is the program's context.
    let prog = "r3 = r1
                r1 = 4
                ld_pseudo r2, 4, 5
                r4 = 0
                call 181
                r0 = 2
                exit
                r3 = *(u32 *)(r2 + 0)
                r4 = *(u32 *)(r1 + 0)
                r0 = 0
                exit";
    let expected = "r3 = r1
                    r1 = 4
                    ld_pseudo r2, 4, 5
                    r4 = 0
                    call 181
                    r0 = 2
                    exit
                    r3 = *(u64 *)(r2 + 24)
                    r4 = *(u32 *)(r1 + 0)
                    r0 = 0
                    exit";
    check(XDP, prog, expected, &[8]);
    // Without a helper passing it, a callback sees no context.
    let unused = "ld_pseudo r2, 4, 3
                  r0 = 2
                  exit
                  r3 = *(u32 *)(r2 + 0)
                  r0 = 0
                  exit";
    check(XDP, unused, unused, &[]);
}

#[test]
fn callee_writing_into_callers_stack() {
    // The callee stores 8 bytes through its argument, which points below the spilled
    // context: the fill may not be the context any more.
    check_err(
        XDP,
        "*(u64 *)(r10 - 8) = r1
         r1 = r10
         r1 += -16
         call f
         r2 = *(u64 *)(r10 - 8)
         r3 = *(u32 *)(r2 + 0)
         r0 = 2
         exit
         f:
         *(u64 *)(r1 + 0) = r1
         r0 = 0
         exit",
        5,
        "cannot tell whether r2 is the context pointer: a called function may have \
         overwritten the stack slot it was loaded from",
    );
    // The same through a callee's callee.
    check_err(
        XDP,
        "*(u64 *)(r10 - 8) = r1
         r1 = r10
         r1 += -16
         call f
         r2 = *(u64 *)(r10 - 8)
         r3 = *(u32 *)(r2 + 0)
         r0 = 2
         exit
         f:
         call g
         exit
         g:
         *(u64 *)(r1 + 8) = r1
         r0 = 0
         exit",
        5,
        "cannot tell whether r2 is the context pointer: a called function may have \
         overwritten the stack slot it was loaded from",
    );
    // A spill below the pointer passed, or a callee writing only 4 bytes, is safe.
    for (spill, store) in [
        (-16, "*(u64 *)(r1 + 0) = r1"),
        (-8, "*(u32 *)(r1 + 0) = r1"),
    ] {
        let slot = if spill == -16 { -8 } else { -16 };
        let text = |load: &str| {
            format!(
                "*(u64 *)(r10 {spill}) = r1
                 r1 = r10
                 r1 += {slot}
                 call f
                 r2 = *(u64 *)(r10 {spill})
                 {load}
                 r0 = 2
                 exit
                 f:
                 {store}
                 r0 = 0
                 exit"
            )
        };
        check(
            XDP,
            &text("r3 = *(u32 *)(r2 + 0)"),
            &text("r3 = *(u64 *)(r2 + 24)"),
            &[5],
        );
    }
}

#[test]
fn structural_errors() {
    check_err(
        XDP,
        "goto +5\n exit",
        0,
        "jump out of range from insn 0 to 6",
    );
    check_err(
        XDP,
        "if r1 == 0 goto -2\n exit",
        0,
        "jump out of range from insn 0 to -1",
    );
    check_err(XDP, "r0 = 0", 0, "last insn is not an exit or jmp");
    check_err(
        XDP,
        "call f\n r0 = 0\n exit\n f:\n r0 = 1",
        3,
        "last insn is not an exit or jmp",
    );
    // A jump from the main function into a subprogram.
    check_err(
        XDP,
        "call f\n goto f\n exit\n f:\n r0 = 1\n exit",
        1,
        "jump out of range from insn 1 to 3",
    );
    check_err(XDP, "call +7\n exit", 0, "call to invalid destination");
    check_err(
        XDP,
        "goto +1\n r1 = 0x123456789 ll\n exit",
        0,
        "jump into the middle of ldimm64 insn 1",
    );
    // Slots that do not decode: the decoder's error.
    let bad = vec![
        RawInsn::new(0xff, 0, 0, 0, 0),
        RawInsn::new(0x95, 0, 0, 0, 0),
    ];
    let e = convert_ctx_access(&bad, XDP).unwrap_err();
    assert_eq!(e.pc, 0);
    assert!(e.message.contains("unknown opcode"), "{e}");
    assert_eq!(e.to_string(), format!("pc 0: {}", e.message));
}

#[test]
fn empty_program() {
    assert_eq!(convert_ctx_access(&[], XDP), Ok(Vec::new()));
}

#[test]
fn unreachable_code_is_left_alone() {
    let text = "r0 = 2\n exit\n r2 = *(u16 *)(r1 + 0)\n exit";
    check(XDP, text, text, &[]);
}

#[test]
fn work_limit() {
    let slots = asm("r6 = r1\n r2 = *(u32 *)(r6 + 0)\n r0 = 2\n exit");
    let e = convert_ctx_access_with(&slots, XDP, &ConvertOptions::with_work_limit(3)).unwrap_err();
    assert_eq!(
        e.message,
        "program too complex for the context access analysis"
    );
    assert!(convert_ctx_access_with(&slots, XDP, &ConvertOptions::with_work_limit(4)).is_ok());
}

#[test]
fn memory_limit() {
    let slots = asm("r6 = r1\n if r2 == 0 goto +1\n r2 = *(u32 *)(r6 + 0)\n r0 = 2\n exit");
    let e =
        convert_ctx_access_with(&slots, XDP, &ConvertOptions::with_memory_limit(100)).unwrap_err();
    assert!(
        e.message
            .starts_with("program too complex for the context access analysis (its states need"),
        "{e}"
    );
    let out = convert_ctx_access_with(&slots, XDP, &ConvertOptions::with_memory_limit(100_000));
    assert_eq!(out.unwrap().converted, [2]);
}
