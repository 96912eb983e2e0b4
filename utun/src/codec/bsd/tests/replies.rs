//! Kernel-shaped replies, round trips, parse errors, truncations and
//! deterministic fuzzing of the parser.

use super::goldens::golden_values;
use super::*;

// ---------------------------------------------------------- kernel replies

/// Parses the golden `name` of every target.
fn parse_golden(name: &str) -> Vec<RouteReply> {
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
fn encoded_messages() -> Vec<(Vec<u8>, RtmKind, Route, i32)> {
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
        via_gw("2001:db8::/33", "fe80::1"),
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
        }
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

// ------------------------------------------------ truncation and fuzzing

/// Every valid message: the encoders' and the C-built kernel replies.
fn valid_messages() -> Vec<Vec<u8>> {
    let mut all: Vec<Vec<u8>> = encoded_messages().into_iter().map(|(m, ..)| m).collect();
    for name in ["reply_get_v4_if", "reply_get_default_gw", "reply_get_v6_if", "reply_add_eexist"] {
        all.extend(golden_values(name).into_iter().map(|(_, b)| b.to_vec()));
    }
    all
}

/// Parses `buf`, failing the test with the input if the parser panics, and
/// exercising everything a caller does with the result.
fn parse_must_not_panic(buf: &[u8]) -> Result<RouteReply, ParseError> {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let result = parse_route_message(buf);
        match &result {
            Ok(reply) => {
                assert!(reply.msglen <= buf.len() && reply.msglen >= RT_MSGHDR_LEN);
                let _ = (reply.to_route_entry(), reply.error(Op::GetRoute), reply.kind(), reply.destination_net());
            }
            Err(e) => {
                let _ = (e.to_string(), e.into_error(Op::GetRoute).to_string());
            }
        }
        result
    }));
    result.unwrap_or_else(|_| panic!("the parser panicked on {buf:02x?}"))
}

#[test]
fn parse_rejects_every_truncation() {
    let mut count = 0;
    for msg in valid_messages() {
        assert!(parse_must_not_panic(&msg).is_ok());
        for len in 0..msg.len() {
            assert!(parse_must_not_panic(&msg[..len]).is_err(), "a {len}-byte prefix of {msg:02x?} parsed");
            count += 1;
        }
        // Truncated with rtm_msglen saying so: never a panic, and an error
        // whenever the cut goes into a sockaddr's sa_len bytes.
        for len in RT_MSGHDR_LEN..msg.len() {
            let mut cut = msg[..len].to_vec();
            cut[..2].copy_from_slice(&u16::try_from(len).unwrap().to_ne_bytes());
            let _ = parse_must_not_panic(&cut);
            count += 1;
        }
    }
    assert!(count > 5_000, "{count}");
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// A random sockaddr: plausible lengths and families most of the time.
fn random_sockaddr(rng: &mut Rng, out: &mut Vec<u8>) {
    let lens = [0, 1, 2, 3, 5, 7, 8, 12, 16, 20, 24, 28, 32, 255];
    let families = [AF_INET, AF_INET6, AF_LINK, 0, 0xff];
    let sa_len = if rng.below(8) == 0 { rng.byte() } else { lens[rng.below(lens.len())] };
    let family = if rng.below(8) == 0 { rng.byte() } else { families[rng.below(families.len())] };
    let start = out.len();
    let space = bytes::sa_space(usize::from(sa_len));
    out.extend((0..space).map(|_| if rng.below(3) == 0 { rng.byte() } else { rng.byte() % 16 }));
    out[start] = sa_len;
    if let Some(f) = out.get_mut(start + 1) {
        *f = family;
    }
}

#[test]
fn parse_survives_random_bytes() {
    let mut rng = Rng(0x0005_eed0_f0dd_ba11);
    let mut ok = 0;
    for i in 0..200_000 {
        let mut buf: Vec<u8>;
        if i % 2 == 0 {
            // Raw noise.
            let len = rng.below(320);
            buf = (0..len).map(|_| rng.byte()).collect();
        } else {
            // A header that passes the first checks, then random sockaddrs.
            buf = vec![0; RT_MSGHDR_LEN];
            for b in buf.iter_mut() {
                *b = rng.byte();
            }
            buf[offset_of!(apple::rt_msghdr, rtm_version)] = RTM_VERSION;
            let types = [apple::RTM_ADD, apple::RTM_DELETE, apple::RTM_GET, apple::RTM_MISS];
            buf[offset_of!(apple::rt_msghdr, rtm_type)] = types[rng.below(types.len())] as u8;
            let addrs = i32::from(rng.byte());
            buf[offset_of!(apple::rt_msghdr, rtm_addrs)..][..4].copy_from_slice(&addrs.to_ne_bytes());
            for _ in 0..rng.below(9) {
                random_sockaddr(&mut rng, &mut buf);
            }
            buf.truncate(buf.len() - rng.below(4).min(buf.len() - RT_MSGHDR_LEN));
            let msglen = if rng.below(4) == 0 { rng.below(buf.len() + 8) } else { buf.len() };
            buf[..2].copy_from_slice(&u16::try_from(msglen).unwrap_or(u16::MAX).to_ne_bytes());
        }
        ok += usize::from(parse_must_not_panic(&buf).is_ok());
    }
    // The structured half must reach the end of the parser often.
    eprintln!("{ok} of 200000 random messages parsed");
    assert!(ok > 1_000, "only {ok} random messages parsed");
}

#[test]
fn parse_survives_mutations_of_valid_messages() {
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    let messages = valid_messages();
    let mut total = 0;
    for msg in &messages {
        for _ in 0..2_500 {
            let mut m = msg.clone();
            for _ in 0..=rng.below(4) {
                let at = rng.below(m.len());
                m[at] = match rng.below(4) {
                    0 => rng.byte(),
                    1 => m[at] ^ (1 << rng.below(8)),
                    2 => 0,
                    _ => 0xff,
                };
            }
            match rng.below(4) {
                0 => m.truncate(rng.below(m.len() + 1)),
                1 => m.extend((0..rng.below(16)).map(|_| rng.byte())),
                _ => {}
            }
            let _ = parse_must_not_panic(&m);
            total += 1;
        }
    }
    assert!(total >= 100_000, "{total}");
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
