//! The 64 KiB GSO loop and the two-queue loop.
//!
//! Two offload devices (`Device::with_offload`: `IFF_VNET_HDR`, TSO granted,
//! `IFF_MULTI_QUEUE`), gsoA (198.18.1.1/24) and gsoB (198.18.2.1/24), each
//! with a second queue (`clone_queue`), IPv4 forwarding on, IPv6 off. One
//! iteration moves [`SEGMENTS`] full-size TCP segments of one flow
//! (198.18.1.2 → 198.18.2.2) into gsoA and back out of gsoB as one GSO
//! packet: the kernel takes the one GSO packet written, forwards it whole
//! (gsoB has TSO) during that `write`, and hands it to gsoB's reader whole.
//!
//! * `gso_raw`: the GSO record (`virtio_net_hdr` and packet, as gsoB hands
//!   it over) written with `write` and read back with `read`: the system
//!   calls and the kernel's work alone.
//! * `gso_utun`: the same packet with `send_gso` and `recv_gso` (its
//!   `Segmentation` checked both ways, the header apart: `writev`/`readv`).
//! * `gso_split`: the segments with `send_batch` (merged into one GSO packet,
//!   one `write`) and `recv_batch` (one `read`, split into the segments, every
//!   checksum computed): what a relay that looks at each packet does.
//! * `mq_one` / `mq_two`: `gso_split`'s loop on one queue pair, then on two
//!   threads, each on its own queue pair with a flow of its own (flows chosen
//!   by probing so that gsoB hands each to a different queue).

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::sync::Barrier;
use std::time::Instant;

use anyhow::{Context as _, Result, bail, ensure};
use utun::{Device, InterfaceAddress, RecvBatch, Segmentation, SendBatch};
use utun_tests::packet::tcp4_segment;

use crate::counters;

/// Segments an iteration moves: 44 × 1448 payload bytes fill a GSO packet
/// close to 64 KiB (63,752 bytes with its headers).
pub const SEGMENTS: usize = 44;
/// The TCP payload of a full-size segment at MTU 1500.
const MSS: usize = 1448;
const HEADERS: usize = 40;
/// Bytes of IP packets an iteration moves.
pub const BYTES_PER_ITERATION: usize = SEGMENTS * (HEADERS + MSS);
const SRC: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 2);
const DST: Ipv4Addr = Ipv4Addr::new(198, 18, 2, 2);
const DST_PORT: u16 = 5001;
/// Milliseconds a read waits for a packet that should already be there.
const LOST_AFTER_MS: i32 = 1000;

/// The segments of one iteration, for the flow from source port `port`:
/// IPv4 with DF, TCP with ACK, full checksums, consecutive sequence
/// numbers. The same bytes every iteration (the kernel does not track the
/// flow: it forwards it).
pub fn segments(port: u16) -> Vec<Vec<u8>> {
    let (src, dst) = (SocketAddrV4::new(SRC, port), SocketAddrV4::new(DST, DST_PORT));
    (0..SEGMENTS)
        .map(|i| {
            let payload: Vec<u8> = (0..MSS).map(|j| (i * 7 + j) as u8).collect();
            tcp4_segment(src, dst, i as u16, 1_000_000 + (i * MSS) as u32, &payload)
        })
        .collect()
}

/// The two devices and their second queues.
pub struct Pair {
    a: [Device; 2],
    b: [Device; 2],
    /// A source port whose flow gsoB hands to queue 0, and one to queue 1.
    ports: [u16; 2],
}

fn poll_in(fd: BorrowedFd<'_>, ms: i32) -> io::Result<bool> {
    let mut pfd = libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd, its count 1, a bounded timeout.
    let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
    if rc < 0 { Err(io::Error::last_os_error()) } else { Ok(rc > 0) }
}

impl Pair {
    /// Creates the devices in the calling thread's namespace (the
    /// benchmark's own) and finds the two flows.
    pub fn create() -> Result<Pair> {
        // No IPv6: a router solicitation the kernel sends out of a device
        // would be read where a GSO packet is expected.
        utun_tests::netns::disable_ipv6()?;
        utun_tests::netns::forward_ipv4()?;
        let make = |name: &str, addr: Ipv4Addr| -> Result<[Device; 2]> {
            let dev = Device::with_offload(Some(name)).with_context(|| format!("creating {name}"))?;
            ensure!(dev.offload().tso, "{name}: the kernel did not grant TSO");
            let second = dev.clone_queue().with_context(|| format!("a second queue of {name}"))?;
            let iface = dev.interface();
            iface.add_address(&InterfaceAddress::new(IpAddr::V4(addr), 24)?)?;
            iface.set_up(true)?;
            for d in [&dev, &second] {
                d.set_nonblocking(true)?;
            }
            Ok([dev, second])
        };
        let a = make("gsoA", Ipv4Addr::new(198, 18, 1, 1))?;
        let b = make("gsoB", Ipv4Addr::new(198, 18, 2, 1))?;
        let mut pair = Pair { a, b, ports: [0; 2] };
        pair.drain()?;
        pair.ports = pair.probe_flows()?;
        Ok(pair)
    }

    fn drain(&self) -> Result<()> {
        let mut scratch = RecvBatch::new();
        let mut bufs = vec![vec![0u8; 2048]; 64];
        let mut sizes = [0usize; 64];
        for d in self.a.iter().chain(&self.b) {
            for _ in 0..10_000 {
                if d.recv_batch(&mut scratch, &mut bufs, &mut sizes).is_err() {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Source ports whose flows gsoB hands to its queue 0 and 1: the kernel
    /// picks a queue by the flow's hash (`tun_automq_select_queue`,
    /// drivers/net/tun.c), so one segment of each candidate is sent and its
    /// queue seen.
    fn probe_flows(&self) -> Result<[u16; 2]> {
        let mut found = [None; 2];
        let mut tx = SendBatch::new();
        let mut rx = RecvBatch::new();
        let mut bufs = vec![vec![0u8; 2048]; 64];
        let mut sizes = [0usize; 64];
        for port in 40_000..40_256u16 {
            let seg = &segments(port)[..1];
            self.a[0].send_batch(&mut tx, seg)?;
            let mut queue = None;
            for _ in 0..100 {
                for (q, d) in self.b.iter().enumerate() {
                    if d.recv_batch(&mut rx, &mut bufs, &mut sizes).is_ok() {
                        queue = Some(q);
                    }
                }
                if queue.is_some() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            let q = queue.with_context(|| format!("a probe segment from port {port} never came out of gsoB"))?;
            found[q].get_or_insert(port);
            if let [Some(p0), Some(p1)] = found {
                return Ok([p0, p1]);
            }
        }
        bail!("256 flows all came out of one queue of gsoB: {found:?}")
    }
}

/// Reads from a non-blocking device, waiting (bounded) only when nothing is
/// there, which in steady state never happens: the packet was forwarded
/// during the `write` before.
fn recv_batch_bounded(dev: &Device, rx: &mut RecvBatch, bufs: &mut [Vec<u8>], sizes: &mut [usize]) -> Result<usize> {
    loop {
        match dev.recv_batch(rx, bufs, sizes) {
            Ok(n) => return Ok(n),
            Err(e) if e.is_would_block() => {
                if !poll_in(dev.as_fd(), LOST_AFTER_MS)? {
                    bail!("{}: a GSO packet written was never handed over", dev.name());
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// What one loop measured.
pub struct Sample {
    pub nanos: u64,
    pub iterations: u64,
    /// Allocations of the looping thread(s) while measured.
    pub allocations: u64,
}

/// `iterations` of utun's loop on queue pair `q` (after `warmup` unmeasured).
fn utun_loop(pair: &Pair, q: usize, warmup: usize, iterations: usize, start: Option<&Barrier>) -> Result<Sample> {
    let (a, b) = (&pair.a[q], &pair.b[q]);
    let segs = segments(pair.ports[q]);
    let mut tx = SendBatch::new();
    let mut rx = RecvBatch::new();
    let mut bufs = vec![vec![0u8; 2048]; 64];
    let mut sizes = [0usize; 64];
    let one = || -> Result<()> {
        a.send_batch(&mut tx, &segs)?;
        let n = recv_batch_bounded(b, &mut rx, &mut bufs, &mut sizes)?;
        ensure!(n == SEGMENTS, "{n} segments came out of {} for {SEGMENTS} sent", b.name());
        Ok(())
    };
    measure(warmup, iterations, start, one)
}

/// Runs `one` `warmup` times, waits at `start` (when given), then times
/// `iterations` runs of it and counts the thread's allocations meanwhile.
fn measure(
    warmup: usize,
    iterations: usize,
    start: Option<&Barrier>,
    mut one: impl FnMut() -> Result<()>,
) -> Result<Sample> {
    let warm = (0..warmup).try_for_each(|_| one());
    // Every thread reaches the start, whatever its warm-up gave: a thread
    // that returned early would leave the others waiting for ever.
    if let Some(start) = start {
        start.wait();
    }
    warm?;
    let allocations = counters::thread_allocations();
    let t = Instant::now();
    for _ in 0..iterations {
        one()?;
    }
    let nanos = t.elapsed().as_nanos() as u64;
    Ok(Sample { nanos, iterations: iterations as u64, allocations: counters::thread_allocations() - allocations })
}

/// utun's split-and-merge loop on queue pair 0.
pub fn split(pair: &Pair, warmup: usize, iterations: usize) -> Result<Sample> {
    utun_loop(pair, 0, warmup, iterations, None)
}

/// utun's whole-packet loop on queue pair 0: the GSO packet gsoB hands over
/// for one iteration's segments, written with `send_gso` and read back with
/// `recv_gso`.
pub fn whole(pair: &Pair, warmup: usize, iterations: usize) -> Result<Sample> {
    let (a, b) = (&pair.a[0], &pair.b[0]);
    let mut tx = SendBatch::new();
    a.send_batch(&mut tx, &segments(pair.ports[0]))?;
    let mut packet = vec![0u8; 70_000];
    let (len, segmentation) = recv_gso_bounded(b, &mut packet)?;
    packet.truncate(len);
    ensure!(
        matches!(segmentation, Segmentation::Tcp { segment_size, .. } if usize::from(segment_size) == MSS),
        "gsoB handed over {segmentation:?}, not TCP segments of {MSS}"
    );
    let mut buf = vec![0u8; 70_000];
    let one = || -> Result<()> {
        a.send_gso(&packet, segmentation)?;
        let (got, seg) = recv_gso_bounded(b, &mut buf)?;
        ensure!(got == packet.len() && seg == segmentation, "{got} bytes, {seg:?} read for {len}, {segmentation:?}");
        Ok(())
    };
    measure(warmup, iterations, None, one)
}

/// `recv_gso` on a non-blocking device, waiting (bounded) only when nothing
/// is there.
fn recv_gso_bounded(dev: &Device, buf: &mut [u8]) -> Result<(usize, Segmentation)> {
    loop {
        match dev.recv_gso(buf) {
            Ok(got) => return Ok(got),
            Err(e) if e.is_would_block() => {
                if !poll_in(dev.as_fd(), LOST_AFTER_MS)? {
                    bail!("{}: a GSO packet written was never handed over", dev.name());
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The raw loop on queue pair 0: the record gsoB hands over for one
/// iteration's segments, written into gsoA and read back, as it is.
pub fn raw(pair: &Pair, warmup: usize, iterations: usize) -> Result<Sample> {
    let (a, b) = (pair.a[0].as_fd(), pair.b[0].as_fd());
    // The record: utun merges one iteration's segments, the kernel forwards
    // them, and gsoB's reader gets a GSO record (virtio_net_hdr + packet).
    let mut tx = SendBatch::new();
    pair.a[0].send_batch(&mut tx, &segments(pair.ports[0]))?;
    let mut record = vec![0u8; 70_000];
    let len = read_bounded(b, &mut record)?;
    record.truncate(len);
    let mut buf = vec![0u8; 70_000];
    let one = || -> Result<()> {
        let n = rustix::io::write(a, &record)?;
        ensure!(n == record.len(), "a short write");
        let got = read_bounded(b, &mut buf)?;
        ensure!(got == record.len(), "{got} bytes read for a {}-byte record", record.len());
        Ok(())
    };
    measure(warmup, iterations, None, one)
}

fn read_bounded(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize> {
    loop {
        match rustix::io::read(fd, &mut *buf) {
            Ok(n) => return Ok(n),
            Err(rustix::io::Errno::AGAIN) => {
                if !poll_in(fd, LOST_AFTER_MS)? {
                    bail!("a GSO record written was never handed over");
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Two threads, each utun's loop on its own queue pair, `iterations` each;
/// the time from their common start to the last one's end.
pub fn two_queues(pair: &Pair, warmup: usize, iterations: usize) -> Result<Sample> {
    let start = Barrier::new(3);
    std::thread::scope(|s| {
        let threads: Vec<_> = (0..2)
            .map(|q| {
                let start = &start;
                s.spawn(move || {
                    // A CPU each, as a program with a thread per queue would
                    // arrange it (left to the scheduler, both sometimes share one).
                    let pinned = crate::cpu::pin(q);
                    let sample = utun_loop(pair, q, warmup, iterations, Some(start));
                    pinned?;
                    sample
                })
            })
            .collect();
        start.wait();
        let t = Instant::now();
        let mut allocations = 0;
        for th in threads {
            allocations += th.join().map_err(|_| anyhow::anyhow!("a queue thread panicked"))??.allocations;
        }
        let nanos = t.elapsed().as_nanos() as u64;
        Ok(Sample { nanos, iterations: 2 * iterations as u64, allocations })
    })
}
