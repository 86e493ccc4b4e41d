//! The verifier log in Linux's shape: `N: (op) insn`, register states
//! `R0_w=scalar() R1=ctx() R10=fp0`, source lines `; text @ file:line`, the stats line.

use std::fmt::Write;

use ebpfvm_isa::{disasm, Insn, RawInsn};

use crate::env::Env;
use crate::num;
use crate::state::{ByteKind, Reg, RegType, State};

/// One instruction line: `N: (op) text`.
pub fn insn_line(pc: usize, raw: &RawInsn, insn: &Insn) -> String {
    let text = match insn {
        Insn::Call(ebpfvm_isa::Call::Helper(id)) => {
            match u32::try_from(*id)
                .ok()
                .and_then(ebpfvm_abi::helpers::helper_by_id)
            {
                Some(p) => format!("call bpf_{}#{id}", p.name),
                None => format!("call unknown#{id}"),
            }
        }
        _ => disasm::disasm_insn(insn, pc),
    };
    format!("{pc}: ({:02x}) {text}", raw.opcode)
}

/// Linux's rendering of one register's value.
pub fn reg_str(env: &Env, r: &Reg) -> String {
    let mut extra = Vec::new();
    if r.id != 0 {
        extra.push(format!("id={}", r.id));
    }
    if r.ref_id != 0 {
        extra.push(format!("ref_obj_id={}", r.ref_id));
    }
    let var = |extra: &mut Vec<String>| {
        if r.off != 0 {
            extra.push(format!("off={}", r.off));
        }
        if num::as_const(&r.val) != Some(0) {
            extra.push(format!("var_off={}", num::tnum_str(&r.val)));
        }
    };
    match r.ty {
        RegType::NotInit => "?".into(),
        RegType::Scalar => {
            if r.id == 0 {
                if let Some(c) = num::as_const(&r.val) {
                    return format!("{}", c as i64);
                }
            }
            let v = num::linux(&r.val);
            let inner = if num::as_const(&r.val).is_some() || v.is_empty() {
                String::new()
            } else {
                v
            };
            let mut parts = extra;
            if !inner.is_empty() {
                parts.push(inner);
            }
            format!("scalar({})", parts.join(","))
        }
        RegType::Stack { frame } => {
            let mut s = if frame > 0 {
                format!("fp[{frame}]")
            } else {
                "fp".to_string()
            };
            if num::as_const(&r.val) == Some(0) {
                write!(s, "{}", r.off).ok();
                s
            } else {
                var(&mut extra);
                format!("{s}({})", extra.join(","))
            }
        }
        RegType::MapPtr { map }
        | RegType::MapValue { map }
        | RegType::MapValueOrNull { map }
        | RegType::MapPtrOrNull { map }
        | RegType::MapKey { map } => {
            extra.push(env.map_desc(map));
            var(&mut extra);
            format!("{}({})", r.ty.name(), extra.join(","))
        }
        RegType::Packet | RegType::PacketMeta => {
            var(&mut extra);
            extra.push(format!("r={}", r.range));
            format!("{}({})", r.ty.name(), extra.join(","))
        }
        RegType::Mem { size, .. } | RegType::MemOrNull { size } => {
            extra.push(format!("sz={size}"));
            var(&mut extra);
            format!("{}({})", r.ty.name(), extra.join(","))
        }
        RegType::Func { entry } => format!("func(insn={entry})"),
        RegType::Ctx | RegType::PacketEnd => {
            var(&mut extra);
            format!("{}({})", r.ty.name(), extra.join(","))
        }
    }
}

/// The state of the innermost frame (and its callers' frame numbers), as Linux prints it
/// after an instruction: `R0=... R10=fp0 fp-8=mmmmmmmm`.
pub fn state_str(env: &Env, st: &State) -> String {
    let mut out = String::new();
    let depth = st.depth();
    if depth > 0 {
        write!(out, "frame{depth}: ").ok();
    }
    let fr = st.cur();
    let mut first = true;
    for (i, r) in fr.regs.iter().enumerate() {
        if !r.is_init() {
            continue;
        }
        if !first {
            out.push(' ');
        }
        first = false;
        write!(out, "R{i}={}", reg_str(env, r)).ok();
    }
    for (i, slot) in fr.stack.iter().enumerate() {
        if slot.is_invalid() {
            continue;
        }
        let off = -8 * (i as i64 + 1);
        let v = match &slot.spill {
            Some(r) => reg_str(env, r),
            None => slot
                .bytes
                .iter()
                .rev()
                .map(|b| ByteKind::letter(*b))
                .collect(),
        };
        write!(out, " fp{off}={v}").ok();
    }
    out
}
