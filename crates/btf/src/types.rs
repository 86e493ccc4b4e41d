//! The type graph: [`TypeId`], [`Type`] and the records types are made of.
//!
//! Every name is resolved from the string section when the blob is parsed, so a [`Type`] is
//! plain owned data. Names are `""` for anonymous types.

use core::fmt;

/// A BTF type id: an index into [`Btf`](crate::Btf)'s type list. Id 0 is `void`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct TypeId(pub u32);

impl TypeId {
    /// The `void` type (id 0).
    pub const VOID: TypeId = TypeId(0);

    /// Whether this is `void` (id 0).
    pub fn is_void(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for TypeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The kind of a type, as numbered in the BTF wire format (`BTF_KIND_*` of Linux uapi
/// `linux/btf.h`). `Display` prints the uapi spelling without the prefix (`STRUCT`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[repr(u8)]
pub enum Kind {
    /// `void` (kind 0; never stored in a blob, only id 0).
    Void = 0,
    /// An integer (`BTF_KIND_INT`).
    Int = 1,
    /// A pointer.
    Ptr = 2,
    /// An array.
    Array = 3,
    /// A struct.
    Struct = 4,
    /// A union.
    Union = 5,
    /// An enum with 32-bit values.
    Enum = 6,
    /// A forward declaration of a struct or union.
    Fwd = 7,
    /// A typedef.
    Typedef = 8,
    /// `volatile`.
    Volatile = 9,
    /// `const`.
    Const = 10,
    /// `restrict`.
    Restrict = 11,
    /// A function (name and linkage; its type is a [`Kind::FuncProto`]).
    Func = 12,
    /// A function prototype.
    FuncProto = 13,
    /// A variable.
    Var = 14,
    /// A data section (`.data`, `.bss`, `.rodata`, `.maps`, `.kconfig`, ...).
    DataSec = 15,
    /// A floating-point type.
    Float = 16,
    /// A declaration tag (`__attribute__((btf_decl_tag("...")))`).
    DeclTag = 17,
    /// A type tag (`__attribute__((btf_type_tag("...")))`).
    TypeTag = 18,
    /// An enum with 64-bit values.
    Enum64 = 19,
}

impl Kind {
    /// The kind with wire number `n`, or `None` for an unknown number (0 is not a stored
    /// kind either, but maps to [`Kind::Void`]).
    pub fn from_u8(n: u8) -> Option<Kind> {
        Some(match n {
            0 => Kind::Void,
            1 => Kind::Int,
            2 => Kind::Ptr,
            3 => Kind::Array,
            4 => Kind::Struct,
            5 => Kind::Union,
            6 => Kind::Enum,
            7 => Kind::Fwd,
            8 => Kind::Typedef,
            9 => Kind::Volatile,
            10 => Kind::Const,
            11 => Kind::Restrict,
            12 => Kind::Func,
            13 => Kind::FuncProto,
            14 => Kind::Var,
            15 => Kind::DataSec,
            16 => Kind::Float,
            17 => Kind::DeclTag,
            18 => Kind::TypeTag,
            19 => Kind::Enum64,
            _ => return None,
        })
    }

    /// The uapi spelling without `BTF_KIND_` (`"FUNC_PROTO"`); `"VOID"` for void.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Void => "VOID",
            Kind::Int => "INT",
            Kind::Ptr => "PTR",
            Kind::Array => "ARRAY",
            Kind::Struct => "STRUCT",
            Kind::Union => "UNION",
            Kind::Enum => "ENUM",
            Kind::Fwd => "FWD",
            Kind::Typedef => "TYPEDEF",
            Kind::Volatile => "VOLATILE",
            Kind::Const => "CONST",
            Kind::Restrict => "RESTRICT",
            Kind::Func => "FUNC",
            Kind::FuncProto => "FUNC_PROTO",
            Kind::Var => "VAR",
            Kind::DataSec => "DATASEC",
            Kind::Float => "FLOAT",
            Kind::DeclTag => "DECL_TAG",
            Kind::TypeTag => "TYPE_TAG",
            Kind::Enum64 => "ENUM64",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an integer's bits are interpreted (`BTF_INT_ENCODING`; at most one flag is set).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum IntEncoding {
    /// No flag: an unsigned integer.
    Unsigned,
    /// `BTF_INT_SIGNED`.
    Signed,
    /// `BTF_INT_CHAR` (used for `char`).
    Char,
    /// `BTF_INT_BOOL` (`_Bool`).
    Bool,
}

/// The linkage of a [`Type::Func`] (`enum btf_func_linkage`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum FuncLinkage {
    /// `static` (0).
    Static,
    /// A global definition (1).
    Global,
    /// An extern declaration (2).
    Extern,
}

/// The linkage of a [`Type::Var`] (`BTF_VAR_*`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum VarLinkage {
    /// `static` (0).
    Static,
    /// A global with storage in this object (1).
    GlobalAllocated,
    /// An extern declaration (2).
    GlobalExtern,
}

/// The body of a struct or union.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Composite {
    /// The tag name; `""` for an anonymous struct/union.
    pub name: String,
    /// The size in bytes.
    pub size: u32,
    /// The members in declaration order.
    pub members: Vec<Member>,
}

/// A member of a struct or union.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Member {
    /// The member name; `""` for an anonymous struct/union member.
    pub name: String,
    /// The member's type.
    pub ty: TypeId,
    /// Offset from the start of the struct, in bits.
    pub bit_offset: u32,
    /// The bitfield width in bits when the struct's kind flag is set; 0 for a plain member
    /// (and for every member of a struct without the kind flag, whose bitfields are INT
    /// types with their own bit count: see [`Btf::member_bitfield`](crate::Btf::member_bitfield)).
    pub bitfield_bits: u8,
}

/// One variable of a [`Type::DataSec`] (`struct btf_var_secinfo`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct VarSecInfo {
    /// The [`Type::Var`] (or, for extern functions in `.ksyms`, [`Type::Func`]).
    pub ty: TypeId,
    /// Offset in the section, in bytes (0 in objects before libbpf fixes it up).
    pub offset: u32,
    /// Size in bytes.
    pub size: u32,
}

/// A parameter of a [`Type::FuncProto`]. A variadic prototype ends with a parameter with
/// an empty name and type [`TypeId::VOID`] (`...`).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Param {
    /// The parameter name; often `""`.
    pub name: String,
    /// The parameter type; `void` only for the `...` marker.
    pub ty: TypeId,
}

/// One BTF type.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Type {
    /// `void`: only type id 0.
    Void,
    /// An integer type. `bit_offset` and `bits` are the INT's own encoding (a bitfield in old
    /// BTF is an INT with fewer bits than `size * 8`).
    Int {
        /// The name (`"unsigned int"`).
        name: String,
        /// Size in bytes (1, 2, 4, 8 or 16).
        size: u32,
        /// Signed, char, bool or plain unsigned.
        encoding: IntEncoding,
        /// Offset of the value's bits inside the storage.
        bit_offset: u8,
        /// Number of value bits.
        bits: u8,
    },
    /// A pointer.
    Ptr {
        /// The pointed-to type (`void` for `void *`).
        target: TypeId,
    },
    /// An array.
    Array {
        /// The element type.
        elem: TypeId,
        /// The index type (an integer type, usually `__ARRAY_SIZE_TYPE__`).
        index: TypeId,
        /// The number of elements.
        nelems: u32,
    },
    /// A struct.
    Struct(Composite),
    /// A union.
    Union(Composite),
    /// An enum with 32-bit values.
    Enum {
        /// The tag name; `""` if anonymous.
        name: String,
        /// Size in bytes.
        size: u32,
        /// Whether the values are signed (the kind flag).
        signed: bool,
        /// Enumerators in declaration order, with their values (sign-extended if `signed`,
        /// zero-extended otherwise).
        values: Vec<(String, i64)>,
    },
    /// An enum with 64-bit values.
    Enum64 {
        /// The tag name; `""` if anonymous.
        name: String,
        /// Size in bytes.
        size: u32,
        /// Whether the values are signed (the kind flag).
        signed: bool,
        /// Enumerators in declaration order, with their values as signed or unsigned 64-bit
        /// numbers according to `signed`.
        values: Vec<(String, i128)>,
    },
    /// A forward declaration (`struct foo;`).
    Fwd {
        /// The tag name.
        name: String,
        /// `union foo;` rather than `struct foo;` (the kind flag).
        union: bool,
    },
    /// A typedef.
    Typedef {
        /// The typedef name.
        name: String,
        /// The aliased type.
        target: TypeId,
    },
    /// `volatile T`.
    Volatile {
        /// `T`.
        target: TypeId,
    },
    /// `const T`.
    Const {
        /// `T`.
        target: TypeId,
    },
    /// `T restrict`.
    Restrict {
        /// `T`.
        target: TypeId,
    },
    /// A function.
    Func {
        /// The function name.
        name: String,
        /// Its [`Type::FuncProto`].
        proto: TypeId,
        /// Its linkage.
        linkage: FuncLinkage,
    },
    /// A function prototype.
    FuncProto {
        /// The return type (`void` for none).
        ret: TypeId,
        /// The parameters (a trailing `""`/`void` parameter means `...`).
        params: Vec<Param>,
    },
    /// A variable.
    Var {
        /// The variable name.
        name: String,
        /// Its type.
        ty: TypeId,
        /// Its linkage.
        linkage: VarLinkage,
    },
    /// A data section and the variables in it.
    DataSec {
        /// The ELF section name (`.data`, `.maps`, ...).
        name: String,
        /// Size in bytes (0 in objects before libbpf fixes it up).
        size: u32,
        /// The variables.
        vars: Vec<VarSecInfo>,
    },
    /// A floating-point type.
    Float {
        /// The name (`"double"`).
        name: String,
        /// Size in bytes (2, 4, 8, 12 or 16).
        size: u32,
    },
    /// A declaration tag on a type, one of its members or parameters.
    DeclTag {
        /// The tag string.
        name: String,
        /// The tagged struct, union, variable, function or typedef.
        target: TypeId,
        /// -1 for the declaration itself, else the index of the tagged member or parameter.
        component: i32,
    },
    /// A type tag (`T __attribute__((btf_type_tag(name)))`).
    TypeTag {
        /// The tag string.
        name: String,
        /// The tagged type.
        target: TypeId,
    },
}

impl Type {
    /// The kind of this type.
    pub fn kind(&self) -> Kind {
        match self {
            Type::Void => Kind::Void,
            Type::Int { .. } => Kind::Int,
            Type::Ptr { .. } => Kind::Ptr,
            Type::Array { .. } => Kind::Array,
            Type::Struct(_) => Kind::Struct,
            Type::Union(_) => Kind::Union,
            Type::Enum { .. } => Kind::Enum,
            Type::Enum64 { .. } => Kind::Enum64,
            Type::Fwd { .. } => Kind::Fwd,
            Type::Typedef { .. } => Kind::Typedef,
            Type::Volatile { .. } => Kind::Volatile,
            Type::Const { .. } => Kind::Const,
            Type::Restrict { .. } => Kind::Restrict,
            Type::Func { .. } => Kind::Func,
            Type::FuncProto { .. } => Kind::FuncProto,
            Type::Var { .. } => Kind::Var,
            Type::DataSec { .. } => Kind::DataSec,
            Type::Float { .. } => Kind::Float,
            Type::DeclTag { .. } => Kind::DeclTag,
            Type::TypeTag { .. } => Kind::TypeTag,
        }
    }

    /// The type's name; `""` for anonymous types and kinds without a name.
    pub fn name(&self) -> &str {
        match self {
            Type::Int { name, .. }
            | Type::Enum { name, .. }
            | Type::Enum64 { name, .. }
            | Type::Fwd { name, .. }
            | Type::Typedef { name, .. }
            | Type::Func { name, .. }
            | Type::Var { name, .. }
            | Type::DataSec { name, .. }
            | Type::Float { name, .. }
            | Type::DeclTag { name, .. }
            | Type::TypeTag { name, .. } => name,
            Type::Struct(c) | Type::Union(c) => &c.name,
            Type::Void
            | Type::Ptr { .. }
            | Type::Array { .. }
            | Type::Volatile { .. }
            | Type::Const { .. }
            | Type::Restrict { .. }
            | Type::FuncProto { .. } => "",
        }
    }

    /// The struct or union body, if this is one.
    pub fn as_composite(&self) -> Option<&Composite> {
        match self {
            Type::Struct(c) | Type::Union(c) => Some(c),
            _ => None,
        }
    }

    /// The single type this one refers to, for the kinds that refer to exactly one
    /// (pointer, array element, typedef, modifiers, type/decl tags, function prototype of a
    /// function, variable type).
    pub fn target(&self) -> Option<TypeId> {
        match self {
            Type::Ptr { target }
            | Type::Typedef { target, .. }
            | Type::Volatile { target }
            | Type::Const { target }
            | Type::Restrict { target }
            | Type::DeclTag { target, .. }
            | Type::TypeTag { target, .. } => Some(*target),
            Type::Array { elem, .. } => Some(*elem),
            Type::Func { proto, .. } => Some(*proto),
            Type::Var { ty, .. } => Some(*ty),
            _ => None,
        }
    }

    /// Calls `f` with every type id this type refers to, with a label naming the reference
    /// (`"member 3"`, `"param 0"`, `"return type"`, ...) for error messages.
    pub(crate) fn for_each_ref(&self, mut f: impl FnMut(RefSlot, TypeId)) {
        match self {
            Type::Void
            | Type::Int { .. }
            | Type::Enum { .. }
            | Type::Enum64 { .. }
            | Type::Fwd { .. }
            | Type::Float { .. } => {}
            Type::Ptr { target }
            | Type::Typedef { target, .. }
            | Type::Volatile { target }
            | Type::Const { target }
            | Type::Restrict { target }
            | Type::DeclTag { target, .. }
            | Type::TypeTag { target, .. } => f(RefSlot::Target, *target),
            Type::Array { elem, index, .. } => {
                f(RefSlot::Elem, *elem);
                f(RefSlot::Index, *index);
            }
            Type::Struct(c) | Type::Union(c) => {
                for (i, m) in c.members.iter().enumerate() {
                    f(RefSlot::Member(i), m.ty);
                }
            }
            Type::Func { proto, .. } => f(RefSlot::Proto, *proto),
            Type::FuncProto { ret, params } => {
                f(RefSlot::Return, *ret);
                for (i, p) in params.iter().enumerate() {
                    f(RefSlot::Param(i), p.ty);
                }
            }
            Type::Var { ty, .. } => f(RefSlot::Target, *ty),
            Type::DataSec { vars, .. } => {
                for (i, v) in vars.iter().enumerate() {
                    f(RefSlot::SecVar(i), v.ty);
                }
            }
        }
    }
}

/// Which reference of a type an error is about.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum RefSlot {
    Target,
    Elem,
    Index,
    Member(usize),
    Proto,
    Return,
    Param(usize),
    SecVar(usize),
}

impl fmt::Display for RefSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefSlot::Target => f.write_str("target"),
            RefSlot::Elem => f.write_str("element type"),
            RefSlot::Index => f.write_str("index type"),
            RefSlot::Member(i) => write!(f, "member {i}"),
            RefSlot::Proto => f.write_str("prototype"),
            RefSlot::Return => f.write_str("return type"),
            RefSlot::Param(i) => write!(f, "param {i}"),
            RefSlot::SecVar(i) => write!(f, "variable {i}"),
        }
    }
}
