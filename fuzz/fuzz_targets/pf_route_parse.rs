//! `PF_ROUTE` replies: any bytes a routing socket could read. The parser
//! never panics; what it accepts is consistent with the header it read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use utun_fuzz::pf_route_check::check_parsed;

fuzz_target!(|data: &[u8]| {
    check_parsed(data);
});
