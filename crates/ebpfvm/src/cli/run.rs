//! `ebpfvm run FILE [--data HEX | --data-file F] [--section S] [--engine interp|jit]`.
//!
//! Runs a program with the given memory (r1 = its address, r2 = its length; both 0 without
//! memory) and prints the final r0 in hex. The only helper is the conformance suite's helper 5
//! (returns r1) until the helper library lands. ELF input is accepted for a section without
//! relocations (maps and calls across sections need the object loader).

use std::io::Write;
use std::path::{Path, PathBuf};

use ebpfvm_testkit::{ConformanceHelpers, Engine, EngineError};

use super::input::{parse_hex_bytes, read_file, read_program, Format};
use super::{CliError, SingleEngineArg, EXIT_OK};

/// The program's memory.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Data {
    /// No memory.
    None,
    /// Hex bytes from the command line.
    Hex(String),
    /// The bytes of a file.
    File(PathBuf),
}

impl Data {
    fn bytes(&self) -> Result<Vec<u8>, CliError> {
        match self {
            Data::None => Ok(Vec::new()),
            Data::Hex(hex) => parse_hex_bytes(hex).ok_or_else(|| {
                CliError::usage("--data must be hex bytes, e.g. \"aa bb 0c\" or \"aabb0c\"")
            }),
            Data::File(path) => read_file(path),
        }
    }
}

/// Runs `path` and prints r0 as `0x...`.
pub fn run(
    path: &Path,
    data: &Data,
    section: Option<&str>,
    engine: SingleEngineArg,
    out: &mut dyn Write,
) -> Result<u8, CliError> {
    let engine = match engine {
        SingleEngineArg::Interp => Engine::Interp,
        SingleEngineArg::Jit => Engine::Jit,
    };
    if !engine.is_available() {
        return Err(CliError::usage(
            EngineError::Unavailable { engine }.to_string(),
        ));
    }
    let mut mem = data.bytes()?;
    let (format, mut blocks) = read_program(path, section)?;
    if format == Format::Elf && section.is_none() {
        blocks.retain(|c| !c.bytes.is_empty());
    }
    let code = match blocks.as_slice() {
        [one] => one,
        _ => {
            let names: Vec<&str> = blocks.iter().filter_map(|c| c.section.as_deref()).collect();
            return Err(CliError::usage(format!(
                "{} has {} executable sections ({}); pick one with --section",
                path.display(),
                names.len(),
                names.join(", ")
            )));
        }
    };
    if format == Format::Elf && code.has_relocations {
        return Err(CliError::rejected(format!(
            "{} has relocations; running relocatable programs needs the object loader",
            code.describe(path)
        )));
    }
    let slots = code.slots(path)?;
    let r0 = engine
        .run(&slots, &mut mem, &mut ConformanceHelpers)
        .map_err(|e| match e {
            EngineError::Unavailable { .. } => CliError::usage(e.to_string()),
            e => CliError::rejected(format!("{}: {e}", code.describe(path))),
        })?;
    writeln!(out, "{r0:#x}")?;
    Ok(EXIT_OK)
}
