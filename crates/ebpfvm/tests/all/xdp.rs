//! `ebpfvm xdp FILE.o --pcap IN [--out OUT]`: an XDP program over a capture, checked against
//! the kernel-confirmed expectations of `tests/progs/README.md`, and its handling of bad
//! captures, bad map seeds and bad objects.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ebpfvm_runtime::capture::{Capture, CaptureFormat, TsResolution};
use serde_json::{json, Value};

use crate::util::{ebpfvm, s, temp_dir, write, Output};

/// `tests/progs/NAME` at the repository root.
fn progs(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/progs")
        .join(name)
}

/// The frame `tests/progs/packets/NAME.bin`.
fn frame(name: &str) -> Vec<u8> {
    let p = progs("packets").join(format!("{name}.bin"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn mixed_pcap() -> PathBuf {
    progs("packets/mixed.pcap")
}

fn xdp_drop_udp() -> PathBuf {
    progs("xdp_drop_udp.o")
}

/// The frames of mixed.pcap, in capture order (tests/progs/README.md).
const MIXED: [&str; 16] = [
    "ipv4_udp",
    "ipv4_tcp80",
    "ipv4_tcp22",
    "ipv4_tcp443",
    "ipv4_icmp",
    "ipv6_tcp80",
    "ipv6_udp",
    "arp",
    "vlan_ipv4_udp",
    "vlan_ipv4_tcp80",
    "trunc_ipv4",
    "ipv4_tcp80_big",
    "ipv4_udp_src12",
    "ipv4_udp_src13",
    "ipv4_udp_src14",
    "ipv4_udp_src15",
];

/// Parses stdout as one JSON object after checking exit 0 and an empty stderr.
fn json_of(out: &Output) -> Value {
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    assert_eq!(out.stderr, "");
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", out.stdout))
}

/// The dumped map `name` of a JSON output.
fn map<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["maps"]
        .as_array()
        .expect("maps")
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no map {name} in {v}"))
}

/// `(key, value)` hex pairs of a dumped map's entries.
fn entries(m: &Value) -> Vec<(String, String)> {
    m["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["key"].as_str().expect("key").to_string(),
                e["value"].as_str().expect("value").to_string(),
            )
        })
        .collect()
}

/// `(u32 key, u64 value)` as little-endian hex, as the dump prints them.
fn kv(key: u32, value: u64) -> (String, String) {
    (hex(&key.to_le_bytes()), hex(&value.to_le_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Asserts that no temporary output file (`.NAME.tmp-PID`) is left in `dir`.
fn assert_no_tmp(dir: &Path) {
    let left: Vec<String> = listing(dir)
        .into_iter()
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

/// A classic pcap (LE, µs) with link type `link` holding `frames` (timestamps 1, 2, ...).
fn pcap(link: u32, frames: &[&[u8]]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0xa1b2_c3d4_u32.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&4u16.to_le_bytes());
    b.extend_from_slice(&0i32.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&65535u32.to_le_bytes());
    b.extend_from_slice(&link.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        b.extend_from_slice(&(i as u32 + 1).to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&(f.len() as u32).to_le_bytes());
        b.extend_from_slice(&(f.len() as u32).to_le_bytes());
        b.extend_from_slice(f);
    }
    b
}

fn pcapng_block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
    assert_eq!(body.len() % 4, 0);
    let len = (body.len() + 12) as u32;
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&len.to_le_bytes());
}

/// A little-endian pcapng: one Ethernet interface with nanosecond timestamps
/// (`if_tsresol` 9), then one Enhanced Packet Block per `(nanoseconds since the epoch, frame)`.
fn pcapng_ns(frames: &[(u64, &[u8])]) -> Vec<u8> {
    let mut b = Vec::new();
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1a2b_3c4d_u32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    pcapng_block(&mut b, 0x0a0d_0d0a, &shb);
    let mut idb = Vec::new();
    idb.extend_from_slice(&1u16.to_le_bytes()); // LINKTYPE_ETHERNET
    idb.extend_from_slice(&0u16.to_le_bytes());
    idb.extend_from_slice(&0u32.to_le_bytes()); // snaplen: none
    idb.extend_from_slice(&9u16.to_le_bytes()); // if_tsresol
    idb.extend_from_slice(&1u16.to_le_bytes());
    idb.extend_from_slice(&[9, 0, 0, 0]);
    idb.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
    pcapng_block(&mut b, 1, &idb);
    for (ts, f) in frames {
        let mut epb = Vec::new();
        epb.extend_from_slice(&0u32.to_le_bytes());
        epb.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(*ts as u32).to_le_bytes());
        epb.extend_from_slice(&(f.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(f.len() as u32).to_le_bytes());
        epb.extend_from_slice(f);
        epb.resize(epb.len().div_ceil(4) * 4, 0);
        pcapng_block(&mut b, 6, &epb);
    }
    b
}

/// Line `NAME COUNT` of the text output (any spacing).
fn has_count_line(stdout: &str, name: &str, n: u64) -> bool {
    stdout.lines().any(|l| {
        let t: Vec<&str> = l.split_whitespace().collect();
        t.len() == 2 && t[0] == name && t[1] == n.to_string()
    })
}

#[test]
fn mixed_pcap_fixture_is_as_documented() {
    // The input the expectations below are about: 16 frames, the .bin files, in this order,
    // timestamps 1700000000 + i seconds.
    let cap = Capture::open(mixed_pcap()).unwrap();
    assert_eq!(cap.format, CaptureFormat::Pcap);
    assert_eq!(cap.packets.len(), 16);
    for (i, (p, name)) in cap.packets.iter().zip(MIXED).enumerate() {
        assert_eq!(p.data, frame(name), "packet {i} is {name}");
        assert_eq!(p.orig_len as usize, p.data.len());
        assert_eq!(p.timestamp, Duration::from_secs(1_700_000_000 + i as u64));
    }
}

#[test]
fn drop_udp_over_mixed_pcap_json() {
    let dir = temp_dir("xdp-mixed");
    let passed = dir.join("passed.pcap");
    let out = ebpfvm(&[
        "xdp",
        s(&xdp_drop_udp()),
        "--pcap",
        s(&mixed_pcap()),
        "--out",
        s(&passed),
        "--json",
    ]);
    let v = json_of(&out);
    assert_eq!(v["program"], "xdp_drop_udp");
    assert_eq!(v["packets"], 16);
    assert_eq!(
        v["actions"],
        json!({"XDP_ABORTED": 0, "XDP_DROP": 6, "XDP_PASS": 10, "XDP_TX": 0,
               "XDP_REDIRECT": 0, "invalid": 0})
    );
    assert_eq!(v["faults"], 0);
    assert_eq!(
        v["retvals"],
        json!([1, 2, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 1, 1, 1, 1])
    );
    assert_eq!(v["written"], 10);
    assert_eq!(v["out"], s(&passed));
    let pc = map(&v, "proto_count");
    assert_eq!(pc["type"], "array");
    assert_eq!(
        (pc["key_size"].clone(), pc["value_size"].clone()),
        (json!(4), json!(8))
    );
    assert_eq!(pc["max_entries"], 256);
    assert_eq!(
        entries(pc),
        vec![kv(0, 1), kv(1, 1), kv(6, 6), kv(17, 7)],
        "proto_count"
    );
    assert_eq!(pc["zero_entries"], 252);

    // The output: frames 2-8 and 10-12, bytes and timestamps as in the input.
    assert_eq!(listing(&dir), ["passed.pcap"]);
    let cap = Capture::open(&passed).unwrap();
    assert_eq!(cap.format, CaptureFormat::Pcap);
    assert_eq!(cap.ts_resolution, TsResolution::Micro);
    let expect: Vec<usize> = (1..=7).chain(9..=11).collect();
    assert_eq!(cap.packets.len(), expect.len());
    for (p, &i) in cap.packets.iter().zip(&expect) {
        assert_eq!(
            p.data,
            frame(MIXED[i]),
            "output packet {} is {}",
            p.index,
            MIXED[i]
        );
        assert_eq!(p.orig_len as usize, p.data.len());
        assert_eq!(p.timestamp, Duration::from_secs(1_700_000_000 + i as u64));
    }
}

#[test]
fn drop_udp_over_mixed_pcap_text() {
    let dir = temp_dir("xdp-text");
    let passed = dir.join("passed.pcap");
    let out = ebpfvm(&[
        "xdp",
        s(&xdp_drop_udp()),
        "--pcap",
        s(&mixed_pcap()),
        "--out",
        s(&passed),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    for (name, n) in [
        ("XDP_ABORTED", 0),
        ("XDP_DROP", 6),
        ("XDP_PASS", 10),
        ("XDP_TX", 0),
        ("XDP_REDIRECT", 0),
    ] {
        assert!(
            has_count_line(&out.stdout, name, n),
            "{name} {n}:\n{}",
            out.stdout
        );
    }
    assert!(
        out.stdout
            .lines()
            .any(|l| l == format!("wrote 10 packets to {}", passed.display())),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("map proto_count"), "{}", out.stdout);
    assert_eq!(Capture::open(&passed).unwrap().packets.len(), 10);

    // Without --out nothing is written and there is no "wrote" line; --no-maps drops the maps.
    let out = ebpfvm(&[
        "xdp",
        s(&xdp_drop_udp()),
        "--pcap",
        s(&mixed_pcap()),
        "--no-maps",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(has_count_line(&out.stdout, "XDP_DROP", 6), "{}", out.stdout);
    assert!(!out.stdout.contains("wrote"), "{}", out.stdout);
    assert!(!out.stdout.contains("map "), "{}", out.stdout);
    let v = json_of(&ebpfvm(&[
        "xdp",
        s(&xdp_drop_udp()),
        "--pcap",
        s(&mixed_pcap()),
        "--no-maps",
        "--json",
    ]));
    assert_eq!(v["written"], 0);
    assert!(v.get("out").is_none() && v.get("maps").is_none(), "{v}");
}

#[test]
fn maps_seed_adds_to_the_counts() {
    let dir = temp_dir("xdp-seed");
    let seed = write(
        &dir,
        "seed.json",
        r#"{"proto_count": [{"key": 17, "value": 100}, {"key": [6, 0, 0, 0], "value": "0a00000000000000"}]}"#,
    );
    let v = json_of(&ebpfvm(&[
        "xdp",
        s(&xdp_drop_udp()),
        "--pcap",
        s(&mixed_pcap()),
        "--maps",
        s(&seed),
        "--json",
    ]));
    assert_eq!(
        entries(map(&v, "proto_count")),
        vec![kv(0, 1), kv(1, 1), kv(6, 16), kv(17, 107)]
    );
}

#[test]
fn pcapng_keeps_nanosecond_timestamps() {
    let dir = temp_dir("xdp-pcapng");
    let udp = frame("ipv4_udp");
    let tcp = frame("ipv4_tcp80");
    let t1 = 1_700_000_000_123_456_789_u64;
    let t2 = 1_700_000_001_987_654_321_u64;
    let input = write(&dir, "in.pcapng", pcapng_ns(&[(t1, &udp), (t2, &tcp)]));
    let outp = dir.join("out.pcapng");
    let v = json_of(&ebpfvm(&[
        "xdp",
        s(&xdp_drop_udp()),
        "--pcap",
        s(&input),
        "--out",
        s(&outp),
        "--json",
    ]));
    assert_eq!(v["retvals"], json!([1, 2]));
    assert_eq!(v["written"], 1);
    let cap = Capture::open(&outp).unwrap();
    assert_eq!(cap.format, CaptureFormat::PcapNg);
    assert_eq!(cap.packets.len(), 1);
    assert_eq!(cap.packets[0].data, tcp);
    assert_eq!(cap.packets[0].timestamp, Duration::from_nanos(t2));
    assert_eq!(listing(&dir), ["in.pcapng", "out.pcapng"]);
}

#[test]
fn xdp_tx_frames_are_written() {
    // tail_loop returns XDP_TX (tests/progs/README.md, tail_calls).
    let dir = temp_dir("xdp-tx");
    let f = frame("tail_0");
    let tail_calls = progs("tail_calls.o");
    // pcapng: marked with the comment XDP_TX.
    let input = write(&dir, "in.pcapng", pcapng_ns(&[(5, &f)]));
    let outp = dir.join("out.pcapng");
    let v = json_of(&ebpfvm(&[
        "xdp",
        s(&tail_calls),
        "--prog",
        "tail_loop",
        "--pcap",
        s(&input),
        "--out",
        s(&outp),
        "--json",
    ]));
    assert_eq!(v["retvals"], json!([3]));
    assert_eq!(v["actions"]["XDP_TX"], 1);
    assert_eq!(v["written"], 1);
    let cap = Capture::open(&outp).unwrap();
    assert_eq!(cap.packets.len(), 1);
    assert_eq!(cap.packets[0].data, f);
    assert_eq!(cap.packets[0].comment.as_deref(), Some("XDP_TX"));
    // Classic pcap: written without a mark.
    let input = write(&dir, "in.pcap", pcap(1, &[&f, &f]));
    let outp = dir.join("out.pcap");
    let v = json_of(&ebpfvm(&[
        "xdp",
        s(&tail_calls),
        "--prog",
        "tail_loop",
        "--pcap",
        s(&input),
        "--out",
        s(&outp),
        "--json",
    ]));
    assert_eq!(v["retvals"], json!([3, 3]));
    let cap = Capture::open(&outp).unwrap();
    assert_eq!(cap.packets.len(), 2);
    assert!(cap
        .packets
        .iter()
        .all(|p| p.data == f && p.comment.is_none()));
}

/// Runs `xdp xdp_drop_udp.o --pcap CAPTURE --out DIR/passed.pcap` and checks that it fails
/// with `code` and an error containing every one of `needles`, leaving no output and no
/// temporary file.
fn bad_capture(dir: &Path, capture: &Path, code: i32, needles: &[&str]) {
    let passed = dir.join("passed.pcap");
    let before = listing(dir);
    let out = ebpfvm(&[
        "xdp",
        s(&xdp_drop_udp()),
        "--pcap",
        s(capture),
        "--out",
        s(&passed),
        "--json",
    ]);
    let msg = out.expect_error(code);
    for n in needles {
        assert!(msg.contains(n), "{msg:?} should mention {n:?}");
    }
    assert_eq!(out.stdout, "");
    assert!(!passed.exists(), "{} was written", passed.display());
    assert_no_tmp(dir);
    assert_eq!(listing(dir), before);
}

#[test]
fn truncated_captures() {
    let dir = temp_dir("xdp-trunc");
    let whole = std::fs::read(mixed_pcap()).unwrap();
    // Packet 2's record starts at byte 87 (24 + 16 + 47); cut in the middle of its data,
    // then in the middle of its record header, then in the file header.
    let cut = write(&dir, "cut-data.pcap", &whole[..87 + 16 + 20]);
    bad_capture(&dir, &cut, 2, &["cut-data.pcap", "packet 2", "truncated"]);
    let cut = write(&dir, "cut-header.pcap", &whole[..87 + 7]);
    bad_capture(&dir, &cut, 2, &["packet 2", "truncated"]);
    // The last packet cut short: the 15 before it ran, but nothing is written.
    let cut = write(&dir, "cut-last.pcap", &whole[..whole.len() - 10]);
    bad_capture(&dir, &cut, 2, &["packet 16", "truncated"]);
    let cut = write(&dir, "cut-file-header.pcap", &whole[..10]);
    bad_capture(&dir, &cut, 2, &["truncated"]);
}

#[test]
fn captures_that_cannot_run() {
    let dir = temp_dir("xdp-badcap");
    let udp = frame("ipv4_udp");
    let big = vec![0u8; 5000];
    let f = write(&dir, "big.pcap", pcap(1, &[&udp, &big, &udp]));
    bad_capture(&dir, &f, 2, &["packet 2", "5000 bytes"]);
    let short = [0u8; 10];
    let f = write(&dir, "short.pcap", pcap(1, &[&short]));
    bad_capture(&dir, &f, 2, &["packet 1", "10 bytes"]);
    // LINKTYPE_LINUX_SLL (113).
    let f = write(&dir, "sll.pcap", pcap(113, &[&udp]));
    bad_capture(&dir, &f, 2, &["link type 113"]);
    let f = write(
        &dir,
        "garbage.pcap",
        b"this is not a capture file at all, just some text\n",
    );
    bad_capture(&dir, &f, 2, &["garbage.pcap", "not a pcap or pcapng file"]);
    let f = write(&dir, "empty.pcap", b"");
    bad_capture(&dir, &f, 2, &["not a pcap or pcapng file"]);
    bad_capture(&dir, &dir.join("missing.pcap"), 2, &["missing.pcap"]);
}

#[test]
fn a_failed_run_leaves_an_existing_output_alone() {
    let dir = temp_dir("xdp-keep");
    let passed = write(&dir, "passed.pcap", b"precious");
    let whole = std::fs::read(mixed_pcap()).unwrap();
    let cut = write(&dir, "cut.pcap", &whole[..whole.len() - 10]);
    let out = ebpfvm(&[
        "xdp",
        s(&xdp_drop_udp()),
        "--pcap",
        s(&cut),
        "--out",
        s(&passed),
    ]);
    assert!(out.expect_error(2).contains("packet 16"));
    assert_eq!(std::fs::read(&passed).unwrap(), b"precious");
    assert_no_tmp(&dir);
    // A bad map seed, too.
    let seed = write(&dir, "seed.json", r#"{"nosuch": []}"#);
    let out = ebpfvm(&[
        "xdp",
        s(&xdp_drop_udp()),
        "--pcap",
        s(&mixed_pcap()),
        "--maps",
        s(&seed),
        "--out",
        s(&passed),
    ]);
    out.expect_error(2);
    assert_eq!(std::fs::read(&passed).unwrap(), b"precious");
    assert_no_tmp(&dir);
    // A good run replaces it.
    let out = ebpfvm(&[
        "xdp",
        s(&xdp_drop_udp()),
        "--pcap",
        s(&mixed_pcap()),
        "--out",
        s(&passed),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(Capture::open(&passed).unwrap().packets.len(), 10);
    assert_no_tmp(&dir);
}

#[test]
fn unwritable_output() {
    let dir = temp_dir("xdp-unwritable");
    let out = ebpfvm(&[
        "xdp",
        s(&xdp_drop_udp()),
        "--pcap",
        s(&mixed_pcap()),
        "--out",
        s(&dir.join("no/such/dir/out.pcap")),
    ]);
    assert!(out.expect_error(2).contains("out.pcap"));
    assert_eq!(out.stdout, "");
    assert_eq!(listing(&dir), Vec::<String>::new());
    // A directory as the output.
    std::fs::create_dir(dir.join("sub")).unwrap();
    let out = ebpfvm(&[
        "xdp",
        s(&xdp_drop_udp()),
        "--pcap",
        s(&mixed_pcap()),
        "--out",
        s(&dir.join("sub")),
    ]);
    assert!(out.expect_error(2).contains("is a directory"));
    assert_eq!(listing(&dir), ["sub"]);
    assert_eq!(listing(&dir.join("sub")), Vec::<String>::new());
}

#[test]
fn bad_map_seeds() {
    let dir = temp_dir("xdp-badseed");
    for (name, text, code, needle) in [
        (
            "key-size.json",
            r#"{"proto_count": [{"key": "1100", "value": 1}]}"#,
            2,
            "key is 2 bytes, the map's are 4",
        ),
        (
            "value-size.json",
            r#"{"proto_count": [{"key": 17, "value": [1, 2, 3]}]}"#,
            2,
            "value is 3 bytes, the map's are 8",
        ),
        (
            "unknown.json",
            r#"{"no_such_map": [{"key": 1, "value": 1}]}"#,
            2,
            "no map named 'no_such_map'",
        ),
        (
            "invalid.json",
            r#"{"proto_count": [{"key": 1,"#,
            2,
            "not valid JSON",
        ),
        ("list.json", r#"[1, 2, 3]"#, 2, "JSON object"),
        (
            "range.json",
            r#"{"proto_count": [{"key": 256, "value": 1}]}"#,
            1,
            "proto_count",
        ),
    ] {
        let seed = write(&dir, name, text);
        let passed = dir.join("passed.pcap");
        let out = ebpfvm(&[
            "xdp",
            s(&xdp_drop_udp()),
            "--pcap",
            s(&mixed_pcap()),
            "--maps",
            s(&seed),
            "--out",
            s(&passed),
        ]);
        let msg = out.expect_error(code);
        assert!(msg.contains(needle), "{name}: {msg:?}");
        assert!(msg.contains(name), "{name}: {msg:?}");
        assert!(!passed.exists());
        assert_no_tmp(&dir);
    }
}

#[test]
fn choosing_the_program() {
    let mixed = mixed_pcap();
    // No XDP program in the object.
    let out = ebpfvm(&["xdp", s(&progs("socket_filter.o")), "--pcap", s(&mixed)]);
    assert!(out.expect_error(2).contains("no XDP program"));
    // Four: one must be named.
    let out = ebpfvm(&["xdp", s(&progs("tail_calls.o")), "--pcap", s(&mixed)]);
    let msg = out.expect_error(2);
    for p in ["tail_entry", "tail_a", "tail_b", "tail_loop", "--prog"] {
        assert!(msg.contains(p), "{msg}");
    }
    // A program that is not XDP.
    let out = ebpfvm(&[
        "xdp",
        s(&progs("kprobe_ringbuf.o")),
        "--prog",
        "trace_openat2",
        "--pcap",
        s(&mixed),
    ]);
    assert!(out.expect_error(2).contains("not xdp"));
    let out = ebpfvm(&[
        "xdp",
        s(&xdp_drop_udp()),
        "--prog",
        "nosuch",
        "--pcap",
        s(&mixed),
    ]);
    assert!(out.expect_error(2).contains("no program named 'nosuch'"));
    // A program the loader rejected.
    let out = ebpfvm(&[
        "xdp",
        s(&progs("core_access.o")),
        "--prog",
        "core_task",
        "--pcap",
        s(&mixed),
    ]);
    assert!(out.expect_error(1).contains("bpf_get_current_task#35"));
    // core_access's only XDP program runs: core_task being rejected does not matter.
    let v = json_of(&ebpfvm(&[
        "xdp",
        s(&progs("core_access.o")),
        "--pcap",
        s(&mixed),
        "--no-maps",
        "--json",
    ]));
    assert_eq!(v["program"], "core_xdp");
    assert_eq!(v["actions"]["XDP_PASS"], 16);
}

/// xdp_drop_udp.o with its one helper call (`call 1`, bpf_map_lookup_elem) turned into
/// `call 35` (bpf_get_current_task), which an XDP program may not call.
pub(crate) fn rejected_xdp_object(dir: &Path) -> PathBuf {
    let mut o = std::fs::read(xdp_drop_udp()).unwrap();
    let call1 = [0x85, 0, 0, 0, 1, 0, 0, 0];
    let at: Vec<usize> = o
        .windows(8)
        .enumerate()
        .filter(|(_, w)| *w == call1)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at.len(), 1, "call 1 in xdp_drop_udp.o");
    o[at[0] + 4] = 35;
    write(dir, "rejected.o", o)
}

#[test]
fn an_object_whose_only_xdp_program_is_rejected() {
    let dir = temp_dir("xdp-rejected");
    let obj = rejected_xdp_object(&dir);
    let passed = dir.join("passed.pcap");
    let out = ebpfvm(&[
        "xdp",
        s(&obj),
        "--pcap",
        s(&mixed_pcap()),
        "--out",
        s(&passed),
    ]);
    let msg = out.expect_error(1);
    assert!(msg.contains("bpf_get_current_task#35"), "{msg}");
    assert!(!passed.exists());
    assert_no_tmp(&dir);
}

#[test]
fn bad_objects() {
    let dir = temp_dir("xdp-badobj");
    let mixed = mixed_pcap();
    let garbage = write(&dir, "garbage.o", b"not an ELF object\n");
    let out = ebpfvm(&["xdp", s(&garbage), "--pcap", s(&mixed)]);
    assert!(out.expect_error(2).contains("garbage.o"));
    let whole = std::fs::read(xdp_drop_udp()).unwrap();
    let cut = write(&dir, "cut.o", &whole[..2000]);
    let out = ebpfvm(&["xdp", s(&cut), "--pcap", s(&mixed)]);
    assert!(out.expect_error(2).contains("cut.o"));
    let out = ebpfvm(&["xdp", s(&dir.join("missing.o")), "--pcap", s(&mixed)]);
    assert!(out.expect_error(2).contains("missing.o"));
}
