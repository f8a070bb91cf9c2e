//! The external tools the workflow needs: pinned versions, where they live, how to ask a
//! version, and the process environment every child inherits.
//!
//! The pins and the reasons for them are in `docs/DEVELOPING.md` ("What setup installs").
//!
//! ```ignore
//! tools::prepare_environment(&root)?; // once, first thing in main
//! assert_eq!(tools::version_of("trunk").as_deref(), Some(tools::TRUNK_VERSION));
//! ```

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::process;

/// The Rust target the engine, the bindings and the visualiser compile to.
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// `wasm-bindgen-cli`: must equal the workspace's `wasm-bindgen = "=0.2.130"` pin exactly.
pub const WASM_BINDGEN_VERSION: &str = "0.2.130";
/// Trunk: 0.22 needs rustc 1.96; this machine has 1.95.
pub const TRUNK_VERSION: &str = "0.21.14";
/// geckodriver, the WebDriver server for Firefox.
pub const GECKODRIVER_VERSION: &str = "0.37.1";
/// `wasm-opt` from npm `binaryen@132.0.0` (Debian's binaryen 108 breaks wasm-bindgen output).
pub const WASM_OPT_VERSION: &str = "132";
/// The oldest Node the JS tests run on (major, minor): Vite 8 in `tests/node/vite.test.mjs`
/// needs 20.19; the package itself runs on any Node 20.
pub const NODE_MIN: (u64, u64) = (20, 19);
/// The Node.js major the `node-lts` test suite runs on besides the `node` on `PATH`: the
/// active LTS line (2026-12). Installed from npm (`node-<os>-<arch>`) into [`node_lts_dir`].
pub const NODE_LTS_MAJOR: u64 = 24;

/// Debian's Chromium.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's ChromeDriver (package `chromium-driver`), same version as [`CHROMIUM`].
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Debian's Firefox ESR.
pub const FIREFOX: &str = "/usr/bin/firefox-esr";

/// Where `cargo install` puts binaries: `$CARGO_HOME/bin`, by default `~/.cargo/bin`.
pub fn cargo_bin_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CARGO_HOME").filter(|home| !home.is_empty()) {
        return PathBuf::from(home).join("bin");
    }
    let home = std::env::var_os("HOME").unwrap_or_default();
    PathBuf::from(home).join(".cargo").join("bin")
}

/// The JS side's folder (`package.json`, `node_modules`, the Node and end-to-end tests).
pub fn js_dir(root: &Path) -> PathBuf {
    root.join("tests")
}

/// `tests/node_modules/.bin`, home of `wasm-opt` 132 (npm `binaryen`), `tsc` and `playwright-core`.
pub fn node_bin_dir(root: &Path) -> PathBuf {
    js_dir(root).join("node_modules").join(".bin")
}

/// Where the Node.js LTS binary is installed: `target/tools/node-<major>`.
pub fn node_lts_dir(root: &Path) -> PathBuf {
    root.join("target")
        .join("tools")
        .join(format!("node-{NODE_LTS_MAJOR}"))
}

/// `PATH` with `dir` in front, for a child process that must find a program there first.
pub fn path_with_first(dir: &Path) -> anyhow::Result<PathBuf> {
    let rest = std::env::var_os("PATH").unwrap_or_default();
    let paths = std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&rest));
    Ok(PathBuf::from(std::env::join_paths(paths)?))
}

/// The geckodriver binary `setup` installs.
pub fn geckodriver() -> PathBuf {
    cargo_bin_dir().join("geckodriver")
}

/// Sets up this process's environment, which every child inherits:
/// - `PATH` starts with `tests/node_modules/.bin` (so `wasm-opt` is binaryen 132 whatever else
///   is installed) and then the cargo bin directory (trunk, wasm-bindgen, geckodriver);
/// - `TRUNK_SKIP_VERSION_CHECK=true` (Trunk must not try to reach GitHub);
/// - an empty `CHROMEDRIVER`, `GECKODRIVER`, `SAFARIDRIVER` or `MSEDGEDRIVER` is removed (the
///   wasm-bindgen test runner would try to start an empty path and exit 1).
///
/// Call it once, at start-up, before any thread is spawned.
pub fn prepare_environment(root: &Path) -> Result<()> {
    let mut dirs = vec![node_bin_dir(root), cargo_bin_dir()];
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    let path: OsString = std::env::join_paths(dirs).context("a PATH entry contains `:`")?;
    std::env::set_var("PATH", path);
    std::env::set_var("TRUNK_SKIP_VERSION_CHECK", "true");
    for driver in [
        "CHROMEDRIVER",
        "GECKODRIVER",
        "SAFARIDRIVER",
        "MSEDGEDRIVER",
    ] {
        if std::env::var_os(driver).is_some_and(|value| value.is_empty()) {
            std::env::remove_var(driver);
        }
    }
    Ok(())
}

/// The version `program --version` reports, or `None` if it is missing or does not answer.
pub fn version_of(program: impl AsRef<std::ffi::OsStr>) -> Option<String> {
    let text = process::capture(Command::new(program).arg("--version")).ok()?;
    first_version(&text).map(str::to_owned)
}

/// The first word of `text` that starts with a digit, without trailing punctuation:
/// `"trunk 0.21.14"` gives `0.21.14`, `"wasm-opt version 132 (version_132)"` gives `132`,
/// `"v20.20.2"` gives `20.20.2`.
pub fn first_version(text: &str) -> Option<&str> {
    text.split_whitespace()
        .map(|word| word.strip_prefix('v').unwrap_or(word))
        .find(|word| word.starts_with(|c: char| c.is_ascii_digit()))
        .map(|word| word.trim_end_matches(|c: char| !c.is_ascii_alphanumeric()))
}

/// `(major, minor)` of a version such as `20.19.2` (a leading `v` is allowed).
pub fn major_minor(version: &str) -> Option<(u64, u64)> {
    let mut parts = version.trim_start_matches('v').split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |m| m.parse().ok())?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn major_minor_reads_node_style_versions() {
        assert_eq!(major_minor("v20.19.2"), Some((20, 19)));
        assert_eq!(major_minor("22.12.0"), Some((22, 12)));
        assert_eq!(major_minor("21"), Some((21, 0)));
        assert_eq!(major_minor("x.1"), None);
    }

    #[test]
    fn first_version_reads_the_number_after_the_tool_name() {
        assert_eq!(first_version("trunk 0.21.14\n"), Some("0.21.14"));
        assert_eq!(first_version("wasm-bindgen 0.2.130"), Some("0.2.130"));
        assert_eq!(
            first_version("geckodriver 0.37.1 (abc 2026-01-01)\n\nThe source is..."),
            Some("0.37.1")
        );
    }

    #[test]
    fn first_version_skips_words_before_the_number_and_a_leading_v() {
        assert_eq!(
            first_version("wasm-opt version 132 (version_132)"),
            Some("132")
        );
        assert_eq!(first_version("v20.20.2"), Some("20.20.2"));
        assert_eq!(
            first_version("Mozilla Firefox 153.7.0esr"),
            Some("153.7.0esr")
        );
    }

    #[test]
    fn first_version_is_none_when_no_word_starts_with_a_digit() {
        assert_eq!(first_version("command not found"), None);
        assert_eq!(first_version(""), None);
    }
}
