//! `bpf_strtol` / `bpf_strtoul`: string to integer, as the uapi description specifies.
//!
//! At most the first 63 bytes of the buffer are parsed (the kernel copies the buffer into
//! a 64-byte NUL-terminated string first); a NUL ends the string. Leading white space
//! (`isspace`) is skipped, then one optional `-` (`+` is not accepted). The low 5 bits of
//! `flags` are the base, 0 (auto-detect: `0x` + hex digit → 16, leading `0` → 8, else 10),
//! 8, 10 or 16 (a `0x`/`0X` prefix is skipped); other bits must be 0. Digits are consumed
//! as far as they go. The result is the number of bytes consumed (white space, sign,
//! prefix and digits).

use crate::errno::{EINVAL, ERANGE};

/// Bytes of the buffer considered.
const MAX_LEN: usize = 63;
/// The bits of `flags` holding the base.
const BASE_MASK: u64 = 0x1f;

/// A parsed number: bytes consumed, magnitude, and whether a `-` preceded it.
struct Parsed {
    consumed: usize,
    magnitude: u64,
    negative: bool,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn digit(b: u8) -> Option<u64> {
    match b {
        b'0'..=b'9' => Some(u64::from(b - b'0')),
        b'a'..=b'f' => Some(u64::from(b - b'a' + 10)),
        b'A'..=b'F' => Some(u64::from(b - b'A' + 10)),
        _ => None,
    }
}

fn parse(buf: &[u8], flags: u64) -> Result<Parsed, i32> {
    if buf.is_empty() || flags & !BASE_MASK != 0 {
        return Err(EINVAL);
    }
    let mut base = flags & BASE_MASK;
    if !matches!(base, 0 | 8 | 10 | 16) {
        return Err(EINVAL);
    }
    let s = &buf[..buf.len().min(MAX_LEN)];
    let s = &s[..s.iter().position(|&b| b == 0).unwrap_or(s.len())];
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut i = 0;
    while is_space(at(i)) {
        i += 1;
    }
    let negative = at(i) == b'-';
    if negative {
        i += 1;
    }
    let is_hex_prefix = at(i) == b'0' && (at(i + 1) | 0x20) == b'x';
    if base == 0 {
        base = if is_hex_prefix && digit(at(i + 2)).is_some() {
            16
        } else if at(i) == b'0' {
            8
        } else {
            10
        };
    }
    if base == 16 && is_hex_prefix {
        i += 2;
    }
    let start = i;
    let mut magnitude: u64 = 0;
    let mut overflow = false;
    while let Some(d) = digit(at(i)).filter(|&d| d < base) {
        match magnitude.checked_mul(base).and_then(|m| m.checked_add(d)) {
            Some(m) => magnitude = m,
            None => overflow = true,
        }
        i += 1;
    }
    if overflow {
        return Err(ERANGE);
    }
    if i == start {
        return Err(EINVAL);
    }
    Ok(Parsed {
        consumed: i,
        magnitude,
        negative,
    })
}

/// `bpf_strtol`: (bytes consumed, value), or the positive errno (`EINVAL`, `ERANGE`).
pub fn strtol(buf: &[u8], flags: u64) -> Result<(usize, i64), i32> {
    let p = parse(buf, flags)?;
    let value = if p.negative {
        if p.magnitude > 1 << 63 {
            return Err(ERANGE);
        }
        (p.magnitude as i64).wrapping_neg()
    } else {
        i64::try_from(p.magnitude).map_err(|_| ERANGE)?
    };
    Ok((p.consumed, value))
}

/// `bpf_strtoul`: (bytes consumed, value), or the positive errno; a `-` sign is `EINVAL`.
pub fn strtoul(buf: &[u8], flags: u64) -> Result<(usize, u64), i32> {
    let p = parse(buf, flags)?;
    if p.negative {
        return Err(EINVAL);
    }
    Ok((p.consumed, p.magnitude))
}
