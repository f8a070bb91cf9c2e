//! `cargo xtask demo`: serve the visualiser with a built-in scenario running.
//!
//! Runs `trunk serve --release` on 127.0.0.1 (port 8080 unless `--port N`), which builds the
//! `web/` crate from the root `index.html` and `Trunk.toml`, serves `dist/`, and rebuilds on
//! changes. The printed URL opens a scenario already playing:
//!
//! ```text
//! $ cargo xtask demo --scenario storm
//! ...
//! ==> Switchyard visualiser: http://127.0.0.1:8080/?scenario=storm&autoplay=1
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use anyhow::{bail, Context, Result};

use crate::process;

/// What the visualiser is built from, relative to the workspace root.
/// (`crates/core/src`, not `crates/core`: a running fuzzer writes its corpus under `fuzz/`.)
const WATCHED: [&str; 5] = [
    "web",
    "crates/core/src",
    "crates/core/Cargo.toml",
    "index.html",
    "Trunk.toml",
];

/// Options of `cargo xtask demo`.
#[derive(Debug, PartialEq, Eq)]
pub struct Options {
    /// The port on 127.0.0.1 (default 8080).
    pub port: u16,
    /// The built-in scenario the page opens with (default `basic`).
    pub scenario: String,
}

impl Options {
    /// Parses `[--port N] [--scenario NAME]`.
    pub fn from_args(args: &[String]) -> Result<Options> {
        let mut options = Options {
            port: 8080,
            scenario: "basic".to_owned(),
        };
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            let value = args
                .next()
                .with_context(|| format!("`{flag}` needs a value"))?;
            match flag.as_str() {
                "--port" => {
                    options.port = value
                        .parse()
                        .with_context(|| format!("`--port {value}`: not a port number"))?;
                }
                "--scenario" => {
                    let valid = !value.is_empty()
                        && value
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
                    if !valid {
                        bail!("`--scenario {value}`: scenario names are lowercase words joined by `-`");
                    }
                    options.scenario = value.clone();
                }
                other => bail!("`demo` takes `--port N` and `--scenario NAME`, got `{other}`"),
            }
        }
        Ok(options)
    }

    /// The page URL with the scenario playing.
    pub fn url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/?scenario={}&autoplay=1",
            self.port, self.scenario
        )
    }
}

/// Serves the visualiser until interrupted (Ctrl-C stops Trunk too).
pub fn run(root: &Path, options: &Options) -> Result<()> {
    for file in ["index.html", "Trunk.toml"] {
        if !root.join(file).is_file() {
            bail!("{file} is missing at the workspace root: the visualiser (web/, issue 6) is not set up yet");
        }
    }
    TcpListener::bind(("127.0.0.1", options.port)).with_context(|| {
        format!(
            "port {} on 127.0.0.1 is taken; stop what uses it or pass `--port N`",
            options.port
        )
    })?;
    let url = options.url();
    println!("== demo: building the visualiser (the first release build takes a minute or two)");
    println!("   it will be served at {url}");
    let port = options.port.to_string();
    let mut trunk = Command::new("trunk");
    trunk
        .args([
            "serve",
            "--release",
            "--address",
            "127.0.0.1",
            "--port",
            &port,
        ])
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // The Rust flags the package's visualiser is built with.
    crate::pack::visualiser_build_env(&mut trunk);
    // Watch only what the visualiser is built from: by default Trunk watches the whole tree, and
    // a write under tests/ or docs/ (or another crate's build) would rebuild it.
    for path in WATCHED {
        trunk.args(["--watch", path]);
    }
    let mut child = trunk
        .spawn()
        .with_context(|| format!("could not start `{}`", process::describe(&trunk)))?;
    let announced = Arc::new(AtomicBool::new(false));
    if let Some(stdout) = child.stdout.take() {
        echo_and_announce(stdout, url.clone(), announced.clone());
    }
    if let Some(stderr) = child.stderr.take() {
        echo_and_announce(stderr, url.clone(), announced);
    }
    // The echo threads are not joined: a cargo build Trunk started may outlive it, holding the
    // pipes open.
    let status = child.wait().context("waiting for trunk serve")?;
    bail!("trunk serve stopped ({status}); see its output above")
}

/// Echoes Trunk's output and, after the first successful build, the URL to open. (Trunk prints
/// "server listening" even when the build failed; a failed build shows Trunk's own error, and
/// Trunk rebuilds when a file changes.)
fn echo_and_announce(stream: impl Read + Send + 'static, url: String, announced: Arc<AtomicBool>) {
    thread::spawn(move || {
        let reader = BufReader::new(stream);
        for line in reader.split(b'\n').map_while(Result::ok) {
            let line = String::from_utf8_lossy(&line);
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            if build_succeeded(&line) && !announced.swap(true, Ordering::SeqCst) {
                let _ = writeln!(
                    out,
                    "\n==> Switchyard visualiser: {url}\n    (rebuilds on save; Ctrl-C to stop)\n"
                );
            }
        }
    });
}

/// Whether a line of Trunk 0.21's log reports a finished build (`INFO ✅ success`).
fn build_succeeded(line: &str) -> bool {
    line.contains("✅") && line.contains("success")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|arg| arg.to_string()).collect()
    }

    #[test]
    fn defaults_open_the_basic_scenario_playing_on_port_8080() {
        let options = Options::from_args(&[]).unwrap();
        assert_eq!(
            options.url(),
            "http://127.0.0.1:8080/?scenario=basic&autoplay=1"
        );
    }

    #[test]
    fn port_and_scenario_can_be_chosen() {
        let options =
            Options::from_args(&args(&["--port", "9000", "--scenario", "storm"])).unwrap();
        assert_eq!(
            options.url(),
            "http://127.0.0.1:9000/?scenario=storm&autoplay=1"
        );
    }

    #[test]
    fn only_trunks_success_line_counts_as_a_finished_build() {
        assert!(build_succeeded(
            "2026-11-22T20:45:17.336482Z  INFO ✅ success"
        ));
        assert!(!build_succeeded(
            "2026-11-22T20:44:01.383595Z ERROR ❌ error"
        ));
        assert!(!build_succeeded(
            "2026-11-22T20:44:01.925790Z  INFO 📡 server listening at:"
        ));
    }

    #[test]
    fn bad_ports_scenarios_and_flags_are_rejected_with_the_reason() {
        for bad in [
            args(&["--port", "http"]),
            args(&["--port", "70000"]),
            args(&["--port"]),
            args(&["--scenario", "a&b=c"]),
            args(&["--open", "yes"]),
        ] {
            assert!(Options::from_args(&bad).is_err(), "{bad:?}");
        }
    }
}
