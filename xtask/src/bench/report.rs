//! The results of the device benchmark: medians, ratios from the same run,
//! and the targets, computed from its measurements (rendered in
//! `render.rs`).

use anyhow::{Context, Result};

use super::measurements::{Config, Measurements, Run, Variant};

/// The variants the targets name (their keys in the measurements).
pub(super) const RAW_BLOCKING: &str = "raw_blocking";
const RAW_DIRECT: &str = "raw_direct";
const UTUN_SYNC: &str = "utun_sync";
const TUN_RS_SYNC: &str = "tun_rs_sync";
const RAW_NONBLOCKING: &str = "raw_nonblocking";
const RAW_DIRECT_NONBLOCKING: &str = "raw_direct_nonblocking";
const RAW_EPOLL: &str = "raw_epoll";
const UTUN_TOKIO: &str = "utun_tokio";
const TUN_RS_TOKIO: &str = "tun_rs_tokio";

/// One line of a table: a variant at a size, over every round.
pub(super) struct Row {
    pub(super) size: usize,
    pub(super) variant: Variant,
    /// ns/packet of each round.
    pub(super) rounds: Vec<f64>,
    pub(super) median: f64,
    /// Median over rounds of (this variant's ns / its baseline's ns in the same round).
    pub(super) ratio: f64,
    /// Heap allocations per packet, over every measured packet.
    pub(super) allocations: f64,
    /// System calls per packet, from the counting pass.
    pub(super) syscalls: Option<f64>,
}

/// What a line of the targets table is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A timing target the issue sets.
    Goal,
    /// A requirement the run fails without (no allocation per packet).
    Hard,
    /// A figure for context, with no limit.
    Info,
}

/// A target the issue sets, checked on this run (or a figure for context).
pub(super) struct Target {
    pub(super) what: String,
    pub(super) size: usize,
    pub(super) value: f64,
    /// For a ratio: a 95% bootstrap interval of its median over the rounds.
    pub(super) interval: Option<(f64, f64)>,
    pub(super) limit: f64,
    pub(super) kind: Kind,
}

impl Target {
    pub(super) fn holds(&self) -> bool {
        self.kind == Kind::Info || self.value <= self.limit
    }
}

/// Everything the benchmark found.
pub struct Report {
    pub(super) config: Config,
    pub(super) sizes: Vec<usize>,
    pub(super) rows: Vec<Row>,
    pub(super) targets: Vec<Target>,
    /// Why syscalls were not counted, when they were not.
    pub(super) syscalls_missing: Option<String>,
    /// What the numbers were measured on.
    pub(super) machine: Vec<(&'static str, String)>,
}

pub(super) fn median(values: &[f64]) -> f64 {
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
pub(super) fn bootstrap_interval(values: &[f64]) -> Option<(f64, f64)> {
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

impl Report {
    /// Medians and ratios from the timed runs, system calls from the
    /// counting runs; `machine` says what they were measured on.
    pub fn new(m: Measurements, machine: Vec<(&'static str, String)>) -> Result<Report> {
        let runs = &m.runs;
        let counted = &m.counted;
        let ns = |size: usize, variant: &str, round: usize| {
            runs.iter().find(|r| r.size == size && r.variant == variant && r.round == round).map(Run::ns_per_packet)
        };
        let round_ratios = |size: usize, variant: &str, other: &str| -> Vec<f64> {
            (0..m.config.rounds).filter_map(|round| Some(ns(size, variant, round)? / ns(size, other, round)?)).collect()
        };
        let per_round_ratio = |size: usize, variant: &str, other: &str| median(&round_ratios(size, variant, other));
        let interval =
            |size: usize, variant: &str, other: &str| bootstrap_interval(&round_ratios(size, variant, other));
        let mut rows = Vec::new();
        for &size in &m.sizes {
            for variant in &m.variants {
                let of = |r: &&Run| r.size == size && r.variant == variant.key;
                let mine: Vec<&Run> = runs.iter().filter(of).collect();
                let rounds: Vec<f64> = mine.iter().map(|r| r.ns_per_packet()).collect();
                let allocs: u64 = mine.iter().map(|r| r.allocations).sum::<u64>()
                    + counted.iter().filter(of).map(|r| r.allocations).sum::<u64>();
                let packets: u64 = mine.iter().map(|r| r.packets).sum::<u64>()
                    + counted.iter().filter(of).map(|r| r.packets).sum::<u64>();
                let syscalls = counted.iter().find(of).and_then(|r| Some(r.syscalls? as f64 / r.packets as f64));
                rows.push(Row {
                    size,
                    variant: variant.clone(),
                    median: median(&rounds),
                    rounds,
                    ratio: per_round_ratio(size, &variant.key, &variant.baseline),
                    allocations: allocs as f64 / packets.max(1) as f64,
                    syscalls,
                });
            }
        }
        let mut targets = Vec::new();
        for &size in &m.sizes {
            let allocations = |key: &str| {
                rows.iter()
                    .find(|r| r.size == size && r.variant.key == key)
                    .map(|r| r.allocations)
                    .with_context(|| format!("the measurements have no {key} at {size} bytes"))
            };
            let target = |what: &str, value: f64, limit: f64, kind: Kind| Target {
                what: what.to_string(),
                size,
                value,
                interval: None,
                limit,
                kind,
            };
            let ratio = |what: &str, variant: &str, other: &str, limit: f64, kind: Kind| Target {
                interval: interval(size, variant, other),
                ..target(what, per_round_ratio(size, variant, other), limit, kind)
            };
            targets.push(ratio("utun::Device ≤ 1.02 × raw blocking loop", UTUN_SYNC, RAW_BLOCKING, 1.02, Kind::Goal));
            targets.push(ratio(
                "utun::AsyncDevice ≤ 1.05 × raw non-blocking loop",
                UTUN_TOKIO,
                RAW_NONBLOCKING,
                1.05,
                Kind::Goal,
            ));
            targets.push(ratio("utun::Device ≤ tun-rs SyncDevice", UTUN_SYNC, TUN_RS_SYNC, 1.0, Kind::Goal));
            targets.push(ratio("utun::AsyncDevice ≤ tun-rs AsyncDevice", UTUN_TOKIO, TUN_RS_TOKIO, 1.0, Kind::Goal));
            targets.push(target("utun::Device: 0 allocations per packet", allocations(UTUN_SYNC)?, 0.0, Kind::Hard));
            targets.push(target(
                "utun::AsyncDevice: 0 allocations per packet",
                allocations(UTUN_TOKIO)?,
                0.0,
                Kind::Hard,
            ));
            let context = [
                ("context: raw non-blocking + epoll loop / raw non-blocking loop", RAW_EPOLL, RAW_NONBLOCKING),
                ("context: utun::AsyncDevice / raw non-blocking + epoll loop", UTUN_TOKIO, RAW_EPOLL),
                ("context: tun-rs AsyncDevice / raw non-blocking + epoll loop", TUN_RS_TOKIO, RAW_EPOLL),
                ("context: raw blocking loop, direct system calls / raw blocking loop", RAW_DIRECT, RAW_BLOCKING),
                ("context: utun::Device / raw blocking loop, direct system calls", UTUN_SYNC, RAW_DIRECT),
                (
                    "context: utun::AsyncDevice / raw non-blocking loop, direct system calls",
                    UTUN_TOKIO,
                    RAW_DIRECT_NONBLOCKING,
                ),
                ("context: tun-rs SyncDevice / raw blocking loop", TUN_RS_SYNC, RAW_BLOCKING),
            ];
            for (what, variant, other) in context {
                targets.push(ratio(what, variant, other, 0.0, Kind::Info));
            }
        }
        Ok(Report { config: m.config, sizes: m.sizes, rows, targets, syscalls_missing: m.syscalls_missing, machine })
    }

    /// Whether the hard requirements (no allocation per packet) hold.
    pub fn hard_requirements_hold(&self) -> bool {
        self.targets.iter().filter(|t| t.kind == Kind::Hard).all(Target::holds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
        assert_eq!(bootstrap_interval(&[1.0]), None);
        let (lo, hi) = bootstrap_interval(&[1.0, 2.0, 3.0, 4.0, 5.0]).expect("an interval");
        assert!(1.0 <= lo && lo <= hi && hi <= 5.0);
    }
}
