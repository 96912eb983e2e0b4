//! The variants: the same job (write a packet into tunA, read the forwarded
//! packet from tunB) done by each API, measured the same way.

use std::os::fd::AsRawFd as _;
use std::time::Instant;

use anyhow::{Context as _, Result, bail, ensure};
use tokio::runtime::Runtime;

use crate::counters::{SyscallCounter, allocations};
use crate::loops::{
    raw_blocking_loop, raw_nonblocking_loop, tun_rs_sync_loop, tun_rs_tokio_loop, utun_sync_loop, utun_tokio_loop,
};
use crate::raw;
use crate::setup::{Devices, is_forwarded};

/// The longest one run may take (a few seconds is normal).
const WATCHDOG_SECONDS: libc::c_uint = 120;

/// One way of moving the packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// `libc::write`/`libc::read` of the packet on blocking descriptors.
    RawBlocking,
    /// `utun::Device::send`/`recv`.
    UtunSync,
    /// The blocking loop with direct system calls (rustix) instead of
    /// glibc's `read`/`write`: how utun makes them on Linux. Context, not a
    /// target's baseline: it shows how much of a difference to the raw loop
    /// is the system-call path rather than utun's own work.
    RawDirect,
    /// The non-blocking loop (`poll` on `EAGAIN`) with direct system calls.
    RawDirectNonblocking,
    /// `libc::write`/`libc::read` on non-blocking descriptors, `poll` on
    /// `EAGAIN`: what an async runtime can at best do.
    RawNonblocking,
    /// The same with both descriptors registered (edge-triggered) with an
    /// epoll instance, `epoll_wait` on `EAGAIN`: what an epoll-based runtime
    /// can at best do. Not a target's baseline: it shows what registering a
    /// descriptor costs in the kernel (every packet queued on tunB then runs
    /// epoll's wake-up callback).
    RawEpoll,
    /// `utun::AsyncDevice::send`/`recv` on a current-thread runtime.
    UtunTokio,
    /// tun-rs's `SyncDevice::send`/`recv`.
    TunRsSync,
    /// tun-rs's tokio `AsyncDevice::send`/`recv` on a current-thread runtime.
    TunRsTokio,
}

impl Variant {
    /// Every variant, in the order tables list them.
    pub const ALL: [Variant; 9] = [
        Variant::RawBlocking,
        Variant::RawDirect,
        Variant::UtunSync,
        Variant::TunRsSync,
        Variant::RawNonblocking,
        Variant::RawDirectNonblocking,
        Variant::RawEpoll,
        Variant::UtunTokio,
        Variant::TunRsTokio,
    ];

    /// A name for tables.
    pub fn label(self) -> &'static str {
        match self {
            Variant::RawBlocking => "raw read/write, blocking",
            Variant::UtunSync => "utun::Device",
            Variant::RawDirect => "raw, blocking, direct system calls",
            Variant::RawDirectNonblocking => "raw, non-blocking + poll, direct system calls",
            Variant::RawNonblocking => "raw read/write, non-blocking + poll",
            Variant::RawEpoll => "raw read/write, non-blocking + epoll",
            Variant::UtunTokio => "utun::AsyncDevice",
            Variant::TunRsSync => "tun-rs SyncDevice",
            Variant::TunRsTokio => "tun-rs AsyncDevice (tokio)",
        }
    }

    /// A name for the JSON file.
    pub fn key(self) -> &'static str {
        match self {
            Variant::RawBlocking => "raw_blocking",
            Variant::UtunSync => "utun_sync",
            Variant::RawDirect => "raw_direct",
            Variant::RawDirectNonblocking => "raw_direct_nonblocking",
            Variant::RawNonblocking => "raw_nonblocking",
            Variant::RawEpoll => "raw_epoll",
            Variant::UtunTokio => "utun_tokio",
            Variant::TunRsSync => "tun_rs_sync",
            Variant::TunRsTokio => "tun_rs_tokio",
        }
    }

    /// The raw loop this variant is compared with.
    pub fn baseline(self) -> Variant {
        match self {
            Variant::RawBlocking | Variant::RawDirect | Variant::UtunSync | Variant::TunRsSync => Variant::RawBlocking,
            Variant::RawNonblocking
            | Variant::RawDirectNonblocking
            | Variant::RawEpoll
            | Variant::UtunTokio
            | Variant::TunRsTokio => Variant::RawNonblocking,
        }
    }
}

/// How a raw loop waits.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Blocking descriptors.
    Blocking,
    /// Blocking descriptors, direct system calls.
    BlockingDirect,
    /// Non-blocking, `poll` on `EAGAIN`, direct system calls.
    PollDirect,
    /// Non-blocking, `poll` on `EAGAIN`.
    Poll,
    /// Non-blocking and registered with epoll, `epoll_wait` on `EAGAIN`.
    Epoll,
}

/// What one run measured.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// Wall-clock nanoseconds for the measured packets.
    pub nanos: u128,
    /// Heap allocations (any thread) while they were moved.
    pub allocations: u64,
    /// System calls of this thread while they were moved, when counted.
    pub syscalls: Option<u64>,
    /// The measured packets.
    pub packets: u64,
}

/// The measurement around the steady-state loop: the clock, the allocation
/// count and, in a counting pass, the syscall count.
struct Window<'a> {
    counter: Option<&'a SyscallCounter>,
    syscalls: u64,
    allocations: u64,
    start: Instant,
}

impl<'a> Window<'a> {
    fn open(counter: Option<&'a SyscallCounter>) -> Result<Window<'a>> {
        let syscalls = match counter {
            Some(c) => c.read()?,
            None => 0,
        };
        let allocations = allocations();
        Ok(Window { counter, syscalls, allocations, start: Instant::now() })
    }

    fn close(self, packets: usize) -> Result<Sample> {
        let nanos = self.start.elapsed().as_nanos();
        let allocations = allocations() - self.allocations;
        let syscalls = match self.counter {
            Some(c) => Some(SyscallCounter::between(self.syscalls, c.read()?)),
            None => None,
        };
        Ok(Sample { nanos, allocations, syscalls, packets: packets as u64 })
    }
}

/// What every run shares.
pub struct Bench {
    /// The devices.
    pub devices: Devices,
    /// The current-thread runtime of the async variants.
    pub runtime: Runtime,
}

/// One run's job: `packet`, `warmup` times unmeasured, then `packets` times.
#[derive(Clone, Copy)]
pub struct Job<'a> {
    /// The IP packet.
    pub packet: &'a [u8],
    /// Packets moved before the measurement starts.
    pub warmup: usize,
    /// Packets measured.
    pub packets: usize,
}

impl Bench {
    /// Attaches to the devices as `variant` needs, runs `job`, detaches.
    pub fn run(&self, variant: Variant, job: Job<'_>, counter: Option<&SyscallCounter>) -> Result<Sample> {
        raw::watchdog(WATCHDOG_SECONDS)?;
        let sample = match variant {
            Variant::RawBlocking => self.raw(job, counter, Mode::Blocking),
            Variant::RawNonblocking => self.raw(job, counter, Mode::Poll),
            Variant::RawDirect => self.raw(job, counter, Mode::BlockingDirect),
            Variant::RawDirectNonblocking => self.raw(job, counter, Mode::PollDirect),
            Variant::RawEpoll => self.raw(job, counter, Mode::Epoll),
            Variant::UtunSync => self.utun_sync(job, counter),
            Variant::UtunTokio => self.utun_tokio(job, counter),
            Variant::TunRsSync => self.tun_rs_sync(job, counter),
            Variant::TunRsTokio => self.tun_rs_tokio(job, counter),
        }
        .with_context(|| format!("{} with {}-byte packets", variant.label(), job.packet.len()))?;
        raw::watchdog(0)?;
        ensure!(sample.packets == job.packets as u64);
        Ok(sample)
    }

    fn raw(&self, job: Job<'_>, counter: Option<&SyscallCounter>, mode: Mode) -> Result<Sample> {
        let (a, b) = self.devices.utun()?;
        let (a, b) = (a.as_raw_fd(), b.as_raw_fd());
        let mut buf = vec![0u8; 2048];
        let epoll = raw::Epoll::new()?;
        if !matches!(mode, Mode::Blocking | Mode::BlockingDirect) {
            raw::set_nonblocking(a, true)?;
            raw::set_nonblocking(b, true)?;
        }
        if mode == Mode::Epoll {
            epoll.add(a)?;
            epoll.add(b)?;
        }
        let run = |n: usize, buf: &mut [u8]| match mode {
            Mode::Blocking => raw_blocking_loop::<false>(a, b, job.packet, buf, n),
            Mode::BlockingDirect => raw_blocking_loop::<true>(a, b, job.packet, buf, n),
            Mode::Poll => raw_nonblocking_loop::<false>(a, b, job.packet, buf, n, raw::wait),
            Mode::PollDirect => raw_nonblocking_loop::<true>(a, b, job.packet, buf, n, raw::wait),
            Mode::Epoll => raw_nonblocking_loop::<false>(a, b, job.packet, buf, n, |_, _| epoll.wait()),
        };
        run(job.warmup, &mut buf)?;
        let window = Window::open(counter)?;
        run(job.packets, &mut buf)?;
        let sample = window.close(job.packets)?;
        check(job.packet, &buf[..job.packet.len()])?;
        Ok(sample)
    }

    fn utun_sync(&self, job: Job<'_>, counter: Option<&SyscallCounter>) -> Result<Sample> {
        let (a, b) = self.devices.utun()?;
        let mut buf = vec![0u8; 2048];
        utun_sync_loop(&a, &b, job.packet, &mut buf, job.warmup)?;
        let window = Window::open(counter)?;
        utun_sync_loop(&a, &b, job.packet, &mut buf, job.packets)?;
        let sample = window.close(job.packets)?;
        check(job.packet, &buf[..job.packet.len()])?;
        Ok(sample)
    }

    fn utun_tokio(&self, job: Job<'_>, counter: Option<&SyscallCounter>) -> Result<Sample> {
        let (a, b) = self.devices.utun()?;
        let mut buf = vec![0u8; 2048];
        self.runtime.block_on(async {
            let a = utun::AsyncDevice::new(a)?;
            let b = utun::AsyncDevice::new(b)?;
            utun_tokio_loop(&a, &b, job.packet, &mut buf, job.warmup).await?;
            let window = Window::open(counter)?;
            utun_tokio_loop(&a, &b, job.packet, &mut buf, job.packets).await?;
            let sample = window.close(job.packets)?;
            check(job.packet, &buf[..job.packet.len()])?;
            Ok(sample)
        })
    }

    fn tun_rs_sync(&self, job: Job<'_>, counter: Option<&SyscallCounter>) -> Result<Sample> {
        let (a, b) = self.devices.tun_rs()?;
        let mut buf = vec![0u8; 2048];
        tun_rs_sync_loop(&a, &b, job.packet, &mut buf, job.warmup)?;
        let window = Window::open(counter)?;
        tun_rs_sync_loop(&a, &b, job.packet, &mut buf, job.packets)?;
        let sample = window.close(job.packets)?;
        check(job.packet, &buf[..job.packet.len()])?;
        Ok(sample)
    }

    fn tun_rs_tokio(&self, job: Job<'_>, counter: Option<&SyscallCounter>) -> Result<Sample> {
        let (a, b) = self.devices.tun_rs()?;
        let mut buf = vec![0u8; 2048];
        self.runtime.block_on(async {
            let a = tun_rs::AsyncDevice::new(a)?;
            let b = tun_rs::AsyncDevice::new(b)?;
            tun_rs_tokio_loop(&a, &b, job.packet, &mut buf, job.warmup).await?;
            let window = Window::open(counter)?;
            tun_rs_tokio_loop(&a, &b, job.packet, &mut buf, job.packets).await?;
            let sample = window.close(job.packets)?;
            check(job.packet, &buf[..job.packet.len()])?;
            Ok(sample)
        })
    }

    /// Sends one packet through utun and waits up to a second for it on
    /// tunB: proof that the kernel forwards between the devices.
    pub fn check_forwarding(&self, packet: &[u8]) -> Result<()> {
        let (a, b) = self.devices.utun()?;
        a.send(packet)?;
        if !raw::readable_within(b.as_raw_fd(), 1000)? {
            bail!(
                "a packet written into {} did not come out of {} within a second: the kernel does not forward \
                 between them (ip_forward, rp_filter?)",
                crate::setup::TUN_A,
                crate::setup::TUN_B
            );
        }
        let mut buf = [0u8; 2048];
        let n = b.recv(&mut buf)?;
        check(packet, &buf[..n])
    }
}

/// Fails unless `got` is `sent` forwarded once.
fn check(sent: &[u8], got: &[u8]) -> Result<()> {
    ensure!(is_forwarded(sent, got), "the packet read back from tunB is not the one written into tunA");
    Ok(())
}
