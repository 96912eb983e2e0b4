//! The crate's private parsers, encoders, routing-socket conversation and
//! Linux offload (GSO split, coalescer), reached by the fuzz targets
//! (`fuzz/`, feature `fuzz-internals`) and nothing else: hidden from the
//! documentation, not part of the API, no stability promise (it changes
//! whenever the codecs do). Each function is a thin call of the code the
//! library runs, returning plain values the targets can compare: what a
//! parser found, or the kind of its error.

use std::net::IpAddr;

use crate::error::{Error, ErrorKind};
use crate::name::InterfaceName;
use crate::net::{IpNet, Route, RouteEntry};

/// The IP packet checks of both directions (`Device::send`, `Device::recv`).
pub mod packet {
    use super::*;

    /// The check every outgoing packet goes through: its IP version (4 or
    /// 6), or the kind of the refusal.
    pub fn check_outgoing(packet: &[u8]) -> Result<u8, ErrorKind> {
        match crate::packet::check_outgoing(packet) {
            Ok(crate::packet::IpVersion::V4) => Ok(4),
            Ok(crate::packet::IpVersion::V6) => Ok(6),
            Err(e) => Err(kind_of(&e)),
        }
    }

    /// The check of a packet a `read` of a `capacity`-byte buffer returned
    /// (Linux: no family header).
    #[cfg(target_os = "linux")]
    pub fn check_incoming(packet: &[u8], capacity: usize) -> Result<(), ErrorKind> {
        crate::backend::device::check_incoming(packet, capacity).map_err(|e| kind_of(&e))
    }

    /// The packet length of a utun datagram (macOS: 4-byte family header),
    /// as the device's `recv` computes it.
    #[cfg(any(target_os = "macos", utun_apple_layouts))]
    pub fn utun_packet_len(
        received: usize,
        truncated: bool,
        head: [u8; 4],
        capacity: usize,
    ) -> Result<usize, ErrorKind> {
        crate::codec::bsd::datagram::packet_len(received, truncated, head, capacity).map_err(|e| kind_of(&e))
    }

    /// The family header values a utun datagram may carry (`AF_INET`,
    /// `AF_INET6` of the Apple headers), for seeds and oracles.
    #[cfg(any(target_os = "macos", utun_apple_layouts))]
    pub fn utun_families() -> [u32; 2] {
        [utun_sys::apple::AF_INET, utun_sys::apple::AF_INET6]
    }
}

/// Linux offload (`offload/`): the `virtio_net_hdr` codec, [`split`](offload::split)
/// of one packet the device read, and the coalescer of a send batch.
#[cfg(target_os = "linux")]
pub mod offload {
    use super::*;
    use crate::offload::coalesce::{self, CoalesceOptions, Coalescer};
    use crate::offload::vnet;

    /// `sizeof(struct virtio_net_hdr)`: what precedes each packet.
    pub const VNET_HDR_LEN: usize = vnet::VNET_HDR_LEN;

    /// Whether the headers utun was built with name UDP GSO
    /// (`VIRTIO_NET_HDR_GSO_UDP_L4`, Linux 6.2+).
    pub const UDP_GSO_KNOWN: bool = vnet::UDP_GSO_KNOWN;

    /// A `virtio_net_hdr`, field by field, and its GSO types: the library's own.
    pub use crate::offload::vnet::{Gso, VnetHeader as Header};

    /// The header at the start of `bytes`, as the device's batch receive reads it.
    pub fn parse_header(bytes: &[u8]) -> Result<Header, ErrorKind> {
        Header::parse(bytes).map_err(|e| kind_of(&e))
    }

    /// What the device's batch receive does with the packet after the
    /// header: split into `bufs`, packet `i`'s length in `sizes[i]`; how
    /// many were written. (Any header: one with UDP GSO, say, that these
    /// headers cannot name.)
    pub fn split(hdr: &Header, packet: &[u8], bufs: &mut [Vec<u8>], sizes: &mut [usize]) -> Result<usize, ErrorKind> {
        crate::offload::split::split(hdr, packet, bufs, sizes).map_err(|e| kind_of(&e))
    }

    /// What the device's batch send does with `packets` (TCP and UDP merges
    /// as asked): the records, each its header and its packet. The headers
    /// are the coalescer's bytes read back by the header's parser; except
    /// for UDP merges asked of a build whose headers cannot name UDP GSO,
    /// which are fuzzed as a 6.2+ build would make them (the header as the
    /// coalescer chose it, not written).
    pub fn coalesce(packets: &[Vec<u8>], tcp: bool, udp: bool) -> Result<Vec<(Header, Vec<u8>)>, ErrorKind> {
        let mut c = Coalescer::new();
        let mut out = vec![0u8; coalesce::capacity(packets)];
        let mut lens = vec![0usize; packets.len()];
        let options = CoalesceOptions { tcp, udp };
        let written = !udp || UDP_GSO_KNOWN;
        let n = if written {
            c.coalesce(packets, options, &mut out, &mut lens)
        } else {
            c.merge(packets, options, &mut out, &mut lens)
        }
        .map_err(|e| kind_of(&e))?;
        let mut records = Vec::with_capacity(n);
        let mut at = 0;
        for (r, &len) in lens[..n].iter().enumerate() {
            let record = out.get(at..at + len).ok_or(ErrorKind::Other)?;
            let hdr = if written {
                parse_header(record)?
            } else {
                c.headers.get(r).copied().ok_or(ErrorKind::Other)?
            };
            records.push((hdr, record.get(VNET_HDR_LEN..).unwrap_or_default().to_vec()));
            at += len;
        }
        Ok(records)
    }
}

/// The kind of an error, after its message was rendered (rendering must not
/// panic either).
fn kind_of(e: &Error) -> ErrorKind {
    let _ = e.to_string();
    e.kind()
}

/// A parse error, rendered: whether it was a well-formed message of another
/// kind (`PF_ROUTE` only), and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// A well-formed message of another kind, which a reader skips.
    pub other_message: bool,
    /// `while parsing <context>: <problem>`.
    pub text: String,
}

/// `PF_ROUTE` messages (macOS, and any host with the Apple layouts).
#[cfg(any(target_os = "macos", utun_apple_layouts))]
pub mod pf_route {
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::io;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::codec::bsd::exchange::{self, Exchange, Received, Transport};
    use crate::codec::bsd::parse::parse_route_message;
    use crate::codec::bsd::route::{RT_MSGHDR_LEN, RTM_VERSION, RouteReply, RtmKind, SockAddr};
    use crate::codec::bsd::{encode, parse, sockaddr};
    use crate::codec::field::put;
    use utun_sys::apple;

    /// A request kind.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Kind {
        /// `RTM_ADD`.
        Add,
        /// `RTM_DELETE`.
        Delete,
        /// `RTM_GET`.
        Get,
    }

    impl Kind {
        fn rtm(self) -> RtmKind {
            match self {
                Kind::Add => RtmKind::Add,
                Kind::Delete => RtmKind::Delete,
                Kind::Get => RtmKind::Get,
            }
        }

        /// `rtm_type` of this kind.
        pub fn rtm_type(self) -> u8 {
            self.rtm().rtm_type()
        }
    }

    /// One sockaddr of a parsed message.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Addr {
        /// `sa_len` 0.
        Empty,
        /// `AF_INET`/`AF_INET6`.
        Ip(IpAddr),
        /// A link-local `AF_INET6` address and its scope (taken out of the
        /// address, or `sin6_scope_id`).
        Scoped(std::net::Ipv6Addr, u32),
        /// `AF_LINK`: `sdl_index`, `sdl_type`, the name.
        Link(u16, u8, Option<InterfaceName>),
        /// Another family.
        Other(u8),
    }

    fn addr(sa: SockAddr) -> Addr {
        match sa {
            SockAddr::Empty => Addr::Empty,
            SockAddr::Ip(ip) => Addr::Ip(ip),
            SockAddr::Scoped(ip, scope) => Addr::Scoped(ip, scope),
            SockAddr::Link(l) => Addr::Link(l.index, l.if_type, l.name),
            SockAddr::Other { family } => Addr::Other(family),
        }
    }

    /// What the parser read of one routing message.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Parsed {
        /// `rtm_msglen`.
        pub msglen: usize,
        /// `rtm_type`.
        pub rtm_type: u8,
        /// `rtm_index`.
        pub index: u16,
        /// `rtm_flags`.
        pub flags: i32,
        /// `rtm_pid`.
        pub pid: i32,
        /// `rtm_seq`.
        pub seq: i32,
        /// `rtm_errno`.
        pub errno: i32,
        /// `RTA_DST`.
        pub destination: Option<Addr>,
        /// `RTA_GATEWAY`.
        pub gateway: Option<Addr>,
        /// `RTA_NETMASK` as a prefix length.
        pub prefix_len: Option<u8>,
        /// `RTA_IFP`: index and name.
        pub interface: Option<(u16, Option<InterfaceName>)>,
        /// `RTA_IFA`.
        pub interface_address: Option<Addr>,
        /// The destination with its prefix.
        pub destination_net: Option<IpNet>,
        /// The gateway address (`RTF_GATEWAY` routes).
        pub gateway_ip: Option<IpAddr>,
        /// The message as the library's `RouteEntry`.
        pub entry: RouteEntry,
    }

    fn parsed(r: RouteReply) -> Parsed {
        Parsed {
            msglen: r.msglen,
            rtm_type: r.rtm_type,
            index: r.index,
            flags: r.flags,
            pid: r.pid,
            seq: r.seq,
            errno: r.errno,
            destination: r.destination.map(addr),
            gateway: r.gateway.map(addr),
            prefix_len: r.prefix_len,
            interface: r.interface.map(|l| (l.index, l.name)),
            interface_address: r.interface_address.map(addr),
            destination_net: r.destination_net(),
            gateway_ip: r.gateway_ip(),
            entry: r.to_route_entry(),
        }
    }

    /// One routing message parsed, as the routing socket reads the kernel's
    /// answer.
    pub fn parse(buf: &[u8]) -> Result<Parsed, Refused> {
        parse_route_message(buf)
            .map(parsed)
            .map_err(|e| Refused { other_message: e.is_other_message(), text: e.to_string() })
    }

    /// The header fields read without any check: `(rtm_msglen, rtm_type,
    /// rtm_pid, rtm_seq)`.
    pub fn header_ids(buf: &[u8]) -> Option<(usize, u8, i32, i32)> {
        parse::header_ids(buf).map(|h| (h.msglen, h.rtm_type, h.pid, h.seq))
    }

    /// A request as `RouteTable::add`/`remove`/`get` encodes it.
    pub fn encode_route(kind: Kind, route: &Route, index: u32, seq: i32, pid: i32) -> Result<Vec<u8>, Error> {
        encode::encode_route(kind.rtm(), route, index, seq, pid)
    }

    /// `RTM_GET` for `destination`, a link-local one with `scope` embedded.
    pub fn encode_get(destination: IpNet, scope: Option<u16>, seq: i32, pid: i32) -> Vec<u8> {
        encode::encode_get(destination, scope, seq, pid)
    }

    /// Whether an address is link-local and so carries a scope
    /// (`IN6_IS_SCOPE_EMBED`).
    pub fn is_scoped(ip: IpAddr) -> bool {
        crate::net::is_scoped(ip)
    }

    /// `ip` without an embedded IPv6 scope (see `exchange::unscoped`).
    pub fn unscoped(ip: IpAddr) -> IpAddr {
        exchange::unscoped(ip)
    }

    /// `sa_space`: the bytes a sockaddr of `sa_len` takes in a message.
    pub fn sa_space(sa_len: usize) -> usize {
        sockaddr::sa_space(sa_len)
    }

    /// `sizeof(sdl_data)`: the longest interface name a `sockaddr_dl` of
    /// a route message carries (a longer one is left out).
    pub fn link_name_max() -> usize {
        apple::sockaddr_dl::default().sdl_data.len()
    }

    /// `sizeof(struct rt_msghdr)`.
    pub const HEADER_LEN: usize = RT_MSGHDR_LEN;

    /// The families a sockaddr of a routing message has: `AF_INET`,
    /// `AF_INET6`, `AF_LINK` (for seeds).
    pub fn families() -> [u8; 3] {
        use crate::codec::bsd::request::{AF_INET, AF_INET6, AF_LINK};
        [AF_INET, AF_INET6, AF_LINK]
    }

    /// A well-formed `rt_msghdr` of type `RTM_GET` naming the sockaddrs
    /// `addrs` (`RTA_*` bits), followed by `body` (the sockaddrs' bytes, as
    /// the fuzzer chose them), `rtm_msglen` covering it all.
    pub fn message(addrs: u8, body: &[u8]) -> Vec<u8> {
        let mut msg = encode::encode_get(IpNet::from(IpAddr::from([0u8; 4])), None, 1, 1);
        msg.truncate(RT_MSGHDR_LEN);
        msg.extend_from_slice(body);
        let len = u16::try_from(msg.len()).unwrap_or(u16::MAX);
        msg.truncate(usize::from(len));
        put(&mut msg, std::mem::offset_of!(apple::rt_msghdr, rtm_msglen), len);
        put(&mut msg, std::mem::offset_of!(apple::rt_msghdr, rtm_addrs), i32::from(addrs));
        debug_assert_eq!(msg.get(std::mem::offset_of!(apple::rt_msghdr, rtm_version)), Some(&RTM_VERSION));
        msg
    }

    // -------------------------------------------------- the conversation

    /// What the scripted kernel saw: one request written.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Seen {
        /// `rtm_type`.
        pub rtm_type: u8,
        /// `rtm_seq`.
        pub seq: i32,
        /// `rtm_pid`.
        pub pid: i32,
        /// Its destination.
        pub destination: Option<IpNet>,
        /// The write succeeded.
        pub accepted: bool,
    }

    /// The pid of the process under test (and of the others).
    pub const OUR_PID: i32 = 4242;
    const OTHER_PID: i32 = 999;
    /// The interface of the routes the scripted kernel answers with.
    pub const IFINDEX: u32 = 7;
    const READ_COST: Duration = Duration::from_micros(50);

    /// A routing socket's kernel, scripted by the fuzzer's bytes: each
    /// decision (the write's verdict, what is queued around the answer, a
    /// read's or a wait's `EINTR`, how long a wait lasts) takes the next
    /// byte; when the bytes run out, the kernel does nothing more (no
    /// answers), so every conversation ends.
    pub struct Script {
        bytes: VecDeque<u8>,
        epoch: Instant,
        clock: Duration,
        queue: VecDeque<(Vec<u8>, bool)>,
        late: Vec<(Duration, Vec<u8>)>,
        /// Every request written, in order.
        pub seen: Vec<Seen>,
        /// The genuine answers the kernel queued: `(rtm_seq, message)`.
        pub genuine: Vec<(i32, Vec<u8>)>,
        /// The route the kernel's answers describe, when the fuzzer chose
        /// it to be the one asked about (so a delete may go ahead).
        pub answers_with: Option<Route>,
        /// Calls made on the transport (reads, writes, waits).
        pub calls: usize,
    }

    impl Script {
        fn byte(&mut self) -> u8 {
            self.bytes.pop_front().unwrap_or(0)
        }

        fn answer_route(&mut self, query: IpNet) -> Route {
            // The kernel's route for the query: a prefix covering it (the
            // fuzzer chooses how much shorter), through an interface or a
            // gateway, or `answers_with` when set and it covers the query.
            if let Some(r) = self.answers_with.filter(|r| r.destination().contains(&query.network())) {
                return r;
            }
            let shorter = self.byte() % (query.prefix_len().saturating_add(1));
            let dest = IpNet::new(query.addr(), query.prefix_len() - shorter).unwrap_or(query).trunc();
            match self.byte() % 2 {
                0 => Route::through_interface(dest, InterfaceName::new("utun7").expect("a valid name")),
                _ => Route::via_gateway(dest, query.addr()).unwrap_or_else(|_| {
                    Route::through_interface(dest, InterfaceName::new("utun7").expect("a valid name"))
                }),
            }
        }

        fn reply_to(&mut self, route: &Route, rtm_type: u8, pid: i32, seq: i32) -> Vec<u8> {
            let mut msg = encode::encode_route(RtmKind::Add, route, IFINDEX, seq, pid).unwrap_or_default();
            if msg.len() >= RT_MSGHDR_LEN {
                msg[std::mem::offset_of!(apple::rt_msghdr, rtm_type)] = rtm_type;
                put(&mut msg, std::mem::offset_of!(apple::rt_msghdr, rtm_index), u16::try_from(IFINDEX).unwrap_or(0));
            }
            msg
        }

        /// `route_output`: the request's fate, and what is queued around it.
        fn write(&mut self, msg: &[u8]) -> io::Result<usize> {
            let verdict = self.byte();
            let req = parse_route_message(msg).ok();
            let (rtm_type, seq) = req.map_or((0, 0), |r| (r.rtm_type, r.seq));
            let destination = req.and_then(|r| r.destination_net());
            let accepted = verdict % 8 != 1 && verdict % 8 != 2;
            self.seen.push(Seen { rtm_type, seq, pid: OUR_PID, destination, accepted });
            match verdict % 8 {
                1 => return Err(io::Error::from_raw_os_error(libc::EINTR)),
                2 => return Err(io::Error::from_raw_os_error(libc::ESRCH)),
                3 => return Ok(msg.len().saturating_sub(1)),
                _ => {}
            }
            if rtm_type != RtmKind::Get.rtm_type() {
                return Ok(msg.len());
            }
            let Some(query) = destination else { return Ok(msg.len()) };
            // Up to four things around the answer, each chosen by a byte.
            for _ in 0..4 {
                let what = self.byte();
                let other = self.answer_route(query);
                let m = match what % 12 {
                    0 => break,
                    // Another process's answer, about the same destination.
                    1 => self.reply_to(&other, RtmKind::Get.rtm_type(), OTHER_PID, seq),
                    // An answer to our previous or next request.
                    2 => self.reply_to(&other, RtmKind::Get.rtm_type(), OUR_PID, seq.wrapping_sub(1)),
                    3 => self.reply_to(&other, RtmKind::Get.rtm_type(), OUR_PID, seq.wrapping_add(1)),
                    // Our pid and seq, another type.
                    4 => self.reply_to(&other, RtmKind::Add.rtm_type(), OUR_PID, seq),
                    // Our pid and seq, a destination that does not cover the query.
                    5 => {
                        let elsewhere = disjoint(query);
                        let r = Route::through_interface(elsewhere, InterfaceName::new("utun9").expect("valid"));
                        self.reply_to(&r, RtmKind::Get.rtm_type(), OUR_PID, seq)
                    }
                    // Raw bytes of the script, of a length it chooses.
                    6 => {
                        let n = usize::from(self.byte());
                        (0..n).map(|_| self.byte()).collect()
                    }
                    // An interface announcement.
                    7 => {
                        let mut m = self.reply_to(&other, RtmKind::Get.rtm_type(), OTHER_PID, 0);
                        m[std::mem::offset_of!(apple::rt_msghdr, rtm_type)] =
                            crate::codec::field::u8_of(apple::RTM_IFINFO);
                        m
                    }
                    // Our reply, its header damaged at a chosen byte.
                    8 => {
                        let mut m = self.reply_to(&other, RtmKind::Get.rtm_type(), OUR_PID, seq);
                        let at = usize::from(self.byte()) % m.len().max(1);
                        let x = self.byte();
                        if let Some(b) = m.get_mut(at) {
                            *b ^= x.max(1);
                        }
                        // Still the kernel's answer to this request, damaged:
                        // a reader may take it when it parses as one.
                        self.genuine.push((seq, m.clone()));
                        m
                    }
                    // Our reply cut short (MSG_TRUNC).
                    9 => {
                        let m = self.reply_to(&other, RtmKind::Get.rtm_type(), OUR_PID, seq);
                        self.queue.push_back((m, true));
                        continue;
                    }
                    // Our reply with an errno.
                    10 => {
                        let mut m = msg.to_vec();
                        put(&mut m, std::mem::offset_of!(apple::rt_msghdr, rtm_pid), OUR_PID);
                        put(&mut m, std::mem::offset_of!(apple::rt_msghdr, rtm_errno), libc::ESRCH);
                        self.genuine.push((seq, m.clone()));
                        m
                    }
                    // The genuine answer, now or late.
                    _ => {
                        let route = self.answer_route(query);
                        let m = self.reply_to(&route, RtmKind::Get.rtm_type(), OUR_PID, seq);
                        self.genuine.push((seq, m.clone()));
                        let delay = self.byte();
                        if delay % 4 == 0 {
                            self.late.push((self.clock + Duration::from_millis(u64::from(delay)), m));
                            continue;
                        }
                        m
                    }
                };
                self.queue.push_back((m, false));
            }
            Ok(msg.len())
        }

        fn deliver_due(&mut self) {
            let now = self.clock;
            let (due, later): (Vec<_>, Vec<_>) = self.late.drain(..).partition(|(at, _)| *at <= now);
            self.late = later;
            self.queue.extend(due.into_iter().map(|(_, m)| (m, false)));
        }
    }

    /// A prefix of `query`'s family that does not overlap it.
    fn disjoint(query: IpNet) -> IpNet {
        let flipped = match query.addr() {
            IpAddr::V4(a) => IpAddr::from(std::net::Ipv4Addr::from(u32::from(a) ^ 0x8000_0000)),
            IpAddr::V6(a) => IpAddr::from(std::net::Ipv6Addr::from(u128::from(a) ^ (1 << 127))),
        };
        IpNet::new(flipped, query.prefix_len().max(1)).unwrap_or(query).trunc()
    }

    /// One socket of the scripted kernel (both of an exchange share it).
    pub struct Sock<'a>(&'a RefCell<Script>);

    impl Transport for Sock<'_> {
        fn send(&mut self, msg: &[u8]) -> io::Result<usize> {
            let mut s = self.0.borrow_mut();
            s.calls += 1;
            s.write(msg)
        }

        fn recv(&mut self, buf: &mut [u8]) -> io::Result<Received> {
            let mut s = self.0.borrow_mut();
            s.calls += 1;
            s.clock += READ_COST;
            s.deliver_due();
            if s.bytes.front().is_some_and(|b| *b == 0xEE) {
                s.byte();
                return Err(io::Error::from_raw_os_error(libc::EINTR));
            }
            let (msg, cut) = s.queue.pop_front().ok_or_else(|| io::Error::from(io::ErrorKind::WouldBlock))?;
            let len = msg.len().min(buf.len());
            buf[..len].copy_from_slice(&msg[..len]);
            Ok(Received { len, truncated: cut || msg.len() > buf.len() })
        }

        fn wait_readable(&mut self, timeout: Duration) -> io::Result<bool> {
            let mut s = self.0.borrow_mut();
            s.calls += 1;
            if s.bytes.front().is_some_and(|b| *b == 0xEF) {
                s.byte();
                return Err(io::Error::from_raw_os_error(libc::EINTR));
            }
            if s.queue.is_empty() {
                let next = s.late.iter().map(|(at, _)| *at).min();
                let until = s.clock + timeout;
                s.clock = next.filter(|at| *at <= until).unwrap_or(until);
                s.deliver_due();
            }
            Ok(!s.queue.is_empty())
        }

        fn now(&self) -> Instant {
            let s = self.0.borrow();
            s.epoch + s.clock
        }

        fn pid(&self) -> i32 {
            OUR_PID
        }

        fn queue_capacity(&self) -> usize {
            8192
        }
    }

    /// A conversation with a scripted kernel: the library's `Exchange` over
    /// [`Sock`]s of one [`Script`].
    pub struct Conversation {
        script: RefCell<Script>,
    }

    impl Conversation {
        /// A kernel scripted by `bytes`; its answers describe `answers_with`
        /// when set (and when it covers the query).
        pub fn new(bytes: &[u8], answers_with: Option<Route>) -> Conversation {
            Conversation {
                script: RefCell::new(Script {
                    bytes: bytes.iter().copied().collect(),
                    epoch: Instant::now(),
                    clock: Duration::ZERO,
                    queue: VecDeque::new(),
                    late: Vec::new(),
                    seen: Vec::new(),
                    genuine: Vec::new(),
                    answers_with,
                    calls: 0,
                }),
            }
        }

        fn exchange(&self) -> Exchange<Sock<'_>> {
            Exchange::new(Sock(&self.script), Sock(&self.script), exchange::PATIENCE)
        }

        /// `RouteTable::add`'s conversation.
        pub fn add(&self, route: &Route, oif: u32) -> Result<(), Error> {
            self.exchange().add(route, oif)
        }

        /// `RouteTable::remove`'s conversation.
        pub fn delete(&self, route: &Route, oif: u32) -> Result<(), Error> {
            self.exchange().delete(route, oif)
        }

        /// `RouteTable::get`'s conversation.
        pub fn get(&self, destination: IpAddr, scope: u32) -> Result<RouteEntry, Error> {
            self.exchange().get(destination, scope)
        }

        /// The lookup under `get` and `delete`: the reply it took.
        pub fn lookup(&self, query: IpNet, scope: Option<u16>) -> Result<Parsed, Error> {
            self.exchange().lookup(query, scope).map(parsed)
        }

        /// What the kernel saw and did.
        pub fn script(&self) -> std::cell::Ref<'_, Script> {
            self.script.borrow()
        }
    }
}

/// rtnetlink (Linux).
#[cfg(target_os = "linux")]
pub mod rtnetlink {
    use super::*;
    use crate::codec::netlink::parse::{Body, messages};
    use crate::codec::netlink::{AddressAction, MessageHeader, RouteAction, encode, link};

    /// What one message of a receive buffer said.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum Said {
        /// `NLMSG_ERROR` 0.
        Ack,
        /// `NLMSG_ERROR` with this errno (positive).
        Error(i32),
        /// `NLMSG_DONE`.
        Done,
        /// `RTM_NEWROUTE`.
        Route(RouteEntry),
        /// `RTM_NEWLINK`: index, name, MTU, flags.
        Link(u32, Option<InterfaceName>, Option<u32>, u32),
        /// Another type, with its payload's length.
        Other(u16, usize),
    }

    /// One message's framing: `(nlmsg_len, nlmsg_type, nlmsg_flags,
    /// nlmsg_seq, nlmsg_pid)` and the payload's length.
    pub type Frame = ((u32, u16, u16, u32, u32), usize);

    /// One message of a buffer: its framing and what its body said, or the
    /// framing error that ended the buffer.
    pub type Read = Result<(Frame, Result<Said, Refused>), Refused>;

    /// Every message of `buf` as the netlink socket reads a reply or a dump:
    /// each framing error or body error rendered; the iterator's own end
    /// after the first framing error.
    pub fn parse_all(buf: &[u8]) -> Vec<Read> {
        let refused =
            |e: crate::codec::netlink::parse::ParseError| Refused { other_message: false, text: e.to_string() };
        messages(buf)
            .map(|m| {
                let m = m.map_err(refused)?;
                let h = m.header;
                let frame = ((h.nlmsg_len, h.nlmsg_type, h.nlmsg_flags, h.nlmsg_seq, h.nlmsg_pid), m.payload.len());
                let said = m
                    .body()
                    .map(|b| match b {
                        Body::Ack => Said::Ack,
                        Body::Error(e) => Said::Error(e),
                        Body::Done => Said::Done,
                        Body::Route(r) => Said::Route(r),
                        Body::Link(l) => Said::Link(l.index, l.name, l.mtu, l.flags),
                        Body::Other(k, p) => Said::Other(k, p.len()),
                    })
                    .map_err(refused);
                Ok((frame, said))
            })
            .collect()
    }

    /// An address request kind.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Action {
        /// Add (`NLM_F_EXCL`).
        Add,
        /// Replace (`NLM_F_REPLACE`): the shape of a lookup's answer, for routes.
        Replace,
        /// Delete.
        Delete,
    }

    /// `RTM_NEWROUTE`/`RTM_DELROUTE` as `RouteTable` encodes it.
    pub fn encode_route(action: Action, route: &Route, oif: u32, seq: u32, pid: u32) -> Vec<u8> {
        let action = match action {
            Action::Add => RouteAction::Add,
            Action::Replace => RouteAction::Replace,
            Action::Delete => RouteAction::Delete,
        };
        encode::encode_route(action, route, oif, MessageHeader { seq, pid })
    }

    /// `RTM_NEWADDR`/`RTM_DELADDR` as `Interface` encodes it.
    pub fn encode_address(
        action: Action,
        index: u32,
        address: &crate::InterfaceAddress,
        seq: u32,
        pid: u32,
    ) -> Vec<u8> {
        let action = match action {
            Action::Add => AddressAction::Add,
            Action::Replace => AddressAction::Replace,
            Action::Delete => AddressAction::Delete,
        };
        encode::encode_address(action, index, address, MessageHeader { seq, pid })
    }

    /// `RTM_GETROUTE`, on interface `oif` unless it is 0.
    pub fn encode_get_route(destination: IpAddr, oif: u32, fib_match: bool, seq: u32, pid: u32) -> Vec<u8> {
        encode::encode_get_route(destination, oif, fib_match, MessageHeader { seq, pid })
    }

    /// `RTM_GETLINK`.
    pub fn encode_get_link(index: u32, seq: u32, pid: u32) -> Vec<u8> {
        link::encode_get_link(index, MessageHeader { seq, pid })
    }

    /// `RTM_NEWLINK` setting an MTU and flags.
    pub fn encode_set_link(index: u32, mtu: Option<u32>, flags: u32, change: u32, seq: u32, pid: u32) -> Vec<u8> {
        link::encode_set_link(index, mtu, flags, change, MessageHeader { seq, pid })
    }

    /// `NLMSG_HDRLEN`: where a message's payload starts.
    pub const HEADER_LEN: usize = crate::codec::netlink::NLMSG_HDRLEN;

    /// `NLMSG_ALIGN`.
    pub fn align(len: usize) -> usize {
        crate::codec::netlink::nlmsg_align(len)
    }

    /// An address request read back: `ifa_prefixlen`, `ifa_index` and its
    /// attributes, or `None` when it is not framed as one.
    pub fn address_request(msg: &[u8]) -> Option<(u8, u32, Attributes)> {
        let payload = msg.get(HEADER_LEN..)?;
        use crate::codec::field::get;
        use std::mem::offset_of;
        let prefix = get::<u8>(payload, offset_of!(utun_sys::ifaddrmsg, ifa_prefixlen))?;
        let index = get::<u32>(payload, offset_of!(utun_sys::ifaddrmsg, ifa_index))?;
        let attrs = attributes(payload, size_of::<utun_sys::ifaddrmsg>()).ok()?;
        Some((prefix, index, attrs))
    }

    /// Whether an interface index fits `ifi_index` (a C `int`).
    pub fn index_fits(index: u32) -> bool {
        link::index_fits(index)
    }

    /// A message's attributes: `(rta_type, payload)` each.
    pub type Attributes = Vec<(u16, Vec<u8>)>;

    /// The attributes after a family header of `family_len` bytes of a
    /// payload, or the framing error.
    pub fn attributes(payload: &[u8], family_len: usize) -> Result<Attributes, Refused> {
        let from = crate::codec::netlink::nlmsg_align(family_len);
        crate::codec::netlink::parse::attributes(payload.get(from..).unwrap_or_default())
            .map(|a| a.map(|(k, b)| (k, b.to_vec())))
            .collect::<Result<_, _>>()
            .map_err(|e| Refused { other_message: false, text: e.to_string() })
    }
}
