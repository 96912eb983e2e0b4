//! The relay: one TCP stream between two network namespaces joined only by
//! two tun devices and one relay thread that moves every packet either
//! device hands over into the other (the e2e test
//! `a_tcp_stream_crosses_two_offload_devices_intact_and_gso_is_split` as a
//! measurement).
//!
//! Device A (10.77.0.1, peer 10.77.0.2) is in the benchmark's namespace,
//! device B (10.77.0.2, peer 10.77.0.1) in a fresh one, where the receiver
//! listens; the sender in the benchmark's namespace writes the transfer's
//! bytes and the receiver counts them. The relay thread waits with one `poll` on
//! both devices, then moves one batch from each that is readable:
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
//!
//! The sender, the receiver and the relay thread all run on one CPU
//! ([`Layout::OneCpu`]), and the sender's congestion control is CUBIC
//! ([`CONGESTION`]): the rate is then what a byte costs in CPU time along
//! the whole path (the two TCP ends, the relay, and the kernel's work
//! between them), and what the relay saves shows in it. That layout was
//! chosen after measuring the first one, kept as the context variants
//! `relay_offload_apart` and `relay_tun_rs_apart` ([`Layout::Apart`]: the
//! stream's ends on one CPU, the relay on the other): there neither CPU was
//! busy more than ~70% of a transfer, the rate followed how the two CPUs'
//! wake-ups lined up, and the utun/tun-rs ratio went from 0.89 to 1.20
//! between runs of the same code, while utun's relay used less CPU per
//! byte in every run; with the machine's default congestion control, BBR,
//! the rate also followed BBR's pacing (its estimate of the path's
//! bandwidth). Each run records the CPU time of the relay thread and of
//! the stream's two ends, so that the report can show how busy the CPU was.

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
/// A buffer's length: room for any packet on a 1500-byte link.
const SLOT_LEN: usize = 2048;
/// Where the sender, the receiver and the relay thread run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// All three on one CPU (the first the process may use): the rate is
    /// what a byte costs in CPU time along the whole path. The targets' layout.
    OneCpu,
    /// The sender and receiver on the first CPU, the relay thread on the
    /// second: the layout of the benchmark's first version, kept as context
    /// (neither CPU is busy all the time; the rate follows how the two CPUs'
    /// wake-ups line up).
    Apart,
}

impl Layout {
    /// The CPUs of the stream's two ends and of the relay thread.
    fn cpus(self) -> (usize, usize) {
        match self {
            Layout::OneCpu => (0, 0),
            Layout::Apart => (0, 1),
        }
    }
}

/// The sender's congestion control (`TCP_CONGESTION`): CUBIC, the kernel's
/// own default (`CONFIG_DEFAULT_TCP_CONG`), whatever the machine's is.
pub const CONGESTION: &str = "cubic";
/// Batches the relay thread moves each way before its allocations are counted.
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
    /// Packets the relay thread moved (after splitting, before merging).
    pub packets: u64,
    /// Allocations of the relay thread after its first [`WARMUP_BATCHES`].
    pub allocations: u64,
    /// Packets moved in that steady state.
    pub steady_packets: u64,
    /// CPU time charged to the relay thread (user and system; the kernel's
    /// network processing that ran in it, such as the receiving TCP's
    /// after a `write` to a tun, and interrupts that came while it ran,
    /// included).
    pub relay_cpu_nanos: u64,
    /// CPU time charged to the sender and receiver threads over the transfer.
    pub stream_cpu_nanos: u64,
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

/// Waits (at most 100 ms) for either of `fds` to be readable; says which
/// are. An error or hang-up counts as readable, for the read to report it
/// (rather than `poll` returning at once, again and again).
fn readable(fds: [RawFd; 2]) -> [bool; 2] {
    let mut pfds = fds.map(|fd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 });
    // SAFETY: two valid pollfds, their count, a bounded timeout.
    if unsafe { libc::poll(pfds.as_mut_ptr(), 2, 100) } <= 0 {
        return [false; 2];
    }
    pfds.map(|p| p.revents & (libc::POLLIN | libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0)
}

/// The relay loop: waits for either device (`fds`: A, B) and moves one
/// batch from each that is readable with `step` (0: A to B, 1: B to A),
/// which says how many packets it moved (`None`: nothing was waiting after all).
fn run(fds: [RawFd; 2], stop: &AtomicBool, mut step: impl FnMut(usize) -> Result<Option<usize>>) -> Result<Counts> {
    let mut steady = Steady::new();
    while !stop.load(Ordering::Relaxed) {
        for (d, ready) in readable(fds).into_iter().enumerate() {
            if ready {
                if let Some(n) = step(d)? {
                    steady.batch(d, n);
                }
            }
        }
    }
    Ok(steady.finish())
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

/// Counts of the relay thread.
#[derive(Default)]
struct Counts {
    packets: u64,
    allocations: u64,
    steady_packets: u64,
    cpu_nanos: u64,
}

struct Steady {
    /// Batches moved each way (0: A to B, 1: B to A).
    batches: [u64; 2],
    counts: Counts,
    /// The thread's allocations when both ways had moved [`WARMUP_BATCHES`].
    allocations_at_start: Option<u64>,
}

impl Steady {
    fn new() -> Steady {
        Steady { batches: [0; 2], counts: Counts::default(), allocations_at_start: None }
    }

    fn batch(&mut self, direction: usize, packets: usize) {
        self.batches[direction] += 1;
        self.counts.packets += packets as u64;
        if self.allocations_at_start.is_some() {
            self.counts.steady_packets += packets as u64;
        } else if self.batches.iter().all(|&b| b >= WARMUP_BATCHES) {
            self.allocations_at_start = Some(counters::thread_allocations());
        }
    }

    fn finish(mut self) -> Counts {
        self.counts.cpu_nanos = counters::thread_cpu_nanos();
        if let Some(start) = self.allocations_at_start {
            self.counts.allocations = counters::thread_allocations() - start;
        }
        self.counts
    }
}

/// One direction's reusable batch state (utun).
struct UtunState {
    rx: RecvBatch,
    tx: SendBatch,
    slots: Vec<Slot>,
    sizes: [usize; SLOTS],
    whole: Vec<u8>,
}

impl UtunState {
    fn new() -> UtunState {
        UtunState {
            rx: RecvBatch::new(),
            // Room for a full batch from the start: no buffer grows as the
            // stream's batches do.
            tx: SendBatch::with_capacity(SLOTS, SLOTS * SLOT_LEN),
            slots: (0..SLOTS).map(|_| Slot { buf: vec![0u8; SLOT_LEN], len: 0 }).collect(),
            sizes: [0; SLOTS],
            whole: vec![0u8; 65_575],
        }
    }
}

fn relay_utun(kind: Relay, devs: [&Device; 2], stop: &AtomicBool) -> Result<Counts> {
    let mut states = [UtunState::new(), UtunState::new()];
    let fds = [devs[0].as_raw_fd(), devs[1].as_raw_fd()];
    run(fds, stop, |d| {
        let (from, to, st) = (devs[d], devs[1 - d], &mut states[d]);
        step_utun(kind, from, to, st)
    })
}

/// Moves one batch (one packet, whole, for `relay_whole`) from `from` to `to`.
fn step_utun(kind: Relay, from: &Device, to: &Device, st: &mut UtunState) -> Result<Option<usize>> {
    if kind == Relay::Whole {
        let (n, segmentation) = match from.recv_gso(&mut st.whole) {
            Ok(got) => got,
            Err(e) if e.is_would_block() => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        to.send_gso(&st.whole[..n], segmentation)?;
        return Ok(Some(1));
    }
    let n = match from.recv_batch(&mut st.rx, &mut st.slots, &mut st.sizes) {
        Ok(n) => n,
        Err(e) if e.is_would_block() => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    for (slot, &len) in st.slots.iter_mut().zip(&st.sizes).take(n) {
        slot.len = len;
    }
    to.send_batch(&mut st.tx, &st.slots[..n])?;
    Ok(Some(n))
}

/// One direction's reusable batch state (tun-rs).
struct TunRsState {
    original: Vec<u8>,
    bufs: Vec<Vec<u8>>,
    sizes: [usize; SLOTS],
    gro: tun_rs::GROTable,
}

const TUN_RS_OFFSET: usize = tun_rs::VIRTIO_NET_HDR_LEN;
const TUN_RS_CAPACITY: usize = TUN_RS_OFFSET + 2048;

impl TunRsState {
    fn new() -> TunRsState {
        TunRsState {
            original: vec![0u8; TUN_RS_OFFSET + 65_535],
            // Room for a whole GSO packet in every buffer: `send_multiple`
            // merges segments into the first buffer of their flow, and grows
            // it otherwise.
            bufs: (0..SLOTS)
                .map(|_| {
                    let mut b = Vec::with_capacity(TUN_RS_OFFSET + 65_535);
                    b.resize(TUN_RS_CAPACITY, 0);
                    b
                })
                .collect(),
            sizes: [0; SLOTS],
            gro: tun_rs::GROTable::default(),
        }
    }
}

fn relay_tun_rs(devs: [&tun_rs::SyncDevice; 2], stop: &AtomicBool) -> Result<Counts> {
    let mut states = [TunRsState::new(), TunRsState::new()];
    let fds = [devs[0].as_raw_fd(), devs[1].as_raw_fd()];
    run(fds, stop, |d| {
        let (from, to, st) = (devs[d], devs[1 - d], &mut states[d]);
        let n = match from.recv_multiple(&mut st.original, &mut st.bufs, &mut st.sizes, TUN_RS_OFFSET) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        for (buf, &len) in st.bufs.iter_mut().zip(&st.sizes).take(n) {
            buf.truncate(TUN_RS_OFFSET + len);
        }
        to.send_multiple(&mut st.gro, &mut st.bufs[..n], TUN_RS_OFFSET)?;
        for buf in &mut st.bufs[..n] {
            buf.resize(TUN_RS_CAPACITY, 0);
        }
        Ok(Some(n))
    })
}

fn relay(kind: Relay, a: &End, b: &End, stop: &AtomicBool) -> Result<Counts> {
    match (a, b) {
        (End::Utun(a), End::Utun(b)) => relay_utun(kind, [a, b], stop),
        (End::TunRs(a), End::TunRs(b)) => relay_tun_rs([a, b], stop),
        _ => Err(anyhow!("a relay between a utun and a tun-rs device")),
    }
}

/// Sets the socket's congestion control to [`CONGESTION`].
fn set_congestion(conn: &TcpStream) -> Result<()> {
    // SAFETY: a socket the caller owns; the option's value is the name's
    // bytes, its length given.
    let r = unsafe {
        libc::setsockopt(
            conn.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_CONGESTION,
            CONGESTION.as_ptr().cast(),
            CONGESTION.len() as libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error()).with_context(|| format!("TCP_CONGESTION {CONGESTION}"));
    }
    Ok(())
}

/// One transfer of `bytes` through the relay, its threads placed as `layout` says.
pub fn once(relay_kind: Relay, layout: Layout, bytes: usize) -> Result<Sample> {
    let (stream_cpu, relay_cpu) = layout.cpus();
    let a = End::new(relay_kind, "10.77.0.1", "10.77.0.2")?;
    let (dev_tx, dev_rx) = mpsc::channel::<(End, SocketAddr)>();
    let receiver = thread::spawn(move || {
        Namespace::new().run_within(Duration::from_secs(300), move || {
            crate::cpu::pin(stream_cpu)?;
            let b = End::new(relay_kind, "10.77.0.2", "10.77.0.1")?;
            let listener = TcpListener::bind("10.77.0.2:0")?;
            dev_tx.send((b, listener.local_addr()?)).map_err(|_| anyhow!("gone"))?;
            let (mut conn, _) = listener.accept()?;
            let cpu_at_start = counters::thread_cpu_nanos();
            conn.set_read_timeout(Some(Duration::from_secs(30)))?;
            let mut buf = vec![0u8; 1 << 18];
            let mut got = 0usize;
            loop {
                let n = conn.read(&mut buf)?;
                if n == 0 {
                    break Ok((got, counters::thread_cpu_nanos() - cpu_at_start));
                }
                got += n;
            }
        })
    });
    let (b, addr) = dev_rx.recv_timeout(Duration::from_secs(10))?;
    let stop = Arc::new(AtomicBool::new(false));
    let relay_thread = {
        let stop = stop.clone();
        thread::spawn(move || {
            crate::cpu::pin(relay_cpu)?;
            relay(relay_kind, &a, &b, &stop)
        })
    };
    let chunk = vec![0x5au8; CHUNK];
    let start = Instant::now();
    // The sender: a thread of its own (in the benchmark's namespace), pinned.
    let sender = thread::spawn(move || -> Result<u64> {
        crate::cpu::pin(stream_cpu)?;
        let mut conn = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        set_congestion(&conn)?;
        conn.set_write_timeout(Some(Duration::from_secs(30)))?;
        for _ in 0..bytes / chunk.len() {
            conn.write_all(&chunk)?;
        }
        conn.shutdown(std::net::Shutdown::Write)?;
        Ok(counters::thread_cpu_nanos())
    });
    let got = receiver.join().map_err(|_| anyhow!("receiver panicked"))?;
    let sent = sender.join().map_err(|_| anyhow!("sender panicked"))?;
    let nanos = start.elapsed().as_nanos() as u64;
    stop.store(true, Ordering::Relaxed);
    let c = relay_thread.join().map_err(|_| anyhow!("relay panicked"))??;
    let sender_cpu = sent?;
    let (got, receiver_cpu) = got?;
    ensure!(got == bytes / CHUNK * CHUNK, "{got} bytes arrived of {bytes}");
    Ok(Sample {
        nanos,
        bytes: bytes as u64,
        packets: c.packets,
        allocations: c.allocations,
        steady_packets: c.steady_packets,
        relay_cpu_nanos: c.cpu_nanos,
        stream_cpu_nanos: sender_cpu + receiver_cpu,
    })
}

/// The sender's chunk: a transfer is a whole number of them.
pub const CHUNK: usize = 1 << 20;
