//! `.BTF.ext`: func_info, line_info and CO-RE records from hand-built blobs, and every
//! error path.

use ebpfvm_btf::{
    Blob as Which, Btf, BtfError, BtfExt, CoreRelo, CoreReloKind, FuncInfo, LineInfo, TypeId,
};

use crate::blob::*;

/// A BTF with `int` (1), a prototype (2), FUNC `prog` (3), struct `s` (4) and the strings
/// the ext records use. Returns the blob and the string offsets
/// (section, file, line text, access).
fn base() -> (Blob, [u32; 4]) {
    let mut b = Blob::new();
    let int = b.int("int", 4, 1, 32);
    let p = b.proto(int, &[]);
    b.func("prog", p, 1);
    b.composite(STRUCT, "s", 8, false, &[("a", int, 0), ("b", int, 32)]);
    let offs = [b.s("xdp"), b.s("prog.c"), b.s("  return 0;"), b.s("0:1")];
    (b, offs)
}

fn good_ext(offs: [u32; 4]) -> Vec<u8> {
    let [sec, file, text, access] = offs;
    let func = ext_area(8, &[(sec, vec![vec![0, 3], vec![16, 3]])]);
    let line = ext_area(
        16,
        &[(
            sec,
            vec![
                vec![0, file, text, (12 << 10) | 5],
                vec![8, file, 0, 13 << 10],
            ],
        )],
    );
    let core = ext_area(
        16,
        &[(sec, vec![vec![8, 4, access, 0], vec![16, 4, access, 12]])],
    );
    ext_blob(&func, &line, Some(&core))
}

fn parse_ext(b: &Blob, ext: &[u8]) -> Result<BtfExt, BtfError> {
    let btf = Btf::parse(&b.bytes()).unwrap();
    BtfExt::parse(ext, &btf)
}

#[test]
fn all_three_record_kinds() {
    let (b, offs) = base();
    let ext = parse_ext(&b, &good_ext(offs)).unwrap();
    assert_eq!(ext.func_info.len(), 1);
    assert_eq!(ext.func_info[0].section, "xdp");
    assert_eq!(
        ext.func_info[0].records,
        [
            FuncInfo {
                insn_off: 0,
                type_id: TypeId(3)
            },
            FuncInfo {
                insn_off: 16,
                type_id: TypeId(3)
            }
        ]
    );
    assert_eq!(ext.line_info[0].section, "xdp");
    assert_eq!(
        ext.line_info[0].records,
        [
            LineInfo {
                insn_off: 0,
                file: "prog.c".into(),
                line_text: "  return 0;".into(),
                line: 12,
                col: 5
            },
            LineInfo {
                insn_off: 8,
                file: "prog.c".into(),
                line_text: "".into(),
                line: 13,
                col: 0
            },
        ]
    );
    assert_eq!(
        ext.core_relos[0].records,
        [
            CoreRelo {
                insn_off: 8,
                type_id: TypeId(4),
                access: "0:1".into(),
                kind: CoreReloKind::FieldByteOffset
            },
            CoreRelo {
                insn_off: 16,
                type_id: TypeId(4),
                access: "0:1".into(),
                kind: CoreReloKind::TypeMatches
            },
        ]
    );
    assert_eq!(ext.core_relos[0].records[0].access_indices(), [0, 1]);
}

#[test]
fn every_core_relo_kind_has_libbpf_number_and_name() {
    let names = [
        "field_byte_offset",
        "field_byte_size",
        "field_exists",
        "field_signed",
        "field_lshift_u64",
        "field_rshift_u64",
        "type_id_local",
        "type_id_target",
        "type_exists",
        "type_size",
        "enumval_exists",
        "enumval_value",
        "type_matches",
    ];
    for (n, name) in names.iter().enumerate() {
        let k = CoreReloKind::from_u32(n as u32).unwrap();
        assert_eq!(k.as_u32(), n as u32);
        assert_eq!(k.as_str(), *name);
        assert_eq!(k.to_string(), *name);
        assert_eq!(k.is_field(), n <= 5);
        assert_eq!(k.is_type(), matches!(n, 6..=9 | 12));
        assert_eq!(k.is_enumval(), matches!(n, 10 | 11));
    }
    assert_eq!(CoreReloKind::from_u32(13), None);
}

#[test]
fn larger_records_short_header_and_empty_areas() {
    let (b, [sec, file, text, _]) = base();
    // Records bigger than libbpf's minimum (forward compatible): extra words ignored.
    let func = ext_area(12, &[(sec, vec![vec![0, 3, 0xdead]])]);
    let line = ext_area(20, &[(sec, vec![vec![0, file, text, 1 << 10, 7]])]);
    let ext = parse_ext(&b, &ext_blob(&func, &line, None)).unwrap();
    assert_eq!(ext.func_info[0].records[0].type_id, TypeId(3));
    assert_eq!(ext.line_info[0].records[0].line, 1);
    // A 24-byte header has no CO-RE relocations.
    assert!(ext.core_relos.is_empty());
    // Empty areas.
    let ext = parse_ext(&b, &ext_blob(&[], &[], Some(&[]))).unwrap();
    assert_eq!(ext, BtfExt::default());
    // Several blocks.
    let func = ext_area(8, &[(sec, vec![vec![0, 3]]), (file, vec![vec![8, 3]])]);
    let ext = parse_ext(&b, &ext_blob(&func, &[], None)).unwrap();
    assert_eq!(ext.func_info.len(), 2);
    assert_eq!(ext.func_info[1].section, "prog.c");
}

#[test]
fn header_errors() {
    let (b, offs) = base();
    let good = good_ext(offs);
    let with = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut e = good.clone();
        f(&mut e);
        parse_ext(&b, &e).unwrap_err()
    };
    assert!(matches!(
        parse_ext(&b, &good[..3]),
        Err(BtfError::TooShort {
            blob: Which::BtfExt,
            ..
        })
    ));
    assert_eq!(
        with(&|e| e[0] = 0),
        BtfError::BadMagic {
            blob: Which::BtfExt,
            magic: 0xeb00
        }
    );
    assert_eq!(
        with(&|e| e.swap(0, 1)),
        BtfError::BigEndian {
            blob: Which::BtfExt
        }
    );
    assert_eq!(
        with(&|e| e[2] = 9),
        BtfError::BadVersion {
            blob: Which::BtfExt,
            version: 9
        }
    );
    assert_eq!(
        with(&|e| e[3] = 1),
        BtfError::BadFlags {
            blob: Which::BtfExt,
            flags: 1
        }
    );
    assert!(matches!(
        with(&|e| e[4] = 20),
        BtfError::BadHeaderLen {
            hdr_len: 20,
            min: 24,
            ..
        }
    ));
    // func_info length beyond the blob.
    let e = with(&|e| e[12] = 0xff);
    assert!(
        matches!(
            e,
            BtfError::SectionOutOfBounds {
                blob: Which::BtfExt,
                section: "func_info",
                ..
            }
        ),
        "{e}"
    );
    let e = with(&|e| e[24..28].copy_from_slice(&u32::MAX.to_le_bytes()));
    assert!(
        matches!(
            e,
            BtfError::SectionOutOfBounds {
                section: "core_relo",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn area_errors() {
    let (b, [sec, file, text, access]) = base();
    let err = |func: Vec<u8>, line: Vec<u8>, core: Vec<u8>| {
        parse_ext(&b, &ext_blob(&func, &line, Some(&core))).unwrap_err()
    };
    let e = err(ext_area(4, &[]), vec![], vec![]);
    assert_eq!(
        e,
        BtfError::ExtRecordSize {
            info: "func_info",
            record_size: 4,
            min: 8
        }
    );
    assert_eq!(
        e.to_string(),
        ".BTF.ext func_info record size 4 is invalid (minimum 8, multiple of 4)"
    );
    let e = err(vec![], ext_area(18, &[]), vec![]);
    assert_eq!(
        e,
        BtfError::ExtRecordSize {
            info: "line_info",
            record_size: 18,
            min: 16
        }
    );
    let e = err(vec![], vec![], ext_area(12, &[]));
    assert_eq!(
        e,
        BtfError::ExtRecordSize {
            info: "core_relo",
            record_size: 12,
            min: 16
        }
    );
    // An area too short for its record size.
    let e = err(vec![8, 0], vec![], vec![]);
    assert!(
        matches!(
            e,
            BtfError::ExtTruncated {
                info: "func_info",
                offset: 0,
                ..
            }
        ),
        "{e}"
    );
    // A block header cut short.
    let mut a = ext_area(8, &[]);
    a.extend([1, 0, 0, 0]);
    let e = err(a, vec![], vec![]);
    assert!(
        matches!(
            e,
            BtfError::ExtTruncated {
                info: "func_info",
                offset: 4,
                need: 8,
                ..
            }
        ),
        "{e}"
    );
    // num_info claims more records than there are.
    let mut a = ext_area(8, &[(sec, vec![vec![0, 3]])]);
    a[8] = 200;
    let e = err(a, vec![], vec![]);
    assert!(
        matches!(
            e,
            BtfError::ExtTruncated {
                need: 1600,
                have: 8,
                ..
            }
        ),
        "{e}"
    );
    // A huge num_info does not allocate.
    let mut a = ext_area(8, &[(sec, vec![vec![0, 3]])]);
    a[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        err(a, vec![], vec![]),
        BtfError::ExtTruncated { .. }
    ));
    // An empty block.
    let e = err(ext_area(8, &[(sec, vec![])]), vec![], vec![]);
    assert_eq!(
        e,
        BtfError::ExtEmptyBlock {
            info: "func_info",
            section: "xdp".into()
        }
    );
    // A section name offset beyond the strings.
    let e = err(ext_area(8, &[(5000, vec![vec![0, 3]])]), vec![], vec![]);
    assert!(
        matches!(e, BtfError::StringOffset { offset: 5000, .. }),
        "{e}"
    );
    let _ = (file, text, access);
}

#[test]
fn record_errors() {
    let (b, [sec, file, text, access]) = base();
    let err = |func: Vec<u8>, line: Vec<u8>, core: Vec<u8>| {
        parse_ext(&b, &ext_blob(&func, &line, Some(&core))).unwrap_err()
    };
    let e = err(ext_area(8, &[(sec, vec![vec![0, 1]])]), vec![], vec![]);
    assert_eq!(
        e.to_string(),
        ".BTF.ext func_info section xdp record 0: type 1 is INT, expected FUNC"
    );
    let e = err(
        ext_area(8, &[(sec, vec![vec![0, 3], vec![8, 77]])]),
        vec![],
        vec![],
    );
    assert_eq!(
        e.to_string(),
        ".BTF.ext func_info section xdp record 1: type 77 does not exist"
    );
    let e = err(
        vec![],
        ext_area(16, &[(sec, vec![vec![0, 999, text, 0]])]),
        vec![],
    );
    assert!(
        e.to_string()
            .starts_with(".BTF.ext line_info section xdp record 0 file name: string offset 999"),
        "{e}"
    );
    let e = err(
        vec![],
        ext_area(16, &[(sec, vec![vec![0, file, 999, 0]])]),
        vec![],
    );
    assert!(
        matches!(e, BtfError::StringOffset { offset: 999, .. }),
        "{e}"
    );
    let e = err(
        vec![],
        vec![],
        ext_area(16, &[(sec, vec![vec![0, 4, access, 13]])]),
    );
    assert_eq!(
        e.to_string(),
        ".BTF.ext core_relo section xdp record 0: unknown relocation kind 13"
    );
    let e = err(
        vec![],
        vec![],
        ext_area(16, &[(sec, vec![vec![0, 50, access, 0]])]),
    );
    assert_eq!(
        e.to_string(),
        ".BTF.ext core_relo section xdp record 0: type 50 does not exist"
    );
    for bad in ["", "0:", ":1", "a", "0:1x", "99999999999"] {
        let mut b2 = b.clone();
        let off = b2.s(bad);
        let btf = Btf::parse(&b2.bytes()).unwrap();
        let core = ext_area(16, &[(sec, vec![vec![0, 4, off, 0]])]);
        let e = BtfExt::parse(&ext_blob(&[], &[], Some(&core)), &btf).unwrap_err();
        assert!(
            matches!(&e, BtfError::ExtRecord { info: "core_relo", problem, .. } if problem.contains("access string")),
            "{bad:?}: {e}"
        );
    }
}
