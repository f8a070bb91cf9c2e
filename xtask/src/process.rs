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
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

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
    /// Whether it was stopped for running past its time limit ([`tee_with_limit`]).
    pub timed_out: bool,
}

/// How long [`tee`] keeps reading after the process exited: a grandchild it left running (a
/// server a test forgot to stop) may hold the pipes open forever.
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(2);

/// Runs `cmd`, echoing its stdout and stderr as they arrive while keeping a copy for parsing.
/// Fails only if the process cannot be started; a non-zero exit is reported in [`Teed`].
pub fn tee(cmd: &mut Command) -> Result<Teed> {
    tee_with_limit(cmd, None)
}

/// [`tee`] with a time limit: past `limit`, the process and everything it started (its process
/// group) get SIGTERM, then SIGKILL five seconds later, and [`Teed::timed_out`] is set.
pub fn tee_with_limit(cmd: &mut Command, limit: Option<Duration>) -> Result<Teed> {
    let started = Instant::now();
    if limit.is_some() {
        // Its own process group, so a time-out can stop its children too. (Only then: a process
        // group of its own no longer gets the terminal's Ctrl-C.)
        cmd.process_group(0);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start `{}`", describe(cmd)))?;
    let (sender, receiver) = mpsc::channel::<String>();
    if let Some(stdout) = child.stdout.take() {
        echo_lines(stdout, sender.clone(), false);
    }
    if let Some(stderr) = child.stderr.take() {
        echo_lines(stderr, sender.clone(), true);
    }
    drop(sender);
    let mut output = String::new();
    let mut timed_out = false;
    let mut killed_at: Option<Instant> = None;
    let wait_failed = || format!("could not wait for `{}`", describe(cmd));
    let status: ExitStatus = loop {
        match receiver.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => output.push_str(&line),
            Err(RecvTimeoutError::Timeout) => {
                if let Some(status) = child.try_wait().with_context(wait_failed)? {
                    break status;
                }
            }
            Err(RecvTimeoutError::Disconnected) => break child.wait().with_context(wait_failed)?,
        }
        let over_time = limit.is_some_and(|limit| started.elapsed() > limit);
        match killed_at {
            None if over_time => {
                timed_out = true;
                signal_group(child.id(), "TERM");
                killed_at = Some(Instant::now());
            }
            Some(at) if at.elapsed() > Duration::from_secs(5) => {
                signal_group(child.id(), "KILL");
            }
            _ => {}
        }
    };
    let deadline = Instant::now() + DRAIN_AFTER_EXIT;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match receiver.recv_timeout(left) {
            Ok(line) => output.push_str(&line),
            Err(_) => break,
        }
    }
    if timed_out {
        // The group may hold grandchildren that outlived the leader's SIGTERM.
        signal_group(child.id(), "KILL");
    }
    Ok(Teed {
        success: status.success(),
        status: status.to_string(),
        output,
        timed_out,
    })
}

/// Sends `signal` to the process group led by `leader` (`kill -SIGNAL -PGID`). Best effort: the
/// group may already be gone.
fn signal_group(leader: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg("--")
        .arg(format!("-{leader}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn echo_lines(stream: impl Read + Send + 'static, sink: mpsc::Sender<String>, to_stderr: bool) {
    // Detached: it ends at end of stream, or with the process.
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
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tee_keeps_both_streams_and_the_exit_status() {
        let run = tee(Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"])).unwrap();
        assert!(!run.success);
        assert!(run.status.contains('3'), "{}", run.status);
        assert!(run.output.contains("out\n"), "{}", run.output);
        assert!(run.output.contains("err\n"), "{}", run.output);
    }

    #[test]
    fn tee_returns_soon_after_exit_even_if_a_grandchild_holds_the_pipes() {
        let started = Instant::now();
        let run = tee(Command::new("sh").args(["-c", "sleep 8 & echo started"])).unwrap();
        assert!(run.success);
        assert!(run.output.contains("started"), "{}", run.output);
        assert!(
            started.elapsed() < Duration::from_secs(6),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_run_past_its_limit_is_stopped_with_its_children_and_marked_timed_out() {
        let started = Instant::now();
        let run = tee_with_limit(
            Command::new("sh").args(["-c", "echo begun; sleep 60 & sleep 60"]),
            Some(Duration::from_secs(1)),
        )
        .unwrap();
        assert!(run.timed_out);
        assert!(!run.success);
        assert!(run.output.contains("begun"), "{}", run.output);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn describe_names_the_program_by_its_file_name() {
        let mut cmd = Command::new("/usr/local/bin/cargo");
        cmd.args(["fmt", "--check"]);
        assert_eq!(describe(&cmd), "cargo fmt --check");
    }

    #[test]
    fn capture_fails_with_the_command_and_its_output() {
        let error = capture(Command::new("sh").args(["-c", "echo broken; exit 1"])).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("sh -c"), "{message}");
        assert!(message.contains("broken"), "{message}");
    }
}
