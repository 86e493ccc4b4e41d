//! Bytes → [`Btf`]: header, string section, type section, then the checks that make every
//! later query total (all ids in range, referents of the right kind, no cycle that a
//! pointer does not break).

use crate::error::{Blob, BtfError};
use crate::raw::{self, u32_at, Strings};
use crate::types::{
    Composite, FuncLinkage, IntEncoding, Kind, Member, Param, RefSlot, Type, TypeId, VarLinkage,
    VarSecInfo,
};
use crate::Btf;

/// The fields of `struct btf_type` plus the bytes that follow it.
struct RawType<'a> {
    id: u32,
    name_off: u32,
    kind: Kind,
    vlen: u16,
    kflag: bool,
    size_or_type: u32,
    extra: &'a [u8],
}

impl RawType<'_> {
    fn invalid(&self, field: &'static str, value: u64) -> BtfError {
        BtfError::InvalidField {
            id: self.id,
            kind: self.kind,
            field,
            value,
        }
    }

    fn name(&self, strings: &mut Strings<'_>) -> Result<String, BtfError> {
        let id = self.id;
        strings.get(self.name_off, || format!("type {id}: name"))
    }

    /// The name, which must be non-empty.
    fn required_name(&self, strings: &mut Strings<'_>) -> Result<String, BtfError> {
        let name = self.name(strings)?;
        if name.is_empty() {
            return Err(BtfError::BadName {
                id: self.id,
                kind: self.kind,
                expected: true,
            });
        }
        Ok(name)
    }

    /// Checks that the type has no name.
    fn no_name(&self) -> Result<(), BtfError> {
        if self.name_off != 0 {
            return Err(BtfError::BadName {
                id: self.id,
                kind: self.kind,
                expected: false,
            });
        }
        Ok(())
    }

    fn no_vlen(&self) -> Result<(), BtfError> {
        if self.vlen != 0 {
            return Err(self.invalid("vlen", self.vlen.into()));
        }
        Ok(())
    }

    fn no_kflag(&self) -> Result<(), BtfError> {
        if self.kflag {
            return Err(self.invalid("kind_flag", 1));
        }
        Ok(())
    }

    fn word(&self, index: usize) -> u32 {
        // The caller sized `extra` from the kind and vlen before decoding.
        u32_at(self.extra, index * 4).unwrap_or(0)
    }

    fn target(&self) -> TypeId {
        TypeId(self.size_or_type)
    }
}

/// Bytes of trailing data a type of `kind` with `vlen` entries carries.
fn extra_len(kind: Kind, vlen: u16) -> usize {
    let vlen = usize::from(vlen);
    match kind {
        Kind::Int | Kind::Var | Kind::DeclTag => 4,
        Kind::Array => 12,
        Kind::Struct | Kind::Union | Kind::DataSec | Kind::Enum64 => 12 * vlen,
        Kind::Enum | Kind::FuncProto => 8 * vlen,
        Kind::Void
        | Kind::Ptr
        | Kind::Fwd
        | Kind::Typedef
        | Kind::Volatile
        | Kind::Const
        | Kind::Restrict
        | Kind::Func
        | Kind::Float
        | Kind::TypeTag => 0,
    }
}

pub(crate) fn parse(data: &[u8]) -> Result<Btf, BtfError> {
    let pre = raw::preamble(data, Blob::Btf, raw::BTF_HEADER_LEN)?;
    let word = |i: usize| u32_at(data, 8 + 4 * i).unwrap_or(0);
    let (type_off, type_len, str_off, str_len) = (word(0), word(1), word(2), word(3));
    let payload = &data[pre.hdr_len as usize..];
    let type_sec = raw::section(payload, Blob::Btf, "type", type_off, type_len)?;
    let str_sec = raw::section(payload, Blob::Btf, "string", str_off, str_len)?;
    if type_off % 4 != 0 || type_len % 4 != 0 {
        return Err(BtfError::Misaligned {
            blob: Blob::Btf,
            section: "type",
            offset: type_off,
            len: type_len,
        });
    }
    let (t0, t1) = (
        u64::from(type_off),
        u64::from(type_off) + u64::from(type_len),
    );
    let (s0, s1) = (u64::from(str_off), u64::from(str_off) + u64::from(str_len));
    if t0 < s1 && s0 < t1 {
        return Err(BtfError::SectionsOverlap {
            type_off,
            type_len,
            str_off,
            str_len,
        });
    }
    match (str_sec.first(), str_sec.last()) {
        (None, _) => {
            return Err(BtfError::BadStringSection {
                reason: "it is empty",
            })
        }
        (Some(&first), _) if first != 0 => {
            return Err(BtfError::BadStringSection {
                reason: "it does not start with a NUL byte",
            })
        }
        (_, Some(&last)) if last != 0 => {
            return Err(BtfError::BadStringSection {
                reason: "it does not end with a NUL byte",
            })
        }
        _ => {}
    }
    let mut strings = Strings::new(str_sec, raw::string_budget(data.len()), Blob::Btf);

    let mut types = vec![Type::Void];
    let mut pos = 0usize;
    while pos < type_sec.len() {
        let id = u32::try_from(types.len()).unwrap_or(u32::MAX);
        let rest = &type_sec[pos..];
        if rest.len() < raw::TYPE_HEADER_LEN {
            return Err(BtfError::TypeTruncated {
                id,
                kind: Kind::Void,
                need: raw::TYPE_HEADER_LEN,
                have: rest.len(),
            });
        }
        let name_off = u32_at(rest, 0).unwrap_or(0);
        let info = u32_at(rest, 4).unwrap_or(0);
        let size_or_type = u32_at(rest, 8).unwrap_or(0);
        let kind_no = ((info >> 24) & 0x1f) as u8;
        let kind = match Kind::from_u8(kind_no) {
            Some(k) if k != Kind::Void => k,
            _ => return Err(BtfError::UnknownKind { id, kind: kind_no }),
        };
        if info & 0x60ff_0000 != 0 {
            return Err(BtfError::InvalidField {
                id,
                kind,
                field: "info",
                value: info.into(),
            });
        }
        let vlen = (info & 0xffff) as u16;
        let need = extra_len(kind, vlen);
        let body = &rest[raw::TYPE_HEADER_LEN..];
        if body.len() < need {
            return Err(BtfError::TypeTruncated {
                id,
                kind,
                need: raw::TYPE_HEADER_LEN + need,
                have: rest.len(),
            });
        }
        let rt = RawType {
            id,
            name_off,
            kind,
            vlen,
            kflag: info >> 31 != 0,
            size_or_type,
            extra: &body[..need],
        };
        types.push(decode(&rt, &mut strings)?);
        pos += raw::TYPE_HEADER_LEN + need;
    }

    let btf = Btf::from_parts(types, str_sec.to_vec(), data.len());
    check_refs(&btf)?;
    check_cycles(&btf)?;
    Ok(btf)
}

fn decode(rt: &RawType<'_>, strings: &mut Strings<'_>) -> Result<Type, BtfError> {
    let id = rt.id;
    Ok(match rt.kind {
        Kind::Void => Type::Void,
        Kind::Int => {
            rt.no_vlen()?;
            rt.no_kflag()?;
            let size = rt.size_or_type;
            if !matches!(size, 1 | 2 | 4 | 8 | 16) {
                return Err(rt.invalid("size", size.into()));
            }
            let w = rt.word(0);
            let enc = (w >> 24) & 0x0f;
            let bit_offset = (w >> 16) & 0xff;
            let bits = w & 0xff;
            if w & 0xf000_ff00 != 0 {
                return Err(rt.invalid("int data", w.into()));
            }
            let encoding = match enc {
                0 => IntEncoding::Unsigned,
                1 => IntEncoding::Signed,
                2 => IntEncoding::Char,
                4 => IntEncoding::Bool,
                _ => return Err(rt.invalid("encoding", enc.into())),
            };
            if bits == 0 || bits > 128 {
                return Err(rt.invalid("bits", bits.into()));
            }
            if bit_offset + bits > size * 8 {
                return Err(rt.invalid("bit offset + bits", (bit_offset + bits).into()));
            }
            Type::Int {
                name: rt.required_name(strings)?,
                size,
                encoding,
                bit_offset: bit_offset as u8,
                bits: bits as u8,
            }
        }
        Kind::Ptr | Kind::Volatile | Kind::Const | Kind::Restrict => {
            rt.no_vlen()?;
            rt.no_kflag()?;
            rt.no_name()?;
            let target = rt.target();
            match rt.kind {
                Kind::Ptr => Type::Ptr { target },
                Kind::Volatile => Type::Volatile { target },
                Kind::Const => Type::Const { target },
                _ => Type::Restrict { target },
            }
        }
        Kind::Typedef => {
            rt.no_vlen()?;
            rt.no_kflag()?;
            Type::Typedef {
                name: rt.required_name(strings)?,
                target: rt.target(),
            }
        }
        Kind::TypeTag => {
            // The kind flag marks an `__attribute__` rather than a tag (Linux 6.14+).
            rt.no_vlen()?;
            Type::TypeTag {
                name: rt.required_name(strings)?,
                target: rt.target(),
            }
        }
        Kind::Array => {
            rt.no_vlen()?;
            rt.no_kflag()?;
            rt.no_name()?;
            if rt.size_or_type != 0 {
                return Err(rt.invalid("size", rt.size_or_type.into()));
            }
            Type::Array {
                elem: TypeId(rt.word(0)),
                index: TypeId(rt.word(1)),
                nelems: rt.word(2),
            }
        }
        Kind::Struct | Kind::Union => {
            let name = rt.name(strings)?;
            let mut members = Vec::with_capacity(rt.vlen.into());
            for i in 0..usize::from(rt.vlen) {
                let name_off = rt.word(3 * i);
                let ty = TypeId(rt.word(3 * i + 1));
                let off = rt.word(3 * i + 2);
                let (bit_offset, bitfield_bits) = if rt.kflag {
                    (off & 0x00ff_ffff, (off >> 24) as u8)
                } else {
                    (off, 0)
                };
                let name = strings.get(name_off, || format!("type {id}: member {i} name"))?;
                members.push(Member {
                    name,
                    ty,
                    bit_offset,
                    bitfield_bits,
                });
            }
            let c = Composite {
                name,
                size: rt.size_or_type,
                members,
            };
            if rt.kind == Kind::Struct {
                Type::Struct(c)
            } else {
                Type::Union(c)
            }
        }
        Kind::Enum => {
            let size = rt.size_or_type;
            if !matches!(size, 1 | 2 | 4 | 8) {
                return Err(rt.invalid("size", size.into()));
            }
            let name = rt.name(strings)?;
            let mut values = Vec::with_capacity(rt.vlen.into());
            for i in 0..usize::from(rt.vlen) {
                let vname = strings.get(rt.word(2 * i), || format!("type {id}: value {i} name"))?;
                let raw = rt.word(2 * i + 1);
                let v = if rt.kflag {
                    i64::from(raw as i32)
                } else {
                    i64::from(raw)
                };
                values.push((vname, v));
            }
            Type::Enum {
                name,
                size,
                signed: rt.kflag,
                values,
            }
        }
        Kind::Enum64 => {
            let size = rt.size_or_type;
            if !matches!(size, 1 | 2 | 4 | 8) {
                return Err(rt.invalid("size", size.into()));
            }
            let name = rt.name(strings)?;
            let mut values = Vec::with_capacity(rt.vlen.into());
            for i in 0..usize::from(rt.vlen) {
                let vname = strings.get(rt.word(3 * i), || format!("type {id}: value {i} name"))?;
                let raw = u64::from(rt.word(3 * i + 1)) | (u64::from(rt.word(3 * i + 2)) << 32);
                let v = if rt.kflag {
                    i128::from(raw as i64)
                } else {
                    i128::from(raw)
                };
                values.push((vname, v));
            }
            Type::Enum64 {
                name,
                size,
                signed: rt.kflag,
                values,
            }
        }
        Kind::Fwd => {
            rt.no_vlen()?;
            if rt.size_or_type != 0 {
                return Err(rt.invalid("type", rt.size_or_type.into()));
            }
            Type::Fwd {
                name: rt.required_name(strings)?,
                union: rt.kflag,
            }
        }
        Kind::Func => {
            rt.no_kflag()?;
            let linkage = match rt.vlen {
                0 => FuncLinkage::Static,
                1 => FuncLinkage::Global,
                2 => FuncLinkage::Extern,
                v => return Err(rt.invalid("linkage", v.into())),
            };
            Type::Func {
                name: rt.required_name(strings)?,
                proto: rt.target(),
                linkage,
            }
        }
        Kind::FuncProto => {
            rt.no_kflag()?;
            rt.no_name()?;
            let mut params = Vec::with_capacity(rt.vlen.into());
            for i in 0..usize::from(rt.vlen) {
                let name = strings.get(rt.word(2 * i), || format!("type {id}: param {i} name"))?;
                let ty = TypeId(rt.word(2 * i + 1));
                if ty.is_void() && (i + 1 != usize::from(rt.vlen) || !name.is_empty()) {
                    return Err(rt.invalid("void param", i as u64));
                }
                params.push(Param { name, ty });
            }
            Type::FuncProto {
                ret: rt.target(),
                params,
            }
        }
        Kind::Var => {
            rt.no_vlen()?;
            rt.no_kflag()?;
            let linkage = match rt.word(0) {
                0 => VarLinkage::Static,
                1 => VarLinkage::GlobalAllocated,
                2 => VarLinkage::GlobalExtern,
                v => return Err(rt.invalid("linkage", v.into())),
            };
            Type::Var {
                name: rt.required_name(strings)?,
                ty: rt.target(),
                linkage,
            }
        }
        Kind::DataSec => {
            rt.no_kflag()?;
            let name = rt.required_name(strings)?;
            let vars = (0..usize::from(rt.vlen))
                .map(|i| VarSecInfo {
                    ty: TypeId(rt.word(3 * i)),
                    offset: rt.word(3 * i + 1),
                    size: rt.word(3 * i + 2),
                })
                .collect();
            Type::DataSec {
                name,
                size: rt.size_or_type,
                vars,
            }
        }
        Kind::Float => {
            rt.no_vlen()?;
            rt.no_kflag()?;
            let size = rt.size_or_type;
            if !matches!(size, 2 | 4 | 8 | 12 | 16) {
                return Err(rt.invalid("size", size.into()));
            }
            Type::Float {
                name: rt.required_name(strings)?,
                size,
            }
        }
        Kind::DeclTag => {
            rt.no_vlen()?;
            // The kind flag marks an `__attribute__` rather than a tag (Linux 6.14+).
            let component = rt.word(0) as i32;
            if component < -1 {
                return Err(rt.invalid("component_idx", u64::from(rt.word(0))));
            }
            Type::DeclTag {
                name: rt.required_name(strings)?,
                target: rt.target(),
                component,
            }
        }
    })
}

/// Whether a reference from `from` (through `slot`) may point at a type of kind `to`.
/// VAR, FUNC, DATASEC and DECL_TAG are declarations, not types: only data sections and
/// declaration tags may refer to them.
fn referent_ok(from: &Type, slot: RefSlot, to: Kind) -> Result<(), &'static str> {
    match from {
        Type::Func { .. } => match to {
            Kind::FuncProto => Ok(()),
            _ => Err("FUNC_PROTO"),
        },
        Type::DataSec { .. } => match to {
            Kind::Var | Kind::Func => Ok(()),
            _ => Err("VAR or FUNC"),
        },
        Type::DeclTag { .. } => match to {
            Kind::Struct | Kind::Union | Kind::Var | Kind::Func | Kind::Typedef => Ok(()),
            _ => Err("STRUCT, UNION, VAR, FUNC or TYPEDEF"),
        },
        _ => match to {
            Kind::Var | Kind::Func | Kind::DataSec | Kind::DeclTag => Err("a type"),
            Kind::Void => match (from, slot) {
                (Type::Struct(_) | Type::Union(_), _)
                | (Type::Array { .. }, _)
                | (Type::Var { .. }, _) => Err("a non-void type"),
                _ => Ok(()),
            },
            _ => Ok(()),
        },
    }
}

fn check_refs(btf: &Btf) -> Result<(), BtfError> {
    let last = btf.last_id();
    for (id, t) in btf.types() {
        let mut err = None;
        t.for_each_ref(|slot, target| {
            if err.is_some() {
                return;
            }
            let Some(to) = btf.type_by_id(target) else {
                err = Some(BtfError::DanglingType {
                    id: id.0,
                    slot: slot.to_string(),
                    target: target.0,
                    last,
                });
                return;
            };
            if let Err(expected) = referent_ok(t, slot, to.kind()) {
                err = Some(BtfError::WrongKind {
                    id: id.0,
                    slot: slot.to_string(),
                    target: target.0,
                    kind: to.kind(),
                    expected,
                });
            }
        });
        if let Some(e) = err {
            return Err(e);
        }
        if let Type::DeclTag {
            target, component, ..
        } = t
        {
            if *component >= 0 {
                let count = match btf.type_by_id(*target) {
                    Some(Type::Struct(c) | Type::Union(c)) => Some(c.members.len()),
                    Some(Type::Func { proto, .. }) => match btf.type_by_id(*proto) {
                        Some(Type::FuncProto { params, .. }) => Some(params.len()),
                        _ => Some(0),
                    },
                    _ => None,
                };
                let ok = count.is_some_and(|n| (*component as usize) < n);
                if !ok {
                    return Err(BtfError::BadComponent {
                        id: id.0,
                        component: *component,
                        target: target.0,
                        count: count.unwrap_or(0),
                    });
                }
            }
        }
    }
    Ok(())
}

/// Rejects cycles along references other than pointers (iterative DFS, so deep chains
/// cannot overflow the stack).
fn check_cycles(btf: &Btf) -> Result<(), BtfError> {
    const WHITE: u8 = 0;
    const GRAY: u8 = 1;
    const BLACK: u8 = 2;
    let n = btf.len();
    let mut color = vec![WHITE; n];
    let mut stack: Vec<(u32, Vec<u32>, usize)> = Vec::new();
    let refs_of = |id: u32| -> Vec<u32> {
        let mut v = Vec::new();
        if let Some(t) = btf.type_by_id(TypeId(id)) {
            if !matches!(t, Type::Ptr { .. }) {
                t.for_each_ref(|_, r| {
                    if !r.is_void() {
                        v.push(r.0)
                    }
                });
            }
        }
        v
    };
    for root in 1..n {
        if color[root] != WHITE {
            continue;
        }
        color[root] = GRAY;
        stack.push((root as u32, refs_of(root as u32), 0));
        while let Some(top) = stack.last_mut() {
            let (node, refs, next) = (top.0, &top.1, &mut top.2);
            if *next < refs.len() {
                let r = refs[*next];
                *next += 1;
                match color[r as usize] {
                    WHITE => {
                        color[r as usize] = GRAY;
                        stack.push((r, refs_of(r), 0));
                    }
                    GRAY => return Err(BtfError::Cycle { id: r }),
                    _ => {}
                }
            } else {
                color[node as usize] = BLACK;
                stack.pop();
            }
        }
    }
    Ok(())
}
