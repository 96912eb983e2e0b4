//! The `PF_ROUTE` routing socket: writes the messages `crate::codec::bsd::encode` builds
//! and matches the kernel's answer by `rtm_seq` and `rtm_pid`
//! (XNU bsd/net/rtsock.c: the sender sees its own messages, `SO_USELOOPBACK`
//! being on by default, alongside every other routing message on the system).

use std::ffi::c_int;
use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, OwnedFd};

use utun_sys::apple as sys;

use crate::codec::bsd::encode::{encode_get, encode_route};
use crate::codec::bsd::parse::{header_ids, parse_route_message};
use crate::codec::bsd::route::RouteReply;
use crate::codec::bsd::route::RtmKind;
use crate::error::{Error, ErrorKind, Op};
use crate::net::{IpNet, Route, RouteEntry};

/// A routing socket.
#[derive(Debug)]
pub(crate) struct RouteSocket {
    fd: OwnedFd,
    pid: i32,
    seq: i32,
}

impl RouteSocket {
    /// `socket(PF_ROUTE, SOCK_RAW, 0)`.
    pub(crate) fn open() -> Result<RouteSocket, Error> {
        let fd = super::socket(sys::PF_ROUTE as c_int, libc::SOCK_RAW, 0).map_err(|e| Error::os(Op::OpenSocket, e))?;
        // SAFETY: getpid has no preconditions.
        let pid = unsafe { libc::getpid() };
        Ok(RouteSocket { fd, pid, seq: 0 })
    }

    fn next_seq(&mut self) -> i32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Writes one routing message (`EINTR` retried).
    fn write(&self, msg: &[u8]) -> io::Result<()> {
        // SAFETY: `msg` is a readable buffer of `msg.len()` bytes.
        crate::unix::cvt_r(|| unsafe { libc::write(self.fd.as_raw_fd(), msg.as_ptr().cast(), msg.len()) }).map(drop)
    }

    /// Reads one routing message (`EINTR` retried).
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: `buf` is writable for `buf.len()` bytes.
        let n = crate::unix::cvt_r(|| unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) })?;
        Ok(super::byte_count(n))
    }

    /// Sends `msg` and returns the kernel's answer to it (the message with our
    /// pid and sequence number), skipping every other routing message.
    fn exchange(&mut self, op: Op, msg: &[u8], seq: i32) -> Result<RouteReply, Error> {
        // The kernel refuses a bad request in write() itself (EEXIST, ESRCH,
        // ENETUNREACH, EPERM...); the errno says why.
        self.write(msg).map_err(|e| Error::os(op, e))?;
        let mut buf = vec![0u8; 2048];
        loop {
            let n = self.read(&mut buf).map_err(|e| Error::os(op, e))?;
            let reply = match parse_route_message(&buf[..n]) {
                Ok(reply) => reply,
                // Someone else's message, of a kind or shape we do not read.
                Err(e)
                    if e.is_other_message()
                        || header_ids(&buf[..n]).map(|h| (h.pid, h.seq)) != Some((self.pid, seq)) =>
                {
                    continue;
                }
                Err(e) => return Err(e.into_error(op)),
            };
            if !reply.is_reply_to(seq, self.pid) {
                continue;
            }
            if let Some(err) = reply.error(op) {
                return Err(err);
            }
            return Ok(reply);
        }
    }

    fn change(&mut self, kind: RtmKind, route: &Route, oif: u32) -> Result<(), Error> {
        let seq = self.next_seq();
        let msg = encode_route(kind, route, oif, seq, self.pid)?;
        self.exchange(kind.op(), &msg, seq).map(drop)
    }

    /// `RTM_ADD`.
    pub(crate) fn add_route(&mut self, route: &Route, oif: u32) -> Result<(), Error> {
        self.change(RtmKind::Add, route, oif)
    }

    /// `RTM_DELETE`.
    pub(crate) fn delete_route(&mut self, route: &Route, oif: u32) -> Result<(), Error> {
        self.change(RtmKind::Delete, route, oif)
    }

    /// `RTM_GET` for a host address (longest-prefix match).
    pub(crate) fn get_route(&mut self, destination: IpAddr) -> Result<RouteEntry, Error> {
        let seq = self.next_seq();
        let msg = encode_get(IpNet::from(destination), seq, self.pid);
        let reply = self.exchange(Op::GetRoute, &msg, seq)?;
        let entry = reply.to_route_entry();
        if entry.interface_index == 0 {
            let why = crate::error::Detail::Static("the kernel's answer names no interface");
            return Err(Error::invalid(Op::GetRoute, ErrorKind::NotFound, why));
        }
        Ok(entry)
    }
}
