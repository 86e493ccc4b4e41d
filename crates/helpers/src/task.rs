//! The calling thread: `bpf_get_current_pid_tgid`, `_uid_gid`, `_comm`.

use nix::unistd::{getgid, getpid, gettid, getuid};

/// `bpf_get_current_pid_tgid`: the process id (Linux's tgid) in the high 32 bits, the
/// calling thread's id (Linux's pid) in the low 32 bits.
pub fn current_pid_tgid() -> u64 {
    let tgid = getpid().as_raw() as u32;
    let tid = gettid().as_raw() as u32;
    (u64::from(tgid) << 32) | u64::from(tid)
}

/// `bpf_get_current_uid_gid`: the real group id in the high 32 bits, the real user id in
/// the low 32 bits.
pub fn current_uid_gid() -> u64 {
    (u64::from(getgid().as_raw()) << 32) | u64::from(getuid().as_raw())
}

/// The calling thread's name (Linux's `comm`, at most 15 bytes), if it can be had.
pub fn current_comm() -> Option<Vec<u8>> {
    nix::sys::prctl::get_name().ok().map(|c| c.into_bytes())
}
