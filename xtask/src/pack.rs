//! `cargo xtask pack`: builds the npm package `switchyard` (issue 5) and packs it.
//!
//! 1. `cargo build --release --target wasm32-unknown-unknown -p switchyard-wasm`
//!    (the release profile has `opt-level = "z"`, LTO and `panic = "abort"`);
//! 2. `wasm-bindgen` twice: `--target web` for browsers and bundlers (`web/`), `--target
//!    nodejs` for Node, which instantiates synchronously (`node/`, CommonJS; the ESM entry
//!    re-exports it so both module systems share one instance);
//! 3. `wasm-opt -Oz` from npm binaryen 132 (`tests/node_modules/.bin`; never Debian's, which
//!    breaks wasm-bindgen 0.2.130 output);
//! 4. the entry files from `crates/wasm/js/` with the shared glue pasted in, `package.json`
//!    with the workspace version, `index.d.ts`, and the documents written for npm users
//!    ([`PACKAGE_DOCS`]: the package README `crates/wasm/js/README.md`, not the repository's,
//!    and the API reference as `API.md`), whose relative links must all resolve inside the
//!    package (checked: a dead link fails the pack);
//! 5. `npm pack` into `<target>/npm/switchyard-<version>.tgz`.
//!
//! It reports the size of what a browser loads against the 40 KB budget and writes it to
//! `<target>/npm/size.json`. The budget counts the package as a browser user ships it: the
//! `.wasm` gzipped (`gzip -9`) plus the JavaScript (`web/index.js` with the wasm-bindgen
//! module it imports) bundled and minified by esbuild, as a bundler would, then gzipped. The
//! unminified glue is reported beside it.
//!
//! `size.json` keys, all in bytes: `wasmRaw`, `wasmGzip` (the optimised `.wasm`); `glueGzip`
//! and `totalGzip` (the two JS files gzipped separately, unminified, plus the `.wasm`: the
//! figure before minification); `glueMinRaw`, `glueMinGzip` (the minified bundle) and
//! `totalMinGzip` (`.wasm` plus minified glue, the figure held against `budget`).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// The size budget for the browser payload (.wasm + glue), gzipped.
const BUDGET_BYTES: u64 = 40 * 1024;
/// esbuild's `--target` for the size bundle (the same as `tests/bench/size.mjs`).
const BUNDLE_TARGET: &str = "es2022";
/// Where pack.rs pastes `glue.js` into each entry file.
const GLUE_MARKER: &str = "/* @glue */";
/// Markdown shipped in the package: (source in the repository, name in the package). Listed
/// in `files` of `crates/wasm/js/package.json` too.
const PACKAGE_DOCS: &[(&str, &str)] = &[
    ("crates/wasm/js/README.md", "README.md"),
    ("docs/API.md", "API.md"),
    ("docs/ATTACH_PROTOCOL.md", "ATTACH_PROTOCOL.md"),
];

/// Builds the npm tarball and returns its path, `<target>/npm/switchyard-<version>.tgz`.
pub fn run(root: &Path) -> Result<PathBuf> {
    let target = target_dir(root);
    let version = env!("CARGO_PKG_VERSION");
    let js = root.join("crates/wasm/js");
    let out = target.join("npm");
    let staging = out.join("package");
    if staging.exists() {
        fs::remove_dir_all(&staging).with_context(|| format!("removing {}", staging.display()))?;
    }
    fs::create_dir_all(&staging)?;

    println!("== pack: cargo build --release (wasm32)");
    let mut build = cargo();
    build.current_dir(root).args([
        "build",
        "--release",
        "--target",
        "wasm32-unknown-unknown",
        "-p",
        "switchyard-wasm",
    ]);
    run_checked(&mut build)?;
    let wasm = target.join("wasm32-unknown-unknown/release/switchyard_wasm.wasm");

    let bindgen = tool("wasm-bindgen");
    let wasm_opt = node_tool(root, "wasm-opt", "binaryen 132")?;
    let esbuild = node_tool(root, "esbuild", "esbuild")?;
    for (bindgen_target, dir) in [("web", "web"), ("nodejs", "node")] {
        println!("== pack: wasm-bindgen --target {bindgen_target}");
        let dir = staging.join(dir);
        let mut cmd = Command::new(&bindgen);
        cmd.arg("--target")
            .arg(bindgen_target)
            .args([
                "--out-name",
                "switchyard",
                "--no-typescript",
                "--weak-refs",
                "--out-dir",
            ])
            .arg(&dir)
            .arg(&wasm);
        run_checked(&mut cmd)?;
        let module = dir.join("switchyard_bg.wasm");
        let mut opt = Command::new(&wasm_opt);
        // `-Oz` drops the names section; the two strips drop what remains of debug info
        // and the `producers` custom section (toolchain names no user needs). Measured
        // 2026-11-22 and not kept: `-Oz --converge` and `-Oz -Oz` (from 1 KB smaller to
        // 0.3 KB larger gzipped depending on the build), `-Os` and `-O3 -Oz` (larger).
        // `--low-memory-unused` lets wasm-opt fold `pointer + constant` into the offset of a
        // load or store (1.9 KB raw, 0.6 KB gzip): it assumes nothing lives in the first
        // 1 KB of memory, which holds for rustc's wasm32 layout, where the stack comes first
        // and grows down from 1 MB toward address 0, and data and heap lie above it.
        // (The two forms differ only for an address that wraps past 4 GB, which there is
        // only after a stack overflow.) Measured 2026-11-23 and not kept: `--gufa` (larger),
        // `--zero-filled-memory` (no change).
        opt.arg("-Oz")
            .args([
                "--low-memory-unused",
                "--strip-debug",
                "--strip-producers",
                "--enable-bulk-memory",
                "--enable-mutable-globals",
                "--enable-nontrapping-float-to-int",
                "--enable-sign-ext",
                "--enable-reference-types",
                "--enable-multivalue",
                "-o",
            ])
            .arg(&module)
            .arg(&module);
        run_checked(&mut opt)?;
    }

    let glue = read(&js.join("glue.js"))?;
    write_entry(
        &js.join("entry.web.js"),
        &staging.join("web/index.js"),
        &glue,
    )?;
    write_entry(
        &js.join("entry.node.cjs"),
        &staging.join("node/index.cjs"),
        &glue,
    )?;
    fs::copy(js.join("entry.node.mjs"), staging.join("node/index.mjs"))?;
    fs::copy(
        js.join("node-package.json"),
        staging.join("node/package.json"),
    )?;
    fs::copy(js.join("index.d.ts"), staging.join("index.d.ts"))?;
    let manifest = read(&js.join("package.json"))?.replace("@VERSION@", version);
    fs::write(staging.join("package.json"), manifest)?;
    for (source, name) in PACKAGE_DOCS {
        fs::copy(root.join(source), staging.join(name))
            .with_context(|| format!("copying {source} into the package as {name}"))?;
    }
    for (_, name) in PACKAGE_DOCS {
        let text = read(&staging.join(name))?;
        if let Some(dead) = dead_links(&text, |target| staging.join(target).is_file()).first() {
            bail!("{name} in the package links to `{dead}`, which the package does not ship");
        }
    }

    report_size(&esbuild, &staging, &out)?;

    println!("== pack: npm pack");
    let mut pack = Command::new("npm");
    pack.current_dir(&staging)
        .args(["pack", "--silent", "--pack-destination"])
        .arg(&out);
    run_checked(&mut pack)?;
    let tarball = out.join(format!("switchyard-{version}.tgz"));
    if !tarball.exists() {
        bail!("npm pack did not produce {}", tarball.display());
    }
    Ok(tarball)
}

/// `$CARGO_TARGET_DIR` (relative to `root` when relative), else `root/target`.
pub(crate) fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                root.join(dir)
            }
        }
        _ => root.join("target"),
    }
}

/// `tests/node_modules/.bin/<name>`, installed by `npm ci` in `tests/` (`package` says which
/// pinned package provides it).
fn node_tool(root: &Path, name: &str, package: &str) -> Result<PathBuf> {
    let path = root.join("tests/node_modules/.bin").join(name);
    if !path.exists() {
        bail!(
            "{} is missing: run `npm ci` in tests/ ({package})",
            path.display()
        );
    }
    Ok(path)
}

/// The cargo that runs xtask.
fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// `name` from `~/.cargo/bin` if it is there, else from `PATH`.
fn tool(name: &str) -> PathBuf {
    if let Some(home) = std::env::var_os("CARGO_HOME")
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo").into()))
    {
        let candidate = Path::new(&home).join("bin").join(name);
        if candidate.exists() {
            return candidate;
        }
    }
    PathBuf::from(name)
}

fn describe(cmd: &Command) -> String {
    let mut text = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

fn run_checked(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .stdin(Stdio::null())
        .status()
        .with_context(|| format!("could not start `{}`", describe(cmd)))?;
    if !status.success() {
        bail!("`{}` failed ({status})", describe(cmd));
    }
    Ok(())
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// The relative link targets of markdown `text` (`[text](target)`, without `#fragment`) that
/// `exists` says are missing. Absolute URLs (`scheme:`) and in-page anchors are not checked.
fn dead_links(text: &str, exists: impl Fn(&str) -> bool) -> Vec<String> {
    let mut dead = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        let Some(end) = rest.find(')') else { break };
        let target = rest[..end].split('#').next().unwrap_or("").trim();
        let absolute = target.contains(':');
        if !target.is_empty() && !absolute && !exists(target) {
            dead.push(target.to_string());
        }
        rest = &rest[end..];
    }
    dead
}

/// Copies an entry template to `to`, pasting the glue at its marker.
fn write_entry(template: &Path, to: &Path, glue: &str) -> Result<()> {
    let text = read(template)?;
    if !text.contains(GLUE_MARKER) {
        bail!("{} has no `{GLUE_MARKER}` marker", template.display());
    }
    fs::write(to, text.replace(GLUE_MARKER, glue.trim_end()))
        .with_context(|| format!("writing {}", to.display()))
}

/// Gzipped size (`gzip -9`) of `path` in bytes.
fn gzipped(path: &Path) -> Result<u64> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut child = Command::new("gzip")
        .args(["-9", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("could not start gzip")?;
    let mut stdin = child.stdin.take().context("gzip stdin")?;
    let writer = std::thread::spawn(move || stdin.write_all(&bytes));
    let output = child.wait_with_output().context("waiting for gzip")?;
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("gzip writer panicked"))??;
    if !output.status.success() {
        bail!("gzip failed on {}", path.display());
    }
    Ok(output.stdout.len() as u64)
}

/// Bundles and minifies the browser entry (`web/index.js` and the wasm-bindgen module it
/// imports) with esbuild into `bundle`, as a user's bundler would. The `.wasm` stays outside:
/// it is loaded through `new URL(..., import.meta.url)` and counted on its own.
fn bundle_minified(esbuild: &Path, staging: &Path, bundle: &Path) -> Result<()> {
    let mut cmd = Command::new(esbuild);
    cmd.arg(staging.join("web/index.js"))
        .args([
            "--bundle",
            "--minify",
            "--format=esm",
            "--platform=browser",
            "--log-level=warning",
        ])
        .arg(format!("--target={BUNDLE_TARGET}"))
        .arg(format!("--outfile={}", bundle.display()));
    run_checked(&mut cmd)
}

/// Bytes as kilobytes with one decimal, for the report line.
fn kb(bytes: u64) -> String {
    format!("{:.1} KB", bytes as f64 / 1024.0)
}

/// The browser payload, in bytes (see the module docs for what each figure counts).
struct PayloadSize {
    wasm_raw: u64,
    wasm_gzip: u64,
    glue_gzip: u64,
    glue_min_raw: u64,
    glue_min_gzip: u64,
}

impl PayloadSize {
    /// `.wasm` plus unminified glue, gzipped.
    fn total_gzip(&self) -> u64 {
        self.wasm_gzip + self.glue_gzip
    }

    /// `.wasm` plus minified glue, gzipped: what the budget holds.
    fn total_min_gzip(&self) -> u64 {
        self.wasm_gzip + self.glue_min_gzip
    }

    /// The `size.json` record.
    fn to_json(&self) -> String {
        format!(
            "{{\"wasmGzip\":{},\"wasmRaw\":{},\"glueGzip\":{},\"totalGzip\":{},\"glueMinRaw\":{},\"glueMinGzip\":{},\"totalMinGzip\":{},\"budget\":{BUDGET_BYTES}}}\n",
            self.wasm_gzip,
            self.wasm_raw,
            self.glue_gzip,
            self.total_gzip(),
            self.glue_min_raw,
            self.glue_min_gzip,
            self.total_min_gzip(),
        )
    }
}

/// Prints and records the browser payload's size.
fn report_size(esbuild: &Path, staging: &Path, out: &Path) -> Result<()> {
    let wasm = staging.join("web/switchyard_bg.wasm");
    let bundle = out.join("glue.min.js");
    bundle_minified(esbuild, staging, &bundle)?;
    let size = PayloadSize {
        wasm_raw: fs::metadata(&wasm)?.len(),
        wasm_gzip: gzipped(&wasm)?,
        glue_gzip: gzipped(&staging.join("web/switchyard.js"))?
            + gzipped(&staging.join("web/index.js"))?,
        glue_min_raw: fs::metadata(&bundle)?.len(),
        glue_min_gzip: gzipped(&bundle)?,
    };
    let total = size.total_min_gzip();
    let verdict = if total <= BUDGET_BYTES {
        "within"
    } else {
        "OVER"
    };
    println!(
        "== pack: browser payload {} min+gzip (.wasm {} gzip / {} raw, glue {} min+gzip / {} gzip unminified): {verdict} the {} KB budget",
        kb(total),
        kb(size.wasm_gzip),
        kb(size.wasm_raw),
        kb(size.glue_min_gzip),
        kb(size.glue_gzip),
        BUDGET_BYTES / 1024
    );
    fs::write(out.join("size.json"), size.to_json())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::dead_links;

    #[test]
    fn relative_links_to_missing_files_are_dead_and_urls_and_anchors_are_not_checked() {
        let text = "[api](API.md#limits), [here](#usage), [web](https://example.org/x.md), \
                    [dev](docs/DEVELOPING.md), [bench](../BENCHMARKS.md)";
        let dead = dead_links(text, |target| target == "API.md");
        assert_eq!(dead, ["docs/DEVELOPING.md", "../BENCHMARKS.md"]);
    }
}
