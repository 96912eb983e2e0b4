//! The netlink conversation: one `NETLINK_ROUTE` socket that sends one
//! request at a time ([`crate::codec::netlink`] encodes it) and waits for
//! the reply that carries the request's sequence number and the socket's
//! port id. Used by [`super::ifconfig`] (links and addresses) and
//! [`super::route`] (routes), which turn the kernel's answers into
//! [`crate::Error`]s.

use std::io;
use std::os::fd::OwnedFd;

use crate::codec::netlink::parse::{self, Body, Context, ParseError, Problem};
use crate::codec::netlink::{Link, MessageHeader, Reply, Request, k};
use crate::error::{Detail, Error, ErrorKind, Op};

/// The receive buffer: an ACK (which echoes the request), an
/// `RTM_NEWROUTE` (a few hundred bytes) or an `RTM_NEWLINK` (a few KiB: the
/// interface's statistics and per-family settings come along) fits with room
/// to spare; a larger datagram is reported as [`RequestError::Truncated`]
/// (its real length is seen through `MSG_TRUNC`), never read cut short.
const RECV_BUF_LEN: usize = 32 * 1024;

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
                    Body::Link(link) => Ok(Reply::Link(link)),
                    Body::Other(kind, _) if kind == k::NLMSG_NOOP => continue,
                    Body::Done | Body::Other(..) => {
                        Err(RequestError::Parse(ParseError::new(Context::Reply, Problem::Unexpected(message.kind()))))
                    }
                };
            }
        }
    }

    /// Sends a request that expects an ACK.
    pub(crate) fn expect_ack(&mut self, request: &Request<'_>) -> Result<(), RequestError> {
        match self.request(request)? {
            Reply::Ack => Ok(()),
            Reply::Route(_) => Err(unexpected(k::RTM_NEWROUTE)),
            Reply::Link(_) => Err(unexpected(k::RTM_NEWLINK)),
        }
    }

    /// The interface with index `index` (`RTM_GETLINK`); none is a
    /// [`RequestError::Kernel`] with `ENODEV`.
    pub(crate) fn link(&mut self, index: u32) -> Result<Link, RequestError> {
        match self.request(&Request::GetLink { index })? {
            Reply::Link(link) if link.index == index => Ok(link),
            Reply::Link(_) | Reply::Route(_) => Err(unexpected(k::RTM_NEWLINK)),
            Reply::Ack => Err(unexpected(k::NLMSG_ERROR)),
        }
    }
}

fn unexpected(kind: u16) -> RequestError {
    RequestError::Parse(ParseError::new(Context::Reply, Problem::Unexpected(kind)))
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
    use crate::net::{IpNet, Route};

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
