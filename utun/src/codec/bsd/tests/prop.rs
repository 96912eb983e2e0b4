//! Property tests (proptest) of the `PF_ROUTE` encoders and the address
//! requests: every route and address the public API accepts encodes to what
//! parses (or reads) back to the same value, every prefix length round-trips,
//! and no encoder panics on any value the types can hold. Also the writer of
//! the fuzz targets' seed corpora (`cargo xtask fuzz --seed`).

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::*;
use crate::codec::bsd::exchange::unscoped;

use crate::codec::strategies::any_address;

fn any_route() -> impl Strategy<Value = Route> {
    crate::codec::strategies::any_route("utun")
}

fn same_net(a: IpNet, b: IpNet) -> bool {
    a.prefix_len() == b.prefix_len() && unscoped(a.addr()) == unscoped(b.addr())
}

/// The prefix length of a mask's bytes (contiguous ones, checked).
fn mask_len(mask: &[u8]) -> u8 {
    let ones: u32 = mask.iter().map(|b| b.count_ones()).sum();
    let contiguous =
        mask.iter().flat_map(|b| (0..8).rev().map(move |i| b >> i & 1)).skip_while(|&b| b == 1).all(|b| b == 0);
    assert!(contiguous, "a non-contiguous mask {mask:?}");
    u8::try_from(ones).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// RTM_ADD and RTM_DELETE parse back to the route: destination and
    /// prefix, the gateway (`RTF_GATEWAY`) or the interface (`sockaddr_dl`
    /// with the index, and the name when `sdl_data` holds it), seq and pid.
    #[test]
    fn every_route_round_trips(route in any_route(), index in 1u32..=u32::from(u16::MAX), seq: i32, pid: i32) {
        for kind in [RtmKind::Add, RtmKind::Delete] {
            let msg = encode_route(kind, &route, index, seq, pid).unwrap();
            let reply = parse_route_message(&msg).unwrap();
            prop_assert_eq!((reply.kind(), reply.seq, reply.pid, reply.msglen), (Some(kind), seq, pid, msg.len()));
            let dst = reply.destination_net().unwrap();
            prop_assert!(same_net(dst, route.destination()), "{} parsed back as {}", route, dst);
            prop_assert_eq!(route.is_host(), reply.prefix_len.is_none(), "a netmask exactly for non-host routes");
            match route.next_hop() {
                NextHop::Gateway(gw) => {
                    prop_assert_eq!(reply.gateway_ip().map(unscoped), Some(unscoped(gw)));
                }
                NextHop::LinkLocalGateway { gateway, .. } => {
                    prop_assert_eq!(reply.gateway, Some(SockAddr::Scoped(gateway, index)));
                }
                NextHop::Interface(name) => {
                    prop_assert_eq!(reply.gateway_ip(), None);
                    let fits = name.as_str().len() <= apple::sockaddr_dl::default().sdl_data.len();
                    let Some(SockAddr::Link(link)) = reply.gateway else {
                        return Err(TestCaseError::fail(format!("{route}: gateway {:?}", reply.gateway)));
                    };
                    prop_assert_eq!((u32::from(link.index), link.name), (index, fits.then_some(name)));
                }
            }
        }
    }

    /// The encoders never panic, whatever the index: one `sdl_index` cannot
    /// hold is refused for a route out of an interface, unused otherwise.
    #[test]
    fn no_index_panics_the_encoder(route in any_route(), index: u32, seq: i32, pid: i32) {
        for kind in [RtmKind::Add, RtmKind::Delete, RtmKind::Get] {
            let out = encode_route(kind, &route, index, seq, pid);
            let refused = kind != RtmKind::Get
                && route.next_hop().interface().is_some()
                && (index == 0 || index > u32::from(u16::MAX));
            match out {
                Ok(msg) => {
                    prop_assert!(!refused);
                    prop_assert!(parse_route_message(&msg).is_ok());
                }
                Err(e) => {
                    prop_assert!(refused, "{} refused: {}", route, e);
                    prop_assert_eq!(e.kind(), ErrorKind::InvalidInput);
                }
            }
        }
    }

    /// Every prefix length of either family round-trips through RTM_GET
    /// (a host lookup carries no netmask and parses as the host prefix).
    #[test]
    fn every_prefix_length_round_trips(v4: u32, v6: u128, seq: i32) {
        let addrs = [IpAddr::V4(Ipv4Addr::from(v4)), IpAddr::V6(Ipv6Addr::from(v6))];
        for addr in addrs {
            for len in 0..=IpNet::from(addr).max_prefix_len() {
                let net = IpNet::new(addr, len).unwrap();
                let reply = parse_route_message(&encode_get(net, None, seq, PID)).unwrap();
                let expect = if len == net.max_prefix_len() { net } else { net.trunc() };
                let got = reply.destination_net().unwrap();
                prop_assert!(same_net(got, expect), "{} parsed back as {}", net, got);
                let route = Route::through_interface(net, utun4());
                let reply = parse_route_message(&encode(RtmKind::Add, &route, seq)).unwrap();
                prop_assert_eq!(reply.destination_net().map(|n| n.prefix_len()), Some(len));
            }
        }
    }

    /// An address becomes the request of its family (`SIOCAIFADDR` or
    /// `SIOCAIFADDR_IN6`), which reads back as the address, its prefix (the
    /// mask) and its peer; the other family's request refuses it.
    #[test]
    fn every_address_round_trips(address in any_address(), name in crate::codec::strategies::any_name("utun")) {
        let (v4, v6) = (ifaliasreq(name, &address), in6_aliasreq(name, &address));
        if address.is_ipv4() {
            prop_assert_eq!(v6.err().map(|e| e.kind()), Some(ErrorKind::InvalidInput));
            let req = v4.unwrap();
            let at = offset_of!(apple::sockaddr_in, sin_addr);
            let ip4 = |sa: &apple::sockaddr| {
                let b = bytes::sockaddr_bytes(sa);
                IpAddr::V4(Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3]))
            };
            prop_assert_eq!(ip4(&req.ifra_addr), address.address());
            prop_assert_eq!(mask_len(&bytes::sockaddr_bytes(&req.ifra_mask)[at..at + 4]), address.prefix_len());
            if let Some(peer) = address.peer() {
                prop_assert_eq!(ip4(&req.ifra_broadaddr), peer);
            }
            prop_assert_eq!(InterfaceName::from_c_bytes(&req.ifra_name.map(bytes::c_byte)), Some(name));
        } else {
            prop_assert_eq!(v4.err().map(|e| e.kind()), Some(ErrorKind::InvalidInput));
            let req = v6.unwrap();
            prop_assert_eq!(IpAddr::from(bytes::in6_octets(&req.ifra_addr.sin6_addr)), address.address());
            prop_assert_eq!(mask_len(&bytes::in6_octets(&req.ifra_prefixmask.sin6_addr)), address.prefix_len());
            if let Some(peer) = address.peer() {
                prop_assert_eq!(IpAddr::from(bytes::in6_octets(&req.ifra_dstaddr.sin6_addr)), peer);
            }
            prop_assert_eq!(InterfaceName::from_c_bytes(&req.ifra_name.map(bytes::c_byte)), Some(name));
        }
    }
}

// ------------------------------------------------------- fuzz seed corpora

/// Writes `bytes` as seed `name` of fuzz target `target` under `dir`.
pub(crate) fn write_seed(dir: &std::path::Path, target: &str, name: &str, bytes: &[u8]) {
    let d = dir.join(target);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join(name), bytes).unwrap();
}

/// The seed corpora of the `PF_ROUTE` and packet fuzz targets: the C
/// compiler's golden routing messages (both Apple targets; identical bytes
/// are written once) and the encoders' messages, as whole messages
/// (`pf_route_parse`) and as `[rtm_addrs, sockaddrs...]` (`pf_route_sockaddr`);
/// IP packets and utun datagrams (`packet`). Written to the directory
/// `UTUN_FUZZ_SEEDS` names, by `cargo xtask fuzz --seed`.
#[test]
#[ignore = "writes the fuzz seed corpora: run by `cargo xtask fuzz --seed`"]
fn write_fuzz_seeds_pf_route() {
    let dir = std::path::PathBuf::from(std::env::var_os("UTUN_FUZZ_SEEDS").expect("UTUN_FUZZ_SEEDS: where to write"));
    let mut messages: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, _) in super::c_goldens::GOLDENS {
        if !(name.starts_with("route_") || name.starts_with("reply_") || *name == "ifinfo") {
            continue;
        }
        for (target, bytes) in super::goldens::golden_values(name) {
            if !messages.iter().any(|(_, b)| b == bytes) {
                messages.push((format!("golden-{name}-{}", target.split('-').next().unwrap()), bytes.to_vec()));
            }
        }
    }
    let routes = [
        ("v4-net-if", via_if("10.0.0.0/8")),
        ("v6-host-gw", Route::via_link_local_gateway(net("fd00::1/128"), "fe80::1".parse().unwrap(), utun4()).unwrap()),
        ("v4-default-gw", via_gw("0.0.0.0/0", "192.0.2.1")),
    ];
    for (name, route) in routes {
        messages.push((format!("encode-add-{name}"), encode(RtmKind::Add, &route, 7)));
        messages.push((format!("encode-get-{name}"), encode_get(route.destination(), None, 7, PID)));
    }
    for (name, bytes) in &messages {
        write_seed(&dir, "pf_route_parse", name, bytes);
        let addrs = u8::try_from(parse_route_message(bytes).map_or(0, |r| r.addrs)).unwrap_or(0);
        let body = bytes.get(RT_MSGHDR_LEN..).unwrap_or_default();
        write_seed(&dir, "pf_route_sockaddr", name, &[&[addrs][..], body].concat());
    }
    // The packet target: a control byte (bits 0 and 1 grow the packet to IP's
    // limit; the top bit is MSG_TRUNC), then the packet; for the utun
    // datagram check its first 4 bytes are the family header.
    let v4 = crate::packet::tests::v4(28);
    let v6 = crate::packet::tests::v6(48);
    write_seed(&dir, "packet", "ipv4", &[&[0][..], &v4].concat());
    write_seed(&dir, "packet", "ipv6", &[&[0][..], &v6].concat());
    write_seed(&dir, "packet", "ipv6-grown", &[&[3][..], &v6].concat());
    for family in [apple::AF_INET, apple::AF_INET6] {
        let datagram = [&family.to_be_bytes()[..], if family == apple::AF_INET { &v4 } else { &v6 }].concat();
        write_seed(&dir, "packet", &format!("utun-family-{family}"), &[&[2][..], &datagram].concat());
    }
}
