//! The `ebpfvm` command line: argument definitions and one function per command.
//!
//! Every command function takes its arguments and a `&mut dyn Write` for its normal output,
//! and returns an exit status or a [`CliError`]; [`main_with`] parses arguments, runs the
//! command and prints errors as one `error: ...` line. Exit status: [`EXIT_OK`] (0) success,
//! [`EXIT_REJECTED`] (1) the program or data was rejected or tests failed, [`EXIT_USAGE`] (2)
//! bad usage or unreadable input.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

pub mod asm;
pub mod btf;
pub mod conformance;
pub mod disasm;
pub mod input;
pub mod kernel_load;
pub mod maps;
pub mod object;
pub mod run;
pub mod runobj;
pub mod verify;
pub mod xdp;

/// Success.
pub const EXIT_OK: u8 = 0;
/// The program or data was rejected, or tests failed.
pub const EXIT_REJECTED: u8 = 1;
/// Bad usage, or input that cannot be read.
pub const EXIT_USAGE: u8 = 2;
/// An internal error (a bug): the binary's panic guard uses it.
pub const EXIT_INTERNAL: u8 = 101;

/// A command failure, printed as one `error: ...` line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// Bad arguments (exit 2).
    #[error("{message}")]
    Usage {
        /// One line.
        message: String,
    },
    /// An input that cannot be read (exit 2).
    #[error("{message}")]
    Input {
        /// One line.
        message: String,
    },
    /// The program or data was rejected (exit 1).
    #[error("{message}")]
    Rejected {
        /// One line.
        message: String,
    },
    /// Writing the output failed (exit 2; a closed pipe ends the command quietly).
    #[error("cannot write output: {source}")]
    Output {
        /// The I/O error.
        #[from]
        source: io::Error,
    },
}

impl CliError {
    pub(crate) fn usage(message: impl Into<String>) -> CliError {
        CliError::Usage {
            message: message.into(),
        }
    }

    pub(crate) fn input(message: impl Into<String>) -> CliError {
        CliError::Input {
            message: message.into(),
        }
    }

    pub(crate) fn rejected(message: impl Into<String>) -> CliError {
        CliError::Rejected {
            message: message.into(),
        }
    }

    /// The process exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Rejected { .. } => EXIT_REJECTED,
            CliError::Usage { .. } | CliError::Input { .. } | CliError::Output { .. } => EXIT_USAGE,
        }
    }
}

/// ebpfvm: a user-space eBPF runtime.
///
/// Exit status: 0 success, 1 the program or data was rejected (or a test failed), 2 bad usage
/// or unreadable input. Errors are one `error: ...` line on standard error. Every command
/// that prints data accepts `--json` for one JSON object on standard output instead.
#[derive(Debug, Parser)]
#[command(name = "ebpfvm", version, propagate_version = true)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every conformance test (*.data) of a directory.
    ///
    /// Prints a `FAIL name: ...`, `ERROR name: ...` or `SKIP name: ...` line for each test
    /// that did not pass, then "N passed, M failed" (", K skipped" when K > 0). Exit status 1
    /// if any test failed or could not run.
    Conformance {
        /// Directory holding the .data files (not searched recursively).
        dir: PathBuf,
        /// Engine(s) to run the tests on.
        #[arg(long, value_enum, default_value_t = EngineArg::Interp)]
        engine: EngineArg,
        /// Print one JSON object instead of the text: {"engine", "passed", "failed",
        /// "skipped", "tests": [{"name", "engine", "outcome": "pass|fail|error|skip",
        /// "detail" (null for a pass)}]}. Exit status as without --json.
        #[arg(long)]
        json: bool,
    },
    /// Assemble a program into raw little-endian bytecode (prints nothing on success).
    Asm {
        /// Assembly source.
        file: PathBuf,
        /// Output file; `-` writes to standard output. Default: FILE with extension `.bin`.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Assembly dialect. `auto` picks `ubpf` when the text uses `%rN` registers, else `llvm`.
        #[arg(long, value_enum, default_value_t = Dialect::Auto)]
        dialect: Dialect,
    },
    /// Disassemble raw bytecode, hex text, assembly source or an ELF object (LLVM dialect).
    ///
    /// Raw, hex and assembly input print one `pc:<TAB>insn` line per instruction; ELF objects
    /// print like `llvm-objdump -d --no-show-raw-insn --print-imm-hex`.
    Disasm {
        /// Raw bytecode, hex text (byte pairs or 0x words), assembly (*.s) or an ELF object.
        file: PathBuf,
        /// ELF section to disassemble (default: every non-empty executable section).
        #[arg(long)]
        section: Option<String>,
        /// Print one JSON object instead of the listing: {"format", "sections": [{"name"
        /// (null for non-ELF input), "insns": [{"pc", "text", "raw" (hex bytes), "label"
        /// (symbol starting here), "target" (taken-jump pc), "target_label"}]}]}; absent
        /// fields are omitted.
        #[arg(long)]
        json: bool,
    },
    /// Inspect BTF type information (`btf dump FILE.o [--json]`).
    Btf {
        /// The `btf` subcommand.
        #[command(subcommand)]
        command: btf::BtfCommand,
    },
    /// Inspect an ELF object as the loader sees it (`object show FILE.o [--json]`).
    Object {
        /// The `object` subcommand.
        #[command(subcommand)]
        command: object::ObjectCommand,
    },
    /// Run a program: a user-space BPF_PROG_TEST_RUN.
    ///
    /// ELF objects are loaded as Linux would (maps created and initialised, relocations and
    /// CO-RE applied, context accesses converted) and the program runs with its type's
    /// context: XDP and skb programs get --data as the packet, kprobe and tracepoint
    /// programs --ctx as their context, and `unspec` programs --data as raw memory (r1 =
    /// address, r2 = length). Prints the return value, the output data, the time per run,
    /// the trace_printk output and, with --dump-maps, every map. Raw bytecode, hex text and
    /// assembly run as `unspec` programs with only the conformance helper (id 5) and print
    /// r0 in hex. A fault, or an exhausted --budget, is exit status 1.
    Run {
        /// An ELF object, raw bytecode, hex text or assembly (*.s).
        file: PathBuf,
        /// Program to run (ELF; default: the object's only program).
        #[arg(long)]
        prog: Option<String>,
        /// Packet or memory as hex bytes ("aa bb 0c", "aabb0c" or "0xaabb0c").
        #[arg(long, conflicts_with = "data_file")]
        data: Option<String>,
        /// Packet or memory read from a file.
        #[arg(long)]
        data_file: Option<PathBuf>,
        /// Context (ctx_in) as hex bytes: xdp_md, __sk_buff, pt_regs or tracepoint arguments.
        #[arg(long, conflicts_with = "ctx_file")]
        ctx: Option<String>,
        /// Context read from a file.
        #[arg(long)]
        ctx_file: Option<PathBuf>,
        /// Program type to use instead of the section's (ELF), e.g. xdp, socket_filter.
        #[arg(long = "type", value_name = "TYPE")]
        prog_type: Option<String>,
        /// ELF section holding the program (when it holds only one).
        #[arg(long)]
        section: Option<String>,
        /// Engine to run on.
        #[arg(long, value_enum, default_value_t = SingleEngineArg::Interp)]
        engine: SingleEngineArg,
        /// Run N times (N >= 1), each on a fresh copy of the data; results are those of the
        /// last run, the time the mean. Maps keep their contents from run to run.
        #[arg(long, value_name = "N", default_value_t = 1,
              value_parser = clap::value_parser!(u64).range(1..=u32::MAX as u64))]
        repeat: u64,
        /// Instruction budget of each run (raw programs; default 2^32).
        #[arg(long, value_name = "N")]
        budget: Option<u64>,
        /// Raw programs: also print the memory after the run, as hex, on a second line.
        #[arg(long)]
        dump_data: bool,
        /// ELF: print every map after the run.
        #[arg(long)]
        dump_maps: bool,
        /// ELF: run without verifying first (programs the verifier rejects run too; the
        /// checked interpreter still validates every memory access).
        #[arg(long)]
        no_verify: bool,
        /// ELF: seed maps from this JSON file before the run:
        /// {"map": [{"key": 1, "value": "0a00..."}, ...]} (numbers are stored little-endian;
        /// hex strings and byte lists are taken as they are; sizes must match).
        #[arg(long, value_name = "FILE")]
        maps: Option<PathBuf>,
        /// Print one JSON object instead of the text. ELF: {"program", "type", "retval",
        /// "action" (XDP/tc), "data_out" (hex), "ctx_out" (hex), "runs", "ns_per_run" (mean
        /// wall-clock nanoseconds), "executed", "trace" (lines), "redirect", "maps" (with
        /// --dump-maps)}. Raw programs: {"engine", "r0" (hex string), "r0_u64", "executed",
        /// "runs", "ns_per_run", "data" (hex, with --dump-data)}.
        #[arg(long)]
        json: bool,
    },
    /// Verify the programs of an ELF object with ebpfvm's verifier.
    ///
    /// Prints each program's verdict (Linux's wording for rejections), the log at
    /// --log-level (1: the failing path with register states; 2: every state) and the stats
    /// line. Exit 0 if every program is accepted, 1 if any is rejected, 2 for unusable
    /// input.
    Verify {
        /// The ELF object.
        file: PathBuf,
        /// Only this program.
        #[arg(long)]
        prog: Option<String>,
        /// Program type to use instead of the section's.
        #[arg(long = "type", value_name = "TYPE")]
        prog_type: Option<String>,
        /// 0: verdicts and stats; 1: the path to an error with register states; 2: the
        /// state at every instruction.
        #[arg(long, value_name = "N", default_value_t = 0,
              value_parser = clap::value_parser!(u32).range(0..=2))]
        log_level: u32,
        /// Also load each program into the running kernel (where bpf() is allowed; maps are
        /// created there to match) and show both verdicts and logs side by side.
        #[arg(long)]
        against_kernel: bool,
        /// Print one JSON object: {"file", "accepted", "rejected", "kernel_unavailable",
        /// "programs": [{"name", "section", "type", "accepted", "pc", "message",
        /// "processed", "total_states", "peak_states", "time_us", "log", "kernel":
        /// {"accepted", "errno", "message", "log"}, "agree"}]}.
        #[arg(long)]
        json: bool,
    },
    /// Run an XDP program over every packet of a pcap or pcapng capture.
    ///
    /// Applies each verdict: XDP_PASS frames (after any head/tail adjustment) and XDP_TX
    /// frames (marked "XDP_TX" in pcapng, or written in order among the passed frames in
    /// pcap) go to --out; dropped, aborted and redirected frames do not. Prints the count
    /// per action and the maps at the end.
    Xdp {
        /// The ELF object.
        file: PathBuf,
        /// Program to run (default: the object's only XDP program).
        #[arg(long)]
        prog: Option<String>,
        /// The capture to read (pcap or pcapng, Ethernet).
        #[arg(long)]
        pcap: PathBuf,
        /// Where to write the frames that pass (same format as the input). Written to a
        /// temporary file and renamed at the end: never left half-written.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Seed maps from this JSON file first (format as for `run --maps`).
        #[arg(long, value_name = "FILE")]
        maps: Option<PathBuf>,
        /// Do not print the maps at the end.
        #[arg(long)]
        no_maps: bool,
        /// Run without verifying first (the checked interpreter still validates every
        /// memory access).
        #[arg(long)]
        no_verify: bool,
        /// Print one JSON object instead of the text.
        #[arg(long)]
        json: bool,
    },
}

/// `--engine` of `conformance`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum EngineArg {
    /// The interpreter.
    Interp,
    /// The JIT compiler.
    Jit,
    /// Every available engine.
    All,
}

/// `--engine` of `run`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum SingleEngineArg {
    /// The interpreter.
    Interp,
    /// The JIT compiler.
    Jit,
}

/// `--dialect` of `asm`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum Dialect {
    /// `ubpf` if the text uses `%rN` registers, else `llvm`.
    Auto,
    /// The LLVM/kernel dialect (`r0 = 1`, `if r1 > 2 goto +1`).
    Llvm,
    /// The conformance suite's dialect (`mov %r0, 1`, `jgt %r1, 2, +1`).
    Ubpf,
}

/// Parses `args` (program name first), runs the command, writes its output to `out` and
/// errors to `err`, and returns the exit status. Never panics on bad input.
pub fn main_with<I, T>(args: I, out: &mut dyn Write, err: &mut dyn Write) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version go to stdout with status 0; usage errors to stderr with 2.
            let text = e.render().to_string();
            let code = e.exit_code();
            if code == 0 {
                let _ = out.write_all(text.as_bytes());
                let _ = out.flush();
                return EXIT_OK;
            }
            let _ = err.write_all(text.as_bytes());
            return EXIT_USAGE;
        }
    };
    let result = run_command(cli.command, out, err).and_then(|code| {
        out.flush()?;
        Ok(code)
    });
    match result {
        Ok(code) => code,
        Err(CliError::Output { source }) if source.kind() == io::ErrorKind::BrokenPipe => EXIT_OK,
        Err(e) => {
            let _ = writeln!(err, "error: {}", one_line(&e.to_string()));
            e.exit_code()
        }
    }
}

/// Runs one parsed command.
pub fn run_command(
    command: Command,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, CliError> {
    match command {
        Command::Conformance { dir, engine, json } => {
            if json {
                conformance::conformance_json(&dir, engine, out, err)
            } else {
                conformance::conformance(&dir, engine, out, err)
            }
        }
        Command::Asm {
            file,
            output,
            dialect,
        } => asm::asm(&file, output.as_deref(), dialect, out),
        Command::Disasm {
            file,
            section,
            json,
        } => {
            if json {
                disasm::disasm_json(&file, section.as_deref(), out)
            } else {
                disasm::disasm(&file, section.as_deref(), out)
            }
        }
        Command::Btf { command } => btf::run(command, out),
        Command::Object { command } => object::run(command, out),
        Command::Run {
            file,
            prog,
            data,
            data_file,
            ctx,
            ctx_file,
            prog_type,
            section,
            engine,
            repeat,
            budget,
            dump_data,
            dump_maps,
            no_verify,
            maps,
            json,
        } => {
            let data = match (data, data_file) {
                (Some(hex), _) => run::Data::Hex(hex),
                (None, Some(path)) => run::Data::File(path),
                (None, None) => run::Data::None,
            };
            let is_elf = input::read_file(&file)
                .map(|b| input::detect(&b) == input::Format::Elf)
                .unwrap_or(false);
            if is_elf {
                for (set, flag) in [(budget.is_some(), "--budget"), (dump_data, "--dump-data")] {
                    if set {
                        return Err(CliError::usage(format!(
                            "{flag} applies to raw programs; for objects use --dump-maps"
                        )));
                    }
                }
                if engine == SingleEngineArg::Jit {
                    return Err(CliError::usage(
                        "the JIT engine is not available yet: use --engine interp",
                    ));
                }
                let ctx = match (ctx, ctx_file) {
                    (Some(h), _) => Some(runobj::parse_ctx(&h)?),
                    (None, Some(p)) => Some(input::read_file(&p)?),
                    (None, None) => None,
                };
                let prog_type = match prog_type {
                    Some(t) => {
                        Some(ebpfvm_abi::ProgramType::from_name(&t).ok_or_else(|| {
                            CliError::usage(format!("unknown program type '{t}'"))
                        })?)
                    }
                    None => None,
                };
                let opts = runobj::ObjectRun {
                    prog,
                    section,
                    prog_type,
                    data: data.bytes()?,
                    ctx,
                    repeat: repeat as u32,
                    dump_maps,
                    maps,
                    json,
                    no_verify,
                };
                return runobj::run_object(&file, &opts, out);
            }
            for (set, flag) in [
                (prog.is_some(), "--prog"),
                (ctx.is_some() || ctx_file.is_some(), "--ctx"),
                (prog_type.is_some(), "--type"),
                (dump_maps, "--dump-maps"),
                (no_verify, "--no-verify"),
                (maps.is_some(), "--maps"),
            ] {
                if set {
                    return Err(CliError::usage(format!(
                        "{flag} needs an ELF object; {} is not one",
                        file.display()
                    )));
                }
            }
            let options = run::RunOptions {
                section,
                engine,
                repeat,
                budget,
                dump_data,
                json,
            };
            run::run_with(&file, &data, &options, out)
        }
        Command::Xdp {
            file,
            prog,
            pcap,
            out: out_path,
            maps,
            no_maps,
            no_verify,
            json,
        } => xdp::run(
            &xdp::XdpArgs {
                file,
                prog,
                pcap,
                out: out_path,
                maps,
                show_maps: !no_maps,
                json,
                no_verify,
            },
            out,
        ),
        Command::Verify {
            file,
            prog,
            prog_type,
            log_level,
            against_kernel,
            json,
        } => {
            let prog_type = match prog_type {
                Some(t) => Some(
                    ebpfvm_abi::ProgramType::from_name(&t)
                        .ok_or_else(|| CliError::usage(format!("unknown program type '{t}'")))?,
                ),
                None => None,
            };
            verify::run(
                &file,
                &verify::VerifyArgs {
                    prog,
                    prog_type,
                    log_level,
                    json,
                    against_kernel,
                },
                out,
            )
        }
    }
}

/// Writes `value` as one line of JSON.
pub(crate) fn write_json<T: serde::Serialize>(
    out: &mut dyn Write,
    value: &T,
) -> Result<(), CliError> {
    serde_json::to_writer(&mut *out, value).map_err(|e| match e.io_error_kind() {
        Some(kind) => CliError::Output {
            source: io::Error::new(kind, e),
        },
        None => CliError::rejected(format!("cannot encode JSON: {e}")),
    })?;
    writeln!(out)?;
    Ok(())
}

/// Collapses a message onto one line.
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
