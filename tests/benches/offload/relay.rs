//! The relay: one TCP stream between two network namespaces joined only by
//! two tun devices and a relay thread per direction that moves every packet
//! one device hands over into the other (the e2e test
//! `a_tcp_stream_crosses_two_offload_devices_intact_and_gso_is_split` as a
//! measurement).
//!
//! Device A (10.77.0.1, peer 10.77.0.2) is in the benchmark's namespace,
//! device B (10.77.0.2, peer 10.77.0.1) in a fresh one, where the receiver
//! listens; the sender in the benchmark's namespace writes [`Relay::bytes`]
//! and the receiver counts them. Each relay thread waits with `poll`, then
//! moves one batch:
//!
//! * `relay_plain`: `Device::new` (no offload): `recv_batch` reads the
//!   packets waiting (one `read` each), `send_batch` writes them (one
//!   `write` each).
//! * `relay_offload`: `Device::with_offload`: `recv_batch` reads one GSO
//!   packet of up to 64 KiB and splits it, `send_batch` merges the segments
//!   into one GSO packet again.
//! * `relay_whole`: `Device::with_offload`, `recv_gso` and `send_gso`: each
//!   packet passed on whole, a GSO packet neither split nor merged.
//! * `relay_tun_rs`: tun-rs 2.8 with its offload (`DeviceBuilder::offload`,
//!   `recv_multiple` and `send_multiple` with a `GROTable`), as its
//!   documentation shows.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, ensure};
use utun::{Device, RecvBatch, SendBatch};
use utun_tests::netns::Namespace;

use crate::counters;

/// Buffers a batch may fill: a 64 KiB GSO packet of 1448-byte segments
/// makes 46.
const SLOTS: usize = 64;
/// Where the TCP sender and receiver run, and where the relay threads run:
/// the stream's two ends on one CPU, the relay on the other, the same for
/// every variant (left to the scheduler, the four threads' placement, and
/// with it the rate, changed from run to run by up to a factor of three).
const STREAM_CPU: usize = 0;
const RELAY_CPU: usize = 1;
/// Batches each relay thread moves before its allocations are counted.
const WARMUP_BATCHES: u64 = 64;

/// A relay variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relay {
    Plain,
    Offload,
    Whole,
    TunRs,
}

/// What one transfer measured.
pub struct Sample {
    pub nanos: u64,
    pub bytes: u64,
    /// Packets the relay threads moved (after splitting, before merging).
    pub packets: u64,
    /// Allocations of the relay threads after their first [`WARMUP_BATCHES`].
    pub allocations: u64,
    /// Packets moved in that steady state.
    pub steady_packets: u64,
}

fn ip(args: &[&str]) -> Result<()> {
    let out = Command::new("ip").args(args).output().context("running ip")?;
    ensure!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    Ok(())
}

fn configure(name: &str, local: &str, peer: &str) -> Result<()> {
    ip(&["addr", "add", local, "peer", peer, "dev", name])?;
    ip(&["link", "set", name, "up"])
}

/// One end of the relay: a utun device or a tun-rs one.
enum End {
    Utun(Device),
    TunRs(tun_rs::SyncDevice),
}

impl End {
    fn new(relay: Relay, local: &str, peer: &str) -> Result<End> {
        let end = match relay {
            Relay::Plain => End::Utun(Device::new()?),
            Relay::Offload | Relay::Whole => End::Utun(Device::with_offload(None)?),
            Relay::TunRs => End::TunRs(tun_rs::DeviceBuilder::new().offload(true).build_sync()?),
        };
        let name = match &end {
            End::Utun(d) => {
                ensure!(relay == Relay::Plain || d.offload().tso, "TSO not granted");
                d.name().to_string()
            }
            End::TunRs(d) => {
                ensure!(d.tcp_gso(), "tun-rs: TSO not granted");
                d.name()?
            }
        };
        configure(&name, local, peer)?;
        Ok(end)
    }
}

fn readable(fd: RawFd) -> bool {
    let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd, its count 1, a bounded timeout.
    unsafe { libc::poll(&mut pfd, 1, 100) > 0 }
}

/// A buffer the whole of which `recv_batch` may fill, and whose packet (its
/// first `len` bytes) `send_batch` writes: a relay's batch with no
/// allocation.
struct Slot {
    buf: Vec<u8>,
    len: usize,
}

impl AsRef<[u8]> for Slot {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl AsMut<[u8]> for Slot {
    fn as_mut(&mut self) -> &mut [u8] {
        &mut self.buf
    }
}

/// Counts of one relay thread.
#[derive(Default)]
struct Counts {
    packets: u64,
    allocations: u64,
    steady_packets: u64,
}

struct Steady {
    batches: u64,
    counts: Counts,
    allocations_at_start: u64,
}

impl Steady {
    fn new() -> Steady {
        Steady { batches: 0, counts: Counts::default(), allocations_at_start: 0 }
    }

    fn batch(&mut self, packets: usize) {
        self.batches += 1;
        self.counts.packets += packets as u64;
        if self.batches == WARMUP_BATCHES {
            self.allocations_at_start = counters::thread_allocations();
        } else if self.batches > WARMUP_BATCHES {
            self.counts.steady_packets += packets as u64;
        }
    }

    fn finish(mut self) -> Counts {
        if self.batches >= WARMUP_BATCHES {
            self.counts.allocations = counters::thread_allocations() - self.allocations_at_start;
        }
        self.counts
    }
}

fn relay_utun(from: &Device, to: &Device, stop: &AtomicBool) -> Result<Counts> {
    let mut rx = RecvBatch::new();
    let mut tx = SendBatch::new();
    let mut slots: Vec<Slot> = (0..SLOTS).map(|_| Slot { buf: vec![0u8; 2048], len: 0 }).collect();
    let mut sizes = [0usize; SLOTS];
    let mut steady = Steady::new();
    while !stop.load(Ordering::Relaxed) {
        if !readable(from.as_raw_fd()) {
            continue;
        }
        let n = match from.recv_batch(&mut rx, &mut slots, &mut sizes) {
            Ok(n) => n,
            Err(e) if e.is_would_block() => continue,
            Err(e) => return Err(e.into()),
        };
        for (slot, &len) in slots.iter_mut().zip(&sizes).take(n) {
            slot.len = len;
        }
        to.send_batch(&mut tx, &slots[..n])?;
        steady.batch(n);
    }
    Ok(steady.finish())
}

fn relay_whole(from: &Device, to: &Device, stop: &AtomicBool) -> Result<Counts> {
    let mut buf = vec![0u8; 65_575];
    let mut steady = Steady::new();
    while !stop.load(Ordering::Relaxed) {
        if !readable(from.as_raw_fd()) {
            continue;
        }
        let (n, segmentation) = match from.recv_gso(&mut buf) {
            Ok(got) => got,
            Err(e) if e.is_would_block() => continue,
            Err(e) => return Err(e.into()),
        };
        to.send_gso(&buf[..n], segmentation)?;
        steady.batch(1);
    }
    Ok(steady.finish())
}

fn relay_tun_rs(from: &tun_rs::SyncDevice, to: &tun_rs::SyncDevice, stop: &AtomicBool) -> Result<Counts> {
    const OFFSET: usize = tun_rs::VIRTIO_NET_HDR_LEN;
    const CAPACITY: usize = OFFSET + 2048;
    let mut original = vec![0u8; OFFSET + 65_535];
    // Room for a whole GSO packet in every buffer: `send_multiple` merges
    // segments into the first buffer of their flow, and grows it otherwise.
    let mut bufs: Vec<Vec<u8>> = (0..SLOTS)
        .map(|_| {
            let mut b = Vec::with_capacity(OFFSET + 65_535);
            b.resize(CAPACITY, 0);
            b
        })
        .collect();
    let mut sizes = [0usize; SLOTS];
    let mut gro = tun_rs::GROTable::default();
    let mut steady = Steady::new();
    while !stop.load(Ordering::Relaxed) {
        if !readable(from.as_raw_fd()) {
            continue;
        }
        let n = match from.recv_multiple(&mut original, &mut bufs, &mut sizes, OFFSET) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e.into()),
        };
        for (buf, &len) in bufs.iter_mut().zip(&sizes).take(n) {
            buf.truncate(OFFSET + len);
        }
        to.send_multiple(&mut gro, &mut bufs[..n], OFFSET)?;
        for buf in &mut bufs[..n] {
            buf.resize(CAPACITY, 0);
        }
        steady.batch(n);
    }
    Ok(steady.finish())
}

fn relay(kind: Relay, from: &End, to: &End, stop: &AtomicBool) -> Result<Counts> {
    match (from, to) {
        (End::Utun(from), End::Utun(to)) if kind == Relay::Whole => relay_whole(from, to, stop),
        (End::Utun(from), End::Utun(to)) => relay_utun(from, to, stop),
        (End::TunRs(from), End::TunRs(to)) => relay_tun_rs(from, to, stop),
        _ => Err(anyhow!("a relay between a utun and a tun-rs device")),
    }
}

/// One transfer of `bytes` through the relay.
pub fn once(relay_kind: Relay, bytes: usize) -> Result<Sample> {
    let a = End::new(relay_kind, "10.77.0.1", "10.77.0.2")?;
    let (dev_tx, dev_rx) = mpsc::channel::<(End, SocketAddr)>();
    let receiver = thread::spawn(move || {
        Namespace::new().run_within(Duration::from_secs(300), move || {
            crate::cpu::pin(STREAM_CPU)?;
            let b = End::new(relay_kind, "10.77.0.2", "10.77.0.1")?;
            let listener = TcpListener::bind("10.77.0.2:0")?;
            dev_tx.send((b, listener.local_addr()?)).map_err(|_| anyhow!("gone"))?;
            let (mut conn, _) = listener.accept()?;
            conn.set_read_timeout(Some(Duration::from_secs(30)))?;
            let mut buf = vec![0u8; 1 << 18];
            let mut got = 0usize;
            loop {
                let n = conn.read(&mut buf)?;
                if n == 0 {
                    break Ok(got);
                }
                got += n;
            }
        })
    });
    let (b, addr) = dev_rx.recv_timeout(Duration::from_secs(10))?;
    let (a, b) = (Arc::new(a), Arc::new(b));
    let stop = Arc::new(AtomicBool::new(false));
    let spawn = |from: &Arc<End>, to: &Arc<End>| {
        let (from, to, stop) = (from.clone(), to.clone(), stop.clone());
        thread::spawn(move || {
            crate::cpu::pin(RELAY_CPU)?;
            relay(relay_kind, &from, &to, &stop)
        })
    };
    let relays = [spawn(&a, &b), spawn(&b, &a)];
    let chunk = vec![0x5au8; CHUNK];
    let start = Instant::now();
    // The sender: a thread of its own (in the benchmark's namespace), pinned.
    let sender = thread::spawn(move || -> Result<()> {
        crate::cpu::pin(STREAM_CPU)?;
        let mut conn = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        conn.set_write_timeout(Some(Duration::from_secs(30)))?;
        for _ in 0..bytes / chunk.len() {
            conn.write_all(&chunk)?;
        }
        conn.shutdown(std::net::Shutdown::Write)?;
        Ok(())
    });
    let got = receiver.join().map_err(|_| anyhow!("receiver panicked"))?;
    let sent = sender.join().map_err(|_| anyhow!("sender panicked"))?;
    let nanos = start.elapsed().as_nanos() as u64;
    stop.store(true, Ordering::Relaxed);
    let mut sample = Sample { nanos, bytes: bytes as u64, packets: 0, allocations: 0, steady_packets: 0 };
    for r in relays {
        let c = r.join().map_err(|_| anyhow!("relay panicked"))??;
        sample.packets += c.packets;
        sample.allocations += c.allocations;
        sample.steady_packets += c.steady_packets;
    }
    sent?;
    let got = got?;
    ensure!(got == bytes / CHUNK * CHUNK, "{got} bytes arrived of {bytes}");
    Ok(sample)
}

/// The sender's chunk: a transfer is a whole number of them.
pub const CHUNK: usize = 1 << 20;
