//! The builders and encoders against the C compiler's bytes.

use super::c_goldens::GOLDENS;
use super::*;

static COMPILED: OnceLock<Result<Vec<TargetGoldens>, String>> = OnceLock::new();

/// The golden values of both targets (compiled once per test run).
fn goldens() -> &'static [TargetGoldens] {
    let compiled = COMPILED.get_or_init(|| {
        let source: String = GOLDENS.iter().map(|(_, c)| *c).collect::<Vec<_>>().join("\n");
        let names: Vec<&str> = GOLDENS.iter().map(|(n, _)| *n).collect();
        golden::compile(&source, &names)
    });
    match compiled {
        Ok(targets) => targets,
        Err(e) => panic!("{e}"),
    }
}

/// The golden `name` of every target.
pub(super) fn golden_values(name: &str) -> Vec<(&'static str, &'static [u8])> {
    goldens()
        .iter()
        .map(|t| {
            let v = t.values.get(name).unwrap_or_else(|| panic!("no golden {name}"));
            (t.clang_target, v.as_slice())
        })
        .collect()
}

/// Asserts that `rust` is byte for byte the golden `name` on both targets.
fn assert_golden(name: &str, rust: &[u8]) {
    for (target, c) in golden_values(name) {
        assert!(
            c == rust,
            "{name} differs from the C compiler's bytes for {target} ({} bytes from C, {} from Rust)\n\
             C:\n{}Rust:\n{}",
            c.len(),
            rust.len(),
            golden::hex_diff(c, rust),
            golden::hex_diff(rust, c)
        );
    }
}

macro_rules! golden_tests {
    ($($test:ident: $name:literal => $rust:expr;)*) => {$(
        #[test]
        fn $test() {
            assert_golden($name, &$rust);
        }
    )*};
}

// --------------------------------------------------------- golden tests

golden_tests! {
    golden_sockaddr_ctl: "sockaddr_ctl" => raw_bytes(&sockaddr_ctl(0xabcd, 5));
    golden_ctl_info_for_utun: "ctl_info" => raw_bytes(&ctl_info_for_utun());
    golden_ifreq_name: "ifreq_name" => raw_bytes(&ifreq(utun4()));
    golden_ifreq_mtu: "ifreq_mtu" => raw_bytes(&ifreq_with_mtu(utun4(), 1380));
    golden_ifreq_flags: "ifreq_flags" => raw_bytes(&ifreq_with_flags(
        utun4(),
        (apple::IFF_UP | apple::IFF_POINTOPOINT | apple::IFF_RUNNING | apple::IFF_MULTICAST) as c_short,
    ));
    golden_ifreq_ipv4_addr: "ifreq_addr" => raw_bytes(&ifreq_with_addr(utun4(), Ipv4Addr::new(10, 0, 0, 1)));
    golden_ifaliasreq_with_peer: "ifaliasreq_peer" => raw_bytes(&ifaliasreq(
        utun4(),
        &InterfaceAddress::new(ip("10.0.0.1"), 24).unwrap().with_peer(ip("10.0.0.2")).unwrap(),
    ).unwrap());
    golden_ifaliasreq_without_peer: "ifaliasreq_no_peer" => raw_bytes(&ifaliasreq(
        utun4(),
        &InterfaceAddress::new(ip("10.0.0.1"), 24).unwrap(),
    ).unwrap());
    golden_in6_aliasreq: "in6_aliasreq" => raw_bytes(&in6_aliasreq(
        utun4(),
        &InterfaceAddress::new(ip("fd00::1"), 64).unwrap(),
    ).unwrap());
    golden_in6_aliasreq_with_peer: "in6_aliasreq_peer" => raw_bytes(&in6_aliasreq(
        utun4(),
        &InterfaceAddress::new(ip("fd00::1"), 128).unwrap().with_peer(ip("fd00::2")).unwrap(),
    ).unwrap());
    golden_in6_ifreq_addr: "in6_ifreq_addr" => raw_bytes(&in6_ifreq_addr(utun4(), "fd00::1".parse().unwrap()));
    golden_sockaddr_in: "sockaddr_in" => sockaddr_in_bytes(&sockaddr_in(Ipv4Addr::new(192, 168, 1, 20)));
    golden_sockaddr_in6: "sockaddr_in6" => sockaddr_in6_bytes(&sockaddr_in6("2001:db8::1234".parse().unwrap()));
    golden_sockaddr_dl: "sockaddr_dl" => sockaddr_dl_bytes(&sockaddr_dl(9, utun4()));
    golden_sockaddr_dl_empty: "sockaddr_dl_empty" => sockaddr_dl_bytes(&sockaddr_dl_empty());

    golden_route_add_net_via_interface: "route_add_net_if" => encode(RtmKind::Add, &via_if("10.0.0.0/8"), 1);
    golden_route_delete_net_via_interface: "route_delete_net_if" => encode(RtmKind::Delete, &via_if("10.0.0.0/8"), 2);
    golden_route_add_host_via_interface: "route_add_host_if" => encode(RtmKind::Add, &via_if("10.0.0.2/32"), 3);
    golden_route_add_default_via_interface: "route_add_default_if" =>
        encode(RtmKind::Add, &Route::default_v4(NextHop::Interface(utun4())).unwrap(), 4);
    golden_route_add_net_via_gateway: "route_add_net_gw" =>
        encode(RtmKind::Add, &via_gw("192.168.16.0/20", "10.0.0.2"), 5);
    golden_route_add_v6_net_via_interface: "route_add_v6_net_if" => encode(RtmKind::Add, &via_if("fd00:1::/64"), 6);
    golden_route_add_v6_default_via_interface: "route_add_v6_default_if" =>
        encode(RtmKind::Add, &Route::default_v6(NextHop::Interface(utun4())).unwrap(), 7);
    golden_route_add_v6_net_via_gateway: "route_add_v6_net_gw" =>
        encode(RtmKind::Add, &via_gw("fd00:2::/48", "fd00::1"), 8);
    golden_route_add_v6_host_via_interface: "route_add_v6_host_if" => encode(RtmKind::Add, &via_if("fd00::2/128"), 9);
    golden_route_get_v4: "route_get_v4" => encode_get(net("10.0.0.2/32"), None, 10, PID);
    golden_route_get_v6: "route_get_v6" => encode_get(net("fd00::2/128"), None, 11, PID);
    golden_route_get_v4_net: "route_get_v4_net" => encode(RtmKind::Get, &via_if("10.0.0.0/8"), 12);
    golden_route_get_default: "route_get_default" => encode_get(net("0.0.0.0/0"), None, 13, PID);
    golden_route_add_v6_link_local_host_via_interface: "route_add_v6_ll_host_if" =>
        encode(RtmKind::Add, &via_if("fe80::99/128"), 14);
    golden_route_add_v6_net_via_link_local_gateway: "route_add_v6_net_llgw" => encode(
        RtmKind::Add,
        &Route::via_link_local_gateway(net("2001:db8::/32"), "fe80::1".parse().unwrap(), utun4()).unwrap(),
        15,
    );
    golden_route_add_v6_link_local_net_via_interface: "route_add_v6_ll_net_if" =>
        encode(RtmKind::Add, &via_if("fe80::/64"), 16);
    golden_route_get_v6_link_local: "route_get_v6_ll" =>
        encode_get(net("fe80::99/128"), u16::try_from(IFINDEX).ok(), 17, PID);
}

#[test]
fn golden_net_via_interface_is_136_bytes() {
    // The length the notes give for `route add -inet 10.0.0.0/8 -interface
    // utun4` (92 + 16 + 20 + 8), which the C compiler's sizeof confirms.
    let msg = encode(RtmKind::Add, &via_if("10.0.0.0/8"), 1);
    for (target, c) in golden_values("route_add_net_if") {
        assert_eq!(c.len(), msg.len(), "{target}");
    }
    assert_eq!(msg.len(), 136);
}

#[test]
fn serialisers_match_the_raw_layout() {
    let sin = sockaddr_in(Ipv4Addr::new(10, 1, 2, 3));
    assert_eq!(sockaddr_in_bytes(&sin).to_vec(), raw_bytes(&sin));
    let sin6 = sockaddr_in6("fd00::7".parse().unwrap());
    assert_eq!(sockaddr_in6_bytes(&sin6).to_vec(), raw_bytes(&sin6));
    let sdl = sockaddr_dl(7, utun4());
    assert_eq!(sockaddr_dl_bytes(&sdl).to_vec(), raw_bytes(&sdl));
}
