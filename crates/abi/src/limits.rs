//! Limits every stage enforces (Linux values where Linux has one).

/// Bytes of stack per frame (`MAX_BPF_STACK` in Linux `include/linux/filter.h`).
pub const STACK_SIZE: usize = 512;

/// Maximum depth of bpf-to-bpf calls, counting the entry function (`MAX_CALL_FRAMES`).
pub const MAX_CALL_FRAMES: usize = 8;

/// Maximum number of instruction slots in one program (`BPF_COMPLEXITY_LIMIT_INSNS`, the
/// privileged program size limit).
pub const MAX_PROGRAM_SLOTS: usize = 1_000_000;

/// Default instruction budget of one run: a run that executes more instructions stops with
/// [`crate::Trap::BudgetExhausted`].
pub const DEFAULT_INSN_BUDGET: u64 = 1 << 32;

/// Maximum number of tail calls in one run (`MAX_TAIL_CALL_CNT`).
pub const MAX_TAIL_CALLS: u32 = 33;
