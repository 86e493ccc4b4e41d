//! `.BTF.ext`: per-section function info, line info and CO-RE relocation records.
//!
//! The layout is libbpf's: a header (magic, version, flags, `hdr_len`, then offset/length
//! pairs for func_info, line_info and — if `hdr_len` ≥ 32 — core_relo, all relative to the
//! end of the header). Each info area starts with a `u32` record size followed by blocks of
//! `{ sec_name_off: u32, num_info: u32, records[num_info] }`. All strings live in the `.BTF`
//! string section. Instruction offsets are kept in bytes, as stored in an object file.

use core::fmt;

use crate::error::{Blob, BtfError};
use crate::raw::{self, u32_at, Strings};
use crate::types::{Kind, TypeId};
use crate::Btf;

/// A parsed `.BTF.ext` section.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct BtfExt {
    /// `bpf_func_info` records, one block per ELF code section.
    pub func_info: Vec<FuncInfoSection>,
    /// `bpf_line_info` records, one block per ELF code section.
    pub line_info: Vec<LineInfoSection>,
    /// `bpf_core_relo` records, one block per ELF code section (empty when the header has
    /// no CO-RE fields).
    pub core_relos: Vec<CoreReloSection>,
}

/// The function info records of one ELF section.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct FuncInfoSection {
    /// The ELF section name (`"xdp"`, `".text"`, ...).
    pub section: String,
    /// The records in stored order.
    pub records: Vec<FuncInfo>,
}

/// Where a function starts and its BTF type.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct FuncInfo {
    /// Byte offset of the function's first instruction in its section.
    pub insn_off: u32,
    /// The function's [`Type::Func`](crate::Type::Func).
    pub type_id: TypeId,
}

/// The line info records of one ELF section.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LineInfoSection {
    /// The ELF section name.
    pub section: String,
    /// The records in stored order.
    pub records: Vec<LineInfo>,
}

/// The source position of an instruction.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LineInfo {
    /// Byte offset of the instruction in its section.
    pub insn_off: u32,
    /// The source file name.
    pub file: String,
    /// The text of the source line (may be empty).
    pub line_text: String,
    /// The line number (`line_col >> 10`).
    pub line: u32,
    /// The column (`line_col & 0x3ff`).
    pub col: u32,
}

/// The CO-RE relocation records of one ELF section.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CoreReloSection {
    /// The ELF section name.
    pub section: String,
    /// The records in stored order.
    pub records: Vec<CoreRelo>,
}

/// One CO-RE relocation (`struct bpf_core_relo`).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CoreRelo {
    /// Byte offset of the instruction to patch in its section.
    pub insn_off: u32,
    /// The local root type the access string starts from.
    pub type_id: TypeId,
    /// The access string (`"0:1:2"`: colon-separated member/array indices).
    pub access: String,
    /// What to compute.
    pub kind: CoreReloKind,
}

impl CoreRelo {
    /// The access string's indices (`"0:1:2"` → `[0, 1, 2]`). The string was checked to
    /// be well formed when parsed.
    pub fn access_indices(&self) -> Vec<u32> {
        self.access
            .split(':')
            .filter_map(|s| s.parse().ok())
            .collect()
    }
}

/// What a CO-RE relocation computes (`enum bpf_core_relo_kind`, libbpf's numbering).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum CoreReloKind {
    /// Field byte offset (0).
    FieldByteOffset,
    /// Field size in bytes (1).
    FieldByteSize,
    /// Field existence, 0 or 1 (2).
    FieldExists,
    /// Field signedness, 0 or 1 (3).
    FieldSigned,
    /// Bitfield left shift for extraction into a u64 (4).
    FieldLshiftU64,
    /// Bitfield right shift for extraction into a u64 (5).
    FieldRshiftU64,
    /// The type id in the local BTF (6).
    TypeIdLocal,
    /// The type id in the target BTF (7).
    TypeIdTarget,
    /// Type existence (8).
    TypeExists,
    /// Type size in bytes (9).
    TypeSize,
    /// Enumerator existence (10).
    EnumvalExists,
    /// Enumerator value (11).
    EnumvalValue,
    /// Type layout compatibility (12).
    TypeMatches,
}

impl CoreReloKind {
    /// The kind with wire number `n`.
    pub fn from_u32(n: u32) -> Option<CoreReloKind> {
        use CoreReloKind::*;
        Some(match n {
            0 => FieldByteOffset,
            1 => FieldByteSize,
            2 => FieldExists,
            3 => FieldSigned,
            4 => FieldLshiftU64,
            5 => FieldRshiftU64,
            6 => TypeIdLocal,
            7 => TypeIdTarget,
            8 => TypeExists,
            9 => TypeSize,
            10 => EnumvalExists,
            11 => EnumvalValue,
            12 => TypeMatches,
            _ => return None,
        })
    }

    /// The wire number.
    pub fn as_u32(self) -> u32 {
        self as u32
    }

    /// libbpf's name for the kind (`"field_byte_offset"`, ...).
    pub fn as_str(self) -> &'static str {
        use CoreReloKind::*;
        match self {
            FieldByteOffset => "field_byte_offset",
            FieldByteSize => "field_byte_size",
            FieldExists => "field_exists",
            FieldSigned => "field_signed",
            FieldLshiftU64 => "field_lshift_u64",
            FieldRshiftU64 => "field_rshift_u64",
            TypeIdLocal => "type_id_local",
            TypeIdTarget => "type_id_target",
            TypeExists => "type_exists",
            TypeSize => "type_size",
            EnumvalExists => "enumval_exists",
            EnumvalValue => "enumval_value",
            TypeMatches => "type_matches",
        }
    }

    /// Whether the relocation is about a field (kinds 0–5).
    pub fn is_field(self) -> bool {
        (self as u32) <= 5
    }

    /// Whether the relocation is about a type (kinds 6–9 and 12).
    pub fn is_type(self) -> bool {
        matches!(self as u32, 6..=9 | 12)
    }

    /// Whether the relocation is about an enumerator (kinds 10–11).
    pub fn is_enumval(self) -> bool {
        matches!(self as u32, 10 | 11)
    }
}

impl fmt::Display for CoreReloKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl BtfExt {
    /// Parses a little-endian `.BTF.ext` section whose strings and type ids refer to `btf`.
    ///
    /// Checks every offset and length, that record sizes are at least libbpf's and a
    /// multiple of 4, that no block is empty, that func_info types are FUNCs, that type ids
    /// exist, that CO-RE kinds are known and access strings are `N(:N)*`.
    pub fn parse(data: &[u8], btf: &Btf) -> Result<BtfExt, BtfError> {
        let pre = raw::preamble(data, Blob::BtfExt, raw::EXT_HEADER_MIN_LEN)?;
        let word = |i: usize| u32_at(data, 8 + 4 * i).unwrap_or(0);
        let payload = &data[pre.hdr_len as usize..];
        let budget = raw::string_budget(data.len().saturating_add(btf.input_len()));
        let mut strings = Strings::new(btf.string_section(), budget, Blob::BtfExt);
        let mut ext = BtfExt::default();

        let area = raw::section(payload, Blob::BtfExt, "func_info", word(0), word(1))?;
        for (section, recs) in blocks(area, "func_info", raw::FUNC_INFO_MIN, &mut strings)? {
            let mut records = Vec::with_capacity(recs.len());
            for (i, r) in recs.into_iter().enumerate() {
                let type_id = TypeId(u32_at(r, 4).unwrap_or(0));
                let bad = |problem: String| BtfError::ExtRecord {
                    info: "func_info",
                    section: section.clone(),
                    record: i,
                    problem,
                };
                match btf.type_by_id(type_id) {
                    Some(t) if t.kind() == Kind::Func => {}
                    Some(t) => {
                        return Err(bad(format!(
                            "type {type_id} is {}, expected FUNC",
                            t.kind()
                        )))
                    }
                    None => return Err(bad(format!("type {type_id} does not exist"))),
                }
                records.push(FuncInfo {
                    insn_off: u32_at(r, 0).unwrap_or(0),
                    type_id,
                });
            }
            ext.func_info.push(FuncInfoSection { section, records });
        }

        let area = raw::section(payload, Blob::BtfExt, "line_info", word(2), word(3))?;
        for (section, recs) in blocks(area, "line_info", raw::LINE_INFO_MIN, &mut strings)? {
            let mut records = Vec::with_capacity(recs.len());
            for (i, r) in recs.into_iter().enumerate() {
                let w = |k: usize| u32_at(r, 4 * k).unwrap_or(0);
                let ctx =
                    |what: &str| format!(".BTF.ext line_info section {section} record {i} {what}");
                let file = strings.get(w(1), || ctx("file name"))?;
                let line_text = strings.get(w(2), || ctx("line"))?;
                records.push(LineInfo {
                    insn_off: w(0),
                    file,
                    line_text,
                    line: w(3) >> 10,
                    col: w(3) & 0x3ff,
                });
            }
            ext.line_info.push(LineInfoSection { section, records });
        }

        if pre.hdr_len >= raw::EXT_HEADER_CORE_LEN {
            let area = raw::section(payload, Blob::BtfExt, "core_relo", word(4), word(5))?;
            for (section, recs) in blocks(area, "core_relo", raw::CORE_RELO_MIN, &mut strings)? {
                let mut records = Vec::with_capacity(recs.len());
                for (i, r) in recs.into_iter().enumerate() {
                    let w = |k: usize| u32_at(r, 4 * k).unwrap_or(0);
                    let bad = |problem: String| BtfError::ExtRecord {
                        info: "core_relo",
                        section: section.clone(),
                        record: i,
                        problem,
                    };
                    let type_id = TypeId(w(1));
                    if btf.type_by_id(type_id).is_none() {
                        return Err(bad(format!("type {type_id} does not exist")));
                    }
                    let kind = CoreReloKind::from_u32(w(3))
                        .ok_or_else(|| bad(format!("unknown relocation kind {}", w(3))))?;
                    let access = strings.get(w(2), || {
                        format!(".BTF.ext core_relo section {section} record {i} access string")
                    })?;
                    if !access_ok(&access) {
                        return Err(bad(format!("malformed access string {access:?}")));
                    }
                    records.push(CoreRelo {
                        insn_off: w(0),
                        type_id,
                        access,
                        kind,
                    });
                }
                ext.core_relos.push(CoreReloSection { section, records });
            }
        }
        Ok(ext)
    }
}

/// `N(:N)*` with decimal `u32`s.
fn access_ok(s: &str) -> bool {
    !s.is_empty()
        && s.split(':').all(|p| {
            !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u32>().is_ok()
        })
}

/// One block of an info area: the ELF section name and its raw records.
type Block<'a> = (String, Vec<&'a [u8]>);

/// Splits an info area into `(section name, records)` blocks; each record slice is
/// `record_size` bytes (at least `min`).
fn blocks<'a>(
    area: &'a [u8],
    info: &'static str,
    min: u32,
    strings: &mut Strings<'_>,
) -> Result<Vec<Block<'a>>, BtfError> {
    let mut out = Vec::new();
    if area.is_empty() {
        return Ok(out);
    }
    let truncated = |offset: usize, need: u64| BtfError::ExtTruncated {
        info,
        offset,
        need,
        have: area.len().saturating_sub(offset),
    };
    let record_size = u32_at(area, 0).ok_or_else(|| truncated(0, 4))?;
    if record_size < min || record_size % 4 != 0 {
        return Err(BtfError::ExtRecordSize {
            info,
            record_size,
            min,
        });
    }
    let mut pos = 4usize;
    while pos < area.len() {
        let (Some(name_off), Some(num)) = (u32_at(area, pos), u32_at(area, pos + 4)) else {
            return Err(truncated(pos, 8));
        };
        let section = strings.get(name_off, || format!(".BTF.ext {info} section name"))?;
        if num == 0 {
            return Err(BtfError::ExtEmptyBlock { info, section });
        }
        pos += 8;
        let need = u64::from(num) * u64::from(record_size);
        if need > (area.len() - pos) as u64 {
            return Err(truncated(pos, need));
        }
        let recs = area[pos..pos + need as usize]
            .chunks_exact(record_size as usize)
            .collect();
        pos += need as usize;
        out.push((section, recs));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::access_ok;

    #[test]
    fn access_strings() {
        for good in ["0", "0:1", "0:12:3", "4294967295"] {
            assert!(access_ok(good), "{good}");
        }
        for bad in [
            "",
            ":",
            "0:",
            ":0",
            "0::1",
            "a",
            "-1",
            "+1",
            "1 ",
            "4294967296",
        ] {
            assert!(!access_ok(bad), "{bad}");
        }
    }
}
