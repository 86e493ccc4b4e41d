//! The printf dialect of `bpf_trace_printk` and `bpf_snprintf` (Linux's
//! `bpf_bprintf_prepare` rules, from the uapi helper descriptions).
//!
//! Conversions: `%d %i %u %x %X` (32-bit: the argument's low half, signed for `d`/`i`),
//! the same with `l` or `ll` (64-bit), `%c` (the low byte), `%s` (a string the argument
//! points to), `%%`, and the pointer forms `%p` (hashed, as Linux prints it), `%px` (raw),
//! `%pK` (hashed), `%ps`/`%pS`/`%pB` (symbol: the address as `0x…`, ebpfvm has no
//! symbols), `%pks`/`%pus` (strings), `%pI4`/`%pi4`/`%pI6`/`%pi6` (IP addresses the
//! argument points to). Flags `0`, `-`, `+` and space and a decimal width may precede the
//! conversion; precision (`.`), `*`, `#`, other length modifiers and other conversions are
//! rejected (`EINVAL`), as are non-ASCII and non-printable characters other than white
//! space in the format. Unreadable strings print as empty, unreadable IP addresses as
//! zeros.

use std::sync::OnceLock;

/// Longest string one `%s` prints (`MAX_BPRINTF_BUF`-style bound).
pub(crate) const MAX_STR: usize = 511;

/// Where the arguments and the memory they point to come from.
pub(crate) trait Source {
    /// The next argument; `None` if the helper has no more (the format is `EINVAL`).
    fn next_arg(&mut self) -> Option<u64>;
    /// The string at `addr`, without its NUL, at most `max` bytes; empty if unreadable.
    fn string(&mut self, addr: u64, max: usize) -> Vec<u8>;
    /// `len` bytes at `addr`, or `None` if unreadable.
    fn bytes(&mut self, addr: u64, len: usize) -> Option<Vec<u8>>;
}

/// A bad format (`EINVAL`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct BadFormat;

#[derive(Clone, Copy, Default)]
struct Spec {
    left: bool,
    zero: bool,
    plus: bool,
    space: bool,
    width: usize,
}

fn pad(out: &mut Vec<u8>, spec: Spec, sign: &[u8], body: &[u8], zero_ok: bool) {
    let len = sign.len() + body.len();
    let fill = spec.width.saturating_sub(len);
    if spec.left {
        out.extend_from_slice(sign);
        out.extend_from_slice(body);
        out.resize(out.len() + fill, b' ');
    } else if spec.zero && zero_ok {
        out.extend_from_slice(sign);
        out.resize(out.len() + fill, b'0');
        out.extend_from_slice(body);
    } else {
        out.resize(out.len() + fill, b' ');
        out.extend_from_slice(sign);
        out.extend_from_slice(body);
    }
}

/// The per-process key of `%p` hashing (Linux hashes printed pointers so they do not
/// leak addresses).
fn ptr_key() -> u64 {
    static KEY: OnceLock<u64> = OnceLock::new();
    *KEY.get_or_init(|| {
        (u64::from(crate::clock::prandom_u32()) << 32) | u64::from(crate::clock::prandom_u32())
    })
}

fn hash_ptr(p: u64) -> u64 {
    let mut z = p ^ ptr_key();
    z = (z ^ (z >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
    z = (z ^ (z >> 33)).wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    (z ^ (z >> 33)) & 0xffff_ffff
}

/// Formats `fmt` (without its NUL) into `out`.
pub(crate) fn format(fmt: &[u8], src: &mut dyn Source, out: &mut Vec<u8>) -> Result<(), BadFormat> {
    let at = |i: usize| fmt.get(i).copied().unwrap_or(0);
    let mut i = 0;
    while i < fmt.len() {
        let c = fmt[i];
        if !c.is_ascii()
            || !(c.is_ascii_graphic() || c == b' ' || c.is_ascii_whitespace() || c == 0x0b)
        {
            return Err(BadFormat);
        }
        if c != b'%' {
            out.push(c);
            i += 1;
            continue;
        }
        i += 1;
        if at(i) == b'%' {
            out.push(b'%');
            i += 1;
            continue;
        }
        let mut spec = Spec::default();
        loop {
            match at(i) {
                b'0' => spec.zero = true,
                b'-' => spec.left = true,
                b'+' => spec.plus = true,
                b' ' => spec.space = true,
                _ => break,
            }
            i += 1;
        }
        if (b'1'..=b'9').contains(&at(i)) {
            while at(i).is_ascii_digit() {
                spec.width = spec
                    .width
                    .saturating_mul(10)
                    .saturating_add(usize::from(at(i) - b'0'))
                    .min(4096);
                i += 1;
            }
        }
        match at(i) {
            b'p' => {
                let arg = src.next_arg().ok_or(BadFormat)?;
                i += 1;
                i += pointer(fmt, i, arg, spec, src, out)?;
            }
            b'c' => {
                let arg = src.next_arg().ok_or(BadFormat)?;
                pad(out, spec, b"", &[arg as u8], false);
                i += 1;
            }
            b's' => {
                let arg = src.next_arg().ok_or(BadFormat)?;
                let s = src.string(arg, MAX_STR);
                pad(out, spec, b"", &s, false);
                i += 1;
            }
            _ => {
                let mut long = false;
                if at(i) == b'l' {
                    long = true;
                    i += 1;
                    if at(i) == b'l' {
                        i += 1;
                    }
                }
                let conv = at(i);
                if !matches!(conv, b'd' | b'i' | b'u' | b'x' | b'X') {
                    return Err(BadFormat);
                }
                let arg = src.next_arg().ok_or(BadFormat)?;
                integer(out, spec, conv, arg, long);
                i += 1;
            }
        }
    }
    Ok(())
}

fn integer(out: &mut Vec<u8>, spec: Spec, conv: u8, arg: u64, long: bool) {
    let (sign, body): (&[u8], String) = match conv {
        b'd' | b'i' => {
            let v = if long {
                arg as i64
            } else {
                i64::from(arg as u32 as i32)
            };
            let sign: &[u8] = if v < 0 {
                b"-"
            } else if spec.plus {
                b"+"
            } else if spec.space {
                b" "
            } else {
                b""
            };
            (sign, v.unsigned_abs().to_string())
        }
        _ => {
            let v = if long { arg } else { u64::from(arg as u32) };
            let body = match conv {
                b'u' => v.to_string(),
                b'x' => format!("{v:x}"),
                _ => format!("{v:X}"),
            };
            (b"", body)
        }
    };
    pad(out, spec, sign, body.as_bytes(), true);
}

/// Formats a `%p…` conversion whose modifiers start at `fmt[i]`; returns how many modifier
/// bytes it consumed.
fn pointer(
    fmt: &[u8],
    i: usize,
    arg: u64,
    spec: Spec,
    src: &mut dyn Source,
    out: &mut Vec<u8>,
) -> Result<usize, BadFormat> {
    let at = |k: usize| fmt.get(k).copied().unwrap_or(0);
    let m = at(i);
    match m {
        b'x' => {
            pad(out, spec, b"", format!("{arg:016x}").as_bytes(), true);
            Ok(1)
        }
        b'K' => {
            pad(
                out,
                spec,
                b"",
                format!("{:016x}", hash_ptr(arg)).as_bytes(),
                true,
            );
            Ok(1)
        }
        b's' | b'S' | b'B' => {
            pad(out, spec, b"", format!("{arg:#x}").as_bytes(), false);
            Ok(1)
        }
        b'k' | b'u' => {
            if at(i + 1) != b's' {
                return Err(BadFormat);
            }
            let s = src.string(arg, MAX_STR);
            pad(out, spec, b"", &s, false);
            Ok(2)
        }
        b'i' | b'I' => {
            let text = match at(i + 1) {
                b'4' => {
                    let b = src.bytes(arg, 4).unwrap_or_else(|| vec![0; 4]);
                    if m == b'I' {
                        format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
                    } else {
                        format!("{:03}.{:03}.{:03}.{:03}", b[0], b[1], b[2], b[3])
                    }
                }
                b'6' => {
                    let b = src.bytes(arg, 16).unwrap_or_else(|| vec![0; 16]);
                    let groups: Vec<String> = b
                        .chunks(2)
                        .map(|g| format!("{:02x}{:02x}", g[0], g[1]))
                        .collect();
                    if m == b'I' {
                        groups.join(":")
                    } else {
                        groups.concat()
                    }
                }
                _ => return Err(BadFormat),
            };
            pad(out, spec, b"", text.as_bytes(), false);
            Ok(2)
        }
        c if c.is_ascii_alphanumeric() => Err(BadFormat),
        _ => {
            if arg == 0 {
                pad(out, spec, b"", b"(null)", false);
            } else {
                pad(
                    out,
                    spec,
                    b"",
                    format!("{:016x}", hash_ptr(arg)).as_bytes(),
                    true,
                );
            }
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Args(Vec<u64>);

    impl Source for Args {
        fn next_arg(&mut self) -> Option<u64> {
            (!self.0.is_empty()).then(|| self.0.remove(0))
        }
        fn string(&mut self, _addr: u64, _max: usize) -> Vec<u8> {
            b"str".to_vec()
        }
        fn bytes(&mut self, _addr: u64, len: usize) -> Option<Vec<u8>> {
            Some((1..=len as u8).collect())
        }
    }

    fn f(fmt: &str, args: &[u64]) -> Result<String, BadFormat> {
        let mut out = Vec::new();
        format(fmt.as_bytes(), &mut Args(args.to_vec()), &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn flags_and_widths() {
        assert_eq!(f("[%5d]", &[42]).unwrap(), "[   42]");
        assert_eq!(f("[%-5d]", &[42]).unwrap(), "[42   ]");
        assert_eq!(f("[%05d]", &[(-42i64) as u64]).unwrap(), "[-0042]");
        assert_eq!(f("[%+d]", &[7]).unwrap(), "[+7]");
        assert_eq!(f("[% d]", &[7]).unwrap(), "[ 7]");
        assert_eq!(f("[%08x]", &[0xbeef]).unwrap(), "[0000beef]");
        assert_eq!(f("[%-8s]", &[0]).unwrap(), "[str     ]");
        assert_eq!(f("%pI4 %pi4", &[0, 0]).unwrap(), "1.2.3.4 001.002.003.004");
        assert_eq!(f("%pi6", &[0]).unwrap(), "0102030405060708090a0b0c0d0e0f10");
    }

    #[test]
    fn rejects() {
        for bad in [
            "%.2d", "%*d", "%#x", "%lc", "%hd", "%q", "%pZ", "%pk", "%pI5", "\u{1}", "%",
        ] {
            assert_eq!(f(bad, &[1, 2, 3]), Err(BadFormat), "{bad}");
        }
        assert_eq!(f("%d %d", &[1]), Err(BadFormat));
    }
}
