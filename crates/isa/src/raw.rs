//! The 8-byte wire format of one instruction slot.

use core::fmt;

/// Size of one instruction slot in bytes.
pub const INSN_SIZE: usize = 8;

/// One 64-bit instruction slot as it is stored (RFC 9669 §3.1), fields unvalidated.
///
/// `dst` and `src` are the low and high nibble of byte 1 (little-endian layout).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RawInsn {
    /// Byte 0: class and class-specific bits.
    pub opcode: u8,
    /// Low nibble of byte 1.
    pub dst: u8,
    /// High nibble of byte 1.
    pub src: u8,
    /// Bytes 2–3, signed.
    pub off: i16,
    /// Bytes 4–7, signed.
    pub imm: i32,
}

impl RawInsn {
    /// Builds a slot from its fields. `dst` and `src` are masked to 4 bits.
    pub const fn new(opcode: u8, dst: u8, src: u8, off: i16, imm: i32) -> RawInsn {
        RawInsn {
            opcode,
            dst: dst & 0xf,
            src: src & 0xf,
            off,
            imm,
        }
    }

    /// Reads a slot from its little-endian bytes.
    pub const fn from_bytes(b: [u8; 8]) -> RawInsn {
        RawInsn {
            opcode: b[0],
            dst: b[1] & 0xf,
            src: b[1] >> 4,
            off: i16::from_le_bytes([b[2], b[3]]),
            imm: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }

    /// The slot's little-endian bytes.
    pub const fn to_bytes(self) -> [u8; 8] {
        let off = self.off.to_le_bytes();
        let imm = self.imm.to_le_bytes();
        [
            self.opcode,
            (self.dst & 0xf) | (self.src << 4),
            off[0],
            off[1],
            imm[0],
            imm[1],
            imm[2],
            imm[3],
        ]
    }

    /// The slot as a little-endian 64-bit word (the conformance suite's `-- raw` form).
    pub const fn to_word(self) -> u64 {
        u64::from_le_bytes(self.to_bytes())
    }

    /// Reads a slot from a little-endian 64-bit word.
    pub const fn from_word(w: u64) -> RawInsn {
        RawInsn::from_bytes(w.to_le_bytes())
    }

    /// The instruction class (low 3 bits of the opcode).
    pub const fn class(self) -> u8 {
        self.opcode & 0x07
    }
}

impl fmt::Debug for RawInsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RawInsn {{ opcode: {:#04x}, dst: {}, src: {}, off: {}, imm: {} }}",
            self.opcode, self.dst, self.src, self.off, self.imm
        )
    }
}

/// Splits a byte buffer into instruction slots. Fails if the length is not a multiple of 8.
pub fn slots_from_bytes(bytes: &[u8]) -> Result<alloc::vec::Vec<RawInsn>, crate::DecodeError> {
    if bytes.len() % INSN_SIZE != 0 {
        return Err(crate::DecodeError {
            pc: bytes.len() / INSN_SIZE,
            kind: crate::DecodeErrorKind::TruncatedBytes { len: bytes.len() },
        });
    }
    Ok(bytes
        .chunks_exact(INSN_SIZE)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            RawInsn::from_bytes(b)
        })
        .collect())
}

/// Writes instruction slots as bytes.
pub fn slots_to_bytes(slots: &[RawInsn]) -> alloc::vec::Vec<u8> {
    slots.iter().flat_map(|s| s.to_bytes()).collect()
}
