//! `TestEnv`: an `ExecEnv` over a Vec-backed arena at a fake base address, plus the host
//! memory helpers grant, with callbacks as closures and a recording tail call.
//!
//! Arena addresses are not real pointers, so a helper that dereferenced a program pointer
//! instead of going through `ExecEnv` would fault or read garbage and fail the tests.

#![allow(
    unsafe_code,
    reason = "reads granted host memory (map values, records) like an engine"
)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

use ebpfvm_abi::{ExecEnv, HelperHost, ProgHandle, Trap};

/// The fake address of the arena's first byte.
pub const BASE: u64 = 0x1000_0000;
const ARENA: usize = 1 << 16;

/// A callback: gets the env, the helper host and r1–r5, returns r0.
pub type Callback =
    Box<dyn FnMut(&mut TestEnv, &mut dyn HelperHost, [u64; 5]) -> Result<u64, Trap>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Region {
    start: u64,
    len: usize,
    writable: bool,
    granted: bool,
}

impl Region {
    fn covers(&self, addr: u64, len: usize) -> bool {
        addr >= self.start
            && addr
                .checked_add(len as u64)
                .is_some_and(|e| e <= self.start + self.len as u64)
    }
}

pub struct TestEnv {
    mem: Vec<u8>,
    next: u64,
    regions: Vec<Region>,
    funcs: HashMap<u64, Callback>,
    /// Targets of successful tail calls, in order.
    pub tail_calls: Vec<ProgHandle>,
    /// How many tail calls succeed.
    pub tail_call_limit: usize,
    /// Every grant: (address, length, writable).
    pub grants: Vec<(u64, usize, bool)>,
    /// Every revoke.
    pub revokes: Vec<u64>,
}

impl std::fmt::Debug for TestEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestEnv")
            .field("regions", &self.regions)
            .field("grants", &self.grants)
            .field("revokes", &self.revokes)
            .finish_non_exhaustive()
    }
}

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl TestEnv {
    pub fn new() -> TestEnv {
        TestEnv {
            mem: vec![0xa5; ARENA],
            next: BASE,
            regions: Vec::new(),
            funcs: HashMap::new(),
            tail_calls: Vec::new(),
            tail_call_limit: 33,
            grants: Vec::new(),
            revokes: Vec::new(),
        }
    }

    fn in_arena(addr: u64, len: usize) -> bool {
        addr >= BASE
            && addr
                .checked_add(len as u64)
                .is_some_and(|e| e <= BASE + ARENA as u64)
    }

    /// Reserves `len` arena bytes (8-aligned) without making them accessible.
    pub fn reserve(&mut self, len: usize) -> u64 {
        let addr = self.next;
        self.next = (self.next + len as u64 + 7) & !7;
        assert!(self.next <= BASE + ARENA as u64, "arena exhausted");
        addr
    }

    /// Allocates `len` accessible arena bytes (like stack memory).
    pub fn alloc(&mut self, len: usize, writable: bool) -> u64 {
        let addr = self.reserve(len);
        self.regions.push(Region {
            start: addr,
            len,
            writable,
            granted: false,
        });
        addr
    }

    /// Allocates and fills writable arena bytes.
    pub fn put(&mut self, data: &[u8]) -> u64 {
        let addr = self.alloc(data.len().max(1), true);
        self.poke(addr, data);
        addr
    }

    /// Writes arena bytes directly (no access check).
    pub fn poke(&mut self, addr: u64, data: &[u8]) {
        assert!(Self::in_arena(addr, data.len()));
        let off = (addr - BASE) as usize;
        self.mem[off..off + data.len()].copy_from_slice(data);
    }

    /// Reads arena bytes directly (no access check).
    pub fn peek(&self, addr: u64, len: usize) -> Vec<u8> {
        assert!(Self::in_arena(addr, len));
        let off = (addr - BASE) as usize;
        self.mem[off..off + len].to_vec()
    }

    pub fn peek_u64(&self, addr: u64) -> u64 {
        u64::from_ne_bytes(self.peek(addr, 8).try_into().unwrap())
    }

    /// Reads through the access checks.
    pub fn get(&mut self, addr: u64, len: usize) -> Result<Vec<u8>, Trap> {
        let mut v = vec![0; len];
        self.read(addr, &mut v)?;
        Ok(v)
    }

    pub fn get_u64(&mut self, addr: u64) -> Result<u64, Trap> {
        Ok(u64::from_ne_bytes(self.get(addr, 8)?.try_into().unwrap()))
    }

    /// Registers a callback under function value `func`.
    pub fn on_call(
        &mut self,
        func: u64,
        f: impl FnMut(&mut TestEnv, &mut dyn HelperHost, [u64; 5]) -> Result<u64, Trap> + 'static,
    ) {
        self.funcs.insert(func, Box::new(f));
    }

    /// Makes `len` bytes at `addr` accessible, as a runtime grants the packet.
    pub fn grant_region(&mut self, addr: u64, len: usize, writable: bool) {
        self.regions.push(Region {
            start: addr,
            len,
            writable,
            granted: true,
        });
    }

    fn region(&self, addr: u64, len: usize, write: bool) -> Result<(), Trap> {
        if len == 0 {
            return Ok(());
        }
        if self
            .regions
            .iter()
            .rev()
            .any(|r| r.covers(addr, len) && (r.writable || !write))
        {
            Ok(())
        } else {
            Err(Trap::MemoryViolation {
                addr,
                size: len,
                write,
            })
        }
    }
}

impl ExecEnv for TestEnv {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Trap> {
        self.region(addr, buf.len(), false)?;
        if buf.is_empty() {
            return Ok(());
        }
        if Self::in_arena(addr, buf.len()) {
            let off = (addr - BASE) as usize;
            buf.copy_from_slice(&self.mem[off..off + buf.len()]);
        } else {
            // SAFETY: host memory a helper granted (map values, records, key buffers),
            // which the helper keeps valid while granted; tests are single-threaded.
            unsafe {
                std::ptr::copy_nonoverlapping(addr as *const u8, buf.as_mut_ptr(), buf.len())
            };
        }
        Ok(())
    }

    fn write_runtime(&mut self, addr: u64, data: &[u8]) -> Result<(), Trap> {
        // Runtime structures live in the arena; the program's permission does not matter.
        self.region(addr, data.len(), false)?;
        if data.is_empty() {
            return Ok(());
        }
        if Self::in_arena(addr, data.len()) {
            self.poke(addr, data);
            Ok(())
        } else {
            Err(Trap::MemoryViolation {
                addr,
                size: data.len(),
                write: true,
            })
        }
    }

    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), Trap> {
        self.region(addr, data.len(), true)?;
        if data.is_empty() {
            return Ok(());
        }
        if Self::in_arena(addr, data.len()) {
            self.poke(addr, data);
        } else {
            // SAFETY: as in `read`, for memory granted writable.
            unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), addr as *mut u8, data.len()) };
        }
        Ok(())
    }

    fn check(&self, addr: u64, len: usize, write: bool) -> Result<(), Trap> {
        self.region(addr, len, write)
    }

    fn cmpxchg32(&mut self, addr: u64, expected: u32, new: u32) -> Result<u32, Trap> {
        if addr % 4 != 0 {
            return Err(Trap::MisalignedAtomic { addr, size: 4 });
        }
        self.region(addr, 4, true)?;
        if Self::in_arena(addr, 4) {
            let old = u32::from_ne_bytes(self.peek(addr, 4).try_into().unwrap());
            if old == expected {
                self.poke(addr, &new.to_ne_bytes());
            }
            Ok(old)
        } else {
            // SAFETY: granted, writable, 4-aligned host memory (a map value).
            let word = unsafe { AtomicU32::from_ptr(addr as *mut u32) };
            Ok(
                match word.compare_exchange(expected, new, Ordering::SeqCst, Ordering::SeqCst) {
                    Ok(v) | Err(v) => v,
                },
            )
        }
    }

    unsafe fn grant(&mut self, addr: u64, len: usize, writable: bool) {
        self.grants.push((addr, len, writable));
        self.grant_region(addr, len, writable);
    }

    fn revoke(&mut self, addr: u64) {
        self.revokes.push(addr);
        self.regions.retain(|r| !(r.granted && r.start == addr));
    }

    fn call_function(
        &mut self,
        host: &mut dyn HelperHost,
        func: u64,
        args: [u64; 5],
    ) -> Result<u64, Trap> {
        let mut f = self.funcs.remove(&func).ok_or(Trap::BadHelperArg {
            id: 0,
            arg: 2,
            expected: "a registered callback",
        })?;
        let r = f(self, host, args);
        self.funcs.insert(func, f);
        r
    }

    fn tail_call(&mut self, target: &ProgHandle) -> bool {
        if self.tail_calls.len() >= self.tail_call_limit {
            return false;
        }
        self.tail_calls.push(target.clone());
        true
    }
}
