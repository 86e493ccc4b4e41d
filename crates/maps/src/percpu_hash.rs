//! `BPF_MAP_TYPE_PERCPU_HASH`: a hash map with one value per execution slot.
//!
//! The table is [`HashTab`](crate::HashTab) with every slot's value stored in the element.
//! As in Linux, an update of an existing key writes in place (user space: every slot's
//! value; a program: its own slot's only), and a program that creates an element sets its
//! slot's value and zeroes the others. User space passes `round_up(value_size, 8)` bytes
//! per slot.

use crate::{HashTab, MapDef, MapError, MapOptions};

/// Creates a per-CPU hash map (`def.map_type` must be `PercpuHash`).
pub fn new_percpu_hash(def: &MapDef, opts: &MapOptions) -> Result<HashTab, MapError> {
    HashTab::new(def, opts)
}
