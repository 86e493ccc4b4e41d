//! `ebpfvm run FILE [--data HEX | --data-file F] [--section S] [--engine interp|jit]
//! [--repeat N] [--budget N] [--dump-data] [--json]`.
//!
//! Runs a program with the given memory (r1 = its address, r2 = its length; both 0 without
//! memory) and prints the final r0 in hex. `--repeat N` runs it N times, like
//! `BPF_PROG_TEST_RUN`'s repeat but on a fresh copy of the memory each time, and reports the
//! last run; `--budget N` sets the instruction budget; `--dump-data` also prints the memory
//! after the run; `--json` prints a [`RunJson`] object. The only helper is the conformance
//! suite's helper 5 (returns r1) until the helper library lands. ELF input is accepted for a section without
//! relocations (maps and calls across sections need the object loader).

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use ebpfvm_abi::Trap;
use ebpfvm_testkit::{ConformanceHelpers, Engine, EngineError};
use serde::{Deserialize, Serialize};

use super::input::{parse_hex_bytes, read_file, read_program, Format};
use super::{write_json, CliError, SingleEngineArg, EXIT_OK};

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
    pub(crate) fn bytes(&self) -> Result<Vec<u8>, CliError> {
        match self {
            Data::None => Ok(Vec::new()),
            Data::Hex(hex) => parse_hex_bytes(hex).ok_or_else(|| {
                CliError::usage("--data must be hex bytes, e.g. \"aa bb 0c\" or \"aabb0c\"")
            }),
            Data::File(path) => read_file(path),
        }
    }
}

/// The options of `ebpfvm run` besides the program and its memory.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RunOptions {
    /// ELF section holding the program.
    pub section: Option<String>,
    /// Engine to run on.
    pub engine: SingleEngineArg,
    /// Runs (at least 1; 0 counts as 1).
    pub repeat: u64,
    /// Instruction budget of each run (`None`: the engine's default).
    pub budget: Option<u64>,
    /// Also print the memory after the last run.
    pub dump_data: bool,
    /// Print one JSON object ([`RunJson`]).
    pub json: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            section: None,
            engine: SingleEngineArg::Interp,
            repeat: 1,
            budget: None,
            dump_data: false,
            json: false,
        }
    }
}

/// The `--json` output of `ebpfvm run`.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct RunJson {
    /// The engine (`interp`, `jit`).
    pub engine: String,
    /// r0 of the last run in hex (`0x2a`): exact in every JSON reader.
    pub r0: String,
    /// r0 of the last run as a number.
    pub r0_u64: u64,
    /// Instructions the last run executed.
    pub executed: u64,
    /// Runs made.
    pub runs: u64,
    /// Mean wall-clock nanoseconds per run, memory resets included.
    pub ns_per_run: f64,
    /// The memory after the last run, as hex bytes (with `--dump-data`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

/// Runs `path` and prints r0 as `0x...`, with default [`RunOptions`] but `section` and
/// `engine`.
pub fn run(
    path: &Path,
    data: &Data,
    section: Option<&str>,
    engine: SingleEngineArg,
    out: &mut dyn Write,
) -> Result<u8, CliError> {
    let options = RunOptions {
        section: section.map(str::to_string),
        engine,
        ..RunOptions::default()
    };
    run_with(path, data, &options, out)
}

/// Runs `path` as `options` say and prints r0 as `0x...` (and with `dump_data` the final
/// memory as hex on a second line), or one [`RunJson`] object with `json`.
pub fn run_with(
    path: &Path,
    data: &Data,
    options: &RunOptions,
    out: &mut dyn Write,
) -> Result<u8, CliError> {
    let engine = match options.engine {
        SingleEngineArg::Interp => Engine::Interp,
        SingleEngineArg::Jit => Engine::Jit,
    };
    if !engine.is_available() {
        return Err(CliError::usage(
            EngineError::Unavailable { engine }.to_string(),
        ));
    }
    let section = options.section.as_deref();
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
    let report = engine.run_repeated(
        &slots,
        &mut mem,
        &mut ConformanceHelpers,
        options.budget,
        options.repeat,
    );
    let r0 = report.result.map_err(|e| match e {
        EngineError::Unavailable { .. } => CliError::usage(e.to_string()),
        // "pc P: instruction budget of N exhausted": the user asked for the limit.
        EngineError::Exec { message }
            if matches!(report.trap, Some(Trap::BudgetExhausted { .. })) =>
        {
            CliError::rejected(message)
        }
        e => CliError::rejected(format!("{}: {e}", code.describe(path))),
    })?;
    let dump = options.dump_data.then(|| hex(&mem));
    if options.json {
        let runs = report.runs.max(1);
        let json = RunJson {
            engine: engine.name().to_string(),
            r0: format!("{r0:#x}"),
            r0_u64: r0,
            executed: report.executed,
            runs: report.runs,
            ns_per_run: report.elapsed.as_nanos() as f64 / runs as f64,
            data: dump,
        };
        write_json(out, &json)?;
    } else {
        writeln!(out, "{r0:#x}")?;
        if let Some(dump) = dump {
            writeln!(out, "{dump}")?;
        }
    }
    Ok(EXIT_OK)
}

/// Bytes as lowercase hex pairs without separators.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
