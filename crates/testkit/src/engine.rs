//! The execution engines a test can run on.
//!
//! Only the interpreter exists today. [`Engine::Jit`] is listed so that runners and command
//! lines can name it; it reports [`EngineError::Unavailable`] until `ebpfvm-jit` lands, when
//! its arm of [`Engine::run`] and [`Engine::check_load`] is filled in.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use ebpfvm_abi::{HelperHost, Trap};
use ebpfvm_isa::RawInsn;

/// An execution engine.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum Engine {
    /// `ebpfvm-interp`, in checked mode.
    Interp,
    /// `ebpfvm-jit` (not available yet).
    Jit,
}

impl Engine {
    /// Every engine, available or not.
    pub const ALL: &'static [Engine] = &[Engine::Interp, Engine::Jit];

    /// The engine's name, as used in trial names and on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Engine::Interp => "interp",
            Engine::Jit => "jit",
        }
    }

    /// The engine called `name`.
    pub fn from_name(name: &str) -> Option<Engine> {
        Engine::ALL.iter().copied().find(|e| e.name() == name)
    }

    /// Whether the engine is built into this version.
    pub const fn is_available(self) -> bool {
        match self {
            Engine::Interp => true,
            Engine::Jit => false,
        }
    }

    /// The engines that are available.
    pub fn available() -> Vec<Engine> {
        Engine::ALL
            .iter()
            .copied()
            .filter(|e| e.is_available())
            .collect()
    }

    /// Prepares `slots` for execution without running them: `Err` if the engine rejects the
    /// program at load time.
    pub fn check_load(self, slots: &[RawInsn]) -> Result<(), EngineError> {
        guard(|| match self {
            Engine::Interp => ebpfvm_interp::Program::from_slots(slots)
                .map(drop)
                .map_err(|e| EngineError::Load {
                    message: e.to_string(),
                }),
            Engine::Jit => Err(EngineError::Unavailable { engine: self }),
        })
    }

    /// Loads and runs `slots` with `mem` as the program's read-write memory: r1 = address of
    /// `mem`, r2 = its length, or both 0 when `mem` is empty (conformance README §4). Returns
    /// the final r0. Never panics: an engine panic becomes [`EngineError::Panic`].
    pub fn run(
        self,
        slots: &[RawInsn],
        mem: &mut [u8],
        host: &mut dyn HelperHost,
    ) -> Result<u64, EngineError> {
        guard(|| match self {
            Engine::Interp => run_interp(slots, mem, host),
            Engine::Jit => Err(EngineError::Unavailable { engine: self }),
        })
    }

    /// Like [`Engine::run`], for `ebpfvm run`: loads `slots` once and runs them `repeat`
    /// times (at least once), restoring `mem` to its initial contents before every run after
    /// the first (so every run sees the same input, unlike the kernel's `BPF_PROG_TEST_RUN`).
    /// `budget` replaces the engine's default instruction budget. The series stops at the
    /// first run that fails. `mem` is left as the last run left it. Never panics.
    pub fn run_repeated(
        self,
        slots: &[RawInsn],
        mem: &mut [u8],
        host: &mut dyn HelperHost,
        budget: Option<u64>,
        repeat: u64,
    ) -> RunReport {
        let mut report = RunReport {
            result: Err(EngineError::Unavailable { engine: self }),
            trap: None,
            executed: 0,
            runs: 0,
            elapsed: Duration::ZERO,
        };
        let outcome = guard(|| match self {
            Engine::Interp => {
                run_interp_repeated(slots, mem, host, budget, repeat.max(1), &mut report)
            }
            Engine::Jit => Err(EngineError::Unavailable { engine: self }),
        });
        report.result = outcome;
        report
    }
}

/// What [`Engine::run_repeated`] did.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct RunReport {
    /// r0 of the last run, or why the series stopped.
    pub result: Result<u64, EngineError>,
    /// The trap that stopped the last run, when it ended with an execution fault.
    pub trap: Option<Trap>,
    /// Instructions the last run executed (until its fault, if it faulted).
    pub executed: u64,
    /// Runs started.
    pub runs: u64,
    /// Wall-clock time of all runs, the memory resets between them included (loading is
    /// not).
    pub elapsed: Duration,
}

fn run_interp_repeated(
    slots: &[RawInsn],
    mem: &mut [u8],
    host: &mut dyn HelperHost,
    budget: Option<u64>,
    repeat: u64,
    report: &mut RunReport,
) -> Result<u64, EngineError> {
    let prog = ebpfvm_interp::Program::from_slots(slots).map_err(|e| EngineError::Load {
        message: e.to_string(),
    })?;
    let mut vm = ebpfvm_interp::Vm::new();
    if let Some(budget) = budget {
        vm.set_budget(budget);
    }
    let initial = if repeat > 1 { mem.to_vec() } else { Vec::new() };
    let len = mem.len() as u64;
    let start = Instant::now();
    let mut result = Ok(0);
    for i in 0..repeat {
        if i > 0 {
            mem.copy_from_slice(&initial);
        }
        report.runs += 1;
        result = if mem.is_empty() {
            vm.run(&prog, &[0, 0], &[], host)
        } else {
            let region = ebpfvm_interp::Region::writable(mem);
            let addr = region.addr();
            vm.run(&prog, &[addr, len], &[region], host)
        };
        if result.is_err() {
            break;
        }
    }
    report.elapsed = start.elapsed();
    report.executed = vm.executed();
    result.map_err(|e| {
        report.trap = Some(e.trap);
        EngineError::Exec {
            message: e.to_string(),
        }
    })
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn run_interp(
    slots: &[RawInsn],
    mem: &mut [u8],
    host: &mut dyn HelperHost,
) -> Result<u64, EngineError> {
    let prog = ebpfvm_interp::Program::from_slots(slots).map_err(|e| EngineError::Load {
        message: e.to_string(),
    })?;
    let mut vm = ebpfvm_interp::Vm::new();
    let result = if mem.is_empty() {
        vm.run(&prog, &[0, 0], &[], host)
    } else {
        let len = mem.len() as u64;
        let region = ebpfvm_interp::Region::writable(mem);
        let addr = region.addr();
        vm.run(&prog, &[addr, len], &[region], host)
    };
    result.map_err(|e| EngineError::Exec {
        message: e.to_string(),
    })
}

/// Runs `f`, turning a panic into [`EngineError::Panic`].
fn guard<T>(f: impl FnOnce() -> Result<T, EngineError>) -> Result<T, EngineError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        Err(EngineError::Panic {
            message: one_line(&message),
        })
    })
}

/// Collapses a message onto one line.
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Why an engine produced no result.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The engine is not built into this version.
    #[error("{engine} engine not available yet")]
    Unavailable {
        /// The engine.
        engine: Engine,
    },
    /// The engine rejected the program at load time.
    #[error("program rejected at load: {message}")]
    Load {
        /// The engine's message.
        message: String,
    },
    /// The run stopped with a fault.
    #[error("execution fault: {message}")]
    Exec {
        /// The engine's message.
        message: String,
    },
    /// The engine panicked (a bug in ebpfvm).
    #[error("engine panicked: {message}")]
    Panic {
        /// The panic message.
        message: String,
    },
}

impl EngineError {
    /// Whether the engine (rather than the test data or the build) refused the program:
    /// a load rejection or an execution fault.
    pub fn is_rejection(&self) -> bool {
        matches!(self, EngineError::Load { .. } | EngineError::Exec { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &e in Engine::ALL {
            assert_eq!(Engine::from_name(e.name()), Some(e));
        }
        assert_eq!(Engine::from_name("llvm"), None);
        assert_eq!(Engine::available(), vec![Engine::Interp]);
    }

    #[test]
    fn jit_is_unavailable() {
        let err = Engine::Jit
            .run(&[], &mut [], &mut ebpfvm_abi::NoHelpers)
            .unwrap_err();
        assert_eq!(err.to_string(), "jit engine not available yet");
        assert!(!err.is_rejection());
    }

    #[test]
    fn repeated_runs_reset_memory_and_honour_the_budget() {
        use ebpfvm_isa::asm::llvm::assemble;
        // mem[0] += 1; r0 = mem[0]
        let inc =
            assemble("r0 = *(u8 *)(r1 + 0x0)\nr0 += 0x1\n*(u8 *)(r1 + 0x0) = r0\nexit\n").unwrap();
        let mut mem = [5u8];
        let report =
            Engine::Interp.run_repeated(&inc, &mut mem, &mut ebpfvm_abi::NoHelpers, None, 3);
        assert_eq!((report.result, report.runs, report.executed), (Ok(6), 3, 4));
        assert_eq!((mem, report.trap), ([6], None));
        let spin = assemble("r0 = 0x0\nr0 += 0x1\ngoto -0x2\n").unwrap();
        let report =
            Engine::Interp.run_repeated(&spin, &mut [], &mut ebpfvm_abi::NoHelpers, Some(10), 5);
        assert_eq!(report.trap, Some(Trap::BudgetExhausted { budget: 10 }));
        assert_eq!(report.runs, 1);
        assert!(report.executed > 10, "{report:?}");
        let report = Engine::Jit.run_repeated(&spin, &mut [], &mut ebpfvm_abi::NoHelpers, None, 1);
        assert_eq!(
            report.result,
            Err(EngineError::Unavailable {
                engine: Engine::Jit
            })
        );
        assert_eq!(report.runs, 0);
    }

    #[test]
    fn panics_become_errors() {
        let r: Result<(), _> = guard(|| panic!("boom\nsecond line"));
        assert_eq!(
            r,
            Err(EngineError::Panic {
                message: "boom second line".into()
            })
        );
    }
}
