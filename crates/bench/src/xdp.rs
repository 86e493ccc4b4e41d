//! `ebpfvm-bench xdp`: packets per second of the seed's XDP program (`tests/progs/xdp_drop_udp.o`)
//! on the runtime, over the 16 frames of `tests/progs/packets/mixed.pcap`.
//!
//! Rows:
//!
//! - `Loaded::run_xdp` over the 16 frames repeated, at 1 and 2 threads. The object is loaded
//!   once and shared, so at 2 threads both threads add to the same `proto_count` array
//!   entries (atomic adds) and compete for the object's execution slots. Timed like
//!   `ebpfvm-bench maps`: rounds of a fixed number of packets per thread between barriers; a
//!   round's figure is the slowest thread's ns per packet; minimum and median over the rounds.
//! - `Loaded::test_run` on one frame (frame 1, IPv4/UDP, dropped), `repeat` 1 per call (what
//!   `run_xdp` does underneath), and `repeat` N in one call (buffer set up once, reset per run).
//! - The `ebpfvm xdp --pcap IN --out OUT` path, in process: a capture of the mixed frames
//!   repeated (200,000 frames by default) is written to a temporary directory, then each round
//!   streams it with `CaptureReader`, runs `run_xdp` on every frame and writes the passed
//!   frames with `CaptureWriter` (whose `finish` syncs and renames, as the CLI's does). The
//!   same is timed without the writer and with neither run nor writer, so the differences
//!   give the cost of each stage.
//!
//! Every frame's verdict is checked once before timing; timed runs count their errors and
//! their counted frames, and the bench fails if any run failed or if `proto_count` does not
//! hold exactly one count per counted frame run (the atomic counter under 2 threads).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use ebpfvm_abi::ProgramType;
use ebpfvm_object::Object;
use ebpfvm_runtime::capture::{
    Capture, CaptureFormat, CaptureReader, CaptureWriter, Packet, TsResolution,
};
use ebpfvm_runtime::xdp::XdpAction;
use ebpfvm_runtime::{LoadOptions, Loaded, TestRun, ETH_HLEN, XDP_MAX_FRAME};
use serde::Serialize;

use crate::maps::{self, cpu_name};

/// The program, relative to the repository root.
const OBJECT: &str = "tests/progs/xdp_drop_udp.o";
/// The capture, relative to the repository root.
const CAPTURE: &str = "tests/progs/packets/mixed.pcap";
/// The program's name in the object.
const PROGRAM: &str = "xdp_drop_udp";
/// The map the program counts frames in.
const COUNTER_MAP: &str = "proto_count";

/// Options of `ebpfvm-bench xdp`.
#[derive(Debug, Clone)]
pub struct Options {
    /// Time budget of each in-memory row (workload and thread count).
    pub budget: Duration,
    /// Packets per thread per round of the in-memory rows.
    pub packets: u64,
    /// Frames of the generated capture of the CLI-path rows.
    pub capture_frames: usize,
    /// Time budget of each CLI-path row.
    pub capture_budget: Duration,
    /// Fewest rounds of each CLI-path row.
    pub capture_rounds: usize,
    /// Run only the rows whose name contains this.
    pub filter: Option<String>,
}

impl Options {
    /// The measuring configuration.
    pub fn full(budget: Duration, capture_frames: usize, filter: Option<String>) -> Options {
        Options {
            budget,
            packets: 64_000,
            capture_frames,
            capture_budget: budget,
            capture_rounds: 5,
            filter,
        }
    }

    /// Smoke test: every row, a few packets, no meaningful figures.
    pub fn quick(filter: Option<String>) -> Options {
        Options {
            budget: Duration::from_millis(1),
            packets: 160,
            capture_frames: 1_600,
            capture_budget: Duration::from_millis(1),
            capture_rounds: 1,
            filter,
        }
    }
}

/// The report, as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Always "xdp".
    pub bench: &'static str,
    /// `model name` of /proc/cpuinfo.
    pub cpu: String,
    /// Available parallelism (execution slots of the loaded object).
    pub cpus: usize,
    /// The object and program.
    pub program: String,
    /// The capture whose frames are run.
    pub capture: String,
    /// Each frame of the capture: length and verdict.
    pub frames: Vec<FrameInfo>,
    /// ms of `Object::parse` + `Loaded::load` of the object (minimum of 5).
    pub load_ms: f64,
    /// Which statistic `ns_per_packet` is.
    pub statistic: &'static str,
    /// One row per workload and thread count.
    pub results: Vec<Row>,
}

/// One frame of the capture.
#[derive(Debug, Serialize)]
pub struct FrameInfo {
    /// Captured bytes.
    pub len: usize,
    /// The program's verdict.
    pub action: &'static str,
    /// eBPF instructions the program executes on it.
    pub insns: u64,
}

/// Figures of one workload at one thread count.
#[derive(Debug, Serialize)]
pub struct Row {
    /// Workload name.
    pub name: String,
    /// Threads running it at once.
    pub threads: usize,
    /// Packets per thread per timed round.
    pub packets_per_round: u64,
    /// Timed rounds.
    pub rounds: usize,
    /// Minimum ns per packet (per thread).
    pub ns_per_packet: f64,
    /// Median ns per packet.
    pub ns_median: f64,
    /// Packets per second, all threads together, at the minimum.
    pub pps: f64,
    /// Packets per second, all threads together, at the median.
    pub pps_median: f64,
    /// At 2 threads, how much the threads' timed intervals overlapped (median over rounds;
    /// 1 = entirely at once, 0 = one after the other). Below 1, `pps` overstates what the
    /// threads did together.
    pub overlap: Option<f64>,
}

impl Row {
    fn new(name: &str, threads: usize, packets: u64, t: maps::Timing) -> Row {
        Row {
            name: name.to_string(),
            threads,
            packets_per_round: packets,
            rounds: t.rounds,
            ns_per_packet: t.min,
            ns_median: t.median,
            pps: threads as f64 * 1e9 / t.min,
            pps_median: threads as f64 * 1e9 / t.median,
            overlap: (threads > 1).then_some(t.overlap),
        }
    }
}

fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn load(bytes: &[u8]) -> anyhow::Result<Loaded> {
    let obj = Object::parse(bytes).with_context(|| format!("parsing {OBJECT}"))?;
    Loaded::load(&obj, &LoadOptions::default()).with_context(|| format!("loading {OBJECT}"))
}

/// Index of the program in `loaded.programs` (the ops below are `'static`, so they hold the
/// object by `Arc` and find the program by index).
fn program_index(loaded: &Loaded) -> anyhow::Result<usize> {
    let i = loaded
        .programs
        .iter()
        .position(|p| p.name == PROGRAM)
        .with_context(|| format!("{OBJECT}: no program {PROGRAM}"))?;
    ensure!(
        loaded.programs[i].prog_type == ProgramType::Xdp,
        "{OBJECT}: {PROGRAM} is not an XDP program"
    );
    Ok(i)
}

/// The sum of the counter map's values.
fn counted(loaded: &Loaded) -> anyhow::Result<u64> {
    let map = &loaded
        .map(COUNTER_MAP)
        .with_context(|| format!("{OBJECT}: no map {COUNTER_MAP}"))?
        .map;
    let mut sum = 0u64;
    let mut value = [0u8; 8];
    for k in 0..256u32 {
        map.lookup(&k.to_ne_bytes(), &mut value)
            .with_context(|| format!("reading {COUNTER_MAP}[{k}]"))?;
        sum = sum.wrapping_add(u64::from_ne_bytes(value));
    }
    Ok(sum)
}

/// Timed-run bookkeeping shared by the threads of a row.
#[derive(Default)]
struct Tally {
    /// Runs that returned an error.
    errors: AtomicU64,
    /// Runs of frames the program counts in `proto_count`.
    counted: AtomicU64,
}

/// Runs every row.
pub fn run(opts: &Options) -> anyhow::Result<Report> {
    let object = std::fs::read(repo_path(OBJECT)).with_context(|| format!("reading {OBJECT}"))?;
    let mut loads = Vec::new();
    for _ in 0..5 {
        let t0 = Instant::now();
        black_box(load(&object)?);
        loads.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    let load_ms = loads.iter().copied().fold(f64::INFINITY, f64::min);

    let loaded = Arc::new(load(&object)?);
    let prog_ix = program_index(&loaded)?;
    let capture =
        Capture::open(repo_path(CAPTURE)).with_context(|| format!("reading {CAPTURE}"))?;
    ensure!(!capture.packets.is_empty(), "{CAPTURE} holds no packet");
    let frames: Arc<Vec<Vec<u8>>> =
        Arc::new(capture.packets.iter().map(|p| p.data.clone()).collect());

    // Each frame's verdict, and whether the program counts it.
    let mut infos = Vec::new();
    let mut counts_frame = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        let before = counted(&loaded)?;
        let o = loaded
            .run_xdp(&loaded.programs[prog_ix], f)
            .with_context(|| format!("{CAPTURE}: packet {}", i + 1))?;
        let delta = counted(&loaded)? - before;
        ensure!(delta <= 1, "packet {} counted {delta} times", i + 1);
        let insns = loaded
            .test_run(
                &loaded.programs[prog_ix],
                &TestRun {
                    data: f,
                    ctx: None,
                    repeat: 1,
                },
            )
            .with_context(|| format!("{CAPTURE}: packet {}", i + 1))?
            .executed;
        counts_frame.push(delta == 1);
        infos.push(FrameInfo {
            len: f.len(),
            action: o.action.name(),
            insns,
        });
    }
    let counts_frame = Arc::new(counts_frame);

    let wanted = |name: &str| opts.filter.as_deref().is_none_or(|f| name.contains(f));
    let mut results = Vec::new();
    let map_opts = maps::Options {
        budget: opts.budget,
        ops: opts.packets,
    };

    // run_xdp over the capture's frames, 1 and 2 threads.
    let name = format!("run_xdp, mixed.pcap's {} frames repeated", frames.len());
    if wanted(&name) {
        for threads in [1, 2] {
            let tally = Arc::new(Tally::default());
            let before = counted(&loaded)?;
            let make = |_t: usize| -> maps::Op {
                let (loaded, frames, counts_frame, tally) = (
                    loaded.clone(),
                    frames.clone(),
                    counts_frame.clone(),
                    tally.clone(),
                );
                Box::new(move |n| {
                    let prog = &loaded.programs[prog_ix];
                    let (mut errors, mut counted) = (0, 0);
                    let mut i = 0;
                    for _ in 0..n {
                        match loaded.run_xdp(prog, black_box(&frames[i])) {
                            Ok(o) => {
                                black_box(o);
                                counted += u64::from(counts_frame[i]);
                            }
                            Err(_) => errors += 1,
                        }
                        i += 1;
                        if i == frames.len() {
                            i = 0;
                        }
                    }
                    tally.errors.fetch_add(errors, Ordering::Relaxed);
                    tally.counted.fetch_add(counted, Ordering::Relaxed);
                })
            };
            let timing = maps::time(threads, &map_opts, &make, &|| {});
            let errors = tally.errors.load(Ordering::Relaxed);
            ensure!(errors == 0, "{name}: {errors} runs failed");
            let got = counted(&loaded)? - before;
            let want = tally.counted.load(Ordering::Relaxed);
            ensure!(
                got == want,
                "{name}, {threads} threads: {COUNTER_MAP} grew by {got}, {want} counted frames ran"
            );
            results.push(Row::new(&name, threads, opts.packets, timing));
        }
    }

    // test_run on one frame.
    let one = 0usize;
    ensure!(
        infos[one].action == XdpAction::Drop.name(),
        "{CAPTURE}: packet {} is not the dropped IPv4/UDP frame",
        one + 1
    );
    for (name, batch) in [
        (
            "test_run repeat=1 per call, frame 1 (IPv4/UDP, drop)",
            false,
        ),
        (
            "test_run repeat=N in one call, frame 1 (IPv4/UDP, drop)",
            true,
        ),
    ] {
        if !wanted(name) {
            continue;
        }
        let tally = Arc::new(Tally::default());
        let make = |_t: usize| -> maps::Op {
            let (loaded, frames, tally) = (loaded.clone(), frames.clone(), tally.clone());
            Box::new(move |n| {
                let prog = &loaded.programs[prog_ix];
                let input = |repeat| TestRun {
                    data: &frames[one],
                    ctx: None,
                    repeat,
                };
                let mut errors = 0;
                if batch {
                    let repeat = u32::try_from(n).unwrap_or(u32::MAX);
                    match loaded.test_run(prog, black_box(&input(repeat))) {
                        Ok(r) if r.retval == 1 => {
                            black_box(r);
                        }
                        _ => errors += 1,
                    }
                } else {
                    for _ in 0..n {
                        match loaded.test_run(prog, black_box(&input(1))) {
                            Ok(r) if r.retval == 1 => {
                                black_box(r);
                            }
                            _ => errors += 1,
                        }
                    }
                }
                tally.errors.fetch_add(errors, Ordering::Relaxed);
            })
        };
        let timing = maps::time(1, &map_opts, &make, &|| {});
        let errors = tally.errors.load(Ordering::Relaxed);
        ensure!(errors == 0, "{name}: {errors} runs failed");
        results.push(Row::new(name, 1, opts.packets, timing));
    }

    // The CLI path over a large capture.
    let stages = [
        (Stage::Read, "ebpfvm xdp path: read"),
        (Stage::ReadRun, "ebpfvm xdp path: read + run_xdp"),
        (
            Stage::ReadRunWrite,
            "ebpfvm xdp path: read + run_xdp + write (--out)",
        ),
    ];
    if stages.iter().any(|(_, name)| wanted(name)) {
        let dir = TempDir::new()?;
        let input = dir.path.join("in.pcap");
        let output = dir.path.join("out.pcap");
        let mut w = CaptureWriter::create(&input, CaptureFormat::Pcap, TsResolution::Micro)?;
        for i in 0..opts.capture_frames {
            let src = &capture.packets[i % capture.packets.len()];
            w.write_packet(&Packet {
                index: i as u64,
                timestamp: Duration::from_secs(1_700_000_000) + Duration::from_micros(i as u64),
                ..src.clone()
            })?;
        }
        w.finish()?;
        let passes = (0..opts.capture_frames)
            .filter(|i| infos[i % infos.len()].action == XdpAction::Pass.name())
            .count() as u64;
        for (stage, name) in stages {
            if !wanted(name) {
                continue;
            }
            let mut times = Vec::new();
            let start = Instant::now();
            while times.len() < opts.capture_rounds || start.elapsed() < opts.capture_budget {
                let t0 = Instant::now();
                let (packets, written) = cli_path(&loaded, prog_ix, &input, &output, stage)?;
                times.push(t0.elapsed().as_nanos() as f64 / packets as f64);
                ensure!(
                    packets == opts.capture_frames as u64,
                    "{name}: read {packets} packets, wrote {}",
                    opts.capture_frames
                );
                if stage == Stage::ReadRunWrite {
                    ensure!(
                        written == passes,
                        "{name}: wrote {written} packets, {passes} pass"
                    );
                }
            }
            times.sort_by(f64::total_cmp);
            results.push(Row::new(
                &format!("{name}, {} frames", opts.capture_frames),
                1,
                opts.capture_frames as u64,
                maps::Timing {
                    min: times[0],
                    median: times[times.len() / 2],
                    rounds: times.len(),
                    overlap: 1.0,
                },
            ));
        }
    }
    if results.is_empty() {
        bail!("no row matches the filter");
    }

    Ok(Report {
        bench: "xdp",
        cpu: cpu_name(),
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        program: format!("{OBJECT} ({PROGRAM})"),
        capture: CAPTURE.to_string(),
        frames: infos,
        load_ms,
        statistic: "minimum over rounds of the slowest thread's ns per packet",
        results,
    })
}

/// How much of the CLI path a round does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Read,
    ReadRun,
    ReadRunWrite,
}

/// One pass of `ebpfvm xdp --pcap INPUT --out OUTPUT` (its per-packet loop, without the JSON
/// and the progress bar): (packets read, packets written).
fn cli_path(
    loaded: &Loaded,
    prog_ix: usize,
    input: &Path,
    output: &Path,
    stage: Stage,
) -> anyhow::Result<(u64, u64)> {
    let prog = &loaded.programs[prog_ix];
    let mut reader = CaptureReader::open(input)?;
    let mut writer = match stage {
        Stage::ReadRunWrite => Some(CaptureWriter::create(
            output,
            reader.format(),
            reader.ts_resolution(),
        )?),
        _ => None,
    };
    let mut packets = 0u64;
    for pkt in reader.by_ref() {
        let pkt = pkt?;
        packets += 1;
        if pkt.data.len() < ETH_HLEN || pkt.data.len() > XDP_MAX_FRAME {
            bail!("packet {}: cannot run as XDP", pkt.number());
        }
        if stage == Stage::Read {
            black_box(&pkt);
            continue;
        }
        let o = loaded.run_xdp(prog, &pkt.data)?;
        if o.action != XdpAction::Pass && o.action != XdpAction::Tx {
            continue;
        }
        if let Some(w) = writer.as_mut() {
            w.write_packet(&Packet {
                index: pkt.index,
                timestamp: pkt.timestamp,
                orig_len: if o.frame.len() == pkt.data.len() {
                    pkt.orig_len
                } else {
                    o.frame.len() as u32
                },
                data: o.frame,
                interface: pkt.interface,
                comment: None,
            })?;
        }
    }
    let written = match writer {
        Some(w) => w.finish()?,
        None => 0,
    };
    Ok((packets, written))
}

/// A temporary directory, removed when dropped.
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new() -> anyhow::Result<TempDir> {
        let path = std::env::temp_dir().join(format!(
            "ebpfvm-bench-xdp-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(TempDir { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The report as a table.
pub fn render_text(report: &Report) -> Result<String, std::fmt::Error> {
    use std::fmt::Write;
    let mut out = String::new();
    writeln!(
        out,
        "ebpfvm-bench xdp  {} ({} CPUs)",
        report.cpu, report.cpus
    )?;
    writeln!(out, "program {} over {}", report.program, report.capture)?;
    let verdicts: Vec<String> = report
        .frames
        .iter()
        .map(|f| {
            let action = f.action.trim_start_matches("XDP_");
            format!("{}:{action}:{}", f.len, f.insns)
        })
        .collect();
    writeln!(out, "frames (bytes:verdict:insns): {}", verdicts.join(" "))?;
    writeln!(
        out,
        "object parse + load: {:.3} ms (min of 5)",
        report.load_ms
    )?;
    writeln!(out, "ns/packet = {}", report.statistic)?;
    writeln!(
        out,
        "  {:<62} {:>7} {:>9} {:>9} {:>10} {:>10} {:>7}",
        "workload", "threads", "ns/pkt", "median", "Mpps all", "median", "overlap"
    )?;
    for r in &report.results {
        writeln!(
            out,
            "  {:<62} {:>7} {:>9.1} {:>9.1} {:>10.3} {:>10.3} {:>7}",
            r.name,
            r.threads,
            r.ns_per_packet,
            r.ns_median,
            r.pps / 1e6,
            r.pps_median / 1e6,
            r.overlap.map_or(String::new(), |o| format!("{o:.2}"))
        )?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xdp_bench_runs_quickly() {
        let report = run(&Options::quick(None)).unwrap();
        assert_eq!(report.frames.len(), 16);
        assert_eq!(report.results.len(), 7);
        assert!(report
            .results
            .iter()
            .all(|r| r.ns_per_packet > 0.0 && r.pps > 0.0));
        render_text(&report).unwrap();
        serde_json::to_string(&report).unwrap();
    }
}
