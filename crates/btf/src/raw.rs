//! Wire-format facts (Linux uapi `linux/btf.h` and libbpf's `.BTF.ext` layout) and the
//! bounds-checked little-endian reads every parser here goes through.

use crate::error::{Blob, BtfError};

/// The BTF and `.BTF.ext` magic number, as read little-endian.
pub const MAGIC: u16 = 0xeb9f;
/// The magic of a big-endian blob, read little-endian.
pub const MAGIC_SWAPPED: u16 = 0x9feb;
/// The only version.
pub const VERSION: u8 = 1;
/// `sizeof(struct btf_header)`.
pub const BTF_HEADER_LEN: u32 = 24;
/// `sizeof(struct btf_type)`: name_off, info, size/type.
pub const TYPE_HEADER_LEN: usize = 12;
/// The `.BTF.ext` header up to and including line_info (libbpf's minimum).
pub const EXT_HEADER_MIN_LEN: u32 = 24;
/// The `.BTF.ext` header including the CO-RE relocation fields.
pub const EXT_HEADER_CORE_LEN: u32 = 32;
/// `sizeof(struct bpf_func_info)` in an object: insn_off, type_id.
pub const FUNC_INFO_MIN: u32 = 8;
/// `sizeof(struct bpf_line_info)`: insn_off, file_name_off, line_off, line_col.
pub const LINE_INFO_MIN: u32 = 16;
/// `sizeof(struct bpf_core_relo)`: insn_off, type_id, access_str_off, kind.
pub const CORE_RELO_MIN: u32 = 16;

/// Reads a little-endian `u16` at `off`, or `None` past the end.
pub fn u16_at(data: &[u8], off: usize) -> Option<u16> {
    let b = data.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

/// Reads a little-endian `u32` at `off`, or `None` past the end.
pub fn u32_at(data: &[u8], off: usize) -> Option<u32> {
    let b = data.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The common start of both headers: magic, version, flags, hdr_len.
#[derive(Clone, Copy, Debug)]
pub struct Preamble {
    /// `hdr_len`, validated to be at least `min` and at most the blob length.
    pub hdr_len: u32,
}

/// Checks magic, version and flags and returns the header length.
pub fn preamble(data: &[u8], blob: Blob, min: u32) -> Result<Preamble, BtfError> {
    let too_short = || BtfError::TooShort {
        blob,
        len: data.len(),
        need: min as usize,
    };
    let magic = u16_at(data, 0).ok_or_else(too_short)?;
    if magic == MAGIC_SWAPPED {
        return Err(BtfError::BigEndian { blob });
    }
    if magic != MAGIC {
        return Err(BtfError::BadMagic { blob, magic });
    }
    if data.len() < 8 {
        return Err(too_short());
    }
    let version = data[2];
    if version != VERSION {
        return Err(BtfError::BadVersion { blob, version });
    }
    let flags = data[3];
    if flags != 0 {
        return Err(BtfError::BadFlags { blob, flags });
    }
    let hdr_len = u32_at(data, 4).ok_or_else(too_short)?;
    if hdr_len < min || hdr_len as usize > data.len() {
        return Err(BtfError::BadHeaderLen {
            blob,
            hdr_len,
            min,
            len: data.len(),
        });
    }
    Ok(Preamble { hdr_len })
}

/// The sub-slice `[off, off + len)` of `payload` (the bytes after the header), checked.
pub fn section<'a>(
    payload: &'a [u8],
    blob: Blob,
    section: &'static str,
    off: u32,
    len: u32,
) -> Result<&'a [u8], BtfError> {
    let start = off as usize;
    let end = start.checked_add(len as usize);
    match end {
        Some(end) if end <= payload.len() => Ok(&payload[start..end]),
        _ => Err(BtfError::SectionOutOfBounds {
            blob,
            section,
            offset: off,
            len,
            available: payload.len(),
        }),
    }
}

/// A string table with a budget on how many bytes may be copied out of it, so that names
/// shared by many records cannot blow memory up beyond a multiple of the input size.
#[derive(Debug)]
pub struct Strings<'a> {
    data: &'a [u8],
    copied: usize,
    limit: usize,
    blob: Blob,
}

/// Why a string could not be read.
#[derive(Clone, Copy, Debug)]
pub enum StrProblem {
    /// Offset beyond the table.
    Offset,
    /// Not UTF-8 (or no NUL before the end, which a validated table rules out).
    Utf8,
}

impl<'a> Strings<'a> {
    /// A table over `data` (validated: starts and ends with NUL) allowing `limit` copied
    /// bytes in total.
    pub fn new(data: &'a [u8], limit: usize, blob: Blob) -> Strings<'a> {
        Strings {
            data,
            copied: 0,
            limit,
            blob,
        }
    }

    /// The string at `off` without copying.
    pub fn peek(&self, off: u32) -> Result<&'a str, StrProblem> {
        let rest = self.data.get(off as usize..).ok_or(StrProblem::Offset)?;
        if rest.is_empty() {
            return Err(StrProblem::Offset);
        }
        let end = rest.iter().position(|&b| b == 0).ok_or(StrProblem::Utf8)?;
        core::str::from_utf8(&rest[..end]).map_err(|_| StrProblem::Utf8)
    }

    /// A copy of the string at `off`; `context` names the place for the error message.
    pub fn get(&mut self, off: u32, context: impl FnOnce() -> String) -> Result<String, BtfError> {
        let s = match self.peek(off) {
            Ok(s) => s,
            Err(StrProblem::Offset) => {
                return Err(BtfError::StringOffset {
                    context: context(),
                    offset: off,
                    str_len: self.data.len(),
                })
            }
            Err(StrProblem::Utf8) => {
                return Err(BtfError::BadString {
                    context: context(),
                    offset: off,
                })
            }
        };
        self.copied = self.copied.saturating_add(s.len());
        if self.copied > self.limit {
            return Err(BtfError::StringBudget {
                blob: self.blob,
                limit: self.limit,
            });
        }
        Ok(s.to_owned())
    }
}

/// How many bytes of names may be copied out of a string table for an input of
/// `input_len` bytes: 64 bytes per input byte plus 16 MiB.
pub fn string_budget(input_len: usize) -> usize {
    input_len.saturating_mul(64).saturating_add(16 << 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_bounds_checked() {
        let d = [1, 2, 3, 4, 5];
        assert_eq!(u32_at(&d, 0), Some(0x0403_0201));
        assert_eq!(u32_at(&d, 1), Some(0x0504_0302));
        assert_eq!(u32_at(&d, 2), None);
        assert_eq!(u32_at(&d, usize::MAX), None);
        assert_eq!(u16_at(&d, 3), Some(0x0504));
        assert_eq!(u16_at(&d, 4), None);
        assert_eq!(u16_at(&d, usize::MAX), None);
    }

    #[test]
    fn sections_are_bounds_checked() {
        let p = [0u8; 10];
        assert_eq!(section(&p, Blob::Btf, "type", 2, 8).map(<[u8]>::len), Ok(8));
        assert!(section(&p, Blob::Btf, "type", 2, 9).is_err());
        assert!(section(&p, Blob::Btf, "type", u32::MAX, u32::MAX).is_err());
        assert_eq!(
            section(&p, Blob::Btf, "type", 10, 0).map(<[u8]>::len),
            Ok(0)
        );
    }

    #[test]
    fn strings_are_budgeted() {
        let table = b"\0abc\0";
        let mut s = Strings::new(table, 6, Blob::Btf);
        assert_eq!(s.get(1, String::new).as_deref(), Ok("abc"));
        assert_eq!(s.get(2, String::new).as_deref(), Ok("bc"));
        assert_eq!(s.get(0, String::new).as_deref(), Ok(""));
        assert!(matches!(
            s.get(1, String::new),
            Err(BtfError::StringBudget { limit: 6, .. })
        ));
        assert!(matches!(
            s.get(5, String::new),
            Err(BtfError::StringOffset { .. })
        ));
        assert!(matches!(s.peek(4), Ok("")));
    }
}
