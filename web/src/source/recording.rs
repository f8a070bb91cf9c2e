//! Recordings: the trace and periodic state snapshots as versioned NDJSON, and a [`Player`]
//! that replays one paused at its first event, step by step or at a chosen speed.
//!
//! Format (version 1), one JSON object per line:
//!
//! ```text
//! {"type":"header","format":"switchyard-recording","version":1,"source":"scenario:basic","events":2,"states":1,"missed":0}
//! {"type":"state","state":{"at":0.0,"subscriptions":[...],...}}
//! {"type":"event","cursor":0,"at":1.5,"kind":"published","subscription":null,"message":1,"topic":"orders.created","detail":2}
//! ```
//! Lines are in time order; unknown `type`s are skipped so later versions can add lines.

use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};

use crate::model::{BusState, Event, Ring, Update};

/// The `format` field of the header.
pub const FORMAT: &str = "switchyard-recording";
/// The format version this build writes and reads.
pub const VERSION: u32 = 1;
/// Events kept for export (the newest).
pub const RECORDED_EVENTS: usize = 50_000;
/// State snapshots kept for export (the newest, one per 250 ms), and never older than the
/// last one taken before the oldest event kept: a busy bus, whose events cover a fraction of a
/// second, holds one or two snapshots instead of two minutes of them.
pub const RECORDED_STATES: usize = 480;

/// The first line of a recording (after its `"type":"header"`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Header {
    format: String,
    version: u32,
    source: String,
    events: u64,
    states: u64,
    missed: u64,
}

/// One line of a recording: `{"type":"event", ...the event's fields}` or
/// `{"type":"state","state":{...}}`.
#[derive(Clone, Debug, PartialEq)]
pub enum Line {
    /// A trace event.
    Event(Event),
    /// A state snapshot.
    State {
        /// The snapshot.
        state: BusState,
    },
}

impl Line {
    /// When it happened (ms).
    pub fn at(&self) -> f64 {
        match self {
            Line::Event(e) => e.at,
            Line::State { state } => state.at,
        }
    }
}

/// Why an import failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportError {
    /// The file is empty.
    Empty,
    /// The first line is not a recording header.
    NotARecording(String),
    /// The recording was written by a newer, incompatible version.
    UnsupportedVersion(u32),
    /// A line is not valid JSON of a known shape.
    BadLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        problem: String,
    },
    /// The recording holds no events.
    NoEvents,
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImportError::Empty => write!(f, "the file is empty"),
            ImportError::NotARecording(why) => write!(f, "not a Switchyard recording: {why}"),
            ImportError::UnsupportedVersion(v) => write!(
                f,
                "recording version {v} is not supported (this build reads version {VERSION})"
            ),
            ImportError::BadLine { line, problem } => write!(f, "line {line}: {problem}"),
            ImportError::NoEvents => write!(f, "the recording holds no events"),
        }
    }
}

/// Keeps the newest events and snapshots of the running source for export.
#[derive(Debug)]
pub struct Recorder {
    source: String,
    events: Ring<Event>,
    states: Ring<BusState>,
    missed: u64,
    last_state_at: Option<f64>,
}

impl Recorder {
    /// An empty recorder for a source described by `source` (e.g. `scenario:basic`).
    pub fn new(source: impl Into<String>) -> Self {
        Recorder {
            source: source.into(),
            events: Ring::new(RECORDED_EVENTS),
            states: Ring::new(RECORDED_STATES),
            missed: 0,
            last_state_at: None,
        }
    }

    /// Records one frame's update.
    pub fn record(&mut self, update: &Update) {
        self.missed = self.missed.saturating_add(update.missed);
        for event in &update.events {
            self.events.push(event.clone());
        }
        if let Some(state) = &update.state {
            if self
                .last_state_at
                .is_none_or(|t| state.at - t >= 250.0 || state.at < t)
            {
                self.last_state_at = Some(state.at);
                self.states.push(state.clone());
            }
        }
        self.forget_stale_states();
    }

    /// Drops snapshots that an export would not use: every one older than the last snapshot
    /// taken at or before the oldest event kept.
    fn forget_stale_states(&mut self) {
        let Some(first_event) = self.events.iter().next().map(|e| e.at) else {
            return;
        };
        while self
            .states
            .get(1)
            .is_some_and(|next| next.at <= first_event)
        {
            self.states.pop_front();
        }
    }

    /// State snapshots held.
    pub fn states(&self) -> usize {
        self.states.len()
    }

    /// Events held.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// True when no event is held.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The recording as NDJSON: header, then events and states in time order.
    pub fn to_ndjson(&self) -> String {
        let first_event = self
            .events
            .iter()
            .next()
            .map_or(f64::NEG_INFINITY, |e| e.at);
        // Keep the last snapshot taken before the first event, so a replay starts with state.
        let states: Vec<&BusState> = {
            let before = self.states.iter().rfind(|s| s.at <= first_event);
            before
                .into_iter()
                .chain(self.states.iter().filter(|s| s.at > first_event))
                .collect()
        };
        let header = Header {
            format: FORMAT.to_string(),
            version: VERSION,
            source: self.source.clone(),
            events: self.events.len() as u64,
            states: states.len() as u64,
            missed: self.missed.saturating_add(self.events.evicted()),
        };
        let mut out = String::with_capacity(self.events.len() * 120 + 256);
        push_tagged(&mut out, "header", &header);
        let mut states = states.into_iter().peekable();
        for event in self.events.iter() {
            while let Some(state) = states.next_if(|s| s.at <= event.at) {
                push_json(
                    &mut out,
                    &StateLine {
                        kind: "state",
                        state,
                    },
                );
            }
            push_tagged(&mut out, "event", event);
        }
        for state in states {
            push_json(
                &mut out,
                &StateLine {
                    kind: "state",
                    state,
                },
            );
        }
        out
    }
}

#[derive(Serialize)]
struct StateLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    state: &'a BusState,
}

fn push_json<T: Serialize>(out: &mut String, value: &T) {
    // Serialising plain data to a String cannot fail; skip the line if it ever does.
    if let Ok(line) = serde_json::to_string(value) {
        out.push_str(&line);
        out.push('\n');
    }
}

/// `value` (a struct with fields, serialised as a JSON object) as one line with
/// `"type":kind` first: `{"type":"event","cursor":0,...}`. Written by hand rather than with
/// `#[serde(flatten)]`, whose serialiser the `.wasm` would carry only for this.
fn push_tagged<T: Serialize>(out: &mut String, kind: &str, value: &T) {
    if let Ok(object) = serde_json::to_string(value) {
        if let Some(fields) = object.strip_prefix('{').filter(|rest| rest.len() > 1) {
            out.push_str("{\"type\":\"");
            out.push_str(kind);
            out.push_str("\",");
            out.push_str(fields);
            out.push('\n');
        }
    }
}

/// Parses an NDJSON recording into its lines, in time order. Each line is read with the
/// browser's `JSON.parse` and converted by `serde_wasm_bindgen`, the attach protocol's path,
/// so the `.wasm` carries one deserialiser for events and states (issue 14's size budget).
pub fn parse(text: &str) -> Result<Vec<Line>, ImportError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, first) = lines.next().ok_or(ImportError::Empty)?;
    let header = js_sys::JSON::parse(first).map_err(|e| {
        ImportError::NotARecording(format!("first line is not JSON ({})", js_message(&e)))
    })?;
    if field(&header, "type").as_string().as_deref() != Some("header")
        || field(&header, "format").as_string().as_deref() != Some(FORMAT)
    {
        return Err(ImportError::NotARecording(format!(
            "the first line must be a header with \"format\":\"{FORMAT}\""
        )));
    }
    let version = field(&header, "version").as_f64().unwrap_or(0.0);
    if version != f64::from(VERSION) {
        // `as` saturates (a huge version reads as u32::MAX); a fractional one reads as 0.
        let whole = if version.fract() == 0.0 { version } else { 0.0 };
        return Err(ImportError::UnsupportedVersion(whole as u32));
    }
    let mut out = Vec::new();
    for (index, text) in lines {
        let bad = |problem: String| ImportError::BadLine {
            line: index + 1,
            problem,
        };
        let value = js_sys::JSON::parse(text).map_err(|e| bad(js_message(&e)))?;
        let line = match field(&value, "type").as_string().as_deref() {
            Some("event") => {
                Line::Event(serde_wasm_bindgen::from_value(value).map_err(|e| bad(e.to_string()))?)
            }
            Some("state") => {
                let state = field(&value, "state");
                STATE_TEMPLATE.with(|template| fill_defaults(&state, template));
                Line::State {
                    state: serde_wasm_bindgen::from_value(state).map_err(|e| bad(e.to_string()))?,
                }
            }
            _ => continue, // unknown line types are skipped (forward compatible)
        };
        out.push(line);
    }
    if !out.iter().any(|l| matches!(l, Line::Event(_))) {
        return Err(ImportError::NoEvents);
    }
    crate::sort::sort_by(&mut out, |a, b| a.at().total_cmp(&b.at()));
    Ok(out)
}

/// `object[key]` (`undefined` when `object` is not an object or has no such key).
fn field(object: &JsValue, key: &str) -> JsValue {
    if object.is_object() {
        js_sys::Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

/// The message of a thrown JavaScript error (`JSON.parse`'s `SyntaxError`).
fn js_message(error: &JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .unwrap_or_else(|| "not valid JSON".into())
}

thread_local! {
    /// Every field of a state snapshot at its empty value, arrays holding one empty element,
    /// as a JavaScript object.
    static STATE_TEMPLATE: JsValue = state_template();
}

fn state_template() -> JsValue {
    use crate::model::state::{
        BridgeLinkState, DeadLetterState, LeakState, LeakSuspectState, PublisherState, SubState,
        TopicState,
    };
    let state = BusState {
        subscriptions: vec![SubState::default()],
        topics: vec![TopicState::default()],
        dead_letters: vec![DeadLetterState::default()],
        leaks: vec![LeakState {
            suspects: vec![LeakSuspectState::default()],
            ..LeakState::default()
        }],
        publishers: vec![PublisherState::default()],
        links: vec![BridgeLinkState::default()],
        ..BusState::default()
    };
    serde_json::to_string(&state)
        .ok()
        .and_then(|json| js_sys::JSON::parse(&json).ok())
        .unwrap_or(JsValue::UNDEFINED)
}

/// Recordings may be written by hand or by older builds, so a snapshot's missing fields take
/// their empty values (the attach protocol's state, by contrast, is parsed strictly): every key
/// of `template` missing from `value` is added, recursively, array elements after the
/// template's first element. A missing array is added empty (not with the template's element).
/// `template`'s objects may be shared into `value`, never modified.
fn fill_defaults(value: &JsValue, template: &JsValue) {
    if js_sys::Array::is_array(template) {
        if let (true, Some(default)) = (
            js_sys::Array::is_array(value),
            js_sys::Array::from(template).iter().next(),
        ) {
            for item in js_sys::Array::from(value).iter() {
                fill_defaults(&item, &default);
            }
        }
    } else if template.is_object() && value.is_object() && !js_sys::Array::is_array(value) {
        let object: &js_sys::Object = value.unchecked_ref();
        for key in js_sys::Object::keys(template.unchecked_ref::<js_sys::Object>()).iter() {
            let default = js_sys::Reflect::get(template, &key).unwrap_or(JsValue::UNDEFINED);
            let present = js_sys::Reflect::get(value, &key).unwrap_or(JsValue::UNDEFINED);
            if !present.is_undefined() {
                fill_defaults(&present, &default);
            } else if js_sys::Array::is_array(&default) {
                let _ = js_sys::Reflect::set(object, &key, &js_sys::Array::new());
            } else {
                let _ = js_sys::Reflect::set(object, &key, &default);
            }
        }
    }
}

/// Replays a recording: paused at its first event, stepped one event at a time, or played at a
/// chosen speed.
#[derive(Debug)]
pub struct Player {
    lines: Vec<Line>,
    position: usize,
    events_total: usize,
    events_played: usize,
    clock: f64,
    /// Playback speed (1 = real time).
    pub speed: f64,
}

impl Player {
    /// A player positioned before the first line.
    pub fn new(lines: Vec<Line>) -> Self {
        let clock = lines.first().map_or(0.0, Line::at);
        let events_total = lines.iter().filter(|l| matches!(l, Line::Event(_))).count();
        Player {
            lines,
            position: 0,
            events_total,
            events_played: 0,
            clock,
            speed: 1.0,
        }
    }

    /// Events and states in the recording.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// True when the recording is empty.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Lines replayed so far.
    pub fn position(&self) -> usize {
        self.position
    }

    /// Events in the recording.
    pub fn events_total(&self) -> usize {
        self.events_total
    }

    /// Events replayed so far.
    pub fn events_played(&self) -> usize {
        self.events_played
    }

    /// True when everything was replayed.
    pub fn finished(&self) -> bool {
        self.position >= self.lines.len()
    }

    /// The replay clock (recording time, ms).
    pub fn clock(&self) -> f64 {
        self.clock
    }

    /// Replays up to and including the next event (and the states before it).
    pub fn step(&mut self) -> Update {
        let mut update = Update::default();
        while let Some(line) = self.lines.get(self.position) {
            self.position += 1;
            self.clock = self.clock.max(line.at());
            match line {
                Line::State { state } => update.state = Some(state.clone()),
                Line::Event(event) => {
                    update.events.push(event.clone());
                    self.events_played += 1;
                    break;
                }
            }
        }
        update
    }

    /// Advances the clock by `dt_ms × speed` and replays everything now due.
    pub fn advance(&mut self, dt_ms: f64) -> Update {
        let speed = if self.speed.is_finite() {
            self.speed.clamp(0.0, 1_000.0)
        } else {
            1.0
        };
        self.clock += dt_ms.clamp(0.0, 250.0) * speed;
        let mut update = Update::default();
        while let Some(line) = self.lines.get(self.position) {
            if line.at() > self.clock {
                break;
            }
            self.position += 1;
            match line {
                Line::State { state } => update.state = Some(state.clone()),
                Line::Event(event) => {
                    update.events.push(event.clone());
                    self.events_played += 1;
                }
            }
        }
        update
    }
}
