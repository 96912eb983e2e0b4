//! The device: a utun (macOS) or tun (Linux) interface and the descriptor that
//! carries its packets. Closing the descriptor destroys the interface, with
//! its addresses and routes.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};

use crate::error::{Detail, Error, ErrorKind, Op};
use crate::name::InterfaceName;

use crate::backend::device as imp;

/// A utun (macOS) or tun (Linux) device.
///
/// [`send`](Device::send) and [`recv`](Device::recv) take and give plain IPv4
/// and IPv6 packets on both OSes. On macOS the 4-byte protocol-family header
/// the kernel puts in front of a packet is written and checked by this type,
/// in a separate buffer (`writev`/`recvmsg`); on Linux the device has no such
/// header (`IFF_NO_PI`): one `write` or `read` per packet. Either way packets
/// are never copied and nothing is allocated per packet.
///
/// The descriptor is close-on-exec and owned: dropping the device closes it,
/// which removes the interface.
///
/// ```no_run
/// // Needs root.
/// let dev = utun::Device::new()?;
/// println!("created {} (index {})", dev.name(), dev.index());
/// let mut buf = [0u8; 1500];
/// let n = dev.recv(&mut buf)?; // one IPv4 or IPv6 packet
/// dev.send(&buf[..n])?;
/// # Ok::<(), utun::Error>(())
/// ```
#[derive(Debug)]
pub struct Device {
    fd: OwnedFd,
    name: InterfaceName,
    index: u32,
}

impl Device {
    /// Creates a device with a name the kernel picks (the first free `utunN`
    /// on macOS: `sc_unit` 0; `tunN` on Linux).
    pub fn new() -> Result<Device, Error> {
        Device::create(None)
    }

    /// Creates the device `name`. On macOS it must be `utunN` (asks for unit
    /// N); on Linux it is any [`InterfaceName`] (what the kernel's
    /// `dev_valid_name` accepts, bar the `%` of a template); a name the
    /// crate refuses is [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput),
    /// before the kernel is asked. A name in use is an [`ErrorKind::Busy`](crate::ErrorKind::Busy)
    /// error, never a silent fallback to another name (on Linux a
    /// persistent tun of that name too: see `attach`).
    ///
    /// On macOS a utun is detached asynchronously: just after one is
    /// dropped its unit stays taken for a moment with no interface of that
    /// name left. `with_name` waits for such a unit (up to 2 seconds), so a
    /// device can be created again at once; a unit whose interface still
    /// exists fails at once. (On Linux the old interface is gone when
    /// `close` returns.)
    pub fn with_name(name: &str) -> Result<Device, Error> {
        Device::create(Some(InterfaceName::new(name).map_err(|e| e.with_op(Op::CreateDevice))?))
    }

    /// Linux: attaches to the existing tun interface `name`, such as a
    /// persistent one (`ip tuntap add`, `TUNSETPERSIST`), where
    /// [`with_name`](Device::with_name) would refuse it as busy and make
    /// only new interfaces. The interface is not the device's: closing the
    /// descriptor leaves a persistent interface in place. No interface of
    /// that name is [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) (one
    /// is never made); one that is not a single-queue tun, or has a
    /// descriptor attached already, is refused by the kernel
    /// (`InvalidInput`, `Busy`). The device gets `IFF_NO_PI` framing, as
    /// every device does.
    #[cfg(target_os = "linux")]
    pub fn attach(name: &str) -> Result<Device, Error> {
        let name = InterfaceName::new(name).map_err(|e| e.with_op(Op::CreateDevice))?;
        let index = crate::unix::if_nametoindex(name).map_err(|e| Error::os(Op::CreateDevice, e).on(name))?;
        let fd = imp::attach(name, index)?;
        Ok(Device { fd, name, index })
    }

    fn create(name: Option<InterfaceName>) -> Result<Device, Error> {
        let (fd, name) = imp::create(name)?;
        let index = crate::unix::if_nametoindex(name).map_err(|e| Error::os(Op::QueryDevice, e).on(name))?;
        Ok(Device { fd, name, index })
    }

    /// The interface name (`utun4`, `tun0`).
    pub fn name(&self) -> InterfaceName {
        self.name
    }

    /// The interface index (`if_nametoindex`).
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The interface, for configuration (addresses, MTU, up/down).
    #[cfg(not(target_os = "ios"))]
    pub fn interface(&self) -> crate::Interface {
        crate::Interface::from_parts(self.name, self.index)
    }

    /// Writes one IPv4 or IPv6 packet; returns its length. The IP version
    /// nibble chooses the header; an empty, cut-short, unknown-version or
    /// over-long packet is a typed error and nothing is written.
    #[inline(always)]
    pub fn send(&self, packet: &[u8]) -> Result<usize, Error> {
        imp::send(self.fd.as_fd(), packet).map_err(|e| e.on(self.name))
    }

    /// Reads one packet into `buf`; returns its length. A packet larger than
    /// `buf` is an [`ErrorKind::BufferTooSmall`](crate::ErrorKind::BufferTooSmall)
    /// error (the kernel has dropped it), never a truncated packet. An empty
    /// `buf` is an [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)
    /// error at once, before any system call: nothing is read or dropped,
    /// whether a packet waits or not.
    ///
    /// On Linux, when another program deletes the interface while the
    /// device is open (`ip link delete`), the kernel shuts the device's
    /// queue and wakes its readers (`tun_detach_all` in drivers/net/tun.c):
    /// a blocked `recv` returns at once with `EFAULT` (`tun_ring_recv` on the
    /// shut queue), and every later call fails with `EBADFD` (no interface
    /// attached), both [`ErrorKind::Other`](crate::ErrorKind::Other) with
    /// the errno in [`Error::raw_os_error`]. An async device's waiting
    /// `recv` is woken too (the descriptor polls `EPOLLERR`) and gets
    /// `EBADFD`. Nothing waits forever; the descriptor stays open until the
    /// device is dropped.
    #[inline(always)]
    pub fn recv(&self, buf: &mut [u8]) -> Result<usize, Error> {
        if buf.is_empty() {
            return Err(self.empty_buffer());
        }
        imp::recv(self.fd.as_fd(), buf).map_err(|e| e.on(self.name))
    }

    /// The error of a `recv` into an empty buffer (out of the packet path's way).
    #[cold]
    #[inline(never)]
    fn empty_buffer(&self) -> Error {
        let why = Detail::Static("an empty buffer can hold no packet; nothing was read");
        Error::invalid(Op::Recv, ErrorKind::InvalidInput, why).on(self.name)
    }

    /// Switches non-blocking mode: [`recv`](Device::recv) then fails with
    /// [`ErrorKind::WouldBlock`](crate::ErrorKind::WouldBlock) when nothing waits.
    pub fn set_nonblocking(&self, nonblocking: bool) -> Result<(), Error> {
        crate::unix::set_nonblocking(self.fd.as_fd(), nonblocking)
            .map_err(|e| Error::os(Op::SetDeviceOption, e).on(self.name))
    }

    /// macOS: how many packets the kernel queues for this device before it
    /// drops (`UTUN_OPT_MAX_PENDING_PACKETS`; the kernel's default is small).
    /// Raise it for bursty traffic. 0 is refused (`InvalidInput`).
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    pub fn set_max_pending_packets(&self, packets: u32) -> Result<(), Error> {
        imp::set_max_pending_packets(self.fd.as_fd(), packets)
            .map_err(|e| Error::os(Op::SetDeviceOption, e).on(self.name).about("UTUN_OPT_MAX_PENDING_PACKETS"))
    }

    /// macOS: the current `UTUN_OPT_MAX_PENDING_PACKETS`.
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    pub fn max_pending_packets(&self) -> Result<u32, Error> {
        imp::max_pending_packets(self.fd.as_fd())
            .map_err(|e| Error::os(Op::QueryDevice, e).on(self.name).about("UTUN_OPT_MAX_PENDING_PACKETS"))
    }

    /// Whether the device is in non-blocking mode.
    pub fn is_nonblocking(&self) -> Result<bool, Error> {
        crate::unix::is_nonblocking(self.fd.as_fd()).map_err(|e| Error::os(Op::SetDeviceOption, e).on(self.name))
    }
}

impl AsFd for Device {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Device {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl IntoRawFd for Device {
    fn into_raw_fd(self) -> RawFd {
        self.fd.into_raw_fd()
    }
}

impl From<Device> for OwnedFd {
    fn from(dev: Device) -> OwnedFd {
        dev.fd
    }
}
