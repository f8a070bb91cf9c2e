//! The views. Each is a component with a `data-testid`. Most read the shared
//! [`crate::state::AppState`] from context ([`use_app`]); the sidebar
//! ([`controls::Sidebar`]), the timeline ([`timeline::Timeline`]) and the event log
//! ([`event_log::EventLog`]) take what they read and write as props, so they can be mounted
//! alone (in a test, in another layout). The data each view draws is computed by a plain
//! function of the [`crate::model::Model`] (tested without a browser), then rendered.
//!
//! Lists whose rows change on every refresh (graph nodes, cards, marbles, log and table rows)
//! are rendered by a closure that rebuilds them, not by a keyed `<For>`: Leptos 0.8 gives each
//! `<For>` row an owner and the list's owner keeps a weak reference to every row it ever had
//! until the list itself goes away, about 80 bytes a row. With rows churning a few hundred
//! times a second that grew the heap by megabytes a minute (found by `tests/bench/soak.mjs`).
//! `<For>` stays where rows are stable or carry state (lanes, leak reports with open details).

pub mod backpressure;
pub mod controls;
pub mod dead_letters;
pub mod event_log;
pub mod inspector;
pub mod leaks;
pub mod links;
pub mod metrics;
pub mod tabs;
pub mod timeline;
pub mod topology;

use leptos::prelude::*;

use crate::state::AppState;

/// The shared app state from context (panics only if a view is mounted outside the app, which
/// provides it, or a test that provides it).
pub fn use_app() -> AppState {
    expect_context::<AppState>()
}

/// A count in a short form: `987`, `12.3k`, `4.56M`.
pub fn fmt_count(n: u64) -> String {
    if n < 10_000 {
        n.to_string()
    } else if n < 1_000_000 {
        format!("{:.1}k", n as f64 / 1_000.0)
    } else {
        format!("{:.2}M", n as f64 / 1_000_000.0)
    }
}

/// A rate per second in a short form: `0.5/s`, `12/s`, `48.2k/s`.
pub fn fmt_rate(r: f64) -> String {
    if !r.is_finite() || r <= 0.0 {
        "0/s".to_string()
    } else if r < 10.0 {
        format!("{r:.1}/s")
    } else if r < 10_000.0 {
        format!("{r:.0}/s")
    } else {
        format!("{:.1}k/s", r / 1_000.0)
    }
}

/// The number in a form control's value (`"0.05"`, `"15000"`), read by the browser's
/// `Number()`; `None` for an empty or non-numeric text. Rather than `str::parse::<f64>`, whose
/// decimal-to-float parser the `.wasm` would carry for a few `<select>`s (issue 14's size
/// budget).
pub fn parse_number(text: &str) -> Option<f64> {
    if text.trim().is_empty() {
        return None;
    }
    let number = js_number(text);
    (!number.is_nan()).then_some(number)
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// JavaScript's `Number(text)`: the number a string spells, `NaN` if none.
    #[wasm_bindgen(js_name = Number)]
    fn js_number(text: &str) -> f64;
}

/// Truncates `text` to at most `max` characters, with an ellipsis.
pub fn ellipsize(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}
