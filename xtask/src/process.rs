//! Running child processes: checked runs, captured output, and teed output for suites.
//!
//! Every child gets `stdin` from `/dev/null` (CI has no terminal; nothing may wait for input).
//!
//! ```ignore
//! let mut cmd = process::cargo();
//! cmd.args(["fmt", "--all", "--", "--check"]);
//! let run = process::tee(&mut cmd)?; // prints while it runs, keeps the text for parsing
//! println!("{} ({} bytes of output)", run.success, run.output.len());
//! ```

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;

use anyhow::{bail, Context, Result};

/// A `cargo` command using the same cargo that runs xtask (`$CARGO`), so the toolchain matches.
pub fn cargo() -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    Command::new(program)
}

/// Human-readable form of a command line, for messages: `cargo fmt --all -- --check` (the
/// program by its file name, so `$CARGO`'s toolchain path does not drown the arguments).
pub fn describe(cmd: &Command) -> String {
    let program = std::path::Path::new(cmd.get_program());
    let mut text = program
        .file_name()
        .unwrap_or(program.as_os_str())
        .to_string_lossy()
        .into_owned();
    for arg in cmd.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// Runs `cmd` with inherited output and fails, naming the command, unless it exits with 0.
pub fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .stdin(Stdio::null())
        .status()
        .with_context(|| format!("could not start `{}`", describe(cmd)))?;
    if !status.success() {
        bail!("`{}` failed ({status})", describe(cmd));
    }
    Ok(())
}

/// Runs `cmd`, returning its stdout (stderr is appended, so version banners printed to either
/// stream are found). Fails if it cannot start or exits non-zero.
pub fn capture(cmd: &mut Command) -> Result<String> {
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not start `{}`", describe(cmd)))?;
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    if !output.status.success() {
        bail!(
            "`{}` failed ({}): {}",
            describe(cmd),
            output.status,
            text.trim()
        );
    }
    Ok(text)
}

/// The result of a [`tee`]d run.
pub struct Teed {
    /// Whether the process exited with status 0.
    pub success: bool,
    /// The exit status as text (`exit status: 101`, `signal: 9`), for messages.
    pub status: String,
    /// Everything it printed on stdout and stderr, line by line in arrival order.
    pub output: String,
}

/// Runs `cmd`, echoing its stdout and stderr as they arrive while keeping a copy for parsing.
/// Fails only if the process cannot be started; a non-zero exit is reported in [`Teed`].
pub fn tee(cmd: &mut Command) -> Result<Teed> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start `{}`", describe(cmd)))?;
    let (sender, receiver) = mpsc::channel::<String>();
    let mut readers = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        readers.push(echo_lines(stdout, sender.clone(), false));
    }
    if let Some(stderr) = child.stderr.take() {
        readers.push(echo_lines(stderr, sender.clone(), true));
    }
    drop(sender);
    let output: String = receiver.iter().collect();
    for reader in readers {
        // A reader thread only ends by reaching end of stream; a panic there is a bug in this file.
        let _ = reader.join();
    }
    let status: ExitStatus = child
        .wait()
        .with_context(|| format!("could not wait for `{}`", describe(cmd)))?;
    Ok(Teed {
        success: status.success(),
        status: status.to_string(),
        output,
    })
}

fn echo_lines(
    stream: impl Read + Send + 'static,
    sink: mpsc::Sender<String>,
    to_stderr: bool,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut bytes = Vec::new();
        loop {
            bytes.clear();
            match reader.read_until(b'\n', &mut bytes) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&bytes).into_owned();
                    // Echo failures (a closed terminal) must not stop the capture.
                    let _ = if to_stderr {
                        std::io::stderr().write_all(line.as_bytes())
                    } else {
                        std::io::stdout().write_all(line.as_bytes())
                    };
                    let mut kept = line;
                    if !kept.ends_with('\n') {
                        kept.push('\n');
                    }
                    if sink.send(kept).is_err() {
                        break;
                    }
                }
            }
        }
    })
}
