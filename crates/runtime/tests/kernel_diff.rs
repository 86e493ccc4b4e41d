//! Kernel-differential tests: every test run of tests/progs that the Linux kernel made
//! (`BPF_PROG_TEST_RUN` through bpftool, recorded by tests/progs/tools/kernel_reference.py)
//! is replayed on ebpfvm — same object, same frame sequence on a fresh load — and the return
//! value, output data and map contents after every run must agree.
//!
//! Two sources of kernel answers: the committed `kernel-reference.json` (always checked),
//! and, where `bpf()` is allowed (root, bpftool, bpffs), a fresh run of the script against
//! the running kernel (skipped with a message elsewhere).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use ebpfvm_abi::MapType;
use ebpfvm_maps::Map;
use ebpfvm_runtime::{LoadOptions, Loaded, TestRun};
use serde_json::Value;

fn progs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/progs")
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Our map for a kernel map name: the same name (the kernel keeps 15 characters), or for
/// global data libbpf's `<object>.<section>` (printed with `_`) → our `.<section>`.
fn our_map<'a>(l: &'a Loaded, kname: &str) -> Option<&'a dyn Map> {
    if let Some(m) = l
        .maps
        .iter()
        .find(|m| m.name == kname || (kname.len() == 15 && m.name.starts_with(kname)))
    {
        return Some(m.map.as_ref());
    }
    for sec in ["bss", "data", "rodata", "kconfig"] {
        if kname.ends_with(&format!("_{sec}")) || kname.ends_with(&format!(".{sec}")) {
            return l.map(&format!(".{sec}")).map(|m| m.map.as_ref());
        }
    }
    None
}

/// A map's contents as the reference script records them: every element of hash maps,
/// the non-zero elements of arrays; per-CPU values summed as u64.
fn contents(map: &dyn Map) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let percpu = map.def().is_percpu();
    let mut key: Option<Vec<u8>> = None;
    let mut value = vec![0u8; map.user_value_size()];
    for _ in 0..=map.max_entries() {
        let mut next = vec![0u8; map.key_size()];
        if map.next_key(key.as_deref(), &mut next).is_err() {
            break;
        }
        key = Some(next.clone());
        if map.lookup(&next, &mut value).is_err() {
            continue;
        }
        let fd_map = matches!(
            map.map_type(),
            MapType::ArrayOfMaps | MapType::HashOfMaps | MapType::ProgArray
        );
        let shown = if fd_map {
            // Map and program ids differ between systems: compare which slots are set.
            String::new()
        } else if percpu {
            let sum: u64 = value
                .chunks(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                .fold(0, u64::wrapping_add);
            format!("sum:{sum}")
        } else {
            hex(&value)
        };
        let is_array = matches!(map.map_type(), MapType::Array | MapType::PercpuArray);
        if is_array && value.iter().all(|&b| b == 0) {
            continue;
        }
        out.insert((hex(&next), shown));
    }
    out
}

fn kernel_contents(entries: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for e in entries.as_array().into_iter().flatten() {
        let key = e["key"].as_str().unwrap_or_default().to_string();
        let value = if let Some(sum) = e.get("sum_u64") {
            format!("sum:{}", sum.as_u64().unwrap_or(0))
        } else {
            e["value"].as_str().unwrap_or_default().to_string()
        };
        out.insert((key, value));
    }
    out
}

/// Replays every fixture of `reference`; returns the number of runs compared.
fn replay(reference: &Value) -> usize {
    let fixtures = reference["fixtures"].as_object().expect("fixtures object");
    let have_vmlinux = ebpfvm_runtime::vmlinux().is_some();
    let mut compared = 0;
    let mut failures = Vec::new();
    for (fixture, rec) in fixtures {
        let object = fixture.split('@').next().unwrap_or(fixture);
        let bytes = std::fs::read(progs_dir().join(format!("{object}.o"))).expect("object");
        let obj = ebpfvm_object::Object::parse(&bytes).expect("parses");
        let l = Loaded::load(&obj, &LoadOptions::default()).expect("loads");
        for (i, run) in rec["runs"].as_array().into_iter().flatten().enumerate() {
            let prog = run["prog"].as_str().unwrap_or_default();
            let Some(p) = l.program(prog) else {
                // core_task needs bpf_get_current_task, which ebpfvm has no task for.
                assert_eq!(prog, "core_task", "{fixture}: program {prog} did not load");
                continue;
            };
            let data = match run["packet"].as_str() {
                Some(pkt) => std::fs::read(progs_dir().join("packets").join(format!("{pkt}.bin")))
                    .expect("packet"),
                None => Vec::new(),
            };
            let what = format!("{fixture} run {i} ({prog} on {})", run["packet"]);
            let r = match l.test_run(
                p,
                &TestRun {
                    data: &data,
                    ctx: None,
                    repeat: 1,
                },
            ) {
                Ok(r) => r,
                Err(e) => {
                    failures.push(format!("{what}: {e}"));
                    continue;
                }
            };
            compared += 1;
            let want = run["retval"].as_u64().unwrap_or(u64::MAX);
            if r.retval as u32 as u64 != want {
                failures.push(format!("{what}: retval {} (kernel {want})", r.retval));
            }
            match run["data_out"].as_str() {
                Some("same as data_in") if r.data != data => {
                    failures.push(format!("{what}: data_out differs from data_in"))
                }
                Some("data_in with the 14-byte Ethernet header zeroed")
                    if r.data.len() != data.len()
                        || r.data[..14] != [0u8; 14]
                        || r.data[14..] != data[14..] =>
                {
                    failures.push(format!(
                        "{what}: data_out is not data_in with a zeroed header"
                    ))
                }
                _ => {}
            }
            for (kname, entries) in run["maps_after"].as_object().into_iter().flatten() {
                if object == "core_access" && !have_vmlinux {
                    // Without the kernel's BTF, CO-RE resolves against the object's own
                    // (README: one slot differs).
                    continue;
                }
                let Some(m) = our_map(&l, kname) else {
                    failures.push(format!("{what}: no map for kernel map {kname}"));
                    continue;
                };
                let ours = contents(m);
                let theirs = kernel_contents(entries);
                if ours != theirs {
                    failures.push(format!(
                        "{what}: map {kname}: ebpfvm {ours:?}, kernel {theirs:?}"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
    compared
}

#[test]
fn agrees_with_the_recorded_kernel_runs() {
    let text =
        std::fs::read_to_string(progs_dir().join("kernel-reference.json")).expect("reference");
    let reference: Value = serde_json::from_str(&text).expect("json");
    let n = replay(&reference);
    // 3 + 2 (core_xdp) + 3 + 12 + 7 + 8 + 8 + 6 + 9 + 16 runs with data.
    assert_eq!(n, 74, "runs compared");
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

fn have(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn agrees_with_the_running_kernel() {
    if !is_root() {
        eprintln!("skipped: bpf() needs root (CAP_BPF); not root here");
        return;
    }
    if !have("bpftool") || !have("python3") {
        eprintln!("skipped: the kernel oracle needs bpftool and python3 (apt-get install bpftool python3)");
        return;
    }
    if !Path::new("/sys/fs/bpf").is_dir() {
        eprintln!("skipped: no /sys/fs/bpf to pin into");
        return;
    }
    let mounted = std::fs::read_to_string("/proc/mounts")
        .map(|m| {
            m.lines()
                .any(|l| l.split_whitespace().nth(1) == Some("/sys/fs/bpf"))
        })
        .unwrap_or(false);
    if !mounted {
        // The kernel oracle pins under /sys/fs/bpf (README: mount it if needed).
        let ok = Command::new("mount")
            .args(["-t", "bpf", "bpf", "/sys/fs/bpf"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            eprintln!("skipped: cannot mount bpffs on /sys/fs/bpf");
            return;
        }
    }
    let out = std::env::temp_dir().join(format!("ebpfvm-kernel-ref-{}.json", std::process::id()));
    let result = Command::new("python3")
        .arg(progs_dir().join("tools/kernel_reference.py"))
        .arg("-o")
        .arg(&out)
        .output()
        .expect("python3 runs");
    if !result.status.success() {
        let err = String::from_utf8_lossy(&result.stderr);
        let last = err.lines().last().unwrap_or("");
        eprintln!("skipped: the kernel refused to load or run the fixtures (bpf() not allowed here?): {last}");
        return;
    }
    let text = std::fs::read_to_string(&out).expect("kernel output");
    let _ = std::fs::remove_file(&out);
    let reference: Value = serde_json::from_str(&text).expect("json");
    let n = replay(&reference);
    eprintln!("compared {n} test runs with kernel {}", reference["kernel"]);
    assert!(n >= 70);
}
