//! The prefix of an address: the network it routes into the device
//! ([`InterfaceAddress::routed_prefix`]), as `ip -j route` shows it, while
//! the address is on the interface and not after it is removed.

use anyhow::{Result, ensure};
use utun::{Device, InterfaceAddress};
use utun_tests::suite::Case;

use crate::cases::addr;
use crate::routing::kernel_routes;

/// The cases of this file.
pub fn all() -> Vec<(&'static str, Case)> {
    vec![
        ("the_prefix_of_an_ipv4_address_is_routed_into_the_device_until_removed", || prefix_routed(false)),
        ("the_prefix_of_an_ipv6_address_is_routed_into_the_device_until_removed", || prefix_routed(true)),
        ("the_prefix_of_an_ipv4_address_with_a_peer_is_the_peers_network", prefix_of_a_peer),
    ]
}

/// True when `ip -j route` shows `net` routed out of `dev`.
fn routed(v6: bool, dev: &str, net: &str) -> Result<bool> {
    Ok(kernel_routes(v6, dev)?.iter().any(|d| d == net))
}

/// Adds `a`, checks that `net` goes into the device (and is what
/// `routed_prefix` says), removes `a`, checks that `net` is gone.
fn round_trip(v6: bool, a: &InterfaceAddress, net: &str) -> Result<()> {
    let dev = Device::new()?;
    let iface = dev.interface();
    iface.set_up(true)?;
    let name = dev.name();
    ensure!(a.routed_prefix().map(|n| n.to_string()).as_deref() == Some(net), "routed_prefix of {a}");
    ensure!(!routed(v6, name.as_str(), net)?, "{net} routed into {name} before the address");
    iface.add_address(a)?;
    ensure!(routed(v6, name.as_str(), net)?, "{net} not routed into {name}: {:?}", kernel_routes(v6, name.as_str())?);
    iface.remove_address(a)?;
    ensure!(
        !routed(v6, name.as_str(), net)?,
        "{net} still routed into {name}: {:?}",
        kernel_routes(v6, name.as_str())?
    );
    Ok(())
}

/// An address with a prefix and no peer routes its network into the device.
fn prefix_routed(v6: bool) -> Result<()> {
    if v6 {
        round_trip(true, &addr("fd01::1", 64, None)?, "fd01::/64")
    } else {
        round_trip(false, &addr("10.5.0.1", 24, None)?, "10.5.0.0/24")
    }
}

/// With a peer, the routed network is the peer's (`IFA_ADDRESS/prefixlen`).
fn prefix_of_a_peer() -> Result<()> {
    round_trip(false, &addr("10.5.0.1", 24, Some("10.6.0.2"))?, "10.6.0.0/24")
}
