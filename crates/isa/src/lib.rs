//! The eBPF instruction set (RFC 9669 plus the Linux v4 additions).
//!
//! ```text
//!  bytes ──slots_from_bytes──▶ [RawInsn] ──decode──▶ [Insn] ──disasm──▶ text
//!                              ▲                       │  ▲
//!                              └────────encode─────────┘  └──asm── text
//! ```
//!
//! [`opcodes`] is the single table of numeric codes and spellings; [`decode`], [`encode`],
//! the assemblers and the disassembler all read it. Decoding is strict: a field the
//! instruction does not use must be zero, and errors name the slot (`pc`).
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

pub mod asm;
pub mod decode;
pub mod disasm;
pub mod encode;
mod error;
pub mod features;
pub mod insn;
pub mod opcodes;
pub mod raw;
mod reg;

pub use decode::{decode_all, decode_at, Decoder};
pub use encode::encode_all;
pub use encode::Encoded;
pub use error::{DecodeError, DecodeErrorKind, Field};
pub use insn::{Call, Imm64, Insn, InvalidInsn, Source, Width};
pub use opcodes::{AluOp, AtomicOp, ByteOrder, Group, JmpCond, Size};
pub use raw::{slots_from_bytes, slots_to_bytes, RawInsn, INSN_SIZE};
pub use reg::Reg;
