//! Memory regions and checked access: the only module of the interpreter with `unsafe`.
//!
//! A run is given a table of regions, each built from a Rust borrow that outlives the run
//! (the caller's buffers through [`Region`], and the VM's own stack). Every load, store and
//! atomic is looked up in that table first; only an access that lies wholly inside one
//! region, with the right permission, is performed. So no memory outside the regions is
//! ever touched, whatever the program does.

#![allow(
    unsafe_code,
    reason = "one of the places ARCHITECTURE.md allows unsafe; every block has a SAFETY comment"
)]

use core::marker::PhantomData;
use core::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, AtomicU8, Ordering};

use ebpfvm_abi::Trap;

/// Memory a run may access besides its stack.
///
/// A region borrows its buffer for `'a`, so the buffer cannot move or be freed, and nothing
/// else can write it, while a run may use it.
#[derive(Debug)]
pub struct Region<'a> {
    raw: RawRegion,
    _borrow: PhantomData<&'a mut [u8]>,
}

impl<'a> Region<'a> {
    /// A region the program may read and write.
    pub fn writable(buf: &'a mut [u8]) -> Region<'a> {
        Region {
            raw: RawRegion::new(buf.as_mut_ptr(), buf.len(), true).host_writable(),
            _borrow: PhantomData,
        }
    }

    /// A region the program may only read.
    pub fn read_only(buf: &'a [u8]) -> Region<'a> {
        // The pointer is never written through: `writable` is false and every store checks it.
        Region {
            raw: RawRegion::new(buf.as_ptr().cast_mut(), buf.len(), false),
            _borrow: PhantomData,
        }
    }

    /// A region over raw memory the caller guarantees, such as a map's value storage or a
    /// runtime context structure. The program may write it only if `writable`; helpers may
    /// update it through `ExecEnv::write_runtime` either way.
    ///
    /// # Safety
    ///
    /// `len` bytes at `ptr` must stay valid for reads and writes for `'a`, and every other
    /// access to them during a run must tolerate the program's plain and atomic accesses.
    pub unsafe fn from_raw(ptr: *mut u8, len: usize, writable: bool) -> Region<'a> {
        Region {
            raw: RawRegion::new(ptr, len, writable).host_writable(),
            _borrow: PhantomData,
        }
    }

    /// The region's start address, as the program sees it.
    pub fn addr(&self) -> u64 {
        self.raw.start
    }

    /// The region's length in bytes.
    pub fn len(&self) -> usize {
        self.raw.len as usize
    }

    /// Whether the region is empty.
    pub fn is_empty(&self) -> bool {
        self.raw.len == 0
    }

    pub(crate) fn raw(&self) -> RawRegion {
        self.raw
    }
}

/// A region without its lifetime, for the run's region table. Only built from a [`Region`]
/// or from the VM's stack, both of which outlive the run that uses the table.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawRegion {
    base: *mut u8,
    start: u64,
    len: u64,
    writable: bool,
    /// Built from mutable memory: `write_runtime` may write it even if the program may not.
    host_writable: bool,
}

impl RawRegion {
    pub(crate) fn new(base: *mut u8, len: usize, writable: bool) -> RawRegion {
        RawRegion {
            base,
            start: base as u64,
            len: len as u64,
            writable,
            host_writable: writable,
        }
    }

    pub(crate) fn host_writable(mut self) -> RawRegion {
        self.host_writable = true;
        self
    }

    pub(crate) fn start(&self) -> u64 {
        self.start
    }
}

/// The trap of an access outside every region; out of line so that building it costs the
/// hot path nothing.
#[cold]
#[inline(never)]
fn violation(addr: u64, size: usize, write: bool) -> Trap {
    Trap::MemoryViolation { addr, size, write }
}

/// The regions of one run. The stack comes first: most accesses hit it.
#[derive(Debug)]
pub(crate) struct Regions {
    table: Vec<RawRegion>,
}

impl Regions {
    pub(crate) fn new(stack: RawRegion, others: &[Region<'_>]) -> Regions {
        // Room for the regions helpers usually grant in a run (map values, records), so a
        // grant does not reallocate.
        let mut table = Vec::with_capacity(others.len() + 9);
        table.push(stack);
        table.extend(others.iter().map(Region::raw));
        Regions { table }
    }

    /// Adds a region for the rest of the run (see `ExecEnv::grant`, whose caller promises
    /// the memory stays valid). An identical region already in the table is not added
    /// twice, so repeated lookups of one map value do not grow the table.
    pub(crate) fn grant(&mut self, addr: u64, len: usize, writable: bool) {
        let raw = RawRegion::new(addr as usize as *mut u8, len, writable);
        if !self.table[1..]
            .iter()
            .any(|r| r.start == raw.start && r.len == raw.len && r.writable == writable)
        {
            self.table.push(raw);
        }
    }

    /// Removes every region (other than the stack) that starts at `addr`.
    pub(crate) fn revoke(&mut self, addr: u64) {
        let stack = self.table[0];
        self.table.retain(|r| r.start != addr);
        if self.table.first().map(|r| r.start) != Some(stack.start) {
            self.table.insert(0, stack);
        }
    }

    /// Checks an access of `len` bytes at `addr` without performing it.
    pub(crate) fn check(&self, addr: u64, len: usize, write: bool) -> Result<(), Trap> {
        if len == 0 {
            return Ok(());
        }
        self.translate(addr, len, write).map(|_| ())
    }

    /// Copies program memory at `addr` into `buf`.
    pub(crate) fn read_bytes(&self, addr: u64, buf: &mut [u8]) -> Result<(), Trap> {
        if buf.is_empty() {
            return Ok(());
        }
        let p = self.translate(addr, buf.len(), false)?;
        // SAFETY: `translate` returned a pointer to `buf.len()` readable bytes inside a
        // region that lives for the run; `buf` is a distinct Rust buffer, so the ranges do
        // not overlap.
        unsafe { core::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }

    /// Copies `data` into program memory at `addr`.
    pub(crate) fn write_bytes(&self, addr: u64, data: &[u8]) -> Result<(), Trap> {
        if data.is_empty() {
            return Ok(());
        }
        let p = self.translate(addr, data.len(), true)?;
        // SAFETY: `translate` returned a pointer to `data.len()` writable bytes inside a
        // writable region that lives for the run. `copy` (memmove) is correct even if
        // `data` overlaps the destination.
        unsafe { core::ptr::copy(data.as_ptr(), p, data.len()) };
        Ok(())
    }

    /// Copies `data` into a region built from mutable memory, whatever the program may do
    /// there (`ExecEnv::write_runtime`).
    pub(crate) fn write_runtime(&self, addr: u64, data: &[u8]) -> Result<(), Trap> {
        if data.is_empty() {
            return Ok(());
        }
        let len = data.len() as u64;
        for r in &self.table {
            let off = addr.wrapping_sub(r.start);
            if off < r.len && r.len - off >= len && r.host_writable {
                let p = r.base.wrapping_add(off as usize);
                // SAFETY: `p` .. `p + len` lies inside the region (checked above), which was
                // built from memory valid for writes for the whole run (`host_writable`:
                // a mutable borrow, the VM's stack or `Region::from_raw`'s contract).
                unsafe { core::ptr::copy(data.as_ptr(), p, data.len()) };
                return Ok(());
            }
        }
        Err(violation(addr, data.len(), true))
    }

    /// Atomic compare-and-exchange of the 4-byte word at `addr`.
    pub(crate) fn cmpxchg32(&self, addr: u64, expected: u32, new: u32) -> Result<u32, Trap> {
        let p = self.atomic_ptr(addr, 4, true)?;
        // SAFETY: in bounds, writable, 4-aligned (checked by `atomic_ptr`), alive for the run.
        let a = unsafe { AtomicU32::from_ptr(p.cast::<u32>()) };
        Ok(
            a.compare_exchange(expected, new, Ordering::SeqCst, Ordering::SeqCst)
                .unwrap_or_else(|v| v),
        )
    }

    /// The host pointer for an access of `size` bytes at `addr`, if it lies wholly inside one
    /// region that permits it.
    #[inline(always)]
    pub(crate) fn translate(&self, addr: u64, size: usize, write: bool) -> Result<*mut u8, Trap> {
        for r in &self.table {
            let off = addr.wrapping_sub(r.start);
            if off < r.len && r.len - off >= size as u64 && (r.writable || !write) {
                // Stays inside the allocation `base` points into: off + size <= len.
                return Ok(r.base.wrapping_add(off as usize));
            }
        }
        Err(violation(addr, size, write))
    }

    /// Loads `size` bytes (1, 2, 4 or 8) little-endian, zero-extended.
    #[inline(always)]
    pub(crate) fn load(&self, addr: u64, size: usize) -> Result<u64, Trap> {
        let p = self.translate(addr, size, false)?;
        // SAFETY: `translate` returned a pointer to `size` readable bytes inside a region, and
        // every region is borrowed (or owned by the VM) for the whole run. Unaligned reads
        // are allowed by `read_unaligned`.
        unsafe {
            Ok(match size {
                1 => p.read() as u64,
                2 => u16::from_le(p.cast::<u16>().read_unaligned()) as u64,
                4 => u32::from_le(p.cast::<u32>().read_unaligned()) as u64,
                _ => u64::from_le(p.cast::<u64>().read_unaligned()),
            })
        }
    }

    /// Stores the low `size` bytes (1, 2, 4 or 8) of `value` little-endian.
    #[inline(always)]
    pub(crate) fn store(&self, addr: u64, size: usize, value: u64) -> Result<(), Trap> {
        let p = self.translate(addr, size, true)?;
        // SAFETY: `translate` returned a pointer to `size` writable bytes inside a writable
        // region, borrowed mutably (or owned by the VM) for the whole run.
        unsafe {
            match size {
                1 => p.write(value as u8),
                2 => p.cast::<u16>().write_unaligned((value as u16).to_le()),
                4 => p.cast::<u32>().write_unaligned((value as u32).to_le()),
                _ => p.cast::<u64>().write_unaligned(value.to_le()),
            }
        }
        Ok(())
    }

    /// The pointer for an atomic access: inside a writable region and aligned to `size`.
    fn atomic_ptr(&self, addr: u64, size: usize, write: bool) -> Result<*mut u8, Trap> {
        let p = self.translate(addr, size, write)?;
        if addr % size as u64 != 0 {
            return Err(Trap::MisalignedAtomic { addr, size });
        }
        Ok(p)
    }

    /// Atomically applies `f` to the 4- or 8-byte cell at `addr` and returns the old value.
    /// `f` gets the old value and returns the new one, or `None` to leave memory unchanged.
    pub(crate) fn atomic_rmw(
        &self,
        addr: u64,
        size: usize,
        f: impl Fn(u64) -> Option<u64>,
    ) -> Result<u64, Trap> {
        let p = self.atomic_ptr(addr, size, true)?;
        // SAFETY: `p` points to `size` writable bytes inside a region that lives for the run,
        // aligned to `size` (checked above), which is what `from_ptr` requires. Other agents
        // may access the cell only atomically, as the eBPF memory model says.
        unsafe {
            if size == 4 {
                let a = AtomicU32::from_ptr(p.cast::<u32>());
                let old = a
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| {
                        f(v as u64).map(|n| n as u32)
                    })
                    .unwrap_or_else(|v| v);
                Ok(old as u64)
            } else {
                let a = AtomicU64::from_ptr(p.cast::<u64>());
                Ok(a.fetch_update(Ordering::SeqCst, Ordering::SeqCst, f)
                    .unwrap_or_else(|v| v))
            }
        }
    }

    /// Atomic add, or, and, xor or exchange (`op` 0–4) of the 4- or 8-byte cell at `addr`
    /// with `src`; returns the old value. One host instruction each, not a CAS loop.
    pub(crate) fn atomic_op(&self, addr: u64, size: usize, op: u8, src: u64) -> Result<u64, Trap> {
        let p = self.atomic_ptr(addr, size, true)?;
        let o = Ordering::SeqCst;
        // SAFETY: as in `atomic_rmw`: in bounds, writable, aligned, alive for the run.
        unsafe {
            if size == 4 {
                let a = AtomicU32::from_ptr(p.cast::<u32>());
                let s = src as u32;
                Ok(match op {
                    0 => a.fetch_add(s, o),
                    1 => a.fetch_or(s, o),
                    2 => a.fetch_and(s, o),
                    3 => a.fetch_xor(s, o),
                    _ => a.swap(s, o),
                } as u64)
            } else {
                let a = AtomicU64::from_ptr(p.cast::<u64>());
                Ok(match op {
                    0 => a.fetch_add(src, o),
                    1 => a.fetch_or(src, o),
                    2 => a.fetch_and(src, o),
                    3 => a.fetch_xor(src, o),
                    _ => a.swap(src, o),
                })
            }
        }
    }

    /// Acquire load of 1, 2, 4 or 8 bytes.
    pub(crate) fn load_acquire(&self, addr: u64, size: usize) -> Result<u64, Trap> {
        let p = self.atomic_ptr(addr, size, false)?;
        // SAFETY: as in `atomic_rmw`: in bounds, aligned, alive for the run.
        unsafe {
            Ok(match size {
                1 => AtomicU8::from_ptr(p).load(Ordering::Acquire) as u64,
                2 => AtomicU16::from_ptr(p.cast()).load(Ordering::Acquire) as u64,
                4 => AtomicU32::from_ptr(p.cast()).load(Ordering::Acquire) as u64,
                _ => AtomicU64::from_ptr(p.cast()).load(Ordering::Acquire),
            })
        }
    }

    /// Release store of the low 1, 2, 4 or 8 bytes of `value`.
    pub(crate) fn store_release(&self, addr: u64, size: usize, value: u64) -> Result<(), Trap> {
        let p = self.atomic_ptr(addr, size, true)?;
        // SAFETY: as in `atomic_rmw`: in bounds, writable, aligned, alive for the run.
        unsafe {
            match size {
                1 => AtomicU8::from_ptr(p).store(value as u8, Ordering::Release),
                2 => AtomicU16::from_ptr(p.cast()).store(value as u16, Ordering::Release),
                4 => AtomicU32::from_ptr(p.cast()).store(value as u32, Ordering::Release),
                _ => AtomicU64::from_ptr(p.cast()).store(value, Ordering::Release),
            }
        }
        Ok(())
    }
}
