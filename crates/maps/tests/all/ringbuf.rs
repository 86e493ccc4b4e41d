use ebpfvm_abi::MapType;
use ebpfvm_maps::errno::*;
use ebpfvm_maps::flags::*;
use ebpfvm_maps::ringbuf::{discard_sample, submit_sample};
use ebpfvm_maps::RingBuf;

use crate::*;

fn ring(size: u32) -> std::sync::Arc<dyn Map> {
    make(def(MapType::Ringbuf, 0, 0, size), 1)
}

fn drain(rb: &RingBuf) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    rb.consume(&mut |r| v.push(r.to_vec()));
    v
}

/// The header word before a record's data.
fn header(p: *mut u8) -> (u32, u32) {
    // SAFETY: every reservation is preceded by its 8-byte header inside the ring.
    let h = unsafe { p.sub(8).cast::<[u32; 2]>().read() };
    (h[0], h[1])
}

#[test]
fn ringbuf_creation_follows_linux_checks() {
    let d = |k, v, m| def(MapType::Ringbuf, k, v, m);
    assert_eq!(create_errno(d(0, 0, 4096)), 0);
    assert_eq!(create_errno(d(0, 0, 4096 * 4)), 0);
    assert_eq!(create_errno(d(0, 0, 4096 * 3)), EINVAL);
    assert_eq!(create_errno(d(0, 0, 2048)), EINVAL);
    assert_eq!(create_errno(d(4, 0, 4096)), EINVAL);
    assert_eq!(create_errno(d(0, 8, 4096)), EINVAL);
    assert_eq!(
        create_errno(d(0, 0, 4096).with_flags(BPF_F_RDONLY_PROG)),
        EINVAL
    );
    let m = ring(4096);
    assert_eq!(errno(m.lookup(&[], &mut [])), ENOTSUPP);
    assert_eq!(errno(m.update(&[], &[], 0)), ENOTSUPP);
}

#[test]
fn ringbuf_records_in_order_with_linux_headers() {
    let m = ring(4096);
    let rb = m.as_ringbuf().unwrap();
    let (data, size) = rb.data_area();
    assert_eq!(size, 4096);
    assert_eq!(rb.query(BPF_RB_RING_SIZE), 4096);
    let a = rb.reserve(5, 0).unwrap();
    assert_eq!(a as usize, data as usize + 8);
    assert_eq!(header(a), (5 | BPF_RINGBUF_BUSY_BIT, 0));
    let b = rb.reserve(16, 0).unwrap();
    // Records are 8-byte aligned: 8 + round_up(5, 8) after the first.
    assert_eq!(b as usize, a as usize + 16);
    assert_eq!(header(b), (16 | BPF_RINGBUF_BUSY_BIT, 2));
    assert_eq!(rb.query(BPF_RB_PROD_POS), 16 + 24);
    assert_eq!(rb.query(BPF_RB_AVAIL_DATA), 40);
    // SAFETY: b is a live reservation of 16 bytes.
    unsafe { std::ptr::copy_nonoverlapping([2u8; 16].as_ptr(), b, 16) };
    rb.submit(b, 0).unwrap();
    // The first record is still busy: nothing can be consumed yet.
    assert!(drain(rb).is_empty());
    // SAFETY: a is a live reservation of 5 bytes.
    unsafe { std::ptr::copy_nonoverlapping([1u8; 5].as_ptr(), a, 5) };
    rb.submit(a, 0).unwrap();
    assert_eq!(header(a), (5, 0));
    assert_eq!(drain(rb), vec![vec![1u8; 5], vec![2u8; 16]]);
    assert_eq!(rb.query(BPF_RB_CONS_POS), 40);
    assert_eq!(rb.query(BPF_RB_AVAIL_DATA), 0);
    // Discarded records are skipped.
    let c = rb.reserve(8, 0).unwrap();
    rb.discard(c, 0).unwrap();
    assert_eq!(header(c).0, 8 | BPF_RINGBUF_DISCARD_BIT);
    rb.output(b"hello", 0).unwrap();
    assert_eq!(drain(rb), vec![b"hello".to_vec()]);
    // Bad arguments.
    assert!(rb.reserve(8, 1).is_none());
    assert!(rb.reserve(4096, 0).is_none());
    assert_eq!(errno(rb.output(b"x", 4)), EINVAL);
    assert_eq!(errno(rb.submit(c, 0)), EINVAL);
    let mut local = [0u8; 16];
    assert_eq!(errno(rb.submit(local.as_mut_ptr(), 0)), EINVAL);
    assert_eq!(errno(submit_sample(local.as_mut_ptr(), 0)), EINVAL);
}

#[test]
fn ringbuf_full_and_wraparound() {
    let m = ring(4096);
    let rb = m.as_ringbuf().unwrap();
    // 1000-byte records take 1008 bytes: four fit (4032), a fifth does not.
    let recs: Vec<_> = (0..4).map(|_| rb.reserve(1000, 0).unwrap()).collect();
    assert!(rb.reserve(1000, 0).is_none());
    assert_eq!(errno(rb.output(&[0; 1000], 0)), EAGAIN);
    for (i, &p) in recs.iter().enumerate() {
        // SAFETY: live 1000-byte reservations.
        unsafe { std::ptr::write_bytes(p, i as u8, 1000) };
        submit_sample(p, 0).unwrap();
    }
    let got = drain(rb);
    assert_eq!(got.len(), 4);
    for (i, r) in got.iter().enumerate() {
        assert_eq!(r, &vec![i as u8; 1000]);
    }
    // The next record does not fit before the end (64 bytes left): it starts at offset 0,
    // after a discarded filler record.
    let p = rb.reserve(1000, 0).unwrap();
    assert_eq!(p as usize, rb.data_area().0 as usize + 8);
    assert_eq!(rb.query(BPF_RB_PROD_POS), 4096 + 1008);
    // SAFETY: live reservation.
    unsafe { std::ptr::write_bytes(p, 0xee, 1000) };
    rb.submit(p, 0).unwrap();
    let q = rb.reserve(3, 0).unwrap();
    discard_sample(q, 0).unwrap();
    rb.output(&[7, 7, 7], 0).unwrap();
    assert_eq!(drain(rb), vec![vec![0xee; 1000], vec![7, 7, 7]]);
    assert_eq!(rb.query(BPF_RB_AVAIL_DATA), 0);
    // Many laps of odd sizes keep every record intact.
    let mut n = 0u32;
    for lap in 0..200u32 {
        let len = (lap * 37 % 500) as usize + 1;
        let data: Vec<u8> = (0..len).map(|i| (i as u32 ^ lap) as u8).collect();
        rb.output(&data, 0).unwrap();
        let got = drain(rb);
        assert_eq!(got, vec![data]);
        n += 1;
    }
    assert_eq!(n, 200);
}
