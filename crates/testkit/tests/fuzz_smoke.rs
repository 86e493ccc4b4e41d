//! The fuzz oracles in plain `cargo test`, each over a fixed, seeded stream of inputs: the same
//! functions the targets in `fuzz/fuzz_targets/` call.
//!
//! - [`ebpfvm_testkit::fuzz::isa_roundtrip`]: a structure-aware generator gets past the strict
//!   decoder: most inputs are programs of valid instructions (drawn from arbitrary field
//!   values, invalid ones redrawn), some of them then mutated byte-wise, and the rest are slots
//!   with a real opcode byte and random fields, or plain random bytes.
//!   `generator_reaches_decodable_programs` checks that the stream really reaches what the
//!   oracle needs: decodable programs, every `Insn` variant, and decode errors. Every
//!   executable section of the real-world corpus goes through it too.
//! - [`ebpfvm_testkit::fuzz::object_parse`] and [`ebpfvm_testkit::fuzz::btf_parse`]: every
//!   object of the real-world corpus (`../shared/corpus/ebpf-samples`) and its `.BTF` (+
//!   `.BTF.ext`), then deterministic mutations of them: bit flips, byte writes, truncations,
//!   and edits of length and offset fields found by walking the ELF section table, symbol
//!   and relocation entries, the BTF header and BTF type records. The `*_mutations` tests
//!   check that the stream reaches both outcomes (parsed and rejected).

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ebpfvm_btf::Btf;
use ebpfvm_isa::opcodes::op::LD_IMM64;
use ebpfvm_isa::{
    decode_all, encode_all, slots_from_bytes, slots_to_bytes, AluOp, AtomicOp, ByteOrder, Call,
    Imm64, Insn, JmpCond, Reg, Size, Source, Width, INSN_SIZE,
};
use ebpfvm_testkit::fuzz::{
    btf_extent, btf_parse, btf_parse_outcome, isa_roundtrip, object_parse, object_parse_outcome,
    BtfOutcome,
};
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

// ---------------------------------------------------------------------------------------------
// object_parse and btf_parse: the corpus, then deterministic mutations of it

/// Mutated inputs per test; with the size caps below each test takes under a second in a
/// debug build.
const OBJECT_MUTATIONS: usize = 3_000;
const BTF_MUTATIONS: usize = 4_000;
/// Only objects and BTF blobs up to these sizes are mutated (the big ones only make a debug
/// build slow; they go through the oracles unmutated in the `*_corpus` tests).
const MAX_OBJECT_SEED: usize = 48 << 10;
const MAX_BTF_SEED: usize = 24 << 10;

/// Every file of the corpus the ELF oracle takes: the `*.o` files, and everything in
/// `invalid/` (other projects' fuzzer finds, some not named `*.o`), sorted.
fn corpus_objects(dir: &Path) -> Vec<PathBuf> {
    let mut out = corpus_files(dir);
    if let Ok(entries) = std::fs::read_dir(dir.join("invalid")) {
        out.extend(
            entries
                .map(|e| e.expect("dir entry").path())
                .filter(|p| p.is_file()),
        );
    }
    out.sort();
    out.dedup();
    out
}

/// The corpus objects as (path relative to the corpus, bytes), or `None` after printing
/// why the test is skipped.
fn corpus_or_skip(test: &str) -> Option<Vec<(String, Vec<u8>)>> {
    let dir = corpus_dir();
    if !dir.is_dir() {
        println!(
            "SKIPPED {test}: corpus not found at {} (expected ../shared/corpus/ebpf-samples \
             beside the repository)",
            dir.display()
        );
        return None;
    }
    let files = corpus_objects(&dir)
        .into_iter()
        .map(|p| {
            let name = p.strip_prefix(&dir).unwrap_or(&p).display().to_string();
            (name, std::fs::read(&p).expect("read corpus file"))
        })
        .collect();
    Some(files)
}

/// The `btf_parse` input for an object: `.BTF`, then `.BTF.ext` if there is one.
fn btf_input(elf: &[u8]) -> Option<Vec<u8>> {
    let obj = object::File::parse(elf).ok()?;
    let mut out = obj.section_by_name(".BTF")?.data().ok()?.to_vec();
    if let Some(ext) = obj.section_by_name(".BTF.ext") {
        out.extend_from_slice(ext.data().ok()?);
    }
    Some(out)
}

/// Runs `check` on `input`; if it panics, says which input it was (the oracle's own message,
/// printed by the panic hook, comes first) and fails with the same panic.
fn run_case(what: impl FnOnce() -> String, input: &[u8], check: fn(&[u8])) {
    if let Err(panic) = std::panic::catch_unwind(|| check(input)) {
        eprintln!("--- the failing case: {}", what());
        std::panic::resume_unwind(panic);
    }
}

/// The oracle failures of a stream, collected so that one bug does not hide the others.
#[derive(Default)]
struct Failures(Vec<(String, String)>);

impl Failures {
    /// Runs `check` on `input` and returns its result; records a panic with the case's name
    /// and the first line of its message (the whole message, from the panic hook, is in the
    /// test's output) and returns `None`.
    fn run<R>(
        &mut self,
        what: impl FnOnce() -> String,
        input: &[u8],
        check: fn(&[u8]) -> R,
    ) -> Option<R> {
        match std::panic::catch_unwind(|| check(input)) {
            Ok(r) => Some(r),
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("(no message)");
                let first = msg.lines().next().unwrap_or_default().to_string();
                self.0.push((what(), first));
                None
            }
        }
    }

    /// Fails the test if any case failed, listing the first few.
    fn assert_none(&self, inputs: usize) {
        if self.0.is_empty() {
            return;
        }
        let mut report = format!("{} of {inputs} inputs fail the oracle:", self.0.len());
        for (case, msg) in self.0.iter().take(8) {
            let _ = write!(report, "\n- {case}\n    {msg}");
        }
        panic!("{report}");
    }
}

fn read_le(b: &[u8], at: usize, width: usize) -> Option<u64> {
    let bytes = b.get(at..at.checked_add(width)?)?;
    Some(
        bytes
            .iter()
            .rev()
            .fold(0u64, |acc, &x| (acc << 8) | u64::from(x)),
    )
}

/// Writes the low `width` bytes of `v` little-endian at `at`; false if out of range.
fn write_le(b: &mut [u8], at: usize, width: usize, v: u64) -> bool {
    let Some(bytes) = at.checked_add(width).and_then(|end| b.get_mut(at..end)) else {
        return false;
    };
    for (i, x) in bytes.iter_mut().enumerate() {
        *x = (v >> (8 * i)) as u8;
    }
    true
}

/// A value worth putting in a length or offset field that holds `orig`, in an input of
/// `len` bytes.
fn interesting(rng: &mut Rng, orig: u64, len: usize) -> u64 {
    const VALUES: [u64; 20] = [
        0,
        1,
        2,
        3,
        4,
        7,
        8,
        12,
        16,
        24,
        64,
        0x7f,
        0x80,
        0xff,
        0x100,
        0xffff,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_ffff,
        u64::MAX,
    ];
    const STEPS: [u64; 7] = [1, 2, 4, 8, 12, 16, 24];
    match rng.below(4) {
        0 => rng.pick(&VALUES),
        1 => orig.wrapping_add(rng.pick(&STEPS)),
        2 => orig.wrapping_sub(rng.pick(&STEPS)),
        _ => (len as u64 + rng.below(33) as u64).wrapping_sub(16),
    }
}

/// Sets the `width`-byte field at `at` to an interesting value and records the edit.
fn edit_field(
    rng: &mut Rng,
    b: &mut [u8],
    at: usize,
    width: usize,
    what: &str,
    ops: &mut Vec<String>,
) {
    let Some(orig) = read_le(b, at, width) else {
        return;
    };
    let v = if rng.below(4) == 0 {
        rng.next()
    } else {
        interesting(rng, orig, b.len())
    };
    if write_le(b, at, width, v) {
        let v = read_le(b, at, width).unwrap_or(v);
        ops.push(format!("{what} @{at:#x}: {orig:#x} -> {v:#x}"));
    }
}

/// The byte-level mutations both streams use; `resize` allows truncation.
fn mutate_bytes(rng: &mut Rng, b: &mut Vec<u8>, resize: bool, ops: &mut Vec<String>) {
    if b.is_empty() {
        return;
    }
    let at = rng.below(b.len());
    match rng.below(3) {
        0 => {
            let bit = rng.below(8);
            b[at] ^= 1 << bit;
            ops.push(format!("flip bit {bit} @{at:#x}"));
        }
        1 if resize => {
            b.truncate(at);
            ops.push(format!("truncate to {at:#x}"));
        }
        _ => {
            let any = rng.next() as u8;
            let v = rng.pick(&[0, 0xff, 0x80, 0x7f, b'\n', any]);
            ops.push(format!("byte @{at:#x}: {:#x} -> {v:#x}", b[at]));
            b[at] = v;
        }
    }
}

/// One ELF64 section header.
struct Shdr {
    /// Where the header is.
    at: usize,
    sh_type: u32,
    flags: u64,
    offset: usize,
    size: usize,
    entsize: usize,
}

const SHT_RELA: u32 = 4;
const SHT_REL: u32 = 9;
const SHT_SYMTAB: u32 = 2;

/// The section headers of a little-endian ELF64 file (those inside the file).
fn section_headers(b: &[u8]) -> Vec<Shdr> {
    if b.get(..6) != Some(b"\x7fELF\x02\x01") || read_le(b, 0x3a, 2) != Some(64) {
        return Vec::new();
    }
    let (Some(shoff), Some(shnum)) = (read_le(b, 0x28, 8), read_le(b, 0x3c, 2)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for i in 0..shnum {
        let Some(at) = shoff
            .checked_add(i * 64)
            .and_then(|a| usize::try_from(a).ok())
        else {
            break;
        };
        let field = |off: usize, w: usize| read_le(b, at.checked_add(off)?, w);
        let (Some(sh_type), Some(flags), Some(offset), Some(size), Some(entsize)) = (
            field(4, 4),
            field(8, 8),
            field(24, 8),
            field(32, 8),
            field(56, 8),
        ) else {
            break;
        };
        out.push(Shdr {
            at,
            sh_type: sh_type as u32,
            flags,
            offset: usize::try_from(offset).unwrap_or(usize::MAX),
            size: usize::try_from(size).unwrap_or(usize::MAX),
            entsize: usize::try_from(entsize).unwrap_or(usize::MAX),
        });
    }
    out
}

impl Shdr {
    /// The section's bytes as a range of the file, if they are inside it.
    fn range(&self, len: usize) -> Option<std::ops::Range<usize>> {
        let end = self.offset.checked_add(self.size)?;
        (end <= len && self.size > 0).then_some(self.offset..end)
    }
}

/// One to three mutations of an ELF file, described in `ops`.
fn mutate_object(rng: &mut Rng, b: &mut Vec<u8>, ops: &mut Vec<String>) {
    const EHDR: [(usize, usize, &str); 8] = [
        (0x04, 1, "e_ident[EI_CLASS]"),
        (0x10, 2, "e_type"),
        (0x12, 2, "e_machine"),
        (0x28, 8, "e_shoff"),
        (0x34, 2, "e_ehsize"),
        (0x3a, 2, "e_shentsize"),
        (0x3c, 2, "e_shnum"),
        (0x3e, 2, "e_shstrndx"),
    ];
    const SHDR: [(usize, usize, &str); 10] = [
        (0, 4, "sh_name"),
        (4, 4, "sh_type"),
        (8, 8, "sh_flags"),
        (16, 8, "sh_addr"),
        (24, 8, "sh_offset"),
        (32, 8, "sh_size"),
        (40, 4, "sh_link"),
        (44, 4, "sh_info"),
        (48, 8, "sh_addralign"),
        (56, 8, "sh_entsize"),
    ];
    const SYM: [(usize, usize, &str); 6] = [
        (0, 4, "st_name"),
        (4, 1, "st_info"),
        (5, 1, "st_other"),
        (6, 2, "st_shndx"),
        (8, 8, "st_value"),
        (16, 8, "st_size"),
    ];
    const REL: [(usize, usize, &str); 4] = [
        (0, 8, "r_offset"),
        (8, 4, "r_type"),
        (12, 4, "r_sym"),
        (16, 8, "r_addend"),
    ];
    for _ in 0..1 + rng.below(3) {
        let shdrs = section_headers(b);
        let len = b.len();
        match rng.below(12) {
            0..=2 => {
                let resize = rng.below(3) == 0;
                mutate_bytes(rng, b, resize, ops);
            }
            3 => {
                let (at, w, what) = rng.pick(&EHDR);
                edit_field(rng, b, at, w, what, ops);
            }
            4..=6 if !shdrs.is_empty() => {
                let i = rng.below(shdrs.len());
                let (off, w, what) = rng.pick(&SHDR);
                edit_field(
                    rng,
                    b,
                    shdrs[i].at + off,
                    w,
                    &format!("section {i} {what}"),
                    ops,
                );
            }
            7 | 8 => {
                // A field of a symbol or relocation entry.
                let tables: Vec<_> = shdrs
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| matches!(s.sh_type, SHT_SYMTAB | SHT_REL | SHT_RELA))
                    .filter_map(|(i, s)| Some((i, s.sh_type, s.range(len)?)))
                    .collect();
                if tables.is_empty() {
                    continue;
                }
                let (i, ty, range) = tables[rng.below(tables.len())].clone();
                let entsize = match ty {
                    SHT_SYMTAB | SHT_RELA => 24,
                    _ => 16,
                };
                let n = range.len() / entsize;
                if n == 0 {
                    continue;
                }
                let e = rng.below(n);
                let (off, w, what) = if ty == SHT_SYMTAB {
                    rng.pick(&SYM)
                } else {
                    rng.pick(&REL[..if ty == SHT_RELA { 4 } else { 3 }])
                };
                let at = range.start + e * entsize + off;
                edit_field(rng, b, at, w, &format!("section {i} entry {e} {what}"), ops);
            }
            9 | 10 => {
                // Inside a .BTF or .BTF.ext section (both start with the BTF magic).
                let btfs: Vec<_> = shdrs
                    .iter()
                    .filter_map(|s| s.range(len))
                    .filter(|r| b[r.clone()].starts_with(&[0x9f, 0xeb, 1, 0]))
                    .collect();
                if btfs.is_empty() {
                    continue;
                }
                let range = btfs[rng.below(btfs.len())].clone();
                let mut blob = b[range.clone()].to_vec();
                let mut inner = Vec::new();
                mutate_btf_once(rng, &mut blob, false, &mut inner);
                b[range.clone()].copy_from_slice(&blob);
                ops.extend(
                    inner
                        .into_iter()
                        .map(|op| format!("in the BTF blob at {:#x}: {op}", range.start)),
                );
            }
            _ => {
                // An instruction field of a code section.
                let code: Vec<_> = shdrs
                    .iter()
                    .filter(|s| s.flags & 0x4 != 0 && s.entsize != usize::MAX)
                    .filter_map(|s| s.range(len))
                    .filter(|r| r.len() >= 8)
                    .collect();
                if code.is_empty() {
                    continue;
                }
                let r = code[rng.below(code.len())].clone();
                let slot = r.start + rng.below(r.len() / 8) * 8;
                let (off, w, what) = rng.pick(&[
                    (0, 1, "opcode"),
                    (1, 1, "regs"),
                    (2, 2, "off"),
                    (4, 4, "imm"),
                ]);
                edit_field(rng, b, slot + off, w, &format!("insn {what}"), ops);
            }
        }
    }
}

/// The wire size of what follows a BTF type record's 12-byte header (`None`: unknown kind).
fn btf_extra_len(kind: u32, vlen: usize) -> Option<usize> {
    Some(match kind {
        1 | 14 | 17 => 4,
        3 => 12,
        4 | 5 | 15 | 19 => 12 * vlen,
        6 | 13 => 8 * vlen,
        2 | 7..=12 | 16 | 18 => 0,
        _ => return None,
    })
}

/// The start of each type record of the `.BTF` blob at the start of `b` (record `i` is
/// type id `i + 1`), and the string section's range, as far as they can be read.
fn btf_layout(b: &[u8]) -> (Vec<usize>, Option<std::ops::Range<usize>>) {
    let mut records = Vec::new();
    if read_le(b, 0, 2) != Some(0xeb9f) {
        return (records, None);
    }
    let word = |at: usize| read_le(b, at, 4).map_or(0, |v| v as usize);
    let hdr = word(4);
    let strings = hdr.checked_add(word(16)).and_then(|s| {
        let end = s.checked_add(word(20))?;
        (end <= b.len() && end > s).then_some(s..end)
    });
    let start = hdr.saturating_add(word(8));
    let end = start.saturating_add(word(12)).min(b.len());
    let mut pos = start;
    while pos.saturating_add(12) <= end && records.len() < 100_000 {
        records.push(pos);
        let info = word(pos + 4) as u32;
        let Some(extra) = btf_extra_len((info >> 24) & 0x1f, (info & 0xffff) as usize) else {
            break;
        };
        pos += 12 + extra;
    }
    (records, strings)
}

/// One mutation of a `.BTF` blob (maybe followed by `.BTF.ext`); `resize` allows
/// truncation.
fn mutate_btf_once(rng: &mut Rng, b: &mut Vec<u8>, resize: bool, ops: &mut Vec<String>) {
    const HEADER: [(usize, &str); 5] = [
        (4, "hdr_len"),
        (8, "type_off"),
        (12, "type_len"),
        (16, "str_off"),
        (20, "str_len"),
    ];
    let (records, strings) = btf_layout(b);
    let ids = records.len() + 1;
    match rng.below(12) {
        0 => {
            let (at, what) = rng.pick(&HEADER);
            edit_field(rng, b, at, 4, what, ops);
        }
        1 | 2 => mutate_bytes(rng, b, resize, ops),
        3 => {
            // A string: a byte of a name, maybe a NUL, a newline or invalid UTF-8.
            let Some(s) = strings else {
                return mutate_bytes(rng, b, resize, ops);
            };
            let at = s.start + rng.below(s.len());
            let v = rng.pick(&[0, b'\n', 0xff, 0xc3, b'a', b'_']);
            ops.push(format!("string byte @{at:#x}: {:#x} -> {v:#x}", b[at]));
            b[at] = v;
        }
        4 => {
            // A .BTF.ext field after the .BTF blob: header or record words.
            let ext = btf_extent(b);
            if ext + 8 > b.len() {
                return mutate_bytes(rng, b, resize, ops);
            }
            let at = if rng.bool() {
                ext + 4 * (1 + rng.below(7))
            } else {
                ext + 4 * rng.below((b.len() - ext) / 4)
            };
            edit_field(rng, b, at, 4, ".BTF.ext word", ops);
        }
        _ if records.is_empty() => mutate_bytes(rng, b, resize, ops),
        _ => {
            let r = rng.below(records.len());
            let at = records[r];
            let id = r + 1;
            let next = records.get(r + 1).copied().unwrap_or(b.len());
            let info = read_le(b, at + 4, 4).unwrap_or(0);
            let some_id = |rng: &mut Rng| match rng.below(4) {
                0 => id as u64,
                1 => rng.below(id + 1) as u64,
                _ => rng.below(ids + 2) as u64,
            };
            match rng.below(7) {
                0 => {
                    let len = strings.as_ref().map_or(16, |s| s.len());
                    let v = rng.below(len + 4) as u64;
                    ops.push(format!("type {id} name_off -> {v:#x}"));
                    write_le(b, at, 4, v);
                }
                1 => {
                    let kind = rng.below(21) as u64;
                    ops.push(format!("type {id} kind -> {kind}"));
                    write_le(b, at + 4, 4, (info & !(0x1f << 24)) | (kind << 24));
                }
                2 => {
                    let vlen = (info & 0xffff) as i64;
                    let small = rng.below(8) as i64;
                    let v = rng.pick(&[vlen + 1, vlen - 1, 0, 0xffff, small]);
                    let v = (v as u64) & 0xffff;
                    ops.push(format!("type {id} vlen -> {v}"));
                    write_le(b, at + 4, 4, (info & !0xffff) | v);
                }
                3 => {
                    ops.push(format!("type {id} kind_flag toggled"));
                    write_le(b, at + 4, 4, info ^ (1 << 31));
                }
                4 => {
                    let v = if rng.bool() {
                        some_id(rng)
                    } else {
                        interesting(rng, read_le(b, at + 8, 4).unwrap_or(0), b.len())
                    };
                    ops.push(format!("type {id} size/type -> {v:#x}"));
                    write_le(b, at + 8, 4, v);
                }
                _ => {
                    // A word of what follows the header: member/param types, offsets,
                    // array element types and counts, ...
                    let words = next.saturating_sub(at + 12) / 4;
                    if words == 0 {
                        return mutate_bytes(rng, b, resize, ops);
                    }
                    let w = at + 12 + 4 * rng.below(words);
                    let v = if rng.bool() {
                        some_id(rng)
                    } else {
                        interesting(rng, read_le(b, w, 4).unwrap_or(0), b.len())
                    };
                    ops.push(format!("type {id} word @{w:#x} -> {v:#x}"));
                    write_le(b, w, 4, v);
                }
            }
        }
    }
}

/// How the oracles' subjects answered a stream of inputs.
#[derive(Default, Debug)]
struct Outcomes {
    inputs: usize,
    parsed: usize,
    rejected: usize,
    /// `btf_parse` only: inputs whose bytes after `.BTF` parse as `.BTF.ext`.
    ext_parsed: usize,
}

impl Outcomes {
    /// Counts an `object_parse_outcome` (`None`: the oracle failed).
    fn object(&mut self, loaded: Option<bool>) {
        self.inputs += 1;
        match loaded {
            Some(true) => self.parsed += 1,
            Some(false) => self.rejected += 1,
            None => {}
        }
    }

    /// Counts a `btf_parse_outcome` (`None`: the oracle failed).
    fn btf(&mut self, outcome: Option<BtfOutcome>) {
        self.inputs += 1;
        match outcome {
            Some(o) if o.btf => {
                self.parsed += 1;
                self.ext_parsed += usize::from(o.ext_after);
            }
            Some(_) => self.rejected += 1,
            None => {}
        }
    }

    /// Both outcomes must be common: at least `min_percent` of the inputs each.
    fn assert_both(&self, what: &str, min_percent: usize) {
        assert!(
            self.parsed * 100 >= self.inputs * min_percent
                && self.rejected * 100 >= self.inputs * min_percent,
            "{what}: {} of {} inputs parse and {} are rejected; the stream should reach both \
             (at least {min_percent}% each)",
            self.parsed,
            self.inputs,
            self.rejected
        );
    }
}

/// Every corpus object through `object_parse`; nearly all of them must load.
#[test]
fn object_parse_corpus() {
    let Some(files) = corpus_or_skip("object_parse_corpus") else {
        return;
    };
    let start = Instant::now();
    let mut failures = Failures::default();
    let mut out = Outcomes::default();
    let mut valid = Outcomes::default();
    for (name, data) in &files {
        let loaded = failures.run(|| name.clone(), data, object_parse_outcome);
        out.object(loaded);
        if !name.starts_with("invalid") {
            valid.object(loaded);
        }
    }
    println!(
        "object_parse: {} corpus files in {:.2?}: {} load, {} rejected ({} of {} outside \
         invalid/ load)",
        out.inputs,
        start.elapsed(),
        out.parsed,
        out.rejected,
        valid.parsed,
        valid.inputs
    );
    failures.assert_none(out.inputs);
    assert!(
        valid.parsed * 100 >= valid.inputs * 95,
        "only {} of {} corpus objects load: the mutation stream would mostly test error paths",
        valid.parsed,
        valid.inputs
    );
}

/// The `.BTF` (+ `.BTF.ext`) of every corpus object through `btf_parse`; all of those
/// outside `invalid/` must parse.
#[test]
fn btf_parse_corpus() {
    let Some(files) = corpus_or_skip("btf_parse_corpus") else {
        return;
    };
    let start = Instant::now();
    let mut failures = Failures::default();
    let mut out = Outcomes::default();
    let mut unparsed = Vec::new();
    for (name, data) in &files {
        let Some(blob) = btf_input(data) else {
            continue;
        };
        out.btf(failures.run(|| format!(".BTF(.ext) of {name}"), &blob, btf_parse_outcome));
        if let Err(e) = Btf::parse(&blob) {
            unparsed.push(format!("{name}: {e}"));
        }
    }
    println!(
        "btf_parse: {} corpus blobs in {:.2?}: {} parse, {} with .BTF.ext; not parsed: {unparsed:#?}",
        out.inputs,
        start.elapsed(),
        out.parsed,
        out.ext_parsed
    );
    failures.assert_none(out.inputs);
    assert!(out.inputs > 0, "no corpus object has a .BTF section");
    unparsed.retain(|u| !u.starts_with("invalid"));
    assert!(
        unparsed.is_empty(),
        "corpus .BTF blobs that do not parse: {unparsed:#?}"
    );
    assert!(out.ext_parsed > 0, "no corpus .BTF.ext parses");
}

/// The seeds of a mutation stream: the inputs up to `max` bytes, in order.
fn small_seeds(inputs: Vec<(String, Vec<u8>)>, max: usize) -> Vec<(String, Vec<u8>)> {
    inputs.into_iter().filter(|(_, d)| d.len() <= max).collect()
}

/// Mutations of the smaller corpus objects through `object_parse`.
#[test]
fn object_parse_mutations() {
    let Some(files) = corpus_or_skip("object_parse_mutations") else {
        return;
    };
    let seeds = small_seeds(files, MAX_OBJECT_SEED);
    assert!(
        !seeds.is_empty(),
        "no corpus object is small enough to mutate"
    );
    let start = Instant::now();
    let mut failures = Failures::default();
    let mut rng = Rng(SEED ^ 0x0b1e);
    let mut out = Outcomes::default();
    for n in 0..OBJECT_MUTATIONS {
        let (name, seed) = &seeds[rng.below(seeds.len())];
        let mut data = seed.clone();
        let mut ops = Vec::new();
        mutate_object(&mut rng, &mut data, &mut ops);
        let what = || format!("mutation {n} of {name}: {}", ops.join("; "));
        out.object(failures.run(what, &data, object_parse_outcome));
    }
    println!(
        "object_parse: {} mutations of {} seeds in {:.2?}: {} load, {} rejected",
        out.inputs,
        seeds.len(),
        start.elapsed(),
        out.parsed,
        out.rejected
    );
    failures.assert_none(out.inputs);
    out.assert_both("object_parse mutations", 15);
}

/// Mutations of the smaller corpus `.BTF` (+ `.BTF.ext`) blobs through `btf_parse`.
#[test]
fn btf_parse_mutations() {
    let Some(files) = corpus_or_skip("btf_parse_mutations") else {
        return;
    };
    let blobs: Vec<_> = files
        .iter()
        .filter_map(|(name, d)| Some((format!(".BTF(.ext) of {name}"), btf_input(d)?)))
        .collect();
    let seeds = small_seeds(blobs, MAX_BTF_SEED);
    assert!(
        !seeds.is_empty(),
        "no corpus BTF blob is small enough to mutate"
    );
    let start = Instant::now();
    let mut failures = Failures::default();
    let mut rng = Rng(SEED ^ 0xb7f);
    let mut out = Outcomes::default();
    for n in 0..BTF_MUTATIONS {
        let (name, seed) = &seeds[rng.below(seeds.len())];
        let mut data = seed.clone();
        let mut ops = Vec::new();
        for _ in 0..1 + rng.below(3) {
            let resize = rng.below(4) == 0;
            mutate_btf_once(&mut rng, &mut data, resize, &mut ops);
        }
        let what = || format!("mutation {n} of {name}: {}", ops.join("; "));
        out.btf(failures.run(what, &data, btf_parse_outcome));
    }
    println!(
        "btf_parse: {} mutations of {} seeds in {:.2?}: {} parse ({} with .BTF.ext), {} \
         rejected",
        out.inputs,
        seeds.len(),
        start.elapsed(),
        out.parsed,
        out.ext_parsed,
        out.rejected
    );
    failures.assert_none(out.inputs);
    out.assert_both("btf_parse mutations", 15);
    assert!(
        out.ext_parsed * 100 >= out.inputs * 5,
        "only {} of {} mutated blobs reach a .BTF.ext that parses",
        out.ext_parsed,
        out.inputs
    );
}

/// A minimal `.BTF` blob: header, `types` records, then `strings`.
fn btf_blob(types: &[u32], strings: &[u8]) -> Vec<u8> {
    let type_len = (types.len() * 4) as u32;
    let mut b = Vec::new();
    for w in [0x0001_eb9f, 24, 0, type_len, type_len, strings.len() as u32] {
        b.extend_from_slice(&u32::to_le_bytes(w));
    }
    for w in types {
        b.extend_from_slice(&w.to_le_bytes());
    }
    b.extend_from_slice(strings);
    b
}

/// Hand-picked inputs for both oracles: empty, truncated headers, a bare ELF header, BTF
/// with no types, a self-referencing typedef, a struct that contains itself through a pointer.
#[test]
fn object_and_btf_edge_inputs() {
    let mut ehdr = vec![0u8; 64];
    ehdr[..6].copy_from_slice(b"\x7fELF\x02\x01");
    ehdr[6] = 1;
    ehdr[0x12] = 247;
    ehdr[0x3a] = 64;
    let int = [1, 0x0100_0000, 4, 32];
    let cases: Vec<Vec<u8>> = vec![
        vec![],
        b"\x7fELF".to_vec(),
        ehdr.clone(),
        [ehdr, vec![0; 64]].concat(),
        vec![0x9f, 0xeb, 1, 0],
        btf_blob(&[], b"\0"),
        btf_blob(&[], b""),
        // typedef a -> itself
        btf_blob(&[1, 0x0800_0000, 1], b"\0a\0"),
        // int; struct s { struct s *p; int x; } via ptr 3 -> 2
        btf_blob(
            &[
                int.as_slice(),
                &[5, 0x0400_0002, 16, 7, 3, 0, 9, 1, 64],
                &[0, 0x0200_0000, 2],
            ]
            .concat(),
            b"\0int\0s\0p\0x\0",
        ),
        // an array of itself
        btf_blob(&[0, 0x0300_0000, 0, 1, 1, 4], b"\0"),
        // .BTF then a .BTF.ext with only a header
        [
            btf_blob(&int, b"\0int\0"),
            [0x0001_eb9f_u32, 32, 0, 0, 0, 0, 0, 0]
                .iter()
                .flat_map(|w| w.to_le_bytes())
                .collect(),
        ]
        .concat(),
    ];
    for (n, c) in cases.iter().enumerate() {
        run_case(|| format!("edge case {n}"), c, object_parse);
        run_case(|| format!("edge case {n}"), c, btf_parse);
    }
    let parsed = |b: &[u8]| Btf::parse(b).is_ok();
    assert!(
        parsed(&cases[8]),
        "the struct that points to itself should parse"
    );
    assert!(!parsed(&cases[7]), "a typedef cycle should be rejected");
}

// ---------------------------------------------------------------------------------------------
// Regressions: what the fuzz targets found (fuzz/README.md, "Findings"). Each input is the
// minimal hand-written form of the fuzzer's crash.

/// A section for [`tiny_elf`].
struct Sec<'a> {
    name: &'a [u8],
    sh_type: u32,
    flags: u64,
    data: Vec<u8>,
    link: u32,
    info: u32,
    entsize: u64,
    /// `sh_offset` and `sh_size` to write instead of where `data` is.
    place: Option<(u64, u64)>,
}

impl<'a> Sec<'a> {
    fn new(name: &'a [u8], sh_type: u32, data: Vec<u8>) -> Sec<'a> {
        Sec {
            name,
            sh_type,
            flags: 0,
            data,
            link: 0,
            info: 0,
            entsize: 0,
            place: None,
        }
    }
}

/// A little-endian ELF64 BPF relocatable file: the null section, `.shstrtab` (index 1), then
/// `sections` from index 2.
fn tiny_elf(sections: &[Sec<'_>]) -> Vec<u8> {
    let mut shstrtab = b"\0.shstrtab\0".to_vec();
    let mut names = Vec::new();
    for s in sections {
        names.push(shstrtab.len() as u32);
        shstrtab.extend_from_slice(s.name);
        shstrtab.push(0);
    }
    let mut body = shstrtab.clone();
    let mut places = Vec::new();
    for s in sections {
        body.resize(body.len().next_multiple_of(8), 0);
        let at = 64 + body.len() as u64;
        places.push(s.place.unwrap_or((at, s.data.len() as u64)));
        body.extend_from_slice(&s.data);
    }
    let shoff = (64 + body.len()).next_multiple_of(8);
    let shnum = sections.len() + 2;
    let mut b = b"\x7fELF\x02\x01\x01".to_vec();
    b.resize(16, 0);
    b.extend_from_slice(&1u16.to_le_bytes()); // e_type: ET_REL
    b.extend_from_slice(&247u16.to_le_bytes()); // e_machine: EM_BPF
    b.extend_from_slice(&1u32.to_le_bytes()); // e_version
    b.extend_from_slice(&[0; 16]); // e_entry, e_phoff
    b.extend_from_slice(&(shoff as u64).to_le_bytes());
    b.extend_from_slice(&[0; 4]); // e_flags
    for h in [64u16, 0, 0, 64, shnum as u16, 1] {
        b.extend_from_slice(&h.to_le_bytes()); // e_ehsize .. e_shstrndx
    }
    b.extend_from_slice(&body);
    b.resize(shoff, 0);
    let mut shdr = |name: u32, s: &Sec<'_>, (offset, size): (u64, u64)| {
        b.extend_from_slice(&name.to_le_bytes());
        b.extend_from_slice(&s.sh_type.to_le_bytes());
        for v in [s.flags, 0, offset, size] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&s.link.to_le_bytes());
        b.extend_from_slice(&s.info.to_le_bytes());
        b.extend_from_slice(&8u64.to_le_bytes()); // sh_addralign
        b.extend_from_slice(&s.entsize.to_le_bytes());
    };
    shdr(0, &Sec::new(b"", 0, Vec::new()), (0, 0));
    shdr(
        1,
        &Sec::new(b"", 3, Vec::new()),
        (64, shstrtab.len() as u64),
    );
    for ((s, &name), &place) in sections.iter().zip(&names).zip(&places) {
        shdr(name, s, place);
    }
    b
}

const EXIT: [u8; 8] = [0x95, 0, 0, 0, 0, 0, 0, 0];

/// A code section `name` of one `exit`.
fn code_section(name: &[u8]) -> Sec<'_> {
    Sec {
        flags: 0x6, // SHF_ALLOC | SHF_EXECINSTR
        ..Sec::new(name, 1, EXIT.to_vec())
    }
}

/// Found by `object_parse` within seconds (section names `"BPF command: %d\n"`, `"\n"`, and
/// symbol names with newlines in relocation errors): `ParseError` messages quote section and
/// symbol names from the file as they are, so a name with a newline makes a multi-line
/// message, against the crate's "one-line messages" promise. Here a code section named
/// `"a\nb"` whose contents lie outside the file.
#[test]
fn regression_object_error_quotes_a_section_name_with_a_newline() {
    let elf = tiny_elf(&[Sec {
        place: Some((0xffff_0000, 8)),
        ..code_section(b"a\nb")
    }]);
    object_parse(&elf);
}

/// A `.BTF` blob of an `int` and `depth` anonymous unions, each with two members of the
/// union before it, and a struct `top` holding the last: `to_c` inlines each anonymous
/// union at each use, so its output doubles with every level.
fn btf_shared_anonymous_unions(depth: u32) -> Vec<u8> {
    let (a, b) = (9, 11);
    let mut types = vec![1, 0x0100_0000, 4, 32]; // 1: int
    types.extend([0, 0x0500_0002, 4, a, 1, 0, b, 1, 0]); // 2: union { int a; int b; }
    for id in 3..depth + 2 {
        types.extend([0, 0x0500_0002, 4, a, id - 1, 0, b, id - 1, 0]);
    }
    types.extend([5, 0x0400_0001, 4, a, depth + 1, 0]); // struct top { union ... a; }
    btf_blob(&types, b"\0int\0top\0a\0b\0")
}

/// Found by `btf_parse` (first as a mutation of `build/map_in_map.o`'s BTF that printed 1.5
/// MB for 1,227 bytes): `Btf::to_c` does not keep to its own output bound (64 bytes per
/// input byte + 1 MiB, the same as the oracle's). The bound is checked only against the
/// text already appended to the output, between top-level types and members, while a
/// struct or union is built in a string of its own, with anonymous members inlined, and
/// appended whole. Anonymous unions used twice by the next one make it exponential: here
/// 16 levels (653 bytes of input) print 4.4 MB, 18 levels (725 bytes) 19 MB, 20 levels (797
/// bytes) 83 MB, and 38 levels (1.5 KB) do not finish in a minute.
#[test]
fn regression_btf_to_c_output_exponential_in_nested_anonymous_unions() {
    btf_parse(&btf_shared_anonymous_unions(16));
}

/// The same bound broken by bitfield padding: `pad` writes up to 65,536 `long: 64;` lines
/// for one gap, once per member, so a struct whose 40 members alternate between bit offset
/// 0 and 0xffffff00 (543 bytes of input) prints 15 MB, 32,000 bytes per input byte.
#[test]
fn regression_btf_to_c_output_unbounded_padding() {
    let mut types = vec![1, 0x0100_0000, 4, 32, 5, 0x0400_0000 | 40, 0xffff_ffff];
    for m in 0..40 {
        types.extend(if m % 2 == 0 {
            [7, 1, 0xffff_ff00]
        } else {
            [9, 1, 0]
        });
    }
    btf_parse(&btf_blob(&types, b"\0int\0s\0a\0b\0"));
}

/// Found by `btf_parse_mutations` (a newline written into the string section of
/// `build/twomaps_btf.o`'s BTF): `BtfError` messages quote `.BTF.ext` section names from the
/// string section as they are, so a name with a newline makes a multi-line message. Here a
/// func_info block with no records for a section named `"a\nb"`.
#[test]
fn regression_btf_ext_error_quotes_a_section_name_with_a_newline() {
    let btf = btf_blob(&[1, 0x0100_0000, 4, 32], b"\0int\0a\nb\0");
    // Header: magic/version/flags, hdr_len 32, func_info at 0 (12 bytes), no line_info or
    // CO-RE records; then the func_info record size and one block: section "a\nb", 0 records.
    let ext: Vec<u8> = [0x0001_eb9f_u32, 32, 0, 12, 12, 0, 12, 0, 8, 5, 0]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    btf_parse(&[btf, ext].concat());
}

/// Seen while triaging `object_parse` crashes, which did not reproduce: `Object::parse`
/// gives different errors for the same bytes from run to run, because
/// `Loader::resolve_relocations` (crates/object/src/object.rs) walks the code sections in
/// `HashMap` order and returns the first error. Here two code sections each have a
/// relocation against a symbol that does not exist; the error must name the same one every
/// time (the chance that 32 parses agree by luck is 2^-31).
#[test]
fn regression_object_parse_errors_are_deterministic() {
    let rel = |symbol: u64| [0u64.to_le_bytes(), (symbol << 32 | 1).to_le_bytes()].concat();
    let elf = tiny_elf(&[
        code_section(b"a"),
        code_section(b"b"),
        Sec {
            link: 5,
            info: 1,
            entsize: 24,
            ..Sec::new(b".symtab", 2, vec![0; 24])
        },
        Sec::new(b".strtab", 3, vec![0]),
        Sec {
            link: 4,
            info: 2,
            entsize: 16,
            ..Sec::new(b".rel.a", 9, rel(7))
        },
        Sec {
            link: 4,
            info: 3,
            entsize: 16,
            ..Sec::new(b".rel.b", 9, rel(9))
        },
    ]);
    let errors: HashSet<String> = (0..32)
        .map(|_| match ebpfvm_object::Object::parse(&elf) {
            Ok(obj) => format!("loaded {} programs", obj.programs.len()),
            Err(e) => e.to_string(),
        })
        .collect();
    assert_eq!(
        errors.len(),
        1,
        "Object::parse answers differently: {errors:#?}"
    );
}
