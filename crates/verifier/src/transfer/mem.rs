//! Loads, stores and atomics: every access is checked against the region its base register
//! points to (stack, map value, packet, context, memory), with Linux's messages.

use ebpfvm_isa::{AtomicOp, Reg as IsaReg, Size, Source};

use crate::ctx_rules::{Access, Loaded};
use crate::env::{Env, MAP_RDONLY_PROG};
use crate::num;
use crate::state::{byte_in_slot, ByteKind, Reg, RegType, State, STACK_SIZE};
use crate::transfer::{check_readable, check_writable_dst, Fail};

/// Largest packet offset Linux tracks (`MAX_PACKET_OFF`).
pub const MAX_PACKET_OFF: i64 = 0xffff;
/// Largest variable offset Linux accepts (`BPF_MAX_VAR_OFF`).
const MAX_VAR_OFF: i64 = 1 << 29;

/// What an access does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// A load.
    Read,
    /// A store.
    Write,
    /// An atomic read-modify-write.
    Atomic,
}

impl Kind {
    fn reads(self) -> bool {
        matches!(self, Kind::Read | Kind::Atomic)
    }
    fn writes(self) -> bool {
        matches!(self, Kind::Write | Kind::Atomic)
    }
}

/// `dst = *(size *)(src + off)`.
pub fn load(
    env: &Env,
    st: &mut State,
    size: Size,
    signed: bool,
    dst: IsaReg,
    src: IsaReg,
    off: i16,
) -> Result<(), Fail> {
    check_readable(st, src.index())?;
    check_writable_dst(dst.index())?;
    let bytes = size.bytes() as u32;
    let loaded = access(
        env,
        st,
        src.index(),
        i32::from(off),
        bytes,
        Kind::Read,
        None,
    )?;
    let mut r = loaded.unwrap_or_else(|| Reg::scalar(num::unknown_bits(bytes * 8)));
    if signed && r.ty == RegType::Scalar {
        r = Reg::scalar(num::movsx(
            ebpfvm_isa::Width::W64,
            (bytes * 8) as u8,
            &r.val,
        ));
    }
    *st.reg_mut(dst.index()) = r;
    Ok(())
}

/// `*(size *)(dst + off) = src`.
pub fn store(
    env: &Env,
    st: &mut State,
    size: Size,
    dst: IsaReg,
    off: i16,
    src: Source,
) -> Result<(), Fail> {
    check_readable(st, dst.index())?;
    let value = match src {
        Source::Reg(r) => {
            check_readable(st, r.index())?;
            st.reg(r.index()).clone()
        }
        Source::Imm(imm) => Reg::constant(imm as i64 as u64),
    };
    let is_ctx = st.reg(dst.index()).ty == RegType::Ctx;
    let bytes = size.bytes() as u32;
    access(
        env,
        st,
        dst.index(),
        i32::from(off),
        bytes,
        Kind::Write,
        Some(&value),
    )?;
    if is_ctx && matches!(src, Source::Imm(_)) {
        return Err(format!("BPF_ST stores into R{} ctx is not allowed", dst.index()).into());
    }
    Ok(())
}

/// Atomic operations (including load-acquire and store-release).
#[allow(clippy::too_many_arguments, reason = "the instruction's fields")]
pub fn atomic(
    env: &Env,
    st: &mut State,
    size: Size,
    op: AtomicOp,
    fetch: bool,
    dst: IsaReg,
    src: IsaReg,
    off: i16,
) -> Result<(), Fail> {
    match op {
        AtomicOp::LoadAcquire => return load(env, st, size, false, src, dst, off),
        AtomicOp::StoreRelease => return store(env, st, size, dst, off, Source::Reg(src)),
        _ => {}
    }
    check_readable(st, src.index())?;
    check_readable(st, dst.index())?;
    if op == AtomicOp::Cmpxchg {
        check_readable(st, 0)?;
        if st.reg(0).ty.is_pointer() {
            return Err("R0 leaks addr into mem".into());
        }
    }
    if st.reg(src.index()).ty.is_pointer() {
        return Err(format!("R{} leaks addr into mem", src.index()).into());
    }
    let base = st.reg(dst.index()).ty;
    if matches!(
        base,
        RegType::Ctx | RegType::Packet | RegType::PacketMeta | RegType::PacketEnd
    ) {
        return Err(format!(
            "BPF_ATOMIC stores into R{} {} is not allowed",
            dst.index(),
            base.name()
        )
        .into());
    }
    let bytes = size.bytes() as u32;
    let value = Reg::unknown();
    access(
        env,
        st,
        dst.index(),
        i32::from(off),
        bytes,
        Kind::Atomic,
        Some(&value),
    )?;
    if fetch || op.always_fetches() {
        let out = if op == AtomicOp::Cmpxchg {
            0
        } else {
            src.index()
        };
        check_writable_dst(out)?;
        *st.reg_mut(out) = Reg::scalar(num::unknown_bits(bytes * 8));
    }
    Ok(())
}

/// Checks an access of `size` bytes at `R[regno] + off` and performs it on the state (stack
/// writes). For reads, returns the loaded register when the region determines it (spills,
/// context pointers, known zero), `None` for an unknown scalar.
pub fn access(
    env: &Env,
    st: &mut State,
    regno: usize,
    off: i32,
    size: u32,
    kind: Kind,
    value: Option<&Reg>,
) -> Result<Option<Reg>, Fail> {
    let reg = st.reg(regno).clone();
    match reg.ty {
        RegType::NotInit => Err(format!("R{regno} !read_ok").into()),
        RegType::Stack { frame } => {
            stack_access(st, frame as usize, regno, &reg, off, size, kind, value)
        }
        RegType::MapValue { map } => {
            let m = env.map(map).ok_or("invalid map reference")?;
            if kind.writes() && m.flags & MAP_RDONLY_PROG != 0 {
                return Err(format!(
                    "write into map forbidden, value_size={} off={} size={size}",
                    m.value_size,
                    reg.off + off
                )
                .into());
            }
            region_access(regno, &reg, off, size, m.value_size, "map value", |o| {
                format!(
                    "invalid access to map value, value_size={} off={o} size={size}",
                    m.value_size
                )
            })?;
            Ok(None)
        }
        RegType::MapKey { map } => {
            let m = env.map(map).ok_or("invalid map reference")?;
            if kind.writes() {
                return Err(format!("R{regno} cannot write into map_key").into());
            }
            region_access(regno, &reg, off, size, m.key_size, "map key", |o| {
                format!(
                    "invalid access to map key, key_size={} off={o} size={size}",
                    m.key_size
                )
            })?;
            Ok(None)
        }
        RegType::Mem {
            size: mem_size,
            rdonly,
        } => {
            if kind.writes() && rdonly {
                return Err(format!("R{regno} cannot write into rdonly_mem").into());
            }
            region_access(regno, &reg, off, size, mem_size, "mem", |o| {
                format!("invalid access to memory, mem_size={mem_size} off={o} size={size}")
            })?;
            Ok(None)
        }
        RegType::Packet | RegType::PacketMeta => {
            if kind.writes() && !env.may_write_packet() {
                return Err("cannot write into packet".into());
            }
            packet_access(regno, &reg, off, size)?;
            Ok(None)
        }
        RegType::Ctx => ctx_access(env, regno, &reg, off, size, kind, value),
        _ => Err(format!("R{regno} invalid mem access '{}'", reg.ty.name()).into()),
    }
}

/// Bounds of a map value / memory access: `[reg.off + off + val, ... + size)` inside
/// `[0, limit)`.
fn region_access(
    regno: usize,
    reg: &Reg,
    off: i32,
    size: u32,
    limit: u32,
    _what: &str,
    msg: impl Fn(i64) -> String,
) -> Result<(), Fail> {
    let smin = num::smin(&reg.val);
    let umax = num::umax(&reg.val);
    let fixed = i64::from(reg.off) + i64::from(off);
    if smin < 0 && num::as_const(&reg.val).is_none() {
        return Err(format!(
            "R{regno} min value is negative, either use unsigned index or do a if (index >=0) check."
        )
        .into());
    }
    if umax >= MAX_VAR_OFF as u64 {
        return Err(format!(
            "R{regno} unbounded memory access, make sure to bounds check any such access"
        )
        .into());
    }
    let lo = fixed + smin.max(0);
    let lo = if num::as_const(&reg.val).is_some() {
        fixed + smin
    } else {
        lo
    };
    let hi = fixed + umax as i64;
    let limit = i64::from(limit);
    let size = i64::from(size);
    if lo < 0 || lo + size > limit {
        let e = msg(lo);
        return Err(
            format!("{e}\nR{regno} min value is outside of the allowed memory range").into(),
        );
    }
    if hi + size > limit {
        let e = msg(hi);
        return Err(
            format!("{e}\nR{regno} max value is outside of the allowed memory range").into(),
        );
    }
    Ok(())
}

fn packet_access(regno: usize, reg: &Reg, off: i32, size: u32) -> Result<(), Fail> {
    let smin = num::smin(&reg.val);
    if smin < 0 {
        return Err(format!(
            "R{regno} min value is negative, either use unsigned index or do a if (index >=0) check."
        )
        .into());
    }
    let fixed = i64::from(reg.off) + i64::from(off);
    let umax = num::umax(&reg.val);
    if umax > MAX_PACKET_OFF as u64 || fixed < 0 || fixed + i64::from(size) > i64::from(reg.range) {
        return Err(format!(
            "invalid access to packet, off={fixed} size={size}, R{regno}(id={},off={},r={})\nR{regno} offset is outside of the packet",
            reg.id, reg.off, reg.range
        )
        .into());
    }
    Ok(())
}

fn ctx_access(
    env: &Env,
    regno: usize,
    reg: &Reg,
    off: i32,
    size: u32,
    kind: Kind,
    _value: Option<&Reg>,
) -> Result<Option<Reg>, Fail> {
    if reg.off != 0 {
        return Err(format!(
            "dereference of modified ctx ptr R{regno} off={} disallowed",
            reg.off
        )
        .into());
    }
    if num::as_const(&reg.val) != Some(0) {
        return Err(format!(
            "variable ctx access var_off={} disallowed",
            num::tnum_str(&reg.val)
        )
        .into());
    }
    let access = match kind {
        Kind::Read => Access::Read,
        Kind::Write => Access::Write,
        Kind::Atomic => {
            return Err(format!("BPF_ATOMIC stores into R{regno} ctx is not allowed").into())
        }
    };
    match env.ctx.check(i64::from(off), size, access)? {
        Loaded::Scalar => Ok(None),
        Loaded::Pointer(ty) => Ok(Some(Reg::pointer(ty))),
    }
}

#[allow(clippy::too_many_arguments, reason = "one access, all of its parts")]
fn stack_access(
    st: &mut State,
    frame: usize,
    regno: usize,
    reg: &Reg,
    off: i32,
    size: u32,
    kind: Kind,
    value: Option<&Reg>,
) -> Result<Option<Reg>, Fail> {
    let Some(var) = num::as_const(&reg.val) else {
        return Err(format!(
            "variable-offset stack access R{regno} var_off={} off={off} size={size} is not supported",
            num::tnum_str(&reg.val)
        )
        .into());
    };
    let start = i64::from(reg.off) + i64::from(off) + var as i64;
    let size_i = i64::from(size);
    if start % size_i != 0 {
        return Err(format!(
            "misaligned stack access off {}+{}+{} size {size}",
            var as i64, reg.off, off
        )
        .into());
    }
    if start < -i64::from(STACK_SIZE) || start + size_i > 0 {
        let what = if kind == Kind::Read {
            "read from"
        } else {
            "write to"
        };
        return Err(format!("invalid {what} stack R{regno} off={start} size={size}").into());
    }
    let start = start as i32;
    let fr = &mut st.frames[frame];
    let mut out = None;
    if kind.reads() {
        out = Some(stack_read(fr, regno, start, size, off)?);
    }
    if kind.writes() {
        let v = value.cloned().unwrap_or_else(Reg::unknown);
        if kind == Kind::Atomic {
            if let Some(s) = fr.slot(start) {
                if s.spill.as_ref().is_some_and(|r| r.ty.is_pointer()) {
                    return Err("attempt to corrupt spilled pointer on stack".into());
                }
            }
            stack_write(fr, start, size, &Reg::unknown());
        } else {
            stack_write(fr, start, size, &v);
        }
    }
    Ok(out.filter(|r| kind == Kind::Read || r.ty != RegType::NotInit))
}

/// Reads `size` bytes at `start` (checked in bounds and aligned).
fn stack_read(
    fr: &crate::state::Frame,
    _regno: usize,
    start: i32,
    size: u32,
    _insn_off: i32,
) -> Result<Reg, Fail> {
    let slot = fr.slot(start);
    if let Some(spill) = slot.and_then(|s| s.spill.as_deref()) {
        if size == 8 {
            return Ok(spill.clone());
        }
        if spill.ty.is_pointer() {
            return Err("invalid size of register fill".into());
        }
        return Ok(Reg::scalar(num::unknown_bits(size * 8)));
    }
    let mut all_zero = true;
    for i in 0..size as i32 {
        match fr.byte(start + i) {
            // Privileged programs may read uninitialised stack (Linux `allow_uninit_stack`):
            // the bytes are unknown.
            ByteKind::Invalid => all_zero = false,
            ByteKind::Zero => {}
            _ => all_zero = false,
        }
    }
    Ok(if all_zero {
        Reg::constant(0)
    } else {
        Reg::scalar(num::unknown_bits(size * 8))
    })
}

/// Writes `value` (its low `size` bytes) at `start` (checked in bounds and aligned).
pub fn stack_write(fr: &mut crate::state::Frame, start: i32, size: u32, value: &Reg) {
    if size == 8 && value.is_init() {
        let slot = fr.slot_mut(start);
        slot.bytes = [ByteKind::Spill; 8];
        slot.spill = Some(Box::new(value.clone()));
        return;
    }
    let zero = value.is_zero();
    let mut i = 0;
    while i < size as i32 {
        let at = start + i;
        let slot = fr.slot_mut(at);
        if slot.spill.is_some() {
            // Partial overwrite of a spill: the rest becomes plain bytes.
            slot.spill = None;
            for b in slot.bytes.iter_mut() {
                if *b == ByteKind::Spill {
                    *b = ByteKind::Misc;
                }
            }
        }
        slot.bytes[byte_in_slot(at)] = if zero { ByteKind::Zero } else { ByteKind::Misc };
        i += 1;
    }
}

/// Checks that `[R + off, R + off + size)` (with `size` in `[min_size, max_size]`) is
/// accessible for a helper (`check_helper_mem_access`); `init` requires initialised bytes
/// (the helper reads them); for writes, stack bytes become unknown data.
#[allow(clippy::too_many_arguments, reason = "one access, all of its parts")]
pub fn helper_mem(
    env: &Env,
    st: &mut State,
    regno: usize,
    max_size: u64,
    zero_ok: bool,
    init: bool,
    write: bool,
) -> Result<(), Fail> {
    let reg = st.reg(regno).clone();
    if max_size == 0 {
        if zero_ok {
            return Ok(());
        }
        return Err(format!("invalid zero-sized read from R{regno}").into());
    }
    if max_size >= MAX_VAR_OFF as u64 {
        return Err(format!(
            "R{} unbounded memory access, use 'var &= const' or 'if (var < const)'",
            regno + 1
        )
        .into());
    }
    let size = max_size as u32;
    match reg.ty {
        RegType::Stack { frame } => {
            let Some(var) = num::as_const(&reg.val) else {
                return Err(format!(
                    "R{regno} variable-offset stack access is not supported for helper memory"
                )
                .into());
            };
            let start = i64::from(reg.off) + var as i64;
            if start < -i64::from(STACK_SIZE) || start + i64::from(size) > 0 || start >= 0 {
                let what = if write { "write to" } else { "read from" };
                return Err(
                    format!("invalid {what} stack R{regno} off={start} size={size}").into(),
                );
            }
            let start = start as i32;
            let fr = &mut st.frames[frame as usize];
            // Privileged programs may pass uninitialised stack to helpers (Linux
            // `allow_uninit_stack`).
            let _ = init;
            if write {
                for i in 0..size as i32 {
                    stack_write(fr, start + i, 1, &Reg::unknown());
                }
            }
            Ok(())
        }
        RegType::Packet | RegType::PacketMeta => {
            if write && !env.may_write_packet() {
                return Err("cannot write into packet".into());
            }
            packet_access(regno, &reg, 0, size)
        }
        RegType::MapValue { .. } | RegType::Mem { .. } | RegType::MapKey { .. } => {
            let kind = if write { Kind::Write } else { Kind::Read };
            // Check the whole range at once: off 0, `size` bytes.
            access(env, st, regno, 0, size, kind, None).map(|_| ())
        }
        RegType::Ctx => Err(format!(
            "R{regno} type=ctx expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem"
        )
        .into()),
        ty => Err(format!(
            "R{regno} type={} expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem",
            ty.name()
        )
        .into()),
    }
}
