//! Checks on the packets the API takes and gives: plain IPv4 or IPv6 packets.
//! Nothing here allocates: this is the per-packet path.

use crate::error::{Detail, Error, ErrorKind, Op};

/// The IP version of a packet, from its first nibble.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpVersion {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

/// Fixed IPv4 header length (no options).
pub(crate) const V4_HEADER: usize = 20;
/// Fixed IPv6 header length.
pub(crate) const V6_HEADER: usize = 40;
/// The largest IPv4 packet: its 16-bit total-length field.
const V4_MAX: usize = u16::MAX as usize;
/// The largest IPv6 packet without jumbograms: header plus 16-bit payload length.
const V6_MAX: usize = V6_HEADER + u16::MAX as usize;

fn malformed(op: Op, detail: Detail) -> Error {
    Error::invalid(op, ErrorKind::MalformedPacket, detail)
}

/// Checks a packet before it is written: an IPv4 or IPv6 packet, not cut
/// short of what its header says, and no larger than IP can carry. Returns
/// its version, which chooses the family header.
#[inline]
pub fn check_outgoing(packet: &[u8]) -> Result<IpVersion, Error> {
    // The common case, decided with two branches rather than six: this runs
    // once per packet right after a system call, when branch history is
    // cold. Anything it does not accept goes to the full check, which says why.
    let len = packet.len();
    if len < V4_HEADER {
        return check_outgoing_in_full(packet);
    }
    let (version, v6, total) = stated_len(packet);
    let max = V4_MAX + (V6_MAX - V4_MAX) * v6;
    // No separate header-length test: IPv4's 20 bytes are there (above), and
    // an IPv6 `total` is at least its 40-byte header.
    let ok = ((version == 4) | (v6 == 1)) & (len <= max) & (total <= len);
    if !ok {
        return check_outgoing_in_full(packet);
    }
    Ok(if v6 == 1 { IpVersion::V6 } else { IpVersion::V4 })
}

/// The version nibble, whether it is 6 (as 0 or 1), and the length the IP
/// header states, for a packet of at least [`V4_HEADER`] bytes (the caller
/// checks). IPv4's total length is at 2..4; IPv6's payload length at 4..6,
/// and leaves out the 40-byte header. Arithmetic, not branches: this is the
/// per-packet fast path of both directions.
#[inline(always)]
pub(crate) fn stated_len(packet: &[u8]) -> (u8, usize, usize) {
    let version = packet[0] >> 4;
    let v6 = usize::from(version == 6);
    let at = 2 + 2 * v6;
    let total = usize::from(u16::from_be_bytes([packet[at], packet[at + 1]])) + V6_HEADER * v6;
    (version, v6, total)
}

/// [`check_outgoing`], every case, with the reason for a refusal.
#[cold]
#[inline(never)]
fn check_outgoing_in_full(packet: &[u8]) -> Result<IpVersion, Error> {
    let Some(&first) = packet.first() else {
        return Err(malformed(Op::Send, Detail::Static("empty packet")));
    };
    let (version, header, max, stated) = match first >> 4 {
        4 => (IpVersion::V4, V4_HEADER, V4_MAX, 2..4),
        6 => (IpVersion::V6, V6_HEADER, V6_MAX, 4..6),
        v => return Err(malformed(Op::Send, Detail::Version(v))),
    };
    if packet.len() > max {
        return Err(Error::invalid(Op::Send, ErrorKind::PacketTooLarge, Detail::Len { len: packet.len(), limit: max }));
    }
    if packet.len() < header {
        return Err(malformed(Op::Send, Detail::Static("shorter than the IP header")));
    }
    let field = u16::from_be_bytes([packet[stated.start], packet[stated.start + 1]]) as usize;
    let total = if version == IpVersion::V4 { field } else { V6_HEADER + field };
    if total > packet.len() {
        return Err(malformed(
            Op::Send,
            Detail::Static("cut short: the IP header states more bytes than the packet has"),
        ));
    }
    Ok(version)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal well-formed IPv4 packet of `len` bytes (header fields only as
    /// far as the checks read them).
    pub(crate) fn v4(len: usize) -> Vec<u8> {
        let mut p = vec![0u8; len];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        p
    }

    /// A minimal IPv6 packet of `len` bytes.
    pub(crate) fn v6(len: usize) -> Vec<u8> {
        let mut p = vec![0u8; len];
        p[0] = 0x60;
        p[4..6].copy_from_slice(&((len - V6_HEADER) as u16).to_be_bytes());
        p
    }

    #[test]
    fn good_packets_pass() {
        assert_eq!(check_outgoing(&v4(20)).unwrap(), IpVersion::V4);
        assert_eq!(check_outgoing(&v4(1500)).unwrap(), IpVersion::V4);
        assert_eq!(check_outgoing(&v6(40)).unwrap(), IpVersion::V6);
        assert_eq!(check_outgoing(&v6(1280)).unwrap(), IpVersion::V6);
    }

    #[test]
    fn the_fast_path_agrees_with_the_full_check() {
        let mut packets = vec![v4(20), v4(1500), v6(40), v6(1280), vec![0x45; 19], vec![0x60; 39], vec![0x45; 70000]];
        for len in [0, 1, 4, 19, 20, 21, 39, 40, 41, 100] {
            for first in [0x00, 0x45, 0x4f, 0x55, 0x60, 0x6f, 0xf0] {
                for stated in [0u16, 19, 20, 40, 60, 100, 0xffff] {
                    let mut p = vec![0u8; len];
                    if let Some(b) = p.first_mut() {
                        *b = first;
                    }
                    for (i, b) in stated.to_be_bytes().into_iter().enumerate() {
                        if let Some(slot) = p.get_mut(2 + i) {
                            *slot = b;
                        }
                        if first >> 4 == 6 {
                            if let Some(slot) = p.get_mut(4 + i) {
                                *slot = b;
                            }
                        }
                    }
                    packets.push(p);
                }
            }
        }
        for p in &packets {
            let fast = check_outgoing(p).map_err(|e| e.to_string());
            let full = check_outgoing_in_full(p).map_err(|e| e.to_string());
            assert_eq!(fast, full, "{p:?}");
        }
    }

    #[test]
    fn bad_packets_get_typed_errors() {
        let kind = |p: &[u8]| check_outgoing(p).unwrap_err().kind();
        assert_eq!(kind(&[]), ErrorKind::MalformedPacket);
        assert_eq!(kind(&[0x45; 10]), ErrorKind::MalformedPacket);
        assert_eq!(kind(&v4(60)[..40]), ErrorKind::MalformedPacket);
        assert_eq!(kind(&v6(100)[..60]), ErrorKind::MalformedPacket);
        let mut other = v4(40);
        other[0] = 0x55;
        assert_eq!(kind(&other), ErrorKind::MalformedPacket);
        assert!(check_outgoing(&other).unwrap_err().to_string().contains("IP version 5"));
        assert_eq!(kind(&vec![0x45; V4_MAX + 1]), ErrorKind::PacketTooLarge);
        assert_eq!(kind(&vec![0x60; V6_MAX + 1]), ErrorKind::PacketTooLarge);
    }
}
