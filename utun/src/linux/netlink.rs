//! rtnetlink: address and route messages, and the socket that carries them.
//!
//! * [`wire`] builds the requests (`RTM_NEWADDR`/`RTM_DELADDR`,
//!   `RTM_NEWROUTE`/`RTM_DELROUTE`/`RTM_GETROUTE`) and parses the kernel's
//!   replies (`NLMSG_ERROR`, `NLMSG_DONE`, `RTM_NEWROUTE`) without a system
//!   call and without ever panicking;
//! * [`NetlinkSocket`] sends one request at a time on a `NETLINK_ROUTE`
//!   socket and waits for the reply that carries the request's sequence
//!   number and the socket's port id, and its methods (`add_address`,
//!   `add_route`, `get_route`, ...) turn kernel answers into [`crate::Error`]s.
//!
//! The protocol is documented in the kernel's
//! `Documentation/userspace-api/netlink/intro.rst` and in netlink(7) and
//! rtnetlink(7); every number comes from `utun_sys` (bindgen over the UAPI
//! headers), which `cargo xtask verify-constants` checks.

#[cfg_attr(not(test), allow(dead_code))]
pub(crate) mod wire;

#[cfg(test)]
mod tests;

use std::io;
use std::mem::size_of;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::error::{Detail, Error, ErrorKind, Op};
use crate::name::InterfaceName;
use crate::net::{InterfaceAddress, NextHop, Route, RouteEntry};

use self::wire::{AddressAction, Body, Context, MessageHeader, ParseError, Problem, RouteAction};

/// The receive buffer: 8 KiB is plenty for an ACK (which echoes the
/// request) or a single `RTM_NEWROUTE` (a few hundred bytes); a larger
/// datagram is reported as [`RequestError::Truncated`] (its real length is
/// seen through `MSG_TRUNC`), never read cut short.
const RECV_BUF_LEN: usize = 8192;

/// A request [`NetlinkSocket::request`] sends; it is encoded with the
/// socket's next sequence number and its port id.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) enum Request<'a> {
    /// Add, replace or delete an address on the interface with this index.
    Address {
        /// What to do.
        action: AddressAction,
        /// The interface index.
        index: u32,
        /// The address.
        address: &'a InterfaceAddress,
    },
    /// Add, replace or delete a route.
    Route {
        /// What to do.
        action: RouteAction,
        /// The route.
        route: &'a Route,
        /// `RTA_OIF`, or 0 for none.
        oif_index: u32,
    },
    /// Look up the route to an address.
    GetRoute {
        /// The address.
        destination: IpAddr,
        /// Ask for the matching table entry (`RTM_F_FIB_MATCH`).
        fib_match: bool,
    },
}

impl Request<'_> {
    /// The request's bytes, with this sequence number and port id.
    pub(crate) fn encode(&self, header: MessageHeader) -> Vec<u8> {
        match *self {
            Request::Address { action, index, address } => wire::encode_address(action, index, address, header),
            Request::Route { action, route, oif_index } => wire::encode_route(action, route, oif_index, header),
            Request::GetRoute { destination, fib_match } => wire::encode_get_route(destination, fib_match, header),
        }
    }
}

/// The kernel's answer to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reply {
    /// `NLMSG_ERROR` with error 0.
    Ack,
    /// `RTM_NEWROUTE` (the answer to `RTM_GETROUTE`).
    Route(RouteEntry),
}

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
    /// The crate error for a failed `op` about `what` (an address, a route).
    pub(crate) fn into_error(self, op: Op, what: &dyn std::fmt::Display) -> Error {
        match self {
            RequestError::Socket(err) | RequestError::Kernel(err) => Error::os(op, err).about(what),
            RequestError::Parse(err) => {
                Error::invalid(op, ErrorKind::MalformedReply, Detail::Text(format!("{what}: {err}").into_boxed_str()))
            }
            RequestError::Truncated { len, limit } => Error::invalid(
                op,
                ErrorKind::MalformedReply,
                Detail::Text(format!("{what}: a {len}-byte reply does not fit the {limit}-byte buffer").into()),
            ),
        }
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
        let fd = sys::socket().map_err(|e| Error::os(Op::OpenSocket, e).about("NETLINK_ROUTE"))?;
        sys::bind(&fd).map_err(|e| Error::os(Op::OpenSocket, e).about("bind NETLINK_ROUTE"))?;
        let port_id = sys::port_id(&fd).map_err(|e| Error::os(Op::OpenSocket, e).about("getsockname NETLINK_ROUTE"))?;
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
        sys::send(&self.fd, &message).map_err(RequestError::Socket)?;
        loop {
            let (len, from_kernel) = sys::recv(&self.fd, &mut self.buf).map_err(RequestError::Socket)?;
            if len > self.buf.len() {
                return Err(RequestError::Truncated { len, limit: self.buf.len() });
            }
            if !from_kernel {
                continue;
            }
            for message in wire::messages(&self.buf[..len]) {
                let message = message.map_err(RequestError::Parse)?;
                if message.header.nlmsg_seq != seq || message.header.nlmsg_pid != self.port_id {
                    continue;
                }
                return match message.body().map_err(RequestError::Parse)? {
                    Body::Ack => Ok(Reply::Ack),
                    Body::Error(errno) => Err(RequestError::Kernel(io::Error::from_raw_os_error(errno))),
                    Body::Route(entry) => Ok(Reply::Route(entry)),
                    Body::Other(kind, _) if kind == wire::k::NLMSG_NOOP => continue,
                    Body::Done | Body::Other(..) => Err(RequestError::Parse(ParseError {
                        context: Context::Reply,
                        problem: Problem::Unexpected(message.kind()),
                    })),
                };
            }
        }
    }

    /// Sends a request that expects an ACK.
    fn expect_ack(&mut self, request: &Request<'_>) -> Result<(), RequestError> {
        match self.request(request)? {
            Reply::Ack => Ok(()),
            Reply::Route(_) => Err(RequestError::Parse(ParseError {
                context: Context::Reply,
                problem: Problem::Unexpected(wire::k::RTM_NEWROUTE),
            })),
        }
    }

    fn address(&mut self, op: Op, action: AddressAction, index: u32, address: &InterfaceAddress) -> Result<(), Error> {
        if index == 0 {
            let err = Error::invalid(op, ErrorKind::InvalidInput, Detail::None);
            return Err(err.about(format_args!("{address}: the interface index cannot be 0")));
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
            let err = Error::invalid(op, ErrorKind::InvalidInput, Detail::None)
                .about(format_args!("{route}: a route out of an interface needs its index, not 0"));
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

    /// Deletes `route` from the main table (`ip route del`). A missing route
    /// is [`ErrorKind::NotFound`] (`ESRCH`).
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
        entry.interface = sys::index_to_name(entry.interface_index);
        Ok(entry)
    }

    fn lookup(&mut self, destination: IpAddr, fib_match: bool) -> Result<RouteEntry, Error> {
        let request = Request::GetRoute { destination, fib_match };
        match self.request(&request) {
            Ok(Reply::Route(entry)) => Ok(entry),
            Ok(Reply::Ack) => Err(RequestError::Parse(ParseError {
                context: Context::Reply,
                problem: Problem::Unexpected(wire::k::NLMSG_ERROR),
            })
            .into_error(Op::GetRoute, &destination)),
            Err(err) => Err(err.into_error(Op::GetRoute, &destination)),
        }
    }
}

/// The system calls, each in a small function with its own safety argument.
mod sys {
    use super::*;

    /// `sockaddr_nl` of the kernel (port id 0, no groups), also what `bind`
    /// takes to let the kernel choose the port id.
    fn kernel_address() -> utun_sys::sockaddr_nl {
        utun_sys::sockaddr_nl {
            nl_family: utun_sys::AF_NETLINK as utun_sys::__kernel_sa_family_t,
            ..utun_sys::sockaddr_nl::default()
        }
    }

    const SOCKADDR_NL_LEN: libc::socklen_t = size_of::<utun_sys::sockaddr_nl>() as libc::socklen_t;

    fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
        if ret < 0 { Err(io::Error::last_os_error()) } else { Ok(ret) }
    }

    pub(super) fn socket() -> io::Result<OwnedFd> {
        let domain = utun_sys::AF_NETLINK as libc::c_int;
        let protocol = utun_sys::NETLINK_ROUTE as libc::c_int;
        // SAFETY: socket(2) takes no pointers.
        let fd = check(unsafe { libc::socket(domain, libc::SOCK_RAW | libc::SOCK_CLOEXEC, protocol) })?;
        // SAFETY: `fd` is a descriptor socket(2) just returned; nothing else owns it.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    pub(super) fn bind(fd: &OwnedFd) -> io::Result<()> {
        let addr = kernel_address();
        let ptr = (&raw const addr).cast::<libc::sockaddr>();
        // SAFETY: `ptr` points to a live sockaddr_nl of SOCKADDR_NL_LEN bytes.
        check(unsafe { libc::bind(fd.as_raw_fd(), ptr, SOCKADDR_NL_LEN) }).map(drop)
    }

    pub(super) fn port_id(fd: &OwnedFd) -> io::Result<u32> {
        let mut addr = utun_sys::sockaddr_nl::default();
        let mut len = SOCKADDR_NL_LEN;
        let ptr = (&raw mut addr).cast::<libc::sockaddr>();
        // SAFETY: `ptr` and `len` describe a live, writable sockaddr_nl.
        check(unsafe { libc::getsockname(fd.as_raw_fd(), ptr, &mut len) })?;
        if len != SOCKADDR_NL_LEN || u32::from(addr.nl_family) != utun_sys::AF_NETLINK {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "getsockname did not return a sockaddr_nl"));
        }
        Ok(addr.nl_pid)
    }

    /// Sends one datagram to the kernel, retrying `EINTR`.
    pub(super) fn send(fd: &OwnedFd, message: &[u8]) -> io::Result<()> {
        let to = kernel_address();
        let to_ptr = (&raw const to).cast::<libc::sockaddr>();
        loop {
            // SAFETY: `message` is a live buffer of `message.len()` bytes and
            // `to_ptr` a live sockaddr_nl of SOCKADDR_NL_LEN bytes.
            let sent = unsafe {
                libc::sendto(fd.as_raw_fd(), message.as_ptr().cast(), message.len(), 0, to_ptr, SOCKADDR_NL_LEN)
            };
            if sent < 0 {
                let err = io::Error::last_os_error();
                if err.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(err);
            }
            return if usize::try_from(sent).ok() == Some(message.len()) {
                Ok(())
            } else {
                Err(io::Error::new(io::ErrorKind::WriteZero, "the netlink request was not sent whole"))
            };
        }
    }

    /// Receives one datagram into `buf`, retrying `EINTR`. Returns its real
    /// length (`MSG_TRUNC`: larger than `buf` when it did not fit) and
    /// whether the kernel (port id 0) sent it.
    pub(super) fn recv(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<(usize, bool)> {
        loop {
            let mut from = utun_sys::sockaddr_nl::default();
            let mut from_len = SOCKADDR_NL_LEN;
            let from_ptr = (&raw mut from).cast::<libc::sockaddr>();
            // SAFETY: `buf` is a live, writable buffer of `buf.len()` bytes;
            // `from_ptr` and `from_len` describe a live, writable sockaddr_nl.
            let got = unsafe {
                libc::recvfrom(
                    fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_TRUNC,
                    from_ptr,
                    &mut from_len,
                )
            };
            if got < 0 {
                let err = io::Error::last_os_error();
                if err.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(err);
            }
            let from_kernel =
                from_len == SOCKADDR_NL_LEN && u32::from(from.nl_family) == utun_sys::AF_NETLINK && from.nl_pid == 0;
            return Ok((usize::try_from(got).unwrap_or(0), from_kernel));
        }
    }

    /// The name of the interface with index `index`, if there is one.
    pub(super) fn index_to_name(index: u32) -> Option<InterfaceName> {
        if index == 0 {
            return None;
        }
        let mut name = [0 as libc::c_char; utun_sys::IFNAMSIZ as usize];
        // SAFETY: `name` is a writable buffer of IFNAMSIZ bytes, what if_indextoname(3) requires.
        let ret = unsafe { libc::if_indextoname(index, name.as_mut_ptr()) };
        if ret.is_null() {
            return None;
        }
        InterfaceName::from_c_bytes(&name.map(|c| c as u8))
    }
}
