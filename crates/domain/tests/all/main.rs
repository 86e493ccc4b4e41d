//! Integration tests for `ebpfvm-domain`: exhaustive soundness at 8 bits, lattice laws,
//! property tests at 64 bits, precision checks and rendering.

mod exhaustive;
mod lattice;
mod precision;
mod props;
mod reference;
mod render;
