//! Integration tests of `ebpfvm-btf`: hand-built blobs for every kind and error, the
//! `.BTF`/`.BTF.ext` sections of the shared corpus, C dumps, and no-panic properties.

mod blob;
mod c_dump;
mod corpus;
mod errors;
mod ext;
mod kinds;
mod props;
mod util;
