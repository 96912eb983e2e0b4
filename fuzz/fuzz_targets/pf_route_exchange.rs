//! The routing-socket conversation (`RouteTable::add`, `remove`, `get` on
//! macOS) against a kernel the fuzzer scripts: the write's verdict (`EINTR`,
//! an error, a short write), and around each answer other processes'
//! messages, answers to our other requests, our pid and seq on another type
//! or another destination, raw bytes, damaged or cut-short (`MSG_TRUNC`)
//! replies, errno replies, late answers, `EINTR` on reads and waits.
//!
//! Properties: the conversation ends (a bounded number of socket calls);
//! a lookup answers only with the genuine answer to its latest request
//! (never another request's or another process's); a delete is written only
//! when the kernel's genuine answer showed the route still goes where it was
//! added; errors render.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use utun::__fuzz::pf_route::{self, Conversation, IFINDEX, Kind, OUR_PID, Parsed};
use utun::{IpNet, NextHop, Route};

/// Socket calls a conversation may make: 4 attempts, each a drain of at
/// most a queue's worth and reads for at most 250 ms at 50 µs a read.
const MAX_CALLS: usize = 4 * (8192 + 2 * 5000 + 16);

fn last_get_seq(c: &Conversation) -> Option<i32> {
    c.script().seen.iter().rev().find(|s| s.rtm_type == Kind::Get.rtm_type()).map(|s| s.seq)
}

/// The genuine answers to request `seq`, parsed.
fn genuine(c: &Conversation, seq: i32) -> Vec<Parsed> {
    c.script().genuine.iter().filter(|(s, _)| *s == seq).filter_map(|(_, m)| pf_route::parse(m).ok()).collect()
}

fn unscoped_net(n: IpNet) -> IpNet {
    IpNet::new(pf_route::unscoped(n.addr()), n.prefix_len()).expect("same length")
}

fn run(u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
    let op = u.int_in_range(0..=3u8)?;
    let route = utun_fuzz::route(u)?;
    let oif = if u.arbitrary()? { IFINDEX } else { u.int_in_range(1..=u32::from(u16::MAX))? };
    let answers_with: Option<Route> = if u.arbitrary()? { Some(route) } else { None };
    let script = u.bytes(u.len())?;
    let c = Conversation::new(script, answers_with);
    match op {
        0 => {
            let r = c.add(&route, oif);
            let s = c.script();
            assert!(s.seen.iter().all(|x| x.rtm_type == Kind::Add.rtm_type()), "add wrote only RTM_ADD");
            if r.is_ok() {
                assert!(s.seen.last().is_some_and(|x| x.accepted), "add succeeded on a refused write");
            }
        }
        1 => {
            let r = c.delete(&route, oif);
            let s = c.script();
            if let Some(at) = s.seen.iter().position(|x| x.rtm_type == Kind::Delete.rtm_type()) {
                // The lookup before it was answered by the kernel, and the
                // answer was this route.
                let get =
                    s.seen[..at].iter().rev().find(|x| x.rtm_type == Kind::Get.rtm_type()).expect("a lookup first");
                let seq = get.seq;
                drop(s);
                let answers = genuine(&c, seq);
                let ours = answers.iter().any(|m| {
                    m.errno == 0
                        && m.destination_net.map(unscoped_net) == Some(unscoped_net(route.destination()))
                        && match route.next_hop() {
                            NextHop::Interface(_) => m.gateway_ip.is_none() && m.entry.interface_index == oif,
                            NextHop::Gateway(gw) => {
                                m.gateway_ip.map(pf_route::unscoped) == Some(pf_route::unscoped(gw))
                            }
                            NextHop::LinkLocalGateway { gateway, .. } => {
                                m.gateway_ip == Some(gateway.into())
                                    && m.entry.gateway_scope.unwrap_or(m.entry.interface_index) == oif
                            }
                        }
                });
                assert!(ours, "{route} deleted without the kernel saying it is still ours: {answers:?}");
            } else {
                assert!(r.is_err(), "delete succeeded without writing RTM_DELETE");
            }
            if let Err(e) = r {
                let _ = e.to_string();
            }
        }
        2 => {
            let dest = route.destination().addr();
            let r = c.get(dest, 0);
            if let Ok(entry) = r {
                let seq = last_get_seq(&c).expect("a lookup was written");
                assert!(
                    genuine(&c, seq).iter().any(|m| m.entry == entry && m.errno == 0),
                    "get answered {entry:?}, not the kernel's answer to request {seq}"
                );
            }
        }
        _ => {
            let query = route.destination();
            if let Ok(m) = c.lookup(query, None) {
                let seq = last_get_seq(&c).expect("a lookup was written");
                assert_eq!((m.pid, m.seq, m.rtm_type, m.errno), (OUR_PID, seq, Kind::Get.rtm_type(), 0));
                assert!(
                    genuine(&c, seq).contains(&m),
                    "lookup answered {m:?}, not the kernel's answer to request {seq}"
                );
            }
        }
    }
    let calls = c.script().calls;
    assert!(calls <= MAX_CALLS, "{calls} socket calls: the conversation did not end when it should");
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
