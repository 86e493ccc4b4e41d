//! The decoded, typed instruction.

use crate::opcodes::{AluOp, AtomicOp, ByteOrder, JmpCond, Size};
use crate::reg::Reg;

/// Operand width of ALU and conditional jump instructions.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Width {
    /// ALU / JMP32 class: operate on the low 32 bits (ALU results are zero-extended).
    W32,
    /// ALU64 / JMP class.
    W64,
}

impl Width {
    /// Whether this is the 64-bit width.
    pub const fn is_64(self) -> bool {
        matches!(self, Width::W64)
    }
}

/// The second operand of ALU, jump and store instructions.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Source {
    /// A register (`X` form).
    Reg(Reg),
    /// A 32-bit immediate (`K` form), sign-extended where the operation is 64-bit.
    Imm(i32),
}

/// The payload of a `ld_imm64` (`lddw`, opcode 0x18), chosen by its `src` field (RFC 9669 §5.4).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Imm64 {
    /// src 0: a plain 64-bit constant.
    Value(u64),
    /// src 1 (`BPF_PSEUDO_MAP_FD`): the map with this fd (or, before loading, an unresolved
    /// reference).
    MapFd(i32),
    /// src 2 (`BPF_PSEUDO_MAP_VALUE`): address of the map's value plus `off`.
    MapValue {
        /// Map fd.
        fd: i32,
        /// Byte offset into the value.
        off: u32,
    },
    /// src 3 (`BPF_PSEUDO_BTF_ID`): a kernel variable by BTF id; `module` is the BTF object fd.
    BtfId {
        /// BTF type id.
        id: i32,
        /// BTF object (module) fd, 0 for vmlinux.
        module: i32,
    },
    /// src 4 (`BPF_PSEUDO_FUNC`): address of the subprogram `imm` slots after this one.
    Func(i32),
    /// src 5 (`BPF_PSEUDO_MAP_IDX`): the `idx`-th map of the program.
    MapIdx(i32),
    /// src 6 (`BPF_PSEUDO_MAP_IDX_VALUE`): address of that map's value plus `off`.
    MapIdxValue {
        /// Map index.
        idx: i32,
        /// Byte offset into the value.
        off: u32,
    },
}

impl Imm64 {
    /// The `src` field that encodes this kind.
    pub const fn src(self) -> u8 {
        match self {
            Imm64::Value(_) => 0,
            Imm64::MapFd(_) => 1,
            Imm64::MapValue { .. } => 2,
            Imm64::BtfId { .. } => 3,
            Imm64::Func(_) => 4,
            Imm64::MapIdx(_) => 5,
            Imm64::MapIdxValue { .. } => 6,
        }
    }

    /// The `imm` of the first slot and of the second slot.
    pub const fn words(self) -> (i32, i32) {
        match self {
            Imm64::Value(v) => (v as u32 as i32, (v >> 32) as u32 as i32),
            Imm64::MapFd(x) | Imm64::Func(x) | Imm64::MapIdx(x) => (x, 0),
            Imm64::MapValue { fd, off } => (fd, off as i32),
            Imm64::BtfId { id, module } => (id, module),
            Imm64::MapIdxValue { idx, off } => (idx, off as i32),
        }
    }

    /// Builds the payload from `src` and the two `imm` words, or `None` for an unknown `src`.
    pub const fn from_parts(src: u8, imm: i32, next_imm: i32) -> Option<Imm64> {
        Some(match src {
            0 => Imm64::Value((imm as u32 as u64) | ((next_imm as u32 as u64) << 32)),
            1 => Imm64::MapFd(imm),
            2 => Imm64::MapValue {
                fd: imm,
                off: next_imm as u32,
            },
            3 => Imm64::BtfId {
                id: imm,
                module: next_imm,
            },
            4 => Imm64::Func(imm),
            5 => Imm64::MapIdx(imm),
            6 => Imm64::MapIdxValue {
                idx: imm,
                off: next_imm as u32,
            },
            _ => return None,
        })
    }
}

/// The target of a `call` (opcode 0x85), chosen by its `src` field.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Call {
    /// src 0: a helper function by static id.
    Helper(i32),
    /// src 1 (`BPF_PSEUDO_CALL`): a program-local function `imm` slots after the next one.
    Local(i32),
    /// src 2 (`BPF_PSEUDO_KFUNC_CALL`): a kernel function by BTF id; `module` (the offset field)
    /// selects the BTF object, 0 for vmlinux.
    Kfunc {
        /// BTF id of the function.
        btf_id: i32,
        /// Index of the BTF object in the program's fd array, 0 for vmlinux.
        module: i16,
    },
}

/// One decoded instruction. `ld_imm64` occupies two slots; every other instruction one.
///
/// Jump and call offsets are in slots relative to the slot after the instruction, as encoded.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Insn {
    /// Binary arithmetic: `dst = dst op src`.
    Alu {
        /// ALU (32-bit) or ALU64.
        width: Width,
        /// The operation.
        op: AluOp,
        /// Destination and first operand.
        dst: Reg,
        /// Second operand.
        src: Source,
    },
    /// `dst = -dst`.
    Neg {
        /// ALU or ALU64.
        width: Width,
        /// The register negated in place.
        dst: Reg,
    },
    /// `dst = sign-extend(low bits of src)` (MOVSX, offset 8/16/32).
    MovSx {
        /// ALU (bits 8/16) or ALU64 (bits 8/16/32).
        width: Width,
        /// Destination.
        dst: Reg,
        /// Source.
        src: Reg,
        /// Number of low source bits that are sign-extended.
        bits: u8,
    },
    /// Linux arena `addr_space_cast` (ALU64 MOV X with offset 1); `imm` holds the address
    /// spaces (`dst_as << 16 | src_as`), 0x1 or 0x10000 (Linux casts only between 0 and 1).
    AddrSpaceCast {
        /// Destination.
        dst: Reg,
        /// Source.
        src: Reg,
        /// Packed address spaces.
        imm: i32,
    },
    /// Byte swap of the low `bits` (16/32/64) of `dst`; bits above are cleared.
    Endian {
        /// To-LE, to-BE or unconditional swap.
        order: ByteOrder,
        /// 16, 32 or 64.
        bits: u8,
        /// The register converted in place.
        dst: Reg,
    },
    /// Unconditional jump. `long` is the JMP32-class `gotol` form with a 32-bit offset in imm.
    Ja {
        /// Target minus the next slot.
        off: i32,
        /// JMP32 `ja32`/`gotol` encoding.
        long: bool,
    },
    /// Conditional jump.
    Jmp {
        /// JMP32 or JMP.
        width: Width,
        /// The comparison.
        cond: JmpCond,
        /// First operand.
        dst: Reg,
        /// Second operand.
        src: Source,
        /// Target minus the next slot.
        off: i16,
    },
    /// Linux `may_goto`: a jump the runtime may take to bound loops.
    MayGoto {
        /// Target minus the next slot.
        off: i16,
    },
    /// Call a helper, a local function or a kfunc.
    Call(Call),
    /// Call the helper whose id is in `dst` (opcode 0x8d; the conformance suite's `callx`).
    CallX {
        /// Register holding the helper id.
        dst: Reg,
    },
    /// Return from the current function.
    Exit,
    /// 64-bit immediate load (two slots).
    LdImm64 {
        /// Destination.
        dst: Reg,
        /// Payload.
        imm: Imm64,
    },
    /// Legacy packet load `r0 = ntoh(*(size *)(skb->data + imm))`.
    LdAbs {
        /// Access size (B, H or W).
        size: Size,
        /// Packet offset.
        imm: i32,
    },
    /// Legacy packet load `r0 = ntoh(*(size *)(skb->data + src + imm))`.
    LdInd {
        /// Access size (B, H or W).
        size: Size,
        /// Register holding the packet offset.
        src: Reg,
        /// Added offset.
        imm: i32,
    },
    /// `dst = *(size *)(src + off)`, zero- or sign-extended.
    Load {
        /// Access size.
        size: Size,
        /// MEMSX (sign-extending) instead of MEM.
        signed: bool,
        /// Destination.
        dst: Reg,
        /// Base address register.
        src: Reg,
        /// Displacement.
        off: i16,
    },
    /// `*(size *)(dst + off) = src` (ST with an immediate or STX with a register).
    Store {
        /// Access size.
        size: Size,
        /// Base address register.
        dst: Reg,
        /// Displacement.
        off: i16,
        /// Value stored.
        src: Source,
    },
    /// Atomic operation on `*(size *)(dst + off)` with operand `src`.
    Atomic {
        /// W or DW for read-modify-write; any size for acquire/release.
        size: Size,
        /// The operation.
        op: AtomicOp,
        /// FETCH: the old value is written back to `src` (to r0 for CMPXCHG).
        fetch: bool,
        /// Base address register (for `LoadAcquire`: the destination register).
        dst: Reg,
        /// Operand (for `LoadAcquire`: the base address register).
        src: Reg,
        /// Displacement.
        off: i16,
    },
}

impl Insn {
    /// Number of 8-byte slots the instruction occupies (2 for `ld_imm64`).
    pub const fn slots(&self) -> usize {
        match self {
            Insn::LdImm64 { .. } => 2,
            _ => 1,
        }
    }

    /// For a jump (not call), its offset relative to the next slot.
    pub const fn jump_offset(&self) -> Option<i32> {
        match *self {
            Insn::Ja { off, .. } => Some(off),
            Insn::Jmp { off, .. } | Insn::MayGoto { off } => Some(off as i32),
            _ => None,
        }
    }

    /// Whether control never falls through to the next instruction.
    pub const fn is_terminator(&self) -> bool {
        matches!(self, Insn::Ja { .. } | Insn::Exit)
    }
}

/// Why an [`Insn`] has no encoding: its fields hold a combination that [`crate::decode`] never
/// produces, so [`Insn::encode`] could only write something else.
///
/// [`Insn::validate`] returns it; every message is one line.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidInsn {
    /// A short `goto` (`Ja { long: false }`) whose offset does not fit the 16-bit field.
    #[error("goto offset {off} does not fit in 16 bits (gotol takes 32)")]
    JaOffset {
        /// The offset.
        off: i32,
    },
    /// A sign-extending move from a width other than 8/16 (ALU) or 8/16/32 (ALU64).
    #[error("sign-extending move from {bits} bits is not defined for the {}-bit ALU", width_bits(*.width))]
    MovSxBits {
        /// The operation width.
        width: Width,
        /// The source bits.
        bits: u8,
    },
    /// An `addr_space_cast` other than Linux's two: between address spaces 0 and 1.
    #[error("addr_space_cast imm {imm:#x} is not defined (0x1 or 0x10000: between address spaces 0 and 1)")]
    AddrSpaceCastImm {
        /// The packed address spaces (`dst_as << 16 | src_as`).
        imm: i32,
    },
    /// A byte swap of a width other than 16, 32 or 64.
    #[error("byte swap of {bits} bits is not defined (16, 32 or 64)")]
    EndianBits {
        /// The width of the swap.
        bits: u8,
    },
    /// A legacy packet load (`LdAbs`, `LdInd`) of 64 bits.
    #[error("legacy packet load of {} bits is not defined (8, 16 or 32)", .size.bits())]
    PacketLoadSize {
        /// The access size.
        size: Size,
    },
    /// A sign-extending load of 64 bits.
    #[error("sign-extending load of 64 bits is not defined (8, 16 or 32)")]
    SignedLoadSize,
    /// A read-modify-write atomic of 8 or 16 bits (only acquire/release take every size).
    #[error("atomic {} of {} bits is not defined (32 or 64)", .op.ubpf_name(), .size.bits())]
    AtomicSize {
        /// The operation.
        op: AtomicOp,
        /// The access size.
        size: Size,
    },
    /// FETCH missing on `Xchg`/`Cmpxchg`, or set on `LoadAcquire`/`StoreRelease`.
    #[error("atomic {} {} fetch is not defined", .op.ubpf_name(), if *.fetch { "with" } else { "without" })]
    AtomicFetch {
        /// The operation.
        op: AtomicOp,
        /// The FETCH flag as given.
        fetch: bool,
    },
}

const fn width_bits(width: Width) -> u32 {
    if width.is_64() {
        64
    } else {
        32
    }
}

impl Insn {
    /// Checks that the instruction has an encoding: `Ok` exactly for the instructions
    /// [`crate::decode`] can produce, so that `decode(encode(i)) == i` holds for them and for
    /// no other.
    ///
    /// Registers are always in range ([`Reg`] guarantees it) and most fields take any value;
    /// what can be out of range is a short `goto` offset, the `bits` of `MovSx` and `Endian`,
    /// the address spaces of `AddrSpaceCast`,
    /// the size of legacy packet loads, sign-extending loads and atomics, and the FETCH flag of
    /// atomics.
    pub fn validate(&self) -> Result<(), InvalidInsn> {
        match *self {
            Insn::Ja { off, long: false } if i16::try_from(off).is_err() => {
                Err(InvalidInsn::JaOffset { off })
            }
            Insn::MovSx { width, bits, .. } => match (width, bits) {
                (_, 8 | 16) | (Width::W64, 32) => Ok(()),
                _ => Err(InvalidInsn::MovSxBits { width, bits }),
            },
            Insn::AddrSpaceCast { imm, .. } if imm != 1 && imm != 1 << 16 => {
                Err(InvalidInsn::AddrSpaceCastImm { imm })
            }
            Insn::Endian { bits, .. } if !matches!(bits, 16 | 32 | 64) => {
                Err(InvalidInsn::EndianBits { bits })
            }
            Insn::LdAbs { size: Size::DW, .. } | Insn::LdInd { size: Size::DW, .. } => {
                Err(InvalidInsn::PacketLoadSize { size: Size::DW })
            }
            Insn::Load {
                size: Size::DW,
                signed: true,
                ..
            } => Err(InvalidInsn::SignedLoadSize),
            Insn::Atomic {
                size, op, fetch, ..
            } => {
                let fetch_ok = if op.always_fetches() {
                    fetch
                } else {
                    !(fetch && op.is_acquire_release())
                };
                if !fetch_ok {
                    Err(InvalidInsn::AtomicFetch { op, fetch })
                } else if !op.is_acquire_release() && !matches!(size, Size::W | Size::DW) {
                    Err(InvalidInsn::AtomicSize { op, size })
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }
}
