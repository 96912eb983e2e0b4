//! Kernel-shaped replies, round trips, parse errors, truncations and
//! deterministic fuzzing of the parser.

use super::goldens::golden_values;
use super::*;

// ---------------------------------------------------------- kernel replies

/// Parses the golden `name` of every target.
pub(super) fn parse_golden(name: &str) -> Vec<RouteReply> {
    golden_values(name)
        .into_iter()
        .map(|(target, bytes)| {
            parse_route_message(bytes)
                .unwrap_or_else(|e| panic!("{name} for {target}: {e}\n{}", golden::hex_diff(bytes, bytes)))
        })
        .collect()
}

#[test]
fn kernel_get_reply_through_interface_parses() {
    for reply in parse_golden("reply_get_v4_if") {
        assert_eq!(reply.kind(), Some(RtmKind::Get));
        assert!(reply.is_reply_to(10, PID) && reply.is_done());
        assert_eq!(reply.errno_kind(), None);
        assert_eq!(reply.prefix_len, Some(8));
        assert_eq!(reply.gateway_ip(), None);
        assert!(matches!(reply.gateway, Some(SockAddr::Link(LinkAddr { index: 9, .. }))));
        assert_eq!(reply.interface_address, Some(SockAddr::Ip(ip("10.0.0.1"))));
        let entry = reply.to_route_entry();
        assert_eq!(entry.destination, Some(net("10.0.0.0/8")));
        assert_eq!(entry.gateway, None);
        assert_eq!(entry.interface_index, IFINDEX);
        assert_eq!(entry.interface, Some(utun4()));
    }
}

#[test]
fn kernel_get_reply_for_default_route_parses() {
    for reply in parse_golden("reply_get_default_gw") {
        assert_eq!(reply.prefix_len, Some(0));
        let link = reply.interface.expect("RTA_IFP");
        assert_eq!((link.index, link.name), (4, Some(InterfaceName::new("en0").unwrap())));
        let entry = reply.to_route_entry();
        assert_eq!(entry.destination, Some(net("0.0.0.0/0")));
        assert_eq!(entry.gateway, Some(ip("192.168.1.1")));
        assert_eq!(entry.interface_index, 4);
        assert_eq!(reply.interface_address, Some(SockAddr::Ip(ip("192.168.1.20"))));
    }
}

#[test]
fn kernel_get_reply_ipv6_parses() {
    for reply in parse_golden("reply_get_v6_if") {
        let entry = reply.to_route_entry();
        assert_eq!(entry.destination, Some(net("fd00:1::/64")));
        assert_eq!(entry.interface, Some(utun4()));
        assert_eq!(entry.interface_index, IFINDEX);
    }
}

#[test]
fn kernel_errno_becomes_a_typed_error() {
    for reply in parse_golden("reply_add_eexist") {
        assert!(!reply.is_done());
        // Errno numbers 1-34 (V7 Unix) are the same on darwin and Linux, so
        // darwin's EEXIST from the C headers is the host's libc::EEXIST.
        assert_eq!(reply.errno, libc::EEXIST);
        assert_eq!(reply.errno_kind(), Some(ErrorKind::AlreadyExists));
        let err = reply.error(Op::AddRoute).expect("rtm_errno is set");
        assert_eq!((err.kind(), err.raw_os_error()), (ErrorKind::AlreadyExists, Some(libc::EEXIST)));
    }
    let mut msg = encode(RtmKind::Delete, &via_if("10.0.0.0/8"), 2);
    for (errno, kind) in [
        (libc::ESRCH, ErrorKind::NotFound),
        (libc::ENETUNREACH, ErrorKind::NetworkUnreachable),
        (libc::EPERM, ErrorKind::PermissionDenied),
        (0, ErrorKind::Other),
    ] {
        msg[offset_of!(apple::rt_msghdr, rtm_errno)..][..4].copy_from_slice(&errno.to_ne_bytes());
        let reply = parse_route_message(&msg).unwrap();
        if errno == 0 {
            assert!(reply.error(Op::DeleteRoute).is_none() && reply.errno_kind().is_none());
        } else {
            assert_eq!(reply.errno_kind(), Some(kind));
            assert_eq!(reply.error(Op::DeleteRoute).unwrap().kind(), kind);
        }
    }
}

#[test]
fn other_routing_messages_are_recognised() {
    for (_, bytes) in golden_values("ifinfo") {
        let err = parse_route_message(bytes).unwrap_err();
        assert!(err.is_other_message(), "{err}");
        assert_eq!(err.into_error(Op::GetRoute).kind(), ErrorKind::MalformedReply);
    }
}

// -------------------------------------------------------------- round trips

/// Every request the encoders build, with the route it came from.
pub(super) fn encoded_messages() -> Vec<(Vec<u8>, RtmKind, Route, i32)> {
    let routes = [
        via_if("10.0.0.0/8"),
        via_if("10.0.0.2/32"),
        via_if("172.16.0.0/12"),
        Route::default_v4(NextHop::Interface(utun4())).unwrap(),
        via_gw("192.168.16.0/20", "10.0.0.2"),
        Route::default_v4(NextHop::Gateway(ip("10.0.0.1"))).unwrap(),
        via_if("fd00:1::/64"),
        via_if("fd00::2/128"),
        via_if("fd00::/7"),
        Route::default_v6(NextHop::Interface(utun4())).unwrap(),
        via_gw("fd00:2::/48", "fd00::1"),
        Route::via_link_local_gateway(net("2001:db8::/33"), "fe80::1".parse().unwrap(), utun4()).unwrap(),
        via_if("fe80::99/128"),
        via_if("fe80::/64"),
        via_if("ff02::1:2/128"),
    ];
    let mut out = Vec::new();
    for (i, route) in routes.into_iter().enumerate() {
        for kind in [RtmKind::Add, RtmKind::Delete, RtmKind::Get] {
            let seq = i32::try_from(i).unwrap() * 3 + kind.rtm_type() as i32;
            out.push((encode(kind, &route, seq), kind, route, seq));
        }
    }
    out
}

#[test]
fn parse_round_trips_every_encoded_message() {
    for (msg, kind, route, seq) in encoded_messages() {
        let what = format!("{kind:?} {route}");
        let reply = parse_route_message(&msg).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(reply.msglen, msg.len(), "{what}");
        assert_eq!(reply.kind(), Some(kind), "{what}");
        assert!(reply.is_reply_to(seq, PID), "{what}");
        assert!(!reply.is_reply_to(seq + 1, PID) && !reply.is_reply_to(seq, PID + 1), "{what}");
        assert_eq!(reply.errno, 0, "{what}");
        assert_eq!(reply.destination_net(), Some(route.destination()), "{what}");
        assert_eq!(reply.flags & apple::RTF_HOST as i32 != 0, route.is_host(), "{what}");
        assert!(reply.flags & apple::RTF_UP as i32 != 0, "{what}");
        if kind == RtmKind::Get {
            assert_eq!(reply.gateway, None, "{what}");
            let ifp = reply.interface.expect("RTM_GET asks for RTA_IFP");
            assert_eq!((ifp.index, ifp.name), (0, None), "{what}");
            continue;
        }
        match route.next_hop() {
            NextHop::Interface(name) => {
                assert_eq!(
                    reply.gateway,
                    Some(SockAddr::Link(LinkAddr {
                        index: IFINDEX as u16,
                        if_type: apple::IFT_OTHER as u8,
                        name: Some(name)
                    })),
                    "{what}"
                );
                assert_eq!(reply.gateway_ip(), None, "{what}");
            }
            NextHop::Gateway(gw) => {
                assert_eq!(reply.gateway, Some(SockAddr::Ip(gw)), "{what}");
                assert_eq!(reply.gateway_ip(), Some(gw), "{what}");
            }
            NextHop::LinkLocalGateway { gateway, .. } => {
                assert_eq!(reply.gateway, Some(SockAddr::Scoped(gateway, IFINDEX)), "{what}");
                assert_eq!(reply.gateway_ip(), Some(gateway.into()), "{what}");
                assert_eq!(reply.to_route_entry().gateway_scope, Some(IFINDEX), "{what}");
            }
        }
        // A link-local destination carries the interface as its scope.
        let scope = crate::net::is_scoped(route.destination().addr()).then_some(IFINDEX);
        assert_eq!(reply.destination.and_then(|d| d.scope()), scope, "{what}");
    }
}

#[test]
fn bad_interface_indexes_are_refused() {
    for index in [0, u32::from(u16::MAX) + 1] {
        let err = encode_route(RtmKind::Add, &via_if("10.0.0.0/8"), index, 1, PID).unwrap_err();
        assert_eq!((err.kind(), err.op()), (ErrorKind::InvalidInput, Op::AddRoute));
        assert!(err.to_string().contains("sdl_index"), "{err}");
    }
    // A gateway route needs no index.
    assert!(encode_route(RtmKind::Delete, &via_gw("10.0.0.0/8", "10.0.0.1"), 0, 1, PID).is_ok());
}

// ------------------------------------------------------------------ errors

#[test]
fn parse_errors_say_what_was_being_parsed() {
    let good = encode(RtmKind::Add, &via_if("10.0.0.0/8"), 1);
    let mask_at = RT_MSGHDR_LEN + bytes::SIN_LEN + bytes::SDL_LEN;

    let mut m = good.clone();
    m[mask_at] = 40;
    let err = parse_route_message(&m).unwrap_err();
    assert_eq!(err.context, ParseContext::Sockaddr(apple::RTA_NETMASK));
    assert!(
        err.to_string()
            .starts_with("while parsing the RTA_NETMASK sockaddr: sa_len 40 runs past the message (msglen 136"),
        "{err}"
    );

    let mut m = good.clone();
    m[offset_of!(apple::rt_msghdr, rtm_version)] = RTM_VERSION + 1;
    assert!(parse_route_message(&m).unwrap_err().to_string().contains("rtm_version"));

    let err = parse_route_message(&good[..100]).unwrap_err();
    assert_eq!(err.problem, ParseProblem::MsgLenPastBuffer { msglen: 136, len: 100 });
    assert!(err.to_string().starts_with("while parsing the rt_msghdr: rtm_msglen 136"), "{err}");

    // rtm_addrs names a sockaddr the message lacks.
    let mut m = good.clone();
    let addrs = (apple::RTA_DST | apple::RTA_GATEWAY | apple::RTA_NETMASK | apple::RTA_IFA) as i32;
    m[offset_of!(apple::rt_msghdr, rtm_addrs)..][..4].copy_from_slice(&addrs.to_ne_bytes());
    let err = parse_route_message(&m).unwrap_err();
    assert_eq!(err.context, ParseContext::Sockaddr(apple::RTA_IFA));
    assert!(matches!(err.problem, ParseProblem::Missing { .. }), "{err}");

    // A mask that is not a prefix: 255.255.240.0 -> 255.255.15.0.
    let mut m = encode(RtmKind::Add, &via_gw("192.168.16.0/20", "10.0.0.2"), 5);
    let mask_at = RT_MSGHDR_LEN + 2 * bytes::SIN_LEN;
    m[mask_at + offset_of!(apple::sockaddr_in, sin_addr) + 2] = 0x0f;
    let err = parse_route_message(&m).unwrap_err();
    assert!(err.to_string().contains("netmask 255.255.15.0 is not a contiguous prefix"), "{err}");

    // A sockaddr shorter than sa_len and sa_family (XNU: EINVAL).
    let mut m = good.clone();
    m[RT_MSGHDR_LEN] = 1;
    let err = parse_route_message(&m).unwrap_err();
    assert_eq!(err.context, ParseContext::Sockaddr(apple::RTA_DST));
    assert!(matches!(err.problem, ParseProblem::SaLenTooShort { sa_len: 1, .. }), "{err}");

    // A gateway sockaddr_dl whose name runs past sdl_len.
    let mut m = good.clone();
    m[RT_MSGHDR_LEN + bytes::SIN_LEN + offset_of!(apple::sockaddr_dl, sdl_nlen)] = 13;
    let err = parse_route_message(&m).unwrap_err();
    assert_eq!(err.context, ParseContext::Sockaddr(apple::RTA_GATEWAY));
    assert!(err.to_string().contains("sdl_nlen 13"), "{err}");
}

#[test]
fn header_ids_are_read_from_any_header() {
    let msg = encode(RtmKind::Add, &via_if("10.0.0.0/8"), 77);
    let ids = HeaderIds { msglen: msg.len(), rtm_type: RtmKind::Add.rtm_type(), pid: PID, seq: 77 };
    assert_eq!(header_ids(&msg), Some(ids));
    // A message the parser refuses (wrong version) still tells whose it was.
    let mut bad = msg.clone();
    bad[offset_of!(apple::rt_msghdr, rtm_version)] = 0;
    assert!(parse_route_message(&bad).is_err());
    assert_eq!(header_ids(&bad), Some(ids));
    // So does one cut short, its rtm_msglen saying how long it was.
    assert_eq!(header_ids(&msg[..RT_MSGHDR_LEN]), Some(ids));
    assert_eq!(header_ids(&msg[..offset_of!(apple::rt_msghdr, rtm_seq)]), None);
}
