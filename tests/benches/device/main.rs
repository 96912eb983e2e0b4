//! The device benchmark (`cargo xtask bench`; Linux only, as root).
//!
//! In a network namespace it creates (and refuses to run without), two tun
//! devices, tunA (198.18.1.1/24) and tunB (198.18.2.1/24), with IPv4
//! forwarding on and reverse-path filtering off. One thread writes an
//! IPv4/UDP packet from 198.18.1.2 to 198.18.2.2 into tunA; the kernel
//! forwards it to tunB during that very `write`, and the thread reads it back
//! from tunB. No traffic generator, no second thread, and nothing leaves the
//! namespace.
//!
//! Variants, on the same devices and packets (64 and 1400 bytes), in an
//! order that rotates from round to round, medians over the rounds: raw
//! blocking `read`/`write`, `utun::Device`, tun-rs's `SyncDevice`, raw
//! non-blocking `read`/`write` with `poll` (the async baseline),
//! `utun::AsyncDevice` and tun-rs's tokio `AsyncDevice` (both on a
//! current-thread runtime). Besides the time, it counts heap allocations
//! (a counting global allocator) and system calls (a perf counter on the
//! `raw_syscalls:sys_enter` tracepoint, in a separate, untimed pass).
//!
//! ```text
//! device [--smoke] [--rounds N] [--packets N] [--only VARIANT]... [--out FILE]
//! ```
//!
//! `--smoke` is CI's short form (a few thousand packets); `--only` (a
//! variant's JSON key, e.g. `utun_tokio`) runs just that, for profiling, and
//! writes nothing. Otherwise it writes what it measured, every round of
//! every variant, as one JSON document to FILE (by default
//! `target/bench/device-measurements.json`, see `measurements.rs`), and
//! `cargo xtask bench` turns that into the report: `BENCHMARKS.md` and
//! `BENCHMARKS.json` at the workspace root after a full run,
//! `target/bench/device.md` and `device.json` after every run.

#[cfg(target_os = "linux")]
mod counters;
#[cfg(target_os = "linux")]
mod loops;
#[cfg(target_os = "linux")]
mod measurements;
#[cfg(target_os = "linux")]
mod raw;
#[cfg(target_os = "linux")]
mod setup;
#[cfg(target_os = "linux")]
mod variants;

#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: counters::CountingAllocator = counters::CountingAllocator;

#[cfg(not(target_os = "linux"))]
fn main() {
    println!(
        "the device benchmark runs on Linux only (it forwards packets between two tun devices inside a network \
         namespace); nothing to do here"
    );
}

#[cfg(target_os = "linux")]
fn main() {
    if let Err(e) = linux::run() {
        eprintln!("device benchmark: error: {e:#}");
        std::process::exit(1);
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::path::{Path, PathBuf};

    use anyhow::{Context as _, Result, bail};
    use utun_tests::netns::Namespace;

    use crate::counters::SyscallCounter;
    use crate::measurements::{Measurements, Run};
    use crate::setup::{self, Devices};
    use crate::variants::{Bench, Job, Variant};

    const USAGE: &str = "device [--smoke] [--rounds N] [--packets N] [--only VARIANT]... [--out FILE]";

    /// The packet sizes measured (IP packets, headers included).
    const SIZES: [usize; 2] = [64, 1400];

    /// How much to measure.
    #[derive(Clone, Debug)]
    pub struct Options {
        /// CI's short form.
        pub smoke: bool,
        /// Rounds per size; each runs every variant once.
        pub rounds: usize,
        /// Packets measured per variant per round.
        pub packets: usize,
        /// Packets moved before each measurement.
        pub warmup: usize,
        /// Packets in each variant's syscall-counting pass.
        pub counted: usize,
        /// Only these variants (for profiling one); empty: all.
        pub only: Vec<Variant>,
        /// Where the measurements go.
        pub out: PathBuf,
    }

    impl Options {
        fn parse() -> Result<Options> {
            let out = workspace_root().join("target/bench/device-measurements.json");
            let mut opts = Options {
                smoke: false,
                rounds: 200,
                packets: 4_000,
                warmup: 400,
                counted: 10_000,
                only: Vec::new(),
                out: out.clone(),
            };
            let mut only = Vec::new();
            let mut args = std::env::args().skip(1);
            let mut rounds = None;
            let mut packets = None;
            let mut out = Some(out);
            while let Some(arg) = args.next() {
                let mut number = |what: &str| -> Result<usize> {
                    let v = args.next().with_context(|| format!("{what} needs a number"))?;
                    v.parse().with_context(|| format!("{what} {v}"))
                };
                match arg.as_str() {
                    "--smoke" => opts.smoke = true,
                    "--rounds" => rounds = Some(number("--rounds")?.max(1)),
                    "--packets" => packets = Some(number("--packets")?.max(1)),
                    "--only" => {
                        let key = args.next().context("--only needs a variant")?;
                        let variant = Variant::ALL.into_iter().find(|v| v.key() == key);
                        only.push(variant.with_context(|| format!("--only {key}: no such variant"))?);
                    }
                    "--out" => out = Some(PathBuf::from(args.next().context("--out needs a file")?)),
                    // `cargo bench` passes --bench to every bench binary.
                    "--bench" => {}
                    other => bail!("unknown argument {other}; usage: {USAGE}"),
                }
            }
            if opts.smoke {
                opts = Options { smoke: true, rounds: 2, packets: 2_000, warmup: 200, counted: 1_000, ..opts };
            }
            opts.only = only;
            opts.out = out.unwrap_or(opts.out);
            if let Some(r) = rounds {
                opts.rounds = r;
            }
            if let Some(p) = packets {
                opts.packets = p;
                opts.warmup = (p / 10).clamp(100, 1_000);
                opts.counted = p.min(opts.counted);
            }
            Ok(opts)
        }
    }

    /// The workspace root (the utun-tests crate's parent).
    fn workspace_root() -> PathBuf {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        manifest.parent().unwrap_or(manifest).to_path_buf()
    }

    /// Runs the benchmark and writes its measurements.
    pub fn run() -> Result<()> {
        let opts = Options::parse()?;
        if !setup::is_root() {
            bail!(
                "the device benchmark creates a network namespace and two tun devices, which needs root: \
                 run `sudo -E cargo xtask bench` (or run this binary as root)"
            );
        }
        // A mount namespace too, whose mounts stay here (tracefs, see
        // `setup::ensure_tracefs`); IPv6 off, so that the kernel sends no
        // router solicitations or MLD reports of its own through the devices.
        Namespace::new()
            .without_ipv6()
            .with_private_mounts()
            .enter_process()
            .context("the benchmark refuses to run outside a network namespace of its own")?;
        println!("network namespace: created with unshare(CLONE_NEWNET); nothing sent here can leave it");
        let tracefs = setup::ensure_tracefs();
        let cpu = setup::pin_to_this_cpu().context("pinning the benchmark thread")?;
        println!("pinned to CPU {cpu}: every variant runs on this one thread");
        setup::configure_namespace()?;
        let bench = Bench {
            devices: Devices::create()?,
            runtime: tokio::runtime::Builder::new_current_thread().enable_io().build()?,
        };
        println!(
            "devices: {} 198.18.1.1/24 and {} 198.18.2.1/24, ip_forward=1, rp_filter=0, txqueuelen 1000",
            setup::TUN_A,
            setup::TUN_B
        );
        bench.check_forwarding(&setup::packet(64))?;
        println!("forwarding: a packet written into {} comes out of {}", setup::TUN_A, setup::TUN_B);
        println!(
            "measuring: {} rounds x {} packets per variant and size (after {} unmeasured), order rotating per round",
            opts.rounds, opts.packets, opts.warmup
        );

        let mut runs = Vec::new();
        for size in SIZES {
            let packet = setup::packet(size);
            let job = Job { packet: &packet, warmup: opts.warmup, packets: opts.packets };
            for round in 0..opts.rounds {
                for i in 0..Variant::ALL.len() {
                    let variant = Variant::ALL[(i + round) % Variant::ALL.len()];
                    if !opts.only.is_empty() && !opts.only.contains(&variant) {
                        continue;
                    }
                    let sample = bench.run(variant, job, None)?;
                    runs.push(Run { size, variant, round, sample });
                }
            }
            println!("  {size}-byte packets: done");
        }

        let mut counted = Vec::new();
        let syscalls = match tracefs.and_then(|()| SyscallCounter::new().map_err(|e| e.to_string())) {
            Ok(counter) => {
                for size in SIZES {
                    let packet = setup::packet(size);
                    let job = Job { packet: &packet, warmup: opts.warmup.min(1_000), packets: opts.counted };
                    for variant in Variant::ALL {
                        if !opts.only.is_empty() && !opts.only.contains(&variant) {
                            continue;
                        }
                        counted.push(Run { size, variant, round: 0, sample: bench.run(variant, job, Some(&counter))? });
                    }
                }
                Ok(())
            }
            Err(why) => Err(why),
        };
        drop(bench);
        if setup::exists(setup::TUN_A) || setup::exists(setup::TUN_B) {
            bail!("the devices are still there after clean-up");
        }
        println!("clean up: {} and {} removed\n", setup::TUN_A, setup::TUN_B);

        if !opts.only.is_empty() {
            println!("(--only: nothing written)");
            return Ok(());
        }
        let measurements = Measurements { opts: &opts, sizes: &SIZES, runs: &runs, counted: &counted, syscalls };
        measurements.write(&opts.out)?;
        println!("measurements: {} (the report: cargo xtask bench)", opts.out.display());
        Ok(())
    }
}
