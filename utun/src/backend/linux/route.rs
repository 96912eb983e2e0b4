//! Routes on Linux: rtnetlink (`RTM_NEWROUTE`, `RTM_DELROUTE`,
//! `RTM_GETROUTE`) over one netlink socket kept for the table's life.

use std::net::IpAddr;

use super::netlink::NetlinkSocket;
use crate::error::Error;
use crate::net::{Route, RouteEntry};

/// The routing socket of a [`RouteTable`](crate::RouteTable).
#[derive(Debug)]
pub(crate) struct RouteSocket {
    netlink: NetlinkSocket,
}

impl RouteSocket {
    /// Opens a `NETLINK_ROUTE` socket.
    pub(crate) fn open() -> Result<RouteSocket, Error> {
        Ok(RouteSocket { netlink: NetlinkSocket::open()? })
    }

    /// Adds `route` out of the interface with index `oif` (0 for a gateway
    /// route: the kernel finds the interface).
    pub(crate) fn add_route(&mut self, route: &Route, oif: u32) -> Result<(), Error> {
        self.netlink.add_route(route, oif)
    }

    /// Deletes `route`.
    pub(crate) fn delete_route(&mut self, route: &Route, oif: u32) -> Result<(), Error> {
        self.netlink.delete_route(route, oif)
    }

    /// The route the kernel would use for `destination`.
    pub(crate) fn get_route(&mut self, destination: IpAddr) -> Result<RouteEntry, Error> {
        self.netlink.get_route(destination)
    }
}
