//! The utun's queue and buffers (`UTUN_OPT_MAX_PENDING_PACKETS`,
//! `SO_RCVBUF`, `SO_SNDBUF`) and many packets per call (`recvmsg_x`).
//!
//! Kernel behaviour relied on (XNU): `utun_ctl_bind` (bsd/net/if_utun.c)
//! starts every socket at 1 pending packet; `utun_start` moves packets from
//! the interface's send queue to the control socket while fewer than
//! `utun_max_pending_packets` wait there; `ctl_enqueuembuf`
//! (bsd/kern/kern_control.c) drops one for which the receive buffer has no
//! room; `sosetoptlock`/`sogetoptlock` (bsd/kern/uipc_socket.c) set and read
//! a buffer's high-water mark (`sbreserve`, up to `kern.ipc.maxsockbuf`).

use std::io::Write as _;
use std::net::UdpSocket;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use utun::__bench::batch;
use utun::{Device, ErrorKind, InterfaceAddress, Tun, TunBuilder};

use super::{ip, tool};

/// A point-to-point utun 10.0.0.1 → 10.0.0.2 with this queue length.
fn tun(max_pending_packets: u32) -> Result<Tun> {
    Ok(TunBuilder::new()
        .address(InterfaceAddress::new(ip("10.0.0.1"), 32)?.with_peer(ip("10.0.0.2"))?)
        .max_pending_packets(max_pending_packets)
        .build()?)
}

/// Sends `count` UDP datagrams of `size` bytes to the utun's peer (they go
/// into the utun, nowhere else); returns how many `send_to` accepted.
fn burst(count: usize, size: usize) -> Result<usize> {
    let socket = UdpSocket::bind("10.0.0.1:0")?;
    let payload = vec![7u8; size];
    Ok((0..count).filter(|_| socket.send_to(&payload, "10.0.0.2:9").is_ok()).count())
}

/// Drains the (non-blocking) device with `recv_many` until `want` packets
/// came or nothing came for a while; returns (packets, calls that got some,
/// most in one call).
fn drain(device: &Device, want: usize) -> Result<(usize, usize, usize)> {
    let mut bufs = vec![[0u8; 2048]; 64];
    let mut sizes = [0usize; 64];
    let (mut got, mut calls, mut most) = (0, 0, 0);
    let mut idle_since = Instant::now();
    while got < want && idle_since.elapsed() < Duration::from_millis(500) {
        match batch::recv_many(device.as_fd(), &mut bufs, &mut sizes) {
            Ok(n) => {
                got += n;
                calls += 1;
                most = most.max(n);
                idle_since = Instant::now();
            }
            Err(e) if e.is_would_block() => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(e.into()),
        }
    }
    Ok((got, calls, most))
}

#[test]
#[ignore = "needs root on macOS"]
fn queue_and_buffer_sizes_round_trip_and_out_of_range_values_are_refused() -> Result<()> {
    let dev = Device::new()?;
    ensure!(dev.max_pending_packets()? == 1, "XNU's default (utun_ctl_bind) is 1");
    dev.set_max_pending_packets(256)?;
    ensure!(dev.max_pending_packets()? == 256);
    let err = dev.set_max_pending_packets(0).expect_err("0 pending packets");
    ensure!(err.kind() == ErrorKind::InvalidInput && err.to_string().contains("at least 1"), "{err}");
    ensure!(dev.max_pending_packets()? == 256, "a refused value changes nothing");

    type Set = fn(&Device, usize) -> Result<(), utun::Error>;
    type Get = fn(&Device) -> Result<usize, utun::Error>;
    let options: [(Set, Get, &str); 2] = [
        (Device::set_recv_buffer_size, Device::recv_buffer_size, "SO_RCVBUF"),
        (Device::set_send_buffer_size, Device::send_buffer_size, "SO_SNDBUF"),
    ];
    for (set, get, name) in options {
        ensure!(get(&dev)? > 0, "{name}");
        set(&dev, 1 << 20)?;
        ensure!(get(&dev)? == 1 << 20, "{name} after setting 1 MiB: {}", get(&dev)?);
        for bad in [0, i32::MAX as usize + 1] {
            let err = set(&dev, bad).expect_err("out of range");
            ensure!(err.kind() == ErrorKind::InvalidInput && err.to_string().contains(name), "{bad}: {err}");
        }
        ensure!(get(&dev)? == 1 << 20, "a refused value changes nothing");
    }

    // The builder sets them before the interface comes up.
    let tun = TunBuilder::new().max_pending_packets(64).recv_buffer_size(2 << 20).send_buffer_size(1 << 20).build()?;
    ensure!(tun.device().max_pending_packets()? == 64);
    ensure!(tun.device().recv_buffer_size()? == 2 << 20);
    ensure!(tun.device().send_buffer_size()? == 1 << 20);
    // And refuses what the kernel would, before creating anything.
    let before = tool("ifconfig", &["-l"])?.1;
    let err = TunBuilder::new().max_pending_packets(0).build().expect_err("0 pending packets");
    ensure!(err.kind() == ErrorKind::InvalidInput, "{err}");
    let err = TunBuilder::new().recv_buffer_size(0).build().expect_err("an empty buffer");
    ensure!(err.kind() == ErrorKind::InvalidInput, "{err}");
    ensure!(tool("ifconfig", &["-l"])?.1 == before, "a refused build created an interface");
    Ok(())
}

#[test]
#[ignore = "needs root on macOS"]
fn a_burst_comes_back_more_than_one_packet_per_recv_many() -> Result<()> {
    let tun = tun(256)?;
    tun.device().set_nonblocking(true)?;
    let sent = burst(64, 100)?;
    ensure!(sent > 1, "only {sent} of 64 datagrams were sent");
    // Not a timed assertion: a moment for the kernel's starter thread to
    // move the burst to the socket, so that it waits there together.
    std::thread::sleep(Duration::from_millis(100));
    let (got, calls, most) = drain(tun.device(), sent)?;
    ensure!(got > 1, "{got} packets of {sent}");
    ensure!(most > 1, "{got} packets in {calls} calls, never more than one per call");
    eprintln!("recv_many: {got} packets of {sent} in {calls} calls, at most {most} per call");
    // sendmsg_x: a batch of well-formed packets into the utun (to 10.0.0.1,
    // the local address) is taken.
    let packet = {
        let mut p = vec![0u8; 28];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&28u16.to_be_bytes());
        p[8] = 64;
        p[9] = 17;
        p[12..16].copy_from_slice(&[10, 0, 0, 2]);
        p[16..20].copy_from_slice(&[10, 0, 0, 1]);
        p
    };
    let packets = vec![packet; 8];
    let taken = batch::send_many(tun.device().as_fd(), &packets)?;
    ensure!((1..=8).contains(&taken), "send_many took {taken} of 8");
    Ok(())
}

/// `AsyncDevice::send_batch`: 100 UDP datagrams from the peer to a local
/// socket, more than one `sendmsg_x` takes (64 at most), all written (the
/// call returns the whole count, calling `sendmsg_x` again for what one call
/// did not take, and waiting for room when the socket's buffer is full) and
/// delivered, each whole and once, in order. (`utun_ctl_send` →
/// `utun_pkt_input` → `ifnet_input`, XNU bsd/net/if_utun.c, hands each
/// datagram to the IP input of the utun.)
#[test]
#[ignore = "needs root on macOS"]
fn async_send_batch_writes_every_packet_of_a_batch_larger_than_one_sendmsg_x() -> Result<()> {
    const COUNT: usize = 100;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let _in_runtime = runtime.enter();
    let (device, _cleanup) = tun(1)?.into_parts();
    let dev = utun::AsyncDevice::new(device)?;
    let socket = UdpSocket::bind("10.0.0.1:0")?;
    socket.set_read_timeout(Some(Duration::from_secs(5)))?;
    let std::net::SocketAddr::V4(to) = socket.local_addr()? else { anyhow::bail!("an IPv4 socket") };
    let from = std::net::SocketAddrV4::new([10, 0, 0, 2].into(), 9);
    let packets: Vec<Vec<u8>> =
        (0..COUNT as u32).map(|i| utun_tests::packet::Udp4::new(from, to).packet(&i.to_be_bytes())).collect();
    let mut scratch = utun::SendBatch::new();
    let n =
        runtime.block_on(tokio::time::timeout(Duration::from_secs(5), dev.send_batch(&mut scratch, &packets)))??;
    ensure!(n == COUNT, "send_batch wrote {n} of {COUNT}");
    let mut buf = [0u8; 64];
    for i in 0..COUNT as u32 {
        let (len, _) = socket.recv_from(&mut buf)?;
        ensure!(buf[..len] == i.to_be_bytes(), "datagram {i}: {:?}", &buf[..len]);
    }
    socket.set_nonblocking(true)?;
    ensure!(socket.recv_from(&mut buf).is_err(), "a datagram more than was sent");
    Ok(())
}

/// Not a check: the measurement a default queue length is to be chosen
/// from (issue 16). For each `UTUN_OPT_MAX_PENDING_PACKETS`, a burst of UDP
/// datagrams into the utun, then how many a reader gets (and in how many
/// `recv_many` calls). Printed, and added to the GitHub step summary when
/// there is one.
#[test]
#[ignore = "needs root on macOS"]
fn measure_burst_delivery_by_queue_length() -> Result<()> {
    const BURST: usize = 512;
    let mut table = format!(
        "| max_pending_packets | sent (of {BURST}) | received | recv_many calls | most per call |\n|---:|---:|---:|---:|---:|\n"
    );
    for max in [1u32, 16, 64, 256] {
        let tun = tun(max)?;
        tun.device().set_nonblocking(true)?;
        let sent = burst(BURST, 100)?;
        std::thread::sleep(Duration::from_millis(100));
        let (got, calls, most) = drain(tun.device(), sent)?;
        ensure!(got <= sent, "more received than sent");
        table.push_str(&format!("| {max} | {sent} | {got} | {calls} | {most} |\n"));
    }
    eprintln!("{table}");
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY") {
        let mut summary = std::fs::OpenOptions::new().append(true).open(path)?;
        writeln!(summary, "### utun burst delivery by queue length (macos_privileged::queue)\n\n{table}")?;
    }
    Ok(())
}
