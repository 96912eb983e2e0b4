//! What the soak watches besides its packets: the kernel's counters of the
//! namespace (every packet the kernel dropped is counted in one of them) and
//! this process's resident memory and open descriptors, sampled through a
//! run.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result};

/// The kernel's counters of this network namespace (the process is in it:
/// `/proc/net` is the reading task's namespace's). Named `dev:<if>:<field>`
/// (`/proc/net/dev`), `Ip:<field>` (`/proc/net/snmp`) and
/// `softnet:dropped` (`/proc/net/softnet_stat`: the per-CPU backlog's drops,
/// machine-wide, not the namespace's).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters(BTreeMap<String, u64>);

/// The `/proc/net/dev` fields kept, by column (after the interface name).
const DEV_FIELDS: [(usize, &str); 8] = [
    (1, "rx_packets"),
    (2, "rx_errors"),
    (3, "rx_dropped"),
    (4, "rx_fifo"),
    (9, "tx_packets"),
    (10, "tx_errors"),
    (11, "tx_dropped"),
    (12, "tx_fifo"),
];

/// The `Ip:` fields of `/proc/net/snmp` kept.
const IP_FIELDS: [&str; 7] =
    ["InReceives", "InHdrErrors", "InAddrErrors", "ForwDatagrams", "InDiscards", "OutDiscards", "OutNoRoutes"];

/// The counters that count a packet the kernel dropped, on the way from the
/// device written into to the device read from.
pub const DROP_COUNTERS: [&str; 6] = ["rx_errors", "rx_dropped", "rx_fifo", "tx_errors", "tx_dropped", "tx_fifo"];

impl Counters {
    /// Reads them now, for interfaces `ifs`.
    pub fn read(ifs: &[&str]) -> Result<Counters> {
        let mut c = BTreeMap::new();
        let dev = std::fs::read_to_string("/proc/net/dev").context("reading /proc/net/dev")?;
        for line in dev.lines().skip(2) {
            let Some((name, rest)) = line.split_once(':') else { continue };
            let name = name.trim();
            if !ifs.contains(&name) {
                continue;
            }
            let fields: Vec<u64> = rest.split_whitespace().filter_map(|f| f.parse().ok()).collect();
            for (column, field) in DEV_FIELDS {
                let value = fields.get(column).copied().with_context(|| format!("/proc/net/dev: {line}"))?;
                c.insert(format!("dev:{name}:{field}"), value);
            }
        }
        let snmp = std::fs::read_to_string("/proc/net/snmp").context("reading /proc/net/snmp")?;
        let ip: Vec<&str> = snmp.lines().filter(|l| l.starts_with("Ip:")).collect();
        if let [names, values] = ip[..] {
            for (name, value) in names.split_whitespace().zip(values.split_whitespace()).skip(1) {
                if IP_FIELDS.contains(&name) {
                    c.insert(format!("Ip:{name}"), value.parse().unwrap_or(0));
                }
            }
        }
        let softnet = std::fs::read_to_string("/proc/net/softnet_stat").unwrap_or_default();
        let dropped = softnet
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1).and_then(|d| u64::from_str_radix(d, 16).ok()))
            .sum();
        c.insert("softnet:dropped".into(), dropped);
        Ok(Counters(c))
    }

    /// `self - earlier`, counter by counter.
    pub fn since(&self, earlier: &Counters) -> Counters {
        Counters(
            self.0.iter().map(|(k, v)| (k.clone(), v.saturating_sub(earlier.0.get(k).copied().unwrap_or(0)))).collect(),
        )
    }

    /// One counter (0 when absent).
    pub fn get(&self, key: &str) -> u64 {
        self.0.get(key).copied().unwrap_or(0)
    }

    /// Every packet the namespace's kernel counted as dropped or refused:
    /// the devices' drop and error counters and IP's discards.
    pub fn dropped_in_namespace(&self) -> u64 {
        let dev: u64 = self
            .0
            .iter()
            .filter(|(k, _)| k.starts_with("dev:") && DROP_COUNTERS.iter().any(|d| k.ends_with(d)))
            .map(|(_, v)| v)
            .sum();
        let ip: u64 = ["InHdrErrors", "InAddrErrors", "InDiscards", "OutDiscards", "OutNoRoutes"]
            .iter()
            .map(|f| self.get(&format!("Ip:{f}")))
            .sum();
        dev + ip
    }
}

impl fmt::Display for Counters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
        f.write_str(&shown.join(" "))
    }
}

/// One sample of this process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sample {
    /// `VmRSS` of `/proc/self/status`, KiB.
    pub rss_kib: u64,
    /// Entries of `/proc/self/fd` (the listing's own descriptor included,
    /// the same in every sample).
    pub fds: u64,
}

impl Sample {
    /// Takes one now.
    pub fn now() -> Result<Sample> {
        let status = std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
        let rss_kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .context("no VmRSS in /proc/self/status")?;
        let fds = std::fs::read_dir("/proc/self/fd").context("listing /proc/self/fd")?.count() as u64;
        Ok(Sample { rss_kib, fds })
    }
}

/// Start, peak and end of a run's samples.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    /// When the run started.
    pub start: Sample,
    /// The largest of each, over the run.
    pub peak: Sample,
    /// When it ended.
    pub end: Sample,
    /// How many samples were taken.
    pub samples: u64,
}

/// Samples this process every 20 ms on a thread of its own until stopped.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: thread::JoinHandle<Result<Profile>>,
}

impl Sampler {
    /// Takes the first sample, then starts sampling.
    pub fn start() -> Result<Sampler> {
        let start = Sample::now()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::Builder::new().name("sampler".into()).spawn(move || {
            let mut profile = Profile { start, peak: start, end: start, samples: 1 };
            while !flag.load(Ordering::Relaxed) {
                thread::sleep(Duration::from_millis(20));
                profile.add(Sample::now()?);
            }
            Ok(profile)
        })?;
        Ok(Sampler { stop, thread })
    }

    /// Stops sampling, takes the last sample.
    pub fn stop(self) -> Result<Profile> {
        self.stop.store(true, Ordering::Relaxed);
        let mut profile = self.thread.join().map_err(|_| anyhow::anyhow!("the sampler panicked"))??;
        let end = Sample::now()?;
        profile.add(end);
        profile.end = end;
        Ok(profile)
    }
}

impl Profile {
    fn add(&mut self, s: Sample) {
        self.peak.rss_kib = self.peak.rss_kib.max(s.rss_kib);
        self.peak.fds = self.peak.fds.max(s.fds);
        self.samples += 1;
    }
}
