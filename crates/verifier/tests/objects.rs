//! Whole objects: every program of `tests/progs/*.o` is accepted (with pruning on and off),
//! and a corpus sweep over `../shared/corpus/ebpf-samples` that reports verdicts
//! (`cargo test -p ebpfvm-verifier --release --test objects -- --ignored --nocapture`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ebpfvm_object::{LoadOptions, MapSpec, Object, ProgramSpec};
use ebpfvm_verifier::{
    allow_all_helpers, verify, LineInfo, MapDesc, MapType, ProgramType, Rejected, Verified,
    VerifyInput, VerifyOptions,
};

fn desc(m: &MapSpec) -> MapDesc {
    MapDesc {
        map_type: m.kind().unwrap_or(MapType::Unspec),
        key_size: m.key_size,
        value_size: m.value_size,
        max_entries: m.max_entries,
        flags: m.flags,
        inner: m.inner.as_deref().map(|i| Box::new(desc(i))),
    }
}

fn line_info(p: &ProgramSpec) -> Vec<LineInfo> {
    p.line_info
        .iter()
        .map(|l| LineInfo {
            insn: l.insn,
            file: l.info.file.clone(),
            line: l.info.line,
            text: l.info.line_text.clone(),
        })
        .collect()
}

fn verify_prog(
    obj: &Object,
    p: &ProgramSpec,
    prune: bool,
    log_level: u32,
) -> Result<Verified, Rejected> {
    let maps: Vec<MapDesc> = obj.maps.iter().map(desc).collect();
    let li = line_info(p);
    let input = VerifyInput {
        slots: &p.insns,
        prog_type: p.prog_type,
        expected_attach_type: p.expected_attach_type,
        maps: &maps,
        line_info: &li,
        allowed_helper: &allow_all_helpers,
    };
    let opts = VerifyOptions {
        log_level,
        prune,
        ..VerifyOptions::default()
    };
    verify(&input, &opts)
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn test_progs_accepted() {
    let dir = repo_root().join("tests/progs");
    let mut failures = Vec::new();
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "o") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name == "core_access.o" {
            continue; // needs vmlinux CO-RE
        }
        let obj = Object::parse(&std::fs::read(&path).unwrap()).unwrap();
        for p in obj.programs.iter().filter(|p| p.section != ".text") {
            count += 1;
            let on = verify_prog(&obj, p, true, 1);
            let off = verify_prog(&obj, p, false, 0);
            assert_eq!(
                on.is_ok(),
                off.is_ok(),
                "{name} {}: prune on/off disagree",
                p.name
            );
            if let Err(e) = on {
                failures.push(format!("{name} {}: {e}\n{}", p.name, e.log));
            }
        }
    }
    assert!(count >= 10, "only {count} programs found");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn default_type(path: &Path) -> (ProgramType, Option<ebpfvm_verifier::AttachType>) {
    let s = path.to_string_lossy();
    if s.contains("cilium") && s.contains("xdp") {
        (ProgramType::Xdp, None)
    } else if s.contains("cilium")
        || s.contains("ovs")
        || path.file_name().is_some_and(|f| {
            let f = f.to_string_lossy();
            f.starts_with("tc_") || f.contains("_tc_")
        })
    {
        (ProgramType::SchedCls, None)
    } else {
        (ProgramType::SocketFilter, None)
    }
}

#[test]
#[ignore = "a sweep over the shared corpus; run in release with --nocapture"]
fn corpus_sweep() {
    let root = repo_root().join("../shared/corpus/ebpf-samples");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    if let Ok(only) = std::env::var("SWEEP_DIRS") {
        dirs.retain(|d| only.split(',').any(|o| d.ends_with(o)));
    }
    let start = Instant::now();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut slowest = Vec::new();
    for dir in dirs {
        let (mut ok, mut bad, mut unloadable) = (0, 0, 0);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "o"))
            .collect();
        files.sort();
        for f in files {
            let data = std::fs::read(&f).unwrap();
            let opts = LoadOptions {
                default_type: Some(default_type(&f)),
                ..LoadOptions::default()
            };
            let obj = match Object::parse_with(&data, &opts) {
                Ok(o) => o,
                Err(_) => {
                    unloadable += 1;
                    continue;
                }
            };
            for p in obj
                .programs
                .iter()
                .filter(|p| p.section != ".text" || obj.programs.len() == 1)
            {
                let t = Instant::now();
                let r = verify_prog(&obj, p, true, 0);
                slowest.push((t.elapsed(), format!("{} {}", f.display(), p.name)));
                match r {
                    Ok(_) => ok += 1,
                    Err(e) => {
                        bad += 1;
                        if std::env::var("SWEEP_VERBOSE").is_ok() {
                            println!(
                                "  reject {} {}: {e}",
                                f.file_name().unwrap().to_string_lossy(),
                                p.section
                            );
                        }
                        let key = e
                            .message
                            .split(|c: char| c.is_ascii_digit())
                            .next()
                            .unwrap_or("")
                            .to_string();
                        *reasons.entry(key).or_default() += 1;
                    }
                }
            }
        }
        println!(
            "{:<20} accepted {ok:>4}  rejected {bad:>4}  unloadable files {unloadable}",
            dir.file_name().unwrap().to_string_lossy()
        );
    }
    let mut top: Vec<_> = reasons.into_iter().collect();
    top.sort_by_key(|e| std::cmp::Reverse(e.1));
    println!("top rejection reasons:");
    for (r, n) in top.iter().take(25) {
        println!("  {n:>4}  {r}");
    }
    slowest.sort_by_key(|e| std::cmp::Reverse(e.0));
    println!("slowest:");
    for (t, n) in slowest.iter().take(5) {
        println!("  {t:?} {n}");
    }
    println!("total time {:?}", start.elapsed());
}
