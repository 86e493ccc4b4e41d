//! `ebpfvm asm FILE.s [-o OUT] [--dialect auto|llvm|ubpf]`.
//!
//! Writes raw little-endian bytecode (8 bytes per slot) to OUT; the default OUT is FILE with
//! its extension replaced by `.bin` (`prog.s` → `prog.bin`), and `-o -` writes to standard
//! output.

use std::io::Write;
use std::path::{Path, PathBuf};

use ebpfvm_isa::asm::ubpf;
use ebpfvm_isa::{slots_to_bytes, RawInsn};

use super::input::read_text;
use super::{CliError, Dialect, EXIT_OK};

/// Whether `text` looks like the conformance dialect: it names a `%rN` register.
pub fn looks_like_ubpf(text: &str) -> bool {
    text.match_indices("%r")
        .any(|(i, _)| text[i + 2..].starts_with(|c: char| c.is_ascii_digit()))
}

/// The dialect `auto` resolves to for `text`.
pub fn resolve_dialect(dialect: Dialect, text: &str) -> Dialect {
    match dialect {
        Dialect::Auto if looks_like_ubpf(text) => Dialect::Ubpf,
        Dialect::Auto => Dialect::Llvm,
        d => d,
    }
}

/// Assembles `text` in `dialect`; errors are one line (`line N: ...`).
pub fn assemble(text: &str, dialect: Dialect) -> Result<Vec<RawInsn>, String> {
    match resolve_dialect(dialect, text) {
        Dialect::Ubpf => ubpf::assemble(text).map_err(|e| e.to_string()),
        _ => assemble_llvm(text),
    }
}

fn assemble_llvm(text: &str) -> Result<Vec<RawInsn>, String> {
    ebpfvm_isa::asm::llvm::assemble(text).map_err(|e| e.to_string())
}

/// The default output path: `input` with extension `.bin`.
pub fn default_output(input: &Path) -> PathBuf {
    input.with_extension("bin")
}

/// Assembles `input` and writes the bytecode to `output` (see the module docs).
pub fn asm(
    input: &Path,
    output: Option<&Path>,
    dialect: Dialect,
    out: &mut dyn Write,
) -> Result<u8, CliError> {
    let text = read_text(input)?;
    let slots = assemble(&text, dialect)
        .map_err(|e| CliError::rejected(format!("{}: {e}", input.display())))?;
    if slots.is_empty() {
        return Err(CliError::rejected(format!(
            "{}: no instructions",
            input.display()
        )));
    }
    let bytes = slots_to_bytes(&slots);
    let target = output.map_or_else(|| default_output(input), Path::to_path_buf);
    if target == Path::new("-") {
        out.write_all(&bytes)?;
        return Ok(EXIT_OK);
    }
    if target == input {
        return Err(CliError::usage(format!(
            "output would overwrite the input {}; choose another with -o",
            input.display()
        )));
    }
    std::fs::write(&target, &bytes)
        .map_err(|e| CliError::input(format!("cannot write {}: {e}", target.display())))?;
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialect_detection() {
        assert!(looks_like_ubpf("mov %r0, 1"));
        assert!(!looks_like_ubpf("r0 = 1\nexit"));
        assert!(!looks_like_ubpf("%r"));
        assert!(!looks_like_ubpf("100%rubbish"));
        assert_eq!(resolve_dialect(Dialect::Auto, "exit"), Dialect::Llvm);
        assert_eq!(resolve_dialect(Dialect::Llvm, "mov %r0, 1"), Dialect::Llvm);
    }

    #[test]
    fn default_output_replaces_the_extension() {
        assert_eq!(
            default_output(Path::new("a/prog.s")),
            Path::new("a/prog.bin")
        );
        assert_eq!(default_output(Path::new("prog")), Path::new("prog.bin"));
    }
}
