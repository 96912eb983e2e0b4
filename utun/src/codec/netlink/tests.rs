//! Tests of the rtnetlink encoders and parser (no system call). The checks
//! against the real kernel run through the public API in the end-to-end suite
//! (`tests/tests/e2e`), each in a network namespace it creates.
//!
//! Expected values come from `utun_sys` (widened to `u32` and compared with
//! the decoded fields), never from literals: the test checks the encoding
//! rule, and `cargo xtask verify-constants` checks the numbers.

use std::mem::size_of;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::encode;
use super::parse::{self, Body, Context, Message, ParseError, Problem};
use super::{
    AddressAction, IPV4_LEN, IPV6_LEN, MessageHeader, NLMSG_HDRLEN, RTA_HDRLEN, Reply, Request, RouteAction,
    nlmsg_align, rta_align,
};
use crate::error::{Error, ErrorKind, Op};
use crate::name::InterfaceName;
use crate::net::{InterfaceAddress, IpNet, NextHop, Route, RouteEntry};

const HEADER: MessageHeader = MessageHeader { seq: 0x0102_0304, pid: 0x0a0b_0c0d };

fn tun0() -> InterfaceName {
    InterfaceName::new("tun0").unwrap()
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn v6(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

/// The only message of `buf`, which must be well framed.
fn only_message(buf: &[u8]) -> Message<'_> {
    let mut all = parse::messages(buf);
    let m = all.next().expect("one message").expect("well framed");
    assert!(all.next().is_none(), "exactly one message");
    assert_eq!(m.header.nlmsg_len as usize, buf.len(), "nlmsg_len covers the whole buffer");
    m
}

/// The attributes after a family header of `family_len` bytes.
fn attrs(payload: &[u8], family_len: usize) -> Vec<(u32, Vec<u8>)> {
    parse::attributes(&payload[nlmsg_align(family_len)..])
        .map(|a| a.map(|(kind, bytes)| (u32::from(kind), bytes.to_vec())))
        .collect::<Result<_, _>>()
        .expect("well-formed attributes")
}

fn octets(addr: IpAddr) -> Vec<u8> {
    match addr {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

fn flags(m: &Message<'_>) -> u32 {
    u32::from(m.header.nlmsg_flags)
}

/// An independent message builder for hand-made replies: header, family
/// header, attributes, each padded by the alignment rules of `utun_sys`.
fn message(kind: u32, seq: u32, pid: u32, family_header: &[u8], attributes: &[(u32, &[u8])]) -> Vec<u8> {
    let mut body = family_header.to_vec();
    body.resize(nlmsg_align(body.len()), 0);
    for &(kind, payload) in attributes {
        let len = RTA_HDRLEN + payload.len();
        let h = utun_sys::rtattr { rta_len: len as u16, rta_type: kind as u16 };
        let mut raw = vec![0; RTA_HDRLEN];
        raw[std::mem::offset_of!(utun_sys::rtattr, rta_len)..][..2].copy_from_slice(&h.rta_len.to_ne_bytes());
        raw[std::mem::offset_of!(utun_sys::rtattr, rta_type)..][..2].copy_from_slice(&h.rta_type.to_ne_bytes());
        body.extend_from_slice(&raw);
        body.extend_from_slice(payload);
        body.resize(body.len() - len + rta_align(len), 0);
    }
    let h = utun_sys::nlmsghdr {
        nlmsg_len: (NLMSG_HDRLEN + body.len()) as u32,
        nlmsg_type: kind as u16,
        nlmsg_flags: 0,
        nlmsg_seq: seq,
        nlmsg_pid: pid,
    };
    let mut out = encode::nlmsghdr_bytes(&h).to_vec();
    out.resize(NLMSG_HDRLEN, 0);
    out.extend_from_slice(&body);
    out
}

/// An `NLMSG_ERROR` reply with `error` (0 for an ACK, or `-errno`).
fn error_reply(error: i32, seq: u32, pid: u32) -> Vec<u8> {
    let echoed = utun_sys::nlmsghdr { nlmsg_len: 0, nlmsg_type: 0, nlmsg_flags: 0, nlmsg_seq: seq, nlmsg_pid: pid };
    let e = utun_sys::nlmsgerr { error, msg: echoed };
    message(utun_sys::NLMSG_ERROR, seq, pid, &encode::nlmsgerr_bytes(&e), &[])
}

/// What the kernel answers to `ip route get` on IPv4: an RTM_NEWROUTE with
/// more attributes than utun reads (RTA_TABLE, RTA_PREFSRC, RTA_UID, ...).
fn kernel_like_route_reply(seq: u32, pid: u32) -> Vec<u8> {
    let rtm = utun_sys::rtmsg {
        rtm_family: utun_sys::AF_INET as u8,
        rtm_dst_len: 24,
        rtm_table: utun_sys::RT_TABLE_MAIN as u8,
        rtm_protocol: utun_sys::RTPROT_STATIC as u8,
        rtm_scope: utun_sys::RT_SCOPE_UNIVERSE as u8,
        rtm_type: utun_sys::RTN_UNICAST as u8,
        ..Default::default()
    };
    message(
        utun_sys::RTM_NEWROUTE,
        seq,
        pid,
        &encode::rtmsg_bytes(&rtm),
        &[
            (utun_sys::RTA_TABLE, &utun_sys::RT_TABLE_MAIN.to_ne_bytes()),
            (utun_sys::RTA_DST, &[10, 1, 2, 0]),
            (utun_sys::RTA_PREFSRC, &[10, 1, 2, 3]),
            (utun_sys::RTA_GATEWAY, &[10, 1, 2, 254]),
            (utun_sys::RTA_OIF, &7u32.to_ne_bytes()),
            (utun_sys::RTA_PRIORITY, &100u32.to_ne_bytes()),
            (0x7fff, b"unknown"),
        ],
    )
}

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
    assert_eq!(
        m.body().unwrap(),
        Body::Route(RouteEntry {
            destination: Some(net("10.1.0.0/16")),
            gateway: None,
            interface_index: 5,
            interface: None
        })
    );
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
    assert_eq!(
        attrs(m.payload, size_of::<utun_sys::rtmsg>()),
        vec![(utun_sys::RTA_DST, octets(v6("fd00:9::"))), (utun_sys::RTA_GATEWAY, octets(v6("fd00::1")))]
    );
    assert_eq!(
        m.body().unwrap(),
        Body::Route(RouteEntry {
            destination: Some(net("fd00:9::/48")),
            gateway: Some(v6("fd00::1")),
            interface_index: 0,
            interface: None
        })
    );
    // With an interface too.
    let buf = encode::encode_route(RouteAction::Add, &r, 4, HEADER);
    let got = attrs(only_message(&buf).payload, size_of::<utun_sys::rtmsg>());
    assert_eq!(got.last().unwrap(), &(utun_sys::RTA_OIF, 4u32.to_ne_bytes().to_vec()));
}

#[test]
fn default_route_has_no_rta_dst() {
    for r in
        [Route::default_v4(NextHop::Interface(tun0())).unwrap(), Route::default_v6(NextHop::Interface(tun0())).unwrap()]
    {
        let buf = encode::encode_route(RouteAction::Add, &r, 2, HEADER);
        let m = only_message(&buf);
        let rtm = parse::read_rtmsg(m.payload).unwrap();
        assert_eq!(rtm.rtm_dst_len, 0);
        assert_eq!(
            attrs(m.payload, size_of::<utun_sys::rtmsg>()),
            vec![(utun_sys::RTA_OIF, 2u32.to_ne_bytes().to_vec())]
        );
        let Body::Route(entry) = m.body().unwrap() else { panic!("not a route") };
        assert_eq!(entry.destination, Some(r.destination()));
    }
}

#[test]
fn route_delete_and_replace() {
    let r = Route::through_interface(net("10.0.0.0/8"), tun0());
    let buf = encode::encode_route(RouteAction::Delete, &r, 5, HEADER);
    let m = only_message(&buf);
    assert_eq!(u32::from(m.kind()), utun_sys::RTM_DELROUTE);
    assert_eq!(flags(&m), utun_sys::NLM_F_REQUEST | utun_sys::NLM_F_ACK);
    let rtm = parse::read_rtmsg(m.payload).unwrap();
    assert_eq!(u32::from(rtm.rtm_table), utun_sys::RT_TABLE_MAIN);
    assert_eq!(u32::from(rtm.rtm_protocol), utun_sys::RTPROT_UNSPEC);
    assert_eq!(u32::from(rtm.rtm_scope), utun_sys::RT_SCOPE_NOWHERE);
    assert_eq!(u32::from(rtm.rtm_type), utun_sys::RTN_UNSPEC);
    assert_eq!(rtm.rtm_dst_len, 8);
    assert_eq!(
        attrs(m.payload, size_of::<utun_sys::rtmsg>()),
        vec![(utun_sys::RTA_DST, vec![10, 0, 0, 0]), (utun_sys::RTA_OIF, 5u32.to_ne_bytes().to_vec())]
    );
    let buf = encode::encode_route(RouteAction::Replace, &r, 5, HEADER);
    let m = only_message(&buf);
    assert_eq!(u32::from(m.kind()), utun_sys::RTM_NEWROUTE);
    assert_eq!(
        flags(&m),
        utun_sys::NLM_F_REQUEST | utun_sys::NLM_F_ACK | utun_sys::NLM_F_CREATE | utun_sys::NLM_F_REPLACE
    );
}

#[test]
fn route_get() {
    for (addr, family, fib_match) in
        [(v4(192, 0, 2, 7), utun_sys::AF_INET, true), (v6("2001:db8::7"), utun_sys::AF_INET6, false)]
    {
        let buf = encode::encode_get_route(addr, fib_match, HEADER);
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
}

#[test]
fn requests_encode_with_the_given_header() {
    let a = InterfaceAddress::new(v4(10, 0, 0, 1), 24).unwrap();
    let h = MessageHeader { seq: 99, pid: 1234 };
    let buf = Request::Address { action: AddressAction::Add, index: 1, address: &a }.encode(h);
    let m = only_message(&buf);
    assert_eq!((m.header.nlmsg_seq, m.header.nlmsg_pid), (99, 1234));
}

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
        Body::Route(RouteEntry {
            destination: Some(net("10.1.2.0/24")),
            gateway: Some(v4(10, 1, 2, 254)),
            interface_index: 7,
            interface: None
        })
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
    assert_ne!(
        Reply::Ack,
        Reply::Route(RouteEntry { destination: None, gateway: None, interface_index: 1, interface: None })
    );
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
        encode::encode_get_route(v4(10, 1, 1, 1), true, HEADER),
        encode::encode_get_route(v6("fd00::5"), false, HEADER),
        error_reply(0, 1, 2),
        error_reply(-libc::ESRCH, 1, 2),
        kernel_like_route_reply(1, 2),
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
