//! The facts a benchmark report states about where it was measured: the
//! date, the CPU, the kernel and its mitigations, the compiler, and the
//! locked versions of what utun is compared with.

use std::path::Path;

/// What the numbers were measured on.
pub fn machine(root: &Path) -> Vec<(&'static str, String)> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_string()))
        .unwrap_or_else(|| "unknown".into());
    // Counted from /proc/cpuinfo (the benchmark pins its thread to one CPU).
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
        ("tun-rs", locked_version(root, "tun-rs")),
        ("tokio", locked_version(root, "tokio")),
    ]
}

/// A package's version in the workspace's Cargo.lock.
fn locked_version(root: &Path, package: &str) -> String {
    let lock = root.join("Cargo.lock");
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
