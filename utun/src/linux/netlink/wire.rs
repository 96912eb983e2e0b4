//! The bytes of rtnetlink messages: encoders for the requests utun sends and
//! a parser for the kernel's replies that never panics, whatever the input.
//!
//! Every message type, flag, attribute type, struct layout and alignment comes
//! from `utun_sys` (bindgen over `linux/netlink.h`, `linux/rtnetlink.h` and
//! `linux/if_addr.h`). Structs are written and read field by field at their
//! `offset_of!` offsets with `to_ne_bytes`/`from_ne_bytes` on bounds-checked
//! slices, so there is no `unsafe` here and no buffer is ever cast to a struct.

use core::mem::{offset_of, size_of};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use utun_sys::{ifaddrmsg, nlmsgerr, nlmsghdr, rtattr, rtmsg};

use crate::net::{InterfaceAddress, IpNet, NextHop, Route, RouteEntry};

/// The `utun_sys` constants narrowed to the width of the field they go in,
/// checked at compile time (a value that does not fit stops the build).
pub(crate) mod k {
    const fn u8_of(v: u32) -> u8 {
        assert!(v <= u8::MAX as u32, "constant does not fit in a u8 field");
        v as u8
    }

    const fn u16_of(v: u32) -> u16 {
        assert!(v <= u16::MAX as u32, "constant does not fit in a u16 field");
        v as u16
    }

    /// `NLMSG_NOOP` (`nlmsg_type`).
    pub(crate) const NLMSG_NOOP: u16 = u16_of(utun_sys::NLMSG_NOOP);
    /// `NLMSG_ERROR` (`nlmsg_type`): an ACK or an error.
    pub(crate) const NLMSG_ERROR: u16 = u16_of(utun_sys::NLMSG_ERROR);
    /// `NLMSG_DONE` (`nlmsg_type`).
    pub(crate) const NLMSG_DONE: u16 = u16_of(utun_sys::NLMSG_DONE);
    /// `RTM_NEWADDR` (`nlmsg_type`).
    pub(crate) const RTM_NEWADDR: u16 = u16_of(utun_sys::RTM_NEWADDR);
    /// `RTM_DELADDR` (`nlmsg_type`).
    pub(crate) const RTM_DELADDR: u16 = u16_of(utun_sys::RTM_DELADDR);
    /// `RTM_NEWROUTE` (`nlmsg_type`).
    pub(crate) const RTM_NEWROUTE: u16 = u16_of(utun_sys::RTM_NEWROUTE);
    /// `RTM_DELROUTE` (`nlmsg_type`).
    pub(crate) const RTM_DELROUTE: u16 = u16_of(utun_sys::RTM_DELROUTE);
    /// `RTM_GETROUTE` (`nlmsg_type`).
    pub(crate) const RTM_GETROUTE: u16 = u16_of(utun_sys::RTM_GETROUTE);

    /// `NLM_F_REQUEST` (`nlmsg_flags`).
    pub(crate) const NLM_F_REQUEST: u16 = u16_of(utun_sys::NLM_F_REQUEST);
    /// `NLM_F_ACK` (`nlmsg_flags`).
    pub(crate) const NLM_F_ACK: u16 = u16_of(utun_sys::NLM_F_ACK);
    /// `NLM_F_CREATE` (`nlmsg_flags`).
    pub(crate) const NLM_F_CREATE: u16 = u16_of(utun_sys::NLM_F_CREATE);
    /// `NLM_F_EXCL` (`nlmsg_flags`).
    pub(crate) const NLM_F_EXCL: u16 = u16_of(utun_sys::NLM_F_EXCL);
    /// `NLM_F_REPLACE` (`nlmsg_flags`).
    pub(crate) const NLM_F_REPLACE: u16 = u16_of(utun_sys::NLM_F_REPLACE);

    /// `IFA_ADDRESS` (`rta_type` after an `ifaddrmsg`).
    pub(crate) const IFA_ADDRESS: u16 = u16_of(utun_sys::IFA_ADDRESS);
    /// `IFA_LOCAL` (`rta_type` after an `ifaddrmsg`).
    pub(crate) const IFA_LOCAL: u16 = u16_of(utun_sys::IFA_LOCAL);
    /// `IFA_FLAGS` (`rta_type` after an `ifaddrmsg`).
    pub(crate) const IFA_FLAGS: u16 = u16_of(utun_sys::IFA_FLAGS);
    /// `RTA_DST` (`rta_type` after an `rtmsg`).
    pub(crate) const RTA_DST: u16 = u16_of(utun_sys::RTA_DST);
    /// `RTA_OIF` (`rta_type` after an `rtmsg`).
    pub(crate) const RTA_OIF: u16 = u16_of(utun_sys::RTA_OIF);
    /// `RTA_GATEWAY` (`rta_type` after an `rtmsg`).
    pub(crate) const RTA_GATEWAY: u16 = u16_of(utun_sys::RTA_GATEWAY);

    /// `AF_INET` (`ifa_family`, `rtm_family`).
    pub(crate) const AF_INET: u8 = u8_of(utun_sys::AF_INET);
    /// `AF_INET6` (`ifa_family`, `rtm_family`).
    pub(crate) const AF_INET6: u8 = u8_of(utun_sys::AF_INET6);
    /// `IFA_F_NODAD` (`ifa_flags`).
    pub(crate) const IFA_F_NODAD: u8 = u8_of(utun_sys::IFA_F_NODAD);
    /// `RT_SCOPE_UNIVERSE` (`ifa_scope`, `rtm_scope`).
    pub(crate) const RT_SCOPE_UNIVERSE: u8 = u8_of(utun_sys::RT_SCOPE_UNIVERSE);
    /// `RT_SCOPE_LINK` (`rtm_scope`).
    pub(crate) const RT_SCOPE_LINK: u8 = u8_of(utun_sys::RT_SCOPE_LINK);
    /// `RT_SCOPE_NOWHERE` (`rtm_scope`; a wildcard in a delete).
    pub(crate) const RT_SCOPE_NOWHERE: u8 = u8_of(utun_sys::RT_SCOPE_NOWHERE);
    /// `RT_TABLE_UNSPEC` (`rtm_table`).
    pub(crate) const RT_TABLE_UNSPEC: u8 = u8_of(utun_sys::RT_TABLE_UNSPEC);
    /// `RT_TABLE_MAIN` (`rtm_table`).
    pub(crate) const RT_TABLE_MAIN: u8 = u8_of(utun_sys::RT_TABLE_MAIN);
    /// `RTPROT_UNSPEC` (`rtm_protocol`; a wildcard in a delete).
    pub(crate) const RTPROT_UNSPEC: u8 = u8_of(utun_sys::RTPROT_UNSPEC);
    /// `RTPROT_STATIC` (`rtm_protocol`).
    pub(crate) const RTPROT_STATIC: u8 = u8_of(utun_sys::RTPROT_STATIC);
    /// `RTN_UNSPEC` (`rtm_type`).
    pub(crate) const RTN_UNSPEC: u8 = u8_of(utun_sys::RTN_UNSPEC);
    /// `RTN_UNICAST` (`rtm_type`).
    pub(crate) const RTN_UNICAST: u8 = u8_of(utun_sys::RTN_UNICAST);

    /// `IFA_F_NODAD` as the `IFA_FLAGS` u32 attribute carries it.
    pub(crate) const IFA_F_NODAD_U32: u32 = utun_sys::IFA_F_NODAD;
    /// `RTM_F_FIB_MATCH` (`rtm_flags`).
    pub(crate) const RTM_F_FIB_MATCH: u32 = utun_sys::RTM_F_FIB_MATCH;
}

/// `NLMSG_ALIGN`: rounds a length up to `NLMSG_ALIGNTO`.
pub(crate) const fn nlmsg_align(len: usize) -> usize {
    let to = utun_sys::NLMSG_ALIGNTO as usize;
    (len + to - 1) & !(to - 1)
}

/// `RTA_ALIGN`: rounds a length up to `RTA_ALIGNTO`.
pub(crate) const fn rta_align(len: usize) -> usize {
    let to = utun_sys::RTA_ALIGNTO as usize;
    (len + to - 1) & !(to - 1)
}

/// `NLMSG_HDRLEN`: where a message's payload starts.
pub(crate) const NLMSG_HDRLEN: usize = nlmsg_align(size_of::<nlmsghdr>());
/// `RTA_LENGTH(0)`: where an attribute's payload starts.
pub(crate) const RTA_HDRLEN: usize = rta_align(size_of::<rtattr>());
/// Bytes of an IPv4 address (`struct in_addr`).
pub(crate) const IPV4_LEN: usize = size_of::<utun_sys::in_addr>();
/// Bytes of an IPv6 address (`struct in6_addr`).
pub(crate) const IPV6_LEN: usize = size_of::<utun_sys::in6_addr>();

// ---------------------------------------------------------------------------
// Field-by-field struct encoding
// ---------------------------------------------------------------------------

/// An integer field of a kernel struct, read and written in native byte order.
trait Field: Copy {
    /// The field at `at` in `bytes`, or `None` when `bytes` is too short.
    fn read(bytes: &[u8], at: usize) -> Option<Self>;
    /// Writes the field at `at`; `out` must be long enough (encoders size
    /// their buffers from `size_of` first).
    fn write(self, out: &mut [u8], at: usize);
}

macro_rules! impl_field {
    ($($t:ty),*) => {$(
        impl Field for $t {
            fn read(bytes: &[u8], at: usize) -> Option<Self> {
                let end = at.checked_add(size_of::<$t>())?;
                let raw: [u8; size_of::<$t>()] = bytes.get(at..end)?.try_into().ok()?;
                Some(<$t>::from_ne_bytes(raw))
            }
            fn write(self, out: &mut [u8], at: usize) {
                out[at..at + size_of::<$t>()].copy_from_slice(&self.to_ne_bytes());
            }
        }
    )*};
}
impl_field!(u8, u16, u32, i32);

/// Writes the listed fields of `$value` (a `$ty`) at their offsets in `$out`.
macro_rules! put_fields {
    ($out:expr, $value:expr, $ty:ty, [$($f:ident),* $(,)?]) => {{
        $( Field::write($value.$f, $out, offset_of!($ty, $f)); )*
    }};
}

/// Reads the listed fields of a `$ty` from `$bytes`; `None` (via `?`) when short.
macro_rules! get_fields {
    ($bytes:expr, $ty:ty, [$($f:ident),* $(,)?]) => {{
        let mut v = <$ty>::default();
        $( v.$f = Field::read($bytes, offset_of!($ty, $f))?; )*
        v
    }};
}

/// The bytes of a `struct nlmsghdr`.
pub(crate) fn nlmsghdr_bytes(h: &nlmsghdr) -> [u8; size_of::<nlmsghdr>()] {
    let mut out = [0; size_of::<nlmsghdr>()];
    put_fields!(&mut out, h, nlmsghdr, [nlmsg_len, nlmsg_type, nlmsg_flags, nlmsg_seq, nlmsg_pid]);
    out
}

/// A `struct nlmsghdr` from the start of `bytes`, if there are enough.
pub(crate) fn read_nlmsghdr(bytes: &[u8]) -> Option<nlmsghdr> {
    Some(get_fields!(bytes, nlmsghdr, [nlmsg_len, nlmsg_type, nlmsg_flags, nlmsg_seq, nlmsg_pid]))
}

/// The bytes of a `struct ifaddrmsg`.
pub(crate) fn ifaddrmsg_bytes(m: &ifaddrmsg) -> [u8; size_of::<ifaddrmsg>()] {
    let mut out = [0; size_of::<ifaddrmsg>()];
    put_fields!(&mut out, m, ifaddrmsg, [ifa_family, ifa_prefixlen, ifa_flags, ifa_scope, ifa_index]);
    out
}

/// A `struct ifaddrmsg` from the start of `bytes`, if there are enough.
pub(crate) fn read_ifaddrmsg(bytes: &[u8]) -> Option<ifaddrmsg> {
    Some(get_fields!(bytes, ifaddrmsg, [ifa_family, ifa_prefixlen, ifa_flags, ifa_scope, ifa_index]))
}

/// The bytes of a `struct rtmsg`.
pub(crate) fn rtmsg_bytes(m: &rtmsg) -> [u8; size_of::<rtmsg>()] {
    let mut out = [0; size_of::<rtmsg>()];
    put_fields!(
        &mut out,
        m,
        rtmsg,
        [rtm_family, rtm_dst_len, rtm_src_len, rtm_tos, rtm_table, rtm_protocol, rtm_scope, rtm_type, rtm_flags]
    );
    out
}

/// A `struct rtmsg` from the start of `bytes`, if there are enough.
pub(crate) fn read_rtmsg(bytes: &[u8]) -> Option<rtmsg> {
    Some(get_fields!(
        bytes,
        rtmsg,
        [rtm_family, rtm_dst_len, rtm_src_len, rtm_tos, rtm_table, rtm_protocol, rtm_scope, rtm_type, rtm_flags]
    ))
}

/// A `struct rtattr` from the start of `bytes`, if there are enough.
pub(crate) fn read_rtattr(bytes: &[u8]) -> Option<rtattr> {
    Some(get_fields!(bytes, rtattr, [rta_len, rta_type]))
}

/// The bytes of a `struct nlmsgerr` (the `error` and the echoed header).
pub(crate) fn nlmsgerr_bytes(e: &nlmsgerr) -> [u8; size_of::<nlmsgerr>()] {
    let mut out = [0; size_of::<nlmsgerr>()];
    put_fields!(&mut out, e, nlmsgerr, [error]);
    let at = offset_of!(nlmsgerr, msg);
    out[at..at + size_of::<nlmsghdr>()].copy_from_slice(&nlmsghdr_bytes(&e.msg));
    out
}

/// A `struct nlmsgerr` from the start of `bytes`, if there are enough.
pub(crate) fn read_nlmsgerr(bytes: &[u8]) -> Option<nlmsgerr> {
    let mut e = get_fields!(bytes, nlmsgerr, [error]);
    e.msg = read_nlmsghdr(bytes.get(offset_of!(nlmsgerr, msg)..)?)?;
    Some(e)
}

// ---------------------------------------------------------------------------
// Encoders
// ---------------------------------------------------------------------------

/// The sequence number and port id a request carries; the kernel copies both
/// into its reply, which is how the reply is matched to the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MessageHeader {
    /// `nlmsg_seq`.
    pub(crate) seq: u32,
    /// `nlmsg_pid`: the sender's port id (the kernel addresses its reply to
    /// the sending socket whatever this says; utun puts its own port id).
    pub(crate) pid: u32,
}

/// A netlink message under construction: header, family header, attributes.
struct Builder {
    buf: Vec<u8>,
}

impl Builder {
    fn new(kind: u16, flags: u16, header: MessageHeader, family_header: &[u8]) -> Builder {
        let mut buf = Vec::with_capacity(NLMSG_HDRLEN + nlmsg_align(family_header.len()) + 64);
        let h = nlmsghdr {
            nlmsg_len: 0, // set by `finish`
            nlmsg_type: kind,
            nlmsg_flags: flags,
            nlmsg_seq: header.seq,
            nlmsg_pid: header.pid,
        };
        buf.extend_from_slice(&nlmsghdr_bytes(&h));
        buf.resize(NLMSG_HDRLEN, 0);
        buf.extend_from_slice(family_header);
        buf.resize(NLMSG_HDRLEN + nlmsg_align(family_header.len()), 0);
        Builder { buf }
    }

    /// Appends one `rtattr` with `payload`, padded to `RTA_ALIGNTO`.
    fn attr(&mut self, kind: u16, payload: &[u8]) {
        let len = RTA_HDRLEN + payload.len();
        let header = rtattr {
            // Attributes here are addresses and u32s: far below u16::MAX.
            rta_len: u16::try_from(len).unwrap_or(u16::MAX),
            rta_type: kind,
        };
        let start = self.buf.len();
        self.buf.resize(start + RTA_HDRLEN, 0);
        put_fields!(&mut self.buf[start..], header, rtattr, [rta_len, rta_type]);
        self.buf.extend_from_slice(payload);
        self.buf.resize(start + rta_align(len), 0);
    }

    fn addr(&mut self, kind: u16, addr: IpAddr) {
        match addr {
            IpAddr::V4(a) => self.attr(kind, &a.octets()),
            IpAddr::V6(a) => self.attr(kind, &a.octets()),
        }
    }

    /// Sets `nlmsg_len` and returns the message.
    fn finish(mut self) -> Vec<u8> {
        let len = u32::try_from(self.buf.len()).unwrap_or(u32::MAX);
        Field::write(len, &mut self.buf, offset_of!(nlmsghdr, nlmsg_len));
        self.buf
    }
}

fn family_of(addr: IpAddr) -> u8 {
    if addr.is_ipv4() { k::AF_INET } else { k::AF_INET6 }
}

/// What to do with an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AddressAction {
    /// `RTM_NEWADDR` with `NLM_F_CREATE | NLM_F_EXCL`: an existing identical
    /// address is an `EEXIST` error (`ip addr add`).
    Add,
    /// `RTM_NEWADDR` with `NLM_F_CREATE | NLM_F_REPLACE`: creates the address
    /// or updates the existing one (`ip addr replace`).
    Replace,
    /// `RTM_DELADDR` (`ip addr del`): a missing address is `EADDRNOTAVAIL`.
    Delete,
}

/// What to do with a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RouteAction {
    /// `RTM_NEWROUTE` with `NLM_F_CREATE | NLM_F_EXCL`: an existing route to
    /// the same destination (same table, TOS and metric) is `EEXIST`.
    Add,
    /// `RTM_NEWROUTE` with `NLM_F_CREATE | NLM_F_REPLACE` (`ip route replace`).
    Replace,
    /// `RTM_DELROUTE`: a missing route is `ESRCH`.
    Delete,
}

/// An `RTM_NEWADDR`/`RTM_DELADDR` request for `address` on the interface
/// with index `index`, with `NLM_F_REQUEST | NLM_F_ACK` (and the flags of
/// `action`).
///
/// The encoding is `ip addr add LOCAL/PLEN [peer PEER] dev IF`'s (iproute2
/// `ipaddr_modify`): `ifaddrmsg { family, prefixlen, flags, RT_SCOPE_UNIVERSE,
/// index }`, `IFA_LOCAL` = the local address, `IFA_ADDRESS` = the peer on a
/// point-to-point address, else the local address again. The prefix length
/// belongs to `IFA_ADDRESS` (the kernel's prefix route is
/// `IFA_ADDRESS/prefixlen`). IPv6 addresses carry `IFA_F_NODAD`, in
/// `ifa_flags` and in an `IFA_FLAGS` u32 (which the kernel prefers when
/// present), so they are usable at once instead of tentative.
pub(crate) fn encode_address(
    action: AddressAction,
    index: u32,
    address: &InterfaceAddress,
    header: MessageHeader,
) -> Vec<u8> {
    let (kind, flags) = match action {
        AddressAction::Add => (k::RTM_NEWADDR, k::NLM_F_CREATE | k::NLM_F_EXCL),
        AddressAction::Replace => (k::RTM_NEWADDR, k::NLM_F_CREATE | k::NLM_F_REPLACE),
        AddressAction::Delete => (k::RTM_DELADDR, 0),
    };
    let local = address.address();
    let v6 = !address.is_ipv4();
    let ifa = ifaddrmsg {
        ifa_family: family_of(local),
        ifa_prefixlen: address.prefix_len(),
        ifa_flags: if v6 { k::IFA_F_NODAD } else { 0 },
        ifa_scope: k::RT_SCOPE_UNIVERSE,
        ifa_index: index,
    };
    let mut b = Builder::new(kind, k::NLM_F_REQUEST | k::NLM_F_ACK | flags, header, &ifaddrmsg_bytes(&ifa));
    b.addr(k::IFA_LOCAL, local);
    b.addr(k::IFA_ADDRESS, address.peer().unwrap_or(local));
    if v6 {
        b.attr(k::IFA_FLAGS, &k::IFA_F_NODAD_U32.to_ne_bytes());
    }
    b.finish()
}

/// An `RTM_NEWROUTE`/`RTM_DELROUTE` request for `route` in the main table,
/// with `NLM_F_REQUEST | NLM_F_ACK` (and the flags of `action`).
///
/// `rtmsg { family, dst_len = prefix, table RT_TABLE_MAIN, protocol
/// RTPROT_STATIC, type RTN_UNICAST, scope }`, where scope is `RT_SCOPE_LINK`
/// for a route straight out of an interface and `RT_SCOPE_UNIVERSE` for one
/// through a gateway (what `ip route add` picks; IPv4 refuses a gateway route
/// of link scope). `RTA_DST` is left out for a /0 route; `RTA_GATEWAY` is the
/// gateway; `RTA_OIF` is `oif_index` unless it is 0 (a gateway route may
/// leave the interface to the kernel; an interface route needs it).
///
/// A delete matches like `ip route del`: protocol `RTPROT_UNSPEC`, scope
/// `RT_SCOPE_NOWHERE` and type `RTN_UNSPEC` are wildcards to the kernel, so
/// the route is found by table, destination and next hop.
pub(crate) fn encode_route(action: RouteAction, route: &Route, oif_index: u32, header: MessageHeader) -> Vec<u8> {
    let dest = route.destination();
    let gateway = match route.next_hop() {
        NextHop::Gateway(gw) => Some(gw),
        NextHop::Interface(_) => None,
    };
    let (kind, flags) = match action {
        RouteAction::Add => (k::RTM_NEWROUTE, k::NLM_F_CREATE | k::NLM_F_EXCL),
        RouteAction::Replace => (k::RTM_NEWROUTE, k::NLM_F_CREATE | k::NLM_F_REPLACE),
        RouteAction::Delete => (k::RTM_DELROUTE, 0),
    };
    let (protocol, scope, rtype) = match action {
        RouteAction::Delete => (k::RTPROT_UNSPEC, k::RT_SCOPE_NOWHERE, k::RTN_UNSPEC),
        RouteAction::Add | RouteAction::Replace => {
            let scope = if gateway.is_some() { k::RT_SCOPE_UNIVERSE } else { k::RT_SCOPE_LINK };
            (k::RTPROT_STATIC, scope, k::RTN_UNICAST)
        }
    };
    let rtm = rtmsg {
        rtm_family: family_of(dest.addr()),
        rtm_dst_len: dest.prefix_len(),
        rtm_src_len: 0,
        rtm_tos: 0,
        rtm_table: k::RT_TABLE_MAIN,
        rtm_protocol: protocol,
        rtm_scope: scope,
        rtm_type: rtype,
        rtm_flags: 0,
    };
    let mut b = Builder::new(kind, k::NLM_F_REQUEST | k::NLM_F_ACK | flags, header, &rtmsg_bytes(&rtm));
    if dest.prefix_len() != 0 {
        b.addr(k::RTA_DST, dest.network());
    }
    if let Some(gw) = gateway {
        b.addr(k::RTA_GATEWAY, gw);
    }
    if oif_index != 0 {
        b.attr(k::RTA_OIF, &oif_index.to_ne_bytes());
    }
    b.finish()
}

/// An `RTM_GETROUTE` request (`NLM_F_REQUEST` only) for the route the kernel
/// would use to reach `destination`: `rtm_dst_len` = 32 or 128, `RTA_DST` =
/// the address, table, protocol, scope and type left unspecified (what `ip
/// route get` sends). The kernel answers with one `RTM_NEWROUTE` (or an
/// `NLMSG_ERROR`, e.g. `ENETUNREACH`).
///
/// With `fib_match` the request carries `RTM_F_FIB_MATCH` (Linux 4.13, `ip
/// route get fibmatch`): the answer is then the matching routing table entry
/// itself (its destination prefix, gateway and interface), not the host
/// route resolved from it. Older kernels ignore the flag and answer for the
/// host.
pub(crate) fn encode_get_route(destination: IpAddr, fib_match: bool, header: MessageHeader) -> Vec<u8> {
    let rtm = rtmsg {
        rtm_family: family_of(destination),
        rtm_dst_len: full_prefix_len(destination),
        rtm_table: k::RT_TABLE_UNSPEC,
        rtm_protocol: k::RTPROT_UNSPEC,
        rtm_scope: k::RT_SCOPE_UNIVERSE,
        rtm_type: k::RTN_UNSPEC,
        rtm_flags: if fib_match { k::RTM_F_FIB_MATCH } else { 0 },
        ..rtmsg::default()
    };
    let mut b = Builder::new(k::RTM_GETROUTE, k::NLM_F_REQUEST, header, &rtmsg_bytes(&rtm));
    b.addr(k::RTA_DST, destination);
    b.finish()
}

fn full_prefix_len(addr: IpAddr) -> u8 {
    // 8 bits per address byte; both lengths come from the in_addr/in6_addr sizes.
    let bytes = if addr.is_ipv4() { IPV4_LEN } else { IPV6_LEN };
    u8::try_from(bytes * 8).unwrap_or(u8::MAX)
}

// ---------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------

/// Where in a reply a [`ParseError`] was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Context {
    /// The `nlmsghdr` at this byte offset of the receive buffer.
    Header {
        /// Offset of the header in the buffer.
        offset: usize,
    },
    /// The body of an `NLMSG_ERROR` message.
    ErrorMessage,
    /// The `rtmsg` of an `RTM_NEWROUTE` message.
    RouteMessage,
    /// The attributes after a family header, as a whole.
    Attributes,
    /// A route attribute (`rta_type`).
    Attribute(u16),
    /// Matching a reply to a request.
    Reply,
}

/// What was wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Problem {
    /// Fewer bytes than the structure needs.
    Truncated {
        /// Bytes the structure needs.
        needed: usize,
        /// Bytes there were.
        available: usize,
    },
    /// `nlmsg_len` below the header size or beyond the buffer.
    MessageLength {
        /// The `nlmsg_len` read.
        len: u32,
        /// Bytes left in the buffer from the header on.
        available: usize,
    },
    /// `rta_len` below the attribute header size or beyond the message.
    AttributeLength {
        /// The `rta_len` read.
        len: u16,
        /// Bytes left in the message from the attribute on.
        available: usize,
    },
    /// Bytes after the last attribute too few to be one.
    TrailingBytes(usize),
    /// An address attribute whose length is neither an IPv4 nor an IPv6 address.
    AddressLength(usize),
    /// An address of the other family than the route's.
    AddressFamily {
        /// The address's length.
        len: usize,
        /// `rtm_family`.
        family: u8,
    },
    /// A u32 attribute of another length.
    U32Length(usize),
    /// An `rtm_family` that is neither `AF_INET` nor `AF_INET6`.
    Family(u8),
    /// A prefix length longer than the family's addresses.
    PrefixLength {
        /// The prefix length.
        len: u8,
        /// The family's maximum.
        max: u8,
    },
    /// `rtm_dst_len` is not 0 but there is no `RTA_DST`.
    MissingDestination(u8),
    /// An `NLMSG_ERROR` whose error is positive (the kernel sends 0 or `-errno`).
    PositiveError(i32),
    /// A reply of a type the request does not get.
    Unexpected(u16),
}

/// A reply that could not be parsed: where, and what was wrong.
///
/// Displays as e.g. `while parsing the RTA_GATEWAY attribute: length 3 is not
/// an IPv4 or IPv6 address`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ParseError {
    /// Where.
    pub(crate) context: Context,
    /// What.
    pub(crate) problem: Problem,
}

impl ParseError {
    fn new(context: Context, problem: Problem) -> ParseError {
        ParseError { context, problem }
    }
}

/// The name of a message type utun meets, for error messages.
pub(crate) fn message_name(kind: u16) -> Option<&'static str> {
    Some(match kind {
        k::NLMSG_NOOP => "NLMSG_NOOP",
        k::NLMSG_ERROR => "NLMSG_ERROR",
        k::NLMSG_DONE => "NLMSG_DONE",
        k::RTM_NEWADDR => "RTM_NEWADDR",
        k::RTM_DELADDR => "RTM_DELADDR",
        k::RTM_NEWROUTE => "RTM_NEWROUTE",
        k::RTM_DELROUTE => "RTM_DELROUTE",
        k::RTM_GETROUTE => "RTM_GETROUTE",
        _ => return None,
    })
}

/// The name of a route attribute utun reads, for error messages.
fn route_attr_name(kind: u16) -> Option<&'static str> {
    Some(match kind {
        k::RTA_DST => "RTA_DST",
        k::RTA_GATEWAY => "RTA_GATEWAY",
        k::RTA_OIF => "RTA_OIF",
        _ => return None,
    })
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("while parsing ")?;
        match self.context {
            Context::Header { offset } => write!(f, "the netlink message header at byte {offset}")?,
            Context::ErrorMessage => f.write_str("an NLMSG_ERROR message")?,
            Context::RouteMessage => f.write_str("an RTM_NEWROUTE message")?,
            Context::Attributes => f.write_str("the attributes")?,
            Context::Attribute(kind) => match route_attr_name(kind) {
                Some(name) => write!(f, "the {name} attribute")?,
                None => write!(f, "route attribute type {kind}")?,
            },
            Context::Reply => f.write_str("the reply")?,
        }
        f.write_str(": ")?;
        match self.problem {
            Problem::Truncated { needed, available } => {
                write!(f, "{available} bytes are too short for the {needed} it needs")
            }
            Problem::MessageLength { len, available } => {
                write!(f, "nlmsg_len {len} is not between {NLMSG_HDRLEN} and the {available} bytes left")
            }
            Problem::AttributeLength { len, available } => {
                write!(f, "rta_len {len} is not between {RTA_HDRLEN} and the {available} bytes left")
            }
            Problem::TrailingBytes(n) => write!(f, "{n} bytes after the last attribute are too few for another"),
            Problem::AddressLength(len) => write!(f, "length {len} is not an IPv4 or IPv6 address"),
            Problem::AddressFamily { len, family } => {
                write!(f, "a {len}-byte address does not belong to a route of family {family}")
            }
            Problem::U32Length(len) => write!(f, "length {len} is not a 32-bit integer's"),
            Problem::Family(family) => write!(f, "family {family} is neither AF_INET nor AF_INET6"),
            Problem::PrefixLength { len, max } => write!(f, "prefix length {len} is longer than {max}"),
            Problem::MissingDestination(len) => write!(f, "rtm_dst_len is {len} but there is no RTA_DST"),
            Problem::PositiveError(e) => write!(f, "error {e} is positive (the kernel sends 0 or a negative errno)"),
            Problem::Unexpected(kind) => match message_name(kind) {
                Some(name) => write!(f, "an unexpected {name} message"),
                None => write!(f, "an unexpected message of type {kind}"),
            },
        }
    }
}

impl std::error::Error for ParseError {}

/// One netlink message of a receive buffer: its header and payload (the
/// bytes after `NLMSG_HDRLEN`, up to `nlmsg_len`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Message<'a> {
    /// The header.
    pub(crate) header: nlmsghdr,
    /// The payload.
    pub(crate) payload: &'a [u8],
}

/// What a message says, as far as utun cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Body<'a> {
    /// `NLMSG_ERROR` with error 0: the request succeeded.
    Ack,
    /// `NLMSG_ERROR` with error `-errno`: the request failed with `errno`
    /// (positive here).
    Error(i32),
    /// `NLMSG_DONE`: the end of a multipart reply.
    Done,
    /// `RTM_NEWROUTE`, decoded.
    Route(RouteEntry),
    /// Any other type, undecoded.
    Other(u16, &'a [u8]),
}

impl<'a> Message<'a> {
    /// `nlmsg_type`.
    pub(crate) fn kind(&self) -> u16 {
        self.header.nlmsg_type
    }

    /// Decodes the payload of the types utun reads.
    pub(crate) fn body(&self) -> Result<Body<'a>, ParseError> {
        match self.kind() {
            k::NLMSG_ERROR => {
                let e = read_nlmsgerr(self.payload).ok_or(ParseError::new(
                    Context::ErrorMessage,
                    Problem::Truncated { needed: size_of::<nlmsgerr>(), available: self.payload.len() },
                ))?;
                match e.error {
                    0 => Ok(Body::Ack),
                    err if err > 0 => Err(ParseError::new(Context::ErrorMessage, Problem::PositiveError(err))),
                    // checked_neg: i32::MIN has no positive counterpart.
                    err => err
                        .checked_neg()
                        .map(Body::Error)
                        .ok_or(ParseError::new(Context::ErrorMessage, Problem::PositiveError(err))),
                }
            }
            k::NLMSG_DONE => Ok(Body::Done),
            k::RTM_NEWROUTE => parse_route(self.payload).map(Body::Route),
            kind => Ok(Body::Other(kind, self.payload)),
        }
    }
}

/// The messages of a receive buffer, in order. Each header's `nlmsg_len` is
/// checked against the buffer; the next message starts `NLMSG_ALIGN(len)`
/// further on. After the first error the iterator ends.
pub(crate) fn messages(buf: &[u8]) -> Messages<'_> {
    Messages { buf, offset: 0, done: false }
}

/// Iterator returned by [`messages`].
#[derive(Clone, Debug)]
pub(crate) struct Messages<'a> {
    buf: &'a [u8],
    offset: usize,
    done: bool,
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Message<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = self.buf.get(self.offset..).unwrap_or_default();
        if rest.is_empty() {
            self.done = true;
            return None;
        }
        let context = Context::Header { offset: self.offset };
        let Some(header) = read_nlmsghdr(rest) else {
            self.done = true;
            let problem = Problem::Truncated { needed: size_of::<nlmsghdr>(), available: rest.len() };
            return Some(Err(ParseError::new(context, problem)));
        };
        let len = usize::try_from(header.nlmsg_len).unwrap_or(usize::MAX);
        let (Some(payload), true) = (rest.get(NLMSG_HDRLEN..len), len >= NLMSG_HDRLEN) else {
            self.done = true;
            let problem = Problem::MessageLength { len: header.nlmsg_len, available: rest.len() };
            return Some(Err(ParseError::new(context, problem)));
        };
        // `len` fits in the buffer, so aligning it cannot overflow. The last
        // message's padding may be absent: the buffer then ends here.
        self.offset = self.offset.saturating_add(nlmsg_align(len));
        Some(Ok(Message { header, payload }))
    }
}

/// The attributes after a family header: `(rta_type, payload)` pairs, each
/// `rta_len` checked against the bytes left; the next starts
/// `RTA_ALIGN(rta_len)` further on. After the first error the iterator ends.
pub(crate) fn attributes(bytes: &[u8]) -> Attributes<'_> {
    Attributes { rest: bytes }
}

/// Iterator returned by [`attributes`].
#[derive(Clone, Debug)]
pub(crate) struct Attributes<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Result<(u16, &'a [u8]), ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let rest = std::mem::take(&mut self.rest);
        let Some(header) = read_rtattr(rest) else {
            return Some(Err(ParseError::new(Context::Attributes, Problem::TrailingBytes(rest.len()))));
        };
        let len = usize::from(header.rta_len);
        let (Some(payload), true) = (rest.get(RTA_HDRLEN..len), len >= RTA_HDRLEN) else {
            let problem = Problem::AttributeLength { len: header.rta_len, available: rest.len() };
            return Some(Err(ParseError::new(Context::Attribute(header.rta_type), problem)));
        };
        // rta_len <= u16::MAX, so aligning cannot overflow.
        self.rest = rest.get(rta_align(len)..).unwrap_or_default();
        Some(Ok((header.rta_type, payload)))
    }
}

fn address(bytes: &[u8]) -> Option<IpAddr> {
    if let Ok(a) = <[u8; IPV4_LEN]>::try_from(bytes) {
        Some(IpAddr::V4(Ipv4Addr::from(a)))
    } else if let Ok(a) = <[u8; IPV6_LEN]>::try_from(bytes) {
        Some(IpAddr::V6(Ipv6Addr::from(a)))
    } else {
        None
    }
}

/// Decodes the payload of an `RTM_NEWROUTE` message: `rtm_family`,
/// `rtm_dst_len` + `RTA_DST` into the destination (a /0 route has no
/// `RTA_DST`), `RTA_GATEWAY`, `RTA_OIF` (0 when absent, as for a multipath
/// route); other attributes are skipped (checked for framing only).
pub(crate) fn parse_route(payload: &[u8]) -> Result<RouteEntry, ParseError> {
    let rtm = read_rtmsg(payload).ok_or(ParseError::new(
        Context::RouteMessage,
        Problem::Truncated { needed: size_of::<rtmsg>(), available: payload.len() },
    ))?;
    let family = rtm.rtm_family;
    let family_len = match family {
        k::AF_INET => IPV4_LEN,
        k::AF_INET6 => IPV6_LEN,
        other => return Err(ParseError::new(Context::RouteMessage, Problem::Family(other))),
    };
    let max = u8::try_from(family_len * 8).unwrap_or(u8::MAX);
    if rtm.rtm_dst_len > max {
        return Err(ParseError::new(Context::RouteMessage, Problem::PrefixLength { len: rtm.rtm_dst_len, max }));
    }
    let attrs = payload.get(nlmsg_align(size_of::<rtmsg>())..).unwrap_or_default();
    let family_address = |kind: u16, bytes: &[u8]| -> Result<IpAddr, ParseError> {
        let addr =
            address(bytes).ok_or(ParseError::new(Context::Attribute(kind), Problem::AddressLength(bytes.len())))?;
        if bytes.len() == family_len {
            Ok(addr)
        } else {
            Err(ParseError::new(Context::Attribute(kind), Problem::AddressFamily { len: bytes.len(), family }))
        }
    };
    let (mut dst, mut gateway, mut oif) = (None, None, 0);
    for attr in attributes(attrs) {
        let (kind, bytes) = attr?;
        match kind {
            k::RTA_DST => dst = Some(family_address(kind, bytes)?),
            k::RTA_GATEWAY => gateway = Some(family_address(kind, bytes)?),
            k::RTA_OIF => {
                let raw: [u8; size_of::<u32>()] = bytes
                    .try_into()
                    .map_err(|_| ParseError::new(Context::Attribute(kind), Problem::U32Length(bytes.len())))?;
                oif = u32::from_ne_bytes(raw);
            }
            _ => {}
        }
    }
    let dst = match (dst, rtm.rtm_dst_len) {
        (Some(addr), _) => addr,
        (None, 0) if family == k::AF_INET => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        (None, 0) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        (None, len) => return Err(ParseError::new(Context::RouteMessage, Problem::MissingDestination(len))),
    };
    let destination = IpNet::new(dst, rtm.rtm_dst_len)
        .map_err(|_| ParseError::new(Context::RouteMessage, Problem::PrefixLength { len: rtm.rtm_dst_len, max }))?;
    Ok(RouteEntry { destination: Some(destination), gateway, interface_index: oif, interface: None })
}
