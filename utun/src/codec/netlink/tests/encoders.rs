//! The struct codecs and the request encoders.

use super::*;

// ---------------------------------------------------------------------------
// Layout helpers
// ---------------------------------------------------------------------------

#[test]
fn struct_codecs_cover_every_byte() {
    let h = utun_sys::nlmsghdr {
        nlmsg_len: u32::MAX,
        nlmsg_type: u16::MAX,
        nlmsg_flags: u16::MAX,
        nlmsg_seq: u32::MAX,
        nlmsg_pid: u32::MAX,
    };
    assert!(encode::nlmsghdr_bytes(&h).iter().all(|&b| b == 0xff));
    let r = utun_sys::rtmsg {
        rtm_family: u8::MAX,
        rtm_dst_len: u8::MAX,
        rtm_src_len: u8::MAX,
        rtm_tos: u8::MAX,
        rtm_table: u8::MAX,
        rtm_protocol: u8::MAX,
        rtm_scope: u8::MAX,
        rtm_type: u8::MAX,
        rtm_flags: u32::MAX,
    };
    assert!(encode::rtmsg_bytes(&r).iter().all(|&b| b == 0xff));
    let a = utun_sys::ifaddrmsg {
        ifa_family: u8::MAX,
        ifa_prefixlen: u8::MAX,
        ifa_flags: u8::MAX,
        ifa_scope: u8::MAX,
        ifa_index: u32::MAX,
    };
    assert!(encode::ifaddrmsg_bytes(&a).iter().all(|&b| b == 0xff));
    let e = utun_sys::nlmsgerr { error: -1, msg: h };
    assert!(encode::nlmsgerr_bytes(&e).iter().all(|&b| b == 0xff));

    // Distinct values round-trip field by field.
    let h = utun_sys::nlmsghdr { nlmsg_len: 1, nlmsg_type: 2, nlmsg_flags: 3, nlmsg_seq: 4, nlmsg_pid: 5 };
    let back = parse::read_nlmsghdr(&encode::nlmsghdr_bytes(&h)).unwrap();
    assert_eq!(format!("{back:?}"), format!("{h:?}"));
    let e = utun_sys::nlmsgerr { error: -17, msg: h };
    let back = parse::read_nlmsgerr(&encode::nlmsgerr_bytes(&e)).unwrap();
    assert_eq!(format!("{back:?}"), format!("{e:?}"));
    assert!(parse::read_nlmsghdr(&[0; size_of::<utun_sys::nlmsghdr>() - 1]).is_none());
    assert!(parse::read_nlmsgerr(&[0; size_of::<utun_sys::nlmsgerr>() - 1]).is_none());
}

#[test]
fn alignment_follows_the_headers() {
    let to = utun_sys::NLMSG_ALIGNTO as usize;
    for len in 0..64 {
        let a = nlmsg_align(len);
        assert!(a >= len && a < len + to && a % to == 0, "{len} -> {a}");
        let r = rta_align(len);
        let rto = utun_sys::RTA_ALIGNTO as usize;
        assert!(r >= len && r < len + rto && r % rto == 0, "{len} -> {r}");
    }
    assert_eq!(NLMSG_HDRLEN, nlmsg_align(size_of::<utun_sys::nlmsghdr>()));
    assert_eq!(RTA_HDRLEN, rta_align(size_of::<utun_sys::rtattr>()));
    assert_eq!(IPV4_LEN, Ipv4Addr::LOCALHOST.octets().len());
    assert_eq!(IPV6_LEN, Ipv6Addr::LOCALHOST.octets().len());
}

// ---------------------------------------------------------------------------
// Encoders
// ---------------------------------------------------------------------------

#[test]
fn address_add_ipv4() {
    let a = InterfaceAddress::new(v4(10, 0, 0, 1), 24).unwrap();
    let buf = encode::encode_address(AddressAction::Add, 7, &a, HEADER);
    let m = only_message(&buf);
    assert_eq!(u32::from(m.kind()), utun_sys::RTM_NEWADDR);
    assert_eq!(
        flags(&m),
        utun_sys::NLM_F_REQUEST | utun_sys::NLM_F_ACK | utun_sys::NLM_F_CREATE | utun_sys::NLM_F_EXCL
    );
    assert_eq!((m.header.nlmsg_seq, m.header.nlmsg_pid), (HEADER.seq, HEADER.pid));
    let ifa = parse::read_ifaddrmsg(m.payload).unwrap();
    assert_eq!(u32::from(ifa.ifa_family), utun_sys::AF_INET);
    assert_eq!(ifa.ifa_prefixlen, 24);
    assert_eq!(u32::from(ifa.ifa_flags), 0);
    assert_eq!(u32::from(ifa.ifa_scope), utun_sys::RT_SCOPE_UNIVERSE);
    assert_eq!(ifa.ifa_index, 7);
    let local = octets(a.address());
    assert_eq!(
        attrs(m.payload, size_of::<utun_sys::ifaddrmsg>()),
        vec![(utun_sys::IFA_LOCAL, local.clone()), (utun_sys::IFA_ADDRESS, local)]
    );
    let expected_len =
        NLMSG_HDRLEN + nlmsg_align(size_of::<utun_sys::ifaddrmsg>()) + 2 * rta_align(RTA_HDRLEN + IPV4_LEN);
    assert_eq!(buf.len(), expected_len);
}

#[test]
fn address_with_peer_puts_the_peer_in_ifa_address() {
    let a = InterfaceAddress::new(v4(10, 0, 0, 1), 32).unwrap().with_peer(v4(10, 0, 0, 2)).unwrap();
    let buf = encode::encode_address(AddressAction::Add, 3, &a, HEADER);
    let m = only_message(&buf);
    let ifa = parse::read_ifaddrmsg(m.payload).unwrap();
    assert_eq!(ifa.ifa_prefixlen, 32);
    assert_eq!(
        attrs(m.payload, size_of::<utun_sys::ifaddrmsg>()),
        vec![(utun_sys::IFA_LOCAL, vec![10, 0, 0, 1]), (utun_sys::IFA_ADDRESS, vec![10, 0, 0, 2])]
    );

    let a6 = InterfaceAddress::new(v6("fd00::1"), 128).unwrap().with_peer(v6("fd00::2")).unwrap();
    let buf = encode::encode_address(AddressAction::Add, 3, &a6, HEADER);
    let m = only_message(&buf);
    let got = attrs(m.payload, size_of::<utun_sys::ifaddrmsg>());
    assert_eq!(got[0], (utun_sys::IFA_LOCAL, octets(v6("fd00::1"))));
    assert_eq!(got[1], (utun_sys::IFA_ADDRESS, octets(v6("fd00::2"))));
}

#[test]
fn address_ipv6_is_nodad_in_both_places() {
    let a = InterfaceAddress::new(v6("fd00:1::1"), 64).unwrap();
    let buf = encode::encode_address(AddressAction::Add, 9, &a, HEADER);
    let m = only_message(&buf);
    let ifa = parse::read_ifaddrmsg(m.payload).unwrap();
    assert_eq!(u32::from(ifa.ifa_family), utun_sys::AF_INET6);
    assert_eq!(ifa.ifa_prefixlen, 64);
    assert_eq!(u32::from(ifa.ifa_flags), utun_sys::IFA_F_NODAD);
    assert_eq!(u32::from(ifa.ifa_scope), utun_sys::RT_SCOPE_UNIVERSE);
    let local = octets(a.address());
    assert_eq!(
        attrs(m.payload, size_of::<utun_sys::ifaddrmsg>()),
        vec![
            (utun_sys::IFA_LOCAL, local.clone()),
            (utun_sys::IFA_ADDRESS, local),
            (utun_sys::IFA_FLAGS, utun_sys::IFA_F_NODAD.to_ne_bytes().to_vec()),
        ]
    );
}

#[test]
fn address_replace_and_delete_flags() {
    let a = InterfaceAddress::new(v4(10, 0, 0, 1), 24).unwrap();
    let buf = encode::encode_address(AddressAction::Replace, 7, &a, HEADER);
    let m = only_message(&buf);
    assert_eq!(u32::from(m.kind()), utun_sys::RTM_NEWADDR);
    assert_eq!(
        flags(&m),
        utun_sys::NLM_F_REQUEST | utun_sys::NLM_F_ACK | utun_sys::NLM_F_CREATE | utun_sys::NLM_F_REPLACE
    );
    let buf = encode::encode_address(AddressAction::Delete, 7, &a, HEADER);
    let m = only_message(&buf);
    assert_eq!(u32::from(m.kind()), utun_sys::RTM_DELADDR);
    assert_eq!(flags(&m), utun_sys::NLM_F_REQUEST | utun_sys::NLM_F_ACK);
    // Same body as the add: the kernel matches IFA_LOCAL, and the prefix of
    // IFA_ADDRESS with ifa_prefixlen.
    let add = encode::encode_address(AddressAction::Add, 7, &a, HEADER);
    assert_eq!(buf[NLMSG_HDRLEN..], add[NLMSG_HDRLEN..]);
}

#[test]
fn route_add_through_interface() {
    let r = Route::through_interface(net("10.1.2.3/16"), tun0());
    let buf = encode::encode_route(RouteAction::Add, &r, 5, HEADER);
    let m = only_message(&buf);
    assert_eq!(u32::from(m.kind()), utun_sys::RTM_NEWROUTE);
    assert_eq!(
        flags(&m),
        utun_sys::NLM_F_REQUEST | utun_sys::NLM_F_ACK | utun_sys::NLM_F_CREATE | utun_sys::NLM_F_EXCL
    );
    assert_eq!((m.header.nlmsg_seq, m.header.nlmsg_pid), (HEADER.seq, HEADER.pid));
    let rtm = parse::read_rtmsg(m.payload).unwrap();
    assert_eq!(u32::from(rtm.rtm_family), utun_sys::AF_INET);
    assert_eq!(rtm.rtm_dst_len, 16);
    assert_eq!((rtm.rtm_src_len, rtm.rtm_tos, rtm.rtm_flags), (0, 0, 0));
    assert_eq!(u32::from(rtm.rtm_table), utun_sys::RT_TABLE_MAIN);
    assert_eq!(u32::from(rtm.rtm_protocol), utun_sys::RTPROT_STATIC);
    assert_eq!(u32::from(rtm.rtm_scope), utun_sys::RT_SCOPE_LINK);
    assert_eq!(u32::from(rtm.rtm_type), utun_sys::RTN_UNICAST);
    assert_eq!(
        attrs(m.payload, size_of::<utun_sys::rtmsg>()),
        vec![(utun_sys::RTA_DST, vec![10, 1, 0, 0]), (utun_sys::RTA_OIF, 5u32.to_ne_bytes().to_vec())]
    );
    // Round trip: an RTM_NEWROUTE is also what the parser reads.
    assert_eq!(m.body().unwrap(), Body::Route(RouteEntry::new(Some(net("10.1.0.0/16")), None, 5, None)));
}

#[test]
fn route_add_via_gateway_ipv6() {
    let r = Route::via_gateway(net("fd00:9::/48"), v6("fd00::1")).unwrap();
    let buf = encode::encode_route(RouteAction::Add, &r, 0, HEADER);
    let m = only_message(&buf);
    let rtm = parse::read_rtmsg(m.payload).unwrap();
    assert_eq!(u32::from(rtm.rtm_family), utun_sys::AF_INET6);
    assert_eq!(rtm.rtm_dst_len, 48);
    assert_eq!(u32::from(rtm.rtm_scope), utun_sys::RT_SCOPE_UNIVERSE);
    assert_eq!(u32::from(rtm.rtm_protocol), utun_sys::RTPROT_STATIC);
    assert_eq!(u32::from(rtm.rtm_type), utun_sys::RTN_UNICAST);
    let metric = utun_sys::IP6_RT_PRIO_USER.to_ne_bytes().to_vec();
    assert_eq!(
        attrs(m.payload, size_of::<utun_sys::rtmsg>()),
        vec![
            (utun_sys::RTA_DST, octets(v6("fd00:9::"))),
            (utun_sys::RTA_GATEWAY, octets(v6("fd00::1"))),
            (utun_sys::RTA_PRIORITY, metric.clone())
        ]
    );
    assert_eq!(m.body().unwrap(), Body::Route(RouteEntry::new(Some(net("fd00:9::/48")), Some(v6("fd00::1")), 0, None)));
    // With an interface too.
    let buf = encode::encode_route(RouteAction::Add, &r, 4, HEADER);
    let got = attrs(only_message(&buf).payload, size_of::<utun_sys::rtmsg>());
    assert_eq!(got[2..], [(utun_sys::RTA_OIF, 4u32.to_ne_bytes().to_vec()), (utun_sys::RTA_PRIORITY, metric)]);
}

#[test]
fn default_route_has_no_rta_dst() {
    let oif = (utun_sys::RTA_OIF, 2u32.to_ne_bytes().to_vec());
    let metric = (utun_sys::RTA_PRIORITY, utun_sys::IP6_RT_PRIO_USER.to_ne_bytes().to_vec());
    for (r, want) in [
        (Route::default_v4(NextHop::Interface(tun0())).unwrap(), vec![oif.clone()]),
        (Route::default_v6(NextHop::Interface(tun0())).unwrap(), vec![oif, metric]),
    ] {
        let buf = encode::encode_route(RouteAction::Add, &r, 2, HEADER);
        let m = only_message(&buf);
        let rtm = parse::read_rtmsg(m.payload).unwrap();
        assert_eq!(rtm.rtm_dst_len, 0);
        assert_eq!(attrs(m.payload, size_of::<utun_sys::rtmsg>()), want);
        let Body::Route(entry) = m.body().unwrap() else { panic!("not a route") };
        assert_eq!(entry.destination, Some(r.destination()));
    }
}

/// A delete names every field the add set, wildcards none: the kernel
/// would otherwise delete the first route that matches the rest (IPv6: the
/// lowest metric's, IPv4: any protocol's, scope's or type's).
#[test]
fn a_delete_names_exactly_what_the_add_did() {
    let routes = [
        (Route::through_interface(net("10.0.0.0/8"), tun0()), 5),
        (Route::via_gateway(net("10.7.0.0/16"), v4(10, 0, 0, 2)).unwrap(), 0),
        (Route::through_interface(net("fd09::/64"), tun0()), 5),
        (Route::via_gateway(net("fd07::/48"), v6("fd00::2")).unwrap(), 5),
    ];
    for (r, oif) in routes {
        let add = encode::encode_route(RouteAction::Add, &r, oif, HEADER);
        let delete = encode::encode_route(RouteAction::Delete, &r, oif, HEADER);
        let (add, delete) = (only_message(&add), only_message(&delete));
        assert_eq!(u32::from(delete.kind()), utun_sys::RTM_DELROUTE);
        assert_eq!(flags(&delete), utun_sys::NLM_F_REQUEST | utun_sys::NLM_F_ACK);
        assert_eq!(delete.payload, add.payload, "{r}: the delete's rtmsg and attributes are the add's");
        let rtm = parse::read_rtmsg(delete.payload).unwrap();
        assert_eq!(u32::from(rtm.rtm_protocol), utun_sys::RTPROT_STATIC, "{r}");
        assert_eq!(u32::from(rtm.rtm_type), utun_sys::RTN_UNICAST, "{r}");
        assert_eq!(u32::from(rtm.rtm_table), utun_sys::RT_TABLE_MAIN, "{r}");
        let scope = if matches!(r.next_hop(), NextHop::Gateway(_)) {
            utun_sys::RT_SCOPE_UNIVERSE
        } else {
            utun_sys::RT_SCOPE_LINK
        };
        assert_eq!(u32::from(rtm.rtm_scope), scope, "{r}");
        let metric = attrs(delete.payload, size_of::<utun_sys::rtmsg>())
            .into_iter()
            .find(|(kind, _)| *kind == utun_sys::RTA_PRIORITY)
            .map(|(_, bytes)| u32::from_ne_bytes(bytes.try_into().unwrap()));
        // IPv4: no RTA_PRIORITY, the kernel's default metric 0 (see encode_route).
        let want = if r.destination().addr().is_ipv4() { None } else { Some(utun_sys::IP6_RT_PRIO_USER) };
        assert_eq!(metric, want, "{r}");
    }
    let r = Route::through_interface(net("10.0.0.0/8"), tun0());
    let buf = encode::encode_route(RouteAction::Replace, &r, 5, HEADER);
    let m = only_message(&buf);
    assert_eq!(u32::from(m.kind()), utun_sys::RTM_NEWROUTE);
    assert_eq!(
        flags(&m),
        utun_sys::NLM_F_REQUEST | utun_sys::NLM_F_ACK | utun_sys::NLM_F_CREATE | utun_sys::NLM_F_REPLACE
    );
}

#[test]
fn a_link_local_gateway_is_the_gateway_on_its_interface() {
    // ip -6 route add 2001:db8::/32 via fe80::1 dev <index 4>: RTA_GATEWAY and RTA_OIF.
    let utun4 = crate::name::InterfaceName::new("tun4").unwrap();
    let r = Route::via_link_local_gateway(net("2001:db8::/32"), "fe80::1".parse().unwrap(), utun4).unwrap();
    let buf = encode::encode_route(RouteAction::Add, &r, 4, HEADER);
    let m = only_message(&buf);
    let rtm = parse::read_rtmsg(m.payload).unwrap();
    assert_eq!(u32::from(rtm.rtm_scope), utun_sys::RT_SCOPE_UNIVERSE);
    let got = attrs(m.payload, size_of::<utun_sys::rtmsg>());
    assert_eq!(
        got[..3],
        [
            (utun_sys::RTA_DST, octets(v6("2001:db8::"))),
            (utun_sys::RTA_GATEWAY, octets(v6("fe80::1"))),
            (utun_sys::RTA_OIF, 4u32.to_ne_bytes().to_vec())
        ]
    );
    // Read back, the gateway's scope is the route's interface; a global
    // destination has none.
    let Body::Route(entry) = m.body().unwrap() else { panic!("not a route") };
    assert_eq!((entry.gateway, entry.gateway_scope, entry.destination_scope), (Some(v6("fe80::1")), Some(4), None));
    // A link-local destination out of an interface: its scope too.
    let host = Route::through_interface(net("fe80::99/128"), utun4);
    let buf = encode::encode_route(RouteAction::Add, &host, 4, HEADER);
    let Body::Route(entry) = only_message(&buf).body().unwrap() else { panic!("not a route") };
    assert_eq!((entry.destination_scope, entry.gateway_scope), (Some(4), None));
}

#[test]
fn route_get() {
    for (addr, family, fib_match) in
        [(v4(192, 0, 2, 7), utun_sys::AF_INET, true), (v6("2001:db8::7"), utun_sys::AF_INET6, false)]
    {
        let buf = encode::encode_get_route(addr, 0, fib_match, HEADER);
        let m = only_message(&buf);
        assert_eq!(u32::from(m.kind()), utun_sys::RTM_GETROUTE);
        assert_eq!(flags(&m), utun_sys::NLM_F_REQUEST);
        let rtm = parse::read_rtmsg(m.payload).unwrap();
        assert_eq!(u32::from(rtm.rtm_family), family);
        assert_eq!(usize::from(rtm.rtm_dst_len), octets(addr).len() * 8);
        assert_eq!(u32::from(rtm.rtm_table), utun_sys::RT_TABLE_UNSPEC);
        assert_eq!(rtm.rtm_flags, if fib_match { utun_sys::RTM_F_FIB_MATCH } else { 0 });
        assert_eq!(attrs(m.payload, size_of::<utun_sys::rtmsg>()), vec![(utun_sys::RTA_DST, octets(addr))]);
    }
    // A link-local address is looked up on its interface: RTA_OIF.
    let ll = v6("fe80::7");
    let buf = encode::encode_get_route(ll, 6, true, HEADER);
    assert_eq!(
        attrs(only_message(&buf).payload, size_of::<utun_sys::rtmsg>()),
        vec![(utun_sys::RTA_DST, octets(ll)), (utun_sys::RTA_OIF, 6u32.to_ne_bytes().to_vec())]
    );
}

#[test]
fn requests_encode_with_the_given_header() {
    let a = InterfaceAddress::new(v4(10, 0, 0, 1), 24).unwrap();
    let h = MessageHeader { seq: 99, pid: 1234 };
    let buf = Request::Address { action: AddressAction::Add, index: 1, address: &a }.encode(h);
    let m = only_message(&buf);
    assert_eq!((m.header.nlmsg_seq, m.header.nlmsg_pid), (99, 1234));
}
