//! The Linux offload device (`Device::with_offload`) against the real
//! kernel: a TCP connection crosses two offload tun devices in two network
//! namespaces, joined by a relay that reads with `recv_batch` (splitting
//! what the kernel segmented late, GSO) and writes with `send_batch`
//! (merging segments again, GRO). The bytes must arrive intact, and at least
//! one read must have given several segments: proof that the kernel handed
//! over a GSO packet and the device split it, with checksums the receiving
//! kernel accepted.
//!
//! UDP segmentation offload (USO, Linux 6.2+) has two tests of its own: a
//! `UDP_SEGMENT` send comes out of `recv_batch` as datagrams of the GSO size,
//! and `send_batch` merges a UDP flow into one write that the kernel delivers
//! as the separate datagrams. They need utun-sys built with UAPI headers that
//! name USO (Debian 12's are too old; `cargo xtask test` points
//! `UTUN_SYS_LINUX_SYSROOT` at newer ones) and a kernel that grants it; where
//! either is missing they are reported as ignored, saying which
//! (`UTUN_E2E_REQUIRE_USO=1`, which CI sets with those headers, makes that a
//! failure).

use std::io::{Read, Write};
use std::net::{SocketAddr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, ensure};
use utun::{Device, ErrorKind, RecvBatch, Segmentation, SendBatch, Tun, TunBuilder};
use utun_tests::netns::Namespace;
use utun_tests::packet::{IPV4_HEADER_LEN, UDP_HEADER_LEN, Udp4, fold, sum16, tcp4_segment};
use utun_tests::suite::{Case, Skipped};

/// Every case, by name.
pub fn all() -> Vec<(&'static str, Case)> {
    vec![
        ("a_tcp_stream_crosses_two_offload_devices_intact_and_gso_is_split", tcp_across_offload_relay as Case),
        ("an_offload_device_moves_single_packets_and_finishes_their_checksums", single_packets),
        ("recv_batch_gives_every_waiting_packet_sync_and_async_with_and_without_offload", batches_of_waiting_packets),
        ("an_offload_device_has_more_queues_and_the_kernel_spreads_flows_across_them", queues),
        ("recv_gso_and_send_gso_move_a_64_kib_tcp_packet_whole_and_refuse_one_that_does_not_match", gso_whole),
        ("udp_segmentation_offload_a_udp_segment_send_comes_out_of_recv_batch_as_checksummed_datagrams", uso_split),
        ("udp_segmentation_offload_send_batch_merges_a_flow_into_one_write_delivered_as_datagrams", uso_merge),
    ]
}

/// Bytes sent through the relay.
const TOTAL: usize = 20 << 20;
/// Buffers per batch: 64 KiB at the MTU (1500) is 45 segments.
const SLOTS: usize = 64;

/// The byte at `i` of the stream (not periodic at any small period).
fn pattern(i: usize) -> u8 {
    (i ^ (i >> 9) ^ (i >> 17)) as u8
}

/// `ip` in the calling thread's namespace.
fn ip(args: &[&str]) -> Result<()> {
    let out = Command::new("ip").args(args).output().context("running ip")?;
    ensure!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    Ok(())
}

/// Gives `dev` `local` with `peer` and brings it up.
fn configure(dev: &Device, local: &str, peer: &str) -> Result<()> {
    let name = dev.name().to_string();
    ip(&["addr", "add", local, "peer", peer, "dev", &name])?;
    ip(&["link", "set", &name, "up"])
}

/// Waits (100 ms at most) for `dev` to have a packet; false when none came.
fn readable(dev: &Device) -> Result<bool> {
    let mut pfd = libc::pollfd { fd: dev.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd, its count 1, a bounded timeout.
    let n = unsafe { libc::poll(&mut pfd, 1, 100) };
    ensure!(n >= 0, "poll: {}", std::io::Error::last_os_error());
    Ok(n > 0)
}

/// Moves packets from `from` to `to` until `stop`; counts the reads that gave
/// more than one packet in `multi`, and the packets in `packets`.
fn relay(from: &Device, to: &Device, stop: &AtomicBool, multi: &AtomicUsize, packets: &AtomicU64) -> Result<()> {
    let mut rx = RecvBatch::new();
    let mut tx = SendBatch::new();
    let mut bufs = vec![vec![0u8; 2048]; SLOTS];
    let mut sizes = [0usize; SLOTS];
    while !stop.load(Ordering::Relaxed) {
        if !readable(from)? {
            continue;
        }
        let n = from.recv_batch(&mut rx, &mut bufs, &mut sizes).context("recv_batch")?;
        if n > 1 {
            multi.fetch_add(1, Ordering::Relaxed);
        }
        packets.fetch_add(n as u64, Ordering::Relaxed);
        let out: Vec<&[u8]> = bufs.iter().zip(&sizes).take(n).map(|(b, &len)| &b[..len]).collect();
        to.send_batch(&mut tx, &out).context("send_batch")?;
    }
    Ok(())
}

fn tcp_across_offload_relay() -> Result<()> {
    // This thread's namespace: device A, 10.77.0.1, the sender.
    let a = Device::with_offload(None).context("an offload device")?;
    ensure!(a.offload().vnet_hdr && a.offload().tso, "offloads granted: {:?}", a.offload());
    configure(&a, "10.77.0.1", "10.77.0.2")?;

    // Another namespace: device B, 10.77.0.2, the listener; B comes back
    // here for the relay, and the receiving thread checks every byte.
    let (dev_tx, dev_rx) = mpsc::channel::<(Device, SocketAddr)>();
    let receiver = thread::spawn(move || {
        Namespace::new().run_within(Duration::from_secs(50), move || {
            let b = Device::with_offload(None).context("the second offload device")?;
            configure(&b, "10.77.0.2", "10.77.0.1")?;
            let listener = TcpListener::bind("10.77.0.2:0")?;
            let addr = listener.local_addr()?;
            dev_tx.send((b, addr)).map_err(|_| anyhow!("the test is gone"))?;
            let (mut conn, _) = listener.accept()?;
            conn.set_read_timeout(Some(Duration::from_secs(20)))?;
            let mut buf = vec![0u8; 1 << 16];
            let mut at = 0usize;
            loop {
                let n = conn.read(&mut buf).context("reading the stream")?;
                if n == 0 {
                    break;
                }
                for (k, &byte) in buf[..n].iter().enumerate() {
                    ensure!(byte == pattern(at + k), "byte {} differs", at + k);
                }
                at += n;
            }
            Ok(at)
        })
    });
    let (b, addr) = dev_rx.recv_timeout(Duration::from_secs(10)).context("the second namespace's device")?;

    let (a, b) = (Arc::new(a), Arc::new(b));
    let stop = Arc::new(AtomicBool::new(false));
    let multi = Arc::new(AtomicUsize::new(0));
    let packets = Arc::new(AtomicU64::new(0));
    let spawn_relay = |from: &Arc<Device>, to: &Arc<Device>| {
        let (from, to, stop, multi, packets) = (from.clone(), to.clone(), stop.clone(), multi.clone(), packets.clone());
        thread::spawn(move || relay(&from, &to, &stop, &multi, &packets))
    };
    let relays = [spawn_relay(&a, &b), spawn_relay(&b, &a)];

    let sent = (|| -> Result<()> {
        let mut conn = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).context("connecting across")?;
        conn.set_write_timeout(Some(Duration::from_secs(20)))?;
        let chunk: Vec<u8> = (0..TOTAL).map(pattern).collect();
        conn.write_all(&chunk).context("sending")?;
        conn.shutdown(std::net::Shutdown::Write)?;
        Ok(())
    })();
    let received = receiver.join().map_err(|_| anyhow!("the receiver panicked"))?;
    stop.store(true, Ordering::Relaxed);
    for r in relays {
        r.join().map_err(|_| anyhow!("a relay panicked"))??;
    }
    sent?;
    let received = received?;
    ensure!(received == TOTAL, "{received} bytes arrived of {TOTAL}");
    let multi = multi.load(Ordering::Relaxed);
    eprintln!("offload granted: {:?}", a.offload());
    eprintln!(
        "offload relay: {TOTAL} bytes, {} packets, {multi} reads of several segments",
        packets.load(Ordering::Relaxed)
    );
    ensure!(multi > 0, "no read gave more than one segment: the kernel handed over no GSO packet");
    Ok(())
}

/// `send` and `recv` on an offload device (a `virtio_net_hdr` written and
/// read around each packet): `ping` is answered through them, and a UDP
/// datagram the kernel hands over with its checksum left to finish
/// (`NEEDS_CSUM`: the device has `TUN_F_CSUM`) arrives with a valid one.
fn single_packets() -> Result<()> {
    let tun = TunBuilder::new().offload(true).address(crate::cases::addr("10.0.0.1", 32, Some("10.0.0.2"))?).build()?;
    let dev = tun.device();
    ensure!(dev.offload().vnet_hdr, "offloads granted: {:?}", dev.offload());
    ensure!(crate::adopt::ping_through(dev)? == 3);

    let socket = UdpSocket::bind("10.0.0.1:0")?;
    let payload: Vec<u8> = (0..1000).map(pattern).collect();
    socket.send_to(&payload, "10.0.0.2:9")?;
    let mut buf = vec![0u8; 2048];
    let deadline = Instant::now() + Duration::from_secs(2);
    let udp = loop {
        ensure!(Instant::now() < deadline, "the UDP datagram never came out of the device");
        if !readable(dev)? {
            continue;
        }
        let n = match dev.recv(&mut buf) {
            Ok(n) => n,
            Err(e) if e.is_would_block() => continue,
            Err(e) => return Err(e.into()),
        };
        let p = &buf[..n];
        if p[0] >> 4 == 4 && p[9] == libc::IPPROTO_UDP as u8 && n == 20 + 8 + payload.len() {
            break p.to_vec();
        }
    };
    ensure!(udp[28..] == payload[..], "the payload differs");
    // The UDP checksum over the pseudo-header and the datagram verifies.
    let len = (udp.len() - 20) as u32;
    let acc = sum16(sum16(0, &udp[12..20]) + libc::IPPROTO_UDP as u32 + len, &udp[20..]);
    ensure!(fold(acc) == 0, "the UDP checksum does not verify: {:#06x}", fold(acc));
    Ok(())
}

/// UDP datagrams to 10.0.0.2 that `dev` gave in `bufs[..n]`.
fn udp_count(bufs: &[Vec<u8>], sizes: &[usize], n: usize) -> usize {
    bufs.iter()
        .zip(sizes)
        .take(n)
        .filter(|&(b, &len)| len >= 28 && b[0] >> 4 == 4 && b[9] == libc::IPPROTO_UDP as u8)
        .count()
}

/// Three datagrams queued before the call: one `recv_batch` of a
/// non-blocking device gives them all, without offload (a loop of reads)
/// and with it (each read a plain packet), and so does `AsyncDevice::recv_batch`.
fn batches_of_waiting_packets() -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build()?;
    for offload in [false, true] {
        let tun = TunBuilder::new()
            .offload(offload)
            .address(crate::cases::addr("10.0.0.1", 32, Some("10.0.0.2"))?)
            .build()?;
        let (dev, _cleanup) = tun.into_parts();
        ensure!(dev.offload().vnet_hdr == offload);
        let socket = UdpSocket::bind("10.0.0.1:0")?;
        let mut bufs = vec![vec![0u8; 2048]; SLOTS];
        let mut sizes = [0usize; SLOTS];
        let mut scratch = RecvBatch::new();

        dev.set_nonblocking(true)?;
        // What the kernel sent of its own (IPv6) goes first.
        while dev.recv_batch(&mut scratch, &mut bufs, &mut sizes).is_ok() {}
        for _ in 0..3 {
            socket.send_to(&[7u8; 100], "10.0.0.2:9")?;
        }
        let n = dev.recv_batch(&mut scratch, &mut bufs, &mut sizes)?;
        ensure!(offload || udp_count(&bufs, &sizes, n) == 3, "offload {offload}: {n} packets in the batch");
        if offload {
            // One read a call on an offload device: three calls.
            let mut got = udp_count(&bufs, &sizes, n);
            while let Ok(n) = dev.recv_batch(&mut scratch, &mut bufs, &mut sizes) {
                got += udp_count(&bufs, &sizes, n);
            }
            ensure!(got == 3, "offload: {got} datagrams of 3");
        }

        let _entered = runtime.enter();
        let dev = utun::AsyncDevice::new(dev)?;
        for _ in 0..3 {
            socket.send_to(&[7u8; 100], "10.0.0.2:9")?;
        }
        let got = runtime.block_on(async {
            let mut got = 0;
            while got < 3 {
                let n =
                    tokio::time::timeout(Duration::from_secs(2), dev.recv_batch(&mut scratch, &mut bufs, &mut sizes))
                        .await
                        .map_err(|_| anyhow!("async recv_batch: nothing within 2 s"))??;
                got += udp_count(&bufs, &sizes, n);
            }
            Ok::<_, anyhow::Error>(got)
        })?;
        ensure!(got == 3, "async, offload {offload}: {got} datagrams of 3");
    }
    Ok(())
}

/// `clone_queue`: a second queue of an offload device's interface; UDP
/// datagrams of 64 flows (source ports) to the peer come out of both queues,
/// every one of them once. A device without offload has no other queue.
fn queues() -> Result<()> {
    let plain = TunBuilder::new().build()?;
    let err = plain.device().clone_queue().err().context("a plain device has no second queue")?;
    ensure!(err.kind() == utun::ErrorKind::InvalidInput, "{err}");

    let tun = TunBuilder::new().offload(true).address(crate::cases::addr("10.0.0.1", 32, Some("10.0.0.2"))?).build()?;
    let q0 = tun.device();
    let q1 = q0.clone_queue()?;
    ensure!(q1.name() == q0.name() && q1.index() == q0.index() && q1.offload() == q0.offload());
    let mut bufs = vec![vec![0u8; 2048]; SLOTS];
    let mut sizes = [0usize; SLOTS];
    let mut scratch = RecvBatch::new();
    for q in [q0, &q1] {
        q.set_nonblocking(true)?;
        while q.recv_batch(&mut scratch, &mut bufs, &mut sizes).is_ok() {}
    }
    const FLOWS: usize = 64;
    let sockets: Vec<UdpSocket> = (0..FLOWS).map(|_| UdpSocket::bind("10.0.0.1:0")).collect::<std::io::Result<_>>()?;
    for s in &sockets {
        s.send_to(&[9u8; 100], "10.0.0.2:9")?;
    }
    let mut per_queue = [0usize; 2];
    for (q, count) in [q0, &q1].into_iter().zip(&mut per_queue) {
        while let Ok(n) = q.recv_batch(&mut scratch, &mut bufs, &mut sizes) {
            *count += udp_count(&bufs, &sizes, n);
        }
    }
    eprintln!("datagrams per queue: {per_queue:?}");
    ensure!(per_queue[0] + per_queue[1] == FLOWS, "{per_queue:?}: not {FLOWS} datagrams in all");
    ensure!(per_queue.iter().all(|&c| c > 0), "{per_queue:?}: the flows were not spread across the queues");
    Ok(())
}

/// Set (to `1`) where the USO tests must run for real: their skipping is then
/// a failure. `cargo xtask ci` sets it when it built with headers that name USO.
const REQUIRE_USO_ENV: &str = "UTUN_E2E_REQUIRE_USO";

/// Why USO cannot be tested here: a [`Skipped`] (the test is reported as
/// ignored, with `why`), or under `UTUN_E2E_REQUIRE_USO=1` a failure.
fn uso_unavailable(why: String) -> anyhow::Error {
    if std::env::var(REQUIRE_USO_ENV).is_ok_and(|v| v == "1") {
        anyhow!("{REQUIRE_USO_ENV}=1, but UDP segmentation offload cannot be tested: {why}")
    } else {
        Skipped(why).into()
    }
}

/// An offload device with USO granted, 10.0.0.1 peer 10.0.0.2, and the
/// route 10.9.0.0/16 into it; [`uso_unavailable`] when the headers utun-sys
/// was built with do not name USO, or the kernel does not grant it.
fn uso_tun() -> Result<Tun> {
    use utun_sys::linux::optional::{TUN_F_USO4, TUN_F_USO6, VIRTIO_NET_HDR_GSO_UDP_L4};
    if TUN_F_USO4.is_none() || TUN_F_USO6.is_none() || VIRTIO_NET_HDR_GSO_UDP_L4.is_none() {
        return Err(uso_unavailable(
            "utun-sys was built with Linux UAPI headers that lack TUN_F_USO4, TUN_F_USO6 or \
             VIRTIO_NET_HDR_GSO_UDP_L4 (Linux 6.2+; Debian 12's linux-libc-dev is 6.1), so USO is never asked \
             for: build with UTUN_SYS_LINUX_SYSROOT at newer headers (cargo xtask test fetches them)"
                .into(),
        ));
    }
    let tun = TunBuilder::new()
        .offload(true)
        .address(crate::cases::addr("10.0.0.1", 32, Some("10.0.0.2"))?)
        .route("10.9.0.0/16".parse()?)
        .build()?;
    let granted = tun.device().offload();
    if !granted.uso {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        return Err(uso_unavailable(format!(
            "this kernel ({}) did not grant TUN_F_USO4 | TUN_F_USO6 (granted: {granted:?})",
            release.trim()
        )));
    }
    Ok(tun)
}

/// `setsockopt(SOL_UDP, UDP_SEGMENT, size)`: each send on `socket` is
/// segmented into datagrams of `size` payload bytes (UDP GSO). The numbers
/// are the libc crate's: a generic Linux socket option, as `SOCK_DGRAM` is
/// (utun-sys has only what is specific to tun, interfaces and routing).
fn set_udp_segment(socket: &UdpSocket, size: usize) -> Result<()> {
    let size = libc::c_int::try_from(size)?;
    let len = libc::socklen_t::try_from(size_of::<libc::c_int>())?;
    // SAFETY: the option's value is an `int`, `size`, whose length is given;
    // the descriptor is the socket's, open for the call.
    let rc = unsafe {
        libc::setsockopt(socket.as_raw_fd(), libc::SOL_UDP, libc::UDP_SEGMENT, (&raw const size).cast(), len)
    };
    ensure!(rc == 0, "setsockopt(SOL_UDP, UDP_SEGMENT, {size}): {}", std::io::Error::last_os_error());
    Ok(())
}

/// Whether `p` is an IPv4/UDP datagram to `dst`.
fn udp4_to(p: &[u8], dst: SocketAddrV4) -> bool {
    p.len() >= IPV4_HEADER_LEN + UDP_HEADER_LEN
        && p[0] == 0x45
        && p[9] == libc::IPPROTO_UDP as u8
        && p[16..20] == dst.ip().octets()
        && p[22..24] == dst.port().to_be_bytes()
}

/// One send of 17,500 bytes with `UDP_SEGMENT` at 1200 (the kernel hands the
/// device one UDP GSO packet, `VIRTIO_NET_HDR_GSO_UDP_L4`): one `recv_batch`
/// gives the 15 datagrams, each of 1200 payload bytes but the last (700),
/// each with a valid IP header checksum and a valid UDP checksum (the
/// device finishes them: the kernel leaves them to it, `NEEDS_CSUM`), and
/// their payloads in order are the bytes sent.
fn uso_split() -> Result<()> {
    const GSO_SIZE: usize = 1200;
    const BYTES: usize = 14 * GSO_SIZE + 700;
    let tun = uso_tun()?;
    let dev = tun.device();
    dev.set_nonblocking(true)?;
    let mut rx = RecvBatch::new();
    let mut bufs = vec![vec![0u8; 2048]; SLOTS];
    let mut sizes = [0usize; SLOTS];
    // What the kernel sent of its own (IPv6) goes first.
    while dev.recv_batch(&mut rx, &mut bufs, &mut sizes).is_ok() {}

    let socket = UdpSocket::bind("10.0.0.1:0")?;
    set_udp_segment(&socket, GSO_SIZE)?;
    let payload: Vec<u8> = (0..BYTES).map(|i| pattern(i + 3)).collect();
    let dst = SocketAddrV4::new([10, 9, 1, 1].into(), 9);
    ensure!(socket.send_to(&payload, dst)? == BYTES, "the send was cut short");

    let deadline = Instant::now() + Duration::from_secs(2);
    let datagrams: Vec<Vec<u8>> = loop {
        ensure!(Instant::now() < deadline, "the UDP send never came out of the device");
        if !readable(dev)? {
            continue;
        }
        let n = match dev.recv_batch(&mut rx, &mut bufs, &mut sizes) {
            Ok(n) => n,
            Err(e) if e.is_would_block() => continue,
            Err(e) => return Err(e.into()),
        };
        let udp: Vec<Vec<u8>> =
            bufs.iter().zip(&sizes).take(n).map(|(b, &len)| b[..len].to_vec()).filter(|p| udp4_to(p, dst)).collect();
        if !udp.is_empty() {
            break udp;
        }
    };
    let count = BYTES.div_ceil(GSO_SIZE);
    let lens: Vec<usize> = datagrams.iter().map(Vec::len).collect();
    ensure!(
        datagrams.len() == count,
        "one recv_batch gave {} datagrams of the send (lengths {lens:?}), not {count}: the kernel did not hand \
         over one UDP GSO packet",
        datagrams.len()
    );
    let port = socket.local_addr()?.port();
    let mut joined = Vec::with_capacity(BYTES);
    for (k, d) in datagrams.iter().enumerate() {
        let want = if k + 1 < count { GSO_SIZE } else { BYTES - GSO_SIZE * (count - 1) };
        let udp = &d[IPV4_HEADER_LEN..];
        ensure!(d.len() == IPV4_HEADER_LEN + UDP_HEADER_LEN + want, "datagram {k}: {} bytes", d.len());
        ensure!(usize::from(u16::from_be_bytes([d[2], d[3]])) == d.len(), "datagram {k}: IP total length");
        ensure!(usize::from(u16::from_be_bytes([udp[4], udp[5]])) == udp.len(), "datagram {k}: UDP length");
        ensure!(udp[0..2] == port.to_be_bytes(), "datagram {k}: source port");
        ensure!(fold(sum16(0, &d[..IPV4_HEADER_LEN])) == 0, "datagram {k}: the IP header checksum does not verify");
        ensure!(udp[6..8] != [0, 0], "datagram {k}: no UDP checksum");
        let acc = sum16(sum16(0, &d[12..20]) + libc::IPPROTO_UDP as u32 + udp.len() as u32, udp);
        ensure!(fold(acc) == 0, "datagram {k}: the UDP checksum does not verify: {:#06x}", fold(acc));
        joined.extend_from_slice(&udp[UDP_HEADER_LEN..]);
    }
    ensure!(joined == payload, "the datagrams' payloads, in order, are not the bytes sent");
    eprintln!("USO: one {BYTES}-byte UDP_SEGMENT send came out as {count} datagrams (lengths {lens:?})");
    Ok(())
}

/// Eight datagrams of one flow (10.9.1.1:5000 to a socket on 10.0.0.1, 1000
/// bytes each, UDP checksums, DF) written with one `send_batch`: the kernel
/// counts one packet received on the interface (`ip -s link`: the batch was
/// merged into one write, a UDP GSO packet), and the socket receives the
/// eight datagrams, each intact and in order (the kernel segmented it again).
fn uso_merge() -> Result<()> {
    const DATAGRAMS: usize = 8;
    const SIZE: usize = 1000;
    let tun = uso_tun()?;
    let dev = tun.device();
    let socket = UdpSocket::bind("10.0.0.1:0")?;
    socket.set_read_timeout(Some(Duration::from_secs(2)))?;
    let from = SocketAddrV4::new([10, 9, 1, 1].into(), 5000);
    let to = SocketAddrV4::new([10, 0, 0, 1].into(), socket.local_addr()?.port());
    let payloads: Vec<Vec<u8>> = (0..DATAGRAMS).map(|k| (0..SIZE).map(|i| pattern(k * SIZE + i)).collect()).collect();
    let flow = Udp4::new(from, to).dont_fragment().with_checksum();
    let packets: Vec<Vec<u8>> = payloads.iter().map(|p| flow.packet(p)).collect();
    let packets: Vec<&[u8]> = packets.iter().map(Vec::as_slice).collect();

    let name = dev.name().to_string();
    let before = crate::kernel::rx_packets(&name)?;
    ensure!(dev.send_batch(&mut SendBatch::new(), &packets)? == DATAGRAMS, "send_batch took fewer packets");
    let mut buf = vec![0u8; 4096];
    for (k, want) in payloads.iter().enumerate() {
        let (n, src) = socket.recv_from(&mut buf).with_context(|| format!("datagram {k} of {DATAGRAMS}"))?;
        ensure!(src == SocketAddr::V4(from), "datagram {k} came from {src}");
        ensure!(buf[..n] == want[..], "datagram {k} differs ({n} bytes)");
    }
    let writes = crate::kernel::rx_packets(&name)? - before;
    ensure!(writes == 1, "the interface received {writes} packets for the {DATAGRAMS} datagrams, not one merged");
    eprintln!("USO: send_batch wrote {DATAGRAMS} datagrams as {writes} packet; the socket received all {DATAGRAMS}");
    Ok(())
}

/// Waits (2 s at most) for the next packet `dev` hands over whole.
fn next_gso(dev: &Device, buf: &mut [u8]) -> Result<(usize, Segmentation)> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        ensure!(Instant::now() < deadline, "nothing came out of {}", dev.name());
        if !readable(dev)? {
            continue;
        }
        match dev.recv_gso(buf) {
            Ok(got) => return Ok(got),
            Err(e) if e.is_would_block() => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// `recv_gso` and `send_gso`, two offload devices with the kernel forwarding
/// between them: 44 full-size TCP segments merged by `send_batch` into A come
/// out of B as one GSO packet (`Segmentation::Tcp` with the MSS); written
/// back whole with `send_gso`, the kernel forwards it again and `recv_batch`
/// on B splits it into the same 44 segments (their TTL two lower). A plain
/// datagram comes out as `Segmentation::None`. A packet that does not match
/// its segmentation, or a device without offload, is refused and nothing
/// is written.
fn gso_whole() -> Result<()> {
    utun_tests::netns::disable_ipv6()?;
    utun_tests::netns::forward_ipv4()?;
    let a = TunBuilder::new().offload(true).address(crate::cases::addr("198.18.1.1", 24, None)?).build()?;
    let b = TunBuilder::new().offload(true).address(crate::cases::addr("198.18.2.1", 24, None)?).build()?;
    let (a, b) = (a.device(), b.device());
    ensure!(a.offload().tso && b.offload().tso, "TSO not granted: {:?}", b.offload());
    for d in [a, b] {
        d.set_nonblocking(true)?;
    }
    const MSS: usize = 1448;
    let (src, dst) =
        (SocketAddrV4::new([198, 18, 1, 2].into(), 40000), SocketAddrV4::new([198, 18, 2, 2].into(), 5001));
    let segments: Vec<Vec<u8>> = (0..44)
        .map(|i| {
            let payload: Vec<u8> = (0..MSS).map(|j| pattern(i * MSS + j)).collect();
            tcp4_segment(src, dst, i as u16, 7_000 + (i * MSS) as u32, &payload)
        })
        .collect();
    a.send_batch(&mut SendBatch::new(), &segments)?;
    let mut packet = vec![0u8; 65_575];
    let (len, segmentation) = next_gso(b, &mut packet)?;
    ensure!(
        segmentation == Segmentation::Tcp { segment_size: MSS as u16, ecn: false },
        "{segmentation:?}: not TCP segments of {MSS}"
    );
    ensure!(len == 40 + 44 * MSS, "a GSO packet of {len} bytes for 44 segments of {MSS}");
    let packet = &packet[..len];
    // Its headers once, then every segment's payload, in order.
    let payload: Vec<u8> = segments.iter().flat_map(|s| s[40..].to_vec()).collect();
    ensure!(packet[40..] == payload[..], "the GSO packet's payload is not the segments'");

    ensure!(a.send_gso(packet, segmentation)? == len);
    let mut bufs = vec![vec![0u8; 2048]; SLOTS];
    let mut sizes = [0usize; SLOTS];
    let deadline = Instant::now() + Duration::from_secs(2);
    let n = loop {
        ensure!(Instant::now() < deadline, "the packet written with send_gso never came out of {}", b.name());
        match b.recv_batch(&mut RecvBatch::new(), &mut bufs, &mut sizes) {
            Ok(n) => break n,
            Err(e) if e.is_would_block() => {
                readable(b)?;
            }
            Err(e) => return Err(e.into()),
        }
    };
    ensure!(n == segments.len(), "{n} segments for {}", segments.len());
    for (i, (sent, got)) in segments.iter().zip(&bufs).enumerate() {
        let got = &got[..sizes[i]];
        ensure!(got.len() == sent.len(), "segment {i}: {} bytes for {}", got.len(), sent.len());
        ensure!(got[8] == sent[8] - 2, "segment {i}: TTL {} after two forwardings of {}", got[8], sent[8]);
        // The TTL and the header checksum aside, the segment is the one sent.
        ensure!(got[..8] == sent[..8] && got[12..] == sent[12..], "segment {i} differs from the one sent");
    }

    // A plain datagram: whole, `Segmentation::None`.
    let udp = Udp4::new(src, dst).with_checksum().packet(&[5u8; 300]);
    ensure!(a.send_gso(&udp, Segmentation::None)? == udp.len());
    let mut buf = vec![0u8; 65_575];
    let (n, plain) = next_gso(b, &mut buf)?;
    ensure!(plain == Segmentation::None && n == udp.len() && buf[20..n] == udp[20..], "{plain:?}, {n} bytes");

    // Refused, nothing written: a segment size of 0, the wrong protocol, a
    // packet cut short of its IP length.
    let refused = [
        a.send_gso(packet, Segmentation::Tcp { segment_size: 0, ecn: false }),
        a.send_gso(&udp, Segmentation::Tcp { segment_size: MSS as u16, ecn: false }),
        a.send_gso(&packet[..len - 1], segmentation),
    ];
    for (i, r) in refused.into_iter().enumerate() {
        let e = r.err().with_context(|| format!("bad packet {i} was written"))?;
        ensure!(matches!(e.kind(), ErrorKind::InvalidInput | ErrorKind::MalformedPacket), "bad packet {i}: {e}");
    }
    ensure!(!readable(b)?, "a refused packet came out of {}", b.name());

    // The same through the async device: the packet out of B, whole, written
    // back into A, and out of B again.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build()?;
    let _entered = runtime.enter();
    let (a, b) = (utun::AsyncDevice::new(a.as_borrowed())?, utun::AsyncDevice::new(b.as_borrowed())?);
    runtime.block_on(async {
        let wait = Duration::from_secs(2);
        let mut buf = vec![0u8; 65_575];
        ensure!(a.send_gso(packet, segmentation).await? == len);
        let (n, seg) = tokio::time::timeout(wait, b.recv_gso(&mut buf)).await??;
        ensure!(seg == segmentation && n == len, "async: {seg:?}, {n} bytes");
        ensure!(buf[40..n] == packet[40..], "async: the payload differs");
        Ok::<_, anyhow::Error>(())
    })?;

    // A device without offload has no whole-packet calls.
    let plain = TunBuilder::new().build()?;
    let e = plain.device().send_gso(&udp, Segmentation::None).err().context("send_gso on a plain device")?;
    ensure!(e.kind() == ErrorKind::InvalidInput, "{e}");
    let e = plain.device().recv_gso(&mut buf).err().context("recv_gso on a plain device")?;
    ensure!(e.kind() == ErrorKind::InvalidInput, "{e}");
    Ok(())
}
