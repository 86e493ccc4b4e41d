//! The verifier's view of `ebpfvm-domain`: instruction-level names (ISA ALU ops, jump
//! conditions, widths) mapped onto the domain's operators, plus a few helpers.

use ebpfvm_domain::{AluOp as DOp, Cond, Outcome, Width as DWidth};
use ebpfvm_isa::{AluOp, ByteOrder, JmpCond, Width};

/// An abstract 64-bit value.
pub type Scalar = ebpfvm_domain::Scalar64;

/// Every value.
pub fn unknown() -> Scalar {
    Scalar::unknown()
}

/// Exactly `v`.
pub fn constant(v: u64) -> Scalar {
    Scalar::constant(v)
}

/// Any value of the low 32 bits, zero-extended.
pub fn unknown32() -> Scalar {
    unknown_bits(32)
}

/// Any zero-extended value of `bits` bits.
pub fn unknown_bits(bits: u32) -> Scalar {
    if bits >= 64 {
        unknown()
    } else {
        Scalar::from_urange(0, (1u64 << bits) - 1)
    }
}

/// The constant, if the value is one.
pub fn as_const(s: &Scalar) -> Option<u64> {
    s.is_const()
}

/// Signed minimum.
pub fn smin(s: &Scalar) -> i64 {
    s.smin()
}

/// Signed maximum.
pub fn smax(s: &Scalar) -> i64 {
    s.smax()
}

/// Unsigned minimum.
pub fn umin(s: &Scalar) -> u64 {
    s.umin()
}

/// Unsigned maximum.
pub fn umax(s: &Scalar) -> u64 {
    s.umax()
}

fn width(w: Width) -> DWidth {
    if w.is_64() {
        DWidth::Full
    } else {
        DWidth::Half
    }
}

fn op(o: AluOp) -> DOp {
    match o {
        AluOp::Add => DOp::Add,
        AluOp::Sub => DOp::Sub,
        AluOp::Mul => DOp::Mul,
        AluOp::Div => DOp::Div,
        AluOp::Sdiv => DOp::Sdiv,
        AluOp::Or => DOp::Or,
        AluOp::And => DOp::And,
        AluOp::Lsh => DOp::Lsh,
        AluOp::Rsh => DOp::Rsh,
        AluOp::Mod => DOp::Mod,
        AluOp::Smod => DOp::Smod,
        AluOp::Xor => DOp::Xor,
        AluOp::Mov => DOp::Mov,
        AluOp::Arsh => DOp::Arsh,
    }
}

/// `a op b` at width `w`.
pub fn alu(o: AluOp, w: Width, a: &Scalar, b: &Scalar) -> Scalar {
    Scalar::alu(op(o), width(w), a, b)
}

/// `-a` at width `w`.
pub fn neg(w: Width, a: &Scalar) -> Scalar {
    a.neg(width(w))
}

/// The low 32 bits, zero-extended.
pub fn zext32(a: &Scalar) -> Scalar {
    a.zext(32)
}

/// Sign extension of the low `bits` bits (`movsx`); at width 32 the result is then
/// zero-extended from 32 bits.
pub fn movsx(w: Width, bits: u8, a: &Scalar) -> Scalar {
    let s = a.sext(u32::from(bits));
    if w.is_64() {
        s
    } else {
        s.zext(32)
    }
}

/// `le16/be32/bswap64`... on a little-endian host: `to_le` truncates, `to_be` and `bswap`
/// swap.
pub fn endian(order: ByteOrder, bits: u8, a: &Scalar) -> Scalar {
    let bits = u32::from(bits);
    match order {
        ByteOrder::ToLe => a.zext(bits),
        _ => a.bswap(bits),
    }
}

fn cond(c: JmpCond) -> Cond {
    match c {
        JmpCond::Eq => Cond::Eq,
        JmpCond::Gt => Cond::Ugt,
        JmpCond::Ge => Cond::Uge,
        JmpCond::Set => Cond::Set,
        JmpCond::Ne => Cond::Ne,
        JmpCond::Sgt => Cond::Sgt,
        JmpCond::Sge => Cond::Sge,
        JmpCond::Lt => Cond::Ult,
        JmpCond::Le => Cond::Ule,
        JmpCond::Slt => Cond::Slt,
        JmpCond::Sle => Cond::Sle,
    }
}

/// Whether `a c b` is always (`Some(true)`) or never (`Some(false)`) true.
pub fn branch(c: JmpCond, w: Width, a: &Scalar, b: &Scalar) -> Option<bool> {
    match Scalar::branch(cond(c), width(w), a, b) {
        Outcome::Always => Some(true),
        Outcome::Never => Some(false),
        Outcome::Maybe => None,
    }
}

/// Both operands refined by `a c b == taken`; `None` if impossible.
pub fn refine(
    c: JmpCond,
    w: Width,
    taken: bool,
    a: &Scalar,
    b: &Scalar,
) -> Option<(Scalar, Scalar)> {
    Scalar::refine(cond(c), width(w), taken, a, b)
}

/// `γ(a) ⊆ γ(b)`.
pub fn leq(a: &Scalar, b: &Scalar) -> bool {
    a.leq(b)
}

/// An upper bound.
pub fn join(a: &Scalar, b: &Scalar) -> Scalar {
    a.join(b)
}

/// Whether every value is in `[lo, hi]` (signed).
pub fn within_signed(a: &Scalar, lo: i64, hi: i64) -> bool {
    a.smin() >= lo && a.smax() <= hi
}

/// Linux's `var_off` rendering `(0x..; 0x..)`.
pub fn tnum_str(a: &Scalar) -> String {
    let t = a.tnum();
    format!("({:#x}; {:#x})", t.value, t.mask)
}

/// Linux's rendering of a scalar's bounds (`smin=..,umax=..,var_off=..`, or the constant).
pub fn linux(a: &Scalar) -> String {
    format!("{}", a.linux())
}
