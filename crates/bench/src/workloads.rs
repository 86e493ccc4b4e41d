//! The workloads of `shared/bench/WORKLOADS.md` that the bench runs: their fixtures, their
//! deterministic inputs and a native Rust reference for each result.
//!
//! Every program has the entry `u64 main(void *mem, u64 len)`. rbpf 0.4's interpreter sets only
//! r1, so the programs read their sizes and trip counts from a header of little-endian u64
//! words at the start of the input and never read r2 (the engines still pass the length).

/// How big an input to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// The trip counts of WORKLOADS.md.
    Full,
    /// Small trip counts, for tests.
    Tiny,
}

/// An input for one workload.
#[derive(Debug, Clone)]
pub struct Input {
    /// The bytes r1 points to.
    pub bytes: Vec<u8>,
    /// Trips of the hot loop, when the workload has one with a fixed body.
    pub iterations: Option<u64>,
}

/// One workload.
#[derive(Debug)]
pub struct Workload {
    /// Name on the command line and in reports.
    pub name: &'static str,
    /// One line on what it measures.
    pub what: &'static str,
    /// The ELF object built by `workloads/build.sh`.
    pub fixture: &'static [u8],
    /// Generates the input (deterministic).
    pub input: fn(Scale) -> Input,
    /// Computes the expected r0 natively from the same input.
    pub reference: fn(&[u8]) -> u64,
}

/// Bytes aligned for the ELF parser, which reads headers in place.
#[repr(C, align(8))]
struct Aligned<B: ?Sized>(B);

macro_rules! fixture {
    ($name:literal) => {{
        const ALIGNED: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/workloads/",
            $name,
            ".o"
        )));
        &ALIGNED.0
    }};
}

/// Every workload, in report order.
pub const ALL: &[Workload] = &[
    Workload {
        name: "simple",
        what: "return a constant: entry and exit overhead",
        fixture: fixture!("simple"),
        input: simple_input,
        reference: simple_ref,
    },
    Workload {
        name: "arith",
        what: "latency-bound mul/add/xor/rotate chain, 50,000 iterations",
        fixture: fixture!("arith"),
        input: arith_input,
        reference: arith_ref,
    },
    Workload {
        name: "ilp",
        what: "four independent add/xor/shift chains, 40,000 iterations",
        fixture: fixture!("ilp"),
        input: ilp_input,
        reference: ilp_ref,
    },
    Workload {
        name: "memsum",
        what: "8-byte load, add, xor-shift per word; 32 KiB swept 8 times",
        fixture: fixture!("memsum"),
        input: memsum_input,
        reference: memsum_ref,
    },
    Workload {
        name: "prime",
        what: "count primes below 10,000 by trial division (hot: modulo)",
        fixture: fixture!("prime"),
        input: prime_input,
        reference: prime_ref,
    },
    Workload {
        name: "log2_int",
        what: "branch-free floor(log2) of 1,024 u64 values, XOR-accumulated",
        fixture: fixture!("log2_int"),
        input: log2_int_input,
        reference: log2_int_ref,
    },
];

/// SplitMix64: a tiny deterministic generator for inputs.
#[derive(Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn words_to_bytes(words: &[u64]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// The `i`th little-endian u64 of `bytes`.
fn word(bytes: &[u8], i: usize) -> u64 {
    let b = &bytes[i * 8..i * 8 + 8];
    u64::from_le_bytes(b.try_into().expect("8 bytes"))
}

fn simple_input(_scale: Scale) -> Input {
    Input {
        bytes: vec![0; 8],
        iterations: None,
    }
}

fn simple_ref(_input: &[u8]) -> u64 {
    12_345_678
}

fn arith_input(scale: Scale) -> Input {
    let n = match scale {
        Scale::Full => 50_000,
        Scale::Tiny => 100,
    };
    let mut rng = SplitMix64(1);
    Input {
        bytes: words_to_bytes(&[n, rng.next(), rng.next()]),
        iterations: Some(n),
    }
}

fn arith_ref(input: &[u8]) -> u64 {
    let (n, mut x, mut y) = (word(input, 0), word(input, 1), word(input, 2));
    for i in 0..n {
        x = x.wrapping_mul(0x5851_f42d_4c95_7f2d).wrapping_add(i);
        y ^= x >> 29;
        y = y.rotate_left(7);
        x = x.wrapping_add(y);
    }
    x ^ y
}

fn ilp_input(scale: Scale) -> Input {
    let n = match scale {
        Scale::Full => 40_000,
        Scale::Tiny => 100,
    };
    let mut rng = SplitMix64(2);
    let words = [n, rng.next(), rng.next(), rng.next(), rng.next()];
    Input {
        bytes: words_to_bytes(&words),
        iterations: Some(n),
    }
}

fn ilp_ref(input: &[u8]) -> u64 {
    let n = word(input, 0);
    let (mut a, mut b, mut c, mut d) = (
        word(input, 1),
        word(input, 2),
        word(input, 3),
        word(input, 4),
    );
    for i in 0..n {
        a = a.wrapping_add(i) ^ (a >> 3);
        b = (b ^ i).wrapping_add(b << 5);
        c = c.wrapping_add(0x9e37_79b9) ^ (c >> 7);
        d = (d ^ (d << 11)).wrapping_add(i);
    }
    a ^ b ^ c ^ d
}

fn memsum_input(scale: Scale) -> Input {
    let (sweeps, words) = match scale {
        Scale::Full => (8, 32 * 1024 / 8),
        Scale::Tiny => (2, 64),
    };
    let mut rng = SplitMix64(3);
    let mut all = vec![sweeps, words];
    all.extend((0..words).map(|_| rng.next()));
    Input {
        bytes: words_to_bytes(&all),
        iterations: Some(sweeps * words),
    }
}

fn memsum_ref(input: &[u8]) -> u64 {
    let (sweeps, words) = (word(input, 0), word(input, 1) as usize);
    let mut acc = 0u64;
    for _ in 0..sweeps {
        for k in 0..words {
            acc = acc.wrapping_add(word(input, 2 + k));
            acc ^= acc >> 7;
        }
    }
    acc
}

fn prime_input(scale: Scale) -> Input {
    let limit = match scale {
        Scale::Full => 10_000,
        Scale::Tiny => 100,
    };
    Input {
        bytes: words_to_bytes(&[limit]),
        iterations: None,
    }
}

fn prime_ref(input: &[u8]) -> u64 {
    let limit = word(input, 0) as u32;
    let mut count = 0;
    for i in 1..limit {
        let mut j = 2u32;
        let mut prime = true;
        while j.wrapping_mul(j) <= i {
            if i % j == 0 {
                prime = false;
                break;
            }
            j += 1;
        }
        count += u64::from(prime);
    }
    count
}

fn log2_int_input(scale: Scale) -> Input {
    let n = match scale {
        Scale::Full => 1024,
        Scale::Tiny => 16,
    };
    let mut rng = SplitMix64(4);
    let mut all = vec![n];
    // Values with non-zero upper halves, of random bit lengths from 33 to 64.
    all.extend((0..n).map(|_| {
        let bits = 33 + rng.next() % 32;
        let v = rng.next() >> (64 - bits);
        v | (1 << (bits - 1))
    }));
    Input {
        bytes: words_to_bytes(&all),
        iterations: Some(n),
    }
}

fn log2_32(mut v: u32) -> u32 {
    let mut r = u32::from(v > 0xffff) << 4;
    v >>= r;
    let mut s = u32::from(v > 0xff) << 3;
    v >>= s;
    r |= s;
    s = u32::from(v > 0xf) << 2;
    v >>= s;
    r |= s;
    s = u32::from(v > 0x3) << 1;
    v >>= s;
    r |= s;
    r | (v >> 1)
}

fn log2_int_ref(input: &[u8]) -> u64 {
    let n = word(input, 0) as usize;
    let mut acc = 0u64;
    for k in 0..n {
        let v = word(input, 1 + k);
        let hi = (v >> 32) as u32;
        let l = if hi != 0 {
            log2_32(hi) + 32
        } else {
            log2_32(v as u32)
        };
        acc ^= u64::from(l);
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_match_known_answers() {
        assert_eq!(prime_ref(&prime_input(Scale::Full).bytes), 1230);
        assert_eq!(prime_ref(&prime_input(Scale::Tiny).bytes), 26);
        for v in [1u32, 2, 3, 4, 255, 256, 0xffff, 0x1_0000, u32::MAX] {
            assert_eq!(log2_32(v), v.ilog2(), "log2_32({v})");
        }
        let input = log2_int_input(Scale::Full).bytes;
        let expected = (0..1024).fold(0u64, |acc, k| acc ^ u64::from(word(&input, 1 + k).ilog2()));
        assert_eq!(log2_int_ref(&input), expected);
    }

    #[test]
    fn inputs_are_deterministic_and_sized() {
        for w in ALL {
            assert_eq!(
                (w.input)(Scale::Full).bytes,
                (w.input)(Scale::Full).bytes,
                "{}",
                w.name
            );
        }
        assert_eq!(memsum_input(Scale::Full).bytes.len(), 16 + 32 * 1024);
        assert_eq!(arith_input(Scale::Full).iterations, Some(50_000));
        assert_eq!(ilp_input(Scale::Full).iterations, Some(40_000));
    }
}
