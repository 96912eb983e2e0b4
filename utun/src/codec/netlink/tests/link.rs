//! The link messages: `RTM_GETLINK` and `RTM_NEWLINK` by index, and the
//! kernel's `RTM_NEWLINK` answer.

use super::super::link::{encode_get_link, encode_set_link, ifinfomsg_bytes, index_fits, parse_link, read_ifinfomsg};
use super::super::{Link, k};
use super::*;

#[test]
fn the_ifinfomsg_codec_covers_every_byte() {
    let full = utun_sys::ifinfomsg {
        ifi_family: u8::MAX,
        __ifi_pad: u8::MAX,
        ifi_type: u16::MAX,
        ifi_index: -1,
        ifi_flags: u32::MAX,
        ifi_change: u32::MAX,
    };
    assert!(ifinfomsg_bytes(&full).iter().all(|&b| b == 0xff));
    let m = utun_sys::ifinfomsg { ifi_family: 1, __ifi_pad: 2, ifi_type: 3, ifi_index: 4, ifi_flags: 5, ifi_change: 6 };
    assert_eq!(format!("{:?}", read_ifinfomsg(&ifinfomsg_bytes(&m)).unwrap()), format!("{m:?}"));
    assert!(read_ifinfomsg(&[0; size_of::<utun_sys::ifinfomsg>() - 1]).is_none());
}

#[test]
fn get_link_names_the_index_and_nothing_else() {
    let buf = encode_get_link(7, HEADER);
    let m = only_message(&buf);
    assert_eq!(u32::from(m.kind()), utun_sys::RTM_GETLINK);
    assert_eq!(flags(&m), utun_sys::NLM_F_REQUEST);
    assert_eq!((m.header.nlmsg_seq, m.header.nlmsg_pid), (HEADER.seq, HEADER.pid));
    let ifi = read_ifinfomsg(m.payload).unwrap();
    assert_eq!((u32::from(ifi.ifi_family), ifi.ifi_index), (utun_sys::AF_UNSPEC, 7));
    assert_eq!((ifi.ifi_flags, ifi.ifi_change), (0, 0));
    assert!(attrs(m.payload, size_of::<utun_sys::ifinfomsg>()).is_empty(), "no IFLA_IFNAME: by index only");
}

#[test]
fn set_link_changes_the_mtu_or_just_the_flags_in_ifi_change() {
    let buf = encode_set_link(7, Some(1400), 0, 0, HEADER);
    let m = only_message(&buf);
    assert_eq!(u32::from(m.kind()), utun_sys::RTM_NEWLINK);
    // No NLM_F_CREATE: a change to an existing link, never a new one.
    assert_eq!(flags(&m), utun_sys::NLM_F_REQUEST | utun_sys::NLM_F_ACK);
    let ifi = read_ifinfomsg(m.payload).unwrap();
    assert_eq!((ifi.ifi_index, ifi.ifi_flags, ifi.ifi_change), (7, 0, 0));
    assert_eq!(
        attrs(m.payload, size_of::<utun_sys::ifinfomsg>()),
        vec![(utun_sys::IFLA_MTU, 1400u32.to_ne_bytes().to_vec())]
    );

    // Down: IFF_UP cleared, and only IFF_UP in the mask; bits outside the
    // mask are not sent.
    let buf = encode_set_link(7, None, utun_sys::IFF_POINTOPOINT, utun_sys::IFF_UP, HEADER);
    let m = only_message(&buf);
    let ifi = read_ifinfomsg(m.payload).unwrap();
    assert_eq!((ifi.ifi_flags, ifi.ifi_change), (0, utun_sys::IFF_UP));
    assert!(attrs(m.payload, size_of::<utun_sys::ifinfomsg>()).is_empty());
    let buf = encode_set_link(7, None, utun_sys::IFF_UP, utun_sys::IFF_UP, HEADER);
    let ifi = read_ifinfomsg(only_message(&buf).payload).unwrap();
    assert_eq!((ifi.ifi_flags, ifi.ifi_change), (utun_sys::IFF_UP, utun_sys::IFF_UP));
}

#[test]
fn an_index_that_cannot_be_one_is_never_sent_as_another() {
    assert!(index_fits(1) && index_fits(i32::MAX as u32));
    assert!(!index_fits(0) && !index_fits(i32::MAX as u32 + 1) && !index_fits(u32::MAX));
    for index in [i32::MAX as u32 + 1, u32::MAX] {
        let ifi = read_ifinfomsg(only_message(&encode_get_link(index, HEADER)).payload).unwrap();
        assert_eq!(ifi.ifi_index, 0, "0 names no interface");
    }
}

#[test]
fn a_kernel_like_reply_decodes_and_the_mtu_is_not_taken_for_rta_oif() {
    let reply = kernel_like_link_reply(3, 4);
    let m = only_message(&reply);
    let want = Link {
        index: 7,
        name: InterfaceName::new("tun0").ok(),
        mtu: Some(1400),
        flags: utun_sys::IFF_UP | utun_sys::IFF_POINTOPOINT | utun_sys::IFF_RUNNING,
        tun: None,
    };
    assert_eq!(m.body().unwrap(), Body::Link(want));
}

fn link_reply(index: i32, attributes: &[(u32, &[u8])]) -> Vec<u8> {
    let ifi = utun_sys::ifinfomsg { ifi_index: index, ..Default::default() };
    message(utun_sys::RTM_NEWLINK, 1, 2, &ifinfomsg_bytes(&ifi), attributes)
}

fn link_error(reply: &[u8]) -> ParseError {
    only_message(reply).body().expect_err("refused")
}

#[test]
fn bad_link_replies_say_where_and_what() {
    let long = [b'x'; utun_sys::IFNAMSIZ as usize];
    let cases: [(Vec<u8>, Context, Problem, &str); 6] = [
        (link_reply(0, &[]), Context::LinkMessage, Problem::Index(0), "interface index 0 is not positive"),
        (link_reply(-3, &[]), Context::LinkMessage, Problem::Index(-3), "an RTM_NEWLINK message"),
        (
            link_reply(7, &[(utun_sys::IFLA_IFNAME, b"tun0")]),
            Context::LinkAttribute(k::IFLA_IFNAME),
            Problem::Name(4),
            "the IFLA_IFNAME attribute: 4 bytes are not a NUL-terminated interface name",
        ),
        (
            link_reply(7, &[(utun_sys::IFLA_IFNAME, &[&long[..], b"\0"].concat())]),
            Context::LinkAttribute(k::IFLA_IFNAME),
            Problem::Name(long.len() + 1),
            "IFLA_IFNAME",
        ),
        (
            link_reply(7, &[(utun_sys::IFLA_MTU, &[1, 2])]),
            Context::LinkAttribute(k::IFLA_MTU),
            Problem::U32Length(2),
            "the IFLA_MTU attribute: length 2",
        ),
        (
            link_reply(7, &[(utun_sys::IFLA_IFNAME, b"\xff\0")]),
            Context::LinkAttribute(k::IFLA_IFNAME),
            Problem::Name(2),
            "IFLA_IFNAME",
        ),
    ];
    for (reply, context, problem, text) in cases {
        let err = link_error(&reply);
        assert_eq!((err.context, err.problem), (context, problem));
        assert!(err.to_string().contains(text), "{err}");
    }
    let short = message(utun_sys::RTM_NEWLINK, 1, 2, &[0; 3], &[]);
    let err = link_error(&short);
    assert_eq!(err.context, Context::LinkMessage);
    assert!(matches!(err.problem, Problem::Truncated { .. }), "{err}");
    // A link without a name or MTU still decodes: the caller says what it misses.
    assert_eq!(parse_link(&link_reply(7, &[])[NLMSG_HDRLEN..]).unwrap().name, None);
}

/// Attributes laid out as the payload of a nesting attribute.
fn nest(attributes: &[(u32, &[u8])]) -> Vec<u8> {
    message(0, 0, 0, &[], attributes)[NLMSG_HDRLEN..].to_vec()
}

/// What `tun_fill_info` (drivers/net/tun.c) puts in `IFLA_LINKINFO`.
fn tun_linkinfo(kind: &[u8], tun_type: u8, pi: u8, vnet_hdr: u8) -> Vec<u8> {
    let data = nest(&[
        (utun_sys::IFLA_TUN_TYPE, &[tun_type]),
        (utun_sys::IFLA_TUN_PI, &[pi]),
        (utun_sys::IFLA_TUN_VNET_HDR, &[vnet_hdr]),
    ]);
    nest(&[(utun_sys::IFLA_INFO_KIND, kind), (utun_sys::IFLA_INFO_DATA, &data)])
}

#[test]
fn a_tun_links_framing_is_read_from_its_linkinfo() {
    let tun = |linkinfo: Vec<u8>| match only_message(&link_reply(7, &[(utun_sys::IFLA_LINKINFO, &linkinfo)])).body() {
        Ok(Body::Link(link)) => link.tun,
        other => panic!("{other:?}"),
    };
    let tun_type = utun_sys::IFF_TUN as u8;
    let plain = tun(tun_linkinfo(b"tun\0", tun_type, 0, 0)).expect("a tun");
    assert_eq!(plain, super::super::TunInfo { kind: tun_type, pi: false, vnet_hdr: false });
    let framed = tun(tun_linkinfo(b"tun\0", tun_type, 1, 1)).expect("a tun");
    assert!(framed.pi && framed.vnet_hdr);
    // Another driver's link info, or none, tells nothing of a tun.
    assert_eq!(tun(tun_linkinfo(b"veth\0", tun_type, 0, 0)), None);
    assert_eq!(tun(nest(&[])), None);
}
