//! Mutated objects never panic the loader: byte flips, splices and truncations of corpus
//! objects (and of a hand-made one when the corpus is absent).

use std::sync::OnceLock;

use ebpfvm_object::Object;
use proptest::prelude::*;

use crate::build::*;
use crate::corpus::corpus_root;

/// Seed objects: small corpus files covering legacy maps, BTF maps, CO-RE, calls, globals,
/// RELA, plus a hand-made object.
fn seeds() -> &'static Vec<Vec<u8>> {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut b = Builder::new();
        let ld = lddw(0);
        let t = b.text(
            "xdp",
            &code(&[ld[0], ld[1], call(1, 1), exit(), mov(0), exit()]),
        );
        b.func(t, "f", 0, 32, true);
        b.func(t, "g", 32, 16, false);
        let m = b.data("maps", &map_def(2, 4, 4, 1, 0));
        let s = b.var(m, "m", 0, 20, true);
        b.reloc64(t, 0, s);
        let mut out = vec![b.finish()];
        if let Some(root) = corpus_root() {
            for rel in [
                "build/bpf2bpf.o",
                "build/map_in_map.o",
                "build/prog_array.o",
                "build/global_variable.o",
                "linux/sockex1_kern.o",
                "linux/test_map_in_map_kern.o",
                "cilium-examples/tcprtt_sockops_bpf_bpfel.o",
                "new_linux/tracex1_kern.o",
            ] {
                if let Ok(data) = std::fs::read(root.join(rel)) {
                    out.push(data);
                }
            }
        }
        out
    })
}

/// Cases per property: 1024, or `EBPFVM_MUTATE_CASES` for a longer run.
fn cases() -> u32 {
    std::env::var("EBPFVM_MUTATE_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1024)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn mutated_objects_never_panic(
        seed in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..12),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let seeds = seeds();
        let mut data = seeds[seed.index(seeds.len())].clone();
        for (at, byte) in flips {
            let i = at.index(data.len());
            data[i] = byte;
        }
        if let Some(c) = cut {
            data.truncate(c.index(data.len() + 1));
        }
        if let Ok(obj) = Object::parse(&data) {
            for p in &obj.programs {
                prop_assert!(p.decode().is_ok());
            }
        }
    }

    #[test]
    fn headers_with_random_words_never_panic(
        seed in any::<prop::sample::Index>(),
        words in prop::collection::vec((0usize..64, any::<u64>()), 1..6),
    ) {
        // Corrupt the ELF header's fields (section table offset, count, string index...).
        let seeds = seeds();
        let mut data = seeds[seed.index(seeds.len())].clone();
        for (at, w) in words {
            let i = at.min(data.len().saturating_sub(8));
            let end = (i + 8).min(data.len());
            data[i..end].copy_from_slice(&w.to_le_bytes()[..end - i]);
        }
        let _ = Object::parse(&data);
    }
}
