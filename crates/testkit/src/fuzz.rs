//! Fuzz oracles: each takes the fuzzer's raw bytes and panics, with a message that names the
//! input and the broken identity, when an invariant fails.
//!
//! The targets in `fuzz/fuzz_targets/` are one-line glue around these functions, and
//! `tests/fuzz_smoke.rs` runs them over a seeded stream of inputs in plain `cargo test`
//! (STYLE.md §6.4), so an oracle is exercised on stable Rust without libFuzzer.
//!
//! | oracle | input | checks |
//! |---|---|---|
//! | [`isa_roundtrip`] | instruction slots | decode/encode and disasm/asm identities |
//! | [`object_parse`] | an ELF file | `Object::parse` is total; what it returns is consistent |
//! | [`btf_parse`] | `.BTF` bytes, then optionally `.BTF.ext` bytes | parsing, queries and the C printer are total and bounded |
//!
//! Two checks can be switched off for a fuzzing run with `EBPFVM_FUZZ_WAIVE` (see
//! [`waived`]), to look past a known finding that is not fixed yet; tests never set it.

use std::error::Error;
use std::fmt::Write as _;
use std::sync::OnceLock;

use ebpfvm_btf::{Btf, BtfError, BtfExt, Kind, Type, TypeId};
use ebpfvm_isa::asm::llvm::assemble;
use ebpfvm_isa::disasm::{disasm_insn, disassemble, disassemble_with, SymbolLabels};
use ebpfvm_isa::{decode_all, decode_at, encode_all, slots_from_bytes, Insn, RawInsn, INSN_SIZE};
use ebpfvm_object::{Object, RelocationKind, MAX_TOTAL_SLOTS};

/// The encode/decode/asm/disasm identities of `ebpfvm-isa` on arbitrary bytes.
///
/// `data` is taken as instruction slots, zero-padded to a multiple of 8 bytes. Then:
///
/// - **whole program**: if every slot decodes (`decode_all`), every instruction validates,
///   `encode_all` gives back exactly the input slots, and the `disassemble` listing (also with
///   llvm-style `<label>` annotations) assembles (`asm::llvm::assemble`) back to them;
/// - **decode errors**: if it does not decode, the error's `pc` is the start of an instruction
///   inside the program and everything before it decodes;
/// - **every slot**: for each `pc` where `decode_at` succeeds, the instruction validates,
///   encodes to the slots it was decoded from, and its one-line `disasm_insn` text assembles
///   back to them.
///
/// Decoding, disassembling and assembling must not panic on any input either.
pub fn isa_roundtrip(data: &[u8]) {
    let mut bytes = data.to_vec();
    bytes.resize(data.len().div_ceil(INSN_SIZE) * INSN_SIZE, 0);
    let slots = slots_from_bytes(&bytes).expect("the length is a multiple of 8");

    match decode_all(&slots) {
        Ok(insns) => check_program(&slots, &insns),
        Err(e) => {
            let before = decode_all(&slots[..e.pc.min(slots.len())]);
            if e.pc >= slots.len() || before.is_err() {
                fail(
                    &slots,
                    &format!("decode_all failed with `{e}`, but {before:?} for the slots before"),
                );
            }
        }
    }
    for pc in 0..slots.len() {
        if let Ok(insn) = decode_at(&slots, pc) {
            check_slot(&slots, pc, &insn);
        }
    }
}

/// The whole-program identities for a program that decoded.
fn check_program(slots: &[RawInsn], insns: &[(usize, Insn)]) {
    let prog: Vec<Insn> = insns.iter().map(|(_, i)| *i).collect();
    if let Some((pc, i, e)) = insns
        .iter()
        .find_map(|(pc, i)| i.validate().err().map(|e| (pc, i, e)))
    {
        fail(
            slots,
            &format!("pc {pc} decodes to {i:?}, which does not validate: {e}"),
        );
    }
    let encoded = encode_all(&prog);
    if encoded != slots {
        fail(
            slots,
            &format!(
                "decode_all then encode_all differ\n  decoded: {prog:?}\n  encoded: {}",
                hex(&encoded)
            ),
        );
    }
    let listing = disassemble(insns);
    expect_assembles(slots, slots, &listing, "disassemble listing");
    let labels = SymbolLabels::new([(0u64, "prog"), (16, "LBB0_1")], ".text");
    let annotated = disassemble_with(insns, &labels);
    expect_assembles(slots, slots, &annotated, "annotated listing");
}

/// The identities of the one instruction decoded at `pc`.
fn check_slot(slots: &[RawInsn], pc: usize, insn: &Insn) {
    let own = &slots[pc..pc + insn.slots()];
    let encoded = match insn.try_encode() {
        Ok(e) => e,
        Err(e) => fail(
            slots,
            &format!("pc {pc} decodes to {insn:?}, which does not validate: {e}"),
        ),
    };
    let mut again = vec![encoded.first];
    again.extend(encoded.second);
    if again != own {
        fail(
            slots,
            &format!(
                "pc {pc} decodes to {insn:?}, which encodes to {} instead",
                hex(&again)
            ),
        );
    }
    let text = disasm_insn(insn, pc);
    expect_assembles(
        slots,
        own,
        &text,
        &format!("pc {pc}: disasm_insn of {insn:?}"),
    );
}

/// `text` must assemble to exactly `want`.
#[track_caller]
fn expect_assembles(input: &[RawInsn], want: &[RawInsn], text: &str, what: &str) {
    match assemble(text) {
        Ok(got) if got == want => {}
        Ok(got) => fail(
            input,
            &format!(
                "{what} assembles to different slots\n  want: {}\n  got:  {}\n--- text ---\n{text}",
                hex(want),
                hex(&got)
            ),
        ),
        Err(e) => fail(
            input,
            &format!("{what} does not assemble: {e}\n--- text ---\n{text}"),
        ),
    }
}

/// Slots as 16 hex digits each (the bytes in memory order), space-separated.
fn hex(slots: &[RawInsn]) -> String {
    let mut s = String::new();
    for (n, slot) in slots.iter().enumerate() {
        if n > 0 {
            s.push(' ');
        }
        for b in slot.to_bytes() {
            let _ = write!(s, "{b:02x}");
        }
    }
    s
}

#[track_caller]
fn fail(input: &[RawInsn], msg: &str) -> ! {
    panic!("isa_roundtrip: {msg}\n--- input slots ---\n{}", hex(input));
}

// ---------------------------------------------------------------------------------------------
// object_parse

/// `ebpfvm_object::Object::parse` on arbitrary bytes as an ELF file.
///
/// It must return, not panic. An error's message, and that of every error in its
/// [`source`](Error::source) chain, is one line. An object it returns is consistent:
///
/// - every program's instructions decode strictly (`decode_all`), and all programs together
///   hold at most [`MAX_TOTAL_SLOTS`] slots;
/// - a program's [`functions`](ebpfvm_object::ProgramSpec::functions) start with the program
///   itself at slot 0 and lie inside its instructions;
/// - every relocation, func/line info and CO-RE record names a slot of its program, map
///   indices are in [`Object::maps`] and call / function-pointer targets are slots of the
///   program;
/// - every warning is one line.
pub fn object_parse(data: &[u8]) {
    object_parse_outcome(data);
}

/// [`object_parse`], returning whether the object loaded (for tests that check what a
/// stream of inputs reaches).
pub fn object_parse_outcome(data: &[u8]) -> bool {
    match Object::parse(data) {
        Ok(obj) => {
            check_object(data, &obj);
            true
        }
        Err(e) => {
            expect_one_line(ORACLE_OBJECT, data, "Object::parse error", &e);
            false
        }
    }
}

const ORACLE_OBJECT: &str = "object_parse";
const ORACLE_BTF: &str = "btf_parse";

fn check_object(data: &[u8], obj: &Object) {
    let fail = |msg: String| -> ! { fail_bytes(ORACLE_OBJECT, data, &msg) };
    let total: usize = obj.programs.iter().map(|p| p.insns.len()).sum();
    if total > MAX_TOTAL_SLOTS {
        fail(format!(
            "the programs hold {total} slots, more than MAX_TOTAL_SLOTS ({MAX_TOTAL_SLOTS})"
        ));
    }
    for (w, warning) in obj.warnings.iter().enumerate() {
        if warning.contains('\n') {
            fail(format!("warning {w} is not one line: {warning:?}"));
        }
    }
    for p in &obj.programs {
        let len = p.insns.len();
        let name = &p.name;
        if let Err(e) = decode_all(&p.insns) {
            fail(format!(
                "program {name:?} ({len} slots) does not decode: {e}"
            ));
        }
        match p.functions.first() {
            Some(f) if f.start == 0 => {}
            other => fail(format!(
                "program {name:?}: its first linked function is {other:?}, not itself at slot 0"
            )),
        }
        for f in &p.functions {
            if f.start.checked_add(f.len).is_none_or(|end| end > len) {
                fail(format!(
                    "program {name:?} ({len} slots): function {f:?} is outside it"
                ));
            }
        }
        for r in &p.relocations {
            let map = match &r.kind {
                RelocationKind::Map { map }
                | RelocationKind::MapValue { map, .. }
                | RelocationKind::Kconfig { map, .. } => Some(*map),
                _ => None,
            };
            let target = match &r.kind {
                RelocationKind::Call { target, .. } | RelocationKind::FuncPtr { target, .. } => {
                    Some(*target)
                }
                _ => None,
            };
            if r.insn >= len
                || map.is_some_and(|m| m >= obj.maps.len())
                || target.is_some_and(|t| t >= len)
            {
                fail(format!(
                    "program {name:?} ({len} slots, {} maps): relocation {r:?} points outside",
                    obj.maps.len()
                ));
            }
        }
        let records = p
            .func_info
            .iter()
            .map(|f| ("func_info", f.insn))
            .chain(p.line_info.iter().map(|l| ("line_info", l.insn)))
            .chain(p.core_relos.iter().map(|c| ("core_relo", c.insn)));
        for (what, insn) in records {
            if insn >= len {
                fail(format!(
                    "program {name:?} ({len} slots): a {what} record is at slot {insn}"
                ));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// btf_parse

/// `ebpfvm_btf` on arbitrary bytes: `.BTF`, optionally followed by a `.BTF.ext` (the seed
/// corpus has both sections of an object back to back).
///
/// `Btf::parse` must return, not panic, with a one-line error. If it succeeds:
///
/// - `BtfExt::parse` runs on the bytes after the `.BTF` blob (its header's extent) and on
///   the whole input (both blobs have the same magic), and must return with a one-line
///   error or records that name existing types (func_info: a `FUNC`);
/// - every query runs on every type id and on ids just past the last: `type_by_id`,
///   `name_of`, `kind_of`, `skip_mods` / `resolve` (which reach a type that is no modifier),
///   `size_of` (a one-line error, never a cycle), `find_by_name` (which finds the type again,
///   and only types of that name, in id order), `member_offset_bits` and `member` on every
///   member name (which find the first direct member of that name), `member_bitfield`,
///   `func_proto` and `access_offset_bits`;
/// - `to_c` must return at most 64 bytes per input byte plus 1 MiB of C.
pub fn btf_parse(data: &[u8]) {
    btf_parse_outcome(data);
}

/// What [`btf_parse`] got to.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct BtfOutcome {
    /// `Btf::parse` succeeded.
    pub btf: bool,
    /// `BtfExt::parse` succeeded on the bytes after the `.BTF` blob.
    pub ext_after: bool,
}

/// [`btf_parse`], returning what parsed (for tests that check what a stream of inputs
/// reaches).
pub fn btf_parse_outcome(data: &[u8]) -> BtfOutcome {
    let btf = match Btf::parse(data) {
        Ok(btf) => btf,
        Err(e) => {
            expect_one_line(ORACLE_BTF, data, "Btf::parse error", &e);
            return BtfOutcome::default();
        }
    };
    check_btf(data, &btf);
    let end = btf_extent(data).min(data.len());
    let ext_after = check_ext(data, &btf, &data[end..], "the bytes after .BTF");
    check_ext(data, &btf, data, "the whole input");
    BtfOutcome {
        btf: true,
        ext_after,
    }
}

/// The end of the `.BTF` blob at the start of `data`: the header, then the furthest of the
/// type and string sections (0 if the header is not there).
pub fn btf_extent(data: &[u8]) -> usize {
    let word = |off: usize| {
        data.get(off..off + 4).map_or(0, |b| {
            u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        })
    };
    let (hdr_len, type_end, str_end) = (word(4), word(8) + word(12), word(16) + word(20));
    usize::try_from(hdr_len + type_end.max(str_end)).unwrap_or(usize::MAX)
}

/// The most C `Btf::to_c` may print for an input of `input_len` bytes.
pub fn c_output_cap(input_len: usize) -> usize {
    input_len.saturating_mul(64).saturating_add(1 << 20)
}

/// At most this many members of one struct or union are looked up by name (each lookup may
/// walk nested anonymous members, so all of them would be quadratic).
const MEMBERS_PER_TYPE: usize = 64;

fn check_btf(data: &[u8], btf: &Btf) {
    let fail = |msg: String| -> ! { fail_bytes(ORACLE_BTF, data, &msg) };
    let n = btf.len();
    if n == 0 || btf.last_id() as usize != n - 1 || btf.types().count() != n - 1 {
        fail(format!(
            "len() is {n}, last_id() {}, types() yields {}",
            btf.last_id(),
            btf.types().count()
        ));
    }
    if btf.type_by_id(TypeId(0)) != Some(&Type::Void) {
        fail(format!(
            "type 0 is {:?}, not void",
            btf.type_by_id(TypeId(0))
        ));
    }
    if !btf.find_by_name("").is_empty() {
        fail("find_by_name(\"\") finds types".into());
    }
    // Ids past the end: every query answers "no such type".
    for id in [n as u64, n as u64 + 1, u64::from(u32::MAX)] {
        let Ok(id) = u32::try_from(id).map(TypeId) else {
            continue;
        };
        if btf.type_by_id(id).is_some()
            || !btf.name_of(id).is_empty()
            || btf.kind_of(id).is_some()
            || btf.skip_mods(id) != id
            || btf.resolve(id).is_some()
            || btf.func_proto(id).is_some()
            || btf.member_offset_bits(id, "x").is_some()
            || btf.access_offset_bits(id, &[0, 0]).is_some()
        {
            fail(format!(
                "a query on id {id}, past the last ({}), answers",
                n - 1
            ));
        }
        match btf.size_of(id) {
            Ok(size) => fail(format!("size_of({id}), past the last, is {size}")),
            Err(e) => expect_one_line(ORACLE_BTF, data, &format!("size_of({id}) error"), &e),
        }
    }
    for raw in 0..n as u32 {
        let id = TypeId(raw);
        let t = btf
            .type_by_id(id)
            .unwrap_or_else(|| fail(format!("type {id} is missing")));
        if btf.kind_of(id) != Some(t.kind()) || btf.name_of(id) != t.name() {
            fail(format!("kind_of/name_of of {id} disagree with {t:?}"));
        }
        let skipped = btf.skip_mods(id);
        match btf.resolve(id) {
            Some(r) if !is_modifier(r.kind()) && btf.type_by_id(skipped) == Some(r) => {}
            r => fail(format!(
                "skip_mods({id}) is {skipped} and resolve({id}) is {r:?}: not a type past the \
                 modifiers"
            )),
        }
        if let Err(e) = btf.size_of(id) {
            if matches!(e, BtfError::Cycle { .. } | BtfError::NoSuchType { .. }) {
                fail(format!("size_of({id}) fails with `{e}` on a parsed blob"));
            }
            expect_one_line(ORACLE_BTF, data, &format!("size_of({id}) error"), &e);
        }
        let name = t.name();
        if !name.is_empty() {
            let found = btf.find_by_name(name);
            if !found.contains(&id)
                || !found.windows(2).all(|w| w[0].0 < w[1].0)
                || found.iter().any(|&f| btf.name_of(f) != name)
            {
                fail(format!(
                    "find_by_name({name:?}) is {found:?}, for type {id}"
                ));
            }
        }
        let _ = btf.func_proto(id);
        for path in [&[0][..], &[0, 0], &[1, 1, 0]] {
            let _ = btf.access_offset_bits(id, path);
        }
        if btf.member_offset_bits(id, "").is_some() {
            fail(format!("member_offset_bits({id}, \"\") finds a member"));
        }
        let _ = btf.member_offset_bits(id, "\u{1}no such member");
        let Some(c) = t.as_composite() else {
            continue;
        };
        for m in c.members.iter().take(MEMBERS_PER_TYPE) {
            let _ = btf.member_bitfield(m);
            if m.name.is_empty() {
                continue;
            }
            let first = c.members.iter().find(|f| f.name == m.name);
            let want = first.map(|f| f.bit_offset);
            let got = btf.member_offset_bits(id, &m.name);
            let direct = btf.member(id, &m.name);
            if got != want || direct != first {
                fail(format!(
                    "type {id}, member {:?}: member_offset_bits is {got:?} and member is \
                     {direct:?}, expected {want:?} and {first:?}",
                    m.name
                ));
            }
        }
    }
    let c = btf.to_c();
    if c.len() > c_output_cap(data.len()) && !waived("c_output_cap") {
        fail(format!(
            "to_c printed {} bytes for {} bytes of input (cap {})",
            c.len(),
            data.len(),
            c_output_cap(data.len())
        ));
    }
}

fn is_modifier(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Typedef | Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag
    )
}

/// `BtfExt::parse` on `ext` (some bytes of `data`, described by `what`) against `btf`;
/// whether it parsed.
fn check_ext(data: &[u8], btf: &Btf, ext: &[u8], what: &str) -> bool {
    let ext = match BtfExt::parse(ext, btf) {
        Ok(ext) => ext,
        Err(e) => {
            let what = format!("BtfExt::parse error on {what}");
            expect_one_line(ORACLE_BTF, data, &what, &e);
            return false;
        }
    };
    let fail = |msg: String| -> ! { fail_bytes(ORACLE_BTF, data, &format!("{what}: {msg}")) };
    for s in &ext.func_info {
        for r in &s.records {
            if btf.kind_of(r.type_id) != Some(Kind::Func) {
                fail(format!(
                    "func_info {r:?} of section {:?} is not a FUNC",
                    s.section
                ));
            }
        }
    }
    for s in &ext.core_relos {
        for r in &s.records {
            if btf.type_by_id(r.type_id).is_none() {
                fail(format!(
                    "core_relo {r:?} of section {:?} names no type",
                    s.section
                ));
            }
            let _ = btf.access_offset_bits(r.type_id, &r.access_indices());
        }
    }
    true
}

// ---------------------------------------------------------------------------------------------
// Shared

/// `err` and every error in its source chain must display as one line.
#[track_caller]
fn expect_one_line(oracle: &str, data: &[u8], what: &str, err: &(dyn Error + 'static)) {
    let mut cur = Some(err);
    let mut depth = 0;
    while let Some(e) = cur {
        let text = e.to_string();
        if text.contains('\n') && !waived("one_line") {
            fail_bytes(
                oracle,
                data,
                &format!("{what} (source depth {depth}) is not one line: {text:?} ({e:?})"),
            );
        }
        cur = e.source();
        depth += 1;
    }
}

/// Whether the check named `check` is switched off by the environment variable
/// `EBPFVM_FUZZ_WAIVE` (comma-separated check names: `one_line`, `c_output_cap`), so that a
/// fuzzing run can look past a known, still open finding instead of stopping at it again and
/// again. Unset (the default, and in every test) means every check is on.
pub fn waived(check: &str) -> bool {
    static WAIVED: OnceLock<Vec<String>> = OnceLock::new();
    WAIVED
        .get_or_init(|| {
            std::env::var("EBPFVM_FUZZ_WAIVE")
                .unwrap_or_default()
                .split(',')
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect()
        })
        .iter()
        .any(|c| c == check)
}

/// How many input bytes a failure message shows.
const SHOWN_BYTES: usize = 512;

#[track_caller]
fn fail_bytes(oracle: &str, data: &[u8], msg: &str) -> ! {
    let mut s = String::new();
    for (n, chunk) in data[..data.len().min(SHOWN_BYTES)].chunks(32).enumerate() {
        let _ = write!(s, "\n{:06x}:", n * 32);
        for b in chunk {
            let _ = write!(s, " {b:02x}");
        }
    }
    if data.len() > SHOWN_BYTES {
        s.push_str("\n...");
    }
    panic!(
        "{oracle}: {msg}\n--- input: {} bytes, fnv1a64 {:016x} ---{s}",
        data.len(),
        fnv1a64(data)
    );
}

/// FNV-1a, 64 bits: names an input in a failure message.
pub fn fnv1a64(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The verifier oracle: arbitrary bytes as a program (the first byte picks the program type
/// and up to two maps' shapes, the rest are instruction slots) through ebpfvm's verifier.
/// It must return a verdict — never panic, never process more than its instruction limit,
/// and never hang (the limit is lowered to keep each input fast).
pub fn verifier(data: &[u8]) {
    use ebpfvm_abi::{MapType, ProgramType};
    use ebpfvm_verifier::{MapDesc, VerifyInput, VerifyOptions};
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    const TYPES: [ProgramType; 8] = [
        ProgramType::SocketFilter,
        ProgramType::Xdp,
        ProgramType::SchedCls,
        ProgramType::Kprobe,
        ProgramType::Tracepoint,
        ProgramType::RawTracepoint,
        ProgramType::CgroupSkb,
        ProgramType::Unspec,
    ];
    let prog_type = TYPES[(head & 7) as usize];
    let maps = [
        MapDesc {
            map_type: if head & 8 != 0 {
                MapType::Hash
            } else {
                MapType::Array
            },
            key_size: 4,
            value_size: 8 + u32::from(head >> 4) * 8,
            max_entries: 16,
            flags: 0,
            inner: None,
        },
        MapDesc {
            map_type: MapType::Ringbuf,
            key_size: 0,
            value_size: 0,
            max_entries: 4096,
            flags: 0,
            inner: None,
        },
    ];
    let Ok(slots) = ebpfvm_isa::slots_from_bytes(&rest[..rest.len() / 8 * 8]) else {
        return;
    };
    if slots.is_empty() {
        return;
    }
    let input = VerifyInput {
        slots: &slots,
        prog_type,
        expected_attach_type: None,
        maps: &maps,
        line_info: &[],
        allowed_helper: &ebpfvm_verifier::allow_all_helpers,
    };
    let limit = 20_000;
    let opts = VerifyOptions {
        log_level: u32::from(head >> 6 & 1) * 2,
        prune: head & 0x20 == 0,
        max_insns: limit,
    };
    let stats = match ebpfvm_verifier::verify(&input, &opts) {
        Ok(v) => v.stats,
        Err(r) => r.stats,
    };
    assert!(
        stats.processed <= limit + 1,
        "processed {} instructions, limit {limit}",
        stats.processed
    );
}
