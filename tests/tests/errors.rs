//! What a failed call says, through the public API: the subject of the
//! operation (the route) and the library's reason, both. Needs no root:
//! opening a routing socket is unprivileged, and nothing reaches the kernel's
//! routing table because the interface does not exist.

use utun::{ErrorKind, InterfaceName, IpNet, Op, Route, RouteTable};

#[test]
fn a_failed_route_call_names_the_route_and_the_reason() {
    let missing = InterfaceName::new("nosuchif9").expect("a valid name");
    let route = Route::through_interface("10.99.0.0/16".parse::<IpNet>().expect("a network"), missing);
    let mut table = RouteTable::open().expect("a routing socket opens without privileges");
    for (op, result) in [(Op::AddRoute, table.add(&route)), (Op::DeleteRoute, table.delete(&route))] {
        let err = result.expect_err("no such interface");
        assert_eq!((err.op(), err.kind()), (op, ErrorKind::NotFound), "{err}");
        assert_eq!(err.interface(), Some(&missing), "{err}");
        let text = err.to_string();
        assert!(text.contains(&format!("({route})")), "the route is missing from: {text}");
        assert!(text.contains("no interface of that name"), "the reason is missing from: {text}");
    }
}
