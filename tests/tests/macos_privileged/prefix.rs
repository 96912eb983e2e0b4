//! The prefix of an address is routed into the utun while the address is on
//! it (XNU itself routes only the peer: the crate adds the IPv4 prefix route;
//! the kernel adds the IPv6 one), as `route -n get` shows, and not after the
//! address is removed.

use anyhow::{Result, ensure};
use utun::{Device, InterfaceAddress, RouteTable};

use super::{ip, tool};

/// True when `route -n get` of `to` names `name` as the interface.
fn route_get_names(to: &str, name: &str) -> Result<bool> {
    let family = if to.contains(':') { "-inet6" } else { "-inet" };
    let (_, text) = tool("route", &["-n", "get", family, to])?;
    Ok(text.lines().any(|l| l.trim() == format!("interface: {name}")))
}

/// Adds `a` (twice: the second `SIOCAIFADDR` updates it, the route is kept),
/// checks `inside` is routed into the device, removes `a`, checks it is not.
fn round_trip(a: &InterfaceAddress, inside: &str) -> Result<()> {
    let dev = Device::new()?;
    let iface = dev.interface();
    iface.set_up(true)?;
    let name = dev.name();
    iface.add_address(a)?;
    iface.add_address(a)?;
    ensure!(route_get_names(inside, name.as_str())?, "route -n get {inside} does not name {name} after {a}");
    let entry = RouteTable::open()?.get(ip(inside))?;
    ensure!(entry.interface_index == dev.index(), "RouteTable::get({inside}): {entry:?}");
    iface.remove_address(a)?;
    ensure!(!route_get_names(inside, name.as_str())?, "route -n get {inside} still names {name} after removing {a}");
    Ok(())
}

#[test]
#[ignore = "needs root on macOS"]
fn the_prefix_of_an_ipv4_address_is_routed_into_the_utun_until_removed() -> Result<()> {
    round_trip(&InterfaceAddress::new(ip("10.77.0.1"), 24)?, "10.77.0.9")
}

#[test]
#[ignore = "needs root on macOS"]
fn the_prefix_of_an_ipv4_address_with_a_peer_is_the_peers_network() -> Result<()> {
    round_trip(&InterfaceAddress::new(ip("10.77.0.1"), 24)?.with_peer(ip("10.78.0.2"))?, "10.78.0.9")
}

#[test]
#[ignore = "needs root on macOS"]
fn the_prefix_of_an_ipv6_address_is_routed_into_the_utun_until_removed() -> Result<()> {
    round_trip(&InterfaceAddress::new(ip("fd77::1"), 64)?, "fd77::9")
}
