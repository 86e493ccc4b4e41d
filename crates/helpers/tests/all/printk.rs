//! `bpf_trace_printk` and `bpf_snprintf` formatting.

use std::ffi::CString;

use crate::*;

/// Calls `bpf_trace_printk(fmt, sizeof(fmt), args...)`; returns (r0, lines printed).
fn printk(fmt: &str, args: &[u64]) -> (u64, Vec<String>) {
    let fx = Fixture::new();
    let mut env = TestEnv::new();
    let mut f = fmt.as_bytes().to_vec();
    f.push(0);
    let fa = env.put(&f);
    let mut all = vec![fa, f.len() as u64];
    all.extend_from_slice(args);
    let r = {
        let mut h = fx.plain();
        ok(&mut h, &mut env, "trace_printk", &all)
    };
    (r, fx.trace.take())
}

fn line(fmt: &str, args: &[u64]) -> String {
    let (r, lines) = printk(fmt, args);
    assert_eq!(lines.len(), 1, "{fmt}: {lines:?}");
    assert!((r as i64) > 0, "{fmt}: r0 {r}");
    lines[0].clone()
}

#[test]
fn the_globals_example() {
    let (r, lines) = printk("globals_calls len=%d result=%d", &[33, 108]);
    assert_eq!(lines, ["globals_calls len=33 result=108"]);
    assert_eq!(r, "globals_calls len=33 result=108".len() as u64);
}

#[test]
fn trailing_newline_is_not_part_of_the_line_but_counts() {
    let (r, lines) = printk("hello %u\n", &[7]);
    assert_eq!(lines, ["hello 7"]);
    assert_eq!(r, 8);
}

#[test]
fn integer_conversions() {
    assert_eq!(
        line("%d %i", &[0xffff_ffff, 0x1_0000_0005]),
        "-1 5",
        "32-bit by default"
    );
    assert_eq!(line("%u", &[0xffff_ffff]), "4294967295");
    assert_eq!(
        line("%ld %lu", &[u64::MAX, u64::MAX]),
        "-1 18446744073709551615"
    );
    assert_eq!(
        line("%lld %llu %lli", &[(-42i64) as u64, 1 << 40, 3]),
        "-42 1099511627776 3"
    );
    assert_eq!(line("%x %X", &[0xdead_beef, 0xbeef]), "deadbeef BEEF");
    assert_eq!(
        line("%x|%lx|%llx", &[0x1_0000_00ff, 0x1_0000_00ff, u64::MAX]),
        "ff|1000000ff|ffffffffffffffff"
    );
}

#[test]
fn widths_flags_chars_and_percent() {
    assert_eq!(
        line("[%5d][%-5d][%05d]", &[42, 42, 42]),
        "[   42][42   ][00042]"
    );
    assert_eq!(
        line("[%08x][%-4x][%+d]", &[0xab, 0xab, 5]),
        "[000000ab][ab  ][+5]"
    );
    assert_eq!(
        line("%c%c%c", &[u64::from(b'o'), u64::from(b'k'), 0x121]),
        "ok!"
    );
    assert_eq!(line("100%% %d%%", &[5]), "100% 5%");
    assert_eq!(line("[% d][%3c]", &[9, u64::from(b'z')]), "[ 9][  z]");
}

#[test]
fn strings_from_program_and_process_memory() {
    let fx = Fixture::new();
    let mut env = TestEnv::new();
    let s = env.put(b"arena\0");
    let host = CString::new("host").unwrap();
    let fmt = env.put(b"[%s] [%-8s] [%s]\0");
    let mut h = fx.plain();
    let r = ok(
        &mut h,
        &mut env,
        "trace_printk",
        &[fmt, 17, s, host.as_ptr() as u64, 0],
    );
    assert_eq!(
        fx.trace.take(),
        ["[arena] [host    ] []"],
        "null prints as empty"
    );
    assert_eq!(r, "[arena] [host    ] []".len() as u64);
    // An unmapped pointer prints as empty too, without a crash.
    let fmt2 = env.put(b"<%s>\0");
    ok(&mut h, &mut env, "trace_printk", &[fmt2, 5, 1]);
    assert_eq!(fx.trace.take(), ["<>"]);
}

#[test]
fn pointers_and_ip_addresses() {
    let fx = Fixture::new();
    let mut env = TestEnv::new();
    let ip4 = env.put(&[192, 168, 1, 20]);
    let mut v6 = [0u8; 16];
    v6[0] = 0x20;
    v6[1] = 0x01;
    v6[15] = 1;
    let ip6 = env.put(&v6);
    let fmt = env.put(b"%pI4 %pi4 %px\0");
    let mut h = fx.plain();
    ok(
        &mut h,
        &mut env,
        "trace_printk",
        &[fmt, 14, ip4, ip4, 0xffff_8880_1234_5678],
    );
    assert_eq!(
        fx.trace.take(),
        ["192.168.1.20 192.168.001.020 ffff888012345678"]
    );
    let fmt = env.put(b"%pI6\0");
    ok(&mut h, &mut env, "trace_printk", &[fmt, 5, ip6]);
    assert_eq!(fx.trace.take(), ["2001:0000:0000:0000:0000:0000:0000:0001"]);
    // %p hashes: 16 hex digits, not the raw value, stable within the process.
    let fmt = env.put(b"%p %p\0");
    ok(
        &mut h,
        &mut env,
        "trace_printk",
        &[fmt, 6, 0x1234_5678, 0x1234_5678],
    );
    let l = fx.trace.take().remove(0);
    let (a, b) = l.split_once(' ').unwrap();
    assert_eq!(a, b);
    assert_eq!(a.len(), 16);
    assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(a, "0000000012345678");
}

#[test]
fn bad_formats_are_einval_and_print_nothing() {
    for (fmt, args) in [
        ("%q", &[1u64][..]),
        ("%.2d", &[1]),
        ("%#x", &[1]),
        ("%hd", &[1]),
        ("%lc", &[1]),
        ("%d %d %d %d", &[1, 2, 3]),
        ("tab\x01", &[]),
        ("%", &[]),
        ("%pZ", &[1]),
    ] {
        let (r, lines) = printk(fmt, args);
        assert_eq!(r, neg(EINVAL), "{fmt:?}");
        assert!(lines.is_empty(), "{fmt:?}");
    }
}

#[test]
fn format_must_be_nul_terminated_within_its_size() {
    let fx = Fixture::new();
    let mut env = TestEnv::new();
    let fmt = env.put(b"abc\0");
    let mut h = fx.plain();
    assert_eq!(ok(&mut h, &mut env, "trace_printk", &[fmt, 3]), neg(EINVAL));
    assert_eq!(ok(&mut h, &mut env, "trace_printk", &[fmt, 4]), 3);
    assert_eq!(fx.trace.take(), ["abc"]);
}

#[test]
fn long_output_is_cut_but_counted() {
    let fx = Fixture::new();
    let mut env = TestEnv::new();
    let long = env.put(&[b'x'; 400].iter().copied().chain([0]).collect::<Vec<_>>());
    let fmt = env.put(b"%s%s%s\0");
    let mut h = fx.plain();
    assert_eq!(
        ok(
            &mut h,
            &mut env,
            "trace_printk",
            &[fmt, 7, long, long, long]
        ),
        1200
    );
    assert_eq!(fx.trace.take()[0].len(), 1023);
}

/// Calls `bpf_snprintf(buf, size, fmt, data, 8 * data.len())`; returns (r0, buf bytes).
fn snprintf(size: usize, fmt: &str, data: &[u64]) -> (u64, Vec<u8>) {
    let fx = Fixture::new();
    let mut env = TestEnv::new();
    let buf = env.alloc(size.max(1), true);
    env.poke(buf, &vec![0xee; size.max(1)]);
    let mut f = fmt.as_bytes().to_vec();
    f.push(0);
    let fa = env.put(&f);
    let bytes: Vec<u8> = data.iter().flat_map(|d| d.to_ne_bytes()).collect();
    let da = if data.is_empty() { 0 } else { env.put(&bytes) };
    let mut h = fx.plain();
    let r = ok(
        &mut h,
        &mut env,
        "snprintf",
        &[buf, size as u64, fa, da, bytes.len() as u64],
    );
    (r, env.peek(buf, size.max(1)))
}

#[test]
fn snprintf_returns_length_with_nul_and_truncates() {
    let (r, buf) = snprintf(32, "value=%d %s", &[12345, 0]);
    assert_eq!(r, "value=12345 ".len() as u64 + 1);
    assert_eq!(&buf[..13], b"value=12345 \0");
    assert_eq!(buf[13], 0xee, "nothing written past the NUL");

    let (r, buf) = snprintf(8, "value=%d", &[12345]);
    assert_eq!(r, 12);
    assert_eq!(&buf, b"value=1\0");

    let (r, buf) = snprintf(0, "value=%d", &[12345]);
    assert_eq!(r, 12);
    assert_eq!(buf, [0xee], "size 0 writes nothing");

    let (r, _) = snprintf(16, "%d %d %d %d %d", &[1, 2, 3, 4, 5]);
    assert_eq!(r, 10, "more than three arguments are fine");
}

#[test]
fn snprintf_rejects_bad_data_and_formats() {
    assert_eq!(
        snprintf(16, "%d %d", &[1]).0,
        neg(EINVAL),
        "too few arguments"
    );
    assert_eq!(snprintf(16, "%y", &[1]).0, neg(EINVAL));
    assert_eq!(
        snprintf(16, "%d", &[0; 13]).0,
        neg(EINVAL),
        "more than 12 arguments"
    );
    let fx = Fixture::new();
    let mut env = TestEnv::new();
    let buf = env.alloc(16, true);
    let fmt = env.put(b"%d\0");
    let data = env.put(&[0; 16]);
    let mut h = fx.plain();
    assert_eq!(
        ok(&mut h, &mut env, "snprintf", &[buf, 16, fmt, data, 12]),
        neg(EINVAL)
    );
    assert_eq!(
        ok(&mut h, &mut env, "snprintf", &[buf, 16, fmt, 0, 8]),
        neg(EINVAL)
    );
}
