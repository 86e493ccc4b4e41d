//! Every BTF kind, parsed from hand-built blobs, and the query API on them.

use ebpfvm_btf::{
    Btf, BtfError, Composite, FuncLinkage, IntEncoding, Kind, Member, Param, Type, TypeId,
    VarLinkage, VarSecInfo,
};

use crate::blob::*;

fn parse(b: &Blob) -> Btf {
    Btf::parse(&b.bytes()).unwrap_or_else(|e| panic!("parse failed: {e}"))
}

fn t(btf: &Btf, id: u32) -> &Type {
    btf.type_by_id(TypeId(id)).expect("type exists")
}

#[test]
fn empty_blob_has_only_void() {
    let btf = parse(&Blob::new());
    assert_eq!(btf.len(), 1);
    assert!(btf.is_empty());
    assert_eq!(btf.type_by_id(TypeId(0)), Some(&Type::Void));
    assert_eq!(btf.type_by_id(TypeId(1)), None);
    assert_eq!(btf.types().count(), 0);
    assert_eq!(btf.to_c(), "");
}

#[test]
fn int_encodings_and_bits() {
    let mut b = Blob::new();
    b.int("int", 4, 1, 32);
    b.int("char", 1, 2, 8);
    b.int("_Bool", 1, 4, 8);
    b.int("unsigned long", 8, 0, 64);
    b.ty("bf", INT, 0, false, 4, &[(3 << 16) | 5]);
    b.int("__int128", 16, 1, 128);
    let btf = parse(&b);
    assert_eq!(btf.len(), 7);
    assert_eq!(
        t(&btf, 1),
        &Type::Int {
            name: "int".into(),
            size: 4,
            encoding: IntEncoding::Signed,
            bit_offset: 0,
            bits: 32
        }
    );
    assert!(matches!(
        t(&btf, 2),
        Type::Int {
            encoding: IntEncoding::Char,
            ..
        }
    ));
    assert!(matches!(
        t(&btf, 3),
        Type::Int {
            encoding: IntEncoding::Bool,
            ..
        }
    ));
    assert!(matches!(
        t(&btf, 4),
        Type::Int {
            encoding: IntEncoding::Unsigned,
            size: 8,
            bits: 64,
            ..
        }
    ));
    assert!(matches!(
        t(&btf, 5),
        Type::Int {
            bit_offset: 3,
            bits: 5,
            ..
        }
    ));
    assert_eq!(btf.size_of(TypeId(6)), Ok(16));
    assert_eq!(t(&btf, 1).kind(), Kind::Int);
}

#[test]
fn pointers_arrays_and_modifiers() {
    let mut b = Blob::new();
    let int = b.int("int", 4, 1, 32); // 1
    let c = b.ty("", CONST, 0, false, int, &[]); // 2
    let v = b.ty("", VOLATILE, 0, false, c, &[]); // 3
    let p = b.ptr(v); // 4
    let r = b.ty("", RESTRICT, 0, false, p, &[]); // 5
    let td = b.typedef("myint", v); // 6
    let arr = b.array(td, int, 10); // 7
    let arr2 = b.array(arr, int, 3); // 8
    let tt = b.ty("user", TYPE_TAG, 0, false, int, &[]); // 9
    let vp = b.ptr(0); // 10
    let btf = parse(&b);
    assert_eq!(
        t(&btf, c),
        &Type::Const {
            target: TypeId(int)
        }
    );
    assert_eq!(t(&btf, v), &Type::Volatile { target: TypeId(c) });
    assert_eq!(t(&btf, p), &Type::Ptr { target: TypeId(v) });
    assert_eq!(t(&btf, r), &Type::Restrict { target: TypeId(p) });
    assert_eq!(
        t(&btf, td),
        &Type::Typedef {
            name: "myint".into(),
            target: TypeId(v)
        }
    );
    assert_eq!(
        t(&btf, arr),
        &Type::Array {
            elem: TypeId(td),
            index: TypeId(int),
            nelems: 10
        }
    );
    assert_eq!(
        t(&btf, tt),
        &Type::TypeTag {
            name: "user".into(),
            target: TypeId(int)
        }
    );
    assert_eq!(
        t(&btf, vp),
        &Type::Ptr {
            target: TypeId::VOID
        }
    );
    // Queries through modifiers.
    assert_eq!(btf.skip_mods(TypeId(td)), TypeId(int));
    assert_eq!(btf.skip_mods(TypeId(tt)), TypeId(int));
    assert_eq!(btf.skip_mods(TypeId(r)), TypeId(p));
    assert_eq!(btf.skip_mods(TypeId(int)), TypeId(int));
    assert_eq!(btf.size_of(TypeId(td)), Ok(4));
    assert_eq!(btf.size_of(TypeId(r)), Ok(8));
    assert_eq!(btf.size_of(TypeId(arr)), Ok(40));
    assert_eq!(btf.size_of(TypeId(arr2)), Ok(120));
    assert_eq!(btf.name_of(TypeId(td)), "myint");
    assert_eq!(btf.name_of(TypeId(p)), "");
    assert_eq!(btf.name_of(TypeId(999)), "");
    assert_eq!(btf.find_by_name("myint"), vec![TypeId(td)]);
    assert_eq!(
        btf.size_of(TypeId(0)),
        Err(BtfError::NoSize {
            id: 0,
            kind: Kind::Void
        })
    );
    assert_eq!(
        btf.size_of(TypeId(99)),
        Err(BtfError::NoSuchType { id: 99, last: 10 })
    );
}

#[test]
fn array_size_overflow_is_an_error() {
    let mut b = Blob::new();
    let int = b.int("long", 8, 1, 64);
    let a = b.array(int, int, u32::MAX);
    let a2 = b.array(a, int, u32::MAX);
    let btf = parse(&b);
    assert_eq!(btf.size_of(TypeId(a)), Ok(8 * u64::from(u32::MAX)));
    assert_eq!(
        btf.size_of(TypeId(a2)),
        Err(BtfError::SizeOverflow { id: a2 })
    );
}

#[test]
fn struct_union_and_bitfields() {
    let mut b = Blob::new();
    let int = b.int("int", 4, 1, 32); // 1
    let u8t = b.int("unsigned char", 1, 0, 8); // 2
                                               // kflag = 1: bitfield sizes in the top 8 bits of the offset.
    let s = b.composite(
        STRUCT,
        "flags",
        8,
        true,
        &[
            ("a", int, 3 << 24),
            ("b", int, (5 << 24) | 3),
            ("c", u8t, 32),
        ],
    ); // 3
    let inner = b.composite(UNION, "", 4, false, &[("x", int, 0), ("y", u8t, 0)]); // 4
    let outer = b.composite(
        STRUCT,
        "outer",
        16,
        false,
        &[("first", int, 0), ("", inner, 32), ("f", s, 64)],
    ); // 5
       // kflag = 0: an old-style bitfield is an INT with fewer bits.
    let bf = b.ty("int", INT, 0, false, 4, &[(1 << 24) | 4]); // 6 (signed, 4 bits)
    let old = b.composite(STRUCT, "old", 4, false, &[("n", bf, 4)]); // 7
    let btf = parse(&b);
    assert_eq!(
        t(&btf, s),
        &Type::Struct(Composite {
            name: "flags".into(),
            size: 8,
            members: vec![
                Member {
                    name: "a".into(),
                    ty: TypeId(int),
                    bit_offset: 0,
                    bitfield_bits: 3
                },
                Member {
                    name: "b".into(),
                    ty: TypeId(int),
                    bit_offset: 3,
                    bitfield_bits: 5
                },
                Member {
                    name: "c".into(),
                    ty: TypeId(u8t),
                    bit_offset: 32,
                    bitfield_bits: 0
                },
            ],
        })
    );
    assert!(matches!(t(&btf, inner), Type::Union(c) if c.name.is_empty() && c.members.len() == 2));
    assert_eq!(btf.member_offset_bits(TypeId(outer), "first"), Some(0));
    // A member of an anonymous union member is found with the union's offset added.
    assert_eq!(btf.member_offset_bits(TypeId(outer), "y"), Some(32));
    assert_eq!(btf.member_offset_bits(TypeId(outer), "f"), Some(64));
    assert_eq!(btf.member_offset_bits(TypeId(outer), "a"), None);
    assert_eq!(btf.member_offset_bits(TypeId(outer), "nope"), None);
    assert_eq!(btf.member_offset_bits(TypeId(outer), ""), None);
    assert_eq!(btf.member_offset_bits(TypeId(int), "x"), None);
    assert_eq!(btf.member_offset_bits(TypeId(s), "b"), Some(3));
    let Type::Struct(c) = t(&btf, s) else {
        unreachable!()
    };
    assert_eq!(btf.member_bitfield(&c.members[1]), Some((3, 5)));
    assert_eq!(btf.member_bitfield(&c.members[2]), None);
    let Type::Struct(o) = t(&btf, old) else {
        unreachable!()
    };
    assert_eq!(o.members[0].bitfield_bits, 0);
    assert_eq!(btf.member_bitfield(&o.members[0]), Some((4, 4)));
    assert_eq!(btf.size_of(TypeId(outer)), Ok(16));
    assert_eq!(
        btf.member(TypeId(outer), "f").map(|m| m.ty),
        Some(TypeId(s))
    );
    assert_eq!(
        btf.find_by_name_kind("flags", Kind::Struct),
        Some(TypeId(s))
    );
    assert_eq!(btf.find_by_name_kind("flags", Kind::Union), None);
}

#[test]
fn member_offset_through_typedef() {
    let mut b = Blob::new();
    let int = b.int("int", 4, 1, 32);
    let s = b.composite(STRUCT, "", 8, false, &[("a", int, 0), ("b", int, 32)]);
    let td = b.typedef("pair_t", s);
    let btf = parse(&b);
    assert_eq!(btf.member_offset_bits(TypeId(td), "b"), Some(32));
    assert_eq!(btf.size_of(TypeId(td)), Ok(8));
}

#[test]
fn enums_signed_and_unsigned() {
    let mut b = Blob::new();
    let (a, bb, c) = (b.s("A"), b.s("B"), b.s("C"));
    b.ty("e", ENUM, 2, false, 4, &[a, 1, bb, 0xffff_ffff]); // 1 unsigned
    b.ty("se", ENUM, 1, true, 4, &[c, 0xffff_ffff]); // 2 signed: -1
    b.ty("", ENUM, 0, false, 1, &[]); // 3 empty, 1 byte
    b.ty(
        "e64",
        ENUM64,
        2,
        false,
        8,
        &[a, 0xffff_ffff, 0xffff_ffff, bb, 1, 0],
    ); // 4
    b.ty("se64", ENUM64, 1, true, 8, &[c, 0xffff_fffe, 0xffff_ffff]); // 5: -2
    let btf = parse(&b);
    assert_eq!(
        t(&btf, 1),
        &Type::Enum {
            name: "e".into(),
            size: 4,
            signed: false,
            values: vec![("A".into(), 1), ("B".into(), 0xffff_ffff)]
        }
    );
    assert_eq!(
        t(&btf, 2),
        &Type::Enum {
            name: "se".into(),
            size: 4,
            signed: true,
            values: vec![("C".into(), -1)]
        }
    );
    assert!(matches!(t(&btf, 3), Type::Enum { values, size: 1, .. } if values.is_empty()));
    assert_eq!(
        t(&btf, 4),
        &Type::Enum64 {
            name: "e64".into(),
            size: 8,
            signed: false,
            values: vec![("A".into(), i128::from(u64::MAX)), ("B".into(), 1)]
        }
    );
    assert!(matches!(t(&btf, 5), Type::Enum64 { values, signed: true, .. } if values[0].1 == -2));
    assert_eq!(btf.size_of(TypeId(4)), Ok(8));
}

#[test]
fn fwd_struct_and_union() {
    let mut b = Blob::new();
    b.ty("s", FWD, 0, false, 0, &[]);
    b.ty("u", FWD, 0, true, 0, &[]);
    let btf = parse(&b);
    assert_eq!(
        t(&btf, 1),
        &Type::Fwd {
            name: "s".into(),
            union: false
        }
    );
    assert_eq!(
        t(&btf, 2),
        &Type::Fwd {
            name: "u".into(),
            union: true
        }
    );
    assert!(matches!(
        btf.size_of(TypeId(1)),
        Err(BtfError::NoSize {
            kind: Kind::Fwd,
            ..
        })
    ));
}

#[test]
fn functions_vars_datasecs_and_tags() {
    let mut b = Blob::new();
    let int = b.int("int", 4, 1, 32); // 1
    let vp = b.ptr(0); // 2
    let proto = b.proto(int, &[("ctx", vp), ("", int)]); // 3
    let vproto = b.proto(0, &[("fmt", vp), ("", 0)]); // 4: variadic
    let f = b.func("prog", proto, 1); // 5
    let g = b.func("helper", vproto, 2); // 6
    let h = b.func("local", proto, 0); // 7
    let v = b.ty("counter", VAR, 0, false, int, &[1]); // 8
    let sv = b.ty("sv", VAR, 0, false, int, &[0]); // 9
    let ev = b.ty("ev", VAR, 0, false, int, &[2]); // 10
    let ds = b.ty(".data", DATASEC, 2, false, 8, &[v, 0, 4, sv, 4, 4]); // 11
    let ks = b.ty(".ksyms", DATASEC, 1, false, 0, &[g, 0, 0]); // 12
    let fl = b.ty("double", FLOAT, 0, false, 8, &[]); // 13
    let s = b.composite(STRUCT, "s", 4, false, &[("m", int, 0)]); // 14
    let dt = b.ty("tag", DECL_TAG, 0, false, s, &[0]); // 15 on member 0
    let dt2 = b.ty("ftag", DECL_TAG, 0, false, f, &[u32::MAX]); // 16 on the function (-1)
    let dt3 = b.ty("ptag", DECL_TAG, 0, false, f, &[1]); // 17 on param 1
    let btf = parse(&b);
    assert_eq!(
        t(&btf, proto),
        &Type::FuncProto {
            ret: TypeId(int),
            params: vec![
                Param {
                    name: "ctx".into(),
                    ty: TypeId(vp)
                },
                Param {
                    name: "".into(),
                    ty: TypeId(int)
                }
            ]
        }
    );
    assert!(
        matches!(t(&btf, vproto), Type::FuncProto { params, .. } if params[1].ty == TypeId::VOID)
    );
    assert_eq!(
        t(&btf, f),
        &Type::Func {
            name: "prog".into(),
            proto: TypeId(proto),
            linkage: FuncLinkage::Global
        }
    );
    assert!(matches!(
        t(&btf, g),
        Type::Func {
            linkage: FuncLinkage::Extern,
            ..
        }
    ));
    assert!(matches!(
        t(&btf, h),
        Type::Func {
            linkage: FuncLinkage::Static,
            ..
        }
    ));
    assert_eq!(
        t(&btf, v),
        &Type::Var {
            name: "counter".into(),
            ty: TypeId(int),
            linkage: VarLinkage::GlobalAllocated
        }
    );
    assert!(matches!(
        t(&btf, sv),
        Type::Var {
            linkage: VarLinkage::Static,
            ..
        }
    ));
    assert!(matches!(
        t(&btf, ev),
        Type::Var {
            linkage: VarLinkage::GlobalExtern,
            ..
        }
    ));
    assert_eq!(
        t(&btf, ds),
        &Type::DataSec {
            name: ".data".into(),
            size: 8,
            vars: vec![
                VarSecInfo {
                    ty: TypeId(v),
                    offset: 0,
                    size: 4
                },
                VarSecInfo {
                    ty: TypeId(sv),
                    offset: 4,
                    size: 4
                }
            ]
        }
    );
    assert!(matches!(t(&btf, ks), Type::DataSec { vars, .. } if vars[0].ty == TypeId(g)));
    assert_eq!(
        t(&btf, fl),
        &Type::Float {
            name: "double".into(),
            size: 8
        }
    );
    assert_eq!(
        t(&btf, dt),
        &Type::DeclTag {
            name: "tag".into(),
            target: TypeId(s),
            component: 0
        }
    );
    assert!(matches!(t(&btf, dt2), Type::DeclTag { component: -1, .. }));
    assert!(matches!(t(&btf, dt3), Type::DeclTag { component: 1, .. }));
    assert_eq!(btf.size_of(TypeId(v)), Ok(4));
    assert_eq!(btf.size_of(TypeId(ds)), Ok(8));
    assert_eq!(btf.size_of(TypeId(fl)), Ok(8));
    assert!(matches!(
        btf.size_of(TypeId(f)),
        Err(BtfError::NoSize {
            kind: Kind::Func,
            ..
        })
    ));
    assert!(matches!(
        btf.size_of(TypeId(proto)),
        Err(BtfError::NoSize { .. })
    ));
    assert!(matches!(
        btf.size_of(TypeId(dt)),
        Err(BtfError::NoSize { .. })
    ));
    let (ret, params) = btf.func_proto(TypeId(f)).unwrap();
    assert_eq!((ret, params.len()), (TypeId(int), 2));
    assert_eq!(btf.func_proto(TypeId(int)), None);
    assert_eq!(btf.kind_of(TypeId(ds)), Some(Kind::DataSec));
}

#[test]
fn find_by_name_returns_every_match_in_id_order() {
    let mut b = Blob::new();
    let int = b.int("x", 4, 1, 32);
    b.composite(STRUCT, "x", 4, false, &[("m", int, 0)]);
    b.typedef("y", int);
    b.typedef("x", int);
    let btf = parse(&b);
    assert_eq!(btf.find_by_name("x"), vec![TypeId(1), TypeId(2), TypeId(4)]);
    assert_eq!(btf.find_by_name("y"), vec![TypeId(3)]);
    assert_eq!(btf.find_by_name("z"), Vec::<TypeId>::new());
    assert_eq!(btf.find_by_name(""), Vec::<TypeId>::new());
}

#[test]
fn self_reference_through_pointer_is_fine() {
    let mut b = Blob::new();
    let int = b.int("int", 4, 1, 32); // 1
    let p = b.ptr(3); // 2 -> struct node
    b.composite(STRUCT, "node", 16, false, &[("v", int, 0), ("next", p, 64)]); // 3
    let btf = parse(&b);
    assert_eq!(btf.size_of(TypeId(3)), Ok(16));
    assert_eq!(btf.member_offset_bits(TypeId(3), "next"), Some(64));
}

#[test]
fn string_lookup_and_extended_header() {
    let mut b = Blob::new();
    b.int("int", 4, 1, 32);
    // A longer header (extra zero bytes) is accepted.
    let bytes = b.bytes_with(|h| h.hdr_len = 32);
    let btf = Btf::parse(&bytes).unwrap();
    assert_eq!(btf.name_of(TypeId(1)), "int");
    assert_eq!(btf.string_at(1), Some("int"));
    assert_eq!(btf.string_at(0), Some(""));
    assert_eq!(btf.string_at(999), None);
    assert_eq!(btf.string_section(), b.strings.as_slice());
}

#[test]
fn types_iterates_in_id_order_without_void() {
    let mut b = Blob::new();
    b.int("a", 4, 0, 32);
    b.int("b", 4, 0, 32);
    let btf = parse(&b);
    let names: Vec<(u32, &str)> = btf.types().map(|(id, t)| (id.0, t.name())).collect();
    assert_eq!(names, vec![(1, "a"), (2, "b")]);
    assert_eq!(btf.last_id(), 2);
}

#[test]
fn from_types_and_to_bytes_round_trip() {
    let mut b = Blob::new();
    let int = b.int("int", 4, 1, 32);
    let p = b.ptr(int);
    b.composite(STRUCT, "s", 16, true, &[("a", int, 2 << 24), ("p", p, 64)]);
    let (x, y) = (b.s("X"), b.s("Y"));
    b.ty("e", ENUM, 2, true, 4, &[x, 0xffff_fff0, y, 7]);
    b.ty("e64", ENUM64, 1, false, 8, &[x, 1, 2]);
    let proto = b.proto(int, &[("a", int), ("", 0)]);
    let f = b.func("f", proto, 1);
    b.ty("t", DECL_TAG, 0, false, f, &[0]);
    let btf = parse(&b);
    let again = Btf::parse(&btf.to_bytes()).unwrap();
    assert_eq!(
        btf.types().collect::<Vec<_>>(),
        again.types().collect::<Vec<_>>()
    );
    let built = Btf::from_types(btf.types().map(|(_, t)| t.clone()).collect()).unwrap();
    assert_eq!(
        built.types().collect::<Vec<_>>(),
        btf.types().collect::<Vec<_>>()
    );
    // from_types validates like parse.
    let bad = Btf::from_types(vec![Type::Ptr { target: TypeId(7) }]);
    assert!(matches!(
        bad,
        Err(BtfError::DanglingType {
            id: 1,
            target: 7,
            ..
        })
    ));
}
