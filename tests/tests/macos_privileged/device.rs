//! The utun device itself: a packet larger than the buffer.

use std::net::UdpSocket;

use anyhow::{Result, ensure};
use utun::{ErrorKind, InterfaceAddress, TunBuilder};

use super::ip;

#[test]
#[ignore = "needs root on macOS"]
fn a_packet_larger_than_the_buffer_names_the_buffer_size() -> Result<()> {
    let tun =
        TunBuilder::new().address(InterfaceAddress::new(ip("10.0.0.1"), 32)?.with_peer(ip("10.0.0.2"))?).build()?;
    let socket = UdpSocket::bind("10.0.0.1:0")?;
    socket.send_to(&[7u8; 200], "10.0.0.2:9")?;
    socket.send_to(&[7u8; 200], "10.0.0.2:9")?;
    // Every IP packet is larger than 16 bytes; XNU returns only what it
    // copied (20 bytes), so the error states the buffer's size, not a length.
    let mut small = [0u8; 16];
    let err = tun.device().recv(&mut small).expect_err("a packet cannot fit 16 bytes");
    ensure!(err.kind() == ErrorKind::BufferTooSmall, "{:?}: {err}", err.kind());
    ensure!(err.to_string().contains("larger than the buffer of 16 bytes"), "{err}");
    // The next packet fits a proper buffer, whole.
    let mut buf = [0u8; 2048];
    let n = tun.device().recv(&mut buf)?;
    let total = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    ensure!(buf[0] >> 4 == 4 && n == total, "read {n} bytes of a {total}-byte packet");
    Ok(())
}
