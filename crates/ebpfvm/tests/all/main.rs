//! Integration tests of the `ebpfvm` command line: the binary and the `ebpfvm::cli`
//! functions, on good and bad input.

mod asm_disasm;
mod bad_input;
mod btf_cmd;
mod conformance;
mod json_output;
mod object_show;
mod run_cmd;
mod runobj;
mod usage;
mod util;
mod xdp;
