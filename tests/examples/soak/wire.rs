//! The soak's packets: IPv4/UDP from a host behind one device to a host
//! behind the other, each carrying its direction, its sequence number, a
//! checksum of its body and a body that is a function of the sequence
//! number, so that the receiver can rebuild the exact packet that was sent
//! and compare every byte.

use std::net::Ipv4Addr;

use utun_tests::packet::{IPV4_HEADER_LEN, UDP_HEADER_LEN, checksum};

/// The first bytes of every soak payload.
pub const MAGIC: [u8; 4] = *b"SOAK";
/// The bytes before the body: magic, direction, 3 zero bytes, sequence
/// number (little-endian u64), FNV-1a-64 of the body.
const PAYLOAD_HEADER: usize = 24;
/// The smallest packet.
const MIN_LEN: usize = IPV4_HEADER_LEN + UDP_HEADER_LEN + PAYLOAD_HEADER;
/// The largest packet (below the devices' MTU of 1500).
pub const MAX_LEN: usize = 1400;
/// The IP protocol number of UDP.
const PROTO_UDP: u8 = libc::IPPROTO_UDP as u8;

/// A direction through the pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Direction {
    /// Its name in the report.
    pub name: &'static str,
    /// Its number in each payload.
    pub id: u8,
    /// The packets' source (behind the device they are written into).
    pub src: Ipv4Addr,
    /// The packets' destination (behind the device they come out of).
    pub dst: Ipv4Addr,
}

/// A 64-bit xorshift step: the body's bytes and each packet's length.
fn xorshift(mut x: u64) -> u64 {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}

/// FNV-1a, 64 bits.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The length of packet `seq` of direction `id`: from [`MIN_LEN`] to [`MAX_LEN`].
fn length(id: u8, seq: u64) -> usize {
    let span = (MAX_LEN - MIN_LEN + 1) as u64;
    MIN_LEN + (xorshift(seq.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(id) ^ 1) % span) as usize
}

/// Writes packet `seq` of `dir` into `buf` (at least [`MAX_LEN`] bytes);
/// returns its length. Allocates nothing.
pub fn build(dir: &Direction, seq: u64, buf: &mut [u8]) -> usize {
    let len = length(dir.id, seq);
    let p = &mut buf[..len];
    p[..IPV4_HEADER_LEN].fill(0);
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    // The low bits of the sequence number as the IP identification.
    p[4..6].copy_from_slice(&(seq as u16).to_be_bytes());
    p[8] = 64;
    p[9] = PROTO_UDP;
    p[12..16].copy_from_slice(&dir.src.octets());
    p[16..20].copy_from_slice(&dir.dst.octets());
    let sum = checksum(&p[..IPV4_HEADER_LEN]);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    let udp = &mut p[IPV4_HEADER_LEN..];
    udp[0..2].copy_from_slice(&40000u16.to_be_bytes());
    udp[2..4].copy_from_slice(&9u16.to_be_bytes()); // discard
    udp[4..6].copy_from_slice(&((len - IPV4_HEADER_LEN) as u16).to_be_bytes());
    udp[6..8].fill(0); // no UDP checksum (optional over IPv4)
    let payload = &mut udp[UDP_HEADER_LEN..];
    payload[..4].copy_from_slice(&MAGIC);
    payload[4] = dir.id;
    payload[5..8].fill(0);
    payload[8..16].copy_from_slice(&seq.to_le_bytes());
    let mut x = (seq ^ (u64::from(dir.id) << 56)) | 1;
    for chunk in payload[PAYLOAD_HEADER..].chunks_mut(8) {
        x = xorshift(x);
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    let body = fnv1a(&payload[PAYLOAD_HEADER..]);
    payload[16..24].copy_from_slice(&body.to_le_bytes());
    len
}

/// What a packet read from a device was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Packet `seq` of the direction, every byte as sent, after one
    /// forwarding hop (TTL one less, header checksum valid).
    Intact(u64),
    /// A soak packet of the direction whose bytes differ from what was sent.
    Corrupted,
    /// Not a soak packet of this direction at all.
    Foreign,
}

/// Checks `got` (read from the device `dir`'s packets come out of) against
/// the packet it claims to be, rebuilt in `scratch`.
pub fn check(dir: &Direction, got: &[u8], scratch: &mut [u8]) -> Verdict {
    let at = IPV4_HEADER_LEN + UDP_HEADER_LEN;
    if got.len() < MIN_LEN || got[0] != 0x45 || got[9] != PROTO_UDP || got[at..at + 4] != MAGIC {
        return Verdict::Foreign;
    }
    if got[at + 4] != dir.id {
        return Verdict::Foreign;
    }
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&got[at + 8..at + 16]);
    let seq = u64::from_le_bytes(seq);
    let len = build(dir, seq, scratch);
    let sent = &scratch[..len];
    let forwarded = got.len() == len
        && got[..8] == sent[..8]
        && got[8] == sent[8].wrapping_sub(1)
        && got[9] == sent[9]
        && got[12..] == sent[12..]
        && checksum(&got[..IPV4_HEADER_LEN]) == 0;
    let body_sum = fnv1a(&got[at + PAYLOAD_HEADER..]).to_le_bytes();
    if forwarded && got[at + 16..at + 24] == body_sum { Verdict::Intact(seq) } else { Verdict::Corrupted }
}

/// The sequence numbers seen, once each.
pub struct Seen {
    bits: Vec<u64>,
}

impl Seen {
    /// Room for `n` sequence numbers (rounded up to a multiple of 64).
    pub fn new(n: u64) -> Seen {
        Seen { bits: vec![0; usize::try_from(n.div_ceil(64)).unwrap_or(usize::MAX)] }
    }

    /// Marks `seq`; whether it was new. A number outside the room is never new.
    pub fn insert(&mut self, seq: u64) -> bool {
        let Some(word) = usize::try_from(seq / 64).ok().and_then(|w| self.bits.get_mut(w)) else { return false };
        let bit = 1u64 << (seq % 64);
        let new = *word & bit == 0;
        *word |= bit;
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIR: Direction =
        Direction { name: "t", id: 7, src: Ipv4Addr::new(198, 18, 1, 2), dst: Ipv4Addr::new(198, 18, 2, 2) };

    fn forwarded(p: &mut [u8]) {
        p[8] -= 1;
        p[10..12].fill(0);
        let sum = checksum(&p[..IPV4_HEADER_LEN]);
        p[10..12].copy_from_slice(&sum.to_be_bytes());
    }

    #[test]
    fn a_forwarded_packet_is_intact_and_any_changed_byte_is_caught() {
        let mut buf = [0u8; MAX_LEN];
        let mut scratch = [0u8; MAX_LEN];
        for seq in [0, 1, 77, 1 << 40] {
            let len = build(&DIR, seq, &mut buf);
            assert!((MIN_LEN..=MAX_LEN).contains(&len));
            let mut p = buf[..len].to_vec();
            forwarded(&mut p);
            assert_eq!(check(&DIR, &p, &mut scratch), Verdict::Intact(seq));
            for at in [20, 30, 40, len - 1] {
                let mut bad = p.clone();
                bad[at] ^= 0x10;
                assert_ne!(check(&DIR, &bad, &mut scratch), Verdict::Intact(seq), "byte {at}");
            }
            // Unforwarded (TTL unchanged): not what came out of the kernel.
            assert_eq!(check(&DIR, &buf[..len], &mut scratch), Verdict::Corrupted);
        }
    }

    #[test]
    fn each_sequence_number_is_new_once() {
        let mut seen = Seen::new(128);
        assert!(seen.insert(127) && !seen.insert(127) && seen.insert(0) && !seen.insert(128));
    }
}
