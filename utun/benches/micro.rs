//! Micro-benchmarks (criterion) of the CPU-bound code only: the checks every
//! packet goes through, and the route messages' encoders and parsers: the
//! macOS `PF_ROUTE` ones (on any host) and, on Linux, the rtnetlink ones. The device's own speed, system calls included, is the
//! `device` benchmark's business (`cargo xtask bench`).
//!
//! `cargo bench -p utun --bench micro`; CI runs it as `-- --test` (each
//! benchmark once), so that it keeps compiling and running.

use std::hint::black_box;

use criterion::{Criterion, criterion_main};

// The routing messages' code is private to the library, so it is compiled
// into this benchmark as it is (`#[path]`), with the library's value types it
// is written against: `crate::error`, `crate::name` and `crate::net` here are
// copies of the library's modules, so the message code sees the types it
// expects, unchanged. (Cargo builds benchmarks with `cfg(test)` but without
// the test harness: the copies' unit-test modules compile to their imports
// alone, hence `unused_imports`.)
#[path = "../src/error.rs"]
#[allow(dead_code, unreachable_pub, missing_docs, unused_imports)]
mod error;
#[path = "../src/name.rs"]
#[allow(dead_code, unreachable_pub, missing_docs, unused_imports)]
mod name;
#[path = "../src/net.rs"]
#[allow(dead_code, unreachable_pub, missing_docs, unused_imports)]
mod net;

/// The rtnetlink messages (`utun/src/linux/netlink/wire.rs`).
#[cfg(target_os = "linux")]
#[path = "../src/linux/netlink/wire.rs"]
#[allow(dead_code, unreachable_pub, missing_docs, unused_imports)]
mod wire;

/// The macOS `PF_ROUTE` messages (`utun/src/bsd/`), built here on any host
/// against utun-sys's Apple bindings (the `apple-layouts` feature). At the
/// root, as `route.rs` and `request.rs` reach each other through `super`.
#[path = "../src/bsd/bytes.rs"]
#[allow(dead_code, unreachable_pub, missing_docs, unused_imports)]
mod bytes;
#[path = "../src/bsd/request.rs"]
#[allow(dead_code, unreachable_pub, missing_docs, unused_imports)]
mod request;
#[path = "../src/bsd/route.rs"]
#[allow(dead_code, unreachable_pub, missing_docs, unused_imports)]
mod route;

/// A well-formed IPv4 packet of `len` bytes (as far as the checks look).
fn v4(len: usize) -> Vec<u8> {
    let mut p = vec![0u8; len];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    p
}

/// A well-formed IPv6 packet of `len` bytes.
fn v6(len: usize) -> Vec<u8> {
    let mut p = vec![0u8; len];
    p[0] = 0x60;
    p[4..6].copy_from_slice(&((len - 40) as u16).to_be_bytes());
    p
}

fn packet_checks(c: &mut Criterion) {
    let mut group = c.benchmark_group("check_outgoing");
    for (name, packet) in [("ipv4 64 B", v4(64)), ("ipv4 1400 B", v4(1400)), ("ipv6 1280 B", v6(1280))] {
        group.bench_function(name, |b| b.iter(|| utun::packet::check_outgoing(black_box(&packet)).is_ok()));
    }
    let mut bad = v4(64);
    bad[0] = 0x55;
    group.bench_function("version 5 (refused)", |b| b.iter(|| utun::packet::check_outgoing(black_box(&bad)).is_err()));
    let mut cut = v4(64);
    cut[2..4].copy_from_slice(&100u16.to_be_bytes());
    group.bench_function("cut short (refused)", |b| b.iter(|| utun::packet::check_outgoing(black_box(&cut)).is_err()));
    group.finish();
}

#[cfg(target_os = "linux")]
fn route_messages(c: &mut Criterion) {
    use crate::name::InterfaceName;
    use crate::net::{IpNet, Route};
    use wire::{Body, MessageHeader, RouteAction};

    let header = MessageHeader { seq: 7, pid: 4242 };
    let tun0 = InterfaceName::new("tun0").expect("a valid name");
    let v4_net: IpNet = "10.9.0.0/16".parse().expect("a network");
    let v6_net: IpNet = "fd09::/64".parse().expect("a network");
    let via_interface = Route::through_interface(v4_net, tun0);
    let via_gateway = Route::via_gateway(v6_net, "fd00::2".parse().expect("an address")).expect("a route");

    let mut group = c.benchmark_group("rtnetlink");
    group.bench_function("encode RTM_NEWROUTE ipv4 dev", |b| {
        b.iter(|| wire::encode_route(RouteAction::Add, black_box(&via_interface), 7, header))
    });
    group.bench_function("encode RTM_NEWROUTE ipv6 via", |b| {
        b.iter(|| wire::encode_route(RouteAction::Add, black_box(&via_gateway), 0, header))
    });
    let host: std::net::IpAddr = "10.9.1.1".parse().expect("an address");
    group.bench_function("encode RTM_GETROUTE", |b| b.iter(|| wire::encode_get_route(black_box(host), true, header)));
    // An RTM_NEWROUTE message, as the kernel answers RTM_GETROUTE with.
    for (name, route) in [("parse RTM_NEWROUTE ipv4", &via_interface), ("parse RTM_NEWROUTE ipv6", &via_gateway)] {
        let reply = wire::encode_route(RouteAction::Replace, route, 7, header);
        group.bench_function(name, |b| {
            b.iter(|| {
                let message = wire::messages(black_box(&reply)).next().expect("one message").expect("well formed");
                matches!(message.body(), Ok(Body::Route(_)))
            })
        });
    }
    group.finish();
}

#[cfg(not(target_os = "linux"))]
fn route_messages(_: &mut Criterion) {}

/// The macOS routing messages: what `RouteTable` writes to the `PF_ROUTE`
/// socket, and the parse of the kernel's answer.
fn pf_route_messages(c: &mut Criterion) {
    use crate::name::InterfaceName;
    use crate::net::{IpNet, Route};
    use route::{RtmKind, encode_get, encode_route, parse_route_message};

    let utun4 = InterfaceName::new("utun4").expect("a valid name");
    let v4_net: IpNet = "10.0.0.0/8".parse().expect("a network");
    let v6_net: IpNet = "fd09::/64".parse().expect("a network");
    let via_interface = Route::through_interface(v4_net, utun4);
    let via_gateway = Route::via_gateway(v6_net, "fd00::2".parse().expect("an address")).expect("a route");
    let host: IpNet = "10.9.1.1/32".parse().expect("a host");

    let mut group = c.benchmark_group("pf_route");
    group.bench_function("encode RTM_ADD ipv4 -interface", |b| {
        b.iter(|| encode_route(RtmKind::Add, black_box(&via_interface), 7, 1, 4242))
    });
    group.bench_function("encode RTM_ADD ipv6 via", |b| {
        b.iter(|| encode_route(RtmKind::Add, black_box(&via_gateway), 0, 1, 4242))
    });
    group.bench_function("encode RTM_GET", |b| b.iter(|| encode_get(black_box(host), 1, 4242)));
    // The kernel answers RTM_ADD with the message itself (rtm_errno set).
    for (name, route, index) in [("parse RTM_ADD ipv4", &via_interface, 7), ("parse RTM_ADD ipv6", &via_gateway, 0)] {
        let reply = encode_route(RtmKind::Add, route, index, 1, 4242).expect("encoded");
        let parsed = parse_route_message(&reply).expect("a well-formed message");
        assert_eq!(parsed.destination_net(), Some(route.destination()), "{name}: parsed back");
        group.bench_function(name, |b| b.iter(|| parse_route_message(black_box(&reply)).is_ok()));
    }
    group.finish();
}

/// Every benchmark here (what `criterion_group!` would write, with a doc).
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    packet_checks(&mut c);
    route_messages(&mut c);
    pf_route_messages(&mut c);
}

criterion_main!(benches);
