//! The bottom panel: timeline, event log, dead letters, leaks, bridge links and metrics as tabs, each with a
//! live count. Only the active tab is mounted, so hidden views cost nothing per frame.

use leptos::prelude::*;

use super::{fmt_count, use_app};
use crate::source::ScenarioId;
use crate::state::{Selection, Tab};

/// The tab bar and the active view.
#[component]
pub fn Tabs() -> impl IntoView {
    let app = use_app();
    let counts = app.feed.staggered(3, move || {
        app.feed.model.with_value(|m| {
            (
                m.events_seen,
                m.state.dead_letters.len(),
                m.state.leaks.len(),
                m.state.subscriptions.len(),
                m.state.links.len(),
            )
        })
    });
    let select = move |selection: Selection| app.selected.set(Some(selection));
    // Storm's messages are too dense for 15 s: its timeline opens on the last second.
    let window_ms = move || {
        if app.scenario.get_untracked() == ScenarioId::Storm {
            1_000.0
        } else {
            super::timeline::DEFAULT_WINDOW_MS
        }
    };
    let button = move |tab: Tab,
                       id: &'static str,
                       label: &'static str,
                       count: Box<dyn Fn() -> String + Send + Sync>| {
        view! {
            <button
                class=move || if app.tab.get() == tab { "tab active" } else { "tab" }
                data-testid=format!("tab-{id}")
                on:click=move |_| app.tab.set(tab)
            >
                {label}
                <span class="count">{count}</span>
            </button>
        }
    };
    view! {
        <section class="panel tabs-panel">
            <nav class="tabs">
                {button(Tab::Timeline, "timeline", "Timeline", Box::new(move || format!("{} lanes", counts.get().3)))}
                {button(Tab::Log, "event-log", "Event log", Box::new(move || fmt_count(counts.get().0)))}
                {button(Tab::DeadLetters, "dead-letters", "Dead letters", Box::new(move || counts.get().1.to_string()))}
                {button(Tab::Leaks, "leaks", "Leaks", Box::new(move || counts.get().2.to_string()))}
                {button(Tab::Links, "links", "Links", Box::new(move || counts.get().4.to_string()))}
                {button(Tab::Metrics, "metrics", "Metrics", Box::new(String::new))}
            </nav>
            <div class="tab-body">
                {move || match app.tab.get() {
                    Tab::Timeline => view! { <super::timeline::Timeline feed=app.feed on_select=select window_ms=window_ms()/> }.into_any(),
                    Tab::Log => view! { <super::event_log::EventLog feed=app.feed on_select=select/> }.into_any(),
                    Tab::DeadLetters => view! { <super::dead_letters::DeadLetters/> }.into_any(),
                    Tab::Leaks => view! { <super::leaks::Leaks/> }.into_any(),
                    Tab::Links => view! { <super::links::Links/> }.into_any(),
                    Tab::Metrics => view! { <super::metrics::Metrics/> }.into_any(),
                }}
            </div>
        </section>
    }
}
