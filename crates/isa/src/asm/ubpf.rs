//! Assembler for the conformance suite's (uBPF) assembly dialect.
//!
//! This is the language of the `-- asm` sections of the bpf_conformance `.data` files
//! (`../shared/conformance/README.md` §3):
//!
//! ```text
//! mov %r0, 0            # ALU64 (no suffix); `mov32` is the 32-bit ALU class
//! ldxw %r1, [%r1+4]     # memory operands [%rN], [%rN+off], [%rN-off]
//! jne %r1, 0x10, done   # jumps take a label or a literal +N / -N
//! lock fetch add [%r10-8], %r1
//! call local func       # also `call N`, `call helper N`, `call %rN`, `call runtime N`
//! done:
//! exit                  # the first `exit` also defines the label `exit`
//! ```
//!
//! Rules, exactly as the suite's own assembler applies them:
//!
//! - Tokens are separated by whitespace; one trailing comma is removed from each token. The
//!   first token is the mnemonic. Everything from `#` to the end of a line is a comment.
//! - A line whose first token ends in `:` defines a label at the next instruction slot; the
//!   rest of that line is ignored. Duplicate labels are errors; forward references are fine.
//!   Unless a label named `exit` is defined explicitly, the first `exit` instruction defines it.
//! - A mnemonic without suffix is 64-bit (ALU64 / JMP); the `32` suffix selects ALU / JMP32.
//! - 32-bit immediates: a token containing `0x` is a bit pattern `0x0..=0xffffffff`; otherwise
//!   a signed decimal in `i32` range. 16-bit offsets: `0x0..=0xffff` or `-32768..=32767`.
//!   `lddw` takes a 64-bit hex bit pattern, a negative decimal or an unsigned decimal.
//! - Jump targets are labels or literal `+N` / `-N` slot offsets; a label resolves to
//!   `target_slot - this_slot - 1` (`lddw` counts as two slots) and goes into `offset`
//!   (conditional jumps, `ja`) or `imm` (`ja32`, `call local`).
//! - Registers are `%r0`..`%r10`; `%r11`..`%r15` are accepted too (they encode, but do not
//!   decode), so that programs the loader must reject can be written.
//!
//! Opcode numbers come from [`crate::opcodes`] through [`Insn::encode`]; this module only
//! maps spellings to typed instructions.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::insn::{Call, Imm64, Insn, Source, Width};
use crate::opcodes::{AluOp, AtomicOp, ByteOrder, JmpCond, Size};
use crate::raw::RawInsn;
use crate::reg::Reg;

/// An assembly error, with the 1-based line of `text` it was found on.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct UbpfAsmError {
    /// 1-based line number in the assembled text.
    pub line: usize,
    /// What is wrong.
    pub kind: UbpfAsmErrorKind,
}

/// What is wrong with a line of conformance-dialect assembly. Every message is one line.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UbpfAsmErrorKind {
    /// The first token names no instruction.
    #[error("unknown mnemonic {mnemonic:?}")]
    UnknownMnemonic {
        /// The mnemonic as written.
        mnemonic: String,
    },
    /// The instruction has the wrong number of operands.
    #[error("{mnemonic} takes {expected} operand(s), found {found}")]
    OperandCount {
        /// The mnemonic as written.
        mnemonic: String,
        /// The accepted number of operands.
        expected: &'static str,
        /// The number found.
        found: usize,
    },
    /// A `lock` line is not `lock [fetch] OP [%rD+off], %rS`.
    #[error("invalid number of operands for lock")]
    LockOperands,
    /// The operation after `lock` is not an atomic read-modify-write operation.
    #[error("unknown atomic operation {op:?} (expected add, and, or, xor, xchg or cmpxchg, with optional 32 suffix)")]
    UnknownAtomicOp {
        /// The operation as written.
        op: String,
    },
    /// A register operand is not `%r0`..`%r15`.
    #[error("invalid register {token:?}")]
    InvalidRegister {
        /// The operand as written.
        token: String,
    },
    /// A 32-bit immediate is malformed or out of range.
    #[error(
        "invalid 32-bit immediate {token:?} (expected 0x0..0xffffffff or -2147483648..2147483647)"
    )]
    InvalidImm32 {
        /// The operand as written.
        token: String,
    },
    /// A 64-bit immediate of `lddw` is malformed or out of range.
    #[error("invalid 64-bit immediate {token:?}")]
    InvalidImm64 {
        /// The operand as written.
        token: String,
    },
    /// A 16-bit offset is malformed or out of range.
    #[error("invalid offset {token:?} (expected 0x0..0xffff or -32768..32767)")]
    InvalidOffset {
        /// The offset as written.
        token: String,
    },
    /// A memory operand is not `[%rN]`, `[%rN+off]` or `[%rN-off]`.
    #[error("invalid memory operand {token:?} (expected [%rN], [%rN+off] or [%rN-off])")]
    InvalidMemoryOperand {
        /// The operand as written.
        token: String,
    },
    /// A literal jump target `+N`/`-N` is malformed or does not fit its field.
    #[error("invalid jump offset {token:?}")]
    InvalidJumpOffset {
        /// The target as written.
        token: String,
    },
    /// A jump or local call names a label that is never defined.
    #[error("undefined label {label:?}")]
    UndefinedLabel {
        /// The label.
        label: String,
    },
    /// A label is defined twice.
    #[error("duplicate label {label:?}")]
    DuplicateLabel {
        /// The label.
        label: String,
    },
    /// A label definition with an unusable name (empty, or starting with `+`, `-` or `%`).
    #[error("invalid label name {label:?}")]
    InvalidLabel {
        /// The label.
        label: String,
    },
    /// A label is too far away for the 16-bit offset field.
    #[error("label {label:?} is {distance} slots away, outside the 16-bit jump offset range")]
    JumpOutOfRange {
        /// The label.
        label: String,
        /// `target_slot - this_slot - 1`.
        distance: i64,
    },
    /// `call` with two operands whose first is not `helper`, `local` or `runtime`.
    #[error("unknown call kind {kind:?} (expected helper, local or runtime)")]
    UnknownCallKind {
        /// The first operand as written.
        kind: String,
    },
}

type KResult<T> = Result<T, UbpfAsmErrorKind>;

/// Where a resolved label goes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum TargetField {
    /// The 16-bit `offset` field (conditional jumps, `ja`).
    Off,
    /// The 32-bit `imm` field (`ja32`, `call local`).
    Imm,
}

/// A jump target operand: a literal offset or a label resolved later.
enum Target {
    Literal(i64),
    Label(String),
}

/// An instruction as parsed from one line, before labels are resolved.
struct Parsed {
    insn: Insn,
    /// Register nibbles that override the encoded `dst`/`src` (so `%r11`..`%r15` encode).
    dst: Option<u8>,
    src: Option<u8>,
    target: Option<(Target, TargetField)>,
}

impl Parsed {
    fn plain(insn: Insn) -> Parsed {
        Parsed {
            insn,
            dst: None,
            src: None,
            target: None,
        }
    }
}

struct Fixup {
    line: usize,
    slot: usize,
    label: String,
    field: TargetField,
}

/// Assembles conformance-dialect text into instruction slots.
///
/// Never panics; any malformed line gives an error naming its 1-based line number. Text with
/// no instructions assembles to an empty vector.
pub fn assemble(text: &str) -> Result<Vec<RawInsn>, UbpfAsmError> {
    let mut slots: Vec<RawInsn> = Vec::new();
    let mut labels: BTreeMap<String, usize> = BTreeMap::new();
    let mut first_exit: Option<usize> = None;
    let mut fixups: Vec<Fixup> = Vec::new();

    for (idx, line) in text.lines().enumerate() {
        let lineno = idx + 1;
        let err = |kind| UbpfAsmError { line: lineno, kind };
        let code = match line.find('#') {
            Some(p) => &line[..p],
            None => line,
        };
        let tokens: Vec<&str> = code
            .split_whitespace()
            .map(|t| t.strip_suffix(',').unwrap_or(t))
            .collect();
        let Some((&first, operands)) = tokens.split_first() else {
            continue;
        };
        if let Some(label) = first.strip_suffix(':') {
            if label.is_empty() || label.starts_with(['+', '-', '%']) {
                return Err(err(UbpfAsmErrorKind::InvalidLabel {
                    label: label.to_string(),
                }));
            }
            if labels.insert(label.to_string(), slots.len()).is_some() {
                return Err(err(UbpfAsmErrorKind::DuplicateLabel {
                    label: label.to_string(),
                }));
            }
            continue;
        }
        let slot = slots.len();
        let parsed = parse_insn(first, operands).map_err(err)?;
        if matches!(parsed.insn, Insn::Exit) && first_exit.is_none() {
            first_exit = Some(slot);
        }
        let encoded = parsed.insn.encode();
        let mut raw = encoded.first;
        if let Some(d) = parsed.dst {
            raw.dst = d;
        }
        if let Some(s) = parsed.src {
            raw.src = s;
        }
        match parsed.target {
            None => {}
            Some((Target::Literal(v), field)) => set_target(&mut raw, field, v),
            Some((Target::Label(label), field)) => fixups.push(Fixup {
                line: lineno,
                slot,
                label,
                field,
            }),
        }
        slots.push(raw);
        if let Some(second) = encoded.second {
            slots.push(second);
        }
    }

    if let Some(exit) = first_exit {
        labels.entry("exit".to_string()).or_insert(exit);
    }
    for f in fixups {
        let err = |kind| UbpfAsmError { line: f.line, kind };
        let target = *labels.get(&f.label).ok_or_else(|| {
            err(UbpfAsmErrorKind::UndefinedLabel {
                label: f.label.clone(),
            })
        })?;
        let distance = target as i64 - f.slot as i64 - 1;
        let fits = match f.field {
            TargetField::Off => i16::try_from(distance).is_ok(),
            TargetField::Imm => i32::try_from(distance).is_ok(),
        };
        if !fits {
            return Err(err(UbpfAsmErrorKind::JumpOutOfRange {
                label: f.label,
                distance,
            }));
        }
        set_target(&mut slots[f.slot], f.field, distance);
    }
    Ok(slots)
}

/// Stores an already range-checked target offset.
fn set_target(raw: &mut RawInsn, field: TargetField, value: i64) {
    match field {
        TargetField::Off => raw.off = value as i16,
        TargetField::Imm => raw.imm = value as i32,
    }
}

fn count(mnemonic: &str, operands: &[&str], expected: usize) -> KResult<()> {
    if operands.len() == expected {
        Ok(())
    } else {
        Err(UbpfAsmErrorKind::OperandCount {
            mnemonic: mnemonic.to_string(),
            expected: match expected {
                0 => "0",
                1 => "1",
                2 => "2",
                _ => "3",
            },
            found: operands.len(),
        })
    }
}

/// Splits a `32` width suffix off a mnemonic.
fn split_width(mnemonic: &str) -> (&str, Width) {
    match mnemonic.strip_suffix("32") {
        Some(base) => (base, Width::W32),
        None => (mnemonic, Width::W64),
    }
}

fn parse_insn(m: &str, ops: &[&str]) -> KResult<Parsed> {
    match m {
        "exit" => {
            count(m, ops, 0)?;
            return Ok(Parsed::plain(Insn::Exit));
        }
        "ja" | "ja32" => {
            count(m, ops, 1)?;
            let long = m == "ja32";
            let field = if long {
                TargetField::Imm
            } else {
                TargetField::Off
            };
            let mut p = Parsed::plain(Insn::Ja { off: 0, long });
            p.target = Some((target(ops[0], field)?, field));
            return Ok(p);
        }
        "call" => return parse_call(ops),
        "lock" => return parse_lock(ops),
        "lddw" => {
            count(m, ops, 2)?;
            let (dst, dn) = register(ops[0])?;
            let imm = imm64(ops[1])?;
            let mut p = Parsed::plain(Insn::LdImm64 {
                dst,
                imm: Imm64::Value(imm),
            });
            p.dst = Some(dn);
            return Ok(p);
        }
        "neg" | "neg32" => {
            count(m, ops, 1)?;
            let (dst, dn) = register(ops[0])?;
            let width = split_width(m).1;
            let mut p = Parsed::plain(Insn::Neg { width, dst });
            p.dst = Some(dn);
            return Ok(p);
        }
        _ => {}
    }
    if let Some(rest) = m.strip_prefix("movsx") {
        return parse_movsx(m, rest, ops);
    }
    if let Some(p) = parse_endian(m, ops)? {
        return Ok(p);
    }
    if let Some(p) = parse_memory(m, ops)? {
        return Ok(p);
    }
    let (base, width) = split_width(m);
    if let Some(op) = AluOp::from_ubpf_name(base) {
        count(m, ops, 2)?;
        let (dst, dn) = register(ops[0])?;
        let (src, sn) = source(ops[1])?;
        return Ok(Parsed {
            insn: Insn::Alu {
                width,
                op,
                dst,
                src,
            },
            dst: Some(dn),
            src: sn,
            target: None,
        });
    }
    if let Some(cond) = JmpCond::from_ubpf_name(base) {
        count(m, ops, 3)?;
        let (dst, dn) = register(ops[0])?;
        let (src, sn) = source(ops[1])?;
        let t = target(ops[2], TargetField::Off)?;
        return Ok(Parsed {
            insn: Insn::Jmp {
                width,
                cond,
                dst,
                src,
                off: 0,
            },
            dst: Some(dn),
            src: sn,
            target: Some((t, TargetField::Off)),
        });
    }
    Err(UbpfAsmErrorKind::UnknownMnemonic {
        mnemonic: m.to_string(),
    })
}

/// `movsx{8,16,32}{32,64}`: source bits, then the operation width.
fn parse_movsx(m: &str, rest: &str, ops: &[&str]) -> KResult<Parsed> {
    let unknown = || UbpfAsmErrorKind::UnknownMnemonic {
        mnemonic: m.to_string(),
    };
    let (bits, width) = match rest {
        "864" => (8, Width::W64),
        "1664" => (16, Width::W64),
        "3264" => (32, Width::W64),
        "832" => (8, Width::W32),
        "1632" => (16, Width::W32),
        _ => return Err(unknown()),
    };
    count(m, ops, 2)?;
    let (dst, dn) = register(ops[0])?;
    let (src, sn) = register(ops[1])?;
    Ok(Parsed {
        insn: Insn::MovSx {
            width,
            dst,
            src,
            bits,
        },
        dst: Some(dn),
        src: Some(sn),
        target: None,
    })
}

/// `le16`/`be32`/`bswap64`/`swap16`...
fn parse_endian(m: &str, ops: &[&str]) -> KResult<Option<Parsed>> {
    let mut found = None;
    for &order in ByteOrder::ALL {
        if let Some(bits) = m.strip_prefix(order.ubpf_name()) {
            found = Some((order, bits));
        }
    }
    if found.is_none() {
        if let Some(bits) = m.strip_prefix("swap") {
            found = Some((ByteOrder::Swap, bits));
        }
    }
    let Some((order, bits)) = found else {
        return Ok(None);
    };
    let bits = match bits {
        "16" => 16,
        "32" => 32,
        "64" => 64,
        _ => return Ok(None),
    };
    count(m, ops, 1)?;
    let (dst, dn) = register(ops[0])?;
    let mut p = Parsed::plain(Insn::Endian { order, bits, dst });
    p.dst = Some(dn);
    Ok(Some(p))
}

/// `ldx*`, `ldxs*`, `st*`, `stx*`.
fn parse_memory(m: &str, ops: &[&str]) -> KResult<Option<Parsed>> {
    let size_of = |s: &str| Size::from_ubpf_name(s);
    if let Some(rest) = m.strip_prefix("ldx") {
        let (size, signed) = match (size_of(rest), rest.strip_prefix('s').and_then(size_of)) {
            (Some(size), _) => (size, false),
            (None, Some(size)) if size != Size::DW => (size, true),
            _ => return Ok(None),
        };
        count(m, ops, 2)?;
        let (dst, dn) = register(ops[0])?;
        let (src, sn, off) = memory(ops[1])?;
        return Ok(Some(Parsed {
            insn: Insn::Load {
                size,
                signed,
                dst,
                src,
                off,
            },
            dst: Some(dn),
            src: Some(sn),
            target: None,
        }));
    }
    if let Some(rest) = m.strip_prefix("st") {
        let (size, reg_src) = match (size_of(rest), rest.strip_prefix('x').and_then(size_of)) {
            (Some(size), _) => (size, false),
            (None, Some(size)) => (size, true),
            _ => return Ok(None),
        };
        count(m, ops, 2)?;
        let (dst, dn, off) = memory(ops[0])?;
        let (src, sn) = if reg_src {
            let (r, n) = register(ops[1])?;
            (Source::Reg(r), Some(n))
        } else {
            (Source::Imm(imm32(ops[1])?), None)
        };
        return Ok(Some(Parsed {
            insn: Insn::Store {
                size,
                dst,
                off,
                src,
            },
            dst: Some(dn),
            src: sn,
            target: None,
        }));
    }
    Ok(None)
}

fn parse_call(ops: &[&str]) -> KResult<Parsed> {
    let (kind, operand) = match ops {
        [operand] => ("helper", *operand),
        [kind, operand] => (*kind, *operand),
        _ => {
            return Err(UbpfAsmErrorKind::OperandCount {
                mnemonic: "call".to_string(),
                expected: "1 or 2",
                found: ops.len(),
            })
        }
    };
    match kind {
        "helper" if operand.starts_with('%') => {
            let (dst, dn) = register(operand)?;
            let mut p = Parsed::plain(Insn::CallX { dst });
            p.dst = Some(dn);
            Ok(p)
        }
        "helper" => Ok(Parsed::plain(Insn::Call(Call::Helper(imm32(operand)?)))),
        "runtime" => Ok(Parsed::plain(Insn::Call(Call::Kfunc {
            btf_id: imm32(operand)?,
            module: 0,
        }))),
        "local" => {
            let mut p = Parsed::plain(Insn::Call(Call::Local(0)));
            p.target = Some((target(operand, TargetField::Imm)?, TargetField::Imm));
            Ok(p)
        }
        _ => Err(UbpfAsmErrorKind::UnknownCallKind {
            kind: kind.to_string(),
        }),
    }
}

/// `lock [fetch] OP[32] [%rD+off], %rS`.
fn parse_lock(ops: &[&str]) -> KResult<Parsed> {
    let (fetch, rest) = match ops.split_first() {
        Some((&"fetch", rest)) => (true, rest),
        _ => (false, ops),
    };
    let [op_tok, mem_tok, src_tok] = rest else {
        return Err(UbpfAsmErrorKind::LockOperands);
    };
    let (base, width) = split_width(op_tok);
    let op = AtomicOp::from_ubpf_name(base)
        .filter(|op| op.may_fetch())
        .ok_or_else(|| UbpfAsmErrorKind::UnknownAtomicOp {
            op: op_tok.to_string(),
        })?;
    let size = if width.is_64() { Size::DW } else { Size::W };
    let (dst, dn, off) = memory(mem_tok)?;
    let (src, sn) = register(src_tok)?;
    Ok(Parsed {
        insn: Insn::Atomic {
            size,
            op,
            fetch: fetch || op.always_fetches(),
            dst,
            src,
            off,
        },
        dst: Some(dn),
        src: Some(sn),
        target: None,
    })
}

/// `%r0`..`%r15`. Returns the register to build the instruction with (r0 stands in for
/// r11..r15) and the nibble to encode.
fn register(tok: &str) -> KResult<(Reg, u8)> {
    let bad = || UbpfAsmErrorKind::InvalidRegister {
        token: tok.to_string(),
    };
    let digits = tok.strip_prefix("%r").ok_or_else(bad)?;
    let valid_digits = !digits.is_empty()
        && digits.len() <= 2
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !(digits.len() == 2 && digits.starts_with('0'));
    if !valid_digits {
        return Err(bad());
    }
    let n: u8 = digits.parse().map_err(|_| bad())?;
    if n > 15 {
        return Err(bad());
    }
    Ok((Reg::new(n).unwrap_or(Reg::R0), n))
}

/// A register (`%...`) or a 32-bit immediate.
fn source(tok: &str) -> KResult<(Source, Option<u8>)> {
    if tok.starts_with('%') {
        let (r, n) = register(tok)?;
        Ok((Source::Reg(r), Some(n)))
    } else {
        Ok((Source::Imm(imm32(tok)?), None))
    }
}

/// Parses an unsigned number from plain digits (no sign, no prefix), checking overflow.
fn digits_u64(body: &str, radix: u32) -> Option<u64> {
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(body, radix).ok()
}

/// Parses an optionally signed decimal (`+` or `-`).
fn signed_decimal(tok: &str) -> Option<i64> {
    let (neg, body) = match tok.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, tok.strip_prefix('+').unwrap_or(tok)),
    };
    let v = i64::try_from(digits_u64(body, 10)?).ok();
    match (neg, v) {
        (false, v) => v,
        (true, Some(v)) => Some(-v),
        // -9223372036854775808 does not fit i64 before negation.
        (true, None) => (digits_u64(body, 10)? == 1u64 << 63).then_some(i64::MIN),
    }
}

/// The hex digits after a leading `0x` (or `0X`).
fn hex_body(tok: &str) -> Option<&str> {
    tok.strip_prefix("0x").or_else(|| tok.strip_prefix("0X"))
}

/// A 32-bit immediate: a `0x` bit pattern up to `0xffffffff`, or a signed decimal.
fn imm32(tok: &str) -> KResult<i32> {
    let bad = || UbpfAsmErrorKind::InvalidImm32 {
        token: tok.to_string(),
    };
    if tok.contains("0x") || tok.contains("0X") {
        let v = hex_body(tok)
            .and_then(|b| digits_u64(b, 16))
            .ok_or_else(bad)?;
        u32::try_from(v).map(|v| v as i32).map_err(|_| bad())
    } else {
        let v = signed_decimal(tok).ok_or_else(bad)?;
        i32::try_from(v).map_err(|_| bad())
    }
}

/// The 64-bit immediate of `lddw`: hex bit pattern (optionally negated), negative decimal,
/// or unsigned decimal.
fn imm64(tok: &str) -> KResult<u64> {
    let bad = || UbpfAsmErrorKind::InvalidImm64 {
        token: tok.to_string(),
    };
    let (neg, body) = match tok.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, tok),
    };
    let v = if tok.contains("0x") || tok.contains("0X") {
        hex_body(body).and_then(|b| digits_u64(b, 16))
    } else if neg {
        signed_decimal(tok).map(|v| v as u64)
    } else {
        digits_u64(body.strip_prefix('+').unwrap_or(body), 10)
    }
    .ok_or_else(bad)?;
    Ok(if neg && hex_body(body).is_some() {
        v.wrapping_neg()
    } else {
        v
    })
}

/// A 16-bit offset after its sign: hex is a bit pattern `0..=0xffff` (negated if `neg`,
/// up to `0x8000`), decimal must fit `i16` after the sign.
fn offset_body(neg: bool, body: &str) -> Option<i16> {
    if let Some(hex) = hex_body(body) {
        let v = digits_u64(hex, 16)?;
        if neg {
            (v <= 0x8000).then(|| (v as i64).wrapping_neg() as i16)
        } else {
            u16::try_from(v).ok().map(|v| v as i16)
        }
    } else {
        let v = i64::try_from(digits_u64(body, 10)?).ok()?;
        i16::try_from(if neg { -v } else { v }).ok()
    }
}

/// `[%rN]`, `[%rN+off]` or `[%rN-off]`.
fn memory(tok: &str) -> KResult<(Reg, u8, i16)> {
    let inner = tok
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .ok_or_else(|| UbpfAsmErrorKind::InvalidMemoryOperand {
            token: tok.to_string(),
        })?;
    let (reg_tok, off) = match inner.find(['+', '-']) {
        None => (inner, 0),
        Some(p) => {
            let neg = inner[p..].starts_with('-');
            let body = &inner[p + 1..];
            let off = offset_body(neg, body).ok_or_else(|| UbpfAsmErrorKind::InvalidOffset {
                token: inner[p..].to_string(),
            })?;
            (&inner[..p], off)
        }
    };
    let (r, n) = register(reg_tok)?;
    Ok((r, n, off))
}

/// A jump target: `+N`/`-N` literal or a label.
fn target(tok: &str, field: TargetField) -> KResult<Target> {
    if !tok.starts_with(['+', '-']) {
        return Ok(Target::Label(tok.to_string()));
    }
    let bad = || UbpfAsmErrorKind::InvalidJumpOffset {
        token: tok.to_string(),
    };
    let neg = tok.starts_with('-');
    let body = &tok[1..];
    let v = match hex_body(body) {
        Some(hex) => digits_u64(hex, 16),
        None => digits_u64(body, 10),
    }
    .and_then(|v| i64::try_from(v).ok())
    .ok_or_else(bad)?;
    let v = if neg { -v } else { v };
    let fits = match field {
        TargetField::Off => i16::try_from(v).is_ok(),
        TargetField::Imm => i32::try_from(v).is_ok(),
    };
    if fits {
        Ok(Target::Literal(v))
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode_all;
    use alloc::format;
    use alloc::vec;
    use proptest::prelude::*;

    fn words(text: &str) -> Vec<u64> {
        assemble(text)
            .unwrap_or_else(|e| panic!("{e}"))
            .iter()
            .map(|r| r.to_word())
            .collect()
    }

    fn bytes_of(text: &str) -> Vec<[u8; 8]> {
        assemble(text)
            .unwrap_or_else(|e| panic!("{e}"))
            .iter()
            .map(|r| r.to_bytes())
            .collect()
    }

    fn kind(text: &str) -> UbpfAsmErrorKind {
        assemble(text).expect_err("must not assemble").kind
    }

    #[test]
    fn readme_worked_example() {
        let text =
            "ldxw %r0, [%r1+4]\nadd %r0, %r2\njgt %r0, 0x100, big\nexit\nbig:\nmov %r0, -1\nexit\n";
        assert_eq!(
            bytes_of(text),
            vec![
                [0x61, 0x10, 0x04, 0, 0, 0, 0, 0],
                [0x0f, 0x20, 0, 0, 0, 0, 0, 0],
                [0x25, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00],
                [0x95, 0, 0, 0, 0, 0, 0, 0],
                [0xb7, 0, 0, 0, 0xff, 0xff, 0xff, 0xff],
                [0x95, 0, 0, 0, 0, 0, 0, 0],
            ]
        );
    }

    #[test]
    fn lddw_matches_the_raw_words_of_lddw_data() {
        assert_eq!(
            words("lddw %r0, 0x1122334455667788\nexit"),
            vec![0x5566778800000018, 0x1122334400000000, 0x95]
        );
        assert_eq!(
            words("lddw %r1, -1")[..],
            [0xffffffff00000118, 0xffffffff00000000]
        );
        assert_eq!(
            words("lddw %r1, 18446744073709551615"),
            words("lddw %r1, -1")
        );
        assert_eq!(words("lddw %r1, -0x1"), words("lddw %r1, -1"));
    }

    #[test]
    fn width_suffix_selects_the_class() {
        assert_eq!(bytes_of("add %r1, 2")[0][0], 0x07);
        assert_eq!(bytes_of("add32 %r1, 2")[0][0], 0x04);
        assert_eq!(bytes_of("add %r1, %r2")[0][..2], [0x0f, 0x21]);
        assert_eq!(bytes_of("jeq %r1, 0, +0")[0][0], 0x15);
        assert_eq!(bytes_of("jeq32 %r1, %r3, +0")[0][..2], [0x1e, 0x31]);
        assert_eq!(bytes_of("sdiv %r1, 3")[0][..4], [0x37, 0x01, 0x01, 0x00]);
        assert_eq!(
            bytes_of("smod32 %r1, %r2")[0][..4],
            [0x9c, 0x21, 0x01, 0x00]
        );
        assert_eq!(bytes_of("neg %r3")[0][..2], [0x87, 0x03]);
        assert_eq!(bytes_of("neg32 %r3")[0][..2], [0x84, 0x03]);
    }

    #[test]
    fn immediates_are_bit_patterns_in_hex() {
        assert_eq!(bytes_of("mov %r0, 0x80000000")[0][4..], [0, 0, 0, 0x80]);
        assert_eq!(bytes_of("mov %r0, 0xffffffff")[0][4..], [0xff; 4]);
        assert_eq!(bytes_of("mov %r0, -2147483648")[0][4..], [0, 0, 0, 0x80]);
        assert!(matches!(
            kind("mov32 %r0, 2147483648"),
            UbpfAsmErrorKind::InvalidImm32 { .. }
        ));
        assert!(matches!(
            kind("mov32 %r0, 0x100000000"),
            UbpfAsmErrorKind::InvalidImm32 { .. }
        ));
        assert!(matches!(
            kind("mov32 %r0, -0x1"),
            UbpfAsmErrorKind::InvalidImm32 { .. }
        ));
        assert!(matches!(
            kind("mov32 %r0, 12abc"),
            UbpfAsmErrorKind::InvalidImm32 { .. }
        ));
    }

    #[test]
    fn memory_operands() {
        assert_eq!(
            bytes_of("ldxdw %r0, [%r10-8]")[0][..4],
            [0x79, 0xa0, 0xf8, 0xff]
        );
        assert_eq!(bytes_of("ldxb %r0, [%r1]")[0][..4], [0x71, 0x10, 0, 0]);
        assert_eq!(bytes_of("ldxh %r0, [%r0+0x1]")[0][..4], [0x69, 0x00, 1, 0]);
        assert_eq!(bytes_of("ldxh %r0, [%r0+0xffff]")[0][2..4], [0xff, 0xff]);
        assert_eq!(bytes_of("ldxsb %r2, [%r1+2]")[0][..3], [0x91, 0x12, 2]);
        assert_eq!(bytes_of("ldxsh %r2, [%r1]")[0][0], 0x89);
        assert_eq!(bytes_of("ldxsw %r2, [%r1]")[0][0], 0x81);
        assert_eq!(
            bytes_of("stb [%r1+2], 0x11")[0],
            [0x72, 1, 2, 0, 0x11, 0, 0, 0]
        );
        assert_eq!(bytes_of("stdw [%r1], -1")[0][0], 0x7a);
        assert_eq!(
            bytes_of("stxw [%r1-4], %r3")[0][..4],
            [0x63, 0x31, 0xfc, 0xff]
        );
        assert_eq!(bytes_of("stxdw [%r10-32768], %r3")[0][2..4], [0x00, 0x80]);
        assert!(matches!(
            kind("ldxsdw %r0, [%r1]"),
            UbpfAsmErrorKind::UnknownMnemonic { .. }
        ));
        assert!(matches!(
            kind("ldxb %r0, %r1"),
            UbpfAsmErrorKind::InvalidMemoryOperand { .. }
        ));
        assert!(matches!(
            kind("ldxb %r0, [%r1+0x10000]"),
            UbpfAsmErrorKind::InvalidOffset { .. }
        ));
        assert!(matches!(
            kind("ldxb %r0, [%r1+32768]"),
            UbpfAsmErrorKind::InvalidOffset { .. }
        ));
        assert!(matches!(
            kind("ldxb %r0, [%r1+]"),
            UbpfAsmErrorKind::InvalidOffset { .. }
        ));
    }

    #[test]
    fn byte_order_and_movsx() {
        assert_eq!(bytes_of("le16 %r1")[0], [0xd4, 1, 0, 0, 16, 0, 0, 0]);
        assert_eq!(bytes_of("be64 %r1")[0], [0xdc, 1, 0, 0, 64, 0, 0, 0]);
        assert_eq!(bytes_of("bswap32 %r1")[0], [0xd7, 1, 0, 0, 32, 0, 0, 0]);
        assert_eq!(bytes_of("swap32 %r1"), bytes_of("bswap32 %r1"));
        assert!(matches!(
            kind("le8 %r1"),
            UbpfAsmErrorKind::UnknownMnemonic { .. }
        ));
        assert_eq!(bytes_of("movsx864 %r1, %r2")[0][..4], [0xbf, 0x21, 8, 0]);
        assert_eq!(bytes_of("movsx3264 %r1, %r2")[0][..4], [0xbf, 0x21, 32, 0]);
        assert_eq!(bytes_of("movsx1632 %r1, %r2")[0][..4], [0xbc, 0x21, 16, 0]);
        assert!(matches!(
            kind("movsx3232 %r1, %r2"),
            UbpfAsmErrorKind::UnknownMnemonic { .. }
        ));
    }

    #[test]
    fn atomics() {
        assert_eq!(
            bytes_of("lock add [%r10-8], %r1")[0],
            [0xdb, 0x1a, 0xf8, 0xff, 0, 0, 0, 0]
        );
        assert_eq!(bytes_of("lock fetch add32 [%r10-8], %r1")[0][0], 0xc3);
        assert_eq!(bytes_of("lock fetch add32 [%r10-8], %r1")[0][4], 0x01);
        assert_eq!(bytes_of("lock and [%r1], %r2")[0][4], 0x50);
        assert_eq!(bytes_of("lock fetch or [%r1], %r2")[0][4], 0x41);
        assert_eq!(bytes_of("lock xor [%r1], %r2")[0][4], 0xa0);
        assert_eq!(bytes_of("lock xchg32 [%r1], %r2")[0][..1], [0xc3]);
        assert_eq!(bytes_of("lock xchg [%r1], %r2")[0][4], 0xe1);
        assert_eq!(bytes_of("lock cmpxchg [%r1], %r2")[0][4], 0xf1);
        assert_eq!(kind("lock or [%r10-8]"), UbpfAsmErrorKind::LockOperands);
        assert_eq!(kind("lock"), UbpfAsmErrorKind::LockOperands);
        assert_eq!(kind("lock fetch"), UbpfAsmErrorKind::LockOperands);
        assert!(matches!(
            kind("lock sub [%r1], %r2"),
            UbpfAsmErrorKind::UnknownAtomicOp { .. }
        ));
        assert!(matches!(
            kind("lock load_acquire [%r1], %r2"),
            UbpfAsmErrorKind::UnknownAtomicOp { .. }
        ));
    }

    #[test]
    fn calls() {
        assert_eq!(bytes_of("call 5")[0], [0x85, 0, 0, 0, 5, 0, 0, 0]);
        assert_eq!(bytes_of("call helper 5"), bytes_of("call 5"));
        assert_eq!(bytes_of("call %r2")[0], [0x8d, 2, 0, 0, 0, 0, 0, 0]);
        assert_eq!(bytes_of("call helper %r2"), bytes_of("call %r2"));
        assert_eq!(
            bytes_of("call runtime 7")[0],
            [0x85, 0x20, 0, 0, 7, 0, 0, 0]
        );
        assert_eq!(
            bytes_of("call local f\nexit\nf:\nexit")[0],
            [0x85, 0x10, 0, 0, 1, 0, 0, 0]
        );
        assert_eq!(bytes_of("call local -1")[0][4..], [0xff; 4]);
        assert!(matches!(
            kind("call far 3"),
            UbpfAsmErrorKind::UnknownCallKind { .. }
        ));
        assert!(matches!(
            kind("call"),
            UbpfAsmErrorKind::OperandCount { .. }
        ));
    }

    #[test]
    fn labels_and_targets() {
        // lddw counts as two slots.
        let w = words("ja end\nlddw %r0, 1\nend:\nexit");
        assert_eq!(RawInsn::from_word(w[0]).off, 2);
        // Backward jump.
        let w = words("top:\nmov %r0, 0\nja top");
        assert_eq!(RawInsn::from_word(w[1]).off, -2);
        // Implicit exit label is the *first* exit.
        let w = words("jeq %r1, 0, exit\nexit\nmov %r0, 1\nexit");
        assert_eq!(RawInsn::from_word(w[0]).off, 0);
        // An explicit `exit:` label wins.
        let w = words("jeq %r1, 0, exit\nexit\nexit:\nmov %r0, 1\nexit");
        assert_eq!(RawInsn::from_word(w[0]).off, 1);
        // ja32 targets go into imm.
        let r = RawInsn::from_word(words("ja32 +5")[0]);
        assert_eq!((r.opcode, r.off, r.imm), (0x06, 0, 5));
        let r = RawInsn::from_word(words("ja -3")[0]);
        assert_eq!((r.opcode, r.off, r.imm), (0x05, -3, 0));
        // Rest of a label line is ignored.
        assert_eq!(words("l: garbage here\nja l").len(), 1);
        assert!(matches!(
            kind("ja NOT_A_LABEL\nexit"),
            UbpfAsmErrorKind::UndefinedLabel { .. }
        ));
        assert!(matches!(
            kind("a:\na:\nexit"),
            UbpfAsmErrorKind::DuplicateLabel { .. }
        ));
        assert!(matches!(
            kind(":\nexit"),
            UbpfAsmErrorKind::InvalidLabel { .. }
        ));
        assert!(matches!(
            kind("ja +32768"),
            UbpfAsmErrorKind::InvalidJumpOffset { .. }
        ));
        assert!(matches!(
            kind("ja +"),
            UbpfAsmErrorKind::InvalidJumpOffset { .. }
        ));
        // A label out of 16-bit range.
        let mut text = String::from("ja far\n");
        for _ in 0..40000 {
            text.push_str("exit\n");
        }
        text.push_str("far:\nexit\n");
        assert!(matches!(
            kind(&text),
            UbpfAsmErrorKind::JumpOutOfRange { .. }
        ));
        let text = text.replacen("ja far", "ja32 far", 1);
        assert_eq!(RawInsn::from_word(words(&text)[0]).imm, 40000);
    }

    #[test]
    fn registers() {
        assert_eq!(bytes_of("mov %r10, %r9")[0][1], 0x9a);
        // r11..r15 encode (for negative tests) but do not decode.
        let slots = assemble("mov %r15, %r11\nexit").unwrap();
        assert_eq!((slots[0].dst, slots[0].src), (15, 11));
        assert!(decode_all(&slots).is_err());
        // Without `%` an operand is an immediate.
        assert!(matches!(
            kind("or %r0, r1"),
            UbpfAsmErrorKind::InvalidImm32 { .. }
        ));
        assert!(matches!(
            kind("neg r1"),
            UbpfAsmErrorKind::InvalidRegister { .. }
        ));
        for bad in ["%r16", "%r50", "%r01", "%r", "%rx", "%R1", "%r1x"] {
            assert!(
                matches!(
                    kind(&format!("or %r0, {bad}")),
                    UbpfAsmErrorKind::InvalidRegister { .. }
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn tokens_and_comments() {
        assert_eq!(
            words("mov %r0, %r1 # comment\n\n  # only comment\n"),
            words("mov %r0, %r1")
        );
        assert_eq!(words("mov %r0 %r1"), words("mov %r0, %r1"));
        // Only one trailing comma is removed, and `a,b` stays one token.
        assert!(assemble("mov %r0,, %r1").is_err());
        assert!(assemble("mov %r0,%r1").is_err());
        assert!(matches!(
            kind("ldxq %r0, %r1"),
            UbpfAsmErrorKind::UnknownMnemonic { .. }
        ));
        assert!(matches!(
            kind("MOV %r0, 1"),
            UbpfAsmErrorKind::UnknownMnemonic { .. }
        ));
        assert!(matches!(
            kind("lddw %r0"),
            UbpfAsmErrorKind::OperandCount { .. }
        ));
        assert!(matches!(
            kind("exit %r0"),
            UbpfAsmErrorKind::OperandCount { .. }
        ));
        assert_eq!(assemble("").unwrap(), vec![]);
        assert_eq!(assemble("only_label:").unwrap(), vec![]);
    }

    #[test]
    fn errors_name_the_line_and_print_on_one_line() {
        let e = assemble("mov %r0, 1\n\nmov %r0, %r50\nexit").unwrap_err();
        assert_eq!(e.line, 3);
        assert_eq!(e.to_string(), "line 3: invalid register \"%r50\"");
        let e = assemble("ja nowhere\nexit").unwrap_err();
        assert_eq!(e.line, 1);
        let e = assemble("mov %r0, \u{1b}[31m").unwrap_err();
        assert!(!e.to_string().contains('\u{1b}'));
    }

    #[test]
    fn every_assembled_program_decodes() {
        let text = "mov %r0, 1\nlddw %r1, 0x100000000\nldxw %r2, [%r1+4]\nstxdw [%r10-8], %r2\n\
                    lock fetch xor [%r10-8], %r3\njslt32 %r0, -1, exit\ncall local f\nexit\n\
                    f:\nbe16 %r0\nmovsx832 %r0, %r0\nsmod %r0, 7\nja32 exit";
        let slots = assemble(text).unwrap();
        let insns = decode_all(&slots).unwrap();
        assert_eq!(insns.len(), 12);
        // Re-encoding the decoded program gives the same slots.
        let again = crate::encode_all(insns.iter().map(|(_, i)| i));
        assert_eq!(again, slots);
    }

    const VOCAB: &[&str] = &[
        "mov",
        "mov32",
        "add",
        "jeq",
        "jne32",
        "ja",
        "ja32",
        "lddw",
        "ldxw",
        "ldxsb",
        "stb",
        "stxdw",
        "lock",
        "fetch",
        "xchg",
        "cmpxchg32",
        "call",
        "local",
        "helper",
        "runtime",
        "exit",
        "neg",
        "be16",
        "bswap64",
        "movsx864",
        "%r0",
        "%r10",
        "%r15",
        "%r16",
        "[%r1+4]",
        "[%r10-8]",
        "[%r1",
        "[%r1+0x]",
        "[]",
        "0x",
        "0xffffffff",
        "-1",
        "+3",
        "-",
        "+",
        "label:",
        "label",
        "exit:",
        ":",
        ",",
        "#",
        "99999999999999999999",
        "-0x8000",
        "\n",
    ];

    proptest! {
        #[test]
        fn never_panics_on_random_text(text in "\\PC{0,200}") {
            let _ = assemble(&text);
        }

        #[test]
        fn never_panics_on_token_soup(
            picks in proptest::collection::vec((0..VOCAB.len(), any::<bool>()), 0..40)
        ) {
            let mut text = String::new();
            for (i, nl) in picks {
                text.push_str(VOCAB[i]);
                text.push_str(if nl { "\n" } else { " " });
            }
            if let Err(e) = assemble(&text) {
                prop_assert!(!e.to_string().contains('\n'));
                prop_assert!(e.line >= 1);
            }
        }

        #[test]
        fn immediates_round_trip(v in any::<i32>()) {
            let dec = assemble(&format!("mov %r0, {v}")).unwrap();
            let hex = assemble(&format!("mov %r0, {:#x}", v as u32)).unwrap();
            prop_assert_eq!(dec[0].imm, v);
            prop_assert_eq!(hex[0].imm, v);
        }
    }
}
