//! Encoding: [`Insn`] → instruction slots. The inverse of [`crate::decode`] for every
//! instruction that decodes.
//!
//! [`Insn`] can hold field values the wire format cannot (a short `goto` offset beyond 16
//! bits, a byte swap of 8 bits, ...). [`Insn::try_encode`] refuses them with the
//! [`InvalidInsn`] that [`Insn::validate`] reports; [`Insn::encode`] and [`encode_all`] are for
//! instructions already known to be valid (decoded, assembled, or built from valid parts) and
//! check that only in debug builds.

use alloc::vec::Vec;

use crate::insn::{Call, Insn, InvalidInsn, Source, Width};
use crate::opcodes::{class, mode, op, source, ByteOrder, ATOMIC_FETCH};
use crate::raw::RawInsn;

/// The one or two slots of an encoded instruction.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Encoded {
    /// First slot.
    pub first: RawInsn,
    /// Second slot, for `ld_imm64` only.
    pub second: Option<RawInsn>,
}

impl Encoded {
    fn one(first: RawInsn) -> Encoded {
        Encoded {
            first,
            second: None,
        }
    }
}

fn alu_class(width: Width) -> u8 {
    if width.is_64() {
        class::ALU64
    } else {
        class::ALU
    }
}

fn jmp_class(width: Width) -> u8 {
    if width.is_64() {
        class::JMP
    } else {
        class::JMP32
    }
}

/// `(source bit, src register, imm)` of a source operand.
fn source_fields(src: Source) -> (u8, u8, i32) {
    match src {
        Source::Reg(r) => (source::X, r.num(), 0),
        Source::Imm(i) => (source::K, 0, i),
    }
}

impl Insn {
    /// Encodes a valid instruction.
    ///
    /// Only meaningful when [`Insn::validate`] accepts the instruction: for an invalid one the
    /// out-of-range field is written truncated, and the slots decode to a different
    /// instruction or not at all. Debug builds panic on an invalid instruction; use
    /// [`Insn::try_encode`] for instructions of unknown origin.
    pub fn encode(&self) -> Encoded {
        debug_assert!(
            self.validate().is_ok(),
            "Insn::encode on an invalid instruction {:?}: {}",
            self,
            self.validate().unwrap_err()
        );
        self.encode_fields()
    }

    /// Encodes the instruction, or says why it has no encoding.
    pub fn try_encode(&self) -> Result<Encoded, InvalidInsn> {
        self.validate()?;
        Ok(self.encode_fields())
    }

    /// Writes the fields into slots without checking that they fit.
    fn encode_fields(&self) -> Encoded {
        match *self {
            Insn::Alu {
                width,
                op,
                dst,
                src,
            } => {
                let (s, sreg, imm) = source_fields(src);
                Encoded::one(RawInsn::new(
                    op.op_bits() | s | alu_class(width),
                    dst.num(),
                    sreg,
                    op.offset(),
                    imm,
                ))
            }
            Insn::Neg { width, dst } => {
                Encoded::one(RawInsn::new(0x80 | alu_class(width), dst.num(), 0, 0, 0))
            }
            Insn::MovSx {
                width,
                dst,
                src,
                bits,
            } => Encoded::one(RawInsn::new(
                0xb0 | source::X | alu_class(width),
                dst.num(),
                src.num(),
                bits as i16,
                0,
            )),
            Insn::AddrSpaceCast { dst, src, imm } => Encoded::one(RawInsn::new(
                0xb0 | source::X | class::ALU64,
                dst.num(),
                src.num(),
                1,
                imm,
            )),
            Insn::Endian { order, bits, dst } => {
                let opcode = match order {
                    ByteOrder::ToLe | ByteOrder::ToBe | ByteOrder::Swap => order.code(),
                };
                Encoded::one(RawInsn::new(opcode, dst.num(), 0, 0, bits as i32))
            }
            Insn::Ja { off, long: false } => {
                Encoded::one(RawInsn::new(op::JA, 0, 0, off as i16, 0))
            }
            Insn::Ja { off, long: true } => Encoded::one(RawInsn::new(op::JA32, 0, 0, 0, off)),
            Insn::Jmp {
                width,
                cond,
                dst,
                src,
                off,
            } => {
                let (s, sreg, imm) = source_fields(src);
                Encoded::one(RawInsn::new(
                    cond.code() | s | jmp_class(width),
                    dst.num(),
                    sreg,
                    off,
                    imm,
                ))
            }
            Insn::MayGoto { off } => Encoded::one(RawInsn::new(op::MAY_GOTO, 0, 0, off, 0)),
            Insn::Call(call) => Encoded::one(match call {
                Call::Helper(id) => RawInsn::new(op::CALL, 0, 0, 0, id),
                Call::Local(off) => RawInsn::new(op::CALL, 0, 1, 0, off),
                Call::Kfunc { btf_id, module } => RawInsn::new(op::CALL, 0, 2, module, btf_id),
            }),
            Insn::CallX { dst } => Encoded::one(RawInsn::new(op::CALLX, dst.num(), 0, 0, 0)),
            Insn::Exit => Encoded::one(RawInsn::new(op::EXIT, 0, 0, 0, 0)),
            Insn::LdImm64 { dst, imm } => {
                let (lo, hi) = imm.words();
                Encoded {
                    first: RawInsn::new(op::LD_IMM64, dst.num(), imm.src(), 0, lo),
                    second: Some(RawInsn::new(0, 0, 0, 0, hi)),
                }
            }
            Insn::LdAbs { size, imm } => Encoded::one(RawInsn::new(
                class::LD | mode::ABS | size.code(),
                0,
                0,
                0,
                imm,
            )),
            Insn::LdInd { size, src, imm } => Encoded::one(RawInsn::new(
                class::LD | mode::IND | size.code(),
                0,
                src.num(),
                0,
                imm,
            )),
            Insn::Load {
                size,
                signed,
                dst,
                src,
                off,
            } => {
                let m = if signed { mode::MEMSX } else { mode::MEM };
                Encoded::one(RawInsn::new(
                    class::LDX | m | size.code(),
                    dst.num(),
                    src.num(),
                    off,
                    0,
                ))
            }
            Insn::Store {
                size,
                dst,
                off,
                src: Source::Imm(imm),
            } => Encoded::one(RawInsn::new(
                class::ST | mode::MEM | size.code(),
                dst.num(),
                0,
                off,
                imm,
            )),
            Insn::Store {
                size,
                dst,
                off,
                src: Source::Reg(src),
            } => Encoded::one(RawInsn::new(
                class::STX | mode::MEM | size.code(),
                dst.num(),
                src.num(),
                off,
                0,
            )),
            Insn::Atomic {
                size,
                op,
                fetch,
                dst,
                src,
                off,
            } => {
                let imm = op.code() | if fetch { ATOMIC_FETCH } else { 0 };
                Encoded::one(RawInsn::new(
                    class::STX | mode::ATOMIC | size.code(),
                    dst.num(),
                    src.num(),
                    off,
                    imm,
                ))
            }
        }
    }

    /// Appends the encoded slots to `out`. Like [`Insn::encode`], only meaningful for a valid
    /// instruction.
    pub fn encode_into(&self, out: &mut Vec<RawInsn>) {
        let e = self.encode();
        out.push(e.first);
        if let Some(s) = e.second {
            out.push(s);
        }
    }
}

/// Encodes a sequence of valid instructions into slots (see [`Insn::encode`]).
pub fn encode_all<'a>(insns: impl IntoIterator<Item = &'a Insn>) -> Vec<RawInsn> {
    let mut out = Vec::new();
    for i in insns {
        i.encode_into(&mut out);
    }
    out
}
