//! ebpfvm facade (in progress).
