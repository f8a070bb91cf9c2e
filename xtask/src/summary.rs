//! Reading test counts out of test runners' output, and the one-line-per-suite report.
//!
//! ```text
//! fmt: 1 passed, 0 failed
//! native: 312 passed, 0 failed
//! e2e: 0 passed, 0 failed (no tests in tests/e2e yet)
//! total: 313 passed, 0 failed
//! ```

use std::fmt;
use std::ops::AddAssign;

/// Passed and failed test counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub passed: u64,
    pub failed: u64,
}

impl AddAssign for Tally {
    fn add_assign(&mut self, other: Tally) {
        self.passed = self.passed.saturating_add(other.passed);
        self.failed = self.failed.saturating_add(other.failed);
    }
}

/// One suite's result: its counts, plus a note when something needs saying (no tests yet, a
/// failure that happened before any test could report).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuiteResult {
    pub name: &'static str,
    pub tally: Tally,
    pub note: Option<String>,
}

impl SuiteResult {
    /// A suite whose counts came from its runner.
    pub fn counted(name: &'static str, tally: Tally) -> Self {
        SuiteResult {
            name,
            tally,
            note: None,
        }
    }

    /// Adds a note shown in parentheses after the counts.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// A suite that could not run at all: counted as one failure, with the reason.
    pub fn broken(name: &'static str, reason: impl Into<String>) -> Self {
        SuiteResult::counted(
            name,
            Tally {
                passed: 0,
                failed: 1,
            },
        )
        .with_note(reason)
    }
}

impl fmt::Display for SuiteResult {
    /// `native: 312 passed, 0 failed`, then ` (note)` if there is one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} passed, {} failed",
            self.name, self.tally.passed, self.tally.failed
        )?;
        if let Some(note) = &self.note {
            write!(f, " ({note})")?;
        }
        Ok(())
    }
}

/// The counts a `cargo test` run reported.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CargoTestCounts {
    /// Summed over every `test result:` line (one per test binary, doc-tests included; the
    /// wasm-bindgen test runner prints the same line).
    pub tally: Tally,
    /// Test binaries cargo saw fail (`error: test failed, to rerun pass ...`).
    pub failed_binaries: u64,
    /// Binaries whose `test result:` line said `FAILED`.
    pub failed_results: u64,
}

impl CargoTestCounts {
    /// Test binaries that failed without printing a `test result:` line (a crash, a runner that
    /// could not start its browser, a timeout): each counts as one failure so it cannot vanish.
    pub fn unreported_failures(&self) -> u64 {
        self.failed_binaries.saturating_sub(self.failed_results)
    }
}

/// Reads `cargo test` output (libtest or wasm-bindgen-test-runner), e.g.
/// `test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s`.
pub fn parse_cargo_test(output: &str) -> CargoTestCounts {
    let mut counts = CargoTestCounts::default();
    for line in output.lines().map(str::trim) {
        if let Some(result) = line.strip_prefix("test result: ") {
            counts.tally += Tally {
                passed: count_before(result, "passed"),
                failed: count_before(result, "failed"),
            };
            if result.starts_with("FAILED") {
                counts.failed_results += 1;
            }
        } else if line.starts_with("error: test failed, to rerun pass") {
            counts.failed_binaries += 1;
        }
    }
    counts
}

/// The number written just before `label` in `text` (`"3 passed; 1 failed"`, `"failed"` gives 1).
fn count_before(text: &str, label: &str) -> u64 {
    text.split([';', ',', '.'])
        .filter_map(|part| {
            let mut words = part.split_whitespace();
            let number = words.next()?;
            (words.next() == Some(label) && words.next().is_none()).then_some(number)
        })
        .filter_map(|number| number.parse::<u64>().ok())
        .fold(0, u64::saturating_add)
}

/// Reads the summary `node --test` prints at the end, in the spec reporter's form
/// (`ℹ pass 3` / `ℹ fail 0` / `ℹ cancelled 0`) or TAP's (`# pass 3` / `# fail 0`).
/// Cancelled tests (a timeout, a crashed file) count as failed. `None` if no summary was printed.
pub fn parse_node_test(output: &str) -> Option<Tally> {
    let mut pass = None;
    let mut fail = None;
    let mut cancelled = None;
    for line in output.lines() {
        let Some(rest) = line
            .trim()
            .strip_prefix("ℹ ")
            .or_else(|| line.trim().strip_prefix("# "))
        else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let (Some(key), Some(value), None) = (words.next(), words.next(), words.next()) else {
            continue;
        };
        let Ok(value) = value.parse::<u64>() else {
            continue;
        };
        // The last summary wins (node prints one, at the end; earlier `# pass` lines would be
        // test output).
        match key {
            "pass" => pass = Some(value),
            "fail" => fail = Some(value),
            "cancelled" => cancelled = Some(value),
            _ => {}
        }
    }
    Some(Tally {
        passed: pass?,
        failed: fail?.saturating_add(cancelled.unwrap_or(0)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIBTEST_RUN: &str = "\
   Compiling switchyard-core v0.1.0
    Finished `test` profile [unoptimized + debuginfo] target(s) in 3.2s
     Running unittests src/lib.rs (target/debug/deps/switchyard_core-1)

running 2 tests
test router::tests::star_matches_one_segment ... ok
test router::tests::double_star_matches_zero_segments ... ok

test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

     Running tests/ordering.rs (target/debug/deps/ordering-2)

running 3 tests
test a ... ok
test b ... FAILED
test c ... ok

failures:

---- b stdout ----
assertion failed

test result: FAILED. 2 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s

error: test failed, to rerun pass `-p switchyard-core --test ordering`
   Doc-tests switchyard_core

running 4 tests
test src/lib.rs - (line 10) ... ok

test result: ok. 4 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.50s

error: 1 target failed:
    `-p switchyard-core --test ordering`
";

    #[test]
    fn cargo_test_counts_sum_every_test_result_line_including_doc_tests() {
        let counts = parse_cargo_test(LIBTEST_RUN);
        assert_eq!(
            counts.tally,
            Tally {
                passed: 8,
                failed: 1
            }
        );
        assert_eq!(counts.failed_binaries, 1);
        assert_eq!(counts.failed_results, 1);
        assert_eq!(counts.unreported_failures(), 0);
    }

    #[test]
    fn cargo_test_counts_read_the_wasm_bindgen_test_runner_summary() {
        let output = "\
     Running tests/browser.rs (target/wasm32-unknown-unknown/debug/deps/browser-3.wasm)
Running headless tests in Chrome on `http://127.0.0.1:4444/`
Try find `webdriver.json` for configure browser's capabilities:
Not found
running 7 tests
test browser::subscribe_then_publish_calls_the_handler ... ok

test result: ok. 7 passed; 0 failed; 0 ignored; 0 filtered out; finished in 0.21s
";
        assert_eq!(
            parse_cargo_test(output).tally,
            Tally {
                passed: 7,
                failed: 0
            }
        );
    }

    #[test]
    fn a_binary_that_fails_without_a_test_result_line_is_an_unreported_failure() {
        let output = "\
     Running tests/browser.rs (target/wasm32-unknown-unknown/debug/deps/browser-3.wasm)
Failed to detect test as having been run. It might have timed out.
error: test failed, to rerun pass `-p switchyard-wasm --test browser`
";
        let counts = parse_cargo_test(output);
        assert_eq!(counts.tally, Tally::default());
        assert_eq!(counts.unreported_failures(), 1);
    }

    #[test]
    fn cargo_output_without_tests_counts_zero() {
        let counts = parse_cargo_test("no tests to run!\n");
        assert_eq!(counts, CargoTestCounts::default());
    }

    #[test]
    fn count_before_ignores_counts_with_other_labels() {
        assert_eq!(
            count_before("ok. 3 passed; 0 failed; 2 ignored", "passed"),
            3
        );
        assert_eq!(
            count_before("ok. 3 passed; 0 failed; 2 ignored", "failed"),
            0
        );
        assert_eq!(
            count_before("ok. 3 passed; 0 failed; 2 ignored", "ignored"),
            2
        );
        assert_eq!(count_before("nothing here", "passed"), 0);
    }

    #[test]
    fn node_spec_reporter_summary_is_read_and_cancelled_counts_as_failed() {
        let output = "\
▶ EventBus
  ✔ delivers to every subscriber (1.2ms)
  ✖ retries a failing handler (3.4ms)
ℹ tests 5
ℹ suites 1
ℹ pass 3
ℹ fail 1
ℹ cancelled 1
ℹ skipped 0
ℹ todo 0
ℹ duration_ms 120.5
";
        assert_eq!(
            parse_node_test(output),
            Some(Tally {
                passed: 3,
                failed: 2
            })
        );
    }

    #[test]
    fn node_tap_summary_is_read() {
        let output = "\
TAP version 13
# Subtest: installs the tarball
ok 1 - installs the tarball
1..1
# tests 1
# suites 0
# pass 1
# fail 0
# cancelled 0
# skipped 0
# todo 0
# duration_ms 812.3
";
        assert_eq!(
            parse_node_test(output),
            Some(Tally {
                passed: 1,
                failed: 0
            })
        );
    }

    #[test]
    fn node_output_without_a_summary_is_none() {
        assert_eq!(parse_node_test("Error: Cannot find module 'x'\n"), None);
        assert_eq!(parse_node_test("ℹ pass 2\n"), None);
    }

    #[test]
    fn suite_result_prints_as_one_summary_line() {
        let fmt = SuiteResult::counted(
            "fmt",
            Tally {
                passed: 1,
                failed: 0,
            },
        );
        assert_eq!(fmt.to_string(), "fmt: 1 passed, 0 failed");
        let e2e = SuiteResult::counted("e2e", Tally::default()).with_note("no tests yet");
        assert_eq!(e2e.to_string(), "e2e: 0 passed, 0 failed (no tests yet)");
        let broken = SuiteResult::broken("node", "pack failed");
        assert_eq!(broken.to_string(), "node: 0 passed, 1 failed (pack failed)");
    }
}
