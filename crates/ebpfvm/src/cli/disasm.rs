//! `ebpfvm disasm FILE [--section S]`: LLVM-dialect disassembly.
//!
//! Raw and hex input print one line per instruction (`   pc:\tinsn`). ELF objects print
//! like `llvm-objdump -d --no-show-raw-insn --print-imm-hex`: the file header, a
//! `Disassembly of section S:` header per
//! executable section, a `<symbol>:` header where each symbol starts, and jump targets
//! annotated with the symbol they land in (`<func+0x28>`).

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use ebpfvm_isa::disasm::{disassemble, write_line, SymbolLabels};
use ebpfvm_isa::{Insn, INSN_SIZE};

use super::input::{read_program, Code, Format};
use super::{CliError, EXIT_OK};

/// Disassembles `path` to `out`.
pub fn disasm(path: &Path, section: Option<&str>, out: &mut dyn Write) -> Result<u8, CliError> {
    let (format, blocks) = read_program(path, section)?;
    // Decode everything first, so that a bad instruction prints nothing but the error.
    // Like llvm-objdump, an empty ELF section prints nothing.
    let decoded = blocks
        .iter()
        .filter(|code| format != Format::Elf || !code.bytes.is_empty())
        .map(|code| code.decode(path).map(|insns| (code, insns)))
        .collect::<Result<Vec<_>, _>>()?;
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

/// One ELF section in llvm-objdump's layout.
fn elf_listing(text: &mut String, code: &Code, insns: &[(usize, Insn)]) {
    let name = code.section.as_deref().unwrap_or("");
    let _ = writeln!(text, "Disassembly of section {name}:");
    // Symbols are sorted by (address, name); where several share an address llvm-objdump
    // shows only the last one, and it names offset 0 after the section if no symbol is there.
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
    let labels = SymbolLabels::new(code.symbols.iter().cloned(), name);
    for (pc, insn) in insns {
        let byte = (*pc * INSN_SIZE) as u64;
        for (_, sym) in headers.iter().filter(|(addr, _)| *addr == byte) {
            let _ = writeln!(text, "\n{byte:016x} <{sym}>:");
        }
        let _ = write_line(text, *pc, insn, &labels);
    }
}
