//! `ebpfvm conformance DIR [--engine interp|jit|all]`.

use std::io::Write;
use std::path::Path;

use ebpfvm_testkit::runner::{run_file, Outcome};
use ebpfvm_testkit::suite::{data_files, test_name};
use ebpfvm_testkit::{Engine, EngineError};

use super::{CliError, EngineArg, EXIT_OK, EXIT_REJECTED};

/// Tallies of a conformance run.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Summary {
    /// Tests that passed.
    pub passed: usize,
    /// Tests that failed or could not run (FAIL and ERROR).
    pub failed: usize,
    /// Files the upstream rules skip.
    pub skipped: usize,
}

impl Summary {
    /// The closing line: `N passed, M failed`, plus `, K skipped` when K > 0.
    pub fn line(&self) -> String {
        let mut s = format!("{} passed, {} failed", self.passed, self.failed);
        if self.skipped > 0 {
            s.push_str(&format!(", {} skipped", self.skipped));
        }
        s
    }
}

/// The engines an `--engine` value selects. `jit` alone is a usage error while it is not
/// available; `all` runs the available engines and notes the others on `err`.
pub fn engines(arg: EngineArg, err: &mut dyn Write) -> Result<Vec<Engine>, CliError> {
    let wanted: Vec<Engine> = match arg {
        EngineArg::Interp => vec![Engine::Interp],
        EngineArg::Jit => vec![Engine::Jit],
        EngineArg::All => Engine::ALL.to_vec(),
    };
    let (available, missing): (Vec<Engine>, Vec<Engine>) =
        wanted.into_iter().partition(|e| e.is_available());
    if available.is_empty() {
        let engine = missing.first().copied().unwrap_or(Engine::Jit);
        return Err(CliError::usage(
            EngineError::Unavailable { engine }.to_string(),
        ));
    }
    for engine in missing {
        writeln!(
            err,
            "note: {}; skipping it",
            EngineError::Unavailable { engine }
        )?;
    }
    Ok(available)
}

/// Runs every `*.data` file of `dir` (sorted, not recursive) on the selected engines. Prints
/// `FAIL name: ...` / `ERROR name: ...` / `SKIP name: ...` lines and ends with the
/// [`Summary::line`]. Returns exit status 1 if any test failed.
pub fn conformance(
    dir: &Path,
    engine: EngineArg,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, CliError> {
    let engines = engines(engine, err)?;
    let files = data_files(dir)
        .map_err(|e| CliError::input(format!("cannot read directory {}: {e}", dir.display())))?;
    if files.is_empty() {
        return Err(CliError::input(format!(
            "no *.data files in {} (the conformance suite keeps its tests in tests/)",
            dir.display()
        )));
    }
    let summary = run_files(&files, &engines, out)?;
    writeln!(out, "{}", summary.line())?;
    Ok(if summary.failed > 0 {
        EXIT_REJECTED
    } else {
        EXIT_OK
    })
}

/// Runs `files` on `engines`, printing one line per test that did not pass.
pub fn run_files(
    files: &[std::path::PathBuf],
    engines: &[Engine],
    out: &mut dyn Write,
) -> Result<Summary, CliError> {
    let mut summary = Summary::default();
    for &engine in engines {
        for path in files {
            let name = if engines.len() > 1 {
                format!("{engine}/{}", test_name(path))
            } else {
                test_name(path)
            };
            match run_file(path, engine) {
                Outcome::Pass => summary.passed += 1,
                Outcome::Fail(f) => {
                    summary.failed += 1;
                    writeln!(out, "FAIL {name}: {f}")?;
                }
                Outcome::Error { reason } => {
                    summary.failed += 1;
                    writeln!(out, "ERROR {name}: {reason}")?;
                }
                Outcome::Skip(reason) => {
                    summary.skipped += 1;
                    writeln!(out, "SKIP {name}: {reason}")?;
                }
            }
        }
    }
    Ok(summary)
}
