//! What the benchmark hands to `cargo xtask bench`: every measured run, as
//! one JSON document, with nothing computed from it. xtask
//! (`xtask/src/bench/`) reads it and writes the report (medians, ratios,
//! targets, the machine, BENCHMARKS.md and BENCHMARKS.json).
//!
//! ```text
//! {
//!   "format": 1,
//!   "config": {"smoke": false, "rounds": 200, "packets": 4000, "warmup": 400, "counted": 10000},
//!   "sizes": [64, 1400],
//!   "variants": [{"key": "raw_blocking", "label": "raw read/write, blocking", "baseline": "raw_blocking"}, ...],
//!   "runs": [{"size": 64, "variant": "raw_blocking", "round": 0, "nanos": 123456, "allocations": 0,
//!             "syscalls": null, "packets": 4000}, ...],
//!   "counted": [... the untimed syscall-counting pass, round 0, the same fields ...],
//!   "syscalls_missing": null or why system calls were not counted
//! }
//! ```
//!
//! `variants` lists every variant in the order tables list them, with the
//! raw loop each is compared with.

use std::path::Path;

use anyhow::{Context as _, Result};
use serde_json::{Value, json};

use crate::linux::Options;
use crate::variants::{Sample, Variant};

/// The version of this document's shape; xtask refuses another.
const FORMAT: u64 = 1;

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

/// Everything one benchmark run measured.
pub struct Measurements<'a> {
    /// How much was measured.
    pub opts: &'a Options,
    /// The packet sizes.
    pub sizes: &'a [usize],
    /// The timed runs.
    pub runs: &'a [Run],
    /// The syscall-counting runs.
    pub counted: &'a [Run],
    /// `Err`: why system calls were not counted.
    pub syscalls: Result<(), String>,
}

impl Measurements<'_> {
    /// The JSON document.
    fn to_json(&self) -> Result<Value> {
        let runs = |runs: &[Run]| -> Result<Vec<Value>> {
            runs.iter()
                .map(|r| {
                    Ok(json!({
                        "size": r.size,
                        "variant": r.variant.key(),
                        "round": r.round,
                        "nanos": u64::try_from(r.sample.nanos).context("a run longer than 584 years")?,
                        "allocations": r.sample.allocations,
                        "syscalls": r.sample.syscalls,
                        "packets": r.sample.packets,
                    }))
                })
                .collect()
        };
        let variants: Vec<Value> = Variant::ALL
            .iter()
            .map(|v| json!({"key": v.key(), "label": v.label(), "baseline": v.baseline().key()}))
            .collect();
        let o = self.opts;
        Ok(json!({
            "format": FORMAT,
            "config": {
                "smoke": o.smoke, "rounds": o.rounds, "packets": o.packets, "warmup": o.warmup, "counted": o.counted,
            },
            "sizes": self.sizes,
            "variants": variants,
            "runs": runs(self.runs)?,
            "counted": runs(self.counted)?,
            "syscalls_missing": self.syscalls.as_ref().err(),
        }))
    }

    /// Writes the document to `path` (its directory made if need be).
    pub fn write(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let text = serde_json::to_string_pretty(&self.to_json()?)?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
    }
}
