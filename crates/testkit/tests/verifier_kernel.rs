//! The verifier corpus (`tests/verifier/*.cases`) against the running kernel: every case's
//! expected verdict (and message) must be what Linux says. Where `bpf()` is unavailable the
//! kernel test prints why and passes; the corpus still has to parse. The corpus was taken from
//! Linux [`CALIBRATED`]; on another release differences are printed, and fail the test only
//! with `EBPFVM_CASES_STRICT=1`.
//!
//! `EBPFVM_CASES_DIR=dir` reads the cases from another folder (e.g. new cases being written);
//! `EBPFVM_CASES_FILTER=text` runs only the cases whose id contains `text`;
//! `EBPFVM_CASES_VERBOSE=1` prints the kernel's verdict for every case (useful when writing
//! cases: the message to expect is the kernel's error line); `=2` also prints the whole log.

use ebpfvm_kernel::Kernel;
use ebpfvm_testkit::verifier_cases::{
    cases_dir, judge, load_dir, CaseOutcome, Expect, KernelVerifier, Verifier, VerifierCase,
};

/// The kernel release (major.minor) the corpus's verdicts and messages come from.
const CALIBRATED: &str = "6.18";

/// Whether `release` (`uname -r`) is the calibrated major.minor.
fn is_calibrated(release: &str) -> bool {
    release
        .strip_prefix(CALIBRATED)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '-']))
}

fn corpus() -> Vec<VerifierCase> {
    let dir = std::env::var_os("EBPFVM_CASES_DIR").map_or_else(cases_dir, Into::into);
    let cases = load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    match std::env::var("EBPFVM_CASES_FILTER") {
        Ok(f) if !f.is_empty() => cases.into_iter().filter(|c| c.id().contains(&f)).collect(),
        _ => cases,
    }
}

#[test]
fn corpus_parses_and_is_balanced() {
    let cases = load_dir(&cases_dir()).unwrap_or_else(|e| panic!("{e}"));
    let accepts = cases.iter().filter(|c| c.expect == Expect::Accept).count();
    let rejects = cases.len() - accepts;
    assert!(cases.len() >= 150, "only {} cases", cases.len());
    assert!(
        accepts * 10 >= cases.len() * 4,
        "{accepts} accepts of {} cases: fewer than 40%",
        cases.len()
    );
    let without_message: Vec<String> = cases
        .iter()
        .filter(|c| c.expect == Expect::Reject && c.message.is_none())
        .map(VerifierCase::id)
        .collect();
    assert!(
        without_message.is_empty(),
        "rejections without a message: {without_message:?}"
    );
    eprintln!("{} cases: {accepts} accept, {rejects} reject", cases.len());
}

#[test]
fn kernel_verdicts_match() {
    let kernel = match Kernel::probe() {
        Ok(k) => k,
        Err(e) => {
            eprintln!("skipped: the kernel oracle is unavailable: {}", e.reason);
            return;
        }
    };
    if !kernel.is_privileged() {
        eprintln!(
            "skipped: the corpus holds privileged verdicts, and this process may not load \
             programs as privileged (needs root, or CAP_BPF + CAP_PERFMON + CAP_NET_ADMIN)"
        );
        return;
    }
    let release = kernel.release();
    let verifier = KernelVerifier::new(kernel);
    let verbose = std::env::var("EBPFVM_CASES_VERBOSE").unwrap_or_default();
    let cases = corpus();
    let mut problems = Vec::new();
    for case in &cases {
        let verdict = verifier.verify(case);
        if !verbose.is_empty() {
            let summary = match &verdict {
                Ok(v) => v.summary.clone(),
                Err(e) => format!("error: {e}"),
            };
            eprintln!("{:<60} {:<6} kernel: {summary}", case.id(), case.expect);
            if let (Ok(v), "2") = (&verdict, verbose.as_str()) {
                eprintln!("{}", v.log);
            }
        }
        let outcome = match verdict {
            Ok(v) => judge(case, &v).map_or_else(CaseOutcome::Fail, |()| CaseOutcome::Pass),
            Err(e) => CaseOutcome::Error(e),
        };
        let place = format!("{} ({}:{})", case.id(), case.file.display(), case.line);
        match outcome {
            CaseOutcome::Pass => {}
            CaseOutcome::Fail(why) => problems.push(format!("{place}: {why}")),
            CaseOutcome::Error(why) => problems.push(format!("{place}: no verdict: {why}")),
        }
    }
    eprintln!(
        "kernel {release} ({}): {} of {} cases as expected",
        verifier.name(),
        cases.len() - problems.len(),
        cases.len()
    );
    if problems.is_empty() {
        return;
    }
    let report = format!(
        "{} case(s) differ from Linux {release}:\n{}",
        problems.len(),
        problems.join("\n")
    );
    let strict = std::env::var_os("EBPFVM_CASES_STRICT").is_some_and(|v| v == "1");
    if is_calibrated(&release) || strict {
        panic!("{report}");
    }
    eprintln!("not failing: the corpus is calibrated on Linux {CALIBRATED}\n{report}");
}

#[test]
fn calibrated_release_matching() {
    assert!(is_calibrated("6.18"));
    assert!(is_calibrated("6.18.44-fc-v669"));
    assert!(is_calibrated("6.18-rc1"));
    assert!(!is_calibrated("6.1.2"));
    assert!(!is_calibrated("6.180"));
}
