//! The C printer: output compiles with clang (when installed) and reproduces every
//! struct layout, checked by `_Static_assert`s on sizes and member offsets; golden dumps of
//! a few corpus objects.

use std::path::{Path, PathBuf};
use std::process::Command;

use ebpfvm_btf::{Btf, Type};

use crate::util::{btf_sections, corpus_dir, objects};

/// The clang to compile dumps with, if installed.
pub fn clang() -> Option<&'static str> {
    ["clang-19", "clang"].into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// `_Static_assert`s that the C types have BTF's sizes and member offsets.
pub fn layout_asserts(btf: &Btf) -> String {
    let mut s = String::new();
    let mut seen = std::collections::HashSet::new();
    for (id, t) in btf.types() {
        let (kw, c) = match t {
            Type::Struct(c) => ("struct", c),
            Type::Union(c) => ("union", c),
            _ => continue,
        };
        if c.name.is_empty() || btf.find_by_name(&c.name).len() != 1 || !seen.insert(id) {
            continue;
        }
        let ty = format!("{kw} {}", c.name);
        s.push_str(&format!(
            "_Static_assert(sizeof({ty}) == {}, \"size of {ty}\");\n",
            c.size
        ));
        for m in &c.members {
            if m.name.is_empty() || btf.member_bitfield(m).is_some() {
                continue;
            }
            s.push_str(&format!(
                "_Static_assert(__builtin_offsetof({ty}, {}) == {}, \"offset of {ty}.{}\");\n",
                m.name,
                m.bit_offset / 8,
                m.name
            ));
        }
    }
    s
}

/// Compiles `text` with `clang -target bpf -fsyntax-only`; the error text on failure.
pub fn compile(clang: &str, text: &str, name: &str) -> Result<(), String> {
    compile_for(clang, "bpf", text, name)
}

/// Compiles `text` with `clang -target TARGET -fsyntax-only`.
pub fn compile_for(clang: &str, target: &str, text: &str, name: &str) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("ebpfvm-btf-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let path = dir.join(format!("{name}.c"));
    std::fs::write(&path, text).map_err(|e| e.to_string())?;
    let out = Command::new(clang)
        .args([
            "-target",
            target,
            "-fsyntax-only",
            "-Werror=incompatible-pointer-types",
            "-x",
            "c",
        ])
        .arg(&path)
        .output()
        .map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&path);
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(err.lines().take(6).collect::<Vec<_>>().join("\n"))
    }
}

fn corpus_btf(path: &Path) -> Option<Btf> {
    let data = std::fs::read(path).ok()?;
    let (btf, _) = btf_sections(&data)?;
    Btf::parse(&btf?).ok()
}

#[test]
fn corpus_dumps_compile_with_their_layouts() {
    let Some(dir) = corpus_dir() else {
        eprintln!("skipped: corpus not found");
        return;
    };
    let Some(clang) = clang() else {
        eprintln!("skipped: clang not installed");
        return;
    };
    let mut failures = Vec::new();
    let mut n = 0;
    for path in objects(&dir) {
        let Some(btf) = corpus_btf(&path) else {
            continue;
        };
        n += 1;
        let text = format!("{}\n{}", btf.to_c(), layout_asserts(&btf));
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if let Err(e) = compile(clang, &text, &name) {
            failures.push(format!("{}:\n{e}", path.display()));
        }
    }
    eprintln!("{n} dumps compiled");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Golden dumps: `tests/data/golden/<name>.h`; regenerate with `EBPFVM_TEST_BLESS=1`.
#[test]
fn corpus_dumps_match_golden_files() {
    let Some(dir) = corpus_dir() else {
        eprintln!("skipped: corpus not found");
        return;
    };
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden");
    let bless = std::env::var_os("EBPFVM_TEST_BLESS").is_some();
    let mut failures = Vec::new();
    for rel in GOLDEN {
        let path: PathBuf = dir.join(rel);
        let Some(btf) = corpus_btf(&path) else {
            failures.push(format!("{rel}: no parsable BTF"));
            continue;
        };
        let name = rel.replace('/', "__").replace(".o", ".h");
        let file = golden.join(&name);
        let text = btf.to_c();
        if bless {
            std::fs::create_dir_all(&golden).unwrap();
            std::fs::write(&file, &text).unwrap();
            continue;
        }
        match std::fs::read_to_string(&file) {
            Ok(want) if want == text => {}
            Ok(_) => failures.push(format!("{rel}: dump differs from {}", file.display())),
            Err(e) => failures.push(format!("{}: {e}", file.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n(run with EBPFVM_TEST_BLESS=1 to accept the new output)",
        failures.join("\n")
    );
}

/// Corpus objects with golden C dumps: maps in `.maps`, map-in-map with typedefs,
/// ringbuf, sockops, fentry, socket filters, and Cilium types with bitfields and packed
/// structs.
const GOLDEN: &[&str] = &[
    "build/map_in_map_typedef.o",
    "build/ringbuf_in_map.o",
    "build/twomaps_btf.o",
    "cilium-examples/tcprtt_sockops_bpf_bpfel.o",
    "cilium-examples/fentry_bpf_bpfel.o",
    "new_linux/sockex3_kern.o",
    "cilium-core/bpf_network.o",
];

/// Parses `b`, checks the dump against `want`, and compiles it with its layout asserts.
fn check_dump(b: &crate::blob::Blob, want: &str) {
    let btf = Btf::parse(&b.bytes()).unwrap();
    let got = btf.to_c();
    assert_eq!(got, want, "\n--- got ---\n{got}\n--- want ---\n{want}");
    match clang() {
        Some(cc) => {
            let text = format!("{got}\n{}", layout_asserts(&btf));
            let name = format!("unit-{:?}", std::thread::current().id()).replace(['(', ')'], "");
            if let Err(e) = compile(cc, &text, &name) {
                panic!("dump does not compile:\n{e}\n{text}");
            }
        }
        None => eprintln!("clang not installed: compile check skipped"),
    }
}

mod unit {
    use super::check_dump;
    use crate::blob::*;

    #[test]
    fn bitfields_nested_anonymous_members_and_padding() {
        let mut b = Blob::new();
        let int = b.int("int", 4, 1, 32); // 1
        let uint = b.int("unsigned int", 4, 0, 32); // 2
        let long = b.int("long", 8, 1, 64); // 3
        let ch = b.int("char", 1, 2, 8); // 4
        let inner = b.composite(STRUCT, "", 8, false, &[("x", int, 0), ("y", int, 32)]); // 5
        let un = b.composite(UNION, "", 8, false, &[("l", long, 0), ("s", inner, 0)]); // 6
        b.composite(
            STRUCT,
            "flags",
            32,
            true,
            &[
                ("a", uint, 3 << 24),
                ("b", uint, (5 << 24) | 3),
                ("c", ch, 16),
                ("", un, 64),
                ("d", int, 160),
            ],
        );
        check_dump(
            &b,
            "struct flags {
\tunsigned int a: 3;
\tunsigned int b: 5;
\tchar: 8;
\tchar c;
\tunion {
\t\tlong l;
\t\tstruct {
\t\t\tint x;
\t\t\tint y;
\t\t} s;
\t};
\tint: 32;
\tint d;
\tlong: 64;
};

",
        );
    }

    #[test]
    fn packed_struct() {
        let mut b = Blob::new();
        let ch = b.int("char", 1, 2, 8);
        let int = b.int("int", 4, 1, 32);
        b.composite(STRUCT, "p", 5, false, &[("c", ch, 0), ("i", int, 8)]);
        check_dump(
            &b,
            "struct p {
\tchar c;
\tint i;
} __attribute__((packed));

",
        );
    }

    #[test]
    fn pointers_to_functions_arrays_and_qualifiers() {
        let mut b = Blob::new();
        let int = b.int("int", 4, 1, 32); // 1
        let ch = b.int("char", 1, 2, 8); // 2
        let cch = b.ty("", CONST, 0, false, ch, &[]); // 3
        let pcch = b.ptr(cch); // 4: const char *
        let proto = b.proto(int, &[("fmt", pcch), ("", 0)]); // 5
        let fp = b.ptr(proto); // 6
        let arr = b.array(int, int, 2); // 7
        let parr = b.ptr(arr); // 8: int (*)[2]
        let vint = b.ty("", VOLATILE, 0, false, int, &[]); // 9
        let pv = b.ptr(vint); // 10
        let cpv = b.ty("", CONST, 0, false, pv, &[]); // 11: volatile int *const
        let fparr = b.array(fp, int, 4); // 12
        let s = b.composite(
            STRUCT,
            "ops",
            64,
            false,
            &[
                ("log", fp, 0),
                ("type", parr, 64),
                ("reg", cpv, 128),
                ("table", fparr, 192),
                ("name", pcch, 448),
            ],
        ); // 13
        let _ = s;
        let noproto = b.proto(int, &[("", 0)]);
        let pnp = b.ptr(noproto);
        b.typedef("old_fn", pnp);
        let vproto = b.proto(0, &[]);
        b.typedef("cb_t", vproto);
        check_dump(
            &b,
            "struct ops {
\tint (*log)(const char *fmt, ...);
\tint (*type)[2];
\tvolatile int *const reg;
\tint (*table[4])(const char *fmt, ...);
\tconst char *name;
};

typedef int (*old_fn)();

typedef void cb_t(void);

",
        );
    }

    #[test]
    fn forward_declarations_and_dependency_order() {
        let mut b = Blob::new();
        let int = b.int("int", 4, 1, 32); // 1
        let pb = b.ptr(4); // 2: struct b *
        let a = b.composite(STRUCT, "a", 8, false, &[("b", pb, 0)]); // 3
        b.composite(STRUCT, "b", 12, false, &[("x", int, 0), ("a", a, 32)]); // 4 — misaligned?
        check_dump(
            &b,
            "struct b;

struct a {
\tstruct b *b;
};

struct b {
\tint x;
\tstruct a a;
} __attribute__((packed));

",
        );
    }

    #[test]
    fn value_dependencies_come_first_and_fwd_without_definition() {
        let mut b = Blob::new();
        let int = b.int("int", 4, 1, 32); // 1
        let td = b.typedef("inner_t", 4); // 2
        b.composite(STRUCT, "outer", 4, false, &[("i", td, 0)]); // 3
        b.composite(STRUCT, "inner", 4, false, &[("v", int, 0)]); // 4
        let f = b.ty("opaque", FWD, 0, false, 0, &[]); // 5
        let pf = b.ptr(f); // 6
        b.typedef("handle", pf); // 7
        let uf = b.ty("u", FWD, 0, true, 0, &[]); // 8
        let _ = uf;
        check_dump(
            &b,
            "struct inner;

typedef struct inner inner_t;

struct inner {
\tint v;
};

struct outer {
\tinner_t i;
};

struct opaque;

typedef struct opaque *handle;

union u;

",
        );
    }

    #[test]
    fn enums_enum64_and_duplicate_names() {
        let mut b = Blob::new();
        let (a, bb, c) = (b.s("A"), b.s("B"), b.s("C"));
        b.ty("e", ENUM, 2, false, 4, &[a, 0, bb, 0xffff_ffff]);
        b.ty("", ENUM, 1, true, 4, &[c, (-5i32) as u32]);
        b.ty(
            "big",
            ENUM64,
            2,
            false,
            8,
            &[a, 0xffff_ffff, 0xffff_ffff, c, 5, 1],
        );
        b.ty("small", ENUM, 1, false, 1, &[bb, 1]);
        let int = b.int("int", 4, 1, 32);
        b.composite(STRUCT, "dup", 4, false, &[("x", int, 0)]);
        b.composite(STRUCT, "dup", 8, false, &[("y", int, 32)]);
        b.typedef("T", int);
        b.typedef("T", int);
        check_dump(
            &b,
            "enum e {
\tA = 0,
\tB = 4294967295,
};

enum {
\tC = -5,
};

enum big {
\tA___2 = 18446744073709551615ULL,
\tC___2 = 4294967301LL,
};

enum small {
\tB___2 = 1,
} __attribute__((packed));

struct dup {
\tint x;
};

struct dup___2 {
\tint: 32;
\tint y;
};

typedef int T;

typedef int T___2;

",
        );
    }

    #[test]
    fn variables_functions_and_tags() {
        let mut b = Blob::new();
        let int = b.int("int", 4, 1, 32); // 1
        let parr = {
            let arr = b.array(int, int, 2);
            b.ptr(arr)
        }; // 3
        let map = b.composite(STRUCT, "", 8, false, &[("type", parr, 0)]); // 4
        let v = b.ty("my_map", VAR, 0, false, map, &[1]); // 5
        let cint = b.ty("", CONST, 0, false, int, &[]); // 6
        let vc = b.ty("cfg", VAR, 0, false, cint, &[2]); // 7
        b.ty(".maps", DATASEC, 1, false, 0, &[v, 0, 8]); // 8
        b.ty(".kconfig", DATASEC, 1, false, 0, &[vc, 0, 4]); // 9
        let tagged = b.ty("user", TYPE_TAG, 0, false, int, &[]); // 10
        let pt = b.ptr(tagged); // 11
        let proto = b.proto(int, &[("p", pt), ("n", int)]); // 12
        let f = b.func("prog", proto, 1); // 13
        b.func("helper", proto, 2); // 14
        b.ty("hot", DECL_TAG, 0, false, f, &[u32::MAX]); // 15
        b.ty("nonnull", DECL_TAG, 0, false, f, &[0]); // 16
        b.ty("static_v", VAR, 0, false, int, &[0]); // 17 (in no section)
        check_dump(
            &b,
            "/* .maps */
struct {
\tint (*type)[2];
} my_map __attribute__((section(\".maps\")));

/* .kconfig */
extern const int cfg __attribute__((section(\".kconfig\")));

static int static_v;

/* functions */
int prog(int __attribute__((btf_type_tag(\"user\"))) *p __attribute__((btf_decl_tag(\"nonnull\"))), int n) __attribute__((btf_decl_tag(\"hot\")));
extern int helper(int __attribute__((btf_type_tag(\"user\"))) *p, int n);
",
        );
    }

    #[test]
    fn hostile_layouts_print_without_overflow() {
        let mut b = Blob::new();
        let int = b.int("int", 4, 1, 32); // 1
        let big = b.array(int, int, u32::MAX); // 2: 16 GiB
        let huge = b.array(big, int, u32::MAX); // 3: size overflows
        let wide = b.composite(STRUCT, "", u32::MAX, false, &[("x", int, 0)]); // 4
        let arr = b.array(wide, int, u32::MAX); // 5: nearly 2^64 bytes
        b.composite(
            STRUCT,
            "s",
            u32::MAX,
            true,
            &[
                ("a", big, 0x00ff_ffff),
                ("b", huge, 7 << 24 | 0x00ff_fff0),
                ("c", arr, 0x00ff_ffff),
                ("d", big, (255 << 24) | 3),
                ("e", wide, 0x00ff_ffff),
            ],
        );
        b.composite(
            UNION,
            "u",
            1,
            false,
            &[("a", arr, u32::MAX), ("b", int, u32::MAX)],
        );
        b.composite(
            STRUCT,
            "t",
            0,
            false,
            &[("a", arr, u32::MAX), ("b", int, 0)],
        );
        let btf = ebpfvm_btf::Btf::parse(&b.bytes()).unwrap();
        let c = btf.to_c();
        assert!(c.contains("struct s {"), "{c}");
        assert!(c.len() < 10 << 20);
    }

    #[test]
    fn hostile_graphs_print_without_crashing() {
        // An anonymous struct pointing to itself (not expressible in C), and deep nesting.
        let mut b = Blob::new();
        let p = b.ptr(2); // 1
        b.composite(STRUCT, "", 8, false, &[("self", p, 0)]); // 2
        b.typedef("loop_t", 2); // 3
        let mut prev = 3;
        for _ in 0..1000 {
            prev = b.array(prev, 3, 1);
        }
        b.typedef("deep", prev);
        let btf = ebpfvm_btf::Btf::parse(&b.bytes()).unwrap();
        let c = btf.to_c();
        assert!(c.contains("typedef struct {"), "{c}");
        assert!(c.contains("too deep"), "{c}");
    }

    #[test]
    fn self_referencing_prototypes_print_quickly() {
        // A prototype taking and returning `(*)[2]` arrays of pointers to itself.
        let mut b = Blob::new();
        let int = b.int("int", 4, 1, 32); // 1
        b.proto(3, &[("a", 3), ("b", 3), ("c", 3)]); // 2
        b.ptr(4); // 3
        b.array(5, int, 2); // 4
        b.ptr(2); // 5
        b.composite(STRUCT, "s", 8, false, &[("f", 3, 0)]); // 6
        let btf = ebpfvm_btf::Btf::parse(&b.bytes()).unwrap();
        let start = std::time::Instant::now();
        let c = btf.to_c();
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
        assert!(c.contains("/* recursive */"), "{c}");
    }

    #[test]
    fn exponential_inline_output_is_truncated() {
        // 40 nested anonymous structs, each with two members of the next: printing them
        // inline would take 2^40 lines.
        let mut b = Blob::new();
        let int = b.int("int", 4, 1, 32);
        let mut prev = b.composite(STRUCT, "", 4, false, &[("x", int, 0)]);
        for _ in 0..40 {
            prev = b.composite(STRUCT, "", 8, false, &[("a", prev, 0), ("b", prev, 32)]);
        }
        b.typedef("top", prev);
        let btf = ebpfvm_btf::Btf::parse(&b.bytes()).unwrap();
        let start = std::time::Instant::now();
        let c = btf.to_c();
        assert!(start.elapsed() < std::time::Duration::from_secs(10));
        assert!(
            c.ends_with("/* output truncated */\n"),
            "{}",
            &c[c.len().saturating_sub(200)..]
        );
        assert!(c.len() < 8 << 20, "{}", c.len());
    }
}

/// The running kernel's BTF (`/sys/kernel/btf/vmlinux`, ~100k types) dumps to C that
/// compiles with every struct layout intact.
#[test]
fn vmlinux_dump_compiles_with_its_layouts() {
    let Ok(data) = std::fs::read("/sys/kernel/btf/vmlinux") else {
        eprintln!("skipped: /sys/kernel/btf/vmlinux not readable");
        return;
    };
    let Some(clang) = clang() else {
        eprintln!("skipped: clang not installed");
        return;
    };
    let btf = Btf::parse(&data).unwrap();
    let text = format!("{}\n{}", btf.to_c(), layout_asserts(&btf));
    // x86-64: the kernel's `va_list` members have the host's size, not BPF's `void *`.
    if let Err(e) = compile_for(clang, "x86_64-linux-gnu", &text, "vmlinux") {
        panic!("vmlinux dump does not compile:\n{e}");
    }
}
