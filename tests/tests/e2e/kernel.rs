//! What the kernel reports, read with the real `ip` client (`ip -j`), to
//! check the library's claims against an independent view.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// Runs `ip -j <args>` and parses its JSON.
pub fn ip_json(args: &[&str]) -> Result<Value> {
    let out = Command::new("ip").arg("-j").args(args).output().context("running ip (Debian: iproute2)")?;
    if !out.status.success() {
        bail!("ip -j {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    if text.trim().is_empty() {
        return Ok(Value::Array(Vec::new()));
    }
    serde_json::from_str(&text).with_context(|| format!("parsing ip -j {}: {text}", args.join(" ")))
}

/// `ip -j -s link show dev NAME`, the one object.
pub fn link(name: &str) -> Result<Value> {
    let v = ip_json(&["-s", "link", "show", "dev", name])?;
    v.get(0).cloned().with_context(|| format!("no link {name}"))
}

/// Whether an interface of that name exists.
pub fn link_exists(name: &str) -> Result<bool> {
    let all = ip_json(&["link", "show"])?;
    Ok(all.as_array().into_iter().flatten().any(|l| l["ifname"] == name))
}

/// The interface's flags as `ip` prints them (`UP`, `POINTOPOINT`, ...).
pub fn flags(name: &str) -> Result<Vec<String>> {
    Ok(link(name)?["flags"].as_array().into_iter().flatten().filter_map(|f| f.as_str().map(String::from)).collect())
}

/// Packets the interface has received from the device (what `send` wrote).
pub fn rx_packets(name: &str) -> Result<u64> {
    link(name)?["stats64"]["rx"]["packets"].as_u64().context("no rx packet count")
}

/// Every interface name.
pub fn link_names() -> Result<Vec<String>> {
    let all = ip_json(&["link", "show"])?;
    Ok(all.as_array().into_iter().flatten().filter_map(|l| l["ifname"].as_str().map(String::from)).collect())
}

/// Whether interface `name` is gone within 2 s.
///
/// Closing a device's last descriptor removes its interface at once. But the
/// tests run on several threads, and a child process another test starts
/// (`ping`, `ip`) holds a copy of every descriptor of this process from its
/// fork to its exec (close-on-exec acts only at the exec): while it does, the
/// interface outlives the device's `drop`, for a moment.
pub fn gone_soon(name: &str) -> Result<bool> {
    let deadline = Instant::now() + Duration::from_secs(2);
    while link_exists(name)? {
        if Instant::now() > deadline {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(true)
}

/// Runs `ip <args>` (another program changing the system, as far as the
/// library knows) and fails when it does.
pub fn ip(args: &[&str]) -> Result<()> {
    let out = Command::new("ip").args(args).output().context("running ip (Debian: iproute2)")?;
    if !out.status.success() {
        bail!("ip {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// A route as `ip -j route show` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelRoute {
    /// `dst` (`default`, `10.9.0.0/16`, a host address without its `/32`).
    pub dst: String,
    /// `dev`.
    pub dev: String,
    /// `protocol` (`ip` leaves out `boot`, what `ip route add` sets).
    pub protocol: String,
    /// `metric` (`ip` leaves out 0).
    pub metric: u64,
    /// `gateway`, if any.
    pub gateway: Option<String>,
}

/// Every IPv4 or IPv6 route of the main table.
pub fn routes(v6: bool) -> Result<Vec<KernelRoute>> {
    let v = ip_json(&[if v6 { "-6" } else { "-4" }, "route", "show"])?;
    let text = |r: &Value, key: &str| r[key].as_str().map(String::from);
    Ok(v.as_array()
        .into_iter()
        .flatten()
        .map(|r| KernelRoute {
            dst: text(r, "dst").unwrap_or_default(),
            dev: text(r, "dev").unwrap_or_default(),
            protocol: text(r, "protocol").unwrap_or_else(|| "boot".into()),
            metric: r["metric"].as_u64().unwrap_or(0),
            gateway: text(r, "gateway"),
        })
        .collect())
}

/// The routes to `dst` out of `dev`.
pub fn routes_to(dst: &str, dev: &str) -> Result<Vec<KernelRoute>> {
    let v6 = dst.contains(':');
    Ok(routes(v6)?.into_iter().filter(|r| r.dst == dst && r.dev == dev).collect())
}

/// Deletes the persistent tun `name` (`ip tuntap del`), retrying for 2 s:
/// it is refused while a descriptor is attached to the interface, and a
/// child process another test starts holds a copy of this process's
/// descriptors from its fork to its exec (see [`gone_soon`]).
pub fn tuntap_del(name: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        match ip(&["tuntap", "del", "dev", name, "mode", "tun"]) {
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            done => return done,
        }
    }
}
