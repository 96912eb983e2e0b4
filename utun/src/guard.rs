//! A guard that undoes the configuration it made: for programs that must
//! leave the system as they found it.

use crate::error::{Error, ErrorKind};
use crate::interface::Interface;
use crate::net::{InterfaceAddress, Route};
use crate::routes::RouteTable;

#[derive(Debug)]
enum Step {
    Address(Interface, InterfaceAddress),
    Route(Route),
    Mtu(Interface, u32),
    Up(Interface, bool),
}

/// Records every change it makes (addresses, routes, MTU, up/down) and, when
/// dropped or [`undone`](Cleanup::undo), reverts them in reverse order.
/// Reverting something already gone (a route that went with its interface) is
/// not an error.
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

    /// Adds an address, to be removed on undo.
    pub fn add_address(&mut self, iface: &Interface, address: InterfaceAddress) -> Result<(), Error> {
        iface.add_address(&address)?;
        self.steps.push(Step::Address(*iface, address));
        Ok(())
    }

    /// Adds a route, to be deleted on undo.
    pub fn add_route(&mut self, route: Route) -> Result<(), Error> {
        self.table()?.add(&route)?;
        self.steps.push(Step::Route(route));
        Ok(())
    }

    /// Sets the MTU, to be restored on undo.
    pub fn set_mtu(&mut self, iface: &Interface, mtu: u32) -> Result<(), Error> {
        let old = iface.mtu()?;
        iface.set_mtu(mtu)?;
        self.steps.push(Step::Mtu(*iface, old));
        Ok(())
    }

    /// Brings the interface up or down, to be restored on undo.
    pub fn set_up(&mut self, iface: &Interface, up: bool) -> Result<(), Error> {
        let old = iface.is_up()?;
        iface.set_up(up)?;
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

    /// Undoes every change, newest first. Tries them all; returns the first
    /// error other than "already gone".
    pub fn undo(mut self) -> Result<(), Error> {
        self.undo_all()
    }

    fn undo_all(&mut self) -> Result<(), Error> {
        let mut first = None;
        while let Some(step) = self.steps.pop() {
            let result = match step {
                Step::Address(iface, addr) => iface.remove_address(&addr),
                Step::Route(route) => self.table().and_then(|t| t.delete(&route)),
                Step::Mtu(iface, mtu) => iface.set_mtu(mtu),
                Step::Up(iface, up) => iface.set_up(up),
            };
            match result {
                Err(e) if e.kind() != ErrorKind::NotFound && first.is_none() => first = Some(e),
                _ => {}
            }
        }
        first.map_or(Ok(()), Err)
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = self.undo_all();
    }
}
