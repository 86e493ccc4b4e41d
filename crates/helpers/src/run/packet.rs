//! Packet helpers: XDP head/tail/metadata adjustment, skb loads and stores, checksums and
//! redirects.
//!
//! The packet pointers live in the runtime context structures ([`ebpfvm_abi::kctx`]), in
//! memory the program may only read; the helpers read those slots through the engine
//! (`ExecEnv::read`) and update them with `ExecEnv::write_runtime`. Because the program
//! cannot write them, the bounds the helpers read there are the runtime's or a helper's. The packet region
//! the program may access is one writable region from `data_meta` to `data_end`, granted by
//! the runtime at the start of the run; a helper that moves either end revokes the region
//! at the old `data_meta` and grants the new one.
//!
//! XDP bounds (Linux's `bpf_xdp_adjust_head`, `_tail` and `_meta`; the metadata rules are
//! those of the uapi description and `xdp_metalen_invalid`):
//! - `data` may move down to `hard_start + `[`XDP_FRAME_SIZE`]` + metadata length` (Linux
//!   keeps room for the `struct xdp_frame` it may build in the headroom; the metadata moves
//!   with `data`) and up to `data_end - `[`ETH_HLEN`];
//! - `data_end` may move up to `hard_end` (Linux: the frame size minus the tailroom it
//!   reserves; the runtime's `HARD_END` is that limit) and down to `data + ETH_HLEN`; bytes
//!   it grows by are zeroed;
//! - `data_meta` may move between `hard_start + XDP_FRAME_SIZE` and `data`; a metadata
//!   length that is not a multiple of 4 or exceeds [`XDP_META_MAX`] is `-EACCES`, the other
//!   failures `-EINVAL`.

use ebpfvm_abi::kctx::{skb, xdp};
use ebpfvm_abi::{ExecEnv, MapType, ProgramType, Trap};

use super::{read_u64, read_vec, CtxKind, Redirect, RunEnv};
use crate::errno::{neg, EACCES, EFAULT, EINVAL};
use crate::{csum, ids};

/// `ETH_HLEN`: the Ethernet header every XDP packet keeps.
pub const ETH_HLEN: u64 = 14;
/// `sizeof(struct xdp_frame)` on 64-bit Linux: headroom the XDP helpers keep free at the
/// start of the buffer.
pub const XDP_FRAME_SIZE: u64 = 40;
/// The largest XDP metadata area, in bytes.
pub const XDP_META_MAX: u64 = 32;

/// `XDP_ABORTED`.
pub const XDP_ABORTED: u64 = 0;
/// `XDP_REDIRECT`.
pub const XDP_REDIRECT: u64 = 4;
/// `TC_ACT_SHOT`.
pub const TC_ACT_SHOT: u64 = 2;
/// `TC_ACT_REDIRECT`.
pub const TC_ACT_REDIRECT: u64 = 7;

/// `bpf_redirect` flag (tc): to the device's ingress.
pub const BPF_F_INGRESS: u64 = 1;
/// `bpf_redirect_map` flag: to every device of the map.
pub const BPF_F_BROADCAST: u64 = 1 << 3;
/// `bpf_redirect_map` flag: with `BPF_F_BROADCAST`, not to the ingress device.
pub const BPF_F_EXCLUDE_INGRESS: u64 = 1 << 4;
/// `bpf_redirect_map`: the low flag bits are the action returned when the key is absent.
const XDP_ACTION_MASK: u64 = 3;

/// `bpf_skb_store_bytes` flag: update `skb->csum` (no checksum state here: accepted).
pub const BPF_F_RECOMPUTE_CSUM: u64 = 1;
/// `bpf_skb_store_bytes` flag: clear the packet hash.
pub const BPF_F_INVALIDATE_HASH: u64 = 1 << 1;

/// `bpf_l3/l4_csum_replace` flags: the field size (0, 2 or 4) in the low bits.
pub const BPF_F_HDR_FIELD_MASK: u64 = 0xf;
/// `bpf_l4_csum_replace` flag: the field is part of the pseudo header.
pub const BPF_F_PSEUDO_HDR: u64 = 1 << 4;
/// `bpf_l4_csum_replace` flag: a zero checksum stays zero and a result of zero becomes
/// `0xffff` (UDP).
pub const BPF_F_MARK_MANGLED_0: u64 = 1 << 5;
/// `bpf_l4_csum_replace` flag: with `BPF_F_MARK_MANGLED_0`, update a zero checksum too.
pub const BPF_F_MARK_ENFORCE: u64 = 1 << 6;
/// `bpf_l4_csum_replace` flag (Linux 6.16): the pseudo header is IPv6 (no effect here).
pub const BPF_F_IPV6: u64 = 1 << 7;

/// The pointer slots of the runtime `xdp_buff`.
#[derive(Clone, Copy, Debug)]
struct XdpPtrs {
    data: u64,
    data_end: u64,
    meta: u64,
    hard_start: u64,
    hard_end: u64,
}

/// Writes a pointer slot of the runtime context (memory the program may only read).
fn write_ctx_u64(env: &mut dyn ExecEnv, addr: u64, v: u64) -> Result<(), Trap> {
    env.write_runtime(addr, &v.to_ne_bytes())
}

impl RunEnv<'_> {
    fn xdp_ptrs(&self, env: &mut dyn ExecEnv, id: i64) -> Result<XdpPtrs, Trap> {
        let ctx = self.cfg.ctx_addr;
        let slot = |env: &mut dyn ExecEnv, off: u32| read_u64(env, ctx + u64::from(off));
        let p = XdpPtrs {
            data: slot(env, xdp::DATA)?,
            data_end: slot(env, xdp::DATA_END)?,
            meta: slot(env, xdp::DATA_META)?,
            hard_start: slot(env, xdp::HARD_START)?,
            hard_end: slot(env, xdp::HARD_END)?,
        };
        let ordered = p.hard_start <= p.meta
            && p.meta <= p.data
            && p.data <= p.data_end
            && p.data_end <= p.hard_end;
        if !ordered {
            return Err(Trap::BadHelperArg {
                id,
                arg: 1,
                expected: "an xdp context with ordered packet pointers",
            });
        }
        Ok(p)
    }

    /// The packet's `data` and `data_end` from the run's context (XDP or skb).
    pub(super) fn packet_bounds(&self, env: &mut dyn ExecEnv, id: i64) -> Result<(u64, u64), Trap> {
        let ctx = self.cfg.ctx_addr;
        let (d, e) = match self.cfg.ctx_kind {
            CtxKind::Xdp => (xdp::DATA, xdp::DATA_END),
            _ => (skb::DATA, skb::DATA_END),
        };
        let data = read_u64(env, ctx + u64::from(d))?;
        let data_end = read_u64(env, ctx + u64::from(e))?;
        if data > data_end {
            return Err(Trap::BadHelperArg {
                id,
                arg: 1,
                expected: "a context with ordered packet pointers",
            });
        }
        Ok((data, data_end))
    }

    /// Moves the program's packet region from `[old_meta, ..)` to `[meta, end)`.
    ///
    /// Only for bounds checked to lie within `[hard_start, hard_end)` of the run's packet.
    #[allow(
        unsafe_code,
        reason = "granting the packet to the program is ExecEnv's unsafe contract"
    )]
    fn regrant_packet(&mut self, env: &mut dyn ExecEnv, old_meta: u64, meta: u64, end: u64) {
        env.revoke(old_meta);
        // SAFETY: the packet buffer `[HARD_START, HARD_END)` is one allocation the runtime
        // owns for the whole run and shares with no other thread, and the caller checked
        // that `[meta, end)` lies within it.
        unsafe { env.grant(meta, (end - meta) as usize, true) };
    }

    /// `bpf_xdp_adjust_head(xdp_md, delta)`: moves `data` (and the metadata before it) by
    /// `delta` bytes. 0 or `-EINVAL`.
    pub(super) fn xdp_adjust_head(
        &mut self,
        env: &mut dyn ExecEnv,
        args: [u64; 5],
    ) -> Result<u64, Trap> {
        let id = ids::XDP_ADJUST_HEAD;
        self.check_ctx(id, args[0], CtxKind::Xdp)?;
        let p = self.xdp_ptrs(env, id)?;
        let delta = i128::from(args[1] as i32);
        let metalen = p.data - p.meta;
        let new_data = i128::from(p.data) + delta;
        let lowest = i128::from(p.hard_start) + i128::from(XDP_FRAME_SIZE + metalen);
        let highest = i128::from(p.data_end) - i128::from(ETH_HLEN);
        if new_data < lowest || new_data > highest {
            return Ok(neg(EINVAL));
        }
        let new_data = new_data as u64;
        let new_meta = new_data - metalen;
        let meta = read_vec(env, p.meta, metalen as usize)?;
        self.regrant_packet(env, p.meta, new_meta, p.data_end);
        if !meta.is_empty() {
            env.write(new_meta, &meta)?;
        }
        let ctx = self.cfg.ctx_addr;
        write_ctx_u64(env, ctx + u64::from(xdp::DATA), new_data)?;
        write_ctx_u64(env, ctx + u64::from(xdp::DATA_META), new_meta)?;
        Ok(0)
    }

    /// `bpf_xdp_adjust_tail(xdp_md, delta)`: moves `data_end` by `delta` bytes (grown
    /// bytes are zeroed). 0 or `-EINVAL`.
    pub(super) fn xdp_adjust_tail(
        &mut self,
        env: &mut dyn ExecEnv,
        args: [u64; 5],
    ) -> Result<u64, Trap> {
        let id = ids::XDP_ADJUST_TAIL;
        self.check_ctx(id, args[0], CtxKind::Xdp)?;
        let p = self.xdp_ptrs(env, id)?;
        let delta = i128::from(args[1] as i32);
        let new_end = i128::from(p.data_end) + delta;
        if new_end > i128::from(p.hard_end) || new_end < i128::from(p.data) + i128::from(ETH_HLEN) {
            return Ok(neg(EINVAL));
        }
        let new_end = new_end as u64;
        self.regrant_packet(env, p.meta, p.meta, new_end);
        if new_end > p.data_end {
            env.write(p.data_end, &vec![0u8; (new_end - p.data_end) as usize])?;
        }
        write_ctx_u64(env, self.cfg.ctx_addr + u64::from(xdp::DATA_END), new_end)?;
        Ok(0)
    }

    /// `bpf_xdp_adjust_meta(xdp_md, delta)`: moves `data_meta` by `delta` bytes. 0,
    /// `-EINVAL` (out of the buffer or past `data`) or `-EACCES` (bad metadata length).
    pub(super) fn xdp_adjust_meta(
        &mut self,
        env: &mut dyn ExecEnv,
        args: [u64; 5],
    ) -> Result<u64, Trap> {
        let id = ids::XDP_ADJUST_META;
        self.check_ctx(id, args[0], CtxKind::Xdp)?;
        let p = self.xdp_ptrs(env, id)?;
        let delta = i128::from(args[1] as i32);
        let new_meta = i128::from(p.meta) + delta;
        if new_meta < i128::from(p.hard_start) + i128::from(XDP_FRAME_SIZE)
            || new_meta > i128::from(p.data)
        {
            return Ok(neg(EINVAL));
        }
        let new_meta = new_meta as u64;
        let metalen = p.data - new_meta;
        if metalen % 4 != 0 || metalen > XDP_META_MAX {
            return Ok(neg(EACCES));
        }
        self.regrant_packet(env, p.meta, new_meta, p.data_end);
        write_ctx_u64(env, self.cfg.ctx_addr + u64::from(xdp::DATA_META), new_meta)?;
        Ok(0)
    }

    /// `bpf_skb_load_bytes(skb, offset, to, len)`: copies `len` packet bytes from `data +
    /// offset`. 0, or `-EFAULT` (past the packet) with `to` zeroed.
    pub(super) fn skb_load_bytes(
        &mut self,
        env: &mut dyn ExecEnv,
        args: [u64; 5],
    ) -> Result<u64, Trap> {
        let id = ids::SKB_LOAD_BYTES;
        self.check_ctx(id, args[0], CtxKind::Skb)?;
        let (offset, to, len) = (u64::from(args[1] as u32), args[2], args[3] as u32 as usize);
        env.check(to, len, true)?;
        let (data, data_end) = self.packet_bounds(env, id)?;
        if offset > i32::MAX as u64 || offset + len as u64 > data_end - data {
            env.write(to, &vec![0u8; len])?;
            return Ok(neg(EFAULT));
        }
        let bytes = read_vec(env, data + offset, len)?;
        env.write(to, &bytes)?;
        Ok(0)
    }

    /// `bpf_skb_store_bytes(skb, offset, from, len, flags)`: copies `len` bytes to the
    /// packet at `data + offset`. 0, `-EINVAL` (flags other than `BPF_F_RECOMPUTE_CSUM` and
    /// `BPF_F_INVALIDATE_HASH`) or `-EFAULT` (past the packet).
    pub(super) fn skb_store_bytes(
        &mut self,
        env: &mut dyn ExecEnv,
        args: [u64; 5],
    ) -> Result<u64, Trap> {
        let id = ids::SKB_STORE_BYTES;
        self.check_ctx(id, args[0], CtxKind::Skb)?;
        let (offset, len, flags) = (u64::from(args[1] as u32), args[3] as u32 as usize, args[4]);
        if flags & !(BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH) != 0 {
            return Ok(neg(EINVAL));
        }
        if offset > i32::MAX as u64 {
            return Ok(neg(EFAULT));
        }
        let bytes = read_vec(env, args[2], len)?;
        let (data, data_end) = self.packet_bounds(env, id)?;
        if offset + len as u64 > data_end - data {
            return Ok(neg(EFAULT));
        }
        env.write(data + offset, &bytes)?;
        if flags & BPF_F_INVALIDATE_HASH != 0 {
            env.write(
                self.cfg.ctx_addr + u64::from(skb::HASH),
                &0u32.to_ne_bytes(),
            )?;
        }
        Ok(0)
    }

    /// `bpf_l3_csum_replace` / `bpf_l4_csum_replace(skb, offset, from, to, flags)`:
    /// updates the 16-bit checksum at `data + offset` (even, at most `0xffff`) for a field
    /// that changed from `from` to `to` (size 2 or 4 in the flags' low bits), or by the
    /// difference `to` (size 0, `from` must be 0). L4 also takes `BPF_F_PSEUDO_HDR`
    /// (no effect: there is no partial-checksum offload here), `BPF_F_MARK_MANGLED_0`,
    /// `BPF_F_MARK_ENFORCE` and `BPF_F_IPV6`. 0, `-EINVAL` or `-EFAULT`.
    pub(super) fn csum_replace(
        &mut self,
        env: &mut dyn ExecEnv,
        args: [u64; 5],
        id: i64,
        l4: bool,
    ) -> Result<u64, Trap> {
        self.check_ctx(id, args[0], CtxKind::Skb)?;
        let (offset, from, to, flags) = (u64::from(args[1] as u32), args[2], args[3], args[4]);
        let allowed = if l4 {
            BPF_F_HDR_FIELD_MASK
                | BPF_F_PSEUDO_HDR
                | BPF_F_MARK_MANGLED_0
                | BPF_F_MARK_ENFORCE
                | BPF_F_IPV6
        } else {
            BPF_F_HDR_FIELD_MASK
        };
        if flags & !allowed != 0 {
            return Ok(neg(EINVAL));
        }
        if offset > 0xffff || offset & 1 != 0 {
            return Ok(neg(EFAULT));
        }
        let (data, data_end) = self.packet_bounds(env, id)?;
        if offset + 2 > data_end - data {
            return Ok(neg(EFAULT));
        }
        let mut field = [0u8; 2];
        env.read(data + offset, &mut field)?;
        let check = u16::from_ne_bytes(field);
        let mangled_0 = l4 && flags & BPF_F_MARK_MANGLED_0 != 0;
        if mangled_0 && flags & BPF_F_MARK_ENFORCE == 0 && check == 0 {
            return Ok(0);
        }
        let mut new = match flags & BPF_F_HDR_FIELD_MASK {
            0 if from == 0 => csum::replace_by_diff(check, to as u32),
            2 => csum::replace2(check, from as u16, to as u16),
            4 => csum::replace4(check, from as u32, to as u32),
            _ => return Ok(neg(EINVAL)),
        };
        if mangled_0 && new == 0 {
            new = 0xffff;
        }
        env.write(data + offset, &new.to_ne_bytes())?;
        Ok(0)
    }

    /// `bpf_csum_diff(from, from_size, to, to_size, seed)`: the unfolded 32-bit
    /// one's-complement sum of `seed`, the complemented words of `from` and the words of
    /// `to` (see [`crate::csum::diff`]). `-EINVAL` unless both sizes are multiples of 4
    /// and together at most 512.
    pub(super) fn csum_diff(&mut self, env: &mut dyn ExecEnv, args: [u64; 5]) -> Result<u64, Trap> {
        let (from_size, to_size) = (args[1] as u32 as usize, args[3] as u32 as usize);
        if (from_size | to_size) % 4 != 0 || from_size + to_size > 512 {
            return Ok(neg(EINVAL));
        }
        let from = read_vec(env, args[0], from_size)?;
        let to = read_vec(env, args[2], to_size)?;
        Ok(u64::from(csum::diff(&from, &to, args[4] as u32)))
    }

    /// `bpf_redirect(ifindex, flags)`: records [`Redirect::Ifindex`] and returns
    /// `XDP_REDIRECT` for XDP (`XDP_ABORTED`, nothing recorded, if flags are not 0) or
    /// `TC_ACT_REDIRECT` for tc (`TC_ACT_SHOT` for flags other than `BPF_F_INGRESS`).
    pub(super) fn redirect_ifindex(&mut self, args: [u64; 5]) -> u64 {
        let (ifindex, flags) = (args[0] as u32, args[1]);
        let (ok, redirect, refused) = if self.cfg.prog_type == ProgramType::Xdp {
            (flags == 0, XDP_REDIRECT, XDP_ABORTED)
        } else {
            (flags & !BPF_F_INGRESS == 0, TC_ACT_REDIRECT, TC_ACT_SHOT)
        };
        if !ok {
            return refused;
        }
        self.redirect = Some(Redirect::Ifindex { ifindex, flags });
        redirect
    }

    /// `bpf_redirect_map(map, key, flags)`: if the device, CPU or socket map has `key`
    /// (or with `BPF_F_BROADCAST` on a device map), records [`Redirect::Map`] and returns
    /// `XDP_REDIRECT`; otherwise returns the low two bits of `flags` (the fallback action)
    /// and clears the recorded redirect. Unknown flags: `XDP_ABORTED`.
    pub(super) fn redirect_map(&mut self, args: [u64; 5]) -> Result<u64, Trap> {
        let id = ids::REDIRECT_MAP;
        let map = self.map(id, 1, args[0])?;
        let flag_mask = match map.map_type() {
            MapType::Devmap | MapType::DevmapHash => BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS,
            MapType::Cpumap | MapType::Xskmap => 0,
            _ => {
                return Err(Trap::BadHelperArg {
                    id,
                    arg: 1,
                    expected: "a device, cpu or xsk map",
                })
            }
        };
        let (key, flags) = (args[1] as u32, args[2]);
        if flags & !(XDP_ACTION_MASK | flag_mask) != 0 {
            return Ok(XDP_ABORTED);
        }
        let found = map.redirect_target(key, self.cfg.guard).is_some();
        if !found && flags & BPF_F_BROADCAST == 0 {
            self.redirect = None;
            return Ok(flags & XDP_ACTION_MASK);
        }
        self.redirect = Some(Redirect::Map {
            map_id: map.id(),
            key,
            flags,
        });
        Ok(XDP_REDIRECT)
    }
}
