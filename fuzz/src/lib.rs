//! What the fuzz targets share: values of the public types built from the
//! fuzzer's bytes (every route and address the API accepts), and the
//! comparisons the round trips make.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use arbitrary::{Result, Unstructured};
use utun::{InterfaceAddress, InterfaceName, IpNet, NextHop, Route};

/// An address of either family.
pub fn ip(u: &mut Unstructured<'_>, v6: bool) -> Result<IpAddr> {
    Ok(if v6 { Ipv6Addr::from(u.arbitrary::<u128>()?).into() } else { Ipv4Addr::from(u.arbitrary::<u32>()?).into() })
}

/// A prefix of either family, of any valid length (host bits kept).
pub fn net(u: &mut Unstructured<'_>, v6: bool) -> Result<IpNet> {
    let addr = ip(u, v6)?;
    let len = u.int_in_range(0..=if v6 { 128 } else { 32 })?;
    Ok(IpNet::new(addr, len).expect("a prefix length in range"))
}

/// An interface name the API accepts: the fuzzer's bytes when they make
/// one, else `utun4`.
pub fn name(u: &mut Unstructured<'_>) -> Result<InterfaceName> {
    let len = u.int_in_range(1..=utun::MAX_NAME_LEN)?;
    let bytes = u.bytes(len)?;
    Ok(std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| InterfaceName::new(s).ok())
        .unwrap_or_else(|| InterfaceName::new("utun4").expect("a valid name")))
}

/// A route the API accepts: either family, any prefix (host, net, default),
/// out of an interface, through a gateway of the same family, or through a
/// link-local IPv6 gateway on an interface. What the API refuses (a
/// link-local gateway or destination with no interface, say) is not a route:
/// the input is skipped.
pub fn route(u: &mut Unstructured<'_>) -> Result<Route> {
    let v6 = u.arbitrary()?;
    let destination = net(u, v6)?;
    let hop = match u.int_in_range(0..=2u8)? {
        0 => NextHop::Gateway(ip(u, v6)?),
        1 => NextHop::Interface(name(u)?),
        _ => {
            // fe80::/10 and any low bits but the second 16-bit group, which
            // the API refuses (it is where XNU keeps the scope).
            let low = u.arbitrary::<u128>()? & ((1u128 << 118) - 1) & !(0xffffu128 << 96);
            NextHop::LinkLocalGateway { gateway: Ipv6Addr::from((0xfe80u128 << 112) | low), interface: name(u)? }
        }
    };
    Route::with_next_hop(destination, hop).map_err(|_| arbitrary::Error::IncorrectFormat)
}

/// An interface address the API accepts: either family, any prefix, with a
/// peer where one is allowed (the fuzzer chooses).
pub fn address(u: &mut Unstructured<'_>) -> Result<InterfaceAddress> {
    let v6 = u.arbitrary()?;
    let n = net(u, v6)?;
    let a = InterfaceAddress::new(n.addr(), n.prefix_len()).expect("a prefix length in range");
    if u.arbitrary()? { Ok(a.with_peer(ip(u, v6)?).unwrap_or(a)) } else { Ok(a) }
}

/// The octets of an address.
pub fn octets(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// The properties every routing message the parser accepts has (the
/// `pf_route_*` parse targets).
pub mod pf_route_check {

    use utun::__fuzz::pf_route::{self, Addr};
    use utun::IpNet;

    /// Parses `data` and checks what the parser says against the bytes.
    pub fn check_parsed(data: &[u8]) {
        let ids = pf_route::header_ids(data);
        match pf_route::parse(data) {
            Ok(m) => {
                // Within the buffer, at least a header; the header's fields as
                // read without any check.
                assert!(
                    m.msglen <= data.len() && m.msglen >= pf_route::HEADER_LEN,
                    "msglen {} of {}",
                    m.msglen,
                    data.len()
                );
                assert_eq!(ids, Some((m.msglen, m.rtm_type, m.pid, m.seq)));
                // Bytes after rtm_msglen are not the message's.
                assert_eq!(pf_route::parse(&data[..m.msglen]), Ok(m), "bytes after msglen changed the message");
                // A destination address and a netmask make a valid prefix.
                if let (Some(Addr::Ip(a)), Some(p)) = (m.destination, m.prefix_len) {
                    assert_eq!(m.destination_net, Some(IpNet::new(a, p).expect("a prefix within the family")));
                }
                if let Some(Addr::Ip(a)) = m.destination {
                    assert!(m.destination_net.is_some_and(|n| n.addr() == a));
                }
                // The entry says what the message says.
                assert_eq!(m.entry.destination, m.destination_net);
                assert_eq!(m.entry.gateway, m.gateway_ip);
                if m.index != 0 {
                    assert_eq!(m.entry.interface_index, u32::from(m.index));
                }
            }
            Err(e) => {
                assert!(e.text.starts_with("while parsing "), "{}", e.text);
            }
        }
    }
}

/// IP, TCP and UDP packets as RFC 791, RFC 8200, RFC 9293, RFC 768 and
/// RFC 1071 state them, written here independently of `utun`'s own
/// parsing and checksum (the offload targets judge it with these).
#[cfg(target_os = "linux")]
pub mod ip {
    use utun::sys::linux::{IPPROTO_TCP, IPPROTO_UDP};

    /// The ones'-complement sum (RFC 1071) of the bytes of `chunks` taken as
    /// one string, 16-bit big-endian word by word, end-around carry each
    /// time, an odd last byte padded with zero; folded, not complemented.
    pub fn sum(chunks: &[&[u8]]) -> u16 {
        let mut acc: u32 = 0;
        let mut high: Option<u8> = None;
        let mut add = |word: u16| {
            acc += u32::from(word);
            acc = (acc & 0xffff) + (acc >> 16);
        };
        for &b in chunks.iter().flat_map(|c| c.iter()) {
            match high.take() {
                None => high = Some(b),
                Some(h) => add(u16::from_be_bytes([h, b])),
            }
        }
        if let Some(h) = high {
            add(u16::from_be_bytes([h, 0]));
        }
        acc as u16
    }

    /// Where a TCP or UDP packet's headers are.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Headers {
        /// IPv6 (else IPv4).
        pub v6: bool,
        /// IP header length: IPv4's IHL, IPv6's fixed 40 (no extension headers).
        pub ip_len: usize,
        /// TCP (else UDP).
        pub tcp: bool,
        /// TCP data offset, or UDP's 8.
        pub l4_len: usize,
        /// The length the IP header states.
        pub end: usize,
    }

    impl Headers {
        /// Where the payload starts: the IP and transport headers' length.
        pub fn headers_len(&self) -> usize {
            self.ip_len + self.l4_len
        }

        /// Where the transport checksum sits in the packet.
        pub fn checksum_at(&self) -> usize {
            self.ip_len + if self.tcp { 16 } else { 6 }
        }
    }

    fn be16(p: &[u8], at: usize) -> u16 {
        u16::from_be_bytes([p[at], p[at + 1]])
    }

    /// The headers of an unfragmented IPv4 packet (options allowed) or an
    /// IPv6 packet without extension headers carrying TCP or UDP, whose
    /// stated length fits in the bytes and covers the transport header;
    /// `None` otherwise.
    pub fn parse(p: &[u8]) -> Option<Headers> {
        let (v6, ip_len, protocol, end) = match p.first()? >> 4 {
            4 if p.len() >= 20 => {
                let ihl = usize::from(p[0] & 0xf) * 4;
                // More fragments, or a fragment offset: a fragment.
                if ihl < 20 || be16(p, 6) & 0x3fff != 0 {
                    return None;
                }
                (false, ihl, p[9], usize::from(be16(p, 2)))
            }
            6 if p.len() >= 40 => (true, 40, p[6], 40 + usize::from(be16(p, 4))),
            _ => return None,
        };
        if end > p.len() || ip_len > end {
            return None;
        }
        let (tcp, l4_len) = if protocol == IPPROTO_TCP {
            let offset = usize::from(*p.get(ip_len + 12)? >> 4) * 4;
            if offset < 20 {
                return None;
            }
            (true, offset)
        } else if protocol == IPPROTO_UDP {
            (false, 8)
        } else {
            return None;
        };
        (ip_len + l4_len <= end).then_some(Headers { v6, ip_len, tcp, l4_len, end })
    }

    /// The pseudo-header of the packet's transport (RFC 9293 §3.1, RFC 8200 §8.1).
    pub fn pseudo(p: &[u8], h: &Headers) -> Vec<u8> {
        let mut v = if h.v6 { p[8..40].to_vec() } else { p[12..20].to_vec() };
        v.extend_from_slice(&[0, if h.tcp { IPPROTO_TCP } else { IPPROTO_UDP }]);
        v.extend_from_slice(&((h.end - h.ip_len) as u32).to_be_bytes());
        v
    }

    /// The IPv4 header checksum verifies (always true for IPv6).
    pub fn ip_checksum_ok(p: &[u8], h: &Headers) -> bool {
        h.v6 || sum(&[&p[..h.ip_len]]) == 0xffff
    }

    /// The transport checksum verifies, over the pseudo-header and the
    /// transport header and payload up to the stated end.
    pub fn transport_checksum_ok(p: &[u8], h: &Headers) -> bool {
        sum(&[&pseudo(p, h), &p[h.ip_len..h.end]]) == 0xffff
    }

    /// Sets the IPv4 total length, or the IPv6 payload length, and a UDP
    /// length, to what the bytes hold (where they fit).
    pub fn fix_lengths(p: &mut [u8]) {
        let len = p.len();
        let (ip_len, protocol) = match p.first().map(|b| b >> 4) {
            Some(4) if (20..=0xffff).contains(&len) => {
                p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
                (usize::from(p[0] & 0xf) * 4, p[9])
            }
            Some(6) if len >= 40 && len - 40 <= 0xffff => {
                p[4..6].copy_from_slice(&((len - 40) as u16).to_be_bytes());
                (40, p[6])
            }
            _ => return,
        };
        if protocol == IPPROTO_UDP && len >= ip_len + 8 {
            p[ip_len + 4..ip_len + 6].copy_from_slice(&((len - ip_len) as u16).to_be_bytes());
        }
    }

    /// Makes the IPv4 header checksum and the transport checksum right
    /// (a packet [`parse`] refuses gets at most its IPv4 header's).
    pub fn fix_checksums(p: &mut [u8]) {
        if p.first().map(|b| b >> 4) == Some(4) && p.len() >= 20 {
            let ihl = (usize::from(p[0] & 0xf) * 4).clamp(20, p.len());
            p[10..12].fill(0);
            let c = !sum(&[&p[..ihl]]);
            p[10..12].copy_from_slice(&c.to_be_bytes());
        }
        let Some(h) = parse(p) else { return };
        let at = h.checksum_at();
        p[at..at + 2].fill(0);
        let c = !sum(&[&pseudo(p, &h), &p[h.ip_len..h.end]]);
        // UDP sends a computed 0 as all ones (RFC 768).
        let c = if c == 0 && !h.tcp { 0xffff } else { c };
        p[at..at + 2].copy_from_slice(&c.to_be_bytes());
    }
}

/// The contract of the offload `split` (the device's batch receive), stated
/// independently and checked on every call: the `offload_split` target
/// calls it on any input, `offload_coalesce` on every record it merged.
#[cfg(target_os = "linux")]
pub mod split_check {
    use super::ip::{self, Headers};
    use utun::__fuzz::offload::{self, Gso, Header};
    use utun::ErrorKind;

    /// What `split` must answer for `hdr` and `p` with `slots` buffers each
    /// as long as the packet: the number of packets, or the error's kind.
    pub fn expected(hdr: &Header, p: &[u8], slots: usize) -> Result<usize, ErrorKind> {
        if hdr.gso == Gso::None {
            let at = usize::from(hdr.csum_start) + usize::from(hdr.csum_offset);
            if hdr.needs_csum && at + 2 > p.len() {
                return Err(ErrorKind::InvalidInput);
            }
            return Ok(1);
        }
        if hdr.gso_size == 0 || usize::from(hdr.hdr_len) > p.len() {
            return Err(ErrorKind::InvalidInput);
        }
        let h = ip::parse(p).ok_or(ErrorKind::InvalidInput)?;
        let kind_fits = match hdr.gso {
            Gso::TcpV4 => h.tcp && !h.v6,
            Gso::TcpV6 => h.tcp && h.v6,
            Gso::UdpL4 => !h.tcp,
            Gso::None => unreachable!(),
        };
        if !kind_fits {
            return Err(ErrorKind::InvalidInput);
        }
        if hdr.needs_csum
            && (usize::from(hdr.csum_start), usize::from(hdr.csum_offset)) != (h.ip_len, h.checksum_at() - h.ip_len)
        {
            return Err(ErrorKind::InvalidInput);
        }
        let n = (h.end - h.headers_len()).div_ceil(usize::from(hdr.gso_size)).max(1);
        if n > slots {
            return Err(ErrorKind::BufferTooSmall);
        }
        Ok(n)
    }

    /// Splits `p` as the device would into `slots` buffers, asserts the
    /// answer is [`expected`] and that every packet made is right, and
    /// returns them.
    pub fn split(hdr: &Header, p: &[u8], slots: usize) -> Result<Vec<Vec<u8>>, ErrorKind> {
        let mut bufs = vec![vec![0u8; p.len().max(1)]; slots];
        let mut sizes = vec![0usize; slots];
        let got = offload::split(hdr, p, &mut bufs, &mut sizes);
        assert_eq!(got, expected(hdr, p, slots), "split of {hdr:?} and {} bytes into {slots} buffers", p.len());
        let n = got?;
        let out: Vec<Vec<u8>> = bufs
            .into_iter()
            .zip(sizes)
            .take(n)
            .map(|(mut b, s)| {
                b.truncate(s);
                b
            })
            .collect();
        if hdr.gso == Gso::None {
            check_plain(hdr, p, &out[0]);
        } else {
            check_segments(hdr, p, &out);
        }
        Ok(out)
    }

    /// A plain packet is copied, its checksum finished when asked: at
    /// `csum_start + csum_offset` the complement of the sum of the bytes
    /// from `csum_start` (the partial sum there included), 0 sent as all ones.
    fn check_plain(hdr: &Header, p: &[u8], out: &[u8]) {
        if !hdr.needs_csum {
            assert_eq!(out, p, "a plain packet without NEEDS_CSUM comes out as it went in");
            return;
        }
        assert_eq!(out.len(), p.len());
        let start = usize::from(hdr.csum_start);
        let at = start + usize::from(hdr.csum_offset);
        assert_eq!((&out[..at], &out[at + 2..]), (&p[..at], &p[at + 2..]), "only the checksum field changes");
        let c = !ip::sum(&[&p[start..]]);
        let c = if c == 0 { 0xffff } else { c };
        assert_eq!(out[at..at + 2], c.to_be_bytes(), "the finished checksum");
    }

    /// Each segment: the GSO packet's headers with its own lengths, IPv4 id,
    /// sequence number and flags, both checksums verifying, `gso_size`
    /// bytes of the payload in order (the last what is left).
    fn check_segments(hdr: &Header, p: &[u8], segs: &[Vec<u8>]) {
        let h = ip::parse(p).expect("split accepted it");
        let mss = usize::from(hdr.gso_size);
        let payload = &p[h.headers_len()..h.end];
        let n = segs.len();
        let first_id = u16::from_be_bytes([p[4], p[5]]);
        let first_seq = u32::from_be_bytes(p[h.ip_len + 4..h.ip_len + 8].try_into().unwrap());
        let flags = p[h.ip_len + 13];
        let l4 = h.ip_len;
        for (i, s) in segs.iter().enumerate() {
            let chunk = &payload[(i * mss).min(payload.len())..((i + 1) * mss).min(payload.len())];
            assert!(
                i + 1 == n || chunk.len() == mss,
                "segment {i} of {n}: {} payload bytes, gso_size {mss}",
                chunk.len()
            );
            assert_eq!(s.len(), h.headers_len() + chunk.len(), "segment {i}: its length");
            assert_eq!(&s[h.headers_len()..], chunk, "segment {i}: its payload");
            let sh = ip::parse(s).unwrap_or_else(|| panic!("segment {i} does not parse: {s:?}"));
            assert_eq!(sh, Headers { end: s.len(), ..h }, "segment {i}: headers, stated length = its size");
            assert!(ip::ip_checksum_ok(s, &sh), "segment {i}: IPv4 header checksum");
            assert!(ip::transport_checksum_ok(s, &sh), "segment {i}: transport checksum");
            // Every header byte is the GSO packet's but these.
            let mut changed = vec![];
            if h.v6 {
                changed.extend([4, 5]);
            } else {
                changed.extend([2, 3, 4, 5, 10, 11]);
                assert_eq!(u16::from_be_bytes([s[4], s[5]]), first_id.wrapping_add(i as u16), "segment {i}: IPv4 id");
            }
            let at = h.checksum_at();
            changed.extend([at, at + 1]);
            if h.tcp {
                changed.extend([l4 + 4, l4 + 5, l4 + 6, l4 + 7, l4 + 13]);
                let seq = u32::from_be_bytes(s[l4 + 4..l4 + 8].try_into().unwrap());
                assert_eq!(seq, first_seq.wrapping_add((i * mss) as u32), "segment {i}: sequence number");
                let mut want = flags;
                if i + 1 < n {
                    want &= !0x09; // FIN, PSH: the last segment's
                }
                if i > 0 {
                    want &= !0x80; // CWR: the first's
                }
                assert_eq!(s[l4 + 13], want, "segment {i}: TCP flags");
            } else {
                changed.extend([l4 + 4, l4 + 5]);
                assert_eq!(usize::from(u16::from_be_bytes([s[l4 + 4], s[l4 + 5]])), s.len() - l4, "UDP length");
                assert_ne!(&s[at..at + 2], &[0, 0], "segment {i}: a UDP checksum of 0 means none");
            }
            for k in 0..h.headers_len() {
                if !changed.contains(&k) {
                    assert_eq!(s[k], p[k], "segment {i}: header byte {k}");
                }
            }
        }
        let joined: usize = segs.iter().map(|s| s.len() - h.headers_len()).sum();
        assert_eq!(joined, payload.len(), "the payloads add up to the GSO payload");
    }
}
