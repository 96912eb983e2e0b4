//! The `virtio_net_hdr` that precedes every packet on a tun device opened
//! with `IFF_VNET_HDR`, read and written field by field at bindgen's
//! offsets.
//!
//! Byte order: the kernel's tun driver reads and writes the header's 16-bit
//! fields in "virtio" order, which is little-endian only when `TUNSETVNETLE`
//! asked for it, and otherwise the legacy virtio order: native, unless
//! `TUNSETVNETBE` asked for big-endian on a kernel built with
//! `CONFIG_TUN_VNET_CROSS_LE` (drivers/net/tun_vnet.h:
//! `tun_vnet_is_little_endian`, `tun_vnet_legacy_is_little_endian`;
//! include/linux/virtio_byteorder.h: `virtio_legacy_is_little_endian`, true
//! exactly on `__LITTLE_ENDIAN` hosts). utun sets neither, so the fields are
//! native-endian, which is what `codec::field` reads and writes.

use core::mem::size_of;

use utun_sys::linux::{
    VIRTIO_NET_HDR_F_DATA_VALID, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_ECN, VIRTIO_NET_HDR_GSO_NONE,
    VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_HDR_GSO_TCPV6, optional, virtio_net_hdr,
};

use crate::codec::field::{get_fields, put_fields, u8_of};
use crate::error::{Detail, Error, ErrorKind, Op};

/// The header's size: what precedes each packet (`TUNSETVNETHDRSZ` is left at its default, this).
pub(crate) const VNET_HDR_LEN: usize = size_of::<virtio_net_hdr>();

const F_NEEDS_CSUM: u8 = u8_of(VIRTIO_NET_HDR_F_NEEDS_CSUM);
const F_DATA_VALID: u8 = u8_of(VIRTIO_NET_HDR_F_DATA_VALID);
const GSO_NONE: u8 = u8_of(VIRTIO_NET_HDR_GSO_NONE);
const GSO_TCPV4: u8 = u8_of(VIRTIO_NET_HDR_GSO_TCPV4);
const GSO_TCPV6: u8 = u8_of(VIRTIO_NET_HDR_GSO_TCPV6);
const GSO_ECN: u8 = u8_of(VIRTIO_NET_HDR_GSO_ECN);
/// `VIRTIO_NET_HDR_GSO_UDP_L4`, when the headers utun-sys was built with define it (Linux 6.2+).
const GSO_UDP_L4: Option<u8> = match optional::VIRTIO_NET_HDR_GSO_UDP_L4 {
    Some(v) => Some(u8_of(v)),
    None => None,
};

/// True when utun was built with headers that name UDP segmentation
/// offload's GSO type: only then can a UDP GSO packet be read or written.
pub(crate) const UDP_GSO_KNOWN: bool = GSO_UDP_L4.is_some();

// `pub` (in a crate-private module) only so that `__fuzz` can hand them
// to the fuzz targets as they are.

/// What kind of GSO packet follows the header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Gso {
    /// One plain packet.
    #[default]
    None,
    /// TCP over IPv4, `gso_size` bytes of payload a segment.
    TcpV4,
    /// TCP over IPv6.
    TcpV6,
    /// UDP (IPv4 or IPv6), `gso_size` bytes of payload a datagram.
    UdpL4,
}

/// A `virtio_net_hdr`, its fields as numbers (host order) and its flags as booleans.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VnetHeader {
    /// `VIRTIO_NET_HDR_F_NEEDS_CSUM`: the transport checksum holds only the
    /// pseudo-header sum; the sum from `csum_start` goes at `csum_start + csum_offset`.
    pub needs_csum: bool,
    /// `VIRTIO_NET_HDR_F_DATA_VALID`: the kernel checked the checksum already.
    pub data_valid: bool,
    /// What kind of packet follows: plain, or which GSO type.
    pub gso: Gso,
    /// `VIRTIO_NET_HDR_GSO_ECN`: a TCP GSO packet whose first segment carries CWR.
    pub ecn: bool,
    /// Length of the headers (IP and transport), per the sender.
    pub hdr_len: u16,
    /// Payload bytes per segment.
    pub gso_size: u16,
    /// Where the checksummed part starts (the transport header).
    pub csum_start: u16,
    /// Where, from `csum_start`, the checksum field is.
    pub csum_offset: u16,
}

fn invalid(op: Op, why: &'static str) -> Error {
    Error::invalid(op, ErrorKind::InvalidInput, Detail::Static(why))
}

impl VnetHeader {
    /// Reads the header at the start of `bytes` (what the device read): an
    /// unknown flag or GSO type, or ECN on anything but TCP, is an
    /// `InvalidInput` error ([`Op::Recv`]).
    pub(crate) fn parse(bytes: &[u8]) -> Result<VnetHeader, Error> {
        let raw = read_raw(bytes).ok_or_else(|| {
            Error::invalid(Op::Recv, ErrorKind::InvalidInput, Detail::Len { len: bytes.len(), limit: VNET_HDR_LEN })
                .about("the virtio_net_hdr is cut short")
        })?;
        if raw.flags & !(F_NEEDS_CSUM | F_DATA_VALID) != 0 {
            return Err(invalid(Op::Recv, "virtio_net_hdr: unknown flags"));
        }
        let ecn = raw.gso_type & GSO_ECN != 0;
        let kind = raw.gso_type & !GSO_ECN;
        let gso = match kind {
            k if k == GSO_NONE => Gso::None,
            k if k == GSO_TCPV4 => Gso::TcpV4,
            k if k == GSO_TCPV6 => Gso::TcpV6,
            k if Some(k) == GSO_UDP_L4 => Gso::UdpL4,
            _ => return Err(invalid(Op::Recv, "virtio_net_hdr: unknown gso_type")),
        };
        if ecn && !matches!(gso, Gso::TcpV4 | Gso::TcpV6) {
            return Err(invalid(Op::Recv, "virtio_net_hdr: the ECN bit on a gso_type other than TCP"));
        }
        Ok(VnetHeader {
            needs_csum: raw.flags & F_NEEDS_CSUM != 0,
            data_valid: raw.flags & F_DATA_VALID != 0,
            gso,
            ecn,
            hdr_len: raw.hdr_len,
            gso_size: raw.gso_size,
            csum_start: raw.csum_start,
            csum_offset: raw.csum_offset,
        })
    }

    /// Writes the header at the start of `out` ([`VNET_HDR_LEN`] bytes). A
    /// UDP GSO header when the headers utun was built with lack
    /// `VIRTIO_NET_HDR_GSO_UDP_L4`, or an `out` too short, is an error ([`Op::Send`]).
    pub(crate) fn write(&self, out: &mut [u8]) -> Result<(), Error> {
        let Some(out) = out.get_mut(..VNET_HDR_LEN) else {
            return Err(Error::invalid(
                Op::Send,
                ErrorKind::BufferTooSmall,
                Detail::Len { len: out.len(), limit: VNET_HDR_LEN },
            ));
        };
        let kind = match self.gso {
            Gso::None => GSO_NONE,
            Gso::TcpV4 => GSO_TCPV4,
            Gso::TcpV6 => GSO_TCPV6,
            Gso::UdpL4 => GSO_UDP_L4.ok_or_else(|| {
                invalid(Op::Send, "UDP GSO: the headers utun was built with lack VIRTIO_NET_HDR_GSO_UDP_L4")
            })?,
        };
        let raw = virtio_net_hdr {
            flags: if self.needs_csum { F_NEEDS_CSUM } else { 0 } | if self.data_valid { F_DATA_VALID } else { 0 },
            gso_type: kind | if self.ecn { GSO_ECN } else { 0 },
            hdr_len: self.hdr_len,
            gso_size: self.gso_size,
            csum_start: self.csum_start,
            csum_offset: self.csum_offset,
        };
        out.fill(0);
        put_fields!(out, raw, virtio_net_hdr, [flags, gso_type, hdr_len, gso_size, csum_start, csum_offset]);
        Ok(())
    }
}

fn read_raw(bytes: &[u8]) -> Option<virtio_net_hdr> {
    let bytes = bytes.get(..VNET_HDR_LEN)?;
    Some(get_fields!(bytes, virtio_net_hdr, [flags, gso_type, hdr_len, gso_size, csum_start, csum_offset]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_field_by_field() {
        let hdr = VnetHeader {
            needs_csum: true,
            data_valid: false,
            gso: Gso::TcpV6,
            ecn: true,
            hdr_len: 60,
            gso_size: 1440,
            csum_start: 40,
            csum_offset: 16,
        };
        let mut buf = [0xaau8; VNET_HDR_LEN + 3];
        hdr.write(&mut buf).unwrap();
        assert_eq!(VnetHeader::parse(&buf).unwrap(), hdr);
        // The fields sit where the C struct has them, in native order.
        let at = core::mem::offset_of!(virtio_net_hdr, gso_size);
        assert_eq!(u16::from_ne_bytes([buf[at], buf[at + 1]]), 1440);
        assert_eq!(buf[core::mem::offset_of!(virtio_net_hdr, flags)], F_NEEDS_CSUM);
        assert_eq!(buf[VNET_HDR_LEN], 0xaa, "nothing written past the header");
    }

    #[test]
    fn bad_headers_are_typed_errors() {
        assert_eq!(VnetHeader::parse(&[0; VNET_HDR_LEN - 1]).unwrap_err().kind(), ErrorKind::InvalidInput);
        let mut raw = [0u8; VNET_HDR_LEN];
        let gso_at = core::mem::offset_of!(virtio_net_hdr, gso_type);
        // Every gso_type byte either parses or is InvalidInput; none panics.
        for t in 0..=u8::MAX {
            raw[gso_at] = t;
            match VnetHeader::parse(&raw) {
                Ok(h) => assert!(h.ecn == (t & GSO_ECN != 0)),
                Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput),
            }
        }
        raw[gso_at] = GSO_NONE | GSO_ECN;
        assert!(VnetHeader::parse(&raw).is_err(), "ECN without TCP");
        raw[gso_at] = GSO_NONE;
        raw[core::mem::offset_of!(virtio_net_hdr, flags)] = !(F_NEEDS_CSUM | F_DATA_VALID);
        assert!(VnetHeader::parse(&raw).is_err(), "unknown flags");
    }

    #[test]
    fn udp_gso_is_written_only_with_headers_that_name_it() {
        let hdr = VnetHeader { gso: Gso::UdpL4, gso_size: 1200, ..VnetHeader::default() };
        let mut buf = [0u8; VNET_HDR_LEN];
        match GSO_UDP_L4 {
            Some(_) => assert_eq!(
                VnetHeader::parse(&{
                    hdr.write(&mut buf).unwrap();
                    buf
                })
                .unwrap(),
                hdr
            ),
            None => assert_eq!(hdr.write(&mut buf).unwrap_err().kind(), ErrorKind::InvalidInput),
        }
    }
}
