//! Every `.BTF` error path, each from a hand-built blob, with its exact message.

use ebpfvm_btf::{Blob as Which, Btf, BtfError, Kind};

use crate::blob::*;

fn err(bytes: &[u8]) -> BtfError {
    match Btf::parse(bytes) {
        Ok(_) => panic!("blob unexpectedly parsed"),
        Err(e) => e,
    }
}

fn one_int() -> Blob {
    let mut b = Blob::new();
    b.int("int", 4, 1, 32);
    b
}

/// Parses a blob of `int` followed by one type built by `f`; the error.
fn err_with(f: impl FnOnce(&mut Blob)) -> BtfError {
    let mut b = one_int();
    f(&mut b);
    err(&b.bytes())
}

#[test]
fn header_errors() {
    let b = one_int();
    assert_eq!(
        err(&[0x9f]),
        BtfError::TooShort {
            blob: Which::Btf,
            len: 1,
            need: 24
        }
    );
    assert_eq!(
        err(&b.bytes_with(|h| h.magic = 0x1234)),
        BtfError::BadMagic {
            blob: Which::Btf,
            magic: 0x1234
        }
    );
    let e = err(&b.bytes_with(|h| h.magic = 0x9feb));
    assert_eq!(e, BtfError::BigEndian { blob: Which::Btf });
    assert_eq!(
        e.to_string(),
        ".BTF is big-endian; only little-endian BTF is supported"
    );
    assert_eq!(
        err(&b.bytes_with(|h| h.version = 2)),
        BtfError::BadVersion {
            blob: Which::Btf,
            version: 2
        }
    );
    assert_eq!(
        err(&b.bytes_with(|h| h.flags = 1)),
        BtfError::BadFlags {
            blob: Which::Btf,
            flags: 1
        }
    );
    assert!(matches!(
        err(&b.bytes_with(|h| h.hdr_len = 16)),
        BtfError::BadHeaderLen {
            hdr_len: 16,
            min: 24,
            ..
        }
    ));
    assert!(matches!(
        err(&b.bytes_with(|h| h.hdr_len = 100_000)),
        BtfError::BadHeaderLen {
            hdr_len: 100_000,
            ..
        }
    ));
    let e = err(&b.bytes_with(|h| h.str_len += 1));
    assert!(
        matches!(
            e,
            BtfError::SectionOutOfBounds {
                section: "string",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        ".BTF string section (offset 16, length 6) exceeds the blob (21 bytes after the header)"
    );
    let e = err(&b.bytes_with(|h| h.type_len = u32::MAX));
    assert!(
        matches!(
            e,
            BtfError::SectionOutOfBounds {
                section: "type",
                ..
            }
        ),
        "{e}"
    );
    let e = err(&b.bytes_with(|h| h.str_off = u32::MAX));
    assert!(
        matches!(
            e,
            BtfError::SectionOutOfBounds {
                section: "string",
                ..
            }
        ),
        "{e}"
    );
    assert!(matches!(
        err(&b.bytes_with(|h| h.type_len = 14)),
        BtfError::Misaligned {
            section: "type",
            ..
        }
    ));
    assert!(matches!(
        err(&b.bytes_with(|h| {
            h.str_off = 0;
            h.str_len = 8
        })),
        BtfError::SectionsOverlap { .. }
    ));
}

#[test]
fn string_section_errors() {
    let b = one_int();
    assert_eq!(
        err(&b.bytes_with(|h| h.str_len = 0)),
        BtfError::BadStringSection {
            reason: "it is empty"
        }
    );
    let mut bad = b.clone();
    bad.strings[0] = b'x';
    assert_eq!(
        err(&bad.bytes()),
        BtfError::BadStringSection {
            reason: "it does not start with a NUL byte"
        }
    );
    let mut bad = b.clone();
    bad.strings.push(b'x');
    assert_eq!(
        err(&bad.bytes()),
        BtfError::BadStringSection {
            reason: "it does not end with a NUL byte"
        }
    );
    // A name offset beyond the section.
    let mut bad = b.clone();
    bad.types[0] = 100;
    let e = err(&bad.bytes());
    assert_eq!(
        e.to_string(),
        "type 1: name: string offset 100 beyond the string section (5 bytes)"
    );
    // Invalid UTF-8.
    let mut bad = b.clone();
    bad.strings[1] = 0xff;
    assert!(matches!(
        err(&bad.bytes()),
        BtfError::BadString { offset: 1, .. }
    ));
    // A member name beyond the section names the member.
    let e = err_with(|b| {
        b.types.extend([0, (STRUCT << 24) | 1, 4, 77, 1, 0]);
    });
    assert_eq!(
        e.to_string(),
        "type 2: member 0 name: string offset 77 beyond the string section (5 bytes)"
    );
}

#[test]
fn type_section_errors() {
    // Truncated type header.
    let e = err_with(|b| b.types.extend([0, INT << 24]));
    assert_eq!(
        e,
        BtfError::TypeTruncated {
            id: 2,
            kind: Kind::Void,
            need: 12,
            have: 8
        }
    );
    // Truncated trailing data.
    let e = err_with(|b| b.types.extend([0, (STRUCT << 24) | 2, 8, 0, 1, 0]));
    assert_eq!(
        e,
        BtfError::TypeTruncated {
            id: 2,
            kind: Kind::Struct,
            need: 36,
            have: 24
        }
    );
    assert_eq!(
        e.to_string(),
        "type 2: STRUCT needs 36 bytes but the type section has 24 left"
    );
    // Unknown kinds.
    assert_eq!(
        err_with(|b| b.types.extend([0, 20 << 24, 0])),
        BtfError::UnknownKind { id: 2, kind: 20 }
    );
    assert_eq!(
        err_with(|b| b.types.extend([0, 0, 0])),
        BtfError::UnknownKind { id: 2, kind: 0 }
    );
    // Reserved info bits.
    assert!(matches!(
        err_with(|b| b.types.extend([0, (PTR << 24) | 0x0001_0000, 1])),
        BtfError::InvalidField { field: "info", .. }
    ));
}

#[test]
fn invalid_fields() {
    let field = |e: BtfError| match e {
        BtfError::InvalidField { field, kind, .. } => (kind, field),
        e => panic!("unexpected error {e}"),
    };
    assert_eq!(
        field(err_with(|b| {
            b.int("x", 3, 0, 8);
        })),
        (Kind::Int, "size")
    );
    assert_eq!(
        field(err_with(|b| {
            b.int("x", 4, 3, 8);
        })),
        (Kind::Int, "encoding")
    );
    assert_eq!(
        field(err_with(|b| {
            b.int("x", 4, 0, 0);
        })),
        (Kind::Int, "bits")
    );
    assert_eq!(
        field(err_with(|b| {
            b.int("x", 4, 0, 33);
        })),
        (Kind::Int, "bit offset + bits")
    );
    assert_eq!(
        field(err_with(|b| {
            b.ty("x", INT, 0, false, 4, &[0x8000_0020]);
        })),
        (Kind::Int, "int data")
    );
    assert_eq!(
        field(err_with(|b| {
            b.ty("x", INT, 1, false, 4, &[32]);
        })),
        (Kind::Int, "vlen")
    );
    assert_eq!(
        field(err_with(|b| {
            b.ty("x", INT, 0, true, 4, &[32]);
        })),
        (Kind::Int, "kind_flag")
    );
    assert_eq!(
        field(err_with(|b| {
            b.ty("", PTR, 1, false, 1, &[]);
        })),
        (Kind::Ptr, "vlen")
    );
    assert_eq!(
        field(err_with(|b| {
            b.ty("", CONST, 0, true, 1, &[]);
        })),
        (Kind::Const, "kind_flag")
    );
    assert_eq!(
        field(err_with(|b| {
            b.ty("", ARRAY, 0, false, 4, &[1, 1, 1]);
        })),
        (Kind::Array, "size")
    );
    assert_eq!(
        field(err_with(|b| {
            b.ty("e", ENUM, 0, false, 3, &[]);
        })),
        (Kind::Enum, "size")
    );
    assert_eq!(
        field(err_with(|b| {
            b.ty("e", ENUM64, 0, false, 16, &[]);
        })),
        (Kind::Enum64, "size")
    );
    assert_eq!(
        field(err_with(|b| {
            b.ty("f", FWD, 0, false, 1, &[]);
        })),
        (Kind::Fwd, "type")
    );
    assert_eq!(
        field(err_with(|b| {
            b.ty("f", FWD, 1, false, 0, &[]);
        })),
        (Kind::Fwd, "vlen")
    );
    assert_eq!(
        field(err_with(|b| {
            let p = b.proto(1, &[]);
            b.func("f", p, 3);
        })),
        (Kind::Func, "linkage")
    );
    assert_eq!(
        field(err_with(|b| {
            b.ty("v", VAR, 0, false, 1, &[3]);
        })),
        (Kind::Var, "linkage")
    );
    assert_eq!(
        field(err_with(|b| {
            b.ty("d", DATASEC, 0, true, 0, &[]);
        })),
        (Kind::DataSec, "kind_flag")
    );
    assert_eq!(
        field(err_with(|b| {
            b.ty("f", FLOAT, 0, false, 3, &[]);
        })),
        (Kind::Float, "size")
    );
    assert_eq!(
        field(err_with(|b| {
            b.ty("t", DECL_TAG, 0, false, 1, &[(-2i32) as u32]);
        })),
        (Kind::DeclTag, "component_idx")
    );
    assert_eq!(
        field(err_with(|b| {
            b.ty("t", TYPE_TAG, 1, false, 1, &[]);
        })),
        (Kind::TypeTag, "vlen")
    );
    // `...` must be the last parameter and unnamed.
    assert_eq!(
        field(err_with(|b| {
            b.proto(1, &[("", 0), ("", 1)]);
        })),
        (Kind::FuncProto, "void param")
    );
    assert_eq!(
        field(err_with(|b| {
            b.proto(1, &[("x", 0)]);
        })),
        (Kind::FuncProto, "void param")
    );
    let e = err_with(|b| {
        b.int("x", 4, 0, 33);
    });
    assert_eq!(
        e.to_string(),
        "type 2: INT has invalid bit offset + bits 33"
    );
}

#[test]
fn name_rules() {
    let name = |e: BtfError| match e {
        BtfError::BadName { kind, expected, .. } => (kind, expected),
        e => panic!("unexpected error {e}"),
    };
    assert_eq!(
        name(err_with(|b| {
            b.ty("p", PTR, 0, false, 1, &[]);
        })),
        (Kind::Ptr, false)
    );
    assert_eq!(
        name(err_with(|b| {
            b.ty("a", ARRAY, 0, false, 0, &[1, 1, 1]);
        })),
        (Kind::Array, false)
    );
    assert_eq!(
        name(err_with(|b| {
            b.ty("p", FUNC_PROTO, 0, false, 1, &[]);
        })),
        (Kind::FuncProto, false)
    );
    assert_eq!(
        name(err_with(|b| {
            b.int("", 4, 0, 32);
        })),
        (Kind::Int, true)
    );
    assert_eq!(
        name(err_with(|b| {
            b.typedef("", 1);
        })),
        (Kind::Typedef, true)
    );
    assert_eq!(
        name(err_with(|b| {
            b.ty("", FWD, 0, false, 0, &[]);
        })),
        (Kind::Fwd, true)
    );
    assert_eq!(
        name(err_with(|b| {
            b.ty("", VAR, 0, false, 1, &[0]);
        })),
        (Kind::Var, true)
    );
    assert_eq!(
        name(err_with(|b| {
            b.ty("", DATASEC, 0, false, 0, &[]);
        })),
        (Kind::DataSec, true)
    );
    assert_eq!(
        name(err_with(|b| {
            b.ty("", FLOAT, 0, false, 4, &[]);
        })),
        (Kind::Float, true)
    );
    assert_eq!(
        name(err_with(|b| {
            b.ty("", DECL_TAG, 0, false, 1, &[u32::MAX]);
        })),
        (Kind::DeclTag, true)
    );
    assert_eq!(
        name(err_with(|b| {
            b.ty("", TYPE_TAG, 0, false, 1, &[]);
        })),
        (Kind::TypeTag, true)
    );
    let e = err_with(|b| {
        b.ty("p", PTR, 0, false, 1, &[]);
    });
    assert_eq!(e.to_string(), "type 2: PTR must not have a name");
    let e = err_with(|b| {
        let p = b.proto(1, &[]);
        b.func("", p, 0);
    });
    assert_eq!(e.to_string(), "type 3: FUNC must have a name");
}

#[test]
fn dangling_references() {
    let e = err_with(|b| {
        b.composite(
            STRUCT,
            "s",
            8,
            false,
            &[("a", 1, 0), ("b", 1, 32), ("c", 99, 0)],
        );
    });
    assert_eq!(
        e.to_string(),
        "type 2: member 2 refers to type 99 beyond the last type 2"
    );
    let e = err_with(|b| {
        b.ptr(3);
    });
    assert_eq!(
        e.to_string(),
        "type 2: target refers to type 3 beyond the last type 2"
    );
    let e = err_with(|b| {
        b.array(1, 7, 1);
    });
    assert_eq!(
        e.to_string(),
        "type 2: index type refers to type 7 beyond the last type 2"
    );
    let e = err_with(|b| {
        b.proto(9, &[]);
    });
    assert_eq!(
        e.to_string(),
        "type 2: return type refers to type 9 beyond the last type 2"
    );
    let e = err_with(|b| {
        b.proto(1, &[("x", 1), ("y", 8)]);
    });
    assert_eq!(
        e.to_string(),
        "type 2: param 1 refers to type 8 beyond the last type 2"
    );
    let e = err_with(|b| {
        b.ty(".data", DATASEC, 1, false, 0, &[5, 0, 4]);
    });
    assert_eq!(
        e.to_string(),
        "type 2: variable 0 refers to type 5 beyond the last type 2"
    );
    let e = err_with(|b| {
        b.func("f", u32::MAX, 0);
    });
    assert!(matches!(
        e,
        BtfError::DanglingType {
            target: u32::MAX,
            ..
        }
    ));
}

#[test]
fn wrong_referent_kinds() {
    let kind = |e: BtfError| match e {
        BtfError::WrongKind { kind, expected, .. } => (kind, expected),
        e => panic!("unexpected error {e}"),
    };
    // FUNC must point at a FUNC_PROTO.
    let e = err_with(|b| {
        b.func("f", 1, 0);
    });
    assert_eq!(
        e.to_string(),
        "type 2: prototype refers to type 1 (INT), expected FUNC_PROTO"
    );
    // DATASEC entries must be VARs (or FUNCs).
    assert_eq!(
        kind(err_with(|b| {
            b.ty(".d", DATASEC, 1, false, 0, &[1, 0, 4]);
        })),
        (Kind::Int, "VAR or FUNC")
    );
    // Declarations are not types.
    assert_eq!(
        kind(err_with(|b| {
            let v = b.ty("v", VAR, 0, false, 1, &[0]);
            b.ptr(v);
        })),
        (Kind::Var, "a type")
    );
    assert_eq!(
        kind(err_with(|b| {
            let p = b.proto(1, &[]);
            let f = b.func("f", p, 0);
            b.typedef("t", f);
        })),
        (Kind::Func, "a type")
    );
    // A member, array element or variable cannot be void.
    assert_eq!(
        kind(err_with(|b| {
            b.composite(STRUCT, "s", 4, false, &[("a", 0, 0)]);
        })),
        (Kind::Void, "a non-void type")
    );
    assert_eq!(
        kind(err_with(|b| {
            b.array(0, 1, 1);
        })),
        (Kind::Void, "a non-void type")
    );
    assert_eq!(
        kind(err_with(|b| {
            b.ty("v", VAR, 0, false, 0, &[0]);
        })),
        (Kind::Void, "a non-void type")
    );
    // DECL_TAG targets.
    assert_eq!(
        kind(err_with(|b| {
            b.ty("t", DECL_TAG, 0, false, 1, &[u32::MAX]);
        })),
        (Kind::Int, "STRUCT, UNION, VAR, FUNC or TYPEDEF")
    );
}

#[test]
fn decl_tag_component_out_of_range() {
    let e = err_with(|b| {
        let s = b.composite(STRUCT, "s", 4, false, &[("a", 1, 0)]);
        b.ty("t", DECL_TAG, 0, false, s, &[1]);
    });
    assert_eq!(
        e,
        BtfError::BadComponent {
            id: 3,
            component: 1,
            target: 2,
            count: 1
        }
    );
    assert_eq!(
        e.to_string(),
        "type 3: DECL_TAG component 1 is out of range for type 2 (1 components)"
    );
    let e = err_with(|b| {
        let p = b.proto(1, &[("a", 1)]);
        let f = b.func("f", p, 0);
        b.ty("t", DECL_TAG, 0, false, f, &[1]);
    });
    assert!(matches!(
        e,
        BtfError::BadComponent {
            component: 1,
            count: 1,
            ..
        }
    ));
    let e = err_with(|b| {
        let v = b.ty("v", VAR, 0, false, 1, &[0]);
        b.ty("t", DECL_TAG, 0, false, v, &[0]);
    });
    assert!(matches!(e, BtfError::BadComponent { count: 0, .. }));
}

#[test]
fn cycles_not_broken_by_a_pointer() {
    // typedef A -> const -> typedef A
    let e = err_with(|b| {
        b.typedef("a", 3); // 2
        b.ty("", CONST, 0, false, 2, &[]); // 3
    });
    assert!(matches!(e, BtfError::Cycle { .. }), "{e}");
    assert!(e
        .to_string()
        .ends_with("type graph has a cycle not broken by a pointer"));
    // A struct containing itself by value (through an array).
    let e = err_with(|b| {
        let a = b.array(3, 1, 2); // 2
        b.composite(STRUCT, "s", 8, false, &[("x", a, 0)]); // 3
    });
    assert!(matches!(e, BtfError::Cycle { .. }), "{e}");
    // A self-referencing modifier.
    let e = err_with(|b| {
        b.ty("", VOLATILE, 0, false, 2, &[]);
    });
    assert_eq!(e, BtfError::Cycle { id: 2 });
    // A function prototype returning itself.
    let e = err_with(|b| {
        b.proto(2, &[]);
    });
    assert_eq!(e, BtfError::Cycle { id: 2 });
}

#[test]
fn long_chains_do_not_overflow_the_stack() {
    // 100k typedefs in a chain: parse, queries and the C printer stay iterative or
    // depth-limited.
    let mut b = one_int();
    for i in 0..100_000u32 {
        b.ty("t", TYPEDEF, 0, false, i + 1, &[]);
    }
    let btf = Btf::parse(&b.bytes()).unwrap();
    let last = ebpfvm_btf::TypeId(btf.last_id());
    assert_eq!(btf.skip_mods(last), ebpfvm_btf::TypeId(1));
    assert_eq!(btf.size_of(last), Ok(4));
    let c = btf.to_c();
    assert!(c.contains("typedef int t;"));
}

#[test]
fn shared_long_names_are_budgeted() {
    // One 1 MiB name shared by 2,000 types would copy 2 GB: refused, not allocated.
    let mut b = Blob::new();
    let long = "n".repeat(1 << 20);
    let off = b.s(&long);
    for _ in 0..2_000 {
        b.types.extend([off, INT << 24, 4, 32]);
    }
    let e = err(&b.bytes());
    assert!(
        matches!(
            e,
            BtfError::StringBudget {
                blob: Which::Btf,
                ..
            }
        ),
        "{e}"
    );
}
