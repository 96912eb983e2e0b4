//! The offload code against packets built here, with an independent
//! checksum (RFC 1071 word by word) to judge every packet it makes.

use proptest::prelude::*;

use super::coalesce::{CoalesceOptions, Coalescer, capacity, write_records};
use super::split::{segment_count, split};
use super::vnet::{Gso, UDP_GSO_KNOWN, VNET_HDR_LEN, VnetHeader};
use super::wire::{IPPROTO_TCP, IPPROTO_UDP};
use crate::error::{Error, ErrorKind, Op};

/// RFC 1071, the slow way: 16-bit words, end-around carry each time.
fn naive_sum(chunks: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    let bytes: Vec<u8> = chunks.concat();
    for pair in bytes.chunks(2) {
        sum += u32::from(u16::from_be_bytes([pair[0], pair.get(1).copied().unwrap_or(0)]));
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

fn v6_of(p: &[u8]) -> bool {
    p[0] >> 4 == 6
}

fn ip_len_of(p: &[u8]) -> usize {
    if v6_of(p) { 40 } else { usize::from(p[0] & 0xf) * 4 }
}

/// The pseudo-header, as bytes (RFC 9293 §3.1 / RFC 8200 §8.1).
fn pseudo(p: &[u8], proto: u8, l4_len: usize) -> Vec<u8> {
    let mut v = if v6_of(p) { p[8..40].to_vec() } else { p[12..20].to_vec() };
    v.extend_from_slice(&[0, proto]);
    v.extend_from_slice(&(l4_len as u32).to_be_bytes());
    v
}

/// Asserts a plain packet is whole and every checksum in it verifies.
fn assert_valid(p: &[u8]) {
    let ip = ip_len_of(p);
    if v6_of(p) {
        assert_eq!(usize::from(u16::from_be_bytes([p[4], p[5]])) + 40, p.len(), "IPv6 payload length");
    } else {
        assert_eq!(usize::from(u16::from_be_bytes([p[2], p[3]])), p.len(), "IPv4 total length");
        assert_eq!(naive_sum(&[&p[..ip]]), 0xffff, "IPv4 header checksum");
    }
    let proto = if v6_of(p) { p[6] } else { p[9] };
    let l4 = &p[ip..];
    if proto == IPPROTO_UDP {
        assert_eq!(usize::from(u16::from_be_bytes([l4[4], l4[5]])), l4.len(), "UDP length");
    }
    assert_eq!(naive_sum(&[&pseudo(p, proto, l4.len()), l4]), 0xffff, "transport checksum");
}

/// What a packet's transport header says, to compare streams.
#[derive(Clone, Debug)]
struct Spec {
    v6: bool,
    udp: bool,
    seq: u32,
    flags: u8,
    id: u16,
    df: bool,
    options: Vec<u8>,
}

/// Builds a TCP or UDP packet with valid checksums.
fn build(spec: &Spec, payload: &[u8]) -> Vec<u8> {
    let ip = if spec.v6 { 40 } else { 20 };
    let l4h = if spec.udp { 8 } else { 20 + spec.options.len() };
    let len = ip + l4h + payload.len();
    let mut p = vec![0u8; len];
    if spec.v6 {
        p[0] = 0x60;
        p[1] = 0x0a; // traffic class / flow label bits, copied by every segment
        p[4..6].copy_from_slice(&((len - 40) as u16).to_be_bytes());
        p[6] = if spec.udp { IPPROTO_UDP } else { IPPROTO_TCP };
        p[7] = 64;
        p[8..24].copy_from_slice(&"fd00::1".parse::<std::net::Ipv6Addr>().unwrap().octets());
        p[24..40].copy_from_slice(&"fd00::2".parse::<std::net::Ipv6Addr>().unwrap().octets());
    } else {
        p[0] = 0x45;
        p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        p[4..6].copy_from_slice(&spec.id.to_be_bytes());
        if spec.df {
            p[6] = 0x40;
        }
        p[8] = 64;
        p[9] = if spec.udp { IPPROTO_UDP } else { IPPROTO_TCP };
        p[12..16].copy_from_slice(&[10, 0, 0, 1]);
        p[16..20].copy_from_slice(&[10, 0, 0, 2]);
        let c = !naive_sum(&[&p[..20]]);
        p[10..12].copy_from_slice(&c.to_be_bytes());
    }
    let l4 = &mut p[ip..];
    l4[0..2].copy_from_slice(&4242u16.to_be_bytes());
    l4[2..4].copy_from_slice(&443u16.to_be_bytes());
    if spec.udp {
        l4[4..6].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    } else {
        l4[4..8].copy_from_slice(&spec.seq.to_be_bytes());
        l4[8..12].copy_from_slice(&0x1234_5678u32.to_be_bytes());
        l4[12] = (((20 + spec.options.len()) / 4) as u8) << 4;
        l4[13] = spec.flags;
        l4[14..16].copy_from_slice(&502u16.to_be_bytes());
        l4[20..20 + spec.options.len()].copy_from_slice(&spec.options);
    }
    l4[l4h..].copy_from_slice(payload);
    let proto = if spec.udp { IPPROTO_UDP } else { IPPROTO_TCP };
    let at = if spec.udp { 6 } else { 16 };
    let c = !naive_sum(&[&pseudo(&p, proto, len - ip), &p[ip..]]);
    let c = if c == 0 { 0xffff } else { c };
    p[ip + at..ip + at + 2].copy_from_slice(&c.to_be_bytes());
    p
}

/// A GSO packet as the kernel hands it over: the whole payload behind one
/// set of headers, NEEDS_CSUM with the pseudo-header sum in the checksum
/// field, and a stale IPv4 header checksum.
fn gso_packet(spec: &Spec, payload: &[u8], mss: u16) -> (VnetHeader, Vec<u8>) {
    let mut p = build(spec, payload);
    let ip = ip_len_of(&p);
    let l4h = if spec.udp { 8 } else { 20 + spec.options.len() };
    let proto = if spec.udp { IPPROTO_UDP } else { IPPROTO_TCP };
    let at = ip + if spec.udp { 6 } else { 16 };
    let partial = naive_sum(&[&pseudo(&p, proto, p.len() - ip)]);
    p[at..at + 2].copy_from_slice(&partial.to_be_bytes());
    if !spec.v6 {
        p[10] ^= 0x5a;
    }
    let gso = match (spec.udp, spec.v6) {
        (true, _) => Gso::UdpL4,
        (false, false) => Gso::TcpV4,
        (false, true) => Gso::TcpV6,
    };
    let hdr = VnetHeader {
        needs_csum: true,
        gso,
        hdr_len: (ip + l4h) as u16,
        gso_size: mss,
        csum_start: ip as u16,
        csum_offset: (at - ip) as u16,
        ..VnetHeader::default()
    };
    (hdr, p)
}

fn split_all(hdr: &VnetHeader, p: &[u8]) -> Vec<Vec<u8>> {
    let n = segment_count(hdr, p).expect("a valid GSO packet");
    let mut bufs = vec![vec![0u8; p.len().max(1)]; n];
    let mut sizes = vec![0usize; n];
    let got = split(hdr, p, &mut bufs, &mut sizes).expect("split");
    assert_eq!(got, n);
    bufs.into_iter()
        .zip(sizes)
        .map(|(mut b, s)| {
            b.truncate(s);
            b
        })
        .collect()
}

/// Coalesces, returning each record's header and packet.
fn merge_all(packets: &[Vec<u8>], options: CoalesceOptions) -> Vec<(VnetHeader, Vec<u8>)> {
    let mut c = Coalescer::new();
    let mut out = vec![0u8; capacity(packets)];
    let mut lens = vec![0usize; packets.len()];
    let n = c.merge(packets, options, &mut out, &mut lens).expect("merge");
    let mut at = 0;
    let mut records = Vec::new();
    for (hdr, len) in c.headers.iter().zip(&lens[..n]) {
        records.push((*hdr, out[at + VNET_HDR_LEN..at + len].to_vec()));
        at += len;
    }
    records
}

const ALL: CoalesceOptions = CoalesceOptions { tcp: true, udp: true };

fn payload_of(p: &[u8]) -> &[u8] {
    let ip = ip_len_of(p);
    let proto = if v6_of(p) { p[6] } else { p[9] };
    let l4h = if proto == IPPROTO_UDP { 8 } else { usize::from(p[ip + 12] >> 4) * 4 };
    &p[ip + l4h..]
}

fn tcp_spec(v6: bool) -> Spec {
    Spec { v6, udp: false, seq: 1000, flags: 0x18, id: 7, df: true, options: vec![] }
}

#[test]
fn a_64_kib_tcp_gso_packet_splits_into_valid_segments() {
    for v6 in [false, true] {
        let payload: Vec<u8> = (0..70_000u32).map(|i| i as u8).collect();
        let max = 65_535 - if v6 { 0 } else { 40 };
        let payload = &payload[..max - 40];
        let mut spec = tcp_spec(v6);
        spec.flags = 0x80 | 0x10 | 0x08 | 0x01; // CWR ACK PSH FIN
        spec.seq = u32::MAX - 3000; // wraps
        let (hdr, p) = gso_packet(&spec, payload, 1400);
        let segs = split_all(&hdr, &p);
        assert_eq!(segs.len(), payload.len().div_ceil(1400));
        let mut seq = spec.seq;
        for (i, s) in segs.iter().enumerate() {
            assert_valid(s);
            let ip = ip_len_of(s);
            assert_eq!(u32::from_be_bytes(s[ip + 4..ip + 8].try_into().unwrap()), seq);
            seq = seq.wrapping_add(payload_of(s).len() as u32);
            let flags = s[ip + 13];
            let last = i + 1 == segs.len();
            assert_eq!(flags & 0x09 != 0, last, "FIN/PSH only on the last");
            assert_eq!(flags & 0x80 != 0, i == 0, "CWR only on the first");
            if !v6 {
                assert_eq!(u16::from_be_bytes([s[4], s[5]]), 7 + i as u16, "IPv4 id");
            }
        }
        let joined: Vec<u8> = segs.iter().flat_map(|s| payload_of(s).to_vec()).collect();
        assert_eq!(joined, payload);
    }
}

#[test]
fn a_plain_packet_gets_its_checksum_finished() {
    let spec = Spec { v6: false, udp: true, seq: 0, flags: 0, id: 1, df: true, options: vec![] };
    let (mut hdr, p) = gso_packet(&spec, b"hello, world", 1000);
    hdr.gso = Gso::None;
    hdr.gso_size = 0;
    // A plain packet's IPv4 header checksum is the sender's, not stale.
    let good = build(&spec, b"hello, world");
    let mut p2 = p.clone();
    p2[10..12].copy_from_slice(&good[10..12]);
    let segs = split_all(&hdr, &p2);
    assert_eq!(segs, vec![good]);
}

#[test]
fn malformed_gso_packets_are_typed_errors() {
    let (hdr, p) = gso_packet(&tcp_spec(false), &[1; 3000], 1000);
    let mut bufs = vec![vec![0u8; 2000]; 4];
    let mut sizes = [0usize; 4];
    let mut check = |hdr: VnetHeader, p: &[u8], kind: ErrorKind| {
        let e = split(&hdr, p, &mut bufs, &mut sizes).unwrap_err();
        assert_eq!(e.kind(), kind, "{e}");
    };
    check(VnetHeader { gso_size: 0, ..hdr }, &p, ErrorKind::InvalidInput);
    check(VnetHeader { hdr_len: 4000, ..hdr }, &p, ErrorKind::InvalidInput);
    check(VnetHeader { gso: Gso::TcpV6, ..hdr }, &p, ErrorKind::InvalidInput);
    check(VnetHeader { gso: Gso::UdpL4, ..hdr }, &p, ErrorKind::InvalidInput);
    check(VnetHeader { csum_offset: 6, ..hdr }, &p, ErrorKind::InvalidInput);
    check(hdr, &p[..30], ErrorKind::InvalidInput);
    check(hdr, &p[..2999], ErrorKind::InvalidInput);
    check(VnetHeader { gso_size: 100, ..hdr }, &p, ErrorKind::BufferTooSmall);
    let mut frag = p.clone();
    frag[6] |= 0x20; // more fragments
    check(hdr, &frag, ErrorKind::InvalidInput);
    let mut other = p.clone();
    other[0] = 0x55;
    check(hdr, &other, ErrorKind::InvalidInput);
    let mut ext = build(&tcp_spec(true), &[1; 100]);
    ext[6] = 0; // a hop-by-hop options header
    check(VnetHeader { gso: Gso::TcpV6, csum_start: 40, ..hdr }, &ext, ErrorKind::InvalidInput);
    let mut small = vec![vec![0u8; 500]; 4];
    let e = split(&hdr, &p, &mut small, &mut [0usize; 4]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BufferTooSmall);
    let plain = VnetHeader { gso: Gso::None, gso_size: 0, csum_start: 40, csum_offset: 16, ..hdr };
    check(plain, &p[..50], ErrorKind::InvalidInput);
}

#[test]
fn ipv4_options_are_split_but_not_merged() {
    // An IPv4 header with 4 bytes of options (a no-op padded option list).
    let (hdr, p) = gso_packet(&tcp_spec(false), &[9; 2500], 1000);
    let mut q = Vec::new();
    q.extend_from_slice(&p[..20]);
    q.extend_from_slice(&[1, 1, 1, 0]);
    q.extend_from_slice(&p[20..]);
    q[0] = 0x46;
    let len = q.len() as u16;
    q[2..4].copy_from_slice(&len.to_be_bytes());
    let partial = naive_sum(&[&pseudo(&q, IPPROTO_TCP, q.len() - 24)]);
    q[24 + 16..24 + 18].copy_from_slice(&partial.to_be_bytes());
    let hdr = VnetHeader { hdr_len: hdr.hdr_len + 4, csum_start: 24, ..hdr };
    let segs = split_all(&hdr, &q);
    assert_eq!(segs.len(), 3);
    for s in &segs {
        assert_valid(s);
        assert_eq!(&s[20..24], &[1, 1, 1, 0]);
    }
    let records = merge_all(&segs, ALL);
    assert_eq!(records.len(), 3, "IPv4 options: passed through");
    assert!(records.iter().all(|(h, _)| *h == VnetHeader::default()));
}

#[test]
fn coalesce_leaves_what_it_must_not_merge() {
    let spec = tcp_spec(false);
    let a = build(&Spec { flags: 0x10, ..spec.clone() }, &[1; 100]);
    let gap = build(&Spec { flags: 0x10, seq: 1200, id: 8, ..spec.clone() }, &[2; 100]);
    let mut bad = build(&Spec { flags: 0x10, seq: 1100, id: 8, ..spec.clone() }, &[3; 100]);
    let last = bad.len() - 1;
    bad[last] ^= 1; // corrupt payload: checksum fails
    let fin = build(&Spec { flags: 0x11, seq: 1100, id: 8, ..spec.clone() }, &[4; 100]);
    for second in [gap, bad, fin] {
        let records = merge_all(&[a.clone(), second.clone()], ALL);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].1, a);
        assert_eq!(records[1].1, second);
    }
    // Nothing asked for: nothing merged.
    let b = build(&Spec { flags: 0x10, seq: 1100, id: 8, ..spec.clone() }, &[5; 100]);
    assert_eq!(merge_all(&[a.clone(), b.clone()], CoalesceOptions::default()).len(), 2);
    assert_eq!(merge_all(&[a, b], ALL).len(), 1);
}

#[test]
fn interleaved_flows_merge_each_in_order() {
    let spec = tcp_spec(true);
    let mut other = spec.clone();
    let mut packets = Vec::new();
    for i in 0..4u32 {
        packets.push(build(&Spec { flags: 0x10, seq: 1000 + 100 * i, ..spec.clone() }, &[i as u8; 100]));
        other.seq = 5000 + 50 * i;
        let mut p = build(&Spec { flags: 0x10, ..other.clone() }, &[9; 50]);
        // Another flow: a different source port (and so a different checksum).
        p[40..42].copy_from_slice(&4243u16.to_be_bytes());
        let c = !naive_sum(&[&pseudo(&p, IPPROTO_TCP, p.len() - 40), &{
            let mut l4 = p[40..].to_vec();
            l4[16] = 0;
            l4[17] = 0;
            l4
        }]);
        p[56..58].copy_from_slice(&c.to_be_bytes());
        packets.push(p);
    }
    let records = merge_all(&packets, ALL);
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].0.gso, Gso::TcpV6);
    assert_eq!(records[0].0.gso_size, 100);
    assert_eq!(records[1].0.gso_size, 50);
    let segs = split_all(&records[0].0, &records[0].1);
    assert_eq!(segs, packets.iter().step_by(2).cloned().collect::<Vec<_>>());
}

#[test]
fn udp_gso_is_asked_for_only_with_headers_that_name_it() {
    let spec = Spec { v6: false, udp: true, seq: 0, flags: 0, id: 1, df: true, options: vec![] };
    let packets: Vec<Vec<u8>> = (0..3).map(|i| build(&Spec { id: 1 + i, ..spec.clone() }, &[i as u8; 200])).collect();
    let mut c = Coalescer::new();
    let mut out = vec![0u8; capacity(&packets)];
    let mut lens = [0usize; 3];
    let n = c.coalesce(&packets, ALL, &mut out, &mut lens).unwrap();
    assert_eq!(n, if UDP_GSO_KNOWN { 1 } else { 3 });
    let first = VnetHeader::parse(&out).unwrap();
    assert_eq!(first.gso, if UDP_GSO_KNOWN { Gso::UdpL4 } else { Gso::None });
}

#[test]
fn coalesce_refuses_short_buffers() {
    let p = build(&tcp_spec(false), &[0; 10]);
    let mut c = Coalescer::new();
    let mut lens = [0usize; 1];
    let e = c.coalesce(&[&p], ALL, &mut [0u8; 20], &mut lens).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BufferTooSmall);
    let e = c.coalesce(&[&p], ALL, &mut [0u8; 200], &mut []).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}

/// `p` with another source port (another flow), its checksum made again.
#[test]
fn a_whole_gso_packet_gets_the_header_it_came_with_and_a_mismatch_is_refused() {
    use super::gso::{header_for, received};
    use crate::batch::Segmentation;
    for v6 in [false, true] {
        let payload: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let (hdr, mut p) = gso_packet(&tcp_spec(v6), &payload, 1400);
        // What the kernel hands over is TCP of the MSS; the header written
        // for it again is the one read (the ECN bit and all).
        let seg = received(&hdr, &mut p).unwrap();
        assert_eq!(seg, Segmentation::Tcp { segment_size: 1400, ecn: false });
        assert_eq!(header_for(&p, seg).unwrap(), hdr);
        // Not left to finish: refused on the way in.
        let unfinished = VnetHeader { needs_csum: false, ..hdr };
        assert_eq!(received(&unfinished, &mut p).unwrap_err().kind(), ErrorKind::InvalidInput);
        // Refused on the way out: a segment size of 0, UDP for TCP, a
        // length that is not the packet's, nothing beyond the headers.
        let bad = [
            header_for(&p, Segmentation::Tcp { segment_size: 0, ecn: false }),
            header_for(&p, Segmentation::Udp { segment_size: 1400 }),
            header_for(&p[..p.len() - 1], seg),
            header_for(&build(&tcp_spec(v6), &[]), seg),
        ];
        for (i, r) in bad.into_iter().enumerate() {
            assert_eq!(r.unwrap_err().kind(), ErrorKind::InvalidInput, "v6 {v6}, case {i}");
        }
    }
    // A plain packet: the plain header; one the kernel left to finish gets
    // its checksum, and is plain.
    let spec = Spec { udp: true, ..tcp_spec(false) };
    let plain = build(&spec, b"datagram");
    assert_eq!(header_for(&plain, Segmentation::None).unwrap(), VnetHeader::default());
    let (mut hdr, mut p) = gso_packet(&spec, b"datagram", 1400);
    hdr.gso = Gso::None;
    p[10] ^= 0x5a;
    assert_eq!(received(&hdr, &mut p).unwrap(), Segmentation::None);
    assert_valid(&p);
}

fn from_port(mut p: Vec<u8>, port: u16) -> Vec<u8> {
    let ip = ip_len_of(&p);
    let proto = if v6_of(&p) { p[6] } else { p[9] };
    let at = ip + if proto == IPPROTO_UDP { 6 } else { 16 };
    p[ip..ip + 2].copy_from_slice(&port.to_be_bytes());
    p[at..at + 2].copy_from_slice(&[0, 0]);
    let c = !naive_sum(&[&pseudo(&p, proto, p.len() - ip), &p[ip..]]);
    p[at..at + 2].copy_from_slice(&(if c == 0 { 0xffff } else { c }).to_be_bytes());
    p
}

/// The plain packets a written record stands for (split again if merged).
fn unmerge(record: &[u8]) -> Vec<Vec<u8>> {
    let hdr = VnetHeader::parse(&record[..VNET_HDR_LEN]).expect("a header coalesce wrote");
    let packet = &record[VNET_HDR_LEN..];
    if hdr.gso == Gso::None { vec![packet.to_vec()] } else { split_all(&hdr, packet) }
}

/// Writes the coalesced records of `packets` through `write_records`, whose
/// writer answers `WouldBlock` on the calls `blocked` names (counted over
/// every attempt), trying again after each until all are written; returns
/// the records in the order they were written.
fn write_blocking(packets: &[Vec<u8>], blocked: &[usize]) -> Vec<Vec<u8>> {
    let mut c = Coalescer::new();
    let mut out = vec![0u8; capacity(packets)];
    let mut lens = vec![0usize; packets.len()];
    let records = c.coalesce(packets, ALL, &mut out, &mut lens).expect("coalesce");
    let mut written = Vec::new();
    let mut done = 0;
    let mut call = 0;
    for _attempt in 0..=records + blocked.len() {
        let result = write_records(&out, &lens[..records], &mut done, |record| {
            call += 1;
            if blocked.contains(&(call - 1)) {
                return Err(Error::os(Op::Send, std::io::Error::from_raw_os_error(libc::EAGAIN)));
            }
            written.push(record.to_vec());
            Ok(())
        });
        match result {
            Ok(()) => return written,
            Err(e) => assert!(e.is_would_block(), "{e}"),
        }
    }
    panic!("no progress after {blocked:?}");
}

/// Two TCP flows and a UDP flow interleaved (so a merged record holds
/// packets that come after other records' first packets), and a packet that
/// merges with nothing: a write that would block after any record, once or
/// again and again, is resumed at the next record, and the records written
/// in the end are those of a batch that never blocked, each once, and
/// together every packet once.
#[test]
fn a_batch_resumed_after_would_block_writes_every_packet_once() {
    let tcp = Spec { flags: 0x10, ..tcp_spec(true) };
    let udp = Spec { v6: true, udp: true, seq: 0, flags: 0, id: 0, df: true, options: vec![] };
    let mut packets = Vec::new();
    for i in 0..6u32 {
        packets.push(build(&Spec { seq: 1000 + 100 * i, ..tcp.clone() }, &[i as u8; 100]));
        packets.push(from_port(build(&Spec { seq: 5000 + 50 * i, ..tcp.clone() }, &[9; 50]), 4243));
        packets.push(from_port(build(&udp, &[i as u8 + 1; 200]), 4244));
        if i == 3 {
            packets.push(build(&Spec { flags: 0x11, ..tcp_spec(false) }, &[3; 10])); // FIN: alone
        }
    }
    let whole = write_blocking(&packets, &[]);
    let expected_records = if UDP_GSO_KNOWN { 4 } else { 9 };
    assert_eq!(whole.len(), expected_records, "interleaved flows merged");
    let mut every: Vec<Vec<u8>> = whole.iter().flat_map(|r| unmerge(r)).collect();
    let mut sorted = packets.clone();
    every.sort();
    sorted.sort();
    assert_eq!(every, sorted, "the records stand for every packet, once");

    for k in 0..=whole.len() {
        for blocked in [vec![k], vec![k, k + 1, k + 2], (k..k + 2 * whole.len()).step_by(2).collect()] {
            assert_eq!(write_blocking(&packets, &blocked), whole, "blocked on calls {blocked:?}");
        }
    }
}

fn arb_spec() -> impl Strategy<Value = Spec> {
    (any::<bool>(), any::<bool>(), any::<u32>(), any::<bool>(), any::<u16>(), any::<bool>(), 0usize..=10).prop_map(
        |(v6, udp, seq, psh, id, df, opt_words)| Spec {
            v6,
            udp,
            seq,
            flags: 0x10 | if psh { 0x08 } else { 0 },
            id,
            df,
            options: (0..opt_words * 4).map(|i| if i % 4 == 3 { 0 } else { 1 }).collect(),
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Split a GSO packet: every segment valid, the payload in order; merge
    /// the segments: one GSO packet again, which splits into the same segments.
    #[test]
    fn split_then_coalesce_gives_back_the_stream(
        spec in arb_spec(),
        len in 1usize..20_000,
        mss in 64u16..2000,
        seed in any::<u8>(),
    ) {
        let payload: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect();
        let (hdr, p) = gso_packet(&spec, &payload, mss);
        let segs = split_all(&hdr, &p);
        for s in &segs {
            assert_valid(s);
        }
        let joined: Vec<u8> = segs.iter().flat_map(|s| payload_of(s).to_vec()).collect();
        prop_assert_eq!(&joined, &payload);

        let records = merge_all(&segs, ALL);
        // PSH ends a run only on the last segment, which is where split leaves it.
        prop_assert_eq!(records.len(), 1);
        let (h2, merged) = &records[0];
        if segs.len() == 1 {
            prop_assert_eq!(h2.gso, Gso::None);
            prop_assert_eq!(merged, &segs[0]);
        } else {
            prop_assert_eq!(h2.gso, hdr.gso);
            prop_assert_eq!(h2.gso_size, mss);
            prop_assert_eq!(h2.hdr_len, hdr.hdr_len);
            prop_assert_eq!(payload_of(merged), &payload[..]);
            prop_assert_eq!(split_all(h2, merged), segs);
        }
    }

    /// Whatever the header and the bytes, split answers Ok or a typed error.
    #[test]
    fn random_headers_and_packets_never_panic(
        raw in proptest::collection::vec(any::<u8>(), VNET_HDR_LEN..VNET_HDR_LEN + 1),
        fields in (any::<bool>(), 0usize..4, any::<u16>(), any::<u16>(), 0u16..100, 0u16..40),
        mut packet in proptest::collection::vec(any::<u8>(), 0..3000),
        version in 0u8..3,
    ) {
        if let Some(first) = packet.first_mut() {
            *first = (*first & 0x0f) | [0x40, 0x60, 0x00][usize::from(version)];
        }
        // Raw bytes (mostly refused by the parse), and headers made of any field values.
        let (needs_csum, gso, hdr_len, gso_size, csum_start, csum_offset) = fields;
        let made = VnetHeader {
            needs_csum,
            gso: [Gso::None, Gso::TcpV4, Gso::TcpV6, Gso::UdpL4][gso],
            hdr_len,
            gso_size,
            csum_start,
            csum_offset,
            ..VnetHeader::default()
        };
        let mut bufs = vec![vec![0u8; 1600]; 64];
        let mut sizes = vec![0usize; 64];
        for hdr in VnetHeader::parse(&raw).into_iter().chain([made]) {
            if let Err(e) = split(&hdr, &packet, &mut bufs, &mut sizes) {
                prop_assert!(matches!(e.kind(), ErrorKind::InvalidInput | ErrorKind::BufferTooSmall), "{}", e);
            }
        }
    }

    /// A valid GSO packet with one field broken: an error, never a panic.
    #[test]
    fn broken_gso_packets_never_panic(
        spec in arb_spec(),
        len in 1usize..5000,
        mss in 16u16..1500,
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<prop::sample::Index>(),
        hdr_len in any::<u16>(),
    ) {
        let (mut hdr, mut p) = gso_packet(&spec, &vec![7; len], mss);
        let i = at.index(p.len());
        p[i] = byte;
        p.truncate(cut.index(p.len() + 1));
        hdr.hdr_len = hdr_len;
        let n = 5000 / usize::from(mss) + 2;
        let mut bufs = vec![vec![0u8; p.len() + 1]; n];
        let mut sizes = vec![0usize; n];
        match split(&hdr, &p, &mut bufs, &mut sizes) {
            // Whatever comes out is a whole packet whose checksums verify.
            Ok(k) => for (b, &size) in bufs[..k].iter().zip(&sizes) {
                assert_valid(&b[..size]);
            },
            Err(e) => prop_assert!(matches!(e.kind(), ErrorKind::InvalidInput | ErrorKind::BufferTooSmall)),
        }
    }

    /// Coalescing random bytes: no panic, and every byte comes back out.
    #[test]
    fn coalescing_garbage_passes_it_through(
        packets in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..20),
    ) {
        let records = merge_all(&packets, ALL);
        prop_assert_eq!(records.len(), packets.len());
        for ((h, r), p) in records.iter().zip(&packets) {
            prop_assert_eq!(*h, VnetHeader::default());
            prop_assert_eq!(r, p);
        }
    }
}

// ------------------------------------------------------- fuzz seed corpora

/// A header as the `offload_split` target's field encoding states it (its
/// control bit 0 set): flag bits, the kind 0-3, then the four 16-bit fields
/// little-endian; for headers the parser cannot read here (UDP GSO on
/// headers that do not name it).
fn fields_of(h: &VnetHeader) -> Vec<u8> {
    let flags = u8::from(h.needs_csum) | u8::from(h.data_valid) << 1 | u8::from(h.ecn) << 7;
    let kind = match h.gso {
        Gso::None => 0,
        Gso::TcpV4 => 1,
        Gso::TcpV6 => 2,
        Gso::UdpL4 => 3,
    };
    let mut v = vec![flags, kind];
    for f in [h.hdr_len, h.gso_size, h.csum_start, h.csum_offset] {
        v.extend_from_slice(&f.to_le_bytes());
    }
    v
}

/// The header's bytes as the device reads them (`VnetHeader::write`).
fn raw_of(h: &VnetHeader) -> Vec<u8> {
    let mut v = vec![0u8; VNET_HDR_LEN];
    h.write(&mut v).expect("a header these headers can name");
    v
}

/// A batch as the `offload_coalesce` target reads it: the control byte,
/// then each packet behind its 16-bit length word (`fix`: bits 14 and 15,
/// the target sets the lengths and checksums).
fn batch_input(control: u8, packets: &[Vec<u8>], fix: u16) -> Vec<u8> {
    let mut v = vec![control];
    for p in packets {
        let len = u16::try_from(p.len()).unwrap();
        assert!(len < 0x4000, "a seed packet the target's length word holds");
        v.extend_from_slice(&(len | fix).to_be_bytes());
        v.extend_from_slice(p);
    }
    v
}

/// The seed corpora of the offload fuzz targets, written to the directory
/// `UTUN_FUZZ_SEEDS` names by `cargo xtask fuzz --seed`: TCPv4/TCPv6/UDP
/// GSO packets as the kernel hands them over, plain packets with
/// `NEEDS_CSUM`, malformed headers and packets (`offload_split`); the
/// segments of those, interleaved flows, datagrams, packets that must not
/// merge, and garbage (`offload_coalesce`).
#[test]
#[ignore = "writes the fuzz seed corpora: run by `cargo xtask fuzz --seed`"]
fn write_fuzz_seeds_offload() {
    let dir = std::path::PathBuf::from(std::env::var_os("UTUN_FUZZ_SEEDS").expect("UTUN_FUZZ_SEEDS: where to write"));
    let write = |target: &str, name: &str, bytes: &[u8]| {
        let d = dir.join(target);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(name), bytes).unwrap();
    };
    // offload_split: [control: bit 0 field encoding, bits 1.. buffers - 1][header][packet].
    let raw = |slots: u8| (slots - 1) << 1;
    let fields = |slots: u8| ((slots - 1) << 1) | 1;
    let split_seed = |name: &str, control: u8, header: Vec<u8>, p: &[u8]| {
        write("offload_split", name, &[&[control][..], &header, p].concat());
    };
    let payload: Vec<u8> = (0..3000u32).map(|i| (i * 7) as u8).collect();
    let (tcp4, p_tcp4) = gso_packet(&tcp_spec(false), &payload, 1000);
    split_seed("tcp4-gso", raw(64), raw_of(&tcp4), &p_tcp4);
    let mut spec6 = tcp_spec(true);
    spec6.flags = 0x80 | 0x10 | 0x08 | 0x01; // CWR ACK PSH FIN
    spec6.options = vec![1, 1, 1, 0, 1, 1, 1, 0];
    spec6.seq = u32::MAX - 700;
    let (tcp6, p_tcp6) = gso_packet(&spec6, &payload[..2500], 600);
    split_seed("tcp6-gso-cwr-fin-options", raw(64), raw_of(&VnetHeader { ecn: true, ..tcp6 }), &p_tcp6);
    let (empty, p_empty) = gso_packet(&tcp_spec(false), &[], 1000);
    split_seed("tcp4-gso-no-payload", raw(8), raw_of(&empty), &p_empty);
    let udp = |v6| Spec { v6, udp: true, seq: 0, flags: 0, id: 9, df: false, options: vec![] };
    for v6 in [false, true] {
        let (h, p) = gso_packet(&udp(v6), &payload[..1300], 400);
        let name = if v6 { "udp6" } else { "udp4" };
        split_seed(&format!("{name}-gso-fields"), fields(16), fields_of(&h), &p);
        if UDP_GSO_KNOWN {
            split_seed(&format!("{name}-gso"), raw(16), raw_of(&h), &p);
        }
    }
    let (plain, p_plain) = gso_packet(&udp(false), b"hello, world", 1000);
    let plain = VnetHeader { gso: Gso::None, gso_size: 0, ..plain };
    split_seed("udp4-plain-needs-csum", raw(1), raw_of(&plain), &p_plain);
    let (plain6, p_plain6) = gso_packet(&tcp_spec(true), &payload[..100], 1000);
    let plain6 = VnetHeader { gso: Gso::None, gso_size: 0, ..plain6 };
    split_seed("tcp6-plain-needs-csum", raw(1), raw_of(&plain6), &p_plain6);
    let good = build(&tcp_spec(false), &payload[..64]);
    split_seed("tcp4-plain", raw(1), raw_of(&VnetHeader::default()), &good);
    // Malformed: each header field or packet broken once.
    let mut bad_flags = raw_of(&tcp4);
    bad_flags[core::mem::offset_of!(utun_sys::linux::virtio_net_hdr, flags)] = 0xff;
    split_seed("bad-flags", raw(64), bad_flags, &p_tcp4);
    let mut bad_type = raw_of(&tcp4);
    bad_type[core::mem::offset_of!(utun_sys::linux::virtio_net_hdr, gso_type)] = 0x7f;
    split_seed("bad-gso-type", raw(64), bad_type, &p_tcp4);
    let (udp_h, p_udp) = gso_packet(&udp(false), &payload[..1300], 400);
    split_seed("ecn-on-udp-fields", fields(16), fields_of(&VnetHeader { ecn: true, ..udp_h }), &p_udp);
    split_seed("header-cut-short", raw(1), raw_of(&tcp4)[..VNET_HDR_LEN - 3].to_vec(), &[]);
    split_seed("gso-size-0", raw(64), raw_of(&VnetHeader { gso_size: 0, ..tcp4 }), &p_tcp4);
    split_seed("hdr-len-beyond", raw(64), raw_of(&VnetHeader { hdr_len: 4000, ..tcp4 }), &p_tcp4);
    split_seed("csum-offset-wrong", raw(64), raw_of(&VnetHeader { csum_offset: 6, ..tcp4 }), &p_tcp4);
    split_seed("kind-mismatch", raw(64), raw_of(&VnetHeader { gso: Gso::TcpV6, ..tcp4 }), &p_tcp4);
    split_seed("too-few-buffers", raw(2), raw_of(&tcp4), &p_tcp4);
    split_seed("cut-short", raw(64), raw_of(&tcp4), &p_tcp4[..2000]);
    let mut frag = p_tcp4.clone();
    frag[6] |= 0x20;
    split_seed("fragment", raw(64), raw_of(&tcp4), &frag);

    // offload_coalesce: [control: bit 0 TCP, bit 1 UDP][length word, packet]...
    const TCP: u8 = 1;
    const BOTH: u8 = 3;
    let segs = split_all(&tcp4, &p_tcp4);
    write("offload_coalesce", "tcp4-segments", &batch_input(TCP, &segs, 0));
    write("offload_coalesce", "tcp4-segments-fixed", &batch_input(TCP, &segs, 0xc000));
    let segs6 = split_all(&tcp6, &p_tcp6);
    write("offload_coalesce", "tcp6-segments", &batch_input(BOTH, &segs6[..4], 0));
    let mut interleaved = Vec::new();
    for i in 0..3u32 {
        interleaved.push(build(&Spec { flags: 0x10, seq: 1000 + 100 * i, ..tcp_spec(true) }, &[i as u8; 100]));
        let mut p =
            build(&Spec { flags: 0x10, seq: 9000 + 50 * i, id: 40 + i as u16, df: false, ..tcp_spec(false) }, &[9; 50]);
        p[20..22].copy_from_slice(&4243u16.to_be_bytes()); // another flow: its checksum fixed by the target
        interleaved.push(p);
    }
    write("offload_coalesce", "interleaved-flows", &batch_input(TCP, &interleaved, 0x8000));
    let datagrams: Vec<Vec<u8>> =
        (0..3u16).map(|i| build(&Spec { id: 1 + i, ..udp(i == 2) }, &[i as u8; 200])).collect();
    write("offload_coalesce", "udp-datagrams", &batch_input(BOTH, &datagrams, 0));
    let a = build(&Spec { flags: 0x10, ..tcp_spec(false) }, &[1; 100]);
    let gap = build(&Spec { flags: 0x10, seq: 1200, id: 8, ..tcp_spec(false) }, &[2; 100]);
    let fin = build(&Spec { flags: 0x11, seq: 1100, id: 8, ..tcp_spec(false) }, &[4; 100]);
    let mut corrupt = build(&Spec { flags: 0x10, seq: 1100, id: 8, ..tcp_spec(false) }, &[3; 100]);
    *corrupt.last_mut().unwrap() ^= 1;
    write("offload_coalesce", "not-to-merge", &batch_input(BOTH, &[a.clone(), gap, corrupt, fin, a], 0));
    // Control bit 2: each packet continues its flow; bits 3..5: 7 KiB of
    // zeros padded into each packet whose lengths the target fixes: runs
    // reach IP's 64 KiB limit.
    for v6 in [false, true] {
        let same: Vec<Vec<u8>> = (0..24).map(|_| build(&Spec { flags: 0x10, ..tcp_spec(v6) }, &[5; 100])).collect();
        let name = if v6 { "long-run-v6" } else { "long-run-v4" };
        write("offload_coalesce", name, &batch_input(TCP | 4 | 7 << 3, &same, 0xc000));
    }
    // Ten flows (source ports) interleaved, three packets each, continued by
    // the target: more flows than the coalescer follows at once.
    let mut many = Vec::new();
    for _ in 0..3 {
        for port in 0..10u16 {
            let mut p = build(&Spec { flags: 0x10, ..tcp_spec(false) }, &[6; 40]);
            p[20..22].copy_from_slice(&(5000 + port).to_be_bytes());
            many.push(p);
        }
    }
    write("offload_coalesce", "many-flows", &batch_input(TCP | 4, &many, 0x8000));
    let garbage: Vec<Vec<u8>> = (0..4u8).map(|i| (0..37u8).map(|b| b.wrapping_mul(i + 3)).collect()).collect();
    write("offload_coalesce", "garbage", &batch_input(BOTH, &garbage, 0));
}

/// Where a send batch's buffers are and how large: what changes when one
/// of them is allocated again.
fn room(batch: &crate::SendBatch) -> ([usize; 3], (*const u8, usize), (*const usize, usize)) {
    (
        batch.coalescer.capacities(),
        (batch.out.as_ptr(), batch.out.capacity()),
        (batch.lens.as_ptr(), batch.lens.capacity()),
    )
}

#[test]
fn a_send_batch_with_capacity_merges_a_full_batch_without_growing() {
    for v6 in [false, true] {
        let payload: Vec<u8> = (0..64_000u32).map(|i| (i * 7) as u8).collect();
        let (hdr, p) = gso_packet(&tcp_spec(v6), &payload, 1448);
        let segs = split_all(&hdr, &p);
        let bytes: usize = segs.iter().map(Vec::len).sum();
        let mut batch = crate::SendBatch::with_capacity(segs.len(), bytes);
        let before = room(&batch);
        batch.merge(&segs, ALL).expect("merge");
        assert_eq!(batch.records, 1, "one flow's segments merge into one record");
        assert_eq!(room(&batch), before, "no buffer was allocated again");
        // With room for fewer packets, or none, the same batch grows the buffers.
        for mut small in [crate::SendBatch::with_capacity(2, 3000), crate::SendBatch::new()] {
            let before = room(&small);
            small.merge(&segs, ALL).expect("merge");
            assert_eq!(small.records, 1);
            assert_ne!(room(&small).0, before.0);
            assert_ne!(room(&small).1, before.1);
        }
    }
}

#[test]
fn a_send_batch_asked_for_impossible_room_is_an_empty_one() {
    for (packets, bytes) in [(usize::MAX, 0), (0, usize::MAX), (usize::MAX / 2, usize::MAX / 2)] {
        let batch = crate::SendBatch::with_capacity(packets, bytes);
        assert_eq!(room(&batch), room(&crate::SendBatch::new()), "{packets} {bytes}");
    }
}
