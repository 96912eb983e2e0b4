//! A scripted kernel for the routing-socket conversation: sockets that
//! behave as XNU's do, on a virtual clock, with the misfortunes of a busy
//! system on demand.
//!
//! What it models (XNU `bsd/net/rtsock.c` `route_output`, `raw_input` in
//! `bsd/net/raw_usrreq.c`, `sbappendaddr` in `bsd/kern/uipc_socket2.c`,
//! `soreceive`/`sorflush` in `bsd/kern/uipc_socket.c`):
//! * a request is processed within its `write`, whose result is the error;
//!   the kernel stamps `rtm_pid` with the caller's pid and fans the answer
//!   (the route found, or the request echoed with `rtm_errno`) out to every
//!   socket, the sender's included, before `write` returns;
//! * each socket's queue holds [`QUEUE`] bytes; what does not fit is dropped;
//!   a socket shut down for reading drops everything;
//! * `RTM_ADD` fails with `EEXIST` on the same destination and mask,
//!   `RTM_DELETE` removes whatever route has the destination and mask
//!   (`rnh_deladdr`: gateway and interface are not compared), `RTM_GET`
//!   with a netmask looks that prefix up exactly, without one the longest
//!   match; none is `ESRCH`;
//! * a read takes one message; one longer than the buffer is cut short and
//!   flagged (`MSG_TRUNC`), its rest dropped.
//!
//! And on demand: other processes' messages before a request ([`Step`],
//! [`Kernel::flood`]) or at every read ([`Kernel::trickle`]), a reply with
//! the caller's pid and seq about another destination, `EINTR` from writes,
//! reads and waits, replies that come late or are longer than usual, a fork.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::*;
use crate::codec::bsd::exchange::{Exchange, PATIENCE, Received, Transport};
use crate::codec::field::{put, u8_of};

/// The queue of a routing socket: `RAWRCVQ` (XNU `bsd/net/raw_cb.h`, a
/// kernel header the SDK does not ship; the real transport reads
/// `SO_RCVBUF`). Model data, not used by the library.
pub(super) const QUEUE: usize = 8192;
/// The pid of the process under test, and of other processes.
pub(super) const OUR_PID: i32 = 4242;
pub(super) const OTHER_PID: i32 = 999;
/// What one read costs on the virtual clock.
const READ_COST: Duration = Duration::from_micros(50);

/// What the kernel does around one request (the next write's).
#[derive(Clone, Debug, Default)]
pub(super) struct Step {
    /// Other processes' messages fanned out just before the request.
    pub(super) flood: usize,
    /// These messages, fanned out just before the request.
    pub(super) inject: Vec<Vec<u8>>,
    /// Just before the answer: one with the caller's pid and seq, of the
    /// same type, about another destination (another socket's request).
    pub(super) same_seq_elsewhere: bool,
    /// The answer comes this late (a slower kernel than XNU).
    pub(super) late: Option<Duration>,
}

/// One request as the kernel saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Request {
    pub(super) socket: usize,
    pub(super) kind: RtmKind,
    pub(super) pid: i32,
    pub(super) seq: i32,
    pub(super) destination: Option<IpNet>,
}

struct Queue {
    msgs: VecDeque<Vec<u8>>,
    bytes: usize,
    read_shut: bool,
}

/// The kernel: routes, sockets, a clock, and the script.
pub(super) struct Kernel {
    epoch: Instant,
    clock: Duration,
    /// The caller's pid ([`Kernel::fork`] changes it).
    pub(super) pid: i32,
    /// The routing table: each route with the index of its interface.
    pub(super) routes: Vec<(Route, u32)>,
    queues: Vec<Queue>,
    /// Scripts for the next requests, in order.
    pub(super) steps: VecDeque<Step>,
    /// Other processes' messages before every request.
    pub(super) flood: usize,
    /// Other processes' messages at every read (they keep sending).
    pub(super) trickle: usize,
    /// Bytes added to every `RTM_GET` answer.
    pub(super) pad_get: usize,
    /// `EINTR`s still to return from writes, reads and waits.
    pub(super) eintr: [u32; 3],
    late: Vec<(Duration, Vec<u8>)>,
    /// Every request, in order.
    pub(super) log: Vec<Request>,
    others_sent: i32,
}

/// One socket of the scripted kernel.
pub(super) struct Sock {
    kernel: Rc<RefCell<Kernel>>,
    id: usize,
}

impl Kernel {
    /// A kernel with these routes, nothing queued, the clock at 0.
    pub(super) fn new(routes: Vec<(Route, u32)>) -> Rc<RefCell<Kernel>> {
        Rc::new(RefCell::new(Kernel {
            epoch: Instant::now(),
            clock: Duration::ZERO,
            pid: OUR_PID,
            routes,
            queues: Vec::new(),
            steps: VecDeque::new(),
            flood: 0,
            trickle: 0,
            pad_get: 0,
            eintr: [0; 3],
            late: Vec::new(),
            log: Vec::new(),
            others_sent: 0,
        }))
    }

    /// A new socket (shut down for reading when `read_shut`).
    pub(super) fn open(kernel: &Rc<RefCell<Kernel>>, read_shut: bool) -> Sock {
        let mut k = kernel.borrow_mut();
        k.queues.push(Queue { msgs: VecDeque::new(), bytes: 0, read_shut });
        Sock { kernel: Rc::clone(kernel), id: k.queues.len() - 1 }
    }

    /// The time on the virtual clock.
    pub(super) fn elapsed(&self) -> Duration {
        self.clock
    }

    /// The process forks: from now on the caller is the child.
    pub(super) fn fork(&mut self) {
        self.pid += 1;
    }

    /// Bytes queued on socket `id`.
    pub(super) fn queued(&self, id: usize) -> usize {
        self.queues[id].bytes
    }

    /// Fans `msg` out to every socket that has room (`raw_input`).
    fn fan_out(&mut self, msg: &[u8]) {
        for q in &mut self.queues {
            if !q.read_shut && q.bytes + msg.len() <= QUEUE {
                q.bytes += msg.len();
                q.msgs.push_back(msg.to_vec());
            }
        }
    }

    /// `n` messages of other processes: answers to their `RTM_GET`s and
    /// interface announcements (`RTM_IFINFO`), alternately.
    pub(super) fn others(&mut self, n: usize) {
        for _ in 0..n {
            self.others_sent += 1;
            let mut msg = answer(&(via_if("172.16.0.0/12"), IFINDEX), RtmKind::Get, OTHER_PID, self.others_sent);
            if self.others_sent % 2 == 0 {
                msg[offset_of!(apple::rt_msghdr, rtm_type)] = u8_of(apple::RTM_IFINFO);
            }
            self.fan_out(&msg);
        }
    }

    /// Processes a request as `route_output` does; returns the errno.
    fn route_output(&mut self, socket: usize, msg: &[u8]) -> io::Result<usize> {
        let step = self.steps.pop_front().unwrap_or_default();
        self.others(self.flood + step.flood);
        for msg in &step.inject {
            self.fan_out(msg);
        }
        let req = parse_route_message(msg).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        let kind =
            RtmKind::from_rtm_type(req.rtm_type).ok_or_else(|| io::Error::from_raw_os_error(libc::EOPNOTSUPP))?;
        let (pid, seq, dst) = (self.pid, req.seq, req.destination_net());
        self.log.push(Request { socket, kind, pid, seq, destination: dst });
        let dst = dst.ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
        // A link-local destination is keyed with its scope (the embedded
        // index `route_output` moves into sin6_scope_id): the same fe80::/64
        // on two interfaces is two routes.
        let scope = req.destination.and_then(|d| d.scope());
        let on_scope = |r: &(Route, u32)| scope.is_none_or(|s| s == r.1);
        let same = |r: &(Route, u32)| r.0.destination() == dst && on_scope(r);
        let (errno, mut out) = match kind {
            RtmKind::Add if self.routes.iter().any(same) => (libc::EEXIST, None),
            RtmKind::Add => {
                let route = match req.gateway {
                    Some(SockAddr::Link(l)) => {
                        (Route::through_interface(dst, l.name.unwrap_or(utun4())), l.index.into())
                    }
                    Some(SockAddr::Ip(gw)) => (Route::via_gateway(dst, gw).unwrap(), IFINDEX),
                    Some(SockAddr::Scoped(gw, scope)) => {
                        (Route::via_link_local_gateway(dst, gw, utun4()).unwrap(), scope)
                    }
                    _ => return Err(io::Error::from_raw_os_error(libc::EINVAL)),
                };
                self.routes.push(route);
                (0, None)
            }
            RtmKind::Delete => match self.routes.iter().position(same) {
                Some(i) => (0, Some(answer(&self.routes.remove(i), kind, pid, seq))),
                None => (libc::ESRCH, None),
            },
            RtmKind::Get => {
                let exact = req.prefix_len.is_some();
                let found = self
                    .routes
                    .iter()
                    .filter(|r| if exact { same(r) } else { r.0.destination().contains(&dst.addr()) && on_scope(r) })
                    .max_by_key(|r| r.0.destination().prefix_len());
                match found {
                    Some(r) => (0, Some(answer(r, kind, pid, seq))),
                    None => (libc::ESRCH, None),
                }
            }
        };
        if step.same_seq_elsewhere {
            let elsewhere = (via_if("192.168.77.0/24"), IFINDEX + 7);
            self.fan_out(&answer(&elsewhere, kind, pid, seq));
        }
        // The echo: the request with rtm_pid, and rtm_errno or RTF_DONE.
        let echo = out.take().unwrap_or_else(|| {
            let mut echo = msg.to_vec();
            put(&mut echo, offset_of!(apple::rt_msghdr, rtm_pid), pid);
            put(&mut echo, offset_of!(apple::rt_msghdr, rtm_errno), errno);
            if errno == 0 {
                put(&mut echo, offset_of!(apple::rt_msghdr, rtm_flags), req.flags | RTF_DONE);
            }
            echo
        });
        let echo = if kind == RtmKind::Get && errno == 0 { padded(echo, self.pad_get) } else { echo };
        match step.late {
            Some(after) => self.late.push((self.clock + after, echo)),
            None => self.fan_out(&echo),
        }
        if errno != 0 { Err(io::Error::from_raw_os_error(errno)) } else { Ok(msg.len()) }
    }

    /// Delivers the late answers due by now.
    fn deliver_due(&mut self) {
        let now = self.clock;
        let (due, later): (Vec<_>, Vec<_>) = self.late.drain(..).partition(|(at, _)| *at <= now);
        self.late = later;
        for (_, msg) in due {
            self.fan_out(&msg);
        }
    }
}

/// The kernel's answer about route `r` (its key, gateway, netmask, flags
/// with `RTF_DONE`, `rtm_index`), of type `kind`, to `pid`'s request `seq`.
/// Link-local addresses (a destination, a gateway) carry the interface index
/// embedded, as XNU keeps them.
pub(super) fn answer(r: &(Route, u32), kind: RtmKind, pid: i32, seq: i32) -> Vec<u8> {
    let (route, index) = *r;
    let mut msg = encode_route(RtmKind::Add, &route, index, seq, pid).unwrap();
    let flags = parse_route_message(&msg).unwrap().flags | RTF_DONE;
    msg[offset_of!(apple::rt_msghdr, rtm_type)] = kind.rtm_type();
    put(&mut msg, offset_of!(apple::rt_msghdr, rtm_flags), flags);
    put(&mut msg, offset_of!(apple::rt_msghdr, rtm_index), u16::try_from(index).unwrap());
    msg
}

/// `msg` made `extra` bytes longer (`rtm_msglen` says so).
pub(super) fn padded(mut msg: Vec<u8>, extra: usize) -> Vec<u8> {
    msg.resize(msg.len() + extra, 0);
    let len = u16::try_from(msg.len()).unwrap();
    put(&mut msg, offset_of!(apple::rt_msghdr, rtm_msglen), len);
    msg
}

fn eintr(slot: &mut u32) -> io::Result<()> {
    if *slot > 0 {
        *slot -= 1;
        return Err(io::Error::from_raw_os_error(libc::EINTR));
    }
    Ok(())
}

impl Transport for Sock {
    fn send(&mut self, msg: &[u8]) -> io::Result<usize> {
        let mut k = self.kernel.borrow_mut();
        eintr(&mut k.eintr[0])?;
        k.route_output(self.id, msg)
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Received> {
        let mut k = self.kernel.borrow_mut();
        eintr(&mut k.eintr[1])?;
        k.clock += READ_COST;
        k.deliver_due();
        let trickle = k.trickle;
        k.others(trickle);
        let q = &mut k.queues[self.id];
        let msg = q.msgs.pop_front().ok_or_else(|| io::Error::from(io::ErrorKind::WouldBlock))?;
        q.bytes -= msg.len();
        let len = msg.len().min(buf.len());
        buf[..len].copy_from_slice(&msg[..len]);
        Ok(Received { len, truncated: msg.len() > buf.len() })
    }

    fn wait_readable(&mut self, timeout: Duration) -> io::Result<bool> {
        let mut k = self.kernel.borrow_mut();
        eintr(&mut k.eintr[2])?;
        if k.queues[self.id].msgs.is_empty() {
            let until = k.clock + timeout;
            let next = k.late.iter().map(|(at, _)| *at).filter(|at| *at <= until).min();
            k.clock = next.unwrap_or(until);
            k.deliver_due();
        }
        Ok(!k.queues[self.id].msgs.is_empty())
    }

    fn now(&self) -> Instant {
        let k = self.kernel.borrow();
        k.epoch + k.clock
    }

    fn pid(&self) -> i32 {
        self.kernel.borrow().pid
    }

    fn queue_capacity(&self) -> usize {
        QUEUE
    }
}

/// What the library holds: a reader and a write-only writer, with the
/// library's patience.
pub(super) type Table = Exchange<Sock>;

/// A routing table on `kernel`, opened as the backend opens it.
pub(super) fn table(kernel: &Rc<RefCell<Kernel>>) -> Table {
    Exchange::new(Kernel::open(kernel, false), Kernel::open(kernel, true), PATIENCE)
}
