//! Privilege separation: a root process creates and configures the device,
//! and hands its descriptor to a process running as `nobody`, which adopts
//! it (`utun::Device::from_fd`) and answers the real `ping`.
//!
//! ```text
//! sudo target/debug/examples/privsep
//! ```
//!
//! * The parent (root): on Linux it first moves into a network namespace it
//!   creates (and refuses to run when it cannot: nothing it sends can leave
//!   it); on macOS it uses a point-to-point utun whose peer is the only
//!   address pinged. It builds the device (10.0.0.1 peer 10.0.0.2, up),
//!   starts the child (this program again, `--serve UID GID`) with one end
//!   of a Unix socket pair as its standard input, sends the descriptor over
//!   it (`utun::send_fd`), runs `ping -c 3 10.0.0.2` and checks every
//!   request was answered. Closing its end of the socket tells the child to
//!   stop.
//! * The child drops to the user and group it was given (`setgroups`,
//!   `setgid`, `setuid`, and checks they cannot be regained), shows that it
//!   can no longer create a device, receives the descriptor
//!   (`utun::recv_fd`), adopts it and answers echo requests until the
//!   socket closes.
//!
//! It exits non-zero when any step fails; the end-to-end tests (Linux) and
//! the macOS privileged tests run it.

use std::ffi::CStr;
use std::io::{BufRead, BufReader, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use utun::{Device, ErrorKind, InterfaceAddress, TunBuilder};

/// The user the child runs as.
const USER: &CStr = c"nobody";
/// The device's address, and its peer, which the ping goes to.
const LOCAL: &str = "10.0.0.1";
const PEER: &str = "10.0.0.2";
/// How many echo requests the ping sends.
const COUNT: u64 = 3;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1).map(String::as_str) {
        Some("--serve") => serve(&args[2..]),
        None => parent(),
        Some(other) => Err(anyhow::anyhow!("unknown argument {other}; run it with no argument (as root)")),
    };
    if let Err(e) = result {
        eprintln!("privsep: {e:#}");
        std::process::exit(1);
    }
}

/// The root half.
fn parent() -> Result<()> {
    // SAFETY: geteuid takes nothing and cannot fail.
    ensure!(unsafe { libc::geteuid() } == 0, "the parent needs root (run it with sudo)");
    #[cfg(target_os = "linux")]
    {
        utun_tests::netns::Namespace::new().enter_process()?;
        println!("parent: in a new network namespace; nothing sent here can leave it");
    }
    let (uid, gid) = user_ids(USER)?;
    let address = InterfaceAddress::new(LOCAL.parse()?, 32)?.with_peer(PEER.parse()?)?;
    let tun = TunBuilder::new().address(address).build().context("creating the device")?;
    println!("parent: created {} (index {}), {LOCAL} peer {PEER}", tun.name(), tun.index());

    let (here, there) = UnixStream::pair().context("a socket pair")?;
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--serve", &uid.to_string(), &gid.to_string()])
        .stdin(Stdio::from(OwnedFd::from(there)))
        .stdout(Stdio::piped())
        .spawn()
        .context("starting the child")?;
    let result = talk_to(&mut child, &here, tun.device());
    // Closing the socket tells the child to stop; it is ended by its handle
    // if it has not within 10 s.
    drop(here);
    let status = wait_bounded(&mut child, Duration::from_secs(10))?;
    let rest = child.stdout.take().map(|mut out| {
        let mut text = String::new();
        let _ = out.read_to_string(&mut text);
        text
    });
    print!("{}", rest.unwrap_or_default());
    result?;
    ensure!(status.success(), "the child failed: {status}");
    println!("parent: every echo request answered by the unprivileged child; closing the device");
    Ok(())
}

/// Hands the descriptor to the child, waits for it to say it adopted it, and pings.
fn talk_to(child: &mut Child, socket: &UnixStream, device: &Device) -> Result<()> {
    utun::send_fd(socket, device).context("sending the descriptor")?;
    println!("parent: sent the descriptor of {} to the child (pid {})", device.name(), child.id());
    let out = child.stdout.as_mut().context("the child's output")?;
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line).context("reading the child's first line")?;
    print!("{line}");
    ensure!(line.contains("adopted"), "the child did not adopt the device");
    ping()
}

/// `ping -c COUNT PEER`; every request must be answered.
fn ping() -> Result<()> {
    let mut cmd = Command::new("ping");
    cmd.args(["-c", &COUNT.to_string(), "-i", "0.2"]);
    if cfg!(target_os = "linux") {
        cmd.args(["-W", "2"]);
    } else {
        cmd.args(["-t", "10"]);
    }
    let out = cmd.arg(PEER).output().context("running ping")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let summary = text.lines().find(|l| l.contains("packets transmitted")).unwrap_or_default();
    println!("parent: ping {PEER}: {summary}");
    let all = [format!("{COUNT} received,"), format!("{COUNT} packets received,")];
    ensure!(
        out.status.success() && all.iter().any(|a| summary.contains(a.as_str())),
        "not every echo request was answered:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// Waits for the child for at most `limit`, then ends it (it is ours, by its handle).
fn wait_bounded(child: &mut Child, limit: Duration) -> Result<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            child.kill()?;
            child.wait()?;
            bail!("the child did not stop within {} s of its socket closing", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The unprivileged half: `--serve UID GID`, the socket on standard input.
fn serve(args: &[String]) -> Result<()> {
    let [uid, gid] = args else { bail!("--serve takes a uid and a gid") };
    drop_privileges(uid.parse()?, gid.parse()?)?;
    // SAFETY: getuid and geteuid take nothing and cannot fail.
    let (ruid, euid) = unsafe { (libc::getuid(), libc::geteuid()) };
    ensure!(ruid != 0 && euid != 0, "still root after dropping privileges");
    // What the child cannot do any more: create a device.
    match Device::new() {
        Err(e) if e.kind() == ErrorKind::PermissionDenied => {}
        other => bail!("as uid {euid}, creating a device should be refused; got {other:?}"),
    }
    let socket = UnixStream::from(std::io::stdin().as_fd().try_clone_to_owned()?);
    let dev = Device::from_fd(utun::recv_fd(&socket).context("receiving the descriptor")?)
        .context("adopting the descriptor")?;
    println!(
        "child: adopted {} (index {}) as uid {euid} (creating a device: permission denied)",
        dev.name(),
        dev.index()
    );
    // Stop when the parent closes its end of the socket.
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let _ = (&socket).read(&mut [0u8; 1]);
            stop.store(true, Ordering::Relaxed);
        });
    }
    let served = utun_tests::echo::serve(&dev, &stop)?;
    println!("child: answered {} echo requests on {}", served.answered, dev.name());
    ensure!(served.answered >= COUNT, "answered {} echo requests, expected {COUNT}", served.answered);
    Ok(())
}

/// The uid and gid of `user` (`getpwnam`).
fn user_ids(user: &CStr) -> Result<(libc::uid_t, libc::gid_t)> {
    // SAFETY: a NUL-terminated name; the result, when not null, points at a
    // record valid until the next getpwnam, read at once (one thread here).
    let entry = unsafe { libc::getpwnam(user.as_ptr()) };
    ensure!(!entry.is_null(), "no user {user:?} on this system");
    // SAFETY: non-null, as just checked.
    let entry = unsafe { &*entry };
    Ok((entry.pw_uid, entry.pw_gid))
}

/// Becomes `uid`/`gid` with no supplementary groups, for good: the order
/// matters (groups and gid while still root), and regaining root must fail.
fn drop_privileges(uid: libc::uid_t, gid: libc::gid_t) -> Result<()> {
    // SAFETY: plain id changes with integer arguments; setgroups with no groups.
    unsafe {
        ensure!(libc::setgroups(0, std::ptr::null()) == 0, "setgroups: {}", std::io::Error::last_os_error());
        ensure!(libc::setgid(gid) == 0, "setgid({gid}): {}", std::io::Error::last_os_error());
        ensure!(libc::setuid(uid) == 0, "setuid({uid}): {}", std::io::Error::last_os_error());
        ensure!(libc::setuid(0) != 0, "root could be regained after setuid({uid})");
    }
    Ok(())
}
