//! What both backends share when they check a descriptor from elsewhere
//! ([`Device::from_fd`](crate::Device::from_fd),
//! [`Device::borrow_fd`](crate::Device::borrow_fd)): the error that says what
//! a wrong descriptor is instead (a regular file, a character device, an
//! IPv4 datagram socket, no open descriptor at all). The checks themselves
//! are the backends' (`backend::device::identify`): `TUNGETIFF` on Linux,
//! `getpeername` and `CTLIOCGINFO` on macOS.

use std::io;
use std::os::fd::{AsRawFd as _, BorrowedFd};

use rustix::fs::FileType;
use rustix::net::SocketType;

use crate::error::{Detail, Error, ErrorKind, Op};

/// The error for a descriptor that is not a device: `InvalidInput`, naming
/// what the descriptor is (as [`describe`] finds), with `err`, the failure of
/// the backend's check, as the source. `expected` says what it should have
/// been ("a tun device").
#[cold]
pub(crate) fn not_a_device(fd: BorrowedFd<'_>, err: io::Error, expected: &str) -> Error {
    if err.raw_os_error() == Some(libc::EBADF) {
        return closed(err);
    }
    let what = match describe(fd) {
        Ok(what) => what,
        Err(e) if e.raw_os_error() == Some(libc::EBADF) => return closed(err),
        Err(_) => String::from("a descriptor of unknown kind"),
    };
    Error::os(Op::AdoptDevice, err)
        .with_kind(ErrorKind::InvalidInput)
        .because(Detail::Text(format!("{what}, not {expected}").into_boxed_str()))
}

/// The error for an open descriptor the backend's check found to be
/// something else, with no OS error: `InvalidInput`, naming what it is.
#[cold]
#[cfg_attr(target_os = "linux", allow(dead_code))]
pub(crate) fn is_not(fd: BorrowedFd<'_>, expected: &str) -> Error {
    let what = describe(fd).unwrap_or_else(|_| String::from("a descriptor of unknown kind"));
    wrong(format!("{what}, not {expected}"))
}

/// A descriptor that is something else, as `why` says (no OS error).
#[cold]
pub(crate) fn wrong(why: String) -> Error {
    Error::invalid(Op::AdoptDevice, ErrorKind::InvalidInput, Detail::Text(why.into_boxed_str()))
}

/// A descriptor of the right kind in a state that is no device (`why`),
/// with `err`, the refusal, as the source.
#[cold]
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) fn not_attached(err: io::Error, why: &'static str) -> Error {
    Error::os(Op::AdoptDevice, err).with_kind(ErrorKind::InvalidInput).because(Detail::Static(why))
}

/// No open descriptor of that number (`EBADF`).
#[cold]
fn closed(err: io::Error) -> Error {
    Error::os(Op::AdoptDevice, err).with_kind(ErrorKind::InvalidInput).because(Detail::Static("not an open descriptor"))
}

/// What the descriptor is, in words: its file type from `fstat`, a socket's
/// family (`getsockname`) and type (`SO_TYPE`), and on Linux the path
/// `/proc/self/fd` names for anything but a socket.
pub(crate) fn describe(fd: BorrowedFd<'_>) -> io::Result<String> {
    let stat = rustix::fs::fstat(fd)?;
    let kind = match FileType::from_raw_mode(stat.st_mode as _) {
        FileType::Socket => return Ok(describe_socket(fd)),
        FileType::RegularFile => "a regular file",
        FileType::Directory => "a directory",
        FileType::Symlink => "a symbolic link",
        FileType::Fifo => "a pipe or FIFO",
        FileType::CharacterDevice => "a character device",
        FileType::BlockDevice => "a block device",
        _ => "a descriptor of unknown kind",
    };
    Ok(match path(fd) {
        Some(path) => format!("{kind} ({path})"),
        None => kind.to_string(),
    })
}

/// The path a descriptor was opened with, where the OS says (Linux's
/// `/proc/self/fd`).
fn path(fd: BorrowedFd<'_>) -> Option<String> {
    if cfg!(target_os = "linux") {
        let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()?;
        Some(link.to_string_lossy().into_owned())
    } else {
        None
    }
}

/// "an IPv4 datagram socket", "a Unix-domain stream socket", ...
fn describe_socket(fd: BorrowedFd<'_>) -> String {
    let family = rustix::net::getsockname(fd).ok().map(|a| u32::from(a.address_family().as_raw()));
    let family = match family {
        Some(f) if f == libc::AF_INET as u32 => "an IPv4",
        Some(f) if f == libc::AF_INET6 as u32 => "an IPv6",
        Some(f) if f == libc::AF_UNIX as u32 => "a Unix-domain",
        Some(f) => crate::backend::device::family_name(f).unwrap_or("an other-family"),
        None => "a",
    };
    let ty = match rustix::net::sockopt::socket_type(fd) {
        Ok(SocketType::DGRAM) => "datagram",
        Ok(SocketType::STREAM) => "stream",
        Ok(SocketType::RAW) => "raw",
        Ok(SocketType::SEQPACKET) => "seqpacket",
        _ => "other-type",
    };
    format!("{family} {ty} socket")
}
