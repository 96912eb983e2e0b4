//! The message arrays of Apple's batch socket calls, `recvmsg_x` and
//! `sendmsg_x` (declared by utun-sys's own/socket_private.h, from XNU's
//! bsd/sys/socket_private.h): one `struct msghdr_x` per datagram, each with
//! two `iovec`s, the 4-byte family header and the packet, as the
//! single-packet path reads and writes them ([`datagram`](super::datagram)).
//!
//! Pure: the system call is a closure, so that these are tested anywhere the
//! Apple layouts are built (Linux included) with a stand-in kernel.

use std::io;

use utun_sys::apple as sys;

use super::datagram::{self, HEADER_LEN};
use crate::error::Error;
use crate::packet::{self, IpVersion};

/// The most datagrams one call moves: a bound on the arrays this module
/// keeps on the stack (about 6 KiB), not a kernel number. XNU takes up to
/// `UIO_MAXIOV` (`recvmsg_x` in bsd/kern/uipc_syscalls.c: more is `EINVAL`)
/// and quietly trims a larger count to the `kern.ipc.maxrecvmsgx` sysctl
/// (`somaxrecvmsgx`, 256 by default); this stays below both.
pub(crate) const BATCH: usize = 64;

const _: () = assert!(BATCH <= sys::UIO_MAXIOV as usize);

/// The arrays for up to [`BATCH`] datagrams. The messages point into the
/// `iovec`s, which point into the headers and the caller's buffers: filled
/// and used within one call ([`Batch::recv`], [`Batch::send`]), never moved
/// in between.
pub(crate) struct Batch {
    msgs: [sys::msghdr_x; BATCH],
    iovs: [sys::iovec; 2 * BATCH],
    heads: [[u8; HEADER_LEN]; BATCH],
}

impl Batch {
    /// Empty arrays.
    pub(crate) fn new() -> Batch {
        Batch {
            msgs: [sys::msghdr_x::default(); BATCH],
            iovs: [sys::iovec::default(); 2 * BATCH],
            heads: [[0; HEADER_LEN]; BATCH],
        }
    }

    /// Points message `i` at header `i` and `body`.
    fn point(&mut self, i: usize, body: *mut u8, len: usize) {
        self.iovs[2 * i] = sys::iovec { iov_base: self.heads[i].as_mut_ptr().cast(), iov_len: HEADER_LEN };
        self.iovs[2 * i + 1] = sys::iovec { iov_base: body.cast(), iov_len: len };
        self.msgs[i] = sys::msghdr_x { msg_iov: &mut self.iovs[2 * i], msg_iovlen: 2, ..sys::msghdr_x::default() };
    }

    /// Receives up to `min(bufs.len(), sizes.len(), BATCH)` packets:
    /// `call(msgs, count)` is `recvmsg_x`, returning how many datagrams it
    /// filled in (`msg_datalen` and `msg_flags` of each). Packet `i` is in
    /// `bufs[i][..sizes[i]]`; returns how many.
    ///
    /// A datagram that was truncated (`MSG_TRUNC`: the kernel returns at
    /// once after one, and has dropped its rest) or is not IPv4/IPv6 ends
    /// the batch: the packets before it are returned, and it is lost, as
    /// the single-packet `recv` loses it; when it is the first, its error
    /// ([`ErrorKind::BufferTooSmall`](crate::ErrorKind::BufferTooSmall) or
    /// [`ErrorKind::MalformedPacket`](crate::ErrorKind::MalformedPacket)) is
    /// returned. A call that received nothing returns `Ok(0)` or its error.
    pub(crate) fn recv<B: AsMut<[u8]>>(
        &mut self,
        bufs: &mut [B],
        sizes: &mut [usize],
        call: impl FnOnce(*const sys::msghdr_x, u32) -> io::Result<usize>,
    ) -> io::Result<Result<usize, Error>> {
        let count = bufs.len().min(sizes.len()).min(BATCH);
        if count == 0 {
            return Ok(Ok(0));
        }
        for (i, buf) in bufs[..count].iter_mut().enumerate() {
            let buf = buf.as_mut();
            self.point(i, buf.as_mut_ptr(), buf.len());
        }
        let got = call(self.msgs.as_ptr(), count as u32)?.min(count);
        Ok(self.results(&mut bufs[..got], &mut sizes[..got]))
    }

    /// Reads what `recvmsg_x` wrote into the first `bufs.len()` messages.
    fn results<B: AsMut<[u8]>>(&self, bufs: &mut [B], sizes: &mut [usize]) -> Result<usize, Error> {
        for (i, (buf, size)) in bufs.iter_mut().zip(sizes.iter_mut()).enumerate() {
            let msg = &self.msgs[i];
            let truncated = msg.msg_flags & sys::MSG_TRUNC as i32 != 0;
            match datagram::packet_len(msg.msg_datalen, truncated, self.heads[i], buf.as_mut().len()) {
                Ok(len) => *size = len,
                Err(err) if i == 0 => return Err(err),
                Err(_) => return Ok(i),
            }
        }
        Ok(bufs.len())
    }

    /// Sends up to `min(packets.len(), BATCH)` packets, each behind its
    /// family header: `call(msgs, count)` is `sendmsg_x`, returning how many
    /// datagrams the kernel took. Every packet is checked first
    /// ([`packet::check_outgoing`]): the batch stops before one that fails,
    /// and when that is the first, its error is returned. Returns how many
    /// were sent.
    pub(crate) fn send<P: AsRef<[u8]>>(
        &mut self,
        packets: &[P],
        call: impl FnOnce(*const sys::msghdr_x, u32) -> io::Result<usize>,
    ) -> io::Result<Result<usize, Error>> {
        let mut count = 0;
        for packet in packets.iter().take(BATCH) {
            let packet = packet.as_ref();
            let version = match packet::check_outgoing(packet) {
                Ok(version) => version,
                Err(err) if count == 0 => return Ok(Err(err)),
                Err(_) => break,
            };
            self.heads[count] = header(version);
            // The kernel only reads through a sendmsg_x iovec (a `*mut` in
            // `struct iovec`, as in sendmsg's).
            self.point(count, packet.as_ptr().cast_mut(), packet.len());
            count += 1;
        }
        if count == 0 {
            return Ok(Ok(0));
        }
        Ok(Ok(call(self.msgs.as_ptr(), count as u32)?.min(count)))
    }
}

/// The family header for an outgoing packet (`utun_output` reads it in
/// network byte order, XNU bsd/net/if_utun.c).
pub(crate) fn header(version: IpVersion) -> [u8; HEADER_LEN] {
    match version {
        IpVersion::V4 => sys::AF_INET,
        IpVersion::V6 => sys::AF_INET6,
    }
    .to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    /// An IPv4 header of `len` bytes (20 of header, the rest payload).
    fn v4(len: usize) -> Vec<u8> {
        let mut p = vec![0u8; len];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        p[8] = 64;
        p[9] = 17;
        p
    }

    /// What the kernel would do with one message: copy `datagram` (header
    /// included) into its two iovecs, set `msg_datalen` and `msg_flags`.
    ///
    /// # Safety
    /// `msg` must be one [`Batch::recv`] prepared.
    unsafe fn deliver(msg: *const sys::msghdr_x, datagram: &[u8]) {
        // SAFETY: the caller's promise; a test stands in for the kernel.
        unsafe {
            let msg = msg.cast_mut();
            let iov = std::slice::from_raw_parts((*msg).msg_iov, (*msg).msg_iovlen as usize);
            let mut copied = 0;
            for v in iov {
                let n = v.iov_len.min(datagram.len() - copied);
                std::ptr::copy_nonoverlapping(datagram[copied..].as_ptr(), v.iov_base.cast::<u8>(), n);
                copied += n;
            }
            (*msg).msg_datalen = copied;
            (*msg).msg_flags = if copied < datagram.len() { sys::MSG_TRUNC as i32 } else { 0 };
        }
    }

    fn datagram(family: u32, packet: &[u8]) -> Vec<u8> {
        [&family.to_be_bytes()[..], packet].concat()
    }

    #[test]
    fn each_message_has_a_header_iovec_then_the_buffer() {
        let mut batch = Batch::new();
        let mut bufs = vec![vec![0u8; 100], vec![0u8; 200], vec![0u8; 300]];
        let lens: Vec<usize> = bufs.iter().map(Vec::len).collect();
        let ptrs: Vec<*mut u8> = bufs.iter_mut().map(|b| b.as_mut_ptr()).collect();
        let mut sizes = [0usize; 2];
        let got = batch
            .recv(&mut bufs, &mut sizes, |msgs, count| {
                assert_eq!(count, 2, "the smaller of the buffers and the sizes");
                // SAFETY: `msgs` has `count` prepared messages.
                let msgs = unsafe { std::slice::from_raw_parts(msgs, count as usize) };
                for (i, m) in msgs.iter().enumerate() {
                    assert_eq!(m.msg_iovlen, 2);
                    assert!(m.msg_name.is_null() && m.msg_control.is_null() && m.msg_flags == 0);
                    // SAFETY: two iovecs per message.
                    let iov = unsafe { std::slice::from_raw_parts(m.msg_iov, 2) };
                    assert_eq!(iov[0].iov_len, HEADER_LEN);
                    assert_eq!((iov[1].iov_base.cast::<u8>(), iov[1].iov_len), (ptrs[i], lens[i]));
                }
                Ok(0)
            })
            .unwrap();
        assert_eq!(got.unwrap(), 0);
    }

    #[test]
    fn received_packets_come_back_with_their_lengths() {
        let mut batch = Batch::new();
        let mut bufs = [[0u8; 1500]; 4];
        let mut sizes = [0usize; 4];
        let (a, b) = (v4(84), v4(1400));
        let got = batch
            .recv(&mut bufs, &mut sizes, |msgs, count| {
                assert_eq!(count, 4);
                // SAFETY: messages 0 and 1 are prepared.
                unsafe {
                    deliver(msgs, &datagram(sys::AF_INET, &a));
                    deliver(msgs.add(1), &datagram(sys::AF_INET6, &b));
                }
                Ok(2)
            })
            .unwrap();
        assert_eq!(got.unwrap(), 2);
        assert_eq!(&sizes[..2], &[84, 1400]);
        assert_eq!(&bufs[0][..84], &a[..]);
        assert_eq!(&bufs[1][..1400], &b[..]);
    }

    #[test]
    fn a_truncated_or_foreign_datagram_ends_the_batch() {
        let mut batch = Batch::new();
        let mut bufs = [[0u8; 100]; 3];
        let mut sizes = [0usize; 3];
        let got = batch
            .recv(&mut bufs, &mut sizes, |msgs, _| {
                // SAFETY: messages 0 and 1 are prepared.
                unsafe {
                    deliver(msgs, &datagram(sys::AF_INET, &v4(60)));
                    deliver(msgs.add(1), &datagram(sys::AF_INET, &v4(200)));
                }
                Ok(2)
            })
            .unwrap();
        assert_eq!((got.unwrap(), sizes[0]), (1, 60), "the packet before the truncated one");
        let got = batch
            .recv(&mut bufs, &mut sizes, |msgs, _| {
                // SAFETY: message 0 is prepared.
                unsafe { deliver(msgs, &datagram(sys::AF_INET, &v4(200))) };
                Ok(1)
            })
            .unwrap();
        assert_eq!(got.unwrap_err().kind(), ErrorKind::BufferTooSmall);
        let got = batch
            .recv(&mut bufs, &mut sizes, |msgs, _| {
                // SAFETY: message 0 is prepared.
                unsafe { deliver(msgs, &datagram(sys::AF_SYSTEM, &v4(20))) };
                Ok(1)
            })
            .unwrap();
        assert_eq!(got.unwrap_err().kind(), ErrorKind::MalformedPacket);
    }

    #[test]
    fn a_failed_call_and_an_empty_batch() {
        let mut batch = Batch::new();
        let mut bufs = [[0u8; 100]; 2];
        let mut sizes = [0usize; 2];
        let err = batch.recv(&mut bufs, &mut sizes, |_, _| Err(io::Error::from_raw_os_error(libc::EAGAIN)));
        assert_eq!(err.unwrap_err().raw_os_error(), Some(libc::EAGAIN));
        let none: &mut [[u8; 1]] = &mut [];
        assert_eq!(batch.recv(none, &mut sizes, |_, _| unreachable!()).unwrap().unwrap(), 0);
        let none: &[&[u8]] = &[];
        assert_eq!(batch.send(none, |_, _| unreachable!()).unwrap().unwrap(), 0);
    }

    #[test]
    fn sent_packets_go_behind_their_family_headers() {
        let mut batch = Batch::new();
        let a = v4(40);
        let mut b = vec![0u8; 60];
        b[0] = 0x60;
        b[4..6].copy_from_slice(&20u16.to_be_bytes());
        let packets: [&[u8]; 3] = [&a, &b, &[0u8; 3]];
        let got = batch
            .send(&packets, |msgs, count| {
                assert_eq!(count, 2, "the batch stops before the malformed packet");
                // SAFETY: `count` prepared messages.
                let msgs = unsafe { std::slice::from_raw_parts(msgs, count as usize) };
                for (m, (family, packet)) in msgs.iter().zip([(sys::AF_INET, &a), (sys::AF_INET6, &b)]) {
                    assert_eq!((m.msg_iovlen, m.msg_datalen, m.msg_flags), (2, 0, 0));
                    // SAFETY: two iovecs per message, each over live memory.
                    let (head, body) = unsafe {
                        let iov = std::slice::from_raw_parts(m.msg_iov, 2);
                        (
                            std::slice::from_raw_parts(iov[0].iov_base.cast::<u8>(), iov[0].iov_len),
                            std::slice::from_raw_parts(iov[1].iov_base.cast::<u8>(), iov[1].iov_len),
                        )
                    };
                    assert_eq!(head, family.to_be_bytes());
                    assert_eq!(body, &packet[..]);
                }
                Ok(1)
            })
            .unwrap();
        assert_eq!(got.unwrap(), 1, "what the kernel took");
        let bad: [&[u8]; 1] = [&[0u8; 3]];
        let err = batch.send(&bad, |_, _| unreachable!()).unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MalformedPacket);
    }
}
