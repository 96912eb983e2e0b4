//! The IP, TCP and UDP header fields the offload code reads and writes, at
//! their wire offsets (RFC 791 IPv4, RFC 8200 IPv6, RFC 9293 TCP, RFC 768
//! UDP: protocol facts, like `packet.rs`'s lengths, not kernel values; the
//! protocol numbers come from `utun_sys`), and the parse of one packet's
//! headers. Big-endian, bounds-checked, never panics.

use crate::packet::{V4_HEADER, V6_HEADER};

pub(crate) use utun_sys::linux::{IPPROTO_TCP, IPPROTO_UDP};

// IPv4 (RFC 791 §3.1).
pub(crate) const V4_TOS: usize = 1;
pub(crate) const V4_TOTAL_LEN: usize = 2;
pub(crate) const V4_ID: usize = 4;
/// Flags (3 bits) and fragment offset (13 bits).
pub(crate) const V4_FRAG: usize = 6;
pub(crate) const V4_TTL: usize = 8;
pub(crate) const V4_PROTOCOL: usize = 9;
pub(crate) const V4_CHECKSUM: usize = 10;
/// Source then destination address, 4 bytes each.
pub(crate) const V4_ADDRS: usize = 12;
/// "Don't fragment", in the big-endian flags/offset word.
pub(crate) const V4_DF: u16 = 0x4000;
/// "More fragments" and the fragment offset: a fragment when any is set.
pub(crate) const V4_MF_OFFSET: u16 = 0x3fff;

// IPv6 (RFC 8200 §3).
pub(crate) const V6_PAYLOAD_LEN: usize = 4;
pub(crate) const V6_NEXT_HEADER: usize = 6;
pub(crate) const V6_HOP_LIMIT: usize = 7;
/// Source then destination address, 16 bytes each.
pub(crate) const V6_ADDRS: usize = 8;

// TCP (RFC 9293 §3.1).
pub(crate) const TCP_SEQ: usize = 4;
pub(crate) const TCP_ACK: usize = 8;
/// Data offset (high nibble, in 32-bit words).
pub(crate) const TCP_DATA_OFFSET: usize = 12;
pub(crate) const TCP_FLAGS: usize = 13;
pub(crate) const TCP_CHECKSUM: usize = 16;
pub(crate) const TCP_MIN_HEADER: usize = 20;
pub(crate) const TCP_FIN: u8 = 0x01;
pub(crate) const TCP_PSH: u8 = 0x08;
pub(crate) const TCP_ACK_FLAG: u8 = 0x10;
pub(crate) const TCP_CWR: u8 = 0x80;

// UDP (RFC 768).
pub(crate) const UDP_LEN: usize = 4;
pub(crate) const UDP_CHECKSUM: usize = 6;
pub(crate) const UDP_HEADER: usize = 8;

/// The largest IPv4 total length / IPv6 payload length (no jumbograms).
pub(crate) const MAX_LEN_FIELD: usize = u16::MAX as usize;

/// The transport protocol of a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    Tcp,
    Udp,
}

impl Transport {
    /// Its IP protocol number.
    pub(crate) fn protocol(self) -> u8 {
        match self {
            Transport::Tcp => IPPROTO_TCP,
            Transport::Udp => IPPROTO_UDP,
        }
    }

    /// Where its checksum sits in its header.
    pub(crate) fn checksum_offset(self) -> usize {
        match self {
            Transport::Tcp => TCP_CHECKSUM,
            Transport::Udp => UDP_CHECKSUM,
        }
    }
}

/// Where the headers of one TCP or UDP packet are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Headers {
    pub(crate) v6: bool,
    /// IP header length (IPv4 with options, IPv6's fixed 40 bytes).
    pub(crate) ip_len: usize,
    pub(crate) transport: Transport,
    /// TCP (data offset) or UDP (8) header length.
    pub(crate) l4_len: usize,
    /// The packet's length as its IP header states it (what follows is not part of it).
    pub(crate) end: usize,
}

impl Headers {
    /// IP and transport headers together: where the payload starts.
    pub(crate) fn len(&self) -> usize {
        self.ip_len + self.l4_len
    }

    /// The source and destination addresses, as they sit in the IP header.
    pub(crate) fn addrs<'a>(&self, packet: &'a [u8]) -> &'a [u8] {
        let (at, len) = if self.v6 { (V6_ADDRS, 32) } else { (V4_ADDRS, 8) };
        packet.get(at..at + len).unwrap_or(&[])
    }
}

/// Reads a big-endian `u16` at `at`, `0` when out of bounds (callers check
/// lengths first; this keeps a mistake from being a panic).
#[inline]
pub(crate) fn be16(packet: &[u8], at: usize) -> u16 {
    match packet.get(at..at + 2) {
        Some(b) => u16::from_be_bytes([b[0], b[1]]),
        None => 0,
    }
}

/// Reads a big-endian `u32` at `at`, `0` when out of bounds.
#[inline]
pub(crate) fn be32(packet: &[u8], at: usize) -> u32 {
    match packet.get(at..at + 4) {
        Some(b) => u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        None => 0,
    }
}

/// Writes a big-endian `u16` at `at` (nothing when out of bounds).
#[inline]
pub(crate) fn put16(packet: &mut [u8], at: usize, value: u16) {
    if let Some(b) = packet.get_mut(at..at + 2) {
        b.copy_from_slice(&value.to_be_bytes());
    }
}

/// Writes a big-endian `u32` at `at` (nothing when out of bounds).
#[inline]
pub(crate) fn put32(packet: &mut [u8], at: usize, value: u32) {
    if let Some(b) = packet.get_mut(at..at + 4) {
        b.copy_from_slice(&value.to_be_bytes());
    }
}

/// Parses the IP and TCP/UDP headers of `packet`, or says why it cannot:
/// not IPv4/IPv6, cut short, a fragment, an IPv6 extension header (not
/// supported: the transport header must follow the fixed header), or a
/// protocol other than TCP and UDP. IPv4 options are accepted.
pub(crate) fn parse(packet: &[u8]) -> Result<Headers, &'static str> {
    let Some(&first) = packet.first() else {
        return Err("empty packet");
    };
    let (v6, ip_len, protocol, end) = match first >> 4 {
        4 => {
            if packet.len() < V4_HEADER {
                return Err("shorter than the IPv4 header");
            }
            let ihl = usize::from(first & 0x0f) * 4;
            if ihl < V4_HEADER {
                return Err("IPv4 header length below 20 bytes");
            }
            if be16(packet, V4_FRAG) & V4_MF_OFFSET != 0 {
                return Err("an IPv4 fragment");
            }
            (false, ihl, packet[V4_PROTOCOL], usize::from(be16(packet, V4_TOTAL_LEN)))
        }
        6 => {
            if packet.len() < V6_HEADER {
                return Err("shorter than the IPv6 header");
            }
            (true, V6_HEADER, packet[V6_NEXT_HEADER], V6_HEADER + usize::from(be16(packet, V6_PAYLOAD_LEN)))
        }
        _ => return Err("not an IPv4 or IPv6 packet"),
    };
    if end > packet.len() {
        return Err("cut short: the IP header states more bytes than the packet has");
    }
    if ip_len > end {
        return Err("the IPv4 header is longer than the packet");
    }
    let transport = if protocol == IPPROTO_TCP {
        Transport::Tcp
    } else if protocol == IPPROTO_UDP {
        Transport::Udp
    } else if v6 {
        return Err("not TCP or UDP right after the IPv6 header (extension headers are not supported)");
    } else {
        return Err("not TCP or UDP");
    };
    let l4_len = match transport {
        Transport::Tcp => {
            let Some(&offset) = packet.get(ip_len + TCP_DATA_OFFSET) else {
                return Err("cut short in the TCP header");
            };
            let len = usize::from(offset >> 4) * 4;
            if len < TCP_MIN_HEADER {
                return Err("TCP data offset below 20 bytes");
            }
            len
        }
        Transport::Udp => UDP_HEADER,
    };
    if ip_len + l4_len > end {
        return Err("cut short in the transport header");
    }
    Ok(Headers { v6, ip_len, transport, l4_len, end })
}
