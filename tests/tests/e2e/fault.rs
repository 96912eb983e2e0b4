//! Fault paths: each step of `TunBuilder::build` (create, MTU, each
//! address, each route) made to fail in turn by an input refused at that
//! step, after every earlier step succeeded; the error is typed, and nothing
//! is left behind (no interface, address or route; another program's route
//! that made the step fail is still there). And a `Cleanup` or a `Tun`
//! dropped while a panic unwinds still undoes everything.
//!
//! Bringing the interface up is the one step no input makes fail: a tun's
//! `ndo_open` (`tun_net_open`, drivers/net/tun.c) cannot refuse, and
//! `dev_open` fails only for reasons of the device itself (absent, being
//! unregistered), which the builder's own device never is.

use std::panic::{AssertUnwindSafe, catch_unwind};

use anyhow::{Context, Result, bail, ensure};
use utun::{Cleanup, Device, ErrorKind, Op, Route, TunBuilder};
use utun_tests::suite::Case;

use crate::cases::{addr, expect_kind, ip, net};
use crate::hostile::System;
use crate::kernel;
use crate::routing::kernel_addresses;

/// The cases, by name.
pub fn all() -> Vec<(&'static str, Case)> {
    vec![
        ("fault_build_step_create_refused_leaves_nothing", create_refused as Case),
        ("fault_build_step_mtu_refused_by_the_kernel_leaves_nothing", mtu_refused),
        ("fault_build_mtu_too_small_for_ipv6_is_refused_before_anything", mtu_too_small_for_ipv6),
        ("fault_build_step_first_address_refused_leaves_nothing", first_address_refused),
        ("fault_build_step_second_address_refused_leaves_nothing", second_address_refused),
        ("fault_build_step_route_that_exists_leaves_nothing_and_keeps_the_others", route_exists_v4),
        ("fault_build_step_ipv6_route_that_exists_leaves_nothing_and_keeps_the_others", route_exists_v6),
        ("fault_build_step_unreachable_gateway_route_leaves_nothing", gateway_unreachable),
        ("fault_a_cleanup_dropped_during_a_panic_still_undoes_everything", cleanup_in_a_panic),
        ("fault_a_tun_dropped_during_a_panic_leaves_nothing", tun_in_a_panic),
    ]
}

/// The builder's steps up to (not including) its routes: MTU 1400, up, an
/// IPv4 address with a peer, an IPv6 address.
fn configured() -> Result<TunBuilder> {
    Ok(TunBuilder::new()
        .name("fault0")
        .mtu(1400)
        .address(addr("10.0.0.1", 32, Some("10.0.0.2"))?)
        .address(addr("fd00::1", 64, None)?))
}

/// Builds `builder`, which must fail with `kind`, and leaves the system as
/// it was.
fn fails_cleanly(builder: TunBuilder, kind: ErrorKind, op: Option<Op>) -> Result<utun::Error> {
    let before = System::now()?;
    let err = expect_kind(builder.build(), kind)?;
    if let Some(op) = op {
        ensure!(err.op() == op, "failed at {:?}, not {op:?}: {err}", err.op());
    }
    ensure!(kernel::gone_soon("fault0")?, "fault0 was left behind after: {err}");
    before.unchanged(&format!("after a build that failed with {err}"))?;
    Ok(err)
}

/// The device cannot be made: `lo` is taken.
fn create_refused() -> Result<()> {
    let err =
        fails_cleanly(configured()?.name("lo").route(net("10.9.0.0/16")), ErrorKind::Busy, Some(Op::CreateDevice))?;
    ensure!(err.to_string().contains("lo"), "{err}");
    Ok(())
}

/// The MTU step, the first after creating: below a tun's minimum (68,
/// `MIN_MTU`, which `dev_validate_mtu` checks) and above its maximum.
fn mtu_refused() -> Result<()> {
    for mtu in [67, u32::from(u16::MAX) + 1] {
        let builder = TunBuilder::new().name("fault0").mtu(mtu).address(addr("10.0.0.1", 32, Some("10.0.0.2"))?);
        fails_cleanly(builder, ErrorKind::InvalidInput, Some(Op::SetMtu)).with_context(|| format!("MTU {mtu}"))?;
    }
    Ok(())
}

/// An MTU below IPv6's minimum with an IPv6 address: refused before the
/// device is created.
fn mtu_too_small_for_ipv6() -> Result<()> {
    fails_cleanly(configured()?.mtu(1000), ErrorKind::InvalidInput, None)?;
    Ok(())
}

/// The first address is one no interface may have (a multicast address:
/// the kernel's `ipv6_add_addr` refuses it).
fn first_address_refused() -> Result<()> {
    let builder = TunBuilder::new().name("fault0").mtu(1400).address(addr("ff02::1", 128, None)?);
    fails_cleanly(builder, ErrorKind::InvalidInput, Some(Op::AddAddress))?;
    Ok(())
}

/// The third address is the first one again: the kernel refuses it
/// (`EEXIST`) after two were added.
fn second_address_refused() -> Result<()> {
    let builder = configured()?.address(addr("10.0.0.1", 32, Some("10.0.0.2"))?).route(net("10.9.0.0/16"));
    let err = fails_cleanly(builder, ErrorKind::AlreadyExists, Some(Op::AddAddress))?;
    ensure!(err.to_string().contains("10.0.0.1"), "{err}");
    Ok(())
}

/// Another program (`ip`) has a route to the builder's second destination
/// already (out of `lo`): the builder's first route is added, the second
/// refused (`EEXIST`); everything the builder did is undone and the other
/// program's route is still there.
fn route_exists(v6: bool) -> Result<()> {
    let (family, first, taken) =
        if v6 { ("-6", "fd08::/64", "fd09::/64") } else { ("-4", "10.8.0.0/16", "10.9.0.0/16") };
    kernel::ip(&[family, "route", "add", taken, "dev", "lo"])?;
    let builder = configured()?.route(net(first)).route(net(taken)).route(net("10.6.0.0/16"));
    let err = fails_cleanly(builder, ErrorKind::AlreadyExists, Some(Op::AddRoute))?;
    ensure!(err.to_string().contains(taken), "{err}");
    ensure!(kernel::routes_to(taken, "lo")?.len() == 1, "the other program's route to {taken} is gone");
    Ok(())
}

fn route_exists_v4() -> Result<()> {
    route_exists(false)
}

fn route_exists_v6() -> Result<()> {
    route_exists(true)
}

/// The last route goes through a gateway nothing makes reachable.
fn gateway_unreachable() -> Result<()> {
    let builder = configured()?.route(net("10.9.0.0/16")).route_via(net("10.7.0.0/16"), ip("192.0.2.1"));
    let err = fails_cleanly(builder, ErrorKind::NetworkUnreachable, Some(Op::AddRoute))?;
    ensure!(err.to_string().contains("192.0.2.1"), "{err}");
    Ok(())
}

/// A guard with a step of each kind, dropped while a panic unwinds through
/// the code that made it: the interface is as it was (MTU, down, no address,
/// no route).
fn cleanup_in_a_panic() -> Result<()> {
    let dev = Device::with_name("fault0")?;
    let iface = dev.interface();
    let before = System::now()?;
    let unwound = catch_unwind(AssertUnwindSafe(|| -> Result<()> {
        let mut cleanup = Cleanup::new();
        cleanup.set_mtu(&iface, 1400)?;
        cleanup.set_up(&iface, true)?;
        cleanup.add_address(&iface, addr("10.0.0.1", 32, Some("10.0.0.2"))?)?;
        cleanup.add_address(&iface, addr("fd00::1", 64, None)?)?;
        iface.wait_until_running(std::time::Duration::from_secs(2))?;
        cleanup.add_route(Route::through_interface(net("10.9.0.0/16"), dev.name()))?;
        cleanup.add_route(Route::through_interface(net("fd09::/64"), dev.name()))?;
        cleanup.add_route(Route::via_gateway(net("10.7.0.0/16"), ip("10.0.0.2"))?)?;
        ensure!(cleanup.len() == 7, "{} steps", cleanup.len());
        ensure!(!kernel_addresses("fault0")?.is_empty(), "no address was added");
        panic!("a panic while the guard is alive (expected by this test)");
    }));
    match unwound {
        Err(_) => {}
        Ok(Err(e)) => return Err(e).context("configuring, before the panic"),
        Ok(Ok(())) => bail!("no panic"),
    }
    ensure!(!kernel::flags("fault0")?.iter().any(|f| f == "UP"), "fault0 is still up");
    before.unchanged("after the guard was dropped during a panic")?;
    drop(dev);
    Ok(())
}

/// A configured `Tun` dropped while a panic unwinds: no interface, address
/// or route left.
fn tun_in_a_panic() -> Result<()> {
    let before = System::now()?;
    let unwound = catch_unwind(|| -> Result<()> {
        let tun = configured()?.route(net("10.9.0.0/16")).route(net("fd09::/64")).build()?;
        ensure!(kernel::link_exists("fault0")?, "no fault0");
        let _held = &tun;
        panic!("a panic while the Tun is alive (expected by this test)");
    });
    match unwound {
        Err(_) => {}
        Ok(Err(e)) => return Err(e).context("building, before the panic"),
        Ok(Ok(())) => bail!("no panic"),
    }
    ensure!(kernel::gone_soon("fault0")?, "fault0 outlived the panic");
    before.unchanged("after a Tun was dropped during a panic")
}
