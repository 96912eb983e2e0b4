//! The netlink conversation: one `NETLINK_ROUTE` socket, connected to the
//! kernel, that sends one request at a time ([`crate::codec::netlink`]
//! encodes it) and waits, for at most [`REPLY_TIMEOUT`], for the reply that
//! carries the request's sequence number and the socket's port id. Used by
//! [`super::ifconfig`] (links and addresses) and [`super::route`] (routes),
//! which turn the kernel's answers into [`crate::Error`]s.
//!
//! Nobody but the kernel can talk to the socket: it is `connect`ed to the
//! kernel (port id 0), and the kernel refuses a unicast from any other
//! socket to a connected one (`net/netlink/af_netlink.c`,
//! `netlink_getsockbyportid`: `ECONNREFUSED` unless the sender is the peer),
//! so no local process can fill its receive queue. Should the queue still
//! overflow, the kernel drops the message that did not fit and reports
//! `ENOBUFS` once (`netlink_overrun`; `sock_error` on the next receive): the
//! socket then reads what is queued without waiting and, when its reply is
//! not there, says that it was lost ([`RequestError::Lost`]) rather than
//! wait for a reply that will never come. rtnetlink handles a request within
//! the `sendto` that carries it (`netlink_unicast_kernel` calls
//! `rtnetlink_rcv` in the sender's context), so the reply is queued, or
//! dropped, by the time `sendto` returns.

mod wire;

#[cfg(test)]
mod tests;

use std::io;
use std::time::{Duration, Instant};

use crate::codec::netlink::parse::{self, Body, Context, ParseError, Problem};
use crate::codec::netlink::{Link, MessageHeader, Reply, Request, k};
use crate::error::{Detail, Error, ErrorKind, Op};

use wire::{Datagram, KernelSocket, Wire};

/// The receive buffer: an ACK (which echoes the request), an
/// `RTM_NEWROUTE` (a few hundred bytes) or an `RTM_NEWLINK` (a few KiB: the
/// interface's statistics and per-family settings come along) fits with room
/// to spare; a larger datagram from the kernel is reported as
/// [`RequestError::Truncated`] (its real length is seen through
/// `MSG_TRUNC`), never read cut short.
const RECV_BUF_LEN: usize = 32 * 1024;

/// How long a request waits for the kernel's reply before it gives up with
/// [`ErrorKind::TimedOut`]. The reply is normally queued before `sendto`
/// returns; this bounds the wait when it never comes.
pub(crate) const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a request failed.
#[derive(Debug)]
pub(crate) enum RequestError {
    /// A socket call (`sendto`, `poll`, `recvfrom`) failed.
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
    /// No reply came within `waited`.
    TimedOut {
        /// How long the request waited.
        waited: Duration,
    },
    /// The kernel dropped the reply (`ENOBUFS`: the receive queue was full).
    Lost,
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
            RequestError::TimedOut { waited } => Error::invalid(
                op,
                ErrorKind::TimedOut,
                Detail::Text(
                    format!("no reply within {} s; whether the request took effect is unknown", waited.as_secs_f64())
                        .into(),
                ),
            ),
            RequestError::Lost => Error::os(op, io::Error::from_raw_os_error(libc::ENOBUFS))
                .with_kind(ErrorKind::TimedOut)
                .because(Detail::Static(
                    "the kernel dropped its reply, the socket's receive queue being full; whether the request took \
                     effect is unknown",
                )),
        };
        err.about(what)
    }

    fn unexpected(kind: u16) -> RequestError {
        RequestError::Parse(ParseError::new(Context::Reply, Problem::Unexpected(kind)))
    }
}

/// A `NETLINK_ROUTE` socket, connected to the kernel, with a port id the
/// kernel picked, that sends one request at a time and waits for its reply.
#[derive(Debug)]
pub(crate) struct NetlinkSocket {
    socket: KernelSocket,
    seq: u32,
    buf: Box<[u8]>,
}

impl NetlinkSocket {
    /// `socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)`, bound
    /// with port id 0 (the kernel assigns one, read back with `getsockname`),
    /// with no multicast groups, and connected to the kernel: only the
    /// kernel's replies to this socket arrive.
    pub(crate) fn open() -> Result<NetlinkSocket, Error> {
        let socket = KernelSocket::open()?;
        Ok(NetlinkSocket { socket, seq: 0, buf: vec![0; RECV_BUF_LEN].into_boxed_slice() })
    }

    /// Sends `request` and waits for its reply (see [`exchange`]).
    pub(crate) fn request(&mut self, request: &Request<'_>) -> Result<Reply, RequestError> {
        self.seq = self.seq.wrapping_add(1);
        let header = MessageHeader { seq: self.seq, pid: self.socket.port_id() };
        let message = request.encode(header);
        exchange(&mut self.socket, &mut self.buf, &message, header, REPLY_TIMEOUT)
    }

    /// Sends a request that expects an ACK.
    pub(crate) fn expect_ack(&mut self, request: &Request<'_>) -> Result<(), RequestError> {
        match self.request(request)? {
            Reply::Ack => Ok(()),
            Reply::Route(_) => Err(RequestError::unexpected(k::RTM_NEWROUTE)),
            Reply::Link(_) => Err(RequestError::unexpected(k::RTM_NEWLINK)),
        }
    }

    /// The interface with index `index` (`RTM_GETLINK`); none is a
    /// [`RequestError::Kernel`] with `ENODEV`.
    pub(crate) fn link(&mut self, index: u32) -> Result<Link, RequestError> {
        match self.request(&Request::GetLink { index })? {
            Reply::Link(link) if link.index == index => Ok(link),
            Reply::Link(_) | Reply::Route(_) => Err(RequestError::unexpected(k::RTM_NEWLINK)),
            Reply::Ack => Err(RequestError::unexpected(k::NLMSG_ERROR)),
        }
    }
}

/// Sends `message` (whose header is `header`) on `wire` and reads replies
/// until the one whose `nlmsg_seq` and `nlmsg_pid` are the request's: an ACK,
/// an `RTM_NEWROUTE` or `RTM_NEWLINK`, or an `NLMSG_ERROR`, returned as
/// [`RequestError::Kernel`]. Other messages (stale replies to earlier
/// requests, datagrams not from the kernel) are skipped, but never past
/// `timeout` from the send: then [`RequestError::TimedOut`]. After
/// `ENOBUFS` it reads only what is already queued, and a reply not among it
/// is [`RequestError::Lost`].
fn exchange(
    wire: &mut impl Wire,
    buf: &mut [u8],
    message: &[u8],
    header: MessageHeader,
    timeout: Duration,
) -> Result<Reply, RequestError> {
    wire.send(message).map_err(RequestError::Socket)?;
    let deadline = Instant::now() + timeout;
    let mut lost = false;
    let gave_up = |lost: bool| if lost { RequestError::Lost } else { RequestError::TimedOut { waited: timeout } };
    loop {
        let left = if lost { Duration::ZERO } else { deadline.saturating_duration_since(Instant::now()) };
        let received = match wire.recv(buf, left) {
            Ok(Some(datagram)) => Some(datagram),
            Ok(None) => return Err(gave_up(lost)),
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                lost = true;
                None
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock) => None,
            Err(e) => return Err(RequestError::Socket(e)),
        };
        if let Some(Datagram { len, from_kernel }) = received {
            if let Some(reply) = match_reply(buf, len, from_kernel, header)? {
                return Ok(reply);
            }
        }
        if Instant::now() >= deadline {
            return Err(gave_up(lost));
        }
    }
}

/// The reply to the request with `header` in the `len`-byte datagram in
/// `buf`, if it is there.
fn match_reply(
    buf: &[u8],
    len: usize,
    from_kernel: bool,
    header: MessageHeader,
) -> Result<Option<Reply>, RequestError> {
    if !from_kernel {
        return Ok(None);
    }
    let Some(datagram) = buf.get(..len) else {
        return Err(RequestError::Truncated { len, limit: buf.len() });
    };
    for message in parse::messages(datagram) {
        let message = message.map_err(RequestError::Parse)?;
        if message.header.nlmsg_seq != header.seq || message.header.nlmsg_pid != header.pid {
            continue;
        }
        return match message.body().map_err(RequestError::Parse)? {
            Body::Ack => Ok(Some(Reply::Ack)),
            Body::Error(errno) => Err(RequestError::Kernel(io::Error::from_raw_os_error(errno))),
            Body::Route(entry) => Ok(Some(Reply::Route(entry))),
            Body::Link(link) => Ok(Some(Reply::Link(link))),
            Body::Other(kind, _) if kind == k::NLMSG_NOOP => continue,
            Body::Done | Body::Other(..) => Err(RequestError::unexpected(message.kind())),
        };
    }
    Ok(None)
}
