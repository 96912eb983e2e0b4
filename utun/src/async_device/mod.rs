//! [`AsyncDevice`]: a [`Device`] for tokio, and (in `reactor`) its
//! registration with tokio's reactor.

mod reactor;

use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use tokio::io::Interest;
use tokio::runtime::Handle;

use self::reactor::{READ_INTEREST, Reactor, WRITE_INTEREST};
#[cfg(target_os = "linux")]
use crate::batch::Segmentation;
use crate::batch::{RecvBatch, SendBatch, SendCursor};
use crate::device::Device;
use crate::error::{Error, Op};

/// An async device for tokio (the `tokio` feature), at the
/// crate's root like every other type. (Not in a module named `tokio`: after
/// `use utun::*;` such a module makes `use tokio::...` ambiguous, error
/// E0659, between it and the tokio crate.) It is a
/// [`Device`] registered with tokio's reactor through
/// [`AsyncFd`](tokio::io::unix::AsyncFd), with the same calls as the
/// synchronous device: [`recv`](AsyncDevice::recv) and
/// [`send`](AsyncDevice::send) of plain IPv4 and IPv6 packets, and
/// [`recv_batch`](AsyncDevice::recv_batch) and
/// [`send_batch`](AsyncDevice::send_batch) of several.
///
/// Each call tries the system call first and waits for readiness only when
/// the kernel answers that it would block, so a packet that is already
/// waiting costs one `read` (`recvmsg` on macOS): no allocation, no
/// `epoll_wait`/`kevent`. (The 64th such read in a row also takes a lock and
/// leaves the reactor: see [`AsyncDevice`]'s *Reactor registration*.)
///
/// The calls take `&self`: one device serves several tasks at once, for
/// example a reader task and a writer task sharing it through an
/// [`Arc`](std::sync::Arc). There is no separate split type because none is
/// needed.
///
/// ```no_run
/// use std::sync::Arc;
/// use utun::AsyncDevice;
///
/// // Prints the length of every packet the device gives.
/// async fn reader(dev: Arc<AsyncDevice>) -> Result<(), utun::Error> {
///     let mut buf = [0u8; 1500];
///     loop {
///         let n = dev.recv(&mut buf).await?; // one IPv4 or IPv6 packet
///         println!("{n}-byte packet from {}", dev.get_ref().name().as_str());
///     }
/// }
///
/// #[tokio::main(flavor = "current_thread")]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     // Needs root.
///     let dev = Arc::new(AsyncDevice::new(utun::Device::new()?)?);
///     // A reader task and this writer share the device.
///     let reading = tokio::spawn(reader(Arc::clone(&dev)));
///     let mut packet = [0u8; 20]; // an IPv4 header, nothing else
///     packet[0] = 0x45;
///     packet[3] = 20;
///     dev.send(&packet).await?;
///     reading.await??; // the reader runs until the device fails
///     Ok(())
/// }
/// ```
///
/// Every method takes `&self`, and the type is `Send + Sync`: share it
/// between tasks by reference or through an [`Arc`](std::sync::Arc) (a reader task and a
/// writer task, say). Packets are never split or merged: each `recv`
/// returns one whole packet and each `send` writes one.
///
/// # Cancel safety
///
/// [`recv`](AsyncDevice::recv), [`recv_batch`](AsyncDevice::recv_batch) and
/// [`send`](AsyncDevice::send) are cancel safe
/// ([`send_batch`](AsyncDevice::send_batch) is not: see its documentation).
/// A packet is read or written only by a system call that completes within
/// a single poll, and the future returns its result from that same poll;
/// between polls it only waits for readiness. So dropping the future (in a
/// `tokio::select!` branch that loses, or on a timeout) never loses a
/// received packet and never writes part of one: either the call completed
/// and its future returned `Ready`, or nothing happened.
///
/// # Reactor registration
///
/// While a descriptor is registered with epoll (kqueue on macOS), the kernel
/// runs the reactor's wake-up callback for every packet queued on the
/// device, whether or not anybody waits: on Linux a measurable share of the
/// cost of moving a packet (see the raw loop registered with epoll in
/// [BENCHMARKS.md](https://github.com/utun-rs/utun/blob/main/BENCHMARKS.md)). A reader that keeps finding packets waiting does not need it. So
/// the device registers when [`new`](AsyncDevice::new) is called and stays
/// registered while calls have to wait; after 64 `recv`s in a row that found
/// a packet already waiting it leaves the reactor (one `epoll_ctl`), and the
/// next call that would block registers it again (one `epoll_ctl`) before
/// it waits. An idle or lightly loaded reader therefore pays nothing extra,
/// and a busy one at most two system calls per 64 packets instead of a
/// callback per packet. Registering again sees readiness that arrived in
/// between (epoll and kqueue report a descriptor that is already ready), so
/// no wake-up is lost. [`is_registered`](AsyncDevice::is_registered) tells
/// which state it is in.
///
/// # Runtime
///
/// Like tokio's own I/O types, the device belongs to the runtime it was
/// made in ([`new`](AsyncDevice::new)): it registers again with that
/// runtime's reactor, wherever the waiting call runs, and that runtime must
/// be running for a wait to end. Once it has shut down, a call that has to
/// wait fails with an error.
///
/// # Scheduling
///
/// The system call comes first, and the task waits for readiness only when
/// it would block. A task that receives in a loop while packets keep
/// arriving therefore does not return to the scheduler by itself (tokio's
/// cooperative budget is consumed only by readiness waits); on a
/// current-thread runtime with other work, add `tokio::task::yield_now()`
/// to such a loop now and then.
///
/// # Adopted and borrowed devices
///
/// Like [`Device`], it is generic over what holds the descriptor:
/// `AsyncDevice` (the default) over a device that owns it, created or
/// adopted ([`Device::from_fd`]), and `AsyncDevice<BorrowedFd<'fd>>` over a
/// [`BorrowedDevice`](crate::BorrowedDevice), which never closes it. A
/// borrowed descriptor is registered with the reactor for as long as the
/// async device lives, which its lifetime keeps within the owner's; note
/// that [`new`](AsyncDevice::new) sets `O_NONBLOCK` on the open file
/// description, which the owner shares.
///
/// ```no_run
/// # async fn f(fd: std::os::fd::BorrowedFd<'_>) -> Result<(), utun::Error> {
/// // `fd` belongs to someone else (an iOS Network Extension, say).
/// let dev = utun::AsyncDevice::new(utun::Device::borrow_fd(fd)?)?;
/// let mut buf = [0u8; 1500];
/// let n = dev.recv(&mut buf).await?;
/// drop(dev); // deregistered; the descriptor stays open
/// # Ok(()) }
/// ```
pub struct AsyncDevice<Fd: AsFd = OwnedFd> {
    // Declared before `device`, so it is dropped (deregistered) before the
    // device closes its descriptor.
    reactor: Reactor,
    device: Device<Fd>,
}

impl AsyncDevice {
    /// How many `recv`s in a row that found a packet already waiting make
    /// the device leave the reactor until it next has to wait (see
    /// [Reactor registration](AsyncDevice#reactor-registration)); the same
    /// for an async device over a borrowed descriptor.
    pub const RELEASE_AFTER: u32 = reactor::RELEASE_AFTER;
}

impl<Fd: AsFd> AsyncDevice<Fd> {
    /// Puts `device` in non-blocking mode and registers it with the tokio
    /// reactor of the current runtime, which it then belongs to (see
    /// [Runtime](AsyncDevice#runtime)). On failure the device is dropped
    /// (closed, if it owns its descriptor).
    ///
    /// # Panics
    ///
    /// When called outside a tokio runtime, or on a runtime built without
    /// its I/O driver (`enable_io`), as tokio's [`AsyncFd::new`](tokio::io::unix::AsyncFd::new) does.
    pub fn new(device: Device<Fd>) -> Result<AsyncDevice<Fd>, Error> {
        device.set_nonblocking(true)?;
        let reactor = Reactor::new(Handle::current());
        drop(reactor.hold(&device)?);
        Ok(AsyncDevice { reactor, device })
    }

    /// The device. Leave it in non-blocking mode: switched back to blocking
    /// ([`Device::set_nonblocking`]), `recv` would block the runtime's thread.
    pub fn get_ref(&self) -> &Device<Fd> {
        &self.device
    }

    /// Deregisters the device from the reactor and returns it. It stays in
    /// non-blocking mode ([`Device::set_nonblocking`] switches it back).
    ///
    /// A `recv` or `send` future that was waiting and was leaked
    /// ([`mem::forget`](std::mem::forget)) instead of dropped keeps the
    /// registration alive: the descriptor then stays in the reactor's set,
    /// and registering it again (another [`AsyncDevice::new`]) fails with
    /// [`ErrorKind::AlreadyExists`](crate::ErrorKind::AlreadyExists).
    pub fn into_inner(self) -> Device<Fd> {
        let AsyncDevice { reactor, device } = self;
        drop(reactor);
        device
    }

    /// Reads one packet into `buf` and returns its length, waiting until one
    /// arrives. Errors as [`Device::recv`]: a packet larger than `buf` is an
    /// [`ErrorKind::BufferTooSmall`](crate::ErrorKind::BufferTooSmall) error
    /// (the kernel has dropped it), never a truncated packet; an empty `buf`
    /// is an [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)
    /// error at once, without waiting.
    ///
    /// Cancel safe (see [the type's documentation](AsyncDevice#cancel-safety)).
    pub async fn recv(&self, buf: &mut [u8]) -> Result<usize, Error> {
        match self.device.recv(buf) {
            Err(e) if e.is_would_block() => {}
            done => {
                if done.is_ok() {
                    self.reactor.found_ready();
                }
                return done;
            }
        }
        self.wait_then(Op::Recv, READ_INTEREST, |dev| dev.recv(buf)).await
    }

    /// Reads the packets that wait into `bufs`, waiting until one arrives;
    /// returns how many ([`Device::recv_batch`], with its errors: on a Linux
    /// offload device one read split into its segments, otherwise every
    /// packet that waits, as many as `bufs` holds).
    ///
    /// Cancel safe (see [the type's documentation](AsyncDevice#cancel-safety)).
    pub async fn recv_batch<B: AsMut<[u8]>>(
        &self,
        scratch: &mut RecvBatch,
        bufs: &mut [B],
        sizes: &mut [usize],
    ) -> Result<usize, Error> {
        match self.device.recv_batch(scratch, bufs, sizes) {
            Err(e) if e.is_would_block() => {}
            done => {
                if done.is_ok() {
                    self.reactor.found_ready();
                }
                return done;
            }
        }
        self.wait_then(Op::Recv, READ_INTEREST, |dev| dev.recv_batch(scratch, bufs, sizes)).await
    }

    /// Linux offload device: reads one packet whole into `buf`, a GSO
    /// packet not split, waiting until one arrives
    /// ([`Device::recv_gso`], with its errors).
    ///
    /// Cancel safe (see [the type's documentation](AsyncDevice#cancel-safety)).
    #[cfg(target_os = "linux")]
    pub async fn recv_gso(&self, buf: &mut [u8]) -> Result<(usize, Segmentation), Error> {
        match self.device.recv_gso(buf) {
            Err(e) if e.is_would_block() => {}
            done => {
                if done.is_ok() {
                    self.reactor.found_ready();
                }
                return done;
            }
        }
        let mut segmentation = Segmentation::None;
        let n = self
            .wait_then(Op::Recv, READ_INTEREST, |dev| {
                let (n, s) = dev.recv_gso(buf)?;
                segmentation = s;
                Ok(n)
            })
            .await?;
        Ok((n, segmentation))
    }

    /// Linux offload device: writes `packet` whole, for the kernel to cut as
    /// `segmentation` says, waiting while the kernel has no room for it
    /// ([`Device::send_gso`], with its errors).
    ///
    /// Cancel safe (see [the type's documentation](AsyncDevice#cancel-safety)).
    #[cfg(target_os = "linux")]
    pub async fn send_gso(&self, packet: &[u8], segmentation: Segmentation) -> Result<usize, Error> {
        match self.device.send_gso(packet, segmentation) {
            Err(e) if e.is_would_block() => {}
            done => return done,
        }
        self.wait_then(Op::Send, WRITE_INTEREST, |dev| dev.send_gso(packet, segmentation)).await
    }

    /// Writes one IPv4 or IPv6 packet and returns its length, waiting while
    /// the kernel has no room for it. Errors as [`Device::send`].
    ///
    /// Cancel safe (see [the type's documentation](AsyncDevice#cancel-safety)).
    pub async fn send(&self, packet: &[u8]) -> Result<usize, Error> {
        match self.device.send(packet) {
            Err(e) if e.is_would_block() => {}
            done => return done,
        }
        self.wait_then(Op::Send, WRITE_INTEREST, |dev| dev.send(packet)).await
    }

    /// Writes `packets`, waiting while the kernel has no room, and returns
    /// how many (all of them): [`Device::send_batch`], with its merging on a
    /// Linux offload device, its `sendmsg_x` on macOS, and its errors. Where
    /// a write would block part-way, it waits until the device is writable
    /// and goes on with what was not written: the records an offload batch
    /// was merged into are kept in `scratch` and written from the first one
    /// not written, so no packet is written twice and none is left out.
    ///
    /// No allocation once `scratch` has served a batch as large.
    ///
    /// ```no_run
    /// # async fn f(dev: &utun::AsyncDevice, packets: &[Vec<u8>]) -> Result<(), utun::Error> {
    /// let mut scratch = utun::SendBatch::new(); // kept for the next batches
    /// let n = dev.send_batch(&mut scratch, packets).await?;
    /// assert_eq!(n, packets.len());
    /// # Ok(()) }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe as [`send`](AsyncDevice::send) is: a batch can take
    /// several writes with waits between them. Dropped while it waits, the
    /// future leaves written what it wrote (each packet whole, and once) and
    /// the rest unwritten, and does not say how far it got: the first
    /// packets, up to some point, were written, and on a Linux offload
    /// device also the later segments of their flows that were merged with
    /// them. Where that matters, let the future finish (a timeout around it
    /// can lose track in the same way), or send one packet a
    /// [`send`](AsyncDevice::send).
    pub async fn send_batch<B: AsRef<[u8]>>(&self, scratch: &mut SendBatch, packets: &[B]) -> Result<usize, Error> {
        let mut cursor = SendCursor::default();
        match self.device.send_batch_from(scratch, packets, &mut cursor) {
            Err(e) if e.is_would_block() => {}
            done => return done.map(|()| packets.len()),
        }
        self.wait_then(Op::Send, WRITE_INTEREST, |dev| {
            dev.send_batch_from(scratch, packets, &mut cursor).map(|()| packets.len())
        })
        .await
    }

    /// Waits for `interest`, registered with the reactor, and retries `io`
    /// until it does not answer `WouldBlock`.
    async fn wait_then(
        &self,
        op: Op,
        interest: Interest,
        mut io: impl FnMut(&Device<Fd>) -> Result<usize, Error>,
    ) -> Result<usize, Error> {
        let held = self.reactor.hold(&self.device)?;
        loop {
            let mut ready =
                held.fd().ready(interest).await.map_err(|e| reactor::wait_failed(op, self.device.name(), e))?;
            match io(&self.device) {
                // The readiness was stale: forget it, then wait for the next one.
                Err(e) if e.is_would_block() => ready.clear_ready(),
                done => return done,
            }
        }
    }

    /// Reads one packet if one is waiting; an
    /// [`ErrorKind::WouldBlock`](crate::ErrorKind::WouldBlock) error when none is.
    pub fn try_recv(&self, buf: &mut [u8]) -> Result<usize, Error> {
        self.device.recv(buf)
    }

    /// Writes one packet if the kernel has room for it now; an
    /// [`ErrorKind::WouldBlock`](crate::ErrorKind::WouldBlock) error when not.
    pub fn try_send(&self, packet: &[u8]) -> Result<usize, Error> {
        self.device.send(packet)
    }

    /// Whether the device is registered with the reactor right now (see
    /// [the type's documentation](AsyncDevice#reactor-registration)).
    pub fn is_registered(&self) -> bool {
        self.reactor.is_registered()
    }
}

impl<Fd: AsFd + fmt::Debug> fmt::Debug for AsyncDevice<Fd> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncDevice").field("device", &self.device).field("registered", &self.is_registered()).finish()
    }
}

impl<Fd: AsFd> AsFd for AsyncDevice<Fd> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.device.as_fd()
    }
}

impl<Fd: AsFd> AsRawFd for AsyncDevice<Fd> {
    fn as_raw_fd(&self) -> RawFd {
        self.device.as_raw_fd()
    }
}
