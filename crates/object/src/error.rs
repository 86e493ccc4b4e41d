//! [`ParseError`] (the object is malformed or unsupported) and [`RelocationError`] (one
//! relocation cannot be applied). Messages are one line, lowercase, and name the section
//! and offset at fault.
//!
//! Section, symbol, map and extern names come from the file, so every message prints them
//! (and the text built around them) through [`Escaped`]: a name with a newline or another
//! control character still gives a one-line message. Fields keep the names as they are.

use std::fmt;

use ebpfvm_btf::BtfError;
use ebpfvm_isa::DecodeError;

/// Whether `c` is escaped by [`Escaped`]: control characters (C0, DEL, C1) and the Unicode
/// line and paragraph separators.
fn needs_escape(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// Displays a string from the file with control characters (and U+2028, U+2029) escaped as
/// Rust escapes them (`\n`, `\t`, `\0`, `\u{1b}`), so that it cannot break a message over
/// lines. Everything else, including backslashes, is written unchanged: ordinary names
/// print as they are, and escaping an escaped string changes nothing.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(needs_escape) {
            f.write_str(&rest[..at])?;
            let c = rest[at..].chars().next().unwrap_or_default();
            write!(f, "{}", c.escape_debug())?;
            rest = &rest[at + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

/// Why an ELF object could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The ELF container itself is malformed (header, section table, symbol table).
    #[error("invalid ELF object: {}", Escaped(.message))]
    Elf {
        /// What the ELF reader reported.
        message: String,
    },
    /// A well-formed ELF file that is not a little-endian 64-bit BPF object.
    #[error("unsupported ELF object: {}", Escaped(.reason))]
    Unsupported {
        /// What is wrong with it.
        reason: String,
    },
    /// There is no symbol table, so programs and maps cannot be named.
    #[error("no symbol table")]
    NoSymbolTable,
    /// A section's contents are malformed.
    #[error("section {}: {}", Escaped(.section), Escaped(.message))]
    Section {
        /// The section name (or `#index` when it has none).
        section: String,
        /// What is wrong.
        message: String,
    },
    /// A symbol is malformed (misaligned, or outside its section).
    #[error(
        "symbol {} in section {}: {}",
        Escaped(.symbol),
        Escaped(.section),
        Escaped(.message)
    )]
    Symbol {
        /// The symbol name.
        symbol: String,
        /// Its section.
        section: String,
        /// What is wrong.
        message: String,
    },
    /// A map definition is malformed or uses an unknown attribute.
    #[error("map {}: {}", Escaped(.map), Escaped(.message))]
    Map {
        /// The map name.
        map: String,
        /// What is wrong.
        message: String,
    },
    /// An extern variable or function cannot be classified.
    #[error("extern {}: {}", Escaped(.name), Escaped(.message))]
    Extern {
        /// The extern's name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// `.BTF` or `.BTF.ext` is malformed.
    #[error("section {section}: invalid BTF")]
    Btf {
        /// `.BTF` or `.BTF.ext`.
        section: &'static str,
        /// The BTF parser's error.
        #[source]
        source: BtfError,
    },
    /// A relocation cannot be applied.
    #[error(transparent)]
    Relocation(#[from] RelocationError),
    /// All programs together, with their subprograms, exceed the loader's budget.
    #[error("linked programs exceed {limit} instruction slots in total")]
    TooManySlots {
        /// The budget.
        limit: usize,
    },
    /// A linked program does not decode as valid instructions.
    #[error("program {}: invalid instruction", Escaped(.program))]
    Decode {
        /// The program name.
        program: String,
        /// The decoder's error (with the slot).
        #[source]
        source: DecodeError,
    },
}

/// Why a relocation (or a call or function reference, which are resolved the same way)
/// could not be applied. Offsets are byte offsets in the named code section.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelocationError {
    /// The relocation does not point at an instruction of its section.
    #[error("section {} offset {offset:#x}: relocation is not at an instruction", Escaped(.section))]
    NotAnInstruction {
        /// The code section.
        section: String,
        /// Byte offset of the relocation.
        offset: u64,
    },
    /// The relocation's symbol index is not in the symbol table.
    #[error(
        "section {} offset {offset:#x}: relocation refers to symbol {index}, which does not exist",
        Escaped(.section)
    )]
    NoSuchSymbol {
        /// The code section.
        section: String,
        /// Byte offset of the relocation.
        offset: u64,
        /// The symbol index.
        index: usize,
    },
    /// The relocated instruction is neither a `ld_imm64` nor a `call`.
    #[error(
        "section {} offset {offset:#x}: relocation against {} on an instruction with opcode {opcode:#04x} (expected ld_imm64 or call)",
        Escaped(.section),
        Escaped(.symbol)
    )]
    UnsupportedInstruction {
        /// The code section.
        section: String,
        /// Byte offset of the instruction.
        offset: u64,
        /// The symbol.
        symbol: String,
        /// The instruction's opcode.
        opcode: u8,
    },
    /// A `call` relocation whose instruction is not a `call` with src 1 (`BPF_PSEUDO_CALL`).
    #[error(
        "section {} offset {offset:#x}: relocation against {} on a call with src {src} (expected a bpf-to-bpf call, src 1)",
        Escaped(.section),
        Escaped(.symbol)
    )]
    BadCall {
        /// The code section.
        section: String,
        /// Byte offset of the instruction.
        offset: u64,
        /// The symbol.
        symbol: String,
        /// The call's src field.
        src: u8,
    },
    /// The symbol's section holds no maps, data or code.
    #[error(
        "section {} offset {offset:#x}: relocation against {} in section {}, which holds no maps, data or code",
        Escaped(.section),
        Escaped(.symbol),
        Escaped(.target_section)
    )]
    UnsupportedTarget {
        /// The code section.
        section: String,
        /// Byte offset of the instruction.
        offset: u64,
        /// The symbol.
        symbol: String,
        /// The symbol's section.
        target_section: String,
    },
    /// A map reference that does not point at the start of a map definition.
    #[error(
        "section {} offset {offset:#x}: no map at offset {map_offset:#x} of section {} (symbol {})",
        Escaped(.section),
        Escaped(.map_section),
        Escaped(.symbol)
    )]
    NoMapAtOffset {
        /// The code section.
        section: String,
        /// Byte offset of the instruction.
        offset: u64,
        /// The symbol.
        symbol: String,
        /// The maps section.
        map_section: String,
        /// The offset in it.
        map_offset: i64,
    },
    /// A call or function reference to an address that is not inside a function.
    #[error(
        "section {} offset {offset:#x}: {what} target {}+{target:#x} is not inside a function",
        Escaped(.section),
        Escaped(.target_section)
    )]
    BadTarget {
        /// The code section.
        section: String,
        /// Byte offset of the instruction.
        offset: u64,
        /// `call` or `function pointer`.
        what: &'static str,
        /// The target's section.
        target_section: String,
        /// The target's byte offset in that section (may be negative if malformed).
        target: i64,
    },
    /// Linking a subprogram would make the program longer than Linux's limit of 1,000,000
    /// slots (or than an offset can reach).
    #[error(
        "section {} offset {offset:#x}: linked program is too large ({slots} slots)",
        Escaped(.section)
    )]
    TooLarge {
        /// The code section.
        section: String,
        /// Byte offset of the instruction.
        offset: u64,
        /// The size reached.
        slots: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_keeps_ordinary_names() {
        for name in [
            "xdp",
            ".rodata.str1.1",
            "maps/prog",
            "tc/ingress",
            "a\\nb",
            "café",
            "",
        ] {
            assert_eq!(Escaped(name).to_string(), name);
        }
    }

    #[test]
    fn escaped_escapes_control_characters() {
        let cases = [
            ("a\nb", "a\\nb"),
            ("a\r\nb", "a\\r\\nb"),
            ("\t\0", "\\t\\0"),
            ("x\u{1b}[31m", "x\\u{1b}[31m"),
            (
                "\u{85}\u{2028}\u{2029}\u{7f}",
                "\\u{85}\\u{2028}\\u{2029}\\u{7f}",
            ),
        ];
        for (name, want) in cases {
            let got = Escaped(name).to_string();
            assert_eq!(got, want);
            // Escaping is idempotent.
            assert_eq!(Escaped(&got).to_string(), want);
        }
    }

    #[test]
    fn every_error_is_one_line() {
        let n = || "a\nb\r\u{2028}".to_string();
        let errors: Vec<ParseError> = vec![
            ParseError::Elf { message: n() },
            ParseError::Unsupported { reason: n() },
            ParseError::Section {
                section: n(),
                message: n(),
            },
            ParseError::Symbol {
                symbol: n(),
                section: n(),
                message: n(),
            },
            ParseError::Map {
                map: n(),
                message: n(),
            },
            ParseError::Extern {
                name: n(),
                message: n(),
            },
            ParseError::Decode {
                program: n(),
                source: DecodeError {
                    pc: 0,
                    kind: ebpfvm_isa::DecodeErrorKind::UnknownOpcode { opcode: 0xff },
                },
            },
            RelocationError::NotAnInstruction {
                section: n(),
                offset: 8,
            }
            .into(),
            RelocationError::NoSuchSymbol {
                section: n(),
                offset: 8,
                index: 3,
            }
            .into(),
            RelocationError::UnsupportedInstruction {
                section: n(),
                offset: 8,
                symbol: n(),
                opcode: 0xb7,
            }
            .into(),
            RelocationError::BadCall {
                section: n(),
                offset: 8,
                symbol: n(),
                src: 0,
            }
            .into(),
            RelocationError::UnsupportedTarget {
                section: n(),
                offset: 8,
                symbol: n(),
                target_section: n(),
            }
            .into(),
            RelocationError::NoMapAtOffset {
                section: n(),
                offset: 8,
                symbol: n(),
                map_section: n(),
                map_offset: 4,
            }
            .into(),
            RelocationError::BadTarget {
                section: n(),
                offset: 8,
                what: "call",
                target_section: n(),
                target: 4,
            }
            .into(),
            RelocationError::TooLarge {
                section: n(),
                offset: 8,
                slots: 9,
            }
            .into(),
        ];
        for e in errors {
            let text = e.to_string();
            assert!(!text.contains(needs_escape), "{text:?}");
            assert!(text.contains("a\\nb\\r\\u{2028}"), "{text:?}");
        }
    }
}
