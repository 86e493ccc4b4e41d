//! [`Btf::to_c`]: the type graph as C declarations.
//!
//! Every named struct, union, enum and typedef (and every anonymous enum nothing refers
//! to) is printed once, after the types its definition needs by value; a struct or union
//! only reached through a pointer before its definition gets a forward declaration.
//! Anonymous structs, unions and enums are printed inline where they are used. Struct
//! layouts are reproduced: members at offsets the natural C layout would not give are
//! preceded by anonymous bitfield padding (`long: 64;`), trailing padding is added, and
//! structs whose members cannot be placed naturally are `__attribute__((packed))`. Then
//! come variables (grouped by data section, with a `section` attribute, so `.maps`
//! definitions read as clang's `int (*type)[2]` pattern) and functions.
//!
//! Names clashing in C's tag or ordinary name space are made unique with a `___N` suffix.
//! The printer is recursive but depth-limited, and its output is bounded, so hostile BTF
//! gives truncated output rather than a crash.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::types::{Composite, FuncLinkage, Member, Param, Type, TypeId, VarLinkage};
use crate::Btf;

/// Deepest nesting of declarators, inline types and dependency walks.
const MAX_DEPTH: usize = 200;

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    NotEmitted,
    InProgress,
    Done,
}

struct Printer<'a> {
    btf: &'a Btf,
    out: String,
    /// Output size beyond which printing stops.
    limit: usize,
    truncated: bool,
    /// Work done so far (steps and bytes of declarators built); printing stops beyond
    /// `limit`, so DAGs printed inline many times cannot take exponential time.
    work: usize,
    /// Function prototypes whose parameter lists are being printed (cycle guard).
    printing: Vec<bool>,
    state: Vec<State>,
    fwd_declared: Vec<bool>,
    /// Inline anonymous composites whose dependencies are being walked (cycle guard).
    walking: Vec<bool>,
    /// C name of each type (unique within its name space), `""` if anonymous.
    names: Vec<String>,
    /// Enumerator names of enums, made unique.
    enumerators: HashMap<u32, Vec<String>>,
    /// `__attribute__((btf_decl_tag(...)))` strings by (target, component).
    decl_tags: HashMap<(u32, i32), Vec<String>>,
    /// Natural alignment (bytes) memo.
    aligns: Vec<Option<u32>>,
    /// Whether any type refers to this one.
    referenced: Vec<bool>,
}

impl Btf {
    /// Every named type as C declarations, in dependency order, with forward declarations
    /// where a type is only used through a pointer before its definition, followed by the
    /// variables and functions. The output aims to compile (`clang -fsyntax-only`) and to
    /// reproduce the struct layouts BTF describes.
    pub fn to_c(&self) -> String {
        let mut p = Printer::new(self);
        p.run();
        p.out
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_ascii_graphic() || c == ' ' => out.push(c),
            c => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "\\x{b:02x}");
                }
            }
        }
    }
    out
}

fn tabs(n: usize) -> String {
    "\t".repeat(n)
}

impl<'a> Printer<'a> {
    fn new(btf: &'a Btf) -> Printer<'a> {
        let n = btf.len();
        let mut referenced = vec![false; n];
        let mut decl_tags: HashMap<(u32, i32), Vec<String>> = HashMap::new();
        for (_, t) in btf.types() {
            t.for_each_ref(|_, r| {
                if let Some(slot) = referenced.get_mut(r.0 as usize) {
                    *slot = true;
                }
            });
            if let Type::DeclTag {
                name,
                target,
                component,
            } = t
            {
                decl_tags
                    .entry((target.0, *component))
                    .or_default()
                    .push(format!(
                        "__attribute__((btf_decl_tag(\"{}\")))",
                        escape(name)
                    ));
            }
        }
        let mut p = Printer {
            btf,
            out: String::new(),
            limit: btf.input_len.saturating_mul(64).saturating_add(1 << 20),
            truncated: false,
            work: 0,
            printing: vec![false; n],
            state: vec![State::NotEmitted; n],
            fwd_declared: vec![false; n],
            walking: vec![false; n],
            names: vec![String::new(); n],
            enumerators: HashMap::new(),
            decl_tags,
            aligns: vec![None; n],
            referenced,
        };
        p.assign_names();
        p
    }

    /// Gives every named type a C name unique in its name space.
    fn assign_names(&mut self) {
        let mut tags: HashMap<String, u32> = HashMap::new();
        let mut ordinary: HashMap<String, u32> = HashMap::new();
        let unique = |space: &mut HashMap<String, u32>, name: &str| -> String {
            let n = space.entry(name.to_string()).or_insert(0);
            *n += 1;
            if *n == 1 {
                name.to_string()
            } else {
                format!("{name}___{n}")
            }
        };
        for (id, t) in self.btf.types() {
            let i = id.0 as usize;
            match t {
                Type::Struct(c) | Type::Union(c) if !c.name.is_empty() => {
                    self.names[i] = unique(&mut tags, &c.name);
                }
                Type::Enum { name, values, .. } => {
                    if !name.is_empty() {
                        self.names[i] = unique(&mut tags, name);
                    }
                    let vals = values
                        .iter()
                        .map(|(v, _)| unique(&mut ordinary, v))
                        .collect();
                    self.enumerators.insert(id.0, vals);
                }
                Type::Enum64 { name, values, .. } => {
                    if !name.is_empty() {
                        self.names[i] = unique(&mut tags, name);
                    }
                    let vals = values
                        .iter()
                        .map(|(v, _)| unique(&mut ordinary, v))
                        .collect();
                    self.enumerators.insert(id.0, vals);
                }
                Type::Typedef { name, .. } => self.names[i] = unique(&mut ordinary, name),
                _ => self.names[i] = t.name().to_string(),
            }
        }
        // A forward declaration names the definition of the same tag, if there is one.
        for (id, t) in self.btf.types() {
            if let Type::Fwd { name, .. } = t {
                self.names[id.0 as usize] = name.clone();
            }
        }
    }

    fn ty(&self, id: TypeId) -> &'a Type {
        self.btf.type_by_id(id).unwrap_or(&Type::Void)
    }

    fn full(&mut self) -> bool {
        if self.out.len() > self.limit || self.work > self.limit {
            self.truncated = true;
        }
        self.truncated
    }

    /// Counts `n` units of work; whether printing may go on.
    fn tick(&mut self, n: usize) -> bool {
        self.work = self.work.saturating_add(n);
        !self.full()
    }

    fn run(&mut self) {
        let n = self.btf.len() as u32;
        for i in 1..n {
            let id = TypeId(i);
            let top = match self.ty(id) {
                Type::Struct(c) | Type::Union(c) => !c.name.is_empty(),
                Type::Enum { name, .. } | Type::Enum64 { name, .. } => {
                    !name.is_empty() || !self.referenced[i as usize]
                }
                // The compiler defines `__builtin_va_list` itself.
                Type::Typedef { name, .. } => !name.starts_with("__builtin_"),
                Type::Fwd { .. } => true,
                _ => false,
            };
            if top {
                self.emit(id, 0);
            }
            if self.full() {
                break;
            }
        }
        if !self.truncated {
            self.vars_and_funcs();
        }
        if self.truncated {
            // The last type may have run past the limit before printing stopped: cut the
            // output back to whole lines within the limit, so it never exceeds it.
            let mut cut = self.limit.saturating_sub(64).min(self.out.len());
            while !self.out.is_char_boundary(cut) {
                cut -= 1;
            }
            if let Some(nl) = self.out[..cut].rfind('\n') {
                cut = nl + 1;
            }
            self.out.truncate(cut);
            self.out.push_str("/* output truncated */\n");
        }
    }

    /// Prints the definition of a top-level type after what it needs.
    fn emit(&mut self, id: TypeId, depth: usize) {
        let i = id.0 as usize;
        if self.state.get(i) != Some(&State::NotEmitted) || depth > MAX_DEPTH || !self.tick(1) {
            return;
        }
        self.state[i] = State::InProgress;
        let t = self.ty(id);
        match t {
            Type::Struct(c) | Type::Union(c) => {
                for m in &c.members {
                    self.deps(m.ty, true, id, depth + 1);
                }
                let is_union = matches!(t, Type::Union(_));
                let body = self.composite(id, c, is_union, 0, depth);
                let _ = writeln!(self.out, "{body};\n");
            }
            Type::Enum { .. } | Type::Enum64 { .. } => {
                let body = self.enum_def(id, 0);
                let _ = writeln!(self.out, "{body};\n");
            }
            Type::Typedef { target, .. } => {
                self.deps(*target, false, id, depth + 1);
                let name = self.names[i].clone();
                let d = self.decl(*target, &name, 0, depth);
                let tags = self.tags(id.0, -1);
                let _ = writeln!(self.out, "typedef {d}{tags};\n");
            }
            Type::Fwd { .. } => {
                let defined = self.definition_of_fwd(id).is_some();
                if !defined {
                    self.fwd(id);
                }
            }
            _ => {}
        }
        self.state[i] = State::Done;
    }

    /// The struct/union defining the tag a FWD declares, if any.
    fn definition_of_fwd(&self, id: TypeId) -> Option<TypeId> {
        let Type::Fwd { name, union } = self.ty(id) else {
            return None;
        };
        self.btf.find_by_name(name).into_iter().find(|&d| {
            matches!(
                (self.ty(d), union),
                (Type::Struct(_), false) | (Type::Union(_), true)
            )
        })
    }

    /// Prints `struct NAME;` once.
    fn fwd(&mut self, id: TypeId) {
        let i = id.0 as usize;
        if self.fwd_declared[i] || self.state[i] == State::Done {
            return;
        }
        self.fwd_declared[i] = true;
        let kw = match self.ty(id) {
            Type::Union(_) | Type::Fwd { union: true, .. } => "union",
            _ => "struct",
        };
        let _ = writeln!(self.out, "{kw} {};\n", self.names[i]);
    }

    /// Makes sure what a use of `id` needs is printed: by value (`strong`) a complete type,
    /// through a pointer only a declaration. `root` is the type being defined.
    fn deps(&mut self, id: TypeId, strong: bool, root: TypeId, depth: usize) {
        if depth > MAX_DEPTH || !self.tick(1) {
            return;
        }
        let i = id.0 as usize;
        match self.ty(id) {
            Type::Ptr { target } => self.deps(*target, false, root, depth + 1),
            Type::Array { elem, .. } => self.deps(*elem, true, root, depth + 1),
            Type::Const { target }
            | Type::Volatile { target }
            | Type::Restrict { target }
            | Type::TypeTag { target, .. } => self.deps(*target, strong, root, depth + 1),
            Type::Typedef { target, .. } => {
                if !self.names[i].starts_with("__builtin_") {
                    self.emit(id, depth + 1);
                }
                if strong {
                    self.deps(*target, true, root, depth + 1);
                }
            }
            Type::Struct(c) | Type::Union(c) => {
                if !c.name.is_empty() {
                    if strong {
                        self.emit(id, depth + 1);
                    } else if id != root && self.state[i] != State::Done {
                        self.fwd(id);
                    }
                } else if !self.walking[i] {
                    self.walking[i] = true;
                    for m in &c.members {
                        self.deps(m.ty, true, root, depth + 1);
                    }
                    self.walking[i] = false;
                }
            }
            Type::Enum { name, .. } | Type::Enum64 { name, .. } => {
                if !name.is_empty() {
                    self.emit(id, depth + 1);
                }
            }
            Type::Fwd { .. } => match self.definition_of_fwd(id) {
                Some(def) if def == root => {}
                Some(def) if self.state[def.0 as usize] == State::Done => {}
                Some(def) => self.fwd(def),
                None => self.emit(id, depth + 1),
            },
            Type::FuncProto { ret, params } => {
                if self.walking[i] {
                    return;
                }
                self.walking[i] = true;
                self.deps(*ret, false, root, depth + 1);
                for p in params {
                    self.deps(p.ty, false, root, depth + 1);
                }
                self.walking[i] = false;
            }
            Type::Void
            | Type::Int { .. }
            | Type::Float { .. }
            | Type::Func { .. }
            | Type::Var { .. }
            | Type::DataSec { .. }
            | Type::DeclTag { .. } => {}
        }
    }

    /// Declaration tags on `(target, component)` as a leading-space string.
    fn tags(&self, target: u32, component: i32) -> String {
        match self.decl_tags.get(&(target, component)) {
            Some(v) => format!(" {}", v.join(" ")),
            None => String::new(),
        }
    }

    /// Whether `id`, after qualifiers and type tags, is a pointer.
    fn is_ptr_through_quals(&self, id: TypeId) -> bool {
        let mut cur = id;
        for _ in 0..MAX_DEPTH {
            match self.ty(cur) {
                Type::Const { target }
                | Type::Volatile { target }
                | Type::Restrict { target }
                | Type::TypeTag { target, .. } => cur = *target,
                Type::Ptr { .. } => return true,
                _ => return false,
            }
        }
        false
    }

    /// Whether `id`, after qualifiers and type tags, is an array or function prototype
    /// (a pointer to which needs parentheses).
    fn needs_parens(&self, id: TypeId) -> bool {
        let mut cur = id;
        for _ in 0..MAX_DEPTH {
            match self.ty(cur) {
                Type::Const { target }
                | Type::Volatile { target }
                | Type::Restrict { target }
                | Type::TypeTag { target, .. } => cur = *target,
                Type::Array { .. } | Type::FuncProto { .. } => return true,
                _ => return false,
            }
        }
        false
    }

    /// A C declaration of `name` (possibly empty: an abstract declarator) with type `id`.
    fn decl(&mut self, id: TypeId, name: &str, indent: usize, depth: usize) -> String {
        let mut inner = name.to_string();
        let mut prefix: Vec<&str> = Vec::new();
        let mut suffix: Vec<String> = Vec::new();
        let mut cur = id;
        let mut steps = 0;
        // Prototypes met along this declarator (returning a pointer to themselves).
        let mut chain: Vec<TypeId> = Vec::new();
        loop {
            steps += 1;
            if steps > MAX_DEPTH || depth > MAX_DEPTH || !self.tick(1) {
                return format!("void /* too deep */ {inner}")
                    .trim_end()
                    .to_string();
            }
            let t = self.ty(cur);
            match t {
                Type::Ptr { target } => {
                    inner = format!("*{inner}");
                    if self.needs_parens(*target) {
                        inner = format!("({inner})");
                    }
                    cur = *target;
                }
                Type::Const { target } | Type::Volatile { target } | Type::Restrict { target } => {
                    let q = match t {
                        Type::Const { .. } => "const",
                        Type::Volatile { .. } => "volatile",
                        _ => "restrict",
                    };
                    if self.is_ptr_through_quals(*target) {
                        inner = if inner.is_empty() {
                            q.to_string()
                        } else {
                            format!("{q} {inner}")
                        };
                    } else if !prefix.contains(&q) {
                        prefix.push(q);
                    }
                    cur = *target;
                }
                Type::TypeTag { name: tag, target } => {
                    let attr = format!("__attribute__((btf_type_tag(\"{}\")))", escape(tag));
                    if self.is_ptr_through_quals(*target) {
                        inner = if inner.is_empty() {
                            attr
                        } else {
                            format!("{attr} {inner}")
                        };
                    } else {
                        suffix.push(attr);
                    }
                    cur = *target;
                }
                Type::Array { elem, nelems, .. } => {
                    inner = format!("{inner}[{nelems}]");
                    cur = *elem;
                }
                Type::FuncProto { ret, params } => {
                    let i = cur.0 as usize;
                    if self.printing[i] || chain.contains(&cur) {
                        // A prototype taking or returning a pointer to itself: not
                        // expressible in C.
                        return format!("void /* recursive */ {inner}");
                    }
                    chain.push(cur);
                    self.printing[i] = true;
                    let ps = self.params(params, None, indent, depth + 1);
                    self.printing[i] = false;
                    inner = format!("{inner}({ps})");
                    cur = *ret;
                }
                _ => {
                    let base = self.base(cur, indent, depth + 1);
                    let mut s = String::new();
                    for q in prefix {
                        s.push_str(q);
                        s.push(' ');
                    }
                    s.push_str(&base);
                    for a in suffix {
                        s.push(' ');
                        s.push_str(&a);
                    }
                    if !inner.is_empty() {
                        s.push(' ');
                        s.push_str(&inner);
                    }
                    return s;
                }
            }
        }
    }

    /// A parameter list; `func` adds the FUNC's parameter decl tags.
    fn params(
        &mut self,
        params: &[Param],
        func: Option<TypeId>,
        indent: usize,
        depth: usize,
    ) -> String {
        if params.is_empty() {
            return "void".to_string();
        }
        if params.len() == 1 && params[0].ty.is_void() {
            // `int f()`: no prototype (a lone `...` is not valid before C23).
            return String::new();
        }
        let mut parts = Vec::with_capacity(params.len());
        for (i, p) in params.iter().enumerate() {
            if p.ty.is_void() {
                parts.push("...".to_string());
                continue;
            }
            let mut d = self.decl(p.ty, &p.name, indent, depth);
            if !self.tick(d.len()) {
                break;
            }
            if let Some(f) = func {
                d.push_str(&self.tags(f.0, i as i32));
            }
            parts.push(d);
        }
        parts.join(", ")
    }

    /// The base type spelling: a name, a tag reference, or an inline anonymous definition.
    fn base(&mut self, id: TypeId, indent: usize, depth: usize) -> String {
        let i = id.0 as usize;
        match self.ty(id) {
            Type::Void => "void".to_string(),
            Type::Int { name, .. } | Type::Float { name, .. } => name.clone(),
            Type::Struct(c) | Type::Union(c) => {
                let kw = if matches!(self.ty(id), Type::Union(_)) {
                    "union"
                } else {
                    "struct"
                };
                if c.name.is_empty() {
                    if self.walking[i] || self.full() {
                        return format!("{kw} {{ /* recursive */ }}");
                    }
                    self.walking[i] = true;
                    let s = self.composite(id, c, kw == "union", indent, depth);
                    self.walking[i] = false;
                    s
                } else {
                    format!("{kw} {}", self.names[i])
                }
            }
            Type::Enum { name, .. } | Type::Enum64 { name, .. } => {
                if name.is_empty() {
                    self.enum_def(id, indent)
                } else {
                    format!("enum {}", self.names[i])
                }
            }
            Type::Fwd { union, .. } => {
                let kw = if *union { "union" } else { "struct" };
                format!("{kw} {}", self.names[i])
            }
            Type::Typedef { .. } => self.names[i].clone(),
            Type::Ptr { .. }
            | Type::Array { .. }
            | Type::Const { .. }
            | Type::Volatile { .. }
            | Type::Restrict { .. }
            | Type::TypeTag { .. }
            | Type::FuncProto { .. }
            | Type::Func { .. }
            | Type::Var { .. }
            | Type::DataSec { .. }
            | Type::DeclTag { .. } => "void".to_string(),
        }
    }

    fn enum_def(&mut self, id: TypeId, indent: usize) -> String {
        let i = id.0 as usize;
        let (size, vals): (u32, Vec<String>) = match self.ty(id) {
            Type::Enum { size, values, .. } => {
                (*size, values.iter().map(|(_, v)| v.to_string()).collect())
            }
            Type::Enum64 { size, values, .. } => (
                *size,
                values.iter().map(|(_, v)| enum64_literal(*v)).collect(),
            ),
            _ => return String::new(),
        };
        let names = self.enumerators.get(&id.0).cloned().unwrap_or_default();
        let head = if self.names[i].is_empty() {
            "enum".to_string()
        } else {
            format!("enum {}", self.names[i])
        };
        let mut s = format!("{head} {{\n");
        for (n, v) in names.iter().zip(&vals) {
            let _ = writeln!(s, "{}{n} = {v},", tabs(indent + 1));
        }
        s.push_str(&tabs(indent));
        s.push('}');
        if size < 4 {
            s.push_str(" __attribute__((packed))");
        }
        s
    }

    /// Natural alignment in bytes of an object of type `id` (packed structs have 1).
    fn align_of(&mut self, id: TypeId, depth: usize) -> u32 {
        let i = id.0 as usize;
        if let Some(Some(a)) = self.aligns.get(i) {
            return *a;
        }
        if depth > MAX_DEPTH {
            return 1;
        }
        let a = match self.ty(id) {
            Type::Int { size, .. }
            | Type::Float { size, .. }
            | Type::Enum { size, .. }
            | Type::Enum64 { size, .. } => (*size).clamp(1, 16),
            Type::Ptr { .. } => 8,
            Type::Array { elem, .. } => self.align_of(*elem, depth + 1),
            Type::Typedef { target, .. }
            | Type::Const { target }
            | Type::Volatile { target }
            | Type::Restrict { target }
            | Type::TypeTag { target, .. } => self.align_of(*target, depth + 1),
            Type::Struct(c) | Type::Union(c) => {
                let is_union = matches!(self.ty(id), Type::Union(_));
                if self.is_packed(c, is_union, depth + 1) {
                    1
                } else {
                    self.members_align(c, depth + 1)
                }
            }
            _ => 1,
        };
        if let Some(slot) = self.aligns.get_mut(i) {
            *slot = Some(a);
        }
        a
    }

    fn members_align(&mut self, c: &Composite, depth: usize) -> u32 {
        let mut a = 1;
        for m in &c.members {
            a = a.max(self.align_of(m.ty, depth));
        }
        a
    }

    /// Size in bytes of the type a bitfield member is declared with.
    fn storage_bits(&self, m: &Member) -> u32 {
        self.btf
            .size_of(m.ty)
            .map_or(32, |s| u32::try_from(s.saturating_mul(8)).unwrap_or(32))
            .max(8)
    }

    /// Whether the natural C layout cannot place the members where BTF says they are.
    fn is_packed(&mut self, c: &Composite, is_union: bool, depth: usize) -> bool {
        let align = self.members_align(c, depth);
        if c.size % align != 0 {
            return true;
        }
        if is_union {
            return false;
        }
        for m in &c.members {
            if let Some((off, bits)) = self.btf.member_bitfield(m) {
                let unit = u64::from(self.storage_bits(m));
                if u64::from(off) % unit + u64::from(bits) > unit {
                    return true;
                }
            } else {
                let a = u64::from(self.align_of(m.ty, depth)) * 8;
                if u64::from(m.bit_offset) % a != 0 {
                    return true;
                }
            }
        }
        false
    }

    /// A struct or union definition, `struct NAME { ... }` (no trailing `;`).
    fn composite(
        &mut self,
        id: TypeId,
        c: &Composite,
        is_union: bool,
        indent: usize,
        depth: usize,
    ) -> String {
        let kw = if is_union { "union" } else { "struct" };
        let name = &self.names[id.0 as usize];
        let mut s = if name.is_empty() {
            kw.to_string()
        } else {
            format!("{kw} {name}")
        };
        s.push_str(&self.tags(id.0, -1));
        s.push_str(" {\n");
        if depth > MAX_DEPTH {
            s.push_str(&tabs(indent + 1));
            s.push_str("/* too deep */\n");
            s.push_str(&tabs(indent));
            s.push('}');
            return s;
        }
        let packed = self.is_packed(c, is_union, depth);
        let mut pos: u64 = 0;
        for (mi, m) in c.members.iter().enumerate() {
            if self.full() {
                break;
            }
            let bitfield = self.btf.member_bitfield(m);
            let (off, width) = match bitfield {
                Some((off, bits)) => (u64::from(off), u64::from(bits)),
                None => {
                    let bits = self.btf.size_of(m.ty).unwrap_or(0).saturating_mul(8);
                    (u64::from(m.bit_offset), bits)
                }
            };
            if !is_union {
                let expected = match bitfield {
                    _ if packed && bitfield.is_some() => pos,
                    _ if packed => round_up(pos, 8),
                    Some((_, bits)) => {
                        let unit = u64::from(self.storage_bits(m));
                        if pos % unit + u64::from(bits) > unit {
                            round_up(pos, unit)
                        } else {
                            pos
                        }
                    }
                    None => round_up(pos, u64::from(self.align_of(m.ty, depth)) * 8),
                };
                if off > expected {
                    let budget = self.limit.saturating_sub(self.work);
                    let n = pad(&mut s, pos, off, indent + 1, budget);
                    if !self.tick(n) {
                        break;
                    }
                }
            }
            let mut d = self.decl(m.ty, &m.name, indent + 1, depth + 1);
            if !self.tick(d.len()) {
                break;
            }
            if let Some((_, bits)) = bitfield {
                let _ = write!(d, ": {bits}");
            }
            d.push_str(&self.tags(id.0, mi as i32));
            let _ = writeln!(s, "{}{d};", tabs(indent + 1));
            pos = if is_union {
                pos.max(off.saturating_add(width))
            } else {
                off.saturating_add(width)
            };
        }
        if !is_union {
            let end = u64::from(c.size) * 8;
            let natural = if packed {
                round_up(pos, 8)
            } else {
                round_up(pos, u64::from(self.members_align(c, depth)) * 8)
            };
            if end > natural {
                let budget = self.limit.saturating_sub(self.work);
                let n = pad(&mut s, pos, end, indent + 1, budget);
                self.tick(n);
            }
        }
        s.push_str(&tabs(indent));
        s.push('}');
        if packed {
            s.push_str(" __attribute__((packed))");
        }
        s
    }

    /// Variables (by data section) and functions.
    fn vars_and_funcs(&mut self) {
        let mut printed = vec![false; self.btf.len()];
        let mut seen_names: HashMap<String, ()> = HashMap::new();
        let secs: Vec<(String, Vec<TypeId>)> = self
            .btf
            .types()
            .filter_map(|(_, t)| match t {
                Type::DataSec { name, vars, .. } => {
                    Some((name.clone(), vars.iter().map(|v| v.ty).collect()))
                }
                _ => None,
            })
            .collect();
        for (sec, vars) in secs {
            let mut header = false;
            for v in vars {
                if !matches!(self.ty(v), Type::Var { .. }) {
                    continue;
                }
                if !header {
                    let _ = writeln!(self.out, "/* {} */", escape(&sec));
                    header = true;
                }
                self.var(v, Some(&sec), &mut printed, &mut seen_names);
                if self.full() {
                    return;
                }
            }
            if header {
                self.out.push('\n');
            }
        }
        let rest: Vec<TypeId> = self
            .btf
            .types()
            .filter(|(id, t)| matches!(t, Type::Var { .. }) && !printed[id.0 as usize])
            .map(|(id, _)| id)
            .collect();
        for v in &rest {
            self.var(*v, None, &mut printed, &mut seen_names);
        }
        if !rest.is_empty() {
            self.out.push('\n');
        }
        let funcs: Vec<TypeId> = self
            .btf
            .types()
            .filter(|(_, t)| matches!(t, Type::Func { .. }))
            .map(|(id, _)| id)
            .collect();
        let mut header = false;
        for f in funcs {
            let Type::Func {
                name,
                proto,
                linkage,
            } = self.ty(f)
            else {
                continue;
            };
            if seen_names.insert(name.clone(), ()).is_some() {
                continue;
            }
            let kw = match linkage {
                FuncLinkage::Static => "static ",
                FuncLinkage::Global => "",
                FuncLinkage::Extern => "extern ",
            };
            let d = match self.ty(*proto) {
                Type::FuncProto { ret, params } => {
                    let ps = self.params(params, Some(f), 0, 0);
                    self.decl(*ret, &format!("{name}({ps})"), 0, 0)
                }
                _ => continue,
            };
            let tags = self.tags(f.0, -1);
            if !header {
                self.out.push_str("/* functions */\n");
                header = true;
            }
            let _ = writeln!(self.out, "{kw}{d}{tags};");
            if self.full() {
                return;
            }
        }
    }

    fn var(
        &mut self,
        v: TypeId,
        sec: Option<&str>,
        printed: &mut [bool],
        seen: &mut HashMap<String, ()>,
    ) {
        let Type::Var { name, ty, linkage } = self.ty(v) else {
            return;
        };
        printed[v.0 as usize] = true;
        if seen.insert(name.clone(), ()).is_some() {
            return;
        }
        let kw = match linkage {
            VarLinkage::Static => "static ",
            VarLinkage::GlobalAllocated => "",
            VarLinkage::GlobalExtern => "extern ",
        };
        let d = self.decl(*ty, name, 0, 0);
        let mut attrs = self.tags(v.0, -1);
        if let Some(sec) = sec {
            let _ = write!(attrs, " __attribute__((section(\"{}\")))", escape(sec));
        }
        let _ = writeln!(self.out, "{kw}{d}{attrs};");
    }
}

/// A C literal for a 64-bit enumerator value.
fn enum64_literal(v: i128) -> String {
    if v > i128::from(i64::MAX) {
        format!("{v}ULL")
    } else if v == i128::from(i64::MIN) {
        "(-9223372036854775807LL - 1)".to_string()
    } else if v < i128::from(i32::MIN) || v > i128::from(u32::MAX) {
        format!("{v}LL")
    } else {
        v.to_string()
    }
}

/// `x` rounded up to a multiple of `m` (saturating).
fn round_up(x: u64, m: u64) -> u64 {
    x.checked_next_multiple_of(m.max(1)).unwrap_or(u64::MAX)
}

/// Anonymous bitfields filling bits `from..to` without straddling their units. Stops once it
/// has written more than `budget` bytes (the printer's remaining output budget); returns the
/// bytes written, which the caller counts as work.
fn pad(s: &mut String, from: u64, to: u64, indent: usize, budget: usize) -> usize {
    let start = s.len();
    let mut p = from;
    let mut lines = 0;
    while p < to && lines < 1 << 16 && s.len() - start <= budget {
        let (ty, bits) = if p % 8 != 0 || to - p < 8 {
            ("char", (8 - p % 8).min(to - p))
        } else {
            let mut pick = ("char", 8);
            for (ty, unit) in [("long", 64), ("int", 32), ("short", 16)] {
                if p % unit == 0 && p.saturating_add(unit) <= to {
                    pick = (ty, unit);
                    break;
                }
            }
            pick
        };
        let _ = writeln!(s, "{}{ty}: {bits};", tabs(indent));
        p = p.saturating_add(bits);
        lines += 1;
    }
    s.len() - start
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_uses_aligned_units_without_straddling() {
        let mut s = String::new();
        assert_eq!(pad(&mut s, 0, 128, 0, usize::MAX), 20);
        assert_eq!(s, "long: 64;\nlong: 64;\n");
        let mut s = String::new();
        pad(&mut s, 3, 72, 1, usize::MAX);
        assert_eq!(
            s,
            "\tchar: 5;\n\tchar: 8;\n\tshort: 16;\n\tint: 32;\n\tchar: 8;\n"
        );
        let mut s = String::new();
        pad(&mut s, 10, 10, 0, usize::MAX);
        assert_eq!(s, "");
        // Bounded even for a 2^64-bit hole.
        let mut s = String::new();
        pad(&mut s, 0, u64::MAX, 0, usize::MAX);
        assert_eq!(s.lines().count(), 1 << 16);
        // And it stops once it has written more than its byte budget.
        let mut s = String::new();
        let n = pad(&mut s, 0, u64::MAX, 0, 100);
        assert_eq!((n, s.len()), (110, 110));
    }

    #[test]
    fn enum64_literals() {
        assert_eq!(enum64_literal(5), "5");
        assert_eq!(enum64_literal(-5), "-5");
        assert_eq!(enum64_literal(i128::from(u32::MAX)), "4294967295");
        assert_eq!(enum64_literal(1 << 40), "1099511627776LL");
        assert_eq!(
            enum64_literal(i128::from(u64::MAX)),
            "18446744073709551615ULL"
        );
        assert_eq!(
            enum64_literal(i128::from(i64::MIN)),
            "(-9223372036854775807LL - 1)"
        );
    }

    #[test]
    fn escapes_strings_for_c_literals() {
        assert_eq!(escape("a\"b\\c"), "a\\\"b\\\\c");
        assert_eq!(escape("tab\there"), "tab\\x09here");
        assert_eq!(escape("é"), "\\xc3\\xa9");
    }

    #[test]
    fn round_up_saturates() {
        assert_eq!(round_up(0, 8), 0);
        assert_eq!(round_up(9, 8), 16);
        assert_eq!(round_up(u64::MAX - 1, 8), u64::MAX);
        assert_eq!(round_up(5, 0), 5);
    }
}
