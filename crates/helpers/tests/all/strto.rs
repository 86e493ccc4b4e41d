//! `bpf_strtol` / `bpf_strtoul`.

use crate::*;

/// Calls the helper on `s` (buf_len = its length); returns (r0, *res).
fn strto(name: &str, s: &str, flags: u64) -> (u64, u64) {
    strto_len(name, s, s.len(), flags)
}

fn strto_len(name: &str, s: &str, len: usize, flags: u64) -> (u64, u64) {
    let fx = Fixture::new();
    let mut env = TestEnv::new();
    let buf = env.put(s.as_bytes());
    let res = env.put(&0xaaaa_aaaa_aaaa_aaaau64.to_ne_bytes());
    let mut h = fx.plain();
    let r = ok(&mut h, &mut env, name, &[buf, len as u64, flags, res]);
    (r, env.peek_u64(res))
}

#[test]
fn strtol_bases_and_signs() {
    assert_eq!(strto("strtol", "  -123abc", 10), (6, (-123i64) as u64));
    assert_eq!(strto("strtol", "\t\n42", 0), (4, 42));
    assert_eq!(strto("strtol", "0x1f", 0), (4, 31));
    assert_eq!(strto("strtol", "0X1F", 16), (4, 31));
    assert_eq!(strto("strtol", "1f", 16), (2, 31));
    assert_eq!(strto("strtol", "017", 0), (3, 15));
    assert_eq!(strto("strtol", "0789", 0), (2, 7), "octal stops at 8");
    assert_eq!(strto("strtol", "0", 0), (1, 0));
    assert_eq!(
        strto("strtol", "0x", 0),
        (1, 0),
        "0x without a hex digit is octal 0"
    );
    assert_eq!(strto("strtol", "777", 8), (3, 511));
    assert_eq!(strto("strtol", "-0x10", 0), (5, (-16i64) as u64));
    assert_eq!(
        strto_len("strtol", "12345", 3, 10),
        (3, 123),
        "stops at buf_len"
    );
    assert_eq!(strto("strtol", "12\u{0}34", 10), (2, 12), "stops at a NUL");
}

#[test]
fn strtol_range() {
    assert_eq!(
        strto("strtol", "9223372036854775807", 10),
        (19, i64::MAX as u64)
    );
    assert_eq!(
        strto("strtol", "-9223372036854775808", 10),
        (20, i64::MIN as u64)
    );
    assert_eq!(strto("strtol", "9223372036854775808", 10), (neg(ERANGE), 0));
    assert_eq!(
        strto("strtol", "-9223372036854775809", 10),
        (neg(ERANGE), 0)
    );
    assert_eq!(
        strto("strtol", "99999999999999999999999", 10),
        (neg(ERANGE), 0)
    );
}

#[test]
fn strtoul_range_and_sign() {
    assert_eq!(strto("strtoul", "18446744073709551615", 10), (20, u64::MAX));
    assert_eq!(strto("strtoul", "ffffffffffffffff", 16), (16, u64::MAX));
    assert_eq!(
        strto("strtoul", "18446744073709551616", 10),
        (neg(ERANGE), 0)
    );
    assert_eq!(strto("strtoul", "-1", 10), (neg(EINVAL), 0));
}

#[test]
fn invalid_input_zeroes_the_result() {
    for (s, flags) in [
        ("abc", 10),
        ("", 10),
        ("   ", 0),
        ("+5", 10),
        ("-", 10),
        ("12", 7),
        ("12", 32 | 10),
        ("0x", 16),
        ("9", 8),
    ] {
        assert_eq!(strto("strtol", s, flags), (neg(EINVAL), 0), "{s:?} {flags}");
    }
}

#[test]
fn only_the_first_63_bytes_count() {
    let s = format!("{}7", " ".repeat(63));
    assert_eq!(strto("strtol", &s, 10), (neg(EINVAL), 0));
    let s = format!("{}7", " ".repeat(62));
    assert_eq!(strto("strtol", &s, 10), (63, 7));
}

#[test]
fn pure_functions_agree() {
    assert_eq!(ebpfvm_helpers::strtol(b" -5x", 0), Ok((3, -5)));
    assert_eq!(ebpfvm_helpers::strtoul(b"0x10", 0), Ok((4, 16)));
    assert_eq!(ebpfvm_helpers::strtoul(b"z", 0), Err(22));
}
