//! `bus.expose(target)`: the bus side of the attach protocol (docs/ATTACH_PROTOCOL.md, v1).
//!
//! An exposure talks over one [`Link`]: a `BroadcastChannel` named `switchyard:NAME`
//! (`expose(name)`, visualisers in other same-origin tabs) or a `MessagePort` (`expose(port)`,
//! the in-page devtools panel or a popup, on any origin). Either carries `hello` / `ping` /
//! `bye` / `command` from visualisers and `welcome` / `frame` / `error` back, the same messages
//! over both. A bus may have several exposures at once (a named one and a devtools panel); each
//! keeps its own viewers and trace cursor. Nothing is sent, and the trace ring stays off, while
//! no exposure has a viewer. With viewers, changes are batched into at most one frame per 16 ms
//! (`setTimeout`, which keeps running in background tabs where `requestAnimationFrame` would
//! stop); the bus's `state` rides on at most one frame per 100 ms (at once for a new viewer and
//! after a command), and the trace events go as columns of one `Float64Array` to viewers that
//! accept them (`accept: ['columns']`), so a busy bus costs its page little to watch. A viewer silent for 3 s is dropped; a `ping` from a viewer the bus does not know (it
//! was dropped while its tab slept) attaches it again, as a `hello` would.

use crate::prelude::*;
use alloc::rc::{Rc, Weak};
use core::cell::RefMut;

use js_sys::{Array, Date, Float64Array, Function, Object, Reflect};
use switchyard_core::{TraceEvent, TraceKind};
use wasm_bindgen::prelude::*;
use web_sys::{BroadcastChannel, MessageEvent, MessagePort};

use crate::error::{concat, decimal};
use crate::events::event_object;
use crate::hooks::origin_value;
use crate::state::Shared;
use crate::views::{to_js, DeadLetterView, LeakView, MetricsView, SubscriptionView};

/// Protocol version spoken here.
pub const PROTOCOL_VERSION: u32 = 1;
/// A viewer silent for this long (ms) is dropped.
const VIEWER_TIMEOUT_MS: f64 = 3000.0;
/// Minimum time between frames (ms).
const FRAME_INTERVAL_MS: f64 = 16.0;
/// Minimum time between two frames that carry the bus's `state` (ms), except the first after a
/// viewer arrives and the first after a command.
const STATE_INTERVAL_MS: f64 = 100.0;
/// Numbers per event in a frame's `columns.data`: cursor, at, kind, subscription, message,
/// topic, detail, origin.
const COLUMN_STRIDE: usize = 8;
/// How many of a frame's newest distinct topics a new event's topic is looked up among.
const RECENT_TOPICS: usize = 16;
/// The name a `MessagePort` exposure reports in `welcome`.
pub const PORT_NAME: &str = "in-page";

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &Function, millis: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);
}

#[wasm_bindgen]
extern "C" {
    /// What an exposure talks over: a `BroadcastChannel` (`switchyard:NAME`, every same-origin
    /// context that opens it) or a `MessagePort` (the visualiser holds the other end). Both
    /// post, receive and close alike, so one structural type serves both (one set of imports
    /// in the `.wasm`).
    pub type Link;
    /// Posts `message` (structured clone); fails on a value that cannot be cloned.
    #[wasm_bindgen(method, structural, catch, js_name = postMessage)]
    fn post(this: &Link, message: &JsValue) -> Result<(), JsValue>;
    #[wasm_bindgen(method, structural, setter, js_name = onmessage)]
    fn set_onmessage(this: &Link, handler: Option<&Function>);
    #[wasm_bindgen(method, structural)]
    fn close(this: &Link);
}

/// An attached visualiser.
struct Viewer {
    id: String,
    last_seen: f64,
    /// It reads trace events as `columns` (its `hello` said `accept: ['columns']`).
    columns: bool,
}

/// One `expose(...)` in force.
pub struct Exposure {
    /// Identifies the exposure for its callbacks and its stop function.
    id: u32,
    /// The channel name, or [`PORT_NAME`] for a port.
    name: String,
    /// A `BroadcastChannel` (else a `MessagePort`).
    channel: bool,
    link: Link,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    frame_callback: Closure<dyn FnMut()>,
    frame_timer: Option<JsValue>,
    viewers: Vec<Viewer>,
    cursor: u64,
    /// Something changed since the last `state` sent.
    dirty: bool,
    /// When the last `state` was sent (`Date.now()`).
    state_sent_at: f64,
    /// The next frame carries the `state` whatever the interval (a viewer arrived, a command ran).
    state_forced: bool,
}

impl Exposure {
    /// Sends a frame in `delay` ms unless one is already due.
    fn schedule(&mut self, delay: f64) {
        if self.frame_timer.is_none() {
            let handle = set_timeout(self.frame_callback.as_ref().unchecked_ref(), delay);
            unref(&handle);
            self.frame_timer = Some(handle);
        }
    }
}

impl Drop for Exposure {
    fn drop(&mut self) {
        if let Some(handle) = self.frame_timer.take() {
            clear_timeout(&handle);
        }
        self.link.set_onmessage(None);
        self.link.close();
    }
}

/// Calls `value.unref()` when it exists (Node), so the channel or timer does not keep the
/// process alive.
fn unref(value: &JsValue) {
    if let Ok(method) = Reflect::get(value, &JsValue::from_str("unref")) {
        if let Some(method) = method.dyn_ref::<Function>() {
            let _ = method.call0(value);
        }
    }
}

fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (key, value) in fields {
        let _ = Reflect::set(&object, &JsValue::from_str(key), value);
    }
    object.into()
}

fn field(data: &JsValue, key: &str) -> JsValue {
    Reflect::get(data, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

impl Shared {
    /// Starts answering visualisers on `switchyard:NAME`, replacing an earlier exposure of the
    /// same name; returns the exposure's id (for [`Shared::unexpose`]).
    pub fn expose(self: &Rc<Self>, name: &str) -> Result<u32, JsValue> {
        let channel = BroadcastChannel::new(&concat(&["switchyard:", name]))?;
        // (There is at most one: each `expose(name)` replaces the last.)
        let replaced = self
            .exposures
            .borrow()
            .iter()
            .find(|e| e.channel && e.name == name)
            .map(|e| e.id);
        if let Some(id) = replaced {
            self.unexpose(id);
        }
        Ok(self.open_exposure(name, true, channel.unchecked_into()))
    }

    /// Starts answering a visualiser holding the other end of `port`; returns the exposure's
    /// id. Closing the exposure closes the port.
    pub fn expose_port(self: &Rc<Self>, port: MessagePort) -> u32 {
        self.open_exposure(PORT_NAME, false, port.unchecked_into())
    }

    fn open_exposure(self: &Rc<Self>, name: &str, channel: bool, link: Link) -> u32 {
        unref(&link);
        let id = self.next_exposure.get();
        self.next_exposure.set(id.wrapping_add(1));
        let weak: Weak<Shared> = Rc::downgrade(self);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(shared) = weak.upgrade() {
                shared.on_viewer_message(id, &event.data());
            }
        });
        // (`onmessage` also starts a port's message queue.)
        link.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let weak: Weak<Shared> = Rc::downgrade(self);
        let frame_callback = Closure::<dyn FnMut()>::new(move || {
            if let Some(shared) = weak.upgrade() {
                shared.send_frame(id);
            }
        });
        self.exposures.borrow_mut().push(Exposure {
            id,
            name: name.to_owned(),
            channel,
            link,
            _on_message: on_message,
            frame_callback,
            frame_timer: None,
            viewers: Vec::new(),
            cursor: 0,
            dirty: false,
            state_sent_at: f64::NEG_INFINITY,
            state_forced: false,
        });
        id
    }

    /// Stops exposure `id` (nothing when it already stopped).
    pub fn unexpose(&self, id: u32) {
        let removed = {
            let mut exposures = self.exposures.borrow_mut();
            exposures
                .iter()
                .position(|e| e.id == id)
                .map(|at| exposures.remove(at))
        };
        self.drop_exposure(removed);
    }

    /// Stops every exposure (`close()`).
    pub fn unexpose_all(&self) {
        let all = core::mem::take(&mut *self.exposures.borrow_mut());
        for exposure in all {
            self.drop_exposure(Some(exposure));
        }
    }

    fn drop_exposure(&self, exposure: Option<Exposure>) {
        if let Some(exposure) = exposure {
            if !exposure.viewers.is_empty() {
                self.engine.borrow_mut().observe_trace(-1);
            }
            drop(exposure);
        }
    }

    /// Something changed: schedule a frame on every exposure someone watches. Answers whether
    /// any does.
    pub fn note_change(&self) -> bool {
        let mut watched = false;
        let mut exposures = self.exposures.borrow_mut();
        for exposure in exposures.iter_mut() {
            if exposure.viewers.is_empty() {
                continue;
            }
            watched = true;
            exposure.dirty = true;
            exposure.schedule(FRAME_INTERVAL_MS);
        }
        watched
    }

    /// Exposure `id`, if it is still in force (borrowed: drop it before calling back in).
    fn exposure(&self, id: u32) -> Option<RefMut<'_, Exposure>> {
        RefMut::filter_map(self.exposures.borrow_mut(), |all| {
            all.iter_mut().find(|e| e.id == id)
        })
        .ok()
    }

    fn post(&self, id: u32, message: &JsValue) -> bool {
        // Posting never re-enters the bus (delivery is asynchronous), so the borrow is safe.
        self.exposures
            .borrow()
            .iter()
            .find(|e| e.id == id)
            .is_some_and(|e| e.link.post(message).is_ok())
    }

    fn on_viewer_message(self: &Rc<Self>, id: u32, data: &JsValue) {
        if !data.is_object() {
            return;
        }
        let version = field(data, "v");
        if version.as_f64() != Some(f64::from(PROTOCOL_VERSION)) {
            self.post(
                id,
                &object(&[
                    ("v", PROTOCOL_VERSION.into()),
                    ("type", "error".into()),
                    ("code", "E_VERSION".into()),
                    (
                        "message",
                        concat(&[
                            "this bus speaks attach protocol v",
                            &decimal(u64::from(PROTOCOL_VERSION)),
                        ])
                        .into(),
                    ),
                ]),
            );
            return;
        }
        let kind = field(data, "type").as_string().unwrap_or_default();
        let Some(viewer) = field(data, "viewer").as_string() else {
            return;
        };
        let now = Date::now();
        let accept = field(data, "accept");
        let columns = Array::is_array(&accept)
            && Array::from(&accept).includes(&JsValue::from_str("columns"), 0);
        match kind.as_str() {
            "hello" => self.on_hello(id, viewer, now, columns),
            "ping" => {
                let known = self.exposure(id).map(|mut exposure| {
                    match exposure.viewers.iter_mut().find(|v| v.id == viewer) {
                        Some(known) => {
                            known.last_seen = now;
                            true
                        }
                        None => false,
                    }
                });
                if known == Some(false) {
                    // Dropped while silent (a sleeping tab): attach it again.
                    self.on_hello(id, viewer, now, columns);
                }
            }
            "bye" => self.remove_viewers(id, |v| v.id == viewer),
            "command" => {
                if let Some(mut exposure) = self.exposure(id) {
                    exposure.state_forced = true;
                }
                self.on_command(&field(data, "command"));
            }
            _ => {}
        }
    }

    fn on_hello(self: &Rc<Self>, id: u32, viewer: String, now: f64, columns: bool) {
        let Some((first, name)) = self.exposure(id).map(|mut exposure| {
            let first = exposure.viewers.is_empty();
            match exposure.viewers.iter_mut().find(|v| v.id == viewer) {
                Some(known) => {
                    known.last_seen = now;
                    known.columns = columns;
                }
                None => exposure.viewers.push(Viewer {
                    id: viewer.clone(),
                    last_seen: now,
                    columns,
                }),
            }
            // The newcomer gets the whole state at once.
            exposure.state_forced = true;
            (first, exposure.name.clone())
        }) else {
            return;
        };
        if first {
            let head = {
                let mut engine = self.engine.borrow_mut();
                engine.observe_trace(1);
                engine.trace_head()
            };
            if let Some(mut exposure) = self.exposure(id) {
                exposure.cursor = head;
            }
        }
        self.post(
            id,
            &object(&[
                ("v", PROTOCOL_VERSION.into()),
                ("type", "welcome".into()),
                ("name", name.into()),
                ("version", env!("CARGO_PKG_VERSION").into()),
                ("viewer", viewer.into()),
            ]),
        );
        self.note_change();
    }

    fn remove_viewers(&self, id: u32, mut gone: impl FnMut(&Viewer) -> bool) {
        let last_left = self.exposure(id).map(|mut exposure| {
            let had = !exposure.viewers.is_empty();
            exposure.viewers.retain(|v| !gone(v));
            had && exposure.viewers.is_empty()
        });
        if last_left == Some(true) {
            self.engine.borrow_mut().observe_trace(-1);
        }
    }

    fn on_command(self: &Rc<Self>, command: &JsValue) {
        match field(command, "op").as_string().as_deref() {
            Some("redrive") => {
                let ids = field(command, "ids");
                let _ = self.redrive(&ids);
            }
            Some("purge") => {
                self.engine.borrow_mut().bus.purge_dead_letters();
                self.finish();
            }
            _ => {}
        }
        self.note_change();
    }

    /// The `state` of a frame.
    pub fn state_object(&self, text_payloads: bool) -> JsValue {
        let links = self.links_state();
        let leaks: Array = {
            let mut engine = self.engine.borrow_mut();
            let now = engine.now();
            engine.bus.leaks(now)
        }
        .iter()
        .map(|report| to_js(&LeakView::from(report)))
        .collect();
        let engine = self.engine.borrow();
        let now = engine.now();
        let subscriptions: Array = engine
            .bus
            .subscriptions()
            .iter()
            .map(|info| to_js(&SubscriptionView::new(info, now)))
            .collect();
        let dead_letters: Array = engine
            .bus
            .dead_letters()
            .map(|letter| {
                let view = to_js(&DeadLetterView::from(letter));
                if text_payloads {
                    let text = crate::error::describe_thrown(&letter.message.payload);
                    let _ = Reflect::set(
                        &view,
                        &JsValue::from_str("payload"),
                        &JsValue::from_str(&text),
                    );
                }
                view
            })
            .collect();
        object(&[
            ("subscriptions", subscriptions.into()),
            ("metrics", to_js(&MetricsView::from(&engine.bus.metrics()))),
            ("deadLetters", dead_letters.into()),
            ("leaks", leaks.into()),
            ("links", links),
        ])
    }

    /// The state's `links`: what the bridge's registry answers (`__links`; an array, and it
    /// never throws), or an empty array when no link is open (calling `undefined` throws).
    fn links_state(&self) -> JsValue {
        // Cloned out first: the reader is JavaScript and may call back into the bus.
        let reader = self.links_reader.borrow().clone();
        reader
            .unchecked_ref::<Function>()
            .call0(&JsValue::UNDEFINED)
            .unwrap_or_else(|_| Array::new().into())
    }

    fn send_frame(self: &Rc<Self>, id: u32) {
        let now = Date::now();
        self.remove_viewers(id, |v| now - v.last_seen > VIEWER_TIMEOUT_MS);
        let Some(Some((cursor, dirty, columns, state_due))) = self.exposure(id).map(|mut e| {
            e.frame_timer = None;
            (!e.viewers.is_empty()).then(|| {
                let columns = e.viewers.iter().all(|v| v.columns);
                let due = e.state_forced || now - e.state_sent_at >= STATE_INTERVAL_MS;
                (e.cursor, e.dirty, columns, due)
            })
        }) else {
            return;
        };
        let send_state = dirty && state_due;
        if let Some(mut exposure) = self.exposure(id) {
            if send_state {
                exposure.dirty = false;
                exposure.state_forced = false;
                exposure.state_sent_at = now;
            } else if dirty {
                // The state changed but went out less than the interval ago: it follows then.
                let wait =
                    (exposure.state_sent_at + STATE_INTERVAL_MS - now).max(FRAME_INTERVAL_MS);
                exposure.schedule(wait);
            }
        }
        let batch = self.engine.borrow().bus.trace_since(cursor);
        if batch.events.is_empty() && batch.missed == 0 && !send_state {
            return;
        }
        if let Some(mut exposure) = self.exposure(id) {
            exposure.cursor = batch.cursor;
        }
        let (key, events) = if columns {
            ("columns", columns_object(&batch.events))
        } else {
            let events: Array = batch
                .events
                .iter()
                .map(|event| event_object(event, event.kind.as_str()))
                .collect();
            ("events", events.into())
        };
        let frame = |state: Option<JsValue>| {
            let frame = object(&[
                ("v", PROTOCOL_VERSION.into()),
                ("type", "frame".into()),
                (key, events.clone()),
                ("cursor", JsValue::from_f64(batch.cursor as f64)),
                ("missed", JsValue::from_f64(batch.missed as f64)),
            ]);
            if let Some(state) = state {
                let _ = Reflect::set(&frame, &JsValue::from_str("state"), &state);
            }
            frame
        };
        if !send_state {
            self.post(id, &frame(None));
        } else if !self.post(id, &frame(Some(self.state_object(false)))) {
            // A payload that cannot be structured-cloned (a function, a DOM node): send text.
            self.post(id, &frame(Some(self.state_object(true))));
        }
    }
}

/// A frame's `columns` (docs/ATTACH_PROTOCOL.md): the events as rows of [`COLUMN_STRIDE`]
/// numbers in one `Float64Array` (cursor, at, kind index in `kinds`, subscription bits or NaN,
/// message id or NaN, topic index in `topics` or -1, detail, origin index in `origins` or -1),
/// the kind names, this frame's topics (each listed once among any [`RECENT_TOPICS`] in a row)
/// and the origins of its bridged messages (as `on()` events carry them). One typed array clones as a copy of bytes, where thousands of event
/// objects cost the page thousands of allocations to build and to clone.
fn columns_object(events: &[TraceEvent]) -> JsValue {
    let mut data: Vec<f64> = Vec::with_capacity(events.len() * COLUMN_STRIDE);
    let mut topics: Vec<&str> = Vec::new();
    let origins = Array::new();
    let or_nan = |value: Option<u64>| value.map_or(f64::NAN, |v| v as f64);
    for event in events {
        let topic = match event.topic.as_deref() {
            // Only the newest distinct topics are searched, so one-off topics (`order.<uuid>`)
            // cost a short scan each; an older repeat is listed again, which readers accept.
            Some(topic) => {
                let from = topics.len().saturating_sub(RECENT_TOPICS);
                let at = match topics[from..].iter().rposition(|t| *t == topic) {
                    Some(at) => from + at,
                    None => {
                        topics.push(topic);
                        topics.len() - 1
                    }
                };
                at as f64
            }
            None => -1.0,
        };
        data.extend_from_slice(&[
            event.cursor as f64,
            event.at.as_millis_f64(),
            event.kind as u8 as f64,
            or_nan(event.subscription.map(|id| id.to_bits())),
            or_nan(event.message.map(|id| id.0)),
            topic,
            event.detail as f64,
            match event.origin.as_deref() {
                Some(origin) => f64::from(origins.push(&origin_value(Some(origin))) - 1),
                None => -1.0,
            },
        ]);
    }
    let kinds: Array = TraceKind::ALL
        .iter()
        .map(|kind| JsValue::from_str(kind.as_str()))
        .collect();
    let topics: Array = topics.into_iter().map(JsValue::from_str).collect();
    object(&[
        ("stride", JsValue::from_f64(COLUMN_STRIDE as f64)),
        ("data", Float64Array::from(&data[..]).into()),
        ("kinds", kinds.into()),
        ("topics", topics.into()),
        ("origins", origins.into()),
    ])
}
