//! The `PF_ROUTE` routing sockets: the conversation itself
//! (`crate::codec::bsd::exchange`, tested against a scripted kernel on any
//! host) over two real sockets, opened together so that deleting a route
//! later needs no new descriptor:
//!
//! * a writer, shut down for reading (`shutdown(SHUT_RD)`, as route(8)'s
//!   `newroute` does for add and delete: network_cmds `route.tproj/route.c`),
//!   for `RTM_ADD` and `RTM_DELETE`, whose answer is the write's result
//!   (`route_output`, XNU `bsd/net/rtsock.c`). The write does not wait:
//!   `raw_usend` hands the message to `route_output` at once, so the send
//!   queue never fills (`sosend`'s space check always passes). Shut down, its receive queue
//!   drops every message at once (`sorflush` sets `SB_DROP`,
//!   `bsd/kern/uipc_socket.c`; `sbappendaddr` honours it,
//!   `bsd/kern/uipc_socket2.c`): nothing piles up however long it is kept.
//! * a reader for `RTM_GET`, drained before each lookup. Its reads never
//!   block (`MSG_DONTWAIT`); the wait for a reply is a `poll` bounded by the
//!   exchange's deadline. `poll` rather than `SO_RCVTIMEO`: the timeout is
//!   then the time left to the deadline at each wait, so a read interrupted
//!   by a signal, or woken by someone else's message, never starts a fresh
//!   full timeout.

use std::ffi::c_int;
use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use utun_sys::apple as sys;

use crate::codec::bsd::exchange::{Exchange, PATIENCE, Received, Transport};
use crate::error::{Error, Op};
use crate::net::{Route, RouteEntry};

/// One `PF_ROUTE` socket, as the exchange's [`Transport`].
#[derive(Debug)]
pub(crate) struct Socket {
    fd: OwnedFd,
    /// `SO_RCVBUF`: the receive queue's size (`RAWRCVQ`, XNU `raw_cb.h`).
    capacity: usize,
}

impl Socket {
    /// `socket(PF_ROUTE, SOCK_RAW, 0)`; its privilege is fixed now
    /// (`SS_PRIV`, checked by `route_output` for all but `RTM_GET`).
    fn open() -> io::Result<Socket> {
        let fd = super::socket(sys::PF_ROUTE as c_int, libc::SOCK_RAW, 0)?;
        let capacity = receive_buffer_size(&fd)?;
        Ok(Socket { fd, capacity })
    }

    /// A socket that never reads: `shutdown(SHUT_RD)`.
    fn open_write_only() -> io::Result<Socket> {
        let socket = Socket::open()?;
        // SAFETY: shutdown(2) on a descriptor this function owns.
        crate::unix::cvt(unsafe { libc::shutdown(socket.fd.as_raw_fd(), libc::SHUT_RD) })?;
        Ok(socket)
    }
}

/// `getsockopt(SO_RCVBUF)`.
fn receive_buffer_size(fd: &OwnedFd) -> io::Result<usize> {
    let mut size: c_int = 0;
    let mut len = std::mem::size_of::<c_int>() as libc::socklen_t;
    // SAFETY: `size` is a writable c_int and `len` says so, as SO_RCVBUF takes.
    crate::unix::cvt(unsafe {
        libc::getsockopt(fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_RCVBUF, (&raw mut size).cast(), &mut len)
    })?;
    Ok(usize::try_from(size).unwrap_or(0))
}

impl Transport for Socket {
    fn send(&mut self, msg: &[u8]) -> io::Result<usize> {
        // SAFETY: `msg` is readable for `msg.len()` bytes.
        let n = crate::unix::cvt(unsafe { libc::write(self.fd.as_raw_fd(), msg.as_ptr().cast(), msg.len()) })?;
        Ok(super::byte_count(n))
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Received> {
        let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
        // SAFETY: an all-zero msghdr is valid (no name, no control data).
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &raw mut iov;
        msg.msg_iovlen = 1;
        // SAFETY: `msg` points at one iovec covering `buf`, writable for
        // `buf.len()` bytes, and both outlive the call.
        let n = crate::unix::cvt(unsafe { libc::recvmsg(self.fd.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT) })?;
        Ok(Received { len: super::byte_count(n), truncated: msg.msg_flags & libc::MSG_TRUNC != 0 })
    }

    fn wait_readable(&mut self, timeout: Duration) -> io::Result<bool> {
        let mut pfd = libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // Rounded up: a wait of 0 ms would spin until the deadline.
        let ms = c_int::try_from(timeout.as_nanos().div_ceil(1_000_000)).unwrap_or(c_int::MAX);
        // SAFETY: one pollfd, valid for the call.
        let ready = crate::unix::cvt(unsafe { libc::poll(&mut pfd, 1, ms) })?;
        Ok(ready > 0)
    }

    fn now(&self) -> Instant {
        Instant::now()
    }

    fn pid(&self) -> i32 {
        // SAFETY: getpid has no preconditions.
        unsafe { libc::getpid() }
    }

    fn queue_capacity(&self) -> usize {
        self.capacity
    }
}

/// The routing table's sockets: a reader and a write-only writer.
#[derive(Debug)]
pub(crate) struct RouteSocket {
    exchange: Exchange<Socket>,
}

impl RouteSocket {
    /// Opens both sockets (the writer shut down for reading).
    pub(crate) fn open() -> Result<RouteSocket, Error> {
        let open = |socket: io::Result<Socket>| socket.map_err(|e| Error::os(Op::OpenSocket, e));
        let reader = open(Socket::open())?;
        let writer = open(Socket::open_write_only())?;
        Ok(RouteSocket { exchange: Exchange::new(reader, writer, PATIENCE) })
    }

    /// `RTM_ADD`.
    pub(crate) fn add_route(&mut self, route: &Route, oif: u32) -> Result<(), Error> {
        self.exchange.add(route, oif)
    }

    /// `RTM_GET`, then `RTM_DELETE` only if the route still goes out of
    /// `oif` (or through its gateway): else `NotFound`, with why.
    pub(crate) fn delete_route(&mut self, route: &Route, oif: u32) -> Result<(), Error> {
        self.exchange.delete(route, oif)
    }

    /// `RTM_GET` for a host address (longest-prefix match), a link-local
    /// one on the interface with index `scope` (0: none).
    pub(crate) fn get_route(&mut self, destination: IpAddr, scope: u32) -> Result<RouteEntry, Error> {
        self.exchange.get(destination, scope)
    }
}
