//! The pure layer: the bytes the kernel is sent and answers with, built and
//! parsed without any system call, so that every format is tested on any
//! host (the x86_64/arm64 darwin layouts are LP64 layouts a Linux host
//! compiles too; `utun-sys`'s `apple-layouts` feature generates them there).
//!
//! * [`field`]: the one field codec both formats use: native-endian integers
//!   at `offset_of!` offsets of bounds-checked slices, structs field by field.
//! * `bsd` (macOS): the structures handed to `connect` and `ioctl`
//!   (`request`), sockaddrs (`sockaddr`), and `PF_ROUTE` messages
//!   (`route`, `encode`, `parse`), compared byte for byte in the tests with
//!   C initializers compiled by clang for both Apple targets (`golden`).
//! * `netlink` (Linux): rtnetlink requests (`encode`) and replies (`parse`).
//!
//! Both parsers report a [`ParseError`]: where in the message (a context)
//! and what was wrong there (a problem), and never panic, whatever the bytes.
//! Every number comes from `utun_sys`.

use std::fmt;

use crate::error::{Detail, Error, ErrorKind, Op};

pub(crate) mod field;

// The property tests' strategies, shared by both codecs' tests.
#[cfg(test)]
pub(crate) mod strategies;

// Built for macOS and iOS (there without the routing messages, and with
// the address requests unused, hence the allow), and on other hosts for the
// tests, the micro-benchmarks and the fuzz targets, where most of it is
// unused outside the tests (hence the allow there too).
#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    all(utun_apple_layouts, any(test, feature = "bench-internals", feature = "fuzz-internals"))
))]
#[cfg_attr(all(not(target_os = "macos"), not(test)), allow(dead_code))]
pub(crate) mod bsd;
#[cfg(target_os = "linux")]
pub(crate) mod netlink;

/// Where the macOS formats cannot be built (no darwin headers on this host:
/// see `utun/build.rs`), their tests report themselves skipped, with why.
#[cfg(all(test, not(any(target_os = "macos", target_os = "ios")), not(utun_apple_layouts)))]
mod bsd_skipped {
    #[test]
    #[ignore = "needs darwin headers for the Apple layouts: run `cargo xtask test`, which installs them"]
    fn macos_message_tests_need_darwin_headers() {
        panic!("skipped: {}", env!("UTUN_APPLE_LAYOUTS_MISSING"));
    }
}

/// A message that could not be parsed: where (`context`: the header, a
/// sockaddr, an attribute...) and what was wrong there (`problem`). Displays
/// as `while parsing <context>: <problem>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ParseError<C, P> {
    /// What was being parsed.
    pub(crate) context: C,
    /// What was wrong.
    pub(crate) problem: P,
}

impl<C: fmt::Display, P: fmt::Display> ParseError<C, P> {
    /// A parse error at `context`.
    pub(crate) fn new(context: C, problem: P) -> Self {
        ParseError { context, problem }
    }

    /// The crate's error for a reply to `op` that could not be parsed:
    /// [`ErrorKind::MalformedReply`], with this as its detail.
    pub(crate) fn into_error(self, op: Op) -> Error {
        Error::invalid(op, ErrorKind::MalformedReply, Detail::Text(self.to_string().into_boxed_str()))
    }
}

impl<C: fmt::Display, P: fmt::Display> fmt::Display for ParseError<C, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "while parsing {}: {}", self.context, self.problem)
    }
}

impl<C: fmt::Debug + fmt::Display, P: fmt::Debug + fmt::Display> std::error::Error for ParseError<C, P> {}
