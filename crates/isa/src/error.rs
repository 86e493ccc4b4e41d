//! Decode errors.

use core::fmt;

/// An instruction slot that does not decode, with the slot index (`pc`) it was found at.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("pc {pc}: {kind}")]
pub struct DecodeError {
    /// Index of the offending slot.
    pub pc: usize,
    /// What is wrong.
    pub kind: DecodeErrorKind,
}

/// Instruction fields, for error messages.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Field {
    /// Destination register nibble.
    Dst,
    /// Source register nibble.
    Src,
    /// 16-bit offset.
    Off,
    /// 32-bit immediate.
    Imm,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Dst => "dst",
            Field::Src => "src",
            Field::Off => "offset",
            Field::Imm => "imm",
        })
    }
}

/// What is wrong with an instruction slot.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The byte length is not a multiple of 8.
    #[error("program length {len} bytes is not a multiple of 8")]
    TruncatedBytes {
        /// Length in bytes.
        len: usize,
    },
    /// The opcode byte names no instruction.
    #[error("unknown opcode {opcode:#04x}")]
    UnknownOpcode {
        /// The opcode byte.
        opcode: u8,
    },
    /// A register field is above 10.
    #[error("invalid register r{reg} in {field} field of opcode {opcode:#04x}")]
    BadRegister {
        /// The opcode byte.
        opcode: u8,
        /// Which field.
        field: Field,
        /// The register number found.
        reg: u8,
    },
    /// A field the instruction does not use is not zero (RFC 9669 §3.1).
    #[error("reserved {field} field of opcode {opcode:#04x} is {value}, must be 0")]
    ReservedField {
        /// The opcode byte.
        opcode: u8,
        /// Which field.
        field: Field,
        /// Its value.
        value: i64,
    },
    /// A field holds a value the instruction does not define.
    #[error("invalid {field} {value} for opcode {opcode:#04x}")]
    InvalidField {
        /// The opcode byte.
        opcode: u8,
        /// Which field.
        field: Field,
        /// Its value.
        value: i64,
    },
    /// `ld_imm64` is the last slot, so its second half is missing.
    #[error("ld_imm64 (opcode 0x18) without its second slot")]
    MissingLdImm64Slot,
    /// The second slot of `ld_imm64` has non-zero opcode, registers or offset.
    #[error("second slot of ld_imm64 must have zero opcode, registers and offset")]
    BadLdImm64Slot,
}
