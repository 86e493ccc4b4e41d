//! Post-verification passes of ebpfvm. So far one: the **context access conversion**, the
//! analogue of Linux's `convert_ctx_accesses`.
//!
//! Programs are compiled against the uapi context layouts (`struct xdp_md`,
//! `struct __sk_buff`), whose packet pointers are 32-bit fields. The runtime's context
//! structures ([`ebpfvm_abi::kctx`]) begin with that layout and append the real 64-bit
//! pointers. [`convert_ctx_access`] turns every 4-byte load of a uapi pointer field
//! (`data`, `data_end`, `data_meta`) into an 8-byte load of the runtime pointer, and checks
//! every other context access against the uapi layout and Linux's access rules:
//!
//! ```text
//!   r2 = *(u32 *)(r1 + 0)     ; xdp_md.data        ──▶  r2 = *(u64 *)(r1 + 24)
//!   r3 = *(u32 *)(r1 + 4)     ; xdp_md.data_end    ──▶  r3 = *(u64 *)(r1 + 32)
//!   r4 = *(u32 *)(r1 + 12)    ; ingress_ifindex    ──▶  unchanged
//! ```
//!
//! The output has exactly as many slots as the input (one load becomes one load), so no
//! jump needs fixing. Program types whose context is used as laid out (kprobe `pt_regs`,
//! tracepoint arguments, raw memory) come back unchanged.
//!
//! # Which accesses go through the context pointer
//!
//! The verifier that will later supply these facts does not exist yet, so the pass runs a
//! small pointer-provenance analysis of its own: a forward dataflow analysis over every
//! function (the program entry, every bpf-to-bpf call target, every `ld_imm64` src 4
//! callback), iterated to a fixpoint. It follows the context pointer, with a constant
//! offset, through moves, `add`/`sub` of immediates, 8-byte spills and fills of the
//! frame's stack (through r10 or any register pointing into the frame), bpf-to-bpf calls
//! (a callee's r1–r5 are the join of what its call sites pass, so
//! `static __noinline int f(struct xdp_md *ctx)` works) and the callback context of
//! `bpf_loop`, `bpf_for_each_map_elem`, `bpf_find_vma` and `bpf_user_ringbuf_drain`.
//! Then, for every load, store and atomic operation:
//!
//! - base register the context pointer (at one constant offset) on every path: a context
//!   access, checked and possibly rewritten;
//! - the context pointer on some paths only: refused with Linux's message, `same insn
//!   cannot be used with different pointers`; at different offsets on different paths or
//!   plus a register: `variable ctx access ...`;
//! - never the context pointer: left alone.
//!
//! # What is checked
//!
//! Linux's `is_valid_access` rules for `xdp_md` (4-byte reads only) and `__sk_buff`
//! (aligned; narrow reads of ordinary fields; 4-byte writes of the fields each program
//! type may write; `cb` in any size; `tstamp` and `hwtstamp` 8 bytes; the fields a type
//! may not see, such as the packet pointers in a socket filter, refused), reported as
//! `invalid bpf_context access off=N size=N`; atomic operations on the context are
//! refused (`BPF_ATOMIC stores into R1 ctx is not allowed`); fields the runtime has no
//! object for are refused by name (`__sk_buff.sk is not supported by ebpfvm`). Before the
//! analysis the program must decode and have the kernel's structure: jumps inside their
//! function and onto an instruction, every function ending in `exit` or `goto`.
//!
//! # Limits
//!
//! The analysis is path- and context-insensitive, like a join of the kernel's states, and
//! models what the kernel models for the context pointer, no more. A value loaded from
//! anywhere but the frame's own stack is not the context pointer (Linux calls it a
//! scalar), so a context pointer kept in a map, or in a caller's stack and read by a
//! callee through a pointer argument, is not followed: loads through it are left as they
//! are and read the 0 the runtime keeps in the uapi pointer fields, so the program faults
//! cleanly instead of running wrong. Helpers are assumed not to overwrite spilled
//! pointers (Linux turns stack bytes a helper writes into scalars, so no accepted program
//! uses them as pointers afterwards). A callee that stores 8 bytes through a pointer into
//! a caller's stack makes the caller's slots from the lowest stack pointer it passed
//! upwards unknown, and a later access through such a slot is refused rather than
//! guessed. Unreachable code is not analysed and is left alone. Per-program-type rules
//! that depend on the attach type (`xdp_md.egress_ifindex` only for devmap programs) or
//! on privileges are the verifier's.
//!
//! The input is untrusted: any slice of slots gives an `Ok` or a [`RewriteError`], never a
//! panic, and the work done and memory used are bounded ([`ConvertOptions`]).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod cfg;
mod ctx;
mod provenance;

use ebpfvm_abi::ProgramType;
use ebpfvm_isa::RawInsn;

/// Why a program cannot be converted: the slot it was found at and a one-line message
/// (Linux's wording where Linux has the same error).
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("pc {pc}: {message}")]
pub struct RewriteError {
    /// Index of the offending instruction slot.
    pub pc: usize,
    /// What is wrong.
    pub message: String,
}

impl RewriteError {
    pub(crate) fn new(pc: usize, message: impl Into<String>) -> RewriteError {
        RewriteError {
            pc,
            message: message.into(),
        }
    }
}

/// Options of [`convert_ctx_access_with`].
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct ConvertOptions {
    /// The most instructions the analysis may interpret (each visit of an instruction
    /// while iterating to the fixpoint counts one) before it gives up with an error;
    /// `None` for [`ConvertOptions::default_work_limit`] of the program's size.
    pub work_limit: Option<u64>,
    /// The most bytes the analysis may keep for the abstract states at the start of basic
    /// blocks before it gives up with an error; [`ConvertOptions::DEFAULT_MEMORY_LIMIT`]
    /// by default. Compiled programs need a few hundred bytes per block.
    pub memory_limit: usize,
}

impl Default for ConvertOptions {
    fn default() -> ConvertOptions {
        ConvertOptions {
            work_limit: None,
            memory_limit: ConvertOptions::DEFAULT_MEMORY_LIMIT,
        }
    }
}

impl ConvertOptions {
    /// The default memory limit: 256 MiB.
    pub const DEFAULT_MEMORY_LIMIT: usize = 256 << 20;

    /// Default options with an explicit work limit.
    pub fn with_work_limit(limit: u64) -> ConvertOptions {
        ConvertOptions {
            work_limit: Some(limit),
            ..ConvertOptions::default()
        }
    }

    /// Default options with an explicit memory limit.
    pub fn with_memory_limit(bytes: usize) -> ConvertOptions {
        ConvertOptions {
            memory_limit: bytes,
            ..ConvertOptions::default()
        }
    }

    /// The default work limit for a program of `slots` slots: 64 visits per slot plus a
    /// million, far above what compiled programs need (a few visits per instruction).
    pub fn default_work_limit(slots: usize) -> u64 {
        (slots as u64).saturating_mul(64).saturating_add(1_000_000)
    }
}

/// The converted program.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Conversion {
    /// The program: as many slots as the input.
    pub slots: Vec<RawInsn>,
    /// Slots whose instruction was rewritten (pointer field loads), ascending.
    pub converted: Vec<usize>,
}

/// Converts the context accesses of the program `slots` of type `prog_type` (see the
/// crate documentation). Program types without a runtime context structure come back
/// unchanged.
pub fn convert_ctx_access(
    slots: &[RawInsn],
    prog_type: ProgramType,
) -> Result<Vec<RawInsn>, RewriteError> {
    convert_ctx_access_with(slots, prog_type, &ConvertOptions::default()).map(|c| c.slots)
}

/// [`convert_ctx_access`] with options, also telling which slots were rewritten.
pub fn convert_ctx_access_with(
    slots: &[RawInsn],
    prog_type: ProgramType,
    options: &ConvertOptions,
) -> Result<Conversion, RewriteError> {
    match ctx::CtxRules::for_program(prog_type) {
        Some(rules) => ctx::convert(slots, rules, options),
        None => Ok(Conversion {
            slots: slots.to_vec(),
            converted: Vec::new(),
        }),
    }
}

/// Whether programs of `prog_type` have a context the pass converts (XDP, socket filter,
/// tc classifier and action, cgroup skb).
pub fn needs_conversion(prog_type: ProgramType) -> bool {
    ctx::CtxRules::for_program(prog_type).is_some()
}
