//! `cargo xtask setup`: install what is missing, skip what is already right.
//!
//! Each step asks the installed tool for its version first and only installs on a mismatch,
//! so a second run costs seconds. One line per tool:
//!
//! ```text
//! ok rustc 1.95.0
//! ok wasm32-unknown-unknown target (already installed)
//! ok trunk 0.21.14 (already installed)
//! ok cargo-fuzz 0.13.2 (already installed)
//! installed geckodriver 0.37.1
//! ```
//!
//! A failing step stops the run with a message naming what failed and what to do.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::process;
use crate::tools::{self, CHROMEDRIVER, CHROMIUM, FIREFOX};

/// What the command about to run needs installed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Needs {
    /// The Rust toolchain with rustfmt and clippy: native tests and benchmarks, fmt.
    Rust,
    /// `pack`: adds the wasm target, wasm-bindgen-cli, `tests/node_modules` (wasm-opt) and
    /// Trunk (the package ships the visualiser for `switchyard/devtools`).
    Package,
    /// The same as [`Needs::Package`]: `demo`.
    Visualiser,
    /// + Chromium, ChromeDriver, Firefox ESR, geckodriver: `test`, `setup`.
    Everything,
}

/// Checks and installs everything `needs` asks for.
pub fn run(root: &Path, needs: Needs) -> Result<()> {
    println!("== setup");
    rust_toolchain()?;
    rust_components()?;
    if needs >= Needs::Package {
        wasm_target()?;
        node_and_npm()?;
        js_dependencies(root)?;
        wasm_bindgen()?;
        warn_about_debian_binaryen();
        cargo_install(&CargoTool {
            name: "trunk",
            krate: "trunk",
            version: tools::TRUNK_VERSION,
            locked: true,
            minutes: 8,
        })?;
    }
    if needs == Needs::Everything {
        no_std_target()?;
        cargo_fuzz()?;
        node_lts(root)?;
        browsers()?;
        cargo_install(&CargoTool {
            name: "geckodriver",
            krate: "geckodriver",
            version: tools::GECKODRIVER_VERSION,
            locked: true,
            minutes: 2,
        })?;
    }
    Ok(())
}

fn rust_toolchain() -> Result<()> {
    let rustc = tools::version_of("rustc")
        .context("`rustc --version` failed: install Rust with rustup (https://rustup.rs)")?;
    println!("ok rustc {rustc}");
    Ok(())
}

fn rust_components() -> Result<()> {
    let answers = |subcommand: &str| {
        process::capture(process::cargo().args([subcommand, "--version"])).is_ok()
    };
    if answers("fmt") && answers("clippy") {
        println!("ok rustfmt and clippy (already installed)");
        return Ok(());
    }
    process::run(Command::new("rustup").args(["component", "add", "rustfmt", "clippy"])).context(
        "installing rustfmt and clippy failed; run `rustup component add rustfmt clippy`",
    )?;
    println!("installed rustfmt and clippy");
    Ok(())
}

fn wasm_target() -> Result<()> {
    rust_target(tools::WASM_TARGET)
}

/// The bare-metal target the `no-std` suite builds the core for: a Cortex-M4/M7 without an
/// operating system or `std` (what rustls's CI checks with `thumbv7em-none-eabi` too).
pub const NO_STD_TARGET: &str = "thumbv7em-none-eabi";

/// The no-std target's standard library (`core` + `alloc`), for the `no-std` suite.
pub fn no_std_target() -> Result<()> {
    rust_target(NO_STD_TARGET)
}

/// Adds `target` with rustup unless its standard library is already in the sysroot.
fn rust_target(target: &str) -> Result<()> {
    let sysroot = process::capture(Command::new("rustc").args(["--print", "sysroot"]))?;
    let target_dir = Path::new(sysroot.trim()).join("lib/rustlib").join(target);
    if target_dir.is_dir() {
        println!("ok {target} target (already installed)");
        return Ok(());
    }
    process::run(Command::new("rustup").args(["target", "add", target])).with_context(|| {
        format!("adding the {target} target failed; run `rustup target add {target}`")
    })?;
    println!("installed {target} target");
    Ok(())
}

/// cargo-fuzz, which builds and runs the core's libFuzzer targets (the `fuzz` suite). It
/// works on the stable toolchain with `RUSTC_BOOTSTRAP=1` and `--sanitizer none`.
pub const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Installs cargo-fuzz [`CARGO_FUZZ_VERSION`] unless `cargo-fuzz --version` reports it.
pub fn cargo_fuzz() -> Result<()> {
    cargo_install(&CargoTool {
        name: "cargo-fuzz",
        krate: "cargo-fuzz",
        version: CARGO_FUZZ_VERSION,
        locked: true,
        // Measured: 5 min 26 s on two busy cores.
        minutes: 6,
    })
}

fn node_and_npm() -> Result<()> {
    let node = tools::version_of("node").with_context(|| {
        format!(
            "`node` was not found: install Node.js {}.{} or newer (with npm)",
            tools::NODE_MIN.0,
            tools::NODE_MIN.1
        )
    })?;
    if tools::major_minor(&node).is_none_or(|version| version < tools::NODE_MIN) {
        bail!(
            "Node.js {node} is too old: the tests need Node.js {}.{} or newer",
            tools::NODE_MIN.0,
            tools::NODE_MIN.1
        );
    }
    let npm = tools::version_of("npm").context("`npm` was not found: install npm with Node.js")?;
    println!("ok node {node}, npm {npm}");
    Ok(())
}

/// The Node.js LTS binary for the `node-lts` suite: npm's `node-<os>-<arch>` package at
/// [`tools::NODE_LTS_MAJOR`], installed into [`tools::node_lts_dir`] unless a binary of that major
/// is already there. Returns the folder holding the `node` binary.
pub fn node_lts(root: &Path) -> Result<std::path::PathBuf> {
    let os = match std::env::consts::OS {
        "linux" => "linux",
        "macos" => "darwin",
        other => bail!("the node-lts suite has no Node.js package for the OS `{other}`"),
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        other => bail!("the node-lts suite has no Node.js package for the CPU `{other}`"),
    };
    let package = format!("node-{os}-{arch}");
    let prefix = tools::node_lts_dir(root);
    let bin = prefix.join("node_modules").join(&package).join("bin");
    let major = tools::NODE_LTS_MAJOR;
    let installed = |bin: &Path| {
        tools::version_of(bin.join("node"))
            .filter(|version| tools::major_minor(version).is_some_and(|(m, _)| m == major))
    };
    if let Some(version) = installed(&bin) {
        println!("ok node {version} for the node-lts suite (already installed)");
        return Ok(bin);
    }
    fs::create_dir_all(&prefix).with_context(|| format!("creating {}", prefix.display()))?;
    let mut npm = Command::new("npm");
    npm.args([
        "install",
        "--no-save",
        "--no-audit",
        "--no-fund",
        "--prefix",
    ])
    .arg(&prefix)
    .arg(format!("{package}@{major}"));
    process::run(&mut npm).with_context(|| {
        format!("`npm install {package}@{major}` failed; check that the npm registry is reachable")
    })?;
    let version = installed(&bin).with_context(|| {
        format!(
            "{} is not a Node.js {major} binary",
            bin.join("node").display()
        )
    })?;
    println!("installed node {version} for the node-lts suite");
    Ok(bin)
}

/// `npm ci` in `tests/` unless `node_modules` was installed from this very `package-lock.json`.
///
/// Freshness is judged by content, not by age: after each install a copy of the lock is kept as
/// [`INSTALLED_LOCK`] inside `node_modules`. (Ages misled in git worktrees, whose checked-out lock
/// is always newer; `npm ci` then ran through a worktree's symlinked `node_modules` and emptied
/// the folder it pointed to.) A symlinked `node_modules` is never reinstalled through the link.
fn js_dependencies(root: &Path) -> Result<()> {
    let js = tools::js_dir(root);
    let lock = fs::read(js.join("package-lock.json")).context("reading tests/package-lock.json")?;
    let modules = js.join("node_modules");
    let installed_lock = modules.join(INSTALLED_LOCK);
    if fs::read(&installed_lock).is_ok_and(|installed| installed == lock) {
        println!("ok tests/node_modules (already installed)");
    } else {
        if modules
            .symlink_metadata()
            .is_ok_and(|meta| meta.file_type().is_symlink())
        {
            bail!(
                "{} is a symlink and was not installed from this package-lock.json: run `npm ci` \
                 where it points, or replace the link with a folder",
                modules.display()
            );
        }
        let mut npm = Command::new("npm");
        npm.args(["ci", "--no-audit", "--no-fund"]).current_dir(&js);
        process::run(&mut npm).with_context(|| {
            format!(
                "`npm ci` in {} failed; check that the npm registry is reachable and run it there by hand",
                js.display()
            )
        })?;
        fs::write(&installed_lock, &lock)
            .with_context(|| format!("writing {}", installed_lock.display()))?;
        println!("installed tests/node_modules (npm ci)");
    }
    let wasm_opt = tools::node_bin_dir(root).join("wasm-opt");
    match tools::version_of(&wasm_opt) {
        Some(version) if version == tools::WASM_OPT_VERSION => {
            println!("ok wasm-opt {version} (npm binaryen, tests/node_modules/.bin)");
            Ok(())
        }
        found => bail!(
            "{} reports version {found:?}, expected {}: check `binaryen` in tests/package.json, then \
             `rm -rf tests/node_modules` and run setup again",
            wasm_opt.display(),
            tools::WASM_OPT_VERSION
        ),
    }
}

/// The copy of `package-lock.json` kept in `node_modules` by the install it describes.
const INSTALLED_LOCK: &str = ".switchyard-installed-lock.json";

/// wasm-bindgen-cli, which provides both `wasm-bindgen` and `wasm-bindgen-test-runner`.
/// Installed without `--locked`: the lock file it ships pins a crate version the registry lacks.
fn wasm_bindgen() -> Result<()> {
    let wanted = tools::WASM_BINDGEN_VERSION;
    let versions = || {
        (
            tools::version_of("wasm-bindgen"),
            tools::version_of("wasm-bindgen-test-runner"),
        )
    };
    let right = |(cli, runner): &(Option<String>, Option<String>)| {
        cli.as_deref() == Some(wanted) && runner.as_deref() == Some(wanted)
    };
    if right(&versions()) {
        println!("ok wasm-bindgen {wanted} (already installed)");
        return Ok(());
    }
    let tool = CargoTool {
        name: "wasm-bindgen",
        krate: "wasm-bindgen-cli",
        version: wanted,
        locked: false,
        minutes: 3,
    };
    tool.install()?;
    let found = versions();
    if !right(&found) {
        bail!(
            "after installing wasm-bindgen-cli {wanted}, `wasm-bindgen --version` and \
             `wasm-bindgen-test-runner --version` report {found:?}: another copy earlier on PATH? \
             (PATH is {})",
            std::env::var("PATH").unwrap_or_default()
        );
    }
    println!("installed wasm-bindgen {wanted}");
    Ok(())
}

fn warn_about_debian_binaryen() {
    for dir in ["/usr/bin", "/usr/local/bin"] {
        let path = Path::new(dir).join("wasm-opt");
        if path.exists() {
            println!(
                "warning: {} exists (Debian's binaryen?). xtask puts wasm-opt 132 first on PATH, \
                 but Trunk or wasm-pack run by hand may pick that one up and emit broken wasm: \
                 `apt-get remove binaryen`",
                path.display()
            );
        }
    }
}

/// Chromium, ChromeDriver and Firefox ESR from Debian, installed together with one `apt-get update`.
fn browsers() -> Result<()> {
    let wanted = [
        ("chromium", CHROMIUM),
        ("chromium-driver", CHROMEDRIVER),
        ("firefox-esr", FIREFOX),
    ];
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|(_, binary)| !Path::new(binary).exists())
        .map(|(package, _)| *package)
        .collect();
    if !missing.is_empty() {
        let packages = missing.join(" ");
        if !is_root() {
            bail!(
                "{packages} missing (no {}); as root, run:\n  apt-get update && \
                 DEBIAN_FRONTEND=noninteractive apt-get install -y {packages}\nthen run this again",
                wanted
                    .iter()
                    .filter(|(package, _)| missing.contains(package))
                    .map(|(_, binary)| *binary)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        println!("installing {packages} with apt-get (about a minute)...");
        let apt = |args: &[&str]| {
            let mut cmd = Command::new("apt-get");
            cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
            process::run(&mut cmd).with_context(|| {
                format!(
                    "`apt-get {}` failed; check the Debian mirrors are reachable and run it by hand",
                    args.join(" ")
                )
            })
        };
        apt(&["update"])?;
        let mut install = vec!["install", "-y"];
        install.extend(&missing);
        apt(&install)?;
    }
    for (package, binary) in wanted {
        let version = tools::version_of(binary).with_context(|| {
            format!(
                "`{binary} --version` failed; reinstall it: apt-get install --reinstall {package}"
            )
        })?;
        let how = if missing.contains(&package) {
            "installed"
        } else {
            "ok"
        };
        let note = if how == "ok" {
            " (already installed)"
        } else {
            ""
        };
        println!("{how} {package} {version}{note}");
    }
    Ok(())
}

fn is_root() -> bool {
    process::capture(Command::new("id").arg("-u")).is_ok_and(|uid| uid.trim() == "0")
}

/// A binary crate installed with `cargo install` into the cargo bin directory.
struct CargoTool {
    /// The binary, asked `--version`.
    name: &'static str,
    /// The crate on crates.io.
    krate: &'static str,
    version: &'static str,
    /// Whether to pass `--locked` (use the crate's own lock file).
    locked: bool,
    /// Roughly how long it takes on two cores, to tell the user.
    minutes: u32,
}

impl CargoTool {
    fn install(&self) -> Result<()> {
        println!(
            "installing {} {} with cargo install (about {} min on 2 cores)...",
            self.name, self.version, self.minutes
        );
        let mut cmd = process::cargo();
        cmd.args(["install", self.krate, "--version", self.version]);
        if self.locked {
            cmd.arg("--locked");
        }
        process::run(&mut cmd).with_context(|| {
            format!(
                "installing {} {} failed; run `{}` by hand to see why (it needs crates.io and a C \
                 linker); a partial install can be retried safely",
                self.krate,
                self.version,
                process::describe(&cmd)
            )
        })
    }
}

fn cargo_install(tool: &CargoTool) -> Result<()> {
    if tools::version_of(tool.name).as_deref() == Some(tool.version) {
        println!("ok {} {} (already installed)", tool.name, tool.version);
        return Ok(());
    }
    tool.install()?;
    match tools::version_of(tool.name) {
        Some(found) if found == tool.version => {
            println!("installed {} {}", tool.name, tool.version);
            Ok(())
        }
        found => bail!(
            "after installing {} {}, `{} --version` reports {found:?}: is another copy earlier on PATH?",
            tool.krate,
            tool.version,
            tool.name
        ),
    }
}
