//! Encoding rtnetlink requests, as iproute2's `ip addr` and `ip route`
//! build them.

use core::mem::{offset_of, size_of};
use std::net::IpAddr;

use utun_sys::{ifaddrmsg, nlmsghdr, rtattr, rtmsg};

use super::{
    AddressAction, IPV4_LEN, IPV6_LEN, MessageHeader, NLMSG_HDRLEN, RTA_HDRLEN, RouteAction, k, nlmsg_align, rta_align,
};
use crate::codec::field::{put, put_fields};
use crate::net::{InterfaceAddress, NextHop, Route};

// The bytes of a `struct nlmsghdr`.
pub(crate) fn nlmsghdr_bytes(h: &nlmsghdr) -> [u8; size_of::<nlmsghdr>()] {
    let mut out = [0; size_of::<nlmsghdr>()];
    put_fields!(&mut out, h, nlmsghdr, [nlmsg_len, nlmsg_type, nlmsg_flags, nlmsg_seq, nlmsg_pid]);
    out
}
/// The bytes of a `struct ifaddrmsg`.
pub(crate) fn ifaddrmsg_bytes(m: &ifaddrmsg) -> [u8; size_of::<ifaddrmsg>()] {
    let mut out = [0; size_of::<ifaddrmsg>()];
    put_fields!(&mut out, m, ifaddrmsg, [ifa_family, ifa_prefixlen, ifa_flags, ifa_scope, ifa_index]);
    out
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
/// The bytes of a `struct nlmsgerr` (the `error` and the echoed header).
#[cfg(test)]
pub(crate) fn nlmsgerr_bytes(e: &utun_sys::nlmsgerr) -> [u8; size_of::<utun_sys::nlmsgerr>()] {
    let mut out = [0; size_of::<utun_sys::nlmsgerr>()];
    put_fields!(&mut out, e, utun_sys::nlmsgerr, [error]);
    let at = offset_of!(utun_sys::nlmsgerr, msg);
    out[at..at + size_of::<nlmsghdr>()].copy_from_slice(&nlmsghdr_bytes(&e.msg));
    out
}
/// A netlink message under construction: header, family header, attributes.
pub(super) struct Builder {
    buf: Vec<u8>,
}

impl Builder {
    /// A message of type `kind` with these flags and header, and this
    /// family header (padded to `NLMSG_ALIGNTO`).
    pub(super) fn new(kind: u16, flags: u16, header: MessageHeader, family_header: &[u8]) -> Builder {
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
    pub(super) fn attr(&mut self, kind: u16, payload: &[u8]) {
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
    pub(super) fn finish(mut self) -> Vec<u8> {
        let len = u32::try_from(self.buf.len()).unwrap_or(u32::MAX);
        put(&mut self.buf, offset_of!(nlmsghdr, nlmsg_len), len);
        self.buf
    }
}

fn family_of(addr: IpAddr) -> u8 {
    if addr.is_ipv4() { k::AF_INET } else { k::AF_INET6 }
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

/// The metric utun gives a route, `None` for none: an IPv6 route gets the
/// one the kernel would give it anyway, `IP6_RT_PRIO_USER` (1024), named so
/// that a delete can name it; an IPv4 route gets none, which is metric 0,
/// the kernel's default (and, in a delete, a wildcard: see [`encode_route`]).
pub(crate) fn route_metric(route: &Route) -> Option<u32> {
    if route.destination().addr().is_ipv4() { None } else { Some(k::IP6_RT_PRIO_USER) }
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
/// leave the interface to the kernel; an interface route needs it);
/// `RTA_PRIORITY` is [`route_metric`].
///
/// A delete carries exactly what the add did, so that it removes the route
/// utun added and no other. To the kernel a zero or `UNSPEC` field of a
/// delete is a wildcard, and the first route that matches the rest goes:
///
/// * IPv4 (`net/ipv4/fib_frontend.c` `rtm_to_fib_config`, then
///   `net/ipv4/fib_trie.c` `fib_table_delete`): among the routes of the same
///   prefix, TOS and table, in ascending metric, the first whose type
///   (`!fc_type`), scope (`RT_SCOPE_NOWHERE`), preferred source, protocol
///   (`!fc_protocol`) and next hop (`fib_semantics.c` `fib_nh_match`:
///   `RTA_OIF`, `RTA_GATEWAY`, and the metric unless it is 0) match.
/// * IPv6 (`net/ipv6/route.c` `rtm_to_fib6_config`, then `ip6_route_del`):
///   among the routes of the same prefix and table, in ascending metric, the
///   first whose metric (`!fc_metric`), protocol (`!fc_protocol`),
///   interface (`RTA_OIF`) and gateway (`RTF_GATEWAY`) match; scope and a
///   unicast type are not compared.
///
/// So a delete names protocol, scope, type, table, interface and gateway as
/// added, and for IPv6 the metric (an `ip -6 route add` route of metric 100
/// to the same prefix would otherwise go first). An IPv4 route has metric 0,
/// which `fib_nh_match` cannot tell from "any": the search starts at the
/// lowest metric, so while utun's route is there it is the one deleted;
/// once it is gone, a route identical in every other field (protocol
/// `RTPROT_STATIC`, which `ip route add` does not use) but of a higher
/// metric would match.
pub(crate) fn encode_route(action: RouteAction, route: &Route, oif_index: u32, header: MessageHeader) -> Vec<u8> {
    let dest = route.destination();
    let gateway = match route.next_hop() {
        NextHop::Gateway(gw) => Some(gw),
        NextHop::LinkLocalGateway { gateway, .. } => Some(gateway.into()),
        NextHop::Interface(_) => None,
    };
    let (kind, flags) = match action {
        RouteAction::Add => (k::RTM_NEWROUTE, k::NLM_F_CREATE | k::NLM_F_EXCL),
        RouteAction::Replace => (k::RTM_NEWROUTE, k::NLM_F_CREATE | k::NLM_F_REPLACE),
        RouteAction::Delete => (k::RTM_DELROUTE, 0),
    };
    let rtm = rtmsg {
        rtm_family: family_of(dest.addr()),
        rtm_dst_len: dest.prefix_len(),
        rtm_src_len: 0,
        rtm_tos: 0,
        rtm_table: k::RT_TABLE_MAIN,
        rtm_protocol: k::RTPROT_STATIC,
        rtm_scope: if gateway.is_some() { k::RT_SCOPE_UNIVERSE } else { k::RT_SCOPE_LINK },
        rtm_type: k::RTN_UNICAST,
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
    if let Some(metric) = route_metric(route) {
        b.attr(k::RTA_PRIORITY, &metric.to_ne_bytes());
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
///
/// `oif`, unless it is 0, is `RTA_OIF` (`ip route get ... oif tun0`): the
/// lookup of a link-local address on that interface (`inet6_rtm_getroute`
/// takes it as the flow's output interface, the scope of a link-local
/// destination).
pub(crate) fn encode_get_route(destination: IpAddr, oif: u32, fib_match: bool, header: MessageHeader) -> Vec<u8> {
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
    if oif != 0 {
        b.attr(k::RTA_OIF, &oif.to_ne_bytes());
    }
    b.finish()
}

fn full_prefix_len(addr: IpAddr) -> u8 {
    // 8 bits per address byte; both lengths come from the in_addr/in6_addr sizes.
    let bytes = if addr.is_ipv4() { IPV4_LEN } else { IPV6_LEN };
    u8::try_from(bytes * 8).unwrap_or(u8::MAX)
}
