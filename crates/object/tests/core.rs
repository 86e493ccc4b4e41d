//! CO-RE relocations applied to real objects: `tests/progs/core_access.o` against the
//! running kernel's BTF (skipped when `/sys/kernel/btf/vmlinux` is not readable) and
//! against its own BTF, with the answers of `tests/progs/README.md` §8; poisoning and load
//! resizing against hand-built targets; and every program of the shared corpus.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ebpfvm_btf::core::{resolve, POISON_HELPER};
use ebpfvm_btf::{
    vmlinux_btf, Btf, Composite, CoreReloKind, IntEncoding, Kind, Member, Type, TypeId,
};
use ebpfvm_isa::opcodes::{class, op};
use ebpfvm_isa::RawInsn;
use ebpfvm_object::core::patch_insn;
use ebpfvm_object::{CoreApplyError, CorePatch, CorePatchError, CoreReport, Object, ProgramSpec};

use CoreReloKind::*;

fn core_access() -> Object {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/progs/core_access.o");
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Object::parse(&data).unwrap_or_else(|e| panic!("core_access.o: {e}"))
}

fn vmlinux() -> Option<Btf> {
    let vm = vmlinux_btf();
    if vm.is_none() {
        eprintln!(
            "skipped: {} is not readable",
            ebpfvm_btf::core::VMLINUX_BTF_PATH
        );
    }
    vm
}

/// The value a patched instruction now carries: the immediate of an ALU instruction, the
/// offset of a load or store, the 64-bit immediate of an `ld_imm64`.
fn carried(insns: &[RawInsn], slot: usize) -> u64 {
    let i = insns[slot];
    match i.class() {
        class::ALU | class::ALU64 => i.imm as i64 as u64,
        class::LDX | class::ST | class::STX => i.off as i64 as u64,
        class::LD => u64::from(i.imm as u32) | (u64::from(insns[slot + 1].imm as u32) << 32),
        _ => panic!("slot {slot}: unexpected instruction {i:?}"),
    }
}

/// `(kind, local type name, access string) → value` for every record of a program.
type Expect = Vec<((CoreReloKind, &'static str, &'static str), u64)>;

/// Applies `target` to program `name` and checks every record: it is in `expect`, it was
/// patched (not poisoned), the instruction carries the expected value, and the report
/// agrees. Returns the report.
fn check_program(
    obj: &mut Object,
    name: &str,
    target: Option<&Btf>,
    expect: &Expect,
) -> CoreReport {
    let local = obj.btf.clone().expect("object has BTF");
    let target = target.unwrap_or(&local);
    let prog = obj.program_mut(name).expect("program");
    let before = prog.insns.clone();
    let report = prog
        .apply_core(&local, target)
        .unwrap_or_else(|e| panic!("{e}: {e:?}"));
    assert_eq!(report.applied.len(), prog.core_relos.len());
    assert_eq!(report.poisoned(), 0, "{report:?}");
    let mut seen = vec![false; expect.len()];
    for (a, rec) in report.applied.iter().zip(&prog.core_relos) {
        let tname = local.name_of(rec.relo.type_id);
        let at = expect
            .iter()
            .position(|(k, _)| k.0 == a.kind && k.1 == tname && k.2 == a.access)
            .unwrap_or_else(|| panic!("unexpected record {} {tname} {}", a.kind, a.access));
        let want = expect[at].1;
        assert_eq!(a.insn, rec.insn);
        assert_eq!(
            carried(&prog.insns, a.insn),
            want,
            "{} {tname} {} at slot {}: {:?}",
            a.kind,
            a.access,
            a.insn,
            a.patch
        );
        assert_eq!(a.result.new_val, want);
        // Nothing but the value changed.
        let (old, new) = (before[a.insn], prog.insns[a.insn]);
        assert_eq!(
            (old.opcode, old.dst, old.src),
            (new.opcode, new.dst, new.src)
        );
        seen[at] = true;
    }
    let missing: Vec<_> = expect
        .iter()
        .zip(&seen)
        .filter(|(_, &s)| !s)
        .map(|(e, _)| e.0)
        .collect();
    assert!(missing.is_empty(), "records not found: {missing:?}");
    // Only the relocated slots changed.
    let slots: Vec<usize> = report.applied.iter().map(|a| a.insn).collect();
    for (i, (o, n)) in before.iter().zip(&prog.insns).enumerate() {
        if !slots.contains(&i) {
            assert_eq!(o, n, "slot {i} changed");
        }
    }
    report
}

/// `core_xdp`'s records: README §8 slots 0–15 and the context/packet accesses.
fn xdp_expect(no_such_type_exists: u64) -> Expect {
    Vec::from([
        // Context loads `ctx->data`, `ctx->data_end`.
        ((FieldByteOffset, "xdp_md", "0:0"), 0),
        ((FieldByteOffset, "xdp_md", "0:1"), 4),
        ((TypeSize, "ethhdr", "0"), 14),                  // slot 0
        ((TypeSize, "iphdr", "0"), 20),                   // slot 1
        ((FieldByteOffset, "iphdr", "0:7"), 9),           // slot 2, 15
        ((FieldByteSize, "iphdr", "0:9"), 4),             // slot 3 (saddr, anon group)
        ((FieldExists, "iphdr", "0:2"), 1),               // slot 4
        ((FieldExists, "iphdr___future", "0:1"), 0),      // slot 5
        ((EnumvalValue, "xdp_action", "3"), 3),           // slot 6
        ((EnumvalExists, "xdp_action", "4"), 1),          // slot 7
        ((EnumvalExists, "xdp_action___future", "0"), 0), // slot 8
        ((TypeExists, "iphdr", "0"), 1),                  // slot 9
        (
            (TypeExists, "ebpfvm_no_such_type", "0"),
            no_such_type_exists,
        ), // slot 10
        ((TypeMatches, "xdp_md", "0"), 1),                // slot 11
        ((TypeIdLocal, "iphdr", "0"), 25),                // slot 12
        ((FieldByteOffset, "ethhdr", "0:2"), 12),         // h_proto
        // BPF_CORE_READ_BITFIELD(iph, version), slot 13: clang wrote byte size 4.
        ((FieldByteOffset, "iphdr", "0:1"), 0),
        ((FieldByteSize, "iphdr", "0:1"), 1),
        ((FieldLshiftU64, "iphdr", "0:1"), 56),
        ((FieldSigned, "iphdr", "0:1"), 0),
        ((FieldRshiftU64, "iphdr", "0:1"), 60),
        // BPF_CORE_READ_BITFIELD(iph, ihl), slot 14.
        ((FieldByteOffset, "iphdr", "0:0"), 0),
        ((FieldByteSize, "iphdr", "0:0"), 1),
        ((FieldLshiftU64, "iphdr", "0:0"), 60),
        ((FieldSigned, "iphdr", "0:0"), 0),
        ((FieldRshiftU64, "iphdr", "0:0"), 60),
        // The return value.
        ((EnumvalValue, "xdp_action", "2"), 2),
    ])
}

#[test]
fn core_xdp_against_vmlinux() {
    let Some(vm) = vmlinux() else { return };
    let mut obj = core_access();
    let report = check_program(&mut obj, "core_xdp", Some(&vm), &xdp_expect(0));
    assert_eq!(report.applied.len(), 30, "README: 30 records");
    // The TYPE_MATCHES and field candidates are the kernel's own types.
    let iphdr = vm.find_by_name_kind("iphdr", Kind::Struct).expect("iphdr");
    let a = report
        .applied
        .iter()
        .find(|a| a.kind == TypeExists && a.result.target.is_some())
        .unwrap();
    assert_eq!(a.result.target, Some(iphdr));
    // The bitfield size records carried clang's 4 and now carry the kernel's 1.
    let sizes: Vec<_> = report
        .applied
        .iter()
        .filter(|a| a.kind == FieldByteSize && a.access != "0:9")
        .map(|a| a.patch)
        .collect();
    assert_eq!(sizes, vec![CorePatch::Imm { old: 4, new: 1 }; 2]);
}

#[test]
fn core_xdp_against_own_btf() {
    let mut obj = core_access();
    // Only `ebpfvm_no_such_type` differs: the object declares it.
    let report = check_program(&mut obj, "core_xdp", None, &xdp_expect(1));
    assert_eq!(report.applied.len(), 30);
    // And the whole-object entry point gives the same instructions.
    let mut again = core_access();
    let reports = again.apply_core(None).unwrap();
    assert_eq!(reports.len(), again.programs.len());
    assert_eq!(
        again.program("core_xdp").unwrap().insns,
        obj.program("core_xdp").unwrap().insns
    );
}

/// The offset in bytes of member `name` of `struct task_struct` in the kernel's BTF,
/// found by walking its members (and anonymous members) here, independently of CO-RE.
fn task_member_offset(vm: &Btf, task: TypeId, name: &str) -> u64 {
    fn walk(vm: &Btf, id: TypeId, name: &str, base: u64) -> Option<u64> {
        let c = vm.resolve(id)?.as_composite()?;
        for m in &c.members {
            let off = base + u64::from(m.bit_offset);
            if m.name == name {
                return Some(off);
            }
            if m.name.is_empty() {
                if let Some(found) = walk(vm, m.ty, name, off) {
                    return Some(found);
                }
            }
        }
        None
    }
    let bits = walk(vm, task, name, 0).unwrap_or_else(|| panic!("task_struct.{name}"));
    assert_eq!(bits % 8, 0);
    bits / 8
}

#[test]
fn core_task_against_vmlinux() {
    let Some(vm) = vmlinux() else { return };
    let task = vm
        .find_by_name_kind("task_struct", Kind::Struct)
        .expect("task_struct in vmlinux");
    let pid = task_member_offset(&vm, task, "pid");
    let tgid = task_member_offset(&vm, task, "tgid");
    let parent = task_member_offset(&vm, task, "real_parent");
    assert!(vm.member(task, "__state").is_some(), "kernel ≥ 5.14");
    let size = vm.size_of(task).unwrap();
    let pid_type = vm.find_by_name_kind("pid_type", Kind::Enum).unwrap();
    let Some(Type::Enum { values, .. }) = vm.type_by_id(pid_type) else {
        panic!("pid_type")
    };
    let tgid_val = values.iter().find(|v| v.0 == "PIDTYPE_TGID").unwrap().1 as u64;
    eprintln!(
        "vmlinux task_struct [{task}]: pid @{pid}, tgid @{tgid}, real_parent @{parent}, size {size}"
    );
    let expect = Vec::from([
        ((FieldByteOffset, "task_struct", "0:1"), pid), // slots 16, 25
        ((FieldByteOffset, "task_struct", "0:2"), tgid), // slot 17, 18
        ((FieldByteOffset, "task_struct", "0:3"), parent), // slot 18
        ((FieldExists, "task_struct", "0:0"), 1),       // slot 19
        ((FieldExists, "task_struct___old", "0:0"), 0), // slot 20
        ((TypeSize, "task_struct", "0"), size),         // slot 21
        ((EnumvalValue, "pid_type", "1"), tgid_val),    // slot 22
        ((TypeIdTarget, "task_struct", "0"), u64::from(task.0)), // slot 23
    ]);
    let mut obj = core_access();
    let report = check_program(&mut obj, "core_task", Some(&vm), &expect);
    assert_eq!(report.applied.len(), 9, "README: 9 records");
    // The local answers were different (the local task_struct is a 24-byte subset).
    let a = report.applied.iter().find(|a| a.kind == TypeSize).unwrap();
    assert_eq!((a.result.orig_val, a.result.new_val), (24, size));
}

#[test]
fn core_task_against_own_btf() {
    let expect = Vec::from([
        ((FieldByteOffset, "task_struct", "0:1"), 4),
        ((FieldByteOffset, "task_struct", "0:2"), 8),
        ((FieldByteOffset, "task_struct", "0:3"), 16),
        ((FieldExists, "task_struct", "0:0"), 1),
        ((FieldExists, "task_struct___old", "0:0"), 0),
        ((TypeSize, "task_struct", "0"), 24),
        ((EnumvalValue, "pid_type", "1"), 1),
        ((TypeIdTarget, "task_struct", "0"), 36),
    ]);
    let mut obj = core_access();
    check_program(&mut obj, "core_task", None, &expect);
}

#[test]
fn applying_twice_fails_and_changes_nothing() {
    let mut obj = core_access();
    let local = obj.btf.clone().unwrap();
    // A target where task_struct is bigger, so the second application finds new values.
    let target = task_target(true, true);
    let prog = obj.program_mut("core_task").unwrap();
    prog.apply_core(&local, &target).unwrap();
    let patched = prog.insns.clone();
    let err = prog.apply_core(&local, &target).unwrap_err();
    assert!(
        matches!(
            &err,
            CoreApplyError::Patch {
                source: CorePatchError::UnexpectedValue { .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("core_task"), "{err}");
    assert_eq!(
        prog.insns, patched,
        "a failed application leaves the program unchanged"
    );
}

/// A target BTF with `struct task_struct { long pad[16]; unsigned int __state; [int pid;]
/// int tgid; struct task_struct *real_parent; }` and `enum pid_type` (with or without
/// PIDTYPE_TGID).
fn task_target(with_pid: bool, with_tgid_enum: bool) -> Btf {
    let mut types = vec![
        int("long", 8, true),                 // 1
        int("unsigned int", 4, false),        // 2
        int("int", 4, true),                  // 3
        int("__ARRAY_SIZE_TYPE__", 4, false), // 4
        Type::Array {
            elem: TypeId(1),
            index: TypeId(4),
            nelems: 16,
        }, // 5
        Type::Ptr { target: TypeId(7) },      // 6
    ];
    let mut members = vec![member("pad", 5, 0), member("__state", 2, 1024)];
    if with_pid {
        members.push(member("pid", 3, 1056));
    }
    members.push(member("tgid", 3, 1088));
    members.push(member("real_parent", 6, 1152));
    types.push(Type::Struct(Composite {
        name: "task_struct".into(),
        size: 152,
        members,
    })); // 7
    let mut values = vec![("PIDTYPE_PID".to_string(), 0)];
    if with_tgid_enum {
        values.push(("PIDTYPE_TGID".into(), 1));
    }
    types.push(Type::Enum {
        name: "pid_type".into(),
        size: 4,
        signed: false,
        values,
    });
    Btf::from_types(types).unwrap()
}

fn int(name: &str, size: u32, signed: bool) -> Type {
    Type::Int {
        name: name.into(),
        size,
        encoding: if signed {
            IntEncoding::Signed
        } else {
            IntEncoding::Unsigned
        },
        bit_offset: 0,
        bits: (size * 8) as u8,
    }
}

fn member(name: &str, ty: u32, bit_offset: u32) -> Member {
    Member {
        name: name.into(),
        ty: TypeId(ty),
        bit_offset,
        bitfield_bits: 0,
    }
}

fn is_poison(i: RawInsn) -> bool {
    i == RawInsn::new(op::CALL, 0, 0, 0, POISON_HELPER)
}

#[test]
fn missing_fields_and_enumerators_poison_their_instructions() {
    let mut obj = core_access();
    let local = obj.btf.clone().unwrap();
    let target = task_target(false, false);
    let prog = obj.program_mut("core_task").unwrap();
    let report = prog.apply_core(&local, &target).unwrap();
    let mut poisoned = Vec::new();
    for a in &report.applied {
        let i = prog.insns[a.insn];
        match (a.kind, a.access.as_str()) {
            (FieldByteOffset, "0:1") | (EnumvalValue, _) => {
                assert_eq!(a.patch, CorePatch::Poisoned, "{a:?}");
                assert!(is_poison(i), "{i:?}");
                poisoned.push(a.insn);
                if a.kind == EnumvalValue {
                    // Both slots of the ld_imm64.
                    assert!(is_poison(prog.insns[a.insn + 1]));
                }
            }
            (FieldByteOffset, "0:2") => assert_eq!(carried(&prog.insns, a.insn), 136),
            (FieldByteOffset, "0:3") => assert_eq!(carried(&prog.insns, a.insn), 144),
            (TypeSize, _) => assert_eq!(carried(&prog.insns, a.insn), 152),
            (TypeIdTarget, _) => assert_eq!(carried(&prog.insns, a.insn), 7),
            (FieldExists, _) => {
                let want = u64::from(a.type_id == local.find_by_name("task_struct")[0]);
                assert_eq!(carried(&prog.insns, a.insn), want);
            }
            other => panic!("unexpected record {other:?}"),
        }
    }
    assert_eq!(report.poisoned(), 3, "pid twice, PIDTYPE_TGID once");
    assert_eq!(report.patched(), 6);
    // The program still decodes: a poisoned instruction is an ordinary (invalid) call.
    prog.decode().unwrap();
}

/// `struct xdp_md` in a target where `data` became a u64 and `data_end` moved.
fn xdp_md_target(data_signed: bool) -> Btf {
    Btf::from_types(vec![
        int("unsigned long long", 8, false),
        int("unsigned int", 4, false),
        int("long long", 8, true),
        Type::Struct(Composite {
            name: "xdp_md".into(),
            size: 16,
            members: vec![
                member("data", if data_signed { 3 } else { 1 }, 0),
                member("data_end", 2, 64),
            ],
        }),
    ])
    .unwrap()
}

#[test]
fn loads_are_resized_or_poisoned() {
    let obj = core_access();
    let local = obj.btf.clone().unwrap();
    let base = obj.program("core_xdp").unwrap();
    let ctx_slots: Vec<usize> = base
        .core_relos
        .iter()
        .filter(|r| local.name_of(r.relo.type_id) == "xdp_md" && r.relo.kind == FieldByteOffset)
        .map(|r| r.insn)
        .collect();
    assert_eq!(ctx_slots.len(), 2);
    let (data, data_end) = (ctx_slots[0], ctx_slots[1]);
    assert_eq!(base.insns[data].opcode, 0x61, "ldxw");

    // Unsigned u32 → u64: the load becomes ldxdw.
    let mut p: ProgramSpec = base.clone();
    let report = p.apply_core(&local, &xdp_md_target(false)).unwrap();
    assert_eq!(p.insns[data].opcode, 0x79, "ldxdw");
    assert_eq!(p.insns[data].off, 0);
    assert_eq!(
        report.at(data).unwrap().patch,
        CorePatch::Off {
            old: 0,
            new: 0,
            old_size: 4,
            new_size: 8
        }
    );
    assert_eq!((p.insns[data_end].opcode, p.insns[data_end].off), (0x61, 8));

    // Unsigned u32 → signed s64: resizing would change the value, so it is poisoned.
    let mut p = base.clone();
    p.apply_core(&local, &xdp_md_target(true)).unwrap();
    assert!(is_poison(p.insns[data]));
    assert_eq!((p.insns[data_end].opcode, p.insns[data_end].off), (0x61, 8));
}

#[test]
fn patch_insn_checks_the_instruction() {
    let obj = core_access();
    let local = obj.btf.clone().unwrap();
    let prog = obj.program("core_xdp").unwrap();
    let rec = &prog.core_relos[2]; // TYPE_SIZE ethhdr on a mov
    let res = resolve(&local, &local, &rec.relo).unwrap();
    let mut insns = prog.insns.clone();
    // Wrong instructions: a register-source ALU, a jump, beyond the end, a bad value.
    insns[rec.insn].opcode |= 0x08;
    assert!(matches!(
        patch_insn(&mut insns, rec.insn, &res),
        Err(CorePatchError::UnsupportedInsn { .. })
    ));
    insns[rec.insn] = RawInsn::new(0x05, 0, 0, 1, 0);
    assert!(patch_insn(&mut insns, rec.insn, &res).is_err());
    assert!(matches!(
        patch_insn(&mut insns, 100_000, &res),
        Err(CorePatchError::OutOfRange { .. })
    ));
    insns[rec.insn] = RawInsn::new(0xb7, 1, 0, 0, 15);
    assert_eq!(
        patch_insn(&mut insns, rec.insn, &res),
        Err(CorePatchError::UnexpectedValue {
            found: 15,
            expected: 14
        })
    );
    insns[rec.insn] = RawInsn::new(0xb7, 1, 0, 0, 14);
    assert_eq!(
        patch_insn(&mut insns, rec.insn, &res),
        Ok(CorePatch::Imm { old: 14, new: 14 })
    );
    // An offset beyond 16 bits.
    let mut big = res;
    big.new_val = 40_000;
    big.validate = false;
    let mut ldx = vec![RawInsn::new(0x61, 1, 2, 0, 0)];
    assert_eq!(
        patch_insn(&mut ldx, 0, &big),
        Err(CorePatchError::OffsetTooLarge { value: 40_000 })
    );
    // A truncated ld_imm64.
    let mut lddw = vec![RawInsn::new(op::LD_IMM64, 1, 0, 0, 14)];
    assert!(patch_insn(&mut lddw, 0, &res).is_err());
}

/// Every file under `dir`, sorted.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[derive(Default, Debug)]
struct Tally {
    programs: usize,
    records: usize,
    patched: usize,
    poisoned: usize,
    errors: usize,
    programs_failed: usize,
    by_error: BTreeMap<String, usize>,
}

impl Tally {
    /// Resolves and patches every record of `prog` one by one (errors counted, not
    /// fatal), then checks that `apply_core` agrees (fails iff a record failed).
    fn add(&mut self, prog: &ProgramSpec, local: &Btf, target: &Btf) {
        self.programs += 1;
        let mut insns = prog.insns.clone();
        let mut failed = false;
        for rec in &prog.core_relos {
            self.records += 1;
            let outcome = resolve(local, target, &rec.relo)
                .map_err(|e| format!("resolve: {}", error_class(&e.to_string())))
                .and_then(|res| {
                    patch_insn(&mut insns, rec.insn, &res)
                        .map_err(|e| format!("patch: {}", error_class(&e.to_string())))
                });
            match outcome {
                Ok(CorePatch::Poisoned) => self.poisoned += 1,
                Ok(_) => self.patched += 1,
                Err(e) => {
                    self.errors += 1;
                    failed = true;
                    *self.by_error.entry(e).or_default() += 1;
                }
            }
        }
        let mut whole = prog.clone();
        match whole.apply_core(local, target) {
            Ok(report) => {
                assert!(
                    !failed,
                    "{}: apply_core succeeded where a record failed",
                    prog.name
                );
                assert_eq!(whole.insns, insns, "{}", prog.name);
                assert_eq!(report.applied.len(), prog.core_relos.len());
            }
            Err(e) => {
                assert!(failed, "{}: {e}", prog.name);
                assert_eq!(whole.insns, prog.insns);
                self.programs_failed += 1;
            }
        }
    }
}

/// An error message without its numbers and names, to group errors.
fn error_class(msg: &str) -> String {
    let tail = msg.rsplit(": ").next().unwrap_or(msg);
    tail.split(|c: char| c.is_ascii_digit())
        .collect::<Vec<_>>()
        .join("N")
}

#[test]
fn corpus_programs_apply_without_panics() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/ebpf-samples");
    if !root.is_dir() {
        eprintln!("skipped: corpus not found at {}", root.display());
        return;
    }
    let vm = vmlinux_btf();
    let mut paths = Vec::new();
    files(&root, &mut paths);
    // The fixtures too (core_access.o has every kind).
    files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/progs"),
        &mut paths,
    );
    paths.retain(|p| p.extension().is_none_or(|e| e == "o"));
    let (mut objects, mut with_core) = (0, 0);
    let mut own = Tally::default();
    let mut kernel = Tally::default();
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for path in &paths {
        let Ok(data) = std::fs::read(path) else {
            continue;
        };
        let Ok(obj) = Object::parse(&data) else {
            continue;
        };
        objects += 1;
        let Some(local) = obj.btf.as_ref() else {
            continue;
        };
        let mut any = false;
        for prog in obj.programs.iter().filter(|p| !p.core_relos.is_empty()) {
            any = true;
            for r in &prog.core_relos {
                *kinds.entry(r.relo.kind.as_str()).or_default() += 1;
            }
            own.add(prog, local, local);
            if let Some(vm) = &vm {
                kernel.add(prog, local, vm);
            }
        }
        if any {
            with_core += 1;
            eprintln!("  CO-RE: {}", path.display());
        }
    }
    eprintln!(
        "corpus: {} files, {objects} objects parsed, {with_core} with CO-RE records",
        paths.len()
    );
    eprintln!("record kinds: {kinds:?}");
    for (what, t) in [("own BTF", &own), ("vmlinux", &kernel)] {
        eprintln!(
            "against {what}: {} programs, {} records: {} patched, {} poisoned, {} errors; \
             {} programs fail to load",
            t.programs, t.records, t.patched, t.poisoned, t.errors, t.programs_failed
        );
        for (e, n) in &t.by_error {
            eprintln!("    {n:5}  {e}");
        }
    }
    assert!(with_core > 0, "the corpus has CO-RE objects");
    // Against its own BTF every record resolves: the local types are all there.
    assert_eq!(own.errors, 0, "{:?}", own.by_error);
    assert_eq!(own.records, own.patched + own.poisoned);
}
