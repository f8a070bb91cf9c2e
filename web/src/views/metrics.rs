//! `metrics`: bus-wide counters, then per subscription and per topic: counters and latency
//! p50/p90/p99 (publish → delivered) and handler time.

use leptos::prelude::*;

use super::{ellipsize, fmt_count, fmt_rate, use_app};
use crate::model::event::format_micros;
use crate::model::state::{Counts, Latency};

/// Rows per table at most (the busiest).
pub const MAX_ROWS: usize = 40;

fn pct(l: &Latency) -> [String; 3] {
    if l.count == 0 {
        ["–".to_string(), "–".to_string(), "–".to_string()]
    } else {
        [
            format_micros(l.p50),
            format_micros(l.p90),
            format_micros(l.p99),
        ]
    }
}

/// One table row.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Name.
    pub name: String,
    /// Secondary text.
    pub detail: String,
    /// Counters.
    pub counts: Counts,
    /// Rate per second.
    pub rate: f64,
    /// Latency p50, p90, p99.
    pub latency: [String; 3],
    /// Handler time p50, p90, p99.
    pub handler: [String; 3],
}

/// The metrics view.
#[component]
pub fn Metrics() -> impl IntoView {
    let app = use_app();
    let data = app.feed.staggered(2, move || {
        app.feed.model.with_value(|m| {
            let s = &m.state;
            let tiles = vec![
                (
                    "published",
                    fmt_count(s.totals.published),
                    fmt_rate(m.rates.published()),
                ),
                (
                    "delivered",
                    fmt_count(s.totals.delivered),
                    fmt_rate(m.rates.delivered()),
                ),
                ("failed", fmt_count(s.totals.failed), String::new()),
                ("retried", fmt_count(s.totals.retried), String::new()),
                (
                    "dead letters",
                    fmt_count(s.totals.dead_lettered),
                    String::new(),
                ),
                ("dropped", fmt_count(s.totals.dropped), String::new()),
                ("filtered", fmt_count(s.totals.filtered), String::new()),
                ("queued", fmt_count(s.queued), String::new()),
                ("in flight", fmt_count(s.in_flight), String::new()),
                (
                    "rejected",
                    fmt_count(s.publishes_rejected),
                    "backpressure".to_string(),
                ),
                (
                    "cascades",
                    fmt_count(s.cascades_refused),
                    "refused".to_string(),
                ),
                ("breakers", fmt_count(s.breakers_open), "open".to_string()),
            ];
            let mut subs: Vec<Row> = s
                .subscriptions
                .iter()
                .map(|x| Row {
                    name: ellipsize(x.label(), 24),
                    detail: x.pattern.clone(),
                    counts: x.counters,
                    rate: m.rates.sub_delivered(x.id),
                    latency: pct(&x.latency),
                    handler: pct(&x.handler),
                })
                .collect();
            crate::sort::sort_by(&mut subs, |a, b| {
                b.counts
                    .published
                    .cmp(&a.counts.published)
                    .then(a.name.cmp(&b.name))
            });
            let hidden_subs = subs.len().saturating_sub(MAX_ROWS);
            subs.truncate(MAX_ROWS);
            let mut topics: Vec<Row> = s
                .topics
                .iter()
                .map(|t| Row {
                    name: ellipsize(&t.topic, 28),
                    detail: String::new(),
                    counts: t.counters,
                    rate: m.rates.topic(&t.topic),
                    latency: pct(&t.latency),
                    handler: pct(&Latency::default()),
                })
                .collect();
            crate::sort::sort_by(&mut topics, |a, b| {
                b.counts
                    .published
                    .cmp(&a.counts.published)
                    .then(a.name.cmp(&b.name))
            });
            let hidden_topics = topics.len().saturating_sub(MAX_ROWS);
            topics.truncate(MAX_ROWS);
            (tiles, subs, hidden_subs, topics, hidden_topics)
        })
    });
    view! {
        <section class="view metrics" data-testid="metrics">
            <div class="tiles">
                {move || data.get().0.into_iter().map(|t| view! {
                    <div class="tile" data-metric=t.0>
                        <div class="tile-label">{t.0}</div>
                        <div class="tile-value">{t.1.clone()}</div>
                        <div class="tile-sub muted">{t.2.clone()}</div>
                    </div>
                }).collect_view()}
            </div>
            <div class="tables">
                <table class="grid">
                    <thead><tr><th>"subscription"</th><th>"rate"</th><th>"enq"</th><th>"deliv"</th><th>"fail"</th><th>"retry"</th><th>"DL"</th><th>"drop"</th><th title="publish → delivered">"lat p50"</th><th>"p90"</th><th>"p99"</th><th title="handler duration">"handler p99"</th></tr></thead>
                    <tbody>
                        {move || data.get().1.into_iter().map(|r| view! {
                            <tr>
                                <td title=r.detail.clone()>{r.name.clone()}</td>
                                <td class="num">{fmt_rate(r.rate)}</td>
                                <td class="num">{fmt_count(r.counts.published)}</td>
                                <td class="num">{fmt_count(r.counts.delivered)}</td>
                                <td class={if r.counts.failed > 0 { "num hot" } else { "num" }}>{fmt_count(r.counts.failed)}</td>
                                <td class="num">{fmt_count(r.counts.retried)}</td>
                                <td class={if r.counts.dead_lettered > 0 { "num hot" } else { "num" }}>{fmt_count(r.counts.dead_lettered)}</td>
                                <td class={if r.counts.dropped > 0 { "num warn" } else { "num" }}>{fmt_count(r.counts.dropped)}</td>
                                <td class="num">{r.latency[0].clone()}</td>
                                <td class="num">{r.latency[1].clone()}</td>
                                <td class="num">{r.latency[2].clone()}</td>
                                <td class="num">{r.handler[2].clone()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
                <Show when=move || { data.get().2 > 0 }><div class="muted small">{move || format!("+{} more subscriptions", data.get().2)}</div></Show>
                <table class="grid">
                    <thead><tr><th>"topic"</th><th>"rate"</th><th>"published"</th><th>"delivered"</th><th>"failed"</th><th>"DL"</th><th>"dropped"</th><th title="publish → delivered">"lat p50"</th><th>"p90"</th><th>"p99"</th></tr></thead>
                    <tbody>
                        {move || data.get().3.into_iter().map(|r| view! {
                            <tr>
                                <td class="topic">{r.name.clone()}</td>
                                <td class="num">{fmt_rate(r.rate)}</td>
                                <td class="num">{fmt_count(r.counts.published)}</td>
                                <td class="num">{fmt_count(r.counts.delivered)}</td>
                                <td class="num">{fmt_count(r.counts.failed)}</td>
                                <td class="num">{fmt_count(r.counts.dead_lettered)}</td>
                                <td class="num">{fmt_count(r.counts.dropped)}</td>
                                <td class="num">{r.latency[0].clone()}</td>
                                <td class="num">{r.latency[1].clone()}</td>
                                <td class="num">{r.latency[2].clone()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
                <Show when=move || { data.get().4 > 0 }><div class="muted small">{move || format!("+{} more topics", data.get().4)}</div></Show>
            </div>
        </section>
    }
}
