//! Smoke run of the verifier fuzz oracle (`ebpfvm_testkit::fuzz::verifier`, the cargo-fuzz
//! target `fuzz/fuzz_targets/verifier.rs`): random programs and mutations of the case corpus
//! never panic the verifier or take it past its instruction limit.

use ebpfvm_testkit::fuzz::verifier;
use ebpfvm_testkit::verifier_cases::{cases_dir, load_dir};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Random slots biased towards valid opcodes: half the slots are taken from real programs.
#[test]
fn random_and_mutated_programs_never_panic() {
    let cases = load_dir(&cases_dir()).unwrap_or_else(|e| panic!("{e}"));
    let corpus: Vec<Vec<u8>> = cases
        .iter()
        .map(|c| ebpfvm_isa::slots_to_bytes(&c.insns))
        .collect();
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut inputs = 0;
    for round in 0..3000 {
        let mut data = vec![(rng.next() & 0xff) as u8];
        if round % 2 == 0 {
            // A corpus program with a few bytes flipped or slots swapped.
            let base = &corpus[(rng.next() as usize) % corpus.len()];
            let mut p = base.clone();
            for _ in 0..1 + rng.next() % 4 {
                if p.is_empty() {
                    break;
                }
                let i = (rng.next() as usize) % p.len();
                p[i] ^= (rng.next() & 0xff) as u8;
            }
            data.extend_from_slice(&p);
        } else {
            let n = 1 + (rng.next() % 40) as usize;
            for _ in 0..n {
                data.extend_from_slice(&rng.next().to_le_bytes());
            }
        }
        verifier(&data);
        inputs += 1;
    }
    for p in &corpus {
        for head in [0u8, 1, 2, 3, 0x21, 0x42] {
            let mut data = vec![head];
            data.extend_from_slice(p);
            verifier(&data);
            inputs += 1;
        }
    }
    eprintln!("{inputs} inputs through the verifier");
}
