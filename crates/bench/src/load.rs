//! `ebpfvm-bench load`: how long `ebpfvm_object::Object::parse` takes on the largest corpus
//! objects (ELF, BTF, `.BTF.ext`, maps, relocations, linking, strict decoding: everything
//! `ebpfvm object show` needs).
//!
//! Method: every `*.o` outside `invalid/` under the corpus is loaded once; the five with the
//! most instruction slots are timed. Each gets one untimed warm-up load, then loads until
//! the time budget is spent (at least [`MIN_LOADS`]); the file is read into memory once, so
//! only parsing is timed. The figure is the minimum ms per load (the median beside it).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use ebpfvm_object::Object;
use serde::Serialize;

/// Fewest timed loads per object, whatever the budget.
const MIN_LOADS: usize = 5;

/// Options of `ebpfvm-bench load`.
#[derive(Debug, Clone)]
pub struct Options {
    /// The corpus directory (`ebpf-samples`).
    pub corpus: PathBuf,
    /// How many of the largest objects to time.
    pub count: usize,
    /// Time budget per object.
    pub budget: Duration,
}

/// The report, as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Always "load".
    pub bench: &'static str,
    /// `model name` of /proc/cpuinfo.
    pub cpu: String,
    /// Which statistic `ms_per_load` is.
    pub statistic: &'static str,
    /// One entry per object, largest first.
    pub objects: Vec<ObjectReport>,
}

/// Figures of one object.
#[derive(Debug, Serialize)]
pub struct ObjectReport {
    /// Path relative to the corpus.
    pub file: String,
    /// File size in bytes.
    pub bytes: usize,
    /// Instruction slots of all code sections.
    pub insns: usize,
    /// Programs found.
    pub programs: usize,
    /// Maps found.
    pub maps: usize,
    /// Timed loads.
    pub loads: usize,
    /// Minimum ms per load.
    pub ms_per_load: f64,
    /// Median ms per load.
    pub ms_median: f64,
}

/// The default corpus location: `../shared/corpus/ebpf-samples` beside the repository.
pub fn default_corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/ebpf-samples")
}

fn objects(dir: &Path, root: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let p = entry?.path();
        if p.is_dir() {
            if p.strip_prefix(root).is_ok_and(|r| r.starts_with("invalid")) {
                continue;
            }
            objects(&p, root, out)?;
        } else if p.extension().is_some_and(|e| e == "o") {
            out.push(p);
        }
    }
    Ok(())
}

/// Runs the bench.
pub fn run(options: &Options) -> anyhow::Result<Report> {
    let root = &options.corpus;
    if !root.is_dir() {
        bail!("corpus not found at {} (use --corpus DIR)", root.display());
    }
    let mut paths = Vec::new();
    objects(root, root, &mut paths)?;
    let mut sized = Vec::new();
    for p in paths {
        let data = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
        let obj = Object::parse(&data).with_context(|| format!("loading {}", p.display()))?;
        let insns: usize = obj
            .programs
            .iter()
            .filter_map(|prog| prog.functions.first())
            .map(|f| f.len)
            .sum();
        sized.push((insns, p, data, obj.programs.len(), obj.maps.len()));
    }
    sized.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let mut reports = Vec::new();
    for (insns, path, data, programs, maps) in sized.into_iter().take(options.count) {
        black_box(Object::parse(black_box(&data)).ok());
        let mut times = Vec::new();
        let start = Instant::now();
        while times.len() < MIN_LOADS || start.elapsed() < options.budget {
            let t = Instant::now();
            let obj = Object::parse(black_box(&data));
            times.push(t.elapsed());
            black_box(obj.ok());
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        reports.push(ObjectReport {
            file: path
                .strip_prefix(root)
                .unwrap_or(&path)
                .display()
                .to_string(),
            bytes: data.len(),
            insns,
            programs,
            maps,
            loads: times.len(),
            ms_per_load: ms(times[0]),
            ms_median: ms(times[times.len() / 2]),
        });
    }
    Ok(Report {
        bench: "load",
        cpu: cpu(),
        statistic: "min",
        objects: reports,
    })
}

fn cpu() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// The text report.
pub fn render_text(report: &Report) -> Result<String, std::fmt::Error> {
    use std::fmt::Write;
    let mut out = String::new();
    writeln!(out, "ebpfvm-bench load  {}", report.cpu)?;
    writeln!(
        out,
        "ms per Object::parse = minimum over the timed loads (median beside it)"
    )?;
    writeln!(
        out,
        "  {:<36} {:>9} {:>8} {:>6} {:>5} {:>6} {:>9} {:>9}",
        "object", "bytes", "insns", "progs", "maps", "loads", "ms min", "ms median"
    )?;
    for o in &report.objects {
        writeln!(
            out,
            "  {:<36} {:>9} {:>8} {:>6} {:>5} {:>6} {:>9.3} {:>9.3}",
            o.file, o.bytes, o.insns, o.programs, o.maps, o.loads, o.ms_per_load, o.ms_median
        )?;
    }
    Ok(out)
}
