//! Attach mode: shows a bus that lives elsewhere, following docs/ATTACH_PROTOCOL.md (version 1),
//! over one of two transports that carry the same messages:
//!
//! * a `BroadcastChannel` `switchyard:NAME` (`?attach=NAME`): a bus in another same-origin tab
//!   that called `bus.expose(NAME)`; BroadcastChannel only connects same-origin contexts, so a
//!   foreign page can never attach or be attached;
//! * a `MessagePort` (`?devtools=1`): the in-page devtools panel (an iframe) or its popup; the
//!   page that opened it hands over the port (see [`AttachClient::devtools`]).
//!
//! `hello` and `ping` run on a timer (gloo-timers), not on animation frames, so they go on in a
//! hidden tab and the bus does not drop the viewer.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use gloo_timers::callback::Interval;
use serde::Deserialize;
use switchyard_core::TraceKind;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BroadcastChannel, MessageEvent, MessagePort};

use crate::model::event::EventOrigin;
use crate::model::state::{
    BridgeLinkState, BusState, Counts, DeadLetterState, LeakState, PublisherState, SubState,
    TopicState,
};
use crate::model::{Event, Update};

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;
/// How often the viewer pings (ms).
pub const PING_EVERY_MS: u32 = 1_000;
/// How often a devtools visualiser asks its host for the port until it arrives (ms).
pub const READY_EVERY_MS: u32 = 250;
/// The name shown for the in-page devtools until the bus says its own.
pub const DEVTOOLS_NAME: &str = "in-page";
/// `type` of the devtools visualiser's request for its port.
pub const READY_TYPE: &str = "switchyard:devtools-ready";
/// `type` of the host's message that carries the port.
pub const PORT_TYPE: &str = "switchyard:devtools-port";
/// `type` of a request for a port sent to a page of another origin (`exposeToOrigins`).
pub const ATTACH_ASK_TYPE: &str = "switchyard:attach?";
/// `type` of that page's answer carrying the port.
pub const ATTACH_PORT_TYPE: &str = "switchyard:attach-port";
/// How long a page of another origin may take to hand over a port before the attach is shown
/// as failed (it goes on asking: the page may still load, or be changed to allow this origin).
pub const WINDOW_ANSWER_MS: u32 = 5_000;

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

/// The bus-wide part of a frame's state (`metrics()`): strict, as [`crate::model::state`].
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
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

/// A frame's `state` as the npm package sends it: `subscriptions`, `metrics` and
/// `deadLetters` must be there; `at`, `leaks`, `publishers` and `links` are optional in the
/// protocol (each `links[]` entry is strict).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StateWire {
    #[serde(default)]
    at: f64,
    subscriptions: Vec<SubState>,
    metrics: MetricsWire,
    dead_letters: Vec<DeadLetterState>,
    #[serde(default)]
    leaks: Vec<LeakState>,
    #[serde(default)]
    publishers: Vec<PublisherState>,
    #[serde(default)]
    links: Vec<BridgeLinkState>,
}

/// Reads a frame's `state` (docs/ATTACH_PROTOCOL.md) as the views' [`BusState`]; an error
/// names the field that is missing or of the wrong type. `at` stays 0 when the bus sent none.
pub fn parse_state(state: JsValue) -> Result<BusState, String> {
    serde_wasm_bindgen::from_value::<StateWire>(state)
        .map(BusState::from)
        .map_err(|e| e.to_string())
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
            links: w.links,
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
    /// A `welcome` arrived (from then on the timer pings instead of saying hello).
    welcomed: bool,
    frames: u64,
}

/// What the viewer talks over.
enum Transport {
    /// `switchyard:NAME`.
    Channel(BroadcastChannel),
    /// The port the devtools host handed over.
    Port(MessagePort),
}

impl Transport {
    fn post(&self, message: &JsValue) {
        // posting on a closed channel or port throws; the viewer is going away then anyway
        let _ = match self {
            Transport::Channel(channel) => channel.post_message(message),
            Transport::Port(port) => port.post_message(message),
        };
    }

    fn close(&self) {
        match self {
            Transport::Channel(channel) => {
                channel.set_onmessage(None);
                channel.close();
            }
            Transport::Port(port) => {
                port.set_onmessage(None);
                port.close();
            }
        }
    }
}

/// What the client's callbacks (messages, the ping timer, the port hand-over) share.
struct Link {
    viewer: String,
    /// `None` while a devtools visualiser waits for its port.
    transport: Option<Transport>,
    inbox: Rc<RefCell<Inbox>>,
    _on_message: Option<Closure<dyn FnMut(MessageEvent)>>,
}

impl Link {
    fn send(&self, kind: &str) {
        if let Some(transport) = &self.transport {
            transport.post(&message(kind, &self.viewer));
        }
    }

    fn post(&self, message: &JsValue) {
        if let Some(transport) = &self.transport {
            transport.post(message);
        }
    }

    /// Starts talking over `transport` and says hello.
    fn open(&mut self, transport: Transport) {
        let sink = Rc::clone(&self.inbox);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            handle(&sink, &event.data())
        });
        match &transport {
            Transport::Channel(channel) => {
                channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()))
            }
            // (`onmessage` also starts the port's queue.)
            Transport::Port(port) => port.set_onmessage(Some(on_message.as_ref().unchecked_ref())),
        }
        self.transport = Some(transport);
        self._on_message = Some(on_message);
        self.send("hello");
    }

    /// The timer's beat: `hello` until welcomed, then `ping`.
    fn beat(&self) {
        let kind = if self.inbox.borrow().welcomed {
            "ping"
        } else {
            "hello"
        };
        self.send(kind);
    }
}

/// The devtools visualiser's wait for its port: a `message` listener on this window and a
/// timer that asks the host (parent or opener) for the port. Dropping it removes both.
struct Handover {
    listener: Closure<dyn FnMut(MessageEvent)>,
    _ready: Interval,
}

impl Drop for Handover {
    fn drop(&mut self) {
        if let Some(window) = web_sys::window() {
            let _ = window.remove_event_listener_with_callback(
                "message",
                self.listener.as_ref().unchecked_ref(),
            );
        }
    }
}

/// The window that opened this devtools visualiser: the opener of a popup, else the parent of
/// an iframe; `None` for a top-level page nobody opened.
fn devtools_host(window: &web_sys::Window) -> Option<web_sys::Window> {
    if let Ok(opener) = window.opener() {
        // The opener is another realm's Window, so `instanceof Window` here is false: any
        // object is taken as one (a popup's `opener` is a window or null).
        if opener.is_object() {
            return Some(opener.unchecked_into::<web_sys::Window>());
        }
    }
    let parent = window.parent().ok().flatten()?;
    let own: &JsValue = window.as_ref();
    (!js_sys::Object::is(parent.as_ref(), own)).then_some(parent)
}

/// A viewer attached (or attaching) to one exposed bus.
pub struct AttachClient {
    name: String,
    link: Rc<RefCell<Link>>,
    status: AttachStatus,
    _ping: Interval,
    handover: Option<Handover>,
    /// The name asked for is the one shown: a page of another origin answers over a port,
    /// whose `welcome` names the transport (`in-page`), not the exposure.
    keep_name: bool,
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
    if kind == "hello" || kind == "ping" {
        // Trace events as one Float64Array, far cheaper for the bus's page than objects.
        let accept = js_sys::Array::of1(&JsValue::from_str("columns"));
        let _ = js_sys::Reflect::set(&obj, &"accept".into(), &accept);
    }
    obj
}

/// Reads a frame's `columns` (docs/ATTACH_PROTOCOL.md): rows of `stride` numbers in `data`,
/// kinds and topics by index into `kinds` and `topics`. Returns the events and how many rows
/// were skipped for a kind this build does not know (a newer bus), which count as missed.
pub fn decode_columns(columns: &JsValue) -> Result<(Vec<Event>, u64), String> {
    let stride = get(columns, "stride").as_f64().unwrap_or(0.0);
    if !(7.0..=64.0).contains(&stride) || stride.fract() != 0.0 {
        return Err(format!(
            "columns.stride must be an integer from 7 to 64, got {stride}"
        ));
    }
    let data = get(columns, "data")
        .dyn_into::<js_sys::Float64Array>()
        .map_err(|_| "columns.data must be a Float64Array".to_string())?
        .to_vec();
    let strings = |key: &str| -> Result<Vec<String>, String> {
        let list = get(columns, key);
        if !js_sys::Array::is_array(&list) {
            return Err(format!("columns.{key} must be an array of strings"));
        }
        js_sys::Array::from(&list)
            .iter()
            .map(|v| {
                v.as_string()
                    .ok_or(format!("columns.{key} must hold strings"))
            })
            .collect()
    };
    let kinds: Vec<Option<TraceKind>> = strings("kinds")?
        .iter()
        .map(|name| TraceKind::parse(name))
        .collect();
    let topics: Vec<Arc<str>> = strings("topics")?.into_iter().map(Arc::from).collect();
    // The realms of this frame's bridged messages (`origins[i].realm`; absent before stride 8).
    let origins: Vec<Option<EventOrigin>> = {
        let list = get(columns, "origins");
        if js_sys::Array::is_array(&list) {
            // Runs of one realm share one string.
            let mut last: Option<Arc<str>> = None;
            js_sys::Array::from(&list)
                .iter()
                .map(|o| {
                    let realm = get(&o, "realm").as_string()?;
                    let realm = match &last {
                        Some(known) if **known == *realm => known.clone(),
                        _ => Arc::from(realm),
                    };
                    last = Some(realm.clone());
                    Some(EventOrigin { realm })
                })
                .collect()
        } else {
            Vec::new()
        }
    };
    let whole = |x: f64| (x.is_finite() && x >= 0.0).then_some(x as u64);
    let mut events = Vec::with_capacity(data.len() / stride as usize);
    let mut unknown = 0u64;
    for row in data.chunks_exact(stride as usize) {
        let Some(kind) = whole(row[2]).and_then(|k| kinds.get(k as usize).copied().flatten())
        else {
            unknown += 1;
            continue;
        };
        events.push(Event {
            cursor: whole(row[0]).unwrap_or(0),
            at: row[1],
            kind,
            subscription: whole(row[3]),
            message: whole(row[4]),
            topic: whole(row[5]).and_then(|t| topics.get(t as usize).cloned()),
            detail: whole(row[6]).unwrap_or(0),
            origin: row
                .get(7)
                .and_then(|&o| whole(o))
                .and_then(|o| origins.get(o as usize).cloned().flatten()),
        });
    }
    Ok((events, unknown))
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
            inbox.welcomed = true;
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
            let columns = get(data, "columns");
            let events = if columns.is_object() {
                decode_columns(&columns).map(|(events, unknown)| {
                    inbox.update.missed = inbox.update.missed.saturating_add(unknown);
                    events
                })
            } else {
                serde_wasm_bindgen::from_value::<Vec<Event>>(get(data, "events"))
                    .map_err(|e| e.to_string())
            };
            match events {
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
                match parse_state(state) {
                    Ok(mut state) => {
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
    fn new(name: String, viewer: String) -> AttachClient {
        let link = Rc::new(RefCell::new(Link {
            viewer,
            transport: None,
            inbox: Rc::new(RefCell::new(Inbox::default())),
            _on_message: None,
        }));
        let beat = Rc::clone(&link);
        let ping = Interval::new(PING_EVERY_MS, move || beat.borrow().beat());
        AttachClient {
            name,
            link,
            status: AttachStatus::Waiting,
            _ping: ping,
            handover: None,
            keep_name: false,
        }
    }

    /// Opens channel `switchyard:NAME` and says hello.
    pub fn connect(name: &str, viewer: String) -> Result<AttachClient, String> {
        validate_name(name)?;
        let channel = BroadcastChannel::new(&format!("switchyard:{name}"))
            .map_err(|e| format!("BroadcastChannel: {}", crate::js::error_text(&e)))?;
        let client = AttachClient::new(name.to_string(), viewer);
        client.link.borrow_mut().open(Transport::Channel(channel));
        Ok(client)
    }

    /// The in-page devtools (`?devtools=1`): asks the page that opened this one (the parent
    /// of an iframe, the opener of a popup) for a `MessagePort` every [`READY_EVERY_MS`], takes
    /// the first one that window sends, and says hello over it.
    pub fn devtools(viewer: String) -> Result<AttachClient, String> {
        let window = web_sys::window().ok_or("no window")?;
        let host = devtools_host(&window)
            .ok_or("?devtools=1 needs a page that opened this one (openDevtools)")?;
        let ask = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&ask, &"type".into(), &READY_TYPE.into());
        let client = AttachClient::new(DEVTOOLS_NAME.to_string(), viewer);
        client.await_port(host, ask, PORT_TYPE, None)
    }

    /// A bus in a page of another origin that called `exposeToOrigins(bus, name, { allowOrigins })`
    /// listing this origin: `host` is that page's window (one this page opened, or its opener).
    /// Asks it for a port every [`READY_EVERY_MS`]; without one after [`WINDOW_ANSWER_MS`] the
    /// status says the page did not allow this origin (`page` names it), and it goes on asking.
    pub fn window(
        name: &str,
        host: web_sys::Window,
        page: String,
        viewer: String,
    ) -> Result<AttachClient, String> {
        validate_name(name)?;
        let ask = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&ask, &"type".into(), &ATTACH_ASK_TYPE.into());
        let _ = js_sys::Reflect::set(&ask, &"name".into(), &name.into());
        let mut client = AttachClient::new(name.to_string(), viewer);
        client.keep_name = true;
        let origin = web_sys::window()
            .and_then(|w| w.location().origin().ok())
            .unwrap_or_default();
        let refused = format!(
            "{page} handed over no bus \"{name}\" within {} s: that page must call exposeToOrigins(bus, {name:?}, {{ allowOrigins: [{origin:?}] }}) (switchyard/devtools)",
            WINDOW_ANSWER_MS / 1000
        );
        client.await_port(host, ask, ATTACH_PORT_TYPE, Some(refused))
    }

    /// Posts `ask` (with `v` and the viewer id added) to `host` every [`READY_EVERY_MS`] until
    /// `host` itself answers with a message of `port_type` carrying a port, then says hello over
    /// that port. With `refused`, that text becomes the status when no port came within
    /// [`WINDOW_ANSWER_MS`].
    fn await_port(
        mut self,
        host: web_sys::Window,
        ask: js_sys::Object,
        port_type: &'static str,
        refused: Option<String>,
    ) -> Result<AttachClient, String> {
        let window = web_sys::window().ok_or("no window")?;
        let link = Rc::clone(&self.link);
        let from = host.clone();
        let listener = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let from_host = event
                .source()
                .is_some_and(|source| js_sys::Object::is(&source, from.as_ref()));
            let data = event.data();
            if !from_host
                || get(&data, "type").as_string().as_deref() != Some(port_type)
                || get(&data, "v").as_f64() != Some(f64::from(PROTOCOL_VERSION))
            {
                return;
            }
            let Ok(port) = event.ports().get(0).dyn_into::<MessagePort>() else {
                return;
            };
            let mut link = link.borrow_mut();
            if link.transport.is_none() {
                link.open(Transport::Port(port));
            }
        });
        window
            .add_event_listener_with_callback("message", listener.as_ref().unchecked_ref())
            .map_err(|e| format!("message listener: {}", crate::js::error_text(&e)))?;
        let _ = js_sys::Reflect::set(&ask, &"v".into(), &JsValue::from(PROTOCOL_VERSION));
        // The host hands one port per viewer id: requests still in flight when the port
        // arrives do not make it replace that port.
        let viewer = self.link.borrow().viewer.clone();
        let _ = js_sys::Reflect::set(&ask, &"viewer".into(), &viewer.as_str().into());
        let link = Rc::clone(&self.link);
        let mut asked: u32 = 0;
        let mut ask_now = move || {
            if link.borrow().transport.is_some() {
                return;
            }
            asked = asked.saturating_add(1);
            if let Some(refused) = &refused {
                if asked == WINDOW_ANSWER_MS / READY_EVERY_MS {
                    link.borrow().inbox.borrow_mut().status =
                        Some(AttachStatus::Failed(refused.clone()));
                }
            }
            // The request carries nothing secret, so any origin may read it; the port comes
            // back only from the host window itself (checked above). A closed window throws.
            let _ = host.post_message(&ask, "*");
        };
        ask_now();
        self.handover = Some(Handover {
            listener,
            _ready: Interval::new(READY_EVERY_MS, ask_now),
        });
        Ok(self)
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
        self.link.borrow().inbox.borrow().frames
    }

    /// Returns what arrived since the last call, with the bus's latest time. (The timer says
    /// hello and pings on its own.)
    pub fn poll(&mut self) -> (Update, f64) {
        let link = self.link.borrow();
        if self.handover.is_some() && link.transport.is_some() {
            self.handover = None;
        }
        let mut inbox = link.inbox.borrow_mut();
        if let Some(status) = inbox.status.take() {
            self.status = match status {
                AttachStatus::Attached { name, version } => {
                    if !self.keep_name {
                        self.name.clone_from(&name);
                    }
                    AttachStatus::Attached {
                        name: self.name.clone(),
                        version,
                    }
                }
                other => other,
            };
        }
        (std::mem::take(&mut inbox.update), inbox.latest_at)
    }

    /// Asks the bus to redrive dead letter `id`, or all of them.
    pub fn redrive(&self, id: Option<u64>) {
        let link = self.link.borrow();
        let msg = message("command", &link.viewer);
        let command = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&command, &"op".into(), &"redrive".into());
        if let Some(id) = id {
            let ids = js_sys::Array::of1(&JsValue::from(id as f64));
            let _ = js_sys::Reflect::set(&command, &"ids".into(), &ids);
        }
        let _ = js_sys::Reflect::set(&msg, &"command".into(), &command);
        link.post(&msg);
    }

    /// Asks the bus to purge its dead letters.
    pub fn purge(&self) {
        let link = self.link.borrow();
        let msg = message("command", &link.viewer);
        let command = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&command, &"op".into(), &"purge".into());
        let _ = js_sys::Reflect::set(&msg, &"command".into(), &command);
        link.post(&msg);
    }

    /// Says `bye` (the page is going away).
    pub fn detach(&self) {
        self.link.borrow().send("bye");
    }
}

impl Drop for AttachClient {
    fn drop(&mut self) {
        let mut link = self.link.borrow_mut();
        link.send("bye");
        if let Some(transport) = link.transport.take() {
            transport.close();
        }
    }
}
