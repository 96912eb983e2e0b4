//! A suite of tests that each run in a network namespace of their own
//! (Linux), for a `harness = false` test target (libtest-mimic): the
//! end-to-end tests and the async device's tests.
//!
//! Where a namespace cannot be had (not root, a kernel or container that
//! forbids it, no `/dev/net/tun`), every test is reported as *ignored*, with
//! the reason, never as passed. With `UTUN_E2E_REQUIRED=1` (set by
//! `cargo xtask ci`) that is a failure instead: the suite exits non-zero
//! before running anything.
//!
//! A test that finds, once it runs, that what it tests is not there (a
//! kernel feature, headers utun-sys was not built with) returns a
//! [`Skipped`] error: it is reported as ignored with that reason, not as
//! passed. `UTUN_E2E_REQUIRED` does not turn that into a failure; a test
//! that CI must run for real says so itself (see `Skipped`).

use std::time::Duration;

use anyhow::Result;
use libtest_mimic::{Arguments, Completion, Failed, Trial};

use crate::netns::Namespace;

/// The variable that turns "cannot run here" into a failure.
pub const REQUIRED_ENV: &str = "UTUN_E2E_REQUIRED";

/// One test: runs on a thread inside a fresh namespace.
pub type Case = fn() -> Result<()>;

/// The error a [`Case`] returns when it cannot test what it is about here
/// (its reason says why): the suite reports the test as ignored, with the
/// reason, never as passed. A test whose skipping CI must not accept checks
/// a variable of its own (say `UTUN_E2E_REQUIRE_USO=1`) and fails instead.
#[derive(Debug)]
pub struct Skipped(pub String);

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "skipped: {}", self.0)
    }
}

impl std::error::Error for Skipped {}

/// How a suite's tests run.
#[derive(Clone, Copy, Debug)]
#[must_use]
pub struct Suite {
    name: &'static str,
    namespace: Namespace,
    limit: Option<Duration>,
}

impl Suite {
    /// A suite called `name` (in its messages), each test in a
    /// [`Namespace::new`] and with no time limit.
    pub const fn new(name: &'static str) -> Suite {
        Suite { name, namespace: Namespace::new(), limit: None }
    }

    /// Each test in a namespace set up as `namespace` says.
    pub const fn namespace(self, namespace: Namespace) -> Suite {
        Suite { namespace, ..self }
    }

    /// A test that has not finished after `limit` fails.
    pub const fn time_limit(self, limit: Duration) -> Suite {
        Suite { limit: Some(limit), ..self }
    }

    /// The trials for `cases`. When no namespace can be had here they are
    /// ignored with the reason, or, with `UTUN_E2E_REQUIRED=1`, the process
    /// exits with a failure.
    pub fn trials(self, cases: Vec<(&'static str, Case)>) -> Vec<Trial> {
        let unavailable = self.namespace.probe().err();
        if let Some(why) = &unavailable {
            if std::env::var(REQUIRED_ENV).is_ok_and(|v| v == "1") {
                eprintln!("{}: {REQUIRED_ENV}=1 but the tests cannot run here: {why}", self.name);
                std::process::exit(1);
            }
            eprintln!("{}: every test is ignored: {why} (they need root and network namespaces)", self.name);
        }
        cases
            .into_iter()
            .map(|(name, case)| {
                let unavailable = unavailable.clone();
                Trial::ignorable_test(name, move || match unavailable {
                    Some(why) => Ok(Completion::ignored_with(format!("cannot run here: {why}"))),
                    None => self.run(case),
                })
            })
            .collect()
    }

    /// Runs the suite as the test binary's `main` does: parses the
    /// arguments, runs [`trials`](Suite::trials), exits with the verdict.
    pub fn main(self, cases: Vec<(&'static str, Case)>) -> ! {
        let args = Arguments::from_args();
        libtest_mimic::run(&args, self.trials(cases)).exit()
    }

    fn run(self, case: Case) -> Result<Completion, Failed> {
        let result = match self.limit {
            Some(limit) => self.namespace.run_within(limit, case),
            None => self.namespace.run(case),
        };
        match result {
            Ok(()) => Ok(Completion::Completed),
            Err(e) => match e.downcast_ref::<Skipped>() {
                Some(Skipped(why)) => Ok(Completion::ignored_with(why)),
                None => Err(Failed::from(format!("{e:#}"))),
            },
        }
    }
}
