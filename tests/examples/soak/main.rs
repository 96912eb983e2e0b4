//! The soak (`cargo xtask soak [--packets N]`; Linux only, as root).
//!
//! In a network namespace it creates for the whole process (and refuses to
//! run without), two tun devices made with `TunBuilder`: soakA
//! (198.18.1.1/24) and soakB (198.18.2.1/24), IPv4 forwarding on,
//! reverse-path filtering and IPv6 off. A packet from 198.18.1.2 to
//! 198.18.2.2 written into soakA is routed by the kernel out of soakB, and
//! one from 198.18.2.2 to 198.18.1.2 written into soakB comes out of soakA:
//! the kernel really carries every packet (one forwarding hop: TTL one less,
//! header checksum recomputed). Nothing leaves the namespace.
//!
//! Two phases, each moving N packets each way at once (one direction per
//! thread with the blocking `utun::Device`, both directions as two futures
//! on a tokio runtime with `utun::AsyncDevice`): a direction writes a window
//! of packets (fewer than the devices' transmit queue, so the kernel is
//! never made to drop by overrun), then reads them back from the other
//! device, waiting at most 1 s for each. Every packet carries its direction,
//! its sequence number, a checksum of its body and a body made from its
//! sequence number: the reader rebuilds the packet that was sent and compares
//! every byte. The report, per phase and direction: packets sent, received
//! intact, lost, corrupted, duplicated, foreign, out of order; the kernel's
//! counters over the phase (a lost packet must be one the kernel counted as
//! dropped); this process's resident memory and open descriptors sampled
//! every 20 ms (start, peak, end). It fails on any corrupted, duplicated or
//! foreign packet, a loss the kernel's counters do not account for, a
//! descriptor not closed, or resident memory grown by more than 4 MiB.
//!
//! ```text
//! soak [--packets N] [--window W]     N each way per phase (default 1000000), W (default 128)
//! ```

#[cfg(target_os = "linux")]
mod watch;
#[cfg(target_os = "linux")]
mod wire;

#[cfg(not(target_os = "linux"))]
fn main() {
    println!("the soak runs on Linux only (it forwards packets between two tun devices in a network namespace)");
}

#[cfg(target_os = "linux")]
fn main() {
    match linux::run() {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("soak: error: {e:#}");
            std::process::exit(1);
        }
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::net::{IpAddr, Ipv4Addr};
    use std::os::fd::{AsRawFd, RawFd};
    use std::time::{Duration, Instant};

    use anyhow::{Context, Result, bail};
    use utun::{AsyncDevice, Device, InterfaceAddress, TunBuilder};
    use utun_tests::netns::Namespace;

    use crate::watch::{Counters, Profile, Sampler};
    use crate::wire::{self, Direction, MAX_LEN, Seen, Verdict};

    const USAGE: &str = "soak [--packets N] [--window W]";
    const TUN_A: &str = "soakA";
    const TUN_B: &str = "soakB";
    /// Into soakA, out of soakB.
    const A_TO_B: Direction = Direction {
        name: "soakA -> soakB",
        id: 1,
        src: Ipv4Addr::new(198, 18, 1, 2),
        dst: Ipv4Addr::new(198, 18, 2, 2),
    };
    /// Into soakB, out of soakA.
    const B_TO_A: Direction = Direction {
        name: "soakB -> soakA",
        id: 2,
        src: Ipv4Addr::new(198, 18, 2, 2),
        dst: Ipv4Addr::new(198, 18, 1, 2),
    };
    /// How long a reader waits for the next packet before it counts the rest
    /// of its window as lost.
    const READ_BOUND: Duration = Duration::from_secs(1);
    /// Waits that ran out, in one direction, after which the soak stops.
    const MAX_STALLS: u64 = 10;
    /// The growth of resident memory over a phase that is still "flat".
    const RSS_SLACK_KIB: u64 = 4096;

    struct Options {
        packets: u64,
        window: u64,
    }

    fn options() -> Result<Options> {
        let mut opts = Options { packets: 1_000_000, window: 128 };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut number = || -> Result<u64> {
                args.next().with_context(|| format!("{arg} needs a number\nusage: {USAGE}"))?.parse().context(USAGE)
            };
            match arg.as_str() {
                "--packets" => opts.packets = number()?,
                "--window" => opts.window = number()?,
                other => bail!("unknown argument {other}\nusage: {USAGE}"),
            }
        }
        if opts.packets == 0 || !(1..=256).contains(&opts.window) {
            bail!("--packets must be positive and --window from 1 to 256 (the transmit queue holds 500)");
        }
        Ok(opts)
    }

    /// What one direction of one phase came to.
    #[derive(Clone, Debug, Default)]
    struct Leg {
        sent: u64,
        intact: u64,
        corrupted: u64,
        duplicated: u64,
        foreign: u64,
        out_of_order: u64,
        stalls: u64,
    }

    impl Leg {
        fn lost(&self) -> u64 {
            self.sent.saturating_sub(self.intact)
        }
    }

    /// One direction's bookkeeping while it runs.
    struct Tally<'a> {
        dir: &'a Direction,
        seen: Seen,
        highest: Option<u64>,
        leg: Leg,
        scratch: Box<[u8; MAX_LEN]>,
    }

    impl<'a> Tally<'a> {
        fn new(dir: &'a Direction, packets: u64) -> Tally<'a> {
            Tally { dir, seen: Seen::new(packets), highest: None, leg: Leg::default(), scratch: Box::new([0; MAX_LEN]) }
        }

        fn received(&mut self, packet: &[u8]) {
            match wire::check(self.dir, packet, &mut self.scratch[..]) {
                Verdict::Intact(seq) => {
                    if !self.seen.insert(seq) {
                        self.leg.duplicated += 1;
                        return;
                    }
                    self.leg.intact += 1;
                    if self.highest.is_some_and(|h| seq < h) {
                        self.leg.out_of_order += 1;
                    }
                    self.highest = self.highest.max(Some(seq));
                }
                Verdict::Corrupted => self.leg.corrupted += 1,
                Verdict::Foreign => self.leg.foreign += 1,
            }
        }

        fn stalled(&mut self) -> Result<()> {
            self.leg.stalls += 1;
            if self.leg.stalls > MAX_STALLS {
                bail!("{}: no packet came within {READ_BOUND:?} {MAX_STALLS} times: stopping", self.dir.name);
            }
            Ok(())
        }
    }

    /// `poll(2)` for input on `fd`, at most `limit`: whether there is some.
    fn readable_within(fd: RawFd, limit: Duration) -> Result<bool> {
        let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        let ms = libc::c_int::try_from(limit.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid pollfd, and the count says one.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        if n < 0 {
            return Err(std::io::Error::last_os_error()).context("poll");
        }
        Ok(n > 0)
    }

    /// One direction with the blocking device: windows of packets written
    /// into `tx`, each read back from `rx` (a blocking `recv` once `poll`
    /// says a packet waits).
    fn sync_leg(tx: &Device, rx: &Device, dir: &Direction, packets: u64, window: u64) -> Result<Leg> {
        let mut tally = Tally::new(dir, packets);
        let (mut out, mut buf) = ([0u8; MAX_LEN], [0u8; 2048]);
        let mut next = 0;
        while next < packets {
            let burst = window.min(packets - next);
            for _ in 0..burst {
                let len = wire::build(dir, next, &mut out);
                tx.send(&out[..len]).with_context(|| format!("{}: sending packet {next}", dir.name))?;
                next += 1;
                tally.leg.sent += 1;
            }
            for _ in 0..burst {
                if !readable_within(rx.as_raw_fd(), READ_BOUND)? {
                    tally.stalled()?;
                    break;
                }
                let n = rx.recv(&mut buf).with_context(|| format!("{}: receiving", dir.name))?;
                tally.received(&buf[..n]);
            }
        }
        // Whatever is late.
        while readable_within(rx.as_raw_fd(), Duration::from_millis(200))? {
            let n = rx.recv(&mut buf)?;
            tally.received(&buf[..n]);
        }
        Ok(tally.leg)
    }

    /// One direction with the async device: as [`sync_leg`], each read
    /// bounded by a tokio timer; the task yields after each window so that
    /// the other direction runs in between.
    async fn async_leg(tx: &AsyncDevice, rx: &AsyncDevice, dir: &Direction, packets: u64, window: u64) -> Result<Leg> {
        let mut tally = Tally::new(dir, packets);
        let (mut out, mut buf) = (Box::new([0u8; MAX_LEN]), Box::new([0u8; 2048]));
        let mut next = 0;
        while next < packets {
            let burst = window.min(packets - next);
            for _ in 0..burst {
                let len = wire::build(dir, next, &mut out[..]);
                tx.send(&out[..len]).await.with_context(|| format!("{}: sending packet {next}", dir.name))?;
                next += 1;
                tally.leg.sent += 1;
            }
            for _ in 0..burst {
                match tokio::time::timeout(READ_BOUND, rx.recv(&mut buf[..])).await {
                    Ok(n) => {
                        let n = n.with_context(|| format!("{}: receiving", dir.name))?;
                        tally.received(&buf[..n]);
                    }
                    Err(_) => {
                        tally.stalled()?;
                        break;
                    }
                }
            }
            tokio::task::yield_now().await;
        }
        while let Ok(n) = tokio::time::timeout(Duration::from_millis(200), rx.recv(&mut buf[..])).await {
            let n = n?;
            tally.received(&buf[..n]);
        }
        Ok(tally.leg)
    }

    /// Waits until the kernel forwards from `a` to `b` (it drops forwarded
    /// packets for a moment after a device comes up, until the queue
    /// discipline is activated), then empties `b`.
    fn settle(a: &Device, b: &Device, dir: &Direction) -> Result<()> {
        let mut probe = [0u8; MAX_LEN];
        let len = wire::build(&Direction { id: 0, ..*dir }, 0, &mut probe);
        let mut buf = [0u8; 2048];
        for _ in 0..100 {
            a.send(&probe[..len])?;
            if readable_within(b.as_raw_fd(), Duration::from_millis(50))? {
                while readable_within(b.as_raw_fd(), Duration::from_millis(50))? {
                    b.recv(&mut buf)?;
                }
                return Ok(());
            }
        }
        bail!("no probe packet written into {} came out of {} within 5 s", a.name(), b.name())
    }

    /// What a phase came to.
    struct Phase {
        name: &'static str,
        legs: [Leg; 2],
        counters: Counters,
        profile: Profile,
        took: Duration,
    }

    fn measure(name: &'static str, run: impl FnOnce() -> Result<[Leg; 2]>) -> Result<Phase> {
        let before = Counters::read(&[TUN_A, TUN_B])?;
        let sampler = Sampler::start()?;
        let started = Instant::now();
        let legs = run();
        let took = started.elapsed();
        let profile = sampler.stop()?;
        let counters = Counters::read(&[TUN_A, TUN_B])?.since(&before);
        Ok(Phase { name, legs: legs?, counters, profile, took })
    }

    /// Prints the phase; whether it passed.
    fn report(phase: &Phase) -> bool {
        let mut ok = true;
        println!("\n== {} ({:.1} s)", phase.name, phase.took.as_secs_f64());
        println!(
            "{:<16} {:>9} {:>9} {:>6} {:>9} {:>10} {:>7} {:>12} {:>6}",
            "direction", "sent", "intact", "lost", "corrupted", "duplicated", "foreign", "out of order", "stalls"
        );
        for (dir, leg) in [A_TO_B, B_TO_A].iter().zip(&phase.legs) {
            println!(
                "{:<16} {:>9} {:>9} {:>6} {:>9} {:>10} {:>7} {:>12} {:>6}",
                dir.name,
                leg.sent,
                leg.intact,
                leg.lost(),
                leg.corrupted,
                leg.duplicated,
                leg.foreign,
                leg.out_of_order,
                leg.stalls
            );
            if leg.corrupted + leg.duplicated + leg.foreign > 0 {
                println!("FAIL: {}: corrupted, duplicated or foreign packets", dir.name);
                ok = false;
            }
        }
        let c = &phase.counters;
        let lost: u64 = phase.legs.iter().map(Leg::lost).sum();
        let dropped = c.dropped_in_namespace();
        let softnet = c.get("softnet:dropped");
        println!("kernel counters over the phase: {c}");
        println!(
            "lost {lost}; the namespace's kernel counted {dropped} dropped (devices' drop/error counters, IP's \
             discards and errors); the per-CPU backlogs (machine-wide) {softnet}"
        );
        if lost > dropped + softnet {
            println!("FAIL: {} lost packets the kernel's counters do not account for", lost - dropped - softnet);
            ok = false;
        }
        let forwarded = c.get("Ip:ForwDatagrams");
        let sent: u64 = phase.legs.iter().map(|l| l.sent).sum();
        println!("the kernel forwarded {forwarded} of the {sent} packets written");
        let p = &phase.profile;
        println!(
            "resident memory (KiB) start {} peak {} end {}; open descriptors start {} peak {} end {} ({} samples)",
            p.start.rss_kib, p.peak.rss_kib, p.end.rss_kib, p.start.fds, p.peak.fds, p.end.fds, p.samples
        );
        if p.end.fds != p.start.fds {
            println!("FAIL: open descriptors went from {} to {}", p.start.fds, p.end.fds);
            ok = false;
        }
        if p.end.rss_kib > p.start.rss_kib + RSS_SLACK_KIB {
            println!("FAIL: resident memory grew by {} KiB", p.end.rss_kib - p.start.rss_kib);
            ok = false;
        }
        ok
    }

    pub fn run() -> Result<bool> {
        let opts = options()?;
        Namespace::new()
            .without_ipv6()
            .enter_process()
            .context("the soak runs only in a network namespace of its own")?;
        utun_tests::netns::forward_ipv4()?;
        let addr = |a: [u8; 4]| InterfaceAddress::new(IpAddr::V4(a.into()), 24);
        let tun_a = TunBuilder::new().name(TUN_A).address(addr([198, 18, 1, 1])?).build()?;
        let tun_b = TunBuilder::new().name(TUN_B).address(addr([198, 18, 2, 1])?).build()?;
        let (a, b) = (tun_a.device(), tun_b.device());
        settle(a, b, &A_TO_B)?;
        settle(b, a, &B_TO_A)?;
        let (n, w) = (opts.packets, opts.window);
        println!(
            "soak: {n} packets each way per phase (48 to {MAX_LEN} bytes), window {w}, in a network namespace of its \
             own: {TUN_A} (198.18.1.1/24) <-> {TUN_B} (198.18.2.1/24), forwarded by the kernel"
        );

        let sync = measure("utun::Device, one thread per direction", || {
            std::thread::scope(|s| {
                let ab = s.spawn(|| sync_leg(a, b, &A_TO_B, n, w));
                let ba = s.spawn(|| sync_leg(b, a, &B_TO_A, n, w));
                let join = |h: std::thread::ScopedJoinHandle<'_, Result<Leg>>| {
                    h.join().map_err(|_| anyhow::anyhow!("a direction's thread panicked"))?
                };
                Ok([join(ab)?, join(ba)?])
            })
        })?;
        let mut ok = report(&sync);

        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let (dev_a, cleanup_a) = tun_a.into_parts();
        let (dev_b, cleanup_b) = tun_b.into_parts();
        let (a, b) = {
            let _entered = runtime.enter();
            (AsyncDevice::new(dev_a)?, AsyncDevice::new(dev_b)?)
        };
        let asynchronous = measure("utun::AsyncDevice, both directions on a current-thread tokio runtime", || {
            runtime.block_on(async {
                let (ab, ba) = tokio::join!(async_leg(&a, &b, &A_TO_B, n, w), async_leg(&b, &a, &B_TO_A, n, w));
                Ok([ab?, ba?])
            })
        })?;
        ok &= report(&asynchronous);
        // The configuration first, then the devices.
        drop((cleanup_a, cleanup_b, a, b));
        let total: u64 = [&sync, &asynchronous].iter().flat_map(|p| &p.legs).map(|l| l.intact).sum();
        println!("\nsoak: {} ({total} packets carried intact)", if ok { "passed" } else { "FAILED" });
        Ok(ok)
    }
}
