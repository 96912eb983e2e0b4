//! Property tests (proptest) of the rtnetlink encoders: every route and
//! address the public API accepts encodes to a message that parses back to
//! the same value (routes through the reply parser, as the kernel's answer
//! to a lookup has the shape of `RTM_NEWROUTE`; addresses through their
//! `ifaddrmsg` and attributes), every prefix length round-trips, and no
//! encoder panics on any value the types can hold. Also the writer of the
//! rtnetlink fuzz targets' seed corpora (`cargo xtask fuzz --seed`).

use proptest::prelude::*;

use super::*;

use crate::codec::strategies::any_address;

fn any_route() -> impl Strategy<Value = Route> {
    crate::codec::strategies::any_route("tun")
}

fn header(seq: u32, pid: u32) -> MessageHeader {
    MessageHeader { seq, pid }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// RTM_NEWROUTE (add; replace, the shape of a lookup's answer) parses
    /// back as the route: destination and prefix, gateway, `RTA_OIF`; the
    /// delete is one well-framed RTM_DELROUTE.
    #[test]
    fn every_route_round_trips(route in any_route(), oif: u32, seq: u32, pid: u32) {
        let gateway = match route.next_hop() {
            NextHop::Gateway(gw) => Some(gw),
            NextHop::LinkLocalGateway { gateway, .. } => Some(gateway.into()),
            NextHop::Interface(_) => None,
        };
        for action in [RouteAction::Add, RouteAction::Replace, RouteAction::Delete] {
            let msg = encode::encode_route(action, &route, oif, header(seq, pid));
            let m = only_message(&msg);
            prop_assert_eq!((m.header.nlmsg_seq, m.header.nlmsg_pid), (seq, pid));
            match (action, m.body().unwrap()) {
                (RouteAction::Delete, Body::Other(kind, _)) => prop_assert_eq!(u32::from(kind), utun_sys::RTM_DELROUTE),
                (RouteAction::Delete, other) => prop_assert!(false, "{}: a delete read as {:?}", route, other),
                (_, Body::Route(entry)) => {
                    // Link-local addresses are scoped to the route's interface.
                    let expect = crate::codec::netlink::parse::scoped_by_interface(RouteEntry::new(
                        Some(route.destination()),
                        gateway,
                        oif,
                        None,
                    ));
                    prop_assert_eq!(entry, expect, "{}", route);
                }
                (_, other) => prop_assert!(false, "{}: read as {:?}", route, other),
            }
        }
    }

    /// Every prefix length of either family round-trips through
    /// RTM_NEWROUTE, and a lookup (RTM_GETROUTE) is one well-framed message
    /// for any address.
    #[test]
    fn every_prefix_length_round_trips(v4: u32, v6: u128, fib_match: bool) {
        for addr in [IpAddr::V4(Ipv4Addr::from(v4)), IpAddr::V6(Ipv6Addr::from(v6))] {
            for len in 0..=IpNet::from(addr).max_prefix_len() {
                let route = Route::through_interface(IpNet::new(addr, len).unwrap(), tun0());
                let msg = encode::encode_route(RouteAction::Replace, &route, 3, HEADER);
                let Ok(Body::Route(entry)) = only_message(&msg).body() else {
                    return Err(TestCaseError::fail(format!("{route} did not parse back")));
                };
                prop_assert_eq!(entry.destination, Some(route.destination()));
            }
            let get = encode::encode_get_route(addr, 0, fib_match, HEADER);
            prop_assert_eq!(u32::from(only_message(&get).kind()), utun_sys::RTM_GETROUTE);
        }
    }

    /// RTM_NEWADDR/RTM_DELADDR carry the address's family, prefix and
    /// interface index in the `ifaddrmsg`, the local address in `IFA_LOCAL`,
    /// and the peer (or the local address again) in `IFA_ADDRESS`.
    #[test]
    fn every_address_round_trips(address in any_address(), index: u32, seq: u32, pid: u32) {
        for action in [AddressAction::Add, AddressAction::Replace, AddressAction::Delete] {
            let msg = encode::encode_address(action, index, &address, header(seq, pid));
            let m = only_message(&msg);
            let ifa = parse::read_ifaddrmsg(m.payload).unwrap();
            let family = if address.is_ipv4() { utun_sys::AF_INET } else { utun_sys::AF_INET6 };
            prop_assert_eq!((u32::from(ifa.ifa_family), ifa.ifa_prefixlen, ifa.ifa_index), (family, address.prefix_len(), index));
            let a = attrs(m.payload, size_of::<utun_sys::ifaddrmsg>());
            let get = |kind: u32| a.iter().find(|(k, _)| *k == kind).map(|(_, b)| b.clone());
            prop_assert_eq!(get(utun_sys::IFA_LOCAL), Some(octets(address.address())));
            prop_assert_eq!(get(utun_sys::IFA_ADDRESS), Some(octets(address.peer().unwrap_or(address.address()))));
        }
    }

    /// Link requests never panic, whatever the index; a set-link whose
    /// index can be an interface's parses back (`RTM_NEWLINK`) as its index,
    /// MTU and the flags it changes.
    #[test]
    fn link_requests_round_trip(index: u32, mtu: Option<u32>, flags: u32, change: u32) {
        let msg = super::super::link::encode_set_link(index, mtu, flags, change, HEADER);
        let body = only_message(&msg).body();
        if super::super::link::index_fits(index) {
            let Ok(Body::Link(link)) = body else {
                return Err(TestCaseError::fail(format!("index {index}: {body:?}")));
            };
            prop_assert_eq!((link.index, link.mtu, link.flags, link.name), (index, mtu, flags & change, None));
        } else {
            prop_assert!(body.is_err(), "index {} read back as {:?}", index, body);
        }
        let _ = only_message(&super::super::link::encode_get_link(index, HEADER));
    }
}

// ------------------------------------------------------- fuzz seed corpora

/// The seed corpora of the rtnetlink fuzz targets: the encoders' requests
/// and kernel-shaped replies (routes, links, ACKs, errors, a dump ending in
/// `NLMSG_DONE`), written to the directory `UTUN_FUZZ_SEEDS` names, by
/// `cargo xtask fuzz --seed`.
#[test]
#[ignore = "writes the fuzz seed corpora: run by `cargo xtask fuzz --seed`"]
fn write_fuzz_seeds_rtnetlink() {
    let dir = std::path::PathBuf::from(std::env::var_os("UTUN_FUZZ_SEEDS").expect("UTUN_FUZZ_SEEDS: where to write"));
    let write = |name: &str, bytes: &[u8]| {
        let d = dir.join("rtnetlink_parse");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(name), bytes).unwrap();
    };
    let gw = Route::via_gateway(net("10.1.0.0/16"), v4(10, 0, 0, 1)).unwrap();
    let v6_if = Route::through_interface(net("fd00::/64"), tun0());
    let addr = InterfaceAddress::new(v6("fd00::1"), 64).unwrap();
    let done = message(utun_sys::NLMSG_DONE, 1, 2, &[0; 4], &[]);
    let dump = [kernel_like_route_reply(1, 2), kernel_like_link_reply(1, 2), done.clone()].concat();
    let seeds: [(&str, Vec<u8>); 9] = [
        ("route-reply", kernel_like_route_reply(1, 2)),
        ("link-reply", kernel_like_link_reply(1, 2)),
        ("ack", error_reply(0, 1, 2)),
        ("error", error_reply(-libc::EEXIST, 1, 2)),
        ("dump", dump),
        ("encode-route-gw", encode::encode_route(RouteAction::Replace, &gw, 7, HEADER)),
        ("encode-route-v6-if", encode::encode_route(RouteAction::Replace, &v6_if, 7, HEADER)),
        ("encode-address-v6", encode::encode_address(AddressAction::Add, 7, &addr, HEADER)),
        ("encode-set-link", super::super::link::encode_set_link(7, Some(1400), 1, 1, HEADER)),
    ];
    for (name, bytes) in &seeds {
        write(name, bytes);
    }
}
