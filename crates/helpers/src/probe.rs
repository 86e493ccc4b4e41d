//! Reads of this process's memory that never crash: the `bpf_probe_read_*` helpers'
//! source, and the fallback of `%s` in `bpf_trace_printk`.
//!
//! The kernel reads with page faults disabled; a user-space process cannot, so it asks the
//! kernel to copy for it: `pread` on `/proc/self/mem` (an unmapped or unreadable address
//! gives `EIO`, no signal), or `process_vm_readv` on itself where `/proc` is not mounted.
//! The file is opened once per process (and again after a `fork`, whose child must not
//! read its parent's memory through the parent's file).

use std::fs::File;
use std::io::IoSliceMut;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex};

use nix::sys::uio::{process_vm_readv, RemoteIoVec};
use nix::unistd::getpid;

/// The granularity of string reads: a read that stays inside one 4 KiB-aligned block never
/// touches a page the string does not reach.
const BLOCK: u64 = 4096;

/// `/proc/self/mem` of the process that opened it, or `None` once it could not be opened.
static MEM: Mutex<Option<(i32, Option<Arc<File>>)>> = Mutex::new(None);

fn mem_file() -> Option<Arc<File>> {
    let pid = getpid().as_raw();
    let mut mem = MEM.lock().unwrap_or_else(|e| e.into_inner());
    match &*mem {
        Some((p, file)) if *p == pid => file.clone(),
        _ => {
            let file = File::open("/proc/self/mem").ok().map(Arc::new);
            *mem = Some((pid, file.clone()));
            file
        }
    }
}

fn read_vm(addr: u64, buf: &mut [u8]) -> bool {
    let Ok(base) = usize::try_from(addr) else {
        return false;
    };
    let len = buf.len();
    let mut local = [IoSliceMut::new(buf)];
    let remote = [RemoteIoVec { base, len }];
    matches!(process_vm_readv(getpid(), &mut local, &remote), Ok(n) if n == len)
}

/// Copies `buf.len()` bytes of this process's memory at `addr` into `buf`; `false` (with
/// `buf` in an unspecified state) if any of them is not readable. Never faults.
pub fn read_process_memory(addr: u64, buf: &mut [u8]) -> bool {
    if buf.is_empty() {
        return true;
    }
    if addr.checked_add(buf.len() as u64).is_none() {
        return false;
    }
    let Some(file) = mem_file() else {
        return read_vm(addr, buf);
    };
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], addr + done as u64) {
            Ok(0) => return false,
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    true
}

/// Reads a NUL-terminated string of this process's memory at `addr`, at most `max` bytes
/// besides the NUL: the bytes before the NUL (or the first `max` bytes). `None` if a byte
/// before the NUL and the limit is not readable.
pub fn read_process_str(addr: u64, max: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = addr;
    let mut block = [0u8; BLOCK as usize];
    while out.len() < max {
        let room = (BLOCK - at % BLOCK) as usize;
        let n = room.min(max - out.len());
        if !read_process_memory(at, &mut block[..n]) {
            return None;
        }
        if let Some(nul) = block[..n].iter().position(|&b| b == 0) {
            out.extend_from_slice(&block[..nul]);
            return Some(out);
        }
        out.extend_from_slice(&block[..n]);
        at = at.checked_add(n as u64)?;
    }
    Some(out)
}
