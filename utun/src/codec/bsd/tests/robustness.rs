//! The parser against every truncation, random bytes and mutations of
//! valid messages: it never panics, and a cut message is always an error.

use super::goldens::golden_values;
use super::replies::encoded_messages;
use super::*;

// ------------------------------------------------ truncation and fuzzing

/// Every valid message: the encoders' and the C-built kernel replies.
fn valid_messages() -> Vec<Vec<u8>> {
    let mut all: Vec<Vec<u8>> = encoded_messages().into_iter().map(|(m, ..)| m).collect();
    for name in ["reply_get_v4_if", "reply_get_default_gw", "reply_get_v6_if", "reply_add_eexist"] {
        all.extend(golden_values(name).into_iter().map(|(_, b)| b.to_vec()));
    }
    all
}

/// Parses `buf`, failing the test with the input if the parser panics, and
/// exercising everything a caller does with the result.
fn parse_must_not_panic(buf: &[u8]) -> Result<RouteReply, ParseError> {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let result = parse_route_message(buf);
        match &result {
            Ok(reply) => {
                assert!(reply.msglen <= buf.len() && reply.msglen >= RT_MSGHDR_LEN);
                let _ = (reply.to_route_entry(), reply.error(Op::GetRoute), reply.kind(), reply.destination_net());
            }
            Err(e) => {
                let _ = (e.to_string(), e.into_error(Op::GetRoute).to_string());
            }
        }
        result
    }));
    result.unwrap_or_else(|_| panic!("the parser panicked on {buf:02x?}"))
}

#[test]
fn parse_rejects_every_truncation() {
    let mut count = 0;
    for msg in valid_messages() {
        assert!(parse_must_not_panic(&msg).is_ok());
        for len in 0..msg.len() {
            assert!(parse_must_not_panic(&msg[..len]).is_err(), "a {len}-byte prefix of {msg:02x?} parsed");
            count += 1;
        }
        // Truncated with rtm_msglen saying so: never a panic, and an error
        // whenever the cut goes into a sockaddr's sa_len bytes.
        for len in RT_MSGHDR_LEN..msg.len() {
            let mut cut = msg[..len].to_vec();
            cut[..2].copy_from_slice(&u16::try_from(len).unwrap().to_ne_bytes());
            let _ = parse_must_not_panic(&cut);
            count += 1;
        }
    }
    assert!(count > 5_000, "{count}");
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// A random sockaddr: plausible lengths and families most of the time.
fn random_sockaddr(rng: &mut Rng, out: &mut Vec<u8>) {
    let lens = [0, 1, 2, 3, 5, 7, 8, 12, 16, 20, 24, 28, 32, 255];
    let families = [AF_INET, AF_INET6, AF_LINK, 0, 0xff];
    let sa_len = if rng.below(8) == 0 { rng.byte() } else { lens[rng.below(lens.len())] };
    let family = if rng.below(8) == 0 { rng.byte() } else { families[rng.below(families.len())] };
    let start = out.len();
    let space = bytes::sa_space(usize::from(sa_len));
    out.extend((0..space).map(|_| if rng.below(3) == 0 { rng.byte() } else { rng.byte() % 16 }));
    out[start] = sa_len;
    if let Some(f) = out.get_mut(start + 1) {
        *f = family;
    }
}

#[test]
fn parse_survives_random_bytes() {
    let mut rng = Rng(0x0005_eed0_f0dd_ba11);
    let mut ok = 0;
    for i in 0..200_000 {
        let mut buf: Vec<u8>;
        if i % 2 == 0 {
            // Raw noise.
            let len = rng.below(320);
            buf = (0..len).map(|_| rng.byte()).collect();
        } else {
            // A header that passes the first checks, then random sockaddrs.
            buf = vec![0; RT_MSGHDR_LEN];
            for b in buf.iter_mut() {
                *b = rng.byte();
            }
            buf[offset_of!(apple::rt_msghdr, rtm_version)] = RTM_VERSION;
            let types = [apple::RTM_ADD, apple::RTM_DELETE, apple::RTM_GET, apple::RTM_MISS];
            buf[offset_of!(apple::rt_msghdr, rtm_type)] = types[rng.below(types.len())] as u8;
            let addrs = i32::from(rng.byte());
            buf[offset_of!(apple::rt_msghdr, rtm_addrs)..][..4].copy_from_slice(&addrs.to_ne_bytes());
            for _ in 0..rng.below(9) {
                random_sockaddr(&mut rng, &mut buf);
            }
            buf.truncate(buf.len() - rng.below(4).min(buf.len() - RT_MSGHDR_LEN));
            let msglen = if rng.below(4) == 0 { rng.below(buf.len() + 8) } else { buf.len() };
            buf[..2].copy_from_slice(&u16::try_from(msglen).unwrap_or(u16::MAX).to_ne_bytes());
        }
        ok += usize::from(parse_must_not_panic(&buf).is_ok());
    }
    // The structured half must reach the end of the parser often.
    eprintln!("{ok} of 200000 random messages parsed");
    assert!(ok > 1_000, "only {ok} random messages parsed");
}

#[test]
fn parse_survives_mutations_of_valid_messages() {
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    let messages = valid_messages();
    let mut total = 0;
    for msg in &messages {
        for _ in 0..2_500 {
            let mut m = msg.clone();
            for _ in 0..=rng.below(4) {
                let at = rng.below(m.len());
                m[at] = match rng.below(4) {
                    0 => rng.byte(),
                    1 => m[at] ^ (1 << rng.below(8)),
                    2 => 0,
                    _ => 0xff,
                };
            }
            match rng.below(4) {
                0 => m.truncate(rng.below(m.len() + 1)),
                1 => m.extend((0..rng.below(16)).map(|_| rng.byte())),
                _ => {}
            }
            let _ = parse_must_not_panic(&m);
            total += 1;
        }
    }
    assert!(total >= 100_000, "{total}");
}
