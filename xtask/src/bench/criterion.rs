//! Reading criterion's results: every `<id>/new/benchmark.json` + `<id>/new/estimates.json` pair
//! under the criterion home that a run has just written, as one [`NativeBenchmark`] each.
//!
//! ```ignore
//! let started = SystemTime::now();
//! // ... cargo bench ...
//! for b in criterion::collect(&root.join("target/criterion"), started)? {
//!     println!("{}: median {:.1} ns", b.id, b.median_ns);
//! }
//! ```

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};
use serde_json::{json, Value};

/// One criterion benchmark's result.
#[derive(Clone, Debug, PartialEq)]
pub struct NativeBenchmark {
    /// criterion's full id, `group/function/value`.
    pub id: String,
    /// Median time per iteration, in nanoseconds.
    pub median_ns: f64,
    /// Lower bound of the median's 95 % confidence interval, in nanoseconds.
    pub lower_ns: f64,
    /// Upper bound of the median's 95 % confidence interval, in nanoseconds.
    pub upper_ns: f64,
    /// Elements per iteration when the benchmark declared `Throughput::Elements`.
    pub elements_per_iteration: Option<u64>,
    /// Bytes per iteration when the benchmark declared `Throughput::Bytes(Decimal)`.
    pub bytes_per_iteration: Option<u64>,
}

/// What `native.json` holds: the benchmarks of one `cargo bench` run and how they were made.
#[derive(Clone, Debug, PartialEq)]
pub struct NativeReport {
    /// The command that produced them.
    pub command: String,
    /// When, as an ISO 8601 UTC timestamp.
    pub date: String,
    /// `rustc 1.95.0`, if rustc answered.
    pub rustc: Option<String>,
    /// Sorted by id.
    pub benchmarks: Vec<NativeBenchmark>,
    /// Memory figures the benchmarks printed (lines starting with `footprint`), verbatim.
    pub footprint: Vec<String>,
}

impl NativeReport {
    /// The JSON document `tests/bench/report.mjs` renders.
    pub fn to_json(&self) -> String {
        let benchmarks: Vec<Value> = self
            .benchmarks
            .iter()
            .map(|b| {
                json!({
                    "id": b.id,
                    "medianNs": b.median_ns,
                    "lowerNs": b.lower_ns,
                    "upperNs": b.upper_ns,
                    "elementsPerIteration": b.elements_per_iteration,
                    "bytesPerIteration": b.bytes_per_iteration,
                })
            })
            .collect();
        let document = json!({
            "command": self.command,
            "date": self.date,
            "rustc": self.rustc,
            "benchmarks": benchmarks,
            "footprint": self.footprint,
        });
        // Serialising a `Value` built from plain data cannot fail.
        let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// Every benchmark under `criterion_home` whose estimates were written at or after `since`
/// (older ones belong to earlier runs, possibly of benchmarks that no longer exist).
pub fn collect(criterion_home: &Path, since: SystemTime) -> Result<Vec<NativeBenchmark>> {
    let mut found = Vec::new();
    if criterion_home.is_dir() {
        visit(criterion_home, since, &mut found)?;
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(found)
}

fn visit(dir: &Path, since: SystemTime, found: &mut Vec<NativeBenchmark>) -> Result<()> {
    let new = dir.join("new");
    let estimates = new.join("estimates.json");
    let benchmark = new.join("benchmark.json");
    if estimates.is_file() && benchmark.is_file() && modified(&estimates)? >= since {
        found.push(
            parse(&read_json(&benchmark)?, &read_json(&estimates)?)
                .with_context(|| format!("unexpected criterion output in {}", new.display()))?,
        );
    }
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path: PathBuf = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // `new`, `base` and `change` hold one benchmark's files; `report` holds criterion's HTML.
        if path.is_dir() && !matches!(name, "new" | "base" | "change" | "report") {
            visit(&path, since, found)?;
        }
    }
    Ok(())
}

fn modified(path: &Path) -> Result<SystemTime> {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .with_context(|| format!("reading the modification time of {}", path.display()))
}

fn read_json(path: &Path) -> Result<Value> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// One benchmark from criterion's `benchmark.json` and `estimates.json`.
pub fn parse(benchmark: &Value, estimates: &Value) -> Result<NativeBenchmark> {
    let id = benchmark["full_id"]
        .as_str()
        .context("benchmark.json has no `full_id`")?
        .to_owned();
    let median = &estimates["median"];
    let number = |value: &Value, what: &str| {
        value
            .as_f64()
            .with_context(|| format!("estimates.json has no number at {what}"))
    };
    let throughput = &benchmark["throughput"];
    Ok(NativeBenchmark {
        id,
        median_ns: number(&median["point_estimate"], "median.point_estimate")?,
        lower_ns: number(
            &median["confidence_interval"]["lower_bound"],
            "median.confidence_interval.lower_bound",
        )?,
        upper_ns: number(
            &median["confidence_interval"]["upper_bound"],
            "median.confidence_interval.upper_bound",
        )?,
        elements_per_iteration: throughput["Elements"].as_u64(),
        bytes_per_iteration: throughput["Bytes"]
            .as_u64()
            .or_else(|| throughput["BytesDecimal"].as_u64()),
    })
}

/// The lines of a `cargo bench` run's output in which a benchmark reports a memory footprint
/// (`footprint (u64 payload): queued reference 16 B, ...`), trimmed, without repeats.
pub fn footprint_lines(output: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for line in output.lines().map(str::trim) {
        if line.starts_with("footprint") && !lines.iter().any(|seen| seen == line) {
            lines.push(line.to_owned());
        }
    }
    lines
}

/// `2026-11-22T21:05:09Z` for a time after the Unix epoch (the epoch itself otherwise).
pub fn iso8601_utc(time: SystemTime) -> String {
    let seconds = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = seconds / 86_400;
    let of_day = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn estimates(median: f64, lower: f64, upper: f64) -> Value {
        json!({
            "mean": { "point_estimate": median * 1.1, "standard_error": 1.0,
                      "confidence_interval": { "confidence_level": 0.95, "lower_bound": 0.0, "upper_bound": 0.0 } },
            "median": { "point_estimate": median, "standard_error": 0.5,
                        "confidence_interval": { "confidence_level": 0.95, "lower_bound": lower, "upper_bound": upper } },
        })
    }

    #[test]
    fn parse_reads_the_median_its_interval_and_the_declared_elements() {
        let benchmark = json!({
            "group_id": "publish", "function_id": "immediate", "value_str": "10",
            "throughput": { "Elements": 10 }, "full_id": "publish/immediate/10",
            "directory_name": "publish/immediate_10", "title": "publish/immediate/10",
        });
        let parsed = parse(&benchmark, &estimates(412.5, 400.0, 420.0)).unwrap();
        assert_eq!(
            parsed,
            NativeBenchmark {
                id: "publish/immediate/10".to_owned(),
                median_ns: 412.5,
                lower_ns: 400.0,
                upper_ns: 420.0,
                elements_per_iteration: Some(10),
                bytes_per_iteration: None,
            }
        );
    }

    #[test]
    fn parse_reports_which_field_is_missing() {
        let benchmark = json!({ "full_id": "routing/100000", "throughput": null });
        let error = parse(&benchmark, &json!({ "median": {} })).unwrap_err();
        assert!(
            error.to_string().contains("median.point_estimate"),
            "{error}"
        );
        let error = parse(&json!({}), &estimates(1.0, 1.0, 1.0)).unwrap_err();
        assert!(error.to_string().contains("full_id"), "{error}");
    }

    #[test]
    fn collect_finds_nested_benchmarks_and_skips_ones_older_than_the_run() {
        let home =
            std::env::temp_dir().join(format!("xtask-criterion-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&home);
        for (dir, id) in [("routing/1000", "routing/1000"), ("churn", "churn")] {
            let new = home.join(dir).join("new");
            fs::create_dir_all(&new).unwrap();
            fs::write(
                new.join("benchmark.json"),
                json!({ "full_id": id }).to_string(),
            )
            .unwrap();
            fs::write(
                new.join("estimates.json"),
                estimates(5.0, 4.0, 6.0).to_string(),
            )
            .unwrap();
        }
        // A report folder is never a benchmark, even if it looks like one.
        fs::create_dir_all(home.join("report/new")).unwrap();

        let all = collect(&home, SystemTime::UNIX_EPOCH).unwrap();
        let ids: Vec<&str> = all.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(ids, ["churn", "routing/1000"]);

        let later = SystemTime::now() + Duration::from_secs(3600);
        assert!(collect(&home, later).unwrap().is_empty());
        fs::remove_dir_all(&home).unwrap();
    }

    #[test]
    fn collect_of_a_missing_folder_is_empty_not_an_error() {
        let missing = std::env::temp_dir().join("xtask-criterion-test-does-not-exist");
        assert!(collect(&missing, SystemTime::UNIX_EPOCH)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn iso8601_utc_formats_known_instants() {
        assert_eq!(iso8601_utc(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let instant = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_381_509);
        assert_eq!(iso8601_utc(instant), "2026-11-22T21:05:09Z");
        let leap_day = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(iso8601_utc(leap_day), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn footprint_lines_are_picked_out_of_the_bench_output_once_each() {
        let output = "Benchmarking publish_deliver/1\n\
            footprint (u64 payload): queued reference 16 B, subscription 88 B\n\
            publish_deliver/1 time: [40 ns 41 ns 42 ns]\n\
            \u{20} footprint (u64 payload): queued reference 16 B, subscription 88 B\n";
        assert_eq!(
            footprint_lines(output),
            ["footprint (u64 payload): queued reference 16 B, subscription 88 B"]
        );
        assert!(footprint_lines("no figures here").is_empty());
    }

    #[test]
    fn report_json_uses_the_names_the_renderer_reads() {
        let report = NativeReport {
            command: "cargo xtask bench --native".to_owned(),
            date: "2026-11-22T21:05:09Z".to_owned(),
            rustc: Some("rustc 1.95.0".to_owned()),
            benchmarks: vec![NativeBenchmark {
                id: "publish/1".to_owned(),
                median_ns: 40.0,
                lower_ns: 39.0,
                upper_ns: 41.0,
                elements_per_iteration: Some(1),
                bytes_per_iteration: None,
            }],
            footprint: vec!["footprint: queued reference 16 B".to_owned()],
        };
        let value: Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(value["benchmarks"][0]["medianNs"], 40.0);
        assert_eq!(value["benchmarks"][0]["elementsPerIteration"], 1);
        assert_eq!(value["command"], "cargo xtask bench --native");
        assert_eq!(value["footprint"][0], "footprint: queued reference 16 B");
    }
}
