//! Loading a program into the running kernel for `ebpfvm verify --against-kernel`: its maps
//! are created in the kernel to match the object's specs (inner maps first), map references
//! are turned into fds, and the program is loaded with the same log level.

use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};

use ebpfvm_kernel::{Kernel, LoadResult, MapAttrs, ProgLoad};
use ebpfvm_object::{MapSpec, ProgramSpec};

use super::verify::KernelJson;

fn create(k: &Kernel, spec: &MapSpec) -> Result<OwnedFd, String> {
    let inner = match &spec.inner {
        Some(i) => Some(create(k, i)?),
        None => None,
    };
    let attrs = MapAttrs {
        map_type: spec.map_type,
        key_size: spec.key_size,
        value_size: spec.value_size,
        max_entries: spec.max_entries,
        flags: spec.flags,
        inner_map_fd: inner.as_ref().map(|f| f.as_fd()),
    };
    k.create_map(&attrs)
        .map_err(|e| format!("cannot create map '{}' in the kernel: {e}", spec.name))
}

/// Loads `prog` into the kernel and reports its verdict.
pub fn load(k: &Kernel, prog: &ProgramSpec, maps: &[MapSpec], log_level: u32) -> KernelJson {
    let fail = |message: String| KernelJson {
        accepted: false,
        errno: None,
        message: Some(message),
        log: String::new(),
    };
    let mut fds = Vec::with_capacity(maps.len());
    for m in maps {
        match create(k, m) {
            Ok(fd) => fds.push(fd),
            Err(e) => return fail(e),
        }
    }
    let raw: Vec<RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
    let insns = match ebpfvm_kernel::resolve_map_indices(&prog.insns, &raw) {
        Ok(i) => i,
        Err(e) => return fail(e.to_string()),
    };
    let mut load = ProgLoad::new(prog.prog_type.number(), &insns);
    load.expected_attach_type = prog.expected_attach_type.map(|a| a.number());
    load.log_level = log_level.max(1);
    let r: LoadResult = k.load_program(&load);
    KernelJson {
        accepted: r.accepted(),
        errno: r
            .errno
            .map(|e| ebpfvm_kernel::errno_name(e).map_or_else(|| e.to_string(), str::to_string)),
        message: (!r.accepted()).then(|| r.error_line().unwrap_or("").trim().to_string()),
        log: r.log.clone(),
    }
}
