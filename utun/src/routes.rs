//! The routing table: add, delete and look up IPv4 and IPv6 routes (host,
//! network and default; through an interface or a gateway), through the
//! kernel's routing interface (a `PF_ROUTE` socket on macOS, rtnetlink on
//! Linux), never by running `route` or `ip`.

use std::net::{IpAddr, Ipv6Addr};

use crate::error::{Error, ErrorKind, Op};
use crate::name::InterfaceName;
use crate::net::{Route, RouteEntry, is_scoped};

use crate::backend::route::RouteSocket as Socket;
use crate::error::Detail;

/// A handle on the kernel's routing table (one open routing socket).
///
/// ```no_run
/// use utun::{IpNet, Route, RouteTable};
///
/// let dev = utun::Device::new()?; // needs root
/// let mut table = RouteTable::open()?;
/// let route = Route::through_interface("10.0.0.0/8".parse::<IpNet>().unwrap(), dev.name());
/// table.add(&route)?;
/// let entry = table.get("10.1.2.3".parse().unwrap())?;
/// assert_eq!(entry.interface_index, dev.index());
/// table.delete(&route)?;
/// # Ok::<(), utun::Error>(())
/// ```
#[derive(Debug)]
pub struct RouteTable {
    socket: Socket,
}

impl RouteTable {
    /// Opens the routing socket. On macOS its privilege is fixed when it is
    /// opened: a table opened without root can look routes up but not change them.
    pub fn open() -> Result<RouteTable, Error> {
        Ok(RouteTable { socket: Socket::open()? })
    }

    /// The index of the interface a route's next hop names (the one it
    /// leaves by, or its link-local gateway's); 0 for another gateway.
    fn oif(route: &Route, op: Op) -> Result<u32, Error> {
        match route.next_hop().interface() {
            Some(name) => index_of(name, op).map_err(|e| e.about(route)),
            None => Ok(0),
        }
    }

    /// Adds a route; one that exists already is
    /// [`ErrorKind::AlreadyExists`](crate::ErrorKind::AlreadyExists).
    pub fn add(&mut self, route: &Route) -> Result<(), Error> {
        self.add_returning_index(route).map(drop)
    }

    /// [`add`](RouteTable::add), returning the index of the interface the
    /// route goes out of (0 through a gateway), for deleting it from there.
    pub(crate) fn add_returning_index(&mut self, route: &Route) -> Result<u32, Error> {
        let oif = RouteTable::oif(route, Op::AddRoute)?;
        self.socket.add_route(route, oif).map_err(|e| name_route(e, route))?;
        Ok(oif)
    }

    /// Deletes a route as [`add`](RouteTable::add) adds it; a missing one is
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound). Never another
    /// program's route to the same destination: on Linux the delete names
    /// every field the add set (protocol, scope, type, table, metric,
    /// interface, gateway); on macOS, where the kernel deletes by destination
    /// and mask alone, the route is looked up first, and one that now goes
    /// elsewhere (another interface or gateway) is left alone and reported
    /// as [`ErrorKind::NotFound`](crate::ErrorKind::NotFound).
    pub fn delete(&mut self, route: &Route) -> Result<(), Error> {
        let oif = RouteTable::oif(route, Op::DeleteRoute)?;
        self.delete_with_index(route, oif)
    }

    /// Deletes the route as it was added: out of the interface with index
    /// `oif` (0 through a gateway). Needs no descriptor beyond the table's.
    pub(crate) fn delete_with_index(&mut self, route: &Route, oif: u32) -> Result<(), Error> {
        self.socket.delete_route(route, oif).map_err(|e| name_route(e, route))
    }

    /// The route the kernel would use for `destination`.
    ///
    /// A link-local address (`fe80::/10`, and interface- or link-local
    /// multicast) means nothing without its interface: looking one up here
    /// is an [`ErrorKind::InvalidInput`] error that points to
    /// [`get_scoped`](RouteTable::get_scoped).
    pub fn get(&mut self, destination: IpAddr) -> Result<RouteEntry, Error> {
        if is_scoped(destination) {
            let why = "a link-local address needs its interface: look it up with RouteTable::get_scoped";
            return Err(Error::invalid(Op::GetRoute, ErrorKind::InvalidInput, Detail::Static(why)).about(destination));
        }
        self.socket.get_route(destination, 0).map_err(|e| e.about(destination))
    }

    /// The route the kernel would use for the link-local `destination` on
    /// `interface` (`route -n get fe80::1%utun4`, `ip route get fe80::1 oif
    /// tun0`): the address with its scope, as a
    /// [`SocketAddrV6`](std::net::SocketAddrV6) carries one. The answer's
    /// link-local addresses come with their scopes apart
    /// ([`RouteEntry::destination_scope`], [`RouteEntry::gateway_scope`]).
    ///
    /// A `destination` that is not link-local has no scope: an
    /// [`ErrorKind::InvalidInput`] error (use [`get`](RouteTable::get)). An
    /// interface that does not exist is an error that names it.
    ///
    /// ```no_run
    /// use utun::{IpNet, Route, RouteTable};
    ///
    /// let dev = utun::Device::new()?; // needs root
    /// let mut table = RouteTable::open()?;
    /// let host = Route::through_interface("fe80::99/128".parse::<IpNet>().unwrap(), dev.name());
    /// table.add(&host)?;
    /// let entry = table.get_scoped("fe80::99".parse().unwrap(), dev.name())?;
    /// assert_eq!(entry.destination_scope, Some(dev.index()));
    /// table.delete(&host)?;
    /// # Ok::<(), utun::Error>(())
    /// ```
    pub fn get_scoped(&mut self, destination: Ipv6Addr, interface: InterfaceName) -> Result<RouteEntry, Error> {
        if !is_scoped(destination.into()) {
            let why = "an address that is not link-local has no scope: look it up with RouteTable::get";
            return Err(Error::invalid(Op::GetRoute, ErrorKind::InvalidInput, Detail::Static(why))
                .on(interface)
                .about(destination));
        }
        let scope = index_of(interface, Op::GetRoute).map_err(|e| e.about(destination))?;
        self.socket.get_route(destination.into(), scope).map_err(|e| e.about(destination))
    }
}

/// `if_nametoindex(name)`, as the error of `op` when there is no such
/// interface.
fn index_of(name: InterfaceName, op: Op) -> Result<u32, Error> {
    crate::unix::if_nametoindex(name)
        .map_err(|e| Error::os(op, e).on(name).because(Detail::Static("no interface of that name")))
}

fn name_route(err: Error, route: &Route) -> Error {
    let err = err.about(route);
    match route.next_hop().interface() {
        Some(name) if err.interface().is_none() => err.on(name),
        _ => err,
    }
}
