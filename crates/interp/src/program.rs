//! Preparing a program: decode once into a compact, pre-validated form.
//!
//! Every instruction becomes one [`Op`] per slot with its operation specialised into a dense
//! [`Code`] (width, operand kind and size folded in), immediates pre-extended and jump
//! targets made absolute, so the dispatch loop does no decoding. Jump and call targets are
//! validated here; a fall-through past the last instruction lands on a sentinel op.

use ebpfvm_isa::{
    decode_all, AluOp, AtomicOp, ByteOrder, Call, DecodeError, Imm64, Insn, JmpCond, RawInsn, Size,
    Source, Width,
};

/// Why a program cannot be prepared for execution.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The bytes do not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The program has no instructions.
    #[error("program is empty")]
    Empty,
    /// The program has more slots than [`ebpfvm_abi::limits::MAX_PROGRAM_SLOTS`].
    #[error("program has {slots} instructions, more than the limit of {max}")]
    TooLarge {
        /// Slots in the program.
        slots: usize,
        /// The limit.
        max: usize,
    },
    /// A jump or call leaves the program or lands inside an `ld_imm64`.
    #[error("pc {pc}: jump target {target} is outside the program or inside ld_imm64")]
    BadJumpTarget {
        /// The jumping instruction.
        pc: usize,
        /// The target slot.
        target: i64,
    },
}

macro_rules! codes {
    ($($name:ident),* $(,)?) => {
        /// The specialised operation of an [`Op`].
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        #[repr(u8)]
        #[allow(non_camel_case_types, reason = "names mirror eBPF mnemonics with width suffixes")]
        pub(crate) enum Code { $($name),* }
    };
}

codes! {
    // 64-bit ALU, immediate (K) and register (X) forms.
    Add64K, Add64X, Sub64K, Sub64X, Mul64K, Mul64X, Div64K, Div64X, Sdiv64K, Sdiv64X,
    Or64K, Or64X, And64K, And64X, Lsh64K, Lsh64X, Rsh64K, Rsh64X, Mod64K, Mod64X,
    Smod64K, Smod64X, Xor64K, Xor64X, Mov64K, Mov64X, Arsh64K, Arsh64X, Neg64,
    // 32-bit ALU.
    Add32K, Add32X, Sub32K, Sub32X, Mul32K, Mul32X, Div32K, Div32X, Sdiv32K, Sdiv32X,
    Or32K, Or32X, And32K, And32X, Lsh32K, Lsh32X, Rsh32K, Rsh32X, Mod32K, Mod32X,
    Smod32K, Smod32X, Xor32K, Xor32X, Mov32K, Mov32X, Arsh32K, Arsh32X, Neg32,
    // Sign-extending moves: source bits, destination width.
    Movsx8_32, Movsx16_32, Movsx8_64, Movsx16_64, Movsx32_64,
    // Byte order. Le64 is a no-op on little-endian hosts; bswap is the same as be.
    Le16, Le32, Be16, Be32, Be64, Nop,
    // 64-bit immediate (also the ld_imm64 with a resolved value).
    LdImm64,
    // Jumps. `off` holds the absolute target.
    Ja,
    Jeq64K, Jeq64X, Jgt64K, Jgt64X, Jge64K, Jge64X, Jset64K, Jset64X, Jne64K, Jne64X,
    Jsgt64K, Jsgt64X, Jsge64K, Jsge64X, Jlt64K, Jlt64X, Jle64K, Jle64X, Jslt64K, Jslt64X,
    Jsle64K, Jsle64X,
    Jeq32K, Jeq32X, Jgt32K, Jgt32X, Jge32K, Jge32X, Jset32K, Jset32X, Jne32K, Jne32X,
    Jsgt32K, Jsgt32X, Jsge32K, Jsge32X, Jlt32K, Jlt32X, Jle32K, Jle32X, Jslt32K, Jslt32X,
    Jsle32K, Jsle32X,
    MayGoto,
    // Calls and exit.
    CallHelper, CallLocal, CallX, Exit,
    // Memory.
    Ldx8, Ldx16, Ldx32, Ldx64, Ldxs8, Ldxs16, Ldxs32,
    St8, St16, St32, St64, Stx8, Stx16, Stx32, Stx64,
    Atomic,
    LdAbs, LdInd,
    // Instructions that exist but cannot run here (kfuncs, unresolved pseudo ld_imm64,
    // addr_space_cast), and the second slot of ld_imm64 (never reached: jumps there are
    // rejected at load).
    Unsupported,
    // Sentinel after the last slot: reaching it means control left the program.
    OutOfProgram,
}

/// One prepared instruction slot (16 bytes).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Op {
    pub(crate) code: Code,
    pub(crate) dst: u8,
    pub(crate) src: u8,
    /// Sub-operation for `Atomic` (the atomic `imm`'s op and fetch bit, packed) and size for
    /// `LdAbs`/`LdInd`/`Atomic`.
    pub(crate) aux: u8,
    /// Memory displacement; absolute target for jumps and local calls.
    pub(crate) off: i32,
    /// Immediate, sign-extended to 64 bits; the full value for `LdImm64`.
    pub(crate) imm: i64,
}

impl Op {
    const fn new(code: Code, dst: u8, src: u8, off: i32, imm: i64) -> Op {
        Op {
            code,
            dst,
            src,
            aux: 0,
            off,
            imm,
        }
    }
}

/// A decoded program, ready to run on a [`crate::Vm`].
#[derive(Debug, Clone)]
pub struct Program {
    pub(crate) ops: Vec<Op>,
    slots: usize,
    /// Slots where functions start (0, local call targets, `BPF_PSEUDO_FUNC` targets),
    /// sorted: what a callback value may name.
    functions: Vec<usize>,
}

impl Program {
    /// Prepares a program from its instruction slots.
    pub fn from_slots(slots: &[RawInsn]) -> Result<Program, LoadError> {
        if slots.is_empty() {
            return Err(LoadError::Empty);
        }
        let max = ebpfvm_abi::limits::MAX_PROGRAM_SLOTS;
        if slots.len() > max {
            return Err(LoadError::TooLarge {
                slots: slots.len(),
                max,
            });
        }
        let insns = decode_all(slots)?;
        Program::from_insns(&insns, slots.len())
    }

    /// Prepares a program from raw little-endian bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Program, LoadError> {
        Program::from_slots(&ebpfvm_isa::slots_from_bytes(bytes)?)
    }

    /// Prepares a program from decoded `(pc, insn)` pairs covering `slots` slots.
    pub fn from_insns(insns: &[(usize, Insn)], slots: usize) -> Result<Program, LoadError> {
        if slots == 0 {
            return Err(LoadError::Empty);
        }
        let mut ops = vec![Op::new(Code::Unsupported, 0, 0, 0, 0); slots + 1];
        ops[slots] = Op::new(Code::OutOfProgram, 0, 0, 0, 0);
        let mut starts = vec![false; slots];
        let mut functions = vec![0usize];
        for &(pc, _) in insns {
            starts[pc] = true;
        }
        for &(pc, insn) in insns {
            let target = |off: i64| -> Result<i32, LoadError> {
                let t = pc as i64 + 1 + off;
                if t >= 0 && (t as usize) < slots && starts[t as usize] {
                    Ok(t as i32)
                } else {
                    Err(LoadError::BadJumpTarget { pc, target: t })
                }
            };
            ops[pc] = lower(insn, &target)?;
            match insn {
                Insn::Call(Call::Local(_))
                | Insn::LdImm64 {
                    imm: Imm64::Func(_),
                    ..
                } => functions.push(ops[pc].off as usize),
                _ => {}
            }
        }
        functions.sort_unstable();
        functions.dedup();
        Ok(Program {
            ops,
            slots,
            functions,
        })
    }

    /// Number of instruction slots.
    pub fn len(&self) -> usize {
        self.slots
    }

    /// Whether a function starts at slot `pc` (the entry, a local call target or a
    /// callback referenced by a `BPF_PSEUDO_FUNC` `ld_imm64`).
    pub fn is_function(&self, pc: usize) -> bool {
        self.functions.binary_search(&pc).is_ok()
    }

    /// Whether the program has no instructions (never true for a loaded program).
    pub fn is_empty(&self) -> bool {
        self.slots == 0
    }
}

fn reg(r: ebpfvm_isa::Reg) -> u8 {
    r.num()
}

fn lower(insn: Insn, target: &dyn Fn(i64) -> Result<i32, LoadError>) -> Result<Op, LoadError> {
    use Code::*;
    Ok(match insn {
        Insn::Alu {
            width,
            op,
            dst,
            src,
        } => {
            let (x, s, imm) = match src {
                Source::Reg(r) => (true, reg(r), 0),
                Source::Imm(i) => (false, 0, i as i64),
            };
            let code = alu_code(width, op, x);
            Op::new(code, reg(dst), s, 0, imm)
        }
        Insn::Neg { width, dst } => {
            Op::new(if width.is_64() { Neg64 } else { Neg32 }, reg(dst), 0, 0, 0)
        }
        Insn::MovSx {
            width,
            dst,
            src,
            bits,
        } => {
            let code = match (width, bits) {
                (Width::W32, 8) => Movsx8_32,
                (Width::W32, _) => Movsx16_32,
                (Width::W64, 8) => Movsx8_64,
                (Width::W64, 16) => Movsx16_64,
                (Width::W64, _) => Movsx32_64,
            };
            Op::new(code, reg(dst), reg(src), 0, 0)
        }
        Insn::AddrSpaceCast { .. } => Op::new(Unsupported, 0, 0, 0, 0),
        Insn::Endian { order, bits, dst } => {
            let code = match (order, bits) {
                (ByteOrder::ToLe, 16) => Le16,
                (ByteOrder::ToLe, 32) => Le32,
                (ByteOrder::ToLe, _) => Nop,
                (ByteOrder::ToBe | ByteOrder::Swap, 16) => Be16,
                (ByteOrder::ToBe | ByteOrder::Swap, 32) => Be32,
                (ByteOrder::ToBe | ByteOrder::Swap, _) => Be64,
            };
            Op::new(code, reg(dst), 0, 0, 0)
        }
        Insn::Ja { off, .. } => Op::new(Ja, 0, 0, target(off as i64)?, 0),
        Insn::Jmp {
            width,
            cond,
            dst,
            src,
            off,
        } => {
            let (x, s, imm) = match src {
                Source::Reg(r) => (true, reg(r), 0),
                Source::Imm(i) => (false, 0, i as i64),
            };
            Op::new(
                jmp_code(width, cond, x),
                reg(dst),
                s,
                target(off as i64)?,
                imm,
            )
        }
        Insn::MayGoto { off } => Op::new(MayGoto, 0, 0, target(off as i64)?, 0),
        Insn::Call(Call::Helper(id)) => Op::new(CallHelper, 0, 0, 0, id as i64),
        Insn::Call(Call::Local(off)) => Op::new(CallLocal, 0, 0, target(off as i64)?, 0),
        Insn::Call(Call::Kfunc { .. }) => Op::new(Unsupported, 0, 0, 0, 0),
        Insn::CallX { dst } => Op::new(CallX, reg(dst), 0, 0, 0),
        Insn::Exit => Op::new(Exit, 0, 0, 0, 0),
        Insn::LdImm64 {
            dst,
            imm: Imm64::Value(v),
        } => Op::new(LdImm64, reg(dst), 0, 0, v as i64),
        // A callback's value is its slot index; helpers hand it back to `call_function`.
        // `off` keeps the target for the function table.
        Insn::LdImm64 {
            dst,
            imm: Imm64::Func(off),
        } => {
            let t = target(off as i64)?;
            Op::new(LdImm64, reg(dst), 0, t, t as i64)
        }
        Insn::LdImm64 { .. } => Op::new(Unsupported, 0, 0, 0, 0),
        Insn::LdAbs { size, imm } => Op {
            aux: size.bytes() as u8,
            ..Op::new(LdAbs, 0, 0, 0, imm as i64)
        },
        Insn::LdInd { size, src, imm } => Op {
            aux: size.bytes() as u8,
            ..Op::new(LdInd, 0, reg(src), 0, imm as i64)
        },
        Insn::Load {
            size,
            signed,
            dst,
            src,
            off,
        } => {
            let code = match (signed, size) {
                (false, Size::B) => Ldx8,
                (false, Size::H) => Ldx16,
                (false, Size::W) => Ldx32,
                (false, Size::DW) => Ldx64,
                (true, Size::B) => Ldxs8,
                (true, Size::H) => Ldxs16,
                (true, _) => Ldxs32,
            };
            Op::new(code, reg(dst), reg(src), off as i32, 0)
        }
        Insn::Store {
            size,
            dst,
            off,
            src: Source::Imm(imm),
        } => {
            let code = match size {
                Size::B => St8,
                Size::H => St16,
                Size::W => St32,
                Size::DW => St64,
            };
            Op::new(code, reg(dst), 0, off as i32, imm as i64)
        }
        Insn::Store {
            size,
            dst,
            off,
            src: Source::Reg(src),
        } => {
            let code = match size {
                Size::B => Stx8,
                Size::H => Stx16,
                Size::W => Stx32,
                Size::DW => Stx64,
            };
            Op::new(code, reg(dst), reg(src), off as i32, 0)
        }
        Insn::Atomic {
            size,
            op,
            fetch,
            dst,
            src,
            off,
        } => Op {
            aux: size.bytes() as u8,
            ..Op::new(
                Atomic,
                reg(dst),
                reg(src),
                off as i32,
                atomic_imm(op, fetch),
            )
        },
    })
}

/// The atomic operation packed back into its `imm` encoding (op code | fetch bit).
fn atomic_imm(op: AtomicOp, fetch: bool) -> i64 {
    (op.code() | i32::from(fetch)) as i64
}

fn alu_code(width: Width, op: AluOp, x: bool) -> Code {
    use Code::*;
    let pair = |k: Code, r: Code| if x { r } else { k };
    match (width, op) {
        (Width::W64, AluOp::Add) => pair(Add64K, Add64X),
        (Width::W64, AluOp::Sub) => pair(Sub64K, Sub64X),
        (Width::W64, AluOp::Mul) => pair(Mul64K, Mul64X),
        (Width::W64, AluOp::Div) => pair(Div64K, Div64X),
        (Width::W64, AluOp::Sdiv) => pair(Sdiv64K, Sdiv64X),
        (Width::W64, AluOp::Or) => pair(Or64K, Or64X),
        (Width::W64, AluOp::And) => pair(And64K, And64X),
        (Width::W64, AluOp::Lsh) => pair(Lsh64K, Lsh64X),
        (Width::W64, AluOp::Rsh) => pair(Rsh64K, Rsh64X),
        (Width::W64, AluOp::Mod) => pair(Mod64K, Mod64X),
        (Width::W64, AluOp::Smod) => pair(Smod64K, Smod64X),
        (Width::W64, AluOp::Xor) => pair(Xor64K, Xor64X),
        (Width::W64, AluOp::Mov) => pair(Mov64K, Mov64X),
        (Width::W64, AluOp::Arsh) => pair(Arsh64K, Arsh64X),
        (Width::W32, AluOp::Add) => pair(Add32K, Add32X),
        (Width::W32, AluOp::Sub) => pair(Sub32K, Sub32X),
        (Width::W32, AluOp::Mul) => pair(Mul32K, Mul32X),
        (Width::W32, AluOp::Div) => pair(Div32K, Div32X),
        (Width::W32, AluOp::Sdiv) => pair(Sdiv32K, Sdiv32X),
        (Width::W32, AluOp::Or) => pair(Or32K, Or32X),
        (Width::W32, AluOp::And) => pair(And32K, And32X),
        (Width::W32, AluOp::Lsh) => pair(Lsh32K, Lsh32X),
        (Width::W32, AluOp::Rsh) => pair(Rsh32K, Rsh32X),
        (Width::W32, AluOp::Mod) => pair(Mod32K, Mod32X),
        (Width::W32, AluOp::Smod) => pair(Smod32K, Smod32X),
        (Width::W32, AluOp::Xor) => pair(Xor32K, Xor32X),
        (Width::W32, AluOp::Mov) => pair(Mov32K, Mov32X),
        (Width::W32, AluOp::Arsh) => pair(Arsh32K, Arsh32X),
    }
}

fn jmp_code(width: Width, cond: JmpCond, x: bool) -> Code {
    use Code::*;
    let pair = |k: Code, r: Code| if x { r } else { k };
    match (width, cond) {
        (Width::W64, JmpCond::Eq) => pair(Jeq64K, Jeq64X),
        (Width::W64, JmpCond::Gt) => pair(Jgt64K, Jgt64X),
        (Width::W64, JmpCond::Ge) => pair(Jge64K, Jge64X),
        (Width::W64, JmpCond::Set) => pair(Jset64K, Jset64X),
        (Width::W64, JmpCond::Ne) => pair(Jne64K, Jne64X),
        (Width::W64, JmpCond::Sgt) => pair(Jsgt64K, Jsgt64X),
        (Width::W64, JmpCond::Sge) => pair(Jsge64K, Jsge64X),
        (Width::W64, JmpCond::Lt) => pair(Jlt64K, Jlt64X),
        (Width::W64, JmpCond::Le) => pair(Jle64K, Jle64X),
        (Width::W64, JmpCond::Slt) => pair(Jslt64K, Jslt64X),
        (Width::W64, JmpCond::Sle) => pair(Jsle64K, Jsle64X),
        (Width::W32, JmpCond::Eq) => pair(Jeq32K, Jeq32X),
        (Width::W32, JmpCond::Gt) => pair(Jgt32K, Jgt32X),
        (Width::W32, JmpCond::Ge) => pair(Jge32K, Jge32X),
        (Width::W32, JmpCond::Set) => pair(Jset32K, Jset32X),
        (Width::W32, JmpCond::Ne) => pair(Jne32K, Jne32X),
        (Width::W32, JmpCond::Sgt) => pair(Jsgt32K, Jsgt32X),
        (Width::W32, JmpCond::Sge) => pair(Jsge32K, Jsge32X),
        (Width::W32, JmpCond::Lt) => pair(Jlt32K, Jlt32X),
        (Width::W32, JmpCond::Le) => pair(Jle32K, Jle32X),
        (Width::W32, JmpCond::Slt) => pair(Jslt32K, Jslt32X),
        (Width::W32, JmpCond::Sle) => pair(Jsle32K, Jsle32X),
    }
}
