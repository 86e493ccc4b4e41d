//! Assembler for the LLVM/kernel dialect: the text [`crate::disasm`] prints and
//! `llvm-objdump -d` shows, and (for the instructions it shares) what `llvm-mc -triple bpfel`
//! and the kernel selftests' inline assembly accept.
//!
//! One instruction per line. A line may start with labels (`name:`; `LBB0_3:`, `.Ltmp1:`),
//! or with a number and a colon, which is a numeric local label (GNU `as` style, referenced
//! as `1f`/`1b`) and also makes the `pc:` column of a [`crate::disasm::disassemble`] listing
//! harmless. Comments start with `;`, `#` or `//`. Numbers are decimal or `0x` hex, with an
//! optional sign. A jump target is a label, `Nf`/`Nb`, or a slot offset (`+3`, `-0x2`, `3`),
//! optionally followed by an llvm-objdump annotation `<LBB0_3>`, which is ignored.
//!
//! Accepted forms (`rN` 64-bit, `wN` 32-bit registers; `IMM` a 32-bit immediate, written
//! signed or as an unsigned 32-bit pattern):
//!
//! ```text
//! r1 += r2      w1 s/= 0x5     r1 = r2      w1 = -0x5     r1 = -r1     r1 = (s8)r2
//! r1 = 0x1234 ll               ld_pseudo r1, 0x2, 0x5[, 0x10]
//! r1 = be16 r1  r1 = le32 r1   r1 = bswap64 r1            r1 = addr_space_cast(r2, 0x1, 0x0)
//! r0 = *(u16 *)(r10 - 0x8)     r0 = *(s8 *)(r1 + 0x0)     *(u32 *)(r10 - 0x4) = r1 | IMM
//! r0 = *(u8 *)skb[0x17]        r0 = *(u32 *)skb[r2]       r0 = *(u32 *)skb[r2 + 0x4]
//! goto +0x3     gotol -0x1     may_goto +0x2              if w1 s> 0x5 goto LBB0_3
//! call 0x1 (helper)            call +0x5 / call -0x1 / call label (local)
//! call kfunc 0x4d2[, 0x1]      callx r3      exit
//! lock *(u64 *)(r1 + 0x0) += r2                r2 = atomic_fetch_add((u64 *)(r1 + 0x0), r2)
//! r2 = xchg_64(r1 + 0x0, r2)   r0 = cmpxchg_64(r1 + 0x0, r0, r2)
//! w2 = xchg32_32(r1 + 0x0, w2) w0 = cmpxchg32_32(r1 + 0x0, w0, w2)
//! r0 = load_acquire((u64 *)(r1 + 0x0))         store_release((u8 *)(r1 + 0x0), w2)
//! ```
//!
//! `call N` without a sign is a helper call (as in llvm-mc); a signed offset or a label makes
//! a program-local call. 32-bit loads and stores also accept `w` registers (llvm's `alu32`
//! spelling); the encoding is the same. Parsing never panics; every error carries the line
//! and column (1-based, in characters) where it was found.

use alloc::borrow::ToOwned;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::encode::encode_all;
use crate::insn::{Call, Imm64, Insn, Source, Width};
use crate::opcodes::{AluOp, AtomicOp, ByteOrder, JmpCond, Size};
use crate::raw::RawInsn;
use crate::reg::Reg;

/// An assembly error, with the 1-based line and column (in characters) where it was found.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("line {line}, column {column}: {kind}")]
pub struct AsmError {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// What is wrong.
    pub kind: AsmErrorKind,
}

/// What is wrong with a line of assembly.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AsmErrorKind {
    /// A character that starts no token.
    #[error("unexpected character `{0}`")]
    UnexpectedChar(char),
    /// Something else was expected here.
    #[error("expected {expected}, found {found}")]
    Expected {
        /// What the parser wanted.
        expected: &'static str,
        /// What it found (quoted), or `end of line`.
        found: String,
    },
    /// A register-like name above r10/w10.
    #[error("unknown register {0}")]
    UnknownRegister(String),
    /// A line starting with a word that begins no instruction.
    #[error("unknown instruction `{0}`")]
    UnknownInstruction(String),
    /// A number does not fit the field it is written into.
    #[error("{what} {value} out of range")]
    OutOfRange {
        /// The field (`immediate`, `offset`, ...).
        what: &'static str,
        /// The value as written.
        value: String,
    },
    /// A jump or call names a label that is never defined.
    #[error("undefined label `{0}`")]
    UndefinedLabel(String),
    /// A label is defined twice.
    #[error("label `{0}` defined twice")]
    DuplicateLabel(String),
    /// The distance to a label does not fit the instruction's offset field.
    #[error("jump to `{label}` needs offset {offset}, which does not fit in {bits} bits")]
    JumpOutOfRange {
        /// The label.
        label: String,
        /// The slot offset needed.
        offset: i64,
        /// The width of the offset field.
        bits: u32,
    },
    /// The operands are well-formed but do not make a valid instruction.
    #[error("{0}")]
    Invalid(&'static str),
}

/// Assembles LLVM-dialect text into instruction slots.
pub fn assemble(text: &str) -> Result<Vec<RawInsn>, AsmError> {
    Ok(encode_all(&parse(text)?))
}

/// Parses LLVM-dialect text into instructions.
pub fn parse(text: &str) -> Result<Vec<Insn>, AsmError> {
    let mut asm = Assembler::default();
    for (i, line) in text.lines().enumerate() {
        asm.line(i + 1, line)?;
    }
    asm.finish()
}

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tok<'a> {
    Ident(&'a str),
    /// An unsigned literal (the sign is a separate token).
    Num(u64),
    /// `1f` (forward) / `1b` (backward).
    LocalRef(u64, bool),
    Punct(&'static str),
    /// A trailing llvm-objdump annotation `<...>`.
    Annot,
}

#[derive(Clone, Copy, Debug)]
struct Token<'a> {
    tok: Tok<'a>,
    text: &'a str,
    col: usize,
}

const PUNCTS: &[&str] = &[
    "s>>=", "s>=", "s<=", "s/=", "s%=", "s>", "s<", "<<=", ">>=", "+=", "-=", "*=", "/=", "%=",
    "|=", "&=", "^=", "==", "!=", ">=", "<=", "&", "<", ">", "=", "+", "-", "*", "(", ")", "[",
    "]", ",", ":",
];

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == '.' || c == '$'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '$'
}

/// Removes a comment (`;`, `#`, `//`) from a line.
fn strip_comment(line: &str) -> &str {
    let mut end = line.len();
    for pat in [";", "#", "//"] {
        if let Some(i) = line.find(pat) {
            end = end.min(i);
        }
    }
    &line[..end]
}

fn lex(line: &str, lineno: usize) -> Result<Vec<Token<'_>>, AsmError> {
    let mut toks = Vec::new();
    let mut pos = 0; // byte index
    let mut col = 1; // character column of `pos`
    let err = |col: usize, kind| AsmError {
        line: lineno,
        column: col,
        kind,
    };
    while let Some(c) = line[pos..].chars().next() {
        if c.is_whitespace() {
            pos += c.len_utf8();
            col += 1;
            continue;
        }
        let rest = &line[pos..];
        let start = pos;
        let start_col = col;
        let tok = if c == '<' && is_annotation(rest) {
            pos = line.len();
            Tok::Annot
        } else if c.is_ascii_digit() {
            let (tok, len) = lex_number(rest).map_err(|k| err(start_col, k))?;
            pos += len;
            tok
        } else if c == 's' && rest[1..].starts_with(['<', '>', '/', '%']) {
            let p = *PUNCTS
                .iter()
                .find(|p| rest.starts_with(**p))
                .ok_or_else(|| err(start_col, AsmErrorKind::UnexpectedChar(c)))?;
            pos += p.len();
            Tok::Punct(p)
        } else if is_ident_start(c) {
            let len = rest.find(|c: char| !is_ident_char(c)).unwrap_or(rest.len());
            pos += len;
            Tok::Ident(&rest[..len])
        } else if let Some(p) = PUNCTS.iter().find(|p| rest.starts_with(**p)) {
            pos += p.len();
            Tok::Punct(p)
        } else {
            return Err(err(start_col, AsmErrorKind::UnexpectedChar(c)));
        };
        let text = &line[start..pos];
        col += text.chars().count();
        toks.push(Token {
            tok,
            text,
            col: start_col,
        });
    }
    Ok(toks)
}

/// Whether `rest` (starting with `<`) is a trailing llvm-objdump annotation such as
/// `<LBB0_3>` or `<func+0x28>`: it runs to the end of the line, ends with `>` and holds no
/// whitespace. `if r1 < r2 goto +1 <L>` thus lexes `<` as an operator and `<L>` as an
/// annotation.
fn is_annotation(rest: &str) -> bool {
    let rest = rest.trim_end();
    rest.len() >= 2 && rest.ends_with('>') && !rest.contains(char::is_whitespace)
}

fn lex_number(rest: &str) -> Result<(Tok<'_>, usize), AsmErrorKind> {
    let (radix, digits_start) = if rest.starts_with("0x") || rest.starts_with("0X") {
        (16, 2)
    } else {
        (10, 0)
    };
    let body = &rest[digits_start..];
    let dlen = body
        .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .unwrap_or(body.len());
    let word = &rest[..digits_start + dlen];
    let digits = &body[..dlen];
    // `1f` / `1b`: a reference to a numeric local label.
    if radix == 10 && dlen >= 2 {
        let (n, dir) = digits.split_at(dlen - 1);
        if (dir == "f" || dir == "b") && n.bytes().all(|b| b.is_ascii_digit()) {
            let v = n.parse::<u64>().map_err(|_| AsmErrorKind::OutOfRange {
                what: "label number",
                value: word.to_owned(),
            })?;
            return Ok((Tok::LocalRef(v, dir == "f"), word.len()));
        }
    }
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(AsmErrorKind::Expected {
            expected: "a number",
            found: format!("`{}`", word),
        });
    }
    let v = u64::from_str_radix(digits, radix).map_err(|_| AsmErrorKind::OutOfRange {
        what: "number",
        value: word.to_owned(),
    })?;
    Ok((Tok::Num(v), word.len()))
}

// ---------------------------------------------------------------------------------------------
// Parser of one line

/// A jump or call target still to be resolved.
#[derive(Clone, Copy, Debug)]
enum Target<'a> {
    Label(&'a str),
    Local(u64, bool),
}

struct Line<'t, 'a> {
    toks: &'t [Token<'a>],
    i: usize,
    lineno: usize,
    /// Column just past the end of the line, for "found end of line" errors.
    end_col: usize,
}

/// A register with the width it was written in (`r` or `w`).
#[derive(Clone, Copy, Debug)]
struct RegW {
    reg: Reg,
    is64: bool,
    col: usize,
}

impl RegW {
    fn width(self) -> Width {
        if self.is64 {
            Width::W64
        } else {
            Width::W32
        }
    }
}

type PResult<T> = Result<T, AsmError>;

impl<'t, 'a> Line<'t, 'a> {
    fn err_at(&self, col: usize, kind: AsmErrorKind) -> AsmError {
        AsmError {
            line: self.lineno,
            column: col,
            kind,
        }
    }

    fn col(&self) -> usize {
        self.toks.get(self.i).map_or(self.end_col, |t| t.col)
    }

    fn peek(&self) -> Option<Tok<'a>> {
        self.toks.get(self.i).map(|t| t.tok)
    }

    fn peek2(&self) -> Option<Tok<'a>> {
        self.toks.get(self.i + 1).map(|t| t.tok)
    }

    fn expected(&self, expected: &'static str) -> AsmError {
        self.expected_at(self.i, expected)
    }

    /// "expected X, found <token at index `i`>".
    fn expected_at(&self, i: usize, expected: &'static str) -> AsmError {
        let (found, col) = match self.toks.get(i) {
            Some(t) if t.tok == Tok::Annot => ("an annotation `<...>`".to_owned(), t.col),
            Some(t) => (format!("`{}`", t.text), t.col),
            None => ("end of line".to_owned(), self.end_col),
        };
        self.err_at(col, AsmErrorKind::Expected { expected, found })
    }

    fn invalid(&self, col: usize, msg: &'static str) -> AsmError {
        self.err_at(col, AsmErrorKind::Invalid(msg))
    }

    fn eat(&mut self, p: &'static str) -> bool {
        if self.peek() == Some(Tok::Punct(p)) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn punct(&mut self, p: &'static str, expected: &'static str) -> PResult<()> {
        if self.eat(p) {
            Ok(())
        } else {
            Err(self.expected(expected))
        }
    }

    fn eat_ident(&mut self, name: &str) -> bool {
        if self.peek() == Some(Tok::Ident(name)) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn keyword(&mut self, name: &str, expected: &'static str) -> PResult<()> {
        if self.eat_ident(name) {
            Ok(())
        } else {
            Err(self.expected(expected))
        }
    }

    fn end(&mut self) -> PResult<()> {
        if self.i == self.toks.len() {
            Ok(())
        } else {
            Err(self.expected("end of line"))
        }
    }

    /// Whether the next token is a register name (valid or not).
    fn at_reg(&self) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if reg_like(s))
    }

    fn reg(&mut self) -> PResult<RegW> {
        let col = self.col();
        match self.peek() {
            Some(Tok::Ident(s)) if reg_like(s) => {
                self.i += 1;
                let n: Option<u8> = s[1..].parse().ok();
                match n.and_then(Reg::new) {
                    Some(reg) if !(s.len() > 2 && s.as_bytes()[1] == b'0') => Ok(RegW {
                        reg,
                        is64: s.starts_with('r'),
                        col,
                    }),
                    _ => Err(self.err_at(col, AsmErrorKind::UnknownRegister(s.to_owned()))),
                }
            }
            _ => Err(self.expected("a register")),
        }
    }

    fn reg64(&mut self) -> PResult<Reg> {
        let r = self.reg()?;
        if r.is64 {
            Ok(r.reg)
        } else {
            Err(self.invalid(r.col, "this operand must be a 64-bit register (rN)"))
        }
    }

    /// A register of the given width.
    fn reg_of(&mut self, width: Width) -> PResult<Reg> {
        let r = self.reg()?;
        if r.width() == width {
            Ok(r.reg)
        } else {
            Err(self.invalid(r.col, "registers of different widths (rN and wN) mixed"))
        }
    }

    /// An optionally signed number, as a value in i128 with its spelling's column.
    fn number(&mut self, expected: &'static str) -> PResult<(i128, usize, String)> {
        let start = self.i;
        let col = self.col();
        let neg = if self.eat("-") {
            true
        } else {
            self.eat("+");
            false
        };
        match self.peek() {
            Some(Tok::Num(v)) => {
                self.i += 1;
                let v = i128::from(v);
                let text: String = self.toks[start..self.i].iter().map(|t| t.text).collect();
                Ok((if neg { -v } else { v }, col, text))
            }
            _ => Err(self.expected(expected)),
        }
    }

    /// A number in `[min, max]`.
    fn ranged(&mut self, what: &'static str, min: i128, max: i128) -> PResult<i128> {
        let (v, col, text) = self.number("a number")?;
        if v < min || v > max {
            return Err(self.err_at(col, AsmErrorKind::OutOfRange { what, value: text }));
        }
        Ok(v)
    }

    /// A 32-bit immediate: signed, or an unsigned 32-bit pattern (`0xffffffff` is -1).
    fn imm32(&mut self) -> PResult<i32> {
        let v = self.ranged("immediate", i128::from(i32::MIN), i128::from(u32::MAX))?;
        Ok(v as u32 as i32)
    }

    /// A 16-bit signed offset.
    fn off16(&mut self) -> PResult<i16> {
        Ok(self.ranged("offset", i128::from(i16::MIN), i128::from(i16::MAX))? as i16)
    }

    /// `(rN + off)`, `(rN - off)` or `(rN)`, parentheses included.
    fn mem(&mut self) -> PResult<(Reg, i16)> {
        self.punct("(", "`(`")?;
        let (reg, off) = self.mem_inner()?;
        self.punct(")", "`)`")?;
        Ok((reg, off))
    }

    /// `rN + off`, `rN - off` or `rN`.
    fn mem_inner(&mut self) -> PResult<(Reg, i16)> {
        let reg = self.reg64()?;
        let off = match self.peek() {
            Some(Tok::Punct("+")) | Some(Tok::Punct("-")) => self.off16()?,
            _ => 0,
        };
        Ok((reg, off))
    }

    /// `(u32 *)` / `(s8 *)`: the size and whether it is signed. The caller ate nothing.
    fn size_cast(&mut self) -> PResult<(Size, bool, usize)> {
        self.punct("(", "`(`")?;
        let col = self.col();
        let (size, signed) = match self.peek() {
            Some(Tok::Ident(s)) => match size_name(s) {
                Some(x) => {
                    self.i += 1;
                    x
                }
                None => return Err(self.expected("a type (u8, u16, u32, u64, s8, s16, s32)")),
            },
            _ => return Err(self.expected("a type (u8, u16, u32, u64, s8, s16, s32)")),
        };
        self.punct("*", "`*`")?;
        self.punct(")", "`)`")?;
        Ok((size, signed, col))
    }

    fn unsigned_cast(&mut self) -> PResult<Size> {
        let (size, signed, col) = self.size_cast()?;
        if signed {
            return Err(self.invalid(col, "a signed type is only allowed in a load"));
        }
        Ok(size)
    }

    /// A jump target: `+N`, `-N`, `N`, a label or `Nf`/`Nb`, then an optional annotation.
    fn jump_target(&mut self, min: i128, max: i128) -> PResult<JumpRef<'a>> {
        let col = self.col();
        let t = match self.peek() {
            Some(Tok::Ident(name)) => {
                self.i += 1;
                JumpRef::To(Target::Label(name), col)
            }
            Some(Tok::LocalRef(n, fwd)) => {
                self.i += 1;
                JumpRef::To(Target::Local(n, fwd), col)
            }
            _ => JumpRef::Rel(self.ranged("jump offset", min, max)? as i64),
        };
        if self.peek() == Some(Tok::Annot) {
            self.i += 1;
        }
        Ok(t)
    }
}

#[derive(Clone, Copy, Debug)]
enum JumpRef<'a> {
    Rel(i64),
    To(Target<'a>, usize),
}

fn reg_like(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && (b[0] == b'r' || b[0] == b'w') && b[1..].iter().all(u8::is_ascii_digit)
}

fn size_name(s: &str) -> Option<(Size, bool)> {
    Some(match s {
        "u8" => (Size::B, false),
        "u16" => (Size::H, false),
        "u32" => (Size::W, false),
        "u64" => (Size::DW, false),
        "s8" => (Size::B, true),
        "s16" => (Size::H, true),
        "s32" => (Size::W, true),
        _ => return None,
    })
}

/// What the offset of a pending jump means, for range checks when it is resolved.
#[derive(Clone, Copy, Debug)]
enum Fixup {
    Off16,
    Off32,
}

impl Fixup {
    fn bits(self) -> u32 {
        match self {
            Fixup::Off16 => 16,
            Fixup::Off32 => 32,
        }
    }
}

/// Puts a resolved offset into a jump or call.
fn set_offset(insn: Insn, off: i64) -> Insn {
    match insn {
        Insn::Ja { long, .. } => Insn::Ja {
            off: off as i32,
            long,
        },
        Insn::Jmp {
            width,
            cond,
            dst,
            src,
            ..
        } => Insn::Jmp {
            width,
            cond,
            dst,
            src,
            off: off as i16,
        },
        Insn::MayGoto { .. } => Insn::MayGoto { off: off as i16 },
        Insn::Call(Call::Local(_)) => Insn::Call(Call::Local(off as i32)),
        other => other,
    }
}

fn rel_range(f: Fixup) -> (i128, i128) {
    match f {
        Fixup::Off16 => (i128::from(i16::MIN), i128::from(i16::MAX)),
        Fixup::Off32 => (i128::from(i32::MIN), i128::from(i32::MAX)),
    }
}

/// One parsed instruction, possibly waiting for a label.
struct Parsed<'a> {
    insn: Insn,
    jump: Option<(JumpRef<'a>, Fixup)>,
}

impl<'a> Parsed<'a> {
    fn plain(insn: Insn) -> Parsed<'a> {
        Parsed { insn, jump: None }
    }
}

fn parse_insn<'a>(l: &mut Line<'_, 'a>) -> PResult<Parsed<'a>> {
    let col = l.col();
    let head = match l.peek() {
        Some(Tok::Ident(s)) => s,
        Some(Tok::Punct("*")) => return parse_store(l).map(Parsed::plain),
        _ => return Err(l.expected("an instruction")),
    };
    if reg_like(head) {
        return parse_reg_stmt(l);
    }
    l.i += 1;
    let p = match head {
        "exit" => Parsed::plain(Insn::Exit),
        "callx" => Parsed::plain(Insn::CallX { dst: l.reg64()? }),
        "call" => parse_call(l)?,
        "goto" | "gotol" | "may_goto" => {
            let (insn, fix) = match head {
                "goto" => (
                    Insn::Ja {
                        off: 0,
                        long: false,
                    },
                    Fixup::Off16,
                ),
                "gotol" => (Insn::Ja { off: 0, long: true }, Fixup::Off32),
                _ => (Insn::MayGoto { off: 0 }, Fixup::Off16),
            };
            let (min, max) = rel_range(fix);
            let t = l.jump_target(min, max)?;
            Parsed {
                insn,
                jump: Some((t, fix)),
            }
        }
        "if" => {
            let dst = l.reg()?;
            let cond = match l.peek() {
                Some(Tok::Punct(p)) => JmpCond::from_llvm_name(p),
                _ => None,
            }
            .ok_or_else(|| {
                l.expected("a comparison (==, !=, >, >=, <, <=, s>, s>=, s<, s<=, &)")
            })?;
            l.i += 1;
            let src = if l.at_reg() {
                Source::Reg(l.reg_of(dst.width())?)
            } else {
                Source::Imm(l.imm32()?)
            };
            l.keyword("goto", "`goto`")?;
            let t = l.jump_target(i128::from(i16::MIN), i128::from(i16::MAX))?;
            Parsed {
                insn: Insn::Jmp {
                    width: dst.width(),
                    cond,
                    dst: dst.reg,
                    src,
                    off: 0,
                },
                jump: Some((t, Fixup::Off16)),
            }
        }
        "lock" => {
            l.punct("*", "`*`")?;
            let size = l.unsigned_cast()?;
            let (dst, off) = l.mem()?;
            let op = match l.peek() {
                Some(Tok::Punct(p)) => {
                    AtomicOp::from_llvm_name(p).filter(|o| o.may_fetch() && !o.always_fetches())
                }
                _ => None,
            }
            .ok_or_else(|| l.expected("an atomic operation (+=, |=, &=, ^=)"))?;
            l.i += 1;
            let src = atomic_value(l, size)?;
            atomic(l, col, size, op, false, dst, src, off)?
        }
        "store_release" => {
            l.punct("(", "`(`")?;
            let size = l.unsigned_cast()?;
            let (dst, off) = l.mem()?;
            l.punct(",", "`,`")?;
            let src = atomic_value(l, size)?;
            l.punct(")", "`)`")?;
            atomic(l, col, size, AtomicOp::StoreRelease, false, dst, src, off)?
        }
        "ld_pseudo" => {
            let dst = l.reg64()?;
            l.punct(",", "`,`")?;
            let src = l.ranged("ld_pseudo kind", 1, 6)? as u8;
            l.punct(",", "`,`")?;
            let imm = l.imm32()?;
            let ncol = l.col();
            let next = if l.eat(",") { l.imm32()? } else { 0 };
            if next != 0 && matches!(src, 1 | 4 | 5) {
                return Err(l.invalid(ncol, "ld_pseudo kinds 1, 4 and 5 take no second immediate"));
            }
            match Imm64::from_parts(src, imm, next) {
                Some(imm) => Parsed::plain(Insn::LdImm64 { dst, imm }),
                None => return Err(l.invalid(col, "invalid ld_pseudo kind")),
            }
        }
        _ => {
            return Err(l.err_at(col, AsmErrorKind::UnknownInstruction(head.to_owned())));
        }
    };
    Ok(p)
}

/// The value register of an atomic operation: `rN` for u64, `wN` or `rN` below.
fn atomic_value(l: &mut Line<'_, '_>, size: Size) -> PResult<Reg> {
    let r = l.reg()?;
    if size == Size::DW && !r.is64 {
        return Err(l.invalid(r.col, "a 64-bit atomic operation needs an rN register"));
    }
    Ok(r.reg)
}

/// Builds and checks an atomic instruction.
#[allow(clippy::too_many_arguments, reason = "one field per instruction field")]
fn atomic<'a>(
    l: &Line<'_, 'a>,
    col: usize,
    size: Size,
    op: AtomicOp,
    fetch: bool,
    dst: Reg,
    src: Reg,
    off: i16,
) -> PResult<Parsed<'a>> {
    if !op.is_acquire_release() && !matches!(size, Size::W | Size::DW) {
        return Err(l.invalid(col, "atomic operations exist only for u32 and u64"));
    }
    Ok(Parsed::plain(Insn::Atomic {
        size,
        op,
        fetch,
        dst,
        src,
        off,
    }))
}

fn parse_call<'a>(l: &mut Line<'_, 'a>) -> PResult<Parsed<'a>> {
    let col = l.col();
    match l.peek() {
        Some(Tok::Ident("kfunc"))
            if matches!(l.peek2(), Some(Tok::Num(_)) | Some(Tok::Punct("-" | "+"))) =>
        {
            l.i += 1;
            let btf_id = l.imm32()?;
            let module = if l.eat(",") {
                l.ranged("kfunc module", i128::from(i16::MIN), i128::from(i16::MAX))? as i16
            } else {
                0
            };
            Ok(Parsed::plain(Insn::Call(Call::Kfunc { btf_id, module })))
        }
        Some(Tok::Ident(name)) if !reg_like(name) => {
            l.i += 1;
            Ok(Parsed {
                insn: Insn::Call(Call::Local(0)),
                jump: Some((JumpRef::To(Target::Label(name), col), Fixup::Off32)),
            })
        }
        Some(Tok::LocalRef(n, fwd)) => {
            l.i += 1;
            Ok(Parsed {
                insn: Insn::Call(Call::Local(0)),
                jump: Some((JumpRef::To(Target::Local(n, fwd), col), Fixup::Off32)),
            })
        }
        Some(Tok::Punct("+" | "-")) => {
            let off = l.ranged("call offset", i128::from(i32::MIN), i128::from(i32::MAX))?;
            Ok(Parsed::plain(Insn::Call(Call::Local(off as i32))))
        }
        Some(Tok::Num(_)) => {
            let id = l.ranged("helper id", 0, i128::from(u32::MAX))?;
            Ok(Parsed::plain(Insn::Call(Call::Helper(id as u32 as i32))))
        }
        _ => Err(l.expected("a helper id, a signed offset, a label or `kfunc`")),
    }
}

/// `*(uN *)(rN + off) = rM | IMM`.
fn parse_store(l: &mut Line<'_, '_>) -> PResult<Insn> {
    l.punct("*", "`*`")?;
    let size = l.unsigned_cast()?;
    let (dst, off) = l.mem()?;
    l.punct("=", "`=`")?;
    let src = if l.at_reg() {
        let r = l.reg()?;
        if size == Size::DW && !r.is64 {
            return Err(l.invalid(r.col, "a u64 store needs an rN register"));
        }
        Source::Reg(r.reg)
    } else {
        Source::Imm(l.imm32()?)
    };
    Ok(Insn::Store {
        size,
        dst,
        off,
        src,
    })
}

/// Statements that start with a register: ALU operations and everything of the form
/// `rN = ...`.
fn parse_reg_stmt<'a>(l: &mut Line<'_, 'a>) -> PResult<Parsed<'a>> {
    let dst = l.reg()?;
    let width = dst.width();
    let op = match l.peek() {
        Some(Tok::Punct(p)) => AluOp::from_llvm_name(p),
        _ => None,
    }
    .ok_or_else(|| l.expected("an assignment operator (=, +=, -=, ...)"))?;
    l.i += 1;
    if op != AluOp::Mov {
        let src = if l.at_reg() {
            Source::Reg(l.reg_of(width)?)
        } else {
            Source::Imm(l.imm32()?)
        };
        return Ok(Parsed::plain(Insn::Alu {
            width,
            op,
            dst: dst.reg,
            src,
        }));
    }
    // `dst = ...`
    let col = l.col();
    let insn = match l.peek() {
        Some(Tok::Punct("-")) if matches!(l.peek2(), Some(Tok::Ident(s)) if reg_like(s)) => {
            l.i += 1;
            let src = l.reg()?;
            if src.reg != dst.reg || src.is64 != dst.is64 {
                return Err(l.invalid(src.col, "negation needs the same source and destination"));
            }
            Insn::Neg {
                width,
                dst: dst.reg,
            }
        }
        Some(Tok::Punct("(")) => {
            l.i += 1;
            let bcol = l.col();
            let bits = match l.peek() {
                Some(Tok::Ident("s8")) => 8,
                Some(Tok::Ident("s16")) => 16,
                Some(Tok::Ident("s32")) => 32,
                _ => return Err(l.expected("s8, s16 or s32")),
            };
            l.i += 1;
            l.punct(")", "`)`")?;
            let src = l.reg_of(width)?;
            if bits == 32 && width == Width::W32 {
                return Err(l.invalid(bcol, "a 32-bit sign-extending move takes s8 or s16"));
            }
            Insn::MovSx {
                width,
                dst: dst.reg,
                src,
                bits,
            }
        }
        Some(Tok::Punct("*")) => {
            l.i += 1;
            let (size, signed, tcol) = l.size_cast()?;
            if l.eat_ident("skb") {
                return parse_skb(l, dst, size, signed, tcol).map(Parsed::plain);
            }
            let (src, off) = l.mem()?;
            if !dst.is64 && (signed || size == Size::DW) {
                return Err(l.invalid(dst.col, "this load needs an rN destination"));
            }
            Insn::Load {
                size,
                signed,
                dst: dst.reg,
                src,
                off,
            }
        }
        Some(Tok::Ident(name)) if !reg_like(name) => {
            l.i += 1;
            return parse_named_rhs(l, dst, name, col);
        }
        Some(Tok::Ident(_)) => Insn::Alu {
            width,
            op,
            dst: dst.reg,
            src: Source::Reg(l.reg_of(width)?),
        },
        _ => {
            let (v, ncol, text) = l.number("a register, a number or an expression")?;
            if l.eat_ident("ll") {
                if !dst.is64 {
                    return Err(l.invalid(dst.col, "a 64-bit immediate load needs an rN register"));
                }
                if v < i128::from(i64::MIN) || v > i128::from(u64::MAX) {
                    return Err(l.err_at(
                        ncol,
                        AsmErrorKind::OutOfRange {
                            what: "64-bit immediate",
                            value: text,
                        },
                    ));
                }
                Insn::LdImm64 {
                    dst: dst.reg,
                    imm: Imm64::Value(v as u64),
                }
            } else {
                if v < i128::from(i32::MIN) || v > i128::from(u32::MAX) {
                    return Err(l.err_at(
                        ncol,
                        AsmErrorKind::OutOfRange {
                            what: "immediate (write `ll` for a 64-bit constant)",
                            value: text,
                        },
                    ));
                }
                Insn::Alu {
                    width,
                    op,
                    dst: dst.reg,
                    src: Source::Imm(v as u32 as i32),
                }
            }
        }
    };
    Ok(Parsed::plain(insn))
}

/// `r0 = *(uN *)skb[IMM]`, `skb[rN]`, `skb[rN + IMM]`, after `skb`.
fn parse_skb(
    l: &mut Line<'_, '_>,
    dst: RegW,
    size: Size,
    signed: bool,
    tcol: usize,
) -> PResult<Insn> {
    if signed || size == Size::DW {
        return Err(l.invalid(tcol, "legacy packet loads take u8, u16 or u32"));
    }
    if dst.reg != Reg::R0 || !dst.is64 {
        return Err(l.invalid(dst.col, "legacy packet loads always write r0"));
    }
    l.punct("[", "`[`")?;
    let insn = if l.at_reg() {
        let src = l.reg64()?;
        let imm = match l.peek() {
            Some(Tok::Punct("+" | "-")) => {
                l.ranged("immediate", i128::from(i32::MIN), i128::from(i32::MAX))? as i32
            }
            _ => 0,
        };
        Insn::LdInd { size, src, imm }
    } else {
        Insn::LdAbs {
            size,
            imm: l.imm32()?,
        }
    };
    l.punct("]", "`]`")?;
    Ok(insn)
}

/// `dst = name ...` for byte swaps, address-space casts and atomics.
fn parse_named_rhs<'a>(
    l: &mut Line<'_, 'a>,
    dst: RegW,
    name: &'a str,
    col: usize,
) -> PResult<Parsed<'a>> {
    // Byte swaps: le16, be32, bswap64.
    for order in ByteOrder::ALL {
        if let Some(bits) = name.strip_prefix(order.llvm_name()) {
            let bits = match bits {
                "16" => 16,
                "32" => 32,
                "64" => 64,
                _ => continue,
            };
            if !dst.is64 {
                return Err(l.invalid(dst.col, "byte swaps are written with rN registers"));
            }
            let src = l.reg64()?;
            if src != dst.reg {
                return Err(l.invalid(col, "a byte swap needs the same source and destination"));
            }
            return Ok(Parsed::plain(Insn::Endian {
                order: *order,
                bits,
                dst: dst.reg,
            }));
        }
    }
    let wide = dst.is64;
    let p = match name {
        "addr_space_cast" => {
            if !wide {
                return Err(l.invalid(dst.col, "addr_space_cast needs rN registers"));
            }
            l.punct("(", "`(`")?;
            let src = l.reg64()?;
            l.punct(",", "`,`")?;
            let dst_as = l.ranged("address space", 0, 0xffff)? as u32;
            l.punct(",", "`,`")?;
            let src_col = l.col();
            let src_as = l.ranged("address space", 0, 0xffff)? as u32;
            l.punct(")", "`)`")?;
            if !matches!((dst_as, src_as), (0, 1) | (1, 0)) {
                return Err(l.invalid(
                    src_col,
                    "addr_space_cast converts between address spaces 0 and 1",
                ));
            }
            Parsed::plain(Insn::AddrSpaceCast {
                dst: dst.reg,
                src,
                imm: ((dst_as << 16) | src_as) as i32,
            })
        }
        "load_acquire" => {
            l.punct("(", "`(`")?;
            let size = l.unsigned_cast()?;
            let (src, off) = l.mem()?;
            l.punct(")", "`)`")?;
            if size == Size::DW && !wide {
                return Err(l.invalid(dst.col, "a u64 load-acquire needs an rN register"));
            }
            atomic(
                l,
                col,
                size,
                AtomicOp::LoadAcquire,
                false,
                dst.reg,
                src,
                off,
            )?
        }
        "xchg_64" | "xchg32_32" | "cmpxchg_64" | "cmpxchg32_32" => {
            let size = if name.ends_with("_64") {
                Size::DW
            } else {
                Size::W
            };
            let is_cmp = name.starts_with("cmp");
            if (size == Size::DW) != wide {
                return Err(l.invalid(dst.col, "register width does not match the operation"));
            }
            l.punct("(", "`(`")?;
            let (base, off) = l.mem_inner()?;
            l.punct(",", "`,`")?;
            if is_cmp {
                let r0col = l.col();
                let r0 = l.reg_of(dst.width())?;
                if dst.reg != Reg::R0 || r0 != Reg::R0 {
                    return Err(l.invalid(r0col, "cmpxchg compares with and writes r0"));
                }
                l.punct(",", "`,`")?;
            }
            let vcol = l.col();
            let val = l.reg_of(dst.width())?;
            l.punct(")", "`)`")?;
            if !is_cmp && val != dst.reg {
                return Err(l.invalid(vcol, "xchg writes the old value to its value register"));
            }
            let op = if is_cmp {
                AtomicOp::Cmpxchg
            } else {
                AtomicOp::Xchg
            };
            atomic(l, col, size, op, true, base, val, off)?
        }
        _ => {
            let op = match name.strip_prefix("atomic_fetch_") {
                Some("add") => AtomicOp::Add,
                Some("or") => AtomicOp::Or,
                Some("and") => AtomicOp::And,
                Some("xor") => AtomicOp::Xor,
                _ => return Err(l.err_at(col, AsmErrorKind::UnknownInstruction(name.to_owned()))),
            };
            l.punct("(", "`(`")?;
            let size = l.unsigned_cast()?;
            let (base, off) = l.mem()?;
            l.punct(",", "`,`")?;
            let vcol = l.col();
            let val = l.reg()?;
            l.punct(")", "`)`")?;
            if val.reg != dst.reg || val.is64 != dst.is64 {
                return Err(l.invalid(vcol, "atomic_fetch writes the old value to its operand"));
            }
            if (size == Size::DW) != wide {
                return Err(l.invalid(dst.col, "register width does not match the access size"));
            }
            atomic(l, col, size, op, true, base, val.reg, off)?
        }
    };
    Ok(p)
}

// ---------------------------------------------------------------------------------------------
// Whole program

#[derive(Default)]
struct Assembler<'a> {
    insns: Vec<Insn>,
    /// Slot index of the next instruction.
    pc: usize,
    labels: BTreeMap<&'a str, usize>,
    /// Numeric local labels: (number, slot), in text order.
    locals: Vec<(u64, usize)>,
    /// Jumps and calls waiting for their label.
    pending: Vec<Pending<'a>>,
}

/// A jump or call to a label, resolved once every label is known.
struct Pending<'a> {
    /// Index in `insns`.
    index: usize,
    /// Slot of the instruction.
    pc: usize,
    target: Target<'a>,
    /// Where the label is written.
    line: usize,
    col: usize,
    fixup: Fixup,
    /// Number of numeric labels defined before the instruction.
    locals_before: usize,
}

impl<'a> Assembler<'a> {
    fn line(&mut self, lineno: usize, text: &'a str) -> Result<(), AsmError> {
        let code = strip_comment(text);
        let toks = lex(code, lineno)?;
        let mut l = Line {
            toks: &toks,
            i: 0,
            lineno,
            end_col: code.chars().count() + 1,
        };
        // Labels: `name:` or `N:`.
        loop {
            match (l.peek(), l.peek2()) {
                (Some(Tok::Ident(name)), Some(Tok::Punct(":"))) => {
                    let col = l.col();
                    l.i += 2;
                    if self.labels.insert(name, self.pc).is_some() {
                        return Err(l.err_at(col, AsmErrorKind::DuplicateLabel(name.to_owned())));
                    }
                }
                (Some(Tok::Num(n)), Some(Tok::Punct(":"))) => {
                    l.i += 2;
                    self.locals.push((n, self.pc));
                }
                _ => break,
            }
        }
        if l.peek().is_none() {
            return Ok(());
        }
        let parsed = parse_insn(&mut l)?;
        l.end()?;
        let index = self.insns.len();
        let mut insn = parsed.insn;
        if let Some((jump, fixup)) = parsed.jump {
            match jump {
                JumpRef::Rel(off) => insn = set_offset(insn, off),
                JumpRef::To(target, col) => self.pending.push(Pending {
                    index,
                    pc: self.pc,
                    target,
                    line: lineno,
                    col,
                    fixup,
                    locals_before: self.locals.len(),
                }),
            }
        }
        self.pc += insn.slots();
        self.insns.push(insn);
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<Insn>, AsmError> {
        for p in &self.pending {
            let (target_pc, name) = match p.target {
                Target::Label(name) => (self.labels.get(name).copied(), name.to_owned()),
                Target::Local(n, fwd) => {
                    let found = if fwd {
                        self.locals[p.locals_before..]
                            .iter()
                            .find(|(m, _)| *m == n)
                            .map(|(_, pc)| *pc)
                    } else {
                        self.locals[..p.locals_before]
                            .iter()
                            .rev()
                            .find(|(m, _)| *m == n)
                            .map(|(_, pc)| *pc)
                    };
                    (found, format!("{}{}", n, if fwd { 'f' } else { 'b' }))
                }
            };
            let err = |kind| AsmError {
                line: p.line,
                column: p.col,
                kind,
            };
            let target_pc =
                target_pc.ok_or_else(|| err(AsmErrorKind::UndefinedLabel(name.clone())))?;
            let off = target_pc as i64 - (p.pc as i64 + 1);
            let (min, max) = rel_range(p.fixup);
            if i128::from(off) < min || i128::from(off) > max {
                return Err(err(AsmErrorKind::JumpOutOfRange {
                    label: name,
                    offset: off,
                    bits: p.fixup.bits(),
                }));
            }
            self.insns[p.index] = set_offset(self.insns[p.index], off);
        }
        Ok(self.insns)
    }
}
