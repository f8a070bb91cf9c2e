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

use serde::{Deserialize, Serialize};

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

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Header {
    format: String,
    version: u32,
    #[serde(default)]
    source: String,
    #[serde(default)]
    events: u64,
    #[serde(default)]
    states: u64,
    #[serde(default)]
    missed: u64,
}

/// One line of a recording.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
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
        push_json(
            &mut out,
            &HeaderLine {
                kind: "header",
                header: &header,
            },
        );
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
            push_json(
                &mut out,
                &EventLine {
                    kind: "event",
                    event,
                },
            );
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
struct HeaderLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    header: &'a Header,
}

#[derive(Serialize)]
struct EventLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    event: &'a Event,
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

/// Parses an NDJSON recording into its lines, in time order.
pub fn parse(text: &str) -> Result<Vec<Line>, ImportError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, first) = lines.next().ok_or(ImportError::Empty)?;
    let header: serde_json::Value = serde_json::from_str(first)
        .map_err(|e| ImportError::NotARecording(format!("first line is not JSON ({e})")))?;
    if header.get("type").and_then(|t| t.as_str()) != Some("header")
        || header.get("format").and_then(|f| f.as_str()) != Some(FORMAT)
    {
        return Err(ImportError::NotARecording(format!(
            "the first line must be a header with \"format\":\"{FORMAT}\""
        )));
    }
    let version = header.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
    if version != u64::from(VERSION) {
        return Err(ImportError::UnsupportedVersion(
            u32::try_from(version).unwrap_or(u32::MAX),
        ));
    }
    let mut out = Vec::new();
    for (index, text) in lines {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| ImportError::BadLine {
                line: index + 1,
                problem: e.to_string(),
            })?;
        match value.get("type").and_then(|t| t.as_str()) {
            Some("event") | Some("state") => {
                let mut value = value;
                if let Some(state) = value.get_mut("state") {
                    fill_defaults(state, &STATE_TEMPLATE.with(Clone::clone));
                }
                let line: Line =
                    serde_json::from_value(value).map_err(|e| ImportError::BadLine {
                        line: index + 1,
                        problem: e.to_string(),
                    })?;
                out.push(line);
            }
            _ => {} // unknown line types are skipped (forward compatible)
        }
    }
    if !out.iter().any(|l| matches!(l, Line::Event(_))) {
        return Err(ImportError::NoEvents);
    }
    out.sort_by(|a, b| a.at().total_cmp(&b.at()));
    Ok(out)
}

thread_local! {
    /// Every field of a state snapshot at its empty value, arrays holding one empty element.
    static STATE_TEMPLATE: serde_json::Value = state_template();
}

fn state_template() -> serde_json::Value {
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
    serde_json::to_value(state).unwrap_or_default()
}

/// Recordings may be written by hand or by older builds, so a snapshot's missing fields take
/// their empty values (the attach protocol's state, by contrast, is parsed strictly): every key
/// of `template` missing from `value` is added, recursively, array elements after the
/// template's first element.
fn fill_defaults(value: &mut serde_json::Value, template: &serde_json::Value) {
    use serde_json::Value;
    match (value, template) {
        (Value::Object(fields), Value::Object(defaults)) => {
            for (key, default) in defaults {
                match fields.get_mut(key) {
                    Some(field) => fill_defaults(field, default),
                    None => {
                        fields.insert(key.clone(), default.clone());
                    }
                }
            }
        }
        (Value::Array(items), Value::Array(defaults)) => {
            if let Some(default) = defaults.first() {
                for item in items {
                    fill_defaults(item, default);
                }
            }
        }
        _ => {}
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
