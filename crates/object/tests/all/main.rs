//! Integration tests of ebpfvm-object: the real-world corpus against golden inventories,
//! hand-made ELF objects for each convention, and mutation robustness.

mod build;
mod corpus;
mod handmade;
mod mutate;
