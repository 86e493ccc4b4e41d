//! `ebpfvm conformance DIR [--engine interp|jit|all] [--json]`.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use ebpfvm_testkit::runner::{run_file, Outcome};
use ebpfvm_testkit::suite::{data_files, test_name};
use ebpfvm_testkit::{Engine, EngineError};

use super::{write_json, CliError, EngineArg, EXIT_OK, EXIT_REJECTED};

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

/// The `--json` output of `ebpfvm conformance`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ConformanceJson {
    /// The `--engine` value (`interp`, `jit` or `all`).
    pub engine: String,
    /// Tests that passed.
    pub passed: usize,
    /// Tests that failed or could not run.
    pub failed: usize,
    /// Files the upstream rules skip.
    pub skipped: usize,
    /// Every test on every engine that ran, in order.
    pub tests: Vec<TestJson>,
}

/// One test of a [`ConformanceJson`].
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct TestJson {
    /// The file name without `.data`.
    pub name: String,
    /// The engine it ran on.
    pub engine: String,
    /// `pass`, `fail` (wrong result), `error` (could not run to a result) or `skip`.
    pub outcome: String,
    /// Why it did not pass (one line); `null` when it passed.
    pub detail: Option<String>,
}

impl TestJson {
    fn new(name: String, engine: Engine, outcome: &Outcome) -> TestJson {
        let (kind, detail) = match outcome {
            Outcome::Pass => ("pass", None),
            Outcome::Fail(f) => ("fail", Some(f.to_string())),
            Outcome::Error { reason } => ("error", Some(reason.clone())),
            Outcome::Skip(reason) => ("skip", Some(reason.to_string())),
        };
        TestJson {
            name,
            engine: engine.name().to_string(),
            outcome: kind.to_string(),
            detail,
        }
    }
}

/// Lists the `*.data` files of `dir`; an unreadable or empty directory is an input error.
fn files_of(dir: &Path) -> Result<Vec<PathBuf>, CliError> {
    let files = data_files(dir)
        .map_err(|e| CliError::input(format!("cannot read directory {}: {e}", dir.display())))?;
    if files.is_empty() {
        return Err(CliError::input(format!(
            "no *.data files in {} (the conformance suite keeps its tests in tests/)",
            dir.display()
        )));
    }
    Ok(files)
}

fn exit_status(summary: &Summary) -> u8 {
    if summary.failed > 0 {
        EXIT_REJECTED
    } else {
        EXIT_OK
    }
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
    let files = files_of(dir)?;
    let summary = run_files(&files, &engines, out)?;
    writeln!(out, "{}", summary.line())?;
    Ok(exit_status(&summary))
}

/// Like [`conformance`], but prints one [`ConformanceJson`] object listing every test.
pub fn conformance_json(
    dir: &Path,
    engine: EngineArg,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, CliError> {
    let engine_name = match engine {
        EngineArg::Interp => "interp",
        EngineArg::Jit => "jit",
        EngineArg::All => "all",
    };
    let engines = engines(engine, err)?;
    let files = files_of(dir)?;
    let mut tests = Vec::new();
    let summary = each_test(&files, &engines, |engine, path, outcome| {
        tests.push(TestJson::new(test_name(path), engine, &outcome));
        Ok(())
    })?;
    let json = ConformanceJson {
        engine: engine_name.to_string(),
        passed: summary.passed,
        failed: summary.failed,
        skipped: summary.skipped,
        tests,
    };
    write_json(out, &json)?;
    Ok(exit_status(&summary))
}

/// Runs `files` on `engines`, printing one line per test that did not pass.
pub fn run_files(
    files: &[PathBuf],
    engines: &[Engine],
    out: &mut dyn Write,
) -> Result<Summary, CliError> {
    each_test(files, engines, |engine, path, outcome| {
        let name = if engines.len() > 1 {
            format!("{engine}/{}", test_name(path))
        } else {
            test_name(path)
        };
        match outcome {
            Outcome::Pass => {}
            Outcome::Fail(f) => writeln!(out, "FAIL {name}: {f}")?,
            Outcome::Error { reason } => writeln!(out, "ERROR {name}: {reason}")?,
            Outcome::Skip(reason) => writeln!(out, "SKIP {name}: {reason}")?,
        }
        Ok(())
    })
}

/// Runs every file on every engine (engine by engine), tallies the outcomes and hands each
/// to `report`.
fn each_test(
    files: &[PathBuf],
    engines: &[Engine],
    mut report: impl FnMut(Engine, &Path, Outcome) -> Result<(), CliError>,
) -> Result<Summary, CliError> {
    let mut summary = Summary::default();
    for &engine in engines {
        for path in files {
            let outcome = run_file(path, engine);
            match outcome {
                Outcome::Pass => summary.passed += 1,
                Outcome::Fail(_) | Outcome::Error { .. } => summary.failed += 1,
                Outcome::Skip(_) => summary.skipped += 1,
            }
            report(engine, path, outcome)?;
        }
    }
    Ok(summary)
}
