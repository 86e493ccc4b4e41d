//! Test runs: the user-space `BPF_PROG_TEST_RUN`.
//!
//! Each program type gets the context Linux gives it in a test run:
//!
//! | type | context | `data_in` | `data_out` |
//! |---|---|---|---|
//! | xdp | `xdp_md` over a 4 KiB frame: 256 bytes headroom, the packet, tailroom | the frame (≥ 14 bytes, ≤ 3520) | the frame after head/tail/meta adjustments |
//! | socket_filter, cgroup_skb | `__sk_buff`, data at the network header (`eth_type_trans`) | the frame (≥ 14 bytes) | the frame with its first 14 bytes zeroed |
//! | sched_cls, sched_act | `__sk_buff`, data at the Ethernet header | the frame (≥ 14 bytes) | the frame |
//! | kprobe | `pt_regs` from `ctx_in` (zero-padded to 168 bytes) | — | — |
//! | tracepoint | the record from `ctx_in`, zero-padded to 2048 bytes | — | — |
//! | raw_tracepoint | up to 12 u64 arguments from `ctx_in`, the others 0 | — | — |
//! | unspec (raw memory, for embedders) | r1 = the data, r2 = its length | the data | the data after the run |

use std::time::{Duration, Instant};

use ebpfvm_abi::kctx::{skb, xdp};
use ebpfvm_abi::ProgramType;
use ebpfvm_helpers::{CtxKind, Redirect, RunConfig, RunEnv};
use ebpfvm_interp::{Region, Vm};
use ebpfvm_maps::RunGuard;

use crate::error::{type_name, RunError};
use crate::load::{Loaded, LoadedProgram};

/// Headroom before an XDP frame (`XDP_PACKET_HEADROOM`).
pub const XDP_HEADROOM: usize = 256;
/// Bytes of an XDP test-run buffer: one page less the room Linux keeps for
/// `skb_shared_info` at its end.
pub const XDP_BUFFER: usize = 4096 - 320;
/// The largest frame an XDP test run takes (Linux: `EINVAL` beyond it).
pub const XDP_MAX_FRAME: usize = XDP_BUFFER - XDP_HEADROOM;
/// Ethernet header length.
pub const ETH_HLEN: usize = 14;
/// Size of `struct pt_regs` on x86-64.
pub const PT_REGS_SIZE: usize = 168;
/// Bytes of a tracepoint context a program may read (the verifier's limit); `ctx_in` is
/// zero-padded to it.
pub const TRACEPOINT_CTX_SIZE: usize = 2048;
/// Headroom before an skb's Ethernet header.
const SKB_HEADROOM: usize = 64;

thread_local! {
    /// VMs (each with its 4 KiB stack) reused by this thread's runs.
    static VMS: std::cell::RefCell<Vec<Vm>> = const { std::cell::RefCell::new(Vec::new()) };
    /// XDP packet buffers reused by this thread's runs.
    static XDP_BUFS: std::cell::RefCell<Vec<Vec<u8>>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// What to run a program on.
#[derive(Clone, Debug, Default)]
pub struct TestRun<'a> {
    /// The packet or memory (`data_in`).
    pub data: &'a [u8],
    /// The context (`ctx_in`), if any.
    pub ctx: Option<&'a [u8]>,
    /// Runs (0 counts as 1); the results are the last run's, the duration the mean.
    pub repeat: u32,
}

/// What a test run produced.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// r0 of the last run.
    pub retval: u64,
    /// The output packet or memory (`data_out`).
    pub data: Vec<u8>,
    /// The context after the run (`ctx_out`), for types that return one.
    pub ctx: Option<Vec<u8>>,
    /// Mean wall time of one run.
    pub duration: Duration,
    /// Instructions the last run executed.
    pub executed: u64,
    /// Where a redirect helper sent the packet in the last run.
    pub redirect: Option<Redirect>,
}

/// The memory a run's context lives in.
enum Setup {
    Xdp {
        buf: Vec<u8>,
        ctx: Vec<u64>,
        len: usize,
    },
    Skb {
        buf: Vec<u8>,
        ctx: Vec<u64>,
        /// Offset of the first byte programs see (`skb->data`) in `buf`.
        data_off: usize,
        frame: Vec<u8>,
        l2: bool,
    },
    Ctx {
        ctx: Vec<u64>,
        len: usize,
    },
    Memory {
        buf: Vec<u8>,
    },
}

fn words(bytes: usize) -> Vec<u64> {
    vec![0u64; bytes.div_ceil(8)]
}

fn put32(ctx: &mut [u64], off: u32, v: u32) {
    let w = &mut ctx[off as usize / 8];
    let shift = (off % 8) * 8;
    *w = (*w & !(0xffff_ffffu64 << shift)) | ((v as u64) << shift);
}

fn put64(ctx: &mut [u64], off: u32, v: u64) {
    ctx[off as usize / 8] = v;
}

fn get64(ctx: &[u64], off: u32) -> u64 {
    ctx[off as usize / 8]
}

fn ctx_bytes(ctx: &[u64], len: usize) -> Vec<u8> {
    let mut out: Vec<u8> = ctx.iter().flat_map(|w| w.to_le_bytes()).collect();
    out.truncate(len);
    out
}

fn ctx_from_bytes(ctx: &mut [u64], bytes: &[u8]) {
    for (i, chunk) in bytes.chunks(8).enumerate() {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        ctx[i] = u64::from_le_bytes(w);
    }
}

fn bad(msg: impl Into<String>) -> RunError {
    RunError::BadInput(msg.into())
}

/// The packet type `eth_type_trans` gives a frame arriving on a device with an all-zero
/// address (the loopback device of a test run).
fn pkt_type(frame: &[u8]) -> u32 {
    let dst = &frame[..6];
    if dst[0] & 1 != 0 {
        if dst.iter().all(|&b| b == 0xff) {
            1 // PACKET_BROADCAST
        } else {
            2 // PACKET_MULTICAST
        }
    } else if dst.iter().all(|&b| b == 0) {
        0 // PACKET_HOST
    } else {
        3 // PACKET_OTHERHOST
    }
}

/// `__sk_buff` fields a test run's `ctx_in` may set (Linux: the others must be zero).
const SKB_CTX_IN: &[(u32, u32, &str)] = &[
    (8, 4, "mark"),
    (32, 4, "priority"),
    (36, 4, "ingress_ifindex"),
    (40, 4, "ifindex"),
    (48, 20, "cb"),
    (152, 8, "tstamp"),
    (160, 4, "wire_len"),
    (164, 4, "gso_segs"),
    (176, 4, "gso_size"),
    (184, 8, "hwtstamp"),
];

impl Setup {
    fn new(prog_type: ProgramType, input: &TestRun<'_>) -> Result<Setup, RunError> {
        use ProgramType as T;
        let data = input.data;
        match prog_type {
            T::Xdp => {
                if data.len() < ETH_HLEN {
                    return Err(bad(format!(
                        "an XDP test run needs a frame of at least {ETH_HLEN} bytes, got {}",
                        data.len()
                    )));
                }
                if data.len() > XDP_MAX_FRAME {
                    return Err(bad(format!(
                        "frame of {} bytes is larger than the {XDP_MAX_FRAME} bytes an XDP test run takes",
                        data.len()
                    )));
                }
                let mut ctx = words(xdp::SIZE as usize);
                put32(&mut ctx, xdp::INGRESS_IFINDEX, 1);
                if let Some(c) = input.ctx {
                    if c.len() > xdp::UAPI_SIZE as usize {
                        return Err(bad(format!(
                            "xdp_md context is {} bytes, more than {}",
                            c.len(),
                            xdp::UAPI_SIZE
                        )));
                    }
                    let mut uapi = [0u8; 24];
                    uapi[..c.len()].copy_from_slice(c);
                    let f =
                        |o: usize| u32::from_le_bytes(uapi[o..o + 4].try_into().unwrap_or([0; 4]));
                    if f(0) != 0 || f(8) != 0 || (f(4) != 0 && f(4) as usize != data.len()) {
                        return Err(bad(
                            "xdp_md context: data and data_meta must be 0 and data_end 0 or the frame length",
                        ));
                    }
                    if f(20) != 0 {
                        return Err(bad("xdp_md context: egress_ifindex must be 0"));
                    }
                    put32(&mut ctx, xdp::INGRESS_IFINDEX, f(12));
                    put32(&mut ctx, xdp::RX_QUEUE_INDEX, f(16));
                }
                // `reset` zeroes it and copies the frame in before each run.
                let buf = XDP_BUFS
                    .with(|b| b.borrow_mut().pop())
                    .unwrap_or_else(|| vec![0u8; XDP_BUFFER]);
                Ok(Setup::Xdp {
                    buf,
                    ctx,
                    len: data.len(),
                })
            }
            T::SocketFilter | T::CgroupSkb | T::SchedCls | T::SchedAct => {
                if data.len() < ETH_HLEN {
                    return Err(bad(format!(
                        "an skb test run needs a frame of at least {ETH_HLEN} bytes, got {}",
                        data.len()
                    )));
                }
                if data.len() > 65535 {
                    return Err(bad(format!(
                        "frame of {} bytes is larger than 65535",
                        data.len()
                    )));
                }
                let l2 = matches!(prog_type, T::SchedCls | T::SchedAct);
                let mut ctx = words(skb::SIZE as usize);
                if let Some(c) = input.ctx {
                    if c.len() > skb::UAPI_SIZE as usize {
                        return Err(bad(format!(
                            "__sk_buff context is {} bytes, more than {}",
                            c.len(),
                            skb::UAPI_SIZE
                        )));
                    }
                    for (i, &b) in c.iter().enumerate() {
                        let i = i as u32;
                        if b != 0 && !SKB_CTX_IN.iter().any(|(o, s, _)| i >= *o && i < o + s) {
                            let field = ebpfvm_abi::ctx::SK_BUFF
                                .fields
                                .iter()
                                .find(|f| i >= f.offset && i < f.end())
                                .map_or("padding", |f| f.name);
                            return Err(bad(format!(
                                "__sk_buff context: field '{field}' (byte {i}) cannot be set in a test run"
                            )));
                        }
                    }
                    ctx_from_bytes(&mut ctx, c);
                }
                let frame = data.to_vec();
                let data_off = if l2 {
                    SKB_HEADROOM
                } else {
                    SKB_HEADROOM + ETH_HLEN
                };
                Ok(Setup::Skb {
                    buf: Vec::new(),
                    ctx,
                    data_off,
                    frame,
                    l2,
                })
            }
            T::Kprobe
            | T::Tracepoint
            | T::RawTracepoint
            | T::RawTracepointWritable
            | T::PerfEvent => {
                let c = input.ctx.unwrap_or(&[]);
                if !input.data.is_empty() {
                    return Err(bad(format!(
                        "{} programs take no data, only a context (--ctx)",
                        type_name(prog_type)
                    )));
                }
                let len = match prog_type {
                    T::Kprobe => {
                        if c.len() > PT_REGS_SIZE {
                            return Err(bad(format!(
                                "pt_regs context is {} bytes, more than {PT_REGS_SIZE}",
                                c.len()
                            )));
                        }
                        PT_REGS_SIZE
                    }
                    T::RawTracepoint | T::RawTracepointWritable => {
                        if c.len() > 12 * 8 || c.len() % 8 != 0 {
                            return Err(bad(format!(
                                "raw tracepoint context must be up to 12 u64 arguments, got {} bytes",
                                c.len()
                            )));
                        }
                        // Every argument the verifier lets the program read; missing ones
                        // are 0.
                        12 * 8
                    }
                    T::Tracepoint => {
                        if c.len() > TRACEPOINT_CTX_SIZE {
                            return Err(bad(format!(
                                "tracepoint context is {} bytes, more than {TRACEPOINT_CTX_SIZE}",
                                c.len()
                            )));
                        }
                        // The record, zero-padded to what the verifier lets programs read.
                        TRACEPOINT_CTX_SIZE
                    }
                    T::PerfEvent => {
                        // struct bpf_perf_event_data: pt_regs, sample_period, addr.
                        if c.len() > PT_REGS_SIZE + 16 {
                            return Err(bad(format!(
                                "perf_event context is {} bytes, more than {}",
                                c.len(),
                                PT_REGS_SIZE + 16
                            )));
                        }
                        PT_REGS_SIZE + 16
                    }
                    _ => c.len(),
                };
                let mut ctx = words(len.max(8));
                ctx_from_bytes(&mut ctx, c);
                Ok(Setup::Ctx { ctx, len })
            }
            T::Unspec => Ok(Setup::Memory { buf: data.to_vec() }),
            other => Err(RunError::NotRunnable {
                ptype: type_name(other),
            }),
        }
    }

    /// Resets packet memory before a run (repeated runs each start from `data_in`).
    fn reset(&mut self, input: &TestRun<'_>) {
        match self {
            Setup::Xdp { buf, ctx, len } => {
                buf.fill(0);
                buf[XDP_HEADROOM..XDP_HEADROOM + *len].copy_from_slice(input.data);
                let base = buf.as_mut_ptr() as u64;
                let data = base + XDP_HEADROOM as u64;
                put64(ctx, xdp::DATA, data);
                put64(ctx, xdp::DATA_META, data);
                put64(ctx, xdp::DATA_END, data + *len as u64);
                put64(ctx, xdp::HARD_START, base);
                put64(ctx, xdp::HARD_END, base + buf.len() as u64);
            }
            Setup::Skb {
                buf,
                ctx,
                data_off,
                frame,
                ..
            } => {
                // Room for the headroom, the frame and tailroom for store_bytes.
                *buf = vec![0u8; SKB_HEADROOM + frame.len() + 64];
                buf[SKB_HEADROOM..SKB_HEADROOM + frame.len()].copy_from_slice(frame);
                let base = buf.as_mut_ptr() as u64;
                let data = base + *data_off as u64;
                let end = base + (SKB_HEADROOM + frame.len()) as u64;
                let ethertype = u16::from_le_bytes([frame[12], frame[13]]) as u32;
                put32(ctx, skb::LEN, (end - data) as u32);
                put32(ctx, skb::PKT_TYPE, pkt_type(frame));
                put32(ctx, skb::PROTOCOL, ethertype);
                if get64(ctx, skb::INGRESS_IFINDEX & !7) == 0 {
                    put32(ctx, skb::INGRESS_IFINDEX, 1);
                    put32(ctx, skb::IFINDEX, 1);
                }
                if (get64(ctx, skb::WIRE_LEN & !7) & 0xffff_ffff) == 0 {
                    put32(ctx, skb::WIRE_LEN, frame.len() as u32);
                }
                put64(ctx, skb::DATA, data);
                put64(ctx, skb::DATA_META, data);
                put64(ctx, skb::DATA_END, end);
                put64(ctx, skb::HEAD, base);
                put64(ctx, skb::END, base + buf.len() as u64);
                put64(ctx, skb::MAC_HEADER, base + SKB_HEADROOM as u64);
            }
            Setup::Ctx { .. } => {}
            Setup::Memory { buf } => {
                buf.clear();
                buf.extend_from_slice(input.data);
            }
        }
    }
}

impl Loaded {
    /// Runs `prog` as `BPF_PROG_TEST_RUN` would.
    pub fn test_run(
        &self,
        prog: &LoadedProgram,
        input: &TestRun<'_>,
    ) -> Result<RunResult, RunError> {
        self.run_inner(prog, input, true)
    }

    /// A test run, timed or not (`duration` is zero when not).
    pub(crate) fn run_inner(
        &self,
        prog: &LoadedProgram,
        input: &TestRun<'_>,
        timed: bool,
    ) -> Result<RunResult, RunError> {
        let mut setup = Setup::new(prog.prog_type, input)?;
        // One VM (its 4 KiB stack) per thread, reused from run to run.
        let mut vm = VMS.with(|v| v.borrow_mut().pop()).unwrap_or_default();
        let repeat = input.repeat.max(1);
        let mut last = None;
        let start = timed.then(Instant::now);
        for _ in 0..repeat {
            setup.reset(input);
            last = Some(self.run_once(prog, &mut vm, &mut setup)?);
        }
        let elapsed = start.map_or(Duration::ZERO, |s| s.elapsed());
        let executed = vm.executed();
        VMS.with(|v| v.borrow_mut().push(vm));
        let (retval, redirect) = last.unwrap_or((0, None));
        let (data, ctx) = output(&setup)?;
        if let Setup::Xdp { buf, .. } = setup {
            XDP_BUFS.with(|b| b.borrow_mut().push(buf));
        }
        Ok(RunResult {
            retval,
            data,
            ctx,
            duration: elapsed / repeat,
            executed,
            redirect,
        })
    }

    fn run_once(
        &self,
        prog: &LoadedProgram,
        vm: &mut Vm,
        setup: &mut Setup,
    ) -> Result<(u64, Option<Redirect>), RunError> {
        let slot = self.slots.acquire();
        let guard = RunGuard::pin(slot.index());
        let mut regions: Vec<Region<'_>> = Vec::with_capacity(self.direct.len() + 3);
        for d in &self.direct {
            // SAFETY: `d` points into an array map this object holds for as long as it
            // lives (`self`), whose memory is atomic words shared with other runs and user
            // space by design.
            #[allow(unsafe_code, reason = "map memory the object owns")]
            regions.push(unsafe { Region::from_raw(d.ptr, d.len, d.writable) });
        }
        let (args, ctx_addr, kind, packet): ([u64; 2], u64, CtxKind, Option<(u64, usize)>) =
            match setup {
                Setup::Xdp { buf, ctx, .. } => {
                    let base = ctx.as_mut_ptr() as *mut u8;
                    let data_meta = get64(ctx, xdp::DATA_META);
                    let data_end = get64(ctx, xdp::DATA_END);
                    let off = (data_meta - buf.as_ptr() as u64) as usize;
                    #[allow(unsafe_code, reason = "buffers owned by this run")]
                    // SAFETY: `ctx` and `buf` are owned by `setup`, which is neither moved
                    // nor touched until the run ends; the ranges lie inside them.
                    unsafe {
                        regions.push(Region::from_raw(base, xdp::UAPI_SIZE as usize, false));
                        regions.push(Region::from_raw(
                            base.wrapping_add(xdp::UAPI_SIZE as usize),
                            (xdp::SIZE - xdp::UAPI_SIZE) as usize,
                            false,
                        ));
                        regions.push(Region::from_raw(
                            buf.as_mut_ptr().wrapping_add(off),
                            (data_end - data_meta) as usize,
                            true,
                        ));
                    }
                    ([base as u64, 0], base as u64, CtxKind::Xdp, None)
                }
                Setup::Skb { buf, ctx, .. } => {
                    let base = ctx.as_mut_ptr() as *mut u8;
                    let data = get64(ctx, skb::DATA);
                    let data_end = get64(ctx, skb::DATA_END);
                    let off = (data - buf.as_ptr() as u64) as usize;
                    #[allow(unsafe_code, reason = "buffers owned by this run")]
                    // SAFETY: as for XDP: `ctx` and `buf` belong to `setup` for the run.
                    unsafe {
                        regions.push(Region::from_raw(base, skb::UAPI_SIZE as usize, true));
                        regions.push(Region::from_raw(
                            base.wrapping_add(skb::UAPI_SIZE as usize),
                            (skb::SIZE - skb::UAPI_SIZE) as usize,
                            false,
                        ));
                        regions.push(Region::from_raw(
                            buf.as_mut_ptr().wrapping_add(off),
                            (data_end - data) as usize,
                            true,
                        ));
                    }
                    (
                        [base as u64, 0],
                        base as u64,
                        CtxKind::Skb,
                        Some((data, (data_end - data) as usize)),
                    )
                }
                Setup::Ctx { ctx, len } => {
                    let base = ctx.as_mut_ptr() as *mut u8;
                    #[allow(unsafe_code, reason = "buffers owned by this run")]
                    // SAFETY: `ctx` belongs to `setup` for the run.
                    unsafe {
                        regions.push(Region::from_raw(base, *len, false));
                    }
                    ([base as u64, 0], base as u64, CtxKind::Other, None)
                }
                Setup::Memory { buf } => {
                    let base = buf.as_mut_ptr();
                    let len = buf.len();
                    #[allow(unsafe_code, reason = "buffers owned by this run")]
                    // SAFETY: `buf` belongs to `setup` for the run.
                    unsafe {
                        regions.push(Region::from_raw(base, len, true));
                    }
                    ([base as u64, len as u64], base as u64, CtxKind::Other, None)
                }
            };
        vm.set_packet(packet);
        let mut env = RunEnv::new(RunConfig {
            prog_type: prog.prog_type,
            maps: &self.table,
            guard: &guard,
            trace: &self.trace,
            ctx_addr,
            ctx_kind: kind,
        });
        let result = vm.run(&prog.exec, &args, &regions, &mut env);
        env.finish();
        let redirect = env.redirect().cloned();
        drop(env);
        drop(regions);
        drop(guard);
        drop(slot);
        match result {
            Ok(r0) => Ok((r0, redirect)),
            Err(fault) => Err(RunError::Fault {
                prog: prog.name.clone(),
                fault,
            }),
        }
    }
}

/// `data_out` and `ctx_out` after a run.
fn output(setup: &Setup) -> Result<(Vec<u8>, Option<Vec<u8>>), RunError> {
    match setup {
        Setup::Xdp { buf, ctx, .. } => {
            let base = buf.as_ptr() as u64;
            let data = get64(ctx, xdp::DATA);
            let end = get64(ctx, xdp::DATA_END);
            let (Some(a), Some(b)) = (data.checked_sub(base), end.checked_sub(base)) else {
                return Err(bad("packet pointers left the buffer"));
            };
            let frame = buf
                .get(a as usize..b as usize)
                .ok_or_else(|| bad("packet pointers left the buffer"))?;
            Ok((frame.to_vec(), None))
        }
        Setup::Skb { buf, ctx, l2, .. } => {
            let base = buf.as_ptr() as u64;
            let data = get64(ctx, skb::DATA);
            let end = get64(ctx, skb::DATA_END);
            let (Some(a), Some(b)) = (data.checked_sub(base), end.checked_sub(base)) else {
                return Err(bad("packet pointers left the buffer"));
            };
            let pkt = buf
                .get(a as usize..b as usize)
                .ok_or_else(|| bad("packet pointers left the buffer"))?;
            let mut out = Vec::with_capacity(pkt.len() + ETH_HLEN);
            if !l2 {
                // Linux pushes the Ethernet header back zero-filled.
                out.resize(ETH_HLEN, 0);
            }
            out.extend_from_slice(pkt);
            let mut uapi = ctx_bytes(ctx, skb::UAPI_SIZE as usize);
            for p in ebpfvm_abi::kctx::SK_BUFF.pointers {
                uapi[p.uapi_off as usize..p.uapi_off as usize + 4].fill(0);
            }
            Ok((out, Some(uapi)))
        }
        Setup::Ctx { ctx, len } => Ok((Vec::new(), Some(ctx_bytes(ctx, *len)))),
        Setup::Memory { buf } => Ok((buf.clone(), None)),
    }
}
