//! Integration tests of ebpfvm-helpers: each helper through `HelperHost::call_helper`,
//! against a `TestEnv` engine stand-in and real maps.

mod allow;
mod csum;
mod maps;
mod misc;
mod output;
mod packet;
mod printk;
mod probe;
mod strto;
mod testenv;

use std::sync::Arc;

use ebpfvm_abi::helpers::helper_by_name;
use ebpfvm_abi::{HelperHost, MapType, ProgramType, Trap};
use ebpfvm_helpers::{CtxKind, MapTable, RunConfig, RunEnv, TraceLog};
use ebpfvm_maps::{create_map, Map, MapDef, MapOptions, RunGuard};

pub use testenv::TestEnv;

/// What a run borrows: maps, guard and trace log.
#[derive(Debug)]
pub struct Fixture {
    pub maps: MapTable,
    pub guard: RunGuard,
    pub trace: TraceLog,
}

impl Default for Fixture {
    fn default() -> Self {
        Self::new()
    }
}

impl Fixture {
    pub fn new() -> Fixture {
        Fixture::with_slot(0)
    }

    pub fn with_slot(slot: usize) -> Fixture {
        Fixture {
            maps: MapTable::new(),
            guard: RunGuard::pin(slot),
            trace: TraceLog::new(),
        }
    }

    /// Creates a map (2 execution slots), adds it to the table, returns (value, map).
    pub fn map(&mut self, def: MapDef) -> (u64, Arc<dyn Map>) {
        let map = create_map(&def, &MapOptions::with_slots(2)).expect("valid map attributes");
        (self.maps.insert(map.clone()), map)
    }

    /// A run of `prog_type` whose context is at `ctx_addr`.
    pub fn run(&self, prog_type: ProgramType, ctx_addr: u64, ctx_kind: CtxKind) -> RunEnv<'_> {
        RunEnv::new(RunConfig {
            prog_type,
            maps: &self.maps,
            guard: &self.guard,
            trace: &self.trace,
            ctx_addr,
            ctx_kind,
        })
    }

    /// A run of an `unspec` program without context.
    pub fn plain(&self) -> RunEnv<'_> {
        self.run(ProgramType::Unspec, 0, CtxKind::Other)
    }
}

/// The uapi id of helper `name`.
pub fn id(name: &str) -> i64 {
    i64::from(
        helper_by_name(name)
            .unwrap_or_else(|| panic!("no helper {name}"))
            .id,
    )
}

/// Calls helper `name` with `args` (missing ones are 0).
pub fn call(
    host: &mut RunEnv<'_>,
    env: &mut TestEnv,
    name: &str,
    args: &[u64],
) -> Result<u64, Trap> {
    let mut a = [0u64; 5];
    a[..args.len()].copy_from_slice(args);
    host.call_helper(id(name), a, env)
}

/// Like [`call`], expecting no trap.
pub fn ok(host: &mut RunEnv<'_>, env: &mut TestEnv, name: &str, args: &[u64]) -> u64 {
    call(host, env, name, args).unwrap_or_else(|t| panic!("{name} trapped: {t}"))
}

/// `-errno` as a register value.
pub fn neg(errno: u64) -> u64 {
    errno.wrapping_neg()
}

pub const EPERM: u64 = 1;
pub const ENOENT: u64 = 2;
pub const E2BIG: u64 = 7;
pub const EACCES: u64 = 13;
pub const EFAULT: u64 = 14;
pub const EEXIST: u64 = 17;
pub const EINVAL: u64 = 22;
pub const ERANGE: u64 = 34;

pub fn def(t: MapType, k: u32, v: u32, max: u32) -> MapDef {
    MapDef::new(t, k, v, max)
}
