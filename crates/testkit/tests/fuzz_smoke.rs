//! The fuzz oracles in plain `cargo test`: a fixed, seeded stream of inputs through
//! [`ebpfvm_testkit::fuzz::isa_roundtrip`], the same function `fuzz/fuzz_targets/isa_roundtrip.rs`
//! calls, plus every executable section of the real-world corpus.
//!
//! The generator is structure-aware so that it gets past the strict decoder: most inputs are
//! programs of valid instructions (drawn from arbitrary field values, invalid ones redrawn),
//! some of them then mutated byte-wise, and the rest are slots with a real opcode byte and
//! random fields, or plain random bytes. `generator_reaches_decodable_programs` checks that the
//! stream really reaches what the oracle needs: decodable programs, every `Insn` variant, and
//! decode errors.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use ebpfvm_isa::opcodes::op::LD_IMM64;
use ebpfvm_isa::{
    decode_all, encode_all, slots_from_bytes, slots_to_bytes, AluOp, AtomicOp, ByteOrder, Call,
    Imm64, Insn, JmpCond, Reg, Size, Source, Width, INSN_SIZE,
};
use ebpfvm_testkit::fuzz::isa_roundtrip;
use object::{Object, ObjectSection, SectionFlags};

/// Inputs per run; deterministic, so the coverage assertions below are reproducible.
const INPUTS: usize = 12_000;
const SEED: u64 = 0x5eed_eb0f_0000_0001;

/// splitmix64: small, seedable, good enough to drive a generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0; the modulo bias is irrelevant here).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn bool(&mut self) -> bool {
        self.next() & 1 == 1
    }

    fn reg(&mut self) -> Reg {
        Reg::new(self.below(Reg::COUNT) as u8).expect("below 11")
    }

    /// An i32: 0, a value some field treats specially, or anything.
    fn imm(&mut self) -> i32 {
        match self.below(3) {
            0 => self.pick(&[0, 1, -1, 2, 16, 32, 64, 0x7fff, -0x8000, 1 << 16]),
            1 => self.pick(&[i32::MIN, i32::MAX, 0x8000, 0x10001, -2]),
            _ => self.next() as i32,
        }
    }

    fn off(&mut self) -> i16 {
        match self.below(3) {
            0 => self.pick(&[0, 1, -1, 2, 8, 16, 32]),
            1 => self.pick(&[i16::MIN, i16::MAX, 0x100, -0x100]),
            _ => self.next() as i16,
        }
    }

    fn width(&mut self) -> Width {
        if self.bool() {
            Width::W64
        } else {
            Width::W32
        }
    }

    fn source(&mut self) -> Source {
        if self.bool() {
            Source::Reg(self.reg())
        } else {
            Source::Imm(self.imm())
        }
    }

    /// The `bits` of `MovSx` / `Endian`: defined values mostly, anything sometimes.
    fn bits(&mut self) -> u8 {
        if self.below(4) == 0 {
            self.next() as u8
        } else {
            self.pick(&[8, 16, 32, 64])
        }
    }
}

/// An instruction from arbitrary field values; it may not validate.
fn arbitrary_insn(rng: &mut Rng) -> Insn {
    match rng.below(17) {
        0 => Insn::Alu {
            width: rng.width(),
            op: rng.pick(AluOp::ALL),
            dst: rng.reg(),
            src: rng.source(),
        },
        1 => Insn::Neg {
            width: rng.width(),
            dst: rng.reg(),
        },
        2 => Insn::MovSx {
            width: rng.width(),
            dst: rng.reg(),
            src: rng.reg(),
            bits: rng.bits(),
        },
        3 => Insn::AddrSpaceCast {
            dst: rng.reg(),
            src: rng.reg(),
            imm: if rng.bool() {
                rng.pick(&[1, 1 << 16])
            } else {
                rng.imm()
            },
        },
        4 => Insn::Endian {
            order: rng.pick(ByteOrder::ALL),
            bits: rng.bits(),
            dst: rng.reg(),
        },
        5 => Insn::Ja {
            off: if rng.bool() {
                rng.off().into()
            } else {
                rng.imm()
            },
            long: rng.bool(),
        },
        6 => Insn::Jmp {
            width: rng.width(),
            cond: rng.pick(JmpCond::ALL),
            dst: rng.reg(),
            src: rng.source(),
            off: rng.off(),
        },
        7 => Insn::MayGoto { off: rng.off() },
        8 => Insn::Call(match rng.below(3) {
            0 => Call::Helper(rng.imm()),
            1 => Call::Local(rng.imm()),
            _ => Call::Kfunc {
                btf_id: rng.imm(),
                module: rng.off(),
            },
        }),
        9 => Insn::CallX { dst: rng.reg() },
        10 => Insn::Exit,
        11 => {
            let (a, b) = (rng.imm(), rng.imm());
            let src = rng.below(7) as u8;
            let imm = Imm64::from_parts(src, a, b).expect("src 0..=6 is defined");
            Insn::LdImm64 {
                dst: rng.reg(),
                imm,
            }
        }
        12 => Insn::LdAbs {
            size: rng.pick(Size::ALL),
            imm: rng.imm(),
        },
        13 => Insn::LdInd {
            size: rng.pick(Size::ALL),
            src: rng.reg(),
            imm: rng.imm(),
        },
        14 => Insn::Load {
            size: rng.pick(Size::ALL),
            signed: rng.bool(),
            dst: rng.reg(),
            src: rng.reg(),
            off: rng.off(),
        },
        15 => Insn::Store {
            size: rng.pick(Size::ALL),
            dst: rng.reg(),
            off: rng.off(),
            src: rng.source(),
        },
        _ => Insn::Atomic {
            size: rng.pick(Size::ALL),
            op: rng.pick(AtomicOp::ALL),
            fetch: rng.bool(),
            dst: rng.reg(),
            src: rng.reg(),
            off: rng.off(),
        },
    }
}

/// An instruction that validates (invalid draws are redrawn).
fn valid_insn(rng: &mut Rng) -> Insn {
    loop {
        let i = arbitrary_insn(rng);
        if i.validate().is_ok() {
            return i;
        }
    }
}

fn valid_program(rng: &mut Rng) -> Vec<u8> {
    let n = 1 + rng.below(6);
    let prog: Vec<Insn> = (0..n).map(|_| valid_insn(rng)).collect();
    slots_to_bytes(&encode_all(&prog))
}

/// One fuzz input.
fn input(rng: &mut Rng) -> Vec<u8> {
    match rng.below(20) {
        // A program of valid instructions.
        0..=10 => valid_program(rng),
        // ... with one to three byte mutations, sometimes cut short.
        11..=15 => {
            let mut bytes = valid_program(rng);
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(bytes.len());
                match rng.below(3) {
                    0 => bytes[at] = rng.next() as u8,
                    1 => bytes[at] ^= 1 << rng.below(8),
                    _ => bytes.truncate(at),
                }
                if bytes.is_empty() {
                    break;
                }
            }
            bytes
        }
        // Slots with a real opcode byte and random other fields.
        16..=17 => {
            let mut bytes = Vec::new();
            for _ in 0..1 + rng.below(4) {
                let opcode = valid_insn(rng).encode().first.opcode;
                bytes.push(opcode);
                bytes.extend((0..INSN_SIZE - 1).map(|_| rng.next() as u8));
            }
            bytes
        }
        // Random bytes of any length.
        _ => (0..rng.below(48)).map(|_| rng.next() as u8).collect(),
    }
}

/// The variant of `i`; exhaustive, so a new variant must be listed in [`VARIANTS`].
fn variant(i: &Insn) -> &'static str {
    match i {
        Insn::Alu { .. } => "Alu",
        Insn::Neg { .. } => "Neg",
        Insn::MovSx { .. } => "MovSx",
        Insn::AddrSpaceCast { .. } => "AddrSpaceCast",
        Insn::Endian { .. } => "Endian",
        Insn::Ja { .. } => "Ja",
        Insn::Jmp { .. } => "Jmp",
        Insn::MayGoto { .. } => "MayGoto",
        Insn::Call(_) => "Call",
        Insn::CallX { .. } => "CallX",
        Insn::Exit => "Exit",
        Insn::LdImm64 { .. } => "LdImm64",
        Insn::LdAbs { .. } => "LdAbs",
        Insn::LdInd { .. } => "LdInd",
        Insn::Load { .. } => "Load",
        Insn::Store { .. } => "Store",
        Insn::Atomic { .. } => "Atomic",
    }
}

const VARIANTS: [&str; 17] = [
    "Alu",
    "Neg",
    "MovSx",
    "AddrSpaceCast",
    "Endian",
    "Ja",
    "Jmp",
    "MayGoto",
    "Call",
    "CallX",
    "Exit",
    "LdImm64",
    "LdAbs",
    "LdInd",
    "Load",
    "Store",
    "Atomic",
];

/// What the stream reached.
#[derive(Default, Debug)]
struct Reach {
    inputs: usize,
    decodable: usize,
    /// Decoded instructions per variant, over the inputs that decode as a whole.
    variants: BTreeMap<&'static str, usize>,
}

/// Runs the oracle over the seeded stream and records what it reached.
fn run_stream() -> Reach {
    let mut rng = Rng(SEED);
    let mut reach = Reach::default();
    for _ in 0..INPUTS {
        let bytes = input(&mut rng);
        isa_roundtrip(&bytes);
        reach.inputs += 1;
        let mut padded = bytes;
        padded.resize(padded.len().div_ceil(INSN_SIZE) * INSN_SIZE, 0);
        let slots = slots_from_bytes(&padded).expect("padded to a multiple of 8");
        if let Ok(insns) = decode_all(&slots) {
            reach.decodable += 1;
            for (_, i) in insns {
                *reach.variants.entry(variant(&i)).or_default() += 1;
            }
        }
    }
    reach
}

/// The "generator reaches X" test: the stream is worth running the oracle on.
#[test]
fn generator_reaches_decodable_programs() {
    let start = Instant::now();
    let reach = run_stream();
    println!(
        "isa_roundtrip: {} inputs in {:.2?}, {} decode as a whole; variants: {:?}",
        reach.inputs,
        start.elapsed(),
        reach.decodable,
        reach.variants
    );
    assert!(
        reach.decodable * 100 >= reach.inputs * 30,
        "only {} of {} inputs decode",
        reach.decodable,
        reach.inputs
    );
    assert!(
        reach.decodable * 100 <= reach.inputs * 90,
        "{} of {} inputs decode: too few decode errors are reached",
        reach.decodable,
        reach.inputs
    );
    let missing: Vec<_> = VARIANTS
        .iter()
        .filter(|v| !reach.variants.contains_key(*v))
        .collect();
    assert!(missing.is_empty(), "variants never decoded: {missing:?}");
}

/// Hand-picked inputs: empty, shorter than a slot, an `ld_imm64` without its second half, the
/// widest jumps, and a program that decodes only slot by slot.
#[test]
fn edge_inputs() {
    let exit = [0x95, 0, 0, 0, 0, 0, 0, 0];
    let lddw = [0x18, 0x01, 0, 0, 0x78, 0x56, 0x34, 0x12];
    let gotol_min = [0x06, 0, 0, 0, 0, 0, 0, 0x80];
    let goto_min = [0x05, 0, 0, 0x80, 0, 0, 0, 0];
    let bad = [0xff; 8];
    let cases: Vec<Vec<u8>> = vec![
        vec![],
        vec![0x95],
        exit.to_vec(),
        lddw.to_vec(),
        [lddw, [0; 8]].concat(),
        [gotol_min, goto_min, exit].concat(),
        [exit, bad, lddw, [0; 8], exit].concat(),
    ];
    for c in cases {
        isa_roundtrip(&c);
    }
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/ebpf-samples")
}

/// Every `*.o` under `dir`, sorted, skipping `invalid/`.
fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read corpus dir") {
            let path = e.expect("dir entry").path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "invalid") {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|x| x == "o") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The oracle over every slot of every executable section of the corpus. Each distinct
/// instruction (one slot, two for `ld_imm64`) is checked once, as an input of its own: the
/// corpus repeats itself (559,085 slots, 35,468 distinct), and the oracle over whole sections
/// takes ten times as long in a debug build for little more.
#[test]
fn corpus_slots() {
    const SHF_EXECINSTR: u64 = 0x4;
    let corpus = corpus_dir();
    if !corpus.is_dir() {
        println!(
            "SKIPPED: corpus not found at {} (expected ../shared/corpus/ebpf-samples beside the \
             repository)",
            corpus.display()
        );
        return;
    }
    let start = Instant::now();
    let (mut sections, mut slots) = (0usize, 0usize);
    let mut distinct: HashSet<&[u8]> = HashSet::new();
    let files: Vec<Vec<u8>> = corpus_files(&corpus)
        .iter()
        .map(|p| std::fs::read(p).expect("read object"))
        .collect();
    for data in &files {
        let Ok(obj) = object::File::parse(&**data) else {
            continue;
        };
        for section in obj.sections() {
            let SectionFlags::Elf { sh_flags } = section.flags() else {
                continue;
            };
            if sh_flags & SHF_EXECINSTR == 0 {
                continue;
            }
            let bytes: &[u8] = section.data().expect("section data");
            sections += 1;
            for at in (0..bytes.len()).step_by(INSN_SIZE) {
                slots += 1;
                let len = if bytes[at] == LD_IMM64 { 16 } else { 8 };
                let window = &bytes[at..(at + len).min(bytes.len())];
                if distinct.insert(window) {
                    isa_roundtrip(window);
                }
            }
        }
    }
    println!(
        "isa_roundtrip: {sections} corpus sections, {slots} slots, {} distinct instructions in \
         {:.2?}",
        distinct.len(),
        start.elapsed()
    );
    assert!(slots > 0, "no executable section in {}", corpus.display());
}
