//! Disassembler in the LLVM/kernel dialect.
//!
//! The text is what `llvm-objdump-19 -d --no-show-raw-insn` prints for BPF (checked against
//! every executable section of the real-world corpus by `ebpfvm-testkit`'s `disasm_golden`
//! test), e.g. `r0 = *(u16 *)(r10 - 0x8)`, `if w1 s> 0x5 goto +0x3`, `r1 = 0x1234 ll`,
//! `lock *(u64 *)(r1 + 0x0) += r2`, `call 0x1`, `w0 = -w0`, `r1 = be16 r1`. Immediates and
//! offsets are hexadecimal with a sign (`-0x4`), jump offsets always carry a sign (`+0x3`).
//!
//! Where llvm 19 prints an instruction lossily, not at all, or the same way as another
//! instruction, the text is chosen so that [`crate::asm::llvm::parse`] gives back exactly the
//! same [`Insn`]:
//!
//! | instruction | llvm 19 | here |
//! |---|---|---|
//! | local call, offset ≥ 0 | `call 0x5` (same as helper 5) | `call +0x5` |
//! | local call, offset < 0 | `call -0x1` | `call -0x1` (same) |
//! | helper call, id < 0 | `call -0x1` (same as a local call) | `call 0xffffffff` |
//! | kfunc call (`src` 2) | `call 0x4d2` (kind and module lost) | `call kfunc 0x4d2`, `call kfunc 0x4d2, 0x1` |
//! | `ld_imm64` src 2/3/6 with a non-zero second `imm` | `ld_pseudo\tr1, 0x2, 0x5` (second `imm` lost) | `ld_pseudo\tr1, 0x2, 0x5, 0x10` |
//! | `ld_ind` with `imm` ≠ 0 | `r0 = *(u32 *)skb[r2]` (`imm` lost) | `r0 = *(u32 *)skb[r2 + 0x4]` (the kernel's form) |
//! | 32-bit atomics other than `lock ... +=` | `<unknown>` without `--mattr=+alu32` | llvm's `+alu32` spelling: `w2 = atomic_fetch_add((u32 *)(r1 - 0x8), w2)`, `lock *(u32 *)(r1 + 0x0) \|= w2`, `w2 = xchg32_32(r1 + 0x0, w2)`, `w0 = cmpxchg32_32(r1 + 0x0, w0, w2)` |
//! | load-acquire / store-release | `<unknown>` | llvm 20's (and the kernel's) `r0 = load_acquire((u64 *)(r1 + 0x0))`, `store_release((u8 *)(r1 + 0x0), w2)` (`w` registers below 64 bits) |
//!
//! (llvm 19 without `+alu32` also prints a 32-bit `atomic_fetch_add` and a 32-bit
//! load-acquire as `lock *(u32 *)(..) += r2`; those are llvm bugs, not followed here.)
//!
//! Jump annotations: [`disasm_insn`] prints none. [`disassemble_with`] asks a [`Labels`] for
//! one per jump and prints it after the instruction as ` <text>`; [`SymbolLabels`] chooses
//! them from a section's symbols exactly as llvm-objdump does (`<LBB0_3>`, `<func+0x28>`).

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::{self, Write};

use crate::insn::{Call, Imm64, Insn, Source, Width};
use crate::opcodes::{AtomicOp, Size};
use crate::reg::Reg;

/// Formats `v` as llvm's `formatImm` does in hex mode: `0x1f`, `-0x4`.
struct Hex(i64);

impl fmt::Display for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 < 0 {
            write!(f, "-0x{:x}", self.0.unsigned_abs())
        } else {
            write!(f, "0x{:x}", self.0)
        }
    }
}

/// A jump offset: always signed, `+0x3` / `-0x2`.
struct Rel(i64);

impl fmt::Display for Rel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 >= 0 {
            f.write_str("+")?;
        }
        Hex(self.0).fmt(f)
    }
}

/// A register as `rN` (64-bit) or `wN` (32-bit).
struct R(Reg, bool);

impl fmt::Display for R {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = if self.1 { 'r' } else { 'w' };
        write!(f, "{}{}", prefix, self.0.num())
    }
}

fn r(reg: Reg) -> R {
    R(reg, true)
}

fn rw(reg: Reg, width: Width) -> R {
    R(reg, width.is_64())
}

/// A memory operand `rN + 0x8` / `rN - 0x8`.
struct Mem(Reg, i16);

impl fmt::Display for Mem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let off = i64::from(self.1);
        if off >= 0 {
            write!(f, "r{} + {}", self.0.num(), Hex(off))
        } else {
            write!(f, "r{} - {}", self.0.num(), Hex(-off))
        }
    }
}

/// Displays one instruction in the LLVM dialect, without a jump annotation.
#[derive(Clone, Copy, Debug)]
pub struct Disasm<'a>(pub &'a Insn);

impl fmt::Display for Disasm<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_insn(f, self.0)
    }
}

/// Writes one instruction in the LLVM dialect, without a jump annotation.
pub fn write_insn<W: Write + ?Sized>(out: &mut W, insn: &Insn) -> fmt::Result {
    match *insn {
        Insn::Alu {
            width,
            op,
            dst,
            src,
        } => {
            write!(out, "{} {} ", rw(dst, width), op.llvm_name())?;
            match src {
                Source::Reg(s) => write!(out, "{}", rw(s, width)),
                Source::Imm(i) => write!(out, "{}", Hex(i.into())),
            }
        }
        Insn::Neg { width, dst } => write!(out, "{} = -{}", rw(dst, width), rw(dst, width)),
        Insn::MovSx {
            width,
            dst,
            src,
            bits,
        } => write!(out, "{} = (s{}){}", rw(dst, width), bits, rw(src, width)),
        Insn::AddrSpaceCast { dst, src, imm } => {
            let imm = imm as u32;
            write!(
                out,
                "{} = addr_space_cast({}, 0x{:x}, 0x{:x})",
                r(dst),
                r(src),
                imm >> 16,
                imm & 0xffff
            )
        }
        Insn::Endian { order, bits, dst } => {
            write!(out, "{} = {}{} {}", r(dst), order.llvm_name(), bits, r(dst))
        }
        Insn::Ja { off, long } => {
            let name = if long { "gotol" } else { "goto" };
            write!(out, "{} {}", name, Rel(off.into()))
        }
        Insn::Jmp {
            width,
            cond,
            dst,
            src,
            off,
        } => {
            write!(out, "if {} {} ", rw(dst, width), cond.llvm_name())?;
            match src {
                Source::Reg(s) => write!(out, "{}", rw(s, width))?,
                Source::Imm(i) => write!(out, "{}", Hex(i.into()))?,
            }
            write!(out, " goto {}", Rel(off.into()))
        }
        Insn::MayGoto { off } => write!(out, "may_goto {}", Rel(off.into())),
        Insn::Call(Call::Helper(id)) => {
            if id >= 0 {
                write!(out, "call {}", Hex(id.into()))
            } else {
                write!(out, "call 0x{:x}", id as u32)
            }
        }
        Insn::Call(Call::Local(off)) => {
            if off >= 0 {
                write!(out, "call {}", Rel(off.into()))
            } else {
                write!(out, "call {}", Hex(off.into()))
            }
        }
        Insn::Call(Call::Kfunc { btf_id, module }) => {
            write!(out, "call kfunc {}", Hex(btf_id.into()))?;
            if module != 0 {
                write!(out, ", {}", Hex(module.into()))?;
            }
            Ok(())
        }
        Insn::CallX { dst } => write!(out, "callx {}", r(dst)),
        Insn::Exit => out.write_str("exit"),
        Insn::LdImm64 { dst, imm } => match imm {
            Imm64::Value(v) => write!(out, "{} = {} ll", r(dst), Hex(v as i64)),
            _ => {
                let (lo, hi) = imm.words();
                write!(
                    out,
                    "ld_pseudo\t{}, 0x{:x}, 0x{:x}",
                    r(dst),
                    imm.src(),
                    lo as u32
                )?;
                if hi != 0 {
                    write!(out, ", 0x{:x}", hi as u32)?;
                }
                Ok(())
            }
        },
        Insn::LdAbs { size, imm } => {
            write!(
                out,
                "r0 = *({} *)skb[{}]",
                size.llvm_name(),
                Hex(imm.into())
            )
        }
        Insn::LdInd { size, src, imm } => {
            write!(out, "r0 = *({} *)skb[{}", size.llvm_name(), r(src))?;
            let imm = i64::from(imm);
            if imm > 0 {
                write!(out, " + {}", Hex(imm))?;
            } else if imm < 0 {
                write!(out, " - {}", Hex(-imm))?;
            }
            out.write_str("]")
        }
        Insn::Load {
            size,
            signed,
            dst,
            src,
            off,
        } => {
            let ty = if signed {
                size.llvm_signed_name()
            } else {
                size.llvm_name()
            };
            write!(out, "{} = *({} *)({})", r(dst), ty, Mem(src, off))
        }
        Insn::Store {
            size,
            dst,
            off,
            src,
        } => {
            write!(out, "*({} *)({}) = ", size.llvm_name(), Mem(dst, off))?;
            match src {
                Source::Reg(s) => write!(out, "{}", r(s)),
                Source::Imm(i) => write!(out, "{}", Hex(i.into())),
            }
        }
        Insn::Atomic {
            size,
            op,
            fetch,
            dst,
            src,
            off,
        } => write_atomic(out, size, op, fetch, dst, src, off),
    }
}

fn write_atomic<W: Write + ?Sized>(
    out: &mut W,
    size: Size,
    op: AtomicOp,
    fetch: bool,
    dst: Reg,
    src: Reg,
    off: i16,
) -> fmt::Result {
    let wide = size == Size::DW;
    let ty = size.llvm_name();
    let mem = Mem(dst, off);
    let val = R(src, wide);
    match op {
        AtomicOp::LoadAcquire => write!(
            out,
            "{} = load_acquire(({} *)({}))",
            R(dst, wide),
            ty,
            Mem(src, off)
        ),
        AtomicOp::StoreRelease => write!(out, "store_release(({} *)({}), {})", ty, mem, val),
        AtomicOp::Xchg if wide => write!(out, "{} = xchg_64({}, {})", val, mem, val),
        AtomicOp::Xchg => write!(out, "{} = xchg32_32({}, {})", val, mem, val),
        AtomicOp::Cmpxchg => {
            let (name, r0) = if wide {
                ("cmpxchg_64", "r0")
            } else {
                ("cmpxchg32_32", "w0")
            };
            write!(out, "{} = {}({}, {}, {})", r0, name, mem, r0, val)
        }
        AtomicOp::Add | AtomicOp::Or | AtomicOp::And | AtomicOp::Xor => {
            if fetch {
                let name = match op {
                    AtomicOp::Add => "add",
                    AtomicOp::Or => "or",
                    AtomicOp::And => "and",
                    _ => "xor",
                };
                write!(
                    out,
                    "{} = atomic_fetch_{}(({} *)({}), {})",
                    val, name, ty, mem, val
                )
            } else {
                // llvm 19 prints the 32-bit `+=` with an `r` register (its non-alu32 XADDW)
                // and the other 32-bit operations only in alu32 mode, with `w` registers.
                let val = if op == AtomicOp::Add { r(src) } else { val };
                write!(out, "lock *({} *)({}) {} {}", ty, mem, op.llvm_name(), val)
            }
        }
    }
}

/// One instruction in the LLVM dialect, without a jump annotation.
///
/// The text does not depend on `pc`: jump targets are printed as relative offsets (`+0x3`,
/// `-0x2`), as llvm-objdump does. `pc` (the slot index) is accepted so that callers can pass
/// it uniformly; use [`jump_target`] to compute absolute targets.
pub fn disasm_insn(insn: &Insn, pc: usize) -> String {
    let _ = pc;
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = write_insn(&mut s, insn);
    s
}

/// The slot a jump at `pc` goes to when taken (`pc + 1 + offset`), for `goto`, `gotol`,
/// conditional jumps and `may_goto`; `None` for every other instruction (calls included, as
/// llvm-objdump does not annotate them). The result may be negative or past the end of the
/// program for a malformed jump.
pub fn jump_target(insn: &Insn, pc: usize) -> Option<i64> {
    let off = insn.jump_offset()?;
    Some(pc as i64 + 1 + i64::from(off))
}

/// Chooses the ` <...>` annotation printed after a jump.
pub trait Labels {
    /// The annotation text (without the angle brackets) for the jump at slot `pc` whose
    /// target is slot `target` (see [`jump_target`]), or `None` to print none.
    fn label(&self, pc: usize, target: i64) -> Option<String>;
}

/// No annotations.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoLabels;

impl Labels for NoLabels {
    fn label(&self, _pc: usize, _target: i64) -> Option<String> {
        None
    }
}

impl<F: Fn(usize, i64) -> Option<String>> Labels for F {
    fn label(&self, pc: usize, target: i64) -> Option<String> {
        self(pc, target)
    }
}

/// Annotates jumps with the symbols of one section, the way llvm-objdump does for a
/// relocatable object: the target is named by the last symbol (ordered by address, then by
/// name) whose address is at or before it, as `<name>` or `<name+0x28>` with the distance in
/// bytes. If no symbol sits at the section's start, llvm-objdump adds one named after the
/// section; [`SymbolLabels::new`] does the same. Addresses are computed in bytes modulo
/// 2⁶⁴, so a jump before the section's start is named after its last symbol, as llvm does.
#[derive(Clone, Debug, Default)]
pub struct SymbolLabels {
    /// `(byte offset in the section, name)`, sorted.
    symbols: Vec<(u64, String)>,
}

impl SymbolLabels {
    /// Builds the table from `(byte offset in the section, name)` pairs of the symbols that
    /// llvm-objdump would show: defined in this section, with a non-empty name, and not of
    /// type `STT_SECTION` or `STT_FILE`. `section_name` names the dummy symbol added at
    /// offset 0 when no symbol is there.
    pub fn new<I, S>(symbols: I, section_name: &str) -> SymbolLabels
    where
        I: IntoIterator<Item = (u64, S)>,
        S: Into<String>,
    {
        let mut symbols: Vec<(u64, String)> =
            symbols.into_iter().map(|(a, n)| (a, n.into())).collect();
        if !symbols.iter().any(|(a, _)| *a == 0) {
            symbols.push((0, section_name.to_owned()));
        }
        symbols.sort();
        SymbolLabels { symbols }
    }

    /// The annotation for byte address `target`, as llvm-objdump prints it.
    pub fn label_at_byte(&self, target: u64) -> Option<String> {
        let idx = self.symbols.partition_point(|(a, _)| *a <= target);
        let (addr, name) = self.symbols.get(idx.checked_sub(1)?)?;
        let disp = target - addr;
        Some(if disp == 0 {
            name.clone()
        } else {
            alloc::format!("{}+0x{:x}", name, disp)
        })
    }
}

impl Labels for SymbolLabels {
    fn label(&self, _pc: usize, target: i64) -> Option<String> {
        self.label_at_byte((target as u64).wrapping_mul(crate::INSN_SIZE as u64))
    }
}

/// Writes one listing line: `pc` right-aligned in 8 columns, `:`, a tab, the instruction,
/// the jump annotation ` <label>` if `labels` gives one, and a newline — the format of
/// llvm-objdump's instruction lines with `--no-show-raw-insn`.
pub fn write_line<W: Write + ?Sized>(
    out: &mut W,
    pc: usize,
    insn: &Insn,
    labels: &dyn Labels,
) -> fmt::Result {
    write!(out, "{:>8}:\t", pc)?;
    write_insn(out, insn)?;
    if let Some(target) = jump_target(insn, pc) {
        if let Some(label) = labels.label(pc, target) {
            write!(out, " <{}>", label)?;
        }
    }
    out.write_char('\n')
}

/// A listing of `(pc, insn)` pairs (as [`crate::decode_all`] returns them), one line per
/// instruction as [`write_line`] formats it, without jump annotations (`→` stands for the
/// tab):
///
/// ```text
///        0:→r0 = 0x0
///        1:→if r1 == 0x0 goto +0x1
///        2:→r0 = 0x1 ll
///        4:→exit
/// ```
pub fn disassemble(insns: &[(usize, Insn)]) -> String {
    disassemble_with(insns, &NoLabels)
}

/// Like [`disassemble`], with jump annotations chosen by `labels`.
pub fn disassemble_with(insns: &[(usize, Insn)], labels: &dyn Labels) -> String {
    let mut s = String::new();
    for (pc, insn) in insns {
        // Writing to a String cannot fail.
        let _ = write_line(&mut s, *pc, insn, labels);
    }
    s
}
