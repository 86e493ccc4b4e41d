//! The Linux-style rendering.

use ebpfvm_domain::{AluOp, Scalar64, Tnum64, Width};

#[test]
fn constants_print_their_value() {
    assert_eq!(Scalar64::constant(42).linux().to_string(), "42");
    assert_eq!(Scalar64::constant(u64::MAX).linux().to_string(), "-1");
}

#[test]
fn unknown_prints_nothing() {
    assert_eq!(Scalar64::unknown().linux().to_string(), "");
    assert_eq!(format!("{:?}", Scalar64::unknown()), "scalar()");
}

#[test]
fn equal_fields_are_merged() {
    let s = Scalar64::alu(
        AluOp::And,
        Width::Full,
        &Scalar64::unknown(),
        &Scalar64::constant(0xff),
    );
    assert_eq!(
        s.linux().to_string(),
        "smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff)"
    );
}

#[test]
fn half_only_and_signed() {
    let s = Scalar64::alu(
        AluOp::Mov,
        Width::Half,
        &Scalar64::unknown(),
        &Scalar64::unknown(),
    );
    assert_eq!(
        s.linux().to_string(),
        "smin=0,smax=umax=4294967295,var_off=(0x0; 0xffffffff)"
    );
    let s = Scalar64::from_srange(-3, 3);
    assert_eq!(s.linux().to_string(), "smin=smin32=-3,smax=smax32=3");
    let s = Scalar64::from_tnum(Tnum64::new(0x10, 0x0f));
    assert_eq!(
        s.linux().to_string(),
        "smin=umin=smin32=umin32=16,smax=umax=smax32=umax32=31,var_off=(0x10; 0xf)"
    );
}
