//! `bus.expose(name)`: the bus side of the attach protocol (docs/ATTACH_PROTOCOL.md, v1).
//!
//! A `BroadcastChannel` named `switchyard:NAME` carries `hello` / `ping` / `bye` / `command`
//! from visualisers and `welcome` / `frame` / `error` back. Nothing is sent, and the trace
//! ring stays off, while no viewer is attached. With viewers, changes are batched into at most
//! one frame per 16 ms (`setTimeout`, which keeps running in background tabs where
//! `requestAnimationFrame` would stop). A viewer silent for 3 s is dropped.

use crate::prelude::*;
use alloc::rc::{Rc, Weak};

use js_sys::{Array, Date, Function, Object, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::{BroadcastChannel, MessageEvent};

use crate::events::event_object;
use crate::state::Shared;
use crate::views::{to_js, DeadLetterView, LeakView, MetricsView, SubscriptionView};

/// Protocol version spoken here.
pub const PROTOCOL_VERSION: u32 = 1;
/// A viewer silent for this long (ms) is dropped.
const VIEWER_TIMEOUT_MS: f64 = 3000.0;
/// Minimum time between frames (ms).
const FRAME_INTERVAL_MS: f64 = 16.0;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &Function, millis: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);
}

/// An attached visualiser.
struct Viewer {
    id: String,
    last_seen: f64,
}

/// One `expose(name)` in force.
pub struct Exposure {
    name: String,
    channel: BroadcastChannel,
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
        self.channel.set_onmessage(None);
        self.channel.close();
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
    /// Starts answering visualisers on `switchyard:NAME` (replacing an earlier exposure).
    pub fn expose(self: &Rc<Self>, name: &str) -> Result<(), JsValue> {
        let channel = BroadcastChannel::new(&format!("switchyard:{name}"))?;
        unref(&channel);
        let weak: Weak<Shared> = Rc::downgrade(self);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(shared) = weak.upgrade() {
                shared.on_viewer_message(&event.data());
            }
        });
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let weak: Weak<Shared> = Rc::downgrade(self);
        let frame_callback = Closure::<dyn FnMut()>::new(move || {
            if let Some(shared) = weak.upgrade() {
                shared.send_frame();
            }
        });
        let exposure = Exposure {
            name: name.to_owned(),
            channel,
            _on_message: on_message,
            frame_callback,
            frame_timer: None,
            viewers: Vec::new(),
            cursor: 0,
            dirty: false,
        };
        let previous = self.exposure.borrow_mut().replace(exposure);
        self.drop_exposure(previous);
        Ok(())
    }

    /// Stops exposing the bus.
    pub fn unexpose(&self) {
        let previous = self.exposure.borrow_mut().take();
        self.drop_exposure(previous);
    }

    fn drop_exposure(&self, exposure: Option<Exposure>) {
        if let Some(exposure) = exposure {
            if !exposure.viewers.is_empty() {
                self.engine.borrow_mut().observe_trace(-1);
            }
            drop(exposure);
        }
    }

    /// Something changed: schedule a frame if anyone watches.
    pub fn note_change(&self) {
        let mut slot = self.exposure.borrow_mut();
        let Some(exposure) = slot.as_mut() else {
            return;
        };
        if exposure.viewers.is_empty() {
            return;
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

    fn post(&self, message: &JsValue) {
        if let Some(exposure) = self.exposure.borrow().as_ref() {
            let _ = exposure.channel.post_message(message);
        }
    }

    fn on_viewer_message(self: &Rc<Self>, data: &JsValue) {
        if !data.is_object() {
            return;
        }
        let version = field(data, "v");
        if version.as_f64() != Some(f64::from(PROTOCOL_VERSION)) {
            self.post(&object(&[
                ("v", PROTOCOL_VERSION.into()),
                ("type", "error".into()),
                ("code", "E_VERSION".into()),
                (
                    "message",
                    format!("this bus speaks attach protocol v{PROTOCOL_VERSION}").into(),
                ),
            ]));
            return;
        }
        let kind = field(data, "type").as_string().unwrap_or_default();
        let Some(viewer) = field(data, "viewer").as_string() else {
            return;
        };
        let now = Date::now();
        match kind.as_str() {
            "hello" => self.on_hello(viewer, now),
            "ping" => {
                if let Some(exposure) = self.exposure.borrow_mut().as_mut() {
                    if let Some(known) = exposure.viewers.iter_mut().find(|v| v.id == viewer) {
                        known.last_seen = now;
                    }
                }
            }
            "bye" => self.remove_viewers(|v| v.id == viewer),
            "command" => self.on_command(&field(data, "command")),
            _ => {}
        }
    }

    fn on_hello(self: &Rc<Self>, viewer: String, now: f64) {
        let first = {
            let mut slot = self.exposure.borrow_mut();
            let Some(exposure) = slot.as_mut() else {
                return;
            };
            let first = exposure.viewers.is_empty();
            match exposure.viewers.iter_mut().find(|v| v.id == viewer) {
                Some(known) => known.last_seen = now,
                None => exposure.viewers.push(Viewer {
                    id: viewer.clone(),
                    last_seen: now,
                }),
            }
            first
        };
        if first {
            let head = {
                let mut engine = self.engine.borrow_mut();
                engine.observe_trace(1);
                engine.trace_head()
            };
            if let Some(exposure) = self.exposure.borrow_mut().as_mut() {
                exposure.cursor = head;
            }
        }
        let name = self
            .exposure
            .borrow()
            .as_ref()
            .map(|e| e.name.clone())
            .unwrap_or_default();
        self.post(&object(&[
            ("v", PROTOCOL_VERSION.into()),
            ("type", "welcome".into()),
            ("name", name.into()),
            ("version", env!("CARGO_PKG_VERSION").into()),
            ("viewer", viewer.into()),
        ]));
        self.note_change();
    }

    fn remove_viewers(&self, mut gone: impl FnMut(&Viewer) -> bool) {
        let last_left = {
            let mut slot = self.exposure.borrow_mut();
            let Some(exposure) = slot.as_mut() else {
                return;
            };
            let had = !exposure.viewers.is_empty();
            exposure.viewers.retain(|v| !gone(v));
            had && exposure.viewers.is_empty()
        };
        if last_left {
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

    fn send_frame(self: &Rc<Self>) {
        let now = Date::now();
        self.remove_viewers(|v| now - v.last_seen > VIEWER_TIMEOUT_MS);
        let (cursor, dirty) = {
            let mut slot = self.exposure.borrow_mut();
            let Some(exposure) = slot.as_mut() else {
                return;
            };
            exposure.frame_timer = None;
            if exposure.viewers.is_empty() {
                return;
            }
            (exposure.cursor, core::mem::take(&mut exposure.dirty))
        };
        let batch = self.engine.borrow().bus.trace_since(cursor);
        if batch.events.is_empty() && batch.missed == 0 && !dirty {
            return;
        }
        if let Some(exposure) = self.exposure.borrow_mut().as_mut() {
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
        let sent = {
            let slot = self.exposure.borrow();
            let Some(exposure) = slot.as_ref() else {
                return;
            };
            exposure
                .channel
                .post_message(&frame(self.state_object(false)))
                .is_ok()
        };
        if !sent {
            // A payload that cannot be structured-cloned (a function, a DOM node): send text.
            if let Some(exposure) = self.exposure.borrow().as_ref() {
                let _ = exposure
                    .channel
                    .post_message(&frame(self.state_object(true)));
            }
        }
    }
}
