//! `cargo xtask test`: every suite, continuing after a failure, one summary line each.
//!
//! ```text
//! $ cargo xtask test --only fmt,native
//! ...
//! == summary
//! fmt: 1 passed, 0 failed
//! native: 312 passed, 0 failed
//! total: 313 passed, 0 failed
//! ```
//!
//! The suites, in the order they run:
//! - `fmt`: `cargo fmt --all -- --check` (one check);
//! - `clippy`: `cargo clippy --all-targets -- -D warnings` for the workspace, and again for the
//!   wasm crates on `wasm32-unknown-unknown` (their `cfg(target_arch = "wasm32")` code), and
//!   the `switchyard-wasm` library alone on that target, as the package builds it (no `std`),
//!   and with `switchyard-core` without the `snapshot` feature (the engine of `switchyard`),
//!   and the core's tests natively without it;
//! - `js`: the package's JavaScript: `tsc --noEmit -p crates/wasm/js` (the `// @ts-check`
//!   modules and index.d.ts), and `crates/wasm/js/src/generated.js` is what `cargo xtask gen`
//!   writes from `crates/wasm/src/shared.rs` (two checks);
//! - `native`: `cargo test --workspace`, doc-tests included; a wasm crate is left out when it has
//!   no plain `#[test]` (its `#[wasm_bindgen_test]`s do nothing natively);
//! - `no-std`: `cargo build -p switchyard-core --no-default-features --features snapshot` for
//!   `thumbv7em-none-eabi`
//!   (a bare-metal target without `std`: the engine must build with `core` + `alloc` only);
//! - `fuzz`: a smoke run of each cargo-fuzz target in `crates/core/fuzz` (`operations`,
//!   `pattern_parser`), [`FUZZ_SECONDS`] each, on the stable toolchain (`RUSTC_BOOTSTRAP=1`,
//!   `--sanitizer none`); corpus and crash inputs under `<target dir>/fuzz`;
//! - `wasm-node`: wasm-bindgen test binaries without `wasm_bindgen_test_configure!(run_in_browser)`,
//!   which run in Node (shown only when such tests exist);
//! - `wasm-chromium`, `wasm-firefox`: the browser-configured wasm-bindgen test binaries, headless
//!   (the runner skips the other kind: `WASM_BINDGEN_TEST_ONLY_NODE` / `_ONLY_WEB`);
//! - `node`: `node --test` over `tests/node/` against the packed tarball (`SWITCHYARD_TARBALL`);
//! - `e2e`: `trunk build --release` into `dist/`, then `node --test` over `tests/e2e/`
//!   (`SWITCHYARD_DIST`, `SWITCHYARD_TARBALL`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::gen;
use crate::pack;
use crate::process::{self, Teed};
use crate::setup::{self, Needs};
use crate::summary::{self, SuiteResult, Tally};
use crate::tools;

/// A test suite, by the name `--only` and the summary use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suite {
    Fmt,
    Clippy,
    Js,
    Native,
    NoStd,
    Fuzz,
    WasmNode,
    WasmChromium,
    WasmFirefox,
    Node,
    NodeLts,
    E2e,
}

impl Suite {
    /// Every suite, in running order.
    pub const ALL: [Suite; 12] = [
        Suite::Fmt,
        Suite::Clippy,
        Suite::Js,
        Suite::Native,
        Suite::NoStd,
        Suite::Fuzz,
        Suite::WasmNode,
        Suite::WasmChromium,
        Suite::WasmFirefox,
        Suite::Node,
        Suite::NodeLts,
        Suite::E2e,
    ];

    /// The suite's name in `--only` lists and summary lines.
    pub fn name(self) -> &'static str {
        match self {
            Suite::Fmt => "fmt",
            Suite::Clippy => "clippy",
            Suite::Js => "js",
            Suite::Native => "native",
            Suite::NoStd => "no-std",
            Suite::Fuzz => "fuzz",
            Suite::WasmNode => "wasm-node",
            Suite::WasmChromium => "wasm-chromium",
            Suite::WasmFirefox => "wasm-firefox",
            Suite::Node => "node",
            Suite::NodeLts => "node-lts",
            Suite::E2e => "e2e",
        }
    }

    /// What must be installed before the suite can run.
    pub fn needs(self) -> Needs {
        match self {
            // The no-std target and cargo-fuzz are checked (installed if missing) by the suite.
            Suite::Fmt | Suite::Native | Suite::NoStd | Suite::Fuzz => Needs::Rust,
            // clippy checks the wasm crates on the wasm target too.
            // tsc comes from tests/node_modules.
            // The Node LTS binary is checked (installed if missing) by its suite.
            Suite::Clippy | Suite::Js | Suite::WasmNode | Suite::Node | Suite::NodeLts => {
                Needs::Package
            }
            Suite::WasmChromium | Suite::WasmFirefox | Suite::E2e => Needs::Everything,
        }
    }

    fn from_name(name: &str) -> Option<Suite> {
        Suite::ALL.into_iter().find(|suite| suite.name() == name)
    }
}

/// Which suites to run: all of them, or the ones `--only a,b` names.
#[derive(Debug, PartialEq, Eq)]
pub struct Selection {
    only: Option<Vec<Suite>>,
}

impl Selection {
    /// Parses `[]`, `["--only", "a,b"]` or `["--only=a,b"]`.
    pub fn from_args(args: &[String]) -> Result<Selection> {
        let list = match args {
            [] => return Ok(Selection { only: None }),
            [flag, list] if flag == "--only" => list.as_str(),
            [flag] if flag.starts_with("--only=") => &flag["--only=".len()..],
            _ => bail!("`test` takes only `--only <suite,suite>`, got {args:?}"),
        };
        let mut suites = Vec::new();
        for name in list
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
        {
            let Some(suite) = Suite::from_name(name) else {
                let known: Vec<&str> = Suite::ALL.iter().map(|suite| suite.name()).collect();
                bail!(
                    "unknown suite `{name}`; the suites are {}",
                    known.join(", ")
                );
            };
            if !suites.contains(&suite) {
                suites.push(suite);
            }
        }
        if suites.is_empty() {
            bail!("`--only` needs at least one suite name");
        }
        Ok(Selection { only: Some(suites) })
    }

    /// What the selected suites need installed.
    pub fn needs(&self) -> Needs {
        Suite::ALL
            .into_iter()
            .filter(|suite| self.includes(*suite))
            .map(Suite::needs)
            .max()
            .unwrap_or(Needs::Rust)
    }

    fn explicitly_names(&self, suite: Suite) -> bool {
        self.only.as_ref().is_some_and(|only| only.contains(&suite))
    }

    fn includes(&self, suite: Suite) -> bool {
        self.only.as_ref().is_none_or(|only| only.contains(&suite))
    }
}

/// The results of a test run.
pub struct Report {
    pub results: Vec<SuiteResult>,
}

impl Report {
    /// True when no suite had a failure.
    pub fn all_passed(&self) -> bool {
        self.results.iter().all(|result| result.tally.failed == 0)
    }

    fn total(&self) -> Tally {
        let mut total = Tally::default();
        for result in &self.results {
            total += result.tally;
        }
        total
    }
}

/// Runs the selected suites (setup has run), prints a summary line per suite and a total.
pub fn run(root: &Path, selection: &Selection) -> Report {
    let started = Instant::now();
    let mut run = TestRun {
        root,
        tarball: None,
        wasm_crates: WASM_CRATES
            .iter()
            .map(|(package, dir)| WasmCrate::scan(package, &root.join(dir)))
            .collect(),
    };
    let mut report = Report {
        results: Vec::new(),
    };
    for suite in Suite::ALL {
        if !selection.includes(suite) {
            continue;
        }
        if suite == Suite::WasmNode
            && !selection.explicitly_names(suite)
            && run.wasm_crates.iter().all(|krate| !krate.has_node_tests)
        {
            continue;
        }
        println!("\n== {}", suite.name());
        let suite_started = Instant::now();
        let result = run.suite(suite);
        println!("{result}    [{} s]", suite_started.elapsed().as_secs());
        report.results.push(result);
    }
    println!("\n== summary ({} s)", started.elapsed().as_secs());
    for result in &report.results {
        println!("{result}");
    }
    let total = report.total();
    println!("total: {} passed, {} failed", total.passed, total.failed);
    report
}

/// The crates with wasm-bindgen tests: package name and directory.
const WASM_CRATES: [(&str, &str); 2] = [
    ("switchyard-wasm", "crates/wasm"),
    ("switchyard-web", "web"),
];

/// The fuzz targets of `crates/core/fuzz` and their libFuzzer options: `operations` decodes
/// a sequence of bus operations, so its inputs stay long (2 KB, no length ramp-up).
const FUZZ_TARGETS: [(&str, &[&str]); 2] = [
    ("operations", &["-max_len=2048", "-len_control=0"]),
    ("pattern_parser", &[]),
];

/// How long each fuzz target runs in the `fuzz` suite, unless `SWITCHYARD_FUZZ_SECONDS` says.
pub const FUZZ_SECONDS: u64 = 30;

/// How long one fuzz target may take, its build included (a cold build is ~9 min here).
const FUZZ_TIME_LIMIT: Duration = Duration::from_secs(30 * 60);

/// libFuzzer's `-seed` in the `fuzz` suite unless `SWITCHYARD_FUZZ_SEED` says (`0`: a random
/// seed each run). Fixed, so that a smoke run on a clean clone explores the same inputs each
/// time (only the number of runs depends on the machine's speed) and a red CI is reproducible.
pub const FUZZ_SEED: u64 = 1;

fn fuzz_seed() -> u64 {
    std::env::var("SWITCHYARD_FUZZ_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or(FUZZ_SEED)
}

fn fuzz_seconds() -> u64 {
    std::env::var("SWITCHYARD_FUZZ_SECONDS")
        .ok()
        .and_then(|seconds| seconds.parse().ok())
        .filter(|seconds| *seconds > 0)
        .unwrap_or(FUZZ_SECONDS)
}

/// `N` from libFuzzer's closing `Done N runs in S second(s)`.
fn fuzz_runs(output: &str) -> Option<u64> {
    output.lines().rev().find_map(|line| {
        line.trim()
            .strip_prefix("Done ")?
            .split(' ')
            .next()?
            .parse()
            .ok()
    })
}

/// The input file libFuzzer wrote for a crash (`Test unit written to <path>`).
fn fuzz_crash_input(output: &str) -> Option<&str> {
    output
        .lines()
        .find_map(|line| line.split("Test unit written to ").nth(1))
        .map(str::trim)
}

/// How long one `tests/node` file may run, including a hang after its tests finished.
const NODE_FILE_TIME_LIMIT: Duration = Duration::from_secs(5 * 60);

/// How long one `tests/e2e` file may run (browser sessions are slow on two busy cores).
const E2E_FILE_TIME_LIMIT: Duration = Duration::from_secs(15 * 60);

/// How long one wasm-bindgen test binary may run (the runner's default, 20 s, is short for a
/// two-core machine building and loading a Leptos app).
const WASM_TEST_TIMEOUT_SECS: &str = "120";

struct TestRun<'a> {
    root: &'a Path,
    /// The packed npm tarball, built the first time a suite needs it.
    tarball: Option<Result<PathBuf, String>>,
    wasm_crates: Vec<WasmCrate>,
}

impl TestRun<'_> {
    fn suite(&mut self, suite: Suite) -> SuiteResult {
        let name = suite.name();
        let outcome = match suite {
            Suite::Fmt => self.fmt(),
            Suite::Clippy => self.clippy(),
            Suite::Js => self.js(),
            Suite::Native => self.native(),
            Suite::NoStd => self.no_std(),
            Suite::Fuzz => self.fuzz(),
            Suite::WasmNode => self.wasm(name, None),
            Suite::WasmChromium => self.wasm(name, Some(Browser::Chromium)),
            Suite::WasmFirefox => self.wasm(name, Some(Browser::Firefox)),
            Suite::Node => self.node(None),
            Suite::NodeLts => self.node_lts(),
            Suite::E2e => self.e2e(),
        };
        outcome.unwrap_or_else(|error| SuiteResult::broken(name, format!("{error:#}")))
    }

    fn fmt(&self) -> Result<SuiteResult> {
        let mut cmd = process::cargo();
        cmd.args(["fmt", "--all", "--", "--check"])
            .current_dir(self.root);
        checks("fmt", &mut [cmd])
    }

    fn clippy(&self) -> Result<SuiteResult> {
        let mut native = process::cargo();
        native
            .args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ])
            .current_dir(self.root);
        let mut wasm = process::cargo();
        wasm.args(["clippy", "--target", tools::WASM_TARGET, "--all-targets"]);
        for (package, _) in WASM_CRATES {
            wasm.args(["-p", package]);
        }
        wasm.args(["--", "-D", "warnings"]).current_dir(self.root);
        // The package's own build: the wasm library alone, without the `std` feature that
        // `--all-targets` turns on for its tests (a missing `crate::prelude` import shows only here).
        let mut package = process::cargo();
        package
            .args([
                "clippy",
                "--target",
                tools::WASM_TARGET,
                "-p",
                "switchyard-wasm",
            ])
            .args(["--", "-D", "warnings"])
            .current_dir(self.root);
        // The engine of the entry `switchyard`: both crates without their `snapshot` feature
        // (code only snapshots use must be gated with it, or it warns as dead here).
        let mut lean = process::cargo();
        lean.args([
            "clippy",
            "--target",
            tools::WASM_TARGET,
            "-p",
            "switchyard-wasm",
            "-p",
            "switchyard-core",
            "--no-default-features",
        ])
        .args(["--", "-D", "warnings"])
        .current_dir(self.root);
        // The engine's own tests without snapshots: those that need them say so
        // (`required-features` or `cfg(feature = "snapshot")`), the rest must still build.
        let mut lean_tests = process::cargo();
        lean_tests
            .args([
                "clippy",
                "-p",
                "switchyard-core",
                "--all-targets",
                "--no-default-features",
                "--",
                "-D",
                "warnings",
            ])
            .current_dir(self.root);
        checks("clippy", &mut [native, wasm, package, lean, lean_tests])
    }

    fn js(&self) -> Result<SuiteResult> {
        let mut tsc = Command::new(tools::node_bin_dir(self.root).join("tsc"));
        tsc.args(["--noEmit", "-p"])
            .arg(self.root.join("crates/wasm/js"))
            .current_dir(self.root);
        let mut result = checks("js", &mut [tsc])?;
        if gen::is_fresh(self.root) {
            result.tally.passed += 1;
        } else {
            result.tally.failed += 1;
            let stale = format!(
                "{} is stale: run `cargo xtask gen` and commit it",
                gen::GENERATED
            );
            println!("{stale}");
            result.note = Some(match result.note.take() {
                Some(note) => format!("{note}; {stale}"),
                None => stale,
            });
        }
        Ok(result)
    }

    fn native(&self) -> Result<SuiteResult> {
        let mut cmd = process::cargo();
        cmd.args(["test", "--workspace", "--no-fail-fast"])
            .current_dir(self.root);
        let mut left_out = Vec::new();
        for krate in &self.wasm_crates {
            if !krate.has_native_tests {
                cmd.args(["--exclude", krate.package]);
                left_out.push(krate.package);
            }
        }
        let result = cargo_tests("native", &process::tee(&mut cmd)?);
        Ok(if left_out.is_empty() || result.note.is_some() {
            result
        } else {
            result.with_note(format!(
                "not built natively, wasm tests only: {}",
                left_out.join(", ")
            ))
        })
    }

    /// The engine built for a target without `std` (one check).
    fn no_std(&self) -> Result<SuiteResult> {
        setup::no_std_target()?;
        let mut cmd = process::cargo();
        cmd.args([
            "build",
            "-p",
            "switchyard-core",
            "--no-default-features",
            // Snapshots too: every module must build with `core` + `alloc` only.
            "--features",
            "snapshot",
            "--target",
            setup::NO_STD_TARGET,
        ])
        .current_dir(self.root);
        checks("no-std", &mut [cmd])
    }

    /// Each fuzz target run for [`FUZZ_SECONDS`] (one check each): it fails on a crash, a
    /// broken invariant (the targets assert them) or a build error. Its own target dir
    /// (`<target dir>/fuzz`, about 260 MB: a release build with coverage instrumentation)
    /// keeps its flags from invalidating the workspace build; the corpus there grows run to
    /// run, so each smoke starts where the last one stopped.
    fn fuzz(&self) -> Result<SuiteResult> {
        setup::cargo_fuzz()?;
        let fuzz_dir = pack::target_dir(self.root).join("fuzz");
        let seconds = fuzz_seconds();
        let mut tally = Tally::default();
        let mut notes = Vec::new();
        for (target, options) in FUZZ_TARGETS {
            let corpus = fuzz_dir.join("corpus").join(target);
            let artifacts = fuzz_dir.join("artifacts").join(target);
            for dir in [&corpus, &artifacts] {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("could not create {}", dir.display()))?;
            }
            let mut cmd = process::cargo();
            cmd.args(["fuzz", "run", "-O", "--sanitizer", "none", target])
                .arg(&corpus)
                .arg("--")
                .arg(format!("-max_total_time={seconds}"))
                .arg(format!("-seed={}", fuzz_seed()))
                .args(options)
                // libFuzzer wants the trailing slash: the crash file name is appended.
                .arg(format!("-artifact_prefix={}/", artifacts.display()))
                .current_dir(self.root.join("crates/core"))
                .env("RUSTC_BOOTSTRAP", "1")
                .env("CARGO_TARGET_DIR", &fuzz_dir);
            println!("-- {target} ({seconds} s)");
            let run = process::tee_with_limit(&mut cmd, Some(FUZZ_TIME_LIMIT))?;
            if run.success {
                tally.passed += 1;
                if let Some(runs) = fuzz_runs(&run.output) {
                    notes.push(format!("{target}: {runs} runs"));
                }
            } else {
                tally.failed += 1;
                notes.push(match fuzz_crash_input(&run.output) {
                    Some(input) => format!(
                        "{target} crashed on {input}; replay: cd crates/core && \
                         RUSTC_BOOTSTRAP=1 cargo fuzz run -O --sanitizer none {target} {input}"
                    ),
                    None if run.timed_out => format!(
                        "{target} stopped after {} min (build included)",
                        FUZZ_TIME_LIMIT.as_secs() / 60
                    ),
                    None => format!("{target} failed ({}): a build error?", run.status),
                });
            }
        }
        Ok(SuiteResult::counted("fuzz", tally).with_note(notes.join("; ")))
    }

    /// The wasm-bindgen tests of every wasm crate with any: the Node-configured test binaries
    /// (`browser: None`) or the browser-configured ones in one headless browser. The runner
    /// itself skips the other kind (`WASM_BINDGEN_TEST_ONLY_NODE` / `WASM_BINDGEN_TEST_ONLY_WEB`).
    fn wasm(&self, name: &'static str, browser: Option<Browser>) -> Result<SuiteResult> {
        let packages: Vec<&str> = self
            .wasm_crates
            .iter()
            .filter(|krate| krate.has_wasm_tests)
            .map(|krate| krate.package)
            .collect();
        if packages.is_empty() {
            return Ok(
                SuiteResult::counted(name, Tally::default()).with_note(format!(
                    "no wasm-bindgen tests in {} yet",
                    wasm_crate_names()
                )),
            );
        }
        // tests/browser_async.rs runs the package's JavaScript (see crates/wasm/build.rs).
        let glue = pack::bundle_glue_script(self.root)?;
        let mut cmd = process::cargo();
        cmd.env("SWITCHYARD_GLUE", &glue);
        // No `-q`: the runner rejects `--quiet`. `--tests`: unit and integration tests, not
        // doc-tests (cross-compiled doc-tests have no wasm-bindgen tests in them; the runner would
        // report each as passed without running anything).
        cmd.args([
            "test",
            "--target",
            tools::WASM_TARGET,
            "--no-fail-fast",
            "--tests",
        ])
        .current_dir(self.root)
        .env("WASM_BINDGEN_TEST_TIMEOUT", test_timeout());
        for package in &packages {
            cmd.args(["-p", package]);
        }
        // Variables that would change where or how the runner runs tests.
        for variable in [
            "NO_HEADLESS",
            "WASM_BINDGEN_TEST_ONLY_NODE",
            "WASM_BINDGEN_TEST_ONLY_WEB",
            "WASM_BINDGEN_USE_BROWSER",
            "WASM_BINDGEN_USE_NODE_EXPERIMENTAL",
            "WASM_BINDGEN_USE_DENO",
            "WASM_BINDGEN_USE_DEDICATED_WORKER",
            "WASM_BINDGEN_USE_SHARED_WORKER",
            "WASM_BINDGEN_USE_SERVICE_WORKER",
        ] {
            cmd.env_remove(variable);
        }
        for driver in [
            "GECKODRIVER",
            "CHROMEDRIVER",
            "SAFARIDRIVER",
            "MSEDGEDRIVER",
        ] {
            cmd.env_remove(driver)
                .env_remove(format!("{driver}_REMOTE"));
        }
        match browser {
            None => {
                cmd.env("WASM_BINDGEN_TEST_ONLY_NODE", "1");
            }
            Some(Browser::Chromium) => {
                cmd.env("WASM_BINDGEN_TEST_ONLY_WEB", "1")
                    .env("CHROMEDRIVER", tools::CHROMEDRIVER);
            }
            Some(Browser::Firefox) => {
                cmd.env("WASM_BINDGEN_TEST_ONLY_WEB", "1")
                    .env("GECKODRIVER", tools::geckodriver());
            }
        }
        Ok(cargo_tests(name, &process::tee(&mut cmd)?))
    }

    /// The files of `tests/node` against the packed tarball, with the `node` on `PATH`, or with
    /// the one in `node_dir` first on `PATH` (child processes the tests start use it too).
    fn node(&mut self, node_dir: Option<&Path>) -> Result<SuiteResult> {
        let name = if node_dir.is_some() {
            "node-lts"
        } else {
            "node"
        };
        let dir = tools::js_dir(self.root).join("node");
        let files = node_test_files(&dir);
        if files.is_empty() {
            return Ok(SuiteResult::counted(name, Tally::default())
                .with_note("no tests in tests/node yet"));
        }
        let tarball = match self.tarball() {
            Ok(tarball) => tarball,
            Err(error) => {
                return Ok(SuiteResult::broken(
                    name,
                    format!("`cargo xtask pack` failed: {error}"),
                ))
            }
        };
        let mut env = vec![("SWITCHYARD_TARBALL", tarball)];
        if let Some(node_dir) = node_dir {
            env.push(("PATH", tools::path_with_first(node_dir)?));
        }
        self.run_node_tests(name, &files, &env, NODE_FILE_TIME_LIMIT)
    }

    /// The node suite again on the current Node.js LTS ([`tools::NODE_LTS_MAJOR`], from npm into
    /// `target/tools/`): users run the package on it, and V8 changes between majors (a lazy
    /// deoptimisation abort was version-dependent).
    fn node_lts(&mut self) -> Result<SuiteResult> {
        let node_dir = setup::node_lts(self.root)?;
        self.node(Some(&node_dir))
    }

    fn e2e(&mut self) -> Result<SuiteResult> {
        let dir = tools::js_dir(self.root).join("e2e");
        let files = node_test_files(&dir);
        if files.is_empty() {
            return Ok(SuiteResult::counted("e2e", Tally::default())
                .with_note("no tests in tests/e2e yet"));
        }
        let dist = self.root.join("dist");
        let mut trunk = Command::new("trunk");
        trunk
            .args(["build", "--release", "--dist"])
            .arg(&dist)
            .current_dir(self.root);
        pack::visualiser_build_env(&mut trunk);
        let build = process::tee(&mut trunk)?;
        if !build.success {
            return Ok(SuiteResult::broken(
                "e2e",
                format!("`trunk build --release` failed ({})", build.status),
            ));
        }
        let mut env = vec![("SWITCHYARD_DIST", dist)];
        let tarball_note = match self.tarball() {
            Ok(tarball) => {
                env.push(("SWITCHYARD_TARBALL", tarball));
                None
            }
            Err(error) => Some(format!(
                "ran without SWITCHYARD_TARBALL: `cargo xtask pack` failed: {error}"
            )),
        };
        let result = self.run_node_tests("e2e", &files, &env, E2E_FILE_TIME_LIMIT)?;
        Ok(match (tarball_note, result.note.clone()) {
            (Some(tarball), Some(note)) => result.with_note(format!("{note}; {tarball}")),
            (Some(tarball), None) => result.with_note(tarball),
            (None, _) => result,
        })
    }

    /// Runs each file with `node --test` from `tests/` (so `node_modules` resolves), one at a
    /// time under `limit`, and sums the counts: a file that hangs (a handle
    /// keeping its event loop alive) is stopped and counted as a failure without losing the
    /// other files' results.
    fn run_node_tests(
        &self,
        name: &'static str,
        files: &[PathBuf],
        env: &[(&str, PathBuf)],
        limit: Duration,
    ) -> Result<SuiteResult> {
        let js = tools::js_dir(self.root);
        let mut tally = Tally::default();
        let mut notes = Vec::new();
        for file in files {
            let relative = file.strip_prefix(&js).unwrap_or(file);
            let mut cmd = Command::new("node");
            // --expose-gc: leak tests force collections (node passes it on to the test process).
            cmd.args(["--expose-gc", "--test", "--test-reporter=spec"])
                .arg(relative)
                .current_dir(&js);
            for (key, value) in env {
                cmd.env(key, value);
            }
            let run = process::tee_with_limit(&mut cmd, Some(limit))?;
            let result = node_tests(name, &run);
            tally += result.tally;
            if run.timed_out {
                notes.push(format!(
                    "{} stopped after {} min: does it leave a timer, socket or child running?",
                    relative.display(),
                    limit.as_secs() / 60
                ));
            } else if let Some(note) = result.note {
                notes.push(format!("{}: {note}", relative.display()));
            }
        }
        let result = SuiteResult::counted(name, tally);
        Ok(if notes.is_empty() {
            result
        } else {
            result.with_note(notes.join("; "))
        })
    }

    /// The packed npm tarball, packing it on first use (the node and e2e suites share it).
    fn tarball(&mut self) -> Result<PathBuf, String> {
        let root = self.root;
        self.tarball
            .get_or_insert_with(|| {
                println!("== pack (for the node and e2e suites)");
                pack::run(root).map_err(|error| format!("{error:#}"))
            })
            .clone()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Browser {
    Chromium,
    Firefox,
}

fn test_timeout() -> String {
    std::env::var("WASM_BINDGEN_TEST_TIMEOUT").unwrap_or_else(|_| WASM_TEST_TIMEOUT_SECS.into())
}

fn wasm_crate_names() -> String {
    WASM_CRATES
        .iter()
        .map(|(package, _)| *package)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs each command as one pass/fail check (fmt, clippy).
fn checks(name: &'static str, commands: &mut [Command]) -> Result<SuiteResult> {
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    for cmd in commands.iter_mut() {
        let run = process::tee(cmd)?;
        if run.success {
            tally.passed += 1;
        } else {
            tally.failed += 1;
            failures.push(format!("`{}` failed", process::describe(cmd)));
        }
    }
    let result = SuiteResult::counted(name, tally);
    Ok(if failures.is_empty() {
        result
    } else {
        result.with_note(failures.join("; "))
    })
}

/// A suite result from `cargo test` output. A failed run that reported no failing test (a compile
/// error, a crashed binary, a browser that would not start) still counts as a failure.
fn cargo_tests(name: &'static str, run: &Teed) -> SuiteResult {
    let counts = summary::parse_cargo_test(&run.output);
    let mut tally = counts.tally;
    let unreported = counts.unreported_failures();
    tally.failed = tally.failed.saturating_add(unreported);
    let result = SuiteResult::counted(name, tally);
    if unreported > 0 {
        result.with_note(format!(
            "{unreported} test binaries failed without reporting results; see the output above"
        ))
    } else if !run.success && tally.failed == 0 {
        SuiteResult {
            tally: Tally {
                passed: tally.passed,
                failed: 1,
            },
            ..result
        }
        .with_note(format!(
            "cargo test failed ({}) before any test reported a failure: a build error?",
            run.status
        ))
    } else {
        result
    }
}

/// A suite result from `node --test` output, with the same rule as [`cargo_tests`].
fn node_tests(name: &'static str, run: &Teed) -> SuiteResult {
    match summary::parse_node_test(&run.output) {
        Some(tally) if run.success || tally.failed > 0 => SuiteResult::counted(name, tally),
        Some(tally) => SuiteResult::counted(
            name,
            Tally {
                passed: tally.passed,
                failed: 1,
            },
        )
        .with_note(format!(
            "node --test failed ({}) with no failing test",
            run.status
        )),
        None => SuiteResult::broken(
            name,
            format!("node --test printed no summary ({})", run.status),
        ),
    }
}

/// Test files under `dir` by node's own naming rules: `test.js`, `test-*.js`, `*.test.js`,
/// `*-test.js`, `*_test.js` (and `.mjs`, `.cjs`), skipping `node_modules`. Sorted.
fn node_test_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    collect_files(dir, &mut files);
    files.retain(|file| is_node_test_file(file));
    files.sort();
    files
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if entry.file_name() != "node_modules" {
                collect_files(&path, files);
            }
        } else {
            files.push(path);
        }
    }
}

fn is_node_test_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
        return false;
    };
    let Some(stem) = [".js", ".mjs", ".cjs"]
        .iter()
        .find_map(|extension| name.strip_suffix(extension))
    else {
        return false;
    };
    stem == "test"
        || stem.starts_with("test-")
        || [".test", "-test", "_test"]
            .iter()
            .any(|suffix| stem.ends_with(suffix))
}

/// What a wasm crate's sources say about its tests.
struct WasmCrate {
    package: &'static str,
    /// Some source has a plain `#[test]`: the crate takes part in the native suite.
    has_native_tests: bool,
    /// Some source uses `wasm_bindgen_test`: the crate takes part in the wasm suites.
    has_wasm_tests: bool,
    /// Some test target (the `src/` unit tests, or a `tests/` file) uses `wasm_bindgen_test`
    /// without `wasm_bindgen_test_configure!(run_in_...)`, so it runs in Node: `wasm-node` shows.
    has_node_tests: bool,
}

impl WasmCrate {
    fn scan(package: &'static str, dir: &Path) -> WasmCrate {
        let mut sources = Vec::new();
        collect_files(&dir.join("src"), &mut sources);
        let unit_text: String = sources
            .iter()
            .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
            .filter_map(|path| std::fs::read_to_string(path).ok())
            .collect();
        let mut targets = integration_tests(&dir.join("tests"));
        targets.push(("(unit tests)".to_owned(), unit_text));
        let uses = |text: &str, what: &str| text.contains(what);
        let runs_in_node = |text: &str| {
            uses(text, "wasm_bindgen_test")
                && ![
                    "run_in_browser",
                    "run_in_dedicated_worker",
                    "run_in_shared_worker",
                    "run_in_service_worker",
                ]
                .iter()
                .any(|config| uses(text, config))
        };
        WasmCrate {
            package,
            has_native_tests: targets.iter().any(|(_, text)| uses(text, "#[test]")),
            has_wasm_tests: targets
                .iter()
                .any(|(_, text)| uses(text, "wasm_bindgen_test")),
            has_node_tests: targets.iter().any(|(_, text)| runs_in_node(text)),
        }
    }
}

/// Integration test targets under `tests/`: `name.rs` files and `name/main.rs` folders, with the
/// text of their sources.
fn integration_tests(dir: &Path) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut targets = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let (name, files) = if path.is_dir() && path.join("main.rs").is_file() {
            let mut files = Vec::new();
            collect_files(&path, &mut files);
            (entry.file_name().to_string_lossy().into_owned(), files)
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let stem = path
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .unwrap_or_default();
            (stem, vec![path])
        } else {
            continue;
        };
        let text: String = files
            .iter()
            .filter_map(|file| std::fs::read_to_string(file).ok())
            .collect();
        targets.push((name, text));
    }
    targets.sort();
    targets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|arg| arg.to_string()).collect()
    }

    #[test]
    fn no_arguments_select_every_suite() {
        let selection = Selection::from_args(&[]).unwrap();
        assert!(Suite::ALL.iter().all(|suite| selection.includes(*suite)));
    }

    #[test]
    fn only_selects_the_named_suites_in_either_spelling() {
        for list in [
            args(&["--only", "native,fmt"]),
            args(&["--only=native, fmt"]),
        ] {
            let selection = Selection::from_args(&list).unwrap();
            assert!(selection.includes(Suite::Native));
            assert!(selection.includes(Suite::Fmt));
            assert!(!selection.includes(Suite::E2e));
        }
    }

    #[test]
    fn setup_installs_only_what_the_selected_suites_need() {
        let needs = |list: &[&str]| Selection::from_args(&args(list)).unwrap().needs();
        assert_eq!(needs(&[]), Needs::Everything);
        assert_eq!(needs(&["--only", "fmt,native"]), Needs::Rust);
        assert_eq!(needs(&["--only", "native,node"]), Needs::Package);
        assert_eq!(needs(&["--only", "fmt,wasm-firefox"]), Needs::Everything);
    }

    #[test]
    fn only_rejects_an_unknown_suite_and_lists_the_known_ones() {
        let error = Selection::from_args(&args(&["--only", "native,unit"])).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("unknown suite `unit`"), "{message}");
        assert!(message.contains("wasm-chromium"), "{message}");
    }

    #[test]
    fn only_rejects_an_empty_list_and_stray_arguments() {
        assert!(Selection::from_args(&args(&["--only", ","])).is_err());
        assert!(Selection::from_args(&args(&["--fast"])).is_err());
    }

    #[test]
    fn the_fuzz_and_no_std_suites_are_selectable_and_need_only_rust() {
        let selection = Selection::from_args(&args(&["--only", "fuzz,no-std"])).unwrap();
        assert!(selection.includes(Suite::Fuzz) && selection.includes(Suite::NoStd));
        assert!(!selection.includes(Suite::Native));
        assert_eq!(selection.needs(), Needs::Rust);
    }

    #[test]
    fn a_fuzz_run_reports_its_run_count_and_a_crash_its_input() {
        let done = "#4096 pulse cov: 12\nDone 47754 runs in 31 second(s)\n";
        assert_eq!(fuzz_runs(done), Some(47754));
        assert_eq!(fuzz_runs("error: could not compile"), None);
        let crash = "==1== ERROR: libFuzzer: deadly signal\n\
                     artifact_prefix='t/'; Test unit written to t/crash-ab12\nBase64: AA==\n";
        assert_eq!(fuzz_crash_input(crash), Some("t/crash-ab12"));
        assert_eq!(fuzz_crash_input(done), None);
    }

    #[test]
    fn node_test_files_follow_nodes_naming_rules() {
        for name in [
            "a.test.mjs",
            "a-test.js",
            "a_test.cjs",
            "test.js",
            "test-install.mjs",
        ] {
            assert!(is_node_test_file(Path::new(name)), "{name}");
        }
        for name in [
            "helpers.mjs",
            "fixture.json",
            "test.ts",
            "contest.js",
            "a.test.mjs.map",
        ] {
            assert!(!is_node_test_file(Path::new(name)), "{name}");
        }
    }

    #[test]
    fn a_failed_cargo_run_without_failing_tests_counts_one_failure() {
        let run = Teed {
            success: false,
            status: "exit status: 101".into(),
            output: "error[E0425]: cannot find value `x`\n".into(),
            timed_out: false,
        };
        let result = cargo_tests("native", &run);
        assert_eq!(
            result.tally,
            Tally {
                passed: 0,
                failed: 1
            }
        );
        assert!(result.note.is_some_and(|note| note.contains("101")));
    }

    #[test]
    fn a_node_run_without_a_summary_is_broken() {
        let run = Teed {
            success: false,
            status: "exit status: 1".into(),
            output: "SyntaxError: Unexpected token\n".into(),
            timed_out: false,
        };
        assert_eq!(
            node_tests("node", &run).tally,
            Tally {
                passed: 0,
                failed: 1
            }
        );
    }
}
