//! Micro-benchmarks (criterion) of the CPU-bound code only: the checks every
//! packet goes through, and the route messages' encoders and parsers: the
//! macOS `PF_ROUTE` ones (on any host) and, on Linux, the rtnetlink ones and the
//! offload's GSO split and coalesce. The device's own speed, system calls included, is the
//! `device` benchmark's business (`cargo xtask bench`).
//!
//! `cargo bench -p utun --features bench-internals --bench micro`; CI runs
//! it as `-- --test` (each benchmark once), so that it keeps compiling and
//! running.

use std::hint::black_box;

use criterion::{Criterion, criterion_main};

// The library's private checks and codecs, through its hidden
// `utun::__bench` module (feature `bench-internals`, which this benchmark
// requires): the code the library runs, called as it is.
use utun::__bench;

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
        group.bench_function(name, |b| b.iter(|| __bench::check_outgoing(black_box(&packet)).is_ok()));
    }
    let mut bad = v4(64);
    bad[0] = 0x55;
    group.bench_function("version 5 (refused)", |b| b.iter(|| __bench::check_outgoing(black_box(&bad)).is_err()));
    let mut cut = v4(64);
    cut[2..4].copy_from_slice(&100u16.to_be_bytes());
    group.bench_function("cut short (refused)", |b| b.iter(|| __bench::check_outgoing(black_box(&cut)).is_err()));
    group.finish();
}

#[cfg(target_os = "linux")]
fn route_messages(c: &mut Criterion) {
    use utun::{InterfaceName, IpNet, Route};
    let tun0 = InterfaceName::new("tun0").expect("a valid name");
    let v4_net: IpNet = "10.9.0.0/16".parse().expect("a network");
    let v6_net: IpNet = "fd09::/64".parse().expect("a network");
    let via_interface = Route::through_interface(v4_net, tun0);
    let via_gateway = Route::via_gateway(v6_net, "fd00::2".parse().expect("an address")).expect("a route");

    let mut group = c.benchmark_group("rtnetlink");
    group.bench_function("encode RTM_NEWROUTE ipv4 dev", |b| {
        b.iter(|| __bench::rtnetlink::encode_route(black_box(&via_interface), 7, false, 7, 4242))
    });
    group.bench_function("encode RTM_NEWROUTE ipv6 via", |b| {
        b.iter(|| __bench::rtnetlink::encode_route(black_box(&via_gateway), 0, false, 7, 4242))
    });
    let host: std::net::IpAddr = "10.9.1.1".parse().expect("an address");
    group
        .bench_function("encode RTM_GETROUTE", |b| b.iter(|| __bench::rtnetlink::encode_get(black_box(host), 7, 4242)));
    // An RTM_NEWROUTE message, as the kernel answers RTM_GETROUTE with.
    for (name, route) in [("parse RTM_NEWROUTE ipv4", &via_interface), ("parse RTM_NEWROUTE ipv6", &via_gateway)] {
        let reply = __bench::rtnetlink::encode_route(route, 7, true, 7, 4242);
        let parsed = __bench::rtnetlink::parse_route(&reply).expect("a well-formed RTM_NEWROUTE");
        assert_eq!(parsed.destination, Some(route.destination()), "{name}: parsed back");
        group.bench_function(name, |b| b.iter(|| __bench::rtnetlink::parse_route(black_box(&reply)).is_some()));
    }
    group.finish();
}

#[cfg(not(target_os = "linux"))]
fn route_messages(_: &mut Criterion) {}

/// The macOS routing messages: what `RouteTable` writes to the `PF_ROUTE`
/// socket, and the parse of the kernel's answer (on any host that has the
/// Apple layouts).
#[cfg(any(target_os = "macos", utun_apple_layouts))]
fn pf_route_messages(c: &mut Criterion) {
    use utun::{InterfaceName, IpNet, Route};
    let utun4 = InterfaceName::new("utun4").expect("a valid name");
    let v4_net: IpNet = "10.0.0.0/8".parse().expect("a network");
    let v6_net: IpNet = "fd09::/64".parse().expect("a network");
    let via_interface = Route::through_interface(v4_net, utun4);
    let via_gateway = Route::via_gateway(v6_net, "fd00::2".parse().expect("an address")).expect("a route");
    let host: IpNet = "10.9.1.1/32".parse().expect("a host");

    let mut group = c.benchmark_group("pf_route");
    group.bench_function("encode RTM_ADD ipv4 -interface", |b| {
        b.iter(|| __bench::pf_route::encode_add(black_box(&via_interface), 7, 1, 4242))
    });
    group.bench_function("encode RTM_ADD ipv6 via", |b| {
        b.iter(|| __bench::pf_route::encode_add(black_box(&via_gateway), 0, 1, 4242))
    });
    group.bench_function("encode RTM_GET", |b| b.iter(|| __bench::pf_route::encode_get(black_box(host), 1, 4242)));
    // The kernel answers RTM_ADD with the message itself (rtm_errno set).
    for (name, route, index) in [("parse RTM_ADD ipv4", &via_interface, 7), ("parse RTM_ADD ipv6", &via_gateway, 0)] {
        let reply = __bench::pf_route::encode_add(route, index, 1, 4242).expect("encoded");
        let parsed = __bench::pf_route::parse(&reply).expect("a well-formed message");
        assert_eq!(parsed, Some(route.destination()), "{name}: parsed back");
        group.bench_function(name, |b| b.iter(|| __bench::pf_route::parse(black_box(&reply)).is_some()));
    }
    group.finish();
}

/// Without darwin headers (see `utun/build.rs`) there are no Apple layouts to
/// build the macOS messages with on this host: said, not measured.
#[cfg(not(any(target_os = "macos", utun_apple_layouts)))]
fn pf_route_messages(_: &mut Criterion) {
    eprintln!("pf_route benchmarks skipped: {}", env!("UTUN_APPLE_LAYOUTS_MISSING"));
}

/// Linux offload: a 64 KiB TCP GSO packet split into MSS-sized segments
/// (checksums computed in full), and those segments merged back.
#[cfg(target_os = "linux")]
fn offload(c: &mut Criterion) {
    use __bench::offload::{Coalescer, capacity, split, tcp_gso_read};
    let mut group = c.benchmark_group("offload");
    for (name, v6) in [("ipv4", false), ("ipv6", true)] {
        let read = tcp_gso_read(v6, 65_000 - if v6 { 20 } else { 40 }, 1400);
        let n = read.len().div_ceil(1400) + 1;
        let mut bufs = vec![vec![0u8; 1500]; n];
        let mut sizes = vec![0usize; n];
        let got = split(&read, &mut bufs, &mut sizes).expect("a well-formed GSO packet");
        let segments: Vec<Vec<u8>> = bufs.iter().zip(&sizes).take(got).map(|(b, &s)| b[..s].to_vec()).collect();
        let mut coalescer = Coalescer::default();
        let mut out = vec![0u8; capacity(&segments)];
        let mut lens = vec![0usize; segments.len()];
        let records = coalescer.coalesce(&segments, &mut out, &mut lens).expect("room for every record");
        assert_eq!(records, 1, "{name}: the segments merge back into one GSO packet");
        group.throughput(criterion::Throughput::Bytes(read.len() as u64));
        group.bench_function(format!("split 64 KiB TCP GSO {name}, mss 1400 ({got} segments)"), |b| {
            b.iter(|| split(black_box(&read), &mut bufs, &mut sizes).is_ok())
        });
        group.bench_function(format!("coalesce {got} TCP segments {name}"), |b| {
            b.iter(|| coalescer.coalesce(black_box(&segments), &mut out, &mut lens).is_ok())
        });
    }
    group.finish();
}

#[cfg(not(target_os = "linux"))]
fn offload(_: &mut Criterion) {}

/// Every benchmark here (what `criterion_group!` would write, with a doc).
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    packet_checks(&mut c);
    route_messages(&mut c);
    pf_route_messages(&mut c);
    offload(&mut c);
}

criterion_main!(benches);
