//! The verifier as the runtime uses it: a program of an object, its maps described from the
//! object's map specs, the helper allowlist of `ebpfvm-helpers`, line info for the log.

use ebpfvm_object::{MapSpec, ProgramSpec};
use ebpfvm_verifier::{LineInfo, MapDesc, Rejected, Verified, VerifyInput, VerifyOptions};

/// The verifier's description of a map spec (`None` for a map type ebpfvm does not know).
pub fn map_desc(spec: &MapSpec) -> Option<MapDesc> {
    Some(MapDesc {
        map_type: spec.kind()?,
        key_size: spec.key_size,
        value_size: spec.value_size,
        max_entries: spec.max_entries,
        flags: spec.flags,
        inner: match &spec.inner {
            Some(inner) => Some(Box::new(map_desc(inner)?)),
            None => None,
        },
    })
}

fn helper_runnable(t: ebpfvm_abi::ProgramType, id: i64) -> bool {
    ebpfvm_helpers::implemented(id) && ebpfvm_helpers::allowed(t, id)
}

/// Verifies `spec` (relocated by the object loader, CO-RE applied) whose map references
/// index `maps`. `runnable`: also refuse helpers Linux allows but ebpfvm does not provide
/// (what loading for a run needs); without it the verdict is Linux's question alone.
pub fn verify_program(
    spec: &ProgramSpec,
    maps: &[MapSpec],
    opts: &VerifyOptions,
    runnable: bool,
) -> Result<Verified, Rejected> {
    let descs: Vec<MapDesc> = maps
        .iter()
        .map(|m| {
            // An unknown map type cannot be created, so loading fails before this; give the
            // verifier something that matches nothing it accepts.
            map_desc(m).unwrap_or(MapDesc {
                map_type: ebpfvm_abi::MapType::Unspec,
                key_size: m.key_size,
                value_size: m.value_size,
                max_entries: m.max_entries,
                flags: m.flags,
                inner: None,
            })
        })
        .collect();
    let lines: Vec<LineInfo> = spec
        .line_info
        .iter()
        .map(|l| LineInfo {
            insn: l.insn,
            file: l.info.file.clone(),
            line: l.info.line,
            text: l.info.line_text.clone(),
        })
        .collect();
    let input = VerifyInput {
        slots: &spec.insns,
        prog_type: spec.prog_type,
        expected_attach_type: spec.expected_attach_type,
        maps: &descs,
        line_info: &lines,
        allowed_helper: if runnable {
            &helper_runnable
        } else {
            &ebpfvm_helpers::allowed
        },
    };
    ebpfvm_verifier::verify(&input, opts)
}
