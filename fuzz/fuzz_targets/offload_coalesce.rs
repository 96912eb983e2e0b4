//! The Linux offload's send side: a batch of plain IP packets merged into
//! GSO records (`Device::send_batch`), then each record split again as the
//! kernel would segment it.
//!
//! Input: a control byte, then up to 64 packets, each a big-endian 16-bit
//! word and that many bytes (the low 14 bits; fewer when the input ends).
//! Bit 14 of the word pads the packet with the control byte's bits 3..5
//! times 1 KiB of zeros and sets its IP (and UDP) lengths to its size; bit
//! 15 makes its IPv4 header and transport checksums right
//! (`utun_fuzz::ip`), so that changed headers still merge. Control bit 0
//! asks for TCP merges, bit 1 for UDP; bit 2 makes each TCP packet continue
//! its flow (the sequence number after the flow's previous packet's
//! payload, the IPv4 id after its id), so that long runs, up to IP's 64 KiB
//! limit, form without the fuzzer solving the arithmetic.
//!
//! Properties: never a panic, always Ok; a record is either one packet
//! behind a header that asks for nothing, byte for byte an input packet, or
//! a GSO packet (`NEEDS_CSUM`, the pseudo-header sum in its checksum field,
//! `hdr_len`, `gso_size`, `csum_start`/`csum_offset` its own, a kind that
//! was asked for) of at least two packets which splits (`split_check`'s
//! contract) into input packets. Taken in order, the records give back every
//! input packet exactly once, each record's in input order and beginning
//! with the earliest packet not yet given back (packets of one flow keep
//! their order; a merged record sits where its first packet was). A merged
//! packet comes back equal to the input except where segmentation
//! rewrites: the checksums (which verified in the input and verify again: a
//! 0 may come back as all ones) and, with DF set, the IPv4 id.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[cfg(target_os = "linux")]
mod check {
    use utun::__fuzz::offload::{self, Gso, Header};
    use utun_fuzz::{ip, split_check};

    const MAX_PACKETS: usize = 64;

    fn batch(data: &[u8]) -> (u8, Vec<Vec<u8>>) {
        let Some((&control, mut rest)) = data.split_first() else { return (0, vec![]) };
        let mut packets: Vec<Vec<u8>> = Vec::new();
        let pad = usize::from(control >> 3 & 7) << 10;
        while let (Some(word), true) = (rest.get(..2), packets.len() < MAX_PACKETS) {
            let word = u16::from_be_bytes([word[0], word[1]]);
            let len = usize::from(word & 0x3fff).min(rest.len() - 2);
            let mut p = rest[2..2 + len].to_vec();
            rest = &rest[2 + len..];
            if word & 0x4000 != 0 {
                p.resize(p.len() + pad, 0);
                ip::fix_lengths(&mut p);
            }
            if control & 4 != 0 {
                continue_flow(&packets, &mut p);
            }
            if word & 0x8000 != 0 {
                ip::fix_checksums(&mut p);
            }
            packets.push(p);
        }
        (control, packets)
    }

    /// The flow of a TCP packet: its addresses and ports.
    fn flow(p: &[u8]) -> Option<(ip::Headers, &[u8], &[u8])> {
        let h = ip::parse(p).filter(|h| h.tcp)?;
        let addrs = if h.v6 { &p[8..40] } else { &p[12..20] };
        Some((h, addrs, &p[h.ip_len..h.ip_len + 4]))
    }

    /// Gives TCP packet `p` the sequence number (and IPv4 id) that follow
    /// the last packet of its flow among `before`.
    fn continue_flow(before: &[Vec<u8>], p: &mut [u8]) {
        let Some((h, addrs, ports)) = flow(p) else { return };
        let Some((prev, ph)) = before.iter().rev().find_map(|q| {
            let (qh, qa, qp) = flow(q)?;
            (qh.v6 == h.v6 && qa == addrs && qp == ports).then_some((q, qh))
        }) else {
            return;
        };
        let seq = u32::from_be_bytes(prev[ph.ip_len + 4..ph.ip_len + 8].try_into().unwrap());
        let next = seq.wrapping_add((ph.end - ph.headers_len()) as u32);
        let id = u16::from_be_bytes([prev[4], prev[5]]).wrapping_add(1);
        p[h.ip_len + 4..h.ip_len + 8].copy_from_slice(&next.to_be_bytes());
        if !h.v6 {
            p[4..6].copy_from_slice(&id.to_be_bytes());
        }
    }

    /// Two 16-bit checksum fields that mean the same (equal, or 0 and all ones).
    fn same_checksum(a: &[u8], b: &[u8]) -> bool {
        a == b || (a == [0, 0] && b == [0xff, 0xff]) || (a == [0xff, 0xff] && b == [0, 0])
    }

    /// `seg` (split out of a merged record) is input packet `p`, but for
    /// what segmentation rewrites; `p` must have verified to be merged.
    fn same_packet(p: &[u8], seg: &[u8]) -> bool {
        if p == seg {
            return true;
        }
        let Some(h) = ip::parse(p) else { return false };
        if p.len() != seg.len() || p.len() != h.end || !ip::ip_checksum_ok(p, &h) || !ip::transport_checksum_ok(p, &h) {
            return false;
        }
        let at = h.checksum_at();
        let df = !h.v6 && p[6] & 0x40 != 0;
        let id_same = h.v6 || p[4..6] == seg[4..6];
        let rewritable =
            |k: usize| (k == at || k == at + 1) || (!h.v6 && (k == 10 || k == 11 || (df && (k == 4 || k == 5))));
        (0..p.len()).all(|k| rewritable(k) || p[k] == seg[k])
            && same_checksum(&p[at..at + 2], &seg[at..at + 2])
            && (h.v6 || !id_same || same_checksum(&p[10..12], &seg[10..12]))
    }

    fn check_merged(hdr: &Header, rec: &[u8], tcp: bool, udp: bool) -> Vec<Vec<u8>> {
        let h = ip::parse(rec).unwrap_or_else(|| panic!("a merged record does not parse: {hdr:?}"));
        assert_eq!(rec.len(), h.end, "a merged record's stated length");
        let gso = match (h.tcp, h.v6) {
            (true, false) => Gso::TcpV4,
            (true, true) => Gso::TcpV6,
            (false, _) => Gso::UdpL4,
        };
        assert_eq!(hdr.gso, gso, "the GSO kind of the record's packet");
        assert!(if h.tcp { tcp } else { udp }, "a merge that was not asked for: {hdr:?}");
        assert!(hdr.needs_csum && !hdr.data_valid && !hdr.ecn, "{hdr:?}");
        assert_eq!(usize::from(hdr.hdr_len), h.headers_len(), "hdr_len");
        let csum = (usize::from(hdr.csum_start), usize::from(hdr.csum_start) + usize::from(hdr.csum_offset));
        assert_eq!(csum, (h.ip_len, h.checksum_at()), "csum_start, csum_start + csum_offset");
        assert!(ip::ip_checksum_ok(rec, &h), "a merged record's IPv4 header checksum");
        if !h.tcp {
            let udp_len = u16::from_be_bytes([rec[h.ip_len + 4], rec[h.ip_len + 5]]);
            assert_eq!(usize::from(udp_len), rec.len() - h.ip_len, "a merged record's UDP length");
        }
        // NEEDS_CSUM: the pseudo-header's sum, folded, not complemented.
        let at = h.checksum_at();
        assert_eq!(rec[at..at + 2], ip::sum(&[&ip::pseudo(rec, &h)]).to_be_bytes(), "the partial checksum");
        let payload = h.end - h.headers_len();
        let slots = payload.div_ceil(usize::from(hdr.gso_size.max(1))).max(1);
        let segs = split_check::split(hdr, rec, slots).expect("a merged record splits");
        assert!(segs.len() >= 2, "a merged record of one packet");
        segs
    }

    pub fn run(data: &[u8]) {
        let (control, packets) = batch(data);
        let (tcp, udp) = (control & 1 != 0, control & 2 != 0);
        let records = offload::coalesce(&packets, tcp, udp).expect("coalescing any batch is Ok");
        let mut given = vec![false; packets.len()];
        for (r, (hdr, rec)) in records.iter().enumerate() {
            let segs = if *hdr == Header::default() { vec![rec.clone()] } else { check_merged(hdr, rec, tcp, udp) };
            let head =
                given.iter().position(|g| !g).unwrap_or_else(|| panic!("record {r}: every packet given already"));
            let mut at = head;
            for (k, seg) in segs.iter().enumerate() {
                let found = if k == 0 {
                    (if segs.len() == 1 { packets[head] == *seg } else { same_packet(&packets[head], seg) })
                        .then_some(head)
                } else {
                    (at + 1..packets.len()).find(|&j| !given[j] && same_packet(&packets[j], seg))
                };
                let j = found.unwrap_or_else(|| {
                    panic!("record {r} ({hdr:?}), packet {k} of {}: not the next input packet (from {at})", segs.len())
                });
                given[j] = true;
                at = j;
            }
        }
        assert!(given.iter().all(|&g| g), "packets lost: {given:?}");
        if !tcp && !udp {
            assert_eq!(records.len(), packets.len(), "nothing asked for, nothing merged");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    #[cfg(target_os = "linux")]
    check::run(data);
    #[cfg(not(target_os = "linux"))]
    let _ = data;
});
