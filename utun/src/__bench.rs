//! The crate's private checks and codecs, reached by its own
//! micro-benchmarks (`benches/micro.rs`, feature `bench-internals`) and
//! nothing else: hidden from the documentation, not part of the API, no
//! stability promise. Each function is a thin call of the private code the
//! library runs, so the benchmark measures that code as it is.

use crate::error::Error;

/// The check every outgoing packet goes through (`Device::send`).
#[inline]
pub fn check_outgoing(packet: &[u8]) -> Result<(), Error> {
    crate::packet::check_outgoing(packet).map(drop)
}

/// Many packets per system call on a utun (macOS): `recvmsg_x`/`sendmsg_x`
/// with the one-by-one fallback, for the privileged tests and benchmarks
/// until the public batch methods call them.
#[cfg(target_os = "macos")]
pub mod batch {
    use std::os::fd::BorrowedFd;

    use crate::error::Error;

    /// Receives up to 64 packets in one call; `bufs[i][..sizes[i]]` is packet `i`.
    pub fn recv_many<B: AsMut<[u8]>>(fd: BorrowedFd<'_>, bufs: &mut [B], sizes: &mut [usize]) -> Result<usize, Error> {
        crate::backend::batch::recv_many(fd, bufs, sizes)
    }

    /// Sends up to 64 packets in one call; returns how many the kernel took.
    pub fn send_many<P: AsRef<[u8]>>(fd: BorrowedFd<'_>, packets: &[P]) -> Result<usize, Error> {
        crate::backend::batch::send_many(fd, packets)
    }
}

/// rtnetlink (Linux).
#[cfg(target_os = "linux")]
pub mod rtnetlink {
    use crate::net::Route;

    /// rtnetlink: `RTM_NEWROUTE` as `RouteTable::add` encodes it (`replace`:
    /// with `NLM_F_REPLACE`, the shape of the kernel's answer to a lookup).
    pub fn encode_route(route: &Route, oif: u32, replace: bool, seq: u32, pid: u32) -> Vec<u8> {
        use crate::codec::netlink::{MessageHeader, RouteAction, encode};
        let action = if replace { RouteAction::Replace } else { RouteAction::Add };
        encode::encode_route(action, route, oif, MessageHeader { seq, pid })
    }

    /// rtnetlink: `RTM_GETROUTE` with `RTM_F_FIB_MATCH`, as `RouteTable::get` sends it.
    pub fn encode_get(destination: std::net::IpAddr, seq: u32, pid: u32) -> Vec<u8> {
        crate::codec::netlink::encode::encode_get_route(
            destination,
            0,
            true,
            crate::codec::netlink::MessageHeader { seq, pid },
        )
    }

    /// rtnetlink: the first message of `buf` parsed as the kernel's
    /// `RTM_NEWROUTE`, as the socket reads a lookup's answer.
    pub fn parse_route(buf: &[u8]) -> Option<crate::RouteEntry> {
        use crate::codec::netlink::parse::{Body, messages};
        match messages(buf).next()?.ok()?.body() {
            Ok(Body::Route(entry)) => Some(entry),
            _ => None,
        }
    }
}

/// `PF_ROUTE` (macOS, and any host with the Apple layouts).
#[cfg(any(target_os = "macos", utun_apple_layouts))]
pub mod pf_route {
    use crate::error::Error;
    use crate::net::Route;

    /// `PF_ROUTE`: `RTM_ADD` as `RouteTable::add` encodes it on macOS.
    pub fn encode_add(route: &Route, index: u32, seq: i32, pid: i32) -> Result<Vec<u8>, Error> {
        use crate::codec::bsd::{encode, route::RtmKind};
        encode::encode_route(RtmKind::Add, route, index, seq, pid)
    }

    /// `PF_ROUTE`: `RTM_GET` as `RouteTable::get` encodes it on macOS.
    pub fn encode_get(destination: crate::IpNet, seq: i32, pid: i32) -> Vec<u8> {
        crate::codec::bsd::encode::encode_get(destination, None, seq, pid)
    }

    /// `PF_ROUTE`: one routing message parsed, as the routing socket reads the
    /// kernel's answer; its destination, or `None` when it does not parse.
    pub fn parse(buf: &[u8]) -> Option<Option<crate::IpNet>> {
        crate::codec::bsd::parse::parse_route_message(buf).ok().map(|reply| reply.destination_net())
    }
}

/// Linux offload: splitting a GSO packet the kernel hands over, and
/// merging plain segments into one (`offload/`).
#[cfg(target_os = "linux")]
pub mod offload {
    use crate::error::Error;
    use crate::offload::checksum::{Sum, pseudo_header};
    use crate::offload::coalesce::{self, CoalesceOptions};
    use crate::offload::split;
    use crate::offload::vnet::{Gso, VNET_HDR_LEN, VnetHeader};
    use crate::offload::wire::{IPPROTO_TCP, TCP_CHECKSUM};

    /// A TCP GSO packet as a tun device opened with `IFF_VNET_HDR` reads it:
    /// the `virtio_net_hdr`, then IPv4 (or IPv6) and TCP headers and
    /// `payload` bytes, `NEEDS_CSUM` with the pseudo-header sum in place.
    pub fn tcp_gso_read(v6: bool, payload: usize, mss: u16) -> Vec<u8> {
        let ip = if v6 { 40 } else { 20 };
        let len = ip + 20 + payload;
        let mut p = vec![0u8; len];
        if v6 {
            p[0] = 0x60;
            p[4..6].copy_from_slice(&((len - 40) as u16).to_be_bytes());
            p[6] = IPPROTO_TCP;
            p[7] = 64;
            p[23] = 1;
            p[39] = 2;
            p[8] = 0xfd;
            p[24] = 0xfd;
        } else {
            p[0] = 0x45;
            p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            p[6] = 0x40;
            p[8] = 64;
            p[9] = IPPROTO_TCP;
            p[12..20].copy_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        }
        let l4 = &mut p[ip..];
        l4[..4].copy_from_slice(&[0x10, 0x92, 0x01, 0xbb]);
        l4[12] = 5 << 4;
        l4[13] = 0x18;
        l4[14..16].copy_from_slice(&502u16.to_be_bytes());
        for (i, b) in l4[20..].iter_mut().enumerate() {
            *b = i as u8;
        }
        let addrs = if v6 { p[8..40].to_vec() } else { p[12..20].to_vec() };
        let partial = pseudo_header(&addrs, IPPROTO_TCP, len - ip).fold();
        p[ip + TCP_CHECKSUM..ip + TCP_CHECKSUM + 2].copy_from_slice(&partial.to_be_bytes());
        let hdr = VnetHeader {
            needs_csum: true,
            gso: if v6 { Gso::TcpV6 } else { Gso::TcpV4 },
            hdr_len: (ip + 20) as u16,
            gso_size: mss,
            csum_start: ip as u16,
            csum_offset: TCP_CHECKSUM as u16,
            ..VnetHeader::default()
        };
        let mut read = vec![0u8; VNET_HDR_LEN];
        hdr.write(&mut read).expect("a TCP header is always written");
        read.extend_from_slice(&p);
        // Keep the IPv4 header checksum right, as the kernel's may not be (split recomputes it).
        if !v6 {
            let c = Sum::default().add(&read[VNET_HDR_LEN..VNET_HDR_LEN + 20]).checksum();
            read[VNET_HDR_LEN + 10..VNET_HDR_LEN + 12].copy_from_slice(&c.to_be_bytes());
        }
        read
    }

    /// What the device's batch receive does with one read: the header
    /// parsed, the packet split into `bufs`.
    pub fn split(read: &[u8], bufs: &mut [Vec<u8>], sizes: &mut [usize]) -> Result<usize, Error> {
        let hdr = VnetHeader::parse(read)?;
        split::split(&hdr, &read[VNET_HDR_LEN..], bufs, sizes)
    }

    /// The send side's coalescer, reused across batches as the device would.
    #[derive(Default)]
    pub struct Coalescer(coalesce::Coalescer);

    impl Coalescer {
        /// Merges `packets` (TCP on) into `out`; returns the number of records.
        pub fn coalesce(&mut self, packets: &[Vec<u8>], out: &mut [u8], lens: &mut [usize]) -> Result<usize, Error> {
            self.0.coalesce(packets, CoalesceOptions { tcp: true, udp: false }, out, lens)
        }
    }

    /// The room `Coalescer::coalesce` needs for `packets`.
    pub fn capacity(packets: &[Vec<u8>]) -> usize {
        coalesce::capacity(packets)
    }
}
