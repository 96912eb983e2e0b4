//! Receive side: one packet read from a tun device opened with
//! `IFF_VNET_HDR` (its `virtio_net_hdr` already parsed) becomes the plain IP
//! packets it stands for, with every header and checksum as the wire wants
//! them, written into the caller's buffers. No allocation.
//!
//! What the kernel hands over (`tun_put_user` → `virtio_net_hdr_from_skb`):
//! a GSO packet has `NEEDS_CSUM` set, its transport checksum holds only the
//! pseudo-header sum of the whole packet, and its IPv4 header checksum may be
//! stale; every segment's checksums are computed here in full. `hdr_len` is
//! checked against the packet but not relied on: the headers are parsed
//! (wireguard-go's tun/offload_linux.go notes that the kernel can report the
//! whole first segment as `hdr_len` on the forwarding path).

use super::checksum::{Sum, pseudo_header};
use super::vnet::{Gso, VnetHeader};
use super::wire::{self, Headers, Transport};
use crate::error::{Detail, Error, ErrorKind, Op};

fn invalid(why: &'static str) -> Error {
    Error::invalid(Op::Recv, ErrorKind::InvalidInput, Detail::Static(why))
}

fn too_small(len: usize, limit: usize, what: &'static str) -> Error {
    Error::invalid(Op::Recv, ErrorKind::BufferTooSmall, Detail::Len { len, limit }).about(what)
}

/// How many packets [`split`] makes of `packet` (1 for a plain packet), or
/// why the header and packet do not describe a GSO packet it can split.
// Used by the tests (the device lets `split` count).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn segment_count(hdr: &VnetHeader, packet: &[u8]) -> Result<usize, Error> {
    if hdr.gso == Gso::None {
        return Ok(1);
    }
    let h = check_gso(hdr, packet)?;
    Ok(count(h.end - h.len(), usize::from(hdr.gso_size)))
}

fn count(payload: usize, mss: usize) -> usize {
    payload.div_ceil(mss).max(1)
}

/// Splits one packet (`hdr`, then `packet`, as the device read them) into
/// plain IP packets: packet `i` goes at the start of `out[i]`, its length in
/// `sizes[i]`. Returns how many were written.
///
/// * `Gso::None`: the packet is copied as it is; with `needs_csum`, its
///   checksum is finished ([`finish_checksum`]).
/// * TCP: each segment gets `gso_size` payload bytes (the last what is left),
///   the IP header (IPv4: total length, identification + i, header checksum;
///   IPv6: payload length), the sequence number advanced by the payload
///   before it, FIN and PSH on the last segment only, CWR on the first only,
///   and a full TCP checksum.
/// * UDP: each datagram gets `gso_size` payload bytes, its own UDP length and
///   a full checksum.
///
/// Errors (`Op::Recv`): a malformed header or packet is `InvalidInput`, with
/// the reason; too few buffers, or one too short, `BufferTooSmall` (nothing
/// useful is left in `out` then). Never panics.
pub(crate) fn split<B: AsMut<[u8]>>(
    hdr: &VnetHeader,
    packet: &[u8],
    out: &mut [B],
    sizes: &mut [usize],
) -> Result<usize, Error> {
    let slots = out.len().min(sizes.len());
    if slots == 0 {
        return Err(too_small(1, 0, "no buffer to split into"));
    }
    if hdr.gso == Gso::None {
        let buf = out[0].as_mut();
        let Some(dst) = buf.get_mut(..packet.len()) else {
            return Err(too_small(buf.len(), packet.len(), "a buffer is shorter than the packet"));
        };
        dst.copy_from_slice(packet);
        if hdr.needs_csum {
            finish_checksum(hdr, dst)?;
        }
        sizes[0] = packet.len();
        return Ok(1);
    }
    let h = check_gso(hdr, packet)?;
    let mss = usize::from(hdr.gso_size);
    let headers = h.len();
    let payload = &packet[headers..h.end];
    let n = count(payload.len(), mss);
    if n > slots {
        return Err(too_small(slots, n, "fewer buffers than segments"));
    }
    let proto = h.transport.protocol();
    let first_id = wire::be16(packet, wire::V4_ID);
    let first_seq = wire::be32(packet, h.ip_len + wire::TCP_SEQ);
    for (i, chunk) in payload.chunks(mss).chain(payload.is_empty().then_some(&[][..])).enumerate() {
        let len = headers + chunk.len();
        let buf = out[i].as_mut();
        let Some(seg) = buf.get_mut(..len) else {
            return Err(too_small(buf.len(), len, "a buffer is shorter than a segment"));
        };
        seg[..headers].copy_from_slice(&packet[..headers]);
        seg[headers..].copy_from_slice(chunk);
        let last = i + 1 == n;
        if h.v6 {
            wire::put16(seg, wire::V6_PAYLOAD_LEN, (len - h.ip_len) as u16);
        } else {
            wire::put16(seg, wire::V4_TOTAL_LEN, len as u16);
            wire::put16(seg, wire::V4_ID, first_id.wrapping_add(i as u16));
            wire::put16(seg, wire::V4_CHECKSUM, 0);
            let c = Sum::default().add(&seg[..h.ip_len]).checksum();
            wire::put16(seg, wire::V4_CHECKSUM, c);
        }
        let l4 = &mut seg[h.ip_len..];
        match h.transport {
            Transport::Tcp => {
                wire::put32(l4, wire::TCP_SEQ, first_seq.wrapping_add((i * mss) as u32));
                let mut flags = l4[wire::TCP_FLAGS];
                if !last {
                    flags &= !(wire::TCP_FIN | wire::TCP_PSH);
                }
                if i > 0 {
                    flags &= !wire::TCP_CWR;
                }
                l4[wire::TCP_FLAGS] = flags;
            }
            Transport::Udp => wire::put16(l4, wire::UDP_LEN, l4.len() as u16),
        }
        let at = h.transport.checksum_offset();
        wire::put16(l4, at, 0);
        let c = pseudo_header(h.addrs(seg), proto, len - h.ip_len).add(&seg[h.ip_len..]).checksum();
        // UDP sends a computed 0 as all ones (RFC 768); for TCP both mean the same.
        wire::put16(&mut seg[h.ip_len..], at, if c == 0 { 0xffff } else { c });
        sizes[i] = len;
    }
    Ok(n)
}

/// Finishes the checksum of a plain packet the kernel marked `NEEDS_CSUM`:
/// the sum of everything from `csum_start` to the end (the checksum field
/// already holds the pseudo-header sum) goes, complemented, at
/// `csum_start + csum_offset`, as the kernel's `skb_checksum_help` would
/// (a computed 0 is stored as all ones). In place, no copy.
pub(crate) fn finish_checksum(hdr: &VnetHeader, packet: &mut [u8]) -> Result<(), Error> {
    let start = usize::from(hdr.csum_start);
    let at = start + usize::from(hdr.csum_offset);
    if at + 2 > packet.len() {
        return Err(invalid("virtio_net_hdr: csum_start + csum_offset is beyond the packet"));
    }
    let c = Sum::default().add(&packet[start..]).checksum();
    wire::put16(packet, at, if c == 0 { 0xffff } else { c });
    Ok(())
}

/// Checks a GSO header against its packet, and parses the packet's headers.
pub(crate) fn check_gso(hdr: &VnetHeader, packet: &[u8]) -> Result<Headers, Error> {
    if hdr.gso_size == 0 {
        return Err(invalid("virtio_net_hdr: gso_size 0 on a GSO packet"));
    }
    if usize::from(hdr.hdr_len) > packet.len() {
        return Err(invalid("virtio_net_hdr: hdr_len is beyond the packet"));
    }
    let h = wire::parse(packet).map_err(|why| invalid(why).about("a GSO packet"))?;
    match (hdr.gso, h.v6, h.transport) {
        (Gso::TcpV4, false, Transport::Tcp) | (Gso::TcpV6, true, Transport::Tcp) | (Gso::UdpL4, _, Transport::Udp) => {}
        _ => return Err(invalid("virtio_net_hdr: gso_type does not match the packet's IP version and protocol")),
    }
    if hdr.needs_csum
        && (usize::from(hdr.csum_start) != h.ip_len || usize::from(hdr.csum_offset) != h.transport.checksum_offset())
    {
        return Err(invalid("virtio_net_hdr: csum_start/csum_offset do not point at the transport checksum"));
    }
    Ok(h)
}
