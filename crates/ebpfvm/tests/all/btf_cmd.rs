//! `ebpfvm btf dump FILE [--json]`: C and JSON output, and every way it can refuse input.

use object::{Object, ObjectSection};

use crate::util::{corpus_object, ebpfvm, in_process, s, temp_dir, write};

/// A raw `.BTF` blob: header, the given type words, the given strings.
fn btf_blob(types: &[u32], strings: &[u8]) -> Vec<u8> {
    let type_len = (types.len() * 4) as u32;
    let mut out = vec![0x9f, 0xeb, 1, 0];
    for w in [24, 0, type_len, type_len, strings.len() as u32] {
        out.extend_from_slice(&w.to_le_bytes());
    }
    for w in types {
        out.extend_from_slice(&w.to_le_bytes());
    }
    out.extend_from_slice(strings);
    out
}

/// `int` (1) and `typedef int myint` (2).
fn typedef_blob() -> Vec<u8> {
    btf_blob(
        &[1, 1 << 24, 4, (1 << 24) | 32, 5, 8 << 24, 1],
        b"\0int\0myint\0",
    )
}

#[test]
fn dumps_a_corpus_object_as_c() {
    let Some(obj) = corpus_object("build/map_in_map_typedef.o") else {
        return;
    };
    let out = ebpfvm(&["btf", "dump", s(&obj)]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    assert_eq!(
        out.stdout,
        "typedef unsigned int uint32_t;

typedef struct {
\tint (*type)[2];
\tuint32_t *key;
\tuint32_t *value;
\tint (*max_entries)[1];
} inner_map_t;

typedef struct {
\tint (*type)[12];
\tint (*max_entries)[1];
\tuint32_t *key;
\tinner_map_t *values[0];
} outer_map_t;

/* .maps */
outer_map_t outer_map_1 __attribute__((section(\".maps\")));
outer_map_t outer_map_2 __attribute__((section(\".maps\")));

/* functions */
int func(void *ctx);
"
    );
}

#[test]
fn dumps_json_type_list() {
    let Some(obj) = corpus_object("build/packet_access.o") else {
        return;
    };
    let out = ebpfvm(&["btf", "dump", s(&obj), "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 1);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let types = v["types"].as_array().unwrap();
    let xdp = types.iter().find(|t| t["name"] == "xdp_md").unwrap();
    assert_eq!(xdp["kind"], "STRUCT");
    assert_eq!(xdp["size"], 24);
    assert_eq!(xdp["vlen"], 6);
    let members = xdp["members"].as_array().unwrap();
    assert_eq!(members[1]["name"], "data_end");
    assert_eq!(members[1]["bits_offset"], 32);
    assert_eq!(members[1]["bitfield_size"], 0);
    let u32_id = members[0]["type_id"].as_u64().unwrap();
    let td = types.iter().find(|t| t["id"] == u32_id).unwrap();
    assert_eq!(
        (td["kind"].as_str(), td["name"].as_str()),
        (Some("TYPEDEF"), Some("__u32"))
    );
    // Ids run 1..=N in order.
    for (i, t) in types.iter().enumerate() {
        assert_eq!(t["id"], i + 1);
    }
    assert!(types
        .iter()
        .any(|t| t["kind"] == "FUNC" && t["linkage"] == "global"));
}

#[test]
fn json_of_a_hand_built_blob() {
    let dir = temp_dir("btf-json");
    let f = write(&dir, "t.btf", typedef_blob());
    let (code, out, err) = in_process(&["btf", "dump", s(&f), "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"types": [
            {"id": 1, "kind": "INT", "name": "int", "size": 4, "bits_offset": 0, "nr_bits": 32,
             "encoding": "SIGNED"},
            {"id": 2, "kind": "TYPEDEF", "name": "myint", "type_id": 1},
        ]})
    );
}

#[test]
fn json_has_every_kind() {
    use ebpfvm_btf::*;
    let int = TypeId(1);
    let types = vec![
        Type::Int {
            name: "int".into(),
            size: 4,
            encoding: IntEncoding::Signed,
            bit_offset: 0,
            bits: 32,
        },
        Type::Ptr { target: int },
        Type::Array {
            elem: int,
            index: int,
            nelems: 3,
        },
        Type::Struct(Composite {
            name: "s".into(),
            size: 4,
            members: vec![Member {
                name: "b".into(),
                ty: int,
                bit_offset: 1,
                bitfield_bits: 2,
            }],
        }),
        Type::Union(Composite {
            name: "u".into(),
            size: 4,
            members: vec![],
        }),
        Type::Enum {
            name: "e".into(),
            size: 4,
            signed: true,
            values: vec![("A".into(), -1)],
        },
        Type::Fwd {
            name: "f".into(),
            union: true,
        },
        Type::Typedef {
            name: "t".into(),
            target: int,
        },
        Type::Volatile { target: int },
        Type::Const { target: int },
        Type::Restrict { target: TypeId(2) },
        Type::Func {
            name: "fn".into(),
            proto: TypeId(13),
            linkage: FuncLinkage::Static,
        },
        Type::FuncProto {
            ret: int,
            params: vec![Param {
                name: "x".into(),
                ty: int,
            }],
        },
        Type::Var {
            name: "v".into(),
            ty: int,
            linkage: VarLinkage::GlobalExtern,
        },
        Type::DataSec {
            name: ".data".into(),
            size: 4,
            vars: vec![VarSecInfo {
                ty: TypeId(14),
                offset: 0,
                size: 4,
            }],
        },
        Type::Float {
            name: "float".into(),
            size: 4,
        },
        Type::DeclTag {
            name: "d".into(),
            target: TypeId(4),
            component: 0,
        },
        Type::TypeTag {
            name: "user".into(),
            target: int,
        },
        Type::Enum64 {
            name: "e64".into(),
            size: 8,
            signed: false,
            values: vec![("B".into(), i128::from(u64::MAX))],
        },
    ];
    let btf = Btf::from_types(types).unwrap();
    let dir = temp_dir("btf-json-kinds");
    let f = write(&dir, "k.btf", btf.to_bytes());
    let (code, out, err) = in_process(&["btf", "dump", s(&f), "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let types = v["types"].as_array().unwrap();
    let kinds: Vec<&str> = types.iter().map(|t| t["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "INT",
            "PTR",
            "ARRAY",
            "STRUCT",
            "UNION",
            "ENUM",
            "FWD",
            "TYPEDEF",
            "VOLATILE",
            "CONST",
            "RESTRICT",
            "FUNC",
            "FUNC_PROTO",
            "VAR",
            "DATASEC",
            "FLOAT",
            "DECL_TAG",
            "TYPE_TAG",
            "ENUM64"
        ]
    );
    let t = |i: usize| &types[i - 1];
    assert_eq!(t(3)["nr_elems"], 3);
    assert_eq!(t(3)["index_type_id"], 1);
    assert_eq!(t(4)["members"][0]["bitfield_size"], 2);
    assert_eq!(t(6)["values"][0]["val"], -1);
    assert_eq!(t(6)["encoding"], "SIGNED");
    assert_eq!(t(7)["fwd_kind"], "union");
    assert_eq!(t(11)["type_id"], 2);
    assert_eq!(t(12)["linkage"], "static");
    assert_eq!(t(13)["params"][0]["name"], "x");
    assert_eq!(t(13)["ret_type_id"], 1);
    assert_eq!(t(14)["linkage"], "extern");
    assert_eq!(t(15)["vars"][0]["type_id"], 14);
    assert_eq!(t(17)["component_idx"], 0);
    assert_eq!(t(18)["name"], "user");
    assert_eq!(t(19)["values"][0]["val"], u64::MAX);
    assert_eq!(t(19)["encoding"], "UNSIGNED");
}

#[test]
fn dumps_a_raw_btf_blob() {
    let dir = temp_dir("btf-raw");
    let f = write(&dir, "t.btf", typedef_blob());
    let out = ebpfvm(&["btf", "dump", s(&f)]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "typedef int myint;\n\n");
}

#[test]
fn malformed_btf_is_rejected_with_one_line() {
    let dir = temp_dir("btf-bad");
    // typedef to type 9, beyond the last type.
    let f = write(&dir, "bad.btf", btf_blob(&[1, 8 << 24, 9], b"\0t\0"));
    let out = ebpfvm(&["btf", "dump", s(&f)]);
    assert_eq!(
        out.expect_error(1),
        format!(
            "error: {}: .BTF: type 1: target refers to type 9 beyond the last type 1",
            f.display()
        )
    );
    assert_eq!(out.stdout, "");
    // Big-endian.
    let mut be = typedef_blob();
    be.swap(0, 1);
    let f = write(&dir, "be.btf", be);
    assert!(ebpfvm(&["btf", "dump", s(&f)])
        .expect_error(1)
        .ends_with(".BTF: .BTF is big-endian; only little-endian BTF is supported"));
    // Truncated.
    let f = write(&dir, "short.btf", &typedef_blob()[..30]);
    assert!(ebpfvm(&["btf", "dump", s(&f), "--json"])
        .expect_error(1)
        .contains(".BTF: .BTF type section"));
}

#[test]
fn corrupted_btf_section_of_an_object_is_rejected() {
    let Some(obj) = corpus_object("build/map_in_map_typedef.o") else {
        return;
    };
    let mut data = std::fs::read(&obj).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let (off, _) = file.section_by_name(".BTF").unwrap().file_range().unwrap();
    drop(file);
    // Type 1 is `PTR -> 3`; point it far beyond the last type.
    let at = off as usize + 24 + 8;
    data[at..at + 4].copy_from_slice(&1000u32.to_le_bytes());
    let dir = temp_dir("btf-corrupt");
    let f = write(&dir, "c.o", data);
    let out = ebpfvm(&["btf", "dump", s(&f)]);
    assert!(
        out.expect_error(1)
            .ends_with(".BTF: type 1: target refers to type 1000 beyond the last type 23"),
        "{}",
        out.stderr
    );
}

#[test]
fn objects_without_btf_and_other_files() {
    let dir = temp_dir("btf-none");
    if let Some(obj) = corpus_object("linux/cpustat_kern.o") {
        let out = ebpfvm(&["btf", "dump", s(&obj)]);
        assert_eq!(
            out.expect_error(1),
            format!(
                "error: {}: no .BTF section (compile with clang -g to get BTF)",
                obj.display()
            )
        );
    }
    let f = write(&dir, "text.txt", "hello\n");
    assert_eq!(
        ebpfvm(&["btf", "dump", s(&f)]).expect_error(1),
        format!("error: {}: not an ELF object or a BTF blob", f.display())
    );
    let f = write(&dir, "elf.o", b"\x7fELF\x02\x01\x01");
    assert!(ebpfvm(&["btf", "dump", s(&f)])
        .expect_error(1)
        .contains("not a valid ELF object"));
    let missing = dir.join("missing.o");
    assert!(ebpfvm(&["btf", "dump", s(&missing)])
        .expect_error(2)
        .starts_with(&format!("error: cannot read {}", missing.display())));
}

#[test]
fn usage_errors() {
    let out = ebpfvm(&["btf"]);
    assert_eq!(out.code, 2);
    let out = ebpfvm(&["btf", "dump"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("FILE"), "{}", out.stderr);
    let out = ebpfvm(&["btf", "dump", "--help"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("--json"));
}
