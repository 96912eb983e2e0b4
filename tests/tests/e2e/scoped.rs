//! Link-local IPv6 in routes: the scope (the interface) is part of the
//! address, as in a `SocketAddrV6`. On Linux the scope is the route's
//! output interface (`RTA_OIF`); the same public values mean the same on
//! macOS, where the index is embedded in the routing message (unit tests,
//! and `macos_privileged/scoped.rs`).

use anyhow::{Result, ensure};
use utun::{Device, ErrorKind, Route, RouteTable};

use crate::cases::{expect_kind, ip, net};
use crate::kernel;
use utun_tests::suite::Case;

/// The cases of this file.
pub fn all() -> Vec<(&'static str, Case)> {
    vec![
        ("a_link_local_route_is_per_interface_and_looked_up_with_its_scope", link_local_routes_are_per_interface),
        ("a_link_local_gateway_names_its_interface", link_local_gateway),
        ("link_local_addresses_without_a_scope_are_refused", unscoped_link_local_is_refused),
    ]
}

fn up_device() -> Result<Device> {
    let dev = Device::new()?;
    dev.interface().set_up(true)?;
    Ok(dev)
}

/// `ip -6 route show dev NAME` as its (dst, gateway) pairs.
fn routes_on(name: &str) -> Result<Vec<(String, Option<String>)>> {
    let v = kernel::ip_json(&["-6", "route", "show", "dev", name])?;
    Ok(v.as_array()
        .into_iter()
        .flatten()
        .map(|r| (r["dst"].as_str().unwrap_or_default().to_string(), r["gateway"].as_str().map(String::from)))
        .collect())
}

/// fe80::99/128 out of two devices is two routes; each is found with its
/// own scope and deleted alone. (Linux refuses a second IPv6 route of the
/// same destination and metric with `NLM_F_EXCL` whatever its interface,
/// `fib6_add_rt2node`, so another program appends b's, as `ip -6 route
/// append` does, and the crate's add of it is `AlreadyExists`.)
fn link_local_routes_are_per_interface() -> Result<()> {
    let (a, b) = (up_device()?, up_device()?);
    let mut table = RouteTable::open()?;
    let ll = net("fe80::99/128");
    let (on_a, on_b) = (Route::through_interface(ll, a.name()), Route::through_interface(ll, b.name()));
    table.add(&on_a)?;
    expect_kind(table.add(&on_b), ErrorKind::AlreadyExists)?;
    let metric = utun_sys::IP6_RT_PRIO_USER.to_string();
    kernel::ip(&[
        "-6",
        "route",
        "append",
        "fe80::99/128",
        "dev",
        b.name().as_str(),
        "proto",
        "static",
        "metric",
        &metric,
    ])?;
    for dev in [&a, &b] {
        let shown = routes_on(dev.name().as_str())?;
        ensure!(shown.iter().any(|(d, _)| d == "fe80::99"), "ip shows no fe80::99 on {}: {shown:?}", dev.name());
        let entry = table.get_scoped("fe80::99".parse()?, dev.name())?;
        ensure!(entry.interface_index == dev.index(), "{}: {entry:?}", dev.name());
        ensure!(entry.destination_scope == Some(dev.index()), "{}: {entry:?}", dev.name());
        ensure!(entry.destination == Some(ll), "{}: {entry:?}", dev.name());
    }
    table.delete(&on_b)?;
    ensure!(!routes_on(b.name().as_str())?.iter().any(|(d, _)| d == "fe80::99"), "b's route is still there");
    ensure!(routes_on(a.name().as_str())?.iter().any(|(d, _)| d == "fe80::99"), "a's route went with b's");
    table.delete(&on_a)?;
    expect_kind(table.delete(&on_a), ErrorKind::NotFound)?;
    Ok(())
}

/// 2001:db8:77::/48 via fe80::1 on a device: the kernel shows the gateway
/// on that device, a lookup gives the gateway with its scope.
fn link_local_gateway() -> Result<()> {
    let (dev, other) = (up_device()?, up_device()?);
    let mut table = RouteTable::open()?;
    let route = Route::via_link_local_gateway(net("2001:db8:77::/48"), "fe80::1".parse()?, dev.name())?;
    table.add(&route)?;
    let shown = routes_on(dev.name().as_str())?;
    let want = ("2001:db8:77::/48".to_string(), Some("fe80::1".to_string()));
    ensure!(shown.contains(&want), "ip does not show {want:?} on {}: {shown:?}", dev.name());
    ensure!(
        !routes_on(other.name().as_str())?.iter().any(|(d, _)| d.starts_with("2001:db8:77")),
        "a route appeared on {}",
        other.name()
    );
    let entry = table.get(ip("2001:db8:77::5"))?;
    ensure!(entry.gateway == Some(ip("fe80::1")), "{entry:?}");
    ensure!(entry.gateway_scope == Some(dev.index()) && entry.interface_index == dev.index(), "{entry:?}");
    ensure!(entry.destination_scope.is_none(), "a global destination has no scope: {entry:?}");
    // The same gateway on the other device is another route: not ours to delete.
    let elsewhere = Route::via_link_local_gateway(net("2001:db8:77::/48"), "fe80::1".parse()?, other.name())?;
    expect_kind(table.delete(&elsewhere), ErrorKind::NotFound)?;
    ensure!(routes_on(dev.name().as_str())?.contains(&want), "deleting the other device's route took ours");
    table.delete(&route)?;
    ensure!(!routes_on(dev.name().as_str())?.contains(&want), "the route is still there");
    Ok(())
}

/// A link-local gateway or lookup with no interface is refused before the
/// kernel is asked, with why; so is a scope on a global address.
fn unscoped_link_local_is_refused() -> Result<()> {
    let dev = up_device()?;
    let before = kernel::ip_json(&["-6", "route", "show", "table", "all"])?;
    let err = expect_kind(Route::via_gateway(net("2001:db8::/32"), ip("fe80::1")), ErrorKind::InvalidInput)?;
    ensure!(err.to_string().contains("link-local"), "{err}");
    let mut table = RouteTable::open()?;
    let err = expect_kind(table.get(ip("fe80::1")), ErrorKind::InvalidInput)?;
    ensure!(err.to_string().contains("get_scoped"), "{err}");
    let err = expect_kind(table.get_scoped("2001:db8::1".parse()?, dev.name()), ErrorKind::InvalidInput)?;
    ensure!(err.to_string().contains("no scope"), "{err}");
    ensure!(kernel::ip_json(&["-6", "route", "show", "table", "all"])? == before, "the routing table changed");
    Ok(())
}
