//! Many packets per system call on a utun: `recvmsg_x` and `sendmsg_x`,
//! Apple's private batch socket calls (XNU bsd/kern/syscalls.master 480 and
//! 481; declared by utun-sys's own/socket_private.h from
//! bsd/sys/socket_private.h), with one `msghdr_x` per datagram whose two
//! `iovec`s are the 4-byte family header and the packet
//! ([`codec::bsd::batch`](crate::codec::bsd::batch)).
//!
//! Private calls may change or go ("NOTE: This a private system call, the
//! API is subject to change", socket_private.h): when one fails with
//! `ENOSYS`, `EINVAL` or `EOPNOTSUPP` it is not tried again in this process,
//! and the same work is done one datagram at a time (`recvmsg` with
//! `MSG_DONTWAIT` after the first, `writev`).
//!
//! On XNU `recvmsg_x` (bsd/kern/uipc_syscalls.c) hands the whole list to
//! `soreceive_m_list` (bsd/kern/uipc_socket.c), which waits, as the
//! descriptor's blocking mode says, for the first datagram only, and then
//! takes what is queued; `sendmsg_x` on a connected atomic datagram socket
//! (a kernel-control socket is one) goes through `sendit_x` →
//! `sosend_list`, and returns how many datagrams it queued when a later one
//! hit a full buffer (`ENOBUFS`, `EWOULDBLOCK`).

use std::ffi::c_int;
use std::io::{self, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, Ordering};

use utun_sys::apple as sys;

use crate::codec::bsd::batch::Batch;
use crate::codec::bsd::datagram::{self, HEADER_LEN};
use crate::error::{Error, Op};

/// Set once `recvmsg_x` (or `sendmsg_x`) has failed as a call this kernel
/// does not have: the process uses the one-by-one path from then on.
static RECV_X_MISSING: AtomicBool = AtomicBool::new(false);
static SEND_X_MISSING: AtomicBool = AtomicBool::new(false);

/// Whether an error says the call itself is unavailable (or refuses this
/// socket), rather than that this attempt failed.
fn missing(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::ENOSYS | libc::EINVAL | libc::EOPNOTSUPP))
}

/// Receives up to `min(bufs.len(), sizes.len(), 64)` packets in one
/// `recvmsg_x` (one wait for the first, if the descriptor blocks): packet
/// `i` is `bufs[i][..sizes[i]]`; returns how many (at least 1, or an error;
/// `Ok(0)` only when `bufs` or `sizes` is empty).
///
/// A datagram that did not fit its buffer, or of another family, ends the
/// batch and is lost, as [`super::device::recv`] loses it; when it is the
/// first, its error is returned (see
/// [`Batch::recv`](crate::codec::bsd::batch::Batch)).
pub(crate) fn recv_many<B: AsMut<[u8]>>(
    fd: BorrowedFd<'_>,
    bufs: &mut [B],
    sizes: &mut [usize],
) -> Result<usize, Error> {
    if !RECV_X_MISSING.load(Ordering::Relaxed) {
        let mut batch = Batch::new();
        match batch.recv(bufs, sizes, |msgs, count| recvmsg_x(fd, msgs, count)) {
            Ok(result) => return result,
            Err(err) if missing(&err) => RECV_X_MISSING.store(true, Ordering::Relaxed),
            Err(err) => return Err(Error::os(Op::Recv, err).about("recvmsg_x")),
        }
    }
    recv_one_by_one(fd, bufs, sizes)
}

/// Sends up to `min(packets.len(), 64)` packets in one `sendmsg_x`; returns
/// how many the kernel took (fewer when its buffer filled). A packet that is
/// not a well-formed IPv4/IPv6 packet ends the batch; when it is the first,
/// its error is returned.
pub(crate) fn send_many<P: AsRef<[u8]>>(fd: BorrowedFd<'_>, packets: &[P]) -> Result<usize, Error> {
    if !SEND_X_MISSING.load(Ordering::Relaxed) {
        let mut batch = Batch::new();
        match batch.send(packets, |msgs, count| sendmsg_x(fd, msgs, count)) {
            Ok(result) => return result,
            Err(err) if missing(&err) => SEND_X_MISSING.store(true, Ordering::Relaxed),
            Err(err) => return Err(Error::os(Op::Send, err).about("sendmsg_x")),
        }
    }
    send_one_by_one(fd, packets)
}

/// `recvmsg_x(fd, msgs, count, 0)`; `EINTR` retried.
fn recvmsg_x(fd: BorrowedFd<'_>, msgs: *const sys::msghdr_x, count: u32) -> io::Result<usize> {
    // SAFETY: `msgs` is `count` messages `Batch::recv` prepared, each over
    // two iovecs of live, writable memory (a header and the caller's
    // buffer), all of which outlive the call.
    let n = crate::unix::cvt_r(|| unsafe { sys::recvmsg_x(fd.as_raw_fd(), msgs, count, 0) })?;
    Ok(super::byte_count(n))
}

/// `sendmsg_x(fd, msgs, count, 0)`; `EINTR` retried.
fn sendmsg_x(fd: BorrowedFd<'_>, msgs: *const sys::msghdr_x, count: u32) -> io::Result<usize> {
    // SAFETY: `msgs` is `count` messages `Batch::send` prepared (no name, no
    // control data, flags and datalen 0, as sendmsg_x requires), each over
    // two iovecs of live memory the kernel only reads.
    let n = crate::unix::cvt_r(|| unsafe { sys::sendmsg_x(fd.as_raw_fd(), msgs, count, 0) })?;
    Ok(super::byte_count(n))
}

/// The fallback receive: the first packet as [`super::device::recv`] reads
/// it (waiting if the descriptor blocks), then every packet already queued
/// (`MSG_DONTWAIT`), until the buffers run out or nothing waits.
fn recv_one_by_one<B: AsMut<[u8]>>(fd: BorrowedFd<'_>, bufs: &mut [B], sizes: &mut [usize]) -> Result<usize, Error> {
    let count = bufs.len().min(sizes.len());
    let mut got = 0;
    for (buf, size) in bufs[..count].iter_mut().zip(sizes[..count].iter_mut()) {
        let buf = buf.as_mut();
        let result = if got == 0 { super::device::recv(fd, buf) } else { recv_dontwait(fd, buf) };
        match result {
            Ok(len) => *size = len,
            Err(err) if got == 0 => return Err(err),
            Err(_) => break,
        }
        got += 1;
    }
    Ok(got)
}

/// One datagram without waiting (`recvmsg` with `MSG_DONTWAIT`), read as
/// [`super::device::recv`] reads it.
fn recv_dontwait(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Error> {
    let mut head = [0u8; HEADER_LEN];
    let capacity = buf.len();
    let mut iov = [IoSliceMut::new(&mut head), IoSliceMut::new(buf)];
    // SAFETY: an all-zero msghdr is valid (no name, no control data).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov.as_mut_ptr().cast();
    msg.msg_iovlen = iov.len() as c_int;
    // SAFETY: `msg` points at two writable iovecs that outlive the call.
    let n = crate::unix::cvt_r(|| unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, sys::MSG_DONTWAIT as c_int) })
        .map_err(|e| Error::os(Op::Recv, e))?;
    let truncated = msg.msg_flags & sys::MSG_TRUNC as c_int != 0;
    datagram::packet_len(super::byte_count(n), truncated, head, capacity)
}

/// The fallback send: one [`super::device::send`] per packet, stopping at
/// the first that fails (whose error is returned when it is the first).
fn send_one_by_one<P: AsRef<[u8]>>(fd: BorrowedFd<'_>, packets: &[P]) -> Result<usize, Error> {
    let mut sent = 0;
    for packet in packets {
        match super::device::send(fd, packet.as_ref()) {
            Ok(_) => sent += 1,
            Err(err) if sent == 0 => return Err(err),
            Err(_) => break,
        }
    }
    Ok(sent)
}
