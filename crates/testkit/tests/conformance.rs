//! The conformance suite as libtest-mimic trials.
//!
//! - `asm/<name>`: every `tests/*.data` assembles and decodes strictly (and `-- raw`, where
//!   present, equals the assembled `-- asm`);
//! - `<engine>/<name>`: every `tests/*.data` passes on every available engine;
//! - `negative/asm/<name>`: the README §9 assembler error cases fail to assemble;
//! - `negative/skip/<name>`: the skip cases are skipped;
//! - `negative/<engine>/incorrect_return_value_high_bits`: must FAIL the 64-bit comparison;
//! - `negative/<engine>/unused-*`: byte-wise raw programs with non-zero unused fields are
//!   rejected at load.
//!
//! Without the suite (`../shared/conformance` or `$EBPFVM_CONFORMANCE_DIR`) it prints a skip
//! message and passes.

use std::path::{Path, PathBuf};

use ebpfvm_isa::asm::ubpf;
use ebpfvm_testkit::data::{DataFile, Prepared, ProgramSource, SkipReason};
use ebpfvm_testkit::runner::{read_data_file, run_file, Failure, Outcome};
use ebpfvm_testkit::suite::{self, test_name};
use ebpfvm_testkit::{DataError, Engine, EngineError};
use libtest_mimic::{Arguments, Failed, Trial};

type TrialResult = Result<(), Failed>;

fn fail(msg: impl std::fmt::Display) -> Failed {
    Failed::from(msg.to_string())
}

fn load(path: &Path) -> Result<DataFile, Failed> {
    read_data_file(path).map_err(fail)
}

/// `asm/<name>`: assembles and decodes; raw equals asm where both exist.
fn assembles(path: &Path) -> TrialResult {
    let file = load(path)?;
    let case = match file.prepare().map_err(fail)? {
        Prepared::Run(case) => case,
        Prepared::Skip(reason) => return Err(fail(format!("skipped: {reason}"))),
    };
    let slots = case.program().map_err(fail)?;
    ebpfvm_isa::decode_all(&slots).map_err(fail)?;
    if let ProgramSource::Raw(words) = &case.source {
        let text: Vec<&str> = file.asm.iter().map(|l| l.text.as_str()).collect();
        let asm = ubpf::assemble(&text.join("\n")).map_err(fail)?;
        let asm_words: Vec<u64> = asm.iter().map(|s| s.to_word()).collect();
        if !asm.is_empty() && &asm_words != words {
            return Err(fail(format!("-- asm {asm_words:x?} != -- raw {words:x?}")));
        }
    }
    Ok(())
}

/// `<engine>/<name>`: the test passes.
fn passes(path: &Path, engine: Engine) -> TrialResult {
    match run_file(path, engine) {
        Outcome::Pass => Ok(()),
        Outcome::Fail(f) => Err(fail(format!("FAIL: {f}"))),
        Outcome::Error { reason } => Err(fail(format!("ERROR: {reason}"))),
        Outcome::Skip(reason) => Err(fail(format!("unexpectedly skipped: {reason}"))),
    }
}

/// `negative/asm/<name>`: the asm section must not assemble.
fn rejected_by_assembler(path: &Path) -> TrialResult {
    let case = match load(path)?.prepare().map_err(fail)? {
        Prepared::Run(case) => case,
        Prepared::Skip(reason) => return Err(fail(format!("skipped: {reason}"))),
    };
    match case.program() {
        Err(DataError::Asm(e)) => {
            let msg = e.to_string();
            if msg.contains('\n') || e.line == 0 {
                return Err(fail(format!("bad error message: {msg:?}")));
            }
            Ok(())
        }
        Err(e) => Err(fail(format!("wrong error: {e}"))),
        Ok(slots) => Err(fail(format!("assembled to {} slots", slots.len()))),
    }
}

/// `negative/skip/<name>`: the upstream runner's skip paths.
fn skipped(path: &Path) -> TrialResult {
    match run_file(path, Engine::Interp) {
        Outcome::Skip(_) => Ok(()),
        other => Err(fail(format!("not skipped: {other:?}"))),
    }
}

/// `negative/<engine>/incorrect_return_value_high_bits`: must fail on the high bits.
fn fails_on_high_bits(path: &Path, engine: Engine) -> TrialResult {
    match run_file(path, engine) {
        Outcome::Fail(Failure::Mismatch { expected, got })
            if expected >> 32 != got >> 32 && expected as u32 == got as u32 =>
        {
            Ok(())
        }
        other => Err(fail(format!(
            "expected a high-bits mismatch, got {other:?}"
        ))),
    }
}

/// `unused-*` files whose program ebpfvm accepts on purpose, with the reason. Their trials
/// are expected failures: they pass while the program is accepted and fail once it is
/// rejected, so that this list is updated (PREVAIL `expected_failure` semantics).
const ACCEPTED_UNUSED: &[(&str, &str)] = &[];

/// `negative/<engine>/unused-*`: skipped by the upstream rules, rejected at load when read
/// byte-wise.
fn rejected_at_load(path: &Path, engine: Engine) -> TrialResult {
    let file_name = path.file_name().unwrap_or_default().to_string_lossy();
    let accepted = ACCEPTED_UNUSED.iter().find(|(f, _)| *f == file_name);
    let file = load(path)?;
    if file.prepare().map_err(fail)? != Prepared::Skip(SkipReason::NoResultOrError) {
        return Err(fail("upstream rules should skip this file"));
    }
    let slots = file.raw_bytes_program().map_err(fail)?;
    match (engine.check_load(&slots), accepted) {
        (Err(EngineError::Load { .. }), None) => Ok(()),
        (Ok(()), Some(_)) => Ok(()),
        (Err(EngineError::Load { .. }), Some((_, why))) => Err(fail(format!(
            "now rejected at load; remove it from ACCEPTED_UNUSED ({why})"
        ))),
        (Err(e), _) => Err(fail(format!("wrong error: {e}"))),
        (Ok(()), None) => Err(fail("program was accepted")),
    }
}

fn files(dir: &Path) -> Vec<PathBuf> {
    suite::data_files(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
}

fn trial(name: String, f: impl FnOnce() -> TrialResult + Send + 'static) -> Trial {
    Trial::test(name, f)
}

fn main() {
    let args = Arguments::from_args();
    let Some(root) = suite::conformance_root() else {
        eprintln!(
            "conformance suite not found (../shared/conformance or ${}): skipping",
            suite::CONFORMANCE_DIR_ENV
        );
        libtest_mimic::run(&args, Vec::new()).exit();
    };
    let tests = files(&root.join("tests"));
    let negative_dir = root.join("negative");
    let negative = if negative_dir.is_dir() {
        files(&negative_dir)
    } else {
        Vec::new()
    };
    let engines = Engine::available();
    let mut trials = Vec::new();

    let (n_tests, n_negative) = (tests.len(), negative.len());
    trials.push(trial("suite/file-counts".into(), move || {
        if (n_tests, n_negative) == (313, 60) {
            Ok(())
        } else {
            Err(fail(format!(
                "found {n_tests} tests and {n_negative} negative files, expected 313 and 60"
            )))
        }
    }));

    for path in &tests {
        let p = path.clone();
        trials.push(trial(format!("asm/{}", test_name(path)), move || {
            assembles(&p)
        }));
    }
    for &engine in &engines {
        for path in &tests {
            let p = path.clone();
            trials.push(trial(format!("{engine}/{}", test_name(path)), move || {
                passes(&p, engine)
            }));
        }
    }

    for path in &negative {
        let file = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let name = test_name(path);
        let p = path.clone();
        if suite::ASSEMBLER_ERROR_FILES.contains(&file.as_str()) {
            trials.push(trial(format!("negative/asm/{name}"), move || {
                rejected_by_assembler(&p)
            }));
        } else if suite::SKIPPED_FILES.contains(&file.as_str()) {
            trials.push(trial(format!("negative/skip/{name}"), move || skipped(&p)));
        } else if file == suite::HIGH_BITS_FILE {
            for &engine in &engines {
                let p = p.clone();
                trials.push(trial(format!("negative/{engine}/{name}"), move || {
                    fails_on_high_bits(&p, engine)
                }));
            }
        } else if file.starts_with(suite::UNUSED_FIELD_PREFIX) {
            for &engine in &engines {
                let p = p.clone();
                trials.push(trial(format!("negative/{engine}/{name}"), move || {
                    rejected_at_load(&p, engine)
                }));
            }
        }
    }
    let listed: Vec<String> = negative
        .iter()
        .map(|p| {
            p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    trials.push(trial("negative/listed-cases-present".into(), move || {
        let missing: Vec<&str> = suite::ASSEMBLER_ERROR_FILES
            .iter()
            .chain(suite::SKIPPED_FILES)
            .chain([&suite::HIGH_BITS_FILE])
            .copied()
            .filter(|f| !listed.iter().any(|l| l == f))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(fail(format!("missing negative files: {missing:?}")))
        }
    }));

    libtest_mimic::run(&args, trials).exit();
}
