//! A suite of tests that each run in a network namespace of their own
//! (Linux), for a `harness = false` test target (libtest-mimic): the
//! end-to-end tests and the async device's tests.
//!
//! Where a namespace cannot be had (not root, a kernel or container that
//! forbids it, no `/dev/net/tun`), every test is reported as *ignored*, with
//! the reason, never as passed. With `UTUN_E2E_REQUIRED=1` (set by
//! `cargo xtask ci`) that is a failure instead: the suite exits non-zero
//! before running anything.

use std::time::Duration;

use anyhow::Result;
use libtest_mimic::{Arguments, Completion, Failed, Trial};

use crate::netns::Namespace;

/// The variable that turns "cannot run here" into a failure.
pub const REQUIRED_ENV: &str = "UTUN_E2E_REQUIRED";

/// One test: runs on a thread inside a fresh namespace.
pub type Case = fn() -> Result<()>;

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
                    None => self.run(case).map(|()| Completion::Completed),
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

    fn run(self, case: Case) -> Result<(), Failed> {
        let result = match self.limit {
            Some(limit) => self.namespace.run_within(limit, case),
            None => self.namespace.run(case),
        };
        result.map_err(|e| Failed::from(format!("{e:#}")))
    }
}
