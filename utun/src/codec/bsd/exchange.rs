//! The conversation with a `PF_ROUTE` socket, as logic over a [`Transport`]:
//! the real socket in `backend::macos::route`, a scripted kernel in the
//! tests. No system call here, so the whole conversation is tested on any
//! host.
//!
//! What XNU does, and what this module does about it:
//!
//! * Every routing socket receives every routing message on the system
//!   (`raw_input`, XNU `bsd/net/raw_usrreq.c`, called by `route_output` in
//!   `bsd/net/rtsock.c`), the sender's own included (`rts_attach` sets
//!   `SO_USELOOPBACK`), into a queue of `RAWRCVQ` bytes (`raw_attach`,
//!   `bsd/net/raw_cb.c`/`raw_cb.h`); when the queue is full, `sbappendaddr`
//!   (`bsd/kern/uipc_socket2.c`, through `sbconcat_mbufs`'s `sbspace` check)
//!   drops the new message without a word. A socket kept open and not read
//!   loses its replies.
//! * `route_output` returns the request's error from the `write` itself
//!   (`raw_usend` returns what `pr_output` returns), before anyone reads. So
//!   add and delete are written on a socket shut down for reading (as
//!   route(8) does: network_cmds `route.tproj/route.c`, `newroute` calls
//!   `shutdown(s, 0)` for every command but `get`), and the write's result is
//!   the answer ([`Exchange::add`], [`Exchange::delete`]). A socket shut down
//!   for reading gets `SB_DROP` (`sorflush`, `bsd/kern/uipc_socket.c`), so
//!   nothing piles up in it.
//! * Only `RTM_GET` needs the reply (route(8)'s `rtmsg` reads only for
//!   `RTM_GET`, until `rtm_seq` and `rtm_pid` match). [`Exchange::get`] first
//!   drains what is queued (stale messages that would leave no room for the
//!   reply), then writes, then reads for a bounded time, skipping every
//!   message that is not its reply; a reply lost to a full queue is asked
//!   for again, a bounded number of times, then [`ErrorKind::TimedOut`].
//! * The kernel stamps `rtm_pid` with the sender's pid (`proc_selfpid()` in
//!   `route_output`) and echoes `rtm_seq` as written. Sequence numbers come
//!   from one counter for the whole process ([`next_seq`]), so two sockets
//!   of one process never share one; the pid is read for each request (a
//!   forked child has its own); and a reply must also be an `RTM_GET` about
//!   the destination asked for.
//! * `EINTR` is retried on every write, read and wait: `sosend` returns it
//!   only from `sosendcheck`, before the message reaches `route_output`
//!   (`bsd/kern/uipc_socket.c`), so writing again sends it once.
//! * `RTM_DELETE` removes whatever route has the destination and mask
//!   (`rnh_deladdr` in `rtrequest_common_locked`, `bsd/net/route.c`: the
//!   gateway and the interface are not compared), so [`Exchange::delete`]
//!   first checks with `RTM_GET` that the route still goes where it says.

use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use super::encode::{encode_get, encode_route};
use super::parse::{header_ids, parse_route_message};
use super::route::{RT_MSGHDR_LEN, RTF_GATEWAY, RouteReply, RtmKind};
use super::sockaddr::sa_space;
use crate::error::{Detail, Error, ErrorKind, Op};
use crate::net::{IpNet, NextHop, Route, RouteEntry, is_scoped};

/// What a read returned: how many bytes were copied, and whether the
/// message was longer than the buffer (`MSG_TRUNC`: a routing socket is
/// `PR_ATOMIC`, so `soreceive` drops the rest of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Received {
    /// Bytes copied into the buffer.
    pub(crate) len: usize,
    /// The message did not fit and was cut short.
    pub(crate) truncated: bool,
}

/// A routing socket as the conversation sees it. Every call is made once:
/// [`Exchange`] retries `EINTR` ([`io::ErrorKind::Interrupted`]) itself.
pub(crate) trait Transport {
    /// Writes one message; `Err` is the kernel's verdict on it.
    fn send(&mut self, msg: &[u8]) -> io::Result<usize>;
    /// Reads one queued message without waiting;
    /// [`io::ErrorKind::WouldBlock`] when none is queued.
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Received>;
    /// Waits at most `timeout` for a message to read; `false` when none came.
    fn wait_readable(&mut self, timeout: Duration) -> io::Result<bool>;
    /// The time now (the deadlines are measured with it).
    fn now(&self) -> Instant;
    /// The calling process's pid, read now (a forked child has its own).
    fn pid(&self) -> i32;
    /// How many bytes the socket's receive queue holds at most.
    fn queue_capacity(&self) -> usize;
}

/// How long a lookup waits for its reply, and how often it asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Patience {
    /// The wait for one reply.
    pub(crate) wait: Duration,
    /// How many times the request is sent before giving up.
    pub(crate) attempts: u32,
}

/// XNU appends the reply before `write` returns (`route_output` calls
/// `raw_input`), so a reply not found at once was dropped; the wait only
/// guards against a slower kernel. At most about a second in all.
pub(crate) const PATIENCE: Patience = Patience { wait: Duration::from_millis(250), attempts: 4 };

/// The largest message with a `rt_msghdr`: the header and `RTAX_MAX`
/// sockaddrs of the largest `sa_len` (a `u8`), each rounded up.
pub(crate) const MAX_MESSAGE: usize = RT_MSGHDR_LEN + utun_sys::apple::RTAX_MAX as usize * sa_space(u8::MAX as usize);

static SEQ: AtomicI32 = AtomicI32::new(0);

/// The next sequence number of this process: one counter for every routing
/// socket it opens, never 0 (the kernel's own messages carry 0).
pub(crate) fn next_seq() -> i32 {
    loop {
        let seq = SEQ.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        if seq != 0 {
            return seq;
        }
    }
}

/// Two routing sockets held together: `writer`, shut down for reading, for
/// add and delete; `reader` for lookups. The backend opens both at once, so
/// that nothing here ever needs a new descriptor.
#[derive(Debug)]
pub(crate) struct Exchange<T> {
    reader: T,
    writer: T,
    patience: Patience,
}

impl<T: Transport> Exchange<T> {
    /// The conversation over `reader` and `writer` (see [`Exchange`]).
    pub(crate) fn new(reader: T, writer: T, patience: Patience) -> Exchange<T> {
        Exchange { reader, writer, patience }
    }

    /// `RTM_ADD`: the write's result is the answer; nothing is read.
    pub(crate) fn add(&mut self, route: &Route, oif: u32) -> Result<(), Error> {
        let msg = encode_route(RtmKind::Add, route, oif, next_seq(), self.writer.pid())?;
        send(&mut self.writer, &msg, Op::AddRoute)
    }

    /// `RTM_DELETE` of the route as it was added (out of interface `oif`, 0
    /// through a gateway), after an `RTM_GET` shows the kernel's route for
    /// that destination and mask still goes there. When it does not (it is
    /// gone, or someone else's route now has that destination), nothing is
    /// deleted: [`ErrorKind::NotFound`], with why.
    pub(crate) fn delete(&mut self, route: &Route, oif: u32) -> Result<(), Error> {
        // A link-local destination is looked up on its interface.
        let scope = u16::try_from(oif).ok().filter(|&i| i != 0 && is_scoped(route.destination().addr()));
        let reply = match self.lookup(route.destination(), scope) {
            Ok(reply) => reply,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(not_ours(Detail::Static("the kernel has no route to this destination any more")));
            }
            Err(e) => return Err(e.with_op(Op::DeleteRoute)),
        };
        still_ours(&reply, route, oif)?;
        let msg = encode_route(RtmKind::Delete, route, oif, next_seq(), self.writer.pid())?;
        send(&mut self.writer, &msg, Op::DeleteRoute)
    }

    /// `RTM_GET` for a host address (longest-prefix match), as a
    /// [`RouteEntry`]; an answer that names no interface is
    /// [`ErrorKind::NotFound`]. A link-local address is looked up on the
    /// interface with index `scope` (0: none; above `u16::MAX`, which no
    /// XNU `if_index` is, an [`ErrorKind::InvalidInput`] error).
    pub(crate) fn get(&mut self, destination: IpAddr, scope: u32) -> Result<RouteEntry, Error> {
        let scope = match scope {
            0 => None,
            index => Some(u16::try_from(index).map_err(|_| {
                let why = Detail::Text(format!("interface index {index} is not a u_short if_index").into());
                Error::invalid(Op::GetRoute, ErrorKind::InvalidInput, why)
            })?),
        };
        let entry = self.lookup(IpNet::from(destination), scope)?.to_route_entry();
        if entry.interface_index == 0 {
            let why = Detail::Static("the kernel's answer names no interface");
            return Err(Error::invalid(Op::GetRoute, ErrorKind::NotFound, why));
        }
        Ok(entry)
    }

    /// The kernel's answer to `RTM_GET` for `query` (a host address: the
    /// best match; a network: exactly that prefix), a link-local one with
    /// its `scope` embedded.
    pub(crate) fn lookup(&mut self, query: IpNet, scope: Option<u16>) -> Result<RouteReply, Error> {
        let mut buf = vec![0u8; MAX_MESSAGE];
        let mut cut_short = None;
        for _ in 0..self.patience.attempts {
            drain(&mut self.reader, &mut buf)?;
            let expect = Expect { pid: self.reader.pid(), seq: next_seq(), query };
            send(&mut self.reader, &encode_get(query, scope, expect.seq, expect.pid), Op::GetRoute)?;
            let deadline = self.reader.now() + self.patience.wait;
            match await_reply(&mut self.reader, &mut buf, &expect, deadline)? {
                Outcome::Reply(reply) => return reply.error(Op::GetRoute).map_or(Ok(reply), Err),
                // Cut short: asked again with room for all of it.
                Outcome::Larger(len) => {
                    cut_short = Some(len);
                    buf.resize(len.max(buf.len()), 0);
                }
                Outcome::Lost => cut_short = None,
            }
        }
        if let Some(len) = cut_short {
            let why = Detail::Len { len, limit: buf.len() };
            return Err(Error::invalid(Op::GetRoute, ErrorKind::MalformedReply, why));
        }
        let why = format!(
            "no reply to RTM_GET in {} attempts of {} ms each: the routing socket's queue was full and the \
             kernel dropped it",
            self.patience.attempts,
            self.patience.wait.as_millis()
        );
        Err(Error::invalid(Op::GetRoute, ErrorKind::TimedOut, Detail::Text(why.into_boxed_str())))
    }
}

/// A skipped delete: the route is not the one that was added.
fn not_ours(why: Detail) -> Error {
    Error::invalid(Op::DeleteRoute, ErrorKind::NotFound, why)
}

/// `Ok` when the kernel's route (`reply`, the answer to `RTM_GET` for the
/// route's destination) is `route` out of interface `oif`: the same
/// destination and prefix, and the same next hop (no gateway and that
/// interface, or that gateway).
pub(crate) fn still_ours(reply: &RouteReply, route: &Route, oif: u32) -> Result<(), Error> {
    let found = reply.destination_net().map(unscoped_net);
    if found != Some(unscoped_net(route.destination())) {
        let now = found.map_or_else(|| "no destination".to_string(), |n| n.to_string());
        let why = format!("the kernel's best route for this destination is now {now}: it is gone");
        return Err(not_ours(Detail::Text(why.into_boxed_str())));
    }
    let entry = reply.to_route_entry();
    let same_hop = match route.next_hop() {
        NextHop::Interface(_) => reply.flags & RTF_GATEWAY == 0 && entry.interface_index == oif,
        NextHop::Gateway(gw) => entry.gateway.map(unscoped) == Some(unscoped(gw)),
        // The same gateway on the same link: its scope, else the route's
        // interface.
        NextHop::LinkLocalGateway { gateway, .. } => {
            entry.gateway == Some(gateway.into()) && entry.gateway_scope.unwrap_or(entry.interface_index) == oif
        }
    };
    if !same_hop {
        let hop = entry.gateway.map_or_else(|| "no gateway".to_string(), |g| format!("gateway {g}"));
        let name = entry.interface.map_or_else(String::new, |n| format!(" ({n})"));
        let why = format!(
            "the route with this destination now goes out of interface {}{name} with {hop}: someone \
             else's, left alone",
            entry.interface_index
        );
        return Err(not_ours(Detail::Text(why.into_boxed_str())));
    }
    Ok(())
}

/// `ip` without anything in the second 16-bit group of a link-local
/// address ([`is_scoped`]), where XNU embeds the scope: the parser already
/// takes the kernel's out; this makes a route given as `fe80:4::/64` compare
/// equal to the kernel's `fe80::/64` on interface 4.
pub(crate) fn unscoped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) if is_scoped(ip) => {
            let mut s = v6.segments();
            s[1] = 0;
            IpAddr::from(s)
        }
        ip => ip,
    }
}

fn unscoped_net(net: IpNet) -> IpNet {
    IpNet::new(unscoped(net.addr()), net.prefix_len()).unwrap_or(net)
}

/// Writes `msg`, retrying `EINTR`. The kernel's refusal is the write's error.
fn send(t: &mut impl Transport, msg: &[u8], op: Op) -> Result<(), Error> {
    loop {
        match t.send(msg) {
            Ok(n) if n == msg.len() => return Ok(()),
            Ok(n) => {
                let why = format!("the routing socket took {n} of the message's {} bytes", msg.len());
                return Err(Error::invalid(op, ErrorKind::Other, Detail::Text(why.into_boxed_str())));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::os(op, e)),
        }
    }
}

/// Reads and drops what is queued, at most a queue's worth (others keep
/// sending: the drain must end), so the reply to come finds room.
fn drain(t: &mut impl Transport, buf: &mut [u8]) -> Result<(), Error> {
    let mut dropped = 0usize;
    while dropped < t.queue_capacity() {
        match t.recv(buf) {
            Ok(r) => dropped = dropped.saturating_add(r.len.max(1)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::os(Op::GetRoute, e)),
        }
    }
    Ok(())
}

/// What the reply to a lookup must carry.
struct Expect {
    pid: i32,
    seq: i32,
    query: IpNet,
}

enum Outcome {
    Reply(RouteReply),
    /// Our reply, cut short: it takes this many bytes.
    Larger(usize),
    /// Not there by the deadline.
    Lost,
}

/// Reads until the reply `expect` describes, skipping everything else, or
/// until `deadline` (however many others' messages keep coming).
fn await_reply(t: &mut impl Transport, buf: &mut [u8], expect: &Expect, deadline: Instant) -> Result<Outcome, Error> {
    loop {
        match t.recv(buf) {
            Ok(r) => {
                if let Some(outcome) = classify(buf.get(..r.len).unwrap_or(buf), r.truncated, expect)? {
                    return Ok(outcome);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let Some(left) = deadline.checked_duration_since(t.now()).filter(|d| !d.is_zero()) else {
                    return Ok(Outcome::Lost);
                };
                match t.wait_readable(left) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(Error::os(Op::GetRoute, e)),
                }
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::os(Op::GetRoute, e)),
        }
        if t.now() >= deadline {
            return Ok(Outcome::Lost);
        }
    }
}

/// Whether `msg` (one read) answers `expect`: `rtm_pid`, `rtm_seq`,
/// `rtm_type` `RTM_GET`, and a destination that covers the query (the
/// kernel answers with the matching route's key, or echoes the query with
/// `rtm_errno`). `None`: someone else's, skip it.
fn classify(msg: &[u8], truncated: bool, expect: &Expect) -> Result<Option<Outcome>, Error> {
    let ids = header_ids(msg);
    let ours = ids.is_some_and(|h| h.pid == expect.pid && h.seq == expect.seq && h.rtm_type == RtmKind::Get.rtm_type());
    if truncated {
        return Ok(ours.then(|| Outcome::Larger(ids.map_or(0, |h| h.msglen))));
    }
    let reply = match parse_route_message(msg) {
        Ok(reply) => reply,
        Err(e) if ours && !e.is_other_message() => return Err(e.into_error(Op::GetRoute)),
        Err(_) => return Ok(None),
    };
    let about_query = reply.destination_net().is_some_and(|d| {
        let (d, q) = (unscoped_net(d), unscoped_net(expect.query));
        d.contains(&q.network()) && d.prefix_len() <= q.prefix_len()
    });
    Ok((ours && about_query).then_some(Outcome::Reply(reply)))
}
