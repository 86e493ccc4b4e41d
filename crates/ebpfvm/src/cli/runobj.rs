//! `ebpfvm run FILE.o`: loads an object (maps created, relocations and CO-RE applied,
//! context accesses converted), runs one program as `BPF_PROG_TEST_RUN` would, and prints
//! the return value, the output data, the time per run, the trace_printk output and, with
//! `--dump-maps`, every map.

use std::io::Write;
use std::path::{Path, PathBuf};

use ebpfvm_abi::ProgramType;
use ebpfvm_object::{LoadOptions as ParseOptions, Object};
use ebpfvm_runtime::{LoadOptions, Loaded, RunError, TestRun};
use serde::Serialize;

use super::input::{parse_hex_bytes, read_file};
use super::maps::{self, MapJson};
use super::run::hex;
use super::{write_json, CliError, EXIT_OK};

/// What `ebpfvm run` does with an object.
#[derive(Clone, Debug, Default)]
pub struct ObjectRun {
    /// Program name.
    pub prog: Option<String>,
    /// Section to take the program from (when it holds one program).
    pub section: Option<String>,
    /// Program type to use instead of the section's.
    pub prog_type: Option<ProgramType>,
    /// `data_in`.
    pub data: Vec<u8>,
    /// `ctx_in`.
    pub ctx: Option<Vec<u8>>,
    /// Runs.
    pub repeat: u32,
    /// Print every map after the run.
    pub dump_maps: bool,
    /// JSON file of initial map contents.
    pub maps: Option<PathBuf>,
    /// Print JSON.
    pub json: bool,
    /// Run without verifying (the checked interpreter still guards every access).
    pub no_verify: bool,
}

/// The `--json` output of `ebpfvm run FILE.o`.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct ObjectRunJson {
    /// The program run.
    pub program: String,
    /// Its type.
    #[serde(rename = "type")]
    pub prog_type: String,
    /// r0 of the last run.
    pub retval: u64,
    /// The XDP action or tc verdict r0 means, where the type gives it one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// `data_out` as hex.
    pub data_out: String,
    /// `ctx_out` as hex, for types that return a context.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ctx_out: Option<String>,
    /// Runs made.
    pub runs: u32,
    /// Mean nanoseconds per run.
    pub ns_per_run: f64,
    /// Instructions executed by the last run.
    pub executed: u64,
    /// trace_printk lines.
    pub trace: Vec<String>,
    /// Where a redirect helper sent the packet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect: Option<String>,
    /// Every map (with --dump-maps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maps: Option<Vec<MapJson>>,
}

/// Parses `--ctx`.
pub fn parse_ctx(hexstr: &str) -> Result<Vec<u8>, CliError> {
    parse_hex_bytes(hexstr)
        .ok_or_else(|| CliError::usage("--ctx must be hex bytes, e.g. \"0a 00 00 00\""))
}

/// A program of an object as its section describes it, whether it loaded or was rejected.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ProgramInfo {
    /// The program's name.
    pub name: String,
    /// Its ELF section.
    pub section: String,
    /// The type its section gives it (before any `--type`; `unspec` for `.text` functions).
    pub section_type: ProgramType,
}

/// An object loaded into the runtime, with every program the object holds (those the
/// runtime rejected are in `loaded.rejected` only, so their sections and types are here).
#[derive(Debug)]
pub struct LoadedObject {
    /// The runtime's view: maps, programs ready to run, programs rejected.
    pub loaded: Loaded,
    /// Every program of the object, in object order.
    pub programs: Vec<ProgramInfo>,
}

/// Loads `path` into the runtime (every program and map), every program given type
/// `prog_type` if there is one.
pub fn load_object(
    path: &Path,
    bytes: &[u8],
    prog_type: Option<ProgramType>,
    verify: bool,
) -> Result<LoadedObject, CliError> {
    let parse = |popts: &ParseOptions| {
        Object::parse_with(bytes, popts)
            .map_err(|e| CliError::input(format!("{}: {e}", path.display())))
    };
    let plain = parse(&ParseOptions::default())?;
    let programs = plain
        .programs
        .iter()
        .map(|p| ProgramInfo {
            name: p.name.clone(),
            section: p.section.clone(),
            section_type: p.prog_type,
        })
        .collect();
    let obj = match prog_type {
        Some(t) => parse(&ParseOptions {
            force_type: Some((t, None)),
            ..ParseOptions::default()
        })?,
        None => plain,
    };
    let opts = LoadOptions {
        verify,
        ..LoadOptions::default()
    };
    let loaded = Loaded::load(&obj, &opts)
        .map_err(|e| CliError::rejected(format!("{}: {e}", path.display())))?;
    Ok(LoadedObject { loaded, programs })
}

/// The error of a program that cannot be chosen: rejected at load (exit 1) or not there
/// (exit 2).
pub fn select_error(path: &Path, e: RunError) -> CliError {
    match e {
        RunError::Rejected(_) => CliError::rejected(format!("{}: {e}", path.display())),
        e => CliError::usage(format!("{}: {e}", path.display())),
    }
}

/// The name of what r0 means for `t`.
pub fn action_name(t: ProgramType, r0: u64) -> Option<String> {
    match t {
        ProgramType::Xdp => Some(
            match r0 {
                0 => "XDP_ABORTED",
                1 => "XDP_DROP",
                2 => "XDP_PASS",
                3 => "XDP_TX",
                4 => "XDP_REDIRECT",
                _ => "invalid XDP action",
            }
            .to_string(),
        ),
        ProgramType::SchedCls | ProgramType::SchedAct => Some(
            match r0 as i64 as i32 {
                -1 => "TC_ACT_UNSPEC",
                0 => "TC_ACT_OK",
                1 => "TC_ACT_RECLASSIFY",
                2 => "TC_ACT_SHOT",
                3 => "TC_ACT_PIPE",
                4 => "TC_ACT_STOLEN",
                5 => "TC_ACT_QUEUED",
                6 => "TC_ACT_REPEAT",
                7 => "TC_ACT_REDIRECT",
                _ => "unknown tc verdict",
            }
            .to_string(),
        ),
        _ => None,
    }
}

/// Runs the object at `path`.
pub fn run_object(path: &Path, opts: &ObjectRun, out: &mut dyn Write) -> Result<u8, CliError> {
    let bytes = read_file(path)?;
    let LoadedObject { loaded, programs } =
        load_object(path, &bytes, opts.prog_type, !opts.no_verify)?;
    if let Some(seed) = &opts.maps {
        maps::seed(&loaded, seed)?;
    }
    // Programs are chosen among all the object's programs, rejected ones included, so that
    // choosing a rejected program says why it was rejected (exit 1).
    let name = match (&opts.prog, &opts.section) {
        (Some(p), Some(sec)) => {
            if let Some(info) = programs.iter().find(|i| &i.name == p) {
                if &info.section != sec {
                    return Err(CliError::usage(format!(
                        "{}: program '{p}' is in section '{}', not '{sec}'",
                        path.display(),
                        info.section
                    )));
                }
            }
            Some(p.clone())
        }
        (Some(p), None) => Some(p.clone()),
        (None, Some(sec)) => {
            let in_sec: Vec<&str> = programs
                .iter()
                .filter(|p| &p.section == sec)
                .map(|p| p.name.as_str())
                .collect();
            match in_sec.as_slice() {
                [one] => Some(one.to_string()),
                [] => {
                    return Err(CliError::usage(format!(
                        "{}: no program in section '{sec}'",
                        path.display()
                    )))
                }
                many => {
                    return Err(CliError::usage(format!(
                        "{}: section '{sec}' holds {} programs ({}): choose one with --prog",
                        path.display(),
                        many.len(),
                        many.join(", ")
                    )))
                }
            }
        }
        // With --type every function has that type, `.text` ones included: the program
        // meant is the object's only one whose section names a type.
        (None, None) if opts.prog_type.is_some() => {
            let typed: Vec<&ProgramInfo> = programs
                .iter()
                .filter(|p| p.section_type != ProgramType::Unspec)
                .collect();
            match typed.as_slice() {
                [one] => Some(one.name.clone()),
                _ => None,
            }
        }
        (None, None) => None,
    };
    let prog = loaded
        .select(name.as_deref())
        .map_err(|e| select_error(path, e))?;
    let input = TestRun {
        data: &opts.data,
        ctx: opts.ctx.as_deref(),
        repeat: opts.repeat,
    };
    let result = loaded.test_run(prog, &input).map_err(|e| match e {
        RunError::Fault { .. } => CliError::rejected(format!("{}: {e}", path.display())),
        e => CliError::usage(format!("{}: {e}", path.display())),
    })?;
    let trace = loaded.trace().take();
    let maps = opts.dump_maps.then(|| maps::dump(&loaded));
    let action = action_name(prog.prog_type, result.retval);
    let redirect = result.redirect.as_ref().map(|r| format!("{r:?}"));
    if opts.json {
        let json = ObjectRunJson {
            program: prog.name.clone(),
            prog_type: prog.prog_type.name().to_string(),
            retval: result.retval,
            action,
            data_out: hex(&result.data),
            ctx_out: result.ctx.as_deref().map(hex),
            runs: opts.repeat.max(1),
            ns_per_run: result.duration.as_nanos() as f64,
            executed: result.executed,
            trace,
            redirect,
            maps,
        };
        write_json(out, &json)?;
        return Ok(EXIT_OK);
    }
    writeln!(out, "program {} ({})", prog.name, prog.prog_type.name())?;
    match action {
        Some(a) => writeln!(out, "retval {} ({a})", result.retval as i64)?,
        None => writeln!(
            out,
            "retval {} ({:#x})",
            result.retval as i64, result.retval
        )?,
    }
    if !result.data.is_empty() {
        writeln!(
            out,
            "data_out {} bytes: {}",
            result.data.len(),
            hex(&result.data)
        )?;
    }
    if let Some(r) = redirect {
        writeln!(out, "redirect {r}")?;
    }
    writeln!(
        out,
        "duration {} ns per run ({} run{}, {} instructions in the last)",
        result.duration.as_nanos(),
        opts.repeat.max(1),
        if opts.repeat > 1 { "s" } else { "" },
        result.executed
    )?;
    for line in trace {
        writeln!(out, "trace {line}")?;
    }
    if let Some(maps) = maps {
        for line in maps::render(&maps) {
            writeln!(out, "{line}")?;
        }
    }
    Ok(EXIT_OK)
}
