//! The guard acts only on what it made: routes another program added to
//! the same destinations are left as they are.
//!
//! "Another program" is the real `ip`: it adds routes of its own (metric
//! 100) to the guard's destinations and re-adds routes the guard had added,
//! and the kernel's view is read back with `ip -j`.

use anyhow::{Context, Result, anyhow, ensure};
use utun::{Cleanup, Device, ErrorKind, Route};

use crate::cases::net;
use crate::kernel;

/// The guard's destinations, and the other program's.
const DESTINATIONS: [&str; 2] = ["10.9.0.0/16", "fd09::/64"];

/// Undoes `cleanup`; returns the reasons of the steps it skipped.
fn undo(cleanup: Cleanup) -> Result<Vec<String>> {
    let undone = cleanup.undo().map_err(|e| anyhow!("{e}: {e:?}"))?;
    for skipped in undone.skipped() {
        ensure!(skipped.kind() == ErrorKind::NotFound, "{skipped}");
    }
    Ok(undone.skipped().iter().map(ToString::to_string).collect())
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
