//! The offload benchmark's report (tests/benches/offload/: the relay, the
//! 64 KiB GSO loop, two queues): medians, ratios within rounds with a 95%
//! bootstrap interval, the targets of issue 16, as Markdown (printed, and a
//! section of BENCHMARKS.md after a full run) and JSON (the `offload` member
//! of BENCHMARKS.json).

use std::fmt::Write as _;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::report::{bootstrap_interval, median};

/// tun-rs's version, as tests/Cargo.toml asks for it.
const TUN_RS_VERSION: &str = "2.8";

/// The document version this reader knows (tests/benches/offload/main.rs).
const FORMAT: u64 = 3;

struct Variant {
    key: String,
    label: String,
}

/// One variant's line of the table.
struct Row {
    variant: Variant,
    /// Gbit/s of each round.
    rounds: Vec<f64>,
    median: f64,
    allocations_per_packet: f64,
    /// For the relay: the median over the rounds of [`Run::cpus_busy`].
    cpus_busy: Option<f64>,
    /// For the relay: the median over the rounds of the relay thread's CPU
    /// nanoseconds per KiB moved.
    relay_cpu_ns_per_kib: Option<f64>,
}

struct Run {
    variant: String,
    round: usize,
    nanos: u64,
    bytes: u64,
    packets: u64,
    allocations: u64,
    counted_packets: u64,
    relay_cpu_nanos: u64,
    stream_cpu_nanos: u64,
}

impl Run {
    fn gbit(&self) -> f64 {
        self.bytes as f64 * 8.0 / self.nanos as f64
    }

    /// The relay thread's CPU time per byte moved.
    fn cpu_per_byte(&self) -> f64 {
        self.relay_cpu_nanos as f64 / self.bytes as f64
    }

    /// CPU time of the relay thread and the stream's two ends over the
    /// transfer's wall time: how many CPUs' worth they kept busy.
    fn cpus_busy(&self) -> f64 {
        (self.relay_cpu_nanos + self.stream_cpu_nanos) as f64 / self.nanos as f64
    }
}

/// What a line of the targets table is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A ratio the issue sets as a floor.
    Goal,
    /// No allocation per packet: the command fails without it.
    Hard,
    /// A figure for context.
    Info,
}

struct Target {
    what: &'static str,
    value: f64,
    interval: Option<(f64, f64)>,
    limit: f64,
    kind: Kind,
}

impl Target {
    fn holds(&self) -> bool {
        match self.kind {
            Kind::Goal => self.value >= self.limit,
            Kind::Hard => self.value <= self.limit,
            Kind::Info => true,
        }
    }
}

/// The offload benchmark's results.
pub struct OffloadReport {
    smoke: bool,
    config: Value,
    rows: Vec<Row>,
    targets: Vec<Target>,
}

fn uint(v: &Value, name: &str) -> Result<u64> {
    v.get(name).and_then(Value::as_u64).with_context(|| format!("no count {name:?} in {v}"))
}

fn text(v: &Value, name: &str) -> Result<String> {
    Ok(v.get(name).and_then(Value::as_str).with_context(|| format!("no string {name:?} in {v}"))?.to_string())
}

impl OffloadReport {
    /// Reads the benchmark's JSON document and computes the report.
    pub fn parse(json: &str) -> Result<OffloadReport> {
        let doc: Value = serde_json::from_str(json).context("the measurements are not JSON")?;
        let format = uint(&doc, "format")?;
        if format != FORMAT {
            bail!("offload measurements in format {format}; this xtask reads format {FORMAT}");
        }
        let config = doc.get("config").context("no config")?.clone();
        let smoke = config.get("smoke").and_then(Value::as_bool).context("no smoke flag")?;
        let variants: Vec<Variant> = doc
            .get("variants")
            .and_then(Value::as_array)
            .context("no variants")?
            .iter()
            .map(|v| Ok(Variant { key: text(v, "key")?, label: text(v, "label")? }))
            .collect::<Result<_>>()?;
        let runs: Vec<Run> = doc
            .get("runs")
            .and_then(Value::as_array)
            .context("no runs")?
            .iter()
            .map(|r| {
                Ok(Run {
                    variant: text(r, "variant")?,
                    round: usize::try_from(uint(r, "round")?)?,
                    nanos: uint(r, "nanos")?.max(1),
                    bytes: uint(r, "bytes")?,
                    packets: uint(r, "packets")?,
                    allocations: uint(r, "allocations")?,
                    counted_packets: uint(r, "counted_packets")?,
                    relay_cpu_nanos: uint(r, "relay_cpu_nanos")?,
                    stream_cpu_nanos: uint(r, "stream_cpu_nanos")?,
                })
            })
            .collect::<Result<_>>()?;
        for r in &runs {
            if !variants.iter().any(|v| v.key == r.variant) {
                bail!("a run of {:?}, which is not among the variants", r.variant);
            }
            if r.packets == 0 || r.bytes == 0 {
                bail!("a run of {:?} that moved nothing", r.variant);
            }
        }
        fn of<'a>(runs: &'a [Run], key: &'a str) -> impl Iterator<Item = &'a Run> + Clone {
            runs.iter().filter(move |r| r.variant == key)
        }
        let ratios_of = |metric: fn(&Run) -> f64, a: &str, b: &str| -> Vec<f64> {
            of(&runs, a)
                .filter_map(|ra| Some(metric(ra) / metric(of(&runs, b).find(|rb| rb.round == ra.round)?)))
                .collect()
        };
        let allocs = |key: &str| -> f64 {
            let (a, p) = of(&runs, key).fold((0, 0), |(a, p), r| (a + r.allocations, p + r.counted_packets));
            a as f64 / p.max(1) as f64
        };
        let mut rows = Vec::new();
        for v in variants {
            let rounds: Vec<f64> = of(&runs, &v.key).map(Run::gbit).collect();
            if rounds.is_empty() {
                bail!("no run of {:?}", v.key);
            }
            let relay: Vec<&Run> = of(&runs, &v.key).filter(|r| r.relay_cpu_nanos > 0).collect();
            let relay_median = |metric: fn(&Run) -> f64| {
                (!relay.is_empty()).then(|| median(&relay.iter().map(|r| metric(r)).collect::<Vec<_>>()))
            };
            rows.push(Row {
                median: median(&rounds),
                allocations_per_packet: allocs(&v.key),
                cpus_busy: relay_median(Run::cpus_busy),
                relay_cpu_ns_per_kib: relay_median(|r| r.cpu_per_byte() * 1024.0),
                variant: v,
                rounds,
            });
        }
        let ratio_of = |metric: fn(&Run) -> f64, what: &'static str, a: &str, b: &str, limit: f64, kind: Kind| {
            let r = ratios_of(metric, a, b);
            Target { what, value: median(&r), interval: bootstrap_interval(&r), limit, kind }
        };
        let ratio =
            |what: &'static str, a: &str, b: &str, limit: f64, kind: Kind| ratio_of(Run::gbit, what, a, b, limit, kind);
        let mut targets = vec![
            ratio("relay: utun with offload ≥ 3 × utun without", "relay_offload", "relay_plain", 3.0, Kind::Goal),
            ratio(
                "relay: utun with offload ≥ 1.0 × tun-rs with its offload",
                "relay_offload",
                "relay_tun_rs",
                1.0,
                Kind::Goal,
            ),
            ratio(
                "64 KiB GSO loop: utun send_gso/recv_gso ≥ 0.9 × raw write/read",
                "gso_utun",
                "gso_raw",
                0.9,
                Kind::Goal,
            ),
            ratio("two queues, a thread each ≥ 1.6 × one queue", "mq_two", "mq_one", 1.6, Kind::Goal),
        ];
        for key in [
            "relay_plain",
            "relay_offload",
            "relay_whole",
            "relay_offload_apart",
            "gso_utun",
            "gso_split",
            "mq_one",
            "mq_two",
        ] {
            let what: &'static str = match key {
                "relay_plain" => "relay, utun without offload: 0 allocations per packet",
                "relay_offload" => "relay, utun with offload: 0 allocations per packet",
                "relay_offload_apart" => "relay on a CPU of its own, utun with offload: 0 allocations per packet",
                "relay_whole" => "relay, utun recv_gso/send_gso: 0 allocations per packet",
                "gso_utun" => "GSO loop, send_gso/recv_gso: 0 allocations per packet",
                "gso_split" => "GSO loop, send_batch/recv_batch: 0 allocations per packet",
                "mq_one" => "one queue: 0 allocations per packet",
                _ => "two queues: 0 allocations per packet",
            };
            targets.push(Target { what, value: allocs(key), interval: None, limit: 0.0, kind: Kind::Hard });
        }
        targets.push(ratio(
            "context: GSO loop, send_batch/recv_batch (merge, split) / raw write/read",
            "gso_split",
            "gso_raw",
            0.0,
            Kind::Info,
        ));
        targets.push(ratio(
            "context: relay, tun-rs with offload / utun without",
            "relay_tun_rs",
            "relay_plain",
            0.0,
            Kind::Info,
        ));
        targets.push(ratio(
            "context: relay on a CPU of its own (the stream's ends on the other), utun with offload / tun-rs with its offload",
            "relay_offload_apart",
            "relay_tun_rs_apart",
            0.0,
            Kind::Info,
        ));
        targets.push(ratio_of(
            Run::cpu_per_byte,
            "context: the relay thread's CPU time per byte, utun with offload / tun-rs with its offload (below 1: less)",
            "relay_offload",
            "relay_tun_rs",
            0.0,
            Kind::Info,
        ));
        Ok(OffloadReport { smoke, config, rows, targets })
    }

    /// Whether this is a smoke run's report.
    pub fn smoke(&self) -> bool {
        self.smoke
    }

    /// Whether no utun path allocated per packet.
    pub fn hard_requirements_hold(&self) -> bool {
        self.targets.iter().filter(|t| t.kind == Kind::Hard).all(Target::holds)
    }

    /// The tables and targets in Markdown (printed, and BENCHMARKS.md's section).
    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "| variant | Gbit/s (median) | rounds (Gbit/s) | allocs/packet | CPUs busy | relay CPU ns/KiB |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
        let or_dash = |v: Option<f64>, digits: usize| v.map_or("—".to_string(), |v| format!("{v:.digits$}"));
        for row in &self.rows {
            let lo = row.rounds.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = row.rounds.iter().copied().fold(0.0, f64::max);
            let a = row.allocations_per_packet;
            let allocs = if a == 0.0 { "0".to_string() } else { format!("{a:.3}") };
            let _ = writeln!(
                s,
                "| {} | {:.2} | {lo:.2}–{hi:.2} | {allocs} | {} | {} |",
                row.variant.label,
                row.median,
                or_dash(row.cpus_busy, 2),
                or_dash(row.relay_cpu_ns_per_kib, 0),
            );
        }
        if self.smoke {
            let _ = writeln!(
                s,
                "\n(A smoke run: too little moved for the rates and ratios to mean much; the allocation counts are exact.)"
            );
        }
        let _ = writeln!(s, "\n| target | this run (95% interval) | limit | |");
        let _ = writeln!(s, "|---|---:|---:|---|");
        for t in &self.targets {
            let value = match t.interval {
                Some((lo, hi)) => format!("{:.3} ({lo:.3}–{hi:.3})", t.value),
                None if t.value == 0.0 => "0".to_string(),
                None => format!("{:.3}", t.value),
            };
            let (limit, verdict) = match (t.kind, t.holds()) {
                (Kind::Info, _) => ("—".to_string(), ""),
                (Kind::Goal, true) => (format!("≥ {}", t.limit), "holds"),
                (Kind::Goal, false) => (format!("≥ {}", t.limit), "**missed**"),
                (Kind::Hard, true) => ("0".to_string(), "holds"),
                (Kind::Hard, false) => ("0".to_string(), "**FAILS**"),
            };
            let _ = writeln!(s, "| {} | {value} | {limit} | {verdict} |", t.what);
        }
        s
    }

    /// BENCHMARKS.md's section: how it was measured, then [`text`](Self::text).
    pub fn section(&self) -> String {
        let n = |name: &str| self.config.get(name).and_then(Value::as_u64).unwrap_or(0);
        let t = |name: &str| self.config.get(name).and_then(Value::as_str).unwrap_or("unknown").to_string();
        let mut s = String::from("\n## Offload and multi-queue (Linux)\n\n");
        let _ = write!(
            s,
            "Written by the `offload` benchmark in `tests/benches/offload/` (see its main.rs for each variant); \
             BENCHMARKS.json has it as `offload`. {} rounds; a round runs every variant once, starting one \
             variant further each round; Gbit/s is the median over the rounds, a ratio the median over the \
             rounds of the two variants' rates in the same round, with a 95% bootstrap interval. Allocations \
             are counted per thread: the relay thread's after its first 64 batches each way, the loops' over every \
             measured iteration.\n\n",
            n("rounds")
        );
        let _ = write!(
            s,
            "**The relay.** One TCP stream of {} MiB between two network namespaces joined only by two tun \
             devices and one relay thread (one `poll` on both devices, then one batch moved from each that is \
             readable), for every variant the same. The sender, the receiver and the relay thread share one CPU \
             and the sender's congestion control is {} (the machine's default: {}), so that the rate is what a \
             byte costs in CPU time along the whole path, and what the relay saves shows in it; \"CPUs busy\" \
             is the CPU time of the three threads over the transfer's wall time (the kernel's work charged to \
             them included), \"relay CPU\" the relay thread's alone per KiB moved. This layout replaced a \
             first one, kept as the two \"relay on a CPU of its own\" variants and a context row: the stream's \
             ends on one CPU and the relay on the other, where neither CPU was busy all the time and the rate \
             followed how the two CPUs' wake-ups lined up (the utun/tun-rs ratio went from 0.89 to 1.20 between \
             runs of the same code, and the ≥ 1.0 target was met in some and missed in others) and, with BBR, \
             BBR's pacing. Variants: utun without \
             offload (`recv_batch` reads what waits, `send_batch` writes each), utun with offload \
             (`Device::with_offload`: one 64 KiB GSO packet read and split, the segments merged and written \
             as one, `SendBatch::with_capacity` for a full batch), utun with offload passing each packet on \
             whole (`recv_gso`/`send_gso`), tun-rs {} with its offload (`recv_multiple`/`send_multiple` with a \
             `GROTable`, buffers with room for 64 KiB, truncated to each packet and grown back as its \
             documentation shows). Gbit/s counts the stream's bytes.\n\n",
            n("relay_bytes") >> 20,
            t("relay_congestion"),
            t("default_congestion"),
            TUN_RS_VERSION,
        );
        let _ = write!(
            s,
            "**The 64 KiB GSO loop.** Two offload devices with a kernel forwarding between them; one thread \
             writes a GSO packet of {} full-size TCP segments ({} bytes of IP packets) into one and reads it, \
             forwarded whole, out of the other, {} times: a raw `write`/`read` of the `virtio_net_hdr` and \
             packet, utun's `send_gso`/`recv_gso` (the header apart, checked both ways: `writev`/`readv`), \
             and utun's `send_batch`/`recv_batch` (the segments merged, then split again with every checksum \
             computed: two passes over 64 KiB each way, the price of handing a program MTU-sized packets). \
             **Two queues:** that last loop on one queue pair, then on two threads with a queue pair and a \
             flow each.\n\n",
            n("segments"),
            n("bytes_per_iteration"),
            n("loop_iterations"),
        );
        s.push_str(&self.text());
        s
    }

    /// The report as JSON: the configuration, every variant's rounds, the targets.
    pub fn json(&self) -> Value {
        json!({
            "config": self.config,
            "variants": self.rows.iter().map(|r| json!({
                "key": r.variant.key, "label": r.variant.label, "gbit_per_s_median": r.median,
                "gbit_per_s_rounds": r.rounds, "allocations_per_packet": r.allocations_per_packet,
                "cpus_busy_median": r.cpus_busy, "relay_cpu_ns_per_kib_median": r.relay_cpu_ns_per_kib,
            })).collect::<Vec<_>>(),
            "targets": self.targets.iter().map(|t| json!({
                "what": t.what, "value": t.value, "interval": t.interval.map(|(lo, hi)| [lo, hi]),
                "limit": t.limit, "holds": t.holds(),
                "kind": match t.kind { Kind::Goal => "goal", Kind::Hard => "hard", Kind::Info => "info" },
            })).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(relay_plain_gbit_nanos: u64, allocations: u64) -> String {
        let variants = [
            "relay_plain",
            "relay_offload",
            "relay_whole",
            "relay_tun_rs",
            "relay_offload_apart",
            "relay_tun_rs_apart",
            "gso_raw",
            "gso_utun",
            "gso_split",
            "mq_one",
            "mq_two",
        ];
        let mut runs = Vec::new();
        for round in 0..3 {
            for key in variants {
                let nanos = if key == "relay_plain" { relay_plain_gbit_nanos } else { 1000 };
                let allocs = if key == "gso_utun" { allocations } else { 0 };
                // The relay thread's CPU: utun's with offload a quarter of tun-rs's.
                let cpu = match key {
                    "relay_offload" => 250,
                    "relay_tun_rs" => 1000,
                    _ => 0,
                };
                // The stream's ends: what makes the relay_offload's CPUs busy 1.0.
                let stream = if key == "relay_offload" { 750 } else { 0 };
                runs.push(json!({"variant": key, "round": round, "nanos": nanos, "bytes": 1000, "packets": 10,
                                 "allocations": allocs, "counted_packets": 10, "relay_cpu_nanos": cpu,
                                 "stream_cpu_nanos": stream}));
            }
        }
        json!({"format": 3, "config": {"smoke": true},
               "variants": variants.iter().map(|k| json!({"key": k, "label": k, "part": "x"})).collect::<Vec<_>>(),
               "runs": runs})
        .to_string()
    }

    #[test]
    fn ratios_are_of_rates_within_a_round_and_allocations_fail_the_run() {
        // Without offload 4 times as long: 4× the rate with it.
        let r = OffloadReport::parse(&doc(4000, 0)).unwrap();
        let t = &r.targets[0];
        assert!((t.value - 4.0).abs() < 1e-9 && t.holds());
        // Equal rates: 1.0 holds the ≥ 1.0 target, misses ≥ 1.6.
        assert!(r.targets[1].holds() && !r.targets[3].holds());
        assert!(r.hard_requirements_hold());
        let cpu = r.targets.iter().find(|t| t.what.contains("CPU time per byte")).unwrap();
        assert!((cpu.value - 0.25).abs() < 1e-9 && cpu.holds());
        let offload = r.rows.iter().find(|row| row.variant.key == "relay_offload").unwrap();
        assert_eq!(offload.cpus_busy, Some(1.0));
        assert_eq!(offload.relay_cpu_ns_per_kib, Some(256.0));
        // No relay thread: no CPU figures.
        assert!(r.rows.iter().find(|row| row.variant.key == "gso_raw").unwrap().cpus_busy.is_none());
        assert!(r.text().contains("| 1.00 | 256 |"));
        let r = OffloadReport::parse(&doc(2000, 1)).unwrap();
        assert!(!r.targets[0].holds());
        assert!(!r.hard_requirements_hold());
        assert!(r.text().contains("**FAILS**"));
    }

    #[test]
    fn measurements_of_another_format_are_refused() {
        let mut d: Value = serde_json::from_str(&doc(1000, 0)).unwrap();
        d["format"] = json!(2);
        assert!(OffloadReport::parse(&d.to_string()).is_err());
    }

    #[test]
    fn a_run_of_an_unknown_variant_is_refused() {
        let mut d: Value = serde_json::from_str(&doc(1000, 0)).unwrap();
        d["runs"][0]["variant"] = json!("nonsense");
        assert!(OffloadReport::parse(&d.to_string()).is_err());
    }
}
