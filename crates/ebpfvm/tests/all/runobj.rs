//! `ebpfvm run FILE.o`: the `tests/progs` fixtures run as `BPF_PROG_TEST_RUN` runs them,
//! checked against the kernel-confirmed expectations of `tests/progs/README.md`, and bad
//! arguments and inputs. (Raw bytecode through `run` is covered by `run_cmd.rs`.)

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{ebpfvm, s, temp_dir, write, Output};

/// `tests/progs/NAME` at the repository root.
fn progs(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/progs")
        .join(name)
}

/// `tests/progs/packets/NAME.bin`.
fn packet(name: &str) -> PathBuf {
    progs("packets").join(format!("{name}.bin"))
}

fn frame(name: &str) -> Vec<u8> {
    std::fs::read(packet(name)).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// `(u32 key, u64 value)` as little-endian hex, as the dump prints them.
fn kv(key: u32, value: u64) -> (String, String) {
    (hex(&key.to_le_bytes()), hex(&value.to_le_bytes()))
}

fn json_of(out: &Output) -> Value {
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    assert_eq!(out.stderr, "");
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", out.stdout))
}

/// `ebpfvm run tests/progs/OBJ.o ARGS... --json`.
fn run_json(obj: &str, args: &[&str]) -> Value {
    let o = progs(&format!("{obj}.o"));
    let mut argv = vec!["run", s(&o)];
    argv.extend_from_slice(args);
    argv.push("--json");
    json_of(&ebpfvm(&argv))
}

/// `ebpfvm run tests/progs/OBJ.o ARGS...`, expected to fail with `code`; the error line.
fn run_err(obj: &Path, args: &[&str], code: i32) -> String {
    let mut argv = vec!["run", s(obj)];
    argv.extend_from_slice(args);
    let out = ebpfvm(&argv);
    let msg = out.expect_error(code).to_string();
    assert_eq!(out.stdout, "", "{argv:?}");
    msg
}

fn map<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["maps"]
        .as_array()
        .expect("maps")
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no map {name} in {v}"))
}

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

#[test]
fn xdp_drop_udp_drops_ipv4_udp() {
    let udp = packet("ipv4_udp");
    let v = run_json("xdp_drop_udp", &["--data-file", s(&udp)]);
    assert_eq!(v["program"], "xdp_drop_udp");
    assert_eq!(v["type"], "xdp");
    assert_eq!(v["retval"], 1);
    assert_eq!(v["action"], "XDP_DROP");
    assert_eq!(v["data_out"], hex(&frame("ipv4_udp")));
    assert_eq!(v["runs"], 1);
    assert_eq!(v["trace"], Value::Array(vec![]));
    assert!(v.get("maps").is_none(), "{v}");

    let v = run_json(
        "xdp_drop_udp",
        &["--data-file", s(&udp), "--repeat", "5", "--dump-maps"],
    );
    assert_eq!(v["retval"], 1);
    assert_eq!(v["runs"], 5);
    assert_eq!(v["data_out"], hex(&frame("ipv4_udp")));
    assert_eq!(entries(map(&v, "proto_count")), vec![kv(17, 5)]);
    assert_eq!(map(&v, "proto_count")["zero_entries"], 255);

    // --data gives the same as --data-file; other frames pass.
    let v = run_json("xdp_drop_udp", &["--data", &hex(&frame("ipv4_udp"))]);
    assert_eq!(v["retval"], 1);
    for (name, retval) in [
        ("ipv4_tcp80", 2),
        ("ipv6_udp", 2),
        ("arp", 2),
        ("vlan_ipv4_udp", 1),
        ("trunc_ipv4", 2),
    ] {
        let v = run_json(
            "xdp_drop_udp",
            &["--data-file", s(&packet(name)), "--dump-maps"],
        );
        assert_eq!(v["retval"], retval, "{name}");
        assert_eq!(v["data_out"], hex(&frame(name)), "{name}");
        let counted = entries(map(&v, "proto_count"));
        assert_eq!(counted.len(), usize::from(name != "trunc_ipv4"), "{name}");
    }
}

#[test]
fn text_output() {
    let o = progs("xdp_drop_udp.o");
    let out = ebpfvm(&[
        "run",
        s(&o),
        "--data-file",
        s(&packet("ipv4_udp")),
        "--dump-maps",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "program xdp_drop_udp (xdp)");
    assert_eq!(lines[1], "retval 1 (XDP_DROP)");
    assert_eq!(
        lines[2],
        format!("data_out 47 bytes: {}", hex(&frame("ipv4_udp")))
    );
    assert!(lines[3].starts_with("duration "), "{}", out.stdout);
    assert!(out.stdout.contains("map proto_count"), "{}", out.stdout);
    let out = ebpfvm(&[
        "run",
        s(&progs("globals_calls.o")),
        "--data-file",
        s(&packet("ipv4_udp")),
    ]);
    assert!(out
        .stdout
        .lines()
        .any(|l| l == "trace globals_calls len=33 result=108"));
}

#[test]
fn socket_filter_sees_the_network_header() {
    let mut zeroed = frame("ipv4_tcp80");
    zeroed[..14].fill(0);
    let v = run_json(
        "socket_filter",
        &["--data-file", s(&packet("ipv4_tcp80")), "--dump-maps"],
    );
    assert_eq!(v["type"], "socket_filter");
    assert_eq!(v["retval"], 40);
    assert!(v.get("action").is_none(), "{v}");
    assert_eq!(v["data_out"], hex(&zeroed));
    assert_eq!(entries(map(&v, "accept_count")), vec![kv(0, 1), kv(1, 40)]);
    for (name, retval) in [
        ("ipv4_tcp22", 40),
        ("ipv4_tcp443", 0),
        ("ipv6_tcp80", 60),
        ("ipv4_udp", 0),
        ("vlan_ipv4_tcp80", 0),
        ("arp", 0),
        ("ipv4_tcp80_big", 140),
    ] {
        let v = run_json("socket_filter", &["--data-file", s(&packet(name))]);
        assert_eq!(v["retval"], retval, "{name}");
    }
}

#[test]
fn globals_calls_trace() {
    let v = run_json(
        "globals_calls",
        &["--data-file", s(&packet("ipv4_udp")), "--dump-maps"],
    );
    assert_eq!(v["retval"], 108);
    assert_eq!(
        v["trace"],
        Value::Array(vec!["globals_calls len=33 result=108".into()])
    );
    // .bss {total_len 33, last_result 108, mix5_calls 1}; .data runs 101.
    let bss = entries(map(&v, ".bss"));
    let mut want = Vec::new();
    want.extend_from_slice(&33u64.to_le_bytes());
    want.extend_from_slice(&108u32.to_le_bytes());
    want.extend_from_slice(&1u32.to_le_bytes());
    assert_eq!(bss, vec![(hex(&0u32.to_le_bytes()), hex(&want))]);
    let data = entries(map(&v, ".data"));
    let mut want = Vec::new();
    for w in [1u32, 2, 3, 4] {
        want.extend_from_slice(&w.to_le_bytes());
    }
    want.extend_from_slice(&101u64.to_le_bytes());
    assert_eq!(data, vec![(hex(&0u32.to_le_bytes()), hex(&want))]);
    // Three runs of the same frame: the trace has one line per run.
    let v = run_json(
        "globals_calls",
        &["--data-file", s(&packet("ipv6_tcp80")), "--repeat", "3"],
    );
    assert_eq!(v["retval"], 188);
    assert_eq!(
        v["trace"],
        Value::Array(vec!["globals_calls len=60 result=188".into(); 3])
    );
}

#[test]
fn tail_calls() {
    let v = run_json(
        "tail_calls",
        &[
            "--prog",
            "tail_entry",
            "--data-file",
            s(&packet("tail_2")),
            "--dump-maps",
        ],
    );
    assert_eq!(v["program"], "tail_entry");
    assert_eq!(v["retval"], 3);
    assert_eq!(v["action"], "XDP_TX");
    // entry once, then tail_loop 33 times (1 + 32 self calls; the 34th tail call fails).
    assert_eq!(entries(map(&v, "hits")), vec![kv(0, 1), kv(3, 33)]);
    for (f, retval) in [("tail_0", 2), ("tail_1", 2), ("tail_3", 1), ("tail_4", 1)] {
        let v = run_json(
            "tail_calls",
            &["--prog", "tail_entry", "--data-file", s(&packet(f))],
        );
        assert_eq!(v["retval"], retval, "{f}");
    }
    let v = run_json(
        "tail_calls",
        &[
            "--prog",
            "tail_loop",
            "--data-file",
            s(&packet("tail_0")),
            "--dump-maps",
        ],
    );
    assert_eq!(v["retval"], 3);
    assert_eq!(entries(map(&v, "hits")), vec![kv(3, 34)]);
}

#[test]
fn bpf_loop() {
    let v = run_json(
        "bpf_loop",
        &["--data-file", s(&packet("ipv4_udp")), "--dump-maps"],
    );
    assert_eq!(v["retval"], 528);
    assert_eq!(
        entries(map(&v, "results")),
        vec![kv(0, 528), kv(1, 33), kv(2, 7), kv(3, 33), kv(4, 8)]
    );
    assert_eq!(entries(map(&v, "vals")), vec![kv(1, 33)]);
    let v = run_json("bpf_loop", &["--data-file", s(&packet("ipv4_tcp80_big"))]);
    assert_eq!(v["retval"], 9730);
}

/// `struct flow_val {u64 packets; u64 bytes;}` as hex.
fn flow(packets: u64, bytes: u64) -> String {
    let mut b = packets.to_le_bytes().to_vec();
    b.extend_from_slice(&bytes.to_le_bytes());
    hex(&b)
}

#[test]
fn hash_counter_with_seeded_maps() {
    let dir = temp_dir("runobj-seed");
    // Fresh: ipv4_udp inserts {1, 47}.
    let v = run_json(
        "hash_counter",
        &["--data-file", s(&packet("ipv4_udp")), "--dump-maps"],
    );
    assert_eq!(v["retval"], 2);
    assert_eq!(
        entries(map(&v, "flows")),
        vec![("0a000001".to_string(), flow(1, 47))]
    );
    // Seeded with {5, 100}: a hit, {6, 147}.
    let seed = write(
        &dir,
        "flows.json",
        format!(
            r#"{{"flows": [{{"key": "0a000001", "value": "{}"}}]}}"#,
            flow(5, 100)
        ),
    );
    let v = run_json(
        "hash_counter",
        &[
            "--data-file",
            s(&packet("ipv4_udp")),
            "--maps",
            s(&seed),
            "--dump-maps",
        ],
    );
    assert_eq!(v["retval"], 2);
    assert_eq!(
        entries(map(&v, "flows")),
        vec![("0a000001".to_string(), flow(6, 147))]
    );
    // stats: one HIT, summed over the per-CPU slots.
    let stats = map(&v, "stats");
    let hit: Vec<u64> = stats["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let key = e["key"].as_str().unwrap();
            let sum: u64 = e["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| u64::from_le_bytes(unhex(x.as_str().unwrap()).try_into().unwrap()))
                .sum();
            assert_eq!(key, "01000000", "{stats}");
            sum
        })
        .collect();
    assert_eq!(hit, vec![1]);
    // A full table: 4 seeded keys, then a new source is refused with -E2BIG (XDP_DROP),
    // and .bss last_err = -7.
    let seed = write(
        &dir,
        "full.json",
        r#"{"flows": [
            {"key": "0a000001", "value": [1,0,0,0,0,0,0,0, 47,0,0,0,0,0,0,0]},
            {"key": "0a00000c", "value": [1,0,0,0,0,0,0,0, 47,0,0,0,0,0,0,0]},
            {"key": "0a00000d", "value": [1,0,0,0,0,0,0,0, 47,0,0,0,0,0,0,0]},
            {"key": "0a00000e", "value": [1,0,0,0,0,0,0,0, 47,0,0,0,0,0,0,0]}]}"#,
    );
    let v = run_json(
        "hash_counter",
        &[
            "--data-file",
            s(&packet("ipv4_udp_src15")),
            "--maps",
            s(&seed),
            "--dump-maps",
        ],
    );
    assert_eq!(v["retval"], 1);
    assert_eq!(entries(map(&v, ".bss")), vec![kv(0, (-7i64) as u64)]);
    // Seeding a fifth key does not fit the 4-entry table: the map refuses it (exit 1).
    let zero = "00".repeat(16);
    let keys = ["0a000001", "0a00000c", "0a00000d", "0a00000e", "0a00000f"];
    let elems: Vec<String> = keys
        .iter()
        .map(|k| format!(r#"{{"key": "{k}", "value": "{zero}"}}"#))
        .collect();
    let seed = write(
        &dir,
        "over.json",
        format!(r#"{{"flows": [{}]}}"#, elems.join(", ")),
    );
    let msg = run_err(
        &progs("hash_counter.o"),
        &["--data-file", s(&packet("ipv4_udp")), "--maps", s(&seed)],
        1,
    );
    assert!(msg.contains("over.json") && msg.contains("flows"), "{msg}");
}

#[test]
fn map_in_map_and_legacy_maps() {
    let v = run_json(
        "map_in_map",
        &["--data-file", s(&packet("sel_0_2_0")), "--dump-maps"],
    );
    assert_eq!(v["retval"], 2);
    assert_eq!(entries(map(&v, "inner_a")), vec![kv(2, 1)]);
    assert_eq!(
        run_json("map_in_map", &["--data-file", s(&packet("sel_2_0_0"))])["retval"],
        1
    );
    assert_eq!(
        run_json("map_in_map", &["--data-file", s(&packet("sel_0_9_0"))])["retval"],
        0
    );
    let v = run_json(
        "legacy_maps",
        &["--data-file", s(&packet("ipv4_tcp80_big")), "--dump-maps"],
    );
    assert_eq!(v["retval"], 0);
    assert_eq!(entries(map(&v, "proto_pkts")), vec![kv(6, 1)]);
    assert_eq!(entries(map(&v, "proto_bytes")), vec![kv(6, 140)]);
    assert_eq!(entries(map(&v, "big_packets")), vec![kv(6, 1)]);
}

#[test]
fn core_xdp() {
    let v = run_json(
        "core_access",
        &[
            "--prog",
            "core_xdp",
            "--data-file",
            s(&packet("ipv4_tcp80")),
            "--dump-maps",
        ],
    );
    assert_eq!(v["retval"], 2);
    let got = entries(map(&v, "core_out"));
    // Slot 10 depends on the CO-RE target (tests/progs/README.md), so it is left out.
    for (slot, want) in [
        (0u32, 14u64),
        (1, 20),
        (2, 9),
        (3, 4),
        (4, 1),
        (6, 3),
        (7, 1),
        (9, 1),
        (11, 1),
        (12, 1),
        (13, 4),
        (14, 5),
        (15, 6),
    ] {
        assert!(
            got.contains(&kv(slot, want)),
            "slot {slot} = {want}: {got:?}"
        );
    }
    for slot in [5u32, 8] {
        let key = hex(&slot.to_le_bytes());
        assert!(
            !got.iter().any(|(k, _)| *k == key),
            "slot {slot} is 0: {got:?}"
        );
    }
    // By section: `xdp` holds one program.
    let v = run_json(
        "core_access",
        &["--section", "xdp", "--data-file", s(&packet("arp"))],
    );
    assert_eq!(
        (v["program"].as_str(), v["retval"].as_u64()),
        (Some("core_xdp"), Some(2))
    );
}

/// `struct pt_regs` (168 bytes) with `rdi` (+112), `rsi` (+104), `rdx` (+96), `rax` (+80).
fn pt_regs(rdi: i64, rsi: u64, rdx: u64, rax: i64) -> Vec<u8> {
    let mut r = vec![0u8; 168];
    r[112..120].copy_from_slice(&rdi.to_le_bytes());
    r[104..112].copy_from_slice(&rsi.to_le_bytes());
    r[96..104].copy_from_slice(&rdx.to_le_bytes());
    r[80..88].copy_from_slice(&rax.to_le_bytes());
    r
}

/// The ring buffer records of `events`.
fn ring_records(v: &Value) -> Vec<Vec<u8>> {
    let m = map(v, "events");
    assert_eq!(m["type"], "ringbuf");
    m["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert!(e.get("key").is_none(), "{e}");
            unhex(e["value"].as_str().unwrap())
        })
        .collect()
}

#[test]
fn kprobe_ringbuf() {
    let ctx = hex(&pt_regs(-100, 0, 0, 0));
    let v = run_json(
        "kprobe_ringbuf",
        &["--prog", "trace_openat2", "--ctx", &ctx, "--dump-maps"],
    );
    assert_eq!(v["type"], "kprobe");
    assert_eq!(v["retval"], 0);
    let recs = ring_records(&v);
    assert_eq!(recs.len(), 1);
    let rec = &recs[0];
    assert_eq!(rec.len(), 304);
    let u32at = |o: usize| u32::from_le_bytes(rec[o..o + 4].try_into().unwrap());
    let u64at = |o: usize| u64::from_le_bytes(rec[o..o + 8].try_into().unwrap());
    assert_eq!(u32at(0), 1, "kind");
    assert_eq!(u32at(12) as i32, -100, "dfd");
    assert_eq!(u64at(24), 0, "flags");
    assert_eq!(u64at(32), 0, "mode");
    assert_eq!(u64at(40) as i64, -14, "name_len");
    assert!(rec[48..].iter().all(|&b| b == 0), "filename");
    assert!(entries(map(&v, "dropped")).is_empty());

    // The same context from a file; without --dump-maps there is no map.
    let dir = temp_dir("runobj-kprobe");
    let f = write(&dir, "regs.bin", pt_regs(-100, 0, 0, 0));
    let v = run_json(
        "kprobe_ringbuf",
        &["--prog", "trace_openat2", "--ctx-file", s(&f)],
    );
    assert_eq!(v["retval"], 0);
    assert!(v.get("maps").is_none());

    // The kretprobe: a 24-byte ret_event {kind 2, pid, tgid, pad 0, ret = rax}.
    let ctx = hex(&pt_regs(0, 0, 0, -2));
    let v = run_json(
        "kprobe_ringbuf",
        &["--prog", "trace_openat2_ret", "--ctx", &ctx, "--dump-maps"],
    );
    assert_eq!(v["retval"], 0);
    let recs = ring_records(&v);
    assert_eq!(recs.len(), 1);
    let rec = &recs[0];
    assert_eq!(rec.len(), 24);
    assert_eq!(u32::from_le_bytes(rec[0..4].try_into().unwrap()), 2);
    assert_eq!(i32::from_le_bytes(rec[12..16].try_into().unwrap()), 0);
    assert_eq!(i64::from_le_bytes(rec[16..24].try_into().unwrap()), -2);
}

#[test]
fn choosing_the_program() {
    let tail = progs("tail_calls.o");
    let f = packet("tail_0");
    // Several programs, none named.
    let msg = run_err(&tail, &["--data-file", s(&f)], 2);
    assert!(
        msg.contains("tail_entry") && msg.contains("--prog"),
        "{msg}"
    );
    let msg = run_err(&tail, &["--section", "xdp", "--data-file", s(&f)], 2);
    assert!(msg.contains("tail_loop") && msg.contains("--prog"), "{msg}");
    let msg = run_err(&tail, &["--section", "nosuch", "--data-file", s(&f)], 2);
    assert!(msg.contains("nosuch"), "{msg}");
    let msg = run_err(&tail, &["--prog", "nosuch", "--data-file", s(&f)], 2);
    assert!(msg.contains("no program named 'nosuch'"), "{msg}");
    assert!(msg.contains("tail_entry"), "{msg}");
    // Rejected at load: by name, by section, or as the object's only runnable choice.
    let core = progs("core_access.o");
    for args in [
        &["--prog", "core_task"][..],
        &["--section", "raw_tp/sys_enter"][..],
    ] {
        let msg = run_err(&core, args, 1);
        assert!(msg.contains("bpf_get_current_task#35"), "{args:?}: {msg}");
    }
    let dir = temp_dir("runobj-rejected");
    let obj = crate::xdp::rejected_xdp_object(&dir);
    let msg = run_err(&obj, &["--data-file", s(&packet("ipv4_udp"))], 1);
    assert!(msg.contains("bpf_get_current_task#35"), "{msg}");
}

#[test]
fn program_types() {
    let udp = packet("ipv4_udp");
    let o = progs("xdp_drop_udp.o");
    let msg = run_err(&o, &["--type", "nosuchtype", "--data-file", s(&udp)], 2);
    assert!(msg.contains("nosuchtype"), "{msg}");
    // globals_calls is a socket filter; as sched_cls it sees the frame from the Ethernet
    // header: skb->len 47, result min(3*47 + (47 & 3) + 8, 1000) = 152.
    let v = run_json(
        "globals_calls",
        &["--type", "sched_cls", "--data-file", s(&udp)],
    );
    assert_eq!(v["type"], "sched_cls");
    assert_eq!(v["retval"], 152);
    assert_eq!(v["trace"][0], "globals_calls len=47 result=152");
}

#[test]
fn bad_data_and_context() {
    let o = progs("xdp_drop_udp.o");
    // XDP needs at least an Ethernet header (the kernel: EINVAL).
    let msg = run_err(&o, &["--data", "0102030405"], 2);
    assert!(msg.contains("14 bytes"), "{msg}");
    let msg = run_err(&o, &[], 2);
    assert!(msg.contains("14 bytes"), "{msg}");
    let big = "00".repeat(5000);
    let msg = run_err(&o, &["--data", &big], 2);
    assert!(msg.contains("5000"), "{msg}");
    let msg = run_err(&o, &["--data", "zz"], 2);
    assert!(msg.contains("--data"), "{msg}");
    let msg = run_err(&o, &["--data-file", "/nonexistent/frame.bin"], 2);
    assert!(msg.contains("/nonexistent/frame.bin"), "{msg}");
    let k = progs("kprobe_ringbuf.o");
    for ctx in ["abc", "zz", "0x1"] {
        let msg = run_err(&k, &["--prog", "trace_openat2", "--ctx", ctx], 2);
        assert!(msg.contains("--ctx"), "{ctx}: {msg}");
    }
    let msg = run_err(
        &k,
        &["--prog", "trace_openat2", "--ctx-file", "/nonexistent/ctx"],
        2,
    );
    assert!(msg.contains("/nonexistent/ctx"), "{msg}");
    // More than a pt_regs; data for a kprobe.
    let msg = run_err(
        &k,
        &["--prog", "trace_openat2", "--ctx", &"00".repeat(200)],
        2,
    );
    assert!(msg.contains("200"), "{msg}");
    let msg = run_err(&k, &["--prog", "trace_openat2", "--data", "00"], 2);
    assert!(msg.contains("--ctx"), "{msg}");
    // The JIT is not there for objects.
    let msg = run_err(
        &o,
        &["--engine", "jit", "--data-file", s(&packet("ipv4_udp"))],
        2,
    );
    assert!(msg.contains("jit") || msg.contains("JIT"), "{msg}");
}

#[test]
fn bad_objects() {
    let dir = temp_dir("runobj-badobj");
    let udp = packet("ipv4_udp");
    let garbage = write(&dir, "garbage.o", b"not an ELF object\n");
    let msg = run_err(&garbage, &["--prog", "x", "--data-file", s(&udp)], 2);
    assert!(msg.contains("garbage.o") && msg.contains("ELF"), "{msg}");
    let msg = run_err(&garbage, &["--dump-maps"], 2);
    assert!(msg.contains("garbage.o"), "{msg}");
    let fake = write(&dir, "fake.o", b"\x7fELF and then nothing useful");
    let msg = run_err(&fake, &["--data-file", s(&udp)], 2);
    assert!(msg.contains("fake.o"), "{msg}");
    let whole = std::fs::read(progs("xdp_drop_udp.o")).unwrap();
    let cut = write(&dir, "cut.o", &whole[..2000]);
    let msg = run_err(&cut, &["--data-file", s(&udp)], 2);
    assert!(msg.contains("cut.o"), "{msg}");
    let msg = run_err(&dir.join("missing.o"), &["--data-file", s(&udp)], 2);
    assert!(msg.contains("missing.o"), "{msg}");
}

#[test]
fn bad_map_seeds() {
    let dir = temp_dir("runobj-badseed");
    let o = progs("xdp_drop_udp.o");
    let udp = packet("ipv4_udp");
    for (name, text, code, needle) in [
        (
            "key-size.json",
            r#"{"proto_count": [{"key": "110000", "value": 1}]}"#,
            2,
            "key is 3 bytes, the map's are 4",
        ),
        (
            "big-number.json",
            r#"{"proto_count": [{"key": 4294967296, "value": 1}]}"#,
            2,
            "does not fit in 4 bytes",
        ),
        (
            "not-hex.json",
            r#"{"proto_count": [{"key": "xyz", "value": 1}]}"#,
            2,
            "not hex",
        ),
        (
            "no-value.json",
            r#"{"proto_count": [{"key": 1}]}"#,
            2,
            "no \"value\"",
        ),
        (
            "unknown.json",
            r#"{"nosuch": [{"key": 1, "value": 1}]}"#,
            2,
            "no map named 'nosuch'",
        ),
        ("invalid.json", "{\"proto_count\": [", 2, "not valid JSON"),
        ("empty.json", "", 2, "not valid JSON"),
        (
            "not-list.json",
            r#"{"proto_count": {"key": 1, "value": 1}}"#,
            2,
            "list",
        ),
        (
            "range.json",
            r#"{"proto_count": [{"key": 1000, "value": 1}]}"#,
            1,
            "proto_count",
        ),
    ] {
        let seed = write(&dir, name, text);
        let msg = run_err(&o, &["--data-file", s(&udp), "--maps", s(&seed)], code);
        assert!(msg.contains(needle), "{name}: {msg}");
        assert!(msg.contains(name), "{name}: {msg}");
    }
    let msg = run_err(
        &o,
        &[
            "--data-file",
            s(&udp),
            "--maps",
            s(&dir.join("missing.json")),
        ],
        2,
    );
    assert!(msg.contains("missing.json"), "{msg}");
}
