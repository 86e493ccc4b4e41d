//! Reading program files: raw bytecode, hex text, assembly source or ELF objects.
//!
//! Detection, in order: an ELF object starts with `\x7fELF`; a file named `*.s`, `*.S` or
//! `*.asm` is assembly source (LLVM dialect, or the conformance dialect if it uses `%rN`
//! registers); hex text is UTF-8 whose
//! whitespace-separated tokens are all either an even number of hex digits (bytes in order,
//! so `b7 00 00 00 ...` and `b700000001000000` both work) or a `0x` word of up to 16 hex
//! digits (one 64-bit instruction, little-endian, as in the conformance suite's `-- raw`);
//! anything else is raw little-endian bytecode.

use std::path::Path;

use ebpfvm_isa::{decode_all, slots_from_bytes, Insn, RawInsn};
use object::{Object, ObjectSection, ObjectSymbol, SectionKind, SymbolKind};

use super::CliError;

/// How a program file was written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Format {
    /// Raw little-endian bytecode.
    Raw,
    /// Hex text.
    Hex,
    /// An ELF object.
    Elf,
    /// Assembly source.
    Asm,
}

/// A block of instructions: a whole raw/hex file, or one ELF section.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Code {
    /// The ELF section's name (`None` for raw and hex input).
    pub section: Option<String>,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// `(byte offset, name)` of the symbols defined in the section, sorted, as
    /// llvm-objdump would show them.
    pub symbols: Vec<(u64, String)>,
    /// Whether the section has relocations (so it cannot run as is).
    pub has_relocations: bool,
}

impl Code {
    /// A description for error messages: `FILE` or `FILE: section S`.
    pub fn describe(&self, path: &Path) -> String {
        match &self.section {
            Some(s) => format!("{}: section {s}", path.display()),
            None => path.display().to_string(),
        }
    }

    /// The instruction slots. Fails if the length is not a whole number of instructions.
    pub fn slots(&self, path: &Path) -> Result<Vec<RawInsn>, CliError> {
        if self.bytes.is_empty() {
            return Err(CliError::rejected(format!(
                "{}: no instructions",
                self.describe(path)
            )));
        }
        slots_from_bytes(&self.bytes)
            .map_err(|e| CliError::rejected(format!("{}: {}", self.describe(path), e.kind)))
    }

    /// The decoded instructions with their slot indices.
    pub fn decode(&self, path: &Path) -> Result<Vec<(usize, Insn)>, CliError> {
        let slots = self.slots(path)?;
        decode_all(&slots).map_err(|e| CliError::rejected(format!("{}: {e}", self.describe(path))))
    }
}

/// Reads a file, with a one-line error (exit 2) if it cannot be read.
pub fn read_file(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::input(format!("cannot read {}: {e}", path.display())))
}

/// Reads a text file, with a one-line error (exit 2) if it cannot be read or is not UTF-8.
pub fn read_text(path: &Path) -> Result<String, CliError> {
    String::from_utf8(read_file(path)?)
        .map_err(|_| CliError::input(format!("{} is not UTF-8 text", path.display())))
}

/// Detects the format of a program file's contents.
pub fn detect(bytes: &[u8]) -> Format {
    if bytes.starts_with(b"\x7fELF") {
        Format::Elf
    } else if std::str::from_utf8(bytes).is_ok_and(|t| parse_hex_program(t).is_some()) {
        Format::Hex
    } else {
        Format::Raw
    }
}

/// Parses hex program text (see the module docs); `None` if it is not hex text.
pub fn parse_hex_program(text: &str) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut any = false;
    for tok in text.split_whitespace() {
        any = true;
        if let Some(word) = tok.strip_prefix("0x").or_else(|| tok.strip_prefix("0X")) {
            if word.is_empty() || word.len() > 16 || !word.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            let w = u64::from_str_radix(word, 16).ok()?;
            bytes.extend_from_slice(&w.to_le_bytes());
        } else {
            bytes.extend(hex_pairs(tok)?);
        }
    }
    any.then_some(bytes)
}

/// An even number of hex digits as bytes.
fn hex_pairs(tok: &str) -> Option<Vec<u8>> {
    if tok.len() % 2 != 0 || !tok.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..tok.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&tok[i..i + 2], 16).ok())
        .collect()
}

/// Parses data given as hex bytes (`aa bb`, `aabb`, `0xaabb`); whitespace is ignored.
pub fn parse_hex_bytes(text: &str) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    for tok in text.split_whitespace() {
        let tok = tok
            .strip_prefix("0x")
            .or_else(|| tok.strip_prefix("0X"))
            .unwrap_or(tok);
        bytes.extend(hex_pairs(tok)?);
    }
    Some(bytes)
}

/// Reads a program file. For ELF objects, `section` selects one section by name, otherwise
/// every executable section is returned; for raw and hex input `section` is a usage error.
pub fn read_program(path: &Path, section: Option<&str>) -> Result<(Format, Vec<Code>), CliError> {
    let bytes = read_file(path)?;
    let is_asm = path
        .extension()
        .is_some_and(|e| e == "s" || e == "S" || e == "asm");
    let format = if is_asm && !bytes.starts_with(b"\x7fELF") {
        Format::Asm
    } else {
        detect(&bytes)
    };
    let code = match format {
        Format::Asm => {
            let text = std::str::from_utf8(&bytes)
                .map_err(|_| CliError::input(format!("{} is not UTF-8 text", path.display())))?;
            let slots = super::asm::assemble(text, super::Dialect::Auto)
                .map_err(|e| CliError::rejected(format!("{}: {e}", path.display())))?;
            ebpfvm_isa::slots_to_bytes(&slots)
        }
        Format::Elf => return elf_sections(path, &bytes, section).map(|c| (format, c)),
        Format::Hex => {
            parse_hex_program(std::str::from_utf8(&bytes).unwrap_or_default()).unwrap_or_default()
        }
        Format::Raw => bytes,
    };
    if section.is_some() {
        return Err(CliError::usage(format!(
            "--section applies to ELF objects, and {} is not one",
            path.display()
        )));
    }
    Ok((
        format,
        vec![Code {
            section: None,
            bytes: code,
            symbols: Vec::new(),
            has_relocations: false,
        }],
    ))
}

fn elf_sections(path: &Path, data: &[u8], wanted: Option<&str>) -> Result<Vec<Code>, CliError> {
    let what = path.display();
    let file = object::File::parse(data)
        .map_err(|e| CliError::rejected(format!("{what}: invalid ELF object: {e}")))?;
    if file.architecture() != object::Architecture::Bpf {
        return Err(CliError::rejected(format!(
            "{what}: not a BPF object (architecture {:?})",
            file.architecture()
        )));
    }
    if !file.is_little_endian() {
        return Err(CliError::rejected(format!(
            "{what}: big-endian BPF objects are not supported"
        )));
    }
    let mut code = Vec::new();
    let mut executable = Vec::new();
    for sec in file.sections() {
        let name = sec.name().unwrap_or("").to_string();
        let is_text = sec.kind() == SectionKind::Text;
        if is_text {
            executable.push(name.clone());
        }
        let selected = match wanted {
            Some(w) => w == name,
            None => is_text,
        };
        if !selected {
            continue;
        }
        let bytes = sec
            .data()
            .map_err(|e| CliError::rejected(format!("{what}: section {name}: {e}")))?
            .to_vec();
        let mut symbols: Vec<(u64, String)> = file
            .symbols()
            .filter(|s| s.section_index() == Some(sec.index()))
            .filter(|s| !matches!(s.kind(), SymbolKind::Section | SymbolKind::File))
            .filter_map(|s| {
                let name = s.name().ok()?;
                (!name.is_empty()).then(|| (s.address(), name.to_string()))
            })
            .collect();
        symbols.sort();
        code.push(Code {
            section: Some(name),
            bytes,
            symbols,
            has_relocations: sec.relocations().next().is_some(),
        });
    }
    match wanted {
        Some(w) if code.is_empty() => Err(CliError::usage(format!(
            "{what} has no section named {w:?} (executable sections: {})",
            list(&executable)
        ))),
        None if code.is_empty() => Err(CliError::rejected(format!(
            "{what} has no executable sections"
        ))),
        _ => Ok(code),
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection() {
        assert_eq!(detect(b"\x7fELF\x02\x01"), Format::Elf);
        assert_eq!(
            detect(b"b7 00 00 00 01 00 00 00\n95 00 00 00 00 00 00 00\n"),
            Format::Hex
        );
        assert_eq!(detect(b"0x00000001000000b7 0x95"), Format::Hex);
        assert_eq!(detect(b"b700000001000000"), Format::Hex);
        assert_eq!(detect(&[0xb7, 0, 0, 0, 1, 0, 0, 0]), Format::Raw);
        assert_eq!(detect(b"b7 0"), Format::Raw);
        assert_eq!(detect(b""), Format::Raw);
        assert_eq!(detect(b"  \n"), Format::Raw);
    }

    #[test]
    fn hex_forms_agree() {
        let pairs = parse_hex_program("b7 00 00 00 01 00 00 00").unwrap();
        assert_eq!(parse_hex_program("0x00000001000000b7").unwrap(), pairs);
        assert_eq!(parse_hex_program("B700000001000000").unwrap(), pairs);
        assert!(parse_hex_program("0x").is_none());
        assert!(parse_hex_program("0x11112222333344445").is_none());
        assert_eq!(parse_hex_bytes("aa bb0x").map(|b| b.len()), None);
        assert_eq!(parse_hex_bytes("0xaabb cc"), Some(vec![0xaa, 0xbb, 0xcc]));
        assert_eq!(parse_hex_bytes(""), Some(vec![]));
    }
}
