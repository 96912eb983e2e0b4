//! An async device for tokio (the `tokio` feature): [`AsyncDevice`], a
//! [`Device`] registered with tokio's reactor through
//! [`AsyncFd`], with the same calls as the
//! synchronous device: [`recv`](AsyncDevice::recv) and
//! [`send`](AsyncDevice::send) of plain IPv4 and IPv6 packets.
//!
//! Each call tries the system call first and waits for readiness only when
//! the kernel answers that it would block, so a packet that is already
//! waiting costs one `read` (`recvmsg` on macOS) and nothing else: no
//! allocation, no `epoll_wait`/`kevent`.
//!
//! The calls take `&self`: one device serves several tasks at once, for
//! example a reader task and a writer task sharing it through an
//! [`Arc`](std::sync::Arc). There is no separate split type because none is
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

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use ::tokio::io::Interest;
use ::tokio::io::unix::{AsyncFd, AsyncFdRegisterError};

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

/// A [`Device`] for tokio: `recv`/`send` of plain IP packets as futures.
///
/// Every method takes `&self`, and the type is `Send + Sync`: share it
/// between tasks by reference or through an [`Arc`](std::sync::Arc) (a
/// reader task and a writer task, say). Packets are never split or merged:
/// each `recv` returns one whole packet and each `send` writes one.
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
/// # Scheduling
///
/// The system call comes first, and the task waits for readiness only when
/// it would block. A task that receives in a loop while packets keep
/// arriving therefore does not return to the scheduler by itself (tokio's
/// cooperative budget is consumed only by readiness waits); on a
/// current-thread runtime with other work, add `tokio::task::yield_now()`
/// to such a loop now and then.
#[derive(Debug)]
pub struct AsyncDevice {
    fd: AsyncFd<Device>,
}

impl AsyncDevice {
    /// Puts `device` in non-blocking mode and registers it with the tokio
    /// reactor of the current runtime. On failure the device is dropped
    /// (closed).
    ///
    /// # Panics
    ///
    /// When called outside a tokio runtime, or on a runtime built without
    /// its I/O driver (`enable_io`), as [`AsyncFd::register`] does.
    pub fn new(device: Device) -> Result<AsyncDevice, Error> {
        device.set_nonblocking(true)?;
        let name = device.name();
        let fd = register(device).map_err(|e| {
            let (_device, err) = e.into_parts();
            Error::os(Op::SetDeviceOption, err).about("registering with the tokio reactor").on(name)
        })?;
        Ok(AsyncDevice { fd })
    }

    /// The device.
    pub fn get_ref(&self) -> &Device {
        self.fd.get_ref()
    }

    /// Deregisters the device from the reactor and returns it. It stays in
    /// non-blocking mode ([`Device::set_nonblocking`] switches it back).
    pub fn into_inner(self) -> Device {
        self.fd.into_inner()
    }

    /// Reads one packet into `buf` and returns its length, waiting until one
    /// arrives. Errors as [`Device::recv`]: a packet larger than `buf` is an
    /// [`ErrorKind::BufferTooSmall`](crate::ErrorKind::BufferTooSmall) error
    /// (the kernel has dropped it), never a truncated packet.
    ///
    /// Cancel safe (see [the type's documentation](AsyncDevice#cancel-safety)).
    pub async fn recv(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let dev = self.fd.get_ref();
        match dev.recv(buf) {
            Err(e) if e.is_would_block() => {}
            done => return done,
        }
        loop {
            let mut ready = self.fd.ready(READ_INTEREST).await.map_err(|e| wait_failed(Op::Recv, dev, e))?;
            match dev.recv(buf) {
                // The readiness was stale: forget it, then wait for the next one.
                Err(e) if e.is_would_block() => ready.clear_ready(),
                done => return done,
            }
        }
    }

    /// Writes one IPv4 or IPv6 packet and returns its length, waiting while
    /// the kernel has no room for it. Errors as [`Device::send`].
    ///
    /// Cancel safe (see [the type's documentation](AsyncDevice#cancel-safety)).
    pub async fn send(&self, packet: &[u8]) -> Result<usize, Error> {
        let dev = self.fd.get_ref();
        match dev.send(packet) {
            Err(e) if e.is_would_block() => {}
            done => return done,
        }
        loop {
            let mut ready = self.fd.ready(WRITE_INTEREST).await.map_err(|e| wait_failed(Op::Send, dev, e))?;
            match dev.send(packet) {
                Err(e) if e.is_would_block() => ready.clear_ready(),
                done => return done,
            }
        }
    }

    /// Reads one packet if one is waiting; an
    /// [`ErrorKind::WouldBlock`](crate::ErrorKind::WouldBlock) error when none is.
    pub fn try_recv(&self, buf: &mut [u8]) -> Result<usize, Error> {
        self.fd.get_ref().recv(buf)
    }

    /// Writes one packet if the kernel has room for it now; an
    /// [`ErrorKind::WouldBlock`](crate::ErrorKind::WouldBlock) error when not.
    pub fn try_send(&self, packet: &[u8]) -> Result<usize, Error> {
        self.fd.get_ref().send(packet)
    }
}

/// Registers the device's descriptor with the reactor.
fn register(device: Device) -> Result<AsyncFd<Device>, AsyncFdRegisterError<Device>> {
    // SAFETY: a `Device` owns its descriptor (an `OwnedFd` it never replaces
    // or closes before it is dropped), so `as_raw_fd` returns the same open
    // descriptor for as long as the `AsyncFd` holds the device.
    unsafe { AsyncFd::register(device) }
}

/// The error of a failed readiness wait (the runtime is shutting down, say).
fn wait_failed(op: Op, dev: &Device, err: io::Error) -> Error {
    Error::os(op, err).about("waiting for readiness").on(dev.name())
}

impl AsFd for AsyncDevice {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.get_ref().as_fd()
    }
}

impl AsRawFd for AsyncDevice {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Against a real tun device in a network namespace of its own: needs root,
/// so they are `#[ignore]`d (reported as ignored, never as passed, on a
/// plain `cargo test`); `cargo xtask ci` runs them with `-- --ignored`, and
/// there a machine that cannot run them is a failure.
#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
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
        let (done, finished) = mpsc::channel();
        std::thread::spawn(move || {
            if !is_root() || !unshare_net() {
                let _ = done.send(false);
                return;
            }
            let runtime = ::tokio::runtime::Builder::new_current_thread().enable_io().build().expect("a runtime");
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
}
