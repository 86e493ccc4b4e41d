//! Locating the conformance suite and listing its files.

use std::io;
use std::path::{Path, PathBuf};

/// Environment variable that overrides where the conformance suite is.
pub const CONFORMANCE_DIR_ENV: &str = "EBPFVM_CONFORMANCE_DIR";

/// The `negative/` files that must fail to assemble (README §9).
pub const ASSEMBLER_ERROR_FILES: &[&str] = &[
    "invalid_imm32_dec_range.data",
    "invalid_imm32_hex_range.data",
    "invalid_label.data",
    "invalid_lock.data",
    "invalid_lock2.data",
    "invalid_mnemonic.data",
    "invalid_offset.data",
    "invalid_offset_range.data",
    "invalid_operand_count.data",
    "invalid_register.data",
];

/// The `negative/` files the upstream runner skips (README §9).
pub const SKIPPED_FILES: &[&str] = &[
    "empty.data",
    "empty_instructions.data",
    "invalid_unknown_directive.data",
];

/// The `negative/` file whose expected value is deliberately wrong in the high bits: a
/// correct runtime must FAIL it.
pub const HIGH_BITS_FILE: &str = "incorrect_return_value_high_bits.data";

/// Prefix of the `negative/` files whose `-- raw` is written byte-wise and whose program must
/// be rejected at load (README §9).
pub const UNUSED_FIELD_PREFIX: &str = "unused-";

/// The conformance suite folder (the one holding `tests/` and `negative/`): `$EBPFVM_CONFORMANCE_DIR`
/// if set, else `shared/conformance` beside the workspace. `None` if it does not exist.
pub fn conformance_root() -> Option<PathBuf> {
    let dir = match std::env::var_os(CONFORMANCE_DIR_ENV) {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance"),
    };
    dir.join("tests").is_dir().then_some(dir)
}

/// The `*.data` files directly in `dir` (not recursive), sorted by file name.
pub fn data_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "data") && entry.file_type()?.is_file() {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

/// A test's name: its file name without `.data`.
pub fn test_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name.strip_suffix(".data") {
        Some(stem) => stem.to_string(),
        None => name,
    }
}
