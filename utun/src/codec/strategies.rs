//! The proptest strategies both codecs' property tests draw from
//! (`codec/bsd/tests/prop.rs`, `codec/netlink/tests/prop.rs`): every address,
//! prefix, interface name, route and interface address the public API
//! accepts.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use crate::name::InterfaceName;
use crate::net::{InterfaceAddress, IpNet, NextHop, Route};

/// An address of either family.
pub(crate) fn any_ip(v6: bool) -> BoxedStrategy<IpAddr> {
    if v6 {
        any::<u128>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a))).boxed()
    } else {
        any::<u32>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))).boxed()
    }
}

/// A prefix of either family, any length (host bits kept: the API clears them).
pub(crate) fn any_net(v6: bool) -> impl Strategy<Value = IpNet> {
    let max = if v6 { 128u8 } else { 32 };
    (any_ip(v6), 0..=max).prop_map(|(a, len)| IpNet::new(a, len).unwrap())
}

/// Any name `InterfaceName::new` accepts: `<prefix>N` (`utun`, `tun`) and others.
pub(crate) fn any_name(prefix: &'static str) -> impl Strategy<Value = InterfaceName> {
    prop_oneof![
        (0u32..100_000_000).prop_map(move |n| InterfaceName::new(&format!("{prefix}{n}")).unwrap()),
        "[a-zA-Z0-9_.-]{1,15}".prop_filter_map("a name the API accepts", |s| InterfaceName::new(&s).ok()),
    ]
}

/// Any route the API accepts: either family, host, net or default, out of an
/// interface, through a gateway of the same family, or through a link-local
/// gateway on an interface (what the API refuses, such as a link-local
/// gateway with no interface, is filtered out).
pub(crate) fn any_route(prefix: &'static str) -> impl Strategy<Value = Route> {
    any::<bool>().prop_flat_map(move |v6| {
        let link_local = (any::<u64>(), any_name(prefix)).prop_map(|(low, interface)| NextHop::LinkLocalGateway {
            gateway: Ipv6Addr::from((0xfe80u128 << 112) | u128::from(low)),
            interface,
        });
        let hop = prop_oneof![
            any_name(prefix).prop_map(NextHop::Interface),
            any_ip(v6).prop_map(NextHop::Gateway),
            link_local
        ];
        (any_net(v6), hop).prop_filter_map("a route the API accepts", |(dst, hop)| Route::with_next_hop(dst, hop).ok())
    })
}

/// Any interface address the API accepts, with a peer where one is allowed.
pub(crate) fn any_address() -> impl Strategy<Value = InterfaceAddress> {
    any::<bool>().prop_flat_map(|v6| {
        (any_net(v6), proptest::option::of(any_ip(v6))).prop_map(|(n, peer)| {
            let a = InterfaceAddress::new(n.addr(), n.prefix_len()).unwrap();
            peer.and_then(|p| a.with_peer(p).ok()).unwrap_or(a)
        })
    })
}
