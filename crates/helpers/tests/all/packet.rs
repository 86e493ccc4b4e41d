//! XDP adjustment, skb loads and stores, redirects.

use ebpfvm_abi::kctx::{skb, xdp};
use ebpfvm_abi::{ExecEnv, MapType, ProgramType, Trap};
use ebpfvm_helpers::run::BPF_F_INGRESS;
use ebpfvm_helpers::{CtxKind, Redirect};

use crate::*;

/// `sizeof(struct xdp_frame)` on 64-bit Linux, the headroom the XDP helpers keep free.
const XDP_FRAME_SIZE: u64 = 40;

/// A runtime `xdp_buff` in the arena: headroom, the packet, 64 bytes of tailroom.
pub struct Xdp {
    pub ctx: u64,
    pub hard_start: u64,
    pub data: u64,
    pub data_end: u64,
    pub hard_end: u64,
}

impl Xdp {
    pub fn new(env: &mut TestEnv, headroom: u64, packet: &[u8]) -> Xdp {
        let total = headroom as usize + packet.len() + 64;
        let hard_start = env.reserve(total);
        env.poke(hard_start, &vec![0xaa; total]);
        let data = hard_start + headroom;
        env.poke(data, packet);
        let data_end = data + packet.len() as u64;
        let hard_end = hard_start + total as u64;
        // Read-only to the program, as the runtime gives it: helpers move the pointers with
        // `write_runtime`.
        let ctx = env.alloc(xdp::SIZE as usize, false);
        env.poke(ctx, &[0; 64]);
        let x = Xdp {
            ctx,
            hard_start,
            data,
            data_end,
            hard_end,
        };
        x.set(env, xdp::DATA, data);
        x.set(env, xdp::DATA_END, data_end);
        x.set(env, xdp::DATA_META, data);
        x.set(env, xdp::HARD_START, hard_start);
        x.set(env, xdp::HARD_END, hard_end);
        // What the runtime grants at the start of the run.
        env.grant_region(data, packet.len(), true);
        x
    }

    pub fn set(&self, env: &mut TestEnv, off: u32, v: u64) {
        env.poke(self.ctx + u64::from(off), &v.to_ne_bytes());
    }

    pub fn slot(&self, env: &TestEnv, off: u32) -> u64 {
        env.peek_u64(self.ctx + u64::from(off))
    }
}

fn xdp_run<'f>(fx: &'f Fixture, x: &Xdp) -> ebpfvm_helpers::RunEnv<'f> {
    fx.run(ProgramType::Xdp, x.ctx, CtxKind::Xdp)
}

fn adjust(name: &str, headroom: u64, len: usize, delta: i32) -> (u64, TestEnv, Xdp) {
    let fx = Fixture::new();
    let mut env = TestEnv::new();
    let x = Xdp::new(&mut env, headroom, &vec![7; len]);
    let mut h = xdp_run(&fx, &x);
    let r = ok(&mut h, &mut env, name, &[x.ctx, delta as u32 as u64]);
    (r, env, x)
}

#[test]
fn adjust_head_moves_data_and_the_packet_region() {
    let (r, mut env, x) = adjust("xdp_adjust_head", 256, 64, -20);
    assert_eq!(r, 0);
    let data = x.data - 20;
    assert_eq!(x.slot(&env, xdp::DATA), data);
    assert_eq!(x.slot(&env, xdp::DATA_META), data);
    assert_eq!(x.slot(&env, xdp::DATA_END), x.data_end);
    assert_eq!(env.revokes, [x.data]);
    assert_eq!(env.grants, [(data, 84, true)]);
    env.write(data, &[1; 84]).unwrap();
    assert!(env.get(data - 1, 1).is_err());

    let (r, env, x) = adjust("xdp_adjust_head", 256, 64, 30);
    assert_eq!(r, 0);
    assert_eq!(x.slot(&env, xdp::DATA), x.data + 30);
    assert_eq!(env.grants, [(x.data + 30, 34, true)]);
}

#[test]
fn adjust_head_bounds() {
    // Down to hard_start + sizeof(struct xdp_frame).
    let room = 256 - XDP_FRAME_SIZE as i32;
    assert_eq!(adjust("xdp_adjust_head", 256, 64, -room).0, 0);
    assert_eq!(adjust("xdp_adjust_head", 256, 64, -room - 1).0, neg(EINVAL));
    // Up to data_end - ETH_HLEN.
    assert_eq!(adjust("xdp_adjust_head", 256, 64, 50).0, 0);
    let (r, env, x) = adjust("xdp_adjust_head", 256, 64, 51);
    assert_eq!(r, neg(EINVAL));
    assert_eq!(x.slot(&env, xdp::DATA), x.data, "unchanged");
    assert!(env.grants.is_empty());
}

#[test]
fn adjust_head_moves_the_metadata_along() {
    let fx = Fixture::new();
    let mut env = TestEnv::new();
    let x = Xdp::new(&mut env, 256, &[7; 64]);
    let mut h = xdp_run(&fx, &x);
    assert_eq!(
        ok(
            &mut h,
            &mut env,
            "xdp_adjust_meta",
            &[x.ctx, (-8i32) as u32 as u64]
        ),
        0
    );
    let meta = x.data - 8;
    env.write(meta, b"METADATA").unwrap();
    assert_eq!(
        ok(
            &mut h,
            &mut env,
            "xdp_adjust_head",
            &[x.ctx, (-16i32) as u32 as u64]
        ),
        0
    );
    assert_eq!(x.slot(&env, xdp::DATA), x.data - 16);
    assert_eq!(x.slot(&env, xdp::DATA_META), meta - 16);
    assert_eq!(env.get(meta - 16, 8).unwrap(), b"METADATA");
    // With 8 bytes of metadata the lowest data is 8 bytes higher.
    let lowest = x.hard_start + XDP_FRAME_SIZE + 8;
    let delta = lowest as i64 - (x.data - 16) as i64;
    assert_eq!(
        ok(
            &mut h,
            &mut env,
            "xdp_adjust_head",
            &[x.ctx, (delta - 1) as i32 as u32 as u64]
        ),
        neg(EINVAL)
    );
    assert_eq!(
        ok(
            &mut h,
            &mut env,
            "xdp_adjust_head",
            &[x.ctx, delta as i32 as u32 as u64]
        ),
        0
    );
    assert_eq!(x.slot(&env, xdp::DATA), lowest);
}

#[test]
fn adjust_tail_bounds_and_zeroing() {
    let (r, env, x) = adjust("xdp_adjust_tail", 256, 64, -50);
    assert_eq!(r, 0);
    assert_eq!(x.slot(&env, xdp::DATA_END), x.data + 14);
    assert_eq!(env.grants, [(x.data, 14, true)]);
    assert_eq!(
        adjust("xdp_adjust_tail", 256, 64, -51).0,
        neg(EINVAL),
        "below data + ETH_HLEN"
    );
    let (r, env, x) = adjust("xdp_adjust_tail", 256, 64, 64);
    assert_eq!(r, 0, "up to hard_end");
    assert_eq!(x.slot(&env, xdp::DATA_END), x.hard_end);
    assert_eq!(env.peek(x.data_end, 64), [0; 64], "grown bytes are zeroed");
    assert_eq!(env.peek(x.data, 1), [7]);
    assert_eq!(adjust("xdp_adjust_tail", 256, 64, 65).0, neg(EINVAL));
}

#[test]
fn adjust_meta_rules() {
    assert_eq!(adjust("xdp_adjust_meta", 256, 64, -4).0, 0);
    assert_eq!(adjust("xdp_adjust_meta", 256, 64, -32).0, 0);
    assert_eq!(
        adjust("xdp_adjust_meta", 256, 64, -36).0,
        neg(EACCES),
        "more than 32 bytes"
    );
    assert_eq!(
        adjust("xdp_adjust_meta", 256, 64, -6).0,
        neg(EACCES),
        "not a multiple of 4"
    );
    assert_eq!(
        adjust("xdp_adjust_meta", 256, 64, 4).0,
        neg(EINVAL),
        "past data"
    );
    // Not into the reserved xdp_frame area.
    assert_eq!(adjust("xdp_adjust_meta", XDP_FRAME_SIZE + 8, 64, -8).0, 0);
    assert_eq!(
        adjust("xdp_adjust_meta", XDP_FRAME_SIZE + 8, 64, -12).0,
        neg(EINVAL)
    );
    let (r, mut env, x) = adjust("xdp_adjust_meta", 256, 64, -16);
    assert_eq!(r, 0);
    assert_eq!(x.slot(&env, xdp::DATA_META), x.data - 16);
    assert_eq!(x.slot(&env, xdp::DATA), x.data);
    assert_eq!(env.grants, [(x.data - 16, 80, true)]);
    env.write(x.data - 16, &[0; 16]).unwrap();
}

#[test]
fn xdp_helpers_check_their_context() {
    let fx = Fixture::new();
    let mut env = TestEnv::new();
    let x = Xdp::new(&mut env, 256, &[0; 64]);
    let mut h = xdp_run(&fx, &x);
    assert!(matches!(
        call(&mut h, &mut env, "xdp_adjust_head", &[x.ctx + 8, 0]),
        Err(Trap::BadHelperArg { arg: 1, .. })
    ));
    // Inconsistent slots are refused rather than trusted.
    x.set(&mut env, xdp::DATA_END, x.hard_end + 100);
    assert!(matches!(
        call(&mut h, &mut env, "xdp_adjust_tail", &[x.ctx, 0]),
        Err(Trap::BadHelperArg { .. })
    ));
}

/// A runtime `sk_buff` in the arena over `packet`.
pub struct Skb {
    pub ctx: u64,
    pub data: u64,
}

impl Skb {
    pub fn new(env: &mut TestEnv, packet: &[u8]) -> Skb {
        let ctx = env.alloc(skb::SIZE as usize, true);
        env.poke(ctx, &[0; 256]);
        let data = env.reserve(packet.len() + 16);
        env.poke(data, packet);
        env.poke(data + packet.len() as u64, &[0xbb; 16]);
        env.poke(ctx + u64::from(skb::DATA), &data.to_ne_bytes());
        env.poke(
            ctx + u64::from(skb::DATA_END),
            &(data + packet.len() as u64).to_ne_bytes(),
        );
        env.poke(ctx + u64::from(skb::DATA_META), &data.to_ne_bytes());
        env.poke(ctx + u64::from(skb::HASH), &0x1234_5678u32.to_ne_bytes());
        env.poke(
            ctx + u64::from(skb::LEN),
            &(packet.len() as u32).to_ne_bytes(),
        );
        env.grant_region(data, packet.len(), true);
        Skb { ctx, data }
    }
}

#[test]
fn skb_load_bytes_bounds() {
    let fx = Fixture::new();
    let mut env = TestEnv::new();
    let packet: Vec<u8> = (0..60).collect();
    let s = Skb::new(&mut env, &packet);
    let to = env.alloc(32, true);
    let mut h = fx.run(ProgramType::SocketFilter, s.ctx, CtxKind::Skb);
    assert_eq!(
        ok(&mut h, &mut env, "skb_load_bytes", &[s.ctx, 14, to, 20]),
        0
    );
    assert_eq!(env.peek(to, 20), packet[14..34]);
    assert_eq!(
        ok(&mut h, &mut env, "skb_load_bytes", &[s.ctx, 40, to, 20]),
        0,
        "up to the end"
    );
    assert_eq!(env.peek(to, 20), packet[40..60]);
    env.poke(to, &[0xff; 32]);
    assert_eq!(
        ok(&mut h, &mut env, "skb_load_bytes", &[s.ctx, 41, to, 20]),
        neg(EFAULT)
    );
    assert_eq!(env.peek(to, 20), [0; 20], "zeroed on failure");
    assert_eq!(
        ok(
            &mut h,
            &mut env,
            "skb_load_bytes",
            &[s.ctx, 0x8000_0000, to, 1]
        ),
        neg(EFAULT)
    );
    assert_eq!(
        ok(
            &mut h,
            &mut env,
            "skb_load_bytes",
            &[s.ctx, (1 << 32) | 2, to, 1]
        ),
        0,
        "offset is a u32"
    );
    assert_eq!(env.peek(to, 1), [2]);
    assert!(matches!(
        call(&mut h, &mut env, "skb_load_bytes", &[to, 0, to, 1]),
        Err(Trap::BadHelperArg { .. })
    ));
}

#[test]
fn skb_store_bytes_flags_bounds_and_hash() {
    let fx = Fixture::new();
    let mut env = TestEnv::new();
    let s = Skb::new(&mut env, &[0; 40]);
    let from = env.put(b"WXYZ");
    let mut h = fx.run(ProgramType::SchedCls, s.ctx, CtxKind::Skb);
    assert_eq!(
        ok(
            &mut h,
            &mut env,
            "skb_store_bytes",
            &[s.ctx, 10, from, 4, 1]
        ),
        0
    );
    assert_eq!(env.peek(s.data + 10, 4), b"WXYZ");
    assert_eq!(
        env.peek(s.ctx + u64::from(skb::HASH), 4),
        0x1234_5678u32.to_ne_bytes()
    );
    assert_eq!(
        ok(
            &mut h,
            &mut env,
            "skb_store_bytes",
            &[s.ctx, 36, from, 4, 2]
        ),
        0
    );
    assert_eq!(
        env.peek(s.ctx + u64::from(skb::HASH), 4),
        [0; 4],
        "hash invalidated"
    );
    assert_eq!(
        ok(
            &mut h,
            &mut env,
            "skb_store_bytes",
            &[s.ctx, 37, from, 4, 0]
        ),
        neg(EFAULT)
    );
    assert_eq!(
        env.peek(s.data + 40, 4),
        [0xbb; 4],
        "nothing written past the end"
    );
    assert_eq!(
        ok(&mut h, &mut env, "skb_store_bytes", &[s.ctx, 0, from, 4, 4]),
        neg(EINVAL)
    );
}

#[test]
fn redirect_for_xdp_and_tc() {
    let fx = Fixture::new();
    let mut env = TestEnv::new();
    let mut h = fx.run(ProgramType::Xdp, 0, CtxKind::Other);
    assert!(h.redirect().is_none());
    assert_eq!(ok(&mut h, &mut env, "redirect", &[5, 0]), 4, "XDP_REDIRECT");
    assert_eq!(
        h.redirect(),
        Some(&Redirect::Ifindex {
            ifindex: 5,
            flags: 0
        })
    );
    assert_eq!(
        ok(&mut h, &mut env, "redirect", &[6, 1]),
        0,
        "XDP_ABORTED for any flag"
    );

    let mut h = fx.run(ProgramType::SchedCls, 0, CtxKind::Other);
    assert_eq!(
        ok(&mut h, &mut env, "redirect", &[9, BPF_F_INGRESS]),
        7,
        "TC_ACT_REDIRECT"
    );
    assert_eq!(
        h.redirect(),
        Some(&Redirect::Ifindex {
            ifindex: 9,
            flags: BPF_F_INGRESS
        })
    );
    assert_eq!(ok(&mut h, &mut env, "redirect", &[9, 2]), 2, "TC_ACT_SHOT");
}

#[test]
fn redirect_map_found_missing_and_flags() {
    let mut fx = Fixture::new();
    let (dm, map) = fx.map(def(MapType::Devmap, 4, 4, 8));
    map.update(&1u32.to_ne_bytes(), &7u32.to_ne_bytes(), 0)
        .unwrap();
    let (hash, _) = fx.map(def(MapType::Hash, 4, 4, 8));
    let mut env = TestEnv::new();
    let mut h = fx.run(ProgramType::Xdp, 0, CtxKind::Other);
    assert_eq!(ok(&mut h, &mut env, "redirect_map", &[dm, 1, 0]), 4);
    assert_eq!(
        h.redirect(),
        Some(&Redirect::Map {
            map_id: map.id(),
            key: 1,
            flags: 0
        })
    );
    assert_eq!(
        ok(&mut h, &mut env, "redirect_map", &[dm, 2, 2]),
        2,
        "missing: XDP_PASS from the flags"
    );
    assert!(h.redirect().is_none());
    assert_eq!(ok(&mut h, &mut env, "redirect_map", &[dm, 2, 0]), 0);
    assert_eq!(
        ok(&mut h, &mut env, "redirect_map", &[dm, 1, 1 << 6]),
        0,
        "unknown flag: XDP_ABORTED"
    );
    assert_eq!(
        ok(&mut h, &mut env, "redirect_map", &[dm, 2, 1 << 3]),
        4,
        "broadcast needs no key"
    );
    assert!(matches!(
        call(&mut h, &mut env, "redirect_map", &[hash, 1, 0]),
        Err(Trap::BadHelperArg { .. })
    ));

    // Device map values are read-only to programs.
    let key = env.put(&1u32.to_ne_bytes());
    let p = ok(&mut h, &mut env, "map_lookup_elem", &[dm, key]);
    assert_eq!(env.grants.last(), Some(&(p, 4, false)));
    assert_eq!(env.get(p, 4).unwrap(), 7u32.to_ne_bytes());
}
