//! Link-local IPv6 in routes on a real Mac: the crate embeds the scope in
//! the routing message as route(8) does, and takes it out of the kernel's
//! answers as netstat does, so that `fe80::99` out of two utuns is two
//! routes and a link-local gateway works (XNU `bsd/net/rtsock.c`
//! `route_output`, `in6_embedded_scope` in `bsd/netinet6/scope6.c`).

use anyhow::{Result, ensure};
use utun::{Device, ErrorKind, InterfaceAddress, Route, RouteTable};

use super::{ip, tool};

/// A utun, up, with an IPv6 address (which gives it its link-local address
/// and the `fe80::/64` prefix a link-local gateway is reached through).
fn v6_device(local: &str, peer: &str) -> Result<Device> {
    let dev = Device::new()?;
    let iface = dev.interface();
    iface.set_up(true)?;
    iface.add_address(&InterfaceAddress::new(ip(local), 128)?.with_peer(ip(peer))?)?;
    Ok(dev)
}

/// `netstat -rn -f inet6` lines.
fn netstat6() -> Result<Vec<String>> {
    let (_, text) = tool("netstat", &["-rn", "-f", "inet6"])?;
    Ok(text.lines().map(str::to_string).collect())
}

/// True when netstat shows a route whose destination is `dest` exactly.
fn netstat_shows(dest: &str) -> Result<bool> {
    Ok(netstat6()?.iter().any(|l| l.split_whitespace().next() == Some(dest)))
}

#[test]
#[ignore = "needs root on macOS"]
fn a_link_local_route_is_per_utun_and_looked_up_with_its_scope() -> Result<()> {
    let a = v6_device("fd7a::1", "fd7a::2")?;
    let b = v6_device("fd7b::1", "fd7b::2")?;
    let mut table = RouteTable::open()?;
    let ll = "fe80::99/128".parse()?;
    let (on_a, on_b) = (Route::through_interface(ll, a.name()), Route::through_interface(ll, b.name()));
    table.add(&on_a)?;
    table.add(&on_b)?;
    for dev in [&a, &b] {
        let scoped = format!("fe80::99%{}", dev.name());
        ensure!(netstat_shows(&scoped)?, "netstat does not show {scoped}: {:?}", netstat6()?);
        let (_, text) = tool("route", &["-n", "get", "-inet6", &scoped])?;
        ensure!(text.contains(&format!("interface: {}", dev.name())), "route -n get {scoped}: {text}");
        let entry = table.get_scoped("fe80::99".parse()?, dev.name())?;
        ensure!(entry.interface_index == dev.index(), "{scoped}: {entry:?}");
        ensure!(entry.destination_scope == Some(dev.index()), "{scoped}: {entry:?}");
        ensure!(entry.destination == Some(ll), "the scope is taken out of the address: {entry:?}");
    }
    table.delete(&on_b)?;
    ensure!(!netstat_shows(&format!("fe80::99%{}", b.name()))?, "b's route is still there");
    ensure!(netstat_shows(&format!("fe80::99%{}", a.name()))?, "a's route went with b's");
    table.delete(&on_a)?;
    let err = table.delete(&on_a).expect_err("deleted twice");
    ensure!(err.kind() == ErrorKind::NotFound, "{err}");
    Ok(())
}

#[test]
#[ignore = "needs root on macOS"]
fn a_link_local_gateway_names_its_utun() -> Result<()> {
    let dev = v6_device("fd7c::1", "fd7c::2")?;
    let mut table = RouteTable::open()?;
    let route = Route::via_link_local_gateway("2001:db8:77::/48".parse()?, "fe80::1".parse()?, dev.name())?;
    table.add(&route)?;
    let (_, text) = tool("route", &["-n", "get", "-inet6", "2001:db8:77::5"])?;
    ensure!(text.contains(&format!("gateway: fe80::1%{}", dev.name())), "route -n get: {text}");
    ensure!(text.contains(&format!("interface: {}", dev.name())), "route -n get: {text}");
    let entry = table.get(ip("2001:db8:77::5"))?;
    ensure!(entry.gateway == Some(ip("fe80::1")), "the scope is taken out of the gateway: {entry:?}");
    ensure!(entry.gateway_scope == Some(dev.index()) && entry.interface_index == dev.index(), "{entry:?}");
    table.delete(&route)?;
    let (_, text) = tool("route", &["-n", "get", "-inet6", "2001:db8:77::5"])?;
    ensure!(!text.contains("fe80::1%"), "the route is still there: {text}");
    Ok(())
}
