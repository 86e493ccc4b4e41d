//! The abstract machine state: registers, stack slots, frames.
//!
//! A register is a [`RegType`] (what kind of value it holds) plus, for pointers, a fixed byte
//! offset `off` and a variable offset `val` (a [`Scalar`]); for scalars `val` is the value
//! itself. This is Linux's `bpf_reg_state` reduced to what the verifier core tracks.
//!
//! The stack of each frame is a vector of 8-byte slots growing downwards from the frame
//! pointer: slot `i` covers bytes `fp-8(i+1) .. fp-8i`. Each byte is [`ByteKind::Invalid`]
//! (never written), [`ByteKind::Misc`] (some scalar bytes), [`ByteKind::Zero`] or
//! [`ByteKind::Spill`] (part of a spilled register, kept whole in [`Slot::spill`]).

use crate::num::{self, Scalar};

/// Bytes of stack per frame.
pub const STACK_SIZE: i32 = 512;

/// What a register holds.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum RegType {
    /// Never written (or clobbered by a call).
    NotInit,
    /// A number.
    Scalar,
    /// The program's context.
    Ctx,
    /// A pointer into the stack of frame `frame` (0 = the entry function).
    Stack {
        /// Frame index.
        frame: u8,
    },
    /// A map, from `ld_imm64` (`CONST_PTR_TO_MAP`).
    MapPtr {
        /// Index into [`crate::VerifyInput::maps`].
        map: u32,
    },
    /// A map value.
    MapValue {
        /// Map index.
        map: u32,
    },
    /// A map pointer or null: a lookup in a map of maps (`map` is the inner template).
    MapPtrOrNull {
        /// Map reference.
        map: u32,
    },
    /// A map value or null (`id` names the null check).
    MapValueOrNull {
        /// Map index.
        map: u32,
    },
    /// A map key passed to a `for_each_map_elem` callback.
    MapKey {
        /// Map index.
        map: u32,
    },
    /// Start of packet metadata.
    PacketMeta,
    /// A pointer into the packet.
    Packet,
    /// One past the end of the packet.
    PacketEnd,
    /// Memory of `size` bytes (ring buffer record), possibly read-only.
    Mem {
        /// Size in bytes.
        size: u32,
        /// Writes refused.
        rdonly: bool,
    },
    /// Memory of `size` bytes, or null.
    MemOrNull {
        /// Size in bytes.
        size: u32,
    },
    /// A subprogram, for callbacks (`PTR_TO_FUNC`).
    Func {
        /// Entry slot of the subprogram.
        entry: u32,
    },
}

impl RegType {
    /// Whether the register holds a pointer.
    pub fn is_pointer(self) -> bool {
        !matches!(self, RegType::NotInit | RegType::Scalar)
    }

    /// Whether this is one of the packet pointer kinds that carry a range.
    pub fn is_pkt(self) -> bool {
        matches!(self, RegType::Packet | RegType::PacketMeta)
    }

    /// Whether this is an "or null" kind.
    pub fn is_or_null(self) -> bool {
        matches!(
            self,
            RegType::MapValueOrNull { .. }
                | RegType::MemOrNull { .. }
                | RegType::MapPtrOrNull { .. }
        )
    }

    /// Linux's name of the type, as in `R1 type=map_value expected=fp`.
    pub fn name(self) -> &'static str {
        match self {
            RegType::NotInit => "?",
            RegType::Scalar => "scalar",
            RegType::Ctx => "ctx",
            RegType::Stack { .. } => "fp",
            RegType::MapPtr { .. } => "map_ptr",
            RegType::MapValue { .. } => "map_value",
            RegType::MapValueOrNull { .. } => "map_value_or_null",
            RegType::MapPtrOrNull { .. } => "map_value_or_null",
            RegType::MapKey { .. } => "map_key",
            RegType::PacketMeta => "pkt_meta",
            RegType::Packet => "pkt",
            RegType::PacketEnd => "pkt_end",
            RegType::Mem { rdonly: false, .. } => "ringbuf_mem",
            RegType::Mem { rdonly: true, .. } => "rdonly_mem",
            RegType::MemOrNull { .. } => "ringbuf_mem_or_null",
            RegType::Func { .. } => "func",
        }
    }
}

/// One register.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Reg {
    /// What it holds.
    pub ty: RegType,
    /// Fixed byte offset of a pointer.
    pub off: i32,
    /// The value of a scalar, or the variable offset of a pointer.
    pub val: Scalar,
    /// Identity: scalars copied from one another, pointers from one lookup/packet load
    /// (0 = none).
    pub id: u32,
    /// Packet pointers: bytes known to be accessible from `off` (Linux's `r`).
    pub range: u32,
    /// Reference held (ring buffer records): released by submit/discard.
    pub ref_id: u32,
}

impl Reg {
    /// A register never written.
    pub fn not_init() -> Reg {
        Reg {
            ty: RegType::NotInit,
            off: 0,
            val: num::unknown(),
            id: 0,
            range: 0,
            ref_id: 0,
        }
    }

    /// A scalar of value `val`.
    pub fn scalar(val: Scalar) -> Reg {
        Reg {
            ty: RegType::Scalar,
            ..Reg::not_init()
        }
        .with_val(val)
    }

    /// An unknown scalar.
    pub fn unknown() -> Reg {
        Reg::scalar(num::unknown())
    }

    /// A known constant.
    pub fn constant(v: u64) -> Reg {
        Reg::scalar(num::constant(v))
    }

    /// A pointer of type `ty` with offset 0.
    pub fn pointer(ty: RegType) -> Reg {
        Reg {
            ty,
            val: num::constant(0),
            ..Reg::not_init()
        }
    }

    fn with_val(mut self, val: Scalar) -> Reg {
        self.val = val;
        self
    }

    /// The constant value of a scalar.
    pub fn const_value(&self) -> Option<u64> {
        if self.ty == RegType::Scalar {
            num::as_const(&self.val)
        } else {
            None
        }
    }

    /// Whether this is a scalar known to be 0.
    pub fn is_zero(&self) -> bool {
        self.const_value() == Some(0)
    }

    /// Whether the register has been written.
    pub fn is_init(&self) -> bool {
        self.ty != RegType::NotInit
    }
}

/// What one stack byte holds.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ByteKind {
    /// Never written.
    Invalid,
    /// Scalar bytes of unknown value.
    Misc,
    /// Known zero.
    Zero,
    /// Part of the spilled register of its slot.
    Spill,
}

impl ByteKind {
    /// Linux's one-letter rendering.
    pub fn letter(self) -> char {
        match self {
            ByteKind::Invalid => '?',
            ByteKind::Misc => 'm',
            ByteKind::Zero => '0',
            ByteKind::Spill => 'r',
        }
    }
}

/// One 8-byte stack slot.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Slot {
    /// Byte kinds, index 0 = the lowest address of the slot.
    pub bytes: [ByteKind; 8],
    /// The spilled register, when every byte is [`ByteKind::Spill`].
    pub spill: Option<Box<Reg>>,
}

impl Slot {
    /// A never-written slot.
    pub fn invalid() -> Slot {
        Slot {
            bytes: [ByteKind::Invalid; 8],
            spill: None,
        }
    }

    /// Whether every byte is invalid.
    pub fn is_invalid(&self) -> bool {
        self.bytes.iter().all(|b| *b == ByteKind::Invalid)
    }
}

/// One call frame.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Frame {
    /// r0–r10.
    pub regs: [Reg; 11],
    /// Stack slots, index 0 = `fp-8`.
    pub stack: Vec<Slot>,
    /// The slot of the `call` that created this frame (0 for the entry frame).
    pub callsite: usize,
    /// Entry slot of the function this frame runs.
    pub entry: usize,
    /// For callback frames: the arguments it was called with, so that its exit can check
    /// r0 and call it again.
    pub callback: Option<Box<[Reg; 5]>>,
}

impl Frame {
    /// A frame with every register uninitialised except r10.
    pub fn new(frame_no: u8, callsite: usize, entry: usize) -> Frame {
        let mut regs: [Reg; 11] = std::array::from_fn(|_| Reg::not_init());
        regs[10] = Reg::pointer(RegType::Stack { frame: frame_no });
        Frame {
            regs,
            stack: Vec::new(),
            callsite,
            entry,
            callback: None,
        }
    }

    /// The slot covering byte offset `off` (negative, from the frame pointer), growing the
    /// stack as needed.
    pub fn slot_mut(&mut self, off: i32) -> &mut Slot {
        let idx = slot_index(off);
        if self.stack.len() <= idx {
            self.stack.resize(idx + 1, Slot::invalid());
        }
        &mut self.stack[idx]
    }

    /// The slot covering `off`, if allocated.
    pub fn slot(&self, off: i32) -> Option<&Slot> {
        self.stack.get(slot_index(off))
    }

    /// The kind of the byte at `off`.
    pub fn byte(&self, off: i32) -> ByteKind {
        self.slot(off)
            .map_or(ByteKind::Invalid, |s| s.bytes[byte_in_slot(off)])
    }
}

/// Index of the slot holding byte `off` (`-512 <= off < 0`).
pub fn slot_index(off: i32) -> usize {
    debug_assert!((-STACK_SIZE..0).contains(&off));
    ((-off - 1) / 8) as usize
}

/// Position of byte `off` inside its slot (0 = lowest address).
pub fn byte_in_slot(off: i32) -> usize {
    off.rem_euclid(8) as usize
}

/// The whole state of one path.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct State {
    /// Call frames, the entry function first.
    pub frames: Vec<Frame>,
    /// References held (ring buffer records): (ref id, slot of the acquiring call).
    pub refs: Vec<(u32, usize)>,
    /// The last id handed out.
    pub id_gen: u32,
}

impl State {
    /// A fresh id.
    pub fn new_id(&mut self) -> u32 {
        self.id_gen += 1;
        self.id_gen
    }

    /// The innermost frame.
    pub fn cur(&self) -> &Frame {
        self.frames.last().expect("a state always has a frame")
    }

    /// The innermost frame, mutably.
    pub fn cur_mut(&mut self) -> &mut Frame {
        self.frames.last_mut().expect("a state always has a frame")
    }

    /// Register `r` of the innermost frame.
    pub fn reg(&self, r: usize) -> &Reg {
        &self.cur().regs[r]
    }

    /// Register `r` of the innermost frame, mutably.
    pub fn reg_mut(&mut self, r: usize) -> &mut Reg {
        &mut self.cur_mut().regs[r]
    }

    /// Index of the innermost frame.
    pub fn depth(&self) -> usize {
        self.frames.len() - 1
    }

    /// Applies `f` to every register and spilled register of every frame.
    pub fn for_each_reg(&mut self, mut f: impl FnMut(&mut Reg)) {
        for frame in &mut self.frames {
            for r in frame.regs.iter_mut() {
                f(r);
            }
            for slot in frame.stack.iter_mut() {
                if let Some(r) = slot.spill.as_deref_mut() {
                    f(r);
                }
            }
        }
    }

    /// Calls `f` on every register and spilled register of every frame.
    pub fn regs(&self) -> impl Iterator<Item = &Reg> {
        self.frames.iter().flat_map(|fr| {
            fr.regs
                .iter()
                .chain(fr.stack.iter().filter_map(|s| s.spill.as_deref()))
        })
    }
}
