//! The `ebpfvm` command. All logic lives in [`ebpfvm::cli`]; this file wires it to the
//! process: arguments, standard streams, exit status, and a last-resort guard that turns a
//! panic (a bug) into one `error: internal error: ...` line instead of a backtrace.

use std::io::{self, Write};
use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;
use std::sync::Mutex;

/// Where the panic hook leaves its one-line report.
static PANIC_REPORT: Mutex<Option<String>> = Mutex::new(None);

fn main() -> ExitCode {
    panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let line = format!(
            "{}{at}",
            msg.split_whitespace().collect::<Vec<_>>().join(" ")
        );
        if let Ok(mut slot) = PANIC_REPORT.lock() {
            *slot = Some(line);
        }
    }));
    let code = panic::catch_unwind(AssertUnwindSafe(|| {
        let stdout = io::stdout();
        let stderr = io::stderr();
        let mut out = io::BufWriter::new(stdout.lock());
        let mut err = stderr.lock();
        ebpfvm::cli::main_with(std::env::args_os(), &mut out, &mut err)
    }));
    match code {
        Ok(code) => ExitCode::from(code),
        Err(_) => {
            let report = PANIC_REPORT
                .lock()
                .ok()
                .and_then(|mut s| s.take())
                .unwrap_or_else(|| "unknown panic".to_string());
            let _ = writeln!(io::stderr(), "error: internal error: {report}");
            ExitCode::from(ebpfvm::cli::EXIT_INTERNAL)
        }
    }
}
