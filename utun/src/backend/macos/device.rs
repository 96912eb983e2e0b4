//! utun devices: a `PF_SYSTEM`/`SOCK_DGRAM`/`SYSPROTO_CONTROL` socket
//! connected to `com.apple.net.utun_control` (XNU bsd/net/if_utun.c,
//! bsd/kern/kern_control.c). Every packet carries a 4-byte header: the
//! protocol family in network byte order.

use std::ffi::{c_int, c_short, c_void};
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use utun_sys::apple as sys;

use crate::batch::{Offload, RecvBatch, SendBatch, SendCursor};
use crate::codec::bsd::datagram::{self, HEADER_LEN};
use crate::error::{Detail, Error, ErrorKind, Op};
use crate::name::InterfaceName;
use crate::packet::{self, IpVersion};

/// Whether a waiter must ask for error events too: no, a utun control
/// socket reports its end (the interface detached) as readable, like any
/// socket whose peer has gone (kqueue `EV_EOF` on `EVFILT_READ`).
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) const READY_ON_ERROR_ONLY: bool = false;

/// `CTLIOCGINFO`: the control id of a kernel control name.
fn ctl_id(fd: BorrowedFd<'_>) -> io::Result<u32> {
    let mut info = crate::codec::bsd::request::ctl_info_for_utun();
    // SAFETY: CTLIOCGINFO is `_IOWR('N', 3, struct ctl_info)` (sys/kern_control.h); `info` is one.
    unsafe { crate::unix::ioctl_with(fd, sys::CTLIOCGINFO, &mut info) }?;
    Ok(info.ctl_id)
}

fn connect_ctl(fd: BorrowedFd<'_>, addr: &sys::sockaddr_ctl) -> io::Result<()> {
    // SAFETY: `addr` is a `sockaddr_ctl` and the length passed is its size.
    let rc = unsafe {
        libc::connect(
            fd.as_raw_fd(),
            (addr as *const sys::sockaddr_ctl).cast(),
            size_of::<sys::sockaddr_ctl>() as libc::socklen_t,
        )
    };
    crate::unix::cvt(rc).map(drop)
}

/// `UTUN_OPT_IFNAME`: the interface name.
fn ifname(fd: BorrowedFd<'_>) -> io::Result<[u8; sys::IFNAMSIZ as usize]> {
    let mut name = [0u8; sys::IFNAMSIZ as usize];
    let mut len = name.len() as libc::socklen_t;
    // SAFETY: the buffer and its length describe writable memory of that size.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            sys::SYSPROTO_CONTROL as c_int,
            sys::UTUN_OPT_IFNAME as c_int,
            name.as_mut_ptr().cast::<c_void>(),
            &mut len,
        )
    };
    crate::unix::cvt(rc).map(|_| name)
}

/// The largest N of a `utunN`: the interface's unit is N (`utun_ctl_connect`
/// sets `utun_init.unit = utun_unit - 1`, XNU `bsd/net/if_utun.c`), and
/// `ifnet_allocate_extended` refuses a unit above `SHRT_MAX` with a bare
/// `EINVAL` (`bsd/net/kpi_interface.c`), after the control socket has
/// connected. `SHRT_MAX` is the largest C `short`.
const MAX_UTUN_UNIT: u32 = c_short::MAX as u32;

/// The unit `sc_unit` asks for: `utunN` is unit N + 1; 0 lets the kernel
/// pick. N above [`MAX_UTUN_UNIT`] is refused here, with why, rather than
/// by the kernel's bare `EINVAL`.
fn unit_for(name: Option<InterfaceName>) -> Result<u32, Error> {
    let Some(name) = name else { return Ok(0) };
    let bad = || {
        Error::invalid(
            Op::CreateDevice,
            ErrorKind::InvalidInput,
            Detail::Static("a utun device is named utunN, N a unit number"),
        )
        .on(name)
    };
    let digits = name.as_str().strip_prefix("utun").ok_or_else(bad)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || (digits.len() > 1 && digits.starts_with('0'))
    {
        return Err(bad());
    }
    let n = digits.parse::<u32>().map_err(|_| bad())?;
    if n > MAX_UTUN_UNIT {
        let why = format!("utun units go up to {MAX_UTUN_UNIT} (the kernel's SHRT_MAX for an interface unit)");
        return Err(Error::invalid(Op::CreateDevice, ErrorKind::InvalidInput, Detail::Text(why.into())).on(name));
    }
    Ok(n + 1)
}

/// How long [`create`] waits for a named unit whose previous interface is
/// still being detached, and its first and longest pause between attempts.
///
/// Closing a utun socket detaches its interface at once (`utun_ctl_disconnect`
/// → `ifnet_detach`, bsd/net/if_utun.c; `ifnet_detach` takes it off
/// `ifnet_head` and `ifindex2ifnet`, bsd/net/dlil.c), but the unit stays taken
/// until dlil's detacher thread (`ifnet_detacher_thread_cont` →
/// `ifnet_detach_final` → the `free` callback `utun_detached` →
/// `utun_free_pcb`) removes its control block: until then `utun_ctl_setup`
/// refuses the unit with `EBUSY`.
const DETACH_WAIT: Duration = Duration::from_secs(2);
const DETACH_PAUSE_FIRST: Duration = Duration::from_millis(2);
const DETACH_PAUSE_MAX: Duration = Duration::from_millis(50);

/// A utun control socket connected to `unit`.
fn connect_unit(unit: u32) -> Result<OwnedFd, Error> {
    let fd = super::socket(sys::PF_SYSTEM as c_int, libc::SOCK_DGRAM, sys::SYSPROTO_CONTROL as c_int)
        .map_err(|e| Error::os(Op::CreateDevice, e).about("socket(PF_SYSTEM)"))?;
    let id = ctl_id(fd.as_fd()).map_err(|e| Error::os(Op::CreateDevice, e).about("CTLIOCGINFO"))?;
    connect_ctl(fd.as_fd(), &crate::codec::bsd::request::sockaddr_ctl(id, unit))
        .map_err(|e| Error::os(Op::CreateDevice, e))?;
    Ok(fd)
}

/// Calls `attempt` again while it fails with [`ErrorKind::Busy`] and
/// `detaching()` says the unit is only being detached, pausing a little
/// longer each time, for at most `wait`; returns the last result.
fn retry_while_detaching<T>(
    wait: Duration,
    mut attempt: impl FnMut() -> Result<T, Error>,
    mut detaching: impl FnMut() -> bool,
) -> Result<T, Error> {
    let deadline = Instant::now() + wait;
    let mut pause = DETACH_PAUSE_FIRST;
    loop {
        match attempt() {
            Err(e) if e.kind() == ErrorKind::Busy && Instant::now() + pause <= deadline && detaching() => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(DETACH_PAUSE_MAX);
            }
            other => return other,
        }
    }
}

/// Creates a utun device (any free unit, or the one `name` asks for).
///
/// A named unit that is taken while no interface of that name exists is
/// one whose previous interface is still being detached (see
/// [`DETACH_WAIT`]): `create` tries again for up to that long. A unit in
/// use by a live interface fails at once with [`ErrorKind::Busy`].
pub(crate) fn create(name: Option<InterfaceName>) -> Result<(OwnedFd, InterfaceName), Error> {
    let unit = unit_for(name)?;
    let on = |e: Error| match name {
        Some(n) => e.on(n),
        None => e,
    };
    // Gone from the interface list (if_nametoindex fails) yet its unit taken.
    let detaching = || name.is_some_and(|n| crate::unix::if_nametoindex(n).is_err());
    let fd = retry_while_detaching(DETACH_WAIT, || connect_unit(unit), detaching).map_err(|e| {
        if e.kind() != ErrorKind::Busy {
            on(e)
        } else if detaching() {
            on(e).because(Detail::Static("that unit's previous interface is still being detached"))
        } else {
            on(e).because(Detail::Static("that unit is in use"))
        }
    })?;
    let raw = ifname(fd.as_fd()).map_err(|e| on(Error::os(Op::QueryDevice, e).about("UTUN_OPT_IFNAME")))?;
    let name = InterfaceName::from_c_bytes(&raw)
        .ok_or_else(|| Error::invalid(Op::QueryDevice, ErrorKind::MalformedReply, Detail::Static("UTUN_OPT_IFNAME")))?;
    Ok((fd, name))
}

/// The control a kernel-control socket is connected to: `getpeername` on
/// descriptor number `fd` (XNU bsd/kern/kern_control.c, `ctl_peeraddr`:
/// a `sockaddr_ctl` with `sc_family` `AF_SYSTEM`, `ss_sysaddr`
/// `AF_SYS_CONTROL`, the control's `sc_id` and the `sc_unit`). `None` for a
/// socket connected to anything else. A number, not a `BorrowedFd`, so that
/// [`find_tunnel_fd`] can ask about descriptors it does not own, and about
/// numbers that are not open (`EBADF`).
fn peer_control(fd: RawFd) -> io::Result<Option<sys::sockaddr_ctl>> {
    let mut addr = sys::sockaddr_ctl::default();
    let mut len = size_of::<sys::sockaddr_ctl>() as libc::socklen_t;
    // SAFETY: `addr` is writable for `len` bytes, and the kernel writes at
    // most `len` (truncating a longer address). getpeername only reads the
    // descriptor's state, whoever owns it, and fails on a number that is not
    // open (EBADF) or not a socket (ENOTSOCK).
    crate::unix::cvt(unsafe { libc::getpeername(fd, (&mut addr as *mut sys::sockaddr_ctl).cast(), &mut len) })?;
    let whole = len as usize >= size_of::<sys::sockaddr_ctl>();
    let control = u32::from(addr.sc_family) == sys::AF_SYSTEM && u32::from(addr.ss_sysaddr) == sys::AF_SYS_CONTROL;
    Ok((whole && control).then_some(addr))
}

/// The utun control's id (`CTLIOCGINFO` on a new `PF_SYSTEM` socket, closed after).
fn utun_control_id() -> io::Result<u32> {
    let probe = super::socket(sys::PF_SYSTEM as c_int, libc::SOCK_DGRAM, sys::SYSPROTO_CONTROL as c_int)?;
    ctl_id(probe.as_fd())
}

/// Checks that `fd` is a utun control socket and returns its interface's
/// name: connected (`getpeername`) to the control whose id `CTLIOCGINFO`
/// gives for `UTUN_CONTROL_NAME`, then `UTUN_OPT_IFNAME`. Anything else is
/// [`ErrorKind::InvalidInput`] naming what it is.
pub(crate) fn identify(fd: BorrowedFd<'_>) -> Result<InterfaceName, Error> {
    let expected = "a utun control socket";
    let peer = match peer_control(fd.as_raw_fd()) {
        Ok(Some(peer)) => peer,
        Ok(None) => return Err(crate::adopt::is_not(fd, "a utun control socket (it is connected elsewhere)")),
        Err(err) if matches!(err.raw_os_error(), Some(libc::ENOTCONN | libc::EINVAL)) => {
            return Err(crate::adopt::not_a_device(fd, err, "a utun control socket (it is not connected)"));
        }
        Err(err) => return Err(crate::adopt::not_a_device(fd, err, expected)),
    };
    let id = utun_control_id().map_err(|e| Error::os(Op::AdoptDevice, e).about("CTLIOCGINFO"))?;
    if peer.sc_id != id {
        let why =
            format!("a kernel control socket connected to control id {}, not the utun control ({id})", peer.sc_id);
        return Err(crate::adopt::wrong(why));
    }
    let raw = ifname(fd).map_err(|e| Error::os(Op::AdoptDevice, e).about("UTUN_OPT_IFNAME"))?;
    InterfaceName::from_c_bytes(&raw)
        .ok_or_else(|| Error::invalid(Op::AdoptDevice, ErrorKind::MalformedReply, Detail::Static("UTUN_OPT_IFNAME")))
}

/// The name of a socket family only Apple's systems have, for saying what a
/// descriptor is.
pub(crate) fn family_name(family: u32) -> Option<&'static str> {
    (family == sys::AF_SYSTEM).then_some("a kernel-control (PF_SYSTEM)")
}

/// The highest descriptor number [`find_tunnel_fd`] looks at, whatever
/// `getdtablesize` says (a bound on the scan, not a kernel number).
const SCAN_LIMIT: c_int = 1 << 16;

/// The lowest descriptor of this process that is a socket connected to the
/// utun control (as WireGuardKit and Firezone find the descriptor a Network
/// Extension's `NEPacketTunnelProvider` made): `getpeername` on every number
/// below `getdtablesize()` (at most [`SCAN_LIMIT`]), matched as
/// [`identify`] does. No such descriptor is [`ErrorKind::NotFound`].
pub(crate) fn find_tunnel_fd() -> Result<RawFd, Error> {
    let id = utun_control_id().map_err(|e| Error::os(Op::AdoptDevice, e).about("CTLIOCGINFO"))?;
    // SAFETY: getdtablesize takes nothing and returns a number.
    let limit = unsafe { libc::getdtablesize() }.clamp(0, SCAN_LIMIT);
    (0..limit).find(|&fd| peer_control(fd).is_ok_and(|peer| peer.is_some_and(|p| p.sc_id == id))).ok_or_else(|| {
        let why = Detail::Static("no descriptor of this process is connected to the utun control");
        Error::invalid(Op::AdoptDevice, ErrorKind::NotFound, why)
    })
}

/// `writev` of a header and a body: one datagram, no copy; `EINTR` retried.
fn writev2(fd: BorrowedFd<'_>, head: &[u8], body: &[u8]) -> io::Result<usize> {
    let iov = [IoSlice::new(head), IoSlice::new(body)];
    // SAFETY: `IoSlice` is ABI-compatible with `struct iovec`; both slices
    // outlive the call and the count matches the array.
    let n = crate::unix::cvt_r(|| unsafe { libc::writev(fd.as_raw_fd(), iov.as_ptr().cast(), iov.len() as c_int) })?;
    Ok(super::byte_count(n))
}

/// `recvmsg` into a header and a body; returns the datagram's length and the
/// message flags (`MSG_TRUNC` when it did not fit); `EINTR` retried.
fn recvmsg2(fd: BorrowedFd<'_>, head: &mut [u8], body: &mut [u8], flags: c_int) -> io::Result<(usize, c_int)> {
    let mut iov = [IoSliceMut::new(head), IoSliceMut::new(body)];
    // SAFETY: an all-zero msghdr is valid (no name, no control data).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov.as_mut_ptr().cast();
    msg.msg_iovlen = iov.len() as _;
    // SAFETY: `msg` points at two writable iovecs that outlive the call.
    let n = crate::unix::cvt_r(|| unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, flags) })?;
    Ok((super::byte_count(n), msg.msg_flags))
}

/// The family header for an outgoing packet.
fn header(version: IpVersion) -> [u8; HEADER_LEN] {
    match version {
        IpVersion::V4 => sys::AF_INET,
        IpVersion::V6 => sys::AF_INET6,
    }
    .to_be_bytes()
}

/// Writes one IP packet.
pub(crate) fn send(fd: BorrowedFd<'_>, packet: &[u8]) -> Result<usize, Error> {
    let version = packet::check_outgoing(packet)?;
    let n = writev2(fd, &header(version), packet).map_err(|e| Error::os(Op::Send, e))?;
    Ok(n.saturating_sub(HEADER_LEN))
}

/// Reads one IP packet into `buf`. `recvmsg` rather than `readv`, for
/// `MSG_TRUNC`: the kernel says when the datagram did not fit (and returns
/// only what it copied; `codec::bsd::datagram` reads the result).
pub(crate) fn recv(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Error> {
    let mut head = [0u8; HEADER_LEN];
    let capacity = buf.len();
    let (n, flags) = recvmsg2(fd, &mut head, buf, 0).map_err(|e| Error::os(Op::Recv, e))?;
    datagram::packet_len(n, flags & libc::MSG_TRUNC != 0, head, capacity)
}

/// Reads packets into `bufs` with `recvmsg_x` ([`super::batch::recv_many`]:
/// the first as the descriptor's blocking mode says, the rest that wait, in
/// one call; falling back to one `recvmsg` each where the call is missing).
/// `bufs` and `sizes` are as long as each other, and not empty
/// (`Device::recv_batch` sees to it). (No offload on macOS: `offload` and
/// `scratch` are unused.)
pub(crate) fn recv_batch<B: AsMut<[u8]>>(
    fd: BorrowedFd<'_>,
    _offload: Offload,
    _scratch: &mut RecvBatch,
    bufs: &mut [B],
    sizes: &mut [usize],
) -> Result<usize, Error> {
    super::batch::recv_many(fd, bufs, sizes)
}

/// Writes `packets` with `sendmsg_x` ([`super::batch::send_many`], one
/// `send` each where the call is missing), again and again until every one
/// is written: a `sendmsg_x` may take fewer than it was given (its buffer
/// filled, or a malformed packet ended its list), and the next call starts
/// at the first it did not take. Starts where `cursor` says and moves it past
/// each packet the kernel took, so that after an error (a `WouldBlock`) a
/// later call with the same cursor writes only the rest. (No offload on
/// macOS: `offload` and `scratch` are unused.)
pub(crate) fn send_batch<B: AsRef<[u8]>>(
    fd: BorrowedFd<'_>,
    _offload: Offload,
    _scratch: &mut SendBatch,
    packets: &[B],
    cursor: &mut SendCursor,
) -> Result<(), Error> {
    crate::batch::resume(packets.len(), &mut cursor.done, |i| super::batch::send_many(fd, &packets[i..]))
}

/// Checks a `UTUN_OPT_MAX_PENDING_PACKETS` value before the kernel sees it.
///
/// XNU's `utun_ctl_setopt` (bsd/net/if_utun.c) takes any `u_int32_t` but 0
/// (`EINVAL`), and no upper bound: the count only decides when `utun_start`
/// stops dequeuing from the interface's send queue (`ctl_getenqueuepacketcount`
/// against `utun_max_pending_packets`; `ctl_getenqueuereadable` lets it go on
/// while the socket is under its low-water mark), and `utun_output` →
/// `ctl_enqueuembuf` (bsd/kern/kern_control.c) still drops a packet with
/// `ENOBUFS` when the receive buffer has no room for it (`ctl_rcvbspace`,
/// `sbspace(&so->so_rcv)`). So 0 is refused here with why, and a large
/// count is bounded in effect by `SO_RCVBUF`.
pub(crate) fn check_max_pending_packets(packets: u32) -> Result<u32, Error> {
    if packets == 0 {
        let why = Detail::Static(
            "the utun queue holds at least 1 packet (XNU's utun_ctl_setopt refuses 0; its default is 1)",
        );
        return Err(Error::invalid(Op::SetDeviceOption, ErrorKind::InvalidInput, why));
    }
    Ok(packets)
}

/// `UTUN_OPT_MAX_PENDING_PACKETS` (a `u_int32_t`; XNU if_utun.c refuses 0
/// with `EINVAL`, see [`check_max_pending_packets`], and another size with
/// `EMSGSIZE`). `utun_ctl_bind` starts every socket at 1.
pub(crate) fn set_max_pending_packets(fd: BorrowedFd<'_>, packets: u32) -> io::Result<()> {
    setsockopt_u32(fd, sys::SYSPROTO_CONTROL as c_int, sys::UTUN_OPT_MAX_PENDING_PACKETS as c_int, packets)
}

/// Reads `UTUN_OPT_MAX_PENDING_PACKETS`.
pub(crate) fn max_pending_packets(fd: BorrowedFd<'_>) -> io::Result<u32> {
    getsockopt_u32(fd, sys::SYSPROTO_CONTROL as c_int, sys::UTUN_OPT_MAX_PENDING_PACKETS as c_int)
}

/// Which socket buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Buffer {
    /// `SO_RCVBUF`: packets the kernel queued for [`recv`] (the utun's
    /// output, `ctl_enqueuembuf`).
    Recv,
    /// `SO_SNDBUF`: the bound on one write (`sosend` refuses a datagram
    /// larger than `sb_hiwat` with `EMSGSIZE`).
    Send,
}

impl Buffer {
    fn option(self) -> c_int {
        match self {
            Buffer::Recv => sys::SO_RCVBUF as c_int,
            Buffer::Send => sys::SO_SNDBUF as c_int,
        }
    }

    /// The option's name, for errors.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Buffer::Recv => "SO_RCVBUF",
            Buffer::Send => "SO_SNDBUF",
        }
    }
}

/// Checks a socket buffer size before the kernel sees it: `SO_RCVBUF` and
/// `SO_SNDBUF` take a C `int`, and XNU's `sosetoptlock` (bsd/kern/uipc_socket.c)
/// refuses a value below 1 with `EINVAL`. Above the `kern.ipc.maxsockbuf`
/// sysctl, which only the kernel knows, `sbreserve` (bsd/kern/uipc_socket2.c)
/// sets that maximum instead, and fails (`ENOBUFS`) only when the buffer is
/// there already: [`set_buffer_size`]'s caller explains that error.
pub(crate) fn check_buffer_size(buffer: Buffer, bytes: usize) -> Result<c_int, Error> {
    match c_int::try_from(bytes) {
        Ok(n) if n >= 1 => Ok(n),
        _ => {
            let why = format!("{} takes 1 to {} bytes (a C int; XNU refuses less than 1)", buffer.name(), c_int::MAX);
            Err(Error::invalid(Op::SetDeviceOption, ErrorKind::InvalidInput, Detail::Text(why.into())))
        }
    }
}

/// Sets `SO_RCVBUF` or `SO_SNDBUF` on the utun control socket (checked by
/// [`check_buffer_size`] first). The kernel control starts both at 512 KiB
/// (`ctl_sendsize`/`ctl_recvsize` in `utun_register_control`, if_utun.c;
/// `soreserve` in `ctl_connect`, kern_control.c).
pub(crate) fn set_buffer_size(fd: BorrowedFd<'_>, buffer: Buffer, bytes: c_int) -> io::Result<()> {
    setsockopt_u32(fd, sys::SOL_SOCKET as c_int, buffer.option(), bytes as u32)
}

/// Reads `SO_RCVBUF` or `SO_SNDBUF` (the buffer's high-water mark, `sb_hiwat`).
pub(crate) fn buffer_size(fd: BorrowedFd<'_>, buffer: Buffer) -> io::Result<usize> {
    getsockopt_u32(fd, sys::SOL_SOCKET as c_int, buffer.option()).map(|n| n as usize)
}

/// `setsockopt` of a 4-byte option (a `u_int32_t` or a C `int`: same size).
fn setsockopt_u32(fd: BorrowedFd<'_>, level: c_int, name: c_int, value: u32) -> io::Result<()> {
    // SAFETY: a readable u32 and its size, for an option that takes 4 bytes.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const u32).cast::<c_void>(),
            size_of::<u32>() as libc::socklen_t,
        )
    };
    crate::unix::cvt(rc).map(drop)
}

/// `getsockopt` of a 4-byte option.
fn getsockopt_u32(fd: BorrowedFd<'_>, level: c_int, name: c_int) -> io::Result<u32> {
    let mut value: u32 = 0;
    let mut len = size_of::<u32>() as libc::socklen_t;
    // SAFETY: a writable u32 and its size, for an option that gives 4 bytes.
    let rc =
        unsafe { libc::getsockopt(fd.as_raw_fd(), level, name, (&mut value as *mut u32).cast::<c_void>(), &mut len) };
    crate::unix::cvt(rc).map(|_| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_values_out_of_the_kernels_range_are_refused_with_why() {
        assert_eq!(check_max_pending_packets(1).unwrap(), 1);
        assert_eq!(check_max_pending_packets(u32::MAX).unwrap(), u32::MAX);
        let err = check_max_pending_packets(0).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("at least 1"), "{err}");
        assert_eq!(check_buffer_size(Buffer::Recv, 1).unwrap(), 1);
        for bad in [0, c_int::MAX as usize + 1] {
            let err = check_buffer_size(Buffer::Send, bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            assert!(err.to_string().contains("SO_SNDBUF"), "{err}");
        }
    }

    #[test]
    fn unit_numbers() {
        let n = |s: &str| unit_for(Some(InterfaceName::new(s).unwrap()));
        assert_eq!(unit_for(None).unwrap(), 0);
        assert_eq!(n("utun0").unwrap(), 1);
        assert_eq!(n("utun12").unwrap(), 13);
        for bad in ["tun0", "utun", "utunx", "utun01", "utun99999999999"] {
            assert_eq!(n(bad).unwrap_err().kind(), ErrorKind::InvalidInput, "{bad}");
        }
        let max = format!("utun{MAX_UTUN_UNIT}");
        assert_eq!(n(&max).unwrap(), MAX_UTUN_UNIT + 1);
        let past = format!("utun{}", MAX_UTUN_UNIT + 1);
        let err = n(&past).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains(&format!("up to {MAX_UTUN_UNIT}")), "{err}");
    }

    fn busy() -> Error {
        Error::os(Op::CreateDevice, io::Error::from_raw_os_error(libc::EBUSY))
    }

    #[test]
    fn a_unit_being_detached_is_asked_for_again_until_it_is_free() {
        let mut tries = 0;
        let got = retry_while_detaching(
            DETACH_WAIT,
            || {
                tries += 1;
                if tries < 4 { Err(busy()) } else { Ok(tries) }
            },
            || true,
        );
        assert_eq!(got.unwrap(), 4);
    }

    #[test]
    fn a_unit_in_use_or_another_error_is_not_asked_for_again() {
        let mut tries = 0;
        let got: Result<(), _> = retry_while_detaching(
            DETACH_WAIT,
            || {
                tries += 1;
                Err(busy())
            },
            || false,
        );
        assert_eq!((got.unwrap_err().kind(), tries), (ErrorKind::Busy, 1));
        let mut tries = 0;
        let got: Result<(), _> = retry_while_detaching(
            DETACH_WAIT,
            || {
                tries += 1;
                Err(Error::os(Op::CreateDevice, io::Error::from_raw_os_error(libc::EPERM)))
            },
            || true,
        );
        assert_eq!((got.unwrap_err().kind(), tries), (ErrorKind::PermissionDenied, 1));
    }

    #[test]
    fn the_wait_is_bounded() {
        let wait = DETACH_PAUSE_FIRST * 8;
        let start = Instant::now();
        let got: Result<(), _> = retry_while_detaching(wait, || Err(busy()), || true);
        assert_eq!(got.unwrap_err().kind(), ErrorKind::Busy);
        assert!(start.elapsed() <= wait + DETACH_PAUSE_MAX, "{:?}", start.elapsed());
    }
}
