//! What every case sets up: a device and a socket on a runtime, inside the
//! case's namespace; and what they look at.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::os::fd::BorrowedFd;
use std::time::Duration;

use anyhow::{Context as _, Result};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::runtime::{Builder, Runtime};
pub use utun::AsyncDevice;
use utun::{InterfaceAddress, TunBuilder};
use utun_tests::packet::Udp4;

/// The device's address.
pub const LOCAL: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// Its point-to-point peer: datagrams sent there go into the device.
pub const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// Runs `test` (on the calling thread, which is in the test's namespace)
/// with a device (10.0.0.1 peer 10.0.0.2, up) and a UDP socket bound to
/// 10.0.0.1, on a runtime from `builder`, entered.
pub fn with_device(mut builder: Builder, test: impl FnOnce(AsyncDevice, UdpSocket, &Runtime)) -> Result<()> {
    let runtime = builder.enable_io().enable_time().build().context("a runtime")?;
    let address = InterfaceAddress::new(LOCAL.into(), 32)?.with_peer(PEER.into())?;
    let tun = TunBuilder::new().address(address).build().context("a device")?;
    let (device, _cleanup) = tun.into_parts();
    let socket = UdpSocket::bind((LOCAL, 0)).context("a socket")?;
    socket.set_read_timeout(Some(Duration::from_secs(5))).context("a timeout")?;
    let _guard = runtime.enter();
    test(AsyncDevice::new(device).context("registered")?, socket, &runtime);
    Ok(())
}

/// [`with_device`] on a current-thread runtime.
pub fn run(test: impl FnOnce(AsyncDevice, UdpSocket, &Runtime)) -> Result<()> {
    with_device(Builder::new_current_thread(), test)
}

/// Whether descriptor `fd` of this process is in an epoll set, as the
/// kernel lists them in /proc/self/fdinfo (a `tfd:` line per target).
pub fn in_an_epoll_set(fd: i32) -> bool {
    let fds = std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd");
    fds.filter_map(Result::ok)
        .filter(|entry| std::fs::read_link(entry.path()).is_ok_and(|t| t.as_os_str() == "anon_inode:[eventpoll]"))
        .any(|epoll| {
            let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", epoll.file_name().to_string_lossy()));
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
pub fn queue_and_read(dev: &AsyncDevice, socket: &UdpSocket, rt: &Runtime, count: usize) {
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
pub fn recv_after_waiting(dev: &AsyncDevice, socket: &UdpSocket, rt: &Runtime) -> Result<usize, utun::Error> {
    let mut buf = [0u8; 1500];
    let (n, ()) = rt.block_on(async {
        tokio::join!(tokio::time::timeout(Duration::from_secs(5), dev.recv(&mut buf)), async {
            tokio::task::yield_now().await;
            socket.send_to(b"wake", (PEER, 9)).expect("sent");
        })
    });
    let n = n.expect("woken within 5 s")?;
    assert_eq!(&buf[n - 4..n], b"wake");
    Ok(n)
}

/// An IPv4/UDP packet from PEER:9 to `to` carrying `payload`.
pub fn udp_from_peer(to: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let SocketAddr::V4(to) = to else { panic!("an IPv4 address") };
    Udp4::new(SocketAddrV4::new(PEER, 9), to).packet(payload)
}

/// Registers `fd` with the current runtime's reactor for `interest`.
pub fn register(fd: BorrowedFd<'_>, interest: Interest) -> std::io::Result<AsyncFd<BorrowedFd<'_>>> {
    // SAFETY: the registration borrows the descriptor, so it is dropped (deregistered) before the descriptor closes.
    unsafe { AsyncFd::register_with_interest(fd, interest) }.map_err(|e| e.into_parts().1)
}
