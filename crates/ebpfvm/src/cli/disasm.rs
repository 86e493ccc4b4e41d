//! `ebpfvm disasm FILE [--section S] [--json]`: LLVM-dialect disassembly.
//!
//! Raw and hex input print one line per instruction (`   pc:\tinsn`). ELF objects print
//! like `llvm-objdump -d --no-show-raw-insn --print-imm-hex`: the file header, a
//! `Disassembly of section S:` header per
//! executable section, a `<symbol>:` header where each symbol starts, and jump targets
//! annotated with the symbol they land in (`<func+0x28>`). `--json` prints the same
//! information as one [`DisasmJson`] object.

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use ebpfvm_isa::disasm::{disasm_insn, disassemble, jump_target, write_line, Labels, SymbolLabels};
use ebpfvm_isa::{Insn, INSN_SIZE};
use serde::{Deserialize, Serialize};

use super::input::{read_program, Code, Format};
use super::run::hex;
use super::{write_json, CliError, EXIT_OK};

/// The `--json` output of `ebpfvm disasm`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct DisasmJson {
    /// How the file was written: `raw`, `hex`, `asm` or `elf`.
    pub format: String,
    /// The disassembled code: one entry for raw, hex and assembly input, one per non-empty
    /// executable section (or the `--section`) of an ELF object.
    pub sections: Vec<SectionJson>,
}

/// One block of code of a [`DisasmJson`].
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SectionJson {
    /// The ELF section's name; `null` for raw, hex and assembly input.
    pub name: Option<String>,
    /// The instructions in order.
    pub insns: Vec<InsnJson>,
}

/// One instruction of a [`SectionJson`].
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct InsnJson {
    /// Slot index (an `ld_imm64` takes two slots).
    pub pc: usize,
    /// The instruction in the LLVM dialect, without jump annotation (`r0 = 0x1`).
    pub text: String,
    /// The instruction's bytes as hex (16 digits, or 32 for `ld_imm64`).
    pub raw: String,
    /// The symbol that starts at this instruction (ELF only, as the text listing's
    /// `<symbol>:` header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The slot a jump goes to when taken (may lie outside the program if malformed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<i64>,
    /// The jump's annotation in the text listing (ELF only: `LBB0_3`, `func+0x28`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_label: Option<String>,
}

/// A block of code and its decoded `(pc, insn)` pairs.
type Decoded = (Code, Vec<(usize, Insn)>);

/// Reads and decodes `path`: every block, or nothing but the error if any instruction is
/// bad. Like llvm-objdump, empty ELF sections are left out.
fn decode_blocks(path: &Path, section: Option<&str>) -> Result<(Format, Vec<Decoded>), CliError> {
    let (format, blocks) = read_program(path, section)?;
    let decoded = blocks
        .into_iter()
        .filter(|code| format != Format::Elf || !code.bytes.is_empty())
        .map(|code| code.decode(path).map(|insns| (code, insns)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((format, decoded))
}

/// Disassembles `path` to `out`.
pub fn disasm(path: &Path, section: Option<&str>, out: &mut dyn Write) -> Result<u8, CliError> {
    let (format, decoded) = decode_blocks(path, section)?;
    let mut text = String::new();
    if format == Format::Elf {
        let _ = writeln!(text, "\n{}:\tfile format elf64-bpf", path.display());
    }
    for (code, insns) in &decoded {
        if format == Format::Elf {
            text.push('\n');
            elf_listing(&mut text, code, insns);
        } else {
            text.push_str(&disassemble(insns));
        }
    }
    out.write_all(text.as_bytes())?;
    Ok(EXIT_OK)
}

/// Like [`disasm`], but prints one [`DisasmJson`] object.
pub fn disasm_json(
    path: &Path,
    section: Option<&str>,
    out: &mut dyn Write,
) -> Result<u8, CliError> {
    let (format, decoded) = decode_blocks(path, section)?;
    let sections = decoded
        .iter()
        .map(|(code, insns)| section_json(format, code, insns))
        .collect();
    let format = match format {
        Format::Raw => "raw",
        Format::Hex => "hex",
        Format::Asm => "asm",
        Format::Elf => "elf",
    };
    let json = DisasmJson {
        format: format.to_string(),
        sections,
    };
    write_json(out, &json)?;
    Ok(EXIT_OK)
}

fn section_json(format: Format, code: &Code, insns: &[(usize, Insn)]) -> SectionJson {
    let elf = format == Format::Elf;
    let name = code.section.as_deref().unwrap_or("");
    let headers = if elf { headers(code) } else { Vec::new() };
    let labels = SymbolLabels::new(code.symbols.iter().cloned(), name);
    let insns = insns
        .iter()
        .map(|(pc, insn)| {
            let start = pc * INSN_SIZE;
            let end = (start + insn.slots() * INSN_SIZE).min(code.bytes.len());
            let byte = start as u64;
            let target = jump_target(insn, *pc);
            InsnJson {
                pc: *pc,
                text: disasm_insn(insn, *pc),
                raw: hex(code.bytes.get(start..end).unwrap_or_default()),
                label: headers
                    .iter()
                    .find(|(addr, _)| *addr == byte)
                    .map(|(_, sym)| sym.clone()),
                target,
                target_label: target.filter(|_| elf).and_then(|t| labels.label(*pc, t)),
            }
        })
        .collect();
    SectionJson {
        name: code.section.clone(),
        insns,
    }
}

/// The `<symbol>:` headers of an ELF section's listing, by byte offset. Symbols are sorted
/// by (address, name); where several share an address llvm-objdump shows only the last one,
/// and it names offset 0 after the section if no symbol is there.
fn headers(code: &Code) -> Vec<(u64, String)> {
    let name = code.section.as_deref().unwrap_or("");
    let mut headers: Vec<(u64, String)> = Vec::new();
    for (addr, sym) in &code.symbols {
        match headers.last_mut() {
            Some(last) if last.0 == *addr => last.1.clone_from(sym),
            _ => headers.push((*addr, sym.clone())),
        }
    }
    if headers.first().is_none_or(|(addr, _)| *addr != 0) {
        headers.insert(0, (0, name.to_string()));
    }
    headers
}

/// One ELF section in llvm-objdump's layout.
fn elf_listing(text: &mut String, code: &Code, insns: &[(usize, Insn)]) {
    let name = code.section.as_deref().unwrap_or("");
    let _ = writeln!(text, "Disassembly of section {name}:");
    let headers = headers(code);
    let labels = SymbolLabels::new(code.symbols.iter().cloned(), name);
    for (pc, insn) in insns {
        let byte = (*pc * INSN_SIZE) as u64;
        for (_, sym) in headers.iter().filter(|(addr, _)| *addr == byte) {
            let _ = writeln!(text, "\n{byte:016x} <{sym}>:");
        }
        let _ = write_line(text, *pc, insn, &labels);
    }
}
