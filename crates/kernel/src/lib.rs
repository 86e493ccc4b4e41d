//! The running Linux kernel as a reference oracle: a minimal, safe client of the `bpf()`
//! syscall, for tests that compare ebpfvm's verdicts and results with the kernel's
//! (ARCHITECTURE.md, "How correctness is checked").
//!
//! ```text
//!  Kernel::probe() ──Err(Unavailable { reason })──▶ the test prints "skipped: <reason>"
//!       │ Ok(kernel)            kernel.is_privileged(): privileged verdicts (root / CAP_BPF …)
//!       ▼
//!  kernel.create_map(&MapAttrs) ──▶ OwnedFd ──map_update / map_lookup (tests)
//!  resolve_map_indices(insns, &[fd]) ──▶ ld_imm64 src 5/6 (map index) → src 1/2 (map fd)
//!  kernel.load_program(&ProgLoad) ──▶ LoadResult { fd, errno, log }
//!  kernel.test_run(prog_fd, data, ctx, repeat) ──▶ TestRunResult { retval, data_out, .. }
//! ```
//!
//! Only what the oracle needs is here: map creation and element access, program loading with
//! the verifier log (grown on `ENOSPC`), and `BPF_PROG_TEST_RUN`. File descriptors are
//! [`OwnedFd`]s and close on drop.
//!
//! # The kernel-oracle exception to the unsafe policy
//!
//! ebpfvm keeps `unsafe` out of every crate except the runtime. This crate is the one other
//! exception: a syscall cannot be made without it. All of it is in the private module `sys`
//! (the syscall, the `#[repr(C)]` attribute structs with the uapi layout of `union bpf_attr`,
//! and taking ownership of returned fds); every `unsafe` block there carries a `// SAFETY:`
//! comment, and the rest of the crate is `#![deny(unsafe_code)]`. The public API is safe:
//! buffers the kernel reads or writes are slices borrowed for the call and sized (checked
//! against the map's own key and value sizes where the kernel decides how much it copies).
//!
//! This crate is for tests and tools (it is not part of the runtime), and it only works on
//! Linux where the process may use `bpf()` (root or `CAP_BPF`).
#![deny(unsafe_code)]
#![deny(missing_docs)]

use std::ffi::CString;
use std::fmt;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use ebpfvm_abi::{MapType, ProgramType};
use ebpfvm_isa::RawInsn;

#[allow(
    unsafe_code,
    reason = "the kernel-oracle exception: the bpf() syscall (crate docs)"
)]
mod sys;

/// The kernel cannot be used as an oracle here; `reason` is one line for a skip message.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("the kernel's bpf() is unavailable: {reason}")]
pub struct Unavailable {
    /// Why, e.g. `bpf() not permitted (EPERM): needs root or CAP_BPF`.
    pub reason: String,
}

/// A failed request to the kernel (other than a program load, whose rejection is a result).
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KernelError {
    /// The syscall failed with this errno.
    #[error("bpf({op}): {}", errno_text(*errno))]
    Syscall {
        /// The command, e.g. `BPF_MAP_CREATE`.
        op: &'static str,
        /// The errno value.
        errno: i32,
    },
    /// A key or value buffer does not match the map's size.
    #[error("{what} is {got} bytes, the map needs {expected}")]
    BadLength {
        /// `key` or `value`.
        what: &'static str,
        /// The size the map needs.
        expected: usize,
        /// The size given.
        got: usize,
    },
    /// A buffer is larger than the syscall can describe (4 GiB).
    #[error("{what} is too large ({len} bytes)")]
    TooLarge {
        /// Which buffer.
        what: &'static str,
        /// Its length.
        len: usize,
    },
    /// An `ld_imm64` names a map index with no fd.
    #[error("slot {pc}: map index {index} out of range ({count} maps given)")]
    MapIndex {
        /// The slot of the `ld_imm64`.
        pc: usize,
        /// The index it names.
        index: i32,
        /// How many fds were given.
        count: usize,
    },
    /// The host does not answer a question this crate needs (e.g. the CPU count).
    #[error("{what}")]
    Host {
        /// What went wrong.
        what: String,
    },
}

impl KernelError {
    /// The errno of a failed syscall.
    pub fn errno(&self) -> Option<i32> {
        match self {
            KernelError::Syscall { errno, .. } => Some(*errno),
            _ => None,
        }
    }
}

/// `"EACCES (Permission denied)"`-style text for an errno.
pub fn errno_text(errno: i32) -> String {
    let name = errno_name(errno);
    let text = std::io::Error::from_raw_os_error(errno).to_string();
    // std renders "Permission denied (os error 13)"; keep the words only.
    let words = text.split(" (os error").next().unwrap_or(&text);
    match name {
        Some(n) => format!("{n} ({words})"),
        None => format!("errno {errno} ({words})"),
    }
}

/// The symbolic name of the errno values the bpf() syscall returns.
pub fn errno_name(errno: i32) -> Option<&'static str> {
    Some(match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EINTR => "EINTR",
        libc::E2BIG => "E2BIG",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::EINVAL => "EINVAL",
        libc::ENOSPC => "ENOSPC",
        libc::ERANGE => "ERANGE",
        libc::ENOSYS => "ENOSYS",
        libc::ELOOP => "ELOOP",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        ENOTSUPP => "ENOTSUPP",
        _ => return None,
    })
}

/// The kernel-internal `ENOTSUPP` (524), which bpf() can leak to user space.
const ENOTSUPP: i32 = 524;

/// Proof that `bpf()` works here; the oracle's entry point.
#[derive(Debug)]
pub struct Kernel {
    _private: (),
}

/// The attributes of a map to create (`BPF_MAP_CREATE`).
#[derive(Clone, Copy, Debug)]
pub struct MapAttrs<'a> {
    /// `enum bpf_map_type` (see [`MapType::number`]).
    pub map_type: u32,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Maximum number of entries.
    pub max_entries: u32,
    /// `map_flags` (`BPF_F_NO_PREALLOC`, `BPF_F_RDONLY_PROG`, …).
    pub flags: u32,
    /// The inner map template of a map-in-map (`array_of_maps`, `hash_of_maps`).
    pub inner_map_fd: Option<BorrowedFd<'a>>,
}

impl MapAttrs<'_> {
    /// A map of this type and sizes, no flags, no inner map.
    pub fn new(map_type: MapType, key_size: u32, value_size: u32, max_entries: u32) -> Self {
        MapAttrs {
            map_type: map_type.number(),
            key_size,
            value_size,
            max_entries,
            flags: 0,
            inner_map_fd: None,
        }
    }
}

/// What the kernel reports about a map (`struct bpf_map_info`, head).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MapInfo {
    /// `enum bpf_map_type`.
    pub map_type: u32,
    /// The map's id.
    pub id: u32,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Maximum number of entries.
    pub max_entries: u32,
    /// `map_flags`.
    pub flags: u32,
}

/// A program to load (`BPF_PROG_LOAD`).
#[derive(Clone, Copy, Debug)]
pub struct ProgLoad<'a> {
    /// `enum bpf_prog_type` (see `ProgramType::number`).
    pub prog_type: u32,
    /// `enum bpf_attach_type`, for types that check it at load time.
    pub expected_attach_type: Option<u32>,
    /// The instruction slots, maps as `ld_imm64` src 1/2 with fds (see
    /// [`resolve_map_indices`]).
    pub insns: &'a [RawInsn],
    /// The license string (`"GPL"` unlocks GPL-only helpers).
    pub license: &'a str,
    /// Verifier log level: 0 none, 1 the failing path, 2 every state (`BPF_LOG_LEVEL*`).
    pub log_level: u32,
    /// Initial log buffer size in bytes (0: 64 KiB); grown on `ENOSPC`.
    pub log_size: u32,
    /// Largest log buffer to grow to (0: the kernel's limit, 1 GiB). A log that does not fit
    /// is returned truncated (see [`LoadResult::log_truncated`]).
    pub max_log_size: u32,
    /// `kern_version` (unused by current kernels).
    pub kern_version: u32,
    /// `prog_flags` (`BPF_F_STRICT_ALIGNMENT` = 1, `BPF_F_ANY_ALIGNMENT` = 2, …).
    pub prog_flags: u32,
}

impl<'a> ProgLoad<'a> {
    /// A GPL program of this type with log level 1 and no flags.
    pub fn new(prog_type: u32, insns: &'a [RawInsn]) -> Self {
        ProgLoad {
            prog_type,
            expected_attach_type: None,
            insns,
            license: "GPL",
            log_level: 1,
            log_size: 0,
            max_log_size: 0,
            kern_version: 0,
            prog_flags: 0,
        }
    }
}

/// The outcome of a program load: accepted (`fd`) or rejected (`errno`), with the log.
#[derive(Debug)]
pub struct LoadResult {
    /// The program, if the kernel accepted it.
    pub fd: Option<OwnedFd>,
    /// The errno of a rejection (`EACCES` for most verifier rejections, `EINVAL` for
    /// malformed programs).
    pub errno: Option<i32>,
    /// The verifier log (empty with log level 0).
    pub log: String,
    /// Whether the log did not fit in [`ProgLoad::max_log_size`]. `log` then holds its last
    /// part (Linux 6.4+ keeps the end of the log, where the error is; older kernels the
    /// start), and `fd`/`errno` come from a second load with log level 0 (a truncated log
    /// makes the kernel fail the load with `ENOSPC`).
    pub log_truncated: bool,
}

impl LoadResult {
    /// Whether the kernel accepted the program.
    pub fn accepted(&self) -> bool {
        self.fd.is_some()
    }

    /// The log's last non-empty line before the `processed N insns` statistics line, which
    /// is where the kernel puts its error message.
    /// (Some messages lack their newline, so the statistics can follow them on one line.)
    pub fn error_line(&self) -> Option<&str> {
        let lines: Vec<&str> = self.log.lines().filter(|l| !l.trim().is_empty()).collect();
        let Some(stats) = lines.iter().rposition(|l| is_stats(l)) else {
            return lines.last().copied();
        };
        let line = lines[stats];
        match line.find("processed ") {
            Some(i) if i > 0 => Some(&line[..i]),
            _ => stats.checked_sub(1).map(|i| lines[i]),
        }
    }
}

/// Whether a log line holds the verifier's closing statistics (`processed N insns (limit
/// ...) ...`).
fn is_stats(line: &str) -> bool {
    line.find("processed ")
        .is_some_and(|i| line[i..].contains(" insns (limit "))
}

/// The outcome of `BPF_PROG_TEST_RUN`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TestRunResult {
    /// The program's return value (`r0`, truncated to 32 bits by the kernel).
    pub retval: u32,
    /// The packet after the run (for packet program types).
    pub data_out: Vec<u8>,
    /// The context after the run (empty when no context was passed in).
    pub ctx_out: Vec<u8>,
    /// Average run time per repetition, as the kernel measured it.
    pub duration: Duration,
}

const DEFAULT_LOG_SIZE: usize = 64 * 1024;
/// The kernel's limit on `log_size` (`UINT_MAX >> 2`).
const MAX_LOG_SIZE: usize = (u32::MAX >> 2) as usize;

impl Kernel {
    /// Checks that `bpf()` can be used here by creating (and closing) a one-element array map.
    pub fn probe() -> Result<Kernel, Unavailable> {
        if !cfg!(target_os = "linux") {
            return Err(Unavailable {
                reason: "not Linux".to_owned(),
            });
        }
        let attrs = sys::MapCreateAttr {
            map_type: MapType::Array.number(),
            key_size: 4,
            value_size: 4,
            max_entries: 1,
            ..sys::MapCreateAttr::default()
        };
        match sys::map_create(&attrs) {
            Ok(_fd) => Ok(Kernel { _private: () }),
            Err(errno) => Err(Unavailable {
                reason: match errno {
                    libc::EPERM => "bpf() not permitted (EPERM): needs root or CAP_BPF, \
                                    or a seccomp filter or LSM forbids it"
                        .to_owned(),
                    libc::ENOSYS => {
                        "bpf() not implemented (ENOSYS): kernel without CONFIG_BPF_SYSCALL, \
                         or filtered by seccomp"
                            .to_owned()
                    }
                    e => format!("creating a probe map failed: {}", errno_text(e)),
                },
            }),
        }
    }

    /// Whether this process loads programs with full privileges (root, or `CAP_BPF` +
    /// `CAP_PERFMON` + `CAP_NET_ADMIN`): it can load a trivial kprobe and a trivial XDP
    /// program. Verdicts differ between privileged and unprivileged loads; where unprivileged
    /// `bpf()` is enabled, [`Kernel::probe`] succeeds without privileges.
    pub fn is_privileged(&self) -> bool {
        let insns = [
            RawInsn::new(0xb7, 0, 0, 0, 0), // r0 = 0
            RawInsn::new(0x95, 0, 0, 0, 0), // exit
        ];
        [ProgramType::Kprobe, ProgramType::Xdp].iter().all(|t| {
            let mut load = ProgLoad::new(t.number(), &insns);
            load.log_level = 0;
            self.load_program(&load).accepted()
        })
    }

    /// The kernel release (`uname -r`), for reports.
    pub fn release(&self) -> String {
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| "unknown".to_owned())
    }

    /// Creates a map.
    pub fn create_map(&self, attrs: &MapAttrs<'_>) -> Result<OwnedFd, KernelError> {
        let raw = sys::MapCreateAttr {
            map_type: attrs.map_type,
            key_size: attrs.key_size,
            value_size: attrs.value_size,
            max_entries: attrs.max_entries,
            map_flags: attrs.flags,
            inner_map_fd: attrs.inner_map_fd.map_or(0, |fd| fd.as_raw_fd() as u32),
            ..sys::MapCreateAttr::default()
        };
        sys::map_create(&raw).map_err(|errno| KernelError::Syscall {
            op: "BPF_MAP_CREATE",
            errno,
        })
    }

    /// The type, sizes and flags of a map.
    pub fn map_info(&self, map: BorrowedFd<'_>) -> Result<MapInfo, KernelError> {
        let h = sys::map_info(map)?;
        Ok(MapInfo {
            map_type: h.map_type,
            id: h.id,
            key_size: h.key_size,
            value_size: h.value_size,
            max_entries: h.max_entries,
            flags: h.map_flags,
        })
    }

    /// Sets `key` to `value` (`flags`: `BPF_ANY` 0, `BPF_NOEXIST` 1, `BPF_EXIST` 2). `key`
    /// must be exactly the key size; `value` the value size (per-CPU maps: one 8-byte-aligned
    /// value per possible CPU). For a prog array the value is a program fd (4 bytes).
    pub fn map_update(
        &self,
        map: BorrowedFd<'_>,
        key: &[u8],
        value: &[u8],
        flags: u64,
    ) -> Result<(), KernelError> {
        sys::map_update(map, key, value, flags)
    }

    /// The value at `key`, or `None` if there is none.
    pub fn map_lookup(
        &self,
        map: BorrowedFd<'_>,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, KernelError> {
        sys::map_lookup(map, key)
    }

    /// Loads a program. The log is returned in every case (empty with log level 0); on
    /// `ENOSPC` (log buffer too small, which also fails an otherwise accepted load) the load is
    /// retried with the size the kernel reports it needed (`log_true_size`), or a buffer four
    /// times as large on kernels that do not report it, up to the kernel's limit.
    pub fn load_program(&self, prog: &ProgLoad<'_>) -> LoadResult {
        let Ok(license) = CString::new(prog.license) else {
            return LoadResult {
                fd: None,
                errno: Some(libc::EINVAL),
                log: "license contains a NUL byte\n".to_owned(),
                log_truncated: false,
            };
        };
        let max_log_size = match prog.max_log_size {
            0 => MAX_LOG_SIZE,
            n => (n as usize).clamp(1024, MAX_LOG_SIZE),
        };
        let insns: Vec<u8> = prog.insns.iter().flat_map(|i| i.to_bytes()).collect();
        let mut log_size = match prog.log_size {
            0 => DEFAULT_LOG_SIZE,
            n => n as usize,
        }
        .clamp(1024, max_log_size);
        let load = |log_level: u32, log: &mut [u8]| {
            sys::prog_load(sys::ProgLoadArgs {
                prog_type: prog.prog_type,
                expected_attach_type: prog.expected_attach_type.unwrap_or(0),
                insns: &insns,
                license: &license,
                log_level,
                log,
                kern_version: prog.kern_version,
                prog_flags: prog.prog_flags,
            })
        };
        let result = |res: Result<OwnedFd, i32>, log: String, log_truncated: bool| match res {
            Ok(fd) => LoadResult {
                fd: Some(fd),
                errno: None,
                log,
                log_truncated,
            },
            Err(errno) => LoadResult {
                fd: None,
                errno: Some(errno),
                log,
                log_truncated,
            },
        };
        if prog.log_level == 0 {
            return result(load(0, &mut []).result, String::new(), false);
        }
        loop {
            let mut log = vec![0u8; log_size];
            let out = load(prog.log_level, &mut log);
            let text = log_text(&log);
            match out.result {
                Err(libc::ENOSPC) if log_size < max_log_size => {
                    // The kernel says how much it needed (6.4+); else grow geometrically.
                    let needed = out.log_true_size as usize;
                    log_size = if needed > log_size {
                        needed
                    } else {
                        log_size.saturating_mul(4)
                    }
                    .min(max_log_size);
                }
                Err(libc::ENOSPC) => {
                    // The log does not fit: the verdict comes from a load without a log.
                    return result(load(0, &mut []).result, text, true);
                }
                res => return result(res, text, false),
            }
        }
    }

    /// Runs a loaded program once per `repeat` (0 counts as 1) on `data_in` (a packet for
    /// packet program types) and, optionally, an input context (`ctx_in`; e.g. `xdp_md` or
    /// `__sk_buff`, as the type allows).
    pub fn test_run(
        &self,
        prog: BorrowedFd<'_>,
        data_in: &[u8],
        ctx_in: Option<&[u8]>,
        repeat: u32,
    ) -> Result<TestRunResult, KernelError> {
        let ctx_in = ctx_in.unwrap_or(&[]);
        // Room for growing packets (xdp_adjust_tail, skb_change_tail); grown on ENOSPC.
        let mut data_len = if data_in.is_empty() {
            0
        } else {
            data_in.len() + 4096
        };
        loop {
            let mut data_out = vec![0u8; data_len];
            let mut ctx_out = vec![0u8; ctx_in.len()];
            let res = sys::test_run(sys::TestRunArgs {
                prog,
                data_in,
                data_out: &mut data_out,
                ctx_in,
                ctx_out: &mut ctx_out,
                repeat,
            });
            match res {
                Ok(out) => {
                    data_out.truncate(out.data_size_out as usize);
                    ctx_out.truncate(out.ctx_size_out as usize);
                    return Ok(TestRunResult {
                        retval: out.retval,
                        data_out,
                        ctx_out,
                        duration: Duration::from_nanos(u64::from(out.duration)),
                    });
                }
                Err((libc::ENOSPC, out)) if (out.data_size_out as usize) > data_len => {
                    data_len = out.data_size_out as usize;
                }
                Err((errno, _)) => {
                    return Err(KernelError::Syscall {
                        op: "BPF_PROG_TEST_RUN",
                        errno,
                    })
                }
            }
        }
    }
}

/// The log buffer up to its first NUL, lossily decoded.
fn log_text(log: &[u8]) -> String {
    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
    String::from_utf8_lossy(&log[..end]).into_owned()
}

/// Turns map references by index (`ld_imm64` src 5, `BPF_PSEUDO_MAP_IDX`, and src 6,
/// `BPF_PSEUDO_MAP_IDX_VALUE`, as `ebpfvm-object` emits them) into references by fd (src 1,
/// `BPF_PSEUDO_MAP_FD`, and src 2, `BPF_PSEUDO_MAP_VALUE`) using `fds[index]`. The value
/// offset of src 6 (the second slot's `imm`) is kept. Other slots are copied unchanged; an
/// index without an fd is an error.
pub fn resolve_map_indices(insns: &[RawInsn], fds: &[RawFd]) -> Result<Vec<RawInsn>, KernelError> {
    let mut out = insns.to_vec();
    let mut pc = 0;
    while pc < out.len() {
        let insn = out[pc];
        if insn.opcode == 0x18 {
            if matches!(insn.src, 5 | 6) {
                let fd = usize::try_from(insn.imm)
                    .ok()
                    .and_then(|i| fds.get(i))
                    .ok_or(KernelError::MapIndex {
                        pc,
                        index: insn.imm,
                        count: fds.len(),
                    })?;
                out[pc].src = if insn.src == 5 { 1 } else { 2 };
                out[pc].imm = *fd;
            }
            pc += 2; // the second slot of ld_imm64 is never an instruction of its own
        } else {
            pc += 1;
        }
    }
    Ok(out)
}

impl fmt::Display for LoadResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.fd, self.errno) {
            (Some(_), _) => write!(f, "accepted"),
            (None, Some(e)) => write!(
                f,
                "rejected with {}: {}",
                errno_text(e),
                self.error_line().unwrap_or("(no log)")
            ),
            (None, None) => write!(f, "rejected"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_map_indices() {
        let insns = [
            RawInsn::new(0x18, 1, 5, 0, 1),
            RawInsn::new(0, 0, 0, 0, 0),
            RawInsn::new(0x18, 2, 6, 0, 0),
            RawInsn::new(0, 0, 0, 0, 16),
            RawInsn::new(0x18, 3, 0, 0, 5), // plain constant: untouched
            RawInsn::new(0, 0, 5, 0, 0),    // second slot that looks like src 5: untouched
            RawInsn::new(0x95, 0, 0, 0, 0),
        ];
        let out = resolve_map_indices(&insns, &[7, 9]).unwrap();
        assert_eq!(out[0], RawInsn::new(0x18, 1, 1, 0, 9));
        assert_eq!(out[2], RawInsn::new(0x18, 2, 2, 0, 7));
        assert_eq!(out[3].imm, 16);
        assert_eq!(out[4], insns[4]);
        assert_eq!(out[5], insns[5]);
        let err = resolve_map_indices(&insns, &[7]).unwrap_err();
        assert_eq!(
            err,
            KernelError::MapIndex {
                pc: 0,
                index: 1,
                count: 1
            }
        );
    }

    #[test]
    fn error_line_is_before_the_stats() {
        let r = LoadResult {
            fd: None,
            errno: Some(libc::EACCES),
            log: "0: R1=ctx() R10=fp0\n0: (bf) r0 = r2\nR2 !read_ok\n\
                  processed 1 insns (limit 1000000)\n"
                .to_owned(),
            log_truncated: false,
        };
        assert_eq!(r.error_line(), Some("R2 !read_ok"));
        let glued = LoadResult {
            fd: None,
            errno: Some(libc::EINVAL),
            log: "0: (85) call bpf_tail_call#12\nexpected prog array map for tail call\
                  processed 3 insns (limit 1000000) max_states_per_insn 0\n"
                .to_owned(),
            log_truncated: false,
        };
        assert_eq!(
            glued.error_line(),
            Some("expected prog array map for tail call")
        );
        assert_eq!(
            r.to_string(),
            "rejected with EACCES (Permission denied): R2 !read_ok"
        );
    }

    #[test]
    fn errno_names() {
        assert_eq!(errno_name(libc::EACCES), Some("EACCES"));
        assert_eq!(errno_name(524), Some("ENOTSUPP"));
        assert!(errno_text(libc::EINVAL).starts_with("EINVAL ("));
    }
}
