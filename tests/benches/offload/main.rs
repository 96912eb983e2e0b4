//! The offload benchmark (`cargo xtask bench`; Linux only, as root): what
//! the Linux offload (`Device::with_offload`, `recv_batch`, `send_batch`)
//! and a second queue (`clone_queue`) buy, inside network namespaces it
//! creates (and refuses to run without).
//!
//! * The relay ([`relay`]): one TCP stream through two tun devices and a
//!   relay thread, all on one CPU: utun without offload, utun with offload
//!   (split and merged; whole packets), tun-rs with its offload; and, for
//!   context, utun and tun-rs with offload with the relay on a CPU of its own.
//! * The 64 KiB GSO loop ([`gso`]): one thread writes a GSO packet of 44
//!   full-size TCP segments into a device and reads it back, forwarded by
//!   the kernel, out of the other: utun's whole-packet calls (`send_gso`,
//!   `recv_gso`) against a raw `write`/`read` of the same record, and
//!   utun's batch calls (merging the 44 segments, splitting them again).
//! * Two queues ([`gso`]): the same loop on one queue pair, and on two
//!   threads with a queue pair each.
//!
//! ```text
//! offload [--smoke] [--rounds N] [--only VARIANT]... [--out FILE]
//! ```
//!
//! Each round runs every variant once, starting one variant further each
//! round. It writes every run as one JSON document to FILE (by default
//! `target/bench/offload-measurements.json`); `cargo xtask bench` makes the
//! report (medians, ratios within rounds, targets) from it, in
//! BENCHMARKS.md after a full run. Allocations are counted per thread (a
//! counting global allocator): the relay thread's after its first 64
//! batches, the loops' over every measured iteration.
//!
//! ```text
//! {
//!   "format": 3,
//!   "config": {"smoke": false, "rounds": 25, "relay_bytes": 268435456, "relay_congestion": "cubic",
//!              "default_congestion": "bbr", "loop_iterations": 20000, "segments": 44,
//!              "bytes_per_iteration": 65472},
//!   "variants": [{"key": "relay_offload", "label": "...", "part": "relay"}, ...],
//!   "runs": [{"variant": "relay_offload", "round": 0, "nanos": 1, "bytes": 2, "packets": 3,
//!             "allocations": 0, "counted_packets": 3, "relay_cpu_nanos": 4,
//!             "stream_cpu_nanos": 5}, ...]
//! }
//! ```
//! `bytes` are TCP payload bytes for the relay, IP packet bytes for the
//! loops; `allocations` were counted over `counted_packets`;
//! `relay_cpu_nanos` is the relay thread's CPU time, `stream_cpu_nanos` the
//! sender's and receiver's (both 0 for the loops). The config also names
//! the relay sender's congestion control and the machine's default.

#[cfg(target_os = "linux")]
mod counters;
#[cfg(target_os = "linux")]
mod cpu;
#[cfg(target_os = "linux")]
mod gso;
#[cfg(target_os = "linux")]
mod relay;

#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: counters::CountingAllocator = counters::CountingAllocator;

#[cfg(not(target_os = "linux"))]
fn main() {
    println!("the offload benchmark runs on Linux only (tun offload and multi-queue); nothing to do here");
}

#[cfg(target_os = "linux")]
fn main() {
    if let Err(e) = linux::run() {
        eprintln!("offload benchmark: error: {e:#}");
        std::process::exit(1);
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::path::PathBuf;

    use anyhow::{Context, Result, bail};
    use serde_json::{Value, json};
    use utun_tests::netns::Namespace;

    use crate::gso;
    use crate::relay::{self, Layout, Relay};

    const FORMAT: u64 = 3;

    /// The variants, in the order tables list them: key, label, part.
    const VARIANTS: [(&str, &str, &str); 11] = [
        ("relay_plain", "relay, utun without offload", "relay"),
        ("relay_offload", "relay, utun with offload", "relay"),
        ("relay_whole", "relay, utun with offload, recv_gso/send_gso (whole packets)", "relay"),
        ("relay_tun_rs", "relay, tun-rs with offload", "relay"),
        ("relay_offload_apart", "relay on a CPU of its own, utun with offload", "relay"),
        ("relay_tun_rs_apart", "relay on a CPU of its own, tun-rs with offload", "relay"),
        ("gso_raw", "64 KiB GSO loop, raw write/read", "loop"),
        ("gso_utun", "64 KiB GSO loop, utun send_gso/recv_gso", "loop"),
        ("gso_split", "64 KiB GSO loop, utun send_batch/recv_batch (merge, split)", "loop"),
        ("mq_one", "utun GSO loop, one queue", "queues"),
        ("mq_two", "utun GSO loop, two queues, a thread each", "queues"),
    ];

    struct Options {
        smoke: bool,
        rounds: usize,
        relay_bytes: usize,
        iterations: usize,
        warmup: usize,
        out: PathBuf,
        /// Only these variants (for profiling; nothing is written).
        only: Vec<String>,
    }

    fn options() -> Result<Options> {
        let mut args = std::env::args().skip(1);
        let mut smoke = false;
        let mut rounds = None;
        let mut out = None;
        let mut only = Vec::new();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--smoke" => smoke = true,
                "--rounds" => rounds = Some(args.next().context("--rounds needs a count")?.parse()?),
                "--only" => only.push(args.next().context("--only needs a variant")?),
                "--out" => out = Some(PathBuf::from(args.next().context("--out needs a file")?)),
                // `cargo bench` passes --bench.
                "--bench" => {}
                other => {
                    bail!("unknown argument {other:?}; offload [--smoke] [--rounds N] [--only VARIANT]... [--out FILE]")
                }
            }
        }
        let out = match out {
            Some(out) => out,
            None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench/offload-measurements.json"),
        };
        Ok(if smoke {
            Options {
                smoke,
                rounds: rounds.unwrap_or(2),
                relay_bytes: 16 * relay::CHUNK,
                iterations: 500,
                warmup: 50,
                out,
                only,
            }
        } else {
            Options {
                smoke,
                rounds: rounds.unwrap_or(25),
                relay_bytes: 256 * relay::CHUNK,
                iterations: 20_000,
                warmup: 1000,
                out,
                only,
            }
        })
    }

    fn run_json(variant: &str, round: usize, s: &relay::Sample) -> Value {
        json!({"variant": variant, "round": round, "nanos": s.nanos, "bytes": s.bytes, "packets": s.packets,
               "allocations": s.allocations, "counted_packets": s.steady_packets,
               "relay_cpu_nanos": s.relay_cpu_nanos, "stream_cpu_nanos": s.stream_cpu_nanos})
    }

    /// The machine's default congestion control (what the relay's sender
    /// does not use), as the benchmark's namespace has it.
    fn default_congestion() -> String {
        std::fs::read_to_string("/proc/sys/net/ipv4/tcp_congestion_control")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".to_string())
    }

    pub fn run() -> Result<()> {
        // SAFETY: geteuid takes no arguments and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            bail!("the offload benchmark creates network namespaces and tun devices, which needs root");
        }
        let o = options()?;
        crate::cpu::init()?;
        Namespace::new()
            .enter_process()
            .context("a network namespace for the benchmark (it never runs outside one)")?;
        let pair = gso::Pair::create()?;
        let mut runs = Vec::new();
        for round in 0..o.rounds {
            for k in 0..VARIANTS.len() {
                let (key, _, _) = VARIANTS[(round + k) % VARIANTS.len()];
                if !o.only.is_empty() && !o.only.iter().any(|v| v == key) {
                    continue;
                }
                let run = match key {
                    "relay_plain"
                    | "relay_offload"
                    | "relay_whole"
                    | "relay_tun_rs"
                    | "relay_offload_apart"
                    | "relay_tun_rs_apart" => {
                        let kind = match key {
                            "relay_plain" => Relay::Plain,
                            "relay_offload" | "relay_offload_apart" => Relay::Offload,
                            "relay_whole" => Relay::Whole,
                            _ => Relay::TunRs,
                        };
                        let layout = if key.ends_with("_apart") { Layout::Apart } else { Layout::OneCpu };
                        let s = relay::once(kind, layout, o.relay_bytes)
                            .with_context(|| format!("{key}, round {round}"))?;
                        run_json(key, round, &s)
                    }
                    _ => {
                        let s = match key {
                            "gso_raw" => gso::raw(&pair, o.warmup, o.iterations),
                            "gso_utun" => gso::whole(&pair, o.warmup, o.iterations),
                            "gso_split" | "mq_one" => gso::split(&pair, o.warmup, o.iterations),
                            _ => gso::two_queues(&pair, o.warmup, o.iterations),
                        }
                        .with_context(|| format!("{key}, round {round}"))?;
                        let packets = s.iterations * gso::SEGMENTS as u64;
                        let bytes = s.iterations * gso::BYTES_PER_ITERATION as u64;
                        // Every packet of a loop is counted; no relay thread.
                        let sample = relay::Sample {
                            nanos: s.nanos,
                            bytes,
                            packets,
                            allocations: s.allocations,
                            steady_packets: packets,
                            relay_cpu_nanos: 0,
                            stream_cpu_nanos: 0,
                        };
                        run_json(key, round, &sample)
                    }
                };
                let gbit = run["bytes"].as_f64().unwrap_or(0.0) * 8.0 / run["nanos"].as_f64().unwrap_or(1.0);
                eprintln!("round {round} {key}: {gbit:.2} Gbit/s, {} allocations", run["allocations"]);
                runs.push(run);
            }
        }
        if !o.only.is_empty() {
            return Ok(());
        }
        let doc = json!({
            "format": FORMAT,
            "config": {"smoke": o.smoke, "rounds": o.rounds, "relay_bytes": o.relay_bytes,
                       "relay_congestion": relay::CONGESTION, "default_congestion": default_congestion(),
                       "loop_iterations": o.iterations, "segments": gso::SEGMENTS,
                       "bytes_per_iteration": gso::BYTES_PER_ITERATION},
            "variants": VARIANTS.iter().map(|(key, label, part)| json!({"key": key, "label": label, "part": part}))
                .collect::<Vec<_>>(),
            "runs": runs,
        });
        if let Some(dir) = o.out.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&o.out, serde_json::to_string_pretty(&doc)?)
            .with_context(|| format!("writing {}", o.out.display()))?;
        eprintln!("wrote {}", o.out.display());
        Ok(())
    }
}
