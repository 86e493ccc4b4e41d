//! Shared helpers: the corpus location and ELF section extraction.

use std::path::{Path, PathBuf};

use object::{Object, ObjectSection};

/// `../shared/corpus/ebpf-samples` beside the workspace, if present.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/ebpf-samples");
    dir.is_dir().then_some(dir)
}

/// Every file under `dir` (the corpus's ELF objects, `*.o` or fuzzer-found files without
/// an extension), sorted.
pub fn objects(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut work = vec![dir.to_path_buf()];
    while let Some(d) = work.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                work.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The `.BTF` and `.BTF.ext` section contents of an object, each `None` if absent.
pub type Sections = (Option<Vec<u8>>, Option<Vec<u8>>);

/// The `.BTF` and `.BTF.ext` sections of an ELF file (`None` if it is not ELF).
pub fn btf_sections(data: &[u8]) -> Option<Sections> {
    let file = object::File::parse(data).ok()?;
    let get = |name: &str| {
        file.section_by_name(name)
            .and_then(|s| s.data().ok())
            .map(<[u8]>::to_vec)
    };
    Some((get(".BTF"), get(".BTF.ext")))
}
