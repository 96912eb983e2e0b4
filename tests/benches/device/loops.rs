//! The steady-state loops the variants time: one packet written into tunA
//! and the forwarded one read back from tunB, `n` times, by each API.

use std::hint::black_box;
use std::os::fd::RawFd;

use anyhow::{Result, ensure};

use crate::raw;

/// A read that did not return the one packet written.
fn wrong_length(got: usize, want: usize) -> anyhow::Error {
    anyhow::anyhow!("read a {got}-byte packet where a {want}-byte one was forwarded (a stray packet?)")
}

/// `write(2)` through glibc, or as a direct system call when `DIRECT`.
#[inline(always)]
fn write<const DIRECT: bool>(fd: RawFd, buf: &[u8]) -> std::io::Result<usize> {
    if DIRECT { raw::write_direct(fd, buf) } else { raw::write(fd, buf) }
}

/// `read(2)` through glibc, or as a direct system call when `DIRECT`.
#[inline(always)]
fn read<const DIRECT: bool>(fd: RawFd, buf: &mut [u8]) -> std::io::Result<usize> {
    if DIRECT { raw::read_direct(fd, buf) } else { raw::read(fd, buf) }
}

/// The raw blocking loop: `write` into `a`, `read` from `b`.
pub fn raw_blocking_loop<const DIRECT: bool>(a: RawFd, b: RawFd, frame: &[u8], buf: &mut [u8], n: usize) -> Result<()> {
    for _ in 0..n {
        let w = write::<DIRECT>(a, black_box(frame))?;
        ensure!(w == frame.len(), "short write");
        let r = read::<DIRECT>(b, buf)?;
        if r != frame.len() {
            return Err(wrong_length(r, frame.len()));
        }
    }
    Ok(())
}

/// The non-blocking loop; `wait(fd, events)` waits after `EAGAIN`.
pub fn raw_nonblocking_loop<const DIRECT: bool>(
    a: RawFd,
    b: RawFd,
    frame: &[u8],
    buf: &mut [u8],
    n: usize,
    wait: impl Fn(RawFd, libc::c_short) -> std::io::Result<()>,
) -> Result<()> {
    for _ in 0..n {
        let w = loop {
            match write::<DIRECT>(a, black_box(frame)) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => wait(a, libc::POLLOUT)?,
                other => break other?,
            }
        };
        ensure!(w == frame.len(), "short write");
        let r = loop {
            match read::<DIRECT>(b, buf) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => wait(b, libc::POLLIN)?,
                other => break other?,
            }
        };
        if r != frame.len() {
            return Err(wrong_length(r, frame.len()));
        }
    }
    Ok(())
}

/// `utun::Device::send` into `a`, `recv` from `b`.
pub fn utun_sync_loop(a: &utun::Device, b: &utun::Device, packet: &[u8], buf: &mut [u8], n: usize) -> Result<()> {
    for _ in 0..n {
        a.send(black_box(packet))?;
        let r = b.recv(buf)?;
        if r != packet.len() {
            return Err(wrong_length(r, packet.len()));
        }
    }
    Ok(())
}

/// `utun::AsyncDevice::send` into `a`, `recv` from `b`.
pub async fn utun_tokio_loop(
    a: &utun::AsyncDevice,
    b: &utun::AsyncDevice,
    packet: &[u8],
    buf: &mut [u8],
    n: usize,
) -> Result<()> {
    for _ in 0..n {
        a.send(black_box(packet)).await?;
        let r = b.recv(buf).await?;
        if r != packet.len() {
            return Err(wrong_length(r, packet.len()));
        }
    }
    Ok(())
}

/// tun-rs `SyncDevice::send` into `a`, `recv` from `b`.
pub fn tun_rs_sync_loop(
    a: &tun_rs::SyncDevice,
    b: &tun_rs::SyncDevice,
    packet: &[u8],
    buf: &mut [u8],
    n: usize,
) -> Result<()> {
    for _ in 0..n {
        a.send(black_box(packet))?;
        let r = b.recv(buf)?;
        if r != packet.len() {
            return Err(wrong_length(r, packet.len()));
        }
    }
    Ok(())
}

/// tun-rs `AsyncDevice::send` into `a`, `recv` from `b`.
pub async fn tun_rs_tokio_loop(
    a: &tun_rs::AsyncDevice,
    b: &tun_rs::AsyncDevice,
    packet: &[u8],
    buf: &mut [u8],
    n: usize,
) -> Result<()> {
    for _ in 0..n {
        a.send(black_box(packet)).await?;
        let r = b.recv(buf).await?;
        if r != packet.len() {
            return Err(wrong_length(r, packet.len()));
        }
    }
    Ok(())
}
