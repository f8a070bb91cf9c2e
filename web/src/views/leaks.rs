//! `leaks`: active subscriptions over time, bus-wide and per pattern, and the suspected leaks
//! with name, pattern, age, reason (max listeners, owner collected, idle, trend) and the
//! creation stack when known.

use leptos::prelude::*;

use super::use_app;
use crate::model::event::format_millis;
use crate::model::{Model, POPULATION_SAMPLES, POPULATION_SAMPLE_MS};

const CHART_W: f64 = 600.0;
const CHART_H: f64 = 90.0;
/// Patterns drawn on the chart (the most populous).
pub const MAX_SERIES: usize = 5;
/// Colours of the series, in legend order (bus-wide first).
pub const COLOURS: [&str; 6] = [
    "#e6edf3", "#4ea1ff", "#f0883e", "#a371f7", "#3fb950", "#d29922",
];

/// One line of the population chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// `all` or the pattern.
    pub label: String,
    /// Current count.
    pub current: u32,
    /// Polyline points.
    pub points: String,
    /// Colour.
    pub colour: &'static str,
}

/// Builds the population chart: the bus-wide count and the [`MAX_SERIES`] most populous patterns.
pub fn series(model: &Model) -> (Vec<Series>, u32) {
    let now = model.state.at;
    let window = POPULATION_SAMPLES as f64 * POPULATION_SAMPLE_MS;
    let mut max = model
        .population
        .iter()
        .map(|s| s.total)
        .max()
        .unwrap_or(0)
        .max(1);
    let mut patterns: Vec<(&String, u32)> = model
        .pattern_population
        .iter()
        .map(|(p, h)| (p, h.last().map_or(0, |x| x.1)))
        .collect();
    crate::sort::sort_by(&mut patterns, |a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    patterns.truncate(MAX_SERIES);
    let to_points = |samples: &mut dyn Iterator<Item = (f64, u32)>, max: u32| {
        samples
            .map(|(at, n)| {
                let x = CHART_W - ((now - at) / window * CHART_W).clamp(0.0, CHART_W);
                let y = CHART_H - f64::from(n) / f64::from(max) * (CHART_H - 4.0) - 2.0;
                format!("{x:.1},{y:.1}")
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    max = max.max(1);
    let mut out = vec![Series {
        label: "all subscriptions".to_string(),
        current: model.population.last().map_or(0, |s| s.total),
        points: to_points(&mut model.population.iter().map(|s| (s.at, s.total)), max),
        colour: COLOURS[0],
    }];
    for (i, (pattern, current)) in patterns.into_iter().enumerate() {
        let history = &model.pattern_population[pattern];
        out.push(Series {
            label: pattern.clone(),
            current,
            points: to_points(&mut history.iter().copied(), max),
            colour: COLOURS[(i + 1) % COLOURS.len()],
        });
    }
    (out, max)
}

/// The leaks view.
#[component]
pub fn Leaks() -> impl IntoView {
    let app = use_app();
    let chart = app
        .feed
        .staggered(2, move || app.feed.model.with_value(series));
    let reports = app.feed.staggered(2, move || {
        app.feed.model.with_value(|m| {
            m.state
                .leaks
                .iter()
                .rev()
                .take(60)
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    view! {
        <section class="view leaks" data-testid="leaks">
            <div class="leak-chart">
                <div class="legend">
                    {move || chart.get().0.into_iter().map(|s| view! {
                        <span class="lg-line" style:background=s.colour></span>
                        <span>{s.label.clone()}" "<b>{s.current}</b></span>
                    }).collect_view()}
                    <span class="muted">"· active subscriptions, last 60 s · y max "{move || chart.get().1}</span>
                </div>
                <svg class="pop" viewBox=format!("0 0 {CHART_W} {CHART_H}") preserveAspectRatio="none">
                    <line class="grid" x1="0" y1=CHART_H / 2.0 x2=CHART_W y2=CHART_H / 2.0></line>
                    {move || chart.get().0.into_iter().map(|s| view! {
                        <polyline points=s.points.clone() style:stroke=s.colour></polyline>
                    }).collect_view()}
                </svg>
            </div>
            <div class="leak-list">
                <Show when=move || reports.get().is_empty()>
                    <div class="empty muted">"No suspected leaks."</div>
                </Show>
                <For each=move || reports.get() key=|r| (r.reason.clone(), r.pattern.clone(), r.detected_at.to_bits(), r.suspects.len()) let:r>
                    <div class=format!("leak reason-{}", r.reason) data-testid="leak-report">
                        <div class="leak-head">
                            <span class=format!("badge leak-{}", r.reason)>{r.reason.replace('_', " ")}</span>
                            <span class="mono">{r.pattern.clone()}</span>
                            <span class="muted">{r.detail.clone()}</span>
                        </div>
                        <ul class="suspects">
                            {r.suspects.iter().take(8).map(|s| view! {
                                <li>
                                    <span class="name">{s.name.clone().unwrap_or_else(|| format!("#{}", s.subscription & 0xFFFF_FFFF))}</span>
                                    <span class="mono muted">{s.pattern.clone()}</span>
                                    <span class="muted">"age "{format_millis(s.age_ms)}</span>
                                    {s.stack.clone().map(|stack| view! { <details><summary>"creation stack"</summary><pre>{stack}</pre></details> })}
                                </li>
                            }).collect_view()}
                            {(r.suspects.len() > 8).then(|| view! { <li class="muted">{format!("…and {} more", r.suspects.len() - 8)}</li> })}
                        </ul>
                    </div>
                </For>
            </div>
        </section>
    }
}
