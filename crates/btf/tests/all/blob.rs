//! A tiny writer of raw `.BTF` and `.BTF.ext` blobs, independent of the crate's own
//! writer, so tests can build exactly the bytes they mean (including malformed ones).

pub const INT: u32 = 1;
pub const PTR: u32 = 2;
pub const ARRAY: u32 = 3;
pub const STRUCT: u32 = 4;
pub const UNION: u32 = 5;
pub const ENUM: u32 = 6;
pub const FWD: u32 = 7;
pub const TYPEDEF: u32 = 8;
pub const VOLATILE: u32 = 9;
pub const CONST: u32 = 10;
pub const RESTRICT: u32 = 11;
pub const FUNC: u32 = 12;
pub const FUNC_PROTO: u32 = 13;
pub const VAR: u32 = 14;
pub const DATASEC: u32 = 15;
pub const FLOAT: u32 = 16;
pub const DECL_TAG: u32 = 17;
pub const TYPE_TAG: u32 = 18;
pub const ENUM64: u32 = 19;

/// The `.BTF` header fields.
#[derive(Clone, Debug)]
pub struct Header {
    pub magic: u16,
    pub version: u8,
    pub flags: u8,
    pub hdr_len: u32,
    pub type_off: u32,
    pub type_len: u32,
    pub str_off: u32,
    pub str_len: u32,
}

/// A `.BTF` blob under construction: raw type words and a string section.
#[derive(Clone, Debug)]
pub struct Blob {
    pub types: Vec<u32>,
    pub strings: Vec<u8>,
    next_id: u32,
}

impl Default for Blob {
    fn default() -> Self {
        Blob::new()
    }
}

impl Blob {
    pub fn new() -> Blob {
        Blob {
            types: Vec::new(),
            strings: vec![0],
            next_id: 1,
        }
    }

    /// Adds a string (or finds it) and returns its offset; `""` is 0.
    pub fn s(&mut self, name: &str) -> u32 {
        if name.is_empty() {
            return 0;
        }
        let needle: Vec<u8> = name.bytes().chain([0]).collect();
        if let Some(pos) = self
            .strings
            .windows(needle.len())
            .position(|w| w == needle.as_slice())
        {
            if pos == 0 || self.strings[pos - 1] == 0 {
                return pos as u32;
            }
        }
        let off = self.strings.len() as u32;
        self.strings.extend_from_slice(&needle);
        off
    }

    /// Adds a type: `name`, `info` from kind/vlen/kflag, `size_or_type`, then `extra` words.
    /// Returns its id.
    pub fn ty(
        &mut self,
        name: &str,
        kind: u32,
        vlen: u32,
        kflag: bool,
        size_or_type: u32,
        extra: &[u32],
    ) -> u32 {
        let name = self.s(name);
        let info = (kind << 24) | vlen | (u32::from(kflag) << 31);
        self.types.extend([name, info, size_or_type]);
        self.types.extend_from_slice(extra);
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub fn int(&mut self, name: &str, size: u32, encoding: u32, bits: u32) -> u32 {
        self.ty(name, INT, 0, false, size, &[(encoding << 24) | bits])
    }

    pub fn ptr(&mut self, target: u32) -> u32 {
        self.ty("", PTR, 0, false, target, &[])
    }

    pub fn array(&mut self, elem: u32, index: u32, nelems: u32) -> u32 {
        self.ty("", ARRAY, 0, false, 0, &[elem, index, nelems])
    }

    /// A struct (or union with `kind = UNION`); members are (name, type, offset word).
    pub fn composite(
        &mut self,
        kind: u32,
        name: &str,
        size: u32,
        kflag: bool,
        members: &[(&str, u32, u32)],
    ) -> u32 {
        let mut extra = Vec::new();
        for (n, t, off) in members {
            extra.extend([self.s(n), *t, *off]);
        }
        self.ty(name, kind, members.len() as u32, kflag, size, &extra)
    }

    pub fn typedef(&mut self, name: &str, target: u32) -> u32 {
        self.ty(name, TYPEDEF, 0, false, target, &[])
    }

    pub fn proto(&mut self, ret: u32, params: &[(&str, u32)]) -> u32 {
        let mut extra = Vec::new();
        for (n, t) in params {
            extra.extend([self.s(n), *t]);
        }
        self.ty("", FUNC_PROTO, params.len() as u32, false, ret, &extra)
    }

    pub fn func(&mut self, name: &str, proto: u32, linkage: u32) -> u32 {
        self.ty(name, FUNC, linkage, false, proto, &[])
    }

    pub fn header(&self) -> Header {
        let type_len = (self.types.len() * 4) as u32;
        Header {
            magic: 0xeb9f,
            version: 1,
            flags: 0,
            hdr_len: 24,
            type_off: 0,
            type_len,
            str_off: type_len,
            str_len: self.strings.len() as u32,
        }
    }

    /// The blob with a correct header.
    pub fn bytes(&self) -> Vec<u8> {
        self.bytes_with(|_| {})
    }

    /// The blob after `edit` changes the header (the payload stays types then strings).
    pub fn bytes_with(&self, edit: impl FnOnce(&mut Header)) -> Vec<u8> {
        let mut h = self.header();
        edit(&mut h);
        let mut out = Vec::new();
        out.extend_from_slice(&h.magic.to_le_bytes());
        out.push(h.version);
        out.push(h.flags);
        for w in [h.hdr_len, h.type_off, h.type_len, h.str_off, h.str_len] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        while out.len() < h.hdr_len as usize && out.len() < 4096 {
            out.push(0);
        }
        for w in &self.types {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(&self.strings);
        out
    }
}

/// A `.BTF.ext` info area: record size, then blocks of (section name offset, records).
pub fn ext_area(record_size: u32, blocks: &[(u32, Vec<Vec<u32>>)]) -> Vec<u8> {
    let mut out = record_size.to_le_bytes().to_vec();
    for (sec, recs) in blocks {
        out.extend_from_slice(&sec.to_le_bytes());
        out.extend_from_slice(&(recs.len() as u32).to_le_bytes());
        for r in recs {
            for w in r {
                out.extend_from_slice(&w.to_le_bytes());
            }
        }
    }
    out
}

/// A `.BTF.ext` blob with a 32-byte header (or 24 with `core = None`).
pub fn ext_blob(func: &[u8], line: &[u8], core: Option<&[u8]>) -> Vec<u8> {
    let hdr_len: u32 = if core.is_some() { 32 } else { 24 };
    let mut out = vec![0x9f, 0xeb, 1, 0];
    let f_off = 0u32;
    let l_off = func.len() as u32;
    let c_off = l_off + line.len() as u32;
    let c_len = core.map_or(0, |c| c.len() as u32);
    let mut words = vec![hdr_len, f_off, func.len() as u32, l_off, line.len() as u32];
    if core.is_some() {
        words.extend([c_off, c_len]);
    }
    for w in words {
        out.extend_from_slice(&w.to_le_bytes());
    }
    out.extend_from_slice(func);
    out.extend_from_slice(line);
    if let Some(c) = core {
        out.extend_from_slice(c);
    }
    out
}
