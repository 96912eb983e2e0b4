//! `cargo bench -p utun-tests --bench offload_relay`: bytes a second of one
//! TCP stream through two tun devices joined by a relay thread pair (the
//! e2e test `a_tcp_stream_crosses_two_offload_devices_intact_and_gso_is_split`
//! as a measurement), with the Linux offload (`Device::with_offload`:
//! `recv_batch` splits, `send_batch` merges) and without (`Device::new`,
//! non-blocking, `recv_batch` a loop of reads, `send_batch` of writes).
//! Linux, as root, inside network namespaces it creates (never the host's).
//! Prints one line a variant; the figure to read is the ratio.

#[cfg(not(target_os = "linux"))]
fn main() {
    println!("the offload relay benchmark runs on Linux only; nothing to do here");
}

#[cfg(target_os = "linux")]
fn main() {
    if let Err(e) = linux::run() {
        eprintln!("offload relay benchmark: error: {e:#}");
        std::process::exit(1);
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::os::fd::AsRawFd;
    use std::process::Command;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::mpsc;
    use std::thread;
    use std::time::{Duration, Instant};

    use anyhow::{Context, Result, anyhow, ensure};
    use utun::{Device, RecvBatch, SendBatch};
    use utun_tests::netns::Namespace;

    /// Bytes a run sends.
    const TOTAL: usize = 256 << 20;
    const SLOTS: usize = 64;
    const ROUNDS: usize = 3;

    fn ip(args: &[&str]) -> Result<()> {
        let out = Command::new("ip").args(args).output().context("running ip")?;
        ensure!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        Ok(())
    }

    fn device(offload: bool, local: &str, peer: &str) -> Result<Device> {
        let dev = if offload { Device::with_offload(None)? } else { Device::new()? };
        dev.set_nonblocking(true)?;
        let name = dev.name().to_string();
        ip(&["addr", "add", local, "peer", peer, "dev", &name])?;
        ip(&["link", "set", &name, "up"])?;
        Ok(dev)
    }

    fn readable(dev: &Device) -> bool {
        let mut pfd = libc::pollfd { fd: dev.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd, its count 1, a bounded timeout.
        unsafe { libc::poll(&mut pfd, 1, 100) > 0 }
    }

    fn relay(from: &Device, to: &Device, stop: &AtomicBool, reads: &AtomicU64) -> Result<()> {
        let mut rx = RecvBatch::new();
        let mut tx = SendBatch::new();
        let mut bufs = vec![vec![0u8; 2048]; SLOTS];
        let mut sizes = [0usize; SLOTS];
        while !stop.load(Ordering::Relaxed) {
            if !readable(from) {
                continue;
            }
            let n = match from.recv_batch(&mut rx, &mut bufs, &mut sizes) {
                Ok(n) => n,
                Err(e) if e.is_would_block() => continue,
                Err(e) => return Err(e.into()),
            };
            reads.fetch_add(1, Ordering::Relaxed);
            // One small allocation a batch, the same for both variants.
            let out: Vec<&[u8]> = bufs.iter().zip(&sizes).take(n).map(|(b, &len)| &b[..len]).collect();
            to.send_batch(&mut tx, &out)?;
        }
        Ok(())
    }

    /// One run: seconds for [`TOTAL`] bytes, and the relay's reads.
    fn once(offload: bool) -> Result<(f64, u64)> {
        let a = device(offload, "10.77.0.1", "10.77.0.2")?;
        let (dev_tx, dev_rx) = mpsc::channel::<(Device, SocketAddr)>();
        let receiver = thread::spawn(move || {
            Namespace::new().run_within(Duration::from_secs(120), move || {
                let b = device(offload, "10.77.0.2", "10.77.0.1")?;
                let listener = TcpListener::bind("10.77.0.2:0")?;
                dev_tx.send((b, listener.local_addr()?)).map_err(|_| anyhow!("gone"))?;
                let (mut conn, _) = listener.accept()?;
                let mut buf = vec![0u8; 1 << 18];
                let mut got = 0usize;
                loop {
                    let n = conn.read(&mut buf)?;
                    if n == 0 {
                        break Ok(got);
                    }
                    got += n;
                }
            })
        });
        let (b, addr) = dev_rx.recv_timeout(Duration::from_secs(10))?;
        let (a, b) = (Arc::new(a), Arc::new(b));
        let stop = Arc::new(AtomicBool::new(false));
        let reads = Arc::new(AtomicU64::new(0));
        let spawn = |from: &Arc<Device>, to: &Arc<Device>| {
            let (from, to, stop, reads) = (from.clone(), to.clone(), stop.clone(), reads.clone());
            thread::spawn(move || relay(&from, &to, &stop, &reads))
        };
        let relays = [spawn(&a, &b), spawn(&b, &a)];
        let chunk = vec![0x5au8; 1 << 20];
        let start = Instant::now();
        let sent = (|| -> Result<()> {
            let mut conn = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
            for _ in 0..TOTAL / chunk.len() {
                conn.write_all(&chunk)?;
            }
            conn.shutdown(std::net::Shutdown::Write)?;
            Ok(())
        })();
        let got = receiver.join().map_err(|_| anyhow!("receiver panicked"))?;
        let secs = start.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        for r in relays {
            r.join().map_err(|_| anyhow!("relay panicked"))??;
        }
        sent?;
        ensure!(got? == TOTAL, "bytes lost");
        Ok((secs, reads.load(Ordering::Relaxed)))
    }

    pub fn run() -> Result<()> {
        Namespace::new().enter_process().context("a network namespace for the benchmark")?;
        let mut best = [f64::MAX; 2];
        for round in 0..ROUNDS {
            for (i, offload) in [false, true].into_iter().enumerate() {
                let (secs, reads) = once(offload)?;
                best[i] = best[i].min(secs);
                println!(
                    "round {round} offload={offload}: {:.1} MB/s ({TOTAL} bytes in {secs:.3} s, {reads} relay reads)",
                    TOTAL as f64 / secs / 1e6
                );
            }
        }
        let rate = best.map(|s| TOTAL as f64 / s / 1e6);
        println!(
            "best: without offload {:.1} MB/s, with offload {:.1} MB/s, ratio {:.2}",
            rate[0],
            rate[1],
            rate[1] / rate[0]
        );
        Ok(())
    }
}
