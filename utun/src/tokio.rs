//! An async device for tokio (the `tokio` feature): [`AsyncDevice`], a
//! [`Device`] registered with tokio's reactor through
//! [`AsyncFd`], with the same calls as the
//! synchronous device: [`recv`](AsyncDevice::recv) and
//! [`send`](AsyncDevice::send) of plain IPv4 and IPv6 packets.
//!
//! Each call tries the system call first and waits for readiness only when
//! the kernel answers that it would block, so a packet that is already
//! waiting costs one `read` (`recvmsg` on macOS): no allocation, no
//! `epoll_wait`/`kevent`. (The 64th such read in a row also takes a lock and
//! leaves the reactor: see [`AsyncDevice`]'s *Reactor registration*.)
//!
//! The calls take `&self`: one device serves several tasks at once, for
//! example a reader task and a writer task sharing it through an
//! [`Arc`]. There is no separate split type because none is
//! needed.
//!
//! ```no_run
//! use std::sync::Arc;
//! use utun::tokio::AsyncDevice;
//!
//! // Prints the length of every packet the device gives.
//! async fn reader(dev: Arc<AsyncDevice>) -> Result<(), utun::Error> {
//!     let mut buf = [0u8; 1500];
//!     loop {
//!         let n = dev.recv(&mut buf).await?; // one IPv4 or IPv6 packet
//!         println!("{n}-byte packet from {}", dev.get_ref().name().as_str());
//!     }
//! }
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // Needs root.
//!     let dev = Arc::new(AsyncDevice::new(utun::Device::new()?)?);
//!     // A reader task and this writer share the device.
//!     let reading = tokio::spawn(reader(Arc::clone(&dev)));
//!     let mut packet = [0u8; 20]; // an IPv4 header, nothing else
//!     packet[0] = 0x45;
//!     packet[3] = 20;
//!     dev.send(&packet).await?;
//!     reading.await??; // the reader runs until the device fails
//!     Ok(())
//! }
//! ```

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ::tokio::io::Interest;
use ::tokio::io::unix::AsyncFd;
use ::tokio::runtime::Handle;

use crate::device::Device;
use crate::error::{Error, Op};

/// What a reader waits for. On Linux a tun descriptor whose interface was
/// deleted reports only `EPOLLERR` (drivers/net/tun.c, `tun_chr_poll`), which
/// a `READABLE`-only waiter would never see: waiting for `ERROR` too lets the
/// next `recv` return the error instead of hanging.
#[cfg(target_os = "linux")]
const READ_INTEREST: Interest = Interest::READABLE.add(Interest::ERROR);
#[cfg(not(target_os = "linux"))]
const READ_INTEREST: Interest = Interest::READABLE;

/// What a writer waits for (see `READ_INTEREST`).
#[cfg(target_os = "linux")]
const WRITE_INTEREST: Interest = Interest::WRITABLE.add(Interest::ERROR);
#[cfg(not(target_os = "linux"))]
const WRITE_INTEREST: Interest = Interest::WRITABLE;

/// What the device registers for: everything a reader or a writer waits for.
const INTEREST: Interest = READ_INTEREST.add(WRITE_INTEREST);

/// After this many `recv`s in a row that found a packet already waiting,
/// the device leaves the reactor until it next has to wait (see
/// [the type's documentation](AsyncDevice#reactor-registration)).
const RELEASE_AFTER: u32 = 64;

/// A [`Device`] for tokio: `recv`/`send` of plain IP packets as futures.
///
/// Every method takes `&self`, and the type is `Send + Sync`: share it
/// between tasks by reference or through an [`Arc`] (a reader task and a
/// writer task, say). Packets are never split or merged: each `recv`
/// returns one whole packet and each `send` writes one.
///
/// # Cancel safety
///
/// [`recv`](AsyncDevice::recv) and [`send`](AsyncDevice::send) are cancel
/// safe. A packet is read or written only by a system call that completes
/// within a single poll, and the future returns its result from that same
/// poll; between polls it only waits for readiness. So dropping the future
/// (in a `tokio::select!` branch that loses, or on a timeout) never loses a
/// received packet and never writes part of one: either the call completed
/// and its future returned `Ready`, or nothing happened.
///
/// # Reactor registration
///
/// While a descriptor is registered with epoll (kqueue on macOS), the kernel
/// runs the reactor's wake-up callback for every packet queued on the
/// device, whether or not anybody waits: on Linux that is about 7% of the
/// cost of moving a packet (see BENCHMARKS.md, the raw loop registered with
/// epoll). A reader that keeps finding packets waiting does not need it. So
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
pub struct AsyncDevice {
    // Declared before `device`, so it is dropped (deregistered) before the
    // device closes its descriptor.
    reactor: Reactor,
    device: Device,
}

impl AsyncDevice {
    /// How many `recv`s in a row that found a packet already waiting make
    /// the device leave the reactor until it next has to wait (see
    /// [Reactor registration](AsyncDevice#reactor-registration)).
    pub const RELEASE_AFTER: u32 = RELEASE_AFTER;

    /// Puts `device` in non-blocking mode and registers it with the tokio
    /// reactor of the current runtime, which it then belongs to (see
    /// [Runtime](AsyncDevice#runtime)). On failure the device is dropped
    /// (closed).
    ///
    /// # Panics
    ///
    /// When called outside a tokio runtime, or on a runtime built without
    /// its I/O driver (`enable_io`), as [`AsyncFd::register`] does.
    pub fn new(device: Device) -> Result<AsyncDevice, Error> {
        device.set_nonblocking(true)?;
        let reactor = Reactor::new(Handle::current());
        drop(reactor.hold(&device)?);
        Ok(AsyncDevice { reactor, device })
    }

    /// The device. Leave it in non-blocking mode: switched back to blocking
    /// ([`Device::set_nonblocking`]), `recv` would block the runtime's thread.
    pub fn get_ref(&self) -> &Device {
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
    pub fn into_inner(self) -> Device {
        let AsyncDevice { reactor, device } = self;
        drop(reactor);
        device
    }

    /// Reads one packet into `buf` and returns its length, waiting until one
    /// arrives. Errors as [`Device::recv`]: a packet larger than `buf` is an
    /// [`ErrorKind::BufferTooSmall`](crate::ErrorKind::BufferTooSmall) error
    /// (the kernel has dropped it), never a truncated packet.
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

    /// Waits for `interest`, registered with the reactor, and retries `io`
    /// until it does not answer `WouldBlock`.
    async fn wait_then(
        &self,
        op: Op,
        interest: Interest,
        mut io: impl FnMut(&Device) -> Result<usize, Error>,
    ) -> Result<usize, Error> {
        let held = self.reactor.hold(&self.device)?;
        loop {
            let mut ready = held.fd().ready(interest).await.map_err(|e| wait_failed(op, &self.device, e))?;
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
        self.reactor.lock().fd.is_some()
    }
}

impl fmt::Debug for AsyncDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncDevice").field("device", &self.device).field("registered", &self.is_registered()).finish()
    }
}

/// The device's descriptor as the reactor sees it: a number, borrowed from
/// the [`Device`] of the [`AsyncDevice`] that holds the registration.
struct Fd(RawFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// The registration with the reactor, present or not. Every change to it,
/// and every drop of a clone of the registration, happens under the mutex,
/// so that a registration is gone (deregistered) before another is made.
struct Reactor {
    /// The runtime whose reactor the device registers with.
    runtime: Handle,
    state: Mutex<State>,
    /// `recv`s in a row that found a packet waiting, up to [`RELEASE_AFTER`].
    streak: AtomicU32,
}

struct State {
    /// The registration: one clone here, one per waiting call.
    fd: Option<Arc<AsyncFd<Fd>>>,
    /// Whether it is to be kept; when not, the last waiting call drops it.
    wanted: bool,
}

impl State {
    /// Drops (deregisters) the registration if it is not wanted and no
    /// waiting call holds a clone.
    fn drop_if_unused(&mut self) {
        if !self.wanted && self.fd.as_ref().is_some_and(|fd| Arc::strong_count(fd) == 1) {
            self.fd = None;
        }
    }
}

impl Reactor {
    fn new(runtime: Handle) -> Reactor {
        Reactor { runtime, state: Mutex::new(State { fd: None, wanted: false }), streak: AtomicU32::new(0) }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Registering panics on a runtime built without its I/O driver; the
        // state a panic leaves behind is consistent, so a poisoned lock is
        // still good.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The registration for a call about to wait, made if there is none.
    fn hold(&self, device: &Device) -> Result<Held<'_>, Error> {
        let mut state = self.lock();
        state.wanted = true;
        // After `wanted`, under the lock: a `found_ready` that raced this
        // call either released before it (and this call registers again) or
        // releases after this reset (and the streak starts over), never
        // leaving a wanted registration with a full streak.
        self.streak.store(0, Ordering::Relaxed);
        let fd = match &state.fd {
            Some(fd) => Arc::clone(fd),
            None => {
                let fd = Arc::new(register(device, &self.runtime)?);
                state.fd = Some(Arc::clone(&fd));
                fd
            }
        };
        Ok(Held { reactor: self, fd: Some(fd) })
    }

    /// Counts a `recv` that did not have to wait; the [`RELEASE_AFTER`]th in
    /// a row releases the registration. (A plain load and store: two calls
    /// racing may count one, which only delays the release.)
    #[inline(always)]
    fn found_ready(&self) {
        let n = self.streak.load(Ordering::Relaxed);
        if n < RELEASE_AFTER {
            self.streak.store(n + 1, Ordering::Relaxed);
            if n + 1 == RELEASE_AFTER {
                self.release();
            }
        }
    }

    /// Drops the registration now if no call waits on it, or else when the
    /// last waiting call ends.
    #[cold]
    #[inline(never)]
    fn release(&self) {
        let mut state = self.lock();
        state.wanted = false;
        state.drop_if_unused();
    }
}

/// A waiting call's clone of the registration; dropped under the lock.
struct Held<'a> {
    reactor: &'a Reactor,
    fd: Option<Arc<AsyncFd<Fd>>>,
}

impl Held<'_> {
    fn fd(&self) -> &AsyncFd<Fd> {
        // `Some` from `hold` until `drop` takes it.
        self.fd.as_deref().expect("a held registration")
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let mut state = self.reactor.lock();
        drop(self.fd.take());
        state.drop_if_unused();
    }
}

/// Registers the device's descriptor with the reactor of `runtime`.
fn register(device: &Device, runtime: &Handle) -> Result<AsyncFd<Fd>, Error> {
    let fd = Fd(device.as_fd().as_raw_fd());
    let _in_runtime = runtime.enter();
    // SAFETY: the descriptor stays open and the same while the registration lives: `AsyncDevice`
    // drops its `Reactor` and every clone before `Device` closes it (a leaked clone is never used).
    let registered = unsafe { AsyncFd::register_with_interest(fd, INTEREST) };
    registered.map_err(|e| {
        let (_fd, err) = e.into_parts();
        Error::os(Op::SetDeviceOption, err).about("registering with the tokio reactor").on(device.name())
    })
}

/// The error of a failed readiness wait (the runtime is shutting down, say).
fn wait_failed(op: Op, dev: &Device, err: io::Error) -> Error {
    Error::os(op, err).about("waiting for readiness").on(dev.name())
}

impl AsFd for AsyncDevice {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.device.as_fd()
    }
}

impl AsRawFd for AsyncDevice {
    fn as_raw_fd(&self) -> RawFd {
        self.device.as_raw_fd()
    }
}

/// Against a real tun device in a network namespace of its own: needs root,
/// so they are `#[ignore]`d (reported as ignored, never as passed, on a
/// plain `cargo test`); `cargo xtask ci` runs them with `-- --ignored`, and
/// there a machine that cannot run them is a failure.
#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
    use std::os::fd::AsRawFd as _;
    use std::sync::{Arc, mpsc};
    use std::time::Duration;

    use ::tokio::runtime::Runtime;

    use super::AsyncDevice;
    use crate::{ErrorKind, InterfaceAddress, TunBuilder};

    const LOCAL: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    /// Whether this process may create network namespaces and tun devices.
    fn is_root() -> bool {
        // SAFETY: geteuid takes no arguments and cannot fail.
        unsafe { libc::geteuid() == 0 }
    }

    /// Moves the calling thread into a new network namespace, with IPv6 off
    /// (so the kernel sends no solicitations of its own into the device).
    fn unshare_net() -> bool {
        // SAFETY: unshare takes only flags; CLONE_NEWNET affects this thread alone.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            return false;
        }
        for conf in ["all", "default"] {
            let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{conf}/disable_ipv6"), "1");
        }
        true
    }

    /// Runs `test` on a thread of its own in a new network namespace, with a
    /// device (10.0.0.1 peer 10.0.0.2, up) and a UDP socket bound to
    /// 10.0.0.1, on a current-thread runtime; fails after 20 s.
    fn run(test: impl FnOnce(AsyncDevice, UdpSocket, &Runtime) + Send + 'static) {
        run_on(::tokio::runtime::Builder::new_current_thread(), test)
    }

    /// [`run`] on a runtime from `builder`.
    fn run_on(
        mut builder: ::tokio::runtime::Builder,
        test: impl FnOnce(AsyncDevice, UdpSocket, &Runtime) + Send + 'static,
    ) {
        let (done, finished) = mpsc::channel();
        std::thread::spawn(move || {
            if !is_root() || !unshare_net() {
                let _ = done.send(false);
                return;
            }
            let runtime = builder.enable_io().enable_time().build().expect("a runtime");
            let address = InterfaceAddress::new(LOCAL.into(), 32).and_then(|a| a.with_peer(PEER.into()));
            let tun = TunBuilder::new().address(address.expect("an address")).build().expect("a device");
            let (device, _cleanup) = tun.into_parts();
            let socket = UdpSocket::bind((LOCAL, 0)).expect("a socket");
            socket.set_read_timeout(Some(Duration::from_secs(5))).expect("a timeout");
            let _guard = runtime.enter();
            test(AsyncDevice::new(device).expect("registered"), socket, &runtime);
            let _ = done.send(true);
        });
        match finished.recv_timeout(Duration::from_secs(20)) {
            Ok(true) => {}
            Ok(false) => panic!("this test needs root and a network namespace, and has neither"),
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("the test did not finish within 20 s"),
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the test thread panicked"),
        }
    }

    /// Whether descriptor `fd` of this process is in an epoll set, as the
    /// kernel lists them in /proc/self/fdinfo (a `tfd:` line per target).
    fn in_an_epoll_set(fd: i32) -> bool {
        let fds = std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd");
        fds.filter_map(Result::ok)
            .filter(|entry| std::fs::read_link(entry.path()).is_ok_and(|t| t.as_os_str() == "anon_inode:[eventpoll]"))
            .any(|epoll| {
                let info =
                    std::fs::read_to_string(format!("/proc/self/fdinfo/{}", epoll.file_name().to_string_lossy()));
                info.is_ok_and(|info| {
                    info.lines().any(|line| {
                        let mut words = line.split_whitespace();
                        words.next() == Some("tfd:") && words.next() == Some(fd.to_string().as_str())
                    })
                })
            })
    }

    /// Sends `count` datagrams to the peer (so queued on the device) and
    /// reads them back with `recv` calls that find each one waiting.
    fn queue_and_read(dev: &AsyncDevice, socket: &UdpSocket, rt: &Runtime, count: usize) {
        for i in 0..count {
            socket.send_to(&(i as u32).to_be_bytes(), (PEER, 9)).expect("sent");
        }
        let mut buf = [0u8; 1500];
        for i in 0..count {
            let n = rt.block_on(dev.recv(&mut buf)).expect("a queued packet");
            assert_eq!(&buf[n - 4..n], &(i as u32).to_be_bytes(), "in order, none lost");
        }
    }

    /// A `recv` that has to wait, woken by a datagram sent while it waits.
    fn recv_after_waiting(dev: &AsyncDevice, socket: &UdpSocket, rt: &Runtime) -> Result<usize, crate::Error> {
        let mut buf = [0u8; 1500];
        let (n, ()) = rt.block_on(async {
            ::tokio::join!(::tokio::time::timeout(Duration::from_secs(5), dev.recv(&mut buf)), async {
                ::tokio::task::yield_now().await;
                socket.send_to(b"wake", (PEER, 9)).expect("sent");
            })
        });
        let n = n.expect("woken within 5 s")?;
        assert_eq!(&buf[n - 4..n], b"wake");
        Ok(n)
    }

    /// An IPv4/UDP packet from PEER:9 to `to` carrying `payload` (header
    /// checksum set, no UDP checksum).
    fn udp_from_peer(to: SocketAddr, payload: &[u8]) -> Vec<u8> {
        let SocketAddr::V4(to) = to else { panic!("an IPv4 address") };
        let len = 28 + payload.len();
        let mut p = vec![0u8; len];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        p[8] = 64;
        p[9] = 17;
        p[12..16].copy_from_slice(&PEER.octets());
        p[16..20].copy_from_slice(&to.ip().octets());
        let mut sum: u32 = p[..20].chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], c[1]]))).sum();
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        p[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
        p[20..22].copy_from_slice(&9u16.to_be_bytes());
        p[22..24].copy_from_slice(&to.port().to_be_bytes());
        p[24..26].copy_from_slice(&((len - 20) as u16).to_be_bytes());
        p[28..].copy_from_slice(payload);
        p
    }

    #[test]
    #[ignore = "needs root and a network namespace: cargo xtask ci runs it with --ignored"]
    fn recv_waits_for_a_packet_and_send_delivers_one() {
        run(|dev, socket, rt| {
            let mut buf = [0u8; 1500];
            // recv finds nothing, waits for readiness; the datagram sent
            // after it started waiting wakes it.
            let (n, sent) = rt.block_on(async {
                ::tokio::join!(dev.recv(&mut buf), async {
                    ::tokio::task::yield_now().await;
                    socket.send_to(b"to the peer", (PEER, 9))
                })
            });
            let n = n.expect("a packet");
            sent.expect("sent");
            assert_eq!(buf[0] >> 4, 4);
            assert_eq!(&buf[n - 11..n], b"to the peer");
            // A packet written into the device reaches the local socket.
            let packet = udp_from_peer(socket.local_addr().expect("bound"), b"from the peer");
            assert_eq!(rt.block_on(dev.send(&packet)).expect("written"), packet.len());
            let mut got = [0u8; 64];
            let (len, from) = socket.recv_from(&mut got).expect("delivered");
            assert_eq!((&got[..len], from), (&b"from the peer"[..], SocketAddr::from((PEER, 9))));
        });
    }

    #[test]
    #[ignore = "needs root and a network namespace: cargo xtask ci runs it with --ignored"]
    fn try_recv_without_a_packet_would_block() {
        run(|dev, _socket, _rt| {
            let mut buf = [0u8; 1500];
            assert_eq!(dev.try_recv(&mut buf).map_err(|e| e.kind()), Err(ErrorKind::WouldBlock));
        });
    }

    #[test]
    #[ignore = "needs root and a network namespace: cargo xtask ci runs it with --ignored"]
    fn a_recv_dropped_while_waiting_loses_no_packet() {
        run(|dev, socket, rt| {
            let mut buf = [0u8; 1500];
            rt.block_on(async {
                // The recv starts waiting, then loses the race and is dropped.
                ::tokio::select! {
                    biased;
                    _ = dev.recv(&mut buf) => panic!("no packet was sent yet"),
                    _ = ::tokio::task::yield_now() => {}
                }
            });
            socket.send_to(b"after the drop", (PEER, 9)).expect("sent");
            let n = rt.block_on(dev.recv(&mut buf)).expect("the packet");
            assert_eq!(&buf[n - 14..n], b"after the drop");
        });
    }

    #[test]
    #[ignore = "needs root and a network namespace: cargo xtask ci runs it with --ignored"]
    fn a_reader_task_and_a_writer_share_the_device() {
        run(|dev, socket, rt| {
            let dev = Arc::new(dev);
            let reader = Arc::clone(&dev);
            let local = socket.local_addr().expect("bound");
            rt.block_on(async move {
                let reading = ::tokio::spawn(async move {
                    let mut buf = [0u8; 1500];
                    let mut seen = 0;
                    while seen < 3 {
                        let n = reader.recv(&mut buf).await.expect("a packet");
                        if &buf[n - 4..n] == b"ping" {
                            seen += 1;
                        }
                    }
                });
                for _ in 0..3 {
                    socket.send_to(b"ping", (PEER, 9)).expect("sent");
                    let packet = udp_from_peer(local, b"pong");
                    dev.send(&packet).await.expect("written");
                    ::tokio::task::yield_now().await;
                }
                reading.await.expect("the reader finished");
                let mut got = [0u8; 8];
                for _ in 0..3 {
                    let (len, _) = socket.recv_from(&mut got).expect("delivered");
                    assert_eq!(&got[..len], b"pong");
                }
            });
        });
    }

    #[test]
    #[ignore = "needs root and a network namespace: cargo xtask ci runs it with --ignored"]
    fn deleting_the_interface_ends_a_waiting_recv() {
        run(|dev, _socket, rt| {
            let name = dev.get_ref().name();
            let mut buf = [0u8; 1500];
            let result = rt.block_on(async {
                ::tokio::join!(dev.recv(&mut buf), async {
                    ::tokio::task::yield_now().await;
                    // The kernel reports a deleted tun's descriptor only as
                    // EPOLLERR: a waiter that wanted READABLE alone would hang.
                    let status = std::process::Command::new("ip").args(["link", "del", name.as_str()]).status();
                    assert!(status.is_ok_and(|s| s.success()), "ip link del {}", name.as_str());
                })
                .0
            });
            assert!(result.is_err(), "{result:?}");
        });
    }

    #[test]
    #[ignore = "needs root and a network namespace: cargo xtask ci runs it with --ignored"]
    fn a_busy_reader_leaves_the_reactor_and_a_waiting_one_comes_back() {
        run(|dev, socket, rt| {
            let fd = dev.as_raw_fd();
            assert!(dev.is_registered() && in_an_epoll_set(fd), "registered by new");
            let mut buf = [0u8; 1500];
            // Packets already queued: every recv finds one waiting.
            let queued = AsyncDevice::RELEASE_AFTER as usize + 10;
            for i in 0..queued {
                socket.send_to(&(i as u32).to_be_bytes(), (PEER, 9)).expect("sent");
            }
            for i in 0..queued {
                let n = rt.block_on(dev.recv(&mut buf)).expect("a queued packet");
                assert_eq!(&buf[n - 4..n], &(i as u32).to_be_bytes(), "in order, none lost");
                let left = i + 1 >= AsyncDevice::RELEASE_AFTER as usize;
                assert_eq!(dev.is_registered(), !left, "after {} reads", i + 1);
                assert_eq!(in_an_epoll_set(fd), !left, "the kernel's epoll set after {} reads", i + 1);
            }
            // Nothing queued: the next recv registers again, waits, and is
            // woken by the packet sent while it waits.
            let (n, seen) = rt.block_on(async {
                ::tokio::join!(dev.recv(&mut buf), async {
                    ::tokio::task::yield_now().await;
                    let seen = (dev.is_registered(), in_an_epoll_set(fd));
                    socket.send_to(b"wake", (PEER, 9)).expect("sent");
                    seen
                })
            });
            assert_eq!(seen, (true, true), "registered while waiting");
            let n = n.expect("the packet sent while it waited");
            assert_eq!(&buf[n - 4..n], b"wake");
            assert!(dev.is_registered() && in_an_epoll_set(fd), "stays registered after a wait");
            // Taking the device back deregisters it (its descriptor stays open).
            let device = dev.into_inner();
            assert_eq!(device.as_raw_fd(), fd);
            assert!(!in_an_epoll_set(fd), "deregistered by into_inner");
        });
    }

    #[test]
    #[ignore = "needs root and a network namespace: cargo xtask ci runs it with --ignored"]
    fn two_readers_on_a_multi_thread_runtime_get_every_packet_through_releases_and_waits() {
        let mut builder = ::tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(2);
        run_on(builder, |dev, socket, rt| {
            use std::sync::atomic::{AtomicUsize, Ordering};
            let dev = Arc::new(dev);
            let received = Arc::new(AtomicUsize::new(0));
            let released = Arc::new(AtomicUsize::new(0));
            let readers: Vec<_> = (0..2)
                .map(|_| {
                    let (dev, received, released) = (Arc::clone(&dev), Arc::clone(&received), Arc::clone(&released));
                    rt.spawn(async move {
                        let mut buf = [0u8; 1500];
                        loop {
                            let n = dev.recv(&mut buf).await.expect("a packet");
                            if &buf[n - 4..n] == b"stop" {
                                return;
                            }
                            received.fetch_add(1, Ordering::SeqCst);
                            if !dev.is_registered() {
                                released.fetch_add(1, Ordering::SeqCst);
                            }
                            // Slower than the sender, so that a burst queues
                            // up and the readers find packets waiting.
                            std::thread::sleep(Duration::from_micros(50));
                        }
                    })
                })
                .collect();
            // Bursts of every size around the release threshold, each
            // drained before the next: the readers keep crossing between
            // waiting (registered) and streaking (released).
            let mut sent = 0;
            for burst in [1, 200, 3, 64, 65, 1, 1, 130, 2, 90, 1, 300, 5] {
                for _ in 0..burst {
                    socket.send_to(b"data", (PEER, 9)).expect("sent");
                }
                sent += burst;
                let deadline = std::time::Instant::now() + Duration::from_secs(5);
                while received.load(Ordering::SeqCst) < sent {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "{} of {sent} packets",
                        received.load(Ordering::SeqCst)
                    );
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            assert_eq!(received.load(Ordering::SeqCst), sent, "no packet lost or read twice");
            assert!(released.load(Ordering::SeqCst) > 0, "the long bursts released the registration");
            for _ in 0..2 {
                socket.send_to(b"stop", (PEER, 9)).expect("sent");
            }
            rt.block_on(async {
                for reader in readers {
                    ::tokio::time::timeout(Duration::from_secs(5), reader)
                        .await
                        .expect("both readers were woken for their last packet")
                        .expect("the reader finished");
                }
            });
        });
    }

    #[test]
    #[ignore = "needs root and a network namespace: cargo xtask ci runs it with --ignored"]
    fn a_registration_a_waiting_call_holds_outlives_a_release() {
        run(|dev, socket, rt| {
            use std::future::Future as _;
            use std::task::{Context, Poll, Waker};
            let fd = dev.as_raw_fd();
            // A recv that waits (polled once, then left pending) holds the registration.
            let mut parked_buf = [0u8; 1500];
            let mut parked = Box::pin(dev.recv(&mut parked_buf));
            let mut cx = Context::from_waker(Waker::noop());
            assert!(parked.as_mut().poll(&mut cx).is_pending(), "nothing queued yet");
            // Another caller's busy streak releases it, but the waiting call
            // keeps it registered.
            queue_and_read(&dev, &socket, rt, AsyncDevice::RELEASE_AFTER as usize);
            assert!(dev.is_registered() && in_an_epoll_set(fd), "still held by the waiting recv");
            // A call that now has to wait uses that registration (registering
            // the descriptor a second time would fail with EEXIST) and is woken.
            recv_after_waiting(&dev, &socket, rt).expect("woken through the held registration");
            match parked.as_mut().poll(&mut cx) {
                Poll::Pending => {}
                Poll::Ready(result) => panic!("the parked recv got {result:?}; the packet was the other call's"),
            }
            drop(parked);
            assert!(dev.is_registered() && in_an_epoll_set(fd), "wanted by the last wait");
        });
    }

    #[test]
    #[ignore = "needs root and a network namespace: cargo xtask ci runs it with --ignored"]
    fn registering_again_sees_a_packet_that_came_in_between() {
        run(|dev, socket, rt| {
            queue_and_read(&dev, &socket, rt, AsyncDevice::RELEASE_AFTER as usize);
            assert!(!dev.is_registered(), "released");
            // A packet arrives while the device is not registered: no epoll
            // callback runs for it. Registering afterwards must still report it.
            socket.send_to(b"between", (PEER, 9)).expect("sent");
            let held = dev.reactor.hold(&dev.device).expect("registered again");
            let ready =
                rt.block_on(::tokio::time::timeout(Duration::from_secs(2), held.fd().ready(super::READ_INTEREST)));
            let ready = ready.expect("readable at once, not after a timeout").expect("no reactor error");
            assert!(ready.ready().is_readable());
        });
    }

    #[test]
    #[ignore = "needs root and a network namespace: cargo xtask ci runs it with --ignored"]
    fn the_device_registers_again_with_the_runtime_it_was_made_in() {
        run(|dev, socket, other| {
            // Made again in a runtime of its own, used from `other`.
            let device = dev.into_inner();
            let home = ::tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build();
            let home = home.expect("a runtime");
            let dev = {
                let _in_home = home.enter();
                AsyncDevice::new(device).expect("registered")
            };
            // Released, then registered again for a wait on `other`: woken,
            // since `home` is running.
            queue_and_read(&dev, &socket, other, AsyncDevice::RELEASE_AFTER as usize);
            assert!(!dev.is_registered());
            recv_after_waiting(&dev, &socket, other).expect("woken");
            // Once `home` has shut down, a wait has no reactor to register
            // with: an error, although `other` is running.
            drop(home);
            queue_and_read(&dev, &socket, other, AsyncDevice::RELEASE_AFTER as usize);
            assert!(!dev.is_registered());
            let err = recv_after_waiting(&dev, &socket, other).expect_err("home has shut down");
            assert!(err.to_string().contains("registering with the tokio reactor"), "{err}");
        });
    }
}
