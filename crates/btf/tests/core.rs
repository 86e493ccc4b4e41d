//! CO-RE resolution (`ebpfvm_btf::core`) on small hand-built BTF: member lookup through
//! anonymous structs/unions, flavours, candidate agreement, every relocation kind, missing
//! types and fields, TYPE_MATCHES, bitfields, arrays, malformed records, and no panics on
//! arbitrary records. The real-object tests (core_access.o against the kernel's BTF and
//! its own) are in ebpfvm-object's `tests/core.rs`.

use ebpfvm_btf::core::{essential_name, resolve, CoreError, CoreResult, POISON_HELPER};
use ebpfvm_btf::{Btf, Composite, CoreRelo, CoreReloKind, IntEncoding, Kind, Member, Type, TypeId};
use proptest::prelude::*;

use CoreReloKind::*;

/// Builds a type list with ids handed out in order (id 1 first).
#[derive(Default)]
struct B {
    types: Vec<Type>,
}

impl B {
    fn add(&mut self, t: Type) -> TypeId {
        self.types.push(t);
        TypeId(self.types.len() as u32)
    }

    fn int(&mut self, name: &str, size: u32, signed: bool) -> TypeId {
        self.add(Type::Int {
            name: name.into(),
            size,
            encoding: if signed {
                IntEncoding::Signed
            } else {
                IntEncoding::Unsigned
            },
            bit_offset: 0,
            bits: (size * 8) as u8,
        })
    }

    /// A struct (or union) whose members are `(name, type, bit offset, bitfield bits)`.
    fn comp(
        &mut self,
        union: bool,
        name: &str,
        size: u32,
        members: &[(&str, TypeId, u32, u8)],
    ) -> TypeId {
        let c = Composite {
            name: name.into(),
            size,
            members: members
                .iter()
                .map(|&(n, ty, bit_offset, bitfield_bits)| Member {
                    name: n.into(),
                    ty,
                    bit_offset,
                    bitfield_bits,
                })
                .collect(),
        };
        self.add(if union {
            Type::Union(c)
        } else {
            Type::Struct(c)
        })
    }

    fn st(&mut self, name: &str, size: u32, members: &[(&str, TypeId, u32)]) -> TypeId {
        let m: Vec<_> = members.iter().map(|&(n, t, o)| (n, t, o, 0)).collect();
        self.comp(false, name, size, &m)
    }

    fn array(&mut self, elem: TypeId, index: TypeId, nelems: u32) -> TypeId {
        self.add(Type::Array {
            elem,
            index,
            nelems,
        })
    }

    fn ptr(&mut self, target: TypeId) -> TypeId {
        self.add(Type::Ptr { target })
    }

    fn typedef(&mut self, name: &str, target: TypeId) -> TypeId {
        self.add(Type::Typedef {
            name: name.into(),
            target,
        })
    }

    fn enum32(&mut self, name: &str, signed: bool, values: &[(&str, i64)]) -> TypeId {
        self.add(Type::Enum {
            name: name.into(),
            size: 4,
            signed,
            values: values.iter().map(|&(n, v)| (n.into(), v)).collect(),
        })
    }

    fn build(self) -> Btf {
        Btf::from_types(self.types).unwrap_or_else(|e| panic!("hand-built BTF: {e}"))
    }
}

fn relo(kind: CoreReloKind, type_id: TypeId, access: &str) -> CoreRelo {
    CoreRelo {
        insn_off: 0,
        type_id,
        access: access.into(),
        kind,
    }
}

fn ok(local: &Btf, target: &Btf, r: &CoreRelo) -> CoreResult {
    resolve(local, target, r).unwrap_or_else(|e| panic!("{e}"))
}

/// The new value of a relocation that must not poison.
fn val(local: &Btf, target: &Btf, kind: CoreReloKind, id: TypeId, access: &str) -> u64 {
    let res = ok(local, target, &relo(kind, id, access));
    assert!(!res.poison, "{kind} {access} poisoned: {res:?}");
    res.new_val
}

fn poisoned(local: &Btf, target: &Btf, kind: CoreReloKind, id: TypeId, access: &str) -> bool {
    ok(local, target, &relo(kind, id, access)).poison
}

#[test]
fn essential_names() {
    for (name, ess) in [
        ("task_struct", "task_struct"),
        ("task_struct___old", "task_struct"),
        ("a___b___c", "a___b"),
        ("iphdr___future", "iphdr"),
        ("x___", "x___"),
        ("___x", "___x"),
        ("a____b", "a____b"),
        ("a___b_", "a"),
        ("__x___y", "__x"),
        ("", ""),
        ("ab", "ab"),
        ("é___ü", "é"),
    ] {
        assert_eq!(essential_name(name), ess, "{name}");
    }
    assert_eq!(POISON_HELPER, 195_896_080);
}

/// `struct s { int a; int b; }` locally.
fn local_s(name: &str) -> (Btf, TypeId) {
    let mut b = B::default();
    let int = b.int("int", 4, true);
    let s = b.st(name, 8, &[("a", int, 0), ("b", int, 32)]);
    (b.build(), s)
}

#[test]
fn member_found_through_anonymous_union_and_struct() {
    let (local, s) = local_s("s");
    let mut b = B::default();
    let int = b.int("int", 4, true);
    let long = b.int("long", 8, true);
    // struct s { long pad; union { long x; struct { int pad2; int b; }; }; int a; }
    let inner = b.st("", 8, &[("pad2", int, 0), ("b", int, 32)]);
    let u = b.comp(true, "", 8, &[("x", long, 0, 0), ("", inner, 0, 0)]);
    b.st("s", 24, &[("pad", long, 0), ("", u, 64), ("a", int, 128)]);
    let target = b.build();
    assert_eq!(val(&local, &target, FieldByteOffset, s, "0:1"), 12);
    assert_eq!(val(&local, &target, FieldByteOffset, s, "0:0"), 16);
    assert_eq!(val(&local, &target, FieldByteSize, s, "0:1"), 4);
    assert_eq!(val(&local, &target, FieldExists, s, "0:1"), 1);
    // The second element of an array of s: 24 bytes further.
    assert_eq!(val(&local, &target, FieldByteOffset, s, "1:1"), 36);
    let res = ok(&local, &target, &relo(FieldByteOffset, s, "0:1"));
    assert_eq!((res.orig_val, res.orig_size, res.new_size), (4, 4, 4));
    assert_eq!(res.target, Some(TypeId(5)));
    assert_eq!((res.candidates, res.matches), (1, 1));
}

#[test]
fn flavours_are_stripped_on_both_sides() {
    let (local, s) = local_s("s___v2");
    let mut b = B::default();
    let int = b.int("int", 4, true);
    let t = b.st("s", 12, &[("x", int, 0), ("a", int, 32), ("b", int, 64)]);
    let target = b.build();
    assert_eq!(val(&local, &target, FieldByteOffset, s, "0:1"), 8);
    assert_eq!(val(&local, &target, TypeIdTarget, s, "0"), u64::from(t.0));
    // A flavoured target name matches an unflavoured local one ...
    let (local2, s2) = local_s("s");
    let mut b = B::default();
    let int = b.int("int", 4, true);
    b.st("s___x", 8, &[("b", int, 0), ("a", int, 32)]);
    let target2 = b.build();
    assert_eq!(val(&local2, &target2, FieldByteOffset, s2, "0:1"), 0);
    // ... unless an unflavoured candidate exists, which is then preferred.
    let mut b = B::default();
    let int = b.int("int", 4, true);
    b.st("s___x", 8, &[("b", int, 0), ("a", int, 32)]);
    b.st("s", 12, &[("a", int, 0), ("q", int, 32), ("b", int, 64)]);
    let target3 = b.build();
    let res = ok(&local2, &target3, &relo(FieldByteOffset, s2, "0:1"));
    assert_eq!((res.new_val, res.candidates, res.matches), (8, 1, 1));
    // A flavour of a type resolved against the BTF declaring both: the base type.
    let mut b = B::default();
    let int = b.int("int", 4, true);
    b.st("s", 4, &[("a", int, 0)]);
    let fut = b.st("s___future", 8, &[("a", int, 0), ("hint", int, 32)]);
    let own = b.build();
    assert_eq!(val(&own, &own, FieldExists, fut, "0:1"), 0);
    assert_eq!(val(&own, &own, FieldExists, fut, "0:0"), 1);
    assert_eq!(val(&own, &own, TypeSize, fut, "0"), 4);
}

#[test]
fn candidates_must_agree() {
    let (local, s) = local_s("s");
    // Two identical candidates (as imperfect dedup leaves): fine.
    let mut b = B::default();
    let int = b.int("int", 4, true);
    b.st("s", 8, &[("a", int, 0), ("b", int, 32)]);
    b.st("s", 8, &[("a", int, 0), ("b", int, 32)]);
    let same = b.build();
    let res = ok(&local, &same, &relo(FieldByteOffset, s, "0:1"));
    assert_eq!((res.new_val, res.candidates, res.matches), (4, 2, 2));
    assert_eq!(res.target, Some(TypeId(2)));
    // Different offsets: ambiguous.
    let mut b = B::default();
    let int = b.int("int", 4, true);
    b.st("s", 8, &[("a", int, 0), ("b", int, 32)]);
    b.st("s", 12, &[("a", int, 0), ("c", int, 32), ("b", int, 64)]);
    let differ = b.build();
    let err = resolve(&local, &differ, &relo(FieldByteOffset, s, "0:1")).unwrap_err();
    assert!(
        matches!(
            err,
            CoreError::Ambiguous {
                first: 2,
                other: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "field_byte_offset relocation [2] s + 0:1: ambiguous: target types 2 and 3 disagree \
         (field s.b (0:1 @ bit 32) != s.b (0:2 @ bit 64))"
    );
    // Same offsets but different sizes: ambiguous too (the values differ).
    let err = resolve(&local, &differ, &relo(TypeSize, s, "0")).unwrap_err();
    assert!(matches!(err, CoreError::Ambiguous { .. }), "{err:?}");
    // Only one of them has the field: no ambiguity.
    assert_eq!(val(&local, &differ, FieldByteOffset, s, "0:0"), 0);
    let mut b = B::default();
    let int = b.int("int", 4, true);
    b.st("s", 8, &[("a", int, 0), ("zz", int, 32)]);
    b.st("s", 12, &[("a", int, 0), ("c", int, 32), ("b", int, 64)]);
    let one = b.build();
    let res = ok(&local, &one, &relo(FieldByteOffset, s, "0:1"));
    assert_eq!((res.new_val, res.candidates, res.matches), (8, 2, 1));
}

#[test]
fn missing_types_fields_and_enumerators() {
    let mut b = B::default();
    let int = b.int("int", 4, true);
    let s = b.st("s", 8, &[("a", int, 0), ("b", int, 32)]);
    let e = b.enum32("e", false, &[("E_A", 0), ("E_B", 7)]);
    let local = b.build();
    let mut b = B::default();
    let int = b.int("int", 4, true);
    b.st("other", 4, &[("a", int, 0)]);
    let empty = b.build();
    // No candidate at all.
    for (kind, access, want) in [
        (FieldExists, "0:1", Some(0)),
        (TypeExists, "0", Some(0)),
        (TypeSize, "0", Some(0)),
        (TypeIdTarget, "0", Some(0)),
        (TypeMatches, "0", Some(0)),
        (TypeIdLocal, "0", Some(u64::from(s.0))),
        (FieldByteOffset, "0:1", None),
        (FieldByteSize, "0:1", None),
        (FieldSigned, "0:1", None),
        (FieldLshiftU64, "0:1", None),
        (FieldRshiftU64, "0:1", None),
    ] {
        let res = ok(&local, &empty, &relo(kind, s, access));
        match want {
            Some(v) => assert_eq!((res.poison, res.new_val), (false, v), "{kind}"),
            None => assert!(res.poison, "{kind}: {res:?}"),
        }
    }
    assert_eq!(val(&local, &empty, EnumvalExists, e, "1"), 0);
    assert!(poisoned(&local, &empty, EnumvalValue, e, "1"));
    // The type exists, the field and the enumerator do not.
    let mut b = B::default();
    let int = b.int("int", 4, true);
    b.st("s", 4, &[("a", int, 0)]);
    b.enum32("e", false, &[("E_A", 5)]);
    let partial = b.build();
    assert_eq!(val(&local, &partial, FieldExists, s, "0:1"), 0);
    assert!(poisoned(&local, &partial, FieldByteOffset, s, "0:1"));
    assert_eq!(val(&local, &partial, FieldByteOffset, s, "0:0"), 0);
    assert_eq!(val(&local, &partial, TypeSize, s, "0"), 4);
    assert_eq!(val(&local, &partial, TypeExists, s, "0"), 1);
    assert_eq!(val(&local, &partial, EnumvalExists, e, "1"), 0);
    assert!(poisoned(&local, &partial, EnumvalValue, e, "1"));
    assert_eq!(val(&local, &partial, EnumvalValue, e, "0"), 5);
    let res = ok(&local, &partial, &relo(EnumvalValue, e, "1"));
    assert_eq!((res.orig_val, res.poison), (7, true));
}

#[test]
fn incompatible_member_types_do_not_match() {
    let (local, s) = local_s("s");
    let mut b = B::default();
    let int = b.int("int", 4, true);
    let inner = b.st("inner", 4, &[("q", int, 0)]);
    let p = b.ptr(inner);
    b.st("s", 16, &[("a", p, 0), ("b", inner, 64)]);
    let target = b.build();
    // int vs pointer, int vs struct: no match.
    assert_eq!(val(&local, &target, FieldExists, s, "0:0"), 0);
    assert_eq!(val(&local, &target, FieldExists, s, "0:1"), 0);
    assert!(poisoned(&local, &target, FieldByteOffset, s, "0:1"));
    // Integers of any size and signedness match; a typedef is looked through.
    let mut b = B::default();
    let uchar = b.int("unsigned char", 1, false);
    let long = b.int("long", 8, true);
    let td = b.typedef("s64", long);
    b.st("s", 16, &[("a", uchar, 0), ("b", td, 64)]);
    let target = b.build();
    assert_eq!(val(&local, &target, FieldByteOffset, s, "0:1"), 8);
    assert_eq!(val(&local, &target, FieldByteSize, s, "0:1"), 8);
    assert_eq!(val(&local, &target, FieldSigned, s, "0:1"), 1);
    assert_eq!(val(&local, &target, FieldSigned, s, "0:0"), 0);
    // A signed field changing size cannot be loaded with a resized access.
    let res = ok(&local, &target, &relo(FieldByteOffset, s, "0:1"));
    assert_eq!(
        (res.orig_size, res.new_size, res.bad_size_change),
        (4, 8, true)
    );
}

#[test]
fn unsigned_and_pointer_fields_can_be_resized() {
    let mut b = B::default();
    let u32_ = b.int("unsigned int", 4, false);
    let void_ptr = b.ptr(TypeId::VOID);
    let s = b.st("s", 16, &[("a", u32_, 0), ("p", void_ptr, 64)]);
    let local = b.build();
    let mut b = B::default();
    let u64_ = b.int("unsigned long", 8, false);
    let u16_ = b.int("unsigned short", 2, false);
    let int = b.int("int", 4, true);
    let int_ptr = b.ptr(int);
    b.st(
        "s",
        16,
        &[("a", u64_, 0), ("p", int_ptr, 64), ("c", u16_, 96)],
    );
    let target = b.build();
    let res = ok(&local, &target, &relo(FieldByteOffset, s, "0:0"));
    assert_eq!(
        (res.orig_size, res.new_size, res.bad_size_change),
        (4, 8, false)
    );
    let res = ok(&local, &target, &relo(FieldByteOffset, s, "0:1"));
    assert_eq!((res.new_val, res.orig_size, res.new_size), (8, 8, 8));
}

#[test]
fn arrays_and_flexible_arrays() {
    let mut b = B::default();
    let int = b.int("int", 4, true);
    let idx = b.int("__ARRAY_SIZE_TYPE__", 4, false);
    let arr4 = b.array(int, idx, 4);
    let flex = b.array(int, idx, 0);
    let s = b.st(
        "s",
        24,
        &[("n", int, 0), ("arr", arr4, 32), ("tail", flex, 160)],
    );
    let local = b.build();
    let mut b = B::default();
    let int = b.int("int", 4, true);
    let long = b.int("long", 8, true);
    let idx = b.int("__ARRAY_SIZE_TYPE__", 4, false);
    let arr3 = b.array(long, idx, 3);
    let flex = b.array(int, idx, 0);
    b.st(
        "s",
        40,
        &[("arr", arr3, 0), ("n", int, 192), ("tail", flex, 256)],
    );
    let target = b.build();
    // arr[2]: local 4 + 8, target 16 (longs).
    let res = ok(&local, &target, &relo(FieldByteOffset, s, "0:1:2"));
    assert_eq!((res.orig_val, res.new_val), (12, 16));
    assert_eq!((res.orig_size, res.new_size), (4, 8));
    assert_eq!(val(&local, &target, FieldByteSize, s, "0:1:2"), 8);
    // arr[3] is beyond the target's 3 elements: no match.
    assert!(poisoned(&local, &target, FieldByteOffset, s, "0:1:3"));
    assert_eq!(val(&local, &target, FieldExists, s, "0:1:3"), 1 - 1);
    // A flexible array may be indexed anywhere on both sides.
    assert_eq!(val(&local, &target, FieldByteOffset, s, "0:2:9"), 32 + 36);
    // Beyond the local array: a malformed record.
    let err = resolve(&local, &target, &relo(FieldByteOffset, s, "0:1:4")).unwrap_err();
    assert!(matches!(err, CoreError::BadRecord { .. }), "{err:?}");
    // Signedness has no meaning for an array access: an error, as in libbpf.
    let err = resolve(&local, &target, &relo(FieldSigned, s, "0:1:2")).unwrap_err();
    assert!(matches!(
        err,
        CoreError::Candidate { .. } | CoreError::BadRecord { .. }
    ));
}

#[test]
fn bitfields() {
    // struct bf { u8 ihl:4, version:4; u8 tos; } with the kind flag (clang's encoding).
    let mut b = B::default();
    let u8_ = b.int("__u8", 1, false);
    let s8 = b.int("signed char", 1, true);
    let s = b.comp(
        false,
        "bf",
        2,
        &[
            ("ihl", u8_, 0, 4),
            ("version", u8_, 4, 4),
            ("tos", u8_, 8, 0),
        ],
    );
    let local = b.build();
    // The target moves them: u32 storage, version at bits 10..16, ihl signed at 20..27,
    // and a field crossing a 4-byte boundary.
    let mut b = B::default();
    let u32_ = b.int("unsigned int", 4, false);
    let s32 = b.int("int", 4, true);
    let _ = s8;
    b.comp(
        false,
        "bf",
        8,
        &[
            ("tos", u32_, 0, 8),
            ("version", u32_, 10, 6),
            ("ihl", s32, 20, 7),
        ],
    );
    let target = b.build();
    for (access, kind, local_val, target_val) in [
        ("0:0", FieldByteOffset, 0, 0),
        ("0:0", FieldByteSize, 1, 4),
        ("0:0", FieldLshiftU64, 60, 64 - 27),
        ("0:0", FieldRshiftU64, 60, 57),
        ("0:0", FieldSigned, 0, 1),
        ("0:1", FieldByteOffset, 0, 0),
        ("0:1", FieldByteSize, 1, 4),
        ("0:1", FieldLshiftU64, 56, 48),
        ("0:1", FieldRshiftU64, 60, 58),
        ("0:1", FieldSigned, 0, 0),
    ] {
        let res = ok(&local, &target, &relo(kind, s, access));
        assert_eq!(
            (res.orig_val, res.new_val),
            (local_val, target_val),
            "{kind} {access}"
        );
        // libbpf does not check the compiler's value for bitfield offsets and sizes.
        let validated = matches!(kind, FieldSigned | FieldRshiftU64);
        assert_eq!(res.validate, validated, "{kind} {access}");
    }
    // A u8 bitfield straddling a byte boundary is read with a wider load.
    let mut b = B::default();
    let u8_ = b.int("__u8", 1, false);
    b.comp(
        false,
        "bf",
        4,
        &[("ihl", u8_, 6, 4), ("version", u8_, 14, 4)],
    );
    let target = b.build();
    assert_eq!(val(&local, &target, FieldByteSize, s, "0:0"), 2);
    assert_eq!(val(&local, &target, FieldLshiftU64, s, "0:0"), 64 - 10);
    assert_eq!(val(&local, &target, FieldByteSize, s, "0:1"), 4);
    assert_eq!(val(&local, &target, FieldByteOffset, s, "0:1"), 0);
    // A bitfield that no 8-byte load covers is an error.
    let mut b = B::default();
    let u64_ = b.int("unsigned long", 8, false);
    b.comp(false, "bf", 16, &[("ihl", u64_, 60, 8)]);
    let target = b.build();
    let err = resolve(&local, &target, &relo(FieldByteOffset, s, "0:0")).unwrap_err();
    assert!(matches!(err, CoreError::Candidate { .. }), "{err:?}");
}

#[test]
fn enum_values_and_kinds() {
    let mut b = B::default();
    let e = b.enum32("e", true, &[("E_NEG", -1), ("E_BIG", 5)]);
    let e64 = b.add(Type::Enum64 {
        name: "e64".into(),
        size: 8,
        signed: false,
        values: vec![("BIG".into(), 0x1_0000_0002)],
    });
    let local = b.build();
    let mut b = B::default();
    b.add(Type::Enum64 {
        name: "e".into(),
        size: 8,
        signed: false,
        values: vec![
            ("E_BIG___v2".into(), 0x1_0000_0000),
            ("E_NEG".into(), 0x8000_0000),
        ],
    });
    b.enum32("e64", false, &[("BIG", 0x8000_0001)]);
    let target = b.build();
    // Enumerators match by essential name; enum and enum64 are compatible kinds.
    assert_eq!(val(&local, &target, EnumvalValue, e, "1"), 0x1_0000_0000);
    assert_eq!(val(&local, &target, EnumvalValue, e, "0"), 0x8000_0000);
    let res = ok(&local, &target, &relo(EnumvalValue, e, "0"));
    assert_eq!(res.orig_val, u64::MAX, "a 32-bit value is sign-extended");
    // A 32-bit target value is sign-extended as libbpf does, whatever its signedness.
    assert_eq!(
        val(&local, &target, EnumvalValue, e64, "0"),
        0xffff_ffff_8000_0001
    );
    assert_eq!(val(&local, &target, EnumvalExists, e64, "0"), 1);
    assert_eq!(val(&local, &target, TypeExists, e, "0"), 1);
    assert_eq!(val(&local, &target, TypeSize, e, "0"), 8);
    // TYPE_MATCHES wants equal sizes.
    assert_eq!(val(&local, &target, TypeMatches, e, "0"), 0);
}

#[test]
fn type_matches_is_stricter_than_type_exists() {
    let mut b = B::default();
    let us = b.int("unsigned short", 2, false);
    let be16 = b.typedef("__be16", us);
    let node = b.st("node", 16, &[]);
    let node_ptr = b.ptr(node);
    let h = b.st("h", 16, &[("proto", be16, 0), ("next", node_ptr, 64)]);
    let local = b.build();
    // Same layout with GCC's integer spelling: exists, but does not match.
    let mut b = B::default();
    let us = b.int("short unsigned int", 2, false);
    let be16 = b.typedef("__be16", us);
    let fwd = b.add(Type::Fwd {
        name: "node".into(),
        union: false,
    });
    let fwd_ptr = b.ptr(fwd);
    b.st("h", 16, &[("proto", be16, 0), ("next", fwd_ptr, 64)]);
    let gcc = b.build();
    assert_eq!(val(&local, &gcc, TypeExists, h, "0"), 1);
    assert_eq!(val(&local, &gcc, TypeMatches, h, "0"), 0);
    // Same spelling: matches (a struct behind a pointer may match a forward declaration),
    // and extra target members are fine.
    let mut b = B::default();
    let us = b.int("unsigned short", 2, false);
    let be16 = b.typedef("__be16", us);
    let int = b.int("int", 4, true);
    let fwd = b.add(Type::Fwd {
        name: "node".into(),
        union: false,
    });
    let fwd_ptr = b.ptr(fwd);
    b.st(
        "h",
        24,
        &[
            ("extra", int, 0),
            ("next", fwd_ptr, 64),
            ("proto", be16, 128),
        ],
    );
    let clang = b.build();
    assert_eq!(val(&local, &clang, TypeMatches, h, "0"), 1);
    // A missing member, or a union where a struct is expected: no match.
    let mut b = B::default();
    let us = b.int("unsigned short", 2, false);
    let be16 = b.typedef("__be16", us);
    b.st("h", 16, &[("proto", be16, 0)]);
    let fewer = b.build();
    assert_eq!(val(&local, &fewer, TypeMatches, h, "0"), 0);
    // Self-referential types terminate (pointers stop the recursion).
    let mut b = B::default();
    let list = b.st("list", 8, &[]);
    let lp = b.ptr(list);
    b.types[list.0 as usize - 1] = Type::Struct(Composite {
        name: "list".into(),
        size: 8,
        members: vec![Member {
            name: "next".into(),
            ty: lp,
            bit_offset: 0,
            bitfield_bits: 0,
        }],
    });
    let cyclic = b.build();
    assert_eq!(val(&cyclic, &cyclic, TypeMatches, list, "0"), 1);
    assert_eq!(val(&cyclic, &cyclic, FieldByteOffset, list, "0:0"), 0);
}

#[test]
fn type_relocations_follow_typedefs_and_pointers() {
    let mut b = B::default();
    let int = b.int("int", 4, true);
    let td = b.typedef("my_t", int);
    let s = b.st("s", 4, &[("a", int, 0)]);
    let sp = b.ptr(s);
    let tdp = b.typedef("s_ptr", sp);
    let local = b.build();
    let mut b = B::default();
    let long = b.int("long", 8, true);
    let t_td = b.typedef("my_t", long);
    let s = b.st("s", 16, &[]);
    let u = b.comp(true, "u", 8, &[]);
    let up = b.ptr(u);
    b.typedef("s_ptr", up);
    let sp = b.ptr(s);
    let t_tdp = b.typedef("s_ptr", sp);
    let target = b.build();
    assert_eq!(val(&local, &target, TypeSize, td, "0"), 8);
    assert_eq!(
        val(&local, &target, TypeIdTarget, td, "0"),
        u64::from(t_td.0)
    );
    // Two `s_ptr` candidates: only the one pointing at a struct is compatible.
    assert_eq!(
        val(&local, &target, TypeIdTarget, tdp, "0"),
        u64::from(t_tdp.0)
    );
    assert_eq!(val(&local, &target, TypeSize, tdp, "0"), 8);
}

#[test]
fn malformed_records_are_errors() {
    let mut b = B::default();
    let int = b.int("int", 4, true);
    let s = b.st("s", 8, &[("a", int, 0), ("b", int, 32)]);
    let anon = b.st("", 4, &[("a", int, 0)]);
    let e = b.enum32("e", false, &[("E", 1)]);
    let btf = b.build();
    let bad = |kind, id, access: &str| resolve(&btf, &btf, &relo(kind, id, access));
    for (kind, id, access) in [
        (FieldByteOffset, s, "0:2"),
        (FieldByteOffset, s, "0:1:0"),
        (FieldByteOffset, s, ""),
        (FieldByteOffset, s, "0::1"),
        (FieldByteOffset, s, "x"),
        (FieldByteOffset, anon, "0:0"),
        (TypeSize, s, "0:1"),
        (TypeExists, s, "1"),
        (EnumvalValue, e, "1"),
        (EnumvalValue, e, "0:0"),
        (EnumvalValue, s, "0"),
        (FieldByteOffset, e, "0:0"),
        (FieldByteOffset, int, "0:0"),
        (TypeSize, TypeId(99), "0"),
    ] {
        let err = bad(kind, id, access).expect_err(&format!("{kind} [{id}] {access:?}"));
        let msg = err.to_string();
        assert!(!msg.contains('\n') && !msg.is_empty(), "{msg}");
    }
    let deep = vec!["0"; 65].join(":");
    assert!(bad(FieldByteOffset, s, &deep).is_err());
    // TYPE_ID_LOCAL needs no candidate, so an anonymous type is fine.
    assert_eq!(val(&btf, &btf, TypeIdLocal, anon, "0"), u64::from(anon.0));
    // Anonymous types cannot be looked up by name.
    assert!(bad(TypeExists, anon, "0").is_err());
    assert_eq!(
        bad(TypeSize, TypeId(99), "0").unwrap_err(),
        CoreError::NoSuchType {
            kind: TypeSize,
            id: 99
        }
    );
}

/// A local BTF covering every kind, for the no-panic property.
fn mixed_btf() -> Btf {
    let mut b = B::default();
    let int = b.int("int", 4, true);
    let idx = b.int("__ARRAY_SIZE_TYPE__", 4, false);
    let arr = b.array(int, idx, 2);
    let flex = b.array(int, idx, 0);
    let inner = b.comp(true, "", 4, &[("x", int, 0, 0), ("y", int, 0, 3)]);
    let s = b.st(
        "s",
        20,
        &[
            ("a", int, 0),
            ("", inner, 32),
            ("arr", arr, 64),
            ("f", flex, 128),
        ],
    );
    let sp = b.ptr(s);
    b.typedef("sp", sp);
    b.st("s___v1", 4, &[("a", arr, 0)]);
    b.enum32("e", true, &[("A", -3), ("B", 4)]);
    b.add(Type::Fwd {
        name: "s".into(),
        union: false,
    });
    b.add(Type::Float {
        name: "double".into(),
        size: 8,
    });
    let proto = b.add(Type::FuncProto {
        ret: int,
        params: vec![ebpfvm_btf::Param {
            name: "p".into(),
            ty: sp,
        }],
    });
    let pp = b.ptr(proto);
    b.typedef("fn_t", pp);
    b.build()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_records_never_panic(
        kind in 0u32..13,
        id in 0u32..20,
        access in proptest::collection::vec(0u32..6, 1..6),
        weird in proptest::option::of("[0-9:]{0,8}"),
    ) {
        let btf = mixed_btf();
        let access = weird.unwrap_or_else(|| {
            access.iter().map(u32::to_string).collect::<Vec<_>>().join(":")
        });
        let r = relo(CoreReloKind::from_u32(kind).unwrap(), TypeId(id), &access);
        for target in [&btf, &mixed_btf()] {
            match resolve(&btf, target, &r) {
                Ok(res) => prop_assert_eq!(res.kind, r.kind),
                Err(e) => prop_assert!(!e.to_string().contains('\n')),
            }
        }
    }
}

/// The kernel's BTF has almost no flavoured names among the kinds CO-RE looks up (this
/// kernel: `nf_conn___init`, the kfunc wrapper of `nf_conn`), so the one difference from
/// libbpf (flavoured target names only as a fallback) almost never shows there; where it
/// does, libbpf would consider both and could only agree or report an ambiguity.
#[test]
fn vmlinux_has_few_flavoured_candidates() {
    let Some(vm) = ebpfvm_btf::vmlinux_btf() else {
        eprintln!(
            "skipped: {} is not readable",
            ebpfvm_btf::core::VMLINUX_BTF_PATH
        );
        return;
    };
    let flavoured: Vec<String> = vm
        .types()
        .filter(|(_, t)| {
            matches!(
                t.kind(),
                Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 | Kind::Typedef | Kind::Fwd
            )
        })
        .filter(|(_, t)| essential_name(t.name()) != t.name())
        .map(|(id, t)| format!("[{id}] {} {}", t.kind(), t.name()))
        .collect();
    eprintln!("flavoured vmlinux types: {flavoured:?}");
    assert!(flavoured.len() < 16, "{flavoured:?}");
}

#[test]
fn vmlinux_parses_quickly() {
    let Ok(data) = std::fs::read(ebpfvm_btf::core::VMLINUX_BTF_PATH) else {
        eprintln!(
            "skipped: {} is not readable",
            ebpfvm_btf::core::VMLINUX_BTF_PATH
        );
        return;
    };
    let start = std::time::Instant::now();
    let vm = Btf::parse(&data).unwrap_or_else(|e| panic!("vmlinux BTF: {e}"));
    let took = start.elapsed();
    eprintln!(
        "vmlinux BTF: {} bytes, {} types, parsed in {took:?}",
        data.len(),
        vm.len()
    );
    let task = vm
        .find_by_name_kind("task_struct", Kind::Struct)
        .expect("task_struct");
    assert!(vm.size_of(task).unwrap() > 1000);
    // Resolving against it is fast too (candidates come from the sorted name index).
    let mut b = B::default();
    let int = b.int("int", 4, true);
    let ts = b.st("task_struct", 8, &[("pid", int, 0), ("tgid", int, 32)]);
    let local = b.build();
    let start = std::time::Instant::now();
    for _ in 0..1000 {
        let res = ok(&local, &vm, &relo(FieldByteOffset, ts, "0:0"));
        assert!(res.new_val > 0);
    }
    eprintln!("1000 resolutions against vmlinux: {:?}", start.elapsed());
}
