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
//! stop). A viewer silent for 3 s is dropped; a `ping` from a viewer the bus does not know (it
//! was dropped while its tab slept) attaches it again, as a `hello` would.

use crate::prelude::*;
use alloc::rc::{Rc, Weak};
use core::cell::RefMut;

use js_sys::{Array, Date, Function, Object, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::{BroadcastChannel, MessageEvent, MessagePort};

use crate::events::event_object;
use crate::state::Shared;
use crate::views::{to_js, DeadLetterView, LeakView, MetricsView, SubscriptionView};

/// Protocol version spoken here.
pub const PROTOCOL_VERSION: u32 = 1;
/// A viewer silent for this long (ms) is dropped.
const VIEWER_TIMEOUT_MS: f64 = 3000.0;
/// Minimum time between frames (ms).
const FRAME_INTERVAL_MS: f64 = 16.0;
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
    dirty: bool,
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
        let channel = BroadcastChannel::new(&format!("switchyard:{name}"))?;
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

    /// Something changed: schedule a frame on every exposure someone watches.
    pub fn note_change(&self) {
        let mut exposures = self.exposures.borrow_mut();
        for exposure in exposures.iter_mut() {
            if exposure.viewers.is_empty() {
                continue;
            }
            exposure.dirty = true;
            if exposure.frame_timer.is_none() {
                let handle = set_timeout(
                    exposure.frame_callback.as_ref().unchecked_ref(),
                    FRAME_INTERVAL_MS,
                );
                unref(&handle);
                exposure.frame_timer = Some(handle);
            }
        }
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
                        format!("this bus speaks attach protocol v{PROTOCOL_VERSION}").into(),
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
        match kind.as_str() {
            "hello" => self.on_hello(id, viewer, now),
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
                    self.on_hello(id, viewer, now);
                }
            }
            "bye" => self.remove_viewers(id, |v| v.id == viewer),
            "command" => self.on_command(&field(data, "command")),
            _ => {}
        }
    }

    fn on_hello(self: &Rc<Self>, id: u32, viewer: String, now: f64) {
        let Some((first, name)) = self.exposure(id).map(|mut exposure| {
            let first = exposure.viewers.is_empty();
            match exposure.viewers.iter_mut().find(|v| v.id == viewer) {
                Some(known) => known.last_seen = now,
                None => exposure.viewers.push(Viewer {
                    id: viewer.clone(),
                    last_seen: now,
                }),
            }
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
        ])
    }

    fn send_frame(self: &Rc<Self>, id: u32) {
        let now = Date::now();
        self.remove_viewers(id, |v| now - v.last_seen > VIEWER_TIMEOUT_MS);
        let Some(Some((cursor, dirty))) = self.exposure(id).map(|mut exposure| {
            exposure.frame_timer = None;
            (!exposure.viewers.is_empty())
                .then(|| (exposure.cursor, core::mem::take(&mut exposure.dirty)))
        }) else {
            return;
        };
        let batch = self.engine.borrow().bus.trace_since(cursor);
        if batch.events.is_empty() && batch.missed == 0 && !dirty {
            return;
        }
        if let Some(mut exposure) = self.exposure(id) {
            exposure.cursor = batch.cursor;
        }
        let events: Array = batch
            .events
            .iter()
            .map(|event| event_object(event, event.kind.as_str()))
            .collect();
        let frame = |state: JsValue| {
            object(&[
                ("v", PROTOCOL_VERSION.into()),
                ("type", "frame".into()),
                ("events", events.clone().into()),
                ("cursor", JsValue::from_f64(batch.cursor as f64)),
                ("missed", JsValue::from_f64(batch.missed as f64)),
                ("state", state),
            ])
        };
        if !self.post(id, &frame(self.state_object(false))) {
            // A payload that cannot be structured-cloned (a function, a DOM node): send text.
            self.post(id, &frame(self.state_object(true)));
        }
    }
}
