//! A guard that undoes the configuration it made: for programs that must
//! leave the system as they found it.

use std::fmt;

use crate::backend::ifconfig::ConfigSocket;
use crate::error::{Error, ErrorKind};
use crate::interface::Interface;
use crate::net::{InterfaceAddress, Route};
use crate::routes::RouteTable;

#[derive(Debug)]
enum Step {
    Address(Interface, InterfaceAddress),
    /// The route and the index of the interface it went out of (0 through a
    /// gateway), as when it was added.
    Route(Route, u32),
    Mtu(Interface, u32),
    Up(Interface, bool),
}

/// Records every change it makes (addresses, routes, MTU, up/down) and, when
/// dropped or [`undone`](Cleanup::undo), reverts them in reverse order.
///
/// It acts only on what it changed, by identity: each step names the
/// interface by index *and* name, and is undone only while that index still
/// carries that name, so an interface renamed, replaced by a namesake or
/// gone since is left alone (the step is reported as skipped, with why). A
/// route is deleted as it was added, never a namesake of it: on Linux the
/// delete names the same table, protocol, metric, scope, type, next hop and
/// interface; on macOS, where `RTM_DELETE` matches destination and mask
/// only, an `RTM_GET` first checks that the route still goes where it was
/// put.
///
/// What undoing needs (the configuration and routing sockets) is opened with
/// the first change and kept, so that undoing never needs a new descriptor:
/// it still works when the process has run out of them.
///
/// ```no_run
/// use utun::{Cleanup, InterfaceAddress, IpNet, Route};
///
/// let dev = utun::Device::new()?; // needs root
/// let mut cleanup = Cleanup::new();
/// let addr = InterfaceAddress::new("10.0.0.1".parse().unwrap(), 32)?.with_peer("10.0.0.2".parse().unwrap())?;
/// cleanup.add_address(&dev.interface(), addr)?;
/// cleanup.add_route(Route::through_interface("10.9.0.0/16".parse::<IpNet>().unwrap(), dev.name()))?;
/// drop(cleanup); // the route and the address are removed
/// # Ok::<(), utun::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct Cleanup {
    steps: Vec<Step>,
    config: Option<ConfigSocket>,
    table: Option<RouteTable>,
}

impl Cleanup {
    /// A guard with nothing to undo yet.
    pub fn new() -> Cleanup {
        Cleanup::default()
    }

    pub(crate) fn table(&mut self) -> Result<&mut RouteTable, Error> {
        let table = match self.table.take() {
            Some(table) => table,
            None => RouteTable::open()?,
        };
        Ok(self.table.insert(table))
    }

    fn config(&mut self) -> Result<&mut ConfigSocket, Error> {
        let config = match self.config.take() {
            Some(config) => config,
            None => ConfigSocket::open()?,
        };
        Ok(self.config.insert(config))
    }

    /// Adds an address, to be removed on undo.
    pub fn add_address(&mut self, iface: &Interface, address: InterfaceAddress) -> Result<(), Error> {
        iface.add_address_via(self.config()?, &address)?;
        self.steps.push(Step::Address(*iface, address));
        Ok(())
    }

    /// Adds a route, to be deleted on undo. A route out of an interface
    /// remembers that interface's index, and is deleted only from it.
    pub fn add_route(&mut self, route: Route) -> Result<(), Error> {
        let table = self.table()?;
        let oif = table.add_returning_index(&route)?;
        self.steps.push(Step::Route(route, oif));
        Ok(())
    }

    /// Sets the MTU, to be restored on undo.
    ///
    /// On Linux an MTU below IPv6's minimum (`IPV6_MIN_MTU`, 1280) on an
    /// interface this guard has added IPv6 addresses to is refused with
    /// [`ErrorKind::InvalidInput`], and nothing is changed: the kernel would
    /// drop every IPv6 address of the interface (`addrconf_notify` in
    /// net/ipv6/addrconf.c stops IPv6 on `NETDEV_CHANGEMTU` below the
    /// minimum, through `addrconf_ifdown`), and restoring the MTU would not
    /// bring them back. Without such addresses the MTU is set; IPv6 then
    /// stays off the interface until the MTU is raised again.
    pub fn set_mtu(&mut self, iface: &Interface, mtu: u32) -> Result<(), Error> {
        let added = self.steps.iter().filter_map(|step| match step {
            Step::Address(i, address) if i == iface => Some(address),
            _ => None,
        });
        crate::backend::ifconfig::check_mtu_keeps_ipv6(mtu, added).map_err(|e| e.on(iface.name()))?;
        let config = self.config()?;
        let old = config.mtu(iface)?;
        config.set_mtu(iface, mtu)?;
        self.steps.push(Step::Mtu(*iface, old));
        Ok(())
    }

    /// Brings the interface up or down, to be restored on undo.
    pub fn set_up(&mut self, iface: &Interface, up: bool) -> Result<(), Error> {
        let config = self.config()?;
        let old = config.flags(iface)? & utun_sys::IFF_UP != 0;
        iface.set_up_via(config, up)?;
        self.steps.push(Step::Up(*iface, old));
        Ok(())
    }

    /// How many changes it would undo.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// True when there is nothing to undo.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Keeps every change: nothing is undone.
    pub fn forget(mut self) {
        self.steps.clear();
    }

    /// Undoes every change, newest first, trying each one. A change whose
    /// object is gone, or whose interface is no longer the one it was made
    /// on, is skipped and reported in the [`Undone`]. When some change could
    /// not be undone, the [`UndoError`] holds the errors and a guard with
    /// just those changes, to try again ([`UndoError::into_cleanup`]).
    pub fn undo(mut self) -> Result<Undone, UndoError> {
        let (skipped, errors) = self.undo_all();
        if errors.is_empty() {
            Ok(Undone { skipped })
        } else {
            Err(UndoError { errors, skipped, remaining: Box::new(self) })
        }
    }

    /// Tries every step once; keeps those that failed (oldest first, as
    /// recorded). Returns the skipped steps' reasons and the failures.
    fn undo_all(&mut self) -> (Vec<Error>, Vec<Error>) {
        let (mut skipped, mut errors, mut failed) = (Vec::new(), Vec::new(), Vec::new());
        while let Some(step) = self.steps.pop() {
            match self.undo_step(&step) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => skipped.push(e),
                Err(e) => {
                    errors.push(e);
                    failed.push(step);
                }
            }
        }
        failed.reverse();
        self.steps = failed;
        (skipped, errors)
    }

    fn undo_step(&mut self, step: &Step) -> Result<(), Error> {
        match step {
            Step::Address(iface, addr) => iface.remove_address_via(self.config()?, addr),
            Step::Route(route, oif) => self.table()?.delete_with_index(route, *oif),
            Step::Mtu(iface, mtu) => self.config()?.set_mtu(iface, *mtu),
            Step::Up(iface, up) => iface.set_up_via(self.config()?, *up),
        }
    }
}

impl Drop for Cleanup {
    /// Undoes every change it still holds, as [`Cleanup::undo`] does, once;
    /// what could not be undone is left as it is, and the errors are
    /// dropped (a guard cannot report from `drop`): call
    /// [`undo`](Cleanup::undo) to see them and to retry.
    fn drop(&mut self) {
        let _ = self.undo_all();
    }
}

/// What [`Cleanup::undo`] did not need to do: the changes it skipped
/// because their object was gone, or their interface was no longer the one
/// they were made on, each with an error that says so.
#[derive(Debug, Default)]
pub struct Undone {
    skipped: Vec<Error>,
}

impl Undone {
    /// The skipped changes, newest first, with why.
    pub fn skipped(&self) -> &[Error] {
        &self.skipped
    }
}

/// Some changes could not be undone: the errors, and a [`Cleanup`] that
/// holds just those changes (with the sockets), to try again.
pub struct UndoError {
    errors: Vec<Error>,
    skipped: Vec<Error>,
    remaining: Box<Cleanup>,
}

impl UndoError {
    /// Why each change that is left could not be undone, newest first.
    pub fn errors(&self) -> &[Error] {
        &self.errors
    }

    /// The changes skipped as in [`Undone::skipped`].
    pub fn skipped(&self) -> &[Error] {
        &self.skipped
    }

    /// The guard with the changes that are left, to retry
    /// ([`Cleanup::undo`]) or to drop.
    pub fn into_cleanup(self) -> Cleanup {
        *self.remaining
    }
}

impl fmt::Debug for UndoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UndoError")
            .field("errors", &self.errors)
            .field("skipped", &self.skipped)
            .field("remaining", &self.remaining.steps)
            .finish()
    }
}

impl fmt::Display for UndoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} change(s) could not be undone", self.errors.len())?;
        if let Some(first) = self.errors.first() {
            write!(f, "; the newest: {first}")?;
        }
        Ok(())
    }
}

impl std::error::Error for UndoError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.errors.first().map(|e| e as _)
    }
}
