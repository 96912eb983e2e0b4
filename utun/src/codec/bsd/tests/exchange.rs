//! The routing-socket conversation against the scripted kernel
//! ([`super::kernel`]): what a busy Mac does to a socket kept open for the
//! life of a device (other processes' messages, a full queue dropping the
//! reply, another socket's reply with our seq, a fork, `EINTR`, a reply
//! longer than the buffer), and the check before a delete.

use std::cell::RefCell;
use std::rc::Rc;

use super::kernel::{Kernel, OUR_PID, QUEUE, Step, padded, table};
use super::*;
use crate::codec::bsd::exchange::{MAX_MESSAGE, PATIENCE, next_seq};
use crate::error::Error;

/// A kernel with a route out of utun4 and a route through a gateway.
fn kernel() -> Rc<RefCell<Kernel>> {
    Kernel::new(vec![(via_if("10.9.0.0/16"), IFINDEX), (via_gw("10.8.0.0/16", "10.0.0.2"), IFINDEX)])
}

/// What the guard's socket meets after minutes of ordinary activity: a
/// queue full of other processes' messages.
fn busy(k: &Rc<RefCell<Kernel>>) {
    k.borrow_mut().others(1000);
}

fn kinds(k: &Rc<RefCell<Kernel>>) -> Vec<RtmKind> {
    k.borrow().log.iter().map(|r| r.kind).collect()
}

fn assert_utun4_entry(entry: &RouteEntry) {
    assert_eq!((entry.destination, entry.interface_index), (Some(net("10.9.0.0/16")), IFINDEX), "{entry:?}");
}

fn reason(err: &Error) -> String {
    err.to_string()
}

#[test]
fn add_and_delete_never_wait_for_a_reply_that_a_full_queue_drops() {
    let k = kernel();
    let mut t = table(&k);
    busy(&k);
    let route = via_if("10.7.0.0/16");
    t.add(&route, IFINDEX).unwrap();
    assert!(k.borrow().routes.contains(&(route, IFINDEX)));
    busy(&k);
    t.delete(&route, IFINDEX).unwrap();
    assert!(!k.borrow().routes.iter().any(|r| r.0 == route));
    // The kernel's refusal is the write's error.
    let err = t.add(&via_if("10.9.0.0/16"), IFINDEX).unwrap_err();
    assert_eq!((err.kind(), err.raw_os_error()), (ErrorKind::AlreadyExists, Some(libc::EEXIST)));
    assert_eq!(kinds(&k), [RtmKind::Add, RtmKind::Get, RtmKind::Delete, RtmKind::Add]);
}

#[test]
fn a_lookup_drains_stale_messages_first() {
    let k = kernel();
    let mut t = table(&k);
    busy(&k);
    assert!(k.borrow().queued(0) > QUEUE - 200, "the reader's queue is full");
    assert_utun4_entry(&t.get(ip("10.9.1.1"), 0).unwrap());
    assert_eq!(kinds(&k), [RtmKind::Get]);
}

#[test]
fn a_reply_dropped_by_a_full_queue_is_asked_for_again_within_a_bound() {
    let k = kernel();
    let mut t = table(&k);
    // Between the drain and the request, others fill the queue again.
    k.borrow_mut().steps.push_back(Step { flood: 100, ..Step::default() });
    assert_utun4_entry(&t.get(ip("10.9.1.1"), 0).unwrap());
    assert_eq!(kinds(&k), [RtmKind::Get, RtmKind::Get]);
    let waited = k.borrow().elapsed();
    assert!(waited >= PATIENCE.wait && waited < 2 * PATIENCE.wait, "{waited:?}");
}

#[test]
fn a_lookup_whose_reply_never_comes_times_out() {
    let k = kernel();
    let mut t = table(&k);
    // Others fill the queue before every request, and keep sending.
    k.borrow_mut().flood = 100;
    k.borrow_mut().trickle = 1;
    let err = t.get(ip("10.9.1.1"), 0).unwrap_err();
    assert_eq!((err.kind(), err.op()), (ErrorKind::TimedOut, Op::GetRoute), "{err}");
    assert!(reason(&err).contains("dropped"), "{err}");
    assert_eq!(kinds(&k), vec![RtmKind::Get; PATIENCE.attempts as usize]);
    let waited = k.borrow().elapsed();
    let bound = PATIENCE.wait * PATIENCE.attempts;
    assert!(waited >= bound && waited < bound + PATIENCE.wait, "{waited:?}");
    // The guard's delete then reports it, and deletes nothing unchecked.
    let err = t.delete(&via_if("10.9.0.0/16"), IFINDEX).unwrap_err();
    assert_eq!((err.kind(), err.op()), (ErrorKind::TimedOut, Op::DeleteRoute), "{err}");
    assert!(!kinds(&k).contains(&RtmKind::Delete));
}

#[test]
fn another_sockets_reply_with_our_seq_is_not_taken_for_ours() {
    let k = kernel();
    let mut t = table(&k);
    k.borrow_mut().steps.push_back(Step { same_seq_elsewhere: true, ..Step::default() });
    assert_utun4_entry(&t.get(ip("10.9.1.1"), 0).unwrap());
}

#[test]
fn two_tables_of_one_process_never_use_the_same_seq() {
    let k = kernel();
    k.borrow_mut().routes.push((Route::default_v4(NextHop::Gateway(ip("192.168.1.1"))).unwrap(), 4));
    let (mut a, mut b) = (table(&k), table(&k));
    for _ in 0..3 {
        // b's answer lands in a's queue too, before a asks.
        assert_eq!(b.get(ip("1.1.1.1"), 0).unwrap().interface_index, 4);
        assert_utun4_entry(&a.get(ip("10.9.1.1"), 0).unwrap());
    }
    let route = via_if("10.6.0.0/16");
    a.add(&route, IFINDEX).unwrap();
    b.delete(&route, IFINDEX).unwrap();
    let mut seqs: Vec<i32> = k.borrow().log.iter().map(|r| r.seq).collect();
    let count = seqs.len();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), count, "a seq was used twice: {:?}", k.borrow().log);
}

#[test]
fn a_forked_child_matches_its_own_replies() {
    let k = kernel();
    let mut t = table(&k); // opened by the parent
    k.borrow_mut().fork();
    assert_utun4_entry(&t.get(ip("10.9.1.1"), 0).unwrap());
    assert_eq!(k.borrow().log[0].pid, OUR_PID + 1);
}

#[test]
fn eintr_is_retried_on_write_read_and_wait() {
    let k = kernel();
    let mut t = table(&k);
    // A slower kernel than XNU: the answer comes after the first wait began.
    k.borrow_mut().steps.push_back(Step { late: Some(PATIENCE.wait / 2), ..Step::default() });
    k.borrow_mut().eintr = [2, 2, 2];
    assert_utun4_entry(&t.get(ip("10.9.1.1"), 0).unwrap());
    assert_eq!(k.borrow().eintr, [0, 0, 0]);
    // Interrupted writes were not sent: one request.
    assert_eq!(kinds(&k), [RtmKind::Get]);
    k.borrow_mut().eintr = [3, 0, 0];
    t.add(&via_if("10.5.0.0/16"), IFINDEX).unwrap();
    assert_eq!(kinds(&k), [RtmKind::Get, RtmKind::Add]);
}

#[test]
fn a_refusal_is_the_writes_error_and_its_echo_is_skipped_later() {
    let k = kernel();
    let mut t = table(&k);
    let err = t.get(ip("203.0.113.1"), 0).unwrap_err();
    assert_eq!((err.kind(), err.raw_os_error()), (ErrorKind::NotFound, Some(libc::ESRCH)), "{err}");
    // The echo with rtm_errno is queued; the next lookup is not fooled by it.
    assert!(k.borrow().queued(0) > 0);
    assert_utun4_entry(&t.get(ip("10.9.1.1"), 0).unwrap());
}

#[test]
fn a_reply_longer_than_the_buffer_is_asked_for_again_with_room() {
    let k = kernel();
    let mut t = table(&k);
    k.borrow_mut().pad_get = MAX_MESSAGE;
    // Someone else's long message first: cut short too, and skipped.
    let foreign = padded(super::kernel::answer(&(via_if("10.0.0.0/8"), 3), RtmKind::Get, OUR_PID + 50, 1), 3000);
    k.borrow_mut().steps.push_back(Step { inject: vec![foreign], ..Step::default() });
    assert_utun4_entry(&t.get(ip("10.9.1.1"), 0).unwrap());
    assert_eq!(kinds(&k), [RtmKind::Get, RtmKind::Get]);
}

#[test]
fn delete_first_checks_the_route_still_goes_where_it_was_added() {
    let host = via_if("10.9.0.5/32");
    // The kernel's answer embeds the gateway's scope.
    let v6 = Route::via_link_local_gateway(net("fd09::/64"), "fe80::1".parse().unwrap(), utun4()).unwrap();
    let k = kernel();
    k.borrow_mut().routes.extend([(host, IFINDEX), (v6, IFINDEX)]);
    let mut t = table(&k);
    for route in [via_if("10.9.0.0/16"), via_gw("10.8.0.0/16", "10.0.0.2"), host, v6] {
        let oif = route.next_hop().interface().map_or(0, |_| IFINDEX);
        t.delete(&route, oif).unwrap_or_else(|e| panic!("{route}: {e}"));
        assert!(!k.borrow().routes.iter().any(|r| r.0 == route), "{route}");
    }
    assert_eq!(kinds(&k), [RtmKind::Get, RtmKind::Delete].repeat(4));
}

#[test]
fn link_local_routes_are_looked_up_and_deleted_on_their_own_interface() {
    // fe80::99 out of utun4 (index 9) and out of utun5 (index 10): two routes.
    let utun5 = InterfaceName::new("utun5").unwrap();
    let ll = net("fe80::99/128");
    let (on4, on5) = (Route::through_interface(ll, utun4()), Route::through_interface(ll, utun5));
    let k = Kernel::new(Vec::new());
    let mut t = table(&k);
    t.add(&on4, IFINDEX).unwrap();
    t.add(&on5, IFINDEX + 1).unwrap();
    assert_eq!(k.borrow().routes.len(), 2, "the same destination on two links is two routes");
    for index in [IFINDEX, IFINDEX + 1] {
        let entry = t.get(ip("fe80::99"), index).unwrap();
        assert_eq!((entry.interface_index, entry.destination_scope), (index, Some(index)));
        assert_eq!(entry.destination, Some(ll), "the scope is taken out of the address");
    }
    t.delete(&on5, IFINDEX + 1).unwrap();
    assert_eq!(k.borrow().routes, [(on4, IFINDEX)], "only utun5's went");
    let err = t.get(ip("fe80::99"), IFINDEX + 1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    // A scope past a u_short if_index is refused before anything is sent.
    let err = t.get(ip("fe80::99"), 70_000).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

#[test]
fn delete_leaves_a_namesake_alone() {
    let utun5 = InterfaceName::new("utun5").unwrap();
    let ours = via_if("10.9.0.0/16");
    // Since it was added, ours went and someone else's took its destination.
    let namesakes = [
        (ours, (Route::through_interface(net("10.9.0.0/16"), utun5), IFINDEX + 1), IFINDEX, "someone else's"),
        (via_gw("10.8.0.0/16", "10.0.0.2"), (via_gw("10.8.0.0/16", "10.0.0.3"), IFINDEX), 0, "someone else's"),
        (ours, (via_gw("10.9.0.0/16", "10.0.0.2"), IFINDEX), IFINDEX, "someone else's"),
        // A host route's lookup finds the best match: a wider route now.
        (via_if("10.9.0.5/32"), (ours, IFINDEX), IFINDEX, "it is gone"),
    ];
    for (route, namesake, oif, why) in namesakes {
        let k = Kernel::new(vec![namesake]);
        let err = table(&k).delete(&route, oif).unwrap_err();
        assert_eq!((err.kind(), err.op()), (ErrorKind::NotFound, Op::DeleteRoute), "{route}: {err}");
        assert!(reason(&err).contains(why), "{route}: {err}");
        assert_eq!(k.borrow().routes, [namesake], "{route}");
        assert_eq!(kinds(&k), [RtmKind::Get], "{route}");
    }
    // Gone altogether: skipped too, with why.
    let k = Kernel::new(Vec::new());
    let err = table(&k).delete(&ours, IFINDEX).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(reason(&err).contains("no route to this destination any more"), "{err}");
    assert_eq!(kinds(&k), [RtmKind::Get]);
}

#[test]
fn sequence_numbers_are_never_zero_and_never_repeat() {
    let seqs: Vec<i32> = (0..1000).map(|_| next_seq()).collect();
    assert!(seqs.iter().all(|&s| s != 0));
    assert!(seqs.windows(2).all(|w| w[0] != w[1]));
}
