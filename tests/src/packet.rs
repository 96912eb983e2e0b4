//! IP packets the tests, the demo and the benchmark write into devices, and
//! the Internet checksum they carry (RFC 1071).

use std::net::SocketAddrV4;

/// The IP protocol number of UDP.
const PROTO_UDP: u8 = libc::IPPROTO_UDP as u8;
/// An IPv4 header without options.
pub const IPV4_HEADER_LEN: usize = 20;
/// A UDP header.
pub const UDP_HEADER_LEN: usize = 8;
/// The "don't fragment" bit of the IPv4 flags (in the byte at offset 6).
const DONT_FRAGMENT: u8 = 0x40;

/// Adds `bytes`, as 16-bit big-endian words (an odd last byte padded with a
/// zero), to the one's-complement sum `acc`, unfolded.
pub fn sum16(mut acc: u32, bytes: &[u8]) -> u32 {
    let mut chunks = bytes.chunks_exact(2);
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
}

/// The checksum field for the sum `acc`: folded to 16 bits, then inverted.
pub fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// The Internet checksum of `bytes` (their checksum field zeroed).
pub fn checksum(bytes: &[u8]) -> u16 {
    fold(sum16(0, bytes))
}

/// A minimal IPv4 packet of `len` bytes: version 4, a 20-byte header, the
/// total length; every other byte zero (no checksum, protocol 0). Enough for
/// a device's own checks; the kernel may drop it.
pub fn bare_ipv4(len: usize) -> Vec<u8> {
    let mut p = vec![0u8; len];
    if let Some(first) = p.first_mut() {
        *first = 0x45;
    }
    if len >= 4 {
        p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    }
    p
}

/// An IPv4/UDP datagram: a header checksum the kernel accepts (it checks it
/// before delivering or forwarding), no UDP checksum (optional over IPv4)
/// unless [`with_checksum`](Udp4::with_checksum) asks for one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct Udp4 {
    src: SocketAddrV4,
    dst: SocketAddrV4,
    ttl: u8,
    dont_fragment: bool,
    udp_checksum: bool,
}

impl Udp4 {
    /// From `src` to `dst`, TTL 64, fragmentable.
    pub const fn new(src: SocketAddrV4, dst: SocketAddrV4) -> Udp4 {
        Udp4 { src, dst, ttl: 64, dont_fragment: false, udp_checksum: false }
    }

    /// With the UDP checksum filled in (over the pseudo-header, RFC 768).
    pub const fn with_checksum(self) -> Udp4 {
        Udp4 { udp_checksum: true, ..self }
    }

    /// With the "don't fragment" bit set.
    pub const fn dont_fragment(self) -> Udp4 {
        Udp4 { dont_fragment: true, ..self }
    }

    /// The packet carrying `payload`.
    ///
    /// # Panics
    ///
    /// When the packet would be longer than IPv4 allows (65535 bytes).
    pub fn packet(&self, payload: &[u8]) -> Vec<u8> {
        let len = IPV4_HEADER_LEN + UDP_HEADER_LEN + payload.len();
        let total = u16::try_from(len).expect("an IPv4 packet of at most 65535 bytes");
        let mut p = vec![0u8; len];
        p[0] = 0x45; // version 4, a 5-word header
        p[2..4].copy_from_slice(&total.to_be_bytes());
        if self.dont_fragment {
            p[6] = DONT_FRAGMENT;
        }
        p[8] = self.ttl;
        p[9] = PROTO_UDP;
        p[12..16].copy_from_slice(&self.src.ip().octets());
        p[16..20].copy_from_slice(&self.dst.ip().octets());
        let sum = checksum(&p[..IPV4_HEADER_LEN]);
        p[10..12].copy_from_slice(&sum.to_be_bytes());
        let udp = &mut p[IPV4_HEADER_LEN..];
        udp[0..2].copy_from_slice(&self.src.port().to_be_bytes());
        udp[2..4].copy_from_slice(&self.dst.port().to_be_bytes());
        udp[4..6].copy_from_slice(&(total - IPV4_HEADER_LEN as u16).to_be_bytes());
        udp[UDP_HEADER_LEN..].copy_from_slice(payload);
        if self.udp_checksum {
            let udp_len = u32::from(total) - IPV4_HEADER_LEN as u32;
            let acc = sum16(sum16(0, &p[12..20]) + u32::from(PROTO_UDP) + udp_len, &p[IPV4_HEADER_LEN..]);
            // A sum of zero goes out as all ones: zero means "no checksum".
            let sum = match fold(acc) {
                0 => 0xffff,
                sum => sum,
            };
            p[IPV4_HEADER_LEN + 6..IPV4_HEADER_LEN + 8].copy_from_slice(&sum.to_be_bytes());
        }
        p
    }
}

/// The IP protocol number of TCP.
const PROTO_TCP: u8 = libc::IPPROTO_TCP as u8;
/// A TCP header without options.
pub const TCP_HEADER_LEN: usize = 20;

/// An IPv4/TCP segment from `src` to `dst`: DF set, TTL 64, identification
/// `id`, sequence number `seq`, acknowledgement 1 with ACK set (and nothing
/// else), a window of 65535, `payload`; both checksums filled in. What a
/// sender in the middle of a bulk transfer emits, and what GRO merges.
///
/// # Panics
///
/// When the packet would be longer than IPv4 allows (65535 bytes).
pub fn tcp4_segment(src: SocketAddrV4, dst: SocketAddrV4, id: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let len = IPV4_HEADER_LEN + TCP_HEADER_LEN + payload.len();
    let total = u16::try_from(len).expect("an IPv4 packet of at most 65535 bytes");
    let mut p = vec![0u8; len];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&total.to_be_bytes());
    p[4..6].copy_from_slice(&id.to_be_bytes());
    p[6] = DONT_FRAGMENT;
    p[8] = 64;
    p[9] = PROTO_TCP;
    p[12..16].copy_from_slice(&src.ip().octets());
    p[16..20].copy_from_slice(&dst.ip().octets());
    let sum = checksum(&p[..IPV4_HEADER_LEN]);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    let tcp = &mut p[IPV4_HEADER_LEN..];
    tcp[0..2].copy_from_slice(&src.port().to_be_bytes());
    tcp[2..4].copy_from_slice(&dst.port().to_be_bytes());
    tcp[4..8].copy_from_slice(&seq.to_be_bytes());
    tcp[8..12].copy_from_slice(&1u32.to_be_bytes());
    tcp[12] = ((TCP_HEADER_LEN / 4) as u8) << 4;
    tcp[13] = 0x10; // ACK
    tcp[14..16].copy_from_slice(&u16::MAX.to_be_bytes());
    tcp[TCP_HEADER_LEN..].copy_from_slice(payload);
    let tcp_len = u32::from(total) - IPV4_HEADER_LEN as u32;
    let acc = sum16(sum16(0, &p[12..20]) + u32::from(PROTO_TCP) + tcp_len, &p[IPV4_HEADER_LEN..]);
    p[IPV4_HEADER_LEN + 16..IPV4_HEADER_LEN + 18].copy_from_slice(&fold(acc).to_be_bytes());
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tcp_segment_has_checksums_that_sum_to_zero() {
        let from = SocketAddrV4::new([10, 0, 0, 2].into(), 40000);
        let to = SocketAddrV4::new([10, 0, 0, 1].into(), 5001);
        let p = tcp4_segment(from, to, 7, 1000, b"payload");
        assert_eq!(p.len(), 47);
        assert_eq!(checksum(&p[..IPV4_HEADER_LEN]), 0);
        let tcp_len = (p.len() - IPV4_HEADER_LEN) as u32;
        let acc = sum16(sum16(0, &p[12..20]) + u32::from(PROTO_TCP) + tcp_len, &p[IPV4_HEADER_LEN..]);
        assert_eq!(fold(acc), 0);
        assert_eq!(&p[24..28], &1000u32.to_be_bytes());
        assert_eq!(&p[40..], b"payload");
    }

    #[test]
    fn a_udp_packet_has_a_header_checksum_that_sums_to_zero() {
        let from = SocketAddrV4::new([10, 0, 0, 2].into(), 9);
        let to = SocketAddrV4::new([10, 0, 0, 1].into(), 4242);
        let p = Udp4::new(from, to).packet(b"hello");
        assert_eq!(p.len(), 33);
        assert_eq!(u16::from_be_bytes([p[2], p[3]]), 33);
        // A header with its checksum in place sums to all ones.
        assert_eq!(checksum(&p[..IPV4_HEADER_LEN]), 0);
        assert_eq!(&p[20..26], &[0, 9, 0x10, 0x92, 0, 13]);
        assert_eq!(&p[28..], b"hello");
        assert_eq!(p[6], 0);
        assert_eq!(Udp4::new(from, to).dont_fragment().packet(b"")[6], DONT_FRAGMENT);
        // With its UDP checksum, the pseudo-header and datagram sum to all ones.
        let p = Udp4::new(from, to).with_checksum().packet(b"hello");
        assert_ne!(&p[26..28], &[0, 0]);
        let acc = sum16(sum16(0, &p[12..20]) + u32::from(PROTO_UDP) + 13, &p[20..]);
        assert_eq!(fold(acc), 0);
    }

    #[test]
    fn the_checksum_pads_an_odd_byte_and_folds_the_carry() {
        // RFC 1071's example words, and an odd tail.
        assert_eq!(fold(sum16(0, &[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])), !0xddf2);
        assert_eq!(sum16(0, &[0x12]), 0x1200);
        assert_eq!(bare_ipv4(28)[..4], [0x45, 0, 0, 28]);
    }
}
