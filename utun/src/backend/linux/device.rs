//! Linux tun devices: `/dev/net/tun`, `TUNSETIFF` with `IFF_NO_PI`, so that
//! one `write` is one IP packet from the caller's buffer and one `read` one
//! IP packet into it: nothing copied, one plain system call each way.
//!
//! Without `IFF_NO_PI` each packet carries a 4-byte `struct tun_pi`, which
//! keeps the packet in the caller's buffer only through `readv`/`writev` with
//! a separate header iovec; those cost more per forwarded packet than plain
//! `read`/`write` (`import_iovec` and the multi-segment copy), and the device
//! is measured against a raw `read`/`write` loop (`cargo xtask bench`,
//! [BENCHMARKS.md](https://github.com/utun-rs/utun/blob/main/BENCHMARKS.md)).
//! What the header told is in the packet itself:
//! the kernel picks the protocol from the IP version nibble on write, and a
//! packet that did not fit the reader's buffer (the kernel copies what fits
//! and returns that count) is recognised by its own length field, which the
//! kernel always fills in.

use std::ffi::{c_int, c_short};
use std::io;
use std::os::fd::{AsFd as _, BorrowedFd, FromRawFd, OwnedFd};

use utun_sys as sys;

use crate::batch::{Offload, RecvBatch, Segmentation, SendBatch, SendCursor};
use crate::error::{Detail, Error, ErrorKind, Op};
use crate::name::InterfaceName;
use crate::offload::coalesce::{self, CoalesceOptions};
use crate::offload::negotiate;
use crate::offload::vnet::{Gso, VNET_HDR_LEN, VnetHeader};
use crate::offload::{gso, split};
use crate::packet::{self, V4_HEADER, V6_HEADER};

/// Whether a waiter must ask for error events too: a tun descriptor whose
/// interface was deleted reports only `EPOLLERR` (drivers/net/tun.c,
/// `tun_chr_poll`), never readable or writable.
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) const READY_ON_ERROR_ONLY: bool = true;

/// `IFF_TUN | IFF_NO_PI | IFF_TUN_EXCL` as the `short` `ifr_flags` holds
/// (checked at compile time): a new interface.
///
/// `IFF_TUN_EXCL`: without it `TUNSETIFF` attaches to an existing tun of
/// that name, such as a persistent one `ip tuntap add` made, whose
/// interface then outlives the descriptor; with it the kernel answers
/// `EBUSY` for any existing interface of that name (drivers/net/tun.c,
/// `tun_set_iff`), so that the device is always a new interface, which
/// closing its descriptor destroys.
const TUN_FLAGS: c_short = {
    let flags = sys::IFF_TUN | sys::IFF_NO_PI | sys::IFF_TUN_EXCL;
    assert!(flags <= u16::MAX as u32);
    // `ifr_flags` is a C `short`: IFF_TUN_EXCL (0x8000) is its sign bit.
    (flags as u16) as c_short
};

/// `IFF_TUN | IFF_NO_PI`: an existing tun interface of that name ([`attach`]).
const ATTACH_FLAGS: c_short = {
    assert!(sys::IFF_TUN | sys::IFF_NO_PI <= i16::MAX as u32);
    (sys::IFF_TUN | sys::IFF_NO_PI) as c_short
};

/// `TUNSETIFF`: creates a tun interface and attaches the fd to it (or, with
/// [`ATTACH_FLAGS`], attaches the fd to an existing one).
fn tunsetiff(fd: BorrowedFd<'_>, ifr: &mut sys::ifreq) -> io::Result<()> {
    // SAFETY: TUNSETIFF is `_IOW('T', 202, int)` but reads and writes a
    // `struct ifreq` (drivers/net/tun.c), which `ifr` is.
    unsafe { crate::unix::ioctl_with(fd, sys::TUNSETIFF, ifr) }
}

/// Opens `/dev/net/tun` close-on-exec.
fn open_clone_device() -> io::Result<OwnedFd> {
    // SAFETY: a NUL-terminated path; open returns a new descriptor or -1.
    let fd = crate::unix::cvt_r(|| unsafe { libc::open(c"/dev/net/tun".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) })?;
    // SAFETY: `fd` is the new descriptor open returned; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Creates a tun interface named `name`, or one the kernel names (`tunN`).
pub(crate) fn create(name: Option<InterfaceName>) -> Result<(OwnedFd, InterfaceName), Error> {
    let (fd, ifr) = set_iff(name, TUN_FLAGS, |err| {
        // Any existing interface of that name, a tun or not (say `lo`),
        // answers EBUSY: tun_set_iff checks IFF_TUN_EXCL first.
        let taken = err.raw_os_error() == Some(libc::EBUSY) && name.is_some();
        if taken { err.with_kind(ErrorKind::Busy).about("the name is taken by another interface") } else { err }
    })?;
    // SAFETY: reading the name member of a plain-data union the kernel filled.
    let raw_name = unsafe { ifr.ifr_ifrn.ifrn_name };
    let bytes: Vec<u8> = raw_name.iter().map(|&c| c as u8).collect();
    let name = InterfaceName::from_c_bytes(&bytes)
        .ok_or_else(|| Error::invalid(Op::CreateDevice, ErrorKind::MalformedReply, Detail::Static("TUNSETIFF name")))?;
    Ok((fd, name))
}

/// [`TUN_FLAGS`] with `IFF_VNET_HDR` and `IFF_MULTI_QUEUE`: a new
/// interface whose packets each come after a `virtio_net_hdr`
/// ([`create_offload`]), and which more queues can join ([`add_queue`]).
const OFFLOAD_FLAGS: c_short = {
    let flags = sys::IFF_TUN | sys::IFF_NO_PI | sys::IFF_TUN_EXCL | sys::IFF_VNET_HDR | sys::IFF_MULTI_QUEUE;
    assert!(flags <= u16::MAX as u32);
    (flags as u16) as c_short
};

/// [`OFFLOAD_FLAGS`] without `IFF_TUN_EXCL`: another queue of an existing
/// offload interface ([`add_queue`]). `tun_set_iff` refuses (`EINVAL`)
/// flags other than the interface's own.
const QUEUE_FLAGS: c_short = {
    let flags = sys::IFF_TUN | sys::IFF_NO_PI | sys::IFF_VNET_HDR | sys::IFF_MULTI_QUEUE;
    assert!(flags <= u16::MAX as u32);
    (flags as u16) as c_short
};

/// An ioctl whose argument is the value itself, not a pointer (`TUNSETOFFLOAD`).
fn ioctl_value(fd: BorrowedFd<'_>, request: libc::c_ulong, value: libc::c_ulong) -> io::Result<()> {
    // SAFETY: the callers pass requests that take their argument by value
    // (drivers/net/tun.c, `__tun_chr_ioctl`: `TUNSETOFFLOAD` hands `arg` to
    // `set_offload` as flags), so no memory is read or written through it.
    crate::unix::cvt(unsafe { libc::ioctl(std::os::fd::AsRawFd::as_raw_fd(&fd), request as _, value) }).map(drop)
}

/// Creates a tun interface as [`create`] does, but with `IFF_VNET_HDR`,
/// the header size set to `sizeof(struct virtio_net_hdr)`
/// (`TUNSETVNETHDRSZ`), and the offloads asked of the kernel
/// (`TUNSETOFFLOAD`): checksum, TSO for IPv4 and IPv6 with ECN, and UDP
/// segmentation (`TUN_F_USO4 | TUN_F_USO6`) when the headers name it. A
/// kernel that refuses USO (`EINVAL`: before Linux 6.2, `set_offload`
/// rejects unknown flags) is asked again without it
/// ([`negotiate::negotiate`], tested against a scripted kernel). Returns what was granted.
pub(crate) fn create_offload(name: Option<InterfaceName>) -> Result<(OwnedFd, InterfaceName, Offload), Error> {
    let (fd, ifr) = set_iff(name, OFFLOAD_FLAGS, |err| {
        let taken = err.raw_os_error() == Some(libc::EBUSY) && name.is_some();
        if taken { err.with_kind(ErrorKind::Busy).about("the name is taken by another interface") } else { err }
    })?;
    let name = ifr_name(&ifr, Op::CreateDevice)?;
    let mut size = c_int::try_from(VNET_HDR_LEN).unwrap_or(c_int::MAX);
    // SAFETY: TUNSETVNETHDRSZ is `_IOW('T', 216, int)` and reads an `int`, which `size` is.
    unsafe { crate::unix::ioctl_with(fd.as_fd(), sys::TUNSETVNETHDRSZ, &mut size) }
        .map_err(|e| Error::os(Op::CreateDevice, e).on(name).about("TUNSETVNETHDRSZ"))?;
    let set = |flags: u32| ioctl_value(fd.as_fd(), sys::TUNSETOFFLOAD, libc::c_ulong::from(flags));
    let offload = negotiate::negotiate(name, negotiate::USO, set)?;
    Ok((fd, name, offload))
}

/// Opens another queue of the offload interface `name` (index `index`):
/// `TUNSETIFF` with [`QUEUE_FLAGS`], as `tun_set_iff` attaches another file
/// to a multi-queue tun (`tun_attach`). The header size and offloads are the
/// interface's (`tun_struct`), set once by [`create_offload`]. The index is
/// checked afterwards, as [`attach`] does.
pub(crate) fn add_queue(name: InterfaceName, index: u32) -> Result<OwnedFd, Error> {
    let (fd, _) = set_iff(Some(name), QUEUE_FLAGS, |err| match err.raw_os_error() {
        Some(libc::EINVAL) => err.about("not a multi-queue offload tun interface"),
        _ => err,
    })?;
    if crate::unix::if_nametoindex(name).ok() != Some(index) {
        let why = Detail::Static("the interface was gone before the queue attached to it");
        return Err(Error::invalid(Op::CreateDevice, ErrorKind::NotFound, why).on(name));
    }
    Ok(fd)
}

/// The interface name in an `ifreq` the kernel filled.
fn ifr_name(ifr: &sys::ifreq, op: Op) -> Result<InterfaceName, Error> {
    // SAFETY: reading the name member of a plain-data union the kernel filled.
    let raw_name = unsafe { ifr.ifr_ifrn.ifrn_name };
    let bytes: Vec<u8> = raw_name.iter().map(|&c| c as u8).collect();
    InterfaceName::from_c_bytes(&bytes)
        .ok_or_else(|| Error::invalid(op, ErrorKind::MalformedReply, Detail::Static("TUNSETIFF name")))
}

/// Attaches to the existing tun interface `name`, whose index is `index`
/// (the caller looked it up). The index is checked again afterwards: an
/// interface gone in between (`TUNSETIFF` without `IFF_TUN_EXCL` would have
/// made a new one, which closing the descriptor here removes) is
/// [`ErrorKind::NotFound`].
pub(crate) fn attach(name: InterfaceName, index: u32) -> Result<OwnedFd, Error> {
    let (fd, _) = set_iff(Some(name), ATTACH_FLAGS, |err| match err.raw_os_error() {
        Some(libc::EINVAL) => err.about("not a single-queue tun interface"),
        Some(libc::EBUSY) => err.about("another descriptor is attached to it"),
        _ => err,
    })?;
    if crate::unix::if_nametoindex(name).ok() != Some(index) {
        let why = Detail::Static("the interface was gone before the device attached to it");
        return Err(Error::invalid(Op::CreateDevice, ErrorKind::NotFound, why).on(name));
    }
    Ok(fd)
}

/// Opens `/dev/net/tun` and issues `TUNSETIFF` with `flags` for `name` (or
/// none: the kernel picks); returns the descriptor and the `ifreq` the
/// kernel filled in. A refused `TUNSETIFF` is the error `refused` makes of
/// the crate's error for it.
fn set_iff(
    name: Option<InterfaceName>,
    flags: c_short,
    refused: impl FnOnce(Error) -> Error,
) -> Result<(OwnedFd, sys::ifreq), Error> {
    let with_name = |e: Error| match name {
        Some(n) => e.on(n),
        None => e,
    };
    let fd = open_clone_device().map_err(|e| with_name(Error::os(Op::CreateDevice, e).about("/dev/net/tun")))?;
    let mut ifr = sys::ifreq::default();
    if let Some(name) = name {
        ifr.ifr_ifrn.ifrn_name = name.to_c_array();
    }
    ifr.ifr_ifru.ifru_flags = flags;
    tunsetiff(fd.as_fd(), &mut ifr).map_err(|e| refused(with_name(Error::os(Op::CreateDevice, e))))?;
    Ok((fd, ifr))
}

/// `TUNGETIFF`: the name and flags of the interface a tun descriptor is
/// attached to.
fn tungetiff(fd: BorrowedFd<'_>, ifr: &mut sys::ifreq) -> io::Result<()> {
    // SAFETY: TUNGETIFF is `_IOR('T', 210, unsigned int)` but writes a
    // `struct ifreq` (drivers/net/tun.c, `__tun_chr_ioctl` → `tun_get_iff`),
    // which `ifr` is. On a descriptor that is not a tun the ioctl is refused
    // before anything is written (ENOTTY, EINVAL) or, where another driver
    // reads the same number, writes at most an `ifreq`'s worth.
    unsafe { crate::unix::ioctl_with(fd, sys::TUNGETIFF, ifr) }
}

/// Checks that `fd` is a tun device with the framing this crate speaks and
/// returns its interface's name.
///
/// `TUNGETIFF` answers for a `/dev/net/tun` descriptor attached to an
/// interface (`tun_get_iff`): the name, and `tun_flags` (`IFF_TUN`/`IFF_TAP`,
/// `IFF_VNET_HDR`, ...). It does not tell `IFF_NO_PI`: `__tun_chr_ioctl`
/// sets `IFF_NOFILTER`, the same bit (0x1000 both), in its answer whenever
/// no socket filter is attached. So the framing is read from the
/// interface's link (rtnetlink, `IFLA_LINKINFO`: `tun_fill_info` gives
/// `IFLA_TUN_TYPE`, `IFLA_TUN_PI` and `IFLA_TUN_VNET_HDR`), by the index
/// the name has in this network namespace.
///
/// Refused, as [`ErrorKind::InvalidInput`] naming what the descriptor is:
/// anything `TUNGETIFF` fails on (a socket, `/dev/null`, a file; a
/// `/dev/net/tun` descriptor attached to no interface, `EBADFD`), a tap
/// (Ethernet frames), and a tun with a `tun_pi` (no `IFF_NO_PI`) or a
/// `virtio_net_hdr` (`IFF_VNET_HDR`) before each packet: `send` and `recv`
/// speak plain IP packets only.
pub(crate) fn identify(fd: BorrowedFd<'_>) -> Result<InterfaceName, Error> {
    let mut ifr = sys::ifreq::default();
    if let Err(err) = tungetiff(fd, &mut ifr) {
        if err.raw_os_error() == Some(libc::EBADFD) {
            let why = "a /dev/net/tun descriptor attached to no interface (no TUNSETIFF, or its interface was deleted)";
            return Err(crate::adopt::not_attached(err, why));
        }
        return Err(crate::adopt::not_a_device(fd, err, "a tun device"));
    }
    // SAFETY: reading the members of a plain-data union the kernel filled.
    let (raw_name, raw_flags) = unsafe { (ifr.ifr_ifrn.ifrn_name, ifr.ifr_ifru.ifru_flags) };
    let flags = u32::from(raw_flags as u16);
    let bytes: Vec<u8> = raw_name.iter().map(|&c| c as u8).collect();
    let name = InterfaceName::from_c_bytes(&bytes)
        .ok_or_else(|| Error::invalid(Op::AdoptDevice, ErrorKind::MalformedReply, Detail::Static("TUNGETIFF name")))?;
    let refuse = |why: &str| Err(crate::adopt::wrong(why.to_string()).on(name));
    if flags & sys::IFF_TAP != 0 || flags & sys::IFF_TUN == 0 {
        return refuse("a tap device (IFF_TAP: Ethernet frames), not a tun device (IP packets)");
    }
    if flags & sys::IFF_VNET_HDR != 0 {
        return refuse(
            "a tun device with IFF_VNET_HDR (a virtio_net_hdr before each packet): adopting one is not supported \
             (its header size and granted offloads cannot all be read back); make it with Device::with_offload",
        );
    }
    let index = crate::unix::if_nametoindex(name).map_err(|e| Error::os(Op::AdoptDevice, e).on(name))?;
    let iface = crate::interface::Interface::from_parts(name, index);
    let info = super::ifconfig::ConfigSocket::open()?.tun_info(&iface)?;
    let Some(info) = info else {
        let why = Detail::Static("the interface of that name in this network namespace is no tun");
        return Err(Error::invalid(Op::AdoptDevice, ErrorKind::NotFound, why).on(name));
    };
    if u32::from(info.kind) != sys::IFF_TUN || info.vnet_hdr {
        return refuse("a tun interface whose link says tap or IFF_VNET_HDR, which this crate does not speak");
    }
    if info.pi {
        return refuse(
            "a tun device without IFF_NO_PI (a 4-byte tun_pi header before each packet), which this crate does not speak",
        );
    }
    Ok(name)
}

/// The name of a socket family only Linux has, for saying what a descriptor is.
pub(crate) fn family_name(family: u32) -> Option<&'static str> {
    (family == sys::AF_NETLINK).then_some("a netlink")
}

/// Writes one IP packet: `write` as a direct system call (rustix), the
/// `syscall` instruction inline in the caller rather than in glibc's
/// out-of-line wrapper, whose call and return around the system call cost up
/// to ~100 ns where returns after a system call are slow (see
/// [BENCHMARKS.md, "Reading it"](https://github.com/utun-rs/utun/blob/main/BENCHMARKS.md#reading-it)).
#[inline(always)]
pub(crate) fn send(fd: BorrowedFd<'_>, packet: &[u8]) -> Result<usize, Error> {
    packet::check_outgoing(packet)?;
    super::retry(|| rustix::io::write(fd, packet)).map_err(|e| os_error(Op::Send, e))
}

/// Reads one IP packet into `buf`: `read` as a direct system call, as [`send`].
#[inline(always)]
pub(crate) fn recv(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Error> {
    let n = super::retry(|| rustix::io::read(fd, &mut *buf)).map_err(|e| os_error(Op::Recv, e))?;
    check_incoming(&buf[..n], buf.len())?;
    Ok(n)
}

/// [`send`] on an offload device: the packet behind a `virtio_net_hdr`
/// that asks for nothing (`GSO_NONE`, no flags), one `writev`.
pub(crate) fn send_vnet(fd: BorrowedFd<'_>, packet: &[u8]) -> Result<usize, Error> {
    packet::check_outgoing(packet)?;
    let mut head = [0u8; VNET_HDR_LEN];
    VnetHeader::default().write(&mut head)?;
    let iov = [io::IoSlice::new(&head), io::IoSlice::new(packet)];
    let n = super::retry(|| rustix::io::writev(fd, &iov)).map_err(|e| os_error(Op::Send, e))?;
    Ok(n.saturating_sub(VNET_HDR_LEN))
}

/// [`recv`] on an offload device: the `virtio_net_hdr` and the packet in
/// one `readv`; a plain packet whose checksum the kernel left to finish
/// (`NEEDS_CSUM`) gets it. A GSO packet (more than one packet's worth) is
/// an [`ErrorKind::InvalidInput`] error: it is consumed, and only
/// `recv_batch` can split it (or `recv_gso` take it whole).
pub(crate) fn recv_vnet(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Error> {
    let (hdr, n) = read_vnet(fd, buf)?;
    if hdr.gso != Gso::None {
        let why = Detail::Static(
            "a GSO packet (several packets' worth) was read and dropped: only recv_batch splits them, recv_gso takes them whole",
        );
        return Err(Error::invalid(Op::Recv, ErrorKind::InvalidInput, why));
    }
    if hdr.needs_csum {
        split::finish_checksum(&hdr, &mut buf[..n])?;
    }
    Ok(n)
}

/// One packet on an offload device, its `virtio_net_hdr` apart and the
/// packet in the caller's buffer, in one `readv`; the packet checked whole
/// ([`check_incoming`]: one the kernel cut short to fit is an error).
fn read_vnet(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<(VnetHeader, usize), Error> {
    let mut head = [0u8; VNET_HDR_LEN];
    let capacity = buf.len();
    let n = {
        let mut iov = [io::IoSliceMut::new(&mut head), io::IoSliceMut::new(buf)];
        super::retry(|| rustix::io::readv(fd, &mut iov)).map_err(|e| os_error(Op::Recv, e))?
    };
    let Some(n) = n.checked_sub(VNET_HDR_LEN) else {
        return Err(Error::invalid(
            Op::Recv,
            ErrorKind::MalformedPacket,
            Detail::Static("shorter than its virtio_net_hdr"),
        ));
    };
    let hdr = VnetHeader::parse(&head)?;
    check_incoming(&buf[..n], capacity)?;
    Ok((hdr, n))
}

/// `Device::recv_gso`: one packet whole, a GSO packet not split, straight
/// into the caller's buffer (one `readv`, no copy), and what it is.
pub(crate) fn recv_gso(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<(usize, Segmentation), Error> {
    let (hdr, n) = read_vnet(fd, buf)?;
    Ok((n, gso::received(&hdr, &mut buf[..n])?))
}

/// `Device::send_gso`: one packet whole, behind the header that says how
/// the kernel is to segment it ([`gso::header_for`]), one `writev` from the
/// caller's buffer.
pub(crate) fn send_gso(fd: BorrowedFd<'_>, packet: &[u8], segmentation: Segmentation) -> Result<usize, Error> {
    packet::check_outgoing(packet)?;
    let hdr = gso::header_for(packet, segmentation)?;
    let mut head = [0u8; VNET_HDR_LEN];
    hdr.write(&mut head)?;
    let iov = [io::IoSlice::new(&head), io::IoSlice::new(packet)];
    let n = super::retry(|| rustix::io::writev(fd, &iov)).map_err(|e| os_error(Op::Send, e))?;
    Ok(n.saturating_sub(VNET_HDR_LEN))
}

/// The room a read on an offload device needs: the header and the largest
/// GSO packet (an IPv6 header and 64 KiB of payload).
const GSO_READ_LEN: usize = VNET_HDR_LEN + V6_HEADER + u16::MAX as usize;

/// Reads packets into `bufs`: on an offload device one `read` of a
/// (possibly GSO) packet, split into as many plain packets; otherwise one
/// packet as [`recv`] reads it, and more while the descriptor is
/// non-blocking and packets wait (a blocking descriptor gives one: a second
/// `read` could wait).
pub(crate) fn recv_batch<B: AsMut<[u8]>>(
    fd: BorrowedFd<'_>,
    offload: Offload,
    scratch: &mut RecvBatch,
    bufs: &mut [B],
    sizes: &mut [usize],
) -> Result<usize, Error> {
    // As long as each other and not empty (`Device::recv_batch` sees to it).
    let slots = bufs.len();
    if offload.vnet_hdr {
        if scratch.buf.len() < GSO_READ_LEN {
            scratch.buf.resize(GSO_READ_LEN, 0);
        }
        let buf = &mut scratch.buf[..];
        let n = super::retry(|| rustix::io::read(fd, &mut *buf)).map_err(|e| os_error(Op::Recv, e))?;
        let (head, packet) = buf[..n].split_at_mut(VNET_HDR_LEN.min(n));
        let hdr = VnetHeader::parse(head)?;
        if hdr.gso == Gso::None {
            check_incoming(packet, packet.len() + 1)?;
        }
        return split::split(&hdr, packet, bufs, sizes);
    }
    sizes[0] = recv(fd, bufs[0].as_mut())?;
    if slots == 1 || !crate::unix::is_nonblocking(fd).unwrap_or(false) {
        return Ok(1);
    }
    let mut got = 1;
    while got < slots {
        match recv(fd, bufs[got].as_mut()) {
            Ok(n) => sizes[got] = n,
            // WouldBlock ends the batch; another error will come again on the
            // next call, after the packets read so far are handed over.
            Err(_) => break,
        }
        got += 1;
    }
    Ok(got)
}

/// Writes `packets`: on an offload device merged ([`coalesce`]) into as few
/// records as it can, one `write` each; otherwise one [`send`] each. Starts
/// where `cursor` says (a fresh one: the beginning) and moves it past each
/// record or packet written, so that after an error (a `WouldBlock`) a
/// later call with the same cursor, scratch and packets writes only the
/// rest. An offload batch is merged once, on the first attempt.
pub(crate) fn send_batch<B: AsRef<[u8]>>(
    fd: BorrowedFd<'_>,
    offload: Offload,
    scratch: &mut SendBatch,
    packets: &[B],
    cursor: &mut SendCursor,
) -> Result<(), Error> {
    if !offload.vnet_hdr {
        return crate::batch::resume(packets.len(), &mut cursor.done, |i| send(fd, packets[i].as_ref()).map(|_| 1));
    }
    if !cursor.prepared {
        scratch.merge(packets, CoalesceOptions { tcp: true, udp: offload.uso })?;
        *cursor = SendCursor { prepared: true, done: 0 };
    }
    let lens = &scratch.lens[..scratch.records];
    coalesce::write_records(&scratch.out, lens, &mut cursor.done, |record| {
        packet::check_outgoing(&record[VNET_HDR_LEN..])?;
        super::retry(|| rustix::io::write(fd, record)).map(drop).map_err(|e| os_error(Op::Send, e))
    })
}

/// The error of a failed `read` or `write` (out of the packet path's way).
///
/// When the interface is deleted under the device (`ip link delete`), the
/// kernel detaches the descriptor (`tun_detach_all`, drivers/net/tun.c): a
/// read blocked then returns `EFAULT` (`tun_ring_recv` on the shut socket)
/// and every later call `EBADFD` (`tun_get` finds no interface). Neither
/// can mean anything else here (the buffers are valid slices; the
/// descriptor is a tun), so both are [`ErrorKind::NotFound`], saying so.
#[cold]
#[inline(never)]
fn os_error(op: Op, err: std::io::Error) -> Error {
    let detached = match err.raw_os_error() {
        Some(libc::EBADFD) => true,
        Some(libc::EFAULT) => op == Op::Recv,
        _ => false,
    };
    let error = Error::os(op, err);
    if detached {
        let why = Detail::Static("the interface is gone: it was deleted, and the kernel detached this descriptor");
        return error.with_kind(ErrorKind::NotFound).because(why);
    }
    error
}

/// Checks the `packet` a `read` into a `capacity`-byte buffer gave: an IPv4
/// or IPv6 packet, whole. One that filled the buffer and whose header states
/// more bytes was cut short by the kernel (the rest is dropped).
#[inline]
pub(crate) fn check_incoming(packet: &[u8], capacity: usize) -> Result<(), Error> {
    // The common case with two branches (see `packet::check_outgoing`);
    // anything else goes to the full check, which says why.
    let n = packet.len();
    if n < V4_HEADER {
        return check_incoming_in_full(packet, capacity);
    }
    let (version, v6, total) = packet::stated_len(packet);
    if !(((version == 4) | (v6 == 1)) & (total <= n)) {
        return check_incoming_in_full(packet, capacity);
    }
    Ok(())
}

/// [`check_incoming`], every case, with the reason for a refusal.
#[cold]
#[inline(never)]
fn check_incoming_in_full(packet: &[u8], capacity: usize) -> Result<(), Error> {
    let malformed = |detail| Error::invalid(Op::Recv, ErrorKind::MalformedPacket, detail);
    let too_small = |detail| Error::invalid(Op::Recv, ErrorKind::BufferTooSmall, detail);
    let filled = packet.len() == capacity;
    let (field, fixed) = match packet.first().map(|b| b >> 4) {
        Some(4) => (2, 0),
        Some(6) => (4, V6_HEADER),
        Some(v) => return Err(malformed(Detail::Version(v))),
        None if filled => return Err(too_small(Detail::Static("an empty buffer"))),
        None => return Err(malformed(Detail::Static("an empty packet"))),
    };
    let Some(stated) = packet.get(field..field + 2) else {
        return Err(if filled {
            too_small(Detail::Static("the buffer cannot hold the IP header"))
        } else {
            malformed(Detail::Static("shorter than the IP header"))
        });
    };
    let total = fixed + usize::from(u16::from_be_bytes([stated[0], stated[1]]));
    if total > packet.len() {
        return Err(if filled {
            too_small(Detail::Len { len: total, limit: capacity })
        } else {
            malformed(Detail::Static("shorter than its IP header states"))
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::tests::{v4, v6};

    fn kind(packet: &[u8], capacity: usize) -> Option<ErrorKind> {
        check_incoming(packet, capacity).err().map(|e| e.kind())
    }

    #[test]
    fn whole_packets_pass() {
        assert_eq!(kind(&v4(84), 1500), None);
        assert_eq!(kind(&v4(84), 84), None);
        assert_eq!(kind(&v6(104), 2048), None);
        assert_eq!(kind(&v6(104), 104), None);
    }

    #[test]
    fn a_packet_cut_short_by_the_buffer_is_buffer_too_small() {
        let err = check_incoming(&v4(84)[..16], 16).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BufferTooSmall);
        assert!(err.to_string().contains("(84 bytes, limit 16)"), "{err}");
        assert_eq!(kind(&v6(104)[..64], 64), Some(ErrorKind::BufferTooSmall));
        assert_eq!(kind(&v4(84)[..3], 3), Some(ErrorKind::BufferTooSmall));
        assert_eq!(kind(&[], 0), Some(ErrorKind::BufferTooSmall));
    }

    #[test]
    fn the_fast_path_agrees_with_the_full_check() {
        for len in [0usize, 1, 3, 4, 6, 19, 20, 21, 39, 40, 41, 84, 104] {
            for first in [0x00u8, 0x45, 0x55, 0x60, 0x6f] {
                for stated in [0u16, 20, 40, 64, 84, 0xffff] {
                    let mut p = vec![0u8; len];
                    if let Some(b) = p.first_mut() {
                        *b = first;
                    }
                    let at = if first >> 4 == 6 { 4 } else { 2 };
                    for (i, b) in stated.to_be_bytes().into_iter().enumerate() {
                        if let Some(slot) = p.get_mut(at + i) {
                            *slot = b;
                        }
                    }
                    for capacity in [len, len + 1, 2048] {
                        let fast = check_incoming(&p, capacity).map_err(|e| e.to_string());
                        let full = check_incoming_in_full(&p, capacity).map_err(|e| e.to_string());
                        assert_eq!(fast, full, "{p:?} in {capacity}");
                    }
                }
            }
        }
    }

    #[test]
    fn other_packets_are_malformed() {
        let mut other = v4(40);
        other[0] = 0x55;
        assert_eq!(kind(&other, 1500), Some(ErrorKind::MalformedPacket));
        assert_eq!(kind(&v4(84)[..40], 1500), Some(ErrorKind::MalformedPacket));
        assert_eq!(kind(&v4(84)[..3], 1500), Some(ErrorKind::MalformedPacket));
        assert_eq!(kind(&[], 1500), Some(ErrorKind::MalformedPacket));
    }
}
