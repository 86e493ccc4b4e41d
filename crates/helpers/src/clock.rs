//! Clocks and randomness: `bpf_ktime_get_*_ns`, `bpf_jiffies64`, `bpf_get_prandom_u32`.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use nix::time::{clock_gettime, ClockId};

/// The tick rate of [`jiffies64`]: 250 Hz, Linux's default `CONFIG_HZ` (distributions use
/// 100, 250, 300 or 1000; programs should scale by the rate they assume, as on Linux).
pub const HZ: u64 = 250;

/// Linux's `INITIAL_JIFFIES`: the jiffies counter starts five minutes before its 32-bit
/// value wraps, so wrap bugs show early.
pub const INITIAL_JIFFIES: u64 = (0u32.wrapping_sub(300 * HZ as u32)) as u64;

fn clock_ns(clock: ClockId) -> u64 {
    clock_gettime(clock).map_or(0, |ts| {
        (ts.tv_sec() as u64)
            .wrapping_mul(1_000_000_000)
            .wrapping_add(ts.tv_nsec() as u64)
    })
}

/// `bpf_ktime_get_ns`: `CLOCK_MONOTONIC` in nanoseconds (time since boot, without
/// suspend).
pub fn ktime_get_ns() -> u64 {
    clock_ns(ClockId::CLOCK_MONOTONIC)
}

/// `bpf_ktime_get_boot_ns`: `CLOCK_BOOTTIME` (time since boot, with suspend).
pub fn ktime_get_boot_ns() -> u64 {
    clock_ns(ClockId::CLOCK_BOOTTIME)
}

/// `bpf_ktime_get_coarse_ns`: `CLOCK_MONOTONIC_COARSE` (the last tick's time).
pub fn ktime_get_coarse_ns() -> u64 {
    clock_ns(ClockId::CLOCK_MONOTONIC_COARSE)
}

/// `bpf_jiffies64`: [`HZ`] ticks per second of `CLOCK_MONOTONIC_COARSE`, counted from
/// [`INITIAL_JIFFIES`] at boot.
pub fn jiffies64() -> u64 {
    INITIAL_JIFFIES.wrapping_add(ktime_get_coarse_ns() / (1_000_000_000 / HZ))
}

static SEED_COUNTER: AtomicU64 = AtomicU64::new(0x853c_49e6_748f_ea9b);

thread_local! {
    static RNG: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let tid = u64::from(nix::unistd::gettid().as_raw() as u32);
    let n = SEED_COUNTER.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed);
    mix(ktime_get_ns() ^ tid.rotate_left(32) ^ n)
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `bpf_get_prandom_u32`: a fast per-thread pseudo-random generator (wyrand), seeded from
/// the clock, the thread id and a process-wide counter. Not cryptographic, like Linux's.
pub fn prandom_u32() -> u32 {
    RNG.with(|s| {
        let x = s.get().wrapping_add(0xa076_1d64_78bd_642f);
        s.set(x);
        let t = u128::from(x) * u128::from(x ^ 0xe703_7ed1_a0b4_28db);
        ((t >> 64) as u64 ^ t as u64) as u32
    })
}
