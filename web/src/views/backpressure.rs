//! `backpressure`: per subscription, queue depth against capacity and the high-water mark
//! over the last 60 s, lag in messages and milliseconds, drops, overflow policy, a trend arrow,
//! and red past [`ALERT_FILL`]. The most loaded subscriptions come first.

use std::fmt::Write as _;

use leptos::prelude::*;

use super::{ellipsize, fmt_count, use_app};
use crate::model::event::format_millis;
use crate::model::state::SubState;
use crate::model::{Model, PressureSample, PRESSURE_SAMPLES, PRESSURE_SAMPLE_MS};

/// Fill ratio from which a queue is drawn red.
pub const ALERT_FILL: f64 = 0.8;
/// Cards shown.
pub const MAX_CARDS: usize = 8;
const CHART_W: f64 = 200.0;
const CHART_H: f64 = 44.0;
/// Samples compared for the trend arrow (5 s).
const TREND_SAMPLES: usize = 20;

/// Whether a queue grows, shrinks or holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trend {
    /// Depth rose noticeably over the last 5 s.
    Rising,
    /// Depth fell noticeably.
    Falling,
    /// Neither.
    Flat,
}

impl Trend {
    /// The arrow.
    pub fn arrow(self) -> &'static str {
        match self {
            Trend::Rising => "↗",
            Trend::Falling => "↘",
            Trend::Flat => "→",
        }
    }

    /// Its CSS class (`trend-rising`, ...).
    pub fn class(self) -> &'static str {
        match self {
            Trend::Rising => "trend trend-rising",
            Trend::Falling => "trend trend-falling",
            Trend::Flat => "trend trend-flat",
        }
    }
}

/// One subscription's card.
#[derive(Clone, Debug, PartialEq)]
pub struct PressureCard {
    /// Subscription id bits.
    pub id: u64,
    /// Name or pattern.
    pub label: String,
    /// Pattern.
    pub pattern: String,
    /// Overflow policy.
    pub policy: String,
    /// Current depth.
    pub depth: u64,
    /// Capacity.
    pub capacity: u64,
    /// High-water mark.
    pub high_water: u64,
    /// Age of the oldest queued message (ms).
    pub lag_ms: f64,
    /// Drops so far.
    pub dropped: u64,
    /// Trend over the last 5 s.
    pub trend: Trend,
    /// Past the alert threshold.
    pub alert: bool,
    /// Depth polyline points.
    pub depth_points: String,
    /// High-water polyline points.
    pub high_points: String,
    /// Area under the depth line.
    pub depth_area: String,
}

/// The trend of `history`: compares the newest depth with the one 5 s earlier.
pub fn trend(history: &[PressureSample]) -> Trend {
    let (Some(last), Some(first)) = (
        history.last(),
        history
            .iter()
            .rev()
            .nth(TREND_SAMPLES.min(history.len().saturating_sub(1))),
    ) else {
        return Trend::Flat;
    };
    let threshold = (last.capacity as f64 * 0.03).max(1.0);
    let delta = last.depth as f64 - first.depth as f64;
    if delta >= threshold {
        Trend::Rising
    } else if -delta >= threshold {
        Trend::Falling
    } else {
        Trend::Flat
    }
}

fn points(history: &[PressureSample], now: f64, value: impl Fn(&PressureSample) -> u64) -> String {
    let window = PRESSURE_SAMPLES as f64 * PRESSURE_SAMPLE_MS;
    let mut out = String::with_capacity(history.len() * 12);
    for s in history {
        let x = CHART_W - ((now - s.at) / window * CHART_W).clamp(0.0, CHART_W);
        let cap = s.capacity.max(1) as f64;
        let y = CHART_H - (value(s) as f64 / cap).clamp(0.0, 1.0) * (CHART_H - 2.0) - 1.0;
        // Writing to a String cannot fail.
        let _ = write!(out, "{x:.1},{y:.1} ");
    }
    out
}

/// Builds the cards, most loaded first: only the [`MAX_CARDS`] shown get their history and
/// chart built (a storm has hundreds of subscriptions), the rest are counted.
pub fn build(model: &Model) -> (Vec<PressureCard>, usize) {
    let now = model.state.at;
    let fill = |s: &SubState| s.depth as f64 / s.capacity.max(1) as f64;
    let mut ranked: Vec<&SubState> = model.state.subscriptions.iter().collect();
    crate::sort::sort_by(&mut ranked, |a, b| {
        fill(b)
            .total_cmp(&fill(a))
            .then(b.counters.dropped.cmp(&a.counters.dropped))
            .then(b.high_water.cmp(&a.high_water))
            .then(a.id.cmp(&b.id))
    });
    let hidden = ranked.len().saturating_sub(MAX_CARDS);
    ranked.truncate(MAX_CARDS);
    let cards = ranked
        .into_iter()
        .map(|s| {
            let history: Vec<PressureSample> = model
                .pressure
                .get(&s.id)
                .map(|r| r.iter().copied().collect())
                .unwrap_or_default();
            let depth_points = points(&history, now, |p| p.depth);
            let depth_area = match (history.first(), history.last()) {
                (Some(_), Some(_)) => {
                    let first_x = depth_points.split(',').next().unwrap_or("0");
                    format!("{first_x},{CHART_H} {depth_points} {CHART_W},{CHART_H}")
                }
                _ => String::new(),
            };
            PressureCard {
                id: s.id,
                label: ellipsize(s.label(), 26),
                pattern: s.pattern.clone(),
                policy: s.overflow.clone(),
                depth: s.depth,
                capacity: s.capacity,
                high_water: s.high_water,
                lag_ms: s.oldest_queued_at.map_or(0.0, |t| (now - t).max(0.0)),
                dropped: s.counters.dropped,
                trend: trend(&history),
                alert: s.fill() >= ALERT_FILL,
                high_points: points(&history, now, |p| p.high_water),
                depth_points,
                depth_area,
            }
        })
        .collect();
    (cards, hidden)
}

/// The backpressure view.
#[component]
pub fn Backpressure() -> impl IntoView {
    let app = use_app();
    let data = app
        .feed
        .staggered(1, move || app.feed.model.with_value(build));
    view! {
        <section class="panel backpressure" data-testid="backpressure">
            <header class="panel-head">
                <h2>"Backpressure"<span class="muted">" · 60 s"</span></h2>
                <span class="legend">
                    <span class="lg lg-depth"></span>"depth"
                    <span class="lg lg-high"></span>"high-water"
                    <span class="lg lg-cap"></span>"capacity"
                </span>
            </header>
            <div class="cards">
                // Rebuilt on each refresh rather than a keyed <For>, whose per-row owners stay
                // referenced by the list's owner and leak as cards churn (see the topology view).
                {move || data.get().0.into_iter().map(|card| view! {
                    <div class=if card.alert { "card alert" } else { "card" } data-sub=card.id.to_string()>
                        <div class="card-head">
                            <span class="name" title=card.pattern.clone()>{card.label.clone()}</span>
                            <span class=card.trend.class() title="trend over 5 s">{card.trend.arrow()}</span>
                            <span class="badge">{card.policy.clone()}</span>
                        </div>
                        <svg class="spark" viewBox=format!("0 0 {CHART_W} {CHART_H}") preserveAspectRatio="none">
                            <line class="cap" x1="0" y1="1" x2=CHART_W y2="1"></line>
                            <line class="threshold" x1="0" y1=CHART_H * (1.0 - ALERT_FILL) x2=CHART_W y2=CHART_H * (1.0 - ALERT_FILL)></line>
                            <polygon class="depth-area" points=card.depth_area.clone()></polygon>
                            <polyline class="depth" points=card.depth_points.clone()></polyline>
                            <polyline class="high" points=card.high_points.clone()></polyline>
                        </svg>
                        <div class="card-stats">
                            <span title="depth / capacity"><i>"depth"</i><b>{format!("{}/{}", card.depth, card.capacity)}</b></span>
                            <span title="high-water mark"><i>"high"</i>{card.high_water}</span>
                            <span title="age of the oldest queued message"><i>"lag"</i>{if card.depth == 0 { "–".to_string() } else { format_millis(card.lag_ms) }}</span>
                            <span class={if card.dropped > 0 { "drops hot" } else { "drops" }} title="dropped by the overflow policy"><i>"drops"</i>{fmt_count(card.dropped)}</span>
                        </div>
                    </div>
                }).collect_view()}
                <Show when=move || { data.get().1 > 0 }>
                    <div class="more muted">{move || format!("+{} quieter subscriptions", data.get().1)}</div>
                </Show>
                <Show when=move || data.get().0.is_empty()>
                    <div class="empty muted">"No subscriptions yet."</div>
                </Show>
            </div>
        </section>
    }
}
