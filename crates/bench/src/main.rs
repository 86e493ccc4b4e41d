//! `ebpfvm-bench`: ebpfvm's performance lab. See BENCHMARKS.md at the repository root.

mod engines;
mod fixture;
mod interp;
mod load;
mod maps;
mod verifier;
mod workloads;
mod xdp;

use std::{io::Write, process::ExitCode, time::Duration};

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "ebpfvm-bench",
    about = "ebpfvm's performance lab: ebpfvm against rbpf and sbpf"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Interpreters: every workload on ebpfvm, rbpf and sbpf, with ratios.
    Interp(InterpArgs),
    /// Object loading: ms per `Object::parse` of the largest corpus objects.
    Load(LoadArgs),
    /// JIT compilers (not yet implemented).
    Jit,
    /// Map operations: ns per lookup/update for each map kind, at 1 and 2 threads.
    Maps(MapsArgs),
    /// XDP: packets per second of tests/progs/xdp_drop_udp.o over mixed.pcap, 1 and 2
    /// threads, and the `ebpfvm xdp` capture path.
    Xdp(XdpArgs),
    /// Verifier: every program of the sample corpus, verdicts, reasons, time, memory.
    Verifier(VerifierArgs),
    /// Every bench (not yet implemented).
    All,
}

#[derive(Debug, Args)]
struct InterpArgs {
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Run only the workloads whose name contains NAME.
    #[arg(long, value_name = "NAME")]
    filter: Option<String>,
    /// Time budget of each workload, all engines together, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1500)]
    budget_ms: u64,
    /// Smoke test: tiny inputs and a 10 ms budget per workload (no meaningful figures).
    #[arg(long)]
    quick: bool,
}

#[derive(Debug, Args)]
struct LoadArgs {
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// The corpus directory (default: ../shared/corpus/ebpf-samples beside the repository).
    #[arg(long, value_name = "DIR")]
    corpus: Option<std::path::PathBuf>,
    /// How many of the largest objects (by instruction count) to time.
    #[arg(long, value_name = "N", default_value_t = 5)]
    count: usize,
    /// Time budget of each object, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    budget_ms: u64,
}

#[derive(Debug, Args)]
struct MapsArgs {
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Time budget of each workload and thread count, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 300)]
    budget_ms: u64,
    /// Smoke test: a 1 ms budget and short rounds (no meaningful figures).
    #[arg(long)]
    quick: bool,
}

#[derive(Debug, Args)]
struct VerifierArgs {
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// The corpus directory (default: ../shared/corpus/ebpf-samples beside the repository).
    #[arg(long, value_name = "DIR")]
    corpus: Option<std::path::PathBuf>,
    /// Only objects whose path (relative to the corpus) contains this.
    #[arg(long, value_name = "TEXT")]
    filter: Option<String>,
    /// Also load every program ebpfvm rejects into the running kernel (root, bpf()).
    #[arg(long)]
    against_kernel: bool,
    /// Explore without state pruning (slow; for comparing verdicts).
    #[arg(long)]
    no_prune: bool,
}

/// `ebpfvm-bench verifier`.
fn run_verifier(args: &VerifierArgs) -> ExitCode {
    let options = verifier::Options {
        corpus: args.corpus.clone().unwrap_or_else(load::default_corpus),
        filter: args.filter.clone(),
        against_kernel: args.against_kernel,
        prune: !args.no_prune,
    };
    let rendered = verifier::run(&options).and_then(|report| {
        if args.json {
            Ok(serde_json::to_string_pretty(&report)? + "\n")
        } else {
            Ok(verifier::render_text(&report))
        }
    });
    match rendered {
        Ok(text) => match std::io::stdout().write_all(text.as_bytes()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
            _ => ExitCode::SUCCESS,
        },
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Debug, Args)]
struct XdpArgs {
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Run only the rows whose name contains NAME.
    #[arg(long, value_name = "NAME")]
    filter: Option<String>,
    /// Time budget of each row and thread count, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    budget_ms: u64,
    /// Frames of the generated capture the `ebpfvm xdp` path is timed on.
    #[arg(long, value_name = "N", default_value_t = 200_000)]
    frames: usize,
    /// Smoke test: a few packets, a 1 ms budget (no meaningful figures).
    #[arg(long)]
    quick: bool,
}

/// `ebpfvm-bench xdp`.
fn run_xdp(args: &XdpArgs) -> ExitCode {
    let options = if args.quick {
        xdp::Options::quick(args.filter.clone())
    } else {
        xdp::Options::full(
            Duration::from_millis(args.budget_ms),
            args.frames.max(1),
            args.filter.clone(),
        )
    };
    let rendered = xdp::run(&options).and_then(|report| {
        if args.json {
            Ok(serde_json::to_string_pretty(&report)? + "\n")
        } else {
            Ok(xdp::render_text(&report)?)
        }
    });
    match rendered {
        Ok(text) => match std::io::stdout().write_all(text.as_bytes()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
            _ => ExitCode::SUCCESS,
        },
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `ebpfvm-bench maps`.
fn run_maps(args: &MapsArgs) -> ExitCode {
    let options = maps::Options {
        budget: Duration::from_millis(if args.quick { 1 } else { args.budget_ms }),
        ops: if args.quick { 1_000 } else { 100_000 },
    };
    let rendered = maps::run(&options).and_then(|report| {
        if args.json {
            Ok(serde_json::to_string_pretty(&report)? + "\n")
        } else {
            Ok(maps::render_text(&report)?)
        }
    });
    match rendered {
        Ok(text) => match std::io::stdout().write_all(text.as_bytes()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
            _ => ExitCode::SUCCESS,
        },
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `ebpfvm-bench load`.
fn run_load(args: &LoadArgs) -> ExitCode {
    let options = load::Options {
        corpus: args.corpus.clone().unwrap_or_else(load::default_corpus),
        count: args.count,
        budget: Duration::from_millis(args.budget_ms),
    };
    let rendered = load::run(&options).and_then(|report| {
        if args.json {
            Ok(serde_json::to_string_pretty(&report)? + "\n")
        } else {
            Ok(load::render_text(&report)?)
        }
    });
    match rendered {
        Ok(text) => match std::io::stdout().write_all(text.as_bytes()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
            _ => ExitCode::SUCCESS,
        },
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let args = match cli.command {
        Command::Load(args) => return run_load(&args),
        Command::Maps(args) => return run_maps(&args),
        Command::Xdp(args) => return run_xdp(&args),
        Command::Verifier(args) => return run_verifier(&args),
        Command::Interp(args) => args,
        Command::Jit | Command::All => {
            eprintln!("ebpfvm-bench: this bench is not yet implemented");
            return ExitCode::from(2);
        }
    };
    let options = interp::Options {
        filter: args.filter,
        budget: Duration::from_millis(if args.quick { 10 } else { args.budget_ms }),
        scale: if args.quick {
            workloads::Scale::Tiny
        } else {
            workloads::Scale::Full
        },
    };
    let report = match interp::run(&options) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let rendered = if args.json {
        serde_json::to_string_pretty(&report)
            .map(|s| s + "\n")
            .map_err(|e| e.to_string())
    } else {
        interp::render_text(&report).map_err(|e| e.to_string())
    };
    let written = match rendered {
        // A reader that stops early (`| head`) is not an error.
        Ok(text) => match std::io::stdout().write_all(text.as_bytes()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.to_string()),
            _ => Ok(()),
        },
        Err(e) => Err(e),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
