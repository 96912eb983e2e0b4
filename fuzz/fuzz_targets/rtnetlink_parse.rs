//! rtnetlink replies and dumps: any bytes a netlink socket could read. The
//! message iterator and every body parser never panic; the framing they
//! report stays within the buffer; the iterator ends, after at most one
//! framing error, which is its last item.
#![no_main]

use libfuzzer_sys::fuzz_target;
use utun::__fuzz::rtnetlink;

fuzz_target!(|data: &[u8]| {
    let all = rtnetlink::parse_all(data);
    // No more messages than headers fit (plus the error).
    assert!(all.len() <= data.len() / rtnetlink::HEADER_LEN + 1, "{} messages in {} bytes", all.len(), data.len());
    let mut offset = 0usize;
    for (i, m) in all.iter().enumerate() {
        match m {
            Ok((((len, _, _, _, _), payload), _)) => {
                let len = *len as usize;
                assert!(offset + len <= data.len(), "message {i} ({len} bytes at {offset}) past the buffer");
                assert!(*payload + rtnetlink::HEADER_LEN <= len, "payload of {payload} in a message of {len}");
                offset += rtnetlink::align(len);
            }
            Err(e) => {
                assert_eq!(i, all.len() - 1, "a framing error ends the buffer");
                assert!(e.text.starts_with("while parsing "), "{}", e.text);
            }
        }
        if let Ok((_, Err(e))) = m {
            assert!(e.text.starts_with("while parsing "), "{}", e.text);
        }
    }
    // Deterministic.
    assert_eq!(rtnetlink::parse_all(data), all);
});
