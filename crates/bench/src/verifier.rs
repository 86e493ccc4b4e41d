//! `ebpfvm-bench verifier`: ebpfvm's verifier over every program of the sample corpus —
//! verdicts per directory, rejections grouped by reason, time per program and in total,
//! peak states and the process's peak memory. With `--against-kernel`, every program
//! ebpfvm rejects is also loaded into the running kernel (where bpf() is allowed), so a
//! rejection can be told apart from one Linux makes too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use ebpfvm_abi::ProgramType;
use ebpfvm_object::{LoadOptions, Object, ProgramSpec, TypeSource};
use ebpfvm_verifier::VerifyOptions;
use serde::Serialize;

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// The corpus root.
    pub corpus: PathBuf,
    /// Only files whose path contains this.
    pub filter: Option<String>,
    /// Load ebpfvm's rejections into the kernel too.
    pub against_kernel: bool,
    /// State pruning (off: every path, for comparison).
    pub prune: bool,
}

/// One program's result.
#[derive(Clone, Debug, Serialize)]
pub struct ProgResult {
    /// `dir/file.o`.
    pub file: String,
    /// Section.
    pub section: String,
    /// Program name.
    pub name: String,
    /// Type used.
    #[serde(rename = "type")]
    pub prog_type: String,
    /// "accepted", "rejected" or "unsupported" (could not be prepared: CO-RE, load).
    pub verdict: String,
    /// Why (rejections and unsupported).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The pc of a rejection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pc: Option<usize>,
    /// Instructions processed.
    pub processed: u64,
    /// Peak states.
    pub peak_states: u64,
    /// Verification time in microseconds.
    pub us: u64,
    /// The kernel's verdict on a rejected program ("accepted" or its error line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
}

/// Per-directory counts.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DirCounts {
    /// Accepted.
    pub accepted: usize,
    /// Rejected.
    pub rejected: usize,
    /// Could not be verified (load or CO-RE failure).
    pub unsupported: usize,
    /// Files that do not load at all.
    pub load_errors: usize,
    /// Verification time, ms.
    pub ms: f64,
}

/// The report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Every program.
    pub programs: Vec<ProgResult>,
    /// Files that failed to load, with the error.
    pub load_errors: Vec<(String, String)>,
    /// Per top-level directory.
    pub dirs: BTreeMap<String, DirCounts>,
    /// Rejection reasons (message with numbers normalised) and their counts.
    pub reasons: Vec<(String, usize)>,
    /// Total verification time, ms (not counting parsing).
    pub total_ms: f64,
    /// Wall time of the whole sweep, ms (parsing included).
    pub wall_ms: f64,
    /// The process's peak resident memory (VmHWM), KiB.
    pub peak_rss_kib: u64,
    /// The kernel used for --against-kernel, or why none.
    pub kernel: Option<String>,
}

fn objects(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            objects(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "o")
            || p.parent().is_some_and(|d| d.ends_with("invalid"))
        {
            out.push(p);
        }
    }
    Ok(())
}

/// The type of a program whose section names none (Cilium's legacy `2/7`, `from-netdev`,
/// OVS's `tail-N`, the tc samples' `redirect_xmit`, ...), from the object's file name as its
/// project loads it: xdp for XDP objects, sched_cls for Cilium, OVS and the tc samples
/// (their loaders attach them with tc), socket_filter otherwise (PREVAIL's default).
fn fallback_type(path: &str) -> ProgramType {
    let name = path.rsplit('/').next().unwrap_or(path);
    if path.contains("xdp") {
        ProgramType::Xdp
    } else if path.contains("cilium")
        || path.starts_with("ovs/")
        || name.starts_with("tc")
        || name.contains("_tc_")
        || name.contains("tc_kern")
    {
        ProgramType::SchedCls
    } else {
        ProgramType::SocketFilter
    }
}

fn normalise(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut last_digit = false;
    for c in msg.chars() {
        if c.is_ascii_digit() {
            if !last_digit {
                out.push('N');
            }
            last_digit = true;
        } else {
            out.push(c);
            last_digit = false;
        }
    }
    out
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// Runs the sweep.
pub fn run(opts: &Options) -> anyhow::Result<Report> {
    let start = Instant::now();
    let mut files = Vec::new();
    objects(&opts.corpus, &mut files)?;
    let kernel = if opts.against_kernel {
        match ebpfvm_kernel::Kernel::probe() {
            Ok(k) => Some(k),
            Err(e) => {
                eprintln!("kernel comparison skipped: {e}");
                None
            }
        }
    } else {
        None
    };
    let vopts = VerifyOptions {
        log_level: 0,
        prune: opts.prune,
        ..VerifyOptions::default()
    };
    let mut programs = Vec::new();
    let mut load_errors = Vec::new();
    let mut dirs: BTreeMap<String, DirCounts> = BTreeMap::new();
    let mut total = Duration::ZERO;
    let vmlinux = ebpfvm_runtime::vmlinux();
    for path in files {
        let rel = path
            .strip_prefix(&opts.corpus)
            .unwrap_or(&path)
            .display()
            .to_string();
        if opts
            .filter
            .as_ref()
            .is_some_and(|f| !rel.contains(f.as_str()))
        {
            continue;
        }
        let dir = rel.split('/').next().unwrap_or("").to_string();
        let counts = dirs.entry(dir).or_default();
        let bytes = std::fs::read(&path)?;
        let obj = match Object::parse_with(
            &bytes,
            &LoadOptions {
                default_type: Some((fallback_type(&rel), None)),
                ..LoadOptions::default()
            },
        ) {
            Ok(o) => o,
            Err(e) => {
                counts.load_errors += 1;
                load_errors.push((rel, e.to_string()));
                continue;
            }
        };
        for spec in &obj.programs {
            // Static `.text` functions are subprograms, not programs.
            if spec.prog_type == ProgramType::Unspec
                || (spec.type_source == TypeSource::Unknown && spec.section == ".text")
            {
                continue;
            }
            let mut spec: ProgramSpec = spec.clone();
            let mut result = ProgResult {
                file: rel.clone(),
                section: spec.section.clone(),
                name: spec.name.clone(),
                prog_type: spec.prog_type.name().to_string(),
                verdict: String::new(),
                reason: None,
                pc: None,
                processed: 0,
                peak_states: 0,
                us: 0,
                kernel: None,
            };
            if !spec.core_relos.is_empty() {
                if let Some(local) = &obj.btf {
                    let target = vmlinux.as_deref().unwrap_or(local);
                    if let Err(e) = spec.apply_core(local, target) {
                        result.verdict = "unsupported".into();
                        result.reason = Some(format!("CO-RE: {e}"));
                        counts.unsupported += 1;
                        programs.push(result);
                        continue;
                    }
                }
            }
            let t = Instant::now();
            let verdict = ebpfvm_runtime::verify::verify_program(&spec, &obj.maps, &vopts, false);
            let took = t.elapsed();
            total += took;
            counts.ms += took.as_secs_f64() * 1e3;
            result.us = took.as_micros() as u64;
            match verdict {
                Ok(v) => {
                    counts.accepted += 1;
                    result.verdict = "accepted".into();
                    result.processed = v.stats.processed;
                    result.peak_states = v.stats.peak_states;
                }
                Err(r) => {
                    counts.rejected += 1;
                    result.verdict = "rejected".into();
                    result.processed = r.stats.processed;
                    result.peak_states = r.stats.peak_states;
                    result.pc = Some(r.pc);
                    result.reason = Some(r.message.clone());
                    if let Some(k) = &kernel {
                        result.kernel = Some(kernel_verdict(k, &spec, &obj));
                    }
                }
            }
            programs.push(result);
        }
    }
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for p in programs.iter().filter(|p| p.verdict == "rejected") {
        *reasons
            .entry(normalise(p.reason.as_deref().unwrap_or("")))
            .or_default() += 1;
    }
    let mut reasons: Vec<(String, usize)> = reasons.into_iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(Report {
        programs,
        load_errors,
        dirs,
        reasons,
        total_ms: total.as_secs_f64() * 1e3,
        wall_ms: start.elapsed().as_secs_f64() * 1e3,
        peak_rss_kib: peak_rss_kib(),
        kernel: kernel.as_ref().map(|k| k.release()),
    })
}

fn kernel_verdict(k: &ebpfvm_kernel::Kernel, spec: &ProgramSpec, obj: &Object) -> String {
    use std::os::fd::{AsFd, AsRawFd, OwnedFd};
    fn create(k: &ebpfvm_kernel::Kernel, m: &ebpfvm_object::MapSpec) -> Result<OwnedFd, String> {
        let inner = match &m.inner {
            Some(i) => Some(create(k, i)?),
            None => None,
        };
        let attrs = ebpfvm_kernel::MapAttrs {
            map_type: m.map_type,
            key_size: m.key_size,
            value_size: m.value_size,
            max_entries: m.max_entries,
            flags: m.flags,
            inner_map_fd: inner.as_ref().map(|f| f.as_fd()),
        };
        k.create_map(&attrs)
            .map_err(|e| format!("map '{}': {e}", m.name))
    }
    let mut fds = Vec::new();
    for m in &obj.maps {
        match create(k, m) {
            Ok(fd) => fds.push(fd),
            Err(e) => return format!("not loaded: {e}"),
        }
    }
    let raw: Vec<i32> = fds.iter().map(|f| f.as_raw_fd()).collect();
    let insns = match ebpfvm_kernel::resolve_map_indices(&spec.insns, &raw) {
        Ok(i) => i,
        Err(e) => return format!("not loaded: {e}"),
    };
    let mut load = ebpfvm_kernel::ProgLoad::new(spec.prog_type.number(), &insns);
    load.expected_attach_type = spec.expected_attach_type.map(|a| a.number());
    load.max_log_size = 16 << 20;
    let r = k.load_program(&load);
    if r.accepted() {
        "accepted".into()
    } else {
        format!("rejected: {}", r.error_line().unwrap_or("").trim())
    }
}

/// The report as text.
pub fn render_text(r: &Report) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<18} {:>8} {:>8} {:>11} {:>11} {:>10}",
        "directory", "accepted", "rejected", "unsupported", "load errors", "verify ms"
    );
    let mut tot = DirCounts::default();
    for (d, c) in &r.dirs {
        let _ = writeln!(
            s,
            "{:<18} {:>8} {:>8} {:>11} {:>11} {:>10.1}",
            d, c.accepted, c.rejected, c.unsupported, c.load_errors, c.ms
        );
        tot.accepted += c.accepted;
        tot.rejected += c.rejected;
        tot.unsupported += c.unsupported;
        tot.load_errors += c.load_errors;
    }
    let _ = writeln!(
        s,
        "{:<18} {:>8} {:>8} {:>11} {:>11} {:>10.1}",
        "total", tot.accepted, tot.rejected, tot.unsupported, tot.load_errors, r.total_ms
    );
    let _ = writeln!(
        s,
        "\nverification {:.1} ms in total, wall {:.1} ms (parsing included), peak RSS {} KiB",
        r.total_ms, r.wall_ms, r.peak_rss_kib
    );
    let mut slow: Vec<&ProgResult> = r.programs.iter().collect();
    slow.sort_by_key(|p| std::cmp::Reverse(p.us));
    let _ = writeln!(s, "\nslowest programs:");
    for p in slow.iter().take(5) {
        let _ = writeln!(
            s,
            "  {:>9.1} ms  {} {} ({}, {} insns processed, {} peak states)",
            p.us as f64 / 1e3,
            p.file,
            p.name,
            p.verdict,
            p.processed,
            p.peak_states
        );
    }
    let _ = writeln!(s, "\nrejections by reason:");
    for (reason, n) in &r.reasons {
        let _ = writeln!(s, "  {n:>4}  {reason}");
    }
    let _ = writeln!(s, "\nrejected programs:");
    for p in r.programs.iter().filter(|p| p.verdict != "accepted") {
        let _ = writeln!(
            s,
            "  {} {} [{}]: {}pc {}: {}{}",
            p.file,
            p.name,
            p.prog_type,
            if p.verdict == "unsupported" {
                "unsupported: "
            } else {
                ""
            },
            p.pc.unwrap_or(0),
            p.reason.as_deref().unwrap_or(""),
            p.kernel
                .as_deref()
                .map(|k| format!("   | kernel: {k}"))
                .unwrap_or_default()
        );
    }
    if !r.load_errors.is_empty() {
        let _ = writeln!(s, "\nfiles that do not load:");
        for (f, e) in &r.load_errors {
            let _ = writeln!(s, "  {f}: {e}");
        }
    }
    s
}
