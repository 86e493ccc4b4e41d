//! CO-RE (compile once – run everywhere): resolving `.BTF.ext` CO-RE relocation records
//! against a target BTF, with libbpf's rules, so that a program built against one set of
//! type definitions reads the right offsets, sizes and values on another.
//!
//! ```text
//!  CoreRelo { local type id, access "0:1:2", kind }
//!     │  access string walked in the local BTF ──▶ local spec (named fields, array indices,
//!     │                                            bit offset)
//!     │  candidates: target types of a compatible kind whose essential name (the name
//!     │              without a `___flavour` suffix) is the local type's
//!     │  local spec matched in each candidate (members by name, through anonymous
//!     │              structs/unions) ──▶ target specs
//!     ▼  value from the local spec (what the compiler wrote) and from the target specs
//!  CoreResult { orig_val, new_val, poison, ... } ──ebpfvm-object──▶ patched instruction
//! ```
//!
//! The rules are libbpf's (`relo_core.c`, read for its facts):
//!
//! * field relocations (byte offset, byte size, exists, signed, left/right shift for
//!   bitfield extraction) match named members by name and need *compatible* member types:
//!   any struct/union with any struct/union, pointers with pointers, integers of any size
//!   and signedness (but not old-style bitfield integers), enums and forward declarations
//!   by essential name, arrays by element type;
//! * type relocations (id local/target, exists, size) need compatible root types
//!   (structs, unions, enums are compatible by name alone; pointers, arrays and function
//!   prototypes recursively); TYPE_MATCHES needs the stricter layout match (local members
//!   present in the target by name with matching types, integers of the same size,
//!   signedness and name, enum variants by name, ...);
//! * enumerator relocations match enumerators by essential name;
//! * several matching candidates must agree (same field bit offset, same value), or the
//!   relocation is an error ([`CoreError::Ambiguous`]);
//! * when nothing matches, existence relocations give 0, type relocations give 0, and the
//!   others *fail*: [`CoreResult::poison`] is set and the loader replaces the instruction
//!   by a call to the invalid helper [`POISON_HELPER`], so the program is rejected only if
//!   the instruction is reachable (as under `bpf_core_field_exists` guards it is not).
//!
//! One deliberate difference from libbpf: target types whose own name has a flavour suffix
//! (`iphdr___future`) are candidates only when no candidate without a suffix exists. Kernel
//! BTF has almost no such names (Linux 6.18: only `nf_conn___init`, a kfunc wrapper of
//! `nf_conn`, where libbpf could only agree or report an ambiguity), so against it the
//! answers are libbpf's. When an object's own BTF is the target (the user-space default), a
//! local flavour then resolves to the base type the object declares (`iphdr___future`
//! against `iphdr`, as a kernel would answer) rather than to itself, and still resolves to
//! itself when the object declares no base type.
//!
//! Every walk is bounded: access strings have at most [`MAX_SPEC_LEN`] components, type
//! recursion is limited to 32 levels as in libbpf, and one resolution does at most a fixed
//! number of matching steps, so crafted BTF gives an error, never a hang or a panic.

use std::fmt;

use crate::error::Escaped;
use crate::ext::{CoreRelo, CoreReloKind};
use crate::types::{IntEncoding, Kind, Member, Type, TypeId};
use crate::Btf;

/// The helper id libbpf puts in a poisoned instruction (`call 0xbad2310`, "bad relo"): a
/// relocation that could not be resolved makes its instruction a call to this
/// non-existent helper, reported by the verifier or the engine only if it is reached.
pub const POISON_HELPER: i32 = 0x0bad_2310;

/// The most components an access string may have (libbpf's `BPF_CORE_SPEC_MAX_LEN`); the
/// same bound applies to the target side, where anonymous members add components.
pub const MAX_SPEC_LEN: usize = 64;

/// Where the kernel exposes its own BTF.
pub const VMLINUX_BTF_PATH: &str = "/sys/kernel/btf/vmlinux";

/// libbpf's recursion limit for type compatibility and type matching.
const MAX_DEPTH: u32 = 32;

/// The most matching steps (members visited, types compared) of one resolution.
const STEP_BUDGET: u32 = 1 << 24;

/// Reads and parses the running kernel's BTF ([`VMLINUX_BTF_PATH`]), or `None` if it is
/// not there, not readable or not valid BTF.
pub fn vmlinux_btf() -> Option<Btf> {
    let data = std::fs::read(VMLINUX_BTF_PATH).ok()?;
    Btf::parse(&data).ok()
}

/// The answer to one CO-RE relocation: what to patch into its instruction.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CoreResult {
    /// The relocation kind.
    pub kind: CoreReloKind,
    /// The value computed from the local types: what the compiler put in the instruction
    /// (checked against it when [`CoreResult::validate`] is set).
    pub orig_val: u64,
    /// The value for the target: the new immediate or offset.
    pub new_val: u64,
    /// The relocation fails (a field or enumerator the program uses is missing, or a load
    /// cannot be resized safely): the instruction must be replaced by a call to
    /// [`POISON_HELPER`] instead of being patched.
    pub poison: bool,
    /// Whether the instruction must hold [`CoreResult::orig_val`] before patching (libbpf
    /// skips the check for bitfield fields, where clang's local answer may differ, and for
    /// type ids, which linking may change).
    pub validate: bool,
    /// For a field byte offset relocation on a load or store: the field's size in the local
    /// types (the access size the compiler used), else 0.
    pub orig_size: u32,
    /// The field's size in the target: the access size to use, else 0.
    pub new_size: u32,
    /// The sizes differ and the field is neither a pointer nor an unsigned integer on both
    /// sides, so a load or store of it cannot be resized: the loader poisons such an
    /// instruction (other instructions are patched normally).
    pub bad_size_change: bool,
    /// The root type of the (first) matching target candidate, if any matched.
    pub target: Option<TypeId>,
    /// The number of candidate types tried.
    pub candidates: usize,
    /// The number of candidates that matched.
    pub matches: usize,
}

impl CoreResult {
    fn new(kind: CoreReloKind) -> CoreResult {
        CoreResult {
            kind,
            orig_val: 0,
            new_val: 0,
            poison: false,
            validate: true,
            orig_size: 0,
            new_size: 0,
            bad_size_change: false,
            target: None,
            candidates: 0,
            matches: 0,
        }
    }
}

/// A CO-RE relocation that cannot be resolved: the load must fail (as libbpf fails it).
/// A relocation that merely finds nothing is not an error but a poisoned result.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// The record's local type id does not exist.
    #[error("{kind} relocation: local type {id} does not exist")]
    NoSuchType {
        /// The relocation kind.
        kind: CoreReloKind,
        /// The type id.
        id: u32,
    },
    /// The record does not fit the local types (bad access string, anonymous root type,
    /// a field whose value cannot be computed).
    #[error("{kind} relocation [{id}] {} + {access}: {}", Escaped(.name), Escaped(.reason))]
    BadRecord {
        /// The relocation kind.
        kind: CoreReloKind,
        /// The local root type.
        id: u32,
        /// Its name (`""` if anonymous).
        name: String,
        /// The access string.
        access: String,
        /// What is wrong.
        reason: String,
    },
    /// Matching against a target candidate failed with an error rather than a mismatch
    /// (a type without a size, nesting too deep, a bitfield wider than a 64-bit load).
    #[error(
        "{kind} relocation [{id}] {} + {access}: target type {target}: {}",
        Escaped(.name),
        Escaped(.reason)
    )]
    Candidate {
        /// The relocation kind.
        kind: CoreReloKind,
        /// The local root type.
        id: u32,
        /// Its name.
        name: String,
        /// The access string.
        access: String,
        /// The target candidate.
        target: u32,
        /// What is wrong.
        reason: String,
    },
    /// Several candidates match but give different answers.
    #[error(
        "{kind} relocation [{id}] {} + {access}: ambiguous: target types {first} and {other} disagree ({})",
        Escaped(.name),
        Escaped(.reason)
    )]
    Ambiguous {
        /// The relocation kind.
        kind: CoreReloKind,
        /// The local root type.
        id: u32,
        /// Its name.
        name: String,
        /// The access string.
        access: String,
        /// The first matching candidate.
        first: u32,
        /// A later candidate that disagrees with it.
        other: u32,
        /// How they disagree.
        reason: String,
    },
}

/// One step of a spec: a named member (with the id of the struct/union holding it and its
/// index there) or an array element (with the element type and index); for enumerator
/// relocations, the enumerator.
#[derive(Clone, Copy, Debug)]
struct Accessor<'a> {
    type_id: TypeId,
    idx: u32,
    name: Option<&'a str>,
}

/// An access path resolved in one BTF: the high-level accessors, the raw indices (which in
/// a target include anonymous members) and the bit offset reached.
#[derive(Clone, Debug)]
struct Spec<'a> {
    btf: &'a Btf,
    kind: CoreReloKind,
    root: TypeId,
    accs: Vec<Accessor<'a>>,
    raw: Vec<u32>,
    bit_offset: u64,
}

impl<'a> Spec<'a> {
    fn new(btf: &'a Btf, kind: CoreReloKind, root: TypeId) -> Spec<'a> {
        Spec {
            btf,
            kind,
            root,
            accs: Vec::new(),
            raw: Vec::new(),
            bit_offset: 0,
        }
    }
}

impl fmt::Display for Spec<'_> {
    /// `iphdr.protocol (0:6 @ bit 72)`, for messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", Escaped(self.btf.name_of(self.root)))?;
        for (i, a) in self.accs.iter().enumerate() {
            match a.name {
                Some(n) => write!(f, ".{}", Escaped(n))?,
                None if i > 0 || a.idx > 0 => write!(f, "[{}]", a.idx)?,
                None => {}
            }
        }
        let raw: Vec<String> = self.raw.iter().map(u32::to_string).collect();
        write!(f, " ({} @ bit {})", raw.join(":"), self.bit_offset)
    }
}

/// A bound on the work of one resolution.
struct Budget(u32);

impl Budget {
    fn step(&mut self) -> Result<(), String> {
        match self.0.checked_sub(1) {
            Some(left) => {
                self.0 = left;
                Ok(())
            }
            None => Err(format!(
                "matching needs more than {STEP_BUDGET} steps; giving up"
            )),
        }
    }
}

/// Why computing a value did not give one.
enum Calc {
    /// The relocation fails: poison the instruction.
    Poison,
    /// The relocation is an error.
    Error(String),
}

impl From<String> for Calc {
    fn from(s: String) -> Calc {
        Calc::Error(s)
    }
}

/// One side's value: the value, the access size and field type (byte offsets of
/// non-bitfield fields only), and whether the instruction may be checked against it.
#[derive(Clone, Copy)]
struct Side {
    val: u64,
    size: u32,
    type_id: TypeId,
    validate: bool,
}

impl Side {
    fn val(val: u64) -> Side {
        Side {
            val,
            size: 0,
            type_id: TypeId::VOID,
            validate: true,
        }
    }
}

/// `name` without its flavour suffix, the part from the last `___` that has a
/// non-underscore on both sides (`task_struct___old` → `task_struct`; `a____b`, `___x` and
/// `x___` have no suffix). CO-RE matches types and enumerators by this essential name.
pub fn essential_name(name: &str) -> &str {
    let b = name.as_bytes();
    if b.len() >= 5 {
        for i in (0..=b.len() - 5).rev() {
            if b[i] != b'_' && &b[i + 1..i + 4] == b"___" && b[i + 4] != b'_' {
                return &name[..i + 1];
            }
        }
    }
    name
}

/// Resolves one CO-RE relocation of an object whose types are `local` against the
/// `target` types (the kernel's, or the object's own), with libbpf's rules (see the module
/// documentation).
///
/// `Ok` with [`CoreResult::poison`] set means the relocation fails in libbpf's sense: the
/// instruction must be replaced, not patched. `Err` means the load must fail.
pub fn resolve(local: &Btf, target: &Btf, relo: &CoreRelo) -> Result<CoreResult, CoreError> {
    let kind = relo.kind;
    let local_t = local
        .type_by_id(relo.type_id)
        .ok_or(CoreError::NoSuchType {
            kind,
            id: relo.type_id.0,
        })?;
    let name = local_t.name();
    let bad = |reason: String| CoreError::BadRecord {
        kind,
        id: relo.type_id.0,
        name: name.to_string(),
        access: relo.access.clone(),
        reason,
    };
    let local_spec = parse_spec(local, relo).map_err(bad)?;

    if kind == CoreReloKind::TypeIdLocal {
        let mut res = CoreResult::new(kind);
        res.orig_val = u64::from(relo.type_id.0);
        res.new_val = res.orig_val;
        res.validate = false;
        return Ok(res);
    }
    if name.is_empty() {
        return Err(bad(format!(
            "relocations on anonymous types are not supported ({})",
            local_t.kind()
        )));
    }

    let cands = candidates(target, local_t);
    let mut budget = Budget(STEP_BUDGET);
    // The first matching candidate's result, bit offset and spec (for messages).
    let mut chosen: Option<(CoreResult, u64, String)> = None;
    let mut matches = 0;
    for &cand in &cands {
        let cand_err = |reason: String| CoreError::Candidate {
            kind,
            id: relo.type_id.0,
            name: name.to_string(),
            access: relo.access.clone(),
            target: cand.0,
            reason,
        };
        let Some(spec) = match_spec(&local_spec, target, cand, &mut budget).map_err(cand_err)?
        else {
            continue;
        };
        let mut res = calc(kind, &local_spec, Some(&spec)).map_err(|(local_side, reason)| {
            if local_side {
                bad(reason)
            } else {
                cand_err(reason)
            }
        })?;
        res.target = Some(cand);
        matches += 1;
        match &chosen {
            None => chosen = Some((res, spec.bit_offset, spec.to_string())),
            Some((first, bit_offset, first_spec)) => {
                let ambiguous = |reason: String| CoreError::Ambiguous {
                    kind,
                    id: relo.type_id.0,
                    name: name.to_string(),
                    access: relo.access.clone(),
                    first: first.target.unwrap_or_default().0,
                    other: cand.0,
                    reason,
                };
                if *bit_offset != spec.bit_offset {
                    return Err(ambiguous(format!("field {first_spec} != {spec}")));
                }
                if first.poison != res.poison || first.new_val != res.new_val {
                    let show = |r: &CoreResult| {
                        if r.poison {
                            "failure".to_string()
                        } else {
                            r.new_val.to_string()
                        }
                    };
                    return Err(ambiguous(format!("{} != {}", show(first), show(&res))));
                }
            }
        }
    }

    let mut res = match chosen {
        Some((res, _, _)) => res,
        None => calc(kind, &local_spec, None).map_err(|(_, reason)| bad(reason))?,
    };
    res.candidates = cands.len();
    res.matches = matches;
    Ok(res)
}

/// Parses the access string into indices: at least one, at most [`MAX_SPEC_LEN`].
fn parse_access(access: &str) -> Result<Vec<u32>, String> {
    let mut out = Vec::new();
    for part in access.split(':') {
        let ok = !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        let idx = part
            .parse::<u32>()
            .ok()
            .filter(|_| ok)
            .ok_or_else(|| format!("malformed access string {access:?}"))?;
        out.push(idx);
    }
    if out.len() > MAX_SPEC_LEN {
        return Err(format!(
            "access string has {} components (at most {MAX_SPEC_LEN})",
            out.len()
        ));
    }
    Ok(out)
}

fn enumerator_name(t: &Type, idx: u32) -> Option<&str> {
    let i = idx as usize;
    match t {
        Type::Enum { values, .. } => values.get(i).map(|(n, _)| n.as_str()),
        Type::Enum64 { values, .. } => values.get(i).map(|(n, _)| n.as_str()),
        _ => None,
    }
}

fn is_any_enum(t: &Type) -> bool {
    matches!(t, Type::Enum { .. } | Type::Enum64 { .. })
}

/// Same kind, or both enums (32- or 64-bit).
fn kind_core_compat(a: &Type, b: &Type) -> bool {
    a.kind() == b.kind() || (is_any_enum(a) && is_any_enum(b))
}

/// Whether an array is a flexible array member: no elements, reached through a named
/// member (`prev`) that is the last of its struct.
fn is_flex(btf: &Btf, prev: Option<&Accessor<'_>>, nelems: u32) -> bool {
    let Some(prev) = prev else { return false };
    if prev.name.is_none() || nelems > 0 {
        return false;
    }
    btf.type_by_id(prev.type_id)
        .and_then(Type::as_composite)
        .is_some_and(|c| (prev.idx as usize) + 1 == c.members.len())
}

fn size_of(btf: &Btf, id: TypeId) -> Result<u64, String> {
    btf.size_of(id).map_err(|e| e.to_string())
}

fn add_bits(total: u64, idx: u32, size: u64) -> Result<u64, String> {
    size.checked_mul(8)
        .and_then(|b| b.checked_mul(u64::from(idx)))
        .and_then(|b| b.checked_add(total))
        .ok_or_else(|| "offset overflows".to_string())
}

/// Walks the access string in the local BTF (libbpf's `bpf_core_parse_spec`).
fn parse_spec<'a>(btf: &'a Btf, relo: &CoreRelo) -> Result<Spec<'a>, String> {
    let raw = parse_access(&relo.access)?;
    let mut spec = Spec::new(btf, relo.kind, relo.type_id);
    spec.raw.clone_from(&raw);
    if relo.kind.is_type() {
        if relo.access != "0" {
            return Err("a type relocation's access string must be \"0\"".into());
        }
        return Ok(spec);
    }
    let mut id = btf.skip_mods(relo.type_id);
    let t = btf
        .type_by_id(id)
        .ok_or_else(|| format!("type {id} does not exist"))?;
    let first = raw[0];

    if relo.kind.is_enumval() {
        if !is_any_enum(t) {
            return Err(format!("an enumerator relocation on a {}", t.kind()));
        }
        if raw.len() > 1 {
            return Err("an enumerator relocation's access string has one index".into());
        }
        let name = enumerator_name(t, first)
            .ok_or_else(|| format!("enumerator {first} is out of range"))?;
        spec.accs.push(Accessor {
            type_id: id,
            idx: first,
            name: Some(name),
        });
        return Ok(spec);
    }

    spec.accs.push(Accessor {
        type_id: id,
        idx: first,
        name: None,
    });
    spec.bit_offset = add_bits(0, first, size_of(btf, id)?)?;
    for (step, &idx) in raw.iter().enumerate().skip(1) {
        id = btf.skip_mods(id);
        let t = btf
            .type_by_id(id)
            .ok_or_else(|| format!("type {id} does not exist"))?;
        match t {
            Type::Struct(c) | Type::Union(c) => {
                let m = c.members.get(idx as usize).ok_or_else(|| {
                    format!(
                        "member {idx} is out of range for type {id} ({} members)",
                        c.members.len()
                    )
                })?;
                spec.bit_offset = spec
                    .bit_offset
                    .checked_add(u64::from(m.bit_offset))
                    .ok_or("offset overflows")?;
                if !m.name.is_empty() {
                    spec.accs.push(Accessor {
                        type_id: id,
                        idx,
                        name: Some(&m.name),
                    });
                }
                id = m.ty;
            }
            Type::Array { elem, nelems, .. } => {
                let elem = btf.skip_mods(*elem);
                if !is_flex(btf, spec.accs.last(), *nelems) && idx >= *nelems {
                    return Err(format!(
                        "index {idx} is out of range for array type {id} ({nelems} elements)"
                    ));
                }
                spec.accs.push(Accessor {
                    type_id: elem,
                    idx,
                    name: None,
                });
                spec.bit_offset = add_bits(spec.bit_offset, idx, size_of(btf, elem)?)?;
                id = elem;
            }
            other => {
                return Err(format!(
                    "access step {step} reaches type {id} ({}), not a struct, union or array",
                    other.kind()
                ))
            }
        }
    }
    Ok(spec)
}

/// Target types that may correspond to `local_t`: a compatible kind and the same
/// essential name, in id order; flavoured names only when no unflavoured one exists.
fn candidates(target: &Btf, local_t: &Type) -> Vec<TypeId> {
    let ess = essential_name(local_t.name());
    if ess.is_empty() {
        return Vec::new();
    }
    // The names equal to `ess`, then those starting with `ess___`: two ranges of the
    // sorted name index.
    let name_of = |id: u32| target.types[id as usize].name();
    let range = |prefix: &str, exact: bool| -> Vec<u32> {
        let start = target.by_name.partition_point(|&id| name_of(id) < prefix);
        target.by_name[start..]
            .iter()
            .copied()
            .take_while(|&id| {
                let n = name_of(id);
                if exact {
                    n == prefix
                } else {
                    n.starts_with(prefix)
                }
            })
            .collect()
    };
    let flavoured = format!("{ess}___");
    let mut out: Vec<(TypeId, bool)> = range(ess, true)
        .into_iter()
        .chain(range(&flavoured, false))
        .filter_map(|id| {
            let t = &target.types[id as usize];
            let name = t.name();
            (essential_name(name) == ess && kind_core_compat(t, local_t))
                .then_some((TypeId(id), name.len() == ess.len()))
        })
        .collect();
    if out.iter().any(|&(_, plain)| plain) {
        out.retain(|&(_, plain)| plain);
    }
    let mut ids: Vec<TypeId> = out.into_iter().map(|(id, _)| id).collect();
    ids.sort_unstable();
    ids
}

/// Matches the local spec in candidate `cand` (libbpf's `bpf_core_spec_match`):
/// `Ok(None)` if it does not match.
fn match_spec<'a>(
    local: &Spec<'_>,
    target: &'a Btf,
    cand: TypeId,
    budget: &mut Budget,
) -> Result<Option<Spec<'a>>, String> {
    let mut spec = Spec::new(target, local.kind, cand);
    let rk = local.kind;
    if rk.is_type() {
        let ok = if rk == CoreReloKind::TypeMatches {
            types_match(
                local.btf, local.root, target, cand, false, MAX_DEPTH, budget,
            )?
        } else {
            types_are_compat(local.btf, local.root, target, cand, MAX_DEPTH, budget)?
        };
        return Ok(ok.then_some(spec));
    }
    if rk.is_enumval() {
        let id = target.skip_mods(cand);
        let Some(t) = target.type_by_id(id).filter(|t| is_any_enum(t)) else {
            return Ok(None);
        };
        let want = essential_name(local.accs.first().and_then(|a| a.name).unwrap_or_default());
        let names: Vec<&str> = match t {
            Type::Enum { values, .. } => values.iter().map(|(n, _)| n.as_str()).collect(),
            Type::Enum64 { values, .. } => values.iter().map(|(n, _)| n.as_str()).collect(),
            _ => Vec::new(),
        };
        for (i, n) in names.into_iter().enumerate() {
            budget.step()?;
            if essential_name(n) == want {
                let idx = i as u32;
                spec.accs.push(Accessor {
                    type_id: id,
                    idx,
                    name: Some(n),
                });
                spec.raw.push(idx);
                return Ok(Some(spec));
            }
        }
        return Ok(None);
    }

    let mut tid = cand;
    for (i, lacc) in local.accs.iter().enumerate() {
        tid = target.skip_mods(tid);
        let t = target
            .type_by_id(tid)
            .ok_or_else(|| format!("type {tid} does not exist"))?;
        if lacc.name.is_some() {
            match match_member(local.btf, lacc, target, tid, &mut spec, budget)? {
                Found::Yes(next) => tid = next,
                Found::No | Found::Incompatible => return Ok(None),
            }
            continue;
        }
        if i > 0 {
            let Type::Array { elem, nelems, .. } = t else {
                return Ok(None);
            };
            if !is_flex(target, spec.accs.last(), *nelems) && lacc.idx >= *nelems {
                return Ok(None);
            }
            tid = target.skip_mods(*elem);
        }
        if spec.raw.len() >= MAX_SPEC_LEN {
            return Err(format!("access nests deeper than {MAX_SPEC_LEN} levels"));
        }
        spec.accs.push(Accessor {
            type_id: tid,
            idx: lacc.idx,
            name: None,
        });
        spec.raw.push(lacc.idx);
        spec.bit_offset = add_bits(spec.bit_offset, lacc.idx, size_of(target, tid)?)?;
    }
    Ok(Some(spec))
}

/// The outcome of looking for a member by name.
enum Found {
    /// Found, with a compatible type: the member's type.
    Yes(TypeId),
    /// Found, but its type is not compatible.
    Incompatible,
    /// Not found.
    No,
}

/// Looks for the local accessor's member by name in composite `tid` of the target,
/// descending into anonymous members (libbpf's `bpf_core_match_member`); on success the
/// target spec has the member's accessor, raw indices and bit offset added.
fn match_member<'a>(
    local: &Btf,
    lacc: &Accessor<'_>,
    target: &'a Btf,
    tid: TypeId,
    spec: &mut Spec<'a>,
    budget: &mut Budget,
) -> Result<Found, String> {
    let tid = target.skip_mods(tid);
    let tt = target
        .type_by_id(tid)
        .ok_or_else(|| format!("type {tid} does not exist"))?;
    let Some(tc) = tt.as_composite() else {
        return Ok(Found::No);
    };
    let lm = local
        .type_by_id(lacc.type_id)
        .and_then(Type::as_composite)
        .and_then(|c| c.members.get(lacc.idx as usize))
        .ok_or("local accessor is not a member")?;
    for (i, m) in tc.members.iter().enumerate() {
        budget.step()?;
        if spec.raw.len() >= MAX_SPEC_LEN {
            return Err(format!(
                "member {} nests deeper than {MAX_SPEC_LEN} levels",
                Escaped(&lm.name)
            ));
        }
        let saved = spec.bit_offset;
        spec.bit_offset = spec
            .bit_offset
            .checked_add(u64::from(m.bit_offset))
            .ok_or("offset overflows")?;
        spec.raw.push(i as u32);
        if m.name.is_empty() {
            match match_member(local, lacc, target, m.ty, spec, budget)? {
                Found::No => {}
                found => return Ok(found),
            }
        } else if m.name == lm.name {
            if fields_are_compat(local, lm.ty, target, m.ty, budget)? {
                spec.accs.push(Accessor {
                    type_id: tid,
                    idx: i as u32,
                    name: Some(&m.name),
                });
                return Ok(Found::Yes(m.ty));
            }
            return Ok(Found::Incompatible);
        }
        spec.bit_offset = saved;
        spec.raw.pop();
    }
    Ok(Found::No)
}

fn int_offset(t: &Type) -> u8 {
    match t {
        Type::Int { bit_offset, .. } => *bit_offset,
        _ => 0,
    }
}

fn lookup(btf: &Btf, id: TypeId) -> Result<&Type, String> {
    let id = btf.skip_mods(id);
    btf.type_by_id(id)
        .ok_or_else(|| format!("type {id} does not exist"))
}

/// Whether a local member type and a target member type are compatible for field
/// relocations (libbpf's `bpf_core_fields_are_compat`).
fn fields_are_compat(
    local: &Btf,
    mut lid: TypeId,
    target: &Btf,
    mut tid: TypeId,
    budget: &mut Budget,
) -> Result<bool, String> {
    loop {
        budget.step()?;
        let lt = lookup(local, lid)?;
        let tt = lookup(target, tid)?;
        if lt.as_composite().is_some() && tt.as_composite().is_some() {
            return Ok(true);
        }
        if !kind_core_compat(lt, tt) {
            return Ok(false);
        }
        return Ok(match (lt, tt) {
            (Type::Ptr { .. }, _) | (Type::Float { .. }, _) => true,
            (Type::Fwd { .. } | Type::Enum { .. } | Type::Enum64 { .. }, _) => {
                let (l, t) = (essential_name(lt.name()), essential_name(tt.name()));
                l.is_empty() || t.is_empty() || l == t
            }
            (Type::Int { .. }, _) => int_offset(lt) == 0 && int_offset(tt) == 0,
            (Type::Array { elem: le, .. }, Type::Array { elem: te, .. }) => {
                lid = *le;
                tid = *te;
                continue;
            }
            _ => false,
        });
    }
}

/// Whether two types are compatible for type relocations (libbpf's
/// `bpf_core_types_are_compat`); `level` bounds the recursion through prototypes.
fn types_are_compat(
    local: &Btf,
    lid: TypeId,
    target: &Btf,
    tid: TypeId,
    level: u32,
    budget: &mut Budget,
) -> Result<bool, String> {
    let (Some(lt), Some(tt)) = (local.type_by_id(lid), target.type_by_id(tid)) else {
        return Err("type does not exist".into());
    };
    if !kind_core_compat(lt, tt) {
        return Ok(false);
    }
    let (mut lid, mut tid) = (lid, tid);
    for _ in 0..MAX_DEPTH {
        budget.step()?;
        let lt = lookup(local, lid)?;
        let tt = lookup(target, tid)?;
        if !kind_core_compat(lt, tt) {
            return Ok(false);
        }
        match (lt, tt) {
            (
                Type::Void
                | Type::Struct(_)
                | Type::Union(_)
                | Type::Enum { .. }
                | Type::Enum64 { .. }
                | Type::Fwd { .. },
                _,
            ) => return Ok(true),
            (Type::Int { .. }, _) => return Ok(int_offset(lt) == 0 && int_offset(tt) == 0),
            (Type::Ptr { target: l }, Type::Ptr { target: t }) => {
                lid = *l;
                tid = *t;
            }
            (Type::Array { elem: l, .. }, Type::Array { elem: t, .. }) => {
                lid = *l;
                tid = *t;
            }
            (
                Type::FuncProto {
                    ret: lret,
                    params: lp,
                },
                Type::FuncProto {
                    ret: tret,
                    params: tp,
                },
            ) => {
                if lp.len() != tp.len() {
                    return Ok(false);
                }
                for (l, t) in lp.iter().zip(tp) {
                    if level == 0 {
                        return Err("function prototypes nest too deeply".into());
                    }
                    let (l, t) = (local.skip_mods(l.ty), target.skip_mods(t.ty));
                    if !types_are_compat(local, l, target, t, level - 1, budget)? {
                        return Ok(false);
                    }
                }
                lid = *lret;
                tid = *tret;
            }
            _ => return Ok(false),
        }
    }
    Err(format!("types nest deeper than {MAX_DEPTH} levels"))
}

/// Names match for TYPE_MATCHES: both anonymous, or the same essential name.
fn names_match(local: &str, target: &str) -> bool {
    if target.is_empty() {
        return local.is_empty();
    }
    essential_name(local) == essential_name(target)
}

/// Whether two types match for TYPE_MATCHES (libbpf's `__bpf_core_types_match`).
fn types_match(
    local: &Btf,
    lid: TypeId,
    target: &Btf,
    tid: TypeId,
    mut behind_ptr: bool,
    level: u32,
    budget: &mut Budget,
) -> Result<bool, String> {
    if level == 0 {
        return Err(format!("types nest deeper than {MAX_DEPTH} levels"));
    }
    let (mut lid, mut tid) = (lid, tid);
    for _ in 0..MAX_DEPTH {
        budget.step()?;
        let lt = lookup(local, lid)?;
        let tt = lookup(target, tid)?;
        if !names_match(lt.name(), tt.name()) {
            return Ok(false);
        }
        match lt {
            Type::Void => return Ok(tt.kind() == Kind::Void),
            Type::Fwd { union: lu, .. } => {
                return Ok(match tt {
                    Type::Fwd { union: tu, .. } => lu == tu,
                    Type::Struct(_) => behind_ptr && !lu,
                    Type::Union(_) => behind_ptr && *lu,
                    _ => false,
                })
            }
            Type::Enum { .. } | Type::Enum64 { .. } => {
                return if is_any_enum(tt) {
                    enums_match(lt, tt, budget)
                } else {
                    Ok(false)
                }
            }
            Type::Struct(lc) | Type::Union(lc) => {
                if lt.kind() == tt.kind() {
                    if behind_ptr {
                        return Ok(true);
                    }
                    let tc = tt.as_composite().ok_or("not a composite")?;
                    return composites_match(
                        local,
                        &lc.members,
                        target,
                        &tc.members,
                        level,
                        budget,
                    );
                }
                return Ok(match tt {
                    Type::Fwd { union, .. } => behind_ptr && (lt.kind() == Kind::Union) == *union,
                    _ => false,
                });
            }
            Type::Int { size, encoding, .. } => {
                return Ok(match tt {
                    Type::Int {
                        size: ts,
                        encoding: te,
                        ..
                    } => {
                        size == ts
                            && (*encoding == IntEncoding::Signed) == (*te == IntEncoding::Signed)
                    }
                    _ => false,
                })
            }
            Type::Ptr { target: l } => {
                let Type::Ptr { target: t } = tt else {
                    return Ok(false);
                };
                behind_ptr = true;
                lid = *l;
                tid = *t;
            }
            Type::Array {
                elem: le,
                nelems: ln,
                ..
            } => {
                let Type::Array {
                    elem: te,
                    nelems: tn,
                    ..
                } = tt
                else {
                    return Ok(false);
                };
                if ln != tn {
                    return Ok(false);
                }
                lid = *le;
                tid = *te;
            }
            Type::FuncProto {
                ret: lret,
                params: lp,
            } => {
                let Type::FuncProto {
                    ret: tret,
                    params: tp,
                } = tt
                else {
                    return Ok(false);
                };
                if lp.len() != tp.len() {
                    return Ok(false);
                }
                for (l, t) in lp.iter().zip(tp) {
                    if !types_match(local, l.ty, target, t.ty, behind_ptr, level - 1, budget)? {
                        return Ok(false);
                    }
                }
                lid = *lret;
                tid = *tret;
            }
            _ => return Ok(false),
        }
    }
    Err(format!("types nest deeper than {MAX_DEPTH} levels"))
}

/// Every local enumerator has a target one with a matching name, and the sizes agree.
fn enums_match(lt: &Type, tt: &Type, budget: &mut Budget) -> Result<bool, String> {
    fn parts(t: &Type) -> (u32, Vec<&str>) {
        match t {
            Type::Enum { size, values, .. } => {
                (*size, values.iter().map(|(n, _)| n.as_str()).collect())
            }
            Type::Enum64 { size, values, .. } => {
                (*size, values.iter().map(|(n, _)| n.as_str()).collect())
            }
            _ => (0, Vec::new()),
        }
    }
    let (ls, ln) = parts(lt);
    let (ts, tn) = parts(tt);
    if ls != ts || ln.len() > tn.len() {
        return Ok(false);
    }
    for l in ln {
        let mut found = false;
        for t in &tn {
            budget.step()?;
            if names_match(l, t) {
                found = true;
                break;
            }
        }
        if !found {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Every local member has a target member with a matching name and a matching type.
fn composites_match(
    local: &Btf,
    lm: &[Member],
    target: &Btf,
    tm: &[Member],
    level: u32,
    budget: &mut Budget,
) -> Result<bool, String> {
    if lm.len() > tm.len() {
        return Ok(false);
    }
    for l in lm {
        let mut matched = false;
        for t in tm {
            budget.step()?;
            if !names_match(&l.name, &t.name) {
                continue;
            }
            if types_match(local, l.ty, target, t.ty, false, level - 1, budget)? {
                matched = true;
                break;
            }
        }
        if !matched {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The local (orig) and target (new) values of a relocation; `Err((local_side, reason))`.
fn calc(
    kind: CoreReloKind,
    local: &Spec<'_>,
    target: Option<&Spec<'_>>,
) -> Result<CoreResult, (bool, String)> {
    let mut res = CoreResult::new(kind);
    let side = |spec: Option<&Spec<'_>>| -> Result<Side, Calc> {
        if kind.is_field() {
            calc_field(kind, spec)
        } else if kind.is_type() {
            calc_type(kind, spec)
        } else {
            calc_enumval(kind, spec)
        }
    };
    let orig = match side(Some(local)) {
        Ok(s) => s,
        Err(Calc::Poison) => return Err((true, "the local value cannot be computed".into())),
        Err(Calc::Error(e)) => return Err((true, e)),
    };
    res.orig_val = orig.val;
    res.validate = orig.validate;
    let new = match side(target) {
        Ok(s) => s,
        Err(Calc::Poison) => {
            res.poison = true;
            return Ok(res);
        }
        Err(Calc::Error(e)) => return Err((false, e)),
    };
    res.new_val = new.val;
    if kind.is_field() {
        res.orig_size = orig.size;
        res.new_size = new.size;
        if orig.size != new.size {
            let ot = local.btf.type_by_id(orig.type_id);
            let nt = target.and_then(|t| t.btf.type_by_id(new.type_id));
            let unsigned_int = |t: Option<&Type>| matches!(t, Some(Type::Int { encoding, .. }) if *encoding != IntEncoding::Signed);
            let ptr = |t: Option<&Type>| matches!(t, Some(Type::Ptr { .. }));
            res.bad_size_change = !((ptr(ot) && ptr(nt)) || (unsigned_int(ot) && unsigned_int(nt)));
        }
    }
    Ok(res)
}

fn u32_of(v: u64, what: &str) -> Result<u32, Calc> {
    u32::try_from(v).map_err(|_| Calc::Error(format!("{what} {v} does not fit 32 bits")))
}

/// Field relocations (libbpf's `bpf_core_calc_field_relo`).
fn calc_field(kind: CoreReloKind, spec: Option<&Spec<'_>>) -> Result<Side, Calc> {
    if kind == CoreReloKind::FieldExists {
        return Ok(Side::val(u64::from(spec.is_some())));
    }
    let spec = spec.ok_or(Calc::Poison)?;
    let btf = spec.btf;
    let acc = spec
        .accs
        .last()
        .ok_or_else(|| "empty field spec".to_string())?;

    if acc.name.is_none() {
        let sz = u32_of(size_of(btf, acc.type_id)?, "size")?;
        return match kind {
            CoreReloKind::FieldByteOffset => Ok(Side {
                val: spec.bit_offset / 8,
                size: sz,
                type_id: acc.type_id,
                validate: true,
            }),
            CoreReloKind::FieldByteSize => Ok(Side::val(u64::from(sz))),
            _ => Err(Calc::Error(format!(
                "a {kind} relocation cannot be applied to an array access"
            ))),
        };
    }

    let m = btf
        .type_by_id(acc.type_id)
        .and_then(Type::as_composite)
        .and_then(|c| c.members.get(acc.idx as usize))
        .ok_or_else(|| "accessor is not a member".to_string())?;
    let field_id = btf.skip_mods(m.ty);
    let mt = btf
        .type_by_id(field_id)
        .ok_or_else(|| format!("type {field_id} does not exist"))?;
    let bit_off = u32_of(spec.bit_offset, "bit offset")?;
    let mut bit_sz = u32::from(m.bitfield_bits);
    let bitfield = bit_sz > 0;
    let (byte_off, byte_sz) = if bitfield {
        let mut byte_sz = match mt {
            Type::Int { size, .. }
            | Type::Enum { size, .. }
            | Type::Enum64 { size, .. }
            | Type::Float { size, .. } => *size,
            Type::Struct(c) | Type::Union(c) => c.size,
            other => {
                return Err(Calc::Error(format!("a bitfield of a {}", other.kind())));
            }
        };
        if byte_sz == 0 {
            return Err(Calc::Error("a bitfield of a zero-sized type".into()));
        }
        let (off, sz) = (u64::from(bit_off), u64::from(bit_sz));
        let mut byte_off = off / 8 / u64::from(byte_sz) * u64::from(byte_sz);
        while off + sz - byte_off * 8 > u64::from(byte_sz) * 8 {
            if byte_sz >= 8 {
                return Err(Calc::Error(
                    "the bitfield cannot be read with a 64-bit load".into(),
                ));
            }
            byte_sz *= 2;
            byte_off = off / 8 / u64::from(byte_sz) * u64::from(byte_sz);
        }
        (u32_of(byte_off, "byte offset")?, byte_sz)
    } else {
        let byte_sz = u32_of(size_of(btf, field_id)?, "size")?;
        bit_sz = byte_sz.wrapping_mul(8);
        (bit_off / 8, byte_sz)
    };

    let mut side = Side::val(0);
    side.validate = !bitfield;
    match kind {
        CoreReloKind::FieldByteOffset => {
            side.val = u64::from(byte_off);
            if !bitfield {
                side.size = byte_sz;
                side.type_id = field_id;
            }
        }
        CoreReloKind::FieldByteSize => side.val = u64::from(byte_sz),
        CoreReloKind::FieldSigned => {
            let signed = match mt {
                Type::Enum { signed, .. } | Type::Enum64 { signed, .. } => *signed,
                Type::Int { encoding, .. } => *encoding == IntEncoding::Signed,
                _ => false,
            };
            side.val = u64::from(signed);
            side.validate = true;
        }
        // Little-endian: the field's bits end up at the top of a u64.
        CoreReloKind::FieldLshiftU64 => {
            let end = bit_off
                .wrapping_add(bit_sz)
                .wrapping_sub(byte_off.wrapping_mul(8));
            side.val = u64::from(64u32.wrapping_sub(end));
        }
        CoreReloKind::FieldRshiftU64 => {
            side.val = u64::from(64u32.wrapping_sub(bit_sz));
            side.validate = true;
        }
        _ => return Err(Calc::Error(format!("{kind} is not a field relocation"))),
    }
    Ok(side)
}

/// Type relocations (libbpf's `bpf_core_calc_type_relo`): 0 when nothing matched.
fn calc_type(kind: CoreReloKind, spec: Option<&Spec<'_>>) -> Result<Side, Calc> {
    let Some(spec) = spec else {
        return Ok(Side::val(0));
    };
    let mut side = Side::val(0);
    match kind {
        CoreReloKind::TypeIdTarget => {
            side.val = u64::from(spec.root.0);
            side.validate = false;
        }
        CoreReloKind::TypeExists | CoreReloKind::TypeMatches => side.val = 1,
        CoreReloKind::TypeSize => side.val = size_of(spec.btf, spec.root)?,
        _ => return Err(Calc::Error(format!("{kind} is not computed here"))),
    }
    Ok(side)
}

/// Enumerator relocations (libbpf's `bpf_core_calc_enumval_relo`). A 32-bit enumerator's
/// value is sign-extended to 64 bits, as libbpf does.
fn calc_enumval(kind: CoreReloKind, spec: Option<&Spec<'_>>) -> Result<Side, Calc> {
    match kind {
        CoreReloKind::EnumvalExists => Ok(Side::val(u64::from(spec.is_some()))),
        CoreReloKind::EnumvalValue => {
            let spec = spec.ok_or(Calc::Poison)?;
            let acc = spec
                .accs
                .first()
                .ok_or_else(|| "empty enumerator spec".to_string())?;
            let i = acc.idx as usize;
            let val = match spec.btf.type_by_id(acc.type_id) {
                Some(Type::Enum { values, .. }) => values.get(i).map(|v| v.1 as i32 as i64 as u64),
                Some(Type::Enum64 { values, .. }) => values.get(i).map(|v| v.1 as u64),
                _ => None,
            };
            val.map(Side::val)
                .ok_or_else(|| Calc::Error("enumerator out of range".into()))
        }
        _ => Err(Calc::Error(format!(
            "{kind} is not an enumerator relocation"
        ))),
    }
}
