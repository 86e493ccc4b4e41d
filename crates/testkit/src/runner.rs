//! Running conformance tests on an engine and judging the outcome (README §13).

use std::fmt;
use std::path::Path;

use crate::data::{DataFile, Prepared, SkipReason, TestCase};
use crate::engine::{one_line, Engine};
use crate::host::ConformanceHelpers;

/// The verdict on one test.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// r0 matched (or an expected error happened).
    Pass,
    /// The program ran but the result is wrong.
    Fail(Failure),
    /// The test could not be run to a result: unreadable or malformed file, assembler error,
    /// load rejection, execution fault, unavailable engine. The reason is one line.
    Error {
        /// What went wrong.
        reason: String,
    },
    /// The upstream runner skips this file.
    Skip(SkipReason),
}

impl Outcome {
    /// Whether the outcome counts as passed.
    pub fn is_pass(&self) -> bool {
        matches!(self, Outcome::Pass)
    }

    fn error(reason: impl fmt::Display) -> Outcome {
        Outcome::Error {
            reason: one_line(&reason.to_string()),
        }
    }
}

/// How a test that ran failed.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Failure {
    /// r0 differs from the expected value (all 64 bits are compared).
    Mismatch {
        /// Expected r0.
        expected: u64,
        /// Actual r0.
        got: u64,
    },
    /// The test expects an error, but the program ran to completion.
    NotRejected {
        /// The error text the test expects.
        expected_error: String,
        /// Actual r0.
        got: u64,
    },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Mismatch { expected, got } => {
                write!(f, "expected {expected:#x}, got {got:#x}")
            }
            Failure::NotRejected {
                expected_error,
                got,
            } => write!(
                f,
                "expected an error ({:?}), got {got:#x}",
                one_line(expected_error)
            ),
        }
    }
}

/// Runs a prepared test on `engine` with the conformance helper host.
///
/// A test with an `-- error` line passes when the program is rejected in any way (assembler
/// error, load rejection or execution fault); README §6 recommends "must be rejected" over
/// matching upstream's implementation-specific texts.
pub fn run_case(case: &TestCase, engine: Engine) -> Outcome {
    let expects_error = case.expected_error.is_some();
    let slots = match case.program() {
        Ok(slots) => slots,
        Err(_) if expects_error => return Outcome::Pass,
        Err(e) => return Outcome::error(format_args!("assembly failed: {e}")),
    };
    if slots.is_empty() {
        return Outcome::Skip(SkipReason::NoInstructions);
    }
    let mut mem = case.mem.clone();
    match engine.run(&slots, &mut mem, &mut ConformanceHelpers) {
        Ok(got) => match &case.expected_error {
            Some(expected_error) => Outcome::Fail(Failure::NotRejected {
                expected_error: expected_error.clone(),
                got,
            }),
            None if got == case.expected => Outcome::Pass,
            None => Outcome::Fail(Failure::Mismatch {
                expected: case.expected,
                got,
            }),
        },
        Err(e) if expects_error && e.is_rejection() => Outcome::Pass,
        Err(e) => Outcome::error(e),
    }
}

/// Parses and runs the text of a `.data` file.
pub fn run_text(text: &str, engine: Engine) -> Outcome {
    match DataFile::parse(text).prepare() {
        Ok(Prepared::Run(case)) => run_case(&case, engine),
        Ok(Prepared::Skip(reason)) => Outcome::Skip(reason),
        Err(e) => Outcome::error(e),
    }
}

/// Reads, parses and runs a `.data` file. Never panics.
pub fn run_file(path: &Path, engine: Engine) -> Outcome {
    match read_text(path) {
        Ok(text) => run_text(&text, engine),
        Err(e) => Outcome::error(e),
    }
}

/// Why a `.data` file could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not UTF-8 text.
    #[error("{path} is not UTF-8 text")]
    NotText {
        /// The file.
        path: String,
    },
}

/// Reads a text file, with one-line errors.
pub fn read_text(path: &Path) -> Result<String, FileError> {
    let bytes = std::fs::read(path).map_err(|source| FileError::Io {
        path: path.display().to_string(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|_| FileError::NotText {
        path: path.display().to_string(),
    })
}

/// Reads and sorts a `.data` file into sections.
pub fn read_data_file(path: &Path) -> Result<DataFile, FileError> {
    read_text(path).map(|t| DataFile::parse(&t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_messages() {
        let f = Failure::Mismatch {
            expected: 0x89,
            got: 0x88,
        };
        assert_eq!(f.to_string(), "expected 0x89, got 0x88");
        let f = Failure::NotRejected {
            expected_error: "Invalid".into(),
            got: 0,
        };
        assert_eq!(f.to_string(), "expected an error (\"Invalid\"), got 0x0");
    }

    #[test]
    fn assembler_errors() {
        // Expected error: the assembler rejecting the program is a pass.
        let o = run_text(
            "-- asm\nlock\nexit\n-- error\nInvalid number of operands for lock",
            Engine::Interp,
        );
        assert_eq!(o, Outcome::Pass);
        // Expected result: it is an error naming the line.
        let o = run_text(
            "-- asm\nmov %r0, %r50\nexit\n-- result\n0x11",
            Engine::Interp,
        );
        assert_eq!(
            o,
            Outcome::Error {
                reason: "assembly failed: line 2: invalid register \"%r50\"".into()
            }
        );
    }

    #[test]
    fn skips_and_malformed_files() {
        assert_eq!(
            run_text("-- asm\nlabel:\n-- result\n0", Engine::Interp),
            Outcome::Skip(SkipReason::NoInstructions)
        );
        assert_eq!(
            run_text("# nothing", Engine::Interp),
            Outcome::Skip(SkipReason::NoResultOrError)
        );
        assert!(matches!(
            run_text("-- asm\nexit\n-- result\nnope", Engine::Interp),
            Outcome::Error { .. }
        ));
        let o = run_file(Path::new("/nonexistent/x.data"), Engine::Interp);
        match o {
            Outcome::Error { reason } => {
                assert!(reason.starts_with("cannot read /nonexistent/x.data"))
            }
            o => panic!("{o:?}"),
        }
    }

    #[test]
    fn unavailable_engine_is_an_error_even_when_an_error_is_expected() {
        let o = run_text("-- asm\nexit\n-- error\nInvalid", Engine::Jit);
        assert_eq!(
            o,
            Outcome::Error {
                reason: "jit engine not available yet".into()
            }
        );
    }
}
