//! The netlink socket's system calls, through rustix (no `unsafe` here),
//! behind [`Wire`], the one thing the conversation ([`super::exchange`])
//! needs of a socket: send a datagram, and wait a bounded time for one. The
//! socket's family and protocol come from `utun_sys`; the `sockaddr_nl` is
//! rustix's.

use std::io;
use std::os::fd::OwnedFd;
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::net::netlink::SocketAddrNetlink;
use rustix::net::{AddressFamily, Protocol, RecvFlags, SendFlags, SocketFlags, SocketType};

use crate::error::{Error, Op};

/// The kernel's netlink address: port id 0, no multicast groups.
const KERNEL: SocketAddrNetlink = SocketAddrNetlink::new(0, 0);

/// A datagram that arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Datagram {
    /// Its real length (`MSG_TRUNC`): larger than the buffer when it did not fit.
    pub(super) len: usize,
    /// Whether the kernel (port id 0) sent it.
    pub(super) from_kernel: bool,
}

/// What the conversation needs of a socket.
pub(super) trait Wire {
    /// Sends one whole datagram.
    fn send(&mut self, message: &[u8]) -> io::Result<()>;

    /// Waits at most `timeout` (0: not at all) for a datagram and reads it
    /// into `buf`; `Ok(None)` when none came. `ENOBUFS` is an error here:
    /// the kernel dropped a message for this socket.
    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<Option<Datagram>>;
}

/// A `NETLINK_ROUTE` socket bound to a port id the kernel picked and
/// connected to the kernel.
#[derive(Debug)]
pub(super) struct KernelSocket {
    fd: OwnedFd,
    port_id: u32,
}

impl KernelSocket {
    /// Opens, binds (port id 0: the kernel picks one) and connects the
    /// socket, and reads its port id back (`getsockname`).
    pub(super) fn open() -> Result<KernelSocket, Error> {
        let failed = |what: &'static str| move |e: io::Error| Error::os(Op::OpenSocket, e).about(what);
        let fd = socket().map_err(failed("NETLINK_ROUTE"))?;
        rustix::net::bind(&fd, &KERNEL).map_err(|e| failed("bind NETLINK_ROUTE")(e.into()))?;
        rustix::net::connect(&fd, &KERNEL).map_err(|e| failed("connect NETLINK_ROUTE to the kernel")(e.into()))?;
        let port_id = port_id(&fd).map_err(failed("getsockname NETLINK_ROUTE"))?;
        Ok(KernelSocket { fd, port_id })
    }

    /// The port id the kernel gave the socket.
    pub(super) fn port_id(&self) -> u32 {
        self.port_id
    }

    /// The descriptor, for the tests.
    #[cfg(test)]
    pub(super) fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        std::os::fd::AsFd::as_fd(&self.fd)
    }
}

impl Wire for KernelSocket {
    /// `sendto` the kernel, retrying `EINTR`.
    fn send(&mut self, message: &[u8]) -> io::Result<()> {
        let sent = super::super::retry(|| rustix::net::sendto(&self.fd, message, SendFlags::empty(), &KERNEL))?;
        if sent == message.len() {
            Ok(())
        } else {
            Err(io::Error::new(io::ErrorKind::WriteZero, "the netlink request was not sent whole"))
        }
    }

    /// `poll` for at most `timeout`, then `recvfrom` with `MSG_DONTWAIT |
    /// MSG_TRUNC`. `EINTR` and a spurious wake-up come back as errors of
    /// kind `Interrupted` and `WouldBlock`, for the caller to wait again
    /// within its own deadline.
    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<Option<Datagram>> {
        let timeout = Timespec::try_from(timeout).map_err(|_| io::ErrorKind::InvalidInput)?;
        let mut fds = [PollFd::new(&self.fd, PollFlags::IN)];
        if rustix::event::poll(&mut fds, Some(&timeout))? == 0 {
            return Ok(None);
        }
        let (_, len, from) = rustix::net::recvfrom(&self.fd, buf, RecvFlags::TRUNC | RecvFlags::DONTWAIT)?;
        let from_kernel = from.and_then(|a| SocketAddrNetlink::try_from(a).ok()).is_some_and(|a| a.pid() == 0);
        Ok(Some(Datagram { len, from_kernel }))
    }
}

fn socket() -> io::Result<OwnedFd> {
    let family = u16::try_from(utun_sys::AF_NETLINK).map_err(|_| io::ErrorKind::InvalidInput)?;
    let protocol = std::num::NonZeroU32::new(utun_sys::NETLINK_ROUTE).map(Protocol::from_raw);
    let fd =
        rustix::net::socket_with(AddressFamily::from_raw(family), SocketType::RAW, SocketFlags::CLOEXEC, protocol)?;
    Ok(fd)
}

/// The port id the kernel gave the socket.
fn port_id(fd: &OwnedFd) -> io::Result<u32> {
    let addr = rustix::net::getsockname(fd)?;
    let nl = SocketAddrNetlink::try_from(addr)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "getsockname did not return a sockaddr_nl"))?;
    Ok(nl.pid())
}
