//! Precision checks that a lazily imprecise (but sound) implementation would fail.

use ebpfvm_domain::{AluOp, Cond, Outcome, Scalar64, Tnum, Width};

type S = Scalar64;

fn c(v: u64) -> S {
    S::constant(v)
}

fn ur(lo: u64, hi: u64) -> S {
    S::from_urange(lo, hi)
}

fn sr(lo: i64, hi: i64) -> S {
    S::from_srange(lo, hi)
}

fn alu(op: AluOp, a: &S, b: &S) -> S {
    S::alu(op, Width::Full, a, b)
}

fn alu32(op: AluOp, a: &S, b: &S) -> S {
    S::alu(op, Width::Half, a, b)
}

fn bounds(s: &S) -> (u64, u64) {
    (s.umin(), s.umax())
}

fn sbounds(s: &S) -> (i64, i64) {
    (s.smin(), s.smax())
}

#[test]
fn constant_is_exact() {
    for v in [0u64, 1, 42, u64::MAX, 1 << 63, 0xffff_ffff, 0x1_0000_0000] {
        let s = c(v);
        assert_eq!(s.is_const(), Some(v));
        assert_eq!(bounds(&s), (v, v));
        assert_eq!(sbounds(&s), (v as i64, v as i64));
        assert_eq!(s.umin_half(), v & 0xffff_ffff);
        assert_eq!(s.smin_half(), i64::from(v as u32 as i32));
        assert!(s.contains(v));
        assert!(!s.contains(v.wrapping_add(1)));
    }
}

#[test]
fn and_mask_bounds() {
    let r = alu(AluOp::And, &S::unknown(), &c(0xff));
    assert_eq!(bounds(&r), (0, 255));
    assert_eq!(sbounds(&r), (0, 255));
    assert_eq!(r.tnum(), Tnum::new(0, 0xff));
    assert_eq!((r.umin_half(), r.umax_half()), (0, 255));
}

#[test]
fn rsh_of_range() {
    let r = alu(AluOp::Rsh, &ur(0, 65535), &c(8));
    assert_eq!(bounds(&r), (0, 255));
    let r = alu(AluOp::Rsh, &ur(0x100, 0x3ff), &c(8));
    assert_eq!(bounds(&r), (1, 3));
}

#[test]
fn masked_value_is_below_256() {
    let x = alu(AluOp::And, &S::unknown(), &c(0xff));
    assert_eq!(
        S::branch(Cond::Ult, Width::Full, &x, &c(256)),
        Outcome::Always
    );
    assert_eq!(
        S::branch(Cond::Ugt, Width::Full, &x, &c(255)),
        Outcome::Never
    );
    assert_eq!(
        S::branch(Cond::Slt, Width::Half, &x, &c(256)),
        Outcome::Always
    );
}

#[test]
fn add_sub_mul_ranges() {
    assert_eq!(bounds(&alu(AluOp::Add, &ur(0, 10), &ur(0, 10))), (0, 20));
    assert_eq!(bounds(&alu(AluOp::Sub, &ur(10, 20), &ur(0, 5))), (5, 20));
    assert_eq!(bounds(&alu(AluOp::Mul, &ur(0, 10), &ur(0, 10))), (0, 100));
    assert_eq!(bounds(&alu(AluOp::Mul, &ur(2, 3), &c(4))), (8, 12));
    assert_eq!(sbounds(&alu(AluOp::Add, &sr(-5, 5), &sr(-1, 1))), (-6, 6));
    assert_eq!(sbounds(&alu(AluOp::Sub, &sr(-5, 5), &sr(-1, 1))), (-6, 6));
    assert_eq!(sbounds(&alu(AluOp::Mul, &sr(-5, 5), &sr(-3, 2))), (-15, 15));
    // Wrapping as a whole keeps an interval.
    let r = alu(AluOp::Add, &ur(u64::MAX - 1, u64::MAX), &c(2));
    assert_eq!(bounds(&r), (0, 1));
    // Signed bounds survive an unsigned wrap.
    let r = alu(AluOp::Add, &sr(-2, 2), &c(0));
    assert_eq!(sbounds(&r), (-2, 2));
}

#[test]
fn half_ops_zero_extend() {
    let r = alu32(AluOp::Add, &c(0xffff_ffff), &c(1));
    assert_eq!(r.is_const(), Some(0));
    let r = alu32(AluOp::Add, &S::unknown(), &c(0));
    assert_eq!(bounds(&r), (0, 0xffff_ffff));
    assert_eq!(r.tnum(), Tnum::new(0, 0xffff_ffff));
    let r = alu32(AluOp::Sub, &c(0), &c(1));
    assert_eq!(r.is_const(), Some(0xffff_ffff));
    let r = alu32(AluOp::Arsh, &c(0x8000_0000), &c(31));
    assert_eq!(r.is_const(), Some(0xffff_ffff));
    let r = alu32(AluOp::Lsh, &c(1), &c(33));
    assert_eq!(r.is_const(), Some(2), "shift amount masked to 31");
    let r = alu32(AluOp::Mov, &S::unknown(), &sr(-1, 0));
    assert_eq!((r.umin_half(), r.umax_half()), (0, 0xffff_ffff));
    assert_eq!(sbounds(&r).0, 0);
    // Low half of a full add is the 32-bit add of the low halves.
    let r = alu(AluOp::Add, &ur(0x1_0000_0000, 0x2_0000_0000), &c(3));
    assert_eq!((r.umin_half(), r.umax_half()), (0, 0xffff_ffff));
    let r = alu(
        AluOp::Add,
        &alu(AluOp::Lsh, &S::unknown(), &c(32)),
        &ur(1, 7),
    );
    assert_eq!((r.umin_half(), r.umax_half()), (1, 7));
}

#[test]
fn shifts() {
    let r = alu(AluOp::Lsh, &ur(0, 15), &c(2));
    assert_eq!(bounds(&r), (0, 60));
    assert_eq!(r.tnum(), Tnum::new(0, 0x3c));
    let r = alu(AluOp::Arsh, &sr(-5, 5), &c(1));
    assert_eq!(sbounds(&r), (-3, 2));
    let r = alu(AluOp::Lsh, &c(1), &ur(0, 3));
    assert_eq!(bounds(&r), (1, 8));
    let r = alu(AluOp::Rsh, &c(0x80), &c(64 + 4));
    assert_eq!(r.is_const(), Some(0x8), "shift amount masked to 63");
}

#[test]
fn division_and_remainder() {
    assert_eq!(bounds(&alu(AluOp::Div, &ur(0, 100), &ur(2, 4))), (0, 50));
    assert_eq!(bounds(&alu(AluOp::Div, &ur(40, 100), &ur(2, 4))), (10, 50));
    assert_eq!(alu(AluOp::Div, &ur(40, 100), &c(0)).is_const(), Some(0));
    let r = alu(AluOp::Mod, &S::unknown(), &c(8));
    assert_eq!(bounds(&r), (0, 7));
    assert_eq!(r.tnum(), Tnum::new(0, 7));
    assert_eq!(bounds(&alu(AluOp::Mod, &ur(10, 12), &c(5))), (0, 2));
    assert_eq!(bounds(&alu(AluOp::Mod, &ur(3, 20), &c(0))), (3, 20));
    assert_eq!(sbounds(&alu(AluOp::Sdiv, &sr(-10, 10), &c(2))), (-5, 5));
    assert_eq!(
        sbounds(&alu(AluOp::Sdiv, &sr(-10, 10), &sr(-2, -1))),
        (-10, 10)
    );
    assert_eq!(sbounds(&alu(AluOp::Smod, &sr(-10, 10), &c(3))), (-2, 2));
    assert_eq!(
        sbounds(&alu(AluOp::Smod, &sr(5, 7), &c(-10i64 as u64))),
        (5, 7)
    );
    let min = c(i64::MIN as u64);
    let m1 = c(u64::MAX);
    assert_eq!(
        alu(AluOp::Sdiv, &min, &m1).is_const(),
        Some(i64::MIN as u64)
    );
    assert_eq!(alu(AluOp::Smod, &min, &m1).is_const(), Some(0));
}

#[test]
fn bitwise() {
    let r = alu(AluOp::Or, &ur(0, 7), &c(0x10));
    assert_eq!(bounds(&r), (0x10, 0x17));
    let r = alu(AluOp::Xor, &ur(0, 7), &ur(0, 9));
    assert_eq!(bounds(&r), (0, 15));
    let r = alu(AluOp::And, &sr(-8, -1), &sr(-8, -1));
    assert_eq!(sbounds(&r), (-8, -1));
}

#[test]
fn refine_orderings() {
    let (a, b) = S::refine(Cond::Ult, Width::Full, true, &S::unknown(), &c(10)).unwrap();
    assert_eq!(bounds(&a), (0, 9));
    assert_eq!(b.is_const(), Some(10));
    let (a, _) = S::refine(Cond::Ult, Width::Full, false, &S::unknown(), &c(10)).unwrap();
    assert_eq!(bounds(&a), (10, u64::MAX));
    let (a, _) = S::refine(
        Cond::Sgt,
        Width::Full,
        true,
        &S::unknown(),
        &c(-1i64 as u64),
    )
    .unwrap();
    assert_eq!(sbounds(&a), (0, i64::MAX));
    assert_eq!(bounds(&a), (0, i64::MAX as u64));
    // 0 <= x (signed) and x <= 100 (signed): unsigned bounds follow.
    let (x, _) = S::refine(Cond::Sge, Width::Full, true, &S::unknown(), &c(0)).unwrap();
    let (x, _) = S::refine(Cond::Sle, Width::Full, true, &x, &c(100)).unwrap();
    assert_eq!(bounds(&x), (0, 100));
    // Both operands move.
    let (a, b) = S::refine(Cond::Ule, Width::Full, true, &ur(10, 50), &ur(0, 30)).unwrap();
    assert_eq!((bounds(&a), bounds(&b)), ((10, 30), (10, 30)));
    // Impossible branches.
    assert!(S::refine(Cond::Ult, Width::Full, true, &ur(10, 20), &ur(0, 10)).is_none());
    assert!(S::refine(Cond::Eq, Width::Full, true, &c(1), &c(2)).is_none());
}

#[test]
fn refine_equalities_and_bits() {
    let (a, _) = S::refine(Cond::Eq, Width::Full, true, &S::unknown(), &c(7)).unwrap();
    assert_eq!(a.is_const(), Some(7));
    let (a, _) = S::refine(Cond::Ne, Width::Full, true, &ur(0, 10), &c(0)).unwrap();
    assert_eq!(bounds(&a), (1, 10));
    let (a, _) = S::refine(Cond::Eq, Width::Full, false, &ur(0, 10), &c(10)).unwrap();
    assert_eq!(bounds(&a), (0, 9));
    let (a, _) = S::refine(Cond::Set, Width::Full, true, &S::unknown(), &c(4)).unwrap();
    assert_eq!(a.tnum(), Tnum::new(4, !4));
    let (a, _) = S::refine(
        Cond::Set,
        Width::Full,
        false,
        &S::unknown(),
        &c(0xffff_ffff_ffff_ff00),
    )
    .unwrap();
    assert_eq!(bounds(&a), (0, 255));
    let (a, _) = S::refine(Cond::Set, Width::Full, true, &ur(0, 10), &S::unknown()).unwrap();
    assert_eq!(bounds(&a), (1, 10));
}

#[test]
fn refine_half_width() {
    let (a, _) = S::refine(Cond::Ult, Width::Half, true, &S::unknown(), &c(10)).unwrap();
    assert_eq!((a.umin_half(), a.umax_half()), (0, 9));
    assert_eq!(
        a.umax(),
        0xffff_ffff_0000_0009,
        "the high half is untouched"
    );
    assert_eq!(a.tnum().mask, 0xffff_ffff_0000_000f);
    // When the high half is known, the full bounds follow.
    let x = alu32(AluOp::Mov, &S::unknown(), &S::unknown());
    let (a, _) = S::refine(Cond::Ult, Width::Half, true, &x, &c(10)).unwrap();
    assert_eq!(bounds(&a), (0, 9));
    let (a, _) = S::refine(
        Cond::Eq,
        Width::Half,
        true,
        &ur(0x5_0000_0000, 0x5_ffff_ffff),
        &c(3),
    )
    .unwrap();
    assert_eq!(a.is_const(), Some(0x5_0000_0003));
}

#[test]
fn reduction_between_halves() {
    let s = ur(0x1_0000_0000, 0x1_0000_0005);
    assert_eq!((s.umin_half(), s.umax_half()), (0, 5));
    assert_eq!(s.tnum(), Tnum::new(0x1_0000_0000, 7));
    let s = sr(-3, 3);
    assert_eq!((s.smin_half(), s.smax_half()), (-3, 3));
    assert_eq!(bounds(&s), (0, u64::MAX));
    // A tnum pins the bounds.
    let s = S::from_tnum(Tnum::new(0x10, 0x0f));
    assert_eq!(bounds(&s), (0x10, 0x1f));
    assert_eq!(sbounds(&s), (0x10, 0x1f));
}

#[test]
fn sign_and_zero_extension() {
    let r = S::unknown().sext(32);
    assert_eq!(sbounds(&r), (i64::from(i32::MIN), i64::from(i32::MAX)));
    let r = ur(0, 0x7fff_ffff).sext(32);
    assert_eq!(bounds(&r), (0, 0x7fff_ffff));
    let r = c(0x80).sext(8);
    assert_eq!(r.is_const(), Some(-128i64 as u64));
    let r = S::unknown().sext(8);
    assert_eq!(sbounds(&r), (-128, 127));
    let r = S::unknown().zext(32);
    assert_eq!(bounds(&r), (0, 0xffff_ffff));
    let r = S::unknown().zext(16);
    assert_eq!(bounds(&r), (0, 0xffff));
    let r = ur(0x1_0000_0010, 0x1_0000_0020).zext(8);
    assert_eq!(bounds(&r), (0x10, 0x20));
}

#[test]
fn byte_swaps() {
    assert_eq!(c(0x1234).bswap(16).is_const(), Some(0x3412));
    assert_eq!(c(0x1122_3344).bswap(32).is_const(), Some(0x4433_2211));
    assert_eq!(
        c(0x0102_0304_0506_0708).bswap(64).is_const(),
        Some(0x0807_0605_0403_0201)
    );
    assert_eq!(bounds(&S::unknown().bswap(16)), (0, 0xffff));
    assert_eq!(bounds(&ur(0, 0xff).bswap(16)), (0, 0xff00));
    assert_eq!(S::unknown().bswap(16).tnum(), Tnum::new(0, 0xffff));
}

#[test]
fn joins_and_meets() {
    let j = c(3).join(&c(5));
    assert_eq!(bounds(&j), (3, 5));
    assert_eq!(j.tnum(), Tnum::new(1, 6));
    assert!(!j.contains(2) && !j.contains(6));
    let m = ur(0, 10).meet(&ur(5, 20)).unwrap();
    assert_eq!(bounds(&m), (5, 10));
    assert!(ur(0, 10).meet(&ur(11, 20)).is_none());
    assert!(ur(2, 4).leq(&ur(0, 10)));
    assert!(!ur(0, 10).leq(&ur(2, 4)));
}

#[test]
fn half_constants() {
    let x = alu(AluOp::Or, &alu(AluOp::Lsh, &S::unknown(), &c(32)), &c(7));
    assert_eq!(x.is_const_half(), Some(7));
    assert_eq!(x.is_const(), None);
    assert_eq!(S::branch(Cond::Eq, Width::Half, &x, &c(7)), Outcome::Always);
    assert_eq!(S::branch(Cond::Eq, Width::Full, &x, &c(7)), Outcome::Maybe);
}
