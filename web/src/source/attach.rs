//! Attach mode: shows a bus living in another same-origin tab over `BroadcastChannel`
//! `switchyard:NAME`, following docs/ATTACH_PROTOCOL.md (version 1). BroadcastChannel only
//! connects same-origin contexts, so a foreign page can never attach or be attached.

use std::cell::RefCell;
use std::rc::Rc;

use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BroadcastChannel, MessageEvent};

use crate::model::state::{
    BusState, Counts, DeadLetterState, LeakState, PublisherState, SubState, TopicState,
};
use crate::model::{Event, Update};

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;
/// How often the viewer pings (ms).
pub const PING_EVERY_MS: f64 = 1_000.0;

/// Where the handshake stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttachStatus {
    /// `hello` sent, no `welcome` yet.
    Waiting,
    /// The bus answered.
    Attached {
        /// The exposed name.
        name: String,
        /// The npm package version.
        version: String,
    },
    /// The bus refused, or sent something unreadable.
    Failed(String),
}

/// The bus-wide part of a frame's state.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct MetricsWire {
    totals: Counts,
    topics: Vec<TopicState>,
    queued: u64,
    in_flight: u64,
    breakers_open: u64,
    cascades_refused: u64,
    publishes_rejected: u64,
    dead_letters_evicted: u64,
}

/// A frame's `state` as the npm package sends it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct StateWire {
    at: f64,
    subscriptions: Vec<SubState>,
    metrics: MetricsWire,
    dead_letters: Vec<DeadLetterState>,
    leaks: Vec<LeakState>,
    publishers: Vec<PublisherState>,
}

impl From<StateWire> for BusState {
    fn from(w: StateWire) -> Self {
        BusState {
            at: w.at,
            subscriptions: w.subscriptions,
            totals: w.metrics.totals,
            topics: w.metrics.topics,
            queued: w.metrics.queued,
            in_flight: w.metrics.in_flight,
            breakers_open: w.metrics.breakers_open,
            cascades_refused: w.metrics.cascades_refused,
            publishes_rejected: w.metrics.publishes_rejected,
            dead_letters_evicted: w.metrics.dead_letters_evicted,
            dead_letters: w.dead_letters,
            leaks: w.leaks,
            publishers: w.publishers,
        }
    }
}

#[derive(Debug, Default)]
struct Inbox {
    update: Update,
    latest_at: f64,
    /// Bus clock minus `performance.now()` here, learnt from the first event.
    clock_offset: Option<f64>,
    status: Option<AttachStatus>,
    frames: u64,
}

/// A viewer attached (or attaching) to one exposed bus.
pub struct AttachClient {
    name: String,
    viewer: String,
    channel: BroadcastChannel,
    inbox: Rc<RefCell<Inbox>>,
    status: AttachStatus,
    last_ping: f64,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

impl std::fmt::Debug for AttachClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttachClient")
            .field("name", &self.name)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn message(kind: &str, viewer: &str) -> js_sys::Object {
    let obj = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&obj, &"v".into(), &JsValue::from(PROTOCOL_VERSION));
    let _ = js_sys::Reflect::set(&obj, &"type".into(), &JsValue::from_str(kind));
    let _ = js_sys::Reflect::set(&obj, &"viewer".into(), &JsValue::from_str(viewer));
    obj
}

/// Checks an exposed bus name: 1–64 characters of letters, digits, `-`, `_`, `.` or `:`.
pub fn validate_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 64 {
        return Err("an attach name must be 1 to 64 characters".to_string());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
    {
        return Err(format!(
            "attach name {name:?} may only hold letters, digits, '-', '_', '.' and ':'"
        ));
    }
    Ok(())
}

fn wall_now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

fn handle(inbox: &RefCell<Inbox>, data: &JsValue) {
    let version = get(data, "v").as_f64();
    let kind = get(data, "type").as_string().unwrap_or_default();
    if version != Some(f64::from(PROTOCOL_VERSION)) {
        // Our own messages and other viewers' also arrive here only from other contexts;
        // anything of another version is not ours to read.
        if kind == "welcome" || kind == "frame" {
            inbox.borrow_mut().status =
                Some(AttachStatus::Failed(format!("the bus speaks protocol version {version:?}; this visualiser speaks {PROTOCOL_VERSION}")));
        }
        return;
    }
    let mut inbox = inbox.borrow_mut();
    match kind.as_str() {
        "welcome" => {
            let name = get(data, "name").as_string().unwrap_or_default();
            let version = get(data, "version").as_string().unwrap_or_default();
            inbox.status = Some(AttachStatus::Attached { name, version });
        }
        "error" => {
            let text = get(data, "message")
                .as_string()
                .unwrap_or_else(|| "refused".into());
            let code = get(data, "code").as_string().unwrap_or_default();
            inbox.status = Some(AttachStatus::Failed(format!("{code} {text}")));
        }
        "frame" => {
            inbox.frames += 1;
            match serde_wasm_bindgen::from_value::<Vec<Event>>(get(data, "events")) {
                Ok(events) => {
                    if let Some(last) = events.last() {
                        inbox.latest_at = inbox.latest_at.max(last.at);
                        if inbox.clock_offset.is_none() {
                            inbox.clock_offset = Some(last.at - wall_now());
                        }
                    }
                    inbox.update.events.extend(events);
                }
                Err(e) => {
                    inbox.status = Some(AttachStatus::Failed(format!(
                        "unreadable frame events: {e}"
                    )))
                }
            }
            inbox.update.missed = inbox
                .update
                .missed
                .saturating_add(get(data, "missed").as_f64().unwrap_or(0.0) as u64);
            let state = get(data, "state");
            if !state.is_undefined() && !state.is_null() {
                match serde_wasm_bindgen::from_value::<StateWire>(state) {
                    Ok(wire) => {
                        let mut state = BusState::from(wire);
                        if state.at <= 0.0 {
                            // Frames carry no timestamp: estimate the bus clock from ours.
                            state.at = inbox
                                .clock_offset
                                .map_or(inbox.latest_at, |offset| wall_now() + offset)
                                .max(inbox.latest_at);
                        }
                        for sub in &mut state.subscriptions {
                            if let (None, Some(lag)) = (sub.oldest_queued_at, sub.lag_ms) {
                                if sub.depth > 0 {
                                    sub.oldest_queued_at = Some(state.at - lag);
                                }
                            }
                        }
                        inbox.latest_at = inbox.latest_at.max(state.at);
                        inbox.update.state = Some(state);
                    }
                    Err(e) => {
                        inbox.status =
                            Some(AttachStatus::Failed(format!("unreadable frame state: {e}")))
                    }
                }
            }
        }
        _ => {} // hello/ping/bye from other viewers, and unknown types, are ignored
    }
}

impl AttachClient {
    /// Opens channel `switchyard:NAME` and says hello.
    pub fn connect(name: &str, viewer: String) -> Result<AttachClient, String> {
        validate_name(name)?;
        let channel = BroadcastChannel::new(&format!("switchyard:{name}"))
            .map_err(|e| format!("BroadcastChannel: {e:?}"))?;
        let inbox = Rc::new(RefCell::new(Inbox::default()));
        let sink = Rc::clone(&inbox);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            handle(&sink, &event.data())
        });
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let client = AttachClient {
            name: name.to_string(),
            viewer,
            channel,
            inbox,
            status: AttachStatus::Waiting,
            last_ping: f64::NEG_INFINITY,
            _on_message: on_message,
        };
        client.send("hello");
        Ok(client)
    }

    fn send(&self, kind: &str) {
        // posting on a closed channel throws; the viewer is going away then anyway
        let _ = self.channel.post_message(&message(kind, &self.viewer));
    }

    /// The exposed name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the handshake stands.
    pub fn status(&self) -> &AttachStatus {
        &self.status
    }

    /// Frames received so far.
    pub fn frames(&self) -> u64 {
        self.inbox.borrow().frames
    }

    /// Pings when due (re-sending `hello` until welcomed) and returns what arrived since the
    /// last call, with the bus's latest time.
    pub fn poll(&mut self, wall_ms: f64) -> (Update, f64) {
        if wall_ms - self.last_ping >= PING_EVERY_MS {
            self.last_ping = wall_ms;
            let kind = if matches!(self.status, AttachStatus::Waiting) {
                "hello"
            } else {
                "ping"
            };
            self.send(kind);
        }
        let mut inbox = self.inbox.borrow_mut();
        if let Some(status) = inbox.status.take() {
            self.status = status;
        }
        (std::mem::take(&mut inbox.update), inbox.latest_at)
    }

    /// Asks the bus to redrive dead letter `id`, or all of them.
    pub fn redrive(&self, id: Option<u64>) {
        let msg = message("command", &self.viewer);
        let command = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&command, &"op".into(), &"redrive".into());
        if let Some(id) = id {
            let ids = js_sys::Array::of1(&JsValue::from(id as f64));
            let _ = js_sys::Reflect::set(&command, &"ids".into(), &ids);
        }
        let _ = js_sys::Reflect::set(&msg, &"command".into(), &command);
        let _ = self.channel.post_message(&msg);
    }

    /// Asks the bus to purge its dead letters.
    pub fn purge(&self) {
        let msg = message("command", &self.viewer);
        let command = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&command, &"op".into(), &"purge".into());
        let _ = js_sys::Reflect::set(&msg, &"command".into(), &command);
        let _ = self.channel.post_message(&msg);
    }

    /// Says `bye` (the page is going away).
    pub fn detach(&self) {
        self.send("bye");
    }
}

impl Drop for AttachClient {
    fn drop(&mut self) {
        self.send("bye");
        self.channel.set_onmessage(None);
        self.channel.close();
    }
}
