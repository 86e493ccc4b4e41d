//! Exhaustive soundness at 8 bits (half = 4 bits): for a representative set of abstract
//! inputs, every concrete result of every pair of members is a member of the abstract
//! result, and every result is reduced (`meet` with itself changes nothing).

use crate::reference::{self, members, samples, Set256, ALL_OPS};
use ebpfvm_domain::{AluOp, Cond, Outcome, Scalar, Tnum, Width};

const WIDTHS: [Width; 2] = [Width::Full, Width::Half];

fn assert_reduced(r: &Scalar<u8>, what: &dyn Fn() -> String) {
    assert_eq!(r.meet(r), Some(*r), "not reduced: {}", what());
}

/// The distinct low halves (4 bits) of `m`: at half width only they matter.
fn nibbles(m: &[u8]) -> Vec<u8> {
    let mut seen = [false; 16];
    for &x in m {
        seen[usize::from(x & 15)] = true;
    }
    (0..16u8).filter(|&n| seen[usize::from(n)]).collect()
}

/// The members relevant at width `w` (all of them, or one per low half).
fn relevant(w: Width, m: &[u8]) -> Vec<u8> {
    match w {
        Width::Full => m.to_vec(),
        Width::Half => nibbles(m),
    }
}

fn check_binary(op: AluOp) {
    let s = samples();
    let mems: Vec<Vec<u8>> = s.iter().map(members).collect();
    for w in WIDTHS {
        let rel: Vec<Vec<u8>> = mems.iter().map(|m| relevant(w, m)).collect();
        for (a, ma) in s.iter().zip(&rel) {
            for (b, mb) in s.iter().zip(&rel) {
                let r = Scalar::alu(op, w, a, b);
                let mut set = Set256::default();
                for &x in ma {
                    for &y in mb {
                        set.insert(reference::alu(op, w, x, y));
                    }
                }
                for z in set.iter() {
                    assert!(
                        r.contains(z),
                        "{op:?} {w:?}: {a:?} op {b:?} = {r:?} misses {z:#x}"
                    );
                }
                assert_reduced(&r, &|| format!("{op:?} {w:?} {a:?} {b:?} -> {r:?}"));
            }
        }
    }
}

/// Constant folding is exact for every operator at both widths.
fn check_constants(op: AluOp) {
    let vals: Vec<u8> = (0..=255u8)
        .step_by(5)
        .chain([0x7f, 0x80, 0xff, 0x08, 0x0f, 0xf8])
        .collect();
    for w in WIDTHS {
        for &x in &vals {
            for &y in &vals {
                let r = Scalar::alu(op, w, &Scalar::constant(x), &Scalar::constant(y));
                assert_eq!(
                    r.is_const(),
                    Some(reference::alu(op, w, x, y)),
                    "{op:?} {w:?} {x:#x} {y:#x}: {r:?}"
                );
            }
        }
    }
}

macro_rules! binary_tests {
    ($($name:ident => $op:expr),* $(,)?) => {$(
        #[test]
        fn $name() {
            check_binary($op);
            check_constants($op);
        }
    )*};
}

binary_tests! {
    add_sound => AluOp::Add,
    sub_sound => AluOp::Sub,
    mul_sound => AluOp::Mul,
    div_sound => AluOp::Div,
    sdiv_sound => AluOp::Sdiv,
    mod_sound => AluOp::Mod,
    smod_sound => AluOp::Smod,
    or_sound => AluOp::Or,
    and_sound => AluOp::And,
    xor_sound => AluOp::Xor,
    lsh_sound => AluOp::Lsh,
    rsh_sound => AluOp::Rsh,
    arsh_sound => AluOp::Arsh,
    mov_sound => AluOp::Mov,
}

#[test]
fn all_ops_covered() {
    assert_eq!(ALL_OPS.len(), 14);
}

/// Every tnum at 8 bits with at most `max_unknown` unknown bits.
fn tnums(max_unknown: u32) -> Vec<Scalar<u8>> {
    let mut out = Vec::new();
    for m in 0..=255u8 {
        if m.count_ones() > max_unknown {
            continue;
        }
        for v in 0..=255u8 {
            if v & m == 0 {
                out.push(Scalar::from_tnum(Tnum::new(v, m)));
            }
        }
    }
    out
}

fn unary_inputs() -> Vec<(Scalar<u8>, Vec<u8>)> {
    let mut v = tnums(8);
    v.extend(samples());
    v.into_iter()
        .map(|a| {
            let m = members(&a);
            (a, m)
        })
        .collect()
}

fn check_unary(name: &str, f: &dyn Fn(&Scalar<u8>) -> Scalar<u8>, c: &dyn Fn(u8) -> u8) {
    thread_local! {
        static INPUTS: Vec<(Scalar<u8>, Vec<u8>)> = unary_inputs();
    }
    INPUTS.with(|inputs| check_unary_on(inputs, name, f, c));
}

fn check_unary_on(
    inputs: &[(Scalar<u8>, Vec<u8>)],
    name: &str,
    f: &dyn Fn(&Scalar<u8>) -> Scalar<u8>,
    c: &dyn Fn(u8) -> u8,
) {
    for (a, m) in inputs {
        let r = f(a);
        for &x in m {
            let z = c(x);
            assert!(
                r.contains(z),
                "{name}: {a:?} -> {r:?} misses {z:#x} (from {x:#x})"
            );
        }
        assert_reduced(&r, &|| format!("{name} {a:?} -> {r:?}"));
    }
}

#[test]
fn neg_sound() {
    for w in WIDTHS {
        check_unary("neg", &|a| a.neg(w), &|x| {
            reference::alu(AluOp::Sub, w, 0, x)
        });
    }
}

#[test]
fn bswap_sound() {
    for bits in [8, 16] {
        check_unary("bswap", &|a| a.bswap(bits), &|x| reference::bswap(x, bits));
    }
}

#[test]
fn sext_sound() {
    for from in 1..=8 {
        check_unary("sext", &|a| a.sext(from), &|x| reference::sext(x, from));
    }
}

#[test]
fn zext_sound() {
    for to in 1..=8 {
        check_unary("zext", &|a| a.zext(to), &|x| reference::zext(x, to));
    }
}

/// Unary operators on constants are exact.
#[test]
fn unary_constants_exact() {
    for x in 0..=255u8 {
        let c = Scalar::constant(x);
        for w in WIDTHS {
            assert_eq!(
                c.neg(w).is_const(),
                Some(reference::alu(AluOp::Sub, w, 0, x))
            );
        }
        for from in 1..=8 {
            assert_eq!(c.sext(from).is_const(), Some(reference::sext(x, from)));
            assert_eq!(c.zext(from).is_const(), Some(reference::zext(x, from)));
        }
        assert_eq!(c.bswap(8).is_const(), Some(x));
    }
}

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

fn check_cond(cond: Cond) {
    let s = samples();
    let mems: Vec<Vec<u8>> = s.iter().map(members).collect();
    for w in WIDTHS {
        let k = w.bits::<u8>();
        let rel: Vec<Vec<u8>> = mems.iter().map(|m| relevant(w, m)).collect();
        let lowmask = if k == 8 { 0xff } else { 0x0f };
        for (i, a) in s.iter().enumerate() {
            for (j, b) in s.iter().enumerate() {
                // For each outcome, which members of a and of b take part in a pair with it
                // (at half width, tracked per low half).
                let mut seen = [false; 2];
                let mut xs = [Set256::default(); 2];
                let mut ys = [Set256::default(); 2];
                for &x in &rel[i] {
                    for &y in &rel[j] {
                        let c = usize::from(cond.eval(k, x, y));
                        seen[c] = true;
                        xs[c].insert(x);
                        ys[c].insert(y);
                    }
                }
                let outcome = Scalar::branch(cond, w, a, b);
                match outcome {
                    Outcome::Always => assert!(!seen[0], "{cond:?} {w:?} {a:?} {b:?} not Always"),
                    Outcome::Never => assert!(!seen[1], "{cond:?} {w:?} {a:?} {b:?} not Never"),
                    Outcome::Maybe => {}
                }
                for taken in [false, true] {
                    let t = usize::from(taken);
                    match Scalar::refine(cond, w, taken, a, b) {
                        None => assert!(
                            !seen[t],
                            "{cond:?} {w:?} {taken} {a:?} {b:?}: refined to nothing"
                        ),
                        Some((a2, b2)) => {
                            assert!(a2.leq(a) && b2.leq(b), "refine grew: {cond:?} {a:?} {b:?}");
                            assert_reduced(&a2, &|| format!("refine {cond:?} {a:?}"));
                            assert_reduced(&b2, &|| format!("refine {cond:?} {b:?}"));
                            // γ(a2) × γ(b2) is a product, so keeping every pair means keeping
                            // every x and every y that occur in a pair with this outcome.
                            for &x in &mems[i] {
                                if xs[t].has(x & lowmask) {
                                    assert!(
                                        a2.contains(x),
                                        "{cond:?} {w:?} {taken}: {a:?},{b:?} -> {a2:?} loses {x:#x}"
                                    );
                                }
                            }
                            for &y in &mems[j] {
                                if ys[t].has(y & lowmask) {
                                    assert!(
                                        b2.contains(y),
                                        "{cond:?} {w:?} {taken}: {a:?},{b:?} -> {b2:?} loses {y:#x}"
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

macro_rules! cond_tests {
    ($($name:ident => $c:expr),* $(,)?) => {$(
        #[test]
        fn $name() {
            check_cond($c);
        }
    )*};
}

cond_tests! {
    eq_refine_sound => Cond::Eq,
    ne_refine_sound => Cond::Ne,
    ugt_refine_sound => Cond::Ugt,
    uge_refine_sound => Cond::Uge,
    ult_refine_sound => Cond::Ult,
    ule_refine_sound => Cond::Ule,
    sgt_refine_sound => Cond::Sgt,
    sge_refine_sound => Cond::Sge,
    slt_refine_sound => Cond::Slt,
    sle_refine_sound => Cond::Sle,
    set_refine_sound => Cond::Set,
}

#[test]
fn conds_covered() {
    assert_eq!(CONDS.len(), 11);
}

/// Constants decide every branch.
#[test]
fn constant_branches_decided() {
    for cond in CONDS {
        for w in WIDTHS {
            for x in (0..=255u8).step_by(3) {
                for y in (0..=255u8).step_by(7) {
                    let o = Scalar::branch(cond, w, &Scalar::constant(x), &Scalar::constant(y));
                    let want = if cond.eval(w.bits::<u8>(), x, y) {
                        Outcome::Always
                    } else {
                        Outcome::Never
                    };
                    assert_eq!(o, want, "{cond:?} {w:?} {x} {y}");
                }
            }
        }
    }
}
