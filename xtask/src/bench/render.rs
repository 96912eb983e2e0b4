//! The device benchmark's report as text: the tables and targets (printed,
//! and the body of BENCHMARKS.md), the whole Markdown file, and the JSON file.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;

use super::report::{Kind, RAW_BLOCKING, Report};

impl Report {
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
                let ratio = if row.variant.key == row.variant.baseline {
                    "1 (baseline)".to_string()
                } else {
                    let base = if row.variant.baseline == RAW_BLOCKING { "blocking" } else { "non-blocking" };
                    format!("{:.3} × {base}", row.ratio)
                };
                let _ = writeln!(
                    s,
                    "| {} | {:.0} | {} | {:.3} | {} | {:.0}–{:.0} | {} | {} |",
                    row.variant.label,
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
        if self.config.smoke {
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
            "Written by `cargo xtask bench` (the `device` benchmark in `tests/benches/device/`; the \
             `offload` benchmark's section is at the end); `BENCHMARKS.json` has the same numbers, every \
             round included.\n\n",
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
            self.config.rounds, self.config.packets, self.config.warmup, self.config.counted
        );
        s.push_str(
            "**Reading it.** Two things utun does show up here. (1) On Linux it makes the \
             per-packet `read` and `write` as direct system calls (rustix: the `syscall` \
             instruction inline in the caller) where the raw loops and tun-rs call glibc's \
             wrappers. How much that saves depends on the machine and the day: the context row \
             \"raw blocking loop, direct system calls / raw blocking loop\" gives it for the run \
             below (on one machine of this kind, where returns right after a system call were \
             expensive, it was 0.74; on another, 0.99). The raw loops with direct system calls \
             and the context rows comparing utun with them show utun's own cost, the figure to \
             expect anywhere. (2) The async device leaves tokio's reactor after 64 \
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
            self.config.rounds, self.config.packets, self.config.warmup, self.config.counted, self.config.smoke
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
                    json_str(&r.variant.key),
                    json_str(&r.variant.label),
                    json_str(&r.variant.baseline),
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
