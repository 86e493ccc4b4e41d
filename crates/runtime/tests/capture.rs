//! Tests of `ebpfvm_runtime::capture`: reading the repository's test capture, hand-built
//! pcap and pcapng files, round trips through the writer, bad input and a mutation fuzz loop.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ebpfvm_runtime::capture::{
    Capture, CaptureError, CaptureErrorKind, CaptureFormat, CaptureReader, CaptureWriter,
    LengthLimit, Packet, TsResolution, MAX_PACKET_LEN,
};

const MIXED_FRAMES: [(&str, usize); 16] = [
    ("ipv4_udp", 47),
    ("ipv4_tcp80", 54),
    ("ipv4_tcp22", 54),
    ("ipv4_tcp443", 54),
    ("ipv4_icmp", 46),
    ("ipv6_tcp80", 74),
    ("ipv6_udp", 66),
    ("arp", 42),
    ("vlan_ipv4_udp", 51),
    ("vlan_ipv4_tcp80", 58),
    ("trunc_ipv4", 24),
    ("ipv4_tcp80_big", 154),
    ("ipv4_udp_src12", 47),
    ("ipv4_udp_src13", 47),
    ("ipv4_udp_src14", 47),
    ("ipv4_udp_src15", 47),
];

fn packets_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/progs/packets")
}

fn mixed_bytes() -> Vec<u8> {
    fs::read(packets_dir().join("mixed.pcap")).expect("read mixed.pcap")
}

/// A fresh, empty scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("capture-{name}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

fn dir_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn err_of(bytes: &[u8]) -> CaptureError {
    match Capture::from_bytes(bytes) {
        Ok(c) => panic!("expected an error, read {} packets", c.packets.len()),
        Err(e) => e,
    }
}

fn assert_msg(err: &CaptureError, fragment: &str) {
    let msg = err.to_string();
    assert!(msg.contains(fragment), "message {msg:?} lacks {fragment:?}");
    assert!(!msg.contains('\n'), "message {msg:?} is not one line");
}

// ---------------------------------------------------------------------------------------------
// Hand-built files

fn put16(out: &mut Vec<u8>, big: bool, v: u16) {
    out.extend_from_slice(&if big {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    });
}

fn put32(out: &mut Vec<u8>, big: bool, v: u32) {
    out.extend_from_slice(&if big {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    });
}

fn pcap_header(big: bool, nanos: bool, snaplen: u32, link_type: u32) -> Vec<u8> {
    let mut out = Vec::new();
    put32(&mut out, big, if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
    put16(&mut out, big, 2);
    put16(&mut out, big, 4);
    put32(&mut out, big, 0);
    put32(&mut out, big, 0);
    put32(&mut out, big, snaplen);
    put32(&mut out, big, link_type);
    out
}

fn pcap_record(out: &mut Vec<u8>, big: bool, sec: u32, frac: u32, data: &[u8], orig_len: u32) {
    put32(out, big, sec);
    put32(out, big, frac);
    put32(out, big, data.len() as u32);
    put32(out, big, orig_len);
    out.extend_from_slice(data);
}

fn frame(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed))
        .collect()
}

fn pad(v: &mut Vec<u8>) {
    while v.len() % 4 != 0 {
        v.push(0);
    }
}

fn option(body: &mut Vec<u8>, big: bool, code: u16, value: &[u8]) {
    put16(body, big, code);
    put16(body, big, value.len() as u16);
    body.extend_from_slice(value);
    pad(body);
}

fn block(out: &mut Vec<u8>, big: bool, block_type: u32, body: &[u8]) {
    let len = body.len() as u32 + 12;
    put32(out, big, block_type);
    put32(out, big, len);
    out.extend_from_slice(body);
    put32(out, big, len);
}

fn shb(out: &mut Vec<u8>, big: bool) {
    let mut body = Vec::new();
    put32(&mut body, big, 0x1a2b_3c4d);
    put16(&mut body, big, 1);
    put16(&mut body, big, 0);
    body.extend_from_slice(&[0xff; 8]);
    block(out, big, 0x0a0d_0d0a, &body);
}

fn idb(
    out: &mut Vec<u8>,
    big: bool,
    link_type: u16,
    snaplen: u32,
    tsresol: Option<u8>,
    tsoffset: Option<i64>,
) {
    let mut body = Vec::new();
    put16(&mut body, big, link_type);
    put16(&mut body, big, 0);
    put32(&mut body, big, snaplen);
    if let Some(r) = tsresol {
        option(&mut body, big, 9, &[r]);
    }
    if let Some(o) = tsoffset {
        let bytes = if big {
            o.to_be_bytes()
        } else {
            o.to_le_bytes()
        };
        option(&mut body, big, 14, &bytes);
    }
    if tsresol.is_some() || tsoffset.is_some() {
        option(&mut body, big, 0, &[]);
    }
    block(out, big, 1, &body);
}

fn epb(
    out: &mut Vec<u8>,
    big: bool,
    interface: u32,
    ticks: u64,
    data: &[u8],
    orig_len: u32,
    comment: Option<&str>,
) {
    let mut body = Vec::new();
    put32(&mut body, big, interface);
    put32(&mut body, big, (ticks >> 32) as u32);
    put32(&mut body, big, ticks as u32);
    put32(&mut body, big, data.len() as u32);
    put32(&mut body, big, orig_len);
    body.extend_from_slice(data);
    pad(&mut body);
    if let Some(c) = comment {
        option(&mut body, big, 1, c.as_bytes());
        option(&mut body, big, 0, &[]);
    }
    block(out, big, 6, &body);
}

fn spb(out: &mut Vec<u8>, big: bool, data: &[u8], orig_len: u32) {
    let mut body = Vec::new();
    put32(&mut body, big, orig_len);
    body.extend_from_slice(data);
    pad(&mut body);
    block(out, big, 3, &body);
}

fn obsolete_pb(out: &mut Vec<u8>, big: bool, interface: u16, ticks: u64, data: &[u8]) {
    let mut body = Vec::new();
    put16(&mut body, big, interface);
    put16(&mut body, big, 0);
    put32(&mut body, big, (ticks >> 32) as u32);
    put32(&mut body, big, ticks as u32);
    put32(&mut body, big, data.len() as u32);
    put32(&mut body, big, data.len() as u32);
    body.extend_from_slice(data);
    pad(&mut body);
    block(out, big, 2, &body);
}

/// A two-section pcapng file exercising most of the reader (used by the fuzz loop too).
fn sample_pcapng() -> Vec<u8> {
    let mut f = Vec::new();
    // Section 1, big-endian: interface 0 in ns with an offset, interface 1 in 2^-10 s.
    shb(&mut f, true);
    idb(&mut f, true, 1, 0, Some(9), Some(100));
    idb(&mut f, true, 1, 64, Some(0x80 | 10), None);
    epb(
        &mut f,
        true,
        0,
        1_700_000_000_123_456_789,
        &frame(60, 1),
        60,
        Some("XDP_TX"),
    );
    // An unknown block (name resolution) is skipped.
    let mut nrb = Vec::new();
    put16(&mut nrb, true, 0);
    put16(&mut nrb, true, 0);
    block(&mut f, true, 4, &nrb);
    epb(&mut f, true, 1, 3 * 1024 + 512, &frame(64, 2), 1500, None);
    spb(&mut f, true, &frame(45, 3), 45);
    // Section 2, little-endian, default resolution (µs).
    shb(&mut f, false);
    idb(&mut f, false, 1, 65535, None, None);
    obsolete_pb(&mut f, false, 0, 1_700_000_001_000_002, &frame(42, 4));
    epb(&mut f, false, 0, 5, &frame(14, 5), 14, Some("two\0"));
    f
}

// ---------------------------------------------------------------------------------------------
// Reading the repository's capture

#[test]
fn reads_mixed_pcap() {
    let path = packets_dir().join("mixed.pcap");
    let capture = Capture::open(&path).expect("mixed.pcap reads");
    assert_eq!(capture.format, CaptureFormat::Pcap);
    assert_eq!(capture.ts_resolution, TsResolution::Micro);
    assert_eq!(capture.packets.len(), 16);
    for (i, (packet, (name, len))) in capture.packets.iter().zip(MIXED_FRAMES).enumerate() {
        assert_eq!(packet.index, i as u64);
        assert_eq!(packet.number(), i as u64 + 1);
        assert_eq!(packet.data.len(), len, "{name}");
        assert_eq!(packet.orig_len as usize, len, "{name}");
        assert_eq!(
            packet.timestamp,
            Duration::from_secs(1_700_000_000 + i as u64),
            "{name}"
        );
        assert_eq!(packet.ts_sec(), 1_700_000_000 + i as u64);
        assert_eq!(packet.ts_nanos(), 0);
        assert_eq!(packet.interface, 0);
        assert_eq!(packet.comment, None);
        let expected = fs::read(packets_dir().join(format!("{name}.bin"))).expect("read frame");
        assert_eq!(packet.data, expected, "{name}");
    }

    // The streaming reader yields the same packets.
    let mut reader = CaptureReader::open(&path).expect("open");
    assert_eq!(reader.format(), CaptureFormat::Pcap);
    let streamed: Vec<Packet> = reader.by_ref().map(|p| p.expect("good packet")).collect();
    assert_eq!(streamed, capture.packets);
    assert_eq!(reader.packets_read(), 16);
    assert_eq!(reader.offset(), fs::metadata(&path).expect("stat").len());
    assert!(reader.next().is_none(), "fused");
}

#[test]
fn missing_file_names_the_path() {
    let err = Capture::open("/nonexistent/in.pcap").expect_err("no such file");
    assert_msg(&err, "/nonexistent/in.pcap: cannot open: ");
    assert_eq!(err.path(), Some(Path::new("/nonexistent/in.pcap")));
}

// ---------------------------------------------------------------------------------------------
// Hand-built classic pcap

#[test]
fn big_endian_and_nanosecond_pcap() {
    for big in [false, true] {
        for nanos in [false, true] {
            let mut f = pcap_header(big, nanos, 65535, 1);
            let frac = if nanos { 123_456_789 } else { 123_456 };
            pcap_record(&mut f, big, 1_700_000_000, frac, &frame(60, 9), 60);
            pcap_record(&mut f, big, 1_700_000_001, 0, &frame(30, 8), 1514);
            let c = Capture::from_bytes(&f).expect("reads");
            let res = if nanos {
                TsResolution::Nano
            } else {
                TsResolution::Micro
            };
            assert_eq!(c.ts_resolution, res, "big={big} nanos={nanos}");
            assert_eq!(c.packets.len(), 2);
            let want = if nanos { 123_456_789 } else { 123_456_000 };
            assert_eq!(c.packets[0].timestamp, Duration::new(1_700_000_000, want));
            assert_eq!(c.packets[0].data, frame(60, 9));
            assert_eq!(c.packets[1].data, frame(30, 8));
            assert_eq!(c.packets[1].orig_len, 1514);
        }
    }
}

#[test]
fn out_of_range_fraction_carries_into_seconds() {
    let mut f = pcap_header(false, false, 65535, 1);
    pcap_record(&mut f, false, 10, 1_500_000, &frame(20, 0), 20);
    let c = Capture::from_bytes(&f).expect("reads");
    assert_eq!(c.packets[0].timestamp, Duration::new(11, 500_000_000));
}

#[test]
fn empty_captures_are_fine() {
    let c = Capture::from_bytes(&pcap_header(true, true, 0, 1)).expect("header only");
    assert!(c.packets.is_empty());
    let mut ng = Vec::new();
    shb(&mut ng, false);
    let c = Capture::from_bytes(&ng).expect("section header only");
    assert_eq!(c.format, CaptureFormat::PcapNg);
    assert!(c.packets.is_empty());
    idb(&mut ng, false, 1, 0, None, None);
    assert!(Capture::from_bytes(&ng)
        .expect("no packets")
        .packets
        .is_empty());
}

// ---------------------------------------------------------------------------------------------
// Hand-built pcapng

#[test]
fn reads_pcapng_blocks_sections_and_resolutions() {
    let c = Capture::from_bytes(&sample_pcapng()).expect("reads");
    assert_eq!(c.format, CaptureFormat::PcapNg);
    assert_eq!(c.ts_resolution, TsResolution::Nano);
    let p = &c.packets;
    assert_eq!(p.len(), 5);
    assert_eq!(
        p.iter().map(|p| p.index).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );

    // EPB, ns resolution, if_tsoffset 100 s, comment.
    assert_eq!(p[0].timestamp, Duration::new(1_700_000_100, 123_456_789));
    assert_eq!(p[0].data, frame(60, 1));
    assert_eq!(p[0].comment.as_deref(), Some("XDP_TX"));
    assert_eq!(p[0].interface, 0);

    // EPB on interface 1, 2^-10 s: 3.5 s; snapshot length 64.
    assert_eq!(p[1].interface, 1);
    assert_eq!(p[1].timestamp, Duration::from_millis(3500));
    assert_eq!(p[1].data, frame(64, 2));
    assert_eq!(p[1].orig_len, 1500);
    assert_eq!(p[1].comment, None);

    // SPB: interface 0, no timestamp, padding not part of the frame.
    assert_eq!(p[2].data, frame(45, 3));
    assert_eq!(p[2].timestamp, Duration::ZERO);
    assert_eq!(p[2].interface, 0);

    // Second section, µs: obsolete packet block, then an EPB whose comment has a NUL.
    assert_eq!(p[3].timestamp, Duration::new(1_700_000_001, 2_000));
    assert_eq!(p[3].data, frame(42, 4));
    assert_eq!(p[4].timestamp, Duration::from_micros(5));
    assert_eq!(p[4].comment.as_deref(), Some("two"));
}

#[test]
fn simple_packet_block_is_cut_at_the_snapshot_length() {
    let mut f = Vec::new();
    shb(&mut f, false);
    idb(&mut f, false, 1, 32, None, None);
    spb(&mut f, false, &frame(32, 0), 100);
    let c = Capture::from_bytes(&f).expect("reads");
    assert_eq!(c.packets[0].data, frame(32, 0));
    assert_eq!(c.packets[0].orig_len, 100);
}

// ---------------------------------------------------------------------------------------------
// Round trips through the writer

fn sample_packets() -> Vec<Packet> {
    MIXED_FRAMES
        .iter()
        .enumerate()
        .map(|(i, (name, _))| Packet {
            index: i as u64,
            timestamp: Duration::new(1_700_000_000 + i as u64, 123_456_789 * (i as u32 % 3)),
            data: fs::read(packets_dir().join(format!("{name}.bin"))).expect("read frame"),
            orig_len: if i == 11 { 1514 } else { 0 },
            interface: 0,
            comment: (i % 4 == 1).then(|| "XDP_TX".to_owned()),
        })
        .collect()
}

/// What a packet reads back as after a write in `format` at `resolution`.
fn expected_after(p: &Packet, format: CaptureFormat, resolution: TsResolution) -> Packet {
    let mut q = p.clone();
    q.orig_len = q.orig_len.max(q.data.len() as u32);
    if resolution == TsResolution::Micro {
        q.timestamp = Duration::new(q.ts_sec(), q.ts_nanos() / 1000 * 1000);
    }
    if format == CaptureFormat::Pcap {
        q.comment = None;
        q.interface = 0;
    }
    q
}

#[test]
fn round_trips() {
    let dir = scratch("round-trip");
    let packets = sample_packets();
    for format in [CaptureFormat::Pcap, CaptureFormat::PcapNg] {
        for resolution in [TsResolution::Micro, TsResolution::Nano] {
            let out = dir.join(format!("out-{format}-{resolution:?}"));
            let mut w = CaptureWriter::create(&out, format, resolution).expect("create");
            assert_eq!(w.format(), format);
            assert_eq!(w.ts_resolution(), resolution);
            for p in &packets {
                w.write_packet(p).expect("write");
            }
            assert_eq!(w.finish().expect("finish"), packets.len() as u64);
            let c = Capture::open(&out).expect("read back");
            assert_eq!(c.format, format);
            assert_eq!(c.ts_resolution, resolution);
            let want: Vec<Packet> = packets
                .iter()
                .map(|p| expected_after(p, format, resolution))
                .collect();
            assert_eq!(c.packets, want, "{format} {resolution:?}");
        }
    }
    // The mixed capture itself survives a pcap round trip byte for byte (same header fields
    // apart from the snapshot length).
    let out = dir.join("mixed-copy.pcap");
    let mixed = Capture::from_bytes(&mixed_bytes()).expect("mixed");
    let mut w =
        CaptureWriter::create(&out, CaptureFormat::Pcap, mixed.ts_resolution).expect("create");
    for p in &mixed.packets {
        w.write_packet(p).expect("write");
    }
    w.finish().expect("finish");
    let copy = fs::read(&out).expect("read copy");
    let orig = mixed_bytes();
    assert_eq!(copy.len(), orig.len());
    assert_eq!(copy[..16], orig[..16]);
    assert_eq!(copy[20..], orig[20..]);
    fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn pcapng_round_trip_keeps_interfaces() {
    let dir = scratch("interfaces");
    let out = dir.join("multi.pcapng");
    let mut w =
        CaptureWriter::create(&out, CaptureFormat::PcapNg, TsResolution::Nano).expect("create");
    let mut packets = Vec::new();
    for (i, iface) in [0u32, 2, 1, 2].into_iter().enumerate() {
        let mut p = Packet::new(frame(20 + i, i as u8));
        p.index = i as u64;
        p.interface = iface;
        p.timestamp = Duration::new(5, i as u32);
        w.write_packet(&p).expect("write");
        packets.push(p);
    }
    w.finish().expect("finish");
    assert_eq!(Capture::open(&out).expect("read").packets, packets);

    let mut w =
        CaptureWriter::create(&out, CaptureFormat::PcapNg, TsResolution::Nano).expect("create");
    let mut p = Packet::new(vec![0; 14]);
    p.interface = 5000;
    assert_msg(
        &w.write_packet(&p).expect_err("too many interfaces"),
        "interface 5000",
    );
    drop(w);
    fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn format_from_extension() {
    assert_eq!(
        CaptureFormat::from_extension(Path::new("a/b.pcapng")),
        Some(CaptureFormat::PcapNg)
    );
    assert_eq!(
        CaptureFormat::from_extension(Path::new("b.PCAP")),
        Some(CaptureFormat::Pcap)
    );
    assert_eq!(
        CaptureFormat::from_extension(Path::new("b.cap")),
        Some(CaptureFormat::Pcap)
    );
    assert_eq!(CaptureFormat::from_extension(Path::new("b.txt")), None);
    assert_eq!(CaptureFormat::from_extension(Path::new("pcap")), None);
}

// ---------------------------------------------------------------------------------------------
// The writer's file handling

#[test]
fn writer_dropped_without_finish_leaves_nothing() {
    let dir = scratch("drop");
    let out = dir.join("out.pcap");
    let mut w =
        CaptureWriter::create(&out, CaptureFormat::Pcap, TsResolution::Micro).expect("create");
    let tmp = w.tmp_path().to_path_buf();
    assert_eq!(
        tmp,
        dir.join(format!(".out.pcap.tmp-{}", std::process::id()))
    );
    w.write_packet(&Packet::new(frame(60, 0))).expect("write");
    assert!(tmp.exists());
    assert!(!out.exists(), "output appears only on finish");
    drop(w);
    assert_eq!(dir_entries(&dir), Vec::<String>::new());

    // An existing output is left untouched by an abandoned writer, replaced by a finished one.
    fs::write(&out, b"old").expect("write old");
    let w =
        CaptureWriter::create(&out, CaptureFormat::PcapNg, TsResolution::Micro).expect("create");
    drop(w);
    assert_eq!(fs::read(&out).expect("read"), b"old");
    assert_eq!(dir_entries(&dir), ["out.pcap"]);
    let mut w =
        CaptureWriter::create(&out, CaptureFormat::Pcap, TsResolution::Micro).expect("create");
    w.write_packet(&Packet::new(frame(60, 0))).expect("write");
    assert_eq!(w.packets_written(), 1);
    assert_eq!(w.path(), out.as_path());
    assert_eq!(w.finish().expect("finish"), 1);
    assert_eq!(dir_entries(&dir), ["out.pcap"]);
    assert_eq!(Capture::open(&out).expect("read").packets.len(), 1);
    fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn writer_errors() {
    let dir = scratch("writer-errors");
    let err = CaptureWriter::create(
        dir.join("no/such/dir/out.pcap"),
        CaptureFormat::Pcap,
        TsResolution::Micro,
    )
    .expect_err("missing directory");
    assert_msg(&err, "out.pcap: cannot create temporary file ");
    let err =
        CaptureWriter::create("/", CaptureFormat::Pcap, TsResolution::Micro).expect_err("no name");
    assert!(matches!(err.kind(), CaptureErrorKind::BadOutputPath));

    let out = dir.join("out.pcap");
    let mut w =
        CaptureWriter::create(&out, CaptureFormat::Pcap, TsResolution::Micro).expect("create");
    let err = w
        .write_packet(&Packet::new(vec![0; MAX_PACKET_LEN as usize + 1]))
        .expect_err("too large");
    assert_msg(
        &err,
        "cannot write packet 1: 262145 bytes is more than the maximum 262144",
    );
    let mut p = Packet::new(frame(20, 0));
    p.timestamp = Duration::from_secs(u64::from(u32::MAX) + 1);
    assert_msg(
        &w.write_packet(&p).expect_err("2106"),
        "does not fit a pcap record",
    );
    drop(w);
    assert_eq!(dir_entries(&dir), Vec::<String>::new());
    fs::remove_dir_all(&dir).expect("clean up");
}

// ---------------------------------------------------------------------------------------------
// Bad input

#[test]
fn truncated_pcap() {
    let mixed = mixed_bytes();
    let err = err_of(&mixed[..10]);
    assert_msg(
        &err,
        "invalid pcap file header: truncated file header: 10 of 24 bytes present",
    );

    let err = err_of(&mixed[..24 + 5]);
    assert_msg(
        &err,
        "packet 1: truncated record at byte 24: record header needs 16 bytes, 5 present",
    );
    assert_eq!((err.packet(), err.offset()), (Some(1), Some(24)));

    // Cut inside the data of the last packet: 15 good packets, then the error.
    let last_record = mixed.len() - 16 - 47;
    let cut = &mixed[..mixed.len() - 17];
    let (capture, err) = CaptureReader::new(cut).expect("header").read_all();
    assert_eq!(capture.packets.len(), 15);
    let err = err.expect("an error");
    assert_msg(
        &err,
        &format!("packet 16: truncated record at byte {last_record}: packet data needs 47 bytes, 30 present"),
    );
    assert!(Capture::from_bytes(cut).is_err(), "strict read fails");

    // The streaming reader yields the packets, then one error, then ends.
    let items: Vec<_> = CaptureReader::new(cut).expect("header").collect();
    assert_eq!(items.len(), 16);
    assert!(items[..15].iter().all(Result::is_ok));
    assert!(items[15].is_err());
}

#[test]
fn bad_lengths() {
    // Captured length above the snapshot length.
    let mut f = pcap_header(false, false, 40, 1);
    pcap_record(&mut f, false, 0, 0, &frame(47, 0), 47);
    let err = err_of(&f);
    assert_msg(
        &err,
        "packet 1: record at byte 24 has captured length 47, more than the snapshot length 40",
    );
    assert!(matches!(
        err.kind(),
        CaptureErrorKind::CapLenTooLarge {
            caplen: 47,
            limit: LengthLimit::SnapLen(40),
            ..
        }
    ));

    // A huge captured length is rejected before any allocation.
    for snaplen in [0, 65535, u32::MAX] {
        let mut f = pcap_header(true, false, snaplen, 1);
        pcap_record(&mut f, true, 0, 0, &frame(20, 0), 20);
        f[24 + 8..24 + 12].copy_from_slice(&0x7fff_fff0u32.to_be_bytes());
        let limit = if snaplen == 65535 {
            "the snapshot length 65535"
        } else {
            "the maximum 262144"
        };
        assert_msg(
            &err_of(&f),
            &format!("has captured length 2147483632, more than {limit}"),
        );
    }

    // Captured length above the original length.
    let mut f = pcap_header(false, true, 0, 1);
    pcap_record(&mut f, false, 0, 0, &frame(60, 0), 60);
    pcap_record(&mut f, false, 0, 0, &frame(60, 0), 59);
    assert_msg(
        &err_of(&f),
        "packet 2: record at byte 100 has captured length 60, more than its original length 59",
    );
}

#[test]
fn unsupported_link_types() {
    let err = err_of(&pcap_header(false, false, 65535, 113));
    assert_eq!(
        err.to_string(),
        "capture link type 113 (LINUX_SLL) is not supported: XDP programs need Ethernet frames"
    );
    assert_msg(
        &err_of(&pcap_header(true, false, 65535, 4242)),
        "capture link type 4242 is not supported",
    );

    let mut f = Vec::new();
    shb(&mut f, false);
    idb(&mut f, false, 1, 0, None, None);
    idb(&mut f, false, 276, 0, None, None);
    assert_msg(
        &err_of(&f),
        "capture link type 276 (LINUX_SLL2) is not supported",
    );
}

#[test]
fn not_a_capture() {
    assert_msg(
        &err_of(b""),
        "not a pcap or pcapng file (the file is empty)",
    );
    assert_msg(
        &err_of(b"ab"),
        "not a pcap or pcapng file (the file has only 2 bytes)",
    );
    assert_msg(
        &err_of(b"GET / HTTP/1.1\r\n"),
        "not a pcap or pcapng file (it starts with 47 45 54 20)",
    );
    assert_msg(&err_of(&[0x1f, 0x8b, 8, 0, 0, 0]), "gzip-compressed");
    let mut f = pcap_header(false, false, 65535, 1);
    f[4] = 1;
    assert_msg(
        &err_of(&f),
        "invalid pcap file header: unsupported version 1.4",
    );

    let dir = scratch("garbage");
    let path = dir.join("garbage.pcap");
    fs::write(&path, b"this is not a capture").expect("write");
    let err = Capture::open(&path).expect_err("garbage");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: not a pcap or pcapng file (it starts with 74 68 69 73)",
            path.display()
        )
    );
    fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn bad_pcapng() {
    let mut head = Vec::new();
    shb(&mut head, false);
    idb(&mut head, false, 1, 0, None, None);
    let at = head.len();

    // Block lengths: not a multiple of 4, too small, too large, trailer mismatch.
    for (len, fragment) in [
        (13u32, "block length 13 is invalid"),
        (8, "block length 8 is invalid"),
        (
            0xffff_fff0,
            "block length 4294967280 is more than the maximum 16777216",
        ),
    ] {
        let mut f = head.clone();
        epb(&mut f, false, 0, 0, &frame(20, 0), 20, None);
        f[at + 4..at + 8].copy_from_slice(&len.to_le_bytes());
        let err = err_of(&f);
        assert_msg(
            &err,
            &format!("packet 1: malformed block at byte {at}: {fragment}"),
        );
    }
    let mut f = head.clone();
    epb(&mut f, false, 0, 0, &frame(20, 0), 20, None);
    let end = f.len();
    f[end - 4..].copy_from_slice(&44u32.to_le_bytes());
    assert_msg(
        &err_of(&f),
        "trailing block length 44 differs from leading block length 52",
    );

    // Truncated block and block header.
    let mut f = head.clone();
    epb(&mut f, false, 0, 0, &frame(20, 0), 20, None);
    assert_msg(
        &err_of(&f[..f.len() - 10]),
        &format!("packet 1: truncated record at byte {at}: block needs 52 bytes, 42 present"),
    );
    assert_msg(
        &err_of(&f[..at + 6]),
        "block header needs 8 bytes, 6 present",
    );

    // Captured length past the end of the block.
    let mut f = head.clone();
    epb(&mut f, false, 0, 0, &frame(20, 0), 100, None);
    f[at + 20..at + 24].copy_from_slice(&40u32.to_le_bytes());
    assert_msg(
        &err_of(&f),
        "captured length 40 runs past the end of the 52-byte block",
    );

    // Packet on an undescribed interface; packet before any interface.
    let mut f = head.clone();
    epb(&mut f, false, 3, 0, &frame(20, 0), 20, None);
    assert_msg(
        &err_of(&f),
        "packet refers to interface 3, but the section describes 1 interface(s)",
    );
    let mut f = Vec::new();
    shb(&mut f, false);
    spb(&mut f, false, &frame(20, 0), 20);
    assert_msg(
        &err_of(&f),
        "packet refers to interface 0, but the section describes 0 interface(s)",
    );

    // Bad options.
    let mut f = Vec::new();
    shb(&mut f, false);
    idb(&mut f, false, 1, 0, Some(70), None);
    assert_msg(&err_of(&f), "unsupported timestamp resolution 10^-70");
    let mut f = Vec::new();
    shb(&mut f, false);
    let mut body = Vec::new();
    put16(&mut body, false, 1);
    put16(&mut body, false, 0);
    put32(&mut body, false, 0);
    put16(&mut body, false, 2);
    put16(&mut body, false, 200);
    block(&mut f, false, 1, &body);
    assert_msg(
        &err_of(&f),
        "option 2 of 200 bytes runs past the end of the block",
    );

    // Section header problems.
    let mut f = Vec::new();
    shb(&mut f, false);
    assert_msg(
        &err_of(&f[..10]),
        "invalid pcapng file header: truncated section header: 10 of 12 bytes present",
    );
    f[8..12].copy_from_slice(&[1, 2, 3, 4]);
    assert_msg(
        &err_of(&f),
        "invalid pcapng file header: bad byte-order magic 0x01020304",
    );
    let mut f = Vec::new();
    shb(&mut f, false);
    f[12] = 2;
    assert_msg(&err_of(&f), "unsupported pcapng version 2.0");
    let mut f = Vec::new();
    shb(&mut f, true);
    f[4..8].copy_from_slice(&20u32.to_be_bytes());
    assert_msg(&err_of(&f), "section header block length 20 is invalid");
}

// ---------------------------------------------------------------------------------------------
// Fuzzing by mutation

/// xorshift64*: a small deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut f = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        if f.is_empty() {
            break;
        }
        match rng.below(6) {
            0 => {
                let i = rng.below(f.len());
                f[i] = rng.next() as u8;
            }
            1 => {
                let i = rng.below(f.len());
                f[i] ^= 1 << rng.below(8);
            }
            2 => {
                // Overwrite a 32-bit field with an interesting value.
                let i = rng.below(f.len());
                let v: u32 = [
                    0,
                    1,
                    3,
                    4,
                    12,
                    0xffff,
                    0x3_ffff,
                    0x4_0000,
                    0x7fff_ffff,
                    0xffff_fffc,
                    0xffff_ffff,
                ][rng.below(11)];
                let bytes = if rng.below(2) == 0 {
                    v.to_le_bytes()
                } else {
                    v.to_be_bytes()
                };
                for (k, b) in bytes.into_iter().enumerate() {
                    if let Some(slot) = f.get_mut(i + k) {
                        *slot = b;
                    }
                }
            }
            3 => f.truncate(rng.below(f.len())),
            4 => {
                let i = rng.below(f.len());
                let n = rng.below(16).min(f.len() - i);
                f.drain(i..i + n);
            }
            _ => {
                let i = rng.below(f.len());
                let n = rng.below(64);
                let junk: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                f.splice(i..i, junk);
            }
        }
    }
    f
}

/// Reads 2000 mutations of `mixed.pcap` and a pcapng sample (more with
/// `CAPTURE_FUZZ_ROUNDS=N`).
#[test]
fn mutated_captures_never_panic() {
    let rounds = std::env::var("CAPTURE_FUZZ_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000);
    let seeds = [mixed_bytes(), sample_pcapng()];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut ok, mut failed) = (0, 0);
    for round in 0..rounds {
        let f = mutate(&mut rng, &seeds[round % 2]);
        let Ok(reader) = CaptureReader::new(f.as_slice()) else {
            failed += 1;
            continue;
        };
        let (capture, err) = reader.read_all();
        for (i, p) in capture.packets.iter().enumerate() {
            assert_eq!(p.index, i as u64);
            assert!(p.data.len() <= MAX_PACKET_LEN as usize);
            assert!(p.data.len() <= p.orig_len as usize);
        }
        match err {
            None => ok += 1,
            Some(e) => {
                failed += 1;
                assert!(!e.to_string().contains('\n'));
                if let Some(n) = e.packet() {
                    assert_eq!(n, capture.packets.len() as u64 + 1);
                }
            }
        }
    }
    // Both outcomes happen, so the mutations exercise the parsers.
    assert!(ok > 100 && failed > 100, "ok {ok}, failed {failed}");
}
