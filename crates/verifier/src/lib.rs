//! The ebpfvm verifier: proves that an eBPF program is safe to run with real pointers and no
//! run-time checks, following the rules of the Linux verifier (privileged mode).
//!
//! ```text
//!  VerifyInput (slots, program type, maps, line info)
//!     │
//!     ▼ cfg::check_cfg          jumps in range, no unreachable code, subprograms, prune points
//!     ▼ liveness                registers read later, per slot (for pruning)
//!     ▼ explore                 symbolic execution of every path from the entry:
//!     │    transfer::{alu, mem, branch, call}   over state::{Reg, Slot, Frame, State}
//!     │    prune                                 stop paths included in a verified state
//!     ▼ cfg::check_stack_depth  512 bytes per call chain
//!  Verified { log, stats, stack_depth }   or   Rejected { pc, message, log, stats }
//! ```
//!
//! Values are tracked with `ebpfvm-domain` (tnum plus signed/unsigned 64/32-bit ranges); a
//! register is a [`state::RegType`] plus that value (scalars) or variable offset (pointers).
//! Error messages use Linux's wording where Linux has the same error, and the log has
//! Linux's shape (instruction lines, register states, the stats line).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cfg;
mod ctx_rules;
mod env;
mod explore;
mod liveness;
mod log;
mod num;
mod precision;
mod prune;
pub mod state;
mod transfer;

use std::fmt;
use std::time::Duration;

pub use ebpfvm_abi::{AttachType, MapType, ProgramType};
use ebpfvm_isa::RawInsn;

/// What the verifier knows of one map the program refers to (by index, `ld_imm64` src 5/6).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MapDesc {
    /// The map type.
    pub map_type: MapType,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Maximum number of entries.
    pub max_entries: u32,
    /// `map_flags` (`BPF_F_RDONLY_PROG` = 0x80 makes values read-only for the program).
    pub flags: u32,
    /// The inner map template of a map-in-map.
    pub inner: Option<Box<MapDesc>>,
}

/// The source position of one instruction (from `.BTF.ext` line info).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LineInfo {
    /// The slot of the first instruction of the line.
    pub insn: usize,
    /// Source file name.
    pub file: String,
    /// Line number.
    pub line: u32,
    /// The source text of the line (may be empty).
    pub text: String,
}

/// The program to verify.
pub struct VerifyInput<'a> {
    /// The instruction slots, as `ebpfvm-object` emits them: maps as `ld_imm64` src 5
    /// (index) or src 6 (index + value offset), callbacks src 4, local calls src 1.
    pub slots: &'a [RawInsn],
    /// The program type (which context, which return values, which helpers).
    pub prog_type: ProgramType,
    /// The expected attach type, for types that have one.
    pub expected_attach_type: Option<AttachType>,
    /// The maps the program refers to, by index.
    pub maps: &'a [MapDesc],
    /// Source lines, sorted by slot (may be empty).
    pub line_info: &'a [LineInfo],
    /// Whether this program type may call the helper with this id (the runtime passes
    /// `ebpfvm_helpers::allowed`).
    pub allowed_helper: &'a dyn Fn(ProgramType, i64) -> bool,
}

impl fmt::Debug for VerifyInput<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyInput")
            .field("slots", &self.slots.len())
            .field("prog_type", &self.prog_type)
            .field("expected_attach_type", &self.expected_attach_type)
            .field("maps", &self.maps)
            .field("line_info", &self.line_info.len())
            .finish()
    }
}

/// Every helper allowed: a convenience for tests and tools that have no helper table.
pub fn allow_all_helpers(_prog_type: ProgramType, _id: i64) -> bool {
    true
}

/// How to verify.
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    /// 0: only the error and the stats line; 1: the failing path with register states; 2:
    /// the state at every instruction of every path.
    pub log_level: u32,
    /// State pruning (on by default; off explores every path, for testing).
    pub prune: bool,
    /// The complexity limit: instructions processed over all paths.
    pub max_insns: u64,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            log_level: 0,
            prune: true,
            max_insns: 1_000_000,
        }
    }
}

/// Counters of one verification.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Instructions processed over all paths.
    pub processed: u64,
    /// The most states kept at one instruction.
    pub max_states_per_insn: u32,
    /// States kept over the run.
    pub total_states: u64,
    /// The most states kept at once.
    pub peak_states: u64,
    /// Read marks (not tracked: always 0).
    pub mark_read: u64,
    /// Wall-clock time.
    pub time: Duration,
}

impl Stats {
    /// Linux's stats line.
    pub fn line(&self, limit: u64) -> String {
        format!(
            "processed {} insns (limit {}) max_states_per_insn {} total_states {} peak_states {} mark_read {}",
            self.processed,
            limit,
            self.max_states_per_insn,
            self.total_states,
            self.peak_states,
            self.mark_read
        )
    }
}

/// An accepted program.
#[derive(Clone, Debug)]
pub struct Verified {
    /// The log at the requested level, ending with the stats line.
    pub log: String,
    /// Counters.
    pub stats: Stats,
    /// Stack bytes used by each subprogram, in entry order (the entry function first).
    pub stack_depth: Vec<u32>,
}

/// A rejected program.
#[derive(Clone, Debug)]
pub struct Rejected {
    /// The slot of the offending instruction.
    pub pc: usize,
    /// The one-line reason, in Linux's wording where Linux has one.
    pub message: String,
    /// The log at the requested level, ending with the stats line.
    pub log: String,
    /// Counters.
    pub stats: Stats,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pc {}: {}", self.pc, self.message)
    }
}

impl std::error::Error for Rejected {}

/// Verifies a program.
pub fn verify(input: &VerifyInput, opts: &VerifyOptions) -> Result<Verified, Rejected> {
    explore::run(input, opts)
}
