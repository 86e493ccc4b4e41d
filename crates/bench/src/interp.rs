//! `ebpfvm-bench interp`: every workload on every interpreter, in one process run.
//!
//! Method: each engine loads the workload and gets its own copy of the input; one run per
//! engine checks r0 against the native reference and sizes the batches; then rounds interleave
//! the engines (the starting engine rotates each round). Each round every engine loads the
//! workload afresh, in a fresh thread, runs it once untimed, then times one batch of runs
//! sized to take about 1 ms. A workload gets at least [`MIN_ROUNDS`] rounds and as many more as
//! fit in its time budget. The figure reported is the minimum ns per run over the batches (the
//! median is reported beside it); every run's r0 is checked.

use std::{
    hint::black_box,
    panic,
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use serde::Serialize;

use crate::{
    engines::{Engine, Runner},
    fixture,
    workloads::{self, Scale, Workload},
};

/// Fewest rounds per workload, whatever the budget.
const MIN_ROUNDS: usize = 5;
/// Most rounds per workload.
const MAX_ROUNDS: usize = 2_000;
/// Target length of one timed batch.
const BATCH_TARGET: Duration = Duration::from_millis(1);

/// Options of `ebpfvm-bench interp`.
#[derive(Debug, Clone)]
pub struct Options {
    /// Only workloads whose name contains this.
    pub filter: Option<String>,
    /// Time budget of each workload (all engines together).
    pub budget: Duration,
    /// Input sizes: full for figures, tiny for a smoke test.
    pub scale: Scale,
}

/// The whole report, as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Always "interp".
    pub bench: &'static str,
    /// UTC date of the run, YYYY-MM-DD.
    pub date: String,
    /// CPU model and count.
    pub machine: Machine,
    /// Which statistic `ns_per_run` and the derived figures use.
    pub statistic: &'static str,
    /// Time budget per workload, ms.
    pub budget_ms: u64,
    /// One entry per workload.
    pub workloads: Vec<WorkloadReport>,
}

/// The machine the figures come from.
#[derive(Debug, Serialize)]
pub struct Machine {
    /// `model name` of /proc/cpuinfo.
    pub cpu: String,
    /// Available parallelism.
    pub cpus: usize,
}

/// Figures of one workload.
#[derive(Debug, Serialize)]
pub struct WorkloadReport {
    /// Workload name.
    pub name: &'static str,
    /// What it measures.
    pub what: &'static str,
    /// r0 every engine returned (and the native reference computed).
    pub r0: u64,
    /// eBPF instructions one run executes, as ebpfvm's `Vm::executed()` counts them.
    pub executed: u64,
    /// sbpf's instruction meter for one run, as a cross-check.
    pub sbpf_meter: Option<u64>,
    /// Hot-loop trips per run, where the workload has a fixed loop body.
    pub iterations: Option<u64>,
    /// `executed / iterations`.
    pub insns_per_iteration: Option<f64>,
    /// One entry per engine.
    pub engines: Vec<EngineReport>,
}

/// Figures of one engine on one workload.
#[derive(Debug, Serialize)]
pub struct EngineReport {
    /// Engine label.
    pub engine: &'static str,
    /// Timed runs, all batches together.
    pub runs: u64,
    /// Minimum over batches of ns per run.
    pub ns_per_run_min: f64,
    /// Median over batches of ns per run.
    pub ns_per_run_median: f64,
    /// `ns_per_run_min / executed`.
    pub ns_per_insn: f64,
    /// `ns_per_run_min / iterations`.
    pub ns_per_iteration: Option<f64>,
    /// This engine's `ns_per_run_min` over ebpfvm's: how many times faster ebpfvm is.
    pub ratio_vs_ebpfvm: f64,
}

/// Runs the bench and returns the report.
pub fn run(options: &Options) -> anyhow::Result<Report> {
    let selected: Vec<&Workload> = workloads::ALL
        .iter()
        .filter(|w| options.filter.as_deref().is_none_or(|f| w.name.contains(f)))
        .collect();
    if selected.is_empty() {
        let names: Vec<_> = workloads::ALL.iter().map(|w| w.name).collect();
        bail!(
            "no workload matches {:?}; workloads: {}",
            options.filter.as_deref().unwrap_or(""),
            names.join(", ")
        );
    }
    let mut reports = Vec::new();
    for w in selected {
        reports.push(bench_workload(w, options.budget, options.scale)?);
    }
    Ok(Report {
        bench: "interp",
        date: utc_date(),
        machine: machine(),
        statistic: "min",
        budget_ms: options.budget.as_millis() as u64,
        workloads: reports,
    })
}

struct Case {
    engine: Engine,
    batch: u64,
    runs: u64,
    samples: Vec<f64>,
}

/// Loads the workload into `engine`, runs it once and checks r0 against `expected`.
fn load_and_check<'a>(
    engine: Engine,
    text: &'a [u8],
    input: &[u8],
    expected: u64,
    workload: &str,
) -> anyhow::Result<Box<dyn Runner + 'a>> {
    let what = || format!("{workload}: {}", engine.label());
    let mut runner = engine.prepare(text, input).with_context(what)?;
    let r0 = runner.run().with_context(what)?;
    if r0 != expected {
        bail!(
            "{}: returned {r0:#x}, the native reference {expected:#x}",
            what()
        );
    }
    Ok(runner)
}

/// Runs `batch` runs and returns ns per run, failing on any wrong r0.
fn time_batch(
    runner: &mut dyn Runner,
    engine: Engine,
    batch: u64,
    expected: u64,
    workload: &str,
) -> anyhow::Result<f64> {
    let start = Instant::now();
    for _ in 0..batch {
        let r0 = runner.run()?;
        if black_box(r0) != expected {
            bail!(
                "{workload}: {} returned {r0:#x}, expected {expected:#x}",
                engine.label()
            );
        }
    }
    Ok(start.elapsed().as_nanos() as f64 / batch as f64)
}

fn bench_workload(w: &Workload, budget: Duration, scale: Scale) -> anyhow::Result<WorkloadReport> {
    let text = fixture::text_section(w.name, w.fixture)?;
    let input = (w.input)(scale);
    let expected = (w.reference)(&input.bytes);

    let mut cases = Vec::new();
    let (mut ebpfvm_count, mut sbpf_meter) = (None, None);
    for engine in Engine::ALL {
        let mut runner = load_and_check(engine, &text, &input.bytes, expected, w.name)?;
        match engine {
            Engine::Ebpfvm => ebpfvm_count = runner.executed(),
            Engine::Sbpf => sbpf_meter = runner.executed(),
            _ => {}
        }
        // Warm up and size the batches.
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            best = best.min(time_batch(runner.as_mut(), engine, 1, expected, w.name)?);
        }
        let batch = (BATCH_TARGET.as_nanos() as f64 / best.max(1.0)).ceil();
        cases.push(Case {
            engine,
            batch: batch.clamp(1.0, 1_000_000.0) as u64,
            runs: 0,
            samples: Vec::new(),
        });
    }
    let executed = ebpfvm_count.context("ebpfvm counts no executed instructions")?;
    if sbpf_meter.is_some_and(|meter| meter != executed) {
        eprintln!(
            "warning: {}: ebpfvm executed {executed} instructions, sbpf's meter counted {:?}",
            w.name, sbpf_meter
        );
    }

    // Each batch runs on a fresh instance in a fresh thread, because an engine's speed can
    // depend on the instance: rbpf looks up a randomly seeded std HashMap on every executed
    // instruction, and some of its instances run at half speed for their whole life (memsum:
    // 5.2 or 9.2 ns/insn by instance). The seed's keys are drawn per thread, so fresh threads
    // give fresh draws, and the minimum does not hinge on one of them.
    let start = Instant::now();
    let mut round = 0;
    while round < MAX_ROUNDS && (round < MIN_ROUNDS || start.elapsed() < budget) {
        let n = cases.len();
        for k in 0..n {
            let case = &mut cases[(round + k) % n];
            let (engine, batch) = (case.engine, case.batch);
            let (text, input) = (&text, &input.bytes);
            let ns = std::thread::scope(|s| {
                s.spawn(|| -> anyhow::Result<f64> {
                    let mut runner = load_and_check(engine, text, input, expected, w.name)?;
                    time_batch(runner.as_mut(), engine, batch, expected, w.name)
                })
                .join()
                .unwrap_or_else(|payload| panic::resume_unwind(payload))
            })?;
            case.samples.push(ns);
            case.runs += batch;
        }
        round += 1;
    }

    let baseline = min(&cases[0].samples);
    let engines = cases
        .iter()
        .map(|case| {
            let best = min(&case.samples);
            EngineReport {
                engine: case.engine.label(),
                runs: case.runs,
                ns_per_run_min: best,
                ns_per_run_median: median(&case.samples),
                ns_per_insn: best / executed as f64,
                ns_per_iteration: input.iterations.map(|n| best / n as f64),
                ratio_vs_ebpfvm: best / baseline,
            }
        })
        .collect();
    Ok(WorkloadReport {
        name: w.name,
        what: w.what,
        r0: expected,
        executed,
        sbpf_meter,
        iterations: input.iterations,
        insns_per_iteration: input.iterations.map(|n| executed as f64 / n as f64),
        engines,
    })
}

fn min(samples: &[f64]) -> f64 {
    samples.iter().copied().fold(f64::INFINITY, f64::min)
}

fn median(samples: &[f64]) -> f64 {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// The report as a table.
pub fn render_text(report: &Report) -> Result<String, std::fmt::Error> {
    use std::fmt::Write;
    let mut out = String::new();
    writeln!(
        out,
        "ebpfvm-bench interp  {}  {} ({} CPUs)",
        report.date, report.machine.cpu, report.machine.cpus
    )?;
    writeln!(
        out,
        "ns per run = minimum over interleaved batches (median beside it); ns/insn divides by \
         the instructions ebpfvm executed; ratio = engine / ebpfvm (higher: ebpfvm faster)"
    )?;
    for w in &report.workloads {
        let per_iter = match (w.iterations, w.insns_per_iteration) {
            (Some(n), Some(i)) => format!(", {n} iterations, {i:.2} insns/iteration"),
            _ => String::new(),
        };
        writeln!(
            out,
            "\n{}: {}  [r0 = {:#x}, {} insns executed{per_iter}]",
            w.name, w.what, w.r0, w.executed
        )?;
        writeln!(
            out,
            "  {:<22} {:>14} {:>14} {:>9} {:>10} {:>8}",
            "engine", "ns/run min", "ns/run median", "ns/insn", "ns/iter", "ratio"
        )?;
        for e in &w.engines {
            writeln!(
                out,
                "  {:<22} {:>14.0} {:>14.0} {:>9.3} {:>10} {:>7.2}x",
                e.engine,
                e.ns_per_run_min,
                e.ns_per_run_median,
                e.ns_per_insn,
                e.ns_per_iteration
                    .map_or("-".to_string(), |v| format!("{v:.2}")),
                e.ratio_vs_ebpfvm,
            )?;
        }
    }
    Ok(out)
}

fn machine() -> Machine {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    Machine { cpu, cpus }
}

/// Today's UTC date as YYYY-MM-DD (days-to-civil conversion of the proleptic Gregorian
/// calendar).
fn utc_date() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs every workload once, on tiny inputs, on `engine`, against the native reference.
    fn agree_on_tiny_inputs(engine: Engine) {
        for w in workloads::ALL {
            let text = fixture::text_section(w.name, w.fixture).unwrap();
            let input = (w.input)(Scale::Tiny);
            let expected = (w.reference)(&input.bytes);
            let mut runner = engine.prepare(&text, &input.bytes).unwrap();
            for _ in 0..2 {
                let r0 = runner
                    .run()
                    .unwrap_or_else(|e| panic!("{}: {}: {e:#}", w.name, engine.label()));
                assert_eq!(r0, expected, "{}: {}", w.name, engine.label());
            }
        }
    }

    #[test]
    fn fixtures_load() {
        for w in workloads::ALL {
            let text = fixture::text_section(w.name, w.fixture).unwrap();
            assert!(text.len() >= 16, "{}", w.name);
            assert!(
                text.chunks(8).any(|insn| insn[0] == 0x95),
                "{}: no exit",
                w.name
            );
        }
    }

    #[test]
    fn rbpf_agrees_with_native_reference() {
        agree_on_tiny_inputs(Engine::Rbpf);
    }

    #[test]
    fn sbpf_agrees_with_native_reference() {
        agree_on_tiny_inputs(Engine::Sbpf);
        agree_on_tiny_inputs(Engine::SbpfNoMeter);
    }

    #[test]
    fn ebpfvm_agrees_with_native_reference_and_sbpf_count() {
        agree_on_tiny_inputs(Engine::Ebpfvm);
        for w in workloads::ALL {
            let text = fixture::text_section(w.name, w.fixture).unwrap();
            let input = (w.input)(Scale::Tiny);
            let mut ours = Engine::Ebpfvm.prepare(&text, &input.bytes).unwrap();
            let mut sbpf = Engine::Sbpf.prepare(&text, &input.bytes).unwrap();
            ours.run().unwrap();
            sbpf.run().unwrap();
            assert_eq!(
                ours.executed(),
                sbpf.executed(),
                "{}: executed instructions",
                w.name
            );
        }
    }

    #[test]
    fn statistics() {
        assert_eq!(min(&[3.0, 1.0, 2.0]), 1.0);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        let d = utc_date();
        assert_eq!(d.len(), 10);
        assert!(d.starts_with("20"), "{d}");
    }
}
