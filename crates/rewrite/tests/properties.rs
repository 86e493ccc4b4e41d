//! Properties of the pass: it never panics, keeps the program's length, and on small
//! loop-free programs agrees with an oracle that follows every path separately.

use std::collections::BTreeMap;

use ebpfvm_abi::ProgramType;
use ebpfvm_isa::{encode_all, AluOp, Call, Insn, JmpCond, RawInsn, Reg, Size, Source, Width};
use ebpfvm_rewrite::{convert_ctx_access_with, ConvertOptions};
use proptest::prelude::*;

/// Opcodes that decode (with the right fields), so random slots get past the decoder.
const OPCODES: &[u8] = &[
    0x07, 0x0f, 0x17, 0x1f, 0xb7, 0xbf, 0xbc, 0x61, 0x69, 0x71, 0x79, 0x63, 0x6b, 0x73, 0x7b, 0x62,
    0x7a, 0xdb, 0xc3, 0x05, 0x15, 0x1d, 0x55, 0xa5, 0x85, 0x95, 0x18, 0x00, 0x81, 0x91,
];

fn slot() -> impl Strategy<Value = RawInsn> {
    prop_oneof![
        any::<u64>().prop_map(RawInsn::from_word),
        (
            prop::sample::select(OPCODES),
            0u8..12,
            0u8..12,
            -24i16..24,
            prop_oneof![Just(0), -16i32..16, Just(181), any::<i32>()],
        )
            .prop_map(|(op, dst, src, off, imm)| RawInsn::new(op, dst, src, off, imm)),
    ]
}

fn check_no_panic(slots: &[RawInsn], t: ProgramType) {
    let options = ConvertOptions::with_work_limit(100_000);
    if let Ok(out) = convert_ctx_access_with(slots, t, &options) {
        assert_eq!(out.slots.len(), slots.len());
        for (i, (a, b)) in slots.iter().zip(&out.slots).enumerate() {
            if out.converted.contains(&i) {
                // A 4-byte load became an 8-byte load with the same registers.
                assert_eq!((a.opcode, b.opcode), (0x61, 0x79));
                assert_eq!((a.dst, a.src), (b.dst, b.src));
            } else {
                assert_eq!(a, b, "slot {i} changed without being listed");
            }
        }
    }
}

proptest! {
    #[test]
    fn random_slots_never_panic(slots in prop::collection::vec(slot(), 0..48)) {
        for t in [ProgramType::Xdp, ProgramType::SchedCls, ProgramType::SocketFilter] {
            check_no_panic(&slots, t);
        }
    }
}

// ---------------------------------------------------------------------------------------
// The oracle: loop-free single-function XDP programs, each path followed on its own.

/// One generated operation (jump offsets are resolved when the program is built).
#[derive(Clone, Debug)]
enum Op {
    MovReg(u8, u8),
    MovImm(u8),
    AddImm(u8, i32),
    Mov32(u8, u8),
    Load(u8, u8, i16, Size),
    StoreReg(u8, u8, i16, Size),
    StoreImm(u8, i16),
    Call,
    /// Conditional jump skipping up to this many of the following operations.
    Skip(u8, u8),
}

fn reg() -> impl Strategy<Value = u8> {
    0u8..10
}

fn base() -> impl Strategy<Value = u8> {
    prop_oneof![Just(1u8), Just(6), Just(10), 0u8..11]
}

fn size() -> impl Strategy<Value = Size> {
    prop_oneof![
        4 => Just(Size::W),
        1 => Just(Size::B),
        2 => Just(Size::DW),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (reg(), base()).prop_map(|(d, s)| Op::MovReg(d, s)),
        1 => reg().prop_map(Op::MovImm),
        2 => (reg(), prop::sample::select(&[-8i32, -4, 4, 8, 16][..])).prop_map(|(d, k)| Op::AddImm(d, k)),
        1 => (reg(), base()).prop_map(|(d, s)| Op::Mov32(d, s)),
        // Mostly plausible field reads, some of anything.
        4 => (reg(), base(), prop::sample::select(&[0i16, 4, 8, 12, 16, 20][..]))
            .prop_map(|(d, s, off)| Op::Load(d, s, off, Size::W)),
        1 => (reg(), base(), prop::sample::select(&[-16i16, -8, -4, 0, 4, 8, 12, 20, 24][..]), size())
            .prop_map(|(d, s, off, sz)| Op::Load(d, s, off, sz)),
        // Spills and fills.
        2 => (reg(), prop::sample::select(&[-16i16, -8][..])).prop_map(|(d, off)| Op::Load(d, 10, off, Size::DW)),
        2 => (reg(), prop::sample::select(&[-16i16, -8][..])).prop_map(|(s, off)| Op::StoreReg(10, s, off, Size::DW)),
        1 => (base(), reg(), prop::sample::select(&[-16i16, -8, -4, 0, 8][..]), size())
            .prop_map(|(d, s, off, sz)| Op::StoreReg(d, s, off, sz)),
        1 => (base(), prop::sample::select(&[-16i16, -8, 0][..])).prop_map(|(d, off)| Op::StoreImm(d, off)),
        1 => Just(Op::Call),
        2 => (reg(), 0u8..6).prop_map(|(r, k)| Op::Skip(r, k)),
    ]
}

fn r(n: u8) -> Reg {
    Reg::new(n).unwrap()
}

/// The program: the operations, then `r0 = 2; exit`.
fn build(ops: &[Op]) -> Vec<Insn> {
    let n = ops.len();
    let mut insns: Vec<Insn> = ops
        .iter()
        .enumerate()
        .map(|(i, op)| match *op {
            Op::MovReg(d, s) => Insn::Alu {
                width: Width::W64,
                op: AluOp::Mov,
                dst: r(d),
                src: Source::Reg(r(s)),
            },
            Op::MovImm(d) => Insn::Alu {
                width: Width::W64,
                op: AluOp::Mov,
                dst: r(d),
                src: Source::Imm(7),
            },
            Op::AddImm(d, k) => Insn::Alu {
                width: Width::W64,
                op: AluOp::Add,
                dst: r(d),
                src: Source::Imm(k),
            },
            Op::Mov32(d, s) => Insn::Alu {
                width: Width::W32,
                op: AluOp::Mov,
                dst: r(d),
                src: Source::Reg(r(s)),
            },
            Op::Load(d, s, off, size) => Insn::Load {
                size,
                signed: false,
                dst: r(d),
                src: r(s),
                off,
            },
            Op::StoreReg(d, s, off, size) => Insn::Store {
                size,
                dst: r(d),
                off,
                src: Source::Reg(r(s)),
            },
            Op::StoreImm(d, off) => Insn::Store {
                size: Size::DW,
                dst: r(d),
                off,
                src: Source::Imm(0),
            },
            Op::Call => Insn::Call(Call::Helper(5)),
            Op::Skip(d, k) => {
                // Never past the final `r0 = 2`.
                let off = i16::from(k).min((n - i - 1) as i16);
                Insn::Jmp {
                    width: Width::W64,
                    cond: JmpCond::Eq,
                    dst: r(d),
                    src: Source::Imm(0),
                    off,
                }
            }
        })
        .collect();
    insns.push(Insn::Alu {
        width: Width::W64,
        op: AluOp::Mov,
        dst: r(0),
        src: Source::Imm(2),
    });
    insns.push(Insn::Exit);
    insns
}

/// A concrete-enough value on one path.
#[derive(Clone, Copy, PartialEq, Eq, Debug, PartialOrd, Ord)]
enum V {
    Ctx(i64),
    Stack(i64),
    Scalar,
}

/// What one path saw at a memory access: the base value.
type Seen = BTreeMap<usize, Vec<V>>;

fn run_paths(
    insns: &[Insn],
    pc: usize,
    mut regs: [V; 11],
    mut stack: BTreeMap<i64, V>,
    seen: &mut Seen,
) {
    let mut pc = pc;
    loop {
        let insn = insns[pc];
        match insn {
            Insn::Alu {
                width,
                op,
                dst,
                src,
            } => {
                let d = regs[dst.index()];
                regs[dst.index()] = match (width, op, src) {
                    (Width::W64, AluOp::Mov, Source::Reg(s)) => regs[s.index()],
                    (Width::W64, AluOp::Add, Source::Imm(k)) => match d {
                        V::Ctx(c) => V::Ctx(c + i64::from(k)),
                        V::Stack(c) => V::Stack(c + i64::from(k)),
                        V::Scalar => V::Scalar,
                    },
                    _ => V::Scalar,
                };
            }
            Insn::Load {
                size,
                dst,
                src,
                off,
                ..
            } => {
                let b = regs[src.index()];
                seen.entry(pc).or_default().push(b);
                regs[dst.index()] = match b {
                    V::Stack(k) if size == Size::DW && (k + i64::from(off)) % 8 == 0 => stack
                        .get(&(k + i64::from(off)))
                        .copied()
                        .unwrap_or(V::Scalar),
                    _ => V::Scalar,
                };
            }
            Insn::Store {
                size,
                dst,
                off,
                src,
            } => {
                let b = regs[dst.index()];
                seen.entry(pc).or_default().push(b);
                if let V::Stack(k) = b {
                    let addr = k + i64::from(off);
                    let v = match src {
                        Source::Reg(s) if size == Size::DW && addr % 8 == 0 => regs[s.index()],
                        _ => V::Scalar,
                    };
                    // Every 8-byte slot the store touches.
                    let first = addr.div_euclid(8) * 8;
                    let mut a = first;
                    while a < addr + size.bytes() as i64 {
                        stack.insert(a, if a == addr { v } else { V::Scalar });
                        a += 8;
                    }
                }
            }
            Insn::Call(_) => {
                for v in &mut regs[0..6] {
                    *v = V::Scalar;
                }
            }
            Insn::Jmp { off, .. } => {
                let target = (pc as i64 + 1 + i64::from(off)) as usize;
                if target != pc + 1 {
                    run_paths(insns, target, regs, stack.clone(), seen);
                }
            }
            Insn::Exit => return,
            other => panic!("not generated: {other:?}"),
        }
        pc += 1;
    }
}

/// The XDP rule: 4-byte aligned reads inside `xdp_md`.
fn xdp_read_ok(off: i64, size: Size) -> bool {
    size == Size::W && (0..24).contains(&off) && off % 4 == 0
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]
    #[test]
    fn agrees_with_path_oracle(ops in prop::collection::vec(op(), 0..24)) {
        let insns = build(&ops);
        let slots = encode_all(&insns);
        let mut regs = [V::Scalar; 11];
        regs[1] = V::Ctx(0);
        regs[10] = V::Stack(0);
        let mut seen = Seen::new();
        run_paths(&insns, 0, regs, BTreeMap::new(), &mut seen);

        // What the oracle expects at every access.
        let mut errors = Vec::new();
        let mut converted = Vec::new();
        for (&pc, bases) in &seen {
            if !bases.iter().any(|b| matches!(b, V::Ctx(_))) {
                continue;
            }
            let first = bases[0];
            if bases.iter().any(|b| *b != first) {
                errors.push(pc); // different pointers, or different offsets
                continue;
            }
            let V::Ctx(c) = first else { unreachable!() };
            match insns[pc] {
                Insn::Load { size, off, .. } => {
                    let o = c + i64::from(off);
                    if !xdp_read_ok(o, size) {
                        errors.push(pc);
                    } else if o < 12 {
                        converted.push(pc);
                    }
                }
                _ => errors.push(pc), // XDP context is read-only
            }
        }
        let out = convert_ctx_access_with(&slots, ProgramType::Xdp, &ConvertOptions::default());
        match out {
            Ok(out) => {
                prop_assert!(errors.is_empty(), "accepted, but the oracle finds errors at {:?}", errors);
                prop_assert_eq!(&out.converted, &converted);
                for &pc in &converted {
                    let Insn::Load { dst, src, off, .. } = insns[pc] else { unreachable!() };
                    let Some(V::Ctx(c)) = seen[&pc].first().copied() else { unreachable!() };
                    let o = c + i64::from(off);
                    let runtime = 24 + 2 * o; // 0, 4, 8 → 24, 32, 40
                    let want = Insn::Load { size: Size::DW, signed: false, dst, src, off: (runtime - c) as i16 };
                    prop_assert_eq!(out.slots[pc], want.encode().first);
                }
            }
            Err(e) => {
                prop_assert_eq!(Some(&e.pc), errors.first(), "{}", e);
            }
        }
    }
}
