//! The header (source, play/pause/step, live totals, export/import) and the sidebar (scenario,
//! producer rate, consumer latency, failure rate, capacity, overflow policy, delivery strategy,
//! attach).

use core::time::Duration;

use leptos::prelude::*;
use switchyard_core::{DeliveryStrategy, Overflow};
use wasm_bindgen::JsCast;

use super::{fmt_count, fmt_rate, use_app};
use crate::js::error_text;
use crate::source::scenarios::{self, ScenarioId};
use crate::source::Tuning;
use crate::state::Mode;

/// Producer rate multipliers offered by the rate slider.
pub const RATE_SCALES: [f64; 8] = [0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 10.0];
/// Replay speeds offered.
pub const SPEEDS: [f64; 6] = [0.25, 0.5, 1.0, 2.0, 5.0, 20.0];

fn download(name: &str, text: &str) -> Result<(), String> {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/x-ndjson");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)
        .map_err(|e| error_text(&e))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| error_text(&e))?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|e| error_text(&e))?
        .unchecked_into();
    a.set_href(&url);
    a.set_download(name);
    a.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

/// How long a status message stays on the status line (ms).
pub const STATUS_SHOWN_MS: u32 = 6_000;

/// The top bar.
#[component]
pub fn Header() -> impl IntoView {
    let app = use_app();
    // A status message goes after STATUS_SHOWN_MS (a newer one restarts the wait), so a toast
    // such as "redrive sent" does not cover the topology for good; a failed attach stays, as
    // the condition does.
    Effect::new(move |_| {
        let text = app.status.get();
        if text.is_empty() || text.starts_with("attach failed") {
            return;
        }
        gloo_timers::callback::Timeout::new(STATUS_SHOWN_MS, move || {
            if app.status.get_untracked() == text {
                app.status.set(String::new());
            }
        })
        .forget();
    });
    let totals = app.feed.staggered(3, move || {
        app.feed.model.with_value(|m| {
            (
                m.rates.published(),
                m.rates.delivered(),
                m.state.queued,
                m.state.in_flight,
                m.state.dead_letters.len(),
                m.state.leaks.len(),
                m.missed,
                m.state.totals.published,
            )
        })
    });
    let replay_pos = Memo::new(move |_| {
        app.feed.rev.track();
        app.source.with_value(|s| match s {
            crate::source::Source::Replay(p) => {
                Some((p.events_played(), p.events_total(), p.finished()))
            }
            _ => None,
        })
    });
    let export = move |_| {
        let text = app.export();
        let name = app.source.with_value(|s| s.describe()).replace(':', "-");
        if let Err(e) = download(&format!("switchyard-{name}.ndjson"), &text) {
            app.status.set(format!("export failed: {e}"));
        } else {
            app.status
                .set(format!("exported {} lines", text.lines().count()));
        }
    };
    let import = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        input.set_value("");
        leptos::task::spawn_local(async move {
            match wasm_bindgen_futures::JsFuture::from(file.text()).await {
                Ok(text) => app.import(&text.as_string().unwrap_or_default()),
                Err(e) => app.status.set(format!("import failed: {}", error_text(&e))),
            }
        });
    };
    view! {
        <header class="topbar">
            <div class="brand"><span class="logo">"⇄"</span>"Switchyard"</div>
            <div class="source-badge" data-testid="source" title=move || (app.mode.get() == Mode::Attach).then(|| app.attach_status.get())>
                {move || match app.mode.get() {
                    Mode::Scenario => format!("scenario · {}", app.scenario.get().name()),
                    Mode::Attach => app.attach_status.get(),
                    Mode::Replay => match replay_pos.get() {
                        Some((at, len, done)) => format!("replay · {at}/{len}{}", if done { " · end" } else { "" }),
                        None => "replay".to_string(),
                    },
                }}
            </div>
            <div class="transport">
                <button class=move || if app.playing.get() { "btn primary active" } else { "btn primary" } data-testid="play" on:click=move |_| app.set_playing(true) title="Run">"▶ Play"</button>
                <button class=move || if app.playing.get() { "btn" } else { "btn active" } data-testid="pause" on:click=move |_| app.set_playing(false) title="Pause">"❚❚ Pause"</button>
                <button class="btn" data-testid="step" disabled=move || app.playing.get() || app.mode.get() == Mode::Attach on:click=move |_| app.step() title="One event (replay) or one frame (scenario)">"Step ›"</button>
                <Show when=move || app.mode.get() == Mode::Replay>
                    <select class="speed" data-testid="speed" prop:value=move || app.speed.get().to_string() on:change=move |ev| { if let Some(v) = super::parse_number(&event_target_value(&ev)) { app.speed.set(v) } }>
                        {SPEEDS.iter().map(|s| view! { <option value=s.to_string()>{format!("{s}×")}</option> }).collect_view()}
                    </select>
                </Show>
            </div>
            <div class="chips" data-testid="totals">
                <span class="chip" title="published per second"><i>"pub"</i>{move || fmt_rate(totals.get().0)}</span>
                <span class="chip" title="delivered per second"><i>"deliv"</i>{move || fmt_rate(totals.get().1)}</span>
                <span class="chip" title="messages queued"><i>"queued"</i>{move || fmt_count(totals.get().2)}</span>
                <span class="chip" title="deliveries in flight"><i>"in flight"</i>{move || fmt_count(totals.get().3)}</span>
                <span class=move || { if totals.get().4 > 0 { "chip bad" } else { "chip" } } title="dead letters"><i>"DLQ"</i>{move || totals.get().4}</span>
                <span class=move || { if totals.get().5 > 0 { "chip warn" } else { "chip" } } title="suspected leaks"><i>"leaks"</i>{move || totals.get().5}</span>
                <Show when=move || { totals.get().6 > 0 }>
                    <span class="chip warn" title="trace events overwritten before the visualiser read them"><i>"missed"</i>{move || fmt_count(totals.get().6)}</span>
                </Show>
            </div>
            <div class="io">
                <button class="btn" data-testid="export" on:click=export title="Download the recording as NDJSON">"⤓ Export"</button>
                <label class="btn file" title="Open a recording (NDJSON)">"⤒ Import"<input type="file" data-testid="import" accept=".ndjson,.jsonl,.json,application/x-ndjson" on:change=import/></label>
            </div>
        </header>
        <div class="statusline" data-testid="status">{move || app.status.get()}</div>
    }
}

fn base_rate(id: ScenarioId) -> f64 {
    scenarios::definition(id)
        .producers
        .iter()
        .map(|p| p.rate)
        .sum()
}

/// What the sidebar's Attach button asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct AttachRequest {
    /// The name the bus is exposed under (`bus.expose(name)`), as typed.
    pub name: String,
    /// The address of a page of another origin to open and attach to (trimmed); `None` for a
    /// bus of another tab of this origin.
    pub page: Option<String>,
}

/// The left column of controls: the scenario, its live tuning and attaching to a bus. It
/// changes nothing itself: each control calls its callback, and the tuning controls are
/// disabled unless `mode` is [`Mode::Scenario`].
#[component]
pub fn Sidebar(
    /// The active source kind.
    mode: impl Fn() -> Mode + Copy + Send + Sync + 'static,
    /// The scenario selected (shown while `mode` is [`Mode::Scenario`]).
    scenario: impl Fn() -> ScenarioId + Copy + Send + Sync + 'static,
    /// The current controls.
    tuning: impl Fn() -> Tuning + Copy + Send + Sync + 'static,
    /// Called with the scenario picked in the list.
    on_scenario: impl Fn(ScenarioId) + Copy + Send + Sync + 'static,
    /// Called with `tuning` changed by one control.
    on_tune: impl Fn(Tuning) + Copy + Send + Sync + 'static,
    /// Called when Attach is clicked.
    on_attach: impl Fn(AttachRequest) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let attach_name = RwSignal::new(String::from("demo"));
    let attach_page = RwSignal::new(String::new());
    let set = move |f: &dyn Fn(&mut Tuning)| {
        let mut t = untrack(tuning);
        f(&mut t);
        on_tune(t);
    };
    let rate_index = move || {
        RATE_SCALES
            .iter()
            .position(|s| (*s - tuning().rate_scale).abs() < 1e-9)
            .unwrap_or(4)
    };
    let scenario_only = move || mode() != Mode::Scenario;
    view! {
        <aside class="sidebar">
            <section class="group">
                <h3>"Scenario"</h3>
                <select
                    data-testid="scenario"
                    prop:value=move || if mode() == Mode::Scenario { scenario().name().to_string() } else { String::new() }
                    on:change=move |ev| {
                        if let Some(id) = ScenarioId::from_name(&event_target_value(&ev)) {
                            on_scenario(id);
                        }
                    }
                >
                    <Show when=move || mode() != Mode::Scenario>
                        <option value="">"—"</option>
                    </Show>
                    {ScenarioId::ALL.iter().map(|s| view! { <option value=s.name()>{s.name()}</option> }).collect_view()}
                </select>
                <p class="desc">{move || if mode() == Mode::Scenario { scenario().description().to_string() } else { "Controls apply to built-in scenarios.".to_string() }}</p>
            </section>
            <section class="group">
                <h3>"Producers"</h3>
                <label class="field">
                    <span>"rate"<b>{move || {
                        let base = base_rate(scenario());
                        format!("×{} · {}", tuning().rate_scale, fmt_rate(base * tuning().rate_scale))
                    }}</b></span>
                    <input type="range" min="0" max=(RATE_SCALES.len() - 1).to_string() step="1" data-testid="producer-rate"
                        disabled=scenario_only
                        prop:value=move || rate_index().to_string()
                        on:input=move |ev| {
                            let i: usize = event_target_value(&ev).parse().unwrap_or(4);
                            let scale = RATE_SCALES.get(i).copied().unwrap_or(1.0);
                            set(&|t| t.rate_scale = scale);
                        }/>
                </label>
            </section>
            <section class="group">
                <h3>"Consumers"</h3>
                <label class="field"><span>"latency"</span>
                    <select data-testid="consumer-latency" disabled=scenario_only on:change=move |ev| {
                        let v = event_target_value(&ev);
                        set(&|t| t.latency_ms = super::parse_number(&v));
                    }>
                        <option value="">"scenario default"</option>
                        {[0.0, 2.0, 10.0, 25.0, 50.0, 100.0, 250.0].iter().map(|ms| view! { <option value=ms.to_string()>{if *ms == 0.0 { "0 ms (sync)".to_string() } else { format!("{ms} ms") }}</option> }).collect_view()}
                    </select>
                </label>
                <label class="field"><span>"failure rate"</span>
                    <select data-testid="failure-rate" disabled=scenario_only on:change=move |ev| {
                        let v = event_target_value(&ev);
                        set(&|t| t.failure_rate = super::parse_number(&v));
                    }>
                        <option value="">"scenario default"</option>
                        {[0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0].iter().map(|p| view! { <option value=p.to_string()>{format!("{}%", p * 100.0)}</option> }).collect_view()}
                    </select>
                </label>
                <label class="field"><span>"delivery"</span>
                    <select data-testid="delivery" disabled=scenario_only on:change=move |ev| {
                        let v = event_target_value(&ev);
                        let strategy = match v.as_str() {
                            "immediate" => Some(DeliveryStrategy::Immediate),
                            "batched" => Some(DeliveryStrategy::Batched { size: 10, max_wait: Duration::from_millis(250) }),
                            _ => None,
                        };
                        set(&|t| t.delivery = strategy);
                    }>
                        <option value="">"scenario default"</option>
                        <option value="immediate">"immediate"</option>
                        <option value="batched">"batched (10 or 250 ms)"</option>
                    </select>
                </label>
            </section>
            <section class="group">
                <h3>"Queues"</h3>
                <label class="field"><span>"capacity"</span>
                    <select data-testid="capacity" disabled=scenario_only on:change=move |ev| {
                        let v = event_target_value(&ev);
                        set(&|t| t.capacity = v.parse().ok());
                    }>
                        <option value="">"scenario default"</option>
                        {[8usize, 32, 128, 512, 1024, 4096].iter().map(|c| view! { <option value=c.to_string()>{c.to_string()}</option> }).collect_view()}
                    </select>
                </label>
                <label class="field"><span>"overflow"</span>
                    <select data-testid="overflow" disabled=scenario_only on:change=move |ev| {
                        let v = event_target_value(&ev);
                        let overflow = match v.as_str() {
                            "reject" => Some(Overflow::Reject),
                            "drop-oldest" => Some(Overflow::DropOldest),
                            "drop-newest" => Some(Overflow::DropNewest),
                            _ => None,
                        };
                        set(&|t| t.overflow = overflow);
                    }>
                        <option value="">"scenario default"</option>
                        <option value="reject">"reject"</option>
                        <option value="drop-oldest">"drop-oldest"</option>
                        <option value="drop-newest">"drop-newest"</option>
                    </select>
                </label>
            </section>
            <section class="group">
                <h3>"Attach"</h3>
                <p class="desc">"Show a bus from another tab of this origin that called "<code>"bus.expose(name)"</code>", or give the address of a page of another origin that called "<code>"exposeToOrigins(bus, name, { allowOrigins })"</code>" with this one: it opens in a new window."</p>
                <div class="attach-row">
                    <input data-testid="attach-name" aria-label="exposed name" prop:value=move || attach_name.get() on:input=move |ev| attach_name.set(event_target_value(&ev))/>
                    <button class="btn" data-testid="attach" on:click=move |_| {
                        let page = attach_page.get_untracked();
                        let page = page.trim();
                        on_attach(AttachRequest {
                            name: attach_name.get_untracked(),
                            page: (!page.is_empty()).then(|| page.to_string()),
                        });
                    }>"Attach"</button>
                </div>
                <input class="attach-page" data-testid="attach-page" aria-label="page address (another origin)" placeholder="page of another origin (optional)" prop:value=move || attach_page.get() on:input=move |ev| attach_page.set(event_target_value(&ev))/>
            </section>
        </aside>
    }
}
