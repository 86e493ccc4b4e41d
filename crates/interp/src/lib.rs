//! The reference interpreter (API draft; implementation in progress).
#![deny(missing_docs)]

use ebpfvm_abi::{HelperHost, Trap};
use ebpfvm_isa::{DecodeError, RawInsn};

/// Why a program cannot be prepared for execution.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The bytes do not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The program has no instructions.
    #[error("program is empty")]
    Empty,
}

/// A decoded program, ready to run.
#[derive(Debug, Clone)]
pub struct Program {
    _slots: Vec<RawInsn>,
}

impl Program {
    /// Prepares a program from its instruction slots.
    pub fn from_slots(_slots: &[RawInsn]) -> Result<Program, LoadError> {
        todo!()
    }
    /// Prepares a program from raw little-endian bytes.
    pub fn from_bytes(_bytes: &[u8]) -> Result<Program, LoadError> {
        todo!()
    }
}

/// Memory a run may access besides its stack.
#[derive(Debug)]
pub struct Region<'a> {
    _p: std::marker::PhantomData<&'a mut [u8]>,
}

impl<'a> Region<'a> {
    /// A region the program may read and write.
    pub fn writable(_buf: &'a mut [u8]) -> Region<'a> {
        todo!()
    }
    /// A region the program may only read.
    pub fn read_only(_buf: &'a [u8]) -> Region<'a> {
        todo!()
    }
    /// The region's start address, as the program sees it.
    pub fn addr(&self) -> u64 {
        todo!()
    }
}

/// A fault with the pc of the instruction that caused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("pc {pc}: {trap}")]
pub struct ExecError {
    /// Slot index of the faulting instruction.
    pub pc: usize,
    /// What happened.
    pub trap: Trap,
}

/// An interpreter instance: stack memory and an instruction budget, reused across runs.
#[derive(Debug)]
pub struct Vm {}

impl Default for Vm {
    fn default() -> Self {
        Vm::new()
    }
}

impl Vm {
    /// A VM with the default budget.
    pub fn new() -> Vm {
        todo!()
    }
    /// Sets the instruction budget of each run.
    pub fn set_budget(&mut self, _budget: u64) {
        todo!()
    }
    /// Instructions executed by the last run.
    pub fn executed(&self) -> u64 {
        todo!()
    }
    /// Runs `program` in checked mode with `args` in r1.. (at most 5) and returns r0.
    pub fn run(
        &mut self,
        _program: &Program,
        _args: &[u64],
        _regions: &[Region<'_>],
        _host: &mut dyn HelperHost,
    ) -> Result<u64, ExecError> {
        todo!()
    }
}
