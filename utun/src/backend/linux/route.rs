//! Routes on Linux: rtnetlink (`RTM_NEWROUTE`, `RTM_DELROUTE`,
//! `RTM_GETROUTE`) over one netlink socket kept for the table's life, which
//! also names a looked-up route's interface (`RTM_GETLINK`): no call here
//! opens another descriptor.
//!
//! A route is deleted exactly as it was added (the same table, protocol,
//! scope, type, metric, interface and gateway: see
//! [`crate::codec::netlink::encode::encode_route`]), so a delete never
//! removes another program's route to the same destination.

use std::net::IpAddr;

use super::netlink::{NetlinkSocket, RequestError};
use crate::codec::netlink::parse::{Context, ParseError, Problem, scoped_by_interface};
use crate::codec::netlink::{Reply, Request, RouteAction, k};
use crate::error::{Detail, Error, ErrorKind, Op};
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

    /// Adds `route` to the main table (`ip route add ... proto static`), out
    /// of the interface with index `oif` (required for a
    /// [`NextHop::Interface`](crate::NextHop::Interface) or link-local gateway route; for another gateway route 0 lets the kernel
    /// find the interface). A route to the same destination already there
    /// (the same metric) is [`ErrorKind::AlreadyExists`].
    pub(crate) fn add_route(&mut self, route: &Route, oif: u32) -> Result<(), Error> {
        self.route(Op::AddRoute, RouteAction::Add, route, oif)
    }

    /// Deletes `route` as [`add_route`](RouteSocket::add_route) added it
    /// out of the interface with index `oif`. No such route is
    /// [`ErrorKind::NotFound`] (`ESRCH`).
    pub(crate) fn delete_route(&mut self, route: &Route, oif: u32) -> Result<(), Error> {
        self.route(Op::DeleteRoute, RouteAction::Delete, route, oif)
    }

    fn route(&mut self, op: Op, action: RouteAction, route: &Route, oif_index: u32) -> Result<(), Error> {
        let name = route.next_hop().interface();
        let named = |err: Error| match name {
            Some(name) => err.on(name),
            None => err,
        };
        if name.is_some() && oif_index == 0 {
            let why = Detail::Static("a route that names an interface needs its index, not 0");
            return Err(named(Error::invalid(op, ErrorKind::InvalidInput, why).about(route)));
        }
        let request = Request::Route { action, route, oif_index };
        self.netlink.expect_ack(&request).map_err(|e| named(e.into_error(op, route)))
    }

    /// The route the kernel would use to reach `destination` (`ip route get
    /// fibmatch`): the matching table entry's destination prefix, gateway and
    /// outgoing interface (with its name, from `RTM_GETLINK`). When the entry
    /// names no single interface (a multipath route), a plain lookup supplies
    /// the next hop the kernel picks. No route is
    /// [`ErrorKind::NetworkUnreachable`].
    ///
    /// On kernels older than 4.13 (no `RTM_F_FIB_MATCH`) the destination is
    /// the host address itself.
    ///
    /// `scope`, unless it is 0, is the interface a link-local `destination`
    /// is on: the lookup's output interface (`RTA_OIF`). The scope of a
    /// link-local address in the answer is the route's interface.
    pub(crate) fn get_route(&mut self, destination: IpAddr, scope: u32) -> Result<RouteEntry, Error> {
        let mut entry = self.lookup(destination, scope, true)?;
        if entry.interface_index == 0 {
            let resolved = self.lookup(destination, scope, false)?;
            entry = scoped_by_interface(RouteEntry {
                interface_index: resolved.interface_index,
                gateway: resolved.gateway,
                ..entry
            });
        }
        entry.interface = match entry.interface_index {
            0 => None,
            index => self.netlink.link(index).ok().and_then(|link| link.name),
        };
        Ok(entry)
    }

    fn lookup(&mut self, destination: IpAddr, oif: u32, fib_match: bool) -> Result<RouteEntry, Error> {
        let request = Request::GetRoute { destination, oif, fib_match };
        let unexpected = |kind| RequestError::Parse(ParseError::new(Context::Reply, Problem::Unexpected(kind)));
        match self.netlink.request(&request) {
            Ok(Reply::Route(entry)) => Ok(entry),
            Ok(Reply::Ack) => Err(unexpected(k::NLMSG_ERROR).into_error(Op::GetRoute, &destination)),
            Ok(Reply::Link(_)) => Err(unexpected(k::RTM_NEWLINK).into_error(Op::GetRoute, &destination)),
            Err(err) => Err(err.into_error(Op::GetRoute, &destination)),
        }
    }
}
