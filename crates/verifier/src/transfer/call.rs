//! Calls: helper calls checked against their prototypes, bpf-to-bpf calls and returns,
//! callbacks (`bpf_loop`, `bpf_for_each_map_elem`).

use ebpfvm_abi::helpers::{helper_by_id, ArgKind, HelperProto, RetKind};
use ebpfvm_abi::limits::MAX_CALL_FRAMES;

use crate::env::{lookup_returns_value, Env, INNER_MAP, MAP_RDONLY_PROG};
use crate::num;
use crate::state::{ByteKind, Frame, Reg, RegType, State};
use crate::transfer::mem::helper_mem;
use crate::transfer::{check_readable, Fail};
use crate::MapType;

/// A callback the helper will call: its entry and the registers r1–r5 it gets.
#[derive(Debug)]
pub struct CallbackCall {
    /// Entry slot of the callback.
    pub entry: usize,
    /// r1–r5 of the callback frame.
    pub args: [Reg; 5],
}

/// `call helper#id` at `pc`: checks the arguments, then sets r0 and clobbers r1–r5 in
/// `st`. Returns the callback to verify, if the helper calls one.
pub fn helper(env: &Env, st: &mut State, pc: usize, id: i32) -> Result<Option<CallbackCall>, Fail> {
    let Some(proto) = u32::try_from(id).ok().and_then(helper_by_id) else {
        return Err(format!("invalid func unknown#{id}").into());
    };
    if !(env.input.allowed_helper)(env.prog_type(), i64::from(id)) {
        return Err(format!(
            "program of this type cannot use helper bpf_{}#{id}",
            proto.name
        )
        .into());
    }
    let mut map: Option<u32> = None;
    let mut callback = None;
    let mut cb_ctx = Reg::constant(0);
    let mut alloc_size = 0u32;
    let mut released = None;
    for (i, &kind) in proto.args.iter().enumerate() {
        let regno = i + 1;
        check_readable(st, regno)?;
        let reg = st.reg(regno).clone();
        let expected = |what: &str| -> Fail {
            format!("R{regno} type={} expected={what}", reg.ty.name()).into()
        };
        match kind {
            ArgKind::Anything => {}
            ArgKind::ConstMapPtr => match reg.ty {
                RegType::MapPtr { map: m } if reg.off == 0 => {
                    let desc = env.map(m).ok_or("invalid map reference")?;
                    check_map_func(proto, desc.map_type)?;
                    map = Some(m);
                }
                _ => return Err(expected("map_ptr")),
            },
            ArgKind::MapKey | ArgKind::MapValue | ArgKind::UninitMapValue => {
                let m = map.ok_or_else(|| Fail::from("invalid map_ptr to access map->key"))?;
                let desc = env.map(m).ok_or("invalid map reference")?;
                let size = if kind == ArgKind::MapKey {
                    desc.key_size
                } else {
                    desc.value_size
                };
                let write = kind == ArgKind::UninitMapValue;
                helper_mem(env, st, regno, u64::from(size), false, !write, write)?;
            }
            ArgKind::Mem | ArgKind::MemOrNull | ArgKind::UninitMem | ArgKind::UninitMemOrNull => {
                let size_reg = st.reg(regno + 1).clone();
                check_readable(st, regno + 1)?;
                let size_kind = proto.args.get(i + 1).copied();
                let zero_ok = size_kind == Some(ArgKind::ConstSizeOrZero);
                let size = check_size(regno + 1, &size_reg, zero_ok)?;
                let nullable = matches!(kind, ArgKind::MemOrNull | ArgKind::UninitMemOrNull);
                if nullable && reg.is_zero() {
                    if num::umax(&size_reg.val) != 0 {
                        return Err(format!("R{regno} type=scalar expected=fp").into());
                    }
                    continue;
                }
                let write = matches!(kind, ArgKind::UninitMem | ArgKind::UninitMemOrNull);
                if reg.ty == RegType::Ctx {
                    return Err(expected(
                        "fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem",
                    ));
                }
                helper_mem(env, st, regno, size, zero_ok, !write, write)?;
            }
            ArgKind::ConstSize | ArgKind::ConstSizeOrZero => {}
            ArgKind::ConstAllocSizeOrZero => match reg.const_value() {
                Some(v) if reg.ty == RegType::Scalar => {
                    alloc_size = u32::try_from(v)
                        .map_err(|_| Fail::from(format!("R{regno} is not a known constant'")))?;
                }
                _ => return Err(format!("R{regno} is not a known constant'").into()),
            },
            ArgKind::Ctx => {
                if reg.ty != RegType::Ctx {
                    return Err(expected("ctx"));
                }
                if reg.off != 0 || num::as_const(&reg.val) != Some(0) {
                    return Err(format!(
                        "dereference of modified ctx ptr R{regno} off={} disallowed",
                        reg.off
                    )
                    .into());
                }
            }
            ArgKind::Callback => match reg.ty {
                RegType::Func { entry } => callback = Some(entry as usize),
                _ => return Err(expected("func")),
            },
            ArgKind::StackOrNull => {
                if !(reg.is_zero() || matches!(reg.ty, RegType::Stack { .. })) {
                    return Err(expected("fp"));
                }
                cb_ctx = reg;
            }
            ArgKind::SpinLock => {
                // Without BTF the lock's position is unknown: refuse.
                return Err("bpf_spin_lock is not supported without map BTF".into());
            }
            ArgKind::AllocMem => {
                if !matches!(reg.ty, RegType::Mem { .. }) || reg.ref_id == 0 {
                    return Err(expected("ringbuf_mem"));
                }
                if reg.off != 0 || num::as_const(&reg.val) != Some(0) {
                    return Err(format!(
                        "R{regno} must have zero offset when passed to release func"
                    )
                    .into());
                }
                released = Some(reg.ref_id);
            }
            ArgKind::ConstStr => {
                let ok = match reg.ty {
                    RegType::MapValue { map: m } => {
                        env.map(m).is_some_and(|d| d.flags & MAP_RDONLY_PROG != 0)
                    }
                    _ => false,
                };
                if !ok {
                    return Err(format!("R{regno} does not point to a readonly map'").into());
                }
            }
            ArgKind::LongPtr => {
                helper_mem(env, st, regno, 8, false, false, true)?;
            }
        }
    }
    if proto.id == 12 && !st.refs.is_empty() {
        return Err("tail_call would lead to reference leak".into());
    }
    if let Some(rid) = released {
        release(st, rid);
    }
    // The callback, with the registers Linux gives it.
    let cb = match callback {
        Some(entry) => {
            let args = match proto.id {
                164 => {
                    let m = map.unwrap_or(0);
                    [
                        Reg::pointer(RegType::MapPtr { map: m }),
                        Reg::pointer(RegType::MapKey { map: m }),
                        Reg::pointer(RegType::MapValue { map: m }),
                        cb_ctx,
                        Reg::not_init(),
                    ]
                }
                _ => [
                    Reg::unknown(),
                    cb_ctx,
                    Reg::not_init(),
                    Reg::not_init(),
                    Reg::not_init(),
                ],
            };
            Some(CallbackCall { entry, args })
        }
        None => None,
    };
    // r0.
    let r0 = match proto.ret {
        RetKind::Integer => Reg::unknown(),
        RetKind::Void => Reg::not_init(),
        RetKind::MapValueOrNull => {
            let m = map.ok_or("map lookup without map")?;
            let desc = env.map(m).ok_or("invalid map reference")?;
            let mut r = if matches!(desc.map_type, MapType::ArrayOfMaps | MapType::HashOfMaps) {
                if m & INNER_MAP != 0 || desc.inner.is_none() {
                    return Err("map-in-map without inner map template".into());
                }
                Reg::pointer(RegType::MapPtrOrNull { map: m | INNER_MAP })
            } else {
                Reg::pointer(RegType::MapValueOrNull { map: m })
            };
            r.id = st.new_id();
            r
        }
        RetKind::AllocMemOrNull => {
            let mut r = Reg::pointer(RegType::MemOrNull { size: alloc_size });
            r.id = st.new_id();
            r.ref_id = r.id;
            st.refs.push((r.id, pc));
            r
        }
    };
    for r in 1..=5 {
        *st.reg_mut(r) = Reg::not_init();
    }
    *st.reg_mut(0) = r0;
    if proto.flags.changes_pkt_data {
        st.for_each_reg(|r| {
            if matches!(
                r.ty,
                RegType::Packet | RegType::PacketMeta | RegType::PacketEnd
            ) {
                *r = Reg::unknown();
            }
        });
    }
    Ok(cb)
}

/// The size argument of a memory + size pair: a bounded non-negative scalar; returns its
/// maximum.
fn check_size(regno: usize, reg: &Reg, zero_ok: bool) -> Result<u64, Fail> {
    if reg.ty != RegType::Scalar {
        return Err(format!("R{regno} type={} expected=scalar", reg.ty.name()).into());
    }
    if num::smin(&reg.val) < 0 {
        return Err(format!(
            "R{regno} min value is negative, either use unsigned or 'var &= const'"
        )
        .into());
    }
    if num::umin(&reg.val) == 0 && !zero_ok {
        return Err(format!("R{regno} invalid zero-sized read").into());
    }
    Ok(num::umax(&reg.val))
}

/// Releases reference `rid`: every copy of the pointer becomes unusable.
fn release(st: &mut State, rid: u32) {
    st.refs.retain(|(r, _)| *r != rid);
    st.for_each_reg(|r| {
        if r.ref_id == rid {
            *r = Reg::unknown();
        }
    });
}

/// Which helpers may take which map types (`check_map_func_compatibility`).
fn check_map_func(proto: &HelperProto, t: MapType) -> Result<(), Fail> {
    use MapType as M;
    let id = proto.id;
    let bad = || -> Result<(), Fail> {
        if id == 12 {
            return Err("expected prog array map for tail call".into());
        }
        Err(format!(
            "cannot pass map_type {} into func bpf_{}#{}",
            t.number(),
            proto.name,
            id
        )
        .into())
    };
    // Map types usable only with specific helpers.
    let only: Option<&[u32]> = match t {
        M::ProgArray => Some(&[12]),
        M::PerfEventArray => Some(&[22, 25, 55, 68]),
        M::StackTrace => Some(&[27]),
        M::CgroupArray => Some(&[33, 37]),
        M::Ringbuf => Some(&[130, 131, 134]),
        M::Devmap | M::DevmapHash | M::Cpumap | M::Xskmap => Some(&[51, 1]),
        M::Sockmap | M::Sockhash => Some(&[52, 53, 60, 70, 71, 72, 1, 2, 3]),
        M::Queue | M::Stack => Some(&[87, 88, 89]),
        _ => None,
    };
    if let Some(ids) = only {
        if !ids.contains(&id) {
            return bad();
        }
    }
    // Helpers usable only with specific map types.
    let ok = match id {
        12 => t == M::ProgArray,
        22 | 25 | 55 => t == M::PerfEventArray,
        27 => t == M::StackTrace,
        33 | 37 => t == M::CgroupArray,
        130 | 131 | 134 => t == M::Ringbuf,
        51 => matches!(t, M::Devmap | M::DevmapHash | M::Cpumap | M::Xskmap),
        52 | 53 | 60 => matches!(t, M::Sockmap | M::Sockhash),
        87..=89 => matches!(t, M::Queue | M::Stack),
        1 | 195 => lookup_returns_value(t) && !matches!(t, M::Queue | M::Stack),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        bad()
    }
}

/// A bpf-to-bpf call from `pc` to `target`: pushes the callee frame.
pub fn local_call(st: &mut State, pc: usize, target: usize) -> Result<(), Fail> {
    push_frame(st, pc, target, None)
}

/// Pushes a frame for a call of `entry` from `pc`: r1–r5 are the caller's (or the callback
/// arguments).
pub fn push_frame(
    st: &mut State,
    pc: usize,
    entry: usize,
    callback: Option<[Reg; 5]>,
) -> Result<(), Fail> {
    if st.frames.len() >= MAX_CALL_FRAMES {
        return Err(format!(
            "the call stack of {} frames is too deep",
            st.frames.len() + 1
        )
        .into());
    }
    let frame_no = st.frames.len() as u8;
    let mut frame = Frame::new(frame_no, pc, entry);
    match &callback {
        Some(args) => {
            for (i, a) in args.iter().enumerate() {
                frame.regs[i + 1] = a.clone();
            }
        }
        None => {
            for r in 1..=5 {
                frame.regs[r] = st.reg(r).clone();
            }
        }
    }
    frame.callback = callback.map(Box::new);
    st.frames.push(frame);
    Ok(())
}

/// Where `exit` continues.
#[derive(Debug)]
pub enum ExitTo {
    /// The program ends.
    Program,
    /// The caller resumes at this slot.
    Caller(usize),
    /// A callback returned to its helper, which resumes at this slot; the callback may be
    /// called again with these arguments.
    CallbackReturn {
        /// Slot after the helper call.
        resume: usize,
        /// Entry of the callback.
        entry: usize,
        /// Its arguments.
        args: Box<[Reg; 5]>,
        /// The helper's call slot.
        callsite: usize,
    },
}

/// `exit` from the innermost frame: checks r0 and pops the frame.
pub fn exit(env: &Env, st: &mut State) -> Result<ExitTo, Fail> {
    check_readable(st, 0).map_err(|_| Fail::from("R0 !read_ok"))?;
    if st.frames.len() == 1 {
        return program_exit(env, st).map(|()| ExitTo::Program);
    }
    let r0 = st.reg(0).clone();
    let depth = st.depth() as u8;
    if r0.ty == (RegType::Stack { frame: depth }) {
        return Err("cannot return stack pointer to the caller frame".into());
    }
    let callee = st.frames.pop().expect("depth checked");
    if let Some(args) = &callee.callback {
        if r0.ty != RegType::Scalar || !num::within_signed(&r0.val, 0, 1) {
            return Err(format!(
                "At callback return the register R0 has {} should have been in [0, 1]",
                describe_value(&r0)
            )
            .into());
        }
        invalidate_frame(st, depth);
        *st.reg_mut(0) = Reg::unknown();
        for r in 1..=5 {
            *st.reg_mut(r) = Reg::not_init();
        }
        return Ok(ExitTo::CallbackReturn {
            resume: callee.callsite + 1,
            entry: callee.entry,
            args: args.clone(),
            callsite: callee.callsite,
        });
    }
    invalidate_frame(st, depth);
    *st.reg_mut(0) = r0;
    for r in 1..=5 {
        *st.reg_mut(r) = Reg::not_init();
    }
    Ok(ExitTo::Caller(callee.callsite + 1))
}

/// Pointers into a popped frame's stack become unusable.
fn invalidate_frame(st: &mut State, depth: u8) {
    for fr in &mut st.frames {
        for r in fr.regs.iter_mut() {
            if r.ty == (RegType::Stack { frame: depth }) {
                *r = Reg::not_init();
            }
        }
        for slot in fr.stack.iter_mut() {
            if slot
                .spill
                .as_ref()
                .is_some_and(|r| r.ty == (RegType::Stack { frame: depth }))
            {
                slot.spill = None;
                slot.bytes = [ByteKind::Misc; 8];
            }
        }
    }
}

fn describe_value(r: &Reg) -> String {
    if r.ty == RegType::Scalar {
        format!("smin={} smax={}", num::smin(&r.val), num::smax(&r.val))
    } else {
        format!("type={}", r.ty.name())
    }
}

/// The program's return value: initialised, no references held, in the type's range.
fn program_exit(env: &Env, st: &State) -> Result<(), Fail> {
    if let Some((rid, insn)) = st.refs.first() {
        return Err(format!(
            "Unreleased reference id={rid} alloc_insn={insn}\nBPF_EXIT instruction in main prog would lead to reference leak"
        )
        .into());
    }
    use crate::ProgramType as P;
    let range: Option<(i64, i64)> = match env.prog_type() {
        P::CgroupSkb => {
            if env.input.expected_attach_type == Some(crate::AttachType::CgroupInetEgress) {
                Some((0, 3))
            } else {
                Some((0, 1))
            }
        }
        P::CgroupSock
        | P::CgroupDevice
        | P::CgroupSysctl
        | P::CgroupSockopt
        | P::SkLookup
        | P::CgroupSockAddr
        | P::Netfilter => Some((0, 1)),
        _ => None,
    };
    let r0 = st.reg(0);
    if let Some((lo, hi)) = range {
        if r0.ty != RegType::Scalar {
            return Err(format!(
                "At program exit the register R0 is not a known value ({})",
                r0.ty.name()
            )
            .into());
        }
        if !num::within_signed(&r0.val, lo, hi) {
            return Err(format!(
                "At program exit the register R0 has {} should have been in [{lo}, {hi}]",
                describe_value(r0)
            )
            .into());
        }
    }
    Ok(())
}
