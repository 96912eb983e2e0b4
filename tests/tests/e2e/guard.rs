//! The guard acts only on what it made: an interface that took the name of
//! the one it configured, and routes another program added to the same
//! destinations, are left as they are.
//!
//! "Another program" is the real `ip`: it configures a namesake interface
//! (MTU 9000, up, an address, routes of metric 100 to the guard's
//! destinations) and re-adds routes the guard had added, and the kernel's
//! view is read back with `ip -j`.

use anyhow::{Context, Result, anyhow, ensure};
use utun::{Cleanup, Device, ErrorKind, Route, TunBuilder};

use crate::cases::{addr, net};
use crate::kernel::{self, KernelRoute};
use crate::routing::kernel_addresses;

/// The guard's destinations, and the other program's.
const DESTINATIONS: [&str; 2] = ["10.9.0.0/16", "fd09::/64"];

/// A device configured through a guard: MTU 1400, up, an address, a route
/// to each of [`DESTINATIONS`].
fn configured(name: Option<&str>) -> Result<utun::Tun> {
    let mut builder = TunBuilder::new().mtu(1400).address(addr("10.0.0.1", 32, Some("10.0.0.2"))?);
    for dst in DESTINATIONS {
        builder = builder.route(net(dst));
    }
    if let Some(name) = name {
        builder = builder.name(name);
    }
    Ok(builder.build()?)
}

/// What another program does to interface `dev`: MTU 9000, up, the same
/// address, and routes of its own (metric 100) to [`DESTINATIONS`].
fn configure_as_another_program(dev: &str) -> Result<()> {
    kernel::ip(&["link", "set", "dev", dev, "mtu", "9000", "up"])?;
    kernel::ip(&["addr", "add", "10.0.0.1/32", "peer", "10.0.0.2", "dev", dev])?;
    for dst in DESTINATIONS {
        let family = if dst.contains(':') { "-6" } else { "-4" };
        kernel::ip(&[family, "route", "add", dst, "dev", dev, "metric", "100"])?;
    }
    Ok(())
}

/// What the guard must leave as it was on interface `dev`.
#[derive(Debug, PartialEq)]
struct Seen {
    mtu: Option<u64>,
    up: bool,
    addresses: Vec<(String, u64, Option<String>)>,
    routes: Vec<KernelRoute>,
}

fn seen(dev: &str) -> Result<Seen> {
    let mut routes = Vec::new();
    for dst in DESTINATIONS {
        routes.extend(kernel::routes_to(dst, dev)?);
    }
    Ok(Seen {
        mtu: kernel::link(dev)?["mtu"].as_u64(),
        up: kernel::flags(dev)?.iter().any(|f| f == "UP"),
        addresses: kernel_addresses(dev)?,
        routes,
    })
}

/// The other program's configuration of `dev`, as it made it.
fn the_other_programs(dev: &str) -> Result<Seen> {
    let now = seen(dev)?;
    ensure!(now.mtu == Some(9000) && now.up, "the other program's MTU and flags on {dev}: {now:?}");
    ensure!(now.addresses.iter().any(|(local, ..)| local == "10.0.0.1"), "its address on {dev}: {now:?}");
    let metrics: Vec<u64> = now.routes.iter().map(|r| r.metric).collect();
    ensure!(metrics == [100, 100], "its routes on {dev}: {now:?}");
    Ok(now)
}

/// Undoes `cleanup`; returns the reasons of the steps it skipped.
fn undo(cleanup: Cleanup) -> Result<Vec<String>> {
    let undone = cleanup.undo().map_err(|e| anyhow!("{e}: {e:?}"))?;
    for skipped in undone.skipped() {
        ensure!(skipped.kind() == ErrorKind::NotFound, "{skipped}");
    }
    Ok(undone.skipped().iter().map(ToString::to_string).collect())
}

/// After `into_parts` and the device's drop, the kernel's next `tunN` has
/// the same name and another index: the guard must not touch it.
pub fn namesake_after_into_parts() -> Result<()> {
    let tun = configured(None)?;
    let (name, index) = (tun.name(), tun.index());
    let (device, cleanup) = tun.into_parts();
    drop(device);
    ensure!(kernel::gone_soon(name.as_str())?, "{name} outlived its device");
    let namesake = Device::new()?;
    ensure!(namesake.name() == name && namesake.index() != index, "not a namesake: {namesake:?} (was {index})");
    configure_as_another_program(name.as_str())?;
    let before = the_other_programs(name.as_str())?;
    let skipped = undo(cleanup)?;
    ensure!(seen(name.as_str())? == before, "the guard changed the namesake: {:?}", seen(name.as_str())?);
    // MTU, up, the address and both routes: each skipped, with why.
    ensure!(skipped.len() == 5, "skipped: {skipped:#?}");
    let gone = format!("interface index {index} is gone");
    ensure!(skipped.iter().filter(|s| s.contains(&gone)).count() == 3, "skipped: {skipped:#?}");
    Ok(())
}

/// The configured interface renamed, and another took its old name.
pub fn namesake_after_a_rename() -> Result<()> {
    let tun = configured(Some("ren0"))?;
    let (device, cleanup) = tun.into_parts();
    if kernel::ip(&["link", "set", "dev", "ren0", "name", "ren1"]).is_err() {
        // Kernels without live renaming refuse it while the interface is up.
        kernel::ip(&["link", "set", "dev", "ren0", "down"])?;
        kernel::ip(&["link", "set", "dev", "ren0", "name", "ren1"])?;
        kernel::ip(&["link", "set", "dev", "ren1", "up"])?;
    }
    let namesake = Device::with_name("ren0")?;
    configure_as_another_program("ren0")?;
    let before = the_other_programs("ren0")?;
    drop(cleanup);
    ensure!(seen("ren0")? == before, "the guard changed the namesake: {:?}", seen("ren0")?);
    // The guard's own routes went out of ren1, exactly as added.
    for dst in DESTINATIONS {
        ensure!(kernel::routes_to(dst, "ren1")?.is_empty(), "the guard left its route to {dst} on ren1");
    }
    drop((device, namesake));
    Ok(())
}

/// The configured interface deleted by another program, which then made a
/// persistent tun of the same name.
pub fn namesake_replacing_the_interface() -> Result<()> {
    let tun = configured(Some("rep0"))?;
    kernel::ip(&["link", "del", "dev", "rep0"])?;
    kernel::ip(&["tuntap", "add", "dev", "rep0", "mode", "tun"])?;
    configure_as_another_program("rep0")?;
    let before = the_other_programs("rep0")?;
    drop(tun);
    let after = seen("rep0");
    kernel::tuntap_del("rep0")?;
    ensure!(after? == before, "the guard changed the namesake");
    Ok(())
}

/// Routes of the guard and of another program to the same destination, out
/// of the same interface, differ only in their metric (and protocol): the
/// guard deletes its own. (IPv6 deletes the lowest metric's first, were the
/// metric left out.)
pub fn another_programs_route_is_kept() -> Result<()> {
    let dev = Device::new()?;
    dev.interface().set_up(true)?;
    let name = dev.name();
    let mut cleanup = Cleanup::new();
    for dst in DESTINATIONS {
        cleanup.add_route(Route::through_interface(net(dst), name))?;
    }
    for dst in DESTINATIONS {
        let family = if dst.contains(':') { "-6" } else { "-4" };
        kernel::ip(&[family, "route", "add", dst, "dev", name.as_str(), "metric", "100"])?;
        ensure!(kernel::routes_to(dst, name.as_str())?.len() == 2, "two routes to {dst}");
    }
    drop(cleanup);
    for dst in DESTINATIONS {
        let left = kernel::routes_to(dst, name.as_str())?;
        let others = left.iter().all(|r| r.metric == 100 && r.protocol == "boot");
        ensure!(left.len() == 1 && others, "to {dst}, the other program's route alone should be left: {left:?}");
    }
    Ok(())
}

/// A route the guard added, deleted by another program and added again by
/// it (`ip route add`: protocol boot), is the other program's now.
pub fn a_route_deleted_and_added_again_is_kept() -> Result<()> {
    let dev = Device::new()?;
    dev.interface().set_up(true)?;
    let name = dev.name();
    let mut cleanup = Cleanup::new();
    for dst in DESTINATIONS {
        cleanup.add_route(Route::through_interface(net(dst), name))?;
        let family = if dst.contains(':') { "-6" } else { "-4" };
        kernel::ip(&[family, "route", "del", dst, "dev", name.as_str()])?;
        kernel::ip(&[family, "route", "add", dst, "dev", name.as_str()])?;
    }
    let before: Vec<_> = DESTINATIONS.iter().map(|d| kernel::routes_to(d, name.as_str())).collect::<Result<_>>()?;
    ensure!(before.iter().all(|r| r.len() == 1 && r[0].protocol == "boot"), "re-added: {before:?}");
    let skipped = undo(cleanup).context("undoing")?;
    let after: Vec<_> = DESTINATIONS.iter().map(|d| kernel::routes_to(d, name.as_str())).collect::<Result<_>>()?;
    ensure!(after == before, "the guard deleted another program's route: {after:?}");
    ensure!(skipped.len() == 2, "both route steps are skipped: {skipped:#?}");
    Ok(())
}
