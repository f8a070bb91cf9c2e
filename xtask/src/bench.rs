//! `cargo xtask bench`: Switchyard against EventEmitter3, tseep, mitt, EventEmitter2, RxJS, emittery
//! and EventTarget in Node, headless Chromium and headless Firefox, plus the core's criterion
//! benchmarks; results in `target/bench/results.json` and `docs/BENCHMARKS.md` (issue 7).
//!
//! ```text
//! cargo xtask bench                       pack, install the tarball, run Node + Chromium + Firefox
//! cargo xtask bench --native              only the core's criterion benchmarks (cargo bench)
//! cargo xtask bench --runtime node,native any subset of node, chromium, firefox, native
//! cargo xtask bench --quick               few samples, for a smoke test; writes under target/bench/quick/
//! cargo xtask bench --only emit-3,churn   only the cases whose names start with these prefixes
//! cargo xtask bench --only app            only the realistic cases (`app-*`, what the goals judge)
//! cargo xtask bench --processes 5          each case family in 5 fresh processes per runtime,
//!                                          reported as medians (a JIT settles once per process)
//! ```
//!
//! The realistic cases (`app-*`: distinct listener functions, a payload per emit, polymorphic
//! and cold emit sites) and the best cases (listeners that are closures of one function, one
//! shared payload) run in separate Node processes and browser pages; the report leads with the
//! realistic ones.
//!
//! The JavaScript side lives in `tests/bench/` (`run.mjs` orchestrates; see its header). This
//! module builds the package with [`pack::run`], installs the tarball into a temporary folder as a
//! user would, runs `cargo bench` when asked and collects criterion's medians into
//! `native.json` (see [`criterion`]), then hands everything to `run.mjs`, which measures the JS
//! runtimes, merges with the results of runtimes not run this time, and regenerates the document.
//! A full run rewrites `docs/BENCHMARKS.md`; a `--quick` run never does (its numbers are not for
//! quoting), it writes `target/bench/quick/BENCHMARKS.md` instead.

mod criterion;

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::{bail, Context, Result};

use crate::pack;
use crate::process;
use crate::tools;

/// Where a benchmark runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Runtime {
    /// Node, in a child process of `run.mjs`.
    Node,
    /// Headless Chromium (`/usr/bin/chromium`).
    Chromium,
    /// Headless Firefox ESR.
    Firefox,
    /// The core's criterion benchmarks, natively (`cargo bench -p switchyard-core`).
    Native,
}

impl Runtime {
    const ALL: [Runtime; 4] = [
        Runtime::Node,
        Runtime::Chromium,
        Runtime::Firefox,
        Runtime::Native,
    ];

    /// The name used on the command line and in `results.json`.
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Node => "node",
            Runtime::Chromium => "chromium",
            Runtime::Firefox => "firefox",
            Runtime::Native => "native",
        }
    }

    fn is_javascript(self) -> bool {
        self != Runtime::Native
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Options of `cargo xtask bench`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The runtimes to measure, in order, without repeats.
    pub runtimes: Vec<Runtime>,
    /// Few samples: a smoke test whose results go under `target/bench/quick/`.
    pub quick: bool,
    /// Only the JS cases whose names start with one of these prefixes (empty: all).
    pub only: Vec<String>,
    /// Fresh processes (Node) or browsers per case family and runtime; rows report the median
    /// over them and ratios the median of per-process ratios (`tests/bench/processes.mjs`).
    pub processes: u32,
}

impl Options {
    /// Node, Chromium and Firefox (`native: false`) or the criterion benchmarks (`native: true`).
    pub fn new(native: bool) -> Options {
        let runtimes = if native {
            vec![Runtime::Native]
        } else {
            vec![Runtime::Node, Runtime::Chromium, Runtime::Firefox]
        };
        Options {
            runtimes,
            quick: false,
            only: Vec::new(),
            processes: 1,
        }
    }

    /// Parses `[--native] [--runtime LIST] [--quick] [--only PREFIXES] [--processes N]`. `--native` alone means
    /// `--runtime native`; with `--runtime` it adds `native` to the list.
    pub fn from_args(args: &[String]) -> Result<Options> {
        let mut native = false;
        let mut listed: Option<Vec<Runtime>> = None;
        let mut quick = false;
        let mut only = Vec::new();
        let mut processes = 1;
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            match flag.as_str() {
                "--native" => native = true,
                "--quick" => quick = true,
                "--processes" => {
                    let value = args.next().context("`--processes` needs a number")?;
                    processes = parse_processes(value)?;
                }
                "--runtime" | "--only" => {
                    let value = args
                        .next()
                        .with_context(|| format!("`{flag}` needs a comma-separated list"))?;
                    if flag == "--runtime" {
                        listed = Some(parse_runtimes(value)?);
                    } else {
                        only = parse_prefixes(value)?;
                    }
                }
                other => bail!(
                    "`bench` takes `--native`, `--runtime LIST`, `--quick`, `--only PREFIXES` and `--processes N`, got `{other}`"
                ),
            }
        }
        let mut runtimes = match listed {
            Some(list) => list,
            None => Options::new(native).runtimes,
        };
        if native && !runtimes.contains(&Runtime::Native) {
            runtimes.push(Runtime::Native);
        }
        Ok(Options {
            runtimes,
            quick,
            only,
            processes,
        })
    }

    fn javascript_runtimes(&self) -> Vec<Runtime> {
        self.runtimes
            .iter()
            .copied()
            .filter(|r| r.is_javascript())
            .collect()
    }

    /// The command line that reproduces this run, as recorded in the document.
    pub fn command_line(&self) -> String {
        let mut line = String::from("cargo xtask bench");
        if self.runtimes == [Runtime::Native] {
            line.push_str(" --native");
        } else if self.runtimes != Options::new(false).runtimes {
            let names: Vec<&str> = self.runtimes.iter().map(|r| r.name()).collect();
            line.push_str(" --runtime ");
            line.push_str(&names.join(","));
        }
        if self.quick {
            line.push_str(" --quick");
        }
        if !self.only.is_empty() {
            line.push_str(" --only ");
            line.push_str(&self.only.join(","));
        }
        if self.processes > 1 {
            line.push_str(&format!(" --processes {}", self.processes));
        }
        line
    }
}

fn parse_runtimes(list: &str) -> Result<Vec<Runtime>> {
    let mut runtimes = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let runtime = Runtime::ALL
            .into_iter()
            .find(|r| r.name() == name)
            .with_context(|| {
                format!("`--runtime {list}`: unknown runtime `{name}` (expected node, chromium, firefox or native)")
            })?;
        if !runtimes.contains(&runtime) {
            runtimes.push(runtime);
        }
    }
    if runtimes.is_empty() {
        bail!("`--runtime {list}` names no runtime (expected node, chromium, firefox or native)");
    }
    Ok(runtimes)
}

fn parse_processes(value: &str) -> Result<u32> {
    match value.parse::<u32>() {
        Ok(n @ 1..=25) => Ok(n),
        _ => bail!("`--processes {value}`: expected a whole number from 1 to 25"),
    }
}

fn parse_prefixes(list: &str) -> Result<Vec<String>> {
    let prefixes: Vec<String> = list
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    let valid = |p: &String| {
        p.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    if prefixes.is_empty() || !prefixes.iter().all(valid) {
        bail!("`--only {list}`: expected case-name prefixes such as `emit-3,wildcard,throughput`");
    }
    Ok(prefixes)
}

/// Runs what `options` asks for and regenerates the report; see the module docs.
/// (`Options::new(native)` gives the plain `cargo xtask bench [--native]`.)
pub fn run_with(root: &Path, options: &Options) -> Result<()> {
    let out_dir = if options.quick {
        root.join("target/bench/quick")
    } else {
        root.join("target/bench")
    };
    let doc = if options.quick {
        out_dir.join("BENCHMARKS.md")
    } else {
        root.join("docs/BENCHMARKS.md")
    };
    fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let command_line = options.command_line();

    if options.runtimes.contains(&Runtime::Native) {
        println!("== bench: native (criterion)");
        run_native(root, &out_dir, options.quick, &command_line)?;
    }

    let javascript = options.javascript_runtimes();
    let install = if javascript.is_empty() {
        None
    } else {
        println!("== bench: pack and install the npm package");
        let tarball = pack::run(root)?;
        Some(TempInstall::of(&tarball)?)
    };

    println!("== bench: {}", command_line);
    let names: Vec<&str> = javascript.iter().map(|r| r.name()).collect();
    let mut node = Command::new("node");
    node.current_dir(tools::js_dir(root))
        .arg("bench/run.mjs")
        .arg("--runtime")
        .arg(names.join(","))
        .arg("--out")
        .arg(&out_dir)
        .arg("--doc")
        .arg(&doc)
        .arg("--command")
        .arg(&command_line)
        .arg("--processes")
        .arg(options.processes.to_string());
    if let Some(install) = &install {
        node.arg("--install").arg(&install.dir);
    }
    if options.quick {
        node.arg("--quick");
    }
    if !options.only.is_empty() {
        node.arg("--only").arg(options.only.join(","));
    }
    process::run(&mut node)?;
    println!(
        "results: {}\nreport:  {}",
        out_dir.join("results.json").display(),
        doc.display()
    );
    Ok(())
}

/// Runs `cargo bench -p switchyard-core --bench '*'` (every criterion target; not the library's
/// libtest harness, which would reject criterion's flags) and writes criterion's medians and the
/// printed footprint lines to `<out_dir>/native.json`.
fn run_native(root: &Path, out_dir: &Path, quick: bool, command_line: &str) -> Result<()> {
    let criterion_home = root.join("target/criterion");
    let started = SystemTime::now();
    let mut cargo = process::cargo();
    cargo
        .current_dir(root)
        .env("CRITERION_HOME", &criterion_home)
        .args([
            "bench",
            "-p",
            "switchyard-core",
            "--bench",
            "*",
            "--",
            "--noplot",
        ]);
    if quick {
        cargo.arg("--quick");
    }
    let run = process::tee(&mut cargo)?;
    if !run.success {
        bail!("`{}` failed ({})", process::describe(&cargo), run.status);
    }
    let benchmarks = criterion::collect(&criterion_home, started)?;
    if benchmarks.is_empty() {
        bail!(
            "`cargo bench -p switchyard-core` ran but left no fresh estimates under {}",
            criterion_home.display()
        );
    }
    let rustc = tools::version_of("rustc").map(|v| format!("rustc {v}"));
    let report = criterion::NativeReport {
        command: command_line.to_owned(),
        date: criterion::iso8601_utc(SystemTime::now()),
        rustc,
        benchmarks,
        footprint: criterion::footprint_lines(&run.output),
    };
    let path = out_dir.join("native.json");
    fs::write(&path, report.to_json()).with_context(|| format!("writing {}", path.display()))?;
    println!(
        "native: {} benchmarks -> {}",
        report.benchmarks.len(),
        path.display()
    );
    Ok(())
}

/// A temporary folder with the packed tarball installed by npm, removed when dropped.
struct TempInstall {
    dir: PathBuf,
}

impl TempInstall {
    fn of(tarball: &Path) -> Result<TempInstall> {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let dir =
            std::env::temp_dir().join(format!("switchyard-bench-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let install = TempInstall { dir };
        fs::write(
            install.dir.join("package.json"),
            "{ \"name\": \"switchyard-bench\", \"private\": true, \"type\": \"module\" }\n",
        )
        .context("writing the temporary package.json")?;
        let mut npm = Command::new("npm");
        npm.current_dir(&install.dir)
            .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
            .arg(tarball);
        process::run(&mut npm)?;
        Ok(install)
    }
}

impl Drop for TempInstall {
    fn drop(&mut self) {
        // Best effort: a leftover folder in the temp dir is harmless.
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn no_options_means_the_three_javascript_runtimes() {
        let options = Options::from_args(&[]).unwrap();
        assert_eq!(
            options.runtimes,
            [Runtime::Node, Runtime::Chromium, Runtime::Firefox]
        );
        assert!(!options.quick);
        assert_eq!(options.command_line(), "cargo xtask bench");
    }

    #[test]
    fn native_alone_runs_only_the_criterion_benchmarks() {
        let options = Options::from_args(&args(&["--native"])).unwrap();
        assert_eq!(options.runtimes, [Runtime::Native]);
        assert_eq!(options, Options::new(true));
        assert_eq!(options.command_line(), "cargo xtask bench --native");
    }

    #[test]
    fn runtime_list_is_deduplicated_and_native_is_appended() {
        let options = Options::from_args(&args(&[
            "--runtime",
            "firefox,node,firefox",
            "--native",
            "--quick",
        ]))
        .unwrap();
        assert_eq!(
            options.runtimes,
            [Runtime::Firefox, Runtime::Node, Runtime::Native]
        );
        assert_eq!(
            options.command_line(),
            "cargo xtask bench --runtime firefox,node,native --quick"
        );
    }

    #[test]
    fn unknown_runtime_is_an_error_naming_it() {
        let error = Options::from_args(&args(&["--runtime", "node,deno"])).unwrap_err();
        assert!(error.to_string().contains("`deno`"), "{error}");
    }

    #[test]
    fn flags_needing_a_value_say_so_when_it_is_missing() {
        let error = Options::from_args(&args(&["--runtime"])).unwrap_err();
        assert!(error.to_string().contains("`--runtime` needs"), "{error}");
        let error = Options::from_args(&args(&["--only", ""])).unwrap_err();
        assert!(error.to_string().contains("prefixes"), "{error}");
    }

    #[test]
    fn unknown_flag_is_rejected() {
        let error = Options::from_args(&args(&["--fast"])).unwrap_err();
        assert!(error.to_string().contains("`--fast`"), "{error}");
    }

    #[test]
    fn only_keeps_the_case_prefixes_in_the_command_line() {
        let options = Options::from_args(&args(&["--only", "emit-3, churn"])).unwrap();
        assert_eq!(options.only, ["emit-3", "churn"]);
        assert_eq!(
            options.command_line(),
            "cargo xtask bench --only emit-3,churn"
        );
    }

    #[test]
    fn processes_are_a_bounded_count_kept_in_the_command_line() {
        let options =
            Options::from_args(&args(&["--runtime", "firefox", "--processes", "5"])).unwrap();
        assert_eq!(options.processes, 5);
        assert_eq!(
            options.command_line(),
            "cargo xtask bench --runtime firefox --processes 5"
        );
        for bad in ["0", "26", "two", "-1"] {
            let error = Options::from_args(&args(&["--processes", bad])).unwrap_err();
            assert!(error.to_string().contains("--processes"), "{error}");
        }
        assert_eq!(Options::from_args(&[]).unwrap().processes, 1);
    }
}
