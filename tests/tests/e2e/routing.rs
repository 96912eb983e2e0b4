//! The cases about addresses and routes (the rest are in cases.rs).

use std::net::IpAddr;

use anyhow::{Result, bail, ensure};
use utun::{Cleanup, Device, ErrorKind, InterfaceAddress, Route, RouteTable};

use crate::cases::{addr, expect_kind, ip, net};
use crate::kernel;

/// `ip -j addr show dev NAME` as (local, prefixlen, address) triples.
pub fn kernel_addresses(name: &str) -> Result<Vec<(String, u64, Option<String>)>> {
    let v = kernel::ip_json(&["addr", "show", "dev", name])?;
    let mut out = Vec::new();
    for info in v[0]["addr_info"].as_array().into_iter().flatten() {
        let local = info["local"].as_str().unwrap_or_default().to_string();
        if local.starts_with("fe80") {
            continue;
        }
        out.push((local, info["prefixlen"].as_u64().unwrap_or(999), info["address"].as_str().map(String::from)));
    }
    Ok(out)
}

/// Every kind of address, added and removed, as `ip` shows it.
pub fn addresses_match_kernel() -> Result<()> {
    let dev = Device::new()?;
    let iface = dev.interface();
    iface.set_up(true)?;
    let name = dev.name();
    let p2p = addr("10.0.0.1", 32, Some("10.0.0.2"))?;
    let lan = addr("10.5.0.1", 24, None)?;
    let v6 = addr("fd00::1", 128, Some("fd00::2"))?;
    let v6net = addr("fd01::1", 64, None)?;
    for a in [&p2p, &lan, &v6, &v6net] {
        iface.add_address(a)?;
    }
    let got = kernel_addresses(name.as_str())?;
    for want in [
        ("10.0.0.1", 32, Some("10.0.0.2")),
        ("10.5.0.1", 24, None),
        ("fd00::1", 128, Some("fd00::2")),
        ("fd01::1", 64, None),
    ] {
        let found = got.iter().any(|(l, p, a)| l == want.0 && *p == want.1 && a.as_deref() == want.2);
        ensure!(found, "ip does not show {want:?}: {got:?}");
    }
    let err = expect_kind(iface.add_address(&lan), ErrorKind::AlreadyExists)?;
    ensure!(err.to_string().contains("10.5.0.1/24"), "{err}");
    iface.remove_address(&lan)?;
    iface.remove_address(&v6net)?;
    let got = kernel_addresses(name.as_str())?;
    ensure!(!got.iter().any(|(l, ..)| l == "10.5.0.1" || l == "fd01::1"), "removed addresses remain: {got:?}");
    expect_kind(iface.remove_address(&lan), ErrorKind::NotFound)?;
    Ok(())
}

/// Addresses the library refuses before the kernel sees them.
pub fn bad_addresses() -> Result<()> {
    let dev = Device::new()?;
    let before = kernel_addresses(dev.name().as_str())?;
    expect_kind(InterfaceAddress::new(ip("10.0.0.1"), 33), ErrorKind::InvalidInput)?;
    expect_kind(InterfaceAddress::new(ip("fd00::1"), 129), ErrorKind::InvalidInput)?;
    let err = expect_kind(InterfaceAddress::new(ip("fd00::1"), 64)?.with_peer(ip("fd00::2")), ErrorKind::InvalidInput)?;
    ensure!(err.to_string().contains("/128"), "{err}");
    expect_kind(InterfaceAddress::new(ip("10.0.0.1"), 24)?.with_peer(ip("fd00::2")), ErrorKind::InvalidInput)?;
    ensure!(kernel_addresses(dev.name().as_str())? == before, "addresses changed");
    Ok(())
}

/// `ip -j route show` destinations through `dev` (IPv4 or IPv6).
pub fn kernel_routes(v6: bool, dev: &str) -> Result<Vec<String>> {
    let family = if v6 { "-6" } else { "-4" };
    let v = kernel::ip_json(&[family, "route", "show", "dev", dev])?;
    Ok(v.as_array().into_iter().flatten().filter_map(|r| r["dst"].as_str().map(String::from)).collect())
}

/// Waits until the kernel routes `to` through interface `index` (Linux adds
/// the route to an IPv6 peer from deferred work, a moment after the address).
pub fn wait_for_route(to: IpAddr, index: u32) -> Result<()> {
    let mut table = RouteTable::open()?;
    for _ in 0..200 {
        if table.get(to).is_ok_and(|e| e.interface_index == index) {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    bail!("the kernel never routed {to} through interface {index}")
}

/// Network, host, gateway and default routes: added, looked up, deleted.
pub fn routes_round_trip(v6: bool) -> Result<()> {
    let (local, peer, netw, host, lookup, gwnet, default) = if v6 {
        ("fd00::1", "fd00::2", "fd09::/64", "fd08::7/128", "fd09::1", "fd07::/48", "::/0")
    } else {
        ("10.0.0.1", "10.0.0.2", "10.9.0.0/16", "10.8.0.7/32", "10.9.1.1", "10.7.0.0/16", "0.0.0.0/0")
    };
    let prefix = if v6 { 128 } else { 32 };
    let dev = Device::new()?;
    let iface = dev.interface();
    iface.set_up(true)?;
    iface.add_address(&addr(local, prefix, Some(peer))?)?;
    ensure!(iface.wait_until_running(std::time::Duration::from_secs(2))?, "{} never became RUNNING", dev.name());
    wait_for_route(ip(peer), dev.index())?;
    let name = dev.name();
    let mut table = RouteTable::open()?;
    let through = Route::through_interface(net(netw), name);
    let host_route = Route::through_interface(net(host), name);
    let via = Route::via_gateway(net(gwnet), ip(peer))?;
    let default_route = Route::through_interface(net(default), name);
    for r in [&through, &host_route, &via, &default_route] {
        table.add(r)?;
    }
    let shown = kernel_routes(v6, name.as_str())?;
    let host_shown = host.trim_end_matches(if v6 { "/128" } else { "/32" });
    for want in [netw, host_shown, gwnet, "default"] {
        ensure!(shown.iter().any(|d| d == want), "ip does not show {want}: {shown:?}");
    }
    let entry = table.get(ip(lookup))?;
    ensure!(entry.interface_index == dev.index(), "lookup {lookup}: {entry:?}");
    ensure!(entry.interface == Some(name), "lookup {lookup}: {entry:?}");
    let entry = table.get(ip(if v6 { "fd07::5" } else { "10.7.3.4" }))?;
    ensure!(entry.gateway == Some(ip(peer)) && entry.interface_index == dev.index(), "gateway lookup: {entry:?}");

    let err = expect_kind(table.add(&through), ErrorKind::AlreadyExists)?;
    ensure!(err.to_string().contains(netw) && err.interface() == Some(&name), "{err}");
    for r in [&through, &host_route, &via, &default_route] {
        table.delete(r)?;
    }
    let shown = kernel_routes(v6, name.as_str())?;
    for gone in [netw, host_shown, gwnet, "default"] {
        ensure!(!shown.iter().any(|d| d == gone), "{gone} is still there: {shown:?}");
    }
    expect_kind(table.delete(&through), ErrorKind::NotFound)?;
    Ok(())
}

/// A route through an interface that no longer exists.
pub fn route_through_gone_interface() -> Result<()> {
    let dev = Device::with_name("gone7")?;
    let name = dev.name();
    drop(dev);
    ensure!(kernel::gone_soon("gone7")?, "gone7 still exists after the device was dropped");
    let mut table = RouteTable::open()?;
    let err = expect_kind(table.add(&Route::through_interface(net("10.9.0.0/16"), name)), ErrorKind::NotFound)?;
    ensure!(err.to_string().contains("gone7"), "{err}");
    let all = kernel::ip_json(&["-4", "route", "show"])?;
    ensure!(!all.to_string().contains("10.9.0.0"), "a route was added: {all}");
    Ok(())
}

/// `Cleanup` undoes an address, a route and an MTU when dropped.
pub fn guard_cleans_up() -> Result<()> {
    let dev = Device::new()?;
    let iface = dev.interface();
    iface.set_up(true)?;
    let name = dev.name();
    let mut cleanup = Cleanup::new();
    cleanup.add_address(&iface, addr("10.0.0.1", 32, Some("10.0.0.2"))?)?;
    cleanup.add_route(Route::through_interface(net("10.9.0.0/16"), name))?;
    cleanup.set_mtu(&iface, 1300)?;
    ensure!(kernel_routes(false, name.as_str())?.contains(&"10.9.0.0/16".to_string()));
    ensure!(cleanup.len() == 3);
    drop(cleanup);
    ensure!(!kernel_routes(false, name.as_str())?.contains(&"10.9.0.0/16".to_string()), "route left behind");
    ensure!(kernel_addresses(name.as_str())?.is_empty(), "address left behind");
    ensure!(iface.mtu()? != 1300, "MTU not restored");
    Ok(())
}
