//! The device: a utun (macOS) or tun (Linux) interface and the descriptor that
//! carries its packets. Closing the descriptor destroys the interface, with
//! its addresses and routes.
//!
//! One type, generic over who holds the descriptor: [`Device`] owns it
//! (`Device<OwnedFd>`, the default), [`BorrowedDevice`] borrows it
//! (`Device<BorrowedFd<'fd>>`) and never closes it. The packet path is the
//! same code for both.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};

#[cfg(target_os = "linux")]
use crate::batch::Segmentation;
use crate::batch::{Offload, RecvBatch, SendBatch, SendCursor};
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
/// # Three ways to have one
///
/// * Create it: [`Device::new`], [`Device::with_name`] (root), or
///   [`TunBuilder`](crate::TunBuilder) with its configuration.
/// * Adopt a descriptor made elsewhere, such as one a privileged process
///   handed over ([`recv_fd`](crate::recv_fd)): [`Device::from_fd`] (also
///   `Device::try_from(OwnedFd)`) checks that it really is a utun control
///   socket (macOS) or a tun device with plain IP framing (Linux) and reads
///   the interface's name and index. Any other descriptor is an
///   [`ErrorKind::InvalidInput`] error that says what it is.
/// * Borrow one that belongs to someone else and must not be closed (the
///   descriptor of an iOS Network Extension, of Android's `VpnService`):
///   [`Device::borrow_fd`] makes the same checks and gives a
///   [`BorrowedDevice`], which never closes it.
///
/// # Why one generic type
///
/// `Device<Fd>` is generic over what holds the descriptor: [`OwnedFd`]
/// (`Device`, the default parameter) or [`BorrowedFd`] ([`BorrowedDevice`]).
/// Both have the same `send`, `recv`, name, index and options, through the
/// same code, and both go under an [`AsyncDevice`](crate::AsyncDevice)
/// (feature `tokio`). Whether dropping closes the descriptor is then
/// decided by the type, checked by the compiler (a borrowed device cannot
/// outlive its descriptor), rather than by a flag inside one type that a
/// borrowed descriptor could outlive. The crate makes `Device`s only with
/// those two holders.
///
/// There is no `FromRawFd`: it cannot fail, so it could not check the
/// descriptor.
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
pub struct Device<Fd = OwnedFd> {
    fd: Fd,
    name: InterfaceName,
    index: u32,
    offload: Offload,
}

/// A device over a descriptor it borrows and never closes (see [`Device`]):
/// made by [`Device::borrow_fd`], or by [`Device::as_borrowed`] from a
/// device of one's own. Dropping it leaves the descriptor, and the
/// interface, as they were.
///
/// ```no_run
/// use std::os::fd::AsFd;
///
/// // Needs root. Here the owner is a device of our own; in an iOS Network
/// // Extension or behind Android's VpnService, the system owns it.
/// let owner = utun::Device::new()?;
/// let dev = utun::Device::borrow_fd(owner.as_fd())?; // checked, as from_fd
/// assert_eq!(dev.name(), owner.name());
/// let mut buf = [0u8; 1500];
/// let n = dev.recv(&mut buf)?;
/// dev.send(&buf[..n])?;
/// drop(dev); // the descriptor stays open
/// # Ok::<(), utun::Error>(())
/// ```
pub type BorrowedDevice<'fd> = Device<BorrowedFd<'fd>>;

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
        Ok(Device { fd, name, index, offload: Offload::default() })
    }

    /// Linux: creates a device, as [`new`](Device::new) (`name` `None`) or
    /// [`with_name`](Device::with_name) do, with the kernel's offloads:
    /// opened with `IFF_VNET_HDR` (a `virtio_net_hdr` before each packet on
    /// the descriptor, which the device reads and writes itself), and
    /// `TUNSETOFFLOAD` asking for checksum offload, TCP segmentation offload
    /// (IPv4, IPv6, ECN) and, where the kernel (6.2+) and utun's headers
    /// know it, UDP segmentation offload; a kernel that refuses USO is asked
    /// again without it. [`offload`](Device::offload) tells what was granted.
    ///
    /// The kernel then hands over TCP (and UDP) packets of up to 64 KiB,
    /// which [`recv_batch`](Device::recv_batch) splits into MTU-sized
    /// packets with their checksums, and takes such packets, which
    /// [`send_batch`](Device::send_batch) makes by merging segments of a
    /// flow: far fewer system calls per byte. [`send`](Device::send) and
    /// [`recv`](Device::recv) still move one plain packet (a GSO packet
    /// that `recv` reads is dropped with an
    /// [`ErrorKind::InvalidInput`] error: use `recv_batch` on such a device).
    ///
    /// The interface is multi-queue (`IFF_MULTI_QUEUE`): more descriptors,
    /// read in parallel, come from [`clone_queue`](Device::clone_queue).
    ///
    /// Such a descriptor cannot be adopted ([`from_fd`](Device::from_fd)
    /// refuses `IFF_VNET_HDR`): the offloads granted cannot all be read back.
    ///
    /// ```no_run
    /// // Needs root.
    /// let dev = utun::Device::with_offload(None)?;
    /// assert!(dev.offload().tso);
    /// let mut scratch = utun::RecvBatch::new();
    /// let mut bufs = vec![[0u8; 1500]; 64];
    /// let mut sizes = [0usize; 64];
    /// let n = dev.recv_batch(&mut scratch, &mut bufs, &mut sizes)?;
    /// for (buf, &len) in bufs.iter().zip(&sizes).take(n) {
    ///     println!("{} bytes", buf[..len].len());
    /// }
    /// # Ok::<(), utun::Error>(())
    /// ```
    #[cfg(target_os = "linux")]
    pub fn with_offload(name: Option<&str>) -> Result<Device, Error> {
        let name = name.map(InterfaceName::new).transpose().map_err(|e| e.with_op(Op::CreateDevice))?;
        let (fd, name, offload) = imp::create_offload(name)?;
        let index = crate::unix::if_nametoindex(name).map_err(|e| Error::os(Op::QueryDevice, e).on(name))?;
        Ok(Device { fd, name, index, offload })
    }

    /// Linux: another queue of this offload device's interface
    /// ([`Device::with_offload`] makes it multi-queue, `IFF_MULTI_QUEUE`): a
    /// new descriptor, as a `Device` of its own with the same name, index and
    /// offloads. The kernel spreads the packets it hands over across the
    /// queues by flow (`tun_select_queue`), so one thread a queue reads
    /// in parallel; a packet written to any queue enters the stack. The
    /// interface lives until every queue is closed.
    ///
    /// A device opened without offload is single-queue:
    /// [`ErrorKind::InvalidInput`], before the kernel is asked.
    #[cfg(target_os = "linux")]
    pub fn clone_queue(&self) -> Result<Device, Error> {
        if !self.offload.vnet_hdr {
            let why = Detail::Static("only a device made by Device::with_offload has more queues");
            return Err(Error::invalid(Op::CreateDevice, ErrorKind::InvalidInput, why).on(self.name));
        }
        let fd = imp::add_queue(self.name, self.index)?;
        Ok(Device { fd, name: self.name, index: self.index, offload: self.offload })
    }

    fn create(name: Option<InterfaceName>) -> Result<Device, Error> {
        let (fd, name) = imp::create(name)?;
        let index = crate::unix::if_nametoindex(name).map_err(|e| Error::os(Op::QueryDevice, e).on(name))?;
        Ok(Device { fd, name, index, offload: Offload::default() })
    }

    /// Adopts `fd`, a device descriptor made elsewhere (handed over by a
    /// privileged process, say: see [`recv_fd`](crate::recv_fd)), after
    /// checking that it is one:
    ///
    /// * macOS: a socket connected (`getpeername`) to the utun kernel
    ///   control, whose id `CTLIOCGINFO` gives for `UTUN_CONTROL_NAME`; the
    ///   name from `UTUN_OPT_IFNAME`.
    /// * Linux: a `/dev/net/tun` descriptor attached to a tun interface
    ///   (`TUNGETIFF` gives its name and flags) with the framing this crate
    ///   speaks: `IFF_TUN` with `IFF_NO_PI`, without `IFF_VNET_HDR` (read
    ///   from the link by rtnetlink, `IFLA_TUN_PI`: `TUNGETIFF` cannot tell
    ///   `IFF_NO_PI`). The interface is looked up by name in the calling
    ///   thread's network namespace; one that lives in another namespace is
    ///   [`ErrorKind::NotFound`](crate::ErrorKind::NotFound).
    ///
    /// The index is the interface's (`if_nametoindex`). The descriptor is
    /// made close-on-exec, as every device's is, and is the device's from
    /// now on: dropping the device closes it (which removes the interface,
    /// unless another descriptor keeps it, or on Linux it is persistent).
    ///
    /// Anything else is an [`ErrorKind::InvalidInput`] error whose message
    /// says what the descriptor is ("an IPv4 datagram socket, not a tun
    /// device", "a character device (/dev/null), not ...", "a tap device",
    /// "a tun device without IFF_NO_PI", "not an open descriptor"), and the
    /// descriptor is closed with it: to check one without giving it up, use
    /// [`borrow_fd`](Device::borrow_fd).
    ///
    /// ```no_run
    /// use std::os::fd::OwnedFd;
    ///
    /// // Needs root. A descriptor made elsewhere; here, by this process.
    /// let fd: OwnedFd = utun::Device::new()?.into();
    /// let dev = utun::Device::from_fd(fd)?;
    /// println!("adopted {} (index {})", dev.name(), dev.index());
    /// # Ok::<(), utun::Error>(())
    /// ```
    pub fn from_fd(fd: OwnedFd) -> Result<Device, Error> {
        let dev = Device::check(fd)?;
        rustix::io::fcntl_setfd(&dev.fd, rustix::io::FdFlags::CLOEXEC)
            .map_err(|e| Error::os(Op::AdoptDevice, e.into()).on(dev.name).about("FD_CLOEXEC"))?;
        Ok(dev)
    }

    /// Borrows `fd`, a device descriptor that belongs to someone else, after
    /// the checks [`from_fd`](Device::from_fd) makes (and with its errors).
    /// The [`BorrowedDevice`] never closes the descriptor, and leaves its
    /// flags alone (but for `O_NONBLOCK`, which
    /// [`set_nonblocking`](Device::set_nonblocking) and
    /// [`AsyncDevice::new`](crate::AsyncDevice::new) set on the open file
    /// description the owner shares).
    pub fn borrow_fd(fd: BorrowedFd<'_>) -> Result<BorrowedDevice<'_>, Error> {
        Device::check(fd)
    }

    /// A borrowed device over this device's descriptor, with its name and
    /// index (nothing is checked again).
    pub fn as_borrowed(&self) -> BorrowedDevice<'_> {
        Device { fd: self.fd.as_fd(), name: self.name, index: self.index, offload: self.offload }
    }

    /// macOS, iOS: the first (lowest) descriptor of this process that is a
    /// socket connected to the utun control: the one an iOS (or macOS)
    /// Network Extension's `NEPacketTunnelProvider` made for the tunnel, as
    /// WireGuardKit and Firezone find it. It scans the descriptor numbers
    /// below `getdtablesize()` (at most 65536) with `getpeername`, matching
    /// the control's id from `CTLIOCGINFO`. None is
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound).
    ///
    /// The number is not this crate's, nor the caller's: to use it, see
    /// [`BorrowedDevice::find_tunnel`].
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    pub fn find_tunnel_fd() -> Result<RawFd, Error> {
        imp::find_tunnel_fd()
    }
}

impl<'fd> Device<BorrowedFd<'fd>> {
    /// macOS, iOS: the tunnel descriptor the system made
    /// ([`Device::find_tunnel_fd`]), checked as
    /// [`Device::borrow_fd`] does and borrowed: the device never closes it.
    ///
    /// # Safety
    ///
    /// The descriptor belongs to someone else (the Network Extension
    /// framework): it must stay open, and the same descriptor, for as long as
    /// the returned device (lifetime `'fd`, which the caller picks) is used.
    /// Inside a packet tunnel provider that is while the tunnel runs.
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    pub unsafe fn find_tunnel() -> Result<BorrowedDevice<'fd>, Error> {
        let raw = Device::find_tunnel_fd()?;
        // SAFETY: the caller guarantees the descriptor stays open for 'fd.
        let fd = unsafe { BorrowedFd::borrow_raw(raw) };
        Device::check(fd)
    }
}

impl<Fd: AsFd> Device<Fd> {
    /// The checks of [`Device::from_fd`] and [`Device::borrow_fd`]: the
    /// backend's (what the descriptor is, the interface's name), then the index.
    fn check(fd: Fd) -> Result<Device<Fd>, Error> {
        let name = imp::identify(fd.as_fd())?;
        let index = crate::unix::if_nametoindex(name).map_err(|e| Error::os(Op::AdoptDevice, e).on(name))?;
        Ok(Device { fd, name, index, offload: Offload::default() })
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
    ///
    /// On a Linux offload device ([`Device::with_offload`]) the packet goes
    /// behind a `virtio_net_hdr` that asks for nothing, in one `writev`.
    #[inline(always)]
    pub fn send(&self, packet: &[u8]) -> Result<usize, Error> {
        #[cfg(target_os = "linux")]
        if self.offload.vnet_hdr {
            return imp::send_vnet(self.fd.as_fd(), packet).map_err(|e| e.on(self.name));
        }
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
    /// attached), both [`ErrorKind::NotFound`](crate::ErrorKind::NotFound)
    /// ("the interface is gone") with the errno in [`Error::raw_os_error`]. An async device's waiting
    /// `recv` is woken too (the descriptor polls `EPOLLERR`) and gets
    /// `EBADFD`. Nothing waits forever; the descriptor stays open until the
    /// device is dropped.
    #[inline(always)]
    pub fn recv(&self, buf: &mut [u8]) -> Result<usize, Error> {
        if buf.is_empty() {
            return Err(self.empty_buffer());
        }
        #[cfg(target_os = "linux")]
        if self.offload.vnet_hdr {
            return imp::recv_vnet(self.fd.as_fd(), buf).map_err(|e| e.on(self.name));
        }
        imp::recv(self.fd.as_fd(), buf).map_err(|e| e.on(self.name))
    }

    /// What the kernel does for this device ([`Device::with_offload`] on
    /// Linux); nothing ([`Offload::default`]) for any other device.
    pub fn offload(&self) -> Offload {
        self.offload
    }

    /// Reads the packets that wait, into `bufs` (packet `i` at the start of
    /// `bufs[i]`, its length in `sizes[i]`); returns how many. The first is
    /// waited for as the device's blocking mode says, as [`recv`](Device::recv).
    ///
    /// * Linux offload device ([`Device::with_offload`]): one `read` of what
    ///   the kernel hands over, a plain packet or a GSO packet of up to 64
    ///   KiB, split into MTU-sized packets with every header and checksum
    ///   finished (and a plain packet's checksum the kernel left to finish).
    ///   Too few buffers, or one too short, for its segments is an
    ///   [`ErrorKind::BufferTooSmall`] error, and the packet is lost: give
    ///   as many buffers as 64 KiB makes segments at the MTU (46 at 1500),
    ///   each as large as the MTU.
    /// * Otherwise: one packet, and, when the device is non-blocking (macOS:
    ///   always, `MSG_DONTWAIT`), further packets while they wait and buffers
    ///   remain. An error on a further packet ends the batch (it comes again
    ///   on the next call, or, for a packet too large for its buffer, that
    ///   packet is dropped).
    ///
    /// No allocation once `scratch` has served one batch. No buffer
    /// (`bufs` or `sizes` empty) is [`ErrorKind::InvalidInput`].
    pub fn recv_batch<B: AsMut<[u8]>>(
        &self,
        scratch: &mut RecvBatch,
        bufs: &mut [B],
        sizes: &mut [usize],
    ) -> Result<usize, Error> {
        // The backends get as many buffers as sizes, at least one.
        let slots = bufs.len().min(sizes.len());
        if slots == 0 {
            let why = Detail::Static("no buffer to read into");
            return Err(Error::invalid(Op::Recv, ErrorKind::InvalidInput, why).on(self.name));
        }
        imp::recv_batch(self.fd.as_fd(), self.offload, scratch, &mut bufs[..slots], &mut sizes[..slots])
            .map_err(|e| e.on(self.name))
    }

    /// Writes `packets` (plain IPv4/IPv6 packets, each checked as
    /// [`send`](Device::send) checks it); returns how many (all of them).
    ///
    /// * Linux offload device: TCP segments (and, with [`Offload::uso`], UDP
    ///   datagrams) of one flow that follow each other are merged into one
    ///   GSO packet that the kernel segments again, one `write` a merged
    ///   packet; packets of other flows keep their order within their flow.
    /// * Linux without offload: one [`send`](Device::send) each.
    /// * macOS: `sendmsg_x` (one `send` each where the kernel lacks it),
    ///   called again for the rest when it took fewer than it was given.
    ///
    /// An error stops the batch: the packets before the failing one (or
    /// merged packet) were written, and on an offload device also the later
    /// segments merged into a packet already written. On a non-blocking device a full queue is
    /// such an error ([`ErrorKind::WouldBlock`]); the async device's
    /// [`send_batch`](crate::AsyncDevice::send_batch) waits there and goes
    /// on with the rest instead. No allocation once `scratch` has served a
    /// batch as large.
    pub fn send_batch<B: AsRef<[u8]>>(&self, scratch: &mut SendBatch, packets: &[B]) -> Result<usize, Error> {
        self.send_batch_from(scratch, packets, &mut SendCursor::default())?;
        Ok(packets.len())
    }

    /// [`send_batch`](Device::send_batch) from where `cursor` says, moving
    /// it past what it writes: after an error (a `WouldBlock`), the same call
    /// with the same cursor, scratch and packets writes the rest.
    pub(crate) fn send_batch_from<B: AsRef<[u8]>>(
        &self,
        scratch: &mut SendBatch,
        packets: &[B],
        cursor: &mut SendCursor,
    ) -> Result<(), Error> {
        imp::send_batch(self.fd.as_fd(), self.offload, scratch, packets, cursor).map_err(|e| e.on(self.name))
    }

    /// Linux offload device: reads one packet whole into `buf` (one
    /// `readv`, straight into it, no copy) and says what it is: a plain
    /// packet ([`Segmentation::None`], its checksum finished if the kernel
    /// left it to finish), or a GSO packet of up to 64 KiB, not split, with
    /// its segment size (its transport checksum field holds the
    /// pseudo-header sum: see [`Segmentation`]). For a program that passes
    /// large packets on as they are (to another offload device with
    /// [`send_gso`](Device::send_gso), or to a tunnel that carries them
    /// whole); [`recv_batch`](Device::recv_batch) splits them instead.
    ///
    /// `buf` should hold 64 KiB and the headers (65,575 bytes): a packet
    /// cut short to fit is [`ErrorKind::MalformedPacket`]. A device opened
    /// without offload is [`ErrorKind::InvalidInput`], before any read.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), utun::Error> {
    /// // A relay that moves large packets from one device to another whole.
    /// let (from, to) = (utun::Device::with_offload(None)?, utun::Device::with_offload(None)?);
    /// let mut buf = vec![0u8; 65_575];
    /// loop {
    ///     let (len, segmentation) = from.recv_gso(&mut buf)?;
    ///     to.send_gso(&buf[..len], segmentation)?;
    /// }
    /// # }
    /// ```
    #[cfg(target_os = "linux")]
    pub fn recv_gso(&self, buf: &mut [u8]) -> Result<(usize, Segmentation), Error> {
        self.offload_only(Op::Recv)?;
        imp::recv_gso(self.fd.as_fd(), buf).map_err(|e| e.on(self.name))
    }

    /// Linux offload device: writes `packet` whole, for the kernel to cut
    /// as `segmentation` says (one `writev` from `packet`, no copy): a
    /// plain packet, or a GSO packet of up to 64 KiB whose headers come once
    /// and whose transport checksum field holds the pseudo-header sum of the
    /// whole packet, as [`recv_gso`](Device::recv_gso) hands them over (see
    /// [`Segmentation`]). Returns the packet's length.
    ///
    /// A packet that does not match `segmentation` (a TCP one for
    /// [`Segmentation::Udp`], a segment size of 0, no payload), a UDP GSO
    /// packet the kernel did not grant ([`Offload::uso`]), or a device
    /// opened without offload is [`ErrorKind::InvalidInput`], and nothing is
    /// written.
    #[cfg(target_os = "linux")]
    pub fn send_gso(&self, packet: &[u8], segmentation: Segmentation) -> Result<usize, Error> {
        self.offload_only(Op::Send)?;
        if matches!(segmentation, Segmentation::Udp { .. }) && !self.offload.uso {
            let why = Detail::Static("a UDP GSO packet, and the kernel did not grant USO to this device");
            return Err(Error::invalid(Op::Send, ErrorKind::InvalidInput, why).on(self.name));
        }
        imp::send_gso(self.fd.as_fd(), packet, segmentation).map_err(|e| e.on(self.name))
    }

    /// The error of a whole-GSO-packet call on a device without offload.
    #[cfg(target_os = "linux")]
    fn offload_only(&self, op: Op) -> Result<(), Error> {
        if self.offload.vnet_hdr {
            return Ok(());
        }
        let why = Detail::Static("only a device made by Device::with_offload reads and writes GSO packets");
        Err(Error::invalid(op, ErrorKind::InvalidInput, why).on(self.name))
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
    /// drops (`UTUN_OPT_MAX_PENDING_PACKETS`; the kernel's default is 1,
    /// `utun_ctl_bind` in XNU's bsd/net/if_utun.c). Raise it for bursty
    /// traffic. 0 is refused with
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) before the
    /// kernel sees it; there is no upper bound, but the queue also ends where
    /// the receive buffer ([`recv_buffer_size`](Device::recv_buffer_size))
    /// has no room.
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    pub fn set_max_pending_packets(&self, packets: u32) -> Result<(), Error> {
        let packets = imp::check_max_pending_packets(packets).map_err(|e| e.on(self.name))?;
        imp::set_max_pending_packets(self.fd.as_fd(), packets)
            .map_err(|e| Error::os(Op::SetDeviceOption, e).on(self.name).about("UTUN_OPT_MAX_PENDING_PACKETS"))
    }

    /// macOS: the current `UTUN_OPT_MAX_PENDING_PACKETS`.
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    pub fn max_pending_packets(&self) -> Result<u32, Error> {
        imp::max_pending_packets(self.fd.as_fd())
            .map_err(|e| Error::os(Op::QueryDevice, e).on(self.name).about("UTUN_OPT_MAX_PENDING_PACKETS"))
    }

    /// macOS: sets the receive buffer (`SO_RCVBUF`, bytes): the packets the
    /// kernel has queued for [`recv`](Device::recv) must fit in it, or it
    /// drops the next one (`ctl_enqueuembuf` → `ctl_rcvbspace`, XNU
    /// bsd/kern/kern_control.c). The kernel starts it at 512 KiB
    /// (`ctl_recvsize`, `utun_register_control` in bsd/net/if_utun.c).
    ///
    /// 0 and sizes above a C `int` are
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) before the
    /// kernel sees them. Above the `kern.ipc.maxsockbuf` sysctl the kernel
    /// sets that maximum instead, and refuses (`ENOBUFS`,
    /// [`ErrorKind::Other`](crate::ErrorKind::Other)) only when the buffer is
    /// at that maximum already (`sbreserve`, bsd/kern/uipc_socket2.c): read
    /// the size back to know what was set.
    ///
    /// Linux has no such call: a tun descriptor is a character device, not a
    /// socket, and its queue is counted in packets (`txqueuelen`).
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    pub fn set_recv_buffer_size(&self, bytes: usize) -> Result<(), Error> {
        self.set_buffer_size(imp::Buffer::Recv, bytes)
    }

    /// macOS: the receive buffer's size in bytes (`SO_RCVBUF`).
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    pub fn recv_buffer_size(&self) -> Result<usize, Error> {
        self.buffer_size(imp::Buffer::Recv)
    }

    /// macOS: sets the send buffer (`SO_SNDBUF`, bytes), which bounds one
    /// write; the kernel starts it at 512 KiB (`ctl_sendsize`). Same checks
    /// as [`set_recv_buffer_size`](Device::set_recv_buffer_size).
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    pub fn set_send_buffer_size(&self, bytes: usize) -> Result<(), Error> {
        self.set_buffer_size(imp::Buffer::Send, bytes)
    }

    /// macOS: the send buffer's size in bytes (`SO_SNDBUF`).
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    pub fn send_buffer_size(&self) -> Result<usize, Error> {
        self.buffer_size(imp::Buffer::Send)
    }

    #[cfg(any(target_os = "macos", target_os = "ios"))]
    fn set_buffer_size(&self, buffer: imp::Buffer, bytes: usize) -> Result<(), Error> {
        let bytes = imp::check_buffer_size(buffer, bytes).map_err(|e| e.on(self.name))?;
        imp::set_buffer_size(self.fd.as_fd(), buffer, bytes).map_err(|e| {
            let enobufs = e.raw_os_error() == Some(libc::ENOBUFS);
            let err = Error::os(Op::SetDeviceOption, e).on(self.name).about(buffer.name());
            if enobufs {
                err.because(Detail::Static("larger than the kernel allows (kern.ipc.maxsockbuf)"))
            } else {
                err
            }
        })
    }

    #[cfg(any(target_os = "macos", target_os = "ios"))]
    fn buffer_size(&self, buffer: imp::Buffer) -> Result<usize, Error> {
        imp::buffer_size(self.fd.as_fd(), buffer)
            .map_err(|e| Error::os(Op::QueryDevice, e).on(self.name).about(buffer.name()))
    }

    /// Whether the device is in non-blocking mode.
    pub fn is_nonblocking(&self) -> Result<bool, Error> {
        crate::unix::is_nonblocking(self.fd.as_fd()).map_err(|e| Error::os(Op::SetDeviceOption, e).on(self.name))
    }
}

impl<Fd: AsFd> AsFd for Device<Fd> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl<Fd: AsFd> AsRawFd for Device<Fd> {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_fd().as_raw_fd()
    }
}

/// [`Device::from_fd`]: the descriptor is checked, and closed with the error.
impl TryFrom<OwnedFd> for Device {
    type Error = Error;

    fn try_from(fd: OwnedFd) -> Result<Device, Error> {
        Device::from_fd(fd)
    }
}

/// [`Device::borrow_fd`]: the descriptor is checked, and never closed.
impl<'fd> TryFrom<BorrowedFd<'fd>> for BorrowedDevice<'fd> {
    type Error = Error;

    fn try_from(fd: BorrowedFd<'fd>) -> Result<BorrowedDevice<'fd>, Error> {
        Device::borrow_fd(fd)
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
