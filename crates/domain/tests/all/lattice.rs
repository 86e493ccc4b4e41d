//! Lattice laws on samples at 8 bits, checked against γ (the member sets).

use crate::reference::{members, samples};
use ebpfvm_domain::Scalar;

fn gamma(s: &Scalar<u8>) -> [bool; 256] {
    let mut g = [false; 256];
    for x in members(s) {
        g[usize::from(x)] = true;
    }
    g
}

fn subset(a: &[bool; 256], b: &[bool; 256]) -> bool {
    a.iter().zip(b).all(|(&x, &y)| !x || y)
}

#[test]
fn join_is_an_upper_bound() {
    let s = samples();
    let g: Vec<_> = s.iter().map(gamma).collect();
    for (a, ga) in s.iter().zip(&g) {
        for (b, gb) in s.iter().zip(&g) {
            let j = a.join(b);
            let gj = gamma(&j);
            assert!(subset(ga, &gj) && subset(gb, &gj), "{a:?} ⊔ {b:?} = {j:?}");
            assert!(
                a.leq(&j) && b.leq(&j),
                "leq disagrees with join: {a:?} {b:?} {j:?}"
            );
            assert_eq!(j, b.join(a), "join commutes");
            assert_eq!(j.join(&j), j, "join idempotent");
            assert_eq!(j.meet(&j), Some(j), "join result reduced");
        }
    }
}

#[test]
fn join_is_associative_on_samples() {
    let s: Vec<_> = samples().into_iter().step_by(5).collect();
    for a in &s {
        for b in &s {
            for c in &s {
                let l = a.join(b).join(c);
                let r = a.join(&b.join(c));
                // Hulls of the components are associative; reduction keeps γ.
                assert_eq!(gamma(&l), gamma(&r), "{a:?} {b:?} {c:?}");
            }
        }
    }
}

#[test]
fn meet_is_a_sound_lower_bound() {
    let s = samples();
    let g: Vec<_> = s.iter().map(gamma).collect();
    for (a, ga) in s.iter().zip(&g) {
        for (b, gb) in s.iter().zip(&g) {
            let both: Vec<bool> = ga.iter().zip(gb).map(|(&x, &y)| x && y).collect();
            match a.meet(b) {
                None => assert!(both.iter().all(|&x| !x), "{a:?} ⊓ {b:?} empty?"),
                Some(m) => {
                    let gm = gamma(&m);
                    for x in 0..256 {
                        assert!(!both[x] || gm[x], "{a:?} ⊓ {b:?} = {m:?} loses {x}");
                    }
                    assert!(m.leq(a) && m.leq(b), "meet not below: {a:?} {b:?} {m:?}");
                }
            }
        }
    }
}

#[test]
fn leq_agrees_with_gamma_and_is_a_preorder() {
    let s = samples();
    let g: Vec<_> = s.iter().map(gamma).collect();
    for (i, a) in s.iter().enumerate() {
        assert!(a.leq(a), "reflexive: {a:?}");
        for (j, b) in s.iter().enumerate() {
            if a.leq(b) {
                assert!(subset(&g[i], &g[j]), "{a:?} ⊑ {b:?} but γ not included");
                for c in &s {
                    if b.leq(c) {
                        assert!(a.leq(c), "transitive: {a:?} {b:?} {c:?}");
                    }
                }
            }
        }
    }
}

#[test]
fn samples_are_reduced_and_non_empty() {
    for a in samples() {
        assert_eq!(a.meet(&a), Some(a));
        let m = members(&a);
        assert!(!m.is_empty(), "{a:?}");
        // The bounds are attained by members (each is exact for these shapes or tight).
        assert!(m.contains(&a.umin()) || a.tnum().is_unknown() || m.len() > 1);
    }
}

#[test]
fn constants_are_exact() {
    for v in 0..=255u8 {
        let c = Scalar::constant(v);
        assert_eq!(members(&c), vec![v]);
        assert_eq!(c.meet(&c), Some(c));
        assert_eq!(Scalar::from_urange(v, v), c);
        assert_eq!(Scalar::from_srange(v as i8, v as i8), c);
    }
}

#[test]
fn ranges_and_tnums_are_exact() {
    for lo in (0..=255u8).step_by(7) {
        for hi in (lo..=255).step_by(11) {
            let s = Scalar::from_urange(lo, hi);
            assert_eq!(members(&s), (lo..=hi).collect::<Vec<_>>());
            let t = Scalar::from_srange(lo as i8, (hi as i8).max(lo as i8));
            let want: Vec<u8> = (0..=255u8)
                .filter(|&x| (lo as i8) <= x as i8 && x as i8 <= (hi as i8).max(lo as i8))
                .collect();
            assert_eq!(members(&t), want);
        }
    }
    for m in 0..=255u8 {
        let v = 0x5a & !m;
        let t = ebpfvm_domain::Tnum::new(v, m);
        let s = Scalar::from_tnum(t);
        let want: Vec<u8> = (0..=255u8).filter(|&x| t.contains(x)).collect();
        assert_eq!(members(&s), want);
        assert_eq!(s.tnum(), t);
    }
}

#[test]
fn widen_is_an_upper_bound_and_stabilises() {
    let s = samples();
    for a in &s {
        for b in &s {
            let w = a.widen(b);
            assert!(a.leq(&w) && b.leq(&w), "{a:?} ∇ {b:?} = {w:?}");
            assert_eq!(w.meet(&w), Some(w));
        }
    }
    // An increasing chain x_{i+1} = x_i ∇ (x_i + 1) stabilises quickly.
    let one = Scalar::<u64>::constant(1);
    let mut x = Scalar::<u64>::constant(0);
    let mut steps = 0;
    loop {
        let next = x.widen(&x.join(&Scalar::alu(
            ebpfvm_domain::AluOp::Add,
            ebpfvm_domain::Width::Full,
            &x,
            &one,
        )));
        if next == x {
            break;
        }
        x = next;
        steps += 1;
        assert!(steps < 200, "widening does not stabilise: {x:?}");
    }
}

#[test]
fn lattice_trait_matches_inherent_methods() {
    use ebpfvm_domain::{Lattice, Tnum};
    let a = Scalar::<u8>::from_urange(3, 9);
    let b = Scalar::<u8>::from_srange(-2, 4);
    assert_eq!(Lattice::join(&a, &b), a.join(&b));
    assert_eq!(Lattice::meet(&a, &b), a.meet(&b));
    assert_eq!(Lattice::leq(&a, &b), a.leq(&b));
    assert_eq!(<Scalar<u8> as Lattice>::top(), Scalar::unknown());
    assert_eq!(<Tnum<u8> as Lattice>::top(), Tnum::unknown());
}
