//! CO-RE relocations, applied at load time against a target BTF.

use std::sync::{Arc, OnceLock};

use ebpfvm_btf::Btf;
use ebpfvm_object::ProgramSpec;

/// Applies `spec`'s CO-RE relocations, resolving local types of `local` against `target`.
pub(crate) fn apply(spec: &mut ProgramSpec, local: &Btf, target: &Btf) -> Result<(), String> {
    spec.apply_core(local, target)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The running kernel's BTF (`/sys/kernel/btf/vmlinux`), read once per process; `None`
/// where it is not readable.
pub fn vmlinux() -> Option<Arc<Btf>> {
    static VMLINUX: OnceLock<Option<Arc<Btf>>> = OnceLock::new();
    VMLINUX
        .get_or_init(|| ebpfvm_btf::vmlinux_btf().map(Arc::new))
        .clone()
}
