//! Handing a device's descriptor to another process over a Unix stream
//! socket (`SCM_RIGHTS`): the privileged half creates and configures the
//! device and sends its descriptor; the unprivileged half receives it and
//! adopts it ([`Device::from_fd`](crate::Device::from_fd)).
//!
//! The control messages are rustix's ([`rustix::net::sendmsg`] with a
//! `SendAncillaryBuffer`, [`rustix::net::recvmsg`] with a
//! `RecvAncillaryBuffer`), not hand-written `cmsg` arithmetic.
//!
//! The wire form: one byte (a stream socket carries control data only with
//! data) with one descriptor attached. Each call sends or receives one such
//! byte; other data on the same stream between them is the caller's.

use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;

use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags, SendAncillaryBuffer, SendAncillaryMessage,
    SendFlags,
};

use crate::error::{Detail, Error, ErrorKind, Op};

/// The byte each descriptor travels with.
const TAG: u8 = b'U';

/// How many descriptors [`recv_fd`] has room for in one message: one is
/// expected; room for more lets a message with several be received whole
/// and refused (each closed), rather than cut short. (A bound of this
/// crate's, not a kernel number.)
const ROOM: usize = 8;

/// Sends `fd` (a copy of the descriptor: the sender's stays open) over
/// `socket` to the process at its other end, which receives it with
/// [`recv_fd`]. Typically a device's descriptor: `send_fd(&socket, &device)`.
///
/// ```no_run
/// use std::os::unix::net::UnixStream;
///
/// // Needs root: create (and configure) the device here...
/// let dev = utun::Device::new()?;
/// let (here, there) = UnixStream::pair()?;
/// utun::send_fd(&here, &dev)?;
/// // ... and adopt it there (another process, in real use).
/// let adopted = utun::Device::from_fd(utun::recv_fd(&there)?)?;
/// assert_eq!(adopted.index(), dev.index());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn send_fd(socket: &UnixStream, fd: impl AsFd) -> Result<(), Error> {
    let fds = [fd.as_fd()];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !control.push(SendAncillaryMessage::ScmRights(&fds)) {
        let why = Detail::Static("no room for the descriptor in the control buffer");
        return Err(Error::invalid(Op::SendDescriptor, ErrorKind::Other, why));
    }
    let tag = [TAG];
    let sent = retry(|| rustix::net::sendmsg(socket, &[IoSlice::new(&tag)], &mut control, SendFlags::empty()))
        .map_err(|e| Error::os(Op::SendDescriptor, e))?;
    if sent != 1 {
        return Err(Error::invalid(Op::SendDescriptor, ErrorKind::Other, Detail::Static("the byte was not sent")));
    }
    Ok(())
}

/// Receives one descriptor that the other end of `socket` sent with
/// [`send_fd`] (or any `SCM_RIGHTS` message of one descriptor with one byte
/// of data), waiting for it. It is close-on-exec: received with
/// `MSG_CMSG_CLOEXEC` on Linux; on macOS, which has no such flag,
/// `FD_CLOEXEC` is set just after (a `fork` and `exec` by another thread in
/// between would pass it on).
///
/// Errors, with every descriptor that did come closed:
/// [`ErrorKind::NotFound`] when the peer closed the stream without sending
/// one; [`ErrorKind::InvalidInput`] for a message with no descriptor, with
/// more than one, or whose control data was cut short (`MSG_CTRUNC`).
pub fn recv_fd(socket: &UnixStream) -> Result<OwnedFd, Error> {
    let mut byte = [0u8; 1];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(ROOM))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let msg = retry(|| rustix::net::recvmsg(socket, &mut [IoSliceMut::new(&mut byte)], &mut control, recv_flags()))
        .map_err(|e| Error::os(Op::RecvDescriptor, e))?;
    // Every descriptor received: the first is kept, the others closed as
    // they are dropped (the buffer closes any left in it when dropped).
    let mut first = None;
    let mut count = 0usize;
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(fds) = message {
            for fd in fds {
                count += 1;
                if first.is_none() {
                    first = Some(fd);
                }
            }
        }
    }
    let refused = |why: String| Error::invalid(Op::RecvDescriptor, ErrorKind::InvalidInput, Detail::Text(why.into()));
    if msg.flags.contains(ReturnFlags::CTRUNC) {
        return Err(refused(format!(
            "the control data was cut short (MSG_CTRUNC): more than {ROOM} descriptors, or other control \
             messages, came with the byte; the {count} received were closed"
        )));
    }
    match (first, count) {
        (Some(fd), 1) => {
            set_cloexec(&fd)?;
            Ok(fd)
        }
        (None, _) if msg.bytes == 0 => {
            let why = Detail::Static("the peer closed the stream without sending a descriptor");
            Err(Error::invalid(Op::RecvDescriptor, ErrorKind::NotFound, why))
        }
        (None, _) => Err(refused(String::from("a message with no descriptor"))),
        (Some(_), n) => Err(refused(format!("{n} descriptors in one message where one was expected; all were closed"))),
    }
}

/// `MSG_CMSG_CLOEXEC` where there is one (Linux).
fn recv_flags() -> RecvFlags {
    #[cfg(target_os = "linux")]
    let flags = RecvFlags::CMSG_CLOEXEC;
    #[cfg(not(target_os = "linux"))]
    let flags = RecvFlags::empty();
    flags
}

/// `FD_CLOEXEC` on a received descriptor, where `recvmsg` could not set it.
fn set_cloexec(fd: &OwnedFd) -> Result<(), Error> {
    if cfg!(target_os = "linux") {
        return Ok(());
    }
    rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::CLOEXEC)
        .map_err(|e| Error::os(Op::RecvDescriptor, e.into()).about("FD_CLOEXEC"))
}

/// Repeats a call a signal interrupted (`EINTR`).
fn retry<T>(mut call: impl FnMut() -> rustix::io::Result<T>) -> io::Result<T> {
    loop {
        match call() {
            Err(rustix::io::Errno::INTR) => continue,
            done => return done.map_err(io::Error::from),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;
    use std::os::fd::{AsRawFd as _, BorrowedFd};

    use super::*;

    fn cloexec(fd: BorrowedFd<'_>) -> bool {
        rustix::io::fcntl_getfd(fd).unwrap().contains(rustix::io::FdFlags::CLOEXEC)
    }

    /// Sends `fds` in one message with one byte, as another program might.
    fn send_many(socket: &UnixStream, fds: &[BorrowedFd<'_>]) {
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(ROOM * 8))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        if !fds.is_empty() {
            assert!(control.push(SendAncillaryMessage::ScmRights(fds)));
        }
        rustix::net::sendmsg(socket, &[IoSlice::new(b"x")], &mut control, SendFlags::empty()).unwrap();
    }

    #[test]
    fn a_descriptor_goes_across_and_comes_out_close_on_exec() {
        let (a, b) = UnixStream::pair().unwrap();
        let (x, mut y) = UnixStream::pair().unwrap();
        send_fd(&a, &x).unwrap();
        let got = recv_fd(&b).unwrap();
        assert_ne!(got.as_raw_fd(), x.as_raw_fd());
        assert!(cloexec(got.as_fd()));
        // The same socket: what goes into y comes out of the received x.
        y.write_all(b"hello").unwrap();
        let mut buf = [0u8; 5];
        let n = rustix::io::read(&got, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"hello");
    }

    #[test]
    fn a_closed_stream_is_not_found() {
        let (a, b) = UnixStream::pair().unwrap();
        drop(a);
        assert_eq!(recv_fd(&b).unwrap_err().kind(), ErrorKind::NotFound);
    }

    #[test]
    fn a_message_without_a_descriptor_is_invalid_input() {
        let (a, b) = UnixStream::pair().unwrap();
        send_many(&a, &[]);
        let err = recv_fd(&b).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("no descriptor"), "{err}");
    }

    /// Pairs of connected sockets: the first ends to send (the only copy,
    /// once sent and dropped), the second to see, by end of file, that every
    /// copy of the first was closed.
    fn pairs(n: usize) -> (Vec<UnixStream>, Vec<UnixStream>) {
        (0..n).map(|_| UnixStream::pair().unwrap()).unzip()
    }

    fn all_closed(peers: &mut [UnixStream]) {
        for (i, peer) in peers.iter_mut().enumerate() {
            peer.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
            let mut buf = [0u8; 1];
            let n = std::io::Read::read(peer, &mut buf).expect("end of file, not a timeout");
            assert_eq!(n, 0, "descriptor {i} is still open somewhere");
        }
    }

    #[test]
    fn two_descriptors_are_refused_and_both_closed() {
        let (a, b) = UnixStream::pair().unwrap();
        let (sent, mut peers) = pairs(2);
        send_many(&a, &sent.iter().map(|s| s.as_fd()).collect::<Vec<_>>());
        drop(sent);
        let err = recv_fd(&b).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("2 descriptors"), "{err}");
        all_closed(&mut peers);
    }

    #[test]
    fn more_descriptors_than_there_is_room_for_is_ctrunc_and_nothing_is_left_open() {
        let (a, b) = UnixStream::pair().unwrap();
        // Well beyond `ROOM` (`cmsg_space!` may round the room up a little).
        let (sent, mut peers) = pairs(ROOM * 8);
        send_many(&a, &sent.iter().map(|s| s.as_fd()).collect::<Vec<_>>());
        drop(sent);
        let err = recv_fd(&b).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("MSG_CTRUNC"), "{err}");
        all_closed(&mut peers);
    }
}
