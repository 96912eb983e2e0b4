//! `AsyncDevice::send_batch`, on a plain device and on a Linux offload
//! device (where segments of one flow are merged into GSO packets that the
//! kernel splits again): one batch of a TCP connection's segments
//! interleaved with the datagrams of three UDP flows, written into the
//! device as if from the peer, must reach the local sockets whole, each
//! byte once, in order. On the offload device the TCP segments must have
//! gone in one write (the interface's received-packet count goes up by one
//! a write). The UDP datagrams carry checksums, so that a kernel that takes
//! UDP GSO (`Offload::uso`) gets them merged too.

use std::io::Read as _;
use std::net::{SocketAddrV4, TcpListener, UdpSocket};
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, ensure};
use tokio::runtime::Builder;
use utun::{InterfaceAddress, SendBatch, TunBuilder};
use utun_tests::packet::{Udp4, checksum, fold, sum16};
use utun_tests::suite::Case;

use crate::setup::{AsyncDevice, LOCAL, PEER};

/// Every case, by name.
pub fn all() -> Vec<(&'static str, Case)> {
    vec![
        ("send_batch_delivers_every_packet_intact_on_a_plain_device", on_a_plain_device as Case),
        ("send_batch_delivers_every_packet_intact_on_an_offload_device", on_an_offload_device),
    ]
}

fn on_a_plain_device() -> Result<()> {
    send_batch_delivers_every_packet(false)
}

fn on_an_offload_device() -> Result<()> {
    send_batch_delivers_every_packet(true)
}

/// UDP flows (local sockets) in the batch.
const FLOWS: usize = 3;
/// Datagrams a flow, and TCP segments.
const PER_FLOW: usize = 30;
/// A datagram's or segment's payload (the last of each is shorter, as a
/// merged packet's last segment may be).
const PAYLOAD: usize = 200;
/// The peer's TCP port.
const PEER_PORT: u16 = 40000;
/// The peer's initial sequence number.
const ISN: u32 = 1000;

/// The byte at `k` of payload `i` of flow `flow`.
fn byte(flow: usize, i: usize, k: usize) -> u8 {
    (flow * 31 + i * 7 + k) as u8
}

/// Payload `i` of flow `flow`.
fn payload(flow: usize, i: usize) -> Vec<u8> {
    let len = if i + 1 == PER_FLOW { PAYLOAD / 2 } else { PAYLOAD };
    (0..len).map(|k| byte(flow, i, k)).collect()
}

/// The transport checksum of the IPv4 packet `p` (20-byte header), its
/// checksum field at `at` (from the transport header) zeroed first.
fn set_transport_checksum(p: &mut [u8], at: usize) {
    p[20 + at..22 + at].copy_from_slice(&[0, 0]);
    let l4_len = (p.len() - 20) as u32;
    let acc = sum16(sum16(0, &p[12..20]) + u32::from(p[9]) + l4_len, &p[20..]);
    let c = fold(acc);
    p[20 + at..22 + at].copy_from_slice(&(if c == 0 { 0xffff } else { c }).to_be_bytes());
}

/// A UDP datagram from the peer, with its checksum (so that it may be merged).
fn udp(to: SocketAddrV4, payload: &[u8]) -> Vec<u8> {
    let mut p = Udp4::new(SocketAddrV4::new(PEER, 9), to).dont_fragment().packet(payload);
    set_transport_checksum(&mut p, 6);
    p
}

/// TCP flags.
const SYN: u8 = 0x02;
const ACK: u8 = 0x10;

/// A TCP segment from the peer's `PEER_PORT` to `to`: DF set, no options.
fn tcp(to: SocketAddrV4, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let len = 20 + 20 + payload.len();
    let mut p = vec![0u8; len];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    p[6] = 0x40; // DF
    p[8] = 64;
    p[9] = libc::IPPROTO_TCP as u8;
    p[12..16].copy_from_slice(&PEER.octets());
    p[16..20].copy_from_slice(&to.ip().octets());
    let sum = checksum(&p[..20]);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    let t = &mut p[20..];
    t[0..2].copy_from_slice(&PEER_PORT.to_be_bytes());
    t[2..4].copy_from_slice(&to.port().to_be_bytes());
    t[4..8].copy_from_slice(&seq.to_be_bytes());
    t[8..12].copy_from_slice(&ack.to_be_bytes());
    t[12] = 5 << 4;
    t[13] = flags;
    t[14..16].copy_from_slice(&65535u16.to_be_bytes());
    t[20..].copy_from_slice(payload);
    set_transport_checksum(&mut p, 16);
    p
}

/// The interface's received-packet count, as `ip -j -s link` reports it
/// (in this namespace; /sys shows the host's).
fn rx_packets(name: &str) -> Result<u64> {
    let out = std::process::Command::new("ip").args(["-j", "-s", "link", "show", "dev", name]).output()?;
    ensure!(out.status.success(), "ip -s link: {}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    json[0]["stats64"]["rx"]["packets"].as_u64().context("stats64.rx.packets in ip's answer")
}

/// Sends a SYN to `to` through `dev` and reads the SYN-ACK the kernel
/// answers with: its sequence number and window.
async fn handshake(dev: &AsyncDevice, to: SocketAddrV4) -> Result<(u32, u16)> {
    dev.send(&tcp(to, ISN, 0, SYN, &[])).await?;
    let mut buf = [0u8; 1500];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), dev.recv(&mut buf))
            .await
            .map_err(|_| anyhow!("no SYN-ACK within 5 s"))??;
        let p = &buf[..n];
        let ihl = usize::from(p[0] & 0xf) * 4;
        let is_syn_ack = p[0] >> 4 == 4
            && p[9] == libc::IPPROTO_TCP as u8
            && n >= ihl + 20
            && p[ihl + 2..ihl + 4] == PEER_PORT.to_be_bytes()
            && p[ihl + 13] & (SYN | ACK) == SYN | ACK;
        if is_syn_ack {
            let seq = u32::from_be_bytes(p[ihl + 4..ihl + 8].try_into()?);
            let window = u16::from_be_bytes(p[ihl + 14..ihl + 16].try_into()?);
            return Ok((seq, window));
        }
    }
}

fn send_batch_delivers_every_packet(offload: bool) -> Result<()> {
    let runtime = Builder::new_current_thread().enable_io().enable_time().build().context("a runtime")?;
    let address = InterfaceAddress::new(LOCAL.into(), 32)?.with_peer(PEER.into())?;
    let tun = TunBuilder::new().offload(offload).address(address).build().context("a device")?;
    let (device, _cleanup) = tun.into_parts();
    ensure!(device.offload().vnet_hdr == offload, "offload {offload}: {:?}", device.offload());
    eprintln!("offload granted: {:?}", device.offload());

    let sockets = (0..FLOWS).map(|_| UdpSocket::bind((LOCAL, 0))).collect::<std::io::Result<Vec<_>>>()?;
    let addrs = sockets
        .iter()
        .map(|s| match s.local_addr()? {
            std::net::SocketAddr::V4(a) => Ok(a),
            other => Err(anyhow!("an IPv4 socket, not {other}")),
        })
        .collect::<Result<Vec<_>>>()?;
    let listener = TcpListener::bind((LOCAL, 0))?;
    let std::net::SocketAddr::V4(server) = listener.local_addr()? else { return Err(anyhow!("an IPv4 listener")) };

    let _entered = runtime.enter();
    let dev = AsyncDevice::new(device)?;
    let (server_isn, window) = runtime.block_on(handshake(&dev, server))?;
    let stream: Vec<u8> = (0..PER_FLOW).flat_map(|i| payload(FLOWS, i)).collect();
    ensure!(stream.len() <= usize::from(window), "{} bytes of data, a window of {window}", stream.len());

    // The handshake's last ACK, then each round's segment and datagrams.
    let ack = server_isn.wrapping_add(1);
    let mut packets = vec![tcp(server, ISN + 1, ack, ACK, &[])];
    let mut seq = ISN + 1;
    for i in 0..PER_FLOW {
        let data = payload(FLOWS, i);
        packets.push(tcp(server, seq, ack, ACK, &data));
        seq += data.len() as u32;
        for (flow, &to) in addrs.iter().enumerate() {
            packets.push(udp(to, &payload(flow, i)));
        }
    }
    // The kernel counts a packet received for each write into the device
    // (`tun_get_user`, drivers/net/tun.c), a merged one as one.
    let name = dev.get_ref().name().to_string();
    let writes_before = rx_packets(&name)?;
    let mut scratch = SendBatch::new();
    let n = runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(5), dev.send_batch(&mut scratch, &packets))
            .await
            .map_err(|_| anyhow!("send_batch did not finish within 5 s"))
    })??;
    ensure!(n == packets.len(), "send_batch wrote {n} of {}", packets.len());
    let writes = rx_packets(&name)? - writes_before;
    eprintln!("{} packets in {writes} writes", packets.len());
    if offload {
        // The TCP segments at least were merged (TSO is granted with offload).
        ensure!(writes <= (packets.len() - PER_FLOW + 1) as u64, "{writes} writes: nothing merged");
    } else {
        ensure!(writes == packets.len() as u64, "{writes} writes for {} packets", packets.len());
    }

    // Every datagram of every flow, in order, whole, and no more.
    let mut buf = [0u8; 2048];
    for (flow, socket) in sockets.iter().enumerate() {
        socket.set_read_timeout(Some(Duration::from_secs(5)))?;
        for i in 0..PER_FLOW {
            let (len, from) = socket.recv_from(&mut buf).with_context(|| format!("flow {flow}, datagram {i}"))?;
            ensure!(from == std::net::SocketAddr::from((PEER, 9)), "from {from}");
            ensure!(buf[..len] == payload(flow, i), "flow {flow}, datagram {i}: {len} bytes, not as sent");
        }
        socket.set_nonblocking(true)?;
        let extra = socket.recv_from(&mut buf);
        ensure!(extra.is_err(), "flow {flow}: a datagram more than was sent: {:?}", extra.map(|(n, _)| n));
    }
    // The TCP stream, every byte.
    listener.set_nonblocking(false)?;
    let (mut conn, from) = listener.accept().context("the connection")?;
    ensure!(from == std::net::SocketAddr::from((PEER, PEER_PORT)), "from {from}");
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut got = vec![0u8; stream.len()];
    conn.read_exact(&mut got).context("the stream's bytes")?;
    ensure!(got == stream, "the stream differs");
    Ok(())
}
