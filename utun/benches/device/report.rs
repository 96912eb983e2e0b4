//! The results: medians, ratios from the same run, the targets, and the
//! table (Markdown, also printed) and the JSON file.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;

use crate::linux::Options;
use crate::variants::{Sample, Variant};

/// One measured run of one variant.
pub struct Run {
    /// The IP packet size.
    pub size: usize,
    /// The variant.
    pub variant: Variant,
    /// The round (0 for the counting passes).
    pub round: usize,
    /// What it measured.
    pub sample: Sample,
}

/// One line of a table: a variant at a size, over every round.
struct Row {
    size: usize,
    variant: Variant,
    /// ns/packet of each round.
    rounds: Vec<f64>,
    median: f64,
    /// Median over rounds of (this variant's ns / its baseline's ns in the same round).
    ratio: f64,
    /// Heap allocations per packet, over every measured packet.
    allocations: f64,
    /// System calls per packet, from the counting pass.
    syscalls: Option<f64>,
}

/// What a line of the targets table is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A timing target the issue sets.
    Goal,
    /// A requirement the run fails without (no allocation per packet).
    Hard,
    /// A figure for context, with no limit.
    Info,
}

/// A target the issue sets, checked on this run (or a figure for context).
struct Target {
    what: String,
    size: usize,
    value: f64,
    /// For a ratio: a 95% bootstrap interval of its median over the rounds.
    interval: Option<(f64, f64)>,
    limit: f64,
    kind: Kind,
}

impl Target {
    fn holds(&self) -> bool {
        self.kind == Kind::Info || self.value <= self.limit
    }
}

/// Everything the benchmark found.
pub struct Report {
    opts: Options,
    sizes: Vec<usize>,
    rows: Vec<Row>,
    targets: Vec<Target>,
    /// Why syscalls were not counted, when they were not.
    syscalls_missing: Option<String>,
    machine: Vec<(&'static str, String)>,
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// A 95% interval for the median of `values`: the 2.5th and 97.5th
/// percentiles of the medians of 1000 resamples (with replacement; a fixed
/// xorshift seed, so a report is reproducible from its rounds).
fn bootstrap_interval(values: &[f64]) -> Option<(f64, f64)> {
    if values.len() < 2 {
        return None;
    }
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut medians: Vec<f64> = (0..1000)
        .map(|_| {
            let sample: Vec<f64> = (0..values.len()).map(|_| values[(next() % values.len() as u64) as usize]).collect();
            median(&sample)
        })
        .collect();
    medians.sort_by(f64::total_cmp);
    Some((medians[25], medians[974]))
}

fn ns_per_packet(s: &Sample) -> f64 {
    s.nanos as f64 / s.packets as f64
}

impl Report {
    /// Medians and ratios from the timed `runs`; syscalls from `counted`.
    pub fn new(
        opts: Options,
        sizes: &[usize],
        runs: Vec<Run>,
        counted: Vec<Run>,
        syscalls: Result<(), String>,
    ) -> Report {
        let ns = |size: usize, variant: Variant, round: usize| {
            runs.iter()
                .find(|r| r.size == size && r.variant == variant && r.round == round)
                .map(|r| ns_per_packet(&r.sample))
        };
        let round_ratios = |size: usize, variant: Variant, other: Variant| -> Vec<f64> {
            (0..opts.rounds).filter_map(|round| Some(ns(size, variant, round)? / ns(size, other, round)?)).collect()
        };
        let per_round_ratio =
            |size: usize, variant: Variant, other: Variant| median(&round_ratios(size, variant, other));
        let interval =
            |size: usize, variant: Variant, other: Variant| bootstrap_interval(&round_ratios(size, variant, other));
        let mut rows = Vec::new();
        for &size in sizes {
            for variant in Variant::ALL {
                let mine: Vec<&Run> = runs.iter().filter(|r| r.size == size && r.variant == variant).collect();
                let rounds: Vec<f64> = mine.iter().map(|r| ns_per_packet(&r.sample)).collect();
                let allocs: u64 = mine.iter().map(|r| r.sample.allocations).sum::<u64>()
                    + counted
                        .iter()
                        .filter(|r| r.size == size && r.variant == variant)
                        .map(|r| r.sample.allocations)
                        .sum::<u64>();
                let packets: u64 = mine.iter().map(|r| r.sample.packets).sum::<u64>()
                    + counted
                        .iter()
                        .filter(|r| r.size == size && r.variant == variant)
                        .map(|r| r.sample.packets)
                        .sum::<u64>();
                let syscalls = counted
                    .iter()
                    .find(|r| r.size == size && r.variant == variant)
                    .and_then(|r| Some(r.sample.syscalls? as f64 / r.sample.packets as f64));
                rows.push(Row {
                    size,
                    variant,
                    median: median(&rounds),
                    rounds,
                    ratio: per_round_ratio(size, variant, variant.baseline()),
                    allocations: allocs as f64 / packets.max(1) as f64,
                    syscalls,
                });
            }
        }
        let mut targets = Vec::new();
        for &size in sizes {
            let row = |v: Variant| rows.iter().find(|r| r.size == size && r.variant == v).expect("every row exists");
            let target = |what: &str, value: f64, limit: f64, kind: Kind| Target {
                what: what.to_string(),
                size,
                value,
                interval: None,
                limit,
                kind,
            };
            let ratio = |what: &str, variant: Variant, other: Variant, limit: f64, kind: Kind| Target {
                interval: interval(size, variant, other),
                ..target(what, per_round_ratio(size, variant, other), limit, kind)
            };
            targets.push(ratio(
                "utun::Device ≤ 1.02 × raw blocking loop",
                Variant::UtunSync,
                Variant::RawBlocking,
                1.02,
                Kind::Goal,
            ));
            targets.push(ratio(
                "utun::AsyncDevice ≤ 1.05 × raw non-blocking loop",
                Variant::UtunTokio,
                Variant::RawNonblocking,
                1.05,
                Kind::Goal,
            ));
            targets.push(ratio(
                "utun::Device ≤ tun-rs SyncDevice",
                Variant::UtunSync,
                Variant::TunRsSync,
                1.0,
                Kind::Goal,
            ));
            targets.push(ratio(
                "utun::AsyncDevice ≤ tun-rs AsyncDevice",
                Variant::UtunTokio,
                Variant::TunRsTokio,
                1.0,
                Kind::Goal,
            ));
            targets.push(target(
                "utun::Device: 0 allocations per packet",
                row(Variant::UtunSync).allocations,
                0.0,
                Kind::Hard,
            ));
            targets.push(target(
                "utun::AsyncDevice: 0 allocations per packet",
                row(Variant::UtunTokio).allocations,
                0.0,
                Kind::Hard,
            ));
            targets.push(ratio(
                "context: raw non-blocking + epoll loop / raw non-blocking loop",
                Variant::RawEpoll,
                Variant::RawNonblocking,
                0.0,
                Kind::Info,
            ));
            targets.push(ratio(
                "context: utun::AsyncDevice / raw non-blocking + epoll loop",
                Variant::UtunTokio,
                Variant::RawEpoll,
                0.0,
                Kind::Info,
            ));
            targets.push(ratio(
                "context: tun-rs AsyncDevice / raw non-blocking + epoll loop",
                Variant::TunRsTokio,
                Variant::RawEpoll,
                0.0,
                Kind::Info,
            ));
            targets.push(ratio(
                "context: raw blocking loop, direct system calls / raw blocking loop",
                Variant::RawDirect,
                Variant::RawBlocking,
                0.0,
                Kind::Info,
            ));
            targets.push(ratio(
                "context: utun::Device / raw blocking loop, direct system calls",
                Variant::UtunSync,
                Variant::RawDirect,
                0.0,
                Kind::Info,
            ));
            targets.push(ratio(
                "context: utun::AsyncDevice / raw non-blocking loop, direct system calls",
                Variant::UtunTokio,
                Variant::RawDirectNonblocking,
                0.0,
                Kind::Info,
            ));
            targets.push(ratio(
                "context: tun-rs SyncDevice / raw blocking loop",
                Variant::TunRsSync,
                Variant::RawBlocking,
                0.0,
                Kind::Info,
            ));
        }
        Report { opts, sizes: sizes.to_vec(), rows, targets, syscalls_missing: syscalls.err(), machine: machine() }
    }

    /// Whether the hard requirements (no allocation per packet) hold.
    pub fn hard_requirements_hold(&self) -> bool {
        self.targets.iter().filter(|t| t.kind == Kind::Hard).all(Target::holds)
    }

    /// The tables and the targets, in Markdown (also what is printed).
    pub fn text(&self) -> String {
        let mut s = String::new();
        for &size in &self.sizes {
            let _ = writeln!(s, "### {size}-byte packets\n");
            let _ = writeln!(
                s,
                "| variant | ns/packet | packets/s | Gbit/s | ratio to its raw loop | rounds (ns/packet) | allocs/packet | syscalls/packet |"
            );
            let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|");
            for row in self.rows.iter().filter(|r| r.size == size) {
                let lo = row.rounds.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = row.rounds.iter().copied().fold(0.0, f64::max);
                let ratio = if row.variant == row.variant.baseline() {
                    "1 (baseline)".to_string()
                } else {
                    let base = match row.variant.baseline() {
                        Variant::RawBlocking => "blocking",
                        _ => "non-blocking",
                    };
                    format!("{:.3} × {base}", row.ratio)
                };
                let _ = writeln!(
                    s,
                    "| {} | {:.0} | {} | {:.3} | {} | {:.0}–{:.0} | {} | {} |",
                    row.variant.label(),
                    row.median,
                    thousands(1e9 / row.median),
                    size as f64 * 8.0 / row.median,
                    ratio,
                    lo,
                    hi,
                    trim(row.allocations),
                    row.syscalls.map_or("n/a".to_string(), |v| format!("{v:.2}")),
                );
            }
            s.push('\n');
        }
        if self.opts.smoke {
            let _ = writeln!(
                s,
                "(A smoke run: too few packets for the times and ratios to mean much; the allocation \
                 and system-call counts are exact.)\n"
            );
        }
        let _ = writeln!(s, "### Targets\n");
        let _ = writeln!(s, "| target | size | this run (95% interval) | limit | |");
        let _ = writeln!(s, "|---|---:|---:|---:|---|");
        for t in &self.targets {
            let (verdict, limit) = match (t.kind, t.holds()) {
                (Kind::Info, _) => ("", "—".to_string()),
                (_, true) => ("holds", trim(t.limit)),
                (Kind::Hard, false) => ("**FAILS**", trim(t.limit)),
                (Kind::Goal, false) => ("**missed**", trim(t.limit)),
            };
            let value = match t.interval {
                Some((lo, hi)) => format!("{:.3} ({lo:.3}–{hi:.3})", t.value),
                None => trim(t.value),
            };
            let _ = writeln!(s, "| {} | {} B | {value} | {limit} | {verdict} |", t.what, t.size);
        }
        if let Some(why) = &self.syscalls_missing {
            let _ = writeln!(s, "\nSystem calls were not counted: {why}.");
        }
        s
    }

    /// The whole Markdown file: how it was measured, then [`text`](Self::text).
    fn markdown(&self) -> String {
        let mut s = String::from("# Benchmarks\n\n");
        s.push_str(
            "Written by `cargo xtask bench` (the `device` benchmark in `utun/benches/device/`); \
             `BENCHMARKS.json` has the same numbers, every round included.\n\n",
        );
        s.push_str(
            "**How.** Inside a network namespace the benchmark creates, two tun devices: tunA \
             (198.18.1.1/24) and tunB (198.18.2.1/24), IPv4 forwarding on, reverse-path filtering \
             off, transmit queues of 1000. One thread writes an IPv4/UDP packet from 198.18.1.2 to \
             198.18.2.2 into tunA; the kernel forwards it to tunB during that `write`, and the \
             same thread reads it back from tunB: one write, one forwarding, one read per packet, \
             no traffic generator. Every variant uses the same two devices (persistent; each \
             variant attaches to them, all with `IFF_NO_PI` framing, and detaches) and the same \
             packets.\n\n",
        );
        let _ = write!(
            s,
            "Each size runs {} rounds; a round runs every variant once ({} packets measured after \
             {} unmeasured), starting one variant further each round. ns/packet is the median \
             over the rounds; the ratio is the median over the rounds of the variant's time \
             divided by its raw loop's time in the same round (the sync variants against the \
             blocking loop, the async ones against the non-blocking loop); the rounds column \
             shows the spread, and the targets table a 95% bootstrap interval for each ratio. \
             The benchmark thread is pinned to one CPU. Gbit/s counts IP packet bytes. Allocations are counted by a \
             counting global allocator over every measured packet; system calls by a perf \
             counter on the `raw_syscalls:sys_enter` tracepoint for the benchmark thread, in a \
             separate pass of {} packets (the tracepoint costs time).\n\n",
            self.opts.rounds, self.opts.packets, self.opts.warmup, self.opts.counted
        );
        s.push_str(
            "**Reading it.** Two things utun does show up here. (1) On Linux it makes the \
             per-packet `read` and `write` as direct system calls (rustix: the `syscall` \
             instruction inline in the caller) where the raw loops and tun-rs call glibc's \
             wrappers. How much that saves depends on the machine. On the one below, returns \
             right after a system call are expensive (the kernel reports RSB filling): a \
             `getppid` made inline took 130 ns, the same instruction in a function of its own \
             180–200 ns, and glibc's `getppid` 205–230 ns; elsewhere the gain can be small. The raw loops with direct \
             system calls and the context rows comparing utun with them show utun's own cost, \
             the figure to expect anywhere. (2) The async device leaves tokio's reactor after 64 \
             receives in a row that found a packet waiting, and registers again before it next \
             has to wait: while it is registered, the kernel runs epoll's wake-up callback for \
             every packet queued on the device (the raw epoll row shows that cost). This \
             benchmark never waits, so it measures the released state: a busy reader.\n\n",
        );
        s.push_str("**Machine.** ");
        let facts: Vec<String> = self.machine.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        s.push_str(&facts.join("; "));
        s.push_str(".\n\n## Results\n\n");
        s.push_str(&self.text());
        s
    }

    /// The machine-readable form.
    fn json(&self) -> String {
        let mut s = String::from("{\n");
        let _ = writeln!(
            s,
            "  \"config\": {{\"rounds\": {}, \"packets\": {}, \"warmup\": {}, \"counted_packets\": {}, \"smoke\": {}}},",
            self.opts.rounds, self.opts.packets, self.opts.warmup, self.opts.counted, self.opts.smoke
        );
        let machine: Vec<String> =
            self.machine.iter().map(|(k, v)| format!("{}: {}", json_str(&k.replace(' ', "_")), json_str(v))).collect();
        let _ = writeln!(s, "  \"machine\": {{{}}},", machine.join(", "));
        s.push_str("  \"results\": [\n");
        let rows: Vec<String> = self
            .rows
            .iter()
            .map(|r| {
                let rounds: Vec<String> = r.rounds.iter().map(|v| format!("{v:.1}")).collect();
                format!(
                    "    {{\"size\": {}, \"variant\": {}, \"label\": {}, \"baseline\": {}, \"ns_per_packet\": {:.1}, \
                     \"packets_per_second\": {:.0}, \"gbit_per_second\": {:.4}, \"ratio_to_baseline\": {:.4}, \
                     \"rounds_ns_per_packet\": [{}], \"allocations_per_packet\": {}, \"syscalls_per_packet\": {}}}",
                    r.size,
                    json_str(r.variant.key()),
                    json_str(r.variant.label()),
                    json_str(r.variant.baseline().key()),
                    r.median,
                    1e9 / r.median,
                    r.size as f64 * 8.0 / r.median,
                    r.ratio,
                    rounds.join(", "),
                    r.allocations,
                    r.syscalls.map_or("null".to_string(), |v| format!("{v:.3}")),
                )
            })
            .collect();
        s.push_str(&rows.join(",\n"));
        s.push_str("\n  ],\n  \"targets\": [\n");
        let targets: Vec<String> = self
            .targets
            .iter()
            .map(|t| {
                let (limit, holds) = match t.kind {
                    Kind::Info => ("null".to_string(), "null".to_string()),
                    _ => (t.limit.to_string(), t.holds().to_string()),
                };
                let interval = t.interval.map_or("null".to_string(), |(lo, hi)| format!("[{lo:.4}, {hi:.4}]"));
                format!(
                    "    {{\"target\": {}, \"size\": {}, \"value\": {:.4}, \"interval_95\": {interval}, \"limit\": {limit}, \"holds\": {holds}}}",
                    json_str(&t.what),
                    t.size,
                    t.value,
                )
            })
            .collect();
        s.push_str(&targets.join(",\n"));
        s.push_str("\n  ]\n}\n");
        s
    }

    /// Writes the Markdown file and the JSON file.
    pub fn write(&self, markdown: &Path, json: &Path) -> Result<()> {
        std::fs::write(markdown, self.markdown())?;
        std::fs::write(json, self.json())?;
        Ok(())
    }
}

/// `1234567.8` as `1,234,568`.
fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A ratio or a count: `0` for zero, three decimals otherwise.
fn trim(v: f64) -> String {
    if v == 0.0 { "0".to_string() } else { format!("{v:.3}") }
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What the numbers were measured on.
fn machine() -> Vec<(&'static str, String)> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_string()))
        .unwrap_or_else(|| "unknown".into());
    // Counted from /proc/cpuinfo: the benchmark thread is pinned to one by now.
    let cpus = cpuinfo.lines().filter(|l| l.starts_with("processor")).count();
    let kernel =
        std::fs::read_to_string("/proc/sys/kernel/osrelease").map_or("unknown".into(), |s| s.trim().to_string());
    // Mitigations decide what a system call costs (and what a return right
    // after one costs): the figure that explains the direct-call rows.
    let spectre_v2 = std::fs::read_to_string("/sys/devices/system/cpu/vulnerabilities/spectre_v2")
        .map_or("unknown".into(), |s| s.trim().to_string());
    let rustc = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or("unknown".into(), |o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    vec![
        ("date", today()),
        ("CPU", cpu),
        ("CPUs", cpus.to_string()),
        ("Linux", kernel),
        ("spectre_v2", spectre_v2),
        ("rustc", rustc),
        ("tun-rs", locked_version("tun-rs")),
        ("tokio", locked_version("tokio")),
    ]
}

/// A package's version in the workspace's Cargo.lock.
fn locked_version(package: &str) -> String {
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
    let text = std::fs::read_to_string(lock).unwrap_or_default();
    let wanted = format!("name = \"{package}\"");
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line == wanted {
            if let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = ")) {
                return v.trim_matches('"').to_string();
            }
        }
    }
    "unknown".into()
}

/// Today's UTC date, `YYYY-MM-DD` (days-from-civil, inverted).
fn today() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}
