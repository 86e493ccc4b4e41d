//! Workload fixtures: ELF objects built by `workloads/build.sh`, committed to the repository
//! so that the bench never needs clang.

use anyhow::{bail, Context};
use object::{Object, ObjectSection, ObjectSymbol};

/// The bytes of a fixture's `.text` section, checked to be runnable by every engine of the
/// bench: one function, entry point `main` at offset 0, no relocations.
pub fn text_section(name: &str, elf: &[u8]) -> anyhow::Result<Vec<u8>> {
    let file = object::File::parse(elf).with_context(|| format!("{name}: not an ELF object"))?;
    if file.architecture() != object::Architecture::Bpf {
        bail!("{name}: architecture {:?}, not BPF", file.architecture());
    }
    let text = file
        .section_by_name(".text")
        .with_context(|| format!("{name}: no .text section"))?;
    if text.relocations().next().is_some() {
        bail!("{name}: .text has relocations; the bench runs relocation-free programs only");
    }
    let main = file
        .symbols()
        .find(|s| s.name() == Ok("main"))
        .with_context(|| format!("{name}: no symbol `main`"))?;
    if main.section_index() != Some(text.index()) || main.address() != text.address() {
        bail!("{name}: `main` is not at the start of .text");
    }
    let bytes = text
        .data()
        .with_context(|| format!("{name}: unreadable .text"))?;
    if bytes.is_empty() || bytes.len() % 8 != 0 {
        bail!(
            "{name}: .text is {} bytes, not a whole number of instructions",
            bytes.len()
        );
    }
    Ok(bytes.to_vec())
}
