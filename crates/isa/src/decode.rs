//! Strict decoding: instruction slots → [`Insn`].
//!
//! Every field an instruction does not use must be zero (RFC 9669 §3.1); every register must
//! be r0–r10; every discriminating field (`src` of `call` and `ld_imm64`, `imm` of atomics and
//! byte swaps, `offset` of ALU operations) must hold a defined value.

use alloc::vec::Vec;

use crate::error::{DecodeError, DecodeErrorKind, Field};
use crate::insn::{Call, Imm64, Insn, Source, Width};
use crate::opcodes::{
    class, mode, op, source, AluOp, AtomicOp, ByteOrder, JmpCond, Size, ATOMIC_FETCH,
};
use crate::raw::RawInsn;
use crate::reg::Reg;

type Result<T> = core::result::Result<T, DecodeErrorKind>;

/// Decodes the instruction starting at slot `pc` of `slots`.
pub fn decode_at(slots: &[RawInsn], pc: usize) -> core::result::Result<Insn, DecodeError> {
    let raw = match slots.get(pc) {
        Some(r) => *r,
        None => {
            return Err(DecodeError {
                pc,
                kind: DecodeErrorKind::MissingLdImm64Slot,
            });
        }
    };
    decode_raw(raw, slots.get(pc + 1).copied()).map_err(|kind| DecodeError { pc, kind })
}

/// Decodes a whole program into `(pc, insn)` pairs, where `pc` is the slot index.
pub fn decode_all(slots: &[RawInsn]) -> core::result::Result<Vec<(usize, Insn)>, DecodeError> {
    Decoder::new(slots).collect()
}

/// Iterator over the instructions of a program, yielding `(pc, insn)` or the first error.
#[derive(Debug, Clone)]
pub struct Decoder<'a> {
    slots: &'a [RawInsn],
    pc: usize,
    failed: bool,
}

impl<'a> Decoder<'a> {
    /// Starts decoding at slot 0.
    pub fn new(slots: &'a [RawInsn]) -> Decoder<'a> {
        Decoder {
            slots,
            pc: 0,
            failed: false,
        }
    }
}

impl Iterator for Decoder<'_> {
    type Item = core::result::Result<(usize, Insn), DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pc >= self.slots.len() {
            return None;
        }
        let pc = self.pc;
        match decode_at(self.slots, pc) {
            Ok(insn) => {
                self.pc += insn.slots();
                Some(Ok((pc, insn)))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Decodes one instruction from its first slot and, for `ld_imm64`, the following slot.
pub fn decode_raw(
    raw: RawInsn,
    next: Option<RawInsn>,
) -> core::result::Result<Insn, DecodeErrorKind> {
    match raw.class() {
        class::ALU | class::ALU64 => decode_alu(raw),
        class::JMP | class::JMP32 => decode_jmp(raw),
        class::LD => decode_ld(raw, next),
        class::LDX => decode_ldx(raw),
        class::ST => decode_st(raw),
        class::STX => decode_stx(raw),
        _ => unreachable!("class is three bits"),
    }
}

fn unknown(raw: RawInsn) -> DecodeErrorKind {
    DecodeErrorKind::UnknownOpcode { opcode: raw.opcode }
}

fn reg(raw: RawInsn, field: Field) -> Result<Reg> {
    let n = if field == Field::Dst {
        raw.dst
    } else {
        raw.src
    };
    Reg::new(n).ok_or(DecodeErrorKind::BadRegister {
        opcode: raw.opcode,
        field,
        reg: n,
    })
}

fn zero(raw: RawInsn, field: Field) -> Result<()> {
    let value = match field {
        Field::Dst => raw.dst as i64,
        Field::Src => raw.src as i64,
        Field::Off => raw.off as i64,
        Field::Imm => raw.imm as i64,
    };
    if value == 0 {
        Ok(())
    } else {
        Err(DecodeErrorKind::ReservedField {
            opcode: raw.opcode,
            field,
            value,
        })
    }
}

fn invalid(raw: RawInsn, field: Field) -> DecodeErrorKind {
    let value = match field {
        Field::Dst => raw.dst as i64,
        Field::Src => raw.src as i64,
        Field::Off => raw.off as i64,
        Field::Imm => raw.imm as i64,
    };
    DecodeErrorKind::InvalidField {
        opcode: raw.opcode,
        field,
        value,
    }
}

fn width_of_alu(raw: RawInsn) -> Width {
    if raw.class() == class::ALU64 {
        Width::W64
    } else {
        Width::W32
    }
}

/// Decodes the source operand of an ALU or JMP instruction; the unused field must be zero.
fn source_operand(raw: RawInsn) -> Result<Source> {
    if raw.opcode & source::X != 0 {
        zero(raw, Field::Imm)?;
        Ok(Source::Reg(reg(raw, Field::Src)?))
    } else {
        zero(raw, Field::Src)?;
        Ok(Source::Imm(raw.imm))
    }
}

fn decode_alu(raw: RawInsn) -> Result<Insn> {
    let width = width_of_alu(raw);
    let opbits = raw.opcode & 0xf0;
    let x = raw.opcode & source::X != 0;
    match opbits {
        0x80 => {
            // NEG: K form only, every other field zero.
            if x {
                return Err(unknown(raw));
            }
            zero(raw, Field::Src)?;
            zero(raw, Field::Off)?;
            zero(raw, Field::Imm)?;
            Ok(Insn::Neg {
                width,
                dst: reg(raw, Field::Dst)?,
            })
        }
        0xd0 => {
            let order = match (width, x) {
                (Width::W32, false) => ByteOrder::ToLe,
                (Width::W32, true) => ByteOrder::ToBe,
                (Width::W64, false) => ByteOrder::Swap,
                (Width::W64, true) => return Err(unknown(raw)),
            };
            zero(raw, Field::Src)?;
            zero(raw, Field::Off)?;
            let bits = match raw.imm {
                16 | 32 | 64 => raw.imm as u8,
                _ => return Err(invalid(raw, Field::Imm)),
            };
            Ok(Insn::Endian {
                order,
                bits,
                dst: reg(raw, Field::Dst)?,
            })
        }
        0xb0 if x && raw.off != 0 => {
            let dst = reg(raw, Field::Dst)?;
            let src = reg(raw, Field::Src)?;
            match (width, raw.off) {
                (_, 8) | (_, 16) | (Width::W64, 32) => {
                    zero(raw, Field::Imm)?;
                    Ok(Insn::MovSx {
                        width,
                        dst,
                        src,
                        bits: raw.off as u8,
                    })
                }
                // Linux allows only the two arena casts: imm = dst_as << 16 | src_as, with
                // address spaces 0 and 1.
                (Width::W64, 1) if raw.imm == 1 || raw.imm == 1 << 16 => Ok(Insn::AddrSpaceCast {
                    dst,
                    src,
                    imm: raw.imm,
                }),
                (Width::W64, 1) => Err(invalid(raw, Field::Imm)),
                _ => Err(invalid(raw, Field::Off)),
            }
        }
        _ => {
            let code = ((opbits as u16) << 4) | raw.off as u16;
            let op = match AluOp::from_code(code) {
                Some(op) if raw.off == 0 || raw.off == 1 => op,
                _ => {
                    return Err(if AluOp::from_code((opbits as u16) << 4).is_some() {
                        invalid(raw, Field::Off)
                    } else {
                        unknown(raw)
                    })
                }
            };
            let src = source_operand(raw)?;
            Ok(Insn::Alu {
                width,
                op,
                dst: reg(raw, Field::Dst)?,
                src,
            })
        }
    }
}

fn decode_jmp(raw: RawInsn) -> Result<Insn> {
    let opbits = raw.opcode & 0xf0;
    let wide = raw.class() == class::JMP;
    match raw.opcode {
        op::JA => {
            zero(raw, Field::Dst)?;
            zero(raw, Field::Src)?;
            zero(raw, Field::Imm)?;
            return Ok(Insn::Ja {
                off: raw.off as i32,
                long: false,
            });
        }
        op::JA32 => {
            zero(raw, Field::Dst)?;
            zero(raw, Field::Src)?;
            zero(raw, Field::Off)?;
            return Ok(Insn::Ja {
                off: raw.imm,
                long: true,
            });
        }
        op::CALL => {
            zero(raw, Field::Dst)?;
            let call = match raw.src {
                0 => {
                    zero(raw, Field::Off)?;
                    Call::Helper(raw.imm)
                }
                1 => {
                    zero(raw, Field::Off)?;
                    Call::Local(raw.imm)
                }
                2 => Call::Kfunc {
                    btf_id: raw.imm,
                    module: raw.off,
                },
                _ => return Err(invalid(raw, Field::Src)),
            };
            return Ok(Insn::Call(call));
        }
        op::CALLX => {
            zero(raw, Field::Src)?;
            zero(raw, Field::Off)?;
            zero(raw, Field::Imm)?;
            return Ok(Insn::CallX {
                dst: reg(raw, Field::Dst)?,
            });
        }
        op::EXIT => {
            zero(raw, Field::Dst)?;
            zero(raw, Field::Src)?;
            zero(raw, Field::Off)?;
            zero(raw, Field::Imm)?;
            return Ok(Insn::Exit);
        }
        op::MAY_GOTO => {
            zero(raw, Field::Dst)?;
            zero(raw, Field::Src)?;
            zero(raw, Field::Imm)?;
            return Ok(Insn::MayGoto { off: raw.off });
        }
        _ => {}
    }
    let cond = JmpCond::from_code(opbits).ok_or_else(|| unknown(raw))?;
    let src = source_operand(raw)?;
    Ok(Insn::Jmp {
        width: if wide { Width::W64 } else { Width::W32 },
        cond,
        dst: reg(raw, Field::Dst)?,
        src,
        off: raw.off,
    })
}

fn size_of(raw: RawInsn) -> Size {
    Size::from_code(raw.opcode & 0x18).expect("every size code is defined")
}

fn decode_ld(raw: RawInsn, next: Option<RawInsn>) -> Result<Insn> {
    let size = size_of(raw);
    match (raw.opcode & 0xe0, size) {
        (mode::IMM, Size::DW) => {
            zero(raw, Field::Off)?;
            let dst = reg(raw, Field::Dst)?;
            let next = next.ok_or(DecodeErrorKind::MissingLdImm64Slot)?;
            if next.opcode != 0 || next.dst != 0 || next.src != 0 || next.off != 0 {
                return Err(DecodeErrorKind::BadLdImm64Slot);
            }
            let imm = Imm64::from_parts(raw.src, raw.imm, next.imm)
                .ok_or_else(|| invalid(raw, Field::Src))?;
            if matches!(imm, Imm64::MapFd(_) | Imm64::Func(_) | Imm64::MapIdx(_)) && next.imm != 0 {
                return Err(DecodeErrorKind::BadLdImm64Slot);
            }
            Ok(Insn::LdImm64 { dst, imm })
        }
        (mode::ABS, Size::B | Size::H | Size::W) => {
            zero(raw, Field::Dst)?;
            zero(raw, Field::Src)?;
            zero(raw, Field::Off)?;
            Ok(Insn::LdAbs { size, imm: raw.imm })
        }
        (mode::IND, Size::B | Size::H | Size::W) => {
            zero(raw, Field::Dst)?;
            zero(raw, Field::Off)?;
            Ok(Insn::LdInd {
                size,
                src: reg(raw, Field::Src)?,
                imm: raw.imm,
            })
        }
        _ => Err(unknown(raw)),
    }
}

fn decode_ldx(raw: RawInsn) -> Result<Insn> {
    let size = size_of(raw);
    let signed = match (raw.opcode & 0xe0, size) {
        (mode::MEM, _) => false,
        (mode::MEMSX, Size::B | Size::H | Size::W) => true,
        _ => return Err(unknown(raw)),
    };
    zero(raw, Field::Imm)?;
    Ok(Insn::Load {
        size,
        signed,
        dst: reg(raw, Field::Dst)?,
        src: reg(raw, Field::Src)?,
        off: raw.off,
    })
}

fn decode_st(raw: RawInsn) -> Result<Insn> {
    if raw.opcode & 0xe0 != mode::MEM {
        return Err(unknown(raw));
    }
    zero(raw, Field::Src)?;
    Ok(Insn::Store {
        size: size_of(raw),
        dst: reg(raw, Field::Dst)?,
        off: raw.off,
        src: Source::Imm(raw.imm),
    })
}

fn decode_stx(raw: RawInsn) -> Result<Insn> {
    let size = size_of(raw);
    match raw.opcode & 0xe0 {
        mode::MEM => {
            zero(raw, Field::Imm)?;
            Ok(Insn::Store {
                size,
                dst: reg(raw, Field::Dst)?,
                off: raw.off,
                src: Source::Reg(reg(raw, Field::Src)?),
            })
        }
        mode::ATOMIC => {
            let fetch = raw.imm & ATOMIC_FETCH != 0;
            let op = AtomicOp::from_code(raw.imm & !ATOMIC_FETCH)
                .ok_or_else(|| invalid(raw, Field::Imm))?;
            let fetch_ok = if op.always_fetches() {
                fetch
            } else if op.is_acquire_release() {
                !fetch
            } else {
                true
            };
            let size_ok = op.is_acquire_release() || matches!(size, Size::W | Size::DW);
            if !fetch_ok {
                return Err(invalid(raw, Field::Imm));
            }
            if !size_ok {
                return Err(unknown(raw));
            }
            Ok(Insn::Atomic {
                size,
                op,
                fetch,
                dst: reg(raw, Field::Dst)?,
                src: reg(raw, Field::Src)?,
                off: raw.off,
            })
        }
        _ => Err(unknown(raw)),
    }
}
