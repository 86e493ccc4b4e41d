//! The opcode tables: every numeric code of the instruction set, defined once.
//!
//! Decode, encode, both assemblers and the disassembler read their numbers and spellings from
//! here. Each family table maps a typed variant to its code, its conformance-suite (uBPF)
//! mnemonic and, where the LLVM dialect writes an operator, that operator.

/// Instruction classes (RFC 9669 §3.3).
pub mod class {
    /// Non-standard loads (`ld_imm64`, legacy packet loads).
    pub const LD: u8 = 0x00;
    /// Loads into a register.
    pub const LDX: u8 = 0x01;
    /// Stores of an immediate.
    pub const ST: u8 = 0x02;
    /// Stores of a register; atomics.
    pub const STX: u8 = 0x03;
    /// 32-bit arithmetic.
    pub const ALU: u8 = 0x04;
    /// 64-bit jumps, call, exit.
    pub const JMP: u8 = 0x05;
    /// 32-bit jumps.
    pub const JMP32: u8 = 0x06;
    /// 64-bit arithmetic.
    pub const ALU64: u8 = 0x07;
}

/// Source bit of ALU and JMP opcodes.
pub mod source {
    /// Immediate operand.
    pub const K: u8 = 0x00;
    /// Register operand.
    pub const X: u8 = 0x08;
}

/// Load/store modes (RFC 9669 §5).
pub mod mode {
    /// 64-bit immediate.
    pub const IMM: u8 = 0x00;
    /// Legacy absolute packet load.
    pub const ABS: u8 = 0x20;
    /// Legacy indirect packet load.
    pub const IND: u8 = 0x40;
    /// Regular memory access.
    pub const MEM: u8 = 0x60;
    /// Sign-extending load.
    pub const MEMSX: u8 = 0x80;
    /// Atomic operation.
    pub const ATOMIC: u8 = 0xc0;
}

/// Well-known whole opcodes.
pub mod op {
    /// `ld_imm64` (`lddw`).
    pub const LD_IMM64: u8 = 0x18;
    /// Helper, local or kfunc call.
    pub const CALL: u8 = 0x85;
    /// Call through a register (not RFC 9669; the conformance suite's `callx`).
    pub const CALLX: u8 = 0x8d;
    /// Return.
    pub const EXIT: u8 = 0x95;
    /// Unconditional jump, 16-bit offset.
    pub const JA: u8 = 0x05;
    /// Unconditional jump, 32-bit offset in imm (`gotol`).
    pub const JA32: u8 = 0x06;
    /// Linux `may_goto` (JMP class code 0xe, `BPF_JCOND`).
    pub const MAY_GOTO: u8 = 0xe5;
}

macro_rules! family {
    (
        $(#[$meta:meta])*
        pub enum $name:ident : $code_ty:ty {
            $( $(#[$vmeta:meta])* $var:ident = $code:expr, $ubpf:expr, $llvm:expr; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        pub enum $name {
            $( $(#[$vmeta])* $var, )*
        }

        impl $name {
            /// Every variant, in table order.
            pub const ALL: &'static [$name] = &[$($name::$var),*];

            /// The numeric code of this variant.
            pub const fn code(self) -> $code_ty {
                match self { $( $name::$var => $code, )* }
            }

            /// The variant with this numeric code, if any.
            pub fn from_code(code: $code_ty) -> Option<$name> {
                $( if code == $code { return Some($name::$var); } )*
                None
            }

            /// The mnemonic in the conformance suite's (uBPF) assembly dialect.
            pub const fn ubpf_name(self) -> &'static str {
                match self { $( $name::$var => $ubpf, )* }
            }

            /// The spelling in the LLVM/kernel dialect.
            pub const fn llvm_name(self) -> &'static str {
                match self { $( $name::$var => $llvm, )* }
            }

            /// The variant whose conformance-suite mnemonic is `name`.
            pub fn from_ubpf_name(name: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| v.ubpf_name() == name)
            }

            /// The variant whose LLVM-dialect spelling is `name`.
            pub fn from_llvm_name(name: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| v.llvm_name() == name)
            }
        }
    };
}

family! {
    /// Binary ALU operations. The code is `(op nibble << 4) | offset`, since SDIV/SMOD share
    /// the DIV/MOD opcode and are told apart by `offset = 1`.
    pub enum AluOp: u16 {
        /// `dst += src`
        Add = 0x000, "add", "+=";
        /// `dst -= src`
        Sub = 0x100, "sub", "-=";
        /// `dst *= src`
        Mul = 0x200, "mul", "*=";
        /// unsigned `dst /= src` (0 on division by zero)
        Div = 0x300, "div", "/=";
        /// signed `dst s/= src`
        Sdiv = 0x301, "sdiv", "s/=";
        /// `dst |= src`
        Or = 0x400, "or", "|=";
        /// `dst &= src`
        And = 0x500, "and", "&=";
        /// `dst <<= src`
        Lsh = 0x600, "lsh", "<<=";
        /// logical `dst >>= src`
        Rsh = 0x700, "rsh", ">>=";
        /// unsigned `dst %= src` (dst kept on modulo by zero)
        Mod = 0x900, "mod", "%=";
        /// signed `dst s%= src`
        Smod = 0x901, "smod", "s%=";
        /// `dst ^= src`
        Xor = 0xa00, "xor", "^=";
        /// `dst = src`
        Mov = 0xb00, "mov", "=";
        /// arithmetic `dst s>>= src`
        Arsh = 0xc00, "arsh", "s>>=";
    }
}

impl AluOp {
    /// The opcode's upper nibble (`BPF_OP`), already shifted into place.
    pub const fn op_bits(self) -> u8 {
        (self.code() >> 4) as u8 & 0xf0
    }

    /// The `offset` field this operation requires.
    pub const fn offset(self) -> i16 {
        (self.code() & 0xf) as i16
    }

    /// Whether the operation belongs to the divmul groups.
    pub const fn is_divmul(self) -> bool {
        matches!(
            self,
            AluOp::Mul | AluOp::Div | AluOp::Sdiv | AluOp::Mod | AluOp::Smod
        )
    }
}

family! {
    /// Conditional jump conditions (JMP and JMP32 classes). The code is the opcode's upper
    /// nibble, already shifted into place.
    pub enum JmpCond: u8 {
        /// `==`
        Eq = 0x10, "jeq", "==";
        /// unsigned `>`
        Gt = 0x20, "jgt", ">";
        /// unsigned `>=`
        Ge = 0x30, "jge", ">=";
        /// `(dst & src) != 0`
        Set = 0x40, "jset", "&";
        /// `!=`
        Ne = 0x50, "jne", "!=";
        /// signed `>`
        Sgt = 0x60, "jsgt", "s>";
        /// signed `>=`
        Sge = 0x70, "jsge", "s>=";
        /// unsigned `<`
        Lt = 0xa0, "jlt", "<";
        /// unsigned `<=`
        Le = 0xb0, "jle", "<=";
        /// signed `<`
        Slt = 0xc0, "jslt", "s<";
        /// signed `<=`
        Sle = 0xd0, "jsle", "s<=";
    }
}

impl JmpCond {
    /// Evaluates the condition on two operands already narrowed to the comparison width
    /// (for JMP32 pass the low 32 bits zero-extended and `wide = false`).
    pub const fn eval(self, a: u64, b: u64, wide: bool) -> bool {
        let (sa, sb) = if wide {
            (a as i64, b as i64)
        } else {
            (a as u32 as i32 as i64, b as u32 as i32 as i64)
        };
        match self {
            JmpCond::Eq => a == b,
            JmpCond::Gt => a > b,
            JmpCond::Ge => a >= b,
            JmpCond::Set => a & b != 0,
            JmpCond::Ne => a != b,
            JmpCond::Sgt => sa > sb,
            JmpCond::Sge => sa >= sb,
            JmpCond::Lt => a < b,
            JmpCond::Le => a <= b,
            JmpCond::Slt => sa < sb,
            JmpCond::Sle => sa <= sb,
        }
    }
}

family! {
    /// Memory access sizes. The code is the opcode's size bits, already shifted into place.
    pub enum Size: u8 {
        /// 4 bytes
        W = 0x00, "w", "u32";
        /// 2 bytes
        H = 0x08, "h", "u16";
        /// 1 byte
        B = 0x10, "b", "u8";
        /// 8 bytes
        DW = 0x18, "dw", "u64";
    }
}

impl Size {
    /// The access size in bytes.
    pub const fn bytes(self) -> usize {
        match self {
            Size::B => 1,
            Size::H => 2,
            Size::W => 4,
            Size::DW => 8,
        }
    }

    /// The access size in bits.
    pub const fn bits(self) -> u32 {
        self.bytes() as u32 * 8
    }

    /// The size of `n` bytes, if it is 1, 2, 4 or 8.
    pub const fn from_bytes(n: usize) -> Option<Size> {
        match n {
            1 => Some(Size::B),
            2 => Some(Size::H),
            4 => Some(Size::W),
            8 => Some(Size::DW),
            _ => None,
        }
    }

    /// The signed C type name the LLVM dialect uses for sign-extending loads.
    pub const fn llvm_signed_name(self) -> &'static str {
        match self {
            Size::B => "s8",
            Size::H => "s16",
            Size::W => "s32",
            Size::DW => "s64",
        }
    }
}

family! {
    /// Atomic read-modify-write operations (STX ATOMIC). The code is the `imm` value without
    /// the FETCH bit; XCHG and CMPXCHG always carry FETCH.
    pub enum AtomicOp: i32 {
        /// `*p += src`
        Add = 0x00, "add", "+=";
        /// `*p |= src`
        Or = 0x40, "or", "|=";
        /// `*p &= src`
        And = 0x50, "and", "&=";
        /// `*p ^= src`
        Xor = 0xa0, "xor", "^=";
        /// swap (`imm = 0xe1`)
        Xchg = 0xe0, "xchg", "xchg";
        /// compare with r0 and exchange (`imm = 0xf1`)
        Cmpxchg = 0xf0, "cmpxchg", "cmpxchg";
        /// Linux `BPF_LOAD_ACQ` (`imm = 0x100`): `dst = load_acquire(src + off)`
        LoadAcquire = 0x100, "load_acquire", "load_acquire";
        /// Linux `BPF_STORE_REL` (`imm = 0x110`): `store_release(dst + off, src)`
        StoreRelease = 0x110, "store_release", "store_release";
    }
}

/// The FETCH flag of atomic operations.
pub const ATOMIC_FETCH: i32 = 0x01;

impl AtomicOp {
    /// Whether the FETCH bit is mandatory (XCHG, CMPXCHG).
    pub const fn always_fetches(self) -> bool {
        matches!(self, AtomicOp::Xchg | AtomicOp::Cmpxchg)
    }

    /// Whether the FETCH bit is allowed at all.
    pub const fn may_fetch(self) -> bool {
        matches!(
            self,
            AtomicOp::Add | AtomicOp::Or | AtomicOp::And | AtomicOp::Xor
        ) || self.always_fetches()
    }

    /// Whether this is an acquire load or release store (the Linux extension, any size).
    pub const fn is_acquire_release(self) -> bool {
        matches!(self, AtomicOp::LoadAcquire | AtomicOp::StoreRelease)
    }
}

family! {
    /// Byte-order operations (END, code 0xd). The code is the opcode.
    pub enum ByteOrder: u8 {
        /// `le16/32/64`: to little-endian (ALU, source bit clear)
        ToLe = 0xd4, "le", "le";
        /// `be16/32/64`: to big-endian (ALU, source bit set)
        ToBe = 0xdc, "be", "be";
        /// `bswap16/32/64`: unconditional swap (ALU64)
        Swap = 0xd7, "bswap", "bswap";
    }
}

/// Conformance groups of RFC 9669 §2.4, plus the suite's `callx`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Group {
    /// Default group.
    Base32,
    /// 64-bit ALU, jumps, DW memory, `lddw`.
    Base64,
    /// 32-bit atomics.
    Atomic32,
    /// 64-bit atomics.
    Atomic64,
    /// 32-bit mul/div/mod.
    Divmul32,
    /// 64-bit mul/div/mod.
    Divmul64,
    /// Legacy packet loads.
    Packet,
    /// Call through a register (not RFC 9669).
    Callx,
    /// A Linux extension outside RFC 9669 (`may_goto`, acquire/release, `addr_space_cast`).
    LinuxExt,
}
