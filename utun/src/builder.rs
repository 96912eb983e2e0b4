//! The usual set-up in one call: create, MTU, up, addresses, routes; and
//! every step already done undone when a later one fails.

use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::{Duration, Instant};

use crate::device::Device;
use crate::error::{Error, Op};
use crate::guard::Cleanup;
use crate::interface::Interface;
use crate::name::InterfaceName;
use crate::net::{InterfaceAddress, IpNet, Route};

/// How long the builder waits for the kernel to finish what it does
/// asynchronously after an interface comes up or gets an address.
const SETTLE: Duration = Duration::from_secs(2);

/// Waits (at most [`SETTLE`]) until the kernel routes `gateway` through
/// interface `index`: on Linux the route to an IPv6 peer appears a moment
/// after its address (from the address's DAD work, even with
/// `IFA_F_NODAD`); until then the peer is unreachable and a gateway route
/// through it fails with `EHOSTUNREACH`. (macOS installs it with the address.)
fn wait_for_gateway(cleanup: &mut Cleanup, gateway: IpAddr, index: u32) -> Result<(), Error> {
    let deadline = Instant::now() + SETTLE;
    while Instant::now() < deadline {
        if cleanup.table()?.get(gateway).is_ok_and(|e| e.interface_index == index) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

#[derive(Clone, Copy, Debug)]
enum RouteTarget {
    Interface(IpNet),
    Gateway(IpNet, IpAddr),
}

/// Builds a configured device.
///
/// ```no_run
/// use utun::{InterfaceAddress, TunBuilder};
///
/// let tun = TunBuilder::new()
///     .address(InterfaceAddress::new("10.0.0.1".parse().unwrap(), 32)?.with_peer("10.0.0.2".parse().unwrap())?)
///     .address(InterfaceAddress::new("fd00::1".parse().unwrap(), 64)?)
///     .mtu(1400)
///     .route("10.9.0.0/16".parse().unwrap())
///     .build()?; // needs root
/// println!("{} is up", tun.name());
/// // Dropping `tun` removes the routes and addresses, then the interface.
/// # Ok::<(), utun::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct TunBuilder {
    name: Option<String>,
    addresses: Vec<InterfaceAddress>,
    mtu: Option<u32>,
    up: bool,
    routes: Vec<RouteTarget>,
    offload: bool,
    queue: QueueOptions,
}

/// The macOS queue and buffer options, applied right after the device is
/// created (before the interface comes up, so that no packet meets the
/// kernel's defaults). `None` keeps the kernel's default.
#[derive(Clone, Copy, Debug, Default)]
struct QueueOptions {
    #[cfg(target_os = "macos")]
    max_pending_packets: Option<u32>,
    #[cfg(target_os = "macos")]
    recv_buffer_size: Option<usize>,
    #[cfg(target_os = "macos")]
    send_buffer_size: Option<usize>,
}

impl QueueOptions {
    /// Refuses out-of-range values before anything is created.
    fn check(&self) -> Result<(), Error> {
        #[cfg(target_os = "macos")]
        {
            use crate::backend::device::{Buffer, check_buffer_size, check_max_pending_packets};
            self.max_pending_packets.map(check_max_pending_packets).transpose()?;
            self.recv_buffer_size.map(|n| check_buffer_size(Buffer::Recv, n)).transpose()?;
            self.send_buffer_size.map(|n| check_buffer_size(Buffer::Send, n)).transpose()?;
        }
        Ok(())
    }

    /// Sets what was asked for on the new device.
    #[cfg_attr(not(target_os = "macos"), allow(unused_variables, clippy::unused_self))]
    fn apply(&self, device: &Device) -> Result<(), Error> {
        #[cfg(target_os = "macos")]
        {
            if let Some(n) = self.max_pending_packets {
                device.set_max_pending_packets(n)?;
            }
            if let Some(n) = self.recv_buffer_size {
                device.set_recv_buffer_size(n)?;
            }
            if let Some(n) = self.send_buffer_size {
                device.set_send_buffer_size(n)?;
            }
        }
        Ok(())
    }
}

impl Default for TunBuilder {
    fn default() -> Self {
        TunBuilder::new()
    }
}

impl TunBuilder {
    /// A device with a kernel-chosen name, brought up, nothing else.
    pub fn new() -> TunBuilder {
        TunBuilder {
            name: None,
            addresses: Vec::new(),
            mtu: None,
            up: true,
            routes: Vec::new(),
            queue: QueueOptions::default(),
            offload: false,
        }
    }

    /// Asks for this name (`utunN` on macOS).
    pub fn name(mut self, name: &str) -> TunBuilder {
        self.name = Some(name.to_string());
        self
    }

    /// Adds an address.
    pub fn address(mut self, address: InterfaceAddress) -> TunBuilder {
        self.addresses.push(address);
        self
    }

    /// Sets the MTU. On Linux an MTU below IPv6's minimum (1280) together
    /// with an IPv6 address is refused by [`build`](TunBuilder::build),
    /// before anything is created (see [`Cleanup::set_mtu`]).
    pub fn mtu(mut self, mtu: u32) -> TunBuilder {
        self.mtu = Some(mtu);
        self
    }

    /// Whether to bring the interface up (the default) or leave it down.
    pub fn up(mut self, up: bool) -> TunBuilder {
        self.up = up;
        self
    }

    /// Routes `destination` through the new interface.
    pub fn route(mut self, destination: IpNet) -> TunBuilder {
        self.routes.push(RouteTarget::Interface(destination));
        self
    }

    /// Routes `destination` through `gateway` (which the new interface's
    /// addresses should make reachable).
    pub fn route_via(mut self, destination: IpNet, gateway: IpAddr) -> TunBuilder {
        self.routes.push(RouteTarget::Gateway(destination, gateway));
        self
    }

    /// Linux: opens the device with the kernel's offloads
    /// ([`Device::with_offload`]): large TCP/UDP packets handed over and
    /// taken, which [`Device::recv_batch`] splits and [`Device::send_batch`]
    /// makes. Off by default. On macOS, `true` makes
    /// [`build`](TunBuilder::build) fail with
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) (utun has
    /// no such offload).
    pub fn offload(mut self, offload: bool) -> TunBuilder {
        self.offload = offload;
        self
    }

    /// macOS: how many packets the kernel may queue for the device
    /// (`UTUN_OPT_MAX_PENDING_PACKETS`, see
    /// [`Device::set_max_pending_packets`]), set before the interface comes
    /// up. Unset, the kernel's default stays (1). 0 makes
    /// [`build`](TunBuilder::build) fail with
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) before
    /// anything is created.
    ///
    /// macOS only: a Linux tun device's queue is the interface's
    /// `txqueuelen`, an interface setting rather than the descriptor's.
    #[cfg(target_os = "macos")]
    pub fn max_pending_packets(mut self, packets: u32) -> TunBuilder {
        self.queue.max_pending_packets = Some(packets);
        self
    }

    /// macOS: the device's receive buffer in bytes (`SO_RCVBUF`, see
    /// [`Device::set_recv_buffer_size`]), set before the interface comes up.
    /// Unset, the kernel's default stays (512 KiB). 0 or more than a C `int`
    /// makes [`build`](TunBuilder::build) fail with
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) before
    /// anything is created.
    ///
    /// macOS only: a Linux tun descriptor is a character device, with no
    /// socket buffers.
    #[cfg(target_os = "macos")]
    pub fn recv_buffer_size(mut self, bytes: usize) -> TunBuilder {
        self.queue.recv_buffer_size = Some(bytes);
        self
    }

    /// macOS: the device's send buffer in bytes (`SO_SNDBUF`, see
    /// [`Device::set_send_buffer_size`]); as
    /// [`recv_buffer_size`](TunBuilder::recv_buffer_size).
    #[cfg(target_os = "macos")]
    pub fn send_buffer_size(mut self, bytes: usize) -> TunBuilder {
        self.queue.send_buffer_size = Some(bytes);
        self
    }

    /// Creates and configures the device. When a step fails, the steps
    /// already done are undone and the device is closed (which removes it):
    /// nothing is left behind. With the interface up, it returns once the
    /// kernel routes each IPv6 peer through it (Linux adds that route a
    /// moment after the address), waiting at most 2 s.
    ///
    /// On Linux an MTU below IPv6's minimum with an IPv6 address is
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) before
    /// any device is created: the kernel would remove the address.
    pub fn build(self) -> Result<Tun, Error> {
        if let Some(mtu) = self.mtu {
            crate::backend::ifconfig::check_mtu_keeps_ipv6(mtu, self.addresses.iter())?;
        }
        self.queue.check()?;
        let device = match (&self.name, self.offload) {
            #[cfg(target_os = "linux")]
            (name, true) => Device::with_offload(name.as_deref())?,
            #[cfg(not(target_os = "linux"))]
            (_, true) => {
                let why = crate::error::Detail::Static("offload exists only on Linux");
                return Err(Error::invalid(crate::Op::CreateDevice, crate::ErrorKind::InvalidInput, why));
            }
            (Some(name), false) => Device::with_name(name)?,
            (None, false) => Device::new()?,
        };
        // Closing the device on failure removes the interface: nothing else is set yet.
        self.queue.apply(&device)?;
        let iface = device.interface();
        let mut cleanup = Cleanup::new();
        if let Some(mtu) = self.mtu {
            cleanup.set_mtu(&iface, mtu)?;
        }
        // Up before the addresses: Linux installs the route to an IPv6 peer
        // only for an address added while the interface is up (bringing it
        // up later restores the local prefix route but not the peer's).
        if self.up {
            cleanup.set_up(&iface, true)?;
        }
        for address in &self.addresses {
            cleanup.add_address(&iface, *address)?;
        }
        if self.up {
            // The device is returned once every peer is reachable through it.
            for peer in self.addresses.iter().filter_map(InterfaceAddress::peer).filter(IpAddr::is_ipv6) {
                wait_for_gateway(&mut cleanup, peer, device.index())?;
            }
        }
        if self.up && !self.routes.is_empty() {
            // Routes through a gateway need the link operationally up.
            iface.wait_until_running(SETTLE)?;
        }
        for target in &self.routes {
            let route = match *target {
                RouteTarget::Interface(dest) => Route::through_interface(dest, device.name()),
                RouteTarget::Gateway(dest, gw) => {
                    if self.addresses.iter().any(|a| a.peer() == Some(gw) || a.net().contains(&gw)) {
                        wait_for_gateway(&mut cleanup, gw, device.index())?;
                    }
                    Route::via_gateway(dest, gw).map_err(|e| e.with_op(Op::AddRoute).on(device.name()))?
                }
            };
            cleanup.add_route(route)?;
        }
        Ok(Tun { cleanup, device })
    }
}

/// A configured device and the guard that undoes its configuration.
/// Dropping it removes the routes and addresses it added, then closes the
/// device (which removes the interface).
///
/// A `Tun` is not a smart pointer to its [`Device`], so it does not
/// implement `Deref` (the Rust API guidelines keep `Deref` for smart
/// pointers, C-DEREF): it owns two things, the device and the [`Cleanup`]
/// guard, and reaches the device's packet calls explicitly through
/// [`device`](Tun::device) (`tun.device().recv(&mut buf)`), or wherever a
/// `&Device` is wanted through `AsRef<Device>`. It shares the device's
/// descriptor (`AsFd`) for polling.
#[derive(Debug)]
pub struct Tun {
    // Field order is drop order: the configuration goes before the device.
    cleanup: Cleanup,
    device: Device,
}

impl Tun {
    /// The device: `send`, `recv`, non-blocking mode, the descriptor.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The guard, to add more changes that are undone with the rest.
    pub fn cleanup(&mut self) -> &mut Cleanup {
        &mut self.cleanup
    }

    /// The interface name.
    pub fn name(&self) -> InterfaceName {
        self.device.name()
    }

    /// The interface index.
    pub fn index(&self) -> u32 {
        self.device.index()
    }

    /// The interface, for more configuration.
    pub fn interface(&self) -> Interface {
        self.device.interface()
    }

    /// Splits into the device and the guard.
    pub fn into_parts(self) -> (Device, Cleanup) {
        (self.device, self.cleanup)
    }
}

impl AsRef<Device> for Tun {
    fn as_ref(&self) -> &Device {
        &self.device
    }
}

impl AsFd for Tun {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.device.as_fd()
    }
}

impl AsRawFd for Tun {
    fn as_raw_fd(&self) -> RawFd {
        self.device.as_raw_fd()
    }
}
