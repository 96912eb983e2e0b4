//! The netlink conversation: one `NETLINK_ROUTE` socket that sends one
//! request at a time ([`crate::codec::netlink`] encodes it) and waits for
//! the reply that carries the request's sequence number and the socket's
//! port id; its methods (`add_address`, `add_route`, `get_route`, ...) turn
//! the kernel's answers into [`crate::Error`]s. Used by [`super::ifconfig`]
//! for addresses and [`super::route`] for routes.

use std::io;
use std::net::IpAddr;
use std::os::fd::OwnedFd;

use crate::codec::netlink::parse::{self, Body, Context, ParseError, Problem};
use crate::codec::netlink::{AddressAction, MessageHeader, Reply, Request, RouteAction, k};
use crate::error::{Detail, Error, ErrorKind, Op};
use crate::net::{InterfaceAddress, NextHop, Route, RouteEntry};

/// The receive buffer: 8 KiB is plenty for an ACK (which echoes the
/// request) or a single `RTM_NEWROUTE` (a few hundred bytes); a larger
/// datagram is reported as [`RequestError::Truncated`] (its real length is
/// seen through `MSG_TRUNC`), never read cut short.
const RECV_BUF_LEN: usize = 8192;

/// Why a request failed.
#[derive(Debug)]
pub(crate) enum RequestError {
    /// A socket call (`sendto`, `recvfrom`) failed.
    Socket(io::Error),
    /// The kernel refused the request: the errno of its `NLMSG_ERROR`.
    Kernel(io::Error),
    /// The reply could not be parsed.
    Parse(ParseError),
    /// A reply datagram of `len` bytes did not fit the `limit`-byte buffer.
    Truncated {
        /// The datagram's real length.
        len: usize,
        /// The buffer's length.
        limit: usize,
    },
}

impl RequestError {
    /// The crate error for a failed `op` about `what` (an address, a route):
    /// `what` as its subject, the kernel's errno or the parser's reason as
    /// its cause.
    pub(crate) fn into_error(self, op: Op, what: &dyn std::fmt::Display) -> Error {
        let err = match self {
            RequestError::Socket(err) | RequestError::Kernel(err) => Error::os(op, err),
            RequestError::Parse(err) => err.into_error(op),
            RequestError::Truncated { len, limit } => Error::invalid(
                op,
                ErrorKind::MalformedReply,
                Detail::Text(format!("a {len}-byte reply does not fit the {limit}-byte buffer").into()),
            ),
        };
        err.about(what)
    }
}

/// A `NETLINK_ROUTE` socket, bound to a port id the kernel picked, that
/// sends one request at a time and waits for its reply.
#[derive(Debug)]
pub(crate) struct NetlinkSocket {
    fd: OwnedFd,
    port_id: u32,
    seq: u32,
    buf: Box<[u8]>,
}

impl NetlinkSocket {
    /// `socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)`, bound
    /// with port id 0 (the kernel assigns one, read back with `getsockname`)
    /// and no multicast groups, so only replies to this socket arrive.
    pub(crate) fn open() -> Result<NetlinkSocket, Error> {
        let fd = calls::socket().map_err(|e| Error::os(Op::OpenSocket, e).about("NETLINK_ROUTE"))?;
        calls::bind(&fd).map_err(|e| Error::os(Op::OpenSocket, e).about("bind NETLINK_ROUTE"))?;
        let port_id =
            calls::port_id(&fd).map_err(|e| Error::os(Op::OpenSocket, e).about("getsockname NETLINK_ROUTE"))?;
        Ok(NetlinkSocket { fd, port_id, seq: 0, buf: vec![0; RECV_BUF_LEN].into_boxed_slice() })
    }

    /// Sends `request` and reads replies until the one whose `nlmsg_seq` and
    /// `nlmsg_pid` are the request's: an ACK, an `RTM_NEWROUTE`, or an
    /// `NLMSG_ERROR`, returned as [`RequestError::Kernel`]. Other messages
    /// (stale replies to earlier requests, datagrams not from the kernel) are
    /// skipped; `EINTR` is retried.
    pub(crate) fn request(&mut self, request: &Request<'_>) -> Result<Reply, RequestError> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let message = request.encode(MessageHeader { seq, pid: self.port_id });
        calls::send(&self.fd, &message).map_err(RequestError::Socket)?;
        loop {
            let (len, from_kernel) = calls::recv(&self.fd, &mut self.buf).map_err(RequestError::Socket)?;
            if len > self.buf.len() {
                return Err(RequestError::Truncated { len, limit: self.buf.len() });
            }
            if !from_kernel {
                continue;
            }
            for message in parse::messages(&self.buf[..len]) {
                let message = message.map_err(RequestError::Parse)?;
                if message.header.nlmsg_seq != seq || message.header.nlmsg_pid != self.port_id {
                    continue;
                }
                return match message.body().map_err(RequestError::Parse)? {
                    Body::Ack => Ok(Reply::Ack),
                    Body::Error(errno) => Err(RequestError::Kernel(io::Error::from_raw_os_error(errno))),
                    Body::Route(entry) => Ok(Reply::Route(entry)),
                    Body::Other(kind, _) if kind == k::NLMSG_NOOP => continue,
                    Body::Done | Body::Other(..) => {
                        Err(RequestError::Parse(ParseError::new(Context::Reply, Problem::Unexpected(message.kind()))))
                    }
                };
            }
        }
    }

    /// Sends a request that expects an ACK.
    fn expect_ack(&mut self, request: &Request<'_>) -> Result<(), RequestError> {
        match self.request(request)? {
            Reply::Ack => Ok(()),
            Reply::Route(_) => {
                Err(RequestError::Parse(ParseError::new(Context::Reply, Problem::Unexpected(k::RTM_NEWROUTE))))
            }
        }
    }

    fn address(&mut self, op: Op, action: AddressAction, index: u32, address: &InterfaceAddress) -> Result<(), Error> {
        if index == 0 {
            let why = Detail::Static("the interface index cannot be 0");
            return Err(Error::invalid(op, ErrorKind::InvalidInput, why).about(address));
        }
        self.expect_ack(&Request::Address { action, index, address }).map_err(|e| e.into_error(op, address))
    }

    /// Adds `address` to the interface with index `index` (`ip addr add`).
    /// An identical address already there is [`ErrorKind::AlreadyExists`].
    pub(crate) fn add_address(&mut self, index: u32, address: &InterfaceAddress) -> Result<(), Error> {
        self.address(Op::AddAddress, AddressAction::Add, index, address)
    }

    /// Adds `address`, or updates it when it is there (`ip addr replace`).
    pub(crate) fn replace_address(&mut self, index: u32, address: &InterfaceAddress) -> Result<(), Error> {
        self.address(Op::AddAddress, AddressAction::Replace, index, address)
    }

    /// Removes `address` from the interface with index `index` (`ip addr
    /// del`). A missing address is [`ErrorKind::NotFound`] (`EADDRNOTAVAIL`).
    pub(crate) fn delete_address(&mut self, index: u32, address: &InterfaceAddress) -> Result<(), Error> {
        self.address(Op::RemoveAddress, AddressAction::Delete, index, address)
    }

    fn route(&mut self, op: Op, action: RouteAction, route: &Route, oif_index: u32) -> Result<(), Error> {
        let name = match route.next_hop() {
            NextHop::Interface(name) => Some(name),
            NextHop::Gateway(_) => None,
        };
        let named = |err: Error| match name {
            Some(name) => err.on(name),
            None => err,
        };
        if name.is_some() && oif_index == 0 {
            let why = Detail::Static("a route out of an interface needs its index, not 0");
            let err = Error::invalid(op, ErrorKind::InvalidInput, why).about(route);
            return Err(named(err));
        }
        self.expect_ack(&Request::Route { action, route, oif_index }).map_err(|e| named(e.into_error(op, route)))
    }

    /// Adds `route` to the main table (`ip route add ... proto static`), out
    /// of the interface with index `oif_index` (required for a
    /// [`NextHop::Interface`] route; for a gateway route 0 lets the kernel
    /// find the interface). A route to the same destination already there
    /// is [`ErrorKind::AlreadyExists`].
    pub(crate) fn add_route(&mut self, route: &Route, oif_index: u32) -> Result<(), Error> {
        self.route(Op::AddRoute, RouteAction::Add, route, oif_index)
    }

    /// Deletes `route` from the main table exactly as
    /// [`add_route`](NetlinkSocket::add_route) added it (see
    /// [`encode_route`](crate::codec::netlink::encode::encode_route)). A
    /// missing route is [`ErrorKind::NotFound`] (`ESRCH`).
    pub(crate) fn delete_route(&mut self, route: &Route, oif_index: u32) -> Result<(), Error> {
        self.route(Op::DeleteRoute, RouteAction::Delete, route, oif_index)
    }

    /// The route the kernel would use to reach `destination` (`ip route get
    /// fibmatch`): the matching table entry's destination prefix, gateway and
    /// outgoing interface (with its name). When the entry names no single
    /// interface (a multipath route), a plain lookup supplies the next hop the
    /// kernel picks. No route is [`ErrorKind::NetworkUnreachable`].
    ///
    /// On kernels older than 4.13 (no `RTM_F_FIB_MATCH`) the destination is
    /// the host address itself.
    pub(crate) fn get_route(&mut self, destination: IpAddr) -> Result<RouteEntry, Error> {
        let mut entry = self.lookup(destination, true)?;
        if entry.interface_index == 0 {
            let resolved = self.lookup(destination, false)?;
            entry.interface_index = resolved.interface_index;
            entry.gateway = resolved.gateway;
        }
        entry.interface = super::if_indextoname(entry.interface_index);
        Ok(entry)
    }

    fn lookup(&mut self, destination: IpAddr, fib_match: bool) -> Result<RouteEntry, Error> {
        let request = Request::GetRoute { destination, fib_match };
        match self.request(&request) {
            Ok(Reply::Route(entry)) => Ok(entry),
            Ok(Reply::Ack) => {
                Err(RequestError::Parse(ParseError::new(Context::Reply, Problem::Unexpected(k::NLMSG_ERROR)))
                    .into_error(Op::GetRoute, &destination))
            }
            Err(err) => Err(err.into_error(Op::GetRoute, &destination)),
        }
    }
}

/// The system calls, through rustix (no `unsafe` here). The socket's
/// family and protocol come from `utun_sys`; the `sockaddr_nl` is rustix's.
mod calls {
    use std::io;
    use std::os::fd::OwnedFd;

    use rustix::net::netlink::SocketAddrNetlink;
    use rustix::net::{AddressFamily, Protocol, RecvFlags, SendFlags, SocketFlags, SocketType};

    /// The kernel's netlink address: port id 0, no multicast groups.
    const KERNEL: SocketAddrNetlink = SocketAddrNetlink::new(0, 0);

    pub(super) fn socket() -> io::Result<OwnedFd> {
        let family = u16::try_from(utun_sys::AF_NETLINK).map_err(|_| io::ErrorKind::InvalidInput)?;
        let protocol = std::num::NonZeroU32::new(utun_sys::NETLINK_ROUTE).map(Protocol::from_raw);
        let fd =
            rustix::net::socket_with(AddressFamily::from_raw(family), SocketType::RAW, SocketFlags::CLOEXEC, protocol)?;
        Ok(fd)
    }

    /// Binds with port id 0: the kernel picks one.
    pub(super) fn bind(fd: &OwnedFd) -> io::Result<()> {
        Ok(rustix::net::bind(fd, &KERNEL)?)
    }

    /// The port id the kernel gave the socket.
    pub(super) fn port_id(fd: &OwnedFd) -> io::Result<u32> {
        let addr = rustix::net::getsockname(fd)?;
        let nl = SocketAddrNetlink::try_from(addr)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "getsockname did not return a sockaddr_nl"))?;
        Ok(nl.pid())
    }

    /// Sends one datagram to the kernel, retrying `EINTR`.
    pub(super) fn send(fd: &OwnedFd, message: &[u8]) -> io::Result<()> {
        let sent = super::super::retry(|| rustix::net::sendto(fd, message, SendFlags::empty(), &KERNEL))?;
        if sent == message.len() {
            Ok(())
        } else {
            Err(io::Error::new(io::ErrorKind::WriteZero, "the netlink request was not sent whole"))
        }
    }

    /// Receives one datagram into `buf`, retrying `EINTR`. Returns its real
    /// length (`MSG_TRUNC`: larger than `buf` when it did not fit) and
    /// whether the kernel (port id 0) sent it.
    pub(super) fn recv(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<(usize, bool)> {
        let (_, len, from) = super::super::retry(|| rustix::net::recvfrom(fd, &mut *buf, RecvFlags::TRUNC))?;
        let from_kernel = from.and_then(|a| SocketAddrNetlink::try_from(a).ok()).is_some_and(|a| a.pid() == 0);
        Ok((len, from_kernel))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::InterfaceName;
    use crate::net::IpNet;

    fn route() -> Route {
        let net: IpNet = "10.0.0.0/8".parse().unwrap();
        Route::through_interface(net, InterfaceName::new("tun0").unwrap())
    }

    #[test]
    fn a_parse_error_keeps_its_reason_next_to_the_route() {
        let parse = ParseError::new(Context::Attribute(k::RTA_GATEWAY), Problem::AddressLength(3));
        let err = RequestError::Parse(parse).into_error(Op::AddRoute, &route());
        assert_eq!(err.kind(), ErrorKind::MalformedReply);
        let text = err.to_string();
        assert!(text.starts_with("adding a route (10.0.0.0/8 dev tun0): "), "{text}");
        assert!(
            text.contains("while parsing the RTA_GATEWAY attribute: length 3 is not an IPv4 or IPv6 address"),
            "{text}"
        );
    }

    #[test]
    fn kernel_and_truncation_errors_name_the_route() {
        let err = RequestError::Kernel(io::Error::from_raw_os_error(libc::EEXIST)).into_error(Op::AddRoute, &route());
        assert_eq!((err.kind(), err.raw_os_error()), (ErrorKind::AlreadyExists, Some(libc::EEXIST)));
        assert!(err.to_string().starts_with("adding a route (10.0.0.0/8 dev tun0): already exists"), "{err}");
        let err = RequestError::Truncated { len: 9000, limit: 8192 }.into_error(Op::GetRoute, &route());
        assert!(err.to_string().contains("(10.0.0.0/8 dev tun0)"), "{err}");
        assert!(err.to_string().contains("a 9000-byte reply does not fit the 8192-byte buffer"), "{err}");
    }
}
