//! Property tests at 64 bits: abstract values are built together with some of their
//! members, so soundness can be checked on random concrete values.

use crate::reference::{self, ALL_OPS};
use ebpfvm_domain::{AluOp, Cond, Outcome, Scalar64, Tnum64, Width};
use proptest::prelude::*;

const CONDS: [Cond; 11] = [
    Cond::Eq,
    Cond::Ne,
    Cond::Ugt,
    Cond::Uge,
    Cond::Ult,
    Cond::Ule,
    Cond::Sgt,
    Cond::Sge,
    Cond::Slt,
    Cond::Sle,
    Cond::Set,
];

/// Words near the boundaries that matter (0, 2^31, 2^32, 2^63, 2^64) and anywhere.
fn word() -> BoxedStrategy<u64> {
    prop_oneof![
        0u64..64,
        (0u64..64).prop_map(|d| (1u64 << 31).wrapping_sub(32).wrapping_add(d)),
        (0u64..64).prop_map(|d| (1u64 << 32).wrapping_sub(32).wrapping_add(d)),
        (0u64..64).prop_map(|d| (1u64 << 63).wrapping_sub(32).wrapping_add(d)),
        (0u64..64).prop_map(|d| u64::MAX - d),
        (0u64..1 << 40),
        any::<u64>(),
    ]
    .boxed()
}

fn in_range(lo: u64, hi: u64, r: u64) -> u64 {
    let span = hi.wrapping_sub(lo).wrapping_add(1);
    if span == 0 {
        r
    } else {
        lo.wrapping_add(r % span)
    }
}

/// An abstract value with a few of its members.
fn abs() -> BoxedStrategy<(Scalar64, Vec<u64>)> {
    let rs = proptest::collection::vec(any::<u64>(), 1..5);
    prop_oneof![
        word().prop_map(|v| (Scalar64::constant(v), vec![v])),
        (word(), word(), rs.clone()).prop_map(|(a, b, rs)| {
            let (lo, hi) = (a.min(b), a.max(b));
            let mut m = vec![lo, hi];
            m.extend(rs.iter().map(|&r| in_range(lo, hi, r)));
            (Scalar64::from_urange(lo, hi), m)
        }),
        (word(), word(), rs.clone()).prop_map(|(a, b, rs)| {
            let (lo, hi) = ((a as i64).min(b as i64), (a as i64).max(b as i64));
            let mut m = vec![lo as u64, hi as u64];
            m.extend(rs.iter().map(|&r| in_range(lo as u64, hi as u64, r)));
            (Scalar64::from_srange(lo, hi), m)
        }),
        (word(), any::<u64>(), rs.clone()).prop_map(|(v, mask, rs)| {
            // Sparse masks are more interesting than uniformly random ones.
            let mask = mask & mask.rotate_left(17) & mask.rotate_left(41);
            let t = Tnum64::new(v, mask);
            let m = rs.iter().map(|&r| t.value | (r & t.mask)).collect();
            (Scalar64::from_tnum(t), m)
        }),
        (word(), word(), rs).prop_map(|(a, b, rs)| {
            // A value known only in its low half.
            let (lo, hi) = ((a as u32).min(b as u32), (a as u32).max(b as u32));
            let s = Scalar64::alu(
                AluOp::Add,
                Width::Half,
                &Scalar64::from_urange(u64::from(lo), u64::from(hi)),
                &Scalar64::constant(0),
            );
            let m = rs
                .iter()
                .map(|&r| in_range(u64::from(lo), u64::from(hi), r))
                .collect();
            (s, m)
        }),
    ]
    .boxed()
}

fn op() -> impl Strategy<Value = AluOp> {
    (0..ALL_OPS.len()).prop_map(|i| ALL_OPS[i])
}

fn width() -> impl Strategy<Value = Width> {
    prop_oneof![Just(Width::Full), Just(Width::Half)]
}

/// An abstract value derived by one operation from two generated ones.
fn derived() -> BoxedStrategy<(Scalar64, Vec<u64>)> {
    prop_oneof![
        abs(),
        (abs(), abs(), op(), width()).prop_map(|((a, ma), (b, mb), op, w)| {
            let r = Scalar64::alu(op, w, &a, &b);
            let mut m = Vec::new();
            for &x in &ma {
                for &y in &mb {
                    m.push(reference::alu(op, w, x, y));
                }
            }
            (r, m)
        }),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn members_are_members((a, ma) in abs()) {
        for &x in &ma {
            prop_assert!(a.contains(x), "{a:?} lacks {x:#x}");
        }
        prop_assert_eq!(a.meet(&a), Some(a));
    }

    #[test]
    fn alu_sound((a, ma) in derived(), (b, mb) in derived(), op in op(), w in width()) {
        let r = Scalar64::alu(op, w, &a, &b);
        for &x in &ma {
            for &y in &mb {
                let z = reference::alu(op, w, x, y);
                prop_assert!(r.contains(z), "{op:?} {w:?} {a:?} {b:?} = {r:?} lacks {z:#x} ({x:#x}, {y:#x})");
            }
        }
        prop_assert_eq!(r.meet(&r), Some(r));
        if let (Some(x), Some(y)) = (a.is_const(), b.is_const()) {
            prop_assert_eq!(r.is_const(), Some(reference::alu(op, w, x, y)));
        }
    }

    #[test]
    fn unary_sound((a, ma) in derived(), bits in prop_oneof![Just(8u32), Just(16), Just(32), Just(64), 1u32..64]) {
        let n = a.neg(Width::Full);
        let n32 = a.neg(Width::Half);
        let sx = a.sext(bits);
        let zx = a.zext(bits);
        let bs = a.bswap(bits);
        for &x in &ma {
            prop_assert!(n.contains(x.wrapping_neg()));
            prop_assert!(n32.contains(u64::from((x as u32).wrapping_neg())));
            prop_assert!(sx.contains(reference::sext(x, bits)), "sext {bits} {a:?} {sx:?} {x:#x}");
            prop_assert!(zx.contains(reference::zext(x, bits)), "zext {bits} {a:?} {zx:?} {x:#x}");
            prop_assert!(bs.contains(reference::bswap(x, bits)), "bswap {bits} {a:?} {bs:?} {x:#x}");
        }
    }

    #[test]
    fn branch_and_refine_sound((a, ma) in derived(), (b, mb) in derived(), ci in 0..CONDS.len(), w in width(), taken in any::<bool>()) {
        let cond = CONDS[ci];
        let k = w.bits::<u64>();
        let outcome = Scalar64::branch(cond, w, &a, &b);
        let refined = Scalar64::refine(cond, w, taken, &a, &b);
        for &x in &ma {
            for &y in &mb {
                let holds = cond.eval(k, x, y);
                match outcome {
                    Outcome::Always => prop_assert!(holds, "{cond:?} {a:?} {b:?} ({x:#x},{y:#x})"),
                    Outcome::Never => prop_assert!(!holds, "{cond:?} {a:?} {b:?} ({x:#x},{y:#x})"),
                    Outcome::Maybe => {}
                }
                if holds == taken {
                    let (a2, b2) = refined.expect("a pair satisfies the branch");
                    prop_assert!(a2.contains(x) && b2.contains(y),
                        "{cond:?} {w:?} {taken}: {a:?},{b:?} -> {a2:?},{b2:?} loses ({x:#x},{y:#x})");
                }
            }
        }
    }

    #[test]
    fn lattice_on_members((a, ma) in derived(), (b, mb) in derived()) {
        let j = a.join(&b);
        for &x in ma.iter().chain(&mb) {
            prop_assert!(j.contains(x));
        }
        prop_assert!(a.leq(&j) && b.leq(&j));
        if let Some(m) = a.meet(&b) {
            prop_assert!(m.leq(&a) && m.leq(&b));
            for &x in &ma {
                if b.contains(x) {
                    prop_assert!(m.contains(x));
                }
            }
        } else {
            for &x in &ma {
                prop_assert!(!b.contains(x));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// Out-of-range parameters and raw (even invalid) tnums never panic.
    #[test]
    fn odd_parameters_do_not_panic(v in any::<u64>(), m in any::<u64>(), n in 0u32..200, (a, _) in derived()) {
        let t = Tnum64 { value: v, mask: m };
        let u = Tnum64::new(v, m);
        let _ = (t.lsh(n), t.rsh(n), t.arsh(n), t.sext(n), t.truncate(n), t.mul(&u), t.add(&u));
        let _ = (u.is_aligned(v), u.meet(&t), u.join(&t), u.leq(&t), Tnum64::range(v, m));
        let s = Scalar64::from_tnum(t);
        let _ = (a.sext(n), a.zext(n), a.bswap(n), s.sext(n), s.zext(n));
        let _ = (Scalar64::from_urange(v, m), Scalar64::from_srange(v as i64, m as i64));
        for c in CONDS {
            let _ = c.eval(n, v, m);
        }
        prop_assert!(s.contains(u.value));
    }
}
