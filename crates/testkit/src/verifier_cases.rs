//! The verifier verdict corpus: small programs with the verdict Linux gives them
//! (`tests/verifier/*.cases`, format in `tests/verifier/README.md`).
//!
//! ```text
//!  *.cases text ──parse_cases──▶ [VerifierCase] ──run_case(case, &dyn Verifier)──▶ CaseOutcome
//!                                                        │
//!                      KernelVerifier (the running kernel), ebpfvm's verifier (later), …
//! ```
//!
//! A case names its program type (and expected attach type), the maps it uses, its program in
//! the LLVM/kernel assembly dialect (`ebpfvm_isa::asm::llvm`, plus the pseudo forms below),
//! and the expected verdict with, for rejections, a substring of the Linux verifier's message.
//! [`judge`] compares any [`Verifier`]'s [`Verdict`] with the expectation, so checking another
//! verifier against the same corpus is one more `impl Verifier`.
//!
//! Pseudo forms, rewritten before assembly (one slot each except `ld_imm64`):
//!
//! ```text
//! r1 = map[0] ll            ld_imm64 src 5 (BPF_PSEUDO_MAP_IDX), imm 0: the case's first map
//! r1 = map_value[1] + 8 ll  ld_imm64 src 6 (BPF_PSEUDO_MAP_IDX_VALUE): map 1's value + 8
//! raw 0x07, 1, 0, 0, 5      one slot with these fields (opcode, dst, src, off, imm)
//! ```
//!
//! Case files are untrusted input: every problem is a [`CaseError`] naming the file and line.

use std::collections::BTreeSet;
use std::fmt;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use ebpfvm_abi::{AttachType, MapType, ProgramType};
use ebpfvm_isa::asm::llvm;
use ebpfvm_isa::RawInsn;
use ebpfvm_kernel::{errno_text, resolve_map_indices, Kernel, MapAttrs, ProgLoad};

/// The file extension of case files.
pub const CASE_FILE_EXT: &str = "cases";

/// `prog_flags` names accepted by the `flags:` key (Linux `BPF_F_*` load flags).
const PROG_FLAGS: &[(&str, u32)] = &[
    ("strict_alignment", 1),
    ("any_alignment", 2),
    ("test_rnd_hi32", 4),
    ("test_state_freq", 8),
    ("sleepable", 16),
    ("xdp_has_frags", 32),
];

/// The `kfunc` id range used to mark `raw` slots during assembly.
const RAW_MARKER: i32 = 0x7eb9_0000;

/// The expected verdict.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Expect {
    /// The program must be accepted.
    Accept,
    /// The program must be rejected.
    Reject,
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expect::Accept => "accept",
            Expect::Reject => "reject",
        })
    }
}

/// A map a case needs, referenced from the program by its index in [`VerifierCase::maps`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MapSpec {
    /// The map type.
    pub map_type: MapType,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Maximum number of entries.
    pub max_entries: u32,
    /// `map_flags`.
    pub flags: u32,
    /// For a map-in-map: the index of an earlier map that is the inner map template.
    pub inner: Option<usize>,
}

/// One verifier case.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct VerifierCase {
    /// The file it comes from.
    pub file: PathBuf,
    /// The line of its `===` header.
    pub line: usize,
    /// Its name (unique within the file).
    pub name: String,
    /// The program type.
    pub prog_type: ProgramType,
    /// The expected attach type, if given.
    pub expected_attach_type: Option<AttachType>,
    /// The maps, by index.
    pub maps: Vec<MapSpec>,
    /// `prog_flags` for the load.
    pub prog_flags: u32,
    /// The license string (default `GPL`).
    pub license: String,
    /// Free-form tags (`tags: a, b`). `precision` marks a rejection that comes from a
    /// precision limit of Linux's verifier rather than from an unsafe program: a more precise
    /// verifier may accept it.
    pub tags: Vec<String>,
    /// The expected verdict.
    pub expect: Expect,
    /// For rejections: a substring of the Linux verifier's log.
    pub message: Option<String>,
    /// The program, maps by index (`ld_imm64` src 5/6), as `ebpfvm-object` emits them.
    pub insns: Vec<RawInsn>,
    /// The program text as written.
    pub source: String,
}

impl VerifierCase {
    /// Whether the case has this tag.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }

    /// `<file stem>/<name>`, the case's id in reports.
    pub fn id(&self) -> String {
        let stem = self
            .file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("{stem}/{}", self.name)
    }
}

/// A problem in a case file.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("{}:{line}: {message}", file.display())]
pub struct CaseError {
    /// The file.
    pub file: PathBuf,
    /// The 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// What a verifier said about a case's program.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Verdict {
    /// Whether it accepted the program.
    pub accepted: bool,
    /// Text searched for the expected message: the log, or the rejection message.
    pub log: String,
    /// A one-line summary for reports (e.g. `EACCES: R0 !read_ok`).
    pub summary: String,
}

/// Something that judges programs: the running kernel, ebpfvm's verifier, ….
pub trait Verifier {
    /// A short name for reports (`kernel`, `ebpfvm`).
    fn name(&self) -> &str;

    /// The verdict on `case`'s program, or an error if it could not be obtained at all (a map
    /// the host cannot create, …), which is neither an accept nor a reject.
    fn verify(&self, case: &VerifierCase) -> Result<Verdict, String>;
}

/// The outcome of one case on one verifier.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum CaseOutcome {
    /// Verdict (and message) as expected.
    Pass,
    /// The verdict or message differs from the expectation.
    Fail(String),
    /// No verdict could be obtained.
    Error(String),
}

/// Compares a verdict with the case's expectation: same accept/reject, and for rejections
/// with a `message:`, the message occurs in `verdict.log`.
pub fn judge(case: &VerifierCase, verdict: &Verdict) -> Result<(), String> {
    match (case.expect, verdict.accepted) {
        (Expect::Accept, true) => Ok(()),
        (Expect::Accept, false) => Err(format!("expected accept, got reject: {}", verdict.summary)),
        (Expect::Reject, true) => Err(format!("expected reject, got accept: {}", verdict.summary)),
        (Expect::Reject, false) => match &case.message {
            Some(m) if !verdict.log.contains(m.as_str()) => Err(format!(
                "rejected as expected, but the log lacks {m:?}: {}",
                verdict.summary
            )),
            _ => Ok(()),
        },
    }
}

/// Runs one case on one verifier and judges the verdict.
pub fn run_case(case: &VerifierCase, verifier: &dyn Verifier) -> CaseOutcome {
    match verifier.verify(case) {
        Ok(v) => match judge(case, &v) {
            Ok(()) => CaseOutcome::Pass,
            Err(e) => CaseOutcome::Fail(e),
        },
        Err(e) => CaseOutcome::Error(e),
    }
}

/// The corpus folder: `tests/verifier` at the workspace root.
pub fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/verifier")
}

/// Reads every `*.cases` file directly in `dir`, in file-name order.
pub fn load_dir(dir: &Path) -> Result<Vec<VerifierCase>, CaseError> {
    let io_err = |e: std::io::Error| CaseError {
        file: dir.to_path_buf(),
        line: 0,
        message: format!("cannot read the folder: {e}"),
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err)? {
        let path = entry.map_err(io_err)?.path();
        if path.extension().is_some_and(|e| e == CASE_FILE_EXT) && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    let mut cases = Vec::new();
    for file in files {
        cases.extend(load_file(&file)?);
    }
    Ok(cases)
}

/// Reads one case file.
pub fn load_file(path: &Path) -> Result<Vec<VerifierCase>, CaseError> {
    let text = std::fs::read_to_string(path).map_err(|e| CaseError {
        file: path.to_path_buf(),
        line: 0,
        message: format!("cannot read: {e}"),
    })?;
    parse_cases(&text, path)
}

/// Parses the text of a case file (`file` names it in errors).
pub fn parse_cases(text: &str, file: &Path) -> Result<Vec<VerifierCase>, CaseError> {
    let err = |line: usize, message: String| CaseError {
        file: file.to_path_buf(),
        line,
        message,
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut cases = Vec::new();
    let mut names = BTreeSet::new();
    let mut i = 0;
    // Before the first case: only comments and blank lines.
    while i < lines.len() && !lines[i].starts_with("===") {
        let t = lines[i].trim();
        if !t.is_empty() && !t.starts_with('#') {
            return Err(err(i + 1, "expected `=== <case name>`".to_owned()));
        }
        i += 1;
    }
    while i < lines.len() {
        let start = i;
        let name = lines[i].trim_start_matches('=').trim();
        if name.is_empty() {
            return Err(err(i + 1, "a case needs a name after `===`".to_owned()));
        }
        if !names.insert(name.to_owned()) {
            return Err(err(
                i + 1,
                format!("case `{name}` defined twice in this file"),
            ));
        }
        i += 1;
        let mut end = i;
        while end < lines.len() && !lines[end].starts_with("===") {
            end += 1;
        }
        cases.push(parse_case(file, name, start + 1, &lines[i..end], i + 1)?);
        i = end;
    }
    Ok(cases)
}

/// Parses one case: `body` are the lines after its header, the first being line `first`.
fn parse_case(
    file: &Path,
    name: &str,
    header_line: usize,
    body: &[&str],
    first: usize,
) -> Result<VerifierCase, CaseError> {
    let err = |line: usize, message: String| CaseError {
        file: file.to_path_buf(),
        line,
        message,
    };
    let mut prog_type = None;
    let mut attach = None;
    let mut maps = Vec::new();
    let mut prog_flags = None;
    let mut license: Option<String> = None;
    let mut tags: Option<Vec<String>> = None;
    let mut expect = None;
    let mut message: Option<String> = None;
    let mut asm_start = None;
    for (k, raw) in body.iter().enumerate() {
        let lineno = first + k;
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let Some((key, value)) = t.split_once(':') else {
            return Err(err(lineno, format!("expected `key: value`, found `{t}`")));
        };
        let (key, value) = (key.trim(), value.trim());
        let dup = |what: &str| err(lineno, format!("`{what}:` given twice"));
        match key {
            "type" => {
                if prog_type.is_some() {
                    return Err(dup(key));
                }
                prog_type = Some(
                    ProgramType::from_name(value)
                        .ok_or_else(|| err(lineno, format!("unknown program type `{value}`")))?,
                );
            }
            "attach" => {
                if attach.is_some() {
                    return Err(dup(key));
                }
                attach = Some(
                    AttachType::from_name(value)
                        .ok_or_else(|| err(lineno, format!("unknown attach type `{value}`")))?,
                );
            }
            "map" => {
                let spec = parse_map(value, maps.len()).map_err(|m| err(lineno, m))?;
                maps.push(spec);
            }
            "flags" => {
                if prog_flags.is_some() {
                    return Err(dup(key));
                }
                prog_flags = Some(parse_prog_flags(value).map_err(|m| err(lineno, m))?);
            }
            "license" => {
                if license.is_some() {
                    return Err(dup(key));
                }
                license = Some(value.to_owned());
            }
            "tags" => {
                if tags.is_some() {
                    return Err(dup(key));
                }
                let list: Vec<String> = value
                    .split(',')
                    .map(|t| t.trim().to_owned())
                    .filter(|t| !t.is_empty())
                    .collect();
                if let Some(bad) = list.iter().find(|t| t.contains(char::is_whitespace)) {
                    return Err(err(lineno, format!("tag `{bad}` contains a space")));
                }
                tags = Some(list);
            }
            "expect" => {
                if expect.is_some() {
                    return Err(dup(key));
                }
                expect = Some(match value {
                    "accept" => Expect::Accept,
                    "reject" => Expect::Reject,
                    _ => {
                        return Err(err(
                            lineno,
                            format!("expected `accept` or `reject`, found `{value}`"),
                        ))
                    }
                });
            }
            "message" => {
                if message.is_some() {
                    return Err(dup(key));
                }
                if value.is_empty() {
                    return Err(err(lineno, "empty `message:`".to_owned()));
                }
                message = Some(value.to_owned());
            }
            "asm" => {
                if !value.is_empty() {
                    return Err(err(
                        lineno,
                        "the program starts on the line after `asm:`".into(),
                    ));
                }
                asm_start = Some(k + 1);
                break;
            }
            _ => return Err(err(lineno, format!("unknown key `{key}`"))),
        }
    }
    let missing = |what: &str| err(header_line, format!("case `{name}` has no `{what}:`"));
    let prog_type = prog_type.ok_or_else(|| missing("type"))?;
    let expect = expect.ok_or_else(|| missing("expect"))?;
    let asm_start = asm_start.ok_or_else(|| missing("asm"))?;
    if expect == Expect::Accept && message.is_some() {
        return Err(err(
            header_line,
            "`message:` is only for `expect: reject`".to_owned(),
        ));
    }
    let asm_lines = &body[asm_start..];
    let asm_first = first + asm_start;
    let (insns, source) =
        assemble_case(asm_lines, asm_first, maps.len()).map_err(|(l, m)| err(l, m))?;
    if insns.is_empty() {
        return Err(err(
            header_line,
            format!("case `{name}` has an empty program"),
        ));
    }
    Ok(VerifierCase {
        file: file.to_path_buf(),
        line: header_line,
        name: name.to_owned(),
        prog_type,
        expected_attach_type: attach,
        maps,
        prog_flags: prog_flags.unwrap_or(0),
        license: license.unwrap_or_else(|| "GPL".to_owned()),
        tags: tags.unwrap_or_default(),
        expect,
        message,
        insns,
        source,
    })
}

/// Parses `TYPE key=N value=N entries=N [flags=N] [inner=IDX]`.
fn parse_map(text: &str, index: usize) -> Result<MapSpec, String> {
    let mut words = text.split_whitespace();
    let ty = words.next().ok_or("a map needs a type")?;
    let map_type = MapType::from_name(ty).ok_or_else(|| format!("unknown map type `{ty}`"))?;
    let (mut key, mut value, mut entries, mut flags, mut inner) = (None, None, None, None, None);
    for w in words {
        let (k, v) = w
            .split_once('=')
            .ok_or_else(|| format!("expected `name=value`, found `{w}`"))?;
        let n = parse_u32(v).ok_or_else(|| format!("`{v}` is not a 32-bit unsigned number"))?;
        let slot = match k {
            "key" => &mut key,
            "value" => &mut value,
            "entries" => &mut entries,
            "flags" => &mut flags,
            "inner" => &mut inner,
            _ => return Err(format!("unknown map attribute `{k}`")),
        };
        if slot.replace(n).is_some() {
            return Err(format!("map attribute `{k}` given twice"));
        }
    }
    let need = |v: Option<u32>, what: &str| v.ok_or_else(|| format!("map needs `{what}=`"));
    let inner = match inner {
        Some(i) if (i as usize) < index => Some(i as usize),
        Some(i) => {
            return Err(format!(
                "inner={i} must name an earlier map (this is map {index})"
            ))
        }
        None => None,
    };
    Ok(MapSpec {
        map_type,
        key_size: need(key, "key")?,
        value_size: need(value, "value")?,
        max_entries: need(entries, "entries")?,
        flags: flags.unwrap_or(0),
        inner,
    })
}

/// Parses `name | name | 0x10`.
fn parse_prog_flags(text: &str) -> Result<u32, String> {
    let mut flags = 0;
    for part in text.split('|').map(str::trim) {
        flags |= match PROG_FLAGS.iter().find(|(n, _)| *n == part) {
            Some((_, v)) => *v,
            None => parse_u32(part).ok_or_else(|| format!("unknown program flag `{part}`"))?,
        };
    }
    Ok(flags)
}

fn parse_u32(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

fn parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let v = match body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok()?,
        None => body.parse::<i64>().ok()?,
    };
    Some(if neg { -v } else { v })
}

/// The part of a line before its comment (`;`, `#`, `//`), as the assembler sees it.
fn code_part(line: &str) -> &str {
    let mut end = line.len();
    for pat in [";", "#", "//"] {
        if let Some(i) = line.find(pat) {
            end = end.min(i);
        }
    }
    &line[..end]
}

/// Rewrites the pseudo forms, assembles, and puts the `raw` slots in place. Errors are
/// `(file line, message)`.
fn assemble_case(
    lines: &[&str],
    first: usize,
    map_count: usize,
) -> Result<(Vec<RawInsn>, String), (usize, String)> {
    let mut text = String::new();
    let mut raws = Vec::new();
    for (k, line) in lines.iter().enumerate() {
        let lineno = first + k;
        let code = code_part(line).trim();
        let rewritten = if let Some(rest) = code.strip_prefix("raw ") {
            let slot = parse_raw(rest).map_err(|m| (lineno, m))?;
            let marker = RAW_MARKER + raws.len() as i32;
            raws.push(slot);
            format!("call kfunc {marker}")
        } else if code.contains("map[") || code.contains("map_value[") {
            rewrite_map_ref(code, map_count).map_err(|m| (lineno, m))?
        } else {
            (*line).to_owned()
        };
        text.push_str(&rewritten);
        text.push('\n');
    }
    let mut insns = llvm::assemble(&text).map_err(|e| {
        (
            first + e.line.saturating_sub(1),
            format!("column {}: {}", e.column, e.kind),
        )
    })?;
    let mut placed = vec![false; raws.len()];
    for slot in insns.iter_mut() {
        if slot.opcode == 0x85 && slot.src == 2 && slot.off == 0 {
            let k = i64::from(slot.imm) - i64::from(RAW_MARKER);
            if let Some(raw) = usize::try_from(k)
                .ok()
                .and_then(|k| raws.get(k).map(|r| (k, r)))
            {
                if !placed[raw.0] {
                    placed[raw.0] = true;
                    *slot = *raw.1;
                }
            }
        }
    }
    if placed.iter().any(|p| !p) {
        return Err((first, "a `raw` slot could not be placed".to_owned()));
    }
    let source = lines.iter().map(|l| format!("{l}\n")).collect();
    Ok((insns, source))
}

/// `OPCODE, DST, SRC, OFF, IMM` → one slot.
fn parse_raw(text: &str) -> Result<RawInsn, String> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    if parts.len() != 5 {
        return Err("raw takes `OPCODE, DST, SRC, OFF, IMM`".to_owned());
    }
    let num = |i: usize, lo: i64, hi: i64, what: &str| -> Result<i64, String> {
        parse_int(parts[i])
            .filter(|v| (lo..=hi).contains(v))
            .ok_or_else(|| format!("raw {what} `{}` is not a number in {lo}..={hi}", parts[i]))
    };
    let opcode = num(0, 0, 255, "opcode")? as u8;
    let dst = num(1, 0, 15, "dst")? as u8;
    let src = num(2, 0, 15, "src")? as u8;
    let off = num(3, i64::from(i16::MIN), i64::from(i16::MAX), "off")? as i16;
    let imm = num(4, i64::from(i32::MIN), i64::from(u32::MAX), "imm")? as u32 as i32;
    Ok(RawInsn::new(opcode, dst, src, off, imm))
}

/// `rN = map[K] ll` → `ld_pseudo rN, 5, K`; `rN = map_value[K] [+ OFF] ll` →
/// `ld_pseudo rN, 6, K, OFF`.
fn rewrite_map_ref(code: &str, map_count: usize) -> Result<String, String> {
    let bad =
        || format!("expected `rN = map[K] ll` or `rN = map_value[K] + OFF ll`, found `{code}`");
    let (dst, rhs) = code.split_once('=').ok_or_else(bad)?;
    let dst = dst.trim();
    if !(dst.len() >= 2 && dst.starts_with('r') && dst[1..].parse::<u8>().is_ok_and(|n| n <= 10)) {
        return Err(bad());
    }
    let rhs = rhs.trim().strip_suffix("ll").ok_or_else(bad)?.trim();
    let (kind, rest) = if let Some(r) = rhs.strip_prefix("map_value[") {
        (6, r)
    } else if let Some(r) = rhs.strip_prefix("map[") {
        (5, r)
    } else {
        return Err(bad());
    };
    let (idx, rest) = rest.split_once(']').ok_or_else(bad)?;
    let idx = parse_u32(idx.trim()).ok_or_else(bad)?;
    if idx as usize >= map_count {
        return Err(format!("map[{idx}]: the case declares {map_count} map(s)"));
    }
    let rest = rest.trim();
    let off = if rest.is_empty() {
        0
    } else {
        let o = rest.strip_prefix('+').ok_or_else(bad)?.trim();
        if kind == 5 {
            return Err("map[K] takes no offset; use map_value[K] + OFF".to_owned());
        }
        parse_u32(o).ok_or_else(bad)?
    };
    Ok(if kind == 5 {
        format!("ld_pseudo {dst}, 5, {idx}")
    } else {
        format!("ld_pseudo {dst}, 6, {idx}, {off}")
    })
}

/// The log buffer for kernel loads; longer logs keep their end (where the error is).
const KERNEL_LOG_SIZE: u32 = 1 << 20;

/// The running Linux kernel as a [`Verifier`] (privileged: the process must be root or
/// have CAP_BPF). Creates the case's maps, loads the program with log level 1 (keeping the
/// last MiB of the log) and closes everything afterwards.
#[derive(Debug)]
pub struct KernelVerifier {
    kernel: Kernel,
}

impl KernelVerifier {
    /// Wraps a probed kernel.
    pub fn new(kernel: Kernel) -> KernelVerifier {
        KernelVerifier { kernel }
    }

    /// The kernel client.
    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    fn create_maps(&self, case: &VerifierCase) -> Result<Vec<OwnedFd>, String> {
        let mut fds: Vec<OwnedFd> = Vec::with_capacity(case.maps.len());
        for (i, m) in case.maps.iter().enumerate() {
            let inner = m.inner.and_then(|k| fds.get(k)).map(|fd| fd.as_fd());
            let attrs = MapAttrs {
                map_type: m.map_type.number(),
                key_size: m.key_size,
                value_size: m.value_size,
                max_entries: m.max_entries,
                flags: m.flags,
                inner_map_fd: inner,
            };
            let fd = self
                .kernel
                .create_map(&attrs)
                .map_err(|e| format!("map {i} ({}): {e}", m.map_type))?;
            fds.push(fd);
        }
        Ok(fds)
    }
}

impl Verifier for KernelVerifier {
    fn name(&self) -> &str {
        "kernel"
    }

    fn verify(&self, case: &VerifierCase) -> Result<Verdict, String> {
        let maps = self.create_maps(case)?;
        let raw_fds: Vec<RawFd> = maps.iter().map(|fd| fd.as_raw_fd()).collect();
        let insns = resolve_map_indices(&case.insns, &raw_fds).map_err(|e| e.to_string())?;
        let mut load = ProgLoad::new(case.prog_type.number(), &insns);
        load.expected_attach_type = case.expected_attach_type.map(AttachType::number);
        load.prog_flags = case.prog_flags;
        load.license = &case.license;
        // Bounded log: the error is at its end, and a program that runs into the complexity
        // limit would otherwise need a log of tens of MiB (formatted twice).
        load.log_size = KERNEL_LOG_SIZE;
        load.max_log_size = KERNEL_LOG_SIZE;
        let res = self.kernel.load_program(&load);
        let summary = match res.errno {
            None => "accepted".to_owned(),
            Some(e) => format!(
                "{}: {}",
                errno_text(e),
                res.error_line().unwrap_or("(empty log)")
            ),
        };
        Ok(Verdict {
            accepted: res.accepted(),
            log: res.log,
            summary,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<VerifierCase>, CaseError> {
        parse_cases(text, Path::new("t.cases"))
    }

    const GOOD: &str = "\
# leading comment
=== first
type: xdp
map: hash key=4 value=8 entries=16
map: array_of_maps key=4 value=4 entries=1 inner=0
flags: strict_alignment | 0x10
tags: precision, other
expect: reject
message: R0 !read_ok
asm:
    r1 = map[0] ll
    r2 = map_value[1] + 8 ll   ; comment
    raw 0x07, 1, 0, 0, 0xffffffff
    exit

=== second
type: socket_filter
expect: accept
asm:
  l: r0 = 0
  exit
";

    #[test]
    fn parses_a_file() {
        let cases = parse(GOOD).unwrap();
        assert_eq!(cases.len(), 2);
        let c = &cases[0];
        assert_eq!((c.name.as_str(), c.line), ("first", 2));
        assert_eq!(c.prog_type, ProgramType::Xdp);
        assert_eq!(c.maps.len(), 2);
        assert_eq!(c.maps[1].inner, Some(0));
        assert_eq!(c.prog_flags, 0x11);
        assert!(c.has_tag("precision") && c.has_tag("other") && !c.has_tag("x"));
        assert_eq!(c.expect, Expect::Reject);
        assert_eq!(c.message.as_deref(), Some("R0 !read_ok"));
        assert_eq!(c.insns.len(), 6);
        assert_eq!(c.insns[0], RawInsn::new(0x18, 1, 5, 0, 0));
        assert_eq!(c.insns[2], RawInsn::new(0x18, 2, 6, 0, 1));
        assert_eq!(c.insns[3].imm, 8);
        assert_eq!(c.insns[4], RawInsn::new(0x07, 1, 0, 0, -1));
        assert_eq!(c.id(), "t/first");
        assert_eq!(cases[1].expect, Expect::Accept);
        assert_eq!(cases[1].insns.len(), 2);
    }

    fn error_of(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_file_and_line() {
        let cases = [
            ("junk\n", "t.cases:1: expected `=== <case name>`"),
            ("===\n", "t.cases:1: a case needs a name"),
            (
                "=== a\ntype: nope\n",
                "t.cases:2: unknown program type `nope`",
            ),
            (
                "=== a\ntype: xdp\nfoo\n",
                "t.cases:3: expected `key: value`",
            ),
            (
                "=== a\ntype: xdp\nexpect: maybe\n",
                "t.cases:3: expected `accept` or `reject`",
            ),
            (
                "=== a\ntype: xdp\nexpect: accept\n",
                "t.cases:1: case `a` has no `asm:`",
            ),
            (
                "=== a\nexpect: accept\nasm:\nexit\n",
                "t.cases:1: case `a` has no `type:`",
            ),
            (
                "=== a\ntype: xdp\nexpect: accept\nasm:\n  r0 = 0\n  r0 +== 1\n",
                "t.cases:6: column",
            ),
            (
                "=== a\ntype: xdp\nexpect: accept\nasm:\n  r1 = map[0] ll\n",
                "t.cases:5: map[0]: the case declares 0 map(s)",
            ),
            (
                "=== a\ntype: xdp\nmap: array key=4 value=4\n",
                "t.cases:3: map needs `entries=`",
            ),
            (
                "=== a\ntype: xdp\nmap: array key=4 value=4 entries=1 inner=0\n",
                "t.cases:3: inner=0 must name an earlier map",
            ),
            (
                "=== a\ntype: xdp\nexpect: accept\nasm:\n  raw 1, 2, 3\n",
                "t.cases:5: raw takes",
            ),
            (
                "=== a\ntype: xdp\nexpect: accept\nasm:\n  raw 0x100, 0, 0, 0, 0\n",
                "t.cases:5: raw opcode",
            ),
            (
                "=== a\ntype: xdp\nexpect: accept\nmessage: x\nasm:\nexit\n",
                "t.cases:1: `message:` is only for `expect: reject`",
            ),
            (
                "=== a\ntype: xdp\nexpect: accept\nasm:\nexit\n=== a\n",
                "t.cases:6: case `a` defined twice",
            ),
            (
                "=== a\ntype: xdp\nexpect: accept\nasm:\n\n",
                "t.cases:1: case `a` has an empty",
            ),
            (
                "=== a\ntype: xdp\nexpect: accept\nasm:\n  r1 = map_value[0 ll\n",
                "expected `rN = map[K] ll`",
            ),
        ];
        for (text, want) in cases {
            let got = error_of(text);
            assert!(
                got.starts_with(want) || got.contains(want),
                "{text:?}: {got}"
            );
        }
    }

    #[test]
    fn never_panics_on_odd_input() {
        let inputs = [
            "=== a\nasm:\n",
            "=== \u{e9}\ntype: xdp\nexpect: reject\nasm:\n r\u{e9} = map[\n",
            "=== a\ntype: xdp\nexpect: accept\nasm:\n r1 = map[99999999999] ll\n",
            "=== a\ntype: xdp\nexpect: accept\nasm:\n raw -1, -1, -1, -1, -1\n",
            "=== a\ntype: xdp\nexpect: accept\nasm:\n call kfunc 2126053376\n",
            "=== a\nmap: \n",
            "=== a\nflags: |\n",
            "=====\n",
        ];
        for text in inputs {
            let _ = parse(text);
        }
    }

    #[test]
    fn judging() {
        let case = &parse(GOOD).unwrap()[0];
        let v = |accepted: bool, log: &str| Verdict {
            accepted,
            log: log.to_owned(),
            summary: String::new(),
        };
        assert!(judge(case, &v(false, "x\nR0 !read_ok\n")).is_ok());
        assert!(judge(case, &v(false, "R1 !read_ok")).is_err());
        assert!(judge(case, &v(true, "")).is_err());
    }
}
