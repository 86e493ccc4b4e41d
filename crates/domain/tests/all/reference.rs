//! The concrete semantics, written independently of the crate (plain `u64`/`i64`
//! arithmetic on the low `k` bits), and brute-force helpers.

use ebpfvm_domain::{AluOp, Scalar, Width, Word};

pub const ALL_OPS: [AluOp; 14] = [
    AluOp::Add,
    AluOp::Sub,
    AluOp::Mul,
    AluOp::Div,
    AluOp::Sdiv,
    AluOp::Mod,
    AluOp::Smod,
    AluOp::Or,
    AluOp::And,
    AluOp::Xor,
    AluOp::Lsh,
    AluOp::Rsh,
    AluOp::Arsh,
    AluOp::Mov,
];

pub fn mask(k: u32) -> u64 {
    if k >= 64 {
        u64::MAX
    } else {
        (1 << k) - 1
    }
}

/// Sign-extends the low `k` bits of `x`.
pub fn sx(x: u64, k: u32) -> i64 {
    let s = 64 - k;
    ((x << s) as i64) >> s
}

/// `op` at `width` on words `x`, `y` of type `W`.
pub fn alu<W: Word>(op: AluOp, width: Width, x: W, y: W) -> W {
    let k = match width {
        Width::Full => W::BITS,
        Width::Half => W::BITS / 2,
    };
    let m = mask(k);
    let a = x.to_u64() & m;
    let b = y.to_u64() & m;
    let (sa, sb) = (sx(a, k), sx(b, k));
    let sh = (b & u64::from(k - 1)) as u32;
    let r = match op {
        AluOp::Add => a.wrapping_add(b),
        AluOp::Sub => a.wrapping_sub(b),
        AluOp::Mul => a.wrapping_mul(b),
        AluOp::Div => a.checked_div(b).unwrap_or(0),
        AluOp::Mod => {
            if b == 0 {
                a
            } else {
                a % b
            }
        }
        AluOp::Sdiv => {
            if b == 0 {
                0
            } else {
                sa.wrapping_div(sb) as u64
            }
        }
        AluOp::Smod => {
            if b == 0 {
                a
            } else {
                sa.wrapping_rem(sb) as u64
            }
        }
        AluOp::Or => a | b,
        AluOp::And => a & b,
        AluOp::Xor => a ^ b,
        AluOp::Lsh => a << sh,
        AluOp::Rsh => a >> sh,
        AluOp::Arsh => (sa >> sh) as u64,
        AluOp::Mov => b,
    };
    W::from_u64(r & m)
}

/// Byte reversal of the low `bits` bits (whole bytes, at most `W::BITS`).
pub fn bswap<W: Word>(x: W, bits: u32) -> W {
    let n = bits.min(W::BITS) / 8;
    let v = x.to_u64();
    let mut out = 0u64;
    for i in 0..n {
        out |= ((v >> (8 * i)) & 0xff) << (8 * (n - 1 - i));
    }
    W::from_u64(out)
}

pub fn sext<W: Word>(x: W, from: u32) -> W {
    if from >= W::BITS {
        return x;
    }
    W::from_u64(sx(x.to_u64() & mask(from), from) as u64)
}

pub fn zext<W: Word>(x: W, to: u32) -> W {
    W::from_u64(x.to_u64() & mask(to))
}

/// Every member of `s` (8-bit words only).
pub fn members(s: &Scalar<u8>) -> Vec<u8> {
    (0..=255u8).filter(|&x| s.contains(x)).collect()
}

/// A 256-bit set of bytes.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct Set256([u64; 4]);

impl Set256 {
    pub fn insert(&mut self, x: u8) {
        self.0[usize::from(x >> 6)] |= 1 << (x & 63);
    }
    pub fn has(&self, x: u8) -> bool {
        self.0[usize::from(x >> 6)] >> (x & 63) & 1 == 1
    }
    pub fn iter(&self) -> impl Iterator<Item = u8> + '_ {
        (0..=255u8).filter(|&x| self.has(x))
    }
}

/// A representative set of abstract 8-bit values: constants, tnums with few unknown bits,
/// unsigned and signed intervals around the interesting boundaries (0, the half boundary
/// 15/16, the sign boundary 127/128, 255), values shaped by their low half, and a few
/// large ones. Kept small in total size so that all pairs of members can be enumerated.
pub fn samples() -> Vec<Scalar<u8>> {
    use ebpfvm_domain::{Cond, Tnum};
    let mut v: Vec<Scalar<u8>> = Vec::new();
    for c in [
        0u8, 1, 2, 3, 7, 8, 0x0f, 0x10, 0x55, 0x7f, 0x80, 0x81, 0xf0, 0xfe, 0xff,
    ] {
        v.push(Scalar::constant(c));
    }
    v.push(Scalar::unknown());
    // Tnums: a fixed pseudo-random choice of value/mask with 1..=4 unknown bits.
    let mut seed = 0x9e37_79b9_u32;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    for n in 1..=4u32 {
        for _ in 0..6 {
            let mut m = 0u8;
            while m.count_ones() < n {
                m |= 1 << (next() % 8);
            }
            let val = (next() as u8) & !m;
            v.push(Scalar::from_tnum(Tnum::new(val, m)));
        }
    }
    v.push(Scalar::from_tnum(Tnum::new(0x80, 0x01)));
    v.push(Scalar::from_tnum(Tnum::new(0x00, 0x81)));
    v.push(Scalar::from_tnum(Tnum::new(0x08, 0x70)));
    // Unsigned intervals.
    for (lo, hi) in [
        (0u8, 1u8),
        (0, 3),
        (1, 9),
        (2, 18),
        (14, 17),
        (15, 16),
        (30, 45),
        (60, 66),
        (120, 130),
        (126, 129),
        (127, 128),
        (200, 203),
        (240, 255),
        (250, 255),
        (253, 255),
        (0, 127),
        (16, 200),
        (100, 255),
    ] {
        v.push(Scalar::from_urange(lo, hi));
    }
    // Signed intervals.
    for (lo, hi) in [
        (-3i8, 3i8),
        (-1, 0),
        (-1, 1),
        (-128, -120),
        (-128, -127),
        (120, 127),
        (-9, -2),
        (-20, 5),
        (-100, 100),
    ] {
        v.push(Scalar::from_srange(lo, hi));
    }
    // Values shaped by their low half and by derived operations.
    let x = Scalar::<u8>::from_urange(3, 60);
    v.push(x.zext(4));
    v.push(x.sext(4));
    v.push(Scalar::alu(
        AluOp::Add,
        Width::Half,
        &x,
        &Scalar::constant(9),
    ));
    v.push(Scalar::from_srange(-20, 20).zext(4));
    v.push(Scalar::from_srange(-3, 3).sext(4));
    v.push(Scalar::alu(
        AluOp::And,
        Width::Full,
        &Scalar::unknown(),
        &Scalar::constant(0x1c),
    ));
    if let Some((a, _)) = Scalar::refine(
        Cond::Ult,
        Width::Half,
        true,
        &Scalar::from_urange(0, 100),
        &Scalar::constant(5),
    ) {
        v.push(a);
    }
    if let Some((a, _)) = Scalar::refine(
        Cond::Sgt,
        Width::Half,
        true,
        &Scalar::from_urange(20, 90),
        &Scalar::constant(5),
    ) {
        v.push(a);
    }
    v
}
