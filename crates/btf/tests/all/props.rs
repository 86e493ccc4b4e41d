//! Property tests: random bytes and random mutations of real BTF never panic, and whatever
//! parses survives every query, the C printer and a write/parse round trip.

use ebpfvm_btf::{Btf, BtfExt, TypeId};
use proptest::prelude::*;
use proptest::strategy::ValueTree;

use crate::blob::*;
use crate::util::{btf_sections, corpus_dir};

/// Runs every query on a parsed blob (none may panic) and checks the round trip.
fn exercise(btf: &Btf) {
    for (id, t) in btf.types() {
        let _ = btf.size_of(id);
        let _ = btf.skip_mods(id);
        let _ = btf.name_of(id);
        let _ = btf.find_by_name(t.name());
        if let Some(c) = t.as_composite() {
            for m in &c.members {
                let _ = btf.member_offset_bits(id, &m.name);
                let _ = btf.member_bitfield(m);
            }
            let _ = btf.access_offset_bits(id, &[0, 0, 1]);
        }
    }
    let _ = btf.size_of(TypeId(u32::MAX));
    let _ = btf.to_c();
    let again = Btf::parse(&btf.to_bytes()).expect("a parsed blob re-encodes to a valid blob");
    assert!(
        btf.types().eq(again.types()),
        "round trip changed the types"
    );
}

/// A blob with every kind, as a seed for mutations when the corpus is absent.
fn rich_blob() -> Vec<u8> {
    let mut b = Blob::new();
    let int = b.int("int", 4, 1, 32);
    let ch = b.int("char", 1, 2, 8);
    let c = b.ty("", CONST, 0, false, ch, &[]);
    let p = b.ptr(c);
    let a = b.array(int, int, 4);
    let (x, y) = (b.s("X"), b.s("Y"));
    let e = b.ty("e", ENUM, 2, true, 4, &[x, 1, y, 2]);
    b.ty("e64", ENUM64, 1, false, 8, &[x, 1, 2]);
    let s = b.composite(
        STRUCT,
        "s",
        32,
        true,
        &[("a", int, 3 << 24), ("p", p, 64), ("arr", a, 128)],
    );
    b.composite(UNION, "u", 8, false, &[("i", int, 0), ("e", e, 0)]);
    b.ty("f", FWD, 0, true, 0, &[]);
    let td = b.typedef("s_t", s);
    b.ty("", VOLATILE, 0, false, td, &[]);
    b.ty("", RESTRICT, 0, false, p, &[]);
    let proto = b.proto(int, &[("ctx", p), ("", 0)]);
    let f = b.func("prog", proto, 1);
    let v = b.ty("v", VAR, 0, false, td, &[1]);
    b.ty(".data", DATASEC, 1, false, 32, &[v, 0, 32]);
    b.ty("double", FLOAT, 0, false, 8, &[]);
    b.ty("tag", DECL_TAG, 0, false, f, &[0]);
    b.ty("user", TYPE_TAG, 0, false, int, &[]);
    b.bytes()
}

/// Small real `.BTF`/`.BTF.ext` pairs from the corpus (plus the rich blob).
fn seeds() -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    let mut out = vec![(rich_blob(), None)];
    if let Some(dir) = corpus_dir() {
        for rel in [
            "build/map_in_map_typedef.o",
            "build/bpf2bpf.o",
            "cilium-examples/tcprtt_bpf_bpfel.o",
            "cilium-examples/tcprtt_sockops_bpf_bpfel.o",
            "new_linux/sockex3_kern.o",
        ] {
            if let Ok(data) = std::fs::read(dir.join(rel)) {
                if let Some((Some(btf), ext)) = btf_sections(&data) {
                    out.push((btf, ext));
                }
            }
        }
    }
    out
}

#[derive(Clone, Debug)]
enum Mutation {
    SetByte(usize, u8),
    SetWord(usize, u32),
    Truncate(usize),
    Insert(usize, Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::SetByte(i, b)),
        4 => (any::<usize>(), prop_oneof![any::<u32>(), 0u32..64, Just(u32::MAX)])
            .prop_map(|(i, w)| Mutation::SetWord(i, w)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(i, v)| Mutation::Insert(i, v)),
    ]
}

fn apply(data: &mut Vec<u8>, muts: &[Mutation]) {
    for m in muts {
        if data.is_empty() {
            return;
        }
        let n = data.len();
        match m {
            Mutation::SetByte(i, b) => data[i % n] = *b,
            Mutation::SetWord(i, w) => {
                let at = (i % n) & !3;
                for (k, byte) in w.to_le_bytes().into_iter().enumerate() {
                    if let Some(slot) = data.get_mut(at + k) {
                        *slot = byte;
                    }
                }
            }
            Mutation::Truncate(i) => data.truncate(i % n),
            Mutation::Insert(i, v) => {
                let at = i % n;
                data.splice(at..at, v.iter().copied());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(btf) = Btf::parse(&data) {
            exercise(&btf);
        }
        let empty = Btf::parse(&Blob::new().bytes()).unwrap();
        let _ = BtfExt::parse(&data, &empty);
    }

    #[test]
    fn random_type_words_behind_a_valid_header_never_panic(
        words in prop::collection::vec(
            prop_oneof![0u32..40, (0u32..20).prop_map(|k| k << 24), any::<u32>()], 0..96),
        strings in prop::collection::vec(prop_oneof![Just(0u8), b'a'..=b'z'], 0..32),
    ) {
        let mut b = Blob::new();
        b.types = words;
        b.strings.extend(strings);
        b.strings.push(0);
        if let Ok(btf) = Btf::parse(&b.bytes()) {
            exercise(&btf);
        }
    }

    #[test]
    fn mutated_real_btf_never_panics(
        seed in any::<prop::sample::Index>(),
        muts in prop::collection::vec(mutation(), 1..6),
        ext_muts in prop::collection::vec(mutation(), 0..6),
    ) {
        let seeds = seeds();
        let (btf, ext) = &seeds[seed.index(seeds.len())];
        let mut data = btf.clone();
        apply(&mut data, &muts);
        if let Ok(parsed) = Btf::parse(&data) {
            exercise(&parsed);
        }
        if let Some(ext) = ext {
            let base = Btf::parse(btf).unwrap();
            let mut e = ext.clone();
            apply(&mut e, &ext_muts);
            let _ = BtfExt::parse(&e, &base);
        }
    }
}

#[test]
fn corpus_btf_round_trips_through_the_writer() {
    for (btf, _) in seeds() {
        let parsed = Btf::parse(&btf).unwrap();
        exercise(&parsed);
        let built = Btf::from_types(parsed.types().map(|(_, t)| t.clone()).collect()).unwrap();
        assert!(built.types().eq(parsed.types()));
        assert_eq!(built.to_c(), parsed.to_c());
    }
}

/// The mutation generator reaches blobs that still parse (so `exercise` runs on mutated
/// BTF, not only on errors).
#[test]
fn mutations_reach_parsable_blobs() {
    let seeds = seeds();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strat = prop::collection::vec(mutation(), 1..3);
    let mut parsed = 0;
    for i in 0..300 {
        let muts = strat.new_tree(&mut runner).unwrap().current();
        let mut data = seeds[i % seeds.len()].0.clone();
        apply(&mut data, &muts);
        if let Ok(b) = Btf::parse(&data) {
            exercise(&b);
            parsed += 1;
        }
    }
    eprintln!("{parsed} of 300 mutated blobs parsed");
    assert!(parsed > 10, "only {parsed} of 300 mutated blobs parsed");
}

/// A random type whose references point at ids below `n` (so most lists are acyclic).
fn arb_type(n: u32) -> impl Strategy<Value = ebpfvm_btf::Type> {
    use ebpfvm_btf::{
        Composite, FuncLinkage, IntEncoding, Member, Param, Type, VarLinkage, VarSecInfo,
    };
    // Ids below `n`, rarely void.
    let id = move || {
        if n <= 1 {
            Just(TypeId::VOID).boxed()
        } else {
            prop_oneof![40 => (1..n).prop_map(TypeId), 1 => Just(TypeId::VOID)].boxed()
        }
    };
    let name = || prop_oneof![Just(String::new()), "[a-c]{1,2}"];
    let num = || prop_oneof![0u32..70, Just(u32::MAX), any::<u32>()];
    let member = move || {
        let offset = prop_oneof![30 => 0u32..512, 5 => 0u32..0x0100_0000, 1 => Just(u32::MAX)];
        (
            name(),
            id(),
            offset,
            prop_oneof![3 => Just(0u8), 1 => 1u8..9, 1 => any::<u8>()],
        )
            .prop_map(|(name, ty, bit_offset, bits)| Member {
                name,
                ty,
                bit_offset,
                bitfield_bits: bits,
            })
    };
    let composite = move || {
        (name(), num(), prop::collection::vec(member(), 0..5)).prop_map(|(name, size, members)| {
            Composite {
                name,
                size,
                members,
            }
        })
    };
    prop_oneof![
        4 => (name(), prop::sample::select(vec![1u32, 2, 4, 8, 16]), 0u8..4).prop_map(
            |(name, size, e)| Type::Int {
                name: if name.is_empty() { "i".into() } else { name },
                size,
                encoding: [IntEncoding::Unsigned, IntEncoding::Signed, IntEncoding::Char, IntEncoding::Bool][e as usize],
                bit_offset: 0,
                bits: (size * 8).min(128) as u8,
            }
        ),
        4 => id().prop_map(|target| Type::Ptr { target }),
        4 => (id(), id(), num()).prop_map(|(elem, index, nelems)| Type::Array { elem, index, nelems }),
        4 => composite().prop_map(Type::Struct),
        4 => composite().prop_map(Type::Union),
        4 => (name(), any::<bool>(), prop::collection::vec(("[A-C]", any::<i32>()), 0..3)).prop_map(
            |(name, signed, v)| Type::Enum {
                name,
                size: 4,
                signed,
                values: v.into_iter().map(|(n, x)| (n, if signed { i64::from(x) } else { i64::from(x as u32) })).collect(),
            }
        ),
        4 => ("[a-c]", any::<bool>()).prop_map(|(name, union)| Type::Fwd { name, union }),
        4 => ("[a-c]", id()).prop_map(|(name, target)| Type::Typedef { name, target }),
        4 => id().prop_map(|target| Type::Volatile { target }),
        4 => id().prop_map(|target| Type::Const { target }),
        4 => id().prop_map(|target| Type::Restrict { target }),
        1 => ("[a-c]", id()).prop_map(|(name, proto)| Type::Func { name, proto, linkage: FuncLinkage::Global }),
        4 => (id(), prop::collection::vec((name(), id()), 0..4)).prop_map(|(ret, ps)| Type::FuncProto {
            ret,
            params: ps.into_iter().map(|(name, ty)| Param { name, ty }).collect(),
        }),
        4 => ("[a-c]", id()).prop_map(|(name, ty)| Type::Var { name, ty, linkage: VarLinkage::Static }),
        1 => prop::collection::vec(id(), 0..3).prop_map(|v| Type::DataSec {
            name: ".d".into(),
            size: 0,
            vars: v.into_iter().map(|ty| VarSecInfo { ty, offset: 0, size: 4 }).collect(),
        }),
        4 => Just(Type::Float { name: "double".into(), size: 8 }),
        1 => ("[a-c]", id(), -1i32..3).prop_map(|(name, target, component)| Type::DeclTag { name, target, component }),
        4 => ("[a-c]", id()).prop_map(|(name, target)| Type::TypeTag { name, target }),
    ]
}

/// Type lists of up to 24 types: mostly referring only to earlier ids (acyclic), sometimes
/// to any id.
fn arb_graph() -> impl Strategy<Value = Vec<ebpfvm_btf::Type>> {
    prop_oneof![
        3 => (1u32..24).prop_flat_map(|n| (0..n).map(|i| arb_type(i + 1)).collect::<Vec<_>>()),
        1 => (1u32..24).prop_flat_map(|n| prop::collection::vec(arb_type(n + 1), n as usize)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// Random type graphs built through the writer: whatever validates prints, queries and
    /// round-trips without panicking (forward references make some of them cyclic, which
    /// must be rejected, not crash).
    #[test]
    fn random_type_graphs_never_panic(
        types in arb_graph()
    ) {
        if let Ok(btf) = Btf::from_types(types) {
            exercise(&btf);
        }
    }
}

/// The type-graph generator reaches graphs that validate (so the printer and queries run
/// on them, not only the validator).
#[test]
fn type_graph_generator_reaches_valid_graphs() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strat = arb_graph();
    let mut valid = 0;
    for _ in 0..500 {
        let types = strat.new_tree(&mut runner).unwrap().current();
        if Btf::from_types(types).is_ok() {
            valid += 1;
        }
    }
    eprintln!("{valid} of 500 random type graphs validated");
    assert!(
        valid >= 100,
        "only {valid} of 500 random type graphs validated"
    );
}
