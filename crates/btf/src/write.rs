//! [`Btf`] → bytes, and building a [`Btf`] from a type list.
//!
//! The string section is rebuilt (each distinct name once), so `Btf::parse(&b.to_bytes())`
//! equals `b` as types, not necessarily as bytes.

use std::collections::HashMap;

use crate::error::BtfError;
use crate::raw::{BTF_HEADER_LEN, MAGIC, VERSION};
use crate::types::{FuncLinkage, IntEncoding, Kind, Type, VarLinkage};
use crate::Btf;

struct StrTab {
    bytes: Vec<u8>,
    offsets: HashMap<String, u32>,
}

impl StrTab {
    fn new() -> StrTab {
        StrTab {
            bytes: vec![0],
            offsets: HashMap::new(),
        }
    }

    fn add(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        if let Some(&off) = self.offsets.get(s) {
            return off;
        }
        let off = self.bytes.len() as u32;
        self.bytes.extend_from_slice(s.as_bytes());
        self.bytes.push(0);
        self.offsets.insert(s.to_string(), off);
        off
    }
}

fn put(out: &mut Vec<u8>, words: &[u32]) {
    for w in words {
        out.extend_from_slice(&w.to_le_bytes());
    }
}

fn info(kind: Kind, vlen: usize, kflag: bool) -> u32 {
    ((kind as u32) << 24) | (vlen as u32 & 0xffff) | (u32::from(kflag) << 31)
}

/// Appends one type; `Err(field)` if it cannot be encoded.
fn write_type(t: &Type, out: &mut Vec<u8>, strs: &mut StrTab) -> Result<(), (&'static str, u64)> {
    let vlen_ok = |n: usize| {
        if n > 0xffff {
            Err(("vlen", n as u64))
        } else {
            Ok(n)
        }
    };
    let name = strs.add(t.name());
    let kind = t.kind();
    match t {
        Type::Void => put(out, &[0, 0, 0]),
        Type::Int {
            size,
            encoding,
            bit_offset,
            bits,
            ..
        } => {
            let enc = match encoding {
                IntEncoding::Unsigned => 0,
                IntEncoding::Signed => 1,
                IntEncoding::Char => 2,
                IntEncoding::Bool => 4,
            };
            let data = (enc << 24) | (u32::from(*bit_offset) << 16) | u32::from(*bits);
            put(out, &[name, info(kind, 0, false), *size, data]);
        }
        Type::Ptr { target }
        | Type::Volatile { target }
        | Type::Const { target }
        | Type::Restrict { target }
        | Type::Typedef { target, .. }
        | Type::TypeTag { target, .. } => put(out, &[name, info(kind, 0, false), target.0]),
        Type::Array {
            elem,
            index,
            nelems,
        } => put(
            out,
            &[name, info(kind, 0, false), 0, elem.0, index.0, *nelems],
        ),
        Type::Struct(c) | Type::Union(c) => {
            let n = vlen_ok(c.members.len())?;
            let kflag = c.members.iter().any(|m| m.bitfield_bits != 0);
            put(out, &[name, info(kind, n, kflag), c.size]);
            for m in &c.members {
                let off = if kflag {
                    if m.bit_offset > 0x00ff_ffff {
                        return Err(("member bit offset", m.bit_offset.into()));
                    }
                    (u32::from(m.bitfield_bits) << 24) | m.bit_offset
                } else {
                    m.bit_offset
                };
                let mname = strs.add(&m.name);
                put(out, &[mname, m.ty.0, off]);
            }
        }
        Type::Enum {
            size,
            signed,
            values,
            ..
        } => {
            let n = vlen_ok(values.len())?;
            put(out, &[name, info(kind, n, *signed), *size]);
            for (vname, v) in values {
                let vname = strs.add(vname);
                put(out, &[vname, *v as u32]);
            }
        }
        Type::Enum64 {
            size,
            signed,
            values,
            ..
        } => {
            let n = vlen_ok(values.len())?;
            put(out, &[name, info(kind, n, *signed), *size]);
            for (vname, v) in values {
                let vname = strs.add(vname);
                let v = *v as u64;
                put(out, &[vname, v as u32, (v >> 32) as u32]);
            }
        }
        Type::Fwd { union, .. } => put(out, &[name, info(kind, 0, *union), 0]),
        Type::Func { proto, linkage, .. } => {
            let l = match linkage {
                FuncLinkage::Static => 0,
                FuncLinkage::Global => 1,
                FuncLinkage::Extern => 2,
            };
            put(out, &[name, info(kind, l, false), proto.0]);
        }
        Type::FuncProto { ret, params } => {
            let n = vlen_ok(params.len())?;
            put(out, &[name, info(kind, n, false), ret.0]);
            for p in params {
                let pname = strs.add(&p.name);
                put(out, &[pname, p.ty.0]);
            }
        }
        Type::Var { ty, linkage, .. } => {
            let l = match linkage {
                VarLinkage::Static => 0,
                VarLinkage::GlobalAllocated => 1,
                VarLinkage::GlobalExtern => 2,
            };
            put(out, &[name, info(kind, 0, false), ty.0, l]);
        }
        Type::DataSec { size, vars, .. } => {
            let n = vlen_ok(vars.len())?;
            put(out, &[name, info(kind, n, false), *size]);
            for v in vars {
                put(out, &[v.ty.0, v.offset, v.size]);
            }
        }
        Type::Float { size, .. } => put(out, &[name, info(kind, 0, false), *size]),
        Type::DeclTag {
            target, component, ..
        } => put(
            out,
            &[name, info(kind, 0, false), target.0, *component as u32],
        ),
    }
    Ok(())
}

/// Encodes `types` (ids 1, 2, ...) as a little-endian `.BTF` blob.
fn encode(types: &[Type]) -> Result<Vec<u8>, BtfError> {
    let mut strs = StrTab::new();
    let mut type_sec = Vec::new();
    for (i, t) in types.iter().enumerate() {
        write_type(t, &mut type_sec, &mut strs).map_err(|(field, value)| {
            BtfError::InvalidField {
                id: u32::try_from(i + 1).unwrap_or(u32::MAX),
                kind: t.kind(),
                field,
                value,
            }
        })?;
    }
    let type_len = type_sec.len() as u32;
    let str_len = strs.bytes.len() as u32;
    let mut out = Vec::with_capacity(24 + type_sec.len() + strs.bytes.len());
    out.extend_from_slice(&MAGIC.to_le_bytes());
    out.push(VERSION);
    out.push(0);
    put(&mut out, &[BTF_HEADER_LEN, 0, type_len, type_len, str_len]);
    out.extend_from_slice(&type_sec);
    out.extend_from_slice(&strs.bytes);
    Ok(out)
}

impl Btf {
    /// Builds a [`Btf`] from the types with ids 1, 2, ... (`void` is implicit), checking it
    /// as [`Btf::parse`] would (it encodes and parses).
    pub fn from_types(types: Vec<Type>) -> Result<Btf, BtfError> {
        Btf::parse(&encode(&types)?)
    }

    /// Encodes this BTF as a little-endian `.BTF` blob (header, types, a rebuilt string
    /// section), so that `Btf::parse(&btf.to_bytes())` has the same types.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Every type of a parsed Btf fits the encoding (vlen and offsets came from it).
        encode(&self.types[1..]).unwrap_or_default()
    }
}
