//! Runtime faults.

/// A fault that stops a program run. eBPF-defined behaviour (division by zero gives 0, shifts
/// are masked) is never a trap; a trap means the run could not continue safely.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Trap {
    /// The run executed more instructions than its budget allowed.
    #[error("instruction budget of {budget} exhausted")]
    BudgetExhausted {
        /// The budget.
        budget: u64,
    },
    /// A local call would exceed the maximum number of frames.
    #[error("call depth exceeds {max} frames")]
    CallDepthExceeded {
        /// The frame limit.
        max: usize,
    },
    /// A load, store or atomic touched memory outside every region the run was given.
    #[error("{} of {size} bytes at {addr:#x} is outside every memory region", if *.write { "write" } else { "read" })]
    MemoryViolation {
        /// Address of the access.
        addr: u64,
        /// Size of the access.
        size: usize,
        /// Whether the access writes.
        write: bool,
    },
    /// An atomic operation on an address not aligned to its size.
    #[error("misaligned atomic access of {size} bytes at {addr:#x}")]
    MisalignedAtomic {
        /// Address of the access.
        addr: u64,
        /// Size of the access.
        size: usize,
    },
    /// A call to a helper id the host does not provide.
    #[error("unknown helper {id}")]
    UnknownHelper {
        /// The helper id.
        id: i64,
    },
    /// A helper reported a fault.
    #[error("helper {id} failed")]
    HelperFault {
        /// The helper id.
        id: i64,
    },
    /// A helper was passed an argument it cannot use: a value that is not a map, a
    /// context pointer that is not the run's, a callback that is not a function.
    #[error("helper {id}: argument {arg} is not {expected}")]
    BadHelperArg {
        /// The helper id.
        id: i64,
        /// The argument number (1–5).
        arg: u8,
        /// What the argument should have been.
        expected: &'static str,
    },
    /// A helper was given a callback that is not a function of the program.
    #[error("callback {func:#x} is not a function of the program")]
    BadCallback {
        /// The value passed as the callback.
        func: u64,
    },
    /// An instruction the engine cannot execute (a kfunc, a legacy packet load without a
    /// packet, an unresolved map reference).
    #[error("unsupported instruction")]
    Unsupported,
    /// Control left the program: a jump or fall-through past the last instruction.
    #[error("control flow leaves the program")]
    OutOfProgram,
}
