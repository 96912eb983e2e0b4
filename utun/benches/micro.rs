//! Micro-benchmarks (criterion) of the CPU-bound code only: the checks every
//! packet goes through, and (on Linux) the rtnetlink route messages' encoders
//! and parser. The device's own speed, system calls included, is the
//! `device` benchmark's business (`cargo xtask bench`).
//!
//! `cargo bench -p utun --bench micro`; CI runs it as `-- --test` (each
//! benchmark once), so that it keeps compiling and running.

use std::hint::black_box;

use criterion::{Criterion, criterion_main};

/// The rtnetlink message code (`utun/src/linux/netlink/wire.rs`), compiled
/// into this benchmark as it is, since the library keeps it private. It
/// reaches the public types through `crate::net`.
#[cfg(target_os = "linux")]
#[path = "../src/linux/netlink/wire.rs"]
#[allow(dead_code, unreachable_pub, missing_docs)]
mod wire;

/// What `wire` calls `crate::net`: the library's types, but for
/// `RouteEntry`, which other crates cannot build (it is `non_exhaustive`):
/// a stand-in with the same fields.
#[cfg(target_os = "linux")]
mod net {
    pub use utun::net::{InterfaceAddress, IpNet, NextHop, Route};

    /// `utun::RouteEntry`'s fields.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct RouteEntry {
        /// The matching route's destination.
        pub destination: Option<IpNet>,
        /// The gateway.
        pub gateway: Option<std::net::IpAddr>,
        /// The outgoing interface's index.
        pub interface_index: u32,
        /// Its name.
        pub interface: Option<utun::InterfaceName>,
    }
}

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
    use utun::{InterfaceName, IpNet, Route};
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

/// Every benchmark here (what `criterion_group!` would write, with a doc).
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    packet_checks(&mut c);
    route_messages(&mut c);
}

criterion_main!(benches);
