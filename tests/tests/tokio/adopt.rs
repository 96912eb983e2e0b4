//! The async device over an adopted device (`Device::from_fd`) and over a
//! borrowed one (`Device::borrow_fd`), which leaves the descriptor open.

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use tokio::runtime::Builder;
use utun::{Device, InterfaceAddress, TunBuilder};
use utun_tests::suite::Case;

use crate::setup::{AsyncDevice, LOCAL, PEER, udp_from_peer};

/// Every case, by name.
pub fn all() -> Vec<(&'static str, Case)> {
    vec![
        ("an_async_device_over_an_adopted_descriptor_moves_packets_both_ways", over_adopted as Case),
        ("an_async_device_over_a_borrowed_descriptor_leaves_it_open", over_borrowed),
    ]
}

/// A device (10.0.0.1 peer 10.0.0.2, up) and a UDP socket bound to 10.0.0.1.
fn device_and_socket() -> Result<(Device, utun::Cleanup, UdpSocket)> {
    let address = InterfaceAddress::new(LOCAL.into(), 32)?.with_peer(PEER.into())?;
    let (device, cleanup) = TunBuilder::new().address(address).build().context("a device")?.into_parts();
    let socket = UdpSocket::bind((LOCAL, 0)).context("a socket")?;
    socket.set_read_timeout(Some(Duration::from_secs(5)))?;
    Ok((device, cleanup, socket))
}

/// A datagram out through `dev` (recv) and one in (send), on a current-thread runtime.
async fn both_ways<Fd: AsFd>(dev: &AsyncDevice<Fd>, socket: &UdpSocket) -> Result<()> {
    socket.send_to(b"to the peer", (PEER, 9))?;
    let mut buf = [0u8; 1500];
    let n = tokio::time::timeout(Duration::from_secs(5), dev.recv(&mut buf)).await??;
    ensure!(buf[0] >> 4 == 4 && &buf[n - 11..n] == b"to the peer", "{:?}", &buf[..n]);
    let packet = udp_from_peer(socket.local_addr()?, b"from the peer");
    ensure!(dev.send(&packet).await? == packet.len());
    let mut got = [0u8; 64];
    let (len, from) = socket.recv_from(&mut got)?;
    ensure!(&got[..len] == b"from the peer" && from == SocketAddr::from((PEER, 9)));
    Ok(())
}

fn over_adopted() -> Result<()> {
    let runtime = Builder::new_current_thread().enable_all().build()?;
    let _in = runtime.enter();
    let (device, _cleanup, socket) = device_and_socket()?;
    let (name, index) = (device.name(), device.index());
    let adopted = Device::from_fd(OwnedFd::from(device))?;
    ensure!(adopted.name() == name && adopted.index() == index);
    let dev: AsyncDevice = AsyncDevice::new(adopted)?;
    runtime.block_on(both_ways(&dev, &socket))
}

fn over_borrowed() -> Result<()> {
    let runtime = Builder::new_current_thread().enable_all().build()?;
    let _in = runtime.enter();
    let (device, _cleanup, socket) = device_and_socket()?;
    {
        let dev = AsyncDevice::new(Device::borrow_fd(device.as_fd())?)?;
        ensure!(dev.get_ref().index() == device.index());
        runtime.block_on(both_ways(&dev, &socket))?;
        // Dropped: deregistered, and the descriptor stays open.
    }
    rustix::io::fcntl_getfd(device.as_fd()).context("the borrowed descriptor was closed")?;
    // The owner still carries packets, under a new async device of its own.
    let dev = AsyncDevice::new(device)?;
    runtime.block_on(both_ways(&dev, &socket))
}
