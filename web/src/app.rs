//! The root component ([`App`]): reads what the URL asks for ([`launch_from_query`]), starts
//! the source, runs the animation-frame loop that pulls updates from the source into the model
//! ([`run_frames`]), and lays out the page, handing each component with props the handles it
//! reads and the callbacks it writes through. The state it shares lives in [`crate::state`].

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::source::{ScenarioId, Source};
use crate::state::{performance_now, take_view_costs, AppState, PHASES, SLOW_TICK_MS};
use crate::views;

/// What the URL asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Launch {
    /// `?scenario=NAME[&autoplay=1]`, or the default page.
    Scenario {
        /// Which.
        id: ScenarioId,
        /// Start running.
        autoplay: bool,
    },
    /// `?attach=NAME`.
    Attach(String),
    /// `?devtools=1`: the in-page devtools of the page that opened this one.
    Devtools,
}

/// Reads the launch request from a query string (`?scenario=storm&autoplay=1`). Without a
/// query the default scenario opens running (what `cargo xtask demo` shows).
pub fn launch_from_query(query: &str) -> Result<Launch, String> {
    let params = web_sys::UrlSearchParams::new_with_str(query)
        .map_err(|_| "unreadable query".to_string())?;
    if params.get("devtools").as_deref() == Some("1") {
        return Ok(Launch::Devtools);
    }
    if let Some(name) = params.get("attach") {
        return Ok(Launch::Attach(name));
    }
    match params.get("scenario") {
        None => Ok(Launch::Scenario {
            id: ScenarioId::Basic,
            autoplay: params.get("autoplay").as_deref() != Some("0"),
        }),
        Some(name) => {
            let id = ScenarioId::from_name(&name).ok_or_else(|| {
                let known: Vec<&str> = ScenarioId::ALL.iter().map(|s| s.name()).collect();
                format!("unknown scenario {name:?}; known: {}", known.join(", "))
            })?;
            Ok(Launch::Scenario {
                id,
                autoplay: params.get("autoplay").as_deref() == Some("1"),
            })
        }
    }
}

/// Per-frame costs, published as `window.__switchyardPerf` for the end-to-end budget test and
/// the memory soak (`tests/bench/soak.mjs`): `frames`; `tickMs`, `applyMs`, `events` (means
/// over about the last 120 frames); `tickMaxMs`, `applyMaxMs` and `viewMs` (per stagger
/// phase: topology, backpressure, bottom tab, header and inspector) as slowest recent values,
/// decaying by 2 % a frame; `wasmBytes`, the size of the wasm linear memory, and `heapBytes`,
/// the live Rust heap inside it.
#[derive(Default)]
struct FramePerf {
    frames: u32,
    tick: f64,
    apply: f64,
    events: f64,
    tick_max: f64,
    apply_max: f64,
}

impl FramePerf {
    fn record(&mut self, tick: f64, apply: f64, events: usize) {
        let w = 1.0 / 120.0;
        self.frames = self.frames.saturating_add(1);
        self.tick += (tick - self.tick) * w;
        self.apply += (apply - self.apply) * w;
        self.events += (events as f64 - self.events) * w;
        self.tick_max = (self.tick_max * 0.98).max(tick);
        self.apply_max = (self.apply_max * 0.98).max(apply);
        let views = take_view_costs();
        if self.frames.is_multiple_of(30) {
            if let Some(window) = web_sys::window() {
                let o = js_sys::Object::new();
                let set = |key: &str, value: &wasm_bindgen::JsValue| {
                    let _ = js_sys::Reflect::set(&o, &key.into(), value);
                };
                set("frames", &f64::from(self.frames).into());
                set("tickMs", &self.tick.into());
                set("applyMs", &self.apply.into());
                set("events", &self.events.into());
                set("tickMaxMs", &self.tick_max.into());
                set("applyMaxMs", &self.apply_max.into());
                let view_ms = js_sys::Array::new();
                for cost in views {
                    view_ms.push(&cost.into());
                }
                set("viewMs", &view_ms);
                set("wasmBytes", &wasm_memory_bytes().into());
                set("heapBytes", &rust_heap_bytes().into());
                let _ = js_sys::Reflect::set(&window, &"__switchyardPerf".into(), &o);
            }
        }
    }
}

/// Bytes the Rust heap has allocated and not freed (the wasm memory is its high-water mark).
/// The counters are `usize` and wrap on wasm32 after 4 GiB allocated in total, so the
/// difference is taken modulo 2^32, which is exact while less than 4 GiB is live.
fn rust_heap_bytes() -> f64 {
    let stats = stats_alloc::INSTRUMENTED_SYSTEM.stats();
    stats.bytes_allocated.wrapping_sub(stats.bytes_deallocated) as f64
}

/// The size of this module's wasm linear memory in bytes (it only ever grows).
fn wasm_memory_bytes() -> f64 {
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .ok()
        .and_then(|m| m.buffer().dyn_into::<js_sys::ArrayBuffer>().ok())
        .map_or(0.0, |b| f64::from(b.byte_length()))
}

/// Starts the frame loop that moves data from the source into the model, until the current
/// owner (the mounted app) is cleaned up (see [`crate::hooks::use_animation_frame`]).
pub fn run_frames(app: AppState) {
    let mut last = performance_now();
    let mut last_slow = f64::NEG_INFINITY;
    // When the source goes quiet, every view refreshes once (`bump(true)`): views refresh on
    // their own phase's slow tick, so a quiet bus's last change (or an attached bus's first
    // state) would otherwise reach only some of them; and a view passed over by a tick stops
    // tracking its own inputs (selection, filters) until it recomputes.
    let mut last_change = f64::NEG_INFINITY;
    let mut settled = true;
    let mut perf = FramePerf::default();
    crate::hooks::use_animation_frame(move |_| {
        let wall = performance_now();
        let dt = (wall - last).max(0.0);
        last = wall;
        let playing = app.playing.get_untracked();
        let speed = app.speed.get_untracked();
        app.source.update_value(|s| {
            if let Source::Replay(player) = s {
                player.speed = speed;
            }
        });
        let result = app
            .source
            .try_update_value(|s| s.tick(dt, playing))
            .flatten();
        let ticked = performance_now();
        let status = app.source.try_with_value(|s| match s {
            Source::Attach(c) => Some(match c.status() {
                crate::source::AttachStatus::Waiting => {
                    format!("waiting for bus \"{}\"…", c.name())
                }
                crate::source::AttachStatus::Attached { name, version } => {
                    format!(
                        "attached to \"{name}\" (switchyard {version}) · {} frames",
                        c.frames()
                    )
                }
                crate::source::AttachStatus::Failed(why) => format!("attach failed: {why}"),
            }),
            _ => None,
        });
        if let Some(Some(status)) = status {
            if app.attach_status.get_untracked() != status {
                if status.starts_with("attach failed") {
                    // The header's badge is short: the status line shows the whole reason.
                    app.status.set(status.clone());
                }
                app.attach_status.set(status);
            }
        }
        if let Some((update, at)) = result {
            let fresh_state = update.state.is_some();
            let changed = !update.events.is_empty() || fresh_state;
            let events = update.events.len();
            app.apply(update, at);
            perf.record(ticked - wall, performance_now() - ticked, events);
            if fresh_state && wall < app.refresh_until.get_value() {
                app.bump(true);
            } else if changed {
                app.feed.rev.update(|r| *r = r.wrapping_add(1));
                if wall - last_slow >= SLOW_TICK_MS {
                    last_slow = wall;
                    app.feed.slow.update(|r| *r = r.wrapping_add(1));
                }
            }
            if changed {
                last_change = wall;
                settled = false;
            }
        }
        if !settled && wall - last_change >= SLOW_TICK_MS * PHASES as f64 {
            settled = true;
            app.bump(true);
        }
    });
}

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let app = AppState::new();
    provide_context(app);
    let query = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    let launch = launch_from_query(&query);
    // The in-page devtools panel: no scenario sidebar, a compact layout (style.css `.embedded`).
    let embedded = launch == Ok(Launch::Devtools);
    match launch {
        Ok(Launch::Scenario { id, autoplay }) => app.start_scenario(id, autoplay),
        Ok(Launch::Attach(name)) => app.attach(&name),
        Ok(Launch::Devtools) => app.attach_devtools(),
        Err(e) => {
            app.start_scenario(ScenarioId::Basic, false);
            app.status.set(e);
        }
    }
    run_frames(app);
    let pagehide = window_event_listener(leptos::ev::pagehide, move |_| {
        app.source.with_value(|s| {
            if let Source::Attach(c) = s {
                c.detach();
            }
        });
    });
    on_cleanup(move || pagehide.remove());
    view! {
        <div class=if embedded { "app embedded" } else { "app" }>
            <views::controls::Header/>
            <div class="body">
                {(!embedded).then(|| view! {
                    <views::controls::Sidebar
                        mode=move || app.mode.get()
                        scenario=move || app.scenario.get()
                        tuning=move || app.tuning.get()
                        on_scenario=move |id| app.start_scenario(id, true)
                        on_tune=move |tuning| app.retune(tuning)
                        on_attach=move |to: views::controls::AttachRequest| match to.page {
                            Some(page) => app.attach_page(&to.name, &page),
                            None => app.attach(&to.name),
                        }
                    />
                })}
                <main class="main">
                    <div class="row top">
                        <views::topology::Topology/>
                        <views::backpressure::Backpressure/>
                    </div>
                    <div class="row bottom">
                        <views::tabs::Tabs/>
                        <views::inspector::Inspector/>
                    </div>
                </main>
            </div>
        </div>
    }
}
