//! Helpers: running the binary, temporary files, checking error output.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stdout_bytes: Vec<u8>,
    pub stderr: String,
}

impl Output {
    /// The last line of stdout.
    pub fn last_line(&self) -> &str {
        self.stdout.lines().last().unwrap_or("")
    }

    /// Asserts exit status `code` and exactly one `error: ...` line on stderr, with no sign
    /// of a panic; returns the message.
    pub fn expect_error(&self, code: i32) -> &str {
        assert_eq!(self.code, code, "exit status; stderr: {}", self.stderr);
        assert_one_error_line(&self.stderr)
    }
}

/// Asserts that `stderr` is one `error: ...` line without a panic; returns it.
pub fn assert_one_error_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one stderr line, got {stderr:?}");
    assert!(lines[0].starts_with("error: "), "{stderr:?}");
    for bad in [
        "panicked",
        "internal error",
        "RUST_BACKTRACE",
        "stack backtrace",
    ] {
        assert!(!stderr.contains(bad), "{stderr:?}");
    }
    lines[0]
}

/// A path as `&str` (test paths are UTF-8).
pub fn s(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// Runs `ebpfvm` with `args`.
pub fn ebpfvm<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_ebpfvm"))
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("cannot start the ebpfvm binary");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stdout_bytes: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A fresh empty directory under the target's temporary directory.
pub fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "cli-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `contents` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, contents).unwrap();
    p
}

/// The conformance suite root, if present.
pub fn suite() -> Option<PathBuf> {
    let root = ebpfvm_testkit::suite::conformance_root();
    if root.is_none() {
        eprintln!("conformance suite not found: skipping");
    }
    root
}

/// A corpus ELF object, if the corpus is present.
pub fn corpus_object(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/ebpf-samples")
        .join(rel);
    if p.is_file() {
        Some(p)
    } else {
        eprintln!("{} not found: skipping", p.display());
        None
    }
}

/// Runs `ebpfvm::cli::main_with` in process.
pub fn in_process(args: &[&str]) -> (u8, Vec<u8>, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut argv = vec!["ebpfvm"];
    argv.extend_from_slice(args);
    let code = ebpfvm::cli::main_with(argv, &mut out, &mut err);
    (code, out, String::from_utf8_lossy(&err).into_owned())
}
