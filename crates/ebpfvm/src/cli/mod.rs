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
pub mod conformance;
pub mod disasm;
pub mod input;
pub mod run;

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
    /// Run every conformance test (*.data) of a directory; the last line is "N passed, M failed".
    Conformance {
        /// Directory holding the .data files (not searched recursively).
        dir: PathBuf,
        /// Engine(s) to run the tests on.
        #[arg(long, value_enum, default_value_t = EngineArg::Interp)]
        engine: EngineArg,
    },
    /// Assemble a program into raw little-endian bytecode.
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
    /// Disassemble raw bytecode, hex text or an ELF object (LLVM dialect).
    Disasm {
        /// Raw bytecode, hex text (byte pairs or 0x words) or an ELF object.
        file: PathBuf,
        /// ELF section to disassemble (default: every executable section).
        #[arg(long)]
        section: Option<String>,
    },
    /// Run a program (raw, hex or a relocation-free ELF section) and print r0.
    Run {
        /// Raw bytecode, hex text or an ELF object without relocations.
        file: PathBuf,
        /// Program memory as hex bytes (r1 = its address, r2 = its length).
        #[arg(long, conflicts_with = "data_file")]
        data: Option<String>,
        /// Program memory read from a file.
        #[arg(long)]
        data_file: Option<PathBuf>,
        /// ELF section holding the program (default: the only executable section).
        #[arg(long)]
        section: Option<String>,
        /// Engine to run on.
        #[arg(long, value_enum, default_value_t = SingleEngineArg::Interp)]
        engine: SingleEngineArg,
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
        Command::Conformance { dir, engine } => conformance::conformance(&dir, engine, out, err),
        Command::Asm {
            file,
            output,
            dialect,
        } => asm::asm(&file, output.as_deref(), dialect, out),
        Command::Disasm { file, section } => disasm::disasm(&file, section.as_deref(), out),
        Command::Run {
            file,
            data,
            data_file,
            section,
            engine,
        } => {
            let data = match (data, data_file) {
                (Some(hex), _) => run::Data::Hex(hex),
                (None, Some(path)) => run::Data::File(path),
                (None, None) => run::Data::None,
            };
            run::run(&file, &data, section.as_deref(), engine, out)
        }
    }
}

/// Collapses a message onto one line.
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
