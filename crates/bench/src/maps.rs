//! `ebpfvm-bench maps`: ns per map operation (ebpfvm-maps), at 1 and 2 threads.
//!
//! Every workload goes through `Arc<dyn Map>`, as helpers will. "prog" operations are the
//! program-side ones (`lookup_ptr`, `update_from_prog`) under a pinned `RunGuard`, as a run
//! would do them; "user" operations are the `bpf()`-style copies, which pin the epoch
//! themselves. Method: each thread runs rounds of a fixed number of operations between
//! barriers; a round's figure is the slowest thread's ns per operation; the report gives
//! the minimum over the rounds (at least 5, as many as fit in the budget) and the median.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use ebpfvm_abi::MapType;
use ebpfvm_maps::flags::{BPF_ANY, BPF_F_NO_PREALLOC};
use ebpfvm_maps::{create_map, Map, MapDef, MapOptions, RunGuard};
use serde::Serialize;

/// Options of `ebpfvm-bench maps`.
#[derive(Debug, Clone)]
pub struct Options {
    /// Time budget of each workload and thread count.
    pub budget: Duration,
    /// Operations per thread per round.
    pub ops: u64,
}

/// The report, as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Always "maps".
    pub bench: &'static str,
    /// `model name` of /proc/cpuinfo.
    pub cpu: String,
    /// Available parallelism (execution slots of the maps).
    pub cpus: usize,
    /// Which statistic `ns_per_op` is.
    pub statistic: &'static str,
    /// One row per workload and thread count.
    pub results: Vec<Row>,
}

/// Figures of one workload at one thread count.
#[derive(Debug, Serialize)]
pub struct Row {
    /// Workload name.
    pub name: &'static str,
    /// Threads running it at once.
    pub threads: usize,
    /// Minimum ns per operation (per thread).
    pub ns_per_op: f64,
    /// Median ns per operation.
    pub ns_median: f64,
    /// Operations per second, all threads together, at the minimum.
    pub ops_per_sec: f64,
    /// At 2 threads, how much the threads' timed intervals overlapped (median over rounds;
    /// 1 = entirely at once, 0 = one after the other). Below 1, `ops_per_sec` overstates
    /// what the threads did together, and contention was partly avoided.
    pub overlap: Option<f64>,
    /// The target for this figure, if any (ns per operation).
    pub target_ns: Option<f64>,
}

/// One thread's operation: runs `n` operations.
pub(crate) type Op = Box<dyn FnMut(u64) + Send>;

/// What [`time`] measured.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    /// Minimum over the rounds of the slowest thread's ns per operation.
    pub min: f64,
    /// Median of the same.
    pub median: f64,
    /// Timed rounds.
    pub rounds: usize,
    /// How much the threads' timed intervals overlapped, median over the rounds: 1 when
    /// they ran entirely at the same time, 0 when one after the other (the vCPUs were not
    /// both ours). Always 1 for one thread.
    pub overlap: f64,
}

/// Runs `make(thread)`'s closure on `threads` threads in timed rounds.
pub(crate) fn time(
    threads: usize,
    opts: &Options,
    make: &dyn Fn(usize) -> Op,
    between: &(dyn Fn() + Sync),
) -> Timing {
    let barrier = Arc::new(Barrier::new(threads));
    let stop = Arc::new(AtomicBool::new(false));
    // Each thread's (start, end) of every round.
    type Spans = Vec<(Instant, Instant)>;
    let spans: Arc<Mutex<Vec<Spans>>> = Arc::default();
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let mut op = make(t);
            let (barrier, stop, spans) = (barrier.clone(), stop.clone(), spans.clone());
            let (ops, budget) = (opts.ops, opts.budget);
            s.spawn(move || {
                op(ops / 10); // warm-up
                let mut mine = Vec::new();
                for round in 0.. {
                    barrier.wait();
                    if stop.load(Ordering::Acquire) {
                        break;
                    }
                    let t0 = Instant::now();
                    op(ops);
                    mine.push((t0, Instant::now()));
                    barrier.wait();
                    if t == 0 {
                        between();
                        if round >= 4 && start.elapsed() > budget {
                            stop.store(true, Ordering::Release);
                        }
                    }
                }
                spans.lock().unwrap_or_else(|e| e.into_inner()).push(mine);
            });
        }
    });
    let spans = spans.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let rounds = spans.iter().map(Vec::len).min().unwrap_or(0);
    let mut per_op = Vec::with_capacity(rounds);
    let mut overlaps = Vec::with_capacity(rounds);
    for r in 0..rounds {
        let round: Vec<(Instant, Instant)> = spans.iter().map(|t| t[r]).collect();
        let secs = |(a, b): (Instant, Instant)| b.duration_since(a).as_secs_f64();
        let longest = round.iter().copied().map(secs).fold(0.0, f64::max);
        per_op.push(longest * 1e9 / opts.ops as f64);
        let sum: f64 = round.iter().copied().map(secs).sum();
        let first = round.iter().map(|s| s.0).min();
        let last = round.iter().map(|s| s.1).max();
        let wall = match (first, last) {
            (Some(a), Some(b)) => secs((a, b)),
            _ => 0.0,
        };
        overlaps.push(if sum - longest > 0.0 {
            ((sum - wall) / (sum - longest)).clamp(0.0, 1.0)
        } else {
            1.0
        });
    }
    per_op.sort_by(f64::total_cmp);
    overlaps.sort_by(f64::total_cmp);
    Timing {
        min: per_op.first().copied().unwrap_or(f64::NAN),
        median: per_op.get(rounds / 2).copied().unwrap_or(f64::NAN),
        rounds,
        overlap: overlaps.get(rounds / 2).copied().unwrap_or(f64::NAN),
    }
}

fn map(t: MapType, k: u32, v: u32, max: u32, flags: u32) -> anyhow::Result<Arc<dyn Map>> {
    let def = MapDef::new(t, k, v, max).with_flags(flags);
    Ok(create_map(&def, &MapOptions::default())?)
}

fn key(i: u64) -> [u8; 4] {
    (i as u32).to_ne_bytes()
}

/// A workload: its name, target and how to build each thread's operation.
struct Workload {
    name: &'static str,
    target_ns: Option<f64>,
    make: Box<dyn Fn(usize) -> Op>,
    between: Box<dyn Fn() + Sync>,
}

fn workloads() -> anyhow::Result<Vec<Workload>> {
    let mut w = Vec::new();
    let nothing = || Box::new(|| {}) as Box<dyn Fn() + Sync>;

    let array = map(MapType::Array, 4, 8, 1024, 0)?;
    let m = array.clone();
    w.push(Workload {
        name: "array lookup (prog, 4-byte key)",
        target_ns: Some(10.0),
        make: Box::new(move |t| {
            let m = m.clone();
            Box::new(move |n| {
                let run = RunGuard::pin(t);
                for i in 0..n {
                    black_box(m.lookup_ptr(black_box(&key(i & 1023)), &run));
                }
            })
        }),
        between: nothing(),
    });
    let m = array.clone();
    w.push(Workload {
        name: "array lookup (user copy)",
        target_ns: None,
        make: Box::new(move |_| {
            let m = m.clone();
            Box::new(move |n| {
                let mut out = [0u8; 8];
                for i in 0..n {
                    let _ = black_box(m.lookup(black_box(&key(i & 1023)), &mut out));
                }
            })
        }),
        between: nothing(),
    });
    let m = array;
    w.push(Workload {
        name: "array update (prog)",
        target_ns: None,
        make: Box::new(move |t| {
            let m = m.clone();
            Box::new(move |n| {
                let run = RunGuard::pin(t);
                for i in 0..n {
                    let _ = black_box(m.update_from_prog(
                        &key(i & 1023),
                        &i.to_ne_bytes(),
                        BPF_ANY,
                        &run,
                    ));
                }
            })
        }),
        between: nothing(),
    });

    let hash = map(MapType::Hash, 4, 8, 4096, 0)?;
    for i in 0..1024u64 {
        hash.update(&key(i), &i.to_ne_bytes(), BPF_ANY)?;
    }
    let m = hash.clone();
    w.push(Workload {
        name: "hash lookup (prog, 4-byte key)",
        target_ns: Some(30.0),
        make: Box::new(move |t| {
            let m = m.clone();
            Box::new(move |n| {
                let run = RunGuard::pin(t);
                for i in 0..n {
                    black_box(m.lookup_ptr(black_box(&key(i & 1023)), &run));
                }
            })
        }),
        between: nothing(),
    });
    let m = hash.clone();
    w.push(Workload {
        name: "hash lookup (user copy)",
        target_ns: None,
        make: Box::new(move |_| {
            let m = m.clone();
            Box::new(move |n| {
                let mut out = [0u8; 8];
                for i in 0..n {
                    let _ = black_box(m.lookup(black_box(&key(i & 1023)), &mut out));
                }
            })
        }),
        between: nothing(),
    });
    let m = hash.clone();
    w.push(Workload {
        name: "hash update (user, existing key)",
        target_ns: None,
        make: Box::new(move |t| {
            let m = m.clone();
            Box::new(move |n| {
                for i in 0..n {
                    let k = (i * 2 + t as u64) & 1023;
                    let _ = black_box(m.update(&key(k), &i.to_ne_bytes(), BPF_ANY));
                }
            })
        }),
        between: nothing(),
    });
    let m = hash;
    w.push(Workload {
        name: "hash update (prog, existing key)",
        target_ns: None,
        make: Box::new(move |t| {
            let m = m.clone();
            Box::new(move |n| {
                // A run of 64 updates per guard, as programs make a few per run.
                let mut run = RunGuard::pin(t);
                for i in 0..n {
                    if i % 64 == 0 {
                        run.repin();
                    }
                    let k = (i * 2 + t as u64) & 1023;
                    let _ = black_box(m.update_from_prog(&key(k), &i.to_ne_bytes(), BPF_ANY, &run));
                }
            })
        }),
        between: nothing(),
    });
    let nopre = map(MapType::Hash, 4, 8, 4096, BPF_F_NO_PREALLOC)?;
    w.push(Workload {
        name: "hash insert+delete (user, no prealloc)",
        target_ns: None,
        make: Box::new(move |t| {
            let m = nopre.clone();
            Box::new(move |n| {
                for i in 0..n {
                    let k = key(((t as u64) << 20) | (i & 1023));
                    let _ = black_box(m.update(&k, &i.to_ne_bytes(), BPF_ANY));
                    let _ = black_box(m.delete(&k));
                }
            })
        }),
        between: nothing(),
    });

    let lru = map(MapType::LruHash, 4, 8, 1024, 0)?;
    w.push(Workload {
        name: "lru update (user, new key, evicting)",
        target_ns: None,
        make: Box::new(move |t| {
            let m = lru.clone();
            let mut next = (t as u64) << 28;
            Box::new(move |n| {
                for _ in 0..n {
                    next += 1;
                    let _ = black_box(m.update(&key(next), &next.to_ne_bytes(), BPF_ANY));
                }
            })
        }),
        between: nothing(),
    });

    let percpu = map(MapType::PercpuArray, 4, 8, 64, 0)?;
    w.push(Workload {
        name: "percpu array update (prog)",
        target_ns: None,
        make: Box::new(move |t| {
            let m = percpu.clone();
            Box::new(move |n| {
                let run = RunGuard::pin(t);
                for i in 0..n {
                    let _ = black_box(m.update_from_prog(
                        &key(i & 63),
                        &i.to_ne_bytes(),
                        BPF_ANY,
                        &run,
                    ));
                }
            })
        }),
        between: nothing(),
    });

    let ring = map(MapType::Ringbuf, 0, 0, 32 << 20, 0)?;
    let drain = ring.clone();
    w.push(Workload {
        name: "ringbuf reserve+submit 64 B (consume untimed)",
        target_ns: None,
        make: Box::new(move |_| {
            let m = ring.clone();
            Box::new(move |n| {
                let rb = m.as_ringbuf().expect("a ringbuf");
                for i in 0..n {
                    if let Some(p) = rb.reserve(64, 0) {
                        // SAFETY: p is a fresh 64-byte reservation, 8-byte aligned.
                        unsafe { p.cast::<u64>().write(i) };
                        let _ = rb.submit(p, 0);
                    }
                }
            })
        }),
        between: Box::new(move || {
            if let Some(rb) = drain.as_ringbuf() {
                rb.consume(&mut |r| {
                    black_box(r);
                });
            }
        }),
    });
    Ok(w)
}

/// Records per second through a ring with one producer and one consumer thread at once.
fn ringbuf_pipeline(records: u64) -> anyhow::Result<f64> {
    let ring = map(MapType::Ringbuf, 0, 0, 1 << 20, 0)?;
    let start = Instant::now();
    std::thread::scope(|s| {
        let m = ring.clone();
        s.spawn(move || {
            let rb = m.as_ringbuf().expect("a ringbuf");
            let mut i = 0;
            while i < records {
                if let Some(p) = rb.reserve(64, 0) {
                    // SAFETY: fresh 64-byte reservation.
                    unsafe { p.cast::<u64>().write(i) };
                    let _ = rb.submit(p, 0);
                    i += 1;
                } else {
                    // Full: let the consumer run (the machine may have fewer free CPUs
                    // than threads).
                    std::thread::yield_now();
                }
            }
        });
        let rb = ring.as_ringbuf().expect("a ringbuf");
        let mut got = 0;
        while got < records {
            got += rb.poll(Duration::from_millis(1), &mut |r| {
                black_box(r);
            }) as u64;
        }
    });
    Ok(records as f64 / start.elapsed().as_secs_f64())
}

/// The environment variable that restricts the run to the workloads whose name contains its
/// value (`EBPFVM_BENCH_MAPS_FILTER="hash update" ebpfvm-bench maps`); the ring-buffer
/// pipeline row counts as the workload "ringbuf produce+consume".
pub const FILTER_ENV: &str = "EBPFVM_BENCH_MAPS_FILTER";

/// Runs every workload (or those [`FILTER_ENV`] selects) at 1 and 2 threads.
pub fn run(opts: &Options) -> anyhow::Result<Report> {
    let filter = std::env::var(FILTER_ENV).ok().filter(|f| !f.is_empty());
    let wanted = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    let mut results = Vec::new();
    for w in workloads()? {
        if !wanted(w.name) {
            continue;
        }
        for threads in [1, 2] {
            let t = time(threads, opts, &*w.make, &*w.between);
            results.push(Row {
                name: w.name,
                threads,
                ns_per_op: t.min,
                ns_median: t.median,
                ops_per_sec: threads as f64 * 1e9 / t.min,
                overlap: (threads > 1).then_some(t.overlap),
                target_ns: if threads == 1 { w.target_ns } else { None },
            });
        }
    }
    let pipeline = "ringbuf produce+consume 64 B (producer + consumer thread)";
    if wanted(pipeline) {
        let mut runs = Vec::new();
        for _ in 0..5 {
            runs.push(ringbuf_pipeline(opts.ops * 10)?);
        }
        runs.sort_by(f64::total_cmp);
        let (per_sec, median) = (runs[runs.len() - 1], runs[runs.len() / 2]);
        results.push(Row {
            name: pipeline,
            threads: 2,
            ns_per_op: 1e9 / per_sec,
            ns_median: 1e9 / median,
            ops_per_sec: per_sec,
            overlap: None,
            target_ns: None,
        });
    }
    Ok(Report {
        bench: "maps",
        cpu: cpu_name(),
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        statistic: "minimum over rounds of the slowest thread's ns per operation",
        results,
    })
}

/// `model name` of /proc/cpuinfo.
pub(crate) fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string())
}

/// The report as a table.
pub fn render_text(report: &Report) -> Result<String, std::fmt::Error> {
    use std::fmt::Write;
    let mut out = String::new();
    writeln!(
        out,
        "ebpfvm-bench maps  {} ({} CPUs)",
        report.cpu, report.cpus
    )?;
    writeln!(out, "ns/op = {}", report.statistic)?;
    writeln!(
        out,
        "  {:<58} {:>7} {:>9} {:>9} {:>12} {:>7} {:>8}",
        "workload", "threads", "ns/op", "median", "Mops/s all", "overlap", "target"
    )?;
    for r in &report.results {
        let target = r.target_ns.map_or(String::new(), |t| {
            format!("<{t} {}", if r.ns_per_op < t { "ok" } else { "MISS" })
        });
        writeln!(
            out,
            "  {:<58} {:>7} {:>9.2} {:>9.2} {:>12.2} {:>7} {:>8}",
            r.name,
            r.threads,
            r.ns_per_op,
            r.ns_median,
            r.ops_per_sec / 1e6,
            r.overlap.map_or(String::new(), |o| format!("{o:.2}")),
            target
        )?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_bench_runs_quickly() {
        let report = run(&Options {
            budget: Duration::from_millis(1),
            ops: 1000,
        })
        .unwrap();
        assert!(report.results.len() >= 20);
        assert!(report.results.iter().all(|r| r.ns_per_op > 0.0));
        render_text(&report).unwrap();
    }
}
