//! The conformance suite's `.data` file format (`../shared/conformance/README.md` §2).
//!
//! Parsing happens in two steps. [`DataFile::parse`] sorts the lines into sections exactly as
//! the upstream runner does and never fails. [`DataFile::prepare`] then applies the upstream
//! rules (raw wins over asm, skips, the expected value) and decodes the numbers, reporting
//! malformed content with its line number.

use std::fmt;

use ebpfvm_isa::asm::ubpf::{self, UbpfAsmError};
use ebpfvm_isa::RawInsn;

/// A line of a section, with its 1-based line number in the file.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Line {
    /// 1-based line number in the file.
    pub number: usize,
    /// The text, comment removed and trimmed.
    pub text: String,
}

/// A `.data` file sorted into sections, before any number is decoded.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct DataFile {
    /// Lines of every `-- asm` section, in order.
    pub asm: Vec<Line>,
    /// Lines of every `-- raw` section, in order.
    pub raw: Vec<Line>,
    /// Lines of every `-- mem` section, in order.
    pub mem: Vec<Line>,
    /// The last line of the `-- result` sections.
    pub result: Option<Line>,
    /// The last line of the `-- error` sections.
    pub error: Option<Line>,
    /// Whether an `-- error` header appeared at all (even with no line under it).
    pub has_error_header: bool,
    /// The first header that names no known section (the test is then skipped).
    pub unknown_directive: Option<Line>,
}

/// Section kinds, in the order the upstream runner checks header substrings.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Section {
    Asm,
    Result,
    Mem,
    Raw,
    Ignored,
    Error,
}

fn classify_header(line: &str) -> Option<Section> {
    const KEYWORDS: &[(&str, Section)] = &[
        ("asm", Section::Asm),
        ("result", Section::Result),
        ("mem", Section::Mem),
        ("raw", Section::Raw),
        ("no register offset", Section::Ignored),
        (" c", Section::Ignored),
        ("error", Section::Error),
    ];
    KEYWORDS
        .iter()
        .find(|(kw, _)| line.contains(kw))
        .map(|&(_, s)| s)
}

impl DataFile {
    /// Sorts the lines of a `.data` file into sections (README §2.1). Never fails.
    pub fn parse(text: &str) -> DataFile {
        let mut file = DataFile::default();
        let mut section: Option<Section> = None;
        for (idx, line) in text.split('\n').enumerate() {
            let number = idx + 1;
            let line = line.strip_suffix('\r').unwrap_or(line);
            let line = match line.find('#') {
                Some(p) => &line[..p],
                None => line,
            };
            if line.contains("--") {
                section = classify_header(line);
                match section {
                    None => {
                        if file.unknown_directive.is_none() {
                            file.unknown_directive = Some(Line {
                                number,
                                text: line.trim().to_string(),
                            });
                        }
                        section = Some(Section::Ignored);
                    }
                    Some(Section::Error) => file.has_error_header = true,
                    Some(_) => {}
                }
                continue;
            }
            let text = line.trim();
            if text.is_empty() {
                continue;
            }
            let l = Line {
                number,
                text: text.to_string(),
            };
            match section {
                None | Some(Section::Ignored) => {}
                Some(Section::Asm) => file.asm.push(l),
                Some(Section::Raw) => file.raw.push(l),
                Some(Section::Mem) => file.mem.push(l),
                Some(Section::Result) => file.result = Some(l),
                Some(Section::Error) => file.error = Some(l),
            }
        }
        file
    }

    /// Applies the upstream rules and decodes the numbers: a test to run, or the reason the
    /// upstream runner skips the file.
    ///
    /// The assembly is not assembled here (an assembler error is a possible expected error);
    /// see [`TestCase::program`].
    pub fn prepare(&self) -> Result<Prepared, DataError> {
        if let Some(line) = &self.unknown_directive {
            return Ok(Prepared::Skip(SkipReason::UnknownDirective {
                line: line.number,
                text: line.text.clone(),
            }));
        }
        if self.result.is_none() && self.error.is_none() {
            return Ok(Prepared::Skip(SkipReason::NoResultOrError));
        }
        let mem = tokens(&self.mem)
            .map(|(line, tok)| parse_mem_byte(tok).ok_or_else(|| DataError::bad_mem(line, tok)))
            .collect::<Result<Vec<u8>, _>>()?;
        let expected = match &self.result {
            Some(l) => parse_result(&l.text).ok_or_else(|| DataError::BadResult {
                line: l.number,
                text: l.text.clone(),
            })?,
            None => 0,
        };
        let words = tokens(&self.raw)
            .map(|(line, tok)| {
                parse_raw_word(tok).ok_or_else(|| DataError::BadRawWord {
                    line,
                    token: tok.to_string(),
                })
            })
            .collect::<Result<Vec<u64>, _>>()?;
        let source = if words.is_empty() {
            ProgramSource::Asm(self.asm.clone())
        } else {
            ProgramSource::Raw(words)
        };
        Ok(Prepared::Run(TestCase {
            source,
            mem,
            expected,
            expected_error: self.error.as_ref().map(|l| l.text.clone()),
        }))
    }

    /// Reads the `-- raw` section as one **byte** per token, eight bytes per instruction: the
    /// format of the suite's `negative/unused-*.data` files (README §9), which the upstream
    /// parser cannot read.
    pub fn raw_bytes_program(&self) -> Result<Vec<RawInsn>, DataError> {
        let bytes = tokens(&self.raw)
            .map(|(line, tok)| parse_mem_byte(tok).ok_or_else(|| DataError::bad_mem(line, tok)))
            .collect::<Result<Vec<u8>, _>>()?;
        if bytes.is_empty() || bytes.len() % 8 != 0 {
            let line = self.raw.last().map_or(0, |l| l.number);
            return Err(DataError::RawBytesLength {
                line,
                len: bytes.len(),
            });
        }
        ebpfvm_isa::slots_from_bytes(&bytes).map_err(|_| DataError::RawBytesLength {
            line: 0,
            len: bytes.len(),
        })
    }
}

/// The whitespace-separated tokens of some lines, with their line numbers.
fn tokens(lines: &[Line]) -> impl Iterator<Item = (usize, &str)> {
    lines
        .iter()
        .flat_map(|l| l.text.split_whitespace().map(move |t| (l.number, t)))
}

/// A memory byte: one or two hex digits (an optional `0x` is tolerated).
fn parse_mem_byte(tok: &str) -> Option<u8> {
    let digits = tok
        .strip_prefix("0x")
        .or_else(|| tok.strip_prefix("0X"))
        .unwrap_or(tok);
    if digits.is_empty() || digits.len() > 2 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u8::from_str_radix(digits, 16).ok()
}

fn hex_u64(digits: &str) -> Option<u64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    // Leading zeros are fine (`0x0000000044332211`).
    let trimmed = digits.trim_start_matches('0');
    if trimmed.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(trimmed, 16).ok()
}

fn dec_u64(digits: &str) -> Option<u64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A raw instruction word: `0x` hex, or unsigned decimal.
fn parse_raw_word(tok: &str) -> Option<u64> {
    match tok.strip_prefix("0x") {
        Some(hex) => hex_u64(hex),
        None => dec_u64(tok),
    }
}

/// The expected r0: hex if the line contains `0x`, otherwise unsigned decimal. A leading `-`
/// on a decimal is accepted and wraps (as C's `strtoull` does).
fn parse_result(text: &str) -> Option<u64> {
    if text.contains("0x") {
        return hex_u64(text.strip_prefix("0x")?);
    }
    match text.strip_prefix('-') {
        Some(d) => dec_u64(d).map(u64::wrapping_neg),
        None => dec_u64(text),
    }
}

/// What [`DataFile::prepare`] made of a file.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Prepared {
    /// A test to run.
    Run(TestCase),
    /// The upstream runner skips this file.
    Skip(SkipReason),
}

/// Why a file is not a usable test (the upstream runner's SKIP cases).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum SkipReason {
    /// A `--` line that names no known section.
    UnknownDirective {
        /// Line number of the header.
        line: usize,
        /// The header.
        text: String,
    },
    /// Neither a `-- result` nor an `-- error` line.
    NoResultOrError,
    /// The program has no instructions.
    NoInstructions,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::UnknownDirective { line, text } => {
                write!(f, "line {line}: unknown directive {text:?}")
            }
            SkipReason::NoResultOrError => f.write_str("no result or error"),
            SkipReason::NoInstructions => f.write_str("no BPF instructions"),
        }
    }
}

/// Where a test's program comes from.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ProgramSource {
    /// `-- raw`: 64-bit instruction words.
    Raw(Vec<u64>),
    /// `-- asm`: lines of conformance-dialect assembly.
    Asm(Vec<Line>),
}

/// A usable test.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TestCase {
    /// The program.
    pub source: ProgramSource,
    /// Initial memory (empty: the program gets r1 = r2 = 0).
    pub mem: Vec<u8>,
    /// Expected r0 (0 if the file has only an error line).
    pub expected: u64,
    /// The expected error text, if the program must fail instead.
    pub expected_error: Option<String>,
}

impl TestCase {
    /// The program's instruction slots: the raw words, or the assembled asm section. An
    /// assembler error names the line of the file.
    pub fn program(&self) -> Result<Vec<RawInsn>, DataError> {
        match &self.source {
            ProgramSource::Raw(words) => Ok(words.iter().map(|&w| RawInsn::from_word(w)).collect()),
            ProgramSource::Asm(lines) => {
                let text: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
                ubpf::assemble(&text.join("\n")).map_err(|e| {
                    let line = lines.get(e.line.wrapping_sub(1)).map_or(0, |l| l.number);
                    DataError::Asm(UbpfAsmError { line, ..e })
                })
            }
        }
    }
}

/// Malformed content in a `.data` file. Messages are one line and name the file's line.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// A `-- mem` (or byte-wise `-- raw`) token is not a hex byte.
    #[error("line {line}: invalid memory byte {token:?} (expected two hex digits)")]
    BadMemByte {
        /// Line number.
        line: usize,
        /// The token.
        token: String,
    },
    /// The `-- result` line is not a number.
    #[error("line {line}: invalid result {text:?} (expected 0x hex or unsigned decimal)")]
    BadResult {
        /// Line number.
        line: usize,
        /// The line.
        text: String,
    },
    /// A `-- raw` token is not a 64-bit word.
    #[error("line {line}: invalid raw instruction word {token:?}")]
    BadRawWord {
        /// Line number.
        line: usize,
        /// The token.
        token: String,
    },
    /// A byte-wise `-- raw` section whose length is not a positive multiple of 8.
    #[error("line {line}: raw section has {len} bytes, not a whole number of instructions")]
    RawBytesLength {
        /// Line number of the last raw line.
        line: usize,
        /// Number of bytes.
        len: usize,
    },
    /// The `-- asm` section does not assemble (the error's line is the file's line).
    #[error(transparent)]
    Asm(UbpfAsmError),
}

impl DataError {
    fn bad_mem(line: usize, tok: &str) -> DataError {
        DataError::BadMemByte {
            line,
            token: tok.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> TestCase {
        match DataFile::parse(text).prepare().unwrap() {
            Prepared::Run(c) => c,
            Prepared::Skip(r) => panic!("skipped: {r}"),
        }
    }

    fn skip(text: &str) -> SkipReason {
        match DataFile::parse(text).prepare().unwrap() {
            Prepared::Run(c) => panic!("not skipped: {c:?}"),
            Prepared::Skip(r) => r,
        }
    }

    #[test]
    fn readme_example() {
        let text = "# A made-up test\n-- asm\nldxw %r0, [%r1+4]      # load\nadd %r0, %r2\n\
                    jgt %r0, 0x100, big\nexit\nbig:\nmov %r0, -1\nexit\n-- mem\n\
                    00 00 00 00 10 00 00 00\n-- result\n0x18\n";
        let c = run(text);
        assert_eq!(c.mem, vec![0, 0, 0, 0, 0x10, 0, 0, 0]);
        assert_eq!(c.expected, 0x18);
        assert_eq!(c.expected_error, None);
        assert_eq!(c.program().unwrap().len(), 6);
    }

    #[test]
    fn crlf_comments_and_sections_in_any_order() {
        let text =
            "-- result\r\n0x1 # the answer\r\n-- mem\r\nAA bb\r\n-- asm\r\nmov %r0, 1\r\nexit";
        let c = run(text);
        assert_eq!(c.expected, 1);
        assert_eq!(c.mem, vec![0xaa, 0xbb]);
        assert_eq!(c.program().unwrap().len(), 2);
    }

    #[test]
    fn repeated_sections() {
        let text = "-- mem\n01\n-- result\n5\n-- mem\n02 03\n-- result\n0x7\n-- asm\nexit";
        let c = run(text);
        assert_eq!(c.mem, vec![1, 2, 3]);
        assert_eq!(c.expected, 7);
    }

    #[test]
    fn raw_wins_over_asm() {
        let text = "-- asm\nmov %r0, 1\nexit\n-- raw\n0x00000002000000b7 149\n-- result\n2";
        let c = run(text);
        let p = c.program().unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].opcode, p[0].imm), (0xb7, 2));
        assert_eq!(p[1].opcode, 0x95);
    }

    #[test]
    fn header_kind_is_the_first_matching_substring() {
        assert_eq!(classify_header("-- asm"), Some(Section::Asm));
        assert_eq!(classify_header("-- result asm"), Some(Section::Asm));
        assert_eq!(classify_header("-- c"), Some(Section::Ignored));
        assert_eq!(
            classify_header("-- no register offset"),
            Some(Section::Ignored)
        );
        assert_eq!(classify_header("-- error"), Some(Section::Error));
        assert_eq!(classify_header("-- Unknown directive"), None);
        // `-- c` content and lines before the first header are ignored.
        let c = run("garbage\n-- c\nint x;\n-- asm\nexit\n-- result\n0");
        assert_eq!(c.program().unwrap().len(), 1);
    }

    #[test]
    fn skips() {
        assert!(matches!(
            skip("-- asm\n-- Unknown directive\n-- error\nInvalid"),
            SkipReason::UnknownDirective { line: 2, .. }
        ));
        assert_eq!(skip("-- asm\nexit\n"), SkipReason::NoResultOrError);
        assert_eq!(skip("# comment only\n"), SkipReason::NoResultOrError);
        // An error header with no line under it is not an error expectation.
        assert_eq!(
            skip("-- raw\n07 00\n-- error\n"),
            SkipReason::NoResultOrError
        );
    }

    #[test]
    fn error_without_result_expects_zero() {
        let c = run("-- asm\nor %r0, %r10\nexit\n-- error\nInvalid");
        assert_eq!(c.expected, 0);
        assert_eq!(c.expected_error.as_deref(), Some("Invalid"));
    }

    #[test]
    fn result_formats() {
        assert_eq!(parse_result("0"), Some(0));
        assert_eq!(parse_result("0x0000000044332211"), Some(0x44332211));
        assert_eq!(
            parse_result("0xFFFFFFFFFFFFFFF6"),
            Some(0xFFFF_FFFF_FFFF_FFF6)
        );
        assert_eq!(parse_result("-1"), Some(u64::MAX));
        assert_eq!(parse_result("0x1ffffffffffffffff"), None);
        assert_eq!(parse_result("12x"), None);
        assert_eq!(parse_result("0x"), None);
    }

    #[test]
    fn malformed_content_names_the_line() {
        let e = DataFile::parse("-- asm\nexit\n-- mem\n00 zz\n-- result\n0")
            .prepare()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 4: invalid memory byte \"zz\" (expected two hex digits)"
        );
        let e = DataFile::parse("-- asm\nexit\n-- result\nbanana")
            .prepare()
            .unwrap_err();
        assert!(matches!(e, DataError::BadResult { line: 4, .. }));
        let e = DataFile::parse("-- raw\n0xzz\n-- result\n0")
            .prepare()
            .unwrap_err();
        assert!(matches!(e, DataError::BadRawWord { line: 2, .. }));
        // Assembler errors are reported with the file's line number.
        let c = run("# header\n-- asm\nmov %r0, 1\n\n# gap\nmov %r0, %r50\nexit\n-- result\n0");
        let e = c.program().unwrap_err();
        assert!(
            matches!(e, DataError::Asm(UbpfAsmError { line: 6, .. })),
            "{e}"
        );
        assert!(e.to_string().starts_with("line 6: "));
    }

    #[test]
    fn raw_bytes_quirk() {
        let f =
            DataFile::parse("-- raw\n07 00 01 00 01 00 00 00\n95 00 00 00 00 00 00 00\n-- error\n");
        let p = f.raw_bytes_program().unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].opcode, p[0].off, p[0].imm), (0x07, 1, 1));
        let f = DataFile::parse("-- raw\n07 00 01\n");
        assert!(matches!(
            f.raw_bytes_program(),
            Err(DataError::RawBytesLength { len: 3, .. })
        ));
    }
}
