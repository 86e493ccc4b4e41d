//! Internet checksum arithmetic (RFC 1071 one's-complement sums, RFC 1624 incremental
//! updates), as the checksum helpers use it.
//!
//! Values are in "load order": a 16-bit field is the `u16` read from the packet in host
//! byte order, a 32-bit field the `u32` read the same way, exactly as a program that
//! loaded the field passes it to `bpf_l3_csum_replace`. One's-complement sums do not
//! depend on byte order as long as every operand uses the same one, so the results equal
//! the checksum written in network byte order.

/// Adds with end-around carry (`csum_add`).
#[inline]
pub fn add32(a: u32, b: u32) -> u32 {
    let (s, carry) = a.overflowing_add(b);
    s.wrapping_add(u32::from(carry))
}

/// Subtracts in one's complement (`csum_sub`): adds the complement.
#[inline]
pub fn sub32(a: u32, b: u32) -> u32 {
    add32(a, !b)
}

/// Folds a 32-bit sum to 16 bits with end-around carry, without complementing.
#[inline]
pub fn fold(sum: u32) -> u16 {
    let s = (sum & 0xffff) + (sum >> 16);
    let s = (s & 0xffff) + (s >> 16);
    s as u16
}

/// The checksum of a folded sum (`csum_fold`): the complement of [`fold`].
#[inline]
pub fn finish(sum: u32) -> u16 {
    !fold(sum)
}

/// The 32-bit one's-complement sum of `data` (native-order `u32` words; a trailing
/// partial word is zero-padded), plus `seed`.
pub fn partial(data: &[u8], seed: u32) -> u32 {
    let mut sum = seed;
    let mut chunks = data.chunks_exact(4);
    for w in &mut chunks {
        sum = add32(sum, u32::from_ne_bytes([w[0], w[1], w[2], w[3]]));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 4];
        w[..rest.len()].copy_from_slice(rest);
        sum = add32(sum, u32::from_ne_bytes(w));
    }
    sum
}

/// `bpf_csum_diff`'s value: the sum of `seed`, the complement of every 32-bit word of
/// `from` and every word of `to`, unfolded.
pub fn diff(from: &[u8], to: &[u8], seed: u32) -> u32 {
    let mut sum = seed;
    for w in from.chunks(4) {
        sum = sub32(sum, partial(w, 0));
    }
    for w in to.chunks(4) {
        sum = add32(sum, partial(w, 0));
    }
    sum
}

/// The checksum `check` after a 32-bit field of the covered data changes from `from` to
/// `to` (RFC 1624 eqn. 3: `HC' = ~(~HC + ~m + m')`).
#[inline]
pub fn replace4(check: u16, from: u32, to: u32) -> u16 {
    let tmp = sub32(!u32::from(check), from);
    finish(add32(tmp, to))
}

/// Like [`replace4`] for a 16-bit field.
#[inline]
pub fn replace2(check: u16, from: u16, to: u16) -> u16 {
    replace4(check, u32::from(from), u32::from(to))
}

/// The checksum `check` after the covered data changed by the unfolded difference
/// `diff` (as [`diff`] computes it; `csum_replace_by_diff`).
#[inline]
pub fn replace_by_diff(check: u16, diff: u32) -> u16 {
    finish(add32(diff, !u32::from(check)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_around_carry() {
        assert_eq!(add32(0xffff_ffff, 1), 1);
        assert_eq!(add32(0x8000_0000, 0x8000_0000), 1);
        assert_eq!(fold(0x0001_ffff), 1);
        assert_eq!(fold(0xffff_ffff), 0xffff);
        assert_eq!(sub32(5, 5), 0xffff_ffff);
    }
}
