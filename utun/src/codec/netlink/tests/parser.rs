//! The reply parser: acks, errors, routes, framing, truncation and
//! deterministic fuzzing.

use super::*;

// ---------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------

#[test]
fn acks_and_errors() {
    let m = error_reply(0, 5, 6);
    assert_eq!(only_message(&m).body().unwrap(), Body::Ack);
    let route = Route::through_interface(net("10.0.0.0/8"), tun0());
    for (errno, kind) in [
        (libc::EEXIST, ErrorKind::AlreadyExists),
        (libc::ESRCH, ErrorKind::NotFound),
        (libc::EADDRNOTAVAIL, ErrorKind::NotFound),
        (libc::ENETUNREACH, ErrorKind::NetworkUnreachable),
        (libc::EPERM, ErrorKind::PermissionDenied),
    ] {
        let m = error_reply(-errno, 5, 6);
        let Body::Error(got) = only_message(&m).body().unwrap() else { panic!("not an error") };
        assert_eq!(got, errno);
        let err = Error::os(Op::AddRoute, std::io::Error::from_raw_os_error(got)).about(route);
        assert_eq!(err.kind(), kind, "errno {errno}");
        assert_eq!(err.raw_os_error(), Some(errno));
        assert_eq!(err.op(), Op::AddRoute);
        assert!(err.to_string().starts_with("adding a route (10.0.0.0/8 dev tun0): "), "{err}");
    }
    for bad in [1, i32::MIN] {
        let m = error_reply(bad, 5, 6);
        let err = only_message(&m).body().unwrap_err();
        assert_eq!(err, ParseError { context: Context::ErrorMessage, problem: Problem::PositiveError(bad) });
    }
    // An NLMSG_ERROR too short for its nlmsgerr.
    let m = message(utun_sys::NLMSG_ERROR, 1, 1, &0i32.to_ne_bytes(), &[]);
    assert!(matches!(
        only_message(&m).body(),
        Err(ParseError { context: Context::ErrorMessage, problem: Problem::Truncated { .. } })
    ));
    let done = message(utun_sys::NLMSG_DONE, 1, 1, &0i32.to_ne_bytes(), &[]);
    assert_eq!(only_message(&done).body().unwrap(), Body::Done);
}

#[test]
fn kernel_like_reply_decodes() {
    let m = kernel_like_route_reply(3, 4);
    let msg = only_message(&m);
    assert_eq!((msg.header.nlmsg_seq, msg.header.nlmsg_pid), (3, 4));
    assert_eq!(
        msg.body().unwrap(),
        Body::Route(RouteEntry::new(Some(net("10.1.2.0/24")), Some(v4(10, 1, 2, 254)), 7, None))
    );
}

#[test]
fn several_messages_in_one_buffer() {
    let mut buf = error_reply(-libc::EEXIST, 1, 9);
    buf.extend(kernel_like_route_reply(2, 9));
    // A last message whose length is not a multiple of the alignment and has no padding.
    let odd = message(0x7ffe, 3, 9, &[1, 2, 3], &[]);
    let odd = &odd[..NLMSG_HDRLEN + 3];
    let mut odd = odd.to_vec();
    odd[..4].copy_from_slice(&((NLMSG_HDRLEN + 3) as u32).to_ne_bytes());
    buf.extend(&odd);
    let all: Vec<_> = parse::messages(&buf).collect::<Result<_, _>>().unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all.iter().map(|m| m.header.nlmsg_seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(all[0].body().unwrap(), Body::Error(libc::EEXIST));
    assert!(matches!(all[1].body().unwrap(), Body::Route(_)));
    assert_eq!(all[2].body().unwrap(), Body::Other(0x7ffe, &[1, 2, 3][..]));
}

#[test]
fn parse_errors_say_where_and_what() {
    let rtm = utun_sys::rtmsg { rtm_family: utun_sys::AF_INET as u8, ..Default::default() };
    let m = message(utun_sys::RTM_NEWROUTE, 1, 1, &encode::rtmsg_bytes(&rtm), &[(utun_sys::RTA_GATEWAY, &[1, 2, 3])]);
    let err = only_message(&m).body().unwrap_err();
    assert_eq!(err.to_string(), "while parsing the RTA_GATEWAY attribute: length 3 is not an IPv4 or IPv6 address");

    let m = message(utun_sys::RTM_NEWROUTE, 1, 1, &encode::rtmsg_bytes(&rtm), &[(utun_sys::RTA_DST, &[0; 16])]);
    let err = only_message(&m).body().unwrap_err();
    assert!(matches!(err.problem, Problem::AddressFamily { len: 16, .. }), "{err}");

    let m = message(utun_sys::RTM_NEWROUTE, 1, 1, &encode::rtmsg_bytes(&rtm), &[(utun_sys::RTA_OIF, &[1, 2])]);
    let err = only_message(&m).body().unwrap_err();
    assert_eq!(err.to_string(), "while parsing the RTA_OIF attribute: length 2 is not a 32-bit integer's");

    let with_len = utun_sys::rtmsg { rtm_dst_len: 8, ..rtm };
    let m = message(utun_sys::RTM_NEWROUTE, 1, 1, &encode::rtmsg_bytes(&with_len), &[]);
    assert_eq!(only_message(&m).body().unwrap_err().problem, Problem::MissingDestination(8));

    let too_long = utun_sys::rtmsg { rtm_dst_len: 33, ..rtm };
    let m = message(utun_sys::RTM_NEWROUTE, 1, 1, &encode::rtmsg_bytes(&too_long), &[]);
    assert_eq!(only_message(&m).body().unwrap_err().problem, Problem::PrefixLength { len: 33, max: 32 });

    let unix = utun_sys::rtmsg { rtm_family: 1, ..rtm };
    let m = message(utun_sys::RTM_NEWROUTE, 1, 1, &encode::rtmsg_bytes(&unix), &[]);
    assert_eq!(only_message(&m).body().unwrap_err().problem, Problem::Family(1));

    let mut short = error_reply(0, 1, 1);
    short[..4].copy_from_slice(&((NLMSG_HDRLEN - 1) as u32).to_ne_bytes());
    let err = parse::messages(&short).next().unwrap().unwrap_err();
    assert_eq!(err.context, Context::Header { offset: 0 });
    assert!(err.to_string().starts_with("while parsing the netlink message header at byte 0: nlmsg_len 15"), "{err}");
}

#[test]
fn reply_enum_is_what_request_returns() {
    // The reply types are plain values (the socket test exercises them live).
    assert_eq!(Reply::Ack, Reply::Ack);
    assert_ne!(Reply::Ack, Reply::Route(RouteEntry::new(None, None, 1, None)));
}

/// Every valid message the tests know: requests and replies.
fn corpus() -> Vec<Vec<u8>> {
    let a4 = InterfaceAddress::new(v4(10, 0, 0, 1), 24).unwrap();
    let p4 = InterfaceAddress::new(v4(10, 0, 0, 1), 32).unwrap().with_peer(v4(10, 0, 0, 2)).unwrap();
    let a6 = InterfaceAddress::new(v6("fd00::1"), 64).unwrap();
    let r4 = Route::through_interface(net("10.1.0.0/16"), tun0());
    let g6 = Route::via_gateway(net("fd00:9::/48"), v6("fd00::1")).unwrap();
    let d4 = Route::default_v4(NextHop::Gateway(v4(10, 0, 0, 2))).unwrap();
    let mut out = vec![
        encode::encode_address(AddressAction::Add, 1, &a4, HEADER),
        encode::encode_address(AddressAction::Add, 1, &p4, HEADER),
        encode::encode_address(AddressAction::Replace, 1, &a6, HEADER),
        encode::encode_address(AddressAction::Delete, 1, &a6, HEADER),
        encode::encode_route(RouteAction::Add, &r4, 3, HEADER),
        encode::encode_route(RouteAction::Add, &g6, 3, HEADER),
        encode::encode_route(RouteAction::Delete, &d4, 0, HEADER),
        encode::encode_get_route(v4(10, 1, 1, 1), 0, true, HEADER),
        encode::encode_get_route(v6("fd00::5"), 0, false, HEADER),
        error_reply(0, 1, 2),
        error_reply(-libc::ESRCH, 1, 2),
        kernel_like_route_reply(1, 2),
        kernel_like_link_reply(1, 2),
        super::super::link::encode_get_link(7, HEADER),
        super::super::link::encode_set_link(7, Some(1400), utun_sys::IFF_UP, utun_sys::IFF_UP, HEADER),
        message(utun_sys::NLMSG_DONE, 1, 2, &0i32.to_ne_bytes(), &[]),
    ];
    let mut two = error_reply(0, 1, 2);
    two.extend(kernel_like_route_reply(2, 2));
    out.push(two);
    out
}

/// Runs the whole parser over `buf`; returns (messages, decoded routes, errors).
fn exercise(buf: &[u8]) -> (usize, usize, usize) {
    let (mut n, mut routes, mut errors) = (0, 0, 0);
    for m in parse::messages(buf) {
        match m {
            Ok(m) => {
                n += 1;
                match m.body() {
                    Ok(Body::Route(_)) => routes += 1,
                    Ok(_) => {}
                    Err(e) => {
                        errors += 1;
                        let _ = e.to_string();
                    }
                }
                for a in parse::attributes(m.payload) {
                    if let Err(e) = a {
                        let _ = e.to_string();
                    }
                }
            }
            Err(e) => {
                errors += 1;
                let _ = e.to_string();
            }
        }
    }
    (n, routes, errors)
}

#[test]
fn truncation_at_every_length_is_an_error() {
    for valid in corpus() {
        let (n, _, errors) = exercise(&valid);
        assert!(n >= 1 && errors == 0, "corpus message parses cleanly");
        let first_len = parse::read_nlmsghdr(&valid).unwrap().nlmsg_len as usize;
        for cut in 1..first_len {
            let first = parse::messages(&valid[..cut]).next().expect("an item");
            assert!(first.is_err(), "cut at {cut} of {first_len} parsed");
        }
        assert!(parse::messages(&valid[..0]).next().is_none());
    }
}

#[test]
fn route_payload_cut_inside_a_structure_is_an_error() {
    let reply = kernel_like_route_reply(1, 2);
    let payload = &reply[NLMSG_HDRLEN..];
    // Cuts that leave a well-framed payload: at an attribute boundary, or in
    // the padding after an attribute's bytes (the last attribute need not be
    // padded).
    let first = nlmsg_align(size_of::<utun_sys::rtmsg>());
    let mut framed = vec![first];
    let mut at = first;
    while at < payload.len() {
        let len = usize::from(parse::read_rtattr(&payload[at..]).unwrap().rta_len);
        framed.extend(at + len..=at + rta_align(len));
        at += rta_align(len);
    }
    let mut inside = 0;
    for cut in 0..payload.len() {
        let result = parse::parse_route(&payload[..cut]);
        if !framed.contains(&cut) {
            assert!(result.is_err(), "cut {cut} inside a structure parsed: {result:?}");
            inside += 1;
        }
        // Also through the message framing, with nlmsg_len adjusted.
        let mut m = reply[..NLMSG_HDRLEN + cut].to_vec();
        m[..4].copy_from_slice(&((NLMSG_HDRLEN + cut) as u32).to_ne_bytes());
        let (n, _, _) = exercise(&m);
        assert_eq!(n, 1);
    }
    assert!(inside > payload.len() / 2);
}

/// xorshift64: deterministic, no dependency.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

#[test]
fn random_buffers_never_panic() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let types = [
        utun_sys::NLMSG_ERROR,
        utun_sys::NLMSG_DONE,
        utun_sys::NLMSG_NOOP,
        utun_sys::RTM_NEWROUTE,
        utun_sys::RTM_NEWADDR,
    ];
    let (mut messages, mut routes, mut errors) = (0, 0, 0);
    for _ in 0..200_000 {
        let len = rng.below(160);
        let mut buf: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
        // Half of the buffers get a plausible header so that bodies are reached.
        if rng.below(2) == 0 && len >= NLMSG_HDRLEN {
            let nlmsg_len = if rng.below(4) == 0 { rng.below(len + 8) } else { len } as u32;
            buf[..4].copy_from_slice(&nlmsg_len.to_ne_bytes());
            let kind = types[rng.below(types.len())] as u16;
            buf[4..6].copy_from_slice(&kind.to_ne_bytes());
            if kind == utun_sys::RTM_NEWROUTE as u16 && len > NLMSG_HDRLEN + size_of::<utun_sys::rtmsg>() {
                let (fam, addr_len) = [(utun_sys::AF_INET, IPV4_LEN), (utun_sys::AF_INET6, IPV6_LEN)][rng.below(2)];
                buf[NLMSG_HDRLEN] = fam as u8;
                buf[NLMSG_HDRLEN + 1] = rng.below(addr_len * 8 + 2) as u8;
                // Plausible attributes after the rtmsg.
                let mut at = NLMSG_HDRLEN + nlmsg_align(size_of::<utun_sys::rtmsg>());
                while at + RTA_HDRLEN <= len {
                    let payload = [addr_len, addr_len, size_of::<u32>(), rng.below(20)][rng.below(4)];
                    let rta_len = (RTA_HDRLEN + payload) as u16;
                    let kind = [utun_sys::RTA_DST, utun_sys::RTA_GATEWAY, utun_sys::RTA_OIF, 99][rng.below(4)] as u16;
                    buf[at..at + 2].copy_from_slice(&rta_len.to_ne_bytes());
                    buf[at + 2..at + 4].copy_from_slice(&kind.to_ne_bytes());
                    at += rta_align(usize::from(rta_len));
                }
            }
        }
        let (n, r, e) = exercise(&buf);
        messages += n;
        routes += r;
        errors += e;
    }
    // The fuzzing reached every outcome.
    println!("200000 random buffers: {messages} messages, {routes} routes decoded, {errors} errors");
    assert!(messages > 10_000 && routes > 100 && errors > 10_000, "{messages} {routes} {errors}");
}

#[test]
fn mutated_messages_never_panic() {
    let corpus = corpus();
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let (mut routes, mut errors) = (0, 0);
    for _ in 0..100_000 {
        let mut buf = corpus[rng.below(corpus.len())].clone();
        for _ in 0..1 + rng.below(4) {
            match rng.below(6) {
                0 if !buf.is_empty() => {
                    let i = rng.below(buf.len());
                    buf[i] ^= 1 << rng.below(8);
                }
                1 if !buf.is_empty() => {
                    let i = rng.below(buf.len());
                    buf[i] = rng.byte();
                }
                2 => buf.truncate(rng.below(buf.len() + 1)),
                3 => buf.extend((0..rng.below(24)).map(|_| rng.byte())),
                4 if buf.len() >= 2 => {
                    // A small u16 (an rta_len or a type) at a random place.
                    let i = rng.below(buf.len() - 1);
                    buf[i..i + 2].copy_from_slice(&(rng.below(40) as u16).to_ne_bytes());
                }
                _ => {
                    let other = &corpus[rng.below(corpus.len())];
                    buf.extend_from_slice(other);
                }
            }
        }
        let (_, r, e) = exercise(&buf);
        routes += r;
        errors += e;
    }
    println!("100000 mutated messages: {routes} routes decoded, {errors} errors");
    assert!(routes > 1000 && errors > 1000, "{routes} {errors}");
}

#[test]
fn route_entries_from_replies_carry_no_name() {
    // The parser never invents an interface name; get_route adds it.
    let m = kernel_like_route_reply(1, 1);
    let Body::Route(entry) = only_message(&m).body().unwrap() else { panic!() };
    assert_eq!(entry.interface, None);
}
