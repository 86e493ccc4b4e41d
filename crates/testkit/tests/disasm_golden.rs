//! ebpfvm's disassembler against llvm-objdump-19 on every executable section of the corpus.
//!
//! The expected text was captured by `scripts/regen-disasm-golden.sh` into
//! `tests/golden/disasm/` (whole text for a few sections in `full/`, a SHA-256 and an
//! instruction count for every other section in `index.tsv`), so llvm is not needed here. The
//! text compared is llvm's instruction lines only (`%8d:\t<insn>[ <label>]`); jump annotations
//! are reproduced from each object's symbol table with [`SymbolLabels`], as llvm-objdump
//! chooses them. A slot our strict decoder rejects is printed `<unknown>` (llvm's spelling) and
//! skipped, so a rejection shows up as a difference unless llvm rejects it too.
//!
//! The corpus is `../shared/corpus/ebpf-samples` beside the repository; the test skips, with a
//! message, when it is absent.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use ebpfvm_isa::disasm::{write_line, SymbolLabels};
use ebpfvm_isa::{decode_at, slots_from_bytes};
use object::{Object, ObjectSection, ObjectSymbol, SectionFlags, SymbolKind};
use sha2::{Digest, Sha256};

const SHF_EXECINSTR: u64 = 0x4;

/// What llvm printed for one section.
enum Expected {
    Full(String),
    Hash { sha256: String, count: usize },
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/ebpf-samples")
}

fn load_golden() -> BTreeMap<(String, String), Expected> {
    let dir = repo_root().join("tests/golden/disasm");
    let mut golden = BTreeMap::new();
    let index = std::fs::read_to_string(dir.join("index.tsv")).expect("read index.tsv");
    for (n, line) in index.lines().enumerate() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 4, "index.tsv line {}: {line:?}", n + 1);
        let count = f[3].parse().expect("instruction count");
        let key = (f[0].to_owned(), f[1].to_owned());
        let sha256 = f[2].to_owned();
        assert!(golden
            .insert(key, Expected::Hash { sha256, count })
            .is_none());
    }
    let mut full: Vec<_> = std::fs::read_dir(dir.join("full"))
        .expect("read full/")
        .map(|e| e.expect("dir entry").path())
        .collect();
    full.sort();
    for path in full {
        let text = std::fs::read_to_string(&path).expect("read golden file");
        let mut lines = text.splitn(3, '\n');
        let file = lines.next().and_then(|l| l.strip_prefix("# file: "));
        let section = lines.next().and_then(|l| l.strip_prefix("# section: "));
        let (Some(file), Some(section)) = (file, section) else {
            panic!(
                "{}: missing `# file:` / `# section:` header",
                path.display()
            );
        };
        let body = lines.next().unwrap_or("").to_owned();
        let key = (file.to_owned(), section.to_owned());
        assert!(golden.insert(key, Expected::Full(body)).is_none());
    }
    golden
}

/// Every `*.o` under `dir` (relative paths, `/`-separated, sorted), skipping `invalid/`.
fn corpus_files(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, rel: &Path, out: &mut Vec<String>) {
        let mut entries: Vec<_> = std::fs::read_dir(root.join(rel))
            .expect("read corpus dir")
            .map(|e| e.expect("dir entry"))
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let rel = rel.join(e.file_name());
            if e.file_type().expect("file type").is_dir() {
                if rel != Path::new("invalid") {
                    walk(root, &rel, out);
                }
            } else if rel.extension().is_some_and(|x| x == "o") {
                let parts: Vec<_> = rel.iter().map(|p| p.to_string_lossy()).collect();
                out.push(parts.join("/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, Path::new(""), &mut out);
    out
}

/// Our text of one section, normalised as the regen script normalises llvm's.
fn our_text(bytes: &[u8], labels: &SymbolLabels) -> Result<(String, usize), String> {
    let slots = slots_from_bytes(bytes).map_err(|e| e.to_string())?;
    let mut out = String::new();
    let mut pc = 0;
    let mut count = 0;
    while pc < slots.len() {
        count += 1;
        match decode_at(&slots, pc) {
            Ok(insn) => {
                write_line(&mut out, pc, &insn, labels).expect("write to String");
                pc += insn.slots();
            }
            Err(_) => {
                writeln!(out, "{pc:>8}:\t<unknown>").expect("write to String");
                pc += 1;
            }
        }
    }
    Ok((out, count))
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The first differing line of two listings, for the failure message.
fn first_difference(ours: &str, llvm: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), llvm.lines().collect());
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (a.get(i), b.get(i));
        if x != y {
            return format!(
                "first difference at line {}:\n  ebpfvm:       {}\n  llvm-objdump: {}",
                i + 1,
                x.map_or("<end of listing>".to_owned(), |s| format!("{s:?}")),
                y.map_or("<end of listing>".to_owned(), |s| format!("{s:?}")),
            );
        }
    }
    "the texts are equal".to_owned()
}

/// llvm-objdump's normalised text of one section, if llvm-objdump-19 is installed (used only
/// to explain a hash mismatch).
fn llvm_text(path: &Path, section: &str, bpf_machine: bool) -> Option<String> {
    let mut cmd = Command::new("llvm-objdump-19");
    cmd.args(["-d", "--no-show-raw-insn"]);
    if !bpf_machine {
        cmd.arg("--triple=bpfel");
    }
    let out = cmd.arg(path).output().ok()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let header = format!("Disassembly of section {section}:");
    let mut text = String::new();
    let mut inside = false;
    for line in stdout.lines() {
        if line.starts_with("Disassembly of section ") {
            inside = line == header;
        } else if inside {
            let t = line.trim_start();
            let is_insn = t
                .split_once(":\t")
                .is_some_and(|(pc, _)| !pc.is_empty() && pc.bytes().all(|b| b.is_ascii_digit()));
            if is_insn {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    Some(text)
}

#[test]
fn disassembly_matches_llvm_objdump_19() {
    let corpus = corpus_dir();
    if !corpus.is_dir() {
        println!(
            "SKIPPED: corpus not found at {} (expected ../shared/corpus/ebpf-samples beside the \
             repository)",
            corpus.display()
        );
        return;
    }
    let mut golden = load_golden();
    let (mut sections, mut insns, mut full, mut files) = (0usize, 0usize, 0usize, 0usize);
    let mut failures: Vec<String> = Vec::new();
    let mut unexpected: Vec<String> = Vec::new();

    for rel in corpus_files(&corpus) {
        let path = corpus.join(&rel);
        let data = std::fs::read(&path).expect("read object");
        let obj = match object::File::parse(&*data) {
            Ok(o) => o,
            Err(e) => {
                failures.push(format!("{rel}: cannot parse ELF: {e}"));
                continue;
            }
        };
        files += 1;
        let bpf_machine = obj.architecture() == object::Architecture::Bpf;
        for section in obj.sections() {
            let SectionFlags::Elf { sh_flags } = section.flags() else {
                continue;
            };
            if sh_flags & SHF_EXECINSTR == 0 {
                continue;
            }
            let bytes = section.data().expect("section data");
            if bytes.is_empty() {
                continue;
            }
            let name = section.name().expect("section name").to_owned();
            let key = (rel.clone(), name.clone());
            let Some(expected) = golden.remove(&key) else {
                unexpected.push(format!("{rel}: section {name}"));
                continue;
            };
            // The symbols llvm-objdump shows: in this section, named, not STT_SECTION/STT_FILE.
            let symbols = obj.symbols().filter_map(|s| {
                let name = s.name().ok()?;
                let shown = s.section_index() == Some(section.index())
                    && !name.is_empty()
                    && !matches!(s.kind(), SymbolKind::Section | SymbolKind::File);
                shown.then(|| (s.address(), name.to_owned()))
            });
            let labels = SymbolLabels::new(symbols, &name);
            let (ours, count) = match our_text(bytes, &labels) {
                Ok(x) => x,
                Err(e) => {
                    failures.push(format!("{rel}: section {name}: {e}"));
                    continue;
                }
            };
            sections += 1;
            insns += count;
            match expected {
                Expected::Full(llvm) => {
                    full += 1;
                    if ours != llvm {
                        failures.push(format!(
                            "{rel}: section {name}: {}",
                            first_difference(&ours, &llvm)
                        ));
                    }
                }
                Expected::Hash {
                    sha256,
                    count: llvm_count,
                } => {
                    if sha256_hex(&ours) != sha256 || count != llvm_count {
                        let why = match llvm_text(&path, &name, bpf_machine) {
                            Some(llvm) if sha256_hex(&llvm) == sha256 => {
                                first_difference(&ours, &llvm)
                            }
                            Some(llvm) if !llvm.is_empty() => format!(
                                "index.tsv does not match this llvm-objdump-19 either (stale \
                                 golden data? run scripts/regen-disasm-golden.sh); against \
                                 this llvm: {}",
                                first_difference(&ours, &llvm)
                            ),
                            _ => format!(
                                "{count} instructions vs llvm's {llvm_count}, text hash differs \
                                 (install llvm-objdump-19 to see the first differing line); \
                                 ours starts:\n{}",
                                ours.lines().take(5).collect::<Vec<_>>().join("\n")
                            ),
                        };
                        failures.push(format!("{rel}: section {name}: {why}"));
                    }
                }
            }
        }
    }
    let missing: BTreeSet<_> = golden.keys().collect();
    println!(
        "compared {sections} sections ({insns} instructions) of {files} objects with \
         llvm-objdump-19: {full} as whole text, {} by hash; {} mismatching",
        sections - full,
        failures.len()
    );
    let mut report = String::new();
    for f in failures.iter().take(20) {
        let _ = writeln!(report, "{f}\n");
    }
    if failures.len() > 20 {
        let _ = writeln!(report, "... and {} more\n", failures.len() - 20);
    }
    for u in &unexpected {
        let _ = writeln!(
            report,
            "{u}: not in tests/golden/disasm (run scripts/regen-disasm-golden.sh)"
        );
    }
    for (file, section) in missing {
        let _ = writeln!(
            report,
            "{file}: section {section}: in tests/golden/disasm but not in the corpus"
        );
    }
    assert!(
        report.is_empty(),
        "disassembly differs from llvm-objdump-19:\n{report}"
    );
    assert!(sections > 0, "no sections compared");
}
