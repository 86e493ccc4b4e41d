//! Checksum helpers against checksums computed independently here.

use ebpfvm_abi::ProgramType;
use ebpfvm_helpers::run::{BPF_F_MARK_ENFORCE, BPF_F_MARK_MANGLED_0, BPF_F_PSEUDO_HDR};
use ebpfvm_helpers::CtxKind;

use crate::packet::Skb;
use crate::*;

/// The example header of RFC 791 checksum tutorials: checksum field (bytes 10–11) b8 61.
const HEADER: [u8; 20] = [
    0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01,
    0xc0, 0xa8, 0x00, 0xc7,
];

/// RFC 1071 over big-endian 16-bit words, skipping the checksum field.
fn ipv4_checksum(h: &[u8]) -> [u8; 2] {
    let mut sum: u32 = 0;
    for (i, w) in h.chunks(2).enumerate() {
        if i != 5 {
            sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    (!(sum as u16)).to_be_bytes()
}

/// A u64-accumulator version of `bpf_csum_diff` (fold the carries at the end).
fn reference_diff(from: &[u8], to: &[u8], seed: u32) -> u32 {
    let word = |w: &[u8]| u64::from(u32::from_ne_bytes([w[0], w[1], w[2], w[3]]));
    let mut s = u64::from(seed);
    for w in from.chunks(4) {
        s += word(w) ^ 0xffff_ffff;
    }
    for w in to.chunks(4) {
        s += word(w);
    }
    while s >> 32 != 0 {
        s = (s & 0xffff_ffff) + (s >> 32);
    }
    s as u32
}

fn fold16(mut s: u32) -> u16 {
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

/// An skb with an Ethernet header and `HEADER`; returns (fixture-less parts).
fn setup(env: &mut TestEnv) -> Skb {
    let mut packet = vec![0u8; 14];
    packet.extend_from_slice(&HEADER);
    packet.extend_from_slice(&[0; 8]);
    Skb::new(env, &packet)
}

#[test]
fn the_reference_checksum_is_right() {
    assert_eq!(ipv4_checksum(&HEADER), [0xb8, 0x61]);
}

#[test]
fn l3_replace_of_a_16_bit_field_matches_a_full_recompute() {
    let fx = Fixture::new();
    let mut env = TestEnv::new();
    let s = setup(&mut env);
    let mut h = fx.run(ProgramType::SchedCls, s.ctx, CtxKind::Skb);
    let ip = s.data + 14;
    for ttl in [0x3f, 0x01, 0xff, 0x00] {
        let old = env.peek(ip + 8, 2);
        let from = u16::from_ne_bytes([old[0], old[1]]);
        let to = u16::from_ne_bytes([ttl, old[1]]);
        env.poke(ip + 8, &[ttl]);
        assert_eq!(
            ok(
                &mut h,
                &mut env,
                "l3_csum_replace",
                &[s.ctx, 24, u64::from(from), u64::from(to), 2]
            ),
            0
        );
        let hdr = env.peek(ip, 20);
        assert_eq!(hdr[10..12], ipv4_checksum(&hdr), "ttl {ttl:#x}");
    }
}

#[test]
fn l3_replace_of_a_32_bit_field_and_by_diff() {
    let fx = Fixture::new();
    let mut env = TestEnv::new();
    let s = setup(&mut env);
    let mut h = fx.run(ProgramType::SchedCls, s.ctx, CtxKind::Skb);
    let ip = s.data + 14;
    let new_dst = [10u8, 0, 0, 1];
    let from = u32::from_ne_bytes(HEADER[16..20].try_into().unwrap());
    let to = u32::from_ne_bytes(new_dst);
    env.poke(ip + 16, &new_dst);
    assert_eq!(
        ok(
            &mut h,
            &mut env,
            "l3_csum_replace",
            &[s.ctx, 24, u64::from(from), u64::from(to), 4]
        ),
        0
    );
    let hdr = env.peek(ip, 20);
    assert_eq!(hdr[10..12], ipv4_checksum(&hdr));

    // The same change of the source address, through csum_diff.
    let new_src = [172u8, 16, 9, 9];
    let old_buf = env.put(&hdr[12..16]);
    let new_buf = env.put(&new_src);
    let diff = ok(&mut h, &mut env, "csum_diff", &[old_buf, 4, new_buf, 4, 0]);
    assert_eq!(diff, u64::from(reference_diff(&hdr[12..16], &new_src, 0)));
    env.poke(ip + 12, &new_src);
    assert_eq!(
        ok(
            &mut h,
            &mut env,
            "l3_csum_replace",
            &[s.ctx, 24, 0, diff, 0]
        ),
        0
    );
    let hdr = env.peek(ip, 20);
    assert_eq!(hdr[10..12], ipv4_checksum(&hdr));
}

#[test]
fn csum_replace_argument_checks() {
    let fx = Fixture::new();
    let mut env = TestEnv::new();
    let s = setup(&mut env);
    let mut h = fx.run(ProgramType::SchedCls, s.ctx, CtxKind::Skb);
    assert_eq!(
        ok(&mut h, &mut env, "l3_csum_replace", &[s.ctx, 25, 0, 0, 2]),
        neg(EFAULT),
        "odd offset"
    );
    assert_eq!(
        ok(
            &mut h,
            &mut env,
            "l3_csum_replace",
            &[s.ctx, 0x1_0000, 0, 0, 2]
        ),
        neg(EFAULT)
    );
    assert_eq!(
        ok(&mut h, &mut env, "l3_csum_replace", &[s.ctx, 42, 0, 0, 2]),
        neg(EFAULT),
        "past the packet"
    );
    assert_eq!(
        ok(&mut h, &mut env, "l3_csum_replace", &[s.ctx, 24, 0, 0, 3]),
        neg(EINVAL),
        "size 3"
    );
    assert_eq!(
        ok(&mut h, &mut env, "l3_csum_replace", &[s.ctx, 24, 1, 0, 0]),
        neg(EINVAL),
        "diff with from"
    );
    assert_eq!(
        ok(
            &mut h,
            &mut env,
            "l3_csum_replace",
            &[s.ctx, 24, 0, 0, 2 | BPF_F_PSEUDO_HDR]
        ),
        neg(EINVAL),
        "l4 flag on l3"
    );
    assert_eq!(
        ok(
            &mut h,
            &mut env,
            "l4_csum_replace",
            &[s.ctx, 24, 0, 0, 2 | BPF_F_PSEUDO_HDR]
        ),
        0
    );
    assert_eq!(
        ok(
            &mut h,
            &mut env,
            "l4_csum_replace",
            &[s.ctx, 24, 0, 0, 1 << 8]
        ),
        neg(EINVAL)
    );
}

#[test]
fn l4_mangled_zero() {
    let fx = Fixture::new();
    let mut env = TestEnv::new();
    let s = Skb::new(&mut env, &[0; 16]);
    let mut h = fx.run(ProgramType::SchedCls, s.ctx, CtxKind::Skb);
    let field = s.data + 6;
    // A zero UDP checksum means "none": left alone unless enforced.
    assert_eq!(
        ok(
            &mut h,
            &mut env,
            "l4_csum_replace",
            &[s.ctx, 6, 1, 2, 2 | BPF_F_MARK_MANGLED_0]
        ),
        0
    );
    assert_eq!(env.peek(field, 2), [0, 0]);
    // ~(~0xffff + ~0 + 0xffff) = 0: stored as 0xffff with BPF_F_MARK_MANGLED_0.
    env.poke(field, &[0xff, 0xff]);
    assert_eq!(
        ok(
            &mut h,
            &mut env,
            "l4_csum_replace",
            &[s.ctx, 6, 0, 0xffff, 2]
        ),
        0
    );
    assert_eq!(env.peek(field, 2), [0, 0]);
    env.poke(field, &[0xff, 0xff]);
    assert_eq!(
        ok(
            &mut h,
            &mut env,
            "l4_csum_replace",
            &[s.ctx, 6, 0, 0xffff, 2 | BPF_F_MARK_MANGLED_0]
        ),
        0
    );
    assert_eq!(env.peek(field, 2), [0xff, 0xff]);
    env.poke(field, &[0, 0]);
    let flags = 2 | BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE;
    assert_eq!(
        ok(
            &mut h,
            &mut env,
            "l4_csum_replace",
            &[s.ctx, 6, 0, 1, flags]
        ),
        0
    );
    assert_ne!(env.peek(field, 2), [0, 0], "enforced");
}

#[test]
fn csum_diff_vectors() {
    let fx = Fixture::new();
    let mut env = TestEnv::new();
    let mut h = fx.run(ProgramType::Xdp, 0, CtxKind::Other);
    let ones = env.put(&[0xff; 4]);
    assert_eq!(
        ok(&mut h, &mut env, "csum_diff", &[0, 0, ones, 4, 1]),
        1,
        "end-around carry"
    );
    assert_eq!(
        ok(&mut h, &mut env, "csum_diff", &[ones, 4, ones, 4, 0]),
        0xffff_ffff
    );
    assert_eq!(
        ok(&mut h, &mut env, "csum_diff", &[0, 0, 0, 0, 0x1234]),
        0x1234,
        "only the seed"
    );

    // The IPv4 header checksum as a sum over the header with a zero checksum field.
    let mut hdr = HEADER;
    hdr[10] = 0;
    hdr[11] = 0;
    let p = env.put(&hdr);
    let sum = ok(&mut h, &mut env, "csum_diff", &[0, 0, p, 20, 0]) as u32;
    assert_eq!(sum, reference_diff(&[], &hdr, 0));
    assert_eq!((!fold16(sum)).to_ne_bytes(), [0xb8, 0x61]);

    // Pseudo-random vectors against the reference.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for round in 0..50 {
        let mut bytes = [0u8; 64];
        for b in bytes.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        let (from, to) = bytes.split_at(4 * (round % 16));
        let seed = x as u32;
        let fa = env.put(from);
        let ta = env.put(to);
        let got = ok(
            &mut h,
            &mut env,
            "csum_diff",
            &[fa, from.len() as u64, ta, to.len() as u64, u64::from(seed)],
        );
        assert_eq!(
            got,
            u64::from(reference_diff(from, to, seed)),
            "round {round}"
        );
    }

    let p = env.put(&[0; 516]);
    assert_eq!(
        ok(&mut h, &mut env, "csum_diff", &[0, 0, p, 3, 0]),
        neg(EINVAL)
    );
    assert_eq!(
        ok(&mut h, &mut env, "csum_diff", &[p, 256, p, 260, 0]),
        neg(EINVAL),
        "over 512 bytes"
    );
    assert_eq!(
        ok(&mut h, &mut env, "csum_diff", &[p, 256, p, 256, 0]),
        0xffff_ffff
    );
}
