//! Errors of loading and running.

use ebpfvm_abi::ProgramType;

/// Why an object could not be loaded into the runtime.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// A map could not be created.
    #[error("map '{name}': {error}")]
    Map {
        /// The map's name.
        name: String,
        /// Why.
        #[source]
        error: ebpfvm_maps::MapError,
    },
    /// A map's type is one ebpfvm does not know.
    #[error("map '{name}': map type {map_type} is not supported")]
    MapType {
        /// The map's name.
        name: String,
        /// The uapi number.
        map_type: u32,
    },
    /// A map's initial contents could not be stored.
    #[error("map '{name}': initial value for slot {slot}: {message}")]
    MapInit {
        /// The map's name.
        name: String,
        /// The key.
        slot: u32,
        /// Why.
        message: String,
    },
    /// A program refers to something that does not exist or cannot be resolved.
    #[error("program '{prog}': insn {insn}: {message}")]
    Relocation {
        /// The program.
        prog: String,
        /// The slot.
        insn: usize,
        /// Why.
        message: String,
    },
    /// A program calls a helper it may not call (or one ebpfvm does not implement).
    #[error("program '{prog}': insn {insn}: unknown func {helper}: {reason}")]
    Helper {
        /// The program.
        prog: String,
        /// The slot.
        insn: usize,
        /// Name and id, as Linux prints it (`bpf_ktime_get_ns#5`).
        helper: String,
        /// Why: the program type may not call it, or ebpfvm does not provide it.
        reason: String,
    },
    /// The verifier rejected the program (run `ebpfvm verify` for the log).
    #[error("program '{prog}': verifier: pc {pc}: {message}")]
    Verify {
        /// The program.
        prog: String,
        /// The instruction.
        pc: usize,
        /// Why, in Linux's wording where Linux has one.
        message: String,
    },
    /// The context-access conversion rejected the program.
    #[error("program '{prog}': {error}")]
    Rewrite {
        /// The program.
        prog: String,
        /// Why.
        #[source]
        error: ebpfvm_rewrite::RewriteError,
    },
    /// CO-RE relocations could not be applied.
    #[error("program '{prog}': CO-RE: {message}")]
    Core {
        /// The program.
        prog: String,
        /// Why.
        message: String,
    },
    /// The interpreter could not prepare the program.
    #[error("program '{prog}': {error}")]
    Prepare {
        /// The program.
        prog: String,
        /// Why.
        #[source]
        error: ebpfvm_interp::LoadError,
    },
}

/// Why a test run could not be done (the program's own faults are [`RunError::Fault`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// No program of that name.
    #[error("no program named '{name}' (programs: {available})")]
    NoSuchProgram {
        /// The name asked for.
        name: String,
        /// The programs there are.
        available: String,
    },
    /// The object has several programs and none was named.
    #[error("the object has {count} programs ({available}): choose one with --prog")]
    AmbiguousProgram {
        /// How many.
        count: usize,
        /// Their names.
        available: String,
    },
    /// The program could not be loaded.
    #[error("{0}")]
    Rejected(String),
    /// The program type cannot be test-run.
    #[error("{ptype} programs cannot be test-run")]
    NotRunnable {
        /// The type's name.
        ptype: &'static str,
    },
    /// The input does not suit the program type (Linux returns EINVAL).
    #[error("{0}")]
    BadInput(String),
    /// The program faulted.
    #[error("program '{prog}' faulted at {fault}")]
    Fault {
        /// The program.
        prog: String,
        /// The fault.
        fault: ebpfvm_interp::ExecError,
    },
}

pub(crate) fn type_name(t: ProgramType) -> &'static str {
    t.name()
}
