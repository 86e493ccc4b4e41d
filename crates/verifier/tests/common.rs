//! Shared helpers: assemble, verify with pruning on and off, compare verdicts.
#![allow(dead_code, reason = "each test binary uses a part")]

use ebpfvm_verifier::{
    allow_all_helpers, verify, MapDesc, MapType, ProgramType, Rejected, Verified, VerifyInput,
    VerifyOptions,
};

pub fn map(map_type: MapType, key_size: u32, value_size: u32) -> MapDesc {
    MapDesc {
        map_type,
        key_size,
        value_size,
        max_entries: 16,
        flags: 0,
        inner: None,
    }
}

/// Standard maps: 0 = hash(4 -> 8), 1 = array(4 -> 48), 2 = ringbuf, 3 = prog array,
/// 4 = array of maps (inner array 4 -> 8), 5 = rdonly array (4 -> 16).
pub fn std_maps() -> Vec<MapDesc> {
    let mut rb = map(MapType::Ringbuf, 0, 0);
    rb.max_entries = 4096;
    let mut aom = map(MapType::ArrayOfMaps, 4, 4);
    aom.inner = Some(Box::new(map(MapType::Array, 4, 8)));
    let mut ro = map(MapType::Array, 4, 16);
    ro.max_entries = 1;
    ro.flags = 0x80;
    vec![
        map(MapType::Hash, 4, 8),
        map(MapType::Array, 4, 48),
        rb,
        map(MapType::ProgArray, 4, 4),
        aom,
        ro,
    ]
}

pub fn verify_raw(
    slots: &[ebpfvm_isa::RawInsn],
    prog_type: ProgramType,
    maps: &[MapDesc],
    prune: bool,
    log_level: u32,
) -> Result<Verified, Rejected> {
    let input = VerifyInput {
        slots,
        prog_type,
        expected_attach_type: None,
        maps,
        line_info: &[],
        allowed_helper: &allow_all_helpers,
    };
    let opts = VerifyOptions {
        log_level,
        prune,
        ..VerifyOptions::default()
    };
    verify(&input, &opts)
}

/// Verifies with pruning on and off; asserts both agree; returns the pruned result.
pub fn check_slots(
    slots: &[ebpfvm_isa::RawInsn],
    prog_type: ProgramType,
    maps: &[MapDesc],
) -> Result<Verified, Rejected> {
    let on = verify_raw(slots, prog_type, maps, true, 1);
    let off = verify_raw(slots, prog_type, maps, false, 0);
    assert_eq!(
        on.is_ok(),
        off.is_ok(),
        "prune on/off disagree: on={:?} off={:?}",
        on.as_ref().err().map(|e| e.to_string()),
        off.as_ref().err().map(|e| e.to_string())
    );
    if let (Err(a), Err(b)) = (&on, &off) {
        assert_eq!(a.message, b.message, "prune on/off give different messages");
    }
    on
}

pub fn run(asm: &str, prog_type: ProgramType) -> Result<Verified, Rejected> {
    let slots = ebpfvm_isa::asm::llvm::assemble(asm).expect("assembles");
    check_slots(&slots, prog_type, &std_maps())
}

#[track_caller]
pub fn accept(asm: &str, prog_type: ProgramType) {
    if let Err(e) = run(asm, prog_type) {
        panic!("expected accept, got: {e}\n{}", e.log);
    }
}

#[track_caller]
pub fn reject(asm: &str, prog_type: ProgramType, msg: &str) {
    match run(asm, prog_type) {
        Ok(v) => panic!("expected reject with {msg:?}, accepted\n{}", v.log),
        Err(e) => assert!(
            e.message.contains(msg) || e.log.contains(msg),
            "expected {msg:?}, got {:?}\n{}",
            e.message,
            e.log
        ),
    }
}
