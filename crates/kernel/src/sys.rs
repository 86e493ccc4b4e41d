//! The only module with `unsafe`: the `bpf()` syscall, its attribute structs and fd ownership.
//!
//! Every function here is safe to call. Each builds its `union bpf_attr` variant from slices it
//! borrows for the duration of the call, so every pointer the kernel sees is valid for the
//! length the attribute gives it, and every buffer the kernel writes is at least as large as
//! the kernel may write (checked here, before the call, where the kernel's write size depends on
//! the map).
//!
//! Layouts are those of `union bpf_attr` and `struct bpf_map_info` in Linux
//! `include/uapi/linux/bpf.h` (checked against the 6.x headers; sizes are asserted below).
//! The kernel accepts an attribute shorter than its own union and zero-fills the rest, so
//! each struct stops at the last field this crate uses (`log_true_size`, `batch_size`, …).

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use crate::KernelError;

/// `enum bpf_cmd` values used here.
const BPF_MAP_CREATE: i32 = 0;
const BPF_MAP_LOOKUP_ELEM: i32 = 1;
const BPF_MAP_UPDATE_ELEM: i32 = 2;
const BPF_PROG_LOAD: i32 = 5;
const BPF_PROG_TEST_RUN: i32 = 10;
const BPF_OBJ_GET_INFO_BY_FD: i32 = 15;

/// `BPF_MAP_CREATE` attributes (the first anonymous struct of `union bpf_attr`).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct MapCreateAttr {
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub inner_map_fd: u32,
    pub numa_node: u32,
    pub map_name: [u8; 16],
    pub map_ifindex: u32,
    pub btf_fd: u32,
    pub btf_key_type_id: u32,
    pub btf_value_type_id: u32,
    pub btf_vmlinux_value_type_id: u32,
    pub map_extra: u64,
}

/// `BPF_MAP_*_ELEM` attributes.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
struct MapElemAttr {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

/// `BPF_PROG_LOAD` attributes, up to `log_true_size` (Linux 6.4+; older kernels that do
/// not know it reject a non-zero value there, and it is always zero on input).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
    prog_btf_fd: u32,
    func_info_rec_size: u32,
    func_info: u64,
    func_info_cnt: u32,
    line_info_rec_size: u32,
    line_info: u64,
    line_info_cnt: u32,
    attach_btf_id: u32,
    attach_prog_fd: u32,
    core_relo_cnt: u32,
    fd_array: u64,
    core_relos: u64,
    core_relo_rec_size: u32,
    log_true_size: u32,
}

/// `BPF_PROG_TEST_RUN` attributes (`test` in `union bpf_attr`), with the tail padding made
/// explicit (it must be zero).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
struct TestRunAttr {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
    batch_size: u32,
    _pad: u32,
}

/// `BPF_OBJ_GET_INFO_BY_FD` attributes (`info` in `union bpf_attr`).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
struct InfoAttr {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

/// The head of `struct bpf_map_info` (the kernel copies `min(info_len, its size)` bytes).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct MapInfoHead {
    pub map_type: u32,
    pub id: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
}

// The layouts the kernel expects (offsets follow from `repr(C)`; these pin the totals).
const _: () = assert!(std::mem::size_of::<MapCreateAttr>() == 72);
const _: () = assert!(std::mem::size_of::<MapElemAttr>() == 32);
const _: () = assert!(std::mem::size_of::<ProgLoadAttr>() == 144);
const _: () = assert!(std::mem::size_of::<TestRunAttr>() == 80);
const _: () = assert!(std::mem::size_of::<InfoAttr>() == 16);
const _: () = assert!(std::mem::size_of::<MapInfoHead>() == 24);

/// A pointer as the kernel's `__aligned_u64`, or 0 for an empty slice.
fn ptr_of(s: &[u8]) -> u64 {
    if s.is_empty() {
        0
    } else {
        s.as_ptr() as u64
    }
}

fn mut_ptr_of(s: &mut [u8]) -> u64 {
    if s.is_empty() {
        0
    } else {
        s.as_mut_ptr() as u64
    }
}

fn len_u32(what: &'static str, len: usize) -> Result<u32, KernelError> {
    u32::try_from(len).map_err(|_| KernelError::TooLarge { what, len })
}

fn fd_u32(fd: BorrowedFd<'_>) -> u32 {
    // A valid fd is non-negative.
    fd.as_raw_fd() as u32
}

/// Calls `bpf(cmd, attr, sizeof(*attr))`. Returns the non-negative result or the errno.
///
/// # Safety
///
/// `attr` must be this module's attribute struct for `cmd`, and each of its pointer fields
/// must be 0 or point to memory valid for the length given beside it (readable for inputs,
/// writable for outputs) until this call returns.
unsafe fn bpf<T>(cmd: i32, attr: &mut T) -> Result<libc::c_long, i32> {
    let size = std::mem::size_of::<T>() as libc::c_uint;
    let attr_ptr: *mut T = attr;
    // SAFETY: `attr` is a live, exclusively borrowed `repr(C)` struct of `size` bytes that
    // the kernel may read and write back into; the pointers inside it are valid as the
    // caller guarantees (see `# Safety`). The syscall has no other memory effects on this
    // process.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            libc::c_long::from(cmd),
            attr_ptr.cast::<libc::c_void>(),
            size,
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EINVAL))
    } else {
        Ok(ret)
    }
}

/// Takes ownership of a new fd the kernel returned.
fn owned_fd(ret: libc::c_long) -> Result<OwnedFd, i32> {
    let raw = RawFd::try_from(ret).map_err(|_| libc::EBADF)?;
    if raw < 0 {
        return Err(libc::EBADF);
    }
    // SAFETY: `raw` is the fd a successful BPF_MAP_CREATE / BPF_PROG_LOAD just returned. It is
    // open, and nothing else in this process owns it, so the OwnedFd becomes its only owner.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

fn syscall_error(op: &'static str, errno: i32) -> KernelError {
    KernelError::Syscall { op, errno }
}

/// `BPF_MAP_CREATE`. The attribute holds no pointers.
pub(crate) fn map_create(attr: &MapCreateAttr) -> Result<OwnedFd, i32> {
    let mut attr = *attr;
    // SAFETY: BPF_MAP_CREATE with its own attribute struct, which holds no pointers.
    let ret = unsafe { bpf(BPF_MAP_CREATE, &mut attr) }?;
    owned_fd(ret)
}

/// `BPF_OBJ_GET_INFO_BY_FD` on a map: its type, key and value size, entries and flags.
pub(crate) fn map_info(fd: BorrowedFd<'_>) -> Result<MapInfoHead, KernelError> {
    let mut info = MapInfoHead::default();
    let info_ptr: *mut MapInfoHead = &mut info;
    let mut attr = InfoAttr {
        bpf_fd: fd_u32(fd),
        info_len: std::mem::size_of::<MapInfoHead>() as u32,
        info: info_ptr as u64,
    };
    // SAFETY: BPF_OBJ_GET_INFO_BY_FD with its attribute struct; `info` points to `info_len`
    // writable bytes (`info` outlives the call), and the kernel writes at most `info_len`
    // bytes there.
    unsafe { bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr) }
        .map_err(|e| syscall_error("BPF_OBJ_GET_INFO_BY_FD", e))?;
    Ok(info)
}

/// The number of possible CPUs (`/sys/devices/system/cpu/possible`), which sizes per-CPU
/// values.
fn possible_cpus() -> Result<usize, KernelError> {
    let path = "/sys/devices/system/cpu/possible";
    let text = std::fs::read_to_string(path).map_err(|e| KernelError::Host {
        what: format!("reading {path}: {e}"),
    })?;
    parse_cpu_list(text.trim()).ok_or_else(|| KernelError::Host {
        what: format!("cannot parse {path}: {:?}", text.trim()),
    })
}

/// Counts the CPUs of a list such as `0-3,5,7-8`.
pub(crate) fn parse_cpu_list(s: &str) -> Option<usize> {
    let mut n = 0usize;
    for part in s.split(',') {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (
                a.trim().parse::<usize>().ok()?,
                b.trim().parse::<usize>().ok()?,
            ),
            None => {
                let v = part.trim().parse::<usize>().ok()?;
                (v, v)
            }
        };
        n = n.checked_add(hi.checked_sub(lo)?.checked_add(1)?)?;
    }
    (n > 0).then_some(n)
}

/// How many value bytes the kernel copies for one element (`bpf_map_value_size`), rounded up
/// to never be less than `value_size`.
fn syscall_value_size(info: &MapInfoHead) -> Result<usize, KernelError> {
    // BPF_MAP_TYPE_PERCPU_HASH, PERCPU_ARRAY, LRU_PERCPU_HASH, PERCPU_CGROUP_STORAGE.
    const PERCPU: [u32; 4] = [5, 6, 10, 21];
    let value_size = info.value_size as usize;
    if PERCPU.contains(&info.map_type) {
        let per_cpu = value_size.div_ceil(8) * 8;
        Ok(per_cpu.max(8) * possible_cpus()?)
    } else {
        Ok(value_size.max(4))
    }
}

/// Checks that `key` covers the map's key (the kernel reads `key_size` bytes from it).
fn check_key(info: &MapInfoHead, key: &[u8]) -> Result<(), KernelError> {
    if key.len() != info.key_size as usize {
        return Err(KernelError::BadLength {
            what: "key",
            expected: info.key_size as usize,
            got: key.len(),
        });
    }
    Ok(())
}

/// `BPF_MAP_UPDATE_ELEM`. `value` must hold the map's whole value (all CPUs for per-CPU maps).
pub(crate) fn map_update(
    fd: BorrowedFd<'_>,
    key: &[u8],
    value: &[u8],
    flags: u64,
) -> Result<(), KernelError> {
    let info = map_info(fd)?;
    check_key(&info, key)?;
    let need = syscall_value_size(&info)?;
    if value.len() < need {
        return Err(KernelError::BadLength {
            what: "value",
            expected: need,
            got: value.len(),
        });
    }
    let mut attr = MapElemAttr {
        map_fd: fd_u32(fd),
        _pad: 0,
        key: ptr_of(key),
        value: ptr_of(value),
        flags,
    };
    // SAFETY: BPF_MAP_UPDATE_ELEM with its attribute struct; `key` (key_size bytes, checked
    // above) and `value` (at least the bytes the kernel copies, checked above) are borrowed
    // for the call, and the kernel only reads them.
    unsafe { bpf(BPF_MAP_UPDATE_ELEM, &mut attr) }
        .map_err(|e| syscall_error("BPF_MAP_UPDATE_ELEM", e))?;
    Ok(())
}

/// `BPF_MAP_LOOKUP_ELEM`: `Ok(None)` when the key has no element (ENOENT).
pub(crate) fn map_lookup(fd: BorrowedFd<'_>, key: &[u8]) -> Result<Option<Vec<u8>>, KernelError> {
    let info = map_info(fd)?;
    check_key(&info, key)?;
    let mut value = vec![0u8; syscall_value_size(&info)?];
    let mut attr = MapElemAttr {
        map_fd: fd_u32(fd),
        _pad: 0,
        key: ptr_of(key),
        value: mut_ptr_of(&mut value),
        flags: 0,
    };
    // SAFETY: BPF_MAP_LOOKUP_ELEM with its attribute struct; `key` is read (key_size bytes,
    // checked above); `value` is a buffer at least as large as what the kernel copies out for
    // this map (bpf_map_value_size), owned until after the call.
    match unsafe { bpf(BPF_MAP_LOOKUP_ELEM, &mut attr) } {
        Ok(_) => {}
        Err(libc::ENOENT) => return Ok(None),
        Err(e) => return Err(syscall_error("BPF_MAP_LOOKUP_ELEM", e)),
    }
    let per_cpu_maps = [5u32, 6, 10, 21];
    if !per_cpu_maps.contains(&info.map_type) {
        value.truncate(info.value_size as usize);
    }
    Ok(Some(value))
}

/// The inputs of `BPF_PROG_LOAD`, as borrowed memory.
pub(crate) struct ProgLoadArgs<'a> {
    pub prog_type: u32,
    pub expected_attach_type: u32,
    /// The instruction bytes (a multiple of 8).
    pub insns: &'a [u8],
    pub license: &'a CStr,
    pub log_level: u32,
    /// The log buffer (empty: none).
    pub log: &'a mut [u8],
    pub kern_version: u32,
    pub prog_flags: u32,
}

/// What `BPF_PROG_LOAD` returns: the program or the errno, and the log size the kernel needed
/// (`log_true_size`, Linux 6.4+; 0 where the kernel does not report it).
pub(crate) struct ProgLoadOut {
    pub result: Result<OwnedFd, i32>,
    pub log_true_size: u32,
}

/// `BPF_PROG_LOAD`. The log (NUL-terminated by the kernel) is left in `args.log`.
pub(crate) fn prog_load(args: ProgLoadArgs<'_>) -> ProgLoadOut {
    let fail = |errno| ProgLoadOut {
        result: Err(errno),
        log_true_size: 0,
    };
    if args.insns.len() % 8 != 0 {
        return fail(libc::EINVAL);
    }
    let Ok(insn_cnt) = u32::try_from(args.insns.len() / 8) else {
        return fail(libc::E2BIG);
    };
    let Ok(log_size) = u32::try_from(args.log.len()) else {
        return fail(libc::EINVAL);
    };
    let mut attr = ProgLoadAttr {
        prog_type: args.prog_type,
        insn_cnt,
        insns: ptr_of(args.insns),
        license: args.license.as_ptr() as u64,
        log_level: args.log_level,
        log_size,
        log_buf: mut_ptr_of(args.log),
        kern_version: args.kern_version,
        prog_flags: args.prog_flags,
        expected_attach_type: args.expected_attach_type,
        ..ProgLoadAttr::default()
    };
    // SAFETY: BPF_PROG_LOAD with its attribute struct; `insns` (insn_cnt * 8 bytes) and the
    // NUL-terminated `license` are read; `log` is written up to `log_size` bytes; all three
    // are borrowed until the call returns. Every other pointer field (func/line info,
    // fd_array, core relos) is 0.
    let ret = unsafe { bpf(BPF_PROG_LOAD, &mut attr) };
    ProgLoadOut {
        result: ret.and_then(owned_fd),
        log_true_size: attr.log_true_size,
    }
}

/// The inputs of `BPF_PROG_TEST_RUN`, as borrowed memory (empty slices: none).
pub(crate) struct TestRunArgs<'a> {
    pub prog: BorrowedFd<'a>,
    pub data_in: &'a [u8],
    pub data_out: &'a mut [u8],
    pub ctx_in: &'a [u8],
    pub ctx_out: &'a mut [u8],
    pub repeat: u32,
}

/// What `BPF_PROG_TEST_RUN` reports back, also on ENOSPC (output buffer too small).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TestRunOut {
    pub retval: u32,
    pub data_size_out: u32,
    pub ctx_size_out: u32,
    pub duration: u32,
}

/// `BPF_PROG_TEST_RUN`.
pub(crate) fn test_run(args: TestRunArgs<'_>) -> Result<TestRunOut, (i32, TestRunOut)> {
    let lens = (
        len_u32("data_in", args.data_in.len()),
        len_u32("data_out", args.data_out.len()),
        len_u32("ctx_in", args.ctx_in.len()),
        len_u32("ctx_out", args.ctx_out.len()),
    );
    let (Ok(data_size_in), Ok(data_size_out), Ok(ctx_size_in), Ok(ctx_size_out)) = lens else {
        return Err((libc::E2BIG, TestRunOut::default()));
    };
    let mut attr = TestRunAttr {
        prog_fd: fd_u32(args.prog),
        data_size_in,
        data_size_out,
        data_in: ptr_of(args.data_in),
        data_out: mut_ptr_of(args.data_out),
        repeat: args.repeat,
        ctx_size_in,
        ctx_size_out,
        ctx_in: ptr_of(args.ctx_in),
        ctx_out: mut_ptr_of(args.ctx_out),
        ..TestRunAttr::default()
    };
    // SAFETY: BPF_PROG_TEST_RUN with its attribute struct; `data_in`/`ctx_in` are read for
    // their sizes; `data_out`/`ctx_out` are written at most `data_size_out`/`ctx_size_out`
    // bytes (the kernel clamps a non-zero size and reports ENOSPC; empty buffers are passed
    // as null pointers, which the kernel never writes); all are borrowed until the call
    // returns.
    let res = unsafe { bpf(BPF_PROG_TEST_RUN, &mut attr) };
    let out = TestRunOut {
        retval: attr.retval,
        data_size_out: attr.data_size_out,
        ctx_size_out: attr.ctx_size_out,
        duration: attr.duration,
    };
    match res {
        Ok(_) => Ok(out),
        Err(e) => Err((e, out)),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_cpu_list;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0"), Some(1));
        assert_eq!(parse_cpu_list("0-3"), Some(4));
        assert_eq!(parse_cpu_list("0-3,5,7-8"), Some(7));
        assert_eq!(parse_cpu_list(""), None);
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("x"), None);
    }
}
