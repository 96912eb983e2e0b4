//! Tests of the conversation: its errors; its waiting rules against a
//! scripted [`Wire`] (foreign datagrams, stale replies, `ENOBUFS`); and
//! against the kernel, through a real socket that only reads (`RTM_GETLINK`
//! of `lo`, an `NLMSG_NOOP` no one answers): no interface is made and no
//! packet sent, so they need neither root nor a namespace of their own.
//! The end-to-end suite floods the library's socket from another one
//! (`tests/tests/e2e/flood.rs`, in a namespace of its own).

use std::collections::VecDeque;
use std::io;
use std::time::{Duration, Instant};

use super::wire::{Datagram, Wire};
use super::*;
use crate::codec::netlink::NLMSG_HDRLEN;
use crate::codec::netlink::encode::{nlmsgerr_bytes, nlmsghdr_bytes};
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

#[test]
fn a_timeout_and_a_lost_reply_are_timed_out_errors_that_say_the_outcome_is_unknown() {
    let err = RequestError::TimedOut { waited: Duration::from_secs(5) }.into_error(Op::DeleteRoute, &route());
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    assert!(err.to_string().contains("no reply within 5 s; whether the request took effect is unknown"), "{err}");
    let err = RequestError::Lost.into_error(Op::DeleteRoute, &route());
    assert_eq!((err.kind(), err.raw_os_error()), (ErrorKind::TimedOut, Some(libc::ENOBUFS)));
    assert!(err.to_string().contains("the kernel dropped its reply"), "{err}");
}

const HEADER: MessageHeader = MessageHeader { seq: 7, pid: 4242 };

/// An ACK (`NLMSG_ERROR` with error 0) for the request with `seq` and `pid`.
fn ack(seq: u32, pid: u32) -> Vec<u8> {
    let echoed = utun_sys::nlmsghdr { nlmsg_len: 0, nlmsg_type: 0, nlmsg_flags: 0, nlmsg_seq: seq, nlmsg_pid: pid };
    let body = nlmsgerr_bytes(&utun_sys::nlmsgerr { error: 0, msg: echoed });
    let len = NLMSG_HDRLEN + body.len();
    let h = utun_sys::nlmsghdr {
        nlmsg_len: u32::try_from(len).unwrap(),
        nlmsg_type: k::NLMSG_ERROR,
        nlmsg_flags: 0,
        nlmsg_seq: seq,
        nlmsg_pid: pid,
    };
    let mut out = nlmsghdr_bytes(&h).to_vec();
    out.resize(NLMSG_HDRLEN, 0);
    out.extend_from_slice(&body);
    out
}

/// What a scripted wire does on a receive.
enum Step {
    /// A datagram, from the kernel or not.
    Datagram(Vec<u8>, bool),
    /// An error with this errno.
    Errno(i32),
}

/// A wire that plays `script`, then `forever` (or nothing: the wait ends
/// empty-handed at once) on every further receive.
struct Scripted {
    script: VecDeque<Step>,
    forever: Option<(Vec<u8>, bool)>,
    receives: usize,
}

impl Scripted {
    fn new(script: Vec<Step>, forever: Option<(Vec<u8>, bool)>) -> Scripted {
        Scripted { script: script.into(), forever, receives: 0 }
    }
}

impl Wire for Scripted {
    fn send(&mut self, _: &[u8]) -> io::Result<()> {
        Ok(())
    }

    fn recv(&mut self, buf: &mut [u8], _: Duration) -> io::Result<Option<Datagram>> {
        self.receives += 1;
        let (bytes, from_kernel) = match self.script.pop_front() {
            Some(Step::Errno(errno)) => return Err(io::Error::from_raw_os_error(errno)),
            Some(Step::Datagram(bytes, from_kernel)) => (bytes, from_kernel),
            None => match &self.forever {
                Some((bytes, from_kernel)) => (bytes.clone(), *from_kernel),
                None => return Ok(None),
            },
        };
        buf[..bytes.len()].copy_from_slice(&bytes);
        Ok(Some(Datagram { len: bytes.len(), from_kernel }))
    }
}

fn talk(wire: &mut Scripted, timeout: Duration) -> (Result<Reply, RequestError>, Duration) {
    let mut buf = vec![0; RECV_BUF_LEN];
    let start = Instant::now();
    let result = exchange(wire, &mut buf, b"request", HEADER, timeout);
    (result, start.elapsed())
}

#[test]
fn the_reply_is_found_behind_foreign_datagrams_and_stale_replies() {
    let forged = ack(HEADER.seq, HEADER.pid);
    let script = vec![
        Step::Datagram(forged.clone(), false),
        Step::Errno(libc::EINTR),
        Step::Datagram(ack(HEADER.seq - 1, HEADER.pid), true),
        Step::Datagram(ack(HEADER.seq, HEADER.pid), true),
    ];
    let (result, _) = talk(&mut Scripted::new(script, None), Duration::from_secs(5));
    assert!(matches!(result, Ok(Reply::Ack)), "{result:?}");
}

#[test]
fn an_endless_flood_of_foreign_or_stale_messages_ends_at_the_deadline() {
    let timeout = Duration::from_millis(150);
    // A forged "ACK" with the right sequence number, not from the kernel.
    for forever in [(ack(HEADER.seq, HEADER.pid), false), (ack(HEADER.seq + 1, HEADER.pid), true)] {
        let mut wire = Scripted::new(Vec::new(), Some(forever));
        let (result, took) = talk(&mut wire, timeout);
        assert!(matches!(result, Err(RequestError::TimedOut { waited }) if waited == timeout), "{result:?}");
        assert!(took >= timeout && took < timeout + Duration::from_secs(1), "took {took:?}");
        assert!(wire.receives > 1, "the flood was read");
    }
}

#[test]
fn after_enobufs_a_reply_not_queued_is_lost_at_once_and_one_queued_is_found() {
    let timeout = Duration::from_secs(30);
    let stale = Step::Datagram(ack(HEADER.seq - 1, HEADER.pid), true);
    let (result, took) = talk(&mut Scripted::new(vec![Step::Errno(libc::ENOBUFS), stale], None), timeout);
    assert!(matches!(result, Err(RequestError::Lost)), "{result:?}");
    assert!(took < Duration::from_secs(1), "waited {took:?} for a reply that was dropped");
    let script = vec![Step::Errno(libc::ENOBUFS), Step::Datagram(ack(HEADER.seq, HEADER.pid), true)];
    let (result, _) = talk(&mut Scripted::new(script, None), timeout);
    assert!(matches!(result, Ok(Reply::Ack)), "{result:?}");
}

#[test]
fn other_socket_errors_end_the_request() {
    let (result, _) = talk(&mut Scripted::new(vec![Step::Errno(libc::EBADF)], None), Duration::from_secs(5));
    assert!(matches!(&result, Err(RequestError::Socket(e)) if e.raw_os_error() == Some(libc::EBADF)), "{result:?}");
}

fn lo_index() -> u32 {
    crate::unix::if_nametoindex(InterfaceName::new("lo").unwrap()).expect("lo exists in every namespace")
}

#[test]
fn the_socket_is_connected_to_the_kernel() {
    let socket = NetlinkSocket::open().unwrap();
    let peer = rustix::net::getpeername(socket.socket.fd()).expect("a connected socket has a peer");
    let peer = rustix::net::netlink::SocketAddrNetlink::try_from(peer.expect("an address")).unwrap();
    assert_eq!((peer.pid(), peer.groups()), (0, 0), "the peer is the kernel");
}

#[test]
fn a_request_the_kernel_does_not_answer_times_out_within_its_bound() {
    let mut socket = NetlinkSocket::open().unwrap();
    // NLMSG_NOOP without NLM_F_ACK: the kernel skips control messages and
    // acknowledges only on request (net/netlink/af_netlink.c, netlink_rcv_skb).
    let header = MessageHeader { seq: 1, pid: socket.socket.port_id() };
    let noop = utun_sys::nlmsghdr {
        nlmsg_len: u32::try_from(NLMSG_HDRLEN).unwrap(),
        nlmsg_type: k::NLMSG_NOOP,
        nlmsg_flags: k::NLM_F_REQUEST,
        nlmsg_seq: header.seq,
        nlmsg_pid: header.pid,
    };
    let timeout = Duration::from_millis(200);
    let start = Instant::now();
    let result = exchange(&mut socket.socket, &mut socket.buf, &nlmsghdr_bytes(&noop), header, timeout);
    let took = start.elapsed();
    assert!(matches!(result, Err(RequestError::TimedOut { .. })), "{result:?}");
    assert!(took >= timeout && took < timeout + Duration::from_secs(1), "took {took:?}");
    // The socket goes on working.
    assert_eq!(socket.link(lo_index()).unwrap().name, InterfaceName::new("lo").ok());
}

#[test]
fn a_reply_the_kernel_dropped_is_reported_lost_at_once_and_the_socket_recovers() {
    let mut socket = NetlinkSocket::open().unwrap();
    let lo = lo_index();
    // The smallest receive queue the kernel allows, and replies nobody reads
    // until it overflows: the kernel drops the rest (netlink_overrun).
    rustix::net::sockopt::set_socket_recv_buffer_size(socket.socket.fd(), 1).unwrap();
    let pid = socket.socket.port_id();
    for seq in 1000..1020 {
        socket.socket.send(&Request::GetLink { index: lo }.encode(MessageHeader { seq, pid })).unwrap();
    }
    let start = Instant::now();
    let result = socket.link(lo);
    assert!(matches!(result, Err(RequestError::Lost)), "{result:?}");
    assert!(start.elapsed() < Duration::from_secs(1), "waited {:?} for a dropped reply", start.elapsed());
    // What was queued has been read: the next request is answered.
    assert_eq!(socket.link(lo).unwrap().name, InterfaceName::new("lo").ok());
}
