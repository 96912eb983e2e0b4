//! Whole GSO packets, neither split nor merged
//! ([`Device::recv_gso`](crate::Device::recv_gso),
//! [`Device::send_gso`](crate::Device::send_gso)): the `virtio_net_hdr` of
//! a packet as a [`Segmentation`], checked against the packet's own
//! headers, and the header a packet to be written needs.

use super::split::{check_gso, finish_checksum};
use super::vnet::{Gso, UDP_GSO_KNOWN, VnetHeader};
use super::wire::{self, Transport};
use crate::batch::Segmentation;
use crate::error::{Detail, Error, ErrorKind, Op};

fn invalid(why: &'static str) -> Error {
    Error::invalid(Op::Send, ErrorKind::InvalidInput, Detail::Static(why))
}

/// What a packet read whole (`hdr`, then `packet`) is. A GSO packet's header
/// must agree with the packet ([`check_gso`]); a plain packet whose checksum
/// the kernel left to finish (`NEEDS_CSUM`) gets it, in place.
pub(crate) fn received(hdr: &VnetHeader, packet: &mut [u8]) -> Result<Segmentation, Error> {
    let segment_size = hdr.gso_size;
    match hdr.gso {
        Gso::None => {
            if hdr.needs_csum {
                finish_checksum(hdr, packet)?;
            }
            return Ok(Segmentation::None);
        }
        Gso::TcpV4 | Gso::TcpV6 | Gso::UdpL4 => {}
    }
    check_gso(hdr, packet)?;
    if !hdr.needs_csum {
        let why = "virtio_net_hdr: a GSO packet whose checksum is not left to finish (no NEEDS_CSUM)";
        return Err(Error::invalid(Op::Recv, ErrorKind::InvalidInput, Detail::Static(why)));
    }
    Ok(match hdr.gso {
        Gso::UdpL4 => Segmentation::Udp { segment_size },
        _ => Segmentation::Tcp { segment_size, ecn: hdr.ecn },
    })
}

/// The header that makes the kernel take `packet` as `segmentation` says:
/// for a GSO packet, its headers parsed and checked against it (TCP for
/// [`Segmentation::Tcp`], UDP for [`Segmentation::Udp`], a segment size
/// above 0, payload beyond the headers), and the transport checksum marked
/// as left to finish at its place (`NEEDS_CSUM`, `csum_start` the transport
/// header): the kernel completes it in every segment it makes.
pub(crate) fn header_for(packet: &[u8], segmentation: Segmentation) -> Result<VnetHeader, Error> {
    let (segment_size, want, ecn) = match segmentation {
        Segmentation::None => return Ok(VnetHeader::default()),
        Segmentation::Tcp { segment_size, ecn } => (segment_size, Transport::Tcp, ecn),
        Segmentation::Udp { segment_size } => (segment_size, Transport::Udp, false),
    };
    if segment_size == 0 {
        return Err(invalid("a GSO packet with a segment size of 0"));
    }
    let h = wire::parse(packet).map_err(|why| invalid(why).about("a GSO packet"))?;
    if h.transport != want {
        return Err(invalid("the segmentation asked for is not the packet's transport protocol (TCP or UDP)"));
    }
    if h.end != packet.len() {
        return Err(invalid("the packet's IP length is not its length"));
    }
    if h.end == h.len() {
        return Err(invalid("a GSO packet with no payload"));
    }
    let gso = match (want, h.v6) {
        (Transport::Tcp, false) => Gso::TcpV4,
        (Transport::Tcp, true) => Gso::TcpV6,
        (Transport::Udp, _) if UDP_GSO_KNOWN => Gso::UdpL4,
        (Transport::Udp, _) => {
            return Err(invalid("UDP GSO: the headers utun was built with lack VIRTIO_NET_HDR_GSO_UDP_L4"));
        }
    };
    let hdr_len = u16::try_from(h.len()).map_err(|_| invalid("headers longer than 64 KiB"))?;
    Ok(VnetHeader {
        needs_csum: true,
        data_valid: false,
        gso,
        ecn,
        hdr_len,
        gso_size: segment_size,
        csum_start: h.ip_len as u16,
        csum_offset: h.transport.checksum_offset() as u16,
    })
}
