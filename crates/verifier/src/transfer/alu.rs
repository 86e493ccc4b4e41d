//! ALU instructions: scalar arithmetic through the domain, pointer arithmetic as Linux
//! allows it (privileged).

use ebpfvm_isa::{AluOp, ByteOrder, Reg as IsaReg, Source, Width};

use crate::num;
use crate::state::{Reg, RegType, State};
use crate::transfer::{check_readable, check_writable_dst, Fail};

/// Linux's operator spelling (`bpf_alu_string`).
fn op_str(op: AluOp) -> &'static str {
    match op {
        AluOp::Add => "+=",
        AluOp::Sub => "-=",
        AluOp::Mul => "*=",
        AluOp::Div | AluOp::Sdiv => "/=",
        AluOp::Or => "|=",
        AluOp::And => "&=",
        AluOp::Lsh => "<<=",
        AluOp::Rsh => ">>=",
        AluOp::Mod | AluOp::Smod => "%=",
        AluOp::Xor => "^=",
        AluOp::Mov => "=",
        AluOp::Arsh => "s>>=",
    }
}

/// Largest fixed or variable pointer offset Linux accepts (`BPF_MAX_VAR_OFF`).
const MAX_VAR_OFF: i64 = 1 << 29;

/// `dst op= src`.
pub fn alu(st: &mut State, width: Width, op: AluOp, dst: IsaReg, src: Source) -> Result<(), Fail> {
    let d = dst.index();
    check_writable_dst(d)?;
    if let Source::Imm(imm) = src {
        let bits = if width.is_64() { 64 } else { 32 };
        match op {
            AluOp::Div | AluOp::Sdiv | AluOp::Mod | AluOp::Smod if imm == 0 => {
                return Err("division by zero".into())
            }
            AluOp::Lsh | AluOp::Rsh | AluOp::Arsh if !(0..bits).contains(&imm) => {
                return Err(format!("invalid shift {imm}").into())
            }
            _ => {}
        }
    }
    let src_reg = match src {
        Source::Reg(r) => {
            check_readable(st, r.index())?;
            st.reg(r.index()).clone()
        }
        Source::Imm(imm) => {
            let v = if width.is_64() {
                imm as i64 as u64
            } else {
                u64::from(imm as u32)
            };
            Reg::constant(v)
        }
    };
    if op == AluOp::Mov {
        let src_idx = match src {
            Source::Reg(r) => Some(r.index()),
            Source::Imm(_) => None,
        };
        mov(st, width, d, src_reg, src_idx);
        return Ok(());
    }
    check_readable(st, d)?;
    let dst_reg = st.reg(d).clone();
    let new = match (dst_reg.ty.is_pointer(), src_reg.ty.is_pointer()) {
        (false, false) => Reg::scalar(num::alu(op, width, &dst_reg.val, &src_reg.val)),
        _ if !width.is_64() => {
            if op == AluOp::Sub {
                Reg::scalar(num::unknown32())
            } else {
                return Err(format!("R{d} 32-bit pointer arithmetic prohibited").into());
            }
        }
        (true, true) => {
            if op == AluOp::Sub {
                Reg::unknown()
            } else {
                return Err(format!("R{d} pointer {} pointer prohibited", op_str(op)).into());
            }
        }
        (true, false) => ptr_arith(st, d, op, &dst_reg, &src_reg, d)?,
        (false, true) => {
            if op == AluOp::Sub {
                return Err(format!("R{d} tried to subtract pointer from scalar").into());
            }
            let s = match src {
                Source::Reg(r) => r.index(),
                Source::Imm(_) => d,
            };
            ptr_arith(st, d, op, &src_reg, &dst_reg, s)?
        }
    };
    *st.reg_mut(d) = new;
    Ok(())
}

fn mov(st: &mut State, width: Width, d: usize, src: Reg, src_idx: Option<usize>) {
    let new = if width.is_64() {
        let mut r = src;
        if r.ty == RegType::Scalar {
            if num::as_const(&r.val).is_some() {
                r.id = 0;
            } else if let Some(s) = src_idx {
                // Link the two copies so that a later comparison refines both.
                if r.id == 0 {
                    r.id = st.new_id();
                    st.reg_mut(s).id = r.id;
                }
            }
        }
        r
    } else if src.ty == RegType::Scalar {
        Reg::scalar(num::zext32(&src.val))
    } else {
        // Privileged: a 32-bit copy of a pointer is a meaningless number.
        Reg::scalar(num::unknown32())
    };
    *st.reg_mut(d) = new;
}

/// `ptr op= scalar` (or `scalar += ptr`, with the operands swapped): the result is written by
/// the caller into `dst`.
fn ptr_arith(
    st: &mut State,
    dst: usize,
    op: AluOp,
    ptr: &Reg,
    scalar: &Reg,
    _src: usize,
) -> Result<Reg, Fail> {
    match op {
        AluOp::Add | AluOp::Sub => {}
        AluOp::And | AluOp::Or | AluOp::Xor => {
            return Err(format!(
                "R{dst} bitwise operator {} on pointer prohibited",
                op_str(op)
            )
            .into())
        }
        _ => {
            return Err(format!(
                "R{dst} pointer arithmetic with {} operator prohibited",
                op_str(op)
            )
            .into())
        }
    }
    match ptr.ty {
        RegType::MapValueOrNull { .. } | RegType::MemOrNull { .. } => {
            return Err(format!(
                "R{dst} pointer arithmetic on {} prohibited, null-check it first",
                ptr.ty.name()
            )
            .into())
        }
        RegType::MapPtr { .. } if scalar.const_value() == Some(0) && op == AluOp::Add => {
            return Ok(ptr.clone())
        }
        RegType::MapPtr { .. }
        | RegType::PacketEnd
        | RegType::Func { .. }
        | RegType::MapKey { .. } => {
            return Err(format!("R{dst} pointer arithmetic on {} prohibited", ptr.ty.name()).into())
        }
        _ => {}
    }
    let mut out = ptr.clone();
    let name = ptr.ty.name();
    if let Some(c) = scalar.const_value() {
        let c = c as i64;
        if !(-MAX_VAR_OFF + 1..MAX_VAR_OFF).contains(&c) {
            return Err(format!("math between {name} pointer and {c} is not allowed").into());
        }
        let delta = if op == AluOp::Add {
            c
        } else {
            c.wrapping_neg()
        };
        let new_off = i64::from(ptr.off) + delta;
        if !(-MAX_VAR_OFF..MAX_VAR_OFF).contains(&delta)
            || !(-MAX_VAR_OFF..MAX_VAR_OFF).contains(&new_off)
        {
            return Err(
                format!("value {c} makes {} pointer be out of bounds", ptr.ty.name()).into(),
            );
        }
        out.off = new_off as i32;
        return Ok(out);
    }
    // A variable offset.
    let smin = num::smin(&scalar.val);
    if smin == i64::MIN {
        return Err(format!(
            "math between {name} pointer and register with unbounded min value is not allowed"
        )
        .into());
    }
    if smin <= -MAX_VAR_OFF || smin >= MAX_VAR_OFF {
        return Err(format!("value {smin} makes {name} pointer be out of bounds").into());
    }
    let val = if op == AluOp::Add {
        num::alu(AluOp::Add, Width::W64, &ptr.val, &scalar.val)
    } else {
        num::alu(AluOp::Sub, Width::W64, &ptr.val, &scalar.val)
    };
    out.val = val;
    if ptr.ty.is_pkt() {
        // A new variable part: the range learned so far no longer applies.
        out.id = st.new_id();
        out.range = 0;
    }
    Ok(out)
}

/// `dst = -dst`.
pub fn neg(st: &mut State, width: Width, dst: IsaReg) -> Result<(), Fail> {
    let d = dst.index();
    check_writable_dst(d)?;
    check_readable(st, d)?;
    let r = st.reg(d).clone();
    if r.ty.is_pointer() {
        // Privileged: the negation of a pointer is a meaningless number.
        *st.reg_mut(d) = Reg::unknown();
        return Ok(());
    }
    *st.reg_mut(d) = Reg::scalar(num::neg(width, &r.val));
    Ok(())
}

/// Byte swaps.
pub fn endian(st: &mut State, order: ByteOrder, bits: u8, dst: IsaReg) -> Result<(), Fail> {
    let d = dst.index();
    check_writable_dst(d)?;
    check_readable(st, d)?;
    let r = st.reg(d).clone();
    if r.ty.is_pointer() {
        *st.reg_mut(d) = Reg::unknown();
        return Ok(());
    }
    *st.reg_mut(d) = Reg::scalar(num::endian(order, bits, &r.val));
    Ok(())
}

/// Sign-extending moves.
pub fn movsx(st: &mut State, width: Width, dst: IsaReg, src: IsaReg, bits: u8) -> Result<(), Fail> {
    let d = dst.index();
    check_writable_dst(d)?;
    check_readable(st, src.index())?;
    let r = st.reg(src.index()).clone();
    let v = if r.ty.is_pointer() {
        num::unknown()
    } else {
        num::movsx(width, bits, &r.val)
    };
    *st.reg_mut(d) = Reg::scalar(v);
    Ok(())
}
