//! Threads kept on a CPU of their own.

use std::io;
use std::sync::OnceLock;

use anyhow::{Context, Result};

/// The CPUs the process may run on, as it started ([`init`]).
static CPUS: OnceLock<Vec<usize>> = OnceLock::new();

/// Notes the CPUs the calling thread may run on: call it before any thread
/// is pinned (a thread inherits its creator's narrowed set).
pub fn init() -> Result<()> {
    // SAFETY: a zeroed cpu_set_t is an empty set; sched_getaffinity writes at
    // most its size into it.
    let mut allowed: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: pid 0 is the calling thread; the set and its size are valid.
    if unsafe { libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut allowed) } != 0 {
        return Err(io::Error::last_os_error()).context("sched_getaffinity");
    }
    // SAFETY: CPU_ISSET reads the set at an index below CPU_SETSIZE.
    let cpus = (0..libc::CPU_SETSIZE as usize).filter(|&c| unsafe { libc::CPU_ISSET(c, &allowed) }).collect();
    let _ = CPUS.set(cpus);
    Ok(())
}

/// Keeps the calling thread on the `n`-th CPU the process could run on.
pub fn pin(n: usize) -> Result<()> {
    let cpus = CPUS.get().context("cpu::init was not called")?;
    let cpu = *cpus.get(n).with_context(|| format!("fewer than {} CPUs to run on", n + 1))?;
    // SAFETY: as above, an empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu` is below CPU_SETSIZE.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: pid 0 is the calling thread; the set and its size are valid.
    if unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) } != 0 {
        return Err(io::Error::last_os_error()).context("sched_setaffinity");
    }
    Ok(())
}
