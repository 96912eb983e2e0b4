//! The device benchmark's measurements, as it writes them
//! (`tests/benches/device/measurements.rs` documents the document).

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// The document version this reader knows.
const FORMAT: u64 = 1;

/// How much was measured.
#[derive(Clone, Debug)]
pub struct Config {
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
}

/// One way of moving the packets.
#[derive(Clone, Debug)]
pub struct Variant {
    /// Its name in the JSON files.
    pub key: String,
    /// Its name in tables.
    pub label: String,
    /// The key of the raw loop it is compared with.
    pub baseline: String,
}

/// What one run of one variant measured.
#[derive(Clone, Debug)]
pub struct Run {
    /// The IP packet size.
    pub size: usize,
    /// The variant's key.
    pub variant: String,
    /// The round (0 for the counting passes).
    pub round: usize,
    /// Wall-clock nanoseconds for the measured packets.
    pub nanos: u64,
    /// Heap allocations while they were moved.
    pub allocations: u64,
    /// System calls of the benchmark thread, when counted.
    pub syscalls: Option<u64>,
    /// The measured packets.
    pub packets: u64,
}

impl Run {
    /// Nanoseconds per packet.
    pub fn ns_per_packet(&self) -> f64 {
        self.nanos as f64 / self.packets as f64
    }
}

/// Everything one benchmark run measured.
#[derive(Clone, Debug)]
pub struct Measurements {
    /// How much.
    pub config: Config,
    /// The packet sizes.
    pub sizes: Vec<usize>,
    /// Every variant, in the order tables list them.
    pub variants: Vec<Variant>,
    /// The timed runs.
    pub runs: Vec<Run>,
    /// The syscall-counting runs.
    pub counted: Vec<Run>,
    /// Why system calls were not counted, when they were not.
    pub syscalls_missing: Option<String>,
}

fn field<'a>(v: &'a Value, name: &str) -> Result<&'a Value> {
    v.get(name).with_context(|| format!("no {name:?} in {v}"))
}

fn uint(v: &Value, name: &str) -> Result<u64> {
    field(v, name)?.as_u64().with_context(|| format!("{name:?} is not a count in {v}"))
}

fn size(v: &Value, name: &str) -> Result<usize> {
    Ok(usize::try_from(uint(v, name)?)?)
}

fn text(v: &Value, name: &str) -> Result<String> {
    Ok(field(v, name)?.as_str().with_context(|| format!("{name:?} is not a string in {v}"))?.to_string())
}

fn array<'a>(v: &'a Value, name: &str) -> Result<&'a Vec<Value>> {
    field(v, name)?.as_array().with_context(|| format!("{name:?} is not an array"))
}

fn run(v: &Value) -> Result<Run> {
    let syscalls = field(v, "syscalls")?;
    Ok(Run {
        size: size(v, "size")?,
        variant: text(v, "variant")?,
        round: size(v, "round")?,
        nanos: uint(v, "nanos")?,
        allocations: uint(v, "allocations")?,
        syscalls: if syscalls.is_null() { None } else { Some(uint(v, "syscalls")?) },
        packets: uint(v, "packets")?,
    })
}

impl Measurements {
    /// Reads the benchmark's JSON document.
    pub fn parse(json: &str) -> Result<Measurements> {
        let doc: Value = serde_json::from_str(json).context("the measurements are not JSON")?;
        let format = uint(&doc, "format")?;
        if format != FORMAT {
            bail!("measurements in format {format}; this xtask reads format {FORMAT}");
        }
        let config = field(&doc, "config")?;
        let config = Config {
            smoke: field(config, "smoke")?.as_bool().context("\"smoke\" is not a boolean")?,
            rounds: size(config, "rounds")?,
            packets: size(config, "packets")?,
            warmup: size(config, "warmup")?,
            counted: size(config, "counted")?,
        };
        let sizes = array(&doc, "sizes")?
            .iter()
            .map(|s| s.as_u64().and_then(|s| usize::try_from(s).ok()).context("a size that is not a count"))
            .collect::<Result<_>>()?;
        let variants: Vec<Variant> = array(&doc, "variants")?
            .iter()
            .map(|v| Ok(Variant { key: text(v, "key")?, label: text(v, "label")?, baseline: text(v, "baseline")? }))
            .collect::<Result<_>>()?;
        let runs: Vec<Run> = array(&doc, "runs")?.iter().map(run).collect::<Result<_>>()?;
        let counted: Vec<Run> = array(&doc, "counted")?.iter().map(run).collect::<Result<_>>()?;
        for r in runs.iter().chain(&counted) {
            if !variants.iter().any(|v| v.key == r.variant) {
                bail!("a run of {:?}, which is not among the variants", r.variant);
            }
            if r.packets == 0 {
                bail!("a run of {:?} with no packets", r.variant);
            }
        }
        let missing = field(&doc, "syscalls_missing")?;
        let syscalls_missing = if missing.is_null() { None } else { Some(text(&doc, "syscalls_missing")?) };
        Ok(Measurements { config, sizes, variants, runs, counted, syscalls_missing })
    }
}
