//! `cargo xtask`: Switchyard's whole workflow as one Rust program (the cargo-xtask convention).
//!
//! ```text
//! cargo xtask setup                  install what is missing (each step checks its version first)
//! cargo xtask test [--only a,b]      setup, then every suite, one summary line each
//! cargo xtask demo [--port N]        setup, then serve the visualiser with a scenario playing
//! cargo xtask pack                   build the npm tarball target/npm/switchyard-<version>.tgz
//! cargo xtask gen                    write crates/wasm/js/src/generated.js from shared.rs
//! cargo xtask bench [--native]       the benchmark harness (or the core's criterion benches)
//! ```
//!
//! The alias lives in `.cargo/config.toml`; `docs/DEVELOPING.md` explains each step.

mod bench;
mod demo;
mod gen;
mod minify;
mod pack;
mod process;
mod setup;
mod summary;
mod test;
mod tools;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  setup                 install what is missing: wasm32 target, browsers, wasm-bindgen-cli,
                        trunk, geckodriver, tests/node_modules (a second run only checks)
  test [--only LIST]    setup (what the suites need), then run the suites and print one
                        summary line each;
                        LIST is comma-separated, from: fmt, clippy, js, native, wasm-node,
                        wasm-chromium, wasm-firefox, node, e2e
  demo [--port N] [--scenario NAME]
                        setup, then serve the visualiser on http://127.0.0.1:N (default 8080)
                        with a built-in scenario running (default `basic`)
  pack                  build the npm package and `npm pack` it into target/npm/
  gen                   write crates/wasm/js/src/generated.js from crates/wasm/src/shared.rs
  bench [--native] [--runtime LIST] [--quick] [--only PREFIXES]
                        run the JS benchmarks in Node, Chromium and Firefox
                        (--native: the core's criterion benchmarks; see xtask/src/bench.rs)
  help                  print this message";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("\nxtask: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> Result<ExitCode> {
    let root = workspace_root()?;
    let (command, rest) = match args.split_first() {
        Some((command, rest)) => (command.as_str(), rest),
        None => ("help", &[][..]),
    };
    tools::prepare_environment(&root)?;
    match command {
        "setup" => {
            no_options(command, rest)?;
            setup::run(&root, setup::Needs::Everything)?;
        }
        "test" => {
            let selection = test::Selection::from_args(rest)?;
            setup::run(&root, selection.needs())?;
            let report = test::run(&root, &selection);
            return Ok(if report.all_passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        "demo" => {
            let options = demo::Options::from_args(rest)?;
            setup::run(&root, setup::Needs::Visualiser)?;
            demo::run(&root, &options)?;
        }
        "pack" => {
            no_options(command, rest)?;
            setup::run(&root, setup::Needs::Package)?;
            let tarball = pack::run(&root)?;
            println!("packed {}", tarball.display());
        }
        "bench" => {
            let options = bench::Options::from_args(rest)?;
            let only_native = options
                .runtimes
                .iter()
                .all(|runtime| *runtime == bench::Runtime::Native);
            let needs = if only_native {
                setup::Needs::Rust
            } else {
                setup::Needs::Everything
            };
            setup::run(&root, needs)?;
            bench::run_with(&root, &options)?;
        }
        "gen" => {
            no_options(command, rest)?;
            let changed = gen::run(&root)?;
            println!(
                "{} {}",
                if changed { "wrote" } else { "unchanged:" },
                gen::GENERATED
            );
        }
        "help" | "--help" | "-h" => println!("{USAGE}"),
        other => bail!("unknown command `{other}`\n\n{USAGE}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn no_options(command: &str, rest: &[String]) -> Result<()> {
    if rest.is_empty() {
        Ok(())
    } else {
        bail!("`{command}` takes no options, got {rest:?}\n\n{USAGE}")
    }
}

/// The workspace root: the parent of this crate's manifest directory.
fn workspace_root() -> Result<PathBuf> {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .with_context(|| format!("{} has no parent directory", manifest_dir.display()))
}
