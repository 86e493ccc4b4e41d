//! `ebpfvm verify FILE.o [--prog NAME] [--type T] [--log-level N] [--json] [--against-kernel]`:
//! runs ebpfvm's verifier on the programs of an object and prints each verdict, the log at
//! the level asked for, and the stats line. With `--against-kernel`, the same relocated
//! program is also loaded into the running kernel (maps created there to match) and both
//! verdicts and logs are shown side by side.

use std::io::Write;
use std::path::Path;

use ebpfvm_abi::ProgramType;
use ebpfvm_object::{LoadOptions as ParseOptions, Object, ProgramSpec};
use ebpfvm_verifier::VerifyOptions;
use serde::Serialize;

use super::input::read_file;
use super::{write_json, CliError, EXIT_OK, EXIT_REJECTED};

/// Arguments of `ebpfvm verify`.
#[derive(Clone, Debug, Default)]
pub struct VerifyArgs {
    /// Only this program.
    pub prog: Option<String>,
    /// Program type to use instead of the section's.
    pub prog_type: Option<ProgramType>,
    /// 0, 1 or 2.
    pub log_level: u32,
    /// JSON output.
    pub json: bool,
    /// Also load into the running kernel.
    pub against_kernel: bool,
}

/// The kernel's side of a comparison.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct KernelJson {
    /// Whether the kernel accepted.
    pub accepted: bool,
    /// The errno of a refusal (`EACCES`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errno: Option<String>,
    /// The kernel's last log line before its stats (its reason).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The kernel's log.
    pub log: String,
}

/// One program's result.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct ProgJson {
    /// Name.
    pub name: String,
    /// Section.
    pub section: String,
    /// Type.
    #[serde(rename = "type")]
    pub prog_type: String,
    /// Whether ebpfvm's verifier accepted it.
    pub accepted: bool,
    /// The instruction a rejection is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pc: Option<usize>,
    /// Why it was rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Instructions processed.
    pub processed: u64,
    /// Total states.
    pub total_states: u64,
    /// Peak states.
    pub peak_states: u64,
    /// Verification time in microseconds.
    pub time_us: u64,
    /// The log (at --log-level; always the stats line).
    pub log: String,
    /// The running kernel's verdict (with --against-kernel).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel: Option<KernelJson>,
    /// Whether both verifiers agree (with --against-kernel and a kernel available).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agree: Option<bool>,
}

/// The `--json` output.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct VerifyJson {
    /// The object.
    pub file: String,
    /// Programs accepted.
    pub accepted: usize,
    /// Programs rejected.
    pub rejected: usize,
    /// Why the kernel comparison could not be made, if it was asked for and could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel_unavailable: Option<String>,
    /// Each program.
    pub programs: Vec<ProgJson>,
}

/// Runs the command.
pub fn run(path: &Path, args: &VerifyArgs, out: &mut dyn Write) -> Result<u8, CliError> {
    let bytes = read_file(path)?;
    let popts = ParseOptions {
        force_type: args.prog_type.map(|t| (t, None)),
        ..ParseOptions::default()
    };
    let mut obj = Object::parse_with(&bytes, &popts)
        .map_err(|e| CliError::input(format!("{}: {e}", path.display())))?;
    let programs: Vec<ProgramSpec> = match &args.prog {
        Some(name) => match obj.program(name) {
            Some(p) => vec![p.clone()],
            None => {
                let names: Vec<&str> = obj.programs.iter().map(|p| p.name.as_str()).collect();
                return Err(CliError::usage(format!(
                    "{}: no program named '{name}' (programs: {})",
                    path.display(),
                    names.join(", ")
                )));
            }
        },
        None => obj
            .programs
            .iter()
            .filter(|p| p.prog_type != ProgramType::Unspec || obj.programs.len() == 1)
            .cloned()
            .collect(),
    };
    if programs.is_empty() {
        return Err(CliError::usage(format!(
            "{}: no program to verify (the object has only subprograms; name one with --prog and --type)",
            path.display()
        )));
    }
    // CO-RE against the running kernel's BTF when readable, as `run` does.
    let target = ebpfvm_runtime::vmlinux();
    let local = obj.btf.clone();
    let mut programs = programs;
    for p in &mut programs {
        if !p.core_relos.is_empty() {
            if let Some(local) = &local {
                let t = target.as_deref().unwrap_or(local);
                p.apply_core(local, t).map_err(|e| {
                    CliError::rejected(format!(
                        "{}: program '{}': CO-RE: {e}",
                        path.display(),
                        p.name
                    ))
                })?;
            }
        }
    }
    let maps = std::mem::take(&mut obj.maps);
    let opts = VerifyOptions {
        log_level: args.log_level,
        ..VerifyOptions::default()
    };
    let mut kernel = None;
    let mut kernel_unavailable = None;
    if args.against_kernel {
        match ebpfvm_kernel::Kernel::probe() {
            Ok(k) => kernel = Some(k),
            Err(e) => kernel_unavailable = Some(e.to_string()),
        }
    }
    let mut results = Vec::new();
    for p in &programs {
        let verdict = ebpfvm_runtime::verify::verify_program(p, &maps, &opts, false);
        let (accepted, pc, message, log, stats) = match verdict {
            Ok(v) => (true, None, None, v.log, v.stats),
            Err(r) => (false, Some(r.pc), Some(r.message), r.log, r.stats),
        };
        let kernel_side = kernel
            .as_ref()
            .map(|k| super::kernel_load::load(k, p, &maps, args.log_level));
        let agree = kernel_side.as_ref().map(|k| k.accepted == accepted);
        results.push(ProgJson {
            name: p.name.clone(),
            section: p.section.clone(),
            prog_type: p.prog_type.name().to_string(),
            accepted,
            pc,
            message,
            processed: stats.processed,
            total_states: stats.total_states,
            peak_states: stats.peak_states,
            time_us: stats.time.as_micros() as u64,
            log,
            kernel: kernel_side,
            agree,
        });
    }
    let accepted = results.iter().filter(|r| r.accepted).count();
    let rejected = results.len() - accepted;
    let status = if rejected == 0 {
        EXIT_OK
    } else {
        EXIT_REJECTED
    };
    if args.json {
        write_json(
            out,
            &VerifyJson {
                file: path.display().to_string(),
                accepted,
                rejected,
                kernel_unavailable,
                programs: results,
            },
        )?;
        return Ok(status);
    }
    if let Some(why) = &kernel_unavailable {
        writeln!(out, "kernel comparison skipped: {why}")?;
    }
    for r in &results {
        let verdict = if r.accepted {
            "accepted".to_string()
        } else {
            format!(
                "rejected: pc {}: {}",
                r.pc.unwrap_or(0),
                r.message.as_deref().unwrap_or("")
            )
        };
        writeln!(
            out,
            "{} ({}, {}): {verdict}",
            r.name, r.section, r.prog_type
        )?;
        match &r.kernel {
            Some(k) => {
                let kv = if k.accepted {
                    "accepted".to_string()
                } else {
                    format!(
                        "rejected ({}): {}",
                        k.errno.as_deref().unwrap_or("?"),
                        k.message.as_deref().unwrap_or("")
                    )
                };
                writeln!(
                    out,
                    "  kernel: {kv}{}",
                    if r.agree == Some(true) {
                        ""
                    } else {
                        "   <-- verdicts differ"
                    }
                )?;
                if args.log_level > 0 {
                    writeln!(out, "  --- ebpfvm log ---")?;
                    for l in r.log.lines() {
                        writeln!(out, "  {l}")?;
                    }
                    writeln!(out, "  --- kernel log ---")?;
                    for l in k.log.lines() {
                        writeln!(out, "  {l}")?;
                    }
                }
            }
            None => {
                if args.log_level > 0 || !r.accepted {
                    for l in r.log.lines() {
                        writeln!(out, "  {l}")?;
                    }
                } else if let Some(last) = r.log.lines().last() {
                    writeln!(out, "  {last}")?;
                }
            }
        }
    }
    writeln!(out, "{accepted} accepted, {rejected} rejected")?;
    Ok(status)
}
