//! Link-local IPv6 in routing messages: the scope (an interface index)
//! embedded in the addresses as route(8) does, and taken out of the
//! kernel's as netstat does (network_cmds `route.tproj/route.c`; XNU
//! `in6_embedded_scope`, `bsd/netinet6/scope6.c`). The goldens are in
//! `c_goldens.rs`; the round trip of every encoded route in `replies.rs`.

use super::replies::parse_golden;
use super::*;

#[test]
fn kernel_get_reply_with_a_link_local_gateway_strips_its_scope() {
    for reply in parse_golden("reply_get_v6_llgw") {
        assert_eq!(reply.gateway, Some(SockAddr::Scoped("fe80::1".parse().unwrap(), IFINDEX)));
        let entry = reply.to_route_entry();
        assert_eq!(entry.destination, Some(net("2001:db8::/32")));
        assert_eq!((entry.gateway, entry.gateway_scope), (Some(ip("fe80::1")), Some(IFINDEX)));
        assert_eq!(entry.destination_scope, None);
        assert_eq!(entry.interface_index, IFINDEX);
    }
}

#[test]
fn a_scope_in_sin6_scope_id_or_embedded_is_the_same_scope() {
    let embedded = parse_route_message(&encode(RtmKind::Add, &via_if("fe80::99/128"), 1)).unwrap();
    for reply in parse_golden("reply_get_v6_ll_scope_id").into_iter().chain([embedded]) {
        assert_eq!(reply.destination, Some(SockAddr::Scoped("fe80::99".parse().unwrap(), IFINDEX)));
        let entry = reply.to_route_entry();
        assert_eq!((entry.destination, entry.destination_scope), (Some(net("fe80::99/128")), Some(IFINDEX)));
        assert_eq!(entry.gateway_scope, None);
    }
}

#[test]
fn link_local_addresses_without_a_scope_and_others_stay_as_they_are() {
    // An unscoped fe80:: (scope 0 both ways) is a plain address; a global
    // address's second group is never taken for a scope.
    for (route, dst) in
        [(via_gw("2001:db8:5::/48", "2001:db8::1"), "2001:db8:5::/48"), (via_if("fd00:7::/64"), "fd00:7::/64")]
    {
        let reply = parse_route_message(&encode(RtmKind::Add, &route, 1)).unwrap();
        assert_eq!(reply.destination, Some(SockAddr::Ip(net(dst).addr())));
    }
    let unscoped = encode_get(net("fe80::5/128"), None, 1, PID);
    assert_eq!(parse_route_message(&unscoped).unwrap().destination, Some(SockAddr::Ip(ip("fe80::5"))));
}
