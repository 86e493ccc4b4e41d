//! Each program type's context, as Linux's `BPF_PROG_TEST_RUN` builds it, checked with small
//! programs whose results follow from the uapi layouts (xdp_md, __sk_buff, pt_regs) and the
//! helper descriptions in bpf-helpers(7).

use ebpfvm_abi::{ProgramType, Trap};
use ebpfvm_isa::asm::llvm::assemble;
use ebpfvm_runtime::{LoadError, LoadOptions, Loaded, RunError, TestRun};

/// Loads without the verifier: these tests are about contexts, and some programs fault on
/// purpose (the checked interpreter catches them).
fn load(t: ProgramType, text: &str) -> Result<Loaded, LoadError> {
    let insns = assemble(text).expect("assembles");
    let opts = LoadOptions {
        verify: false,
        ..LoadOptions::default()
    };
    Loaded::from_insns("p", t, &insns, &opts)
}

fn run(l: &Loaded, data: &[u8], ctx: Option<&[u8]>) -> Result<ebpfvm_runtime::RunResult, RunError> {
    l.test_run(
        &l.programs[0],
        &TestRun {
            data,
            ctx,
            repeat: 1,
        },
    )
}

fn frame(len: usize) -> Vec<u8> {
    let mut f: Vec<u8> = (0..len).map(|i| i as u8).collect();
    f[12] = 0x08; // EtherType IPv4
    f[13] = 0x00;
    f
}

#[test]
fn raw_tracepoint_gets_its_u64_arguments() {
    let l = load(ProgramType::RawTracepoint, "r0 = *(u64 *)(r1 + 8)\nexit").unwrap();
    let mut ctx = 1u64.to_le_bytes().to_vec();
    ctx.extend_from_slice(&42u64.to_le_bytes());
    assert_eq!(run(&l, &[], Some(&ctx)).unwrap().retval, 42);
    // More than 12 arguments, or data, are refused as Linux refuses them.
    assert!(matches!(
        run(&l, &[], Some(&[0u8; 13 * 8])),
        Err(RunError::BadInput(_))
    ));
    assert!(matches!(
        run(&l, &[1, 2], Some(&ctx)),
        Err(RunError::BadInput(_))
    ));
}

#[test]
fn tracepoint_gets_its_argument_block() {
    let l = load(ProgramType::Tracepoint, "r0 = *(u32 *)(r1 + 4)\nexit").unwrap();
    let ctx = [0, 0, 0, 0, 0x78, 0x56, 0x34, 0x12];
    assert_eq!(run(&l, &[], Some(&ctx)).unwrap().retval, 0x1234_5678);
}

#[test]
fn kprobe_context_is_pt_regs_and_read_only() {
    let l = load(ProgramType::Kprobe, "r0 = *(u64 *)(r1 + 112)\nexit").unwrap();
    let mut regs = vec![0u8; 168];
    regs[112..120].copy_from_slice(&0xdead_beefu64.to_le_bytes());
    assert_eq!(run(&l, &[], Some(&regs)).unwrap().retval, 0xdead_beef);
    // A short context is zero-padded to the 168-byte pt_regs.
    assert_eq!(run(&l, &[], Some(&regs[..8])).unwrap().retval, 0);
    let w = load(ProgramType::Kprobe, "r0 = 1\n*(u64 *)(r1 + 0) = r0\nexit").unwrap();
    match run(&w, &[], Some(&regs)) {
        Err(RunError::Fault { fault, .. }) => {
            assert!(matches!(
                fault.trap,
                Trap::MemoryViolation { write: true, .. }
            ))
        }
        other => panic!("write to pt_regs: {other:?}"),
    }
}

#[test]
fn unspec_runs_on_raw_memory() {
    let l = load(
        ProgramType::Unspec,
        "r0 = r2\nr3 = 0x55\n*(u8 *)(r1 + 0) = r3\nexit",
    )
    .unwrap();
    let r = run(&l, &[1, 2, 3], None).unwrap();
    assert_eq!(r.retval, 3);
    assert_eq!(r.data, [0x55, 2, 3]);
}

/// data_end - data, and skb->len, from an skb program.
const SKB_SPAN: &str = "r2 = *(u32 *)(r1 + 76)
r3 = *(u32 *)(r1 + 80)
r4 = *(u32 *)(r1 + 0)
r0 = r3
r0 -= r2
r0 <<= 32
r0 |= r4
exit";

#[test]
fn tc_sees_the_frame_from_the_ethernet_header() {
    let l = load(ProgramType::SchedCls, SKB_SPAN).unwrap();
    let f = frame(60);
    let r = run(&l, &f, None).unwrap();
    assert_eq!(r.retval >> 32, 60, "data_end - data");
    assert_eq!(r.retval & 0xffff_ffff, 60, "skb->len");
    assert_eq!(r.data, f);
}

#[test]
fn cgroup_skb_sees_the_network_header() {
    let l = load(ProgramType::CgroupSkb, SKB_SPAN).unwrap();
    let r = run(&l, &frame(60), None).unwrap();
    assert_eq!(r.retval >> 32, 46);
    assert_eq!(r.retval & 0xffff_ffff, 46);
}

#[test]
fn skb_protocol_is_the_ethertype_in_network_order() {
    let l = load(ProgramType::SocketFilter, "r0 = *(u32 *)(r1 + 16)\nexit").unwrap();
    let mut f = frame(40);
    f[12] = 0x86;
    f[13] = 0xdd;
    // __sk_buff.protocol holds __be16: bytes 86 dd read as a little-endian number.
    assert_eq!(run(&l, &f, None).unwrap().retval, 0xdd86);
}

#[test]
fn skb_ctx_in_sets_the_fields_linux_allows() {
    let l = load(ProgramType::SchedCls, "r0 = *(u32 *)(r1 + 8)\nexit").unwrap();
    let mut ctx = vec![0u8; 192];
    ctx[8..12].copy_from_slice(&7u32.to_le_bytes()); // mark
    let r = run(&l, &frame(40), Some(&ctx)).unwrap();
    assert_eq!(r.retval, 7);
    assert_eq!(&r.ctx.unwrap()[8..12], &7u32.to_le_bytes());
    // len cannot be set.
    let mut bad = vec![0u8; 192];
    bad[0] = 1;
    assert!(matches!(
        run(&l, &frame(40), Some(&bad)),
        Err(RunError::BadInput(_))
    ));
}

#[test]
fn socket_filter_may_not_read_packet_pointers() {
    // Linux refuses direct packet access for socket filters.
    let e = load(ProgramType::SocketFilter, SKB_SPAN).unwrap_err();
    assert!(e.to_string().contains("invalid bpf_context access"), "{e}");
}

/// Moves the head by `delta` (bpf_xdp_adjust_head, helper 44) and returns the helper's
/// result in the high half and data_end - data in the low half.
fn adjust(helper: u32, delta: i32) -> String {
    format!(
        "r6 = r1
r2 = {delta}
call {helper}
r7 = r0
r2 = *(u32 *)(r6 + 0)
r3 = *(u32 *)(r6 + 4)
r0 = r3
r0 -= r2
r7 <<= 32
r0 |= r7
exit"
    )
}

#[test]
fn xdp_adjust_head_and_tail_move_the_frame() {
    let f = frame(60);
    let head = load(ProgramType::Xdp, &adjust(44, 14)).unwrap();
    let r = run(&head, &f, None).unwrap();
    assert_eq!(r.retval, 46);
    assert_eq!(r.data, &f[14..]);
    // Growing the head by 8: the frame is 8 bytes longer and ends with the original.
    let grow = load(ProgramType::Xdp, &adjust(44, -8)).unwrap();
    let r = run(&grow, &f, None).unwrap();
    assert_eq!(r.retval, 68);
    assert_eq!(&r.data[8..], &f[..]);
    // The head may not pass data_end - 14 (ETH_HLEN): -EINVAL, frame unchanged.
    let past = load(ProgramType::Xdp, &adjust(44, 50)).unwrap();
    let r = run(&past, &f, None).unwrap();
    assert_eq!(r.retval >> 32, (-22i32) as u32 as u64);
    assert_eq!(r.data, f);
    // Tail: shrink by 10.
    let tail = load(ProgramType::Xdp, &adjust(65, -10)).unwrap();
    let r = run(&tail, &f, None).unwrap();
    assert_eq!(r.retval, 50);
    assert_eq!(r.data, &f[..50]);
}

#[test]
fn helpers_outside_the_type_subset_are_refused_at_load() {
    // bpf_skb_load_bytes (26) is not an XDP helper.
    let e = load(
        ProgramType::Xdp,
        "r2 = 0\nr3 = r10\nr3 += -8\nr4 = 4\ncall 26\nexit",
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("bpf_skb_load_bytes#26") && msg.contains("xdp programs cannot call it"),
        "{msg}"
    );
    // ... but a socket filter may call it.
    assert!(load(
        ProgramType::SocketFilter,
        "r2 = 0\nr3 = r10\nr3 += -8\nr4 = 4\ncall 26\nexit"
    )
    .is_ok());
}

#[test]
fn the_verifier_rejects_what_would_fault() {
    let insns = assemble("r0 = 0\nr0 = *(u64 *)(r0 + 16)\nexit").unwrap();
    match Loaded::from_insns("p", ProgramType::Unspec, &insns, &LoadOptions::default()) {
        Err(LoadError::Verify { pc, .. }) => assert_eq!(pc, 1),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_fault_names_the_program_and_pc() {
    let l = load(ProgramType::Unspec, "r0 = 0\nr0 = *(u64 *)(r0 + 16)\nexit").unwrap();
    match run(&l, &[0; 4], None) {
        Err(RunError::Fault { prog, fault }) => {
            assert_eq!(prog, "p");
            assert_eq!(fault.pc, 1);
        }
        other => panic!("{other:?}"),
    }
}
