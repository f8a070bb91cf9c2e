//! `bus.on(kind, listener)`: lifecycle events for JavaScript, read from the engine's trace ring.
//!
//! The ring is switched on only while at least one listener exists (or a visualiser is
//! attached), so a bus nobody listens to pays nothing. After each outermost operation the new
//! trace events are read by cursor and passed to the listeners of their kind and of `'*'`.
//!
//! The JS names differ from the engine's `TraceKind` names where the contract says so;
//! [`KINDS`] is the one table that maps them.

use crate::prelude::*;
use alloc::rc::Rc;

use js_sys::Function;
use switchyard_core::{TraceEvent, TraceKind};
use wasm_bindgen::prelude::*;

use crate::hooks::{make_event, origin_value};
use crate::shared::TRACE_KINDS;
use crate::state::Shared;

/// Every trace kind with its JS event name (the names are written once, in
/// [`TRACE_KINDS`], in this order).
pub const KINDS: [(TraceKind, &str); 24] = [
    (TraceKind::Subscribed, TRACE_KINDS[0]),
    (TraceKind::Unsubscribed, TRACE_KINDS[1]),
    (TraceKind::Published, TRACE_KINDS[2]),
    (TraceKind::Enqueued, TRACE_KINDS[3]),
    (TraceKind::Delivering, TRACE_KINDS[4]),
    (TraceKind::Delivered, TRACE_KINDS[5]),
    (TraceKind::Filtered, TRACE_KINDS[6]),
    (TraceKind::Failed, TRACE_KINDS[7]),
    (TraceKind::RetryScheduled, TRACE_KINDS[8]),
    (TraceKind::DeadLettered, TRACE_KINDS[9]),
    (TraceKind::Dropped, TRACE_KINDS[10]),
    (TraceKind::Backpressure, TRACE_KINDS[11]),
    (TraceKind::BatchFlushed, TRACE_KINDS[12]),
    (TraceKind::StrategySwapped, TRACE_KINDS[13]),
    (TraceKind::Paused, TRACE_KINDS[14]),
    (TraceKind::Resumed, TRACE_KINDS[15]),
    (TraceKind::CircuitOpened, TRACE_KINDS[16]),
    (TraceKind::CircuitHalfOpen, TRACE_KINDS[17]),
    (TraceKind::CircuitClosed, TRACE_KINDS[18]),
    (TraceKind::LeakSuspected, TRACE_KINDS[19]),
    (TraceKind::Redriven, TRACE_KINDS[20]),
    (TraceKind::TimedOut, TRACE_KINDS[21]),
    (TraceKind::CascadeRefused, TRACE_KINDS[22]),
    (TraceKind::DeadLetterEvicted, TRACE_KINDS[23]),
];

/// The JS event name of `kind`.
pub fn js_name(kind: TraceKind) -> &'static str {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("unknown", |(_, name)| name)
}

/// The kind named `name` in JS (`None` for unknown names).
pub fn from_js_name(name: &str) -> Option<TraceKind> {
    KINDS
        .iter()
        .find(|(_, n)| *n == name)
        .map(|(kind, _)| *kind)
}

/// One registered listener.
struct Listener {
    id: u32,
    /// `None` listens to every kind (`'*'`).
    kind: Option<TraceKind>,
    callback: Function,
}

/// The `on()` listeners of one bus.
#[derive(Default)]
pub struct Listeners {
    next_id: u32,
    entries: Vec<Listener>,
}

impl Listeners {
    /// Adds a listener; returns its id.
    pub fn add(&mut self, kind: Option<TraceKind>, callback: Function) -> u32 {
        self.next_id = self.next_id.wrapping_add(1);
        self.entries.push(Listener {
            id: self.next_id,
            kind,
            callback,
        });
        self.next_id
    }

    /// Removes a listener; false if it was already gone.
    pub fn remove(&mut self, id: u32) -> bool {
        let before = self.entries.len();
        self.entries.retain(|listener| listener.id != id);
        self.entries.len() != before
    }

    /// True when nobody listens.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Removes every listener; returns how many there were.
    pub fn clear(&mut self) -> usize {
        let count = self.entries.len();
        self.entries.clear();
        count
    }

    fn targets(&self, kind: TraceKind) -> Vec<Function> {
        self.entries
            .iter()
            .filter(|listener| listener.kind.is_none_or(|k| k == kind))
            .map(|listener| listener.callback.clone())
            .collect()
    }
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(message: &str, error: &JsValue);
}

/// A trace event as JavaScript sees it:
/// `{ cursor, at, kind, subscription, message, topic, detail }`.
pub fn event_object(event: &TraceEvent, kind_name: &str) -> JsValue {
    make_event(
        event.cursor as f64,
        event.at.as_millis_f64(),
        &JsValue::from_str(kind_name),
        event
            .subscription
            .map_or(JsValue::NULL, |id| JsValue::from_f64(id.to_bits() as f64)),
        event
            .message
            .map_or(JsValue::NULL, |id| JsValue::from_f64(id.0 as f64)),
        event
            .topic
            .as_deref()
            .map_or(JsValue::NULL, JsValue::from_str),
        event.detail as f64,
        origin_value(event.origin.as_deref()),
    )
}

impl Shared {
    /// Passes new trace events to `on()` listeners (see the module docs).
    pub fn emit_events(self: &Rc<Self>) {
        if self.listeners.borrow().is_empty() || self.emitting.replace(true) {
            return;
        }
        loop {
            let batch = {
                let mut engine = self.engine.borrow_mut();
                let batch = engine.bus.trace_since(engine.events_cursor);
                engine.events_cursor = batch.cursor;
                batch
            };
            if batch.events.is_empty() {
                break;
            }
            for event in &batch.events {
                let targets = self.listeners.borrow().targets(event.kind);
                if targets.is_empty() {
                    continue;
                }
                let object = event_object(event, js_name(event.kind));
                // Publishes by the listener are one cascade hop past the event: past its
                // message, or past the code that traced it if that ran deeper (an event without
                // a message, such as `subscriber_added` from a handler, is as deep as the
                // handler's message; see `ListenerCascade`).
                let cause = {
                    let cascade = self.listener_cascade.borrow();
                    let traced = cascade.depth_traced_at(event.cursor);
                    event
                        .message
                        .map_or(traced, |id| cascade.depth_of(id).max(traced))
                };
                self.listener_depth.set(Some(cause.saturating_add(1)));
                self.mark_trace_depth();
                for listener in targets {
                    if let Err(thrown) = listener.call1(&JsValue::UNDEFINED, &object) {
                        console_error("switchyard: an on() listener threw:", &thrown);
                    }
                }
                self.listener_depth.set(None);
                self.mark_trace_depth();
            }
        }
        self.listener_cascade.borrow_mut().clear();
        self.emitting.set(false);
    }
}
