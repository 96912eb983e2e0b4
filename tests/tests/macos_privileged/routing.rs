//! The routing socket on a busy Mac: the guard's sockets kept open while
//! another process floods the routing socket, two route tables and the
//! guard at once, a forked child, and a namesake route the guard must leave
//! alone. Every call that could hang runs under a bound ([`within`]), so a
//! hang fails the test instead of stalling the run.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use utun::{ErrorKind, InterfaceAddress, InterfaceName, IpNet, Route, RouteTable, TunBuilder};

use super::{builder, ip, tool};

/// Runs `f` on a thread of its own and waits at most `limit` for it.
fn within<T: Send + 'static>(limit: Duration, what: &str, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit).map_err(|_| anyhow!("{what} did not return within {limit:?}"))
}

/// Whether `netstat -rn` shows a route to `dest` (as netstat writes it,
/// e.g. `10.9/16`) out of `name`.
fn netstat_route(dest: &str, name: InterfaceName) -> Result<bool> {
    let (_, routes) = tool("netstat", &["-rn"])?;
    Ok(routes.lines().any(|l| l.split_whitespace().next() == Some(dest) && l.contains(name.as_str())))
}

/// Another process sending routing messages as fast as a shell can: each
/// `route -n get` writes an `RTM_GET` whose answer every routing socket on
/// the system receives (XNU `raw_input`), ours included.
struct Flood {
    child: Child,
    sent: Arc<AtomicUsize>,
}

impl Flood {
    fn start() -> Result<Flood> {
        let mut child = Command::new("sh")
            .args(["-c", "while :; do route -n get 127.0.0.1 >/dev/null 2>&1; printf .; done"])
            .stdout(Stdio::piped())
            .spawn()
            .context("starting the flood")?;
        let mut out = child.stdout.take().context("the flood's stdout")?;
        let sent = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&sent);
        thread::spawn(move || {
            let mut buf = [0u8; 256];
            while let Ok(n @ 1..) = out.read(&mut buf) {
                counter.fetch_add(n, Ordering::Relaxed);
            }
        });
        Ok(Flood { child, sent })
    }

    /// Waits until it has sent `n` messages (at most 60 s).
    fn wait_for(&self, n: usize) -> Result<()> {
        let started = Instant::now();
        while self.sent.load(Ordering::Relaxed) < n {
            let sent = self.sent.load(Ordering::Relaxed);
            ensure!(started.elapsed() < Duration::from_secs(60), "the flood sent only {sent} of {n} messages in 60 s");
            thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        // The shell this test started, by its pid; its last `route` exits by itself.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
#[ignore = "needs root on macOS"]
fn a_guard_kept_while_another_process_floods_the_routing_socket_undoes_in_time() -> Result<()> {
    let tun = builder()?.build()?;
    let name = tun.name();
    ensure!(netstat_route("10.9/16", name)?, "the route is not there to begin with");
    let flood = Flood::start()?;
    // Far more than the RAWRCVQ (8 KiB) of routing messages the guard's
    // sockets can queue: each answer is well over 100 bytes.
    flood.wait_for(500)?;
    let (device, cleanup) = tun.into_parts();
    let started = Instant::now();
    let undone = within(Duration::from_secs(30), "undoing the guard under the flood", move || cleanup.undo())?;
    let took = started.elapsed();
    drop(flood);
    let undone = undone.map_err(|e| anyhow!("{e}"))?;
    ensure!(undone.skipped().is_empty(), "skipped: {:?}", undone.skipped());
    ensure!(took < Duration::from_secs(10), "undoing took {took:?}");
    // The interface is still there: the guard removed the routes itself.
    ensure!(!netstat_route("10.9/16", name)?, "10.9/16 through {name} is still there");
    ensure!(!netstat_route("fd09::/64", name)?, "fd09::/64 through {name} is still there");
    drop(device);
    Ok(())
}

#[test]
#[ignore = "needs root on macOS"]
fn two_route_tables_and_the_guard_at_once_each_get_their_own_answers() -> Result<()> {
    let mut tun = builder()?.build()?;
    let (name, index) = (tun.name(), tun.index());
    let ask = |destination: &'static str, want: fn(u32, u32) -> bool| {
        thread::spawn(move || -> Result<()> {
            let mut table = RouteTable::open()?;
            for i in 0..300 {
                let entry = table.get(ip(destination))?;
                ensure!(want(entry.interface_index, index), "answer {i} for {destination}: {entry:?}");
            }
            Ok(())
        })
    };
    let (ours, loopback) = (ask("10.9.1.1", |got, tun| got == tun), ask("127.0.0.1", |got, tun| got != tun));
    // Meanwhile the guard adds a route of its own.
    tun.cleanup().add_route(Route::through_interface("10.10.0.0/16".parse::<IpNet>()?, name))?;
    for (what, asker) in [("10.9.1.1", ours), ("127.0.0.1", loopback)] {
        let done = within(Duration::from_secs(60), what, move || asker.join())?;
        done.map_err(|_| anyhow!("the lookups of {what} panicked"))??;
    }
    let (device, cleanup) = tun.into_parts();
    let undone = within(Duration::from_secs(10), "undoing the guard", move || cleanup.undo())?;
    undone.map_err(|e| anyhow!("{e}"))?;
    for dest in ["10.9/16", "10.10/16"] {
        ensure!(!netstat_route(dest, name)?, "{dest} through {name} is still there");
    }
    drop(device);
    Ok(())
}

/// Waits at most `limit` for child `pid` to exit; kills it (by its pid) if
/// it does not. Returns its exit status.
fn wait_child(pid: libc::pid_t, limit: Duration) -> Result<i32> {
    let started = Instant::now();
    loop {
        let mut status = 0;
        // SAFETY: waitpid on our own child, with a valid status pointer.
        let done = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        ensure!(done >= 0, "waitpid: {}", std::io::Error::last_os_error());
        if done == pid {
            ensure!(libc::WIFEXITED(status), "the child died: status {status}");
            return Ok(libc::WEXITSTATUS(status));
        }
        if started.elapsed() > limit {
            // SAFETY: kill and reap our own child, by its pid.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            bail!("the child did not finish within {limit:?}: it hung on the routing socket");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
#[ignore = "needs root on macOS"]
fn a_forked_child_uses_its_parents_route_table() -> Result<()> {
    let tun = builder()?.build()?;
    let (name, index) = (tun.name(), tun.index());
    let mut table = RouteTable::open()?;
    ensure!(table.get(ip("10.9.1.1"))?.interface_index == index);
    let extra = Route::through_interface("10.11.0.0/16".parse::<IpNet>()?, name);
    // SAFETY: fork(2). The child uses only the library (macOS's malloc is
    // made safe across fork by libSystem's atfork handlers) and leaves with
    // _exit, running no destructor of the parent's state.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let code = match table.get(ip("10.9.1.1")) {
            Ok(entry) if entry.interface_index != index => 2,
            Err(_) => 3,
            Ok(_) => match table.add(&extra).and_then(|()| table.delete(&extra)) {
                Ok(()) => 0,
                Err(_) => 4,
            },
        };
        // SAFETY: ends the child at once.
        unsafe { libc::_exit(code) };
    }
    ensure!(pid > 0, "fork: {}", std::io::Error::last_os_error());
    let code = wait_child(pid, Duration::from_secs(20))?;
    ensure!(code == 0, "the child failed at step {code} (2: wrong answer, 3: lookup, 4: add or delete)");
    ensure!(!netstat_route("10.11/16", name)?, "the child's route is still there");
    // The parent's table still answers, matched to the parent.
    ensure!(table.get(ip("10.9.1.1"))?.interface_index == index);
    drop(tun);
    Ok(())
}

#[test]
#[ignore = "needs root on macOS"]
fn the_guard_leaves_a_namesake_route_alone() -> Result<()> {
    let tun = builder()?.build()?;
    let other =
        TunBuilder::new().address(InterfaceAddress::new(ip("10.0.1.1"), 32)?.with_peer(ip("10.0.1.2"))?).build()?;
    let dest: IpNet = "10.9.0.0/16".parse()?;
    let mut table = RouteTable::open()?;
    // Since the guard added it, its route went, and another's took its place.
    table.delete(&Route::through_interface(dest, tun.name()))?;
    table.add(&Route::through_interface(dest, other.name()))?;
    let (device, cleanup) = tun.into_parts();
    let undone = within(Duration::from_secs(10), "undoing the guard", move || cleanup.undo())?;
    let undone = undone.map_err(|e| anyhow!("{e}"))?;
    let skipped = undone.skipped().iter().find(|e| e.to_string().contains("10.9.0.0/16"));
    let skipped = skipped.with_context(|| format!("the route step was not skipped: {:?}", undone.skipped()))?;
    ensure!(skipped.kind() == ErrorKind::NotFound, "{skipped}");
    ensure!(skipped.to_string().contains("someone else's"), "{skipped}");
    ensure!(table.get(ip("10.9.1.1"))?.interface_index == other.index(), "the namesake is gone");
    let (_, get) = tool("route", &["-n", "get", "10.9.1.1"])?;
    ensure!(get.contains(&format!("interface: {}", other.name())), "route -n get 10.9.1.1:\n{get}");
    drop(device);
    drop(other);
    Ok(())
}
