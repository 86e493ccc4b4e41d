//! The output of `bpf_trace_printk` (Linux's `trace_pipe`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Lines a [`TraceLog`] keeps by default.
pub const DEFAULT_TRACE_LINES: usize = 4096;

/// The lines programs printed with `bpf_trace_printk`, oldest first. Thread-safe and
/// bounded: beyond its capacity the oldest line is dropped and counted.
#[derive(Debug)]
pub struct TraceLog {
    lines: Mutex<VecDeque<String>>,
    capacity: usize,
    dropped: AtomicU64,
}

impl TraceLog {
    /// A log keeping [`DEFAULT_TRACE_LINES`] lines.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_TRACE_LINES)
    }

    /// A log keeping `capacity` lines (at least 1).
    pub fn with_capacity(capacity: usize) -> Self {
        TraceLog {
            lines: Mutex::new(VecDeque::new()),
            capacity: capacity.max(1),
            dropped: AtomicU64::new(0),
        }
    }

    /// Appends a line, dropping the oldest if the log is full.
    pub fn push(&self, line: String) {
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        if lines.len() >= self.capacity {
            lines.pop_front();
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        lines.push_back(line);
    }

    /// A copy of the lines kept.
    pub fn lines(&self) -> Vec<String> {
        let lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        lines.iter().cloned().collect()
    }

    /// Removes and returns the lines kept (as reading `trace_pipe` consumes them).
    pub fn take(&self) -> Vec<String> {
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        lines.drain(..).collect()
    }

    /// Lines dropped because the log was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Default for TraceLog {
    fn default() -> Self {
        Self::new()
    }
}
