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

/// What the kernel answers to `ip link show dev tun0`: an RTM_NEWLINK with
/// more attributes than utun reads (IFLA_TXQLEN, IFLA_OPERSTATE, IFLA_STATS64,
/// IFLA_AF_SPEC, ...), of which IFLA_MTU (4) has the number of RTA_OIF.
fn kernel_like_link_reply(seq: u32, pid: u32) -> Vec<u8> {
    let ifi = utun_sys::ifinfomsg {
        ifi_family: utun_sys::AF_UNSPEC as u8,
        ifi_index: 7,
        ifi_flags: utun_sys::IFF_UP | utun_sys::IFF_POINTOPOINT | utun_sys::IFF_RUNNING,
        ..Default::default()
    };
    message(
        utun_sys::RTM_NEWLINK,
        seq,
        pid,
        &super::link::ifinfomsg_bytes(&ifi),
        &[
            (utun_sys::IFLA_IFNAME, b"tun0\0"),
            (utun_sys::IFLA_TXQLEN, &500u32.to_ne_bytes()),
            (utun_sys::IFLA_OPERSTATE, &[0]),
            (utun_sys::IFLA_MTU, &1400u32.to_ne_bytes()),
            (utun_sys::IFLA_STATS64, &[0; 200]),
            (utun_sys::IFLA_AF_SPEC, &[0; 24]),
        ],
    )
}

mod encoders;
mod link;
mod parser;
mod prop;
