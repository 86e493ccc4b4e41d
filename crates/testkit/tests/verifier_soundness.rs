//! Soundness of the verifier, checked by execution: every program of the case corpus
//! (`tests/verifier/*.cases`) that ebpfvm's verifier accepts is run in the checked
//! interpreter on random inputs, and must never make a memory access outside the regions of
//! its run (`Trap::MemoryViolation`) or a misaligned atomic. (Other stops — an exhausted
//! instruction budget, an unsupported instruction — are not safety violations.)

use ebpfvm_abi::{ProgramType, Trap};
use ebpfvm_runtime::{LoadOptions, Loaded, RunError, TestRun};
use ebpfvm_testkit::verifier_cases::{cases_dir, load_dir};

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn accepted_programs_never_fault_on_memory() {
    let cases = load_dir(&cases_dir()).unwrap_or_else(|e| panic!("{e}"));
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut ran = 0;
    let mut failures = Vec::new();
    for case in &cases {
        // Programs with maps need the object path; the corpus cases without maps cover
        // contexts, packets, stack and calls.
        if !case.maps.is_empty() {
            continue;
        }
        let Ok(loaded) = Loaded::from_insns(
            &case.name,
            case.prog_type,
            &case.insns,
            &LoadOptions::default(),
        ) else {
            continue; // rejected by the verifier (or the ctx conversion): nothing to run
        };
        let prog = &loaded.programs[0];
        for _ in 0..20 {
            let (data, ctx) = match case.prog_type {
                ProgramType::Xdp => {
                    let n = 14 + (rng.next() % 200) as usize;
                    (rng.bytes(n), None)
                }
                ProgramType::SocketFilter
                | ProgramType::SchedCls
                | ProgramType::SchedAct
                | ProgramType::CgroupSkb => {
                    let n = 14 + (rng.next() % 200) as usize;
                    (rng.bytes(n), None)
                }
                ProgramType::Kprobe => (Vec::new(), Some(rng.bytes(168))),
                ProgramType::RawTracepoint => {
                    let n = 8 * (rng.next() % 13) as usize;
                    (Vec::new(), Some(rng.bytes(n)))
                }
                ProgramType::Tracepoint => (Vec::new(), Some(rng.bytes(64))),
                _ => continue,
            };
            let run = loaded.test_run(
                prog,
                &TestRun {
                    data: &data,
                    ctx: ctx.as_deref(),
                    repeat: 1,
                },
            );
            ran += 1;
            if let Err(RunError::Fault { fault, .. }) = run {
                if matches!(
                    fault.trap,
                    Trap::MemoryViolation { .. } | Trap::MisalignedAtomic { .. }
                ) {
                    failures.push(format!(
                        "{}: {fault} (data {} bytes)",
                        case.id(),
                        data.len()
                    ));
                    break;
                }
            }
        }
    }
    eprintln!("{ran} runs of verified programs");
    assert!(ran > 500, "too few runs: {ran}");
    assert!(
        failures.is_empty(),
        "verified programs faulted:\n{}",
        failures.join("\n")
    );
}
