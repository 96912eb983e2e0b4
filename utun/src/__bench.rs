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
