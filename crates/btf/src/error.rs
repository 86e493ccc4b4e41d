//! [`BtfError`]: everything that can be wrong with a `.BTF` or `.BTF.ext` blob or a query.

use crate::types::Kind;

/// Which blob a header error is about.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Blob {
    /// The `.BTF` section.
    Btf,
    /// The `.BTF.ext` section.
    BtfExt,
}

impl core::fmt::Display for Blob {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Blob::Btf => ".BTF",
            Blob::BtfExt => ".BTF.ext",
        })
    }
}

/// Displays a string taken from the input with its control characters (and the Unicode line
/// and paragraph separators) escaped as Rust does (`\n`, `\u{1b}`), so that messages that
/// quote names from the file stay on one line. Other characters print unchanged.
pub(crate) struct Escaped<'a>(pub(crate) &'a str);

impl core::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for c in self.0.chars() {
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// A malformed `.BTF`/`.BTF.ext` blob, or a query that has no answer. Messages are one
/// line, lowercase, and name the type id (or `.BTF.ext` record) at fault.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BtfError {
    /// The blob is shorter than its header.
    #[error("{blob} is {len} bytes, shorter than its {need}-byte header")]
    TooShort {
        /// Which blob.
        blob: Blob,
        /// Its length.
        len: usize,
        /// The bytes needed.
        need: usize,
    },
    /// The magic number is wrong.
    #[error("{blob} has bad magic 0x{magic:04x} (expected 0xeb9f)")]
    BadMagic {
        /// Which blob.
        blob: Blob,
        /// The first two bytes, little-endian.
        magic: u16,
    },
    /// The blob is big-endian.
    #[error("{blob} is big-endian; only little-endian BTF is supported")]
    BigEndian {
        /// Which blob.
        blob: Blob,
    },
    /// The version is not 1.
    #[error("{blob} has unsupported version {version} (expected 1)")]
    BadVersion {
        /// Which blob.
        blob: Blob,
        /// The version byte.
        version: u8,
    },
    /// The flags byte is not 0.
    #[error("{blob} has unsupported flags 0x{flags:02x}")]
    BadFlags {
        /// Which blob.
        blob: Blob,
        /// The flags byte.
        flags: u8,
    },
    /// The header length is too small or beyond the blob.
    #[error("{blob} header length {hdr_len} is invalid (minimum {min}, blob is {len} bytes)")]
    BadHeaderLen {
        /// Which blob.
        blob: Blob,
        /// The header's `hdr_len`.
        hdr_len: u32,
        /// The minimum length.
        min: u32,
        /// The blob length.
        len: usize,
    },
    /// A section described by the header lies outside the blob.
    #[error("{blob} {section} section (offset {offset}, length {len}) exceeds the blob ({available} bytes after the header)")]
    SectionOutOfBounds {
        /// Which blob.
        blob: Blob,
        /// `"type"`, `"string"`, `"func_info"`, `"line_info"` or `"core_relo"`.
        section: &'static str,
        /// The offset after the header.
        offset: u32,
        /// The length.
        len: u32,
        /// The bytes available after the header.
        available: usize,
    },
    /// A section is misaligned or its length is not a multiple of 4.
    #[error("{blob} {section} section (offset {offset}, length {len}) is not 4-byte aligned")]
    Misaligned {
        /// Which blob.
        blob: Blob,
        /// The section.
        section: &'static str,
        /// The offset after the header.
        offset: u32,
        /// The length.
        len: u32,
    },
    /// The type and string sections overlap.
    #[error(".BTF type section (offset {type_off}, length {type_len}) overlaps the string section (offset {str_off}, length {str_len})")]
    SectionsOverlap {
        /// Type section offset.
        type_off: u32,
        /// Type section length.
        type_len: u32,
        /// String section offset.
        str_off: u32,
        /// String section length.
        str_len: u32,
    },
    /// The string section is empty, or does not start or end with a NUL byte.
    #[error(".BTF string section is malformed: {reason}")]
    BadStringSection {
        /// What is wrong.
        reason: &'static str,
    },
    /// A string offset is beyond the string section.
    #[error("{}: string offset {offset} beyond the string section ({str_len} bytes)", Escaped(.context))]
    StringOffset {
        /// Where the offset was found (`"type 5: member 2 name"`).
        context: String,
        /// The offset.
        offset: u32,
        /// The string section length.
        str_len: usize,
    },
    /// A string is not valid UTF-8.
    #[error("{}: string at offset {offset} is not valid UTF-8", Escaped(.context))]
    BadString {
        /// Where the offset was found.
        context: String,
        /// The offset.
        offset: u32,
    },
    /// A name that must be present is empty, or one that must be absent is not.
    #[error("type {id}: {kind} must {} a name", if *.expected { "have" } else { "not have" })]
    BadName {
        /// The type.
        id: u32,
        /// Its kind.
        kind: Kind,
        /// Whether a name was required.
        expected: bool,
    },
    /// The kind number is unknown (or 0).
    #[error("type {id}: unknown kind {kind}")]
    UnknownKind {
        /// The type.
        id: u32,
        /// The kind number from `info`.
        kind: u8,
    },
    /// The type section ends in the middle of a type.
    #[error("type {id}: {kind} needs {need} bytes but the type section has {have} left")]
    TypeTruncated {
        /// The type.
        id: u32,
        /// Its kind (or `VOID` if the 12-byte header itself is cut).
        kind: Kind,
        /// Bytes needed.
        need: usize,
        /// Bytes left.
        have: usize,
    },
    /// A field of a type has a value the kind does not allow.
    #[error("type {id}: {kind} has invalid {field} {value}")]
    InvalidField {
        /// The type.
        id: u32,
        /// Its kind.
        kind: Kind,
        /// The field (`"vlen"`, `"kind_flag"`, `"size"`, `"encoding"`, ...).
        field: &'static str,
        /// Its value.
        value: u64,
    },
    /// A type refers to a type id beyond the last type.
    #[error("type {id}: {slot} refers to type {target} beyond the last type {last}")]
    DanglingType {
        /// The referring type.
        id: u32,
        /// Which reference (`"member 3"`, `"return type"`, ...).
        slot: String,
        /// The referenced id.
        target: u32,
        /// The last valid id.
        last: u32,
    },
    /// A type refers to a type of the wrong kind.
    #[error("type {id}: {slot} refers to type {target} ({kind}), expected {expected}")]
    WrongKind {
        /// The referring type.
        id: u32,
        /// Which reference.
        slot: String,
        /// The referenced id.
        target: u32,
        /// Its kind.
        kind: Kind,
        /// What was expected (`"FUNC_PROTO"`, `"a sized type"`, ...).
        expected: &'static str,
    },
    /// A declaration tag names a member or parameter the target does not have.
    #[error("type {id}: DECL_TAG component {component} is out of range for type {target} ({count} components)")]
    BadComponent {
        /// The tag.
        id: u32,
        /// The component index.
        component: i32,
        /// The tagged type.
        target: u32,
        /// Its number of members/parameters.
        count: usize,
    },
    /// A cycle in the type graph that no pointer breaks (`typedef A` → `const` → `A`).
    #[error("type {id}: type graph has a cycle not broken by a pointer")]
    Cycle {
        /// A type on the cycle.
        id: u32,
    },
    /// More strings were copied than the memory bound allows.
    #[error("{blob}: copied names exceed the {limit}-byte budget for this input size")]
    StringBudget {
        /// Which blob.
        blob: Blob,
        /// The budget.
        limit: usize,
    },
    /// A query named a type id that does not exist.
    #[error("type {id} does not exist (last type {last})")]
    NoSuchType {
        /// The id.
        id: u32,
        /// The last valid id.
        last: u32,
    },
    /// A size was asked of a type that has none (void, function, forward declaration, ...).
    #[error("type {id} ({kind}) has no size")]
    NoSize {
        /// The type.
        id: u32,
        /// Its kind.
        kind: Kind,
    },
    /// A size does not fit in 64 bits.
    #[error("type {id}: size overflows 64 bits")]
    SizeOverflow {
        /// The type.
        id: u32,
    },
    /// A `.BTF.ext` info section has a bad record size.
    #[error(".BTF.ext {info} record size {record_size} is invalid (minimum {min}, multiple of 4)")]
    ExtRecordSize {
        /// `"func_info"`, `"line_info"` or `"core_relo"`.
        info: &'static str,
        /// The record size.
        record_size: u32,
        /// The minimum size.
        min: u32,
    },
    /// A `.BTF.ext` info section ends in the middle of a block.
    #[error(".BTF.ext {info} is truncated at offset {offset}: need {need} bytes, have {have}")]
    ExtTruncated {
        /// The info section.
        info: &'static str,
        /// Offset inside the info section.
        offset: usize,
        /// Bytes needed.
        need: u64,
        /// Bytes left.
        have: usize,
    },
    /// A `.BTF.ext` record is invalid.
    #[error(".BTF.ext {info} section {} record {record}: {}", Escaped(.section), Escaped(.problem))]
    ExtRecord {
        /// The info section.
        info: &'static str,
        /// The ELF section the block is for.
        section: String,
        /// The record index in the block.
        record: usize,
        /// What is wrong (one line).
        problem: String,
    },
    /// A `.BTF.ext` block has no records.
    #[error(".BTF.ext {info} block for section {} has no records", Escaped(.section))]
    ExtEmptyBlock {
        /// The info section.
        info: &'static str,
        /// The ELF section.
        section: String,
    },
}
