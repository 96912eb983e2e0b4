//! The Linux backend: `/dev/net/tun` devices, ioctls for MTU and flags,
//! rtnetlink for addresses and routes.

pub(crate) mod device;
pub(crate) mod ifconfig;
pub(crate) mod netlink;

use crate::error::Error;
use crate::interface::Interface;
use crate::net::InterfaceAddress;

/// Adds an address (RTM_NEWADDR).
pub(crate) fn add_address(iface: &Interface, address: &InterfaceAddress) -> Result<(), Error> {
    netlink::NetlinkSocket::open()?.add_address(iface.index(), address)
}

/// Adds or updates an address (RTM_NEWADDR with NLM_F_REPLACE).
pub(crate) fn replace_address(iface: &Interface, address: &InterfaceAddress) -> Result<(), Error> {
    netlink::NetlinkSocket::open()?.replace_address(iface.index(), address)
}

/// Removes an address (RTM_DELADDR).
pub(crate) fn remove_address(iface: &Interface, address: &InterfaceAddress) -> Result<(), Error> {
    netlink::NetlinkSocket::open()?.delete_address(iface.index(), address)
}
