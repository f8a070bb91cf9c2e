//! The state the views share: [`AppState`] (the source, the model and the user's choices, all
//! as `Copy` handles) and the types it is made of ([`ModelFeed`], [`Selection`], [`Mode`],
//! [`Tab`]). Not to be confused with [`crate::model::state`], the bus's reported state.
//!
//! Each piece of state has one owner: the model and the clocks that say when it changed are
//! the [`ModelFeed`]; the source, its recording and what the user picked are fields of
//! [`AppState`], whose methods are the only code that replaces or drives the source. The
//! frame loop and the page layout live in [`crate::app`], which depends on this module, not
//! the other way round; views read it from context ([`crate::views::use_app`]) or, for the
//! components with props (Sidebar, Timeline, EventLog), only through the handles they are
//! given.

use std::cell::RefCell;

use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::model::{self, Event, Model};
use crate::source::recording::{self, Player, Recorder};
use crate::source::{AttachClient, DeadLetterCommand, Driver, ScenarioId, Source, Tuning};

/// Period of the slow clock (ms). Views refresh in turn on it (see [`ModelFeed::staggered`]), so each
/// refreshes every `SLOW_TICK_MS × PHASES` and no single frame redraws them all.
pub const SLOW_TICK_MS: f64 = 50.0;
/// Views take turns over this many slow ticks.
pub const PHASES: u64 = 4;
/// How long after a command to an attached bus its reported states refresh every view at once
/// (ms): a round trip over the `BroadcastChannel` takes a frame or two.
const ATTACH_COMMAND_SETTLE_MS: f64 = 250.0;

/// The model and the clocks that say when it changed. The model itself is not reactive (it
/// changes every frame, in place); views track the clocks instead. All fields are `Copy`
/// handles, so a component takes the feed as one prop.
#[derive(Clone, Copy)]
pub struct ModelFeed {
    /// The aggregated data (not reactive by itself: see `rev` and `slow`).
    pub model: StoredValue<Model, LocalStorage>,
    /// Bumped on every frame that changed the model.
    pub rev: RwSignal<u64>,
    /// The slow clock: bumped at most every [`SLOW_TICK_MS`] when the model changed.
    pub slow: RwSignal<u64>,
    /// Bumped when the model is replaced or changed by a user action: every view refreshes.
    pub epoch: RwSignal<u64>,
}

impl ModelFeed {
    /// An empty model, with its clocks at zero.
    pub fn new() -> Self {
        ModelFeed {
            model: StoredValue::new_local(Model::default()),
            rev: RwSignal::new(0),
            slow: RwSignal::new(0),
            epoch: RwSignal::new(0),
        }
    }

    /// Notifies the views that the model changed; `everything` refreshes every view now
    /// instead of in turn.
    pub fn bump(&self, everything: bool) {
        self.rev.update(|r| *r = r.wrapping_add(1));
        self.slow.update(|r| *r = r.wrapping_add(1));
        if everything {
            self.epoch.update(|r| *r = r.wrapping_add(1));
        }
    }

    /// A memo of `compute` that refreshes only on the slow ticks of its `phase` (and at once
    /// whenever the epoch moves: the source replaced, a user action), so heavy views update
    /// at a few hertz, each on its own frame. A change of one of `compute`'s own reactive
    /// inputs (a filter) recomputes it at once.
    pub fn staggered<T>(
        self,
        phase: u64,
        compute: impl Fn() -> T + Send + Sync + 'static,
    ) -> Memo<T>
    where
        T: Clone + PartialEq + Send + Sync + 'static,
    {
        let feed = self;
        // The inner memo owns its value: a slow tick that is not ours hands the value back
        // untouched and reports "unchanged", so nothing downstream runs, clones or compares.
        let inner = Memo::new_owning(move |previous: Option<(u64, u64, T)>| {
            let epoch = feed.epoch.get();
            let tick = feed.slow.get();
            match previous {
                // A slow tick that is not ours: keep the value. (A re-run with the same tick means
                // one of `compute`'s own inputs changed, such as a filter: recompute at once.)
                Some((seen, seen_tick, value))
                    if seen == epoch && seen_tick != tick && tick % PHASES != phase % PHASES =>
                {
                    ((epoch, tick, value), false)
                }
                previous => {
                    let started = performance_now();
                    let value = compute();
                    note_view_cost(phase, performance_now() - started);
                    let changed = previous.is_none_or(|(_, _, old)| old != value);
                    ((epoch, tick, value), changed)
                }
            }
        });
        // Runs only when the inner value changed, so it need not compare again.
        Memo::new_with_compare(
            move |_| inner.with(|(_, _, value)| value.clone()),
            |_, _| true,
        )
    }
}

impl Default for ModelFeed {
    fn default() -> Self {
        ModelFeed::new()
    }
}

thread_local! {
    /// Per stagger phase: the slowest recent view computation (ms), decaying by 2 % a frame.
    static VIEW_COST: RefCell<[f64; PHASES as usize]> = const { RefCell::new([0.0; PHASES as usize]) };
}

/// Records that a view of `phase` took `ms` to compute its data.
fn note_view_cost(phase: u64, ms: f64) {
    VIEW_COST.with(|costs| {
        if let Some(slot) = costs.borrow_mut().get_mut((phase % PHASES) as usize) {
            *slot = slot.max(ms);
        }
    });
}

/// Per stagger phase, the slowest recent view computation (ms); each is then decayed by 2 %
/// (the frame loop calls this once a frame for `window.__switchyardPerf.viewMs`).
pub fn take_view_costs() -> [f64; PHASES as usize] {
    VIEW_COST.with(|costs| {
        let mut costs = costs.borrow_mut();
        let now = *costs;
        for cost in costs.iter_mut() {
            *cost *= 0.98;
        }
        now
    })
}

/// What the inspector shows.
#[derive(Clone, Debug, PartialEq)]
pub enum Selection {
    /// A trace event (from the log or the timeline).
    Event(Event),
    /// A dead letter, by id.
    DeadLetter(u64),
}

/// Which data source kind is active.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A built-in scenario.
    Scenario,
    /// An attached bus.
    Attach,
    /// A replayed recording.
    Replay,
}

/// The bottom panel's tabs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    /// Swim lanes.
    Timeline,
    /// The event log.
    Log,
    /// Dead letters.
    DeadLetters,
    /// Leaks.
    Leaks,
    /// Bridge links.
    Links,
    /// Metrics.
    Metrics,
}

/// Handles to everything the views share. All fields are `Copy` handles, so views take the
/// whole struct from context (or the root hands the parts a component needs as its props).
#[derive(Clone, Copy)]
pub struct AppState {
    /// The model and its clocks.
    pub feed: ModelFeed,
    /// The active source.
    pub source: StoredValue<Source, LocalStorage>,
    /// The recording of the active source, for export.
    pub recorder: StoredValue<Recorder, LocalStorage>,
    /// Whether the source runs.
    pub playing: RwSignal<bool>,
    /// The active source kind.
    pub mode: RwSignal<Mode>,
    /// The running scenario (scenario mode).
    pub scenario: RwSignal<ScenarioId>,
    /// Live controls.
    pub tuning: RwSignal<Tuning>,
    /// Replay speed.
    pub speed: RwSignal<f64>,
    /// What the inspector shows.
    pub selected: RwSignal<Option<Selection>>,
    /// The status line.
    pub status: RwSignal<String>,
    /// The bottom panel's tab.
    pub tab: RwSignal<Tab>,
    /// Attach handshake state, for the header.
    pub attach_status: RwSignal<String>,
    /// Events in the last frame (header).
    pub frame_events: RwSignal<usize>,
    /// Until this wall-clock instant (ms), every state the attached bus reports refreshes every
    /// view at once: a command was just sent to it, and the header and the lists must show its
    /// effect in the same frame (states already in flight arrive first, so a short window, not
    /// just the next state).
    pub refresh_until: StoredValue<f64>,
}

impl AppState {
    /// Fresh state with no source.
    pub fn new() -> Self {
        AppState {
            feed: ModelFeed::new(),
            source: StoredValue::new_local(Source::Idle),
            recorder: StoredValue::new_local(Recorder::new("idle")),
            playing: RwSignal::new(false),
            mode: RwSignal::new(Mode::Scenario),
            scenario: RwSignal::new(ScenarioId::Basic),
            tuning: RwSignal::new(Tuning::default()),
            speed: RwSignal::new(1.0),
            selected: RwSignal::new(None),
            status: RwSignal::new(String::new()),
            tab: RwSignal::new(Tab::Timeline),
            attach_status: RwSignal::new(String::new()),
            frame_events: RwSignal::new(0),
            refresh_until: StoredValue::new(f64::NEG_INFINITY),
        }
    }

    fn replace_source(&self, source: Source) {
        let describe = source.describe();
        self.source.set_value(source);
        self.feed.model.update_value(Model::reset);
        self.recorder.set_value(Recorder::new(describe));
        self.selected.set(None);
        self.bump(true);
    }

    /// Notifies the views that the model changed (see [`ModelFeed::bump`]).
    pub fn bump(&self, everything: bool) {
        self.feed.bump(everything);
    }

    /// Starts scenario `id` with the current tuning.
    pub fn start_scenario(&self, id: ScenarioId, play: bool) {
        match Driver::new(id, self.tuning.get_untracked()) {
            Ok(mut driver) => {
                let first = driver.snapshot_now();
                self.replace_source(Source::Scenario(Box::new(driver)));
                self.apply(first, 0.0);
                self.bump(true);
                self.mode.set(Mode::Scenario);
                self.scenario.set(id);
                self.playing.set(play);
                self.status.set(String::new());
            }
            Err(e) => self
                .status
                .set(format!("could not start {}: {e}", id.name())),
        }
    }

    /// Runs or pauses the source; every view catches up at once.
    pub fn set_playing(&self, playing: bool) {
        self.playing.set(playing);
        if !playing {
            // Show the bus exactly as it stopped, not the last periodic snapshot.
            let fresh = self.source.try_update_value(|s| match s {
                Source::Scenario(driver) => Some((driver.snapshot_now(), driver.clock())),
                _ => None,
            });
            if let Some(Some((update, at))) = fresh {
                self.apply(update, at);
            }
        }
        self.bump(true);
    }

    /// Applies new controls to the running scenario, live (nothing restarts): rates, latency
    /// and failures from the next frame; delivery strategy, overflow policy and capacity on
    /// the bus at once. The views catch up at once too, so a new capacity shows immediately.
    pub fn retune(&self, tuning: Tuning) {
        let old = self.tuning.get_untracked();
        self.tuning.set(tuning);
        if self.mode.get_untracked() != Mode::Scenario {
            return;
        }
        let result = self.source.try_update_value(|s| match s {
            Source::Scenario(driver) => {
                let evicted = driver.set_tuning(tuning);
                Some((evicted, driver.snapshot_now(), driver.clock()))
            }
            _ => None,
        });
        if let Some(Some((evicted, update, at))) = result {
            self.apply(update, at);
            self.bump(true);
            if old.capacity != tuning.capacity || old.overflow != tuning.overflow {
                self.status.set(match evicted {
                    0 => "queue limits changed live".to_string(),
                    1 => "queue limits changed live: 1 queued message dropped".to_string(),
                    n => format!("queue limits changed live: {n} queued messages dropped"),
                });
            }
        }
    }

    /// Attaches to the bus exposed as `name` in another same-origin tab, or, when a page of
    /// another origin opened this one, to that page's bus (`exposeToOrigins`).
    pub fn attach(&self, name: &str) {
        let opener = web_sys::window()
            .and_then(|w| w.opener().ok())
            .filter(JsValue::is_object)
            .map(JsCast::unchecked_into::<web_sys::Window>)
            // A same-origin opener answers on the BroadcastChannel (reading its location
            // throws only across origins).
            .filter(|w| w.location().href().is_err());
        if let Some(opener) = opener {
            self.attach_to(name, opener, "the page that opened this one".to_string());
            return;
        }
        match AttachClient::connect(name, viewer_id()) {
            Ok(client) => {
                self.replace_source(Source::Attach(Box::new(client)));
                self.mode.set(Mode::Attach);
                self.playing.set(true);
                self.attach_status
                    .set(format!("waiting for bus \"{name}\"…"));
                self.status.set(String::new());
            }
            Err(e) => self.status.set(e),
        }
    }

    /// Opens `url` (a page of any origin) in a new window and attaches to its bus `name`,
    /// which that page exposes with `exposeToOrigins` listing this origin.
    pub fn attach_page(&self, name: &str, url: &str) {
        let Some(window) = web_sys::window() else {
            return;
        };
        if let Err(e) = crate::source::attach::validate_name(name) {
            self.status.set(e);
            return;
        }
        let page = match web_sys::Url::new(url) {
            Ok(page) if page.protocol() == "http:" || page.protocol() == "https:" => page,
            _ => {
                self.status
                    .set(format!("{url:?} is not an http(s) address of a page"));
                return;
            }
        };
        match window.open_with_url_and_target(&page.href(), "_blank") {
            Ok(Some(opened)) => self.attach_to(name, opened, page.origin()),
            _ => self
                .status
                .set("the browser blocked the new window: allow pop-ups for this page".to_string()),
        }
    }

    fn attach_to(&self, name: &str, host: web_sys::Window, page: String) {
        match AttachClient::window(name, host, page.clone(), viewer_id()) {
            Ok(client) => {
                self.replace_source(Source::Attach(Box::new(client)));
                self.mode.set(Mode::Attach);
                self.playing.set(true);
                self.attach_status
                    .set(format!("waiting for bus \"{name}\" of {page}…"));
                self.status.set(String::new());
            }
            Err(e) => self.status.set(e),
        }
    }

    /// Attaches to the bus of the page that opened this one as its devtools (`?devtools=1`),
    /// over the `MessagePort` that page hands over.
    pub fn attach_devtools(&self) {
        match AttachClient::devtools(viewer_id()) {
            Ok(client) => {
                self.replace_source(Source::Attach(Box::new(client)));
                self.mode.set(Mode::Attach);
                self.playing.set(true);
                self.attach_status
                    .set("waiting for the page's bus…".to_string());
                self.status.set(String::new());
            }
            Err(e) => self.status.set(e),
        }
    }

    /// Opens a recording paused at its first event.
    pub fn import(&self, text: &str) {
        match recording::parse(text) {
            Ok(lines) => {
                let count = lines.len();
                let mut player = Player::new(lines);
                player.speed = self.speed.get_untracked();
                let first = player.step();
                let at = player.clock();
                self.replace_source(Source::Replay(Box::new(player)));
                self.apply(first, at);
                self.bump(true);
                self.mode.set(Mode::Replay);
                self.playing.set(false);
                self.status.set(format!(
                    "recording loaded: {count} lines, paused at the first event"
                ));
            }
            Err(e) => self.status.set(format!("import failed: {e}")),
        }
    }

    /// Replays one more event (replay mode) or advances a paused scenario by one frame.
    pub fn step(&self) {
        let result = self.source.try_update_value(|s| match s {
            Source::Replay(player) => {
                let update = player.step();
                Some((update, player.clock()))
            }
            Source::Scenario(driver) => {
                let update = driver.tick(16.0);
                Some((update, driver.clock()))
            }
            _ => None,
        });
        if let Some(Some((update, at))) = result {
            self.apply(update, at);
            self.bump(true);
        }
    }

    /// Carries out a dead-letter action on the source.
    pub fn dead_letters(&self, command: DeadLetterCommand) {
        let result = self.source.try_update_value(|s| s.dead_letters(command));
        if let Some(result) = result {
            self.status.set(match result {
                Ok(m) => m,
                Err(e) => e,
            });
        }
        // show the effect immediately, even while paused (an attached bus reports it later)
        let update = self.source.try_update_value(|s| match s {
            Source::Scenario(driver) => Some((driver.snapshot_now(), driver.clock())),
            _ => None,
        });
        match update {
            Some(Some((update, at))) => {
                self.apply(update, at);
                self.bump(true);
            }
            _ => self
                .refresh_until
                .set_value(performance_now() + ATTACH_COMMAND_SETTLE_MS),
        }
    }

    /// The recording as NDJSON.
    pub fn export(&self) -> String {
        self.recorder.with_value(Recorder::to_ndjson)
    }

    /// Records `update` (observed at `at`, ms) and applies it to the model, without
    /// notifying the views (the caller bumps the feed's clocks).
    pub fn apply(&self, update: model::Update, at: f64) {
        self.frame_events.set(update.events.len());
        self.recorder.update_value(|r| r.record(&update));
        self.feed.model.update_value(|m| m.apply(update, at));
    }
}

impl Default for AppState {
    fn default() -> Self {
        AppState::new()
    }
}

fn viewer_id() -> String {
    format!(
        "viewer-{:08x}",
        (js_sys::Math::random() * f64::from(u32::MAX)) as u32
    )
}

/// `performance.now()` (ms), 0 without a window.
pub(crate) fn performance_now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}
