//! Lookups on a parsed [`Btf`]: names, sizes, modifiers, member offsets.
//!
//! Parsing guarantees every id in range and no cycle outside pointers, but every walk here
//! is still bounded by the number of types, so no query can loop or recurse without end.

use crate::error::BtfError;
use crate::types::{Kind, Member, Type, TypeId};
use crate::Btf;

impl Btf {
    /// The number of types including `void` (so the last id is `len() - 1`).
    pub fn len(&self) -> usize {
        self.types.len()
    }

    /// Whether the blob has no types besides `void`.
    pub fn is_empty(&self) -> bool {
        self.types.len() <= 1
    }

    /// The largest valid type id.
    pub fn last_id(&self) -> u32 {
        u32::try_from(self.types.len().saturating_sub(1)).unwrap_or(u32::MAX)
    }

    /// The type with id `id` (`Some(&Type::Void)` for id 0), or `None` beyond the last.
    pub fn type_by_id(&self, id: TypeId) -> Option<&Type> {
        self.types.get(id.0 as usize)
    }

    /// Every type of the blob, ids 1 to `len() - 1` in order (`void` is not included).
    pub fn types(&self) -> impl Iterator<Item = (TypeId, &Type)> {
        self.types
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, t)| (TypeId(i as u32), t))
    }

    /// All types named `name`, in id order (empty for `""`).
    pub fn find_by_name(&self, name: &str) -> Vec<TypeId> {
        let key = |id: &u32| self.types[*id as usize].name();
        let start = self.by_name.partition_point(|id| key(id) < name);
        self.by_name[start..]
            .iter()
            .take_while(|id| key(id) == name)
            .map(|&id| TypeId(id))
            .collect()
    }

    /// The first type named `name` of kind `kind`.
    pub fn find_by_name_kind(&self, name: &str, kind: Kind) -> Option<TypeId> {
        self.find_by_name(name)
            .into_iter()
            .find(|&id| self.type_by_id(id).map(Type::kind) == Some(kind))
    }

    /// The name of type `id`; `""` if it is anonymous, has no name or does not exist.
    pub fn name_of(&self, id: TypeId) -> &str {
        self.type_by_id(id).map_or("", Type::name)
    }

    /// The kind of type `id`, or `None` if it does not exist.
    pub fn kind_of(&self, id: TypeId) -> Option<Kind> {
        self.type_by_id(id).map(Type::kind)
    }

    /// Follows typedef, const, volatile, restrict and type tags from `id` to the first
    /// other type (`id` itself if it is none of those; a missing id is returned as is).
    pub fn skip_mods(&self, id: TypeId) -> TypeId {
        let mut cur = id;
        for _ in 0..self.types.len() {
            match self.type_by_id(cur) {
                Some(
                    Type::Typedef { target, .. }
                    | Type::Const { target }
                    | Type::Volatile { target }
                    | Type::Restrict { target }
                    | Type::TypeTag { target, .. },
                ) => cur = *target,
                _ => break,
            }
        }
        cur
    }

    /// The type `id` resolves to after [`skip_mods`](Btf::skip_mods).
    pub fn resolve(&self, id: TypeId) -> Option<&Type> {
        self.type_by_id(self.skip_mods(id))
    }

    /// The size in bytes of an object of type `id` (pointers are 8 bytes; a variable has
    /// the size of its type; arrays multiply). Void, functions, prototypes, forward
    /// declarations and tags have no size.
    pub fn size_of(&self, id: TypeId) -> Result<u64, BtfError> {
        let mut mult: u64 = 1;
        let mut cur = id;
        for _ in 0..self.types.len() {
            let t = self.type_by_id(cur).ok_or(BtfError::NoSuchType {
                id: cur.0,
                last: self.last_id(),
            })?;
            let size = match t {
                Type::Int { size, .. }
                | Type::Enum { size, .. }
                | Type::Enum64 { size, .. }
                | Type::Float { size, .. }
                | Type::DataSec { size, .. } => u64::from(*size),
                Type::Struct(c) | Type::Union(c) => u64::from(c.size),
                Type::Ptr { .. } => 8,
                Type::Array { elem, nelems, .. } => {
                    mult = mult
                        .checked_mul(u64::from(*nelems))
                        .ok_or(BtfError::SizeOverflow { id: id.0 })?;
                    cur = *elem;
                    continue;
                }
                Type::Typedef { target, .. }
                | Type::Const { target }
                | Type::Volatile { target }
                | Type::Restrict { target }
                | Type::TypeTag { target, .. } => {
                    cur = *target;
                    continue;
                }
                Type::Var { ty, .. } => {
                    cur = *ty;
                    continue;
                }
                Type::Void
                | Type::Fwd { .. }
                | Type::Func { .. }
                | Type::FuncProto { .. }
                | Type::DeclTag { .. } => {
                    return Err(BtfError::NoSize {
                        id: cur.0,
                        kind: t.kind(),
                    })
                }
            };
            return size
                .checked_mul(mult)
                .ok_or(BtfError::SizeOverflow { id: id.0 });
        }
        Err(BtfError::Cycle { id: id.0 })
    }

    /// The bit offset of member `member` in the struct or union `struct_id` (after
    /// skipping modifiers). Members of anonymous struct/union members are found too, with
    /// the anonymous member's offset added, as C allows `s.inner_field`.
    pub fn member_offset_bits(&self, struct_id: TypeId, member: &str) -> Option<u32> {
        if member.is_empty() {
            return None;
        }
        // Depth-first over anonymous members, in declaration order, without recursion.
        let mut work = vec![(self.skip_mods(struct_id), 0u32)];
        let mut steps = 0usize;
        while let Some((id, base)) = work.pop() {
            let c = self.type_by_id(id)?.as_composite()?;
            steps += 1;
            if steps > self.types.len() {
                return None;
            }
            if let Some(m) = c.members.iter().find(|m| m.name == member) {
                return base.checked_add(m.bit_offset);
            }
            for m in c.members.iter().rev().filter(|m| m.name.is_empty()) {
                let inner = self.skip_mods(m.ty);
                if self
                    .type_by_id(inner)
                    .and_then(Type::as_composite)
                    .is_some()
                {
                    if let Some(off) = base.checked_add(m.bit_offset) {
                        work.push((inner, off));
                    }
                }
            }
        }
        None
    }

    /// Follows a CO-RE access path (the indices of an access string such as `0:1:2`) from
    /// `root` in this BTF: the first index steps over whole `root` objects (array style),
    /// each later one selects a member of a struct/union or an element of an array. Returns
    /// the bit offset from the start of `root` and the type reached, or `None` if an index
    /// is out of range or a size is unknown.
    pub fn access_offset_bits(&self, root: TypeId, access: &[u32]) -> Option<(u64, TypeId)> {
        let (&first, rest) = access.split_first()?;
        let mut bits = self
            .size_of(root)
            .ok()?
            .checked_mul(8)?
            .checked_mul(u64::from(first))?;
        let mut cur = root;
        for &i in rest {
            match self.resolve(cur)? {
                Type::Struct(c) | Type::Union(c) => {
                    let m = c.members.get(i as usize)?;
                    bits = bits.checked_add(u64::from(m.bit_offset))?;
                    cur = m.ty;
                }
                Type::Array { elem, nelems, .. } => {
                    // Flexible arrays (0 elements) may be indexed past their end.
                    if i >= *nelems && *nelems != 0 {
                        return None;
                    }
                    let elem_bits = self.size_of(*elem).ok()?.checked_mul(8)?;
                    bits = bits.checked_add(elem_bits.checked_mul(u64::from(i))?)?;
                    cur = *elem;
                }
                _ => return None,
            }
        }
        Some((bits, cur))
    }

    /// The member named `member` of struct/union `struct_id` (direct members only).
    pub fn member(&self, struct_id: TypeId, member: &str) -> Option<&Member> {
        self.resolve(struct_id)?
            .as_composite()?
            .members
            .iter()
            .find(|m| m.name == member)
    }

    /// If `m` is a bitfield, its bit offset in the struct and width in bits. Handles both
    /// encodings: the kind flag (`bitfield_bits`) and old BTF, where the member's type is an
    /// INT whose `bits`/`bit_offset` do not fill its size.
    pub fn member_bitfield(&self, m: &Member) -> Option<(u32, u32)> {
        if m.bitfield_bits != 0 {
            return Some((m.bit_offset, u32::from(m.bitfield_bits)));
        }
        match self.resolve(m.ty)? {
            Type::Int {
                size,
                bit_offset,
                bits,
                ..
            } if u32::from(*bits) != size * 8 || *bit_offset != 0 => Some((
                m.bit_offset.checked_add(u32::from(*bit_offset))?,
                u32::from(*bits),
            )),
            _ => None,
        }
    }

    /// The prototype of function `func_id` (a FUNC, or a FUNC_PROTO itself).
    pub fn func_proto(&self, func_id: TypeId) -> Option<(TypeId, &[crate::Param])> {
        let id = match self.type_by_id(func_id)? {
            Type::Func { proto, .. } => *proto,
            _ => func_id,
        };
        match self.type_by_id(id)? {
            Type::FuncProto { ret, params } => Some((*ret, params)),
            _ => None,
        }
    }

    /// The string at byte offset `off` of the string section, if there is a valid one.
    pub fn string_at(&self, off: u32) -> Option<&str> {
        let rest = self.strings.get(off as usize..)?;
        let end = rest.iter().position(|&b| b == 0)?;
        core::str::from_utf8(&rest[..end]).ok()
    }

    /// The raw string section.
    pub fn string_section(&self) -> &[u8] {
        &self.strings
    }

    /// The length of the blob this was parsed from.
    pub(crate) fn input_len(&self) -> usize {
        self.input_len
    }
}
