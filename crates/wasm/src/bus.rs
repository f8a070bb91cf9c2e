//! `EventBus`: the class JavaScript constructs. Each method validates its arguments (bad input
//! throws a `SwitchyardError` and changes nothing), does its engine work inside a short borrow,
//! then lets [`Shared::finish`] run handlers and housekeeping with nothing borrowed.

use crate::prelude::*;
use alloc::rc::Rc;

use js_sys::{Array, Function, Promise, Reflect};
use switchyard_core::{Bus, Config, DeadLetterId, RetryPolicy};
use wasm_bindgen::prelude::*;

use crate::clock::Clock;
use crate::error::{concat, decimal, error, invalid_option, ErrorCode, JsResult};
use crate::events::{event_object, from_js_name, js_name};
use crate::hooks::hand_back;
use crate::options::{self, Options};
use crate::state::{Engine, Shared};
use crate::views::{to_js, DeadLetterView, LeakView, MetricsView, SubscriptionView};

pub(crate) use crate::shared::BUS_OPTIONS;

/// Upper bound on ring and store sizes a user may ask for (keeps allocation sane).
const MAX_STORE: u32 = 1 << 24;

/// A typed, bounded, observable event bus.
#[wasm_bindgen]
pub struct EventBus {
    pub(crate) shared: Rc<Shared>,
}

/// Builds the engine configuration from `new EventBus(options)`.
pub(crate) fn parse_config(value: &JsValue) -> JsResult<(Config, Clock, bool)> {
    config_from(&Options::new(value, "options", BUS_OPTIONS)?)
}

/// Builds the engine configuration from already-checked bus options.
pub(crate) fn config_from(options: &Options) -> JsResult<(Config, Clock, bool)> {
    let mut config = Config::default();
    if let Some(capacity) = options.count("capacity", 1)? {
        config.capacity = capacity;
    }
    if let Some(overflow) = options::overflow(options)? {
        config.overflow = overflow;
    }
    if let Some(retry) = options::retry(options, RetryPolicy::default())? {
        config.retry = retry;
    }
    if let Some(n) = options.integer("deadLetterCapacity", 0.0, f64::from(MAX_STORE))? {
        config.dead_letter_capacity = n as usize;
    }
    if let Some(n) = options.count("maxListeners", 0)? {
        config.max_listeners = n;
    }
    if let Some(n) = options.integer("traceCapacity", 0.0, f64::from(MAX_STORE))? {
        config.trace_capacity = n as usize;
    }
    if let Some(n) = options.u32("maxCascadeDepth", 1)? {
        config.max_cascade_depth = n;
    }
    if let Some(timeout) = options.millis("timeoutMs")? {
        config.timeout = Some(timeout);
    }
    if let Some(n) = options.integer("retain", 0.0, f64::from(MAX_STORE))? {
        config.retain = n as usize;
    }
    if let Some(n) = options.count("maxTopics", 1)? {
        config.max_topics = n;
    }
    config.idle_after = positive_millis(options, "idleAfterMs")?;
    config.trend_window = positive_millis(options, "trendWindowMs")?;
    if let Some(n) = options.u32("trendWindows", 1)? {
        if config.trend_window.is_none() {
            return Err(invalid_option("trendWindows", "needs `trendWindowMs`"));
        }
        config.trend_windows = n;
    }
    let capture_stacks = options.bool("captureStacks")?.unwrap_or(false);
    let clock = match options.choice("clock", &[("real", false), ("manual", true)])? {
        Some(true) => Clock::Manual { now_ms: 0.0 },
        _ => Clock::Real,
    };
    Ok((config, clock, capture_stacks))
}

/// A duration option that must be above zero (the leak detectors' periods).
fn positive_millis(options: &Options, key: &str) -> JsResult<Option<core::time::Duration>> {
    match options.millis(key)? {
        Some(d) if d.is_zero() => Err(invalid_option(key, "must be greater than 0")),
        other => Ok(other),
    }
}

/// A core `ConfigError` field (`retry.max_attempts`) in JS spelling (`retry.attempts`):
/// each dotted segment camel-cased, then renamed where the JS option differs.
pub fn js_field(field: &str) -> String {
    let mut out = String::with_capacity(field.len() + 2);
    for (index, segment) in field.split('.').enumerate() {
        if index > 0 {
            out.push('.');
        }
        let mut camel = String::with_capacity(segment.len());
        let mut upper = false;
        for c in segment.chars() {
            if c == '_' {
                upper = true;
            } else if upper {
                // Field names are ASCII identifiers; `char::to_uppercase` would link core's
                // Unicode case tables (14 KB of the .wasm).
                camel.push(c.to_ascii_uppercase());
                upper = false;
            } else {
                camel.push(c);
            }
        }
        // A match rather than `str::replace`, whose slicing links the panic formatting.
        out.push_str(match camel.as_str() {
            "maxAttempts" => "attempts",
            "backoff" => "backoffMs",
            "maxBackoff" => "maxBackoffMs",
            other => other,
        });
    }
    out
}

impl core::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EventBus")
            .field("closed", &self.shared.closed.get())
            .finish_non_exhaustive()
    }
}

/// Freeing the bus (`free()` in JavaScript) closes it first: subscription objects that outlive
/// it keep the engine's memory alive, and without the close its retry and timeout timers would
/// go on calling their handlers on a bus nobody can reach.
impl Drop for EventBus {
    fn drop(&mut self) {
        self.abandon_inline_dispatch();
        self.close();
    }
}

impl EventBus {
    /// Fails with `E_CLOSED` once `close()` was called.
    pub(crate) fn ensure_open(&self, operation: &str) -> JsResult<()> {
        if self.shared.closed.get() {
            return Err(error(
                ErrorCode::Closed,
                &concat(&[operation, ": the bus is closed"]),
            ));
        }
        Ok(())
    }
}

#[wasm_bindgen]
impl EventBus {
    /// `new EventBus(options?)`. See docs/API.md for the options.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> JsResult<EventBus> {
        let (config, clock, capture_stacks) = parse_config(&options)?;
        let trace_capacity = config.trace_capacity;
        let bus = Bus::new(config).map_err(|e| invalid_option(&js_field(&e.field), e.problem))?;
        let engine = Engine {
            bus,
            clock,
            capture_stacks,
            trace_capacity,
            trace_observers: 0,
            events_cursor: 0,
        };
        Ok(EventBus {
            shared: Shared::new(engine),
        })
    }

    /// The bus clock in milliseconds (`performance.now()`, or the manual clock).
    pub fn now(&self) -> f64 {
        self.shared.engine.borrow().clock.now_ms()
    }

    /// Whether `close()` was called.
    #[wasm_bindgen(getter)]
    pub fn closed(&self) -> bool {
        self.shared.closed.get()
    }

    /// Moves a manual clock forward by `ms`, firing retries, batch windows and timeouts due on
    /// the way, in order. Throws `E_INVALID_OPTION` on a bus with the real clock.
    pub fn advance(&self, ms: JsValue) -> JsResult<()> {
        let ms = ms
            .as_f64()
            .filter(|ms| ms.is_finite() && *ms >= 0.0)
            .ok_or_else(|| {
                invalid_option(
                    "ms",
                    "must be a finite number of milliseconds, not negative",
                )
            })?;
        let target = {
            let engine = self.shared.engine.borrow();
            if !engine.clock.is_manual() {
                return Err(invalid_option("clock", "must be 'manual' to use advance()"));
            }
            engine.now().saturating_add(options::millis_to_duration(ms))
        };
        self.shared.advance(target);
        Ok(())
    }

    /// Whether the bus is idle right now (see `idle()`).
    #[wasm_bindgen(js_name = isIdle)]
    pub fn is_idle(&self) -> bool {
        self.shared.engine.borrow().bus.is_idle()
    }

    /// `idle()` for JavaScript: [`EventBus::idle`], answered through [`hand_back`] (exports
    /// that answer an object and may run JavaScript return nothing; see there why).
    #[wasm_bindgen(js_name = idle)]
    pub fn idle_for_js(&self) {
        hand_back(self.idle().into());
    }

    /// `metrics()` for JavaScript: [`EventBus::metrics`] through [`hand_back`].
    #[wasm_bindgen(js_name = metrics)]
    pub fn metrics_for_js(&self) {
        hand_back(self.metrics());
    }

    /// `subscriptions()` for JavaScript: [`EventBus::subscriptions`] through [`hand_back`].
    #[wasm_bindgen(js_name = subscriptions)]
    pub fn subscriptions_for_js(&self) {
        hand_back(self.subscriptions().into());
    }

    /// `deadLetters()` for JavaScript: [`EventBus::dead_letters`] through [`hand_back`].
    #[wasm_bindgen(js_name = deadLetters)]
    pub fn dead_letters_for_js(&self) {
        hand_back(self.dead_letters().into());
    }

    /// `leaks()` for JavaScript: [`EventBus::leaks`] through [`hand_back`].
    #[wasm_bindgen(js_name = leaks)]
    pub fn leaks_for_js(&self) {
        hand_back(self.leaks().into());
    }

    /// Moves dead letters back to their subscriptions' queues (all of them, or those whose
    /// ids are given); returns how many moved.
    pub fn redrive(&self, ids: JsValue) -> JsResult<u32> {
        self.shared.redrive(&ids)
    }

    /// Drops every dead letter; returns how many.
    #[wasm_bindgen(js_name = purgeDeadLetters)]
    pub fn purge_dead_letters(&self) -> u32 {
        let purged = self.shared.engine.borrow_mut().bus.purge_dead_letters();
        self.shared.finish();
        u32::try_from(purged).unwrap_or(u32::MAX)
    }

    /// Trace events at or after `cursor` (default 0): `{ events, cursor, missed }`. Needs
    /// `traceCapacity` (or an `on()` listener) to record anything.
    pub fn trace(&self, cursor: JsValue) -> JsResult<JsValue> {
        let cursor = if cursor.is_undefined() {
            0
        } else {
            cursor
                .as_f64()
                .filter(|c| c.is_finite() && *c >= 0.0 && c.fract() == 0.0)
                .ok_or_else(|| invalid_option("cursor", "must be a non-negative integer"))?
                as u64
        };
        let batch = self.shared.engine.borrow().bus.trace_since(cursor);
        let events: Array = batch
            .events
            .iter()
            .map(|e| event_object(e, js_name(e.kind)))
            .collect();
        let result = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&result, &"events".into(), &events);
        let _ = js_sys::Reflect::set(
            &result,
            &"cursor".into(),
            &JsValue::from_f64(batch.cursor as f64),
        );
        let _ = js_sys::Reflect::set(
            &result,
            &"missed".into(),
            &JsValue::from_f64(batch.missed as f64),
        );
        Ok(result.into())
    }

    /// Calls `listener(event)` for lifecycle events of `kind` (or `'*'` for all); returns a
    /// function that removes the listener. Costs nothing while nobody listens.
    pub fn on(&self, kind: JsValue, listener: JsValue) -> JsResult<Function> {
        let name = kind
            .as_string()
            .ok_or_else(|| invalid_option("kind", "must be an event name string"))?;
        let kind = if name == "*" {
            None
        } else {
            Some(from_js_name(&name).ok_or_else(|| {
                invalid_option(
                    "kind",
                    &concat(&[
                        "`",
                        &name,
                        "` is not a lifecycle event name (see docs/API.md)",
                    ]),
                )
            })?)
        };
        let listener = listener.dyn_into::<Function>().map_err(|_| {
            error(
                ErrorCode::InvalidHandler,
                "on(): `listener` must be a function",
            )
        })?;
        let first = self.shared.listeners.borrow().is_empty();
        let id = self.shared.listeners.borrow_mut().add(kind, listener);
        if first {
            let mut engine = self.shared.engine.borrow_mut();
            engine.observe_trace(1);
            engine.events_cursor = engine.trace_head();
        }
        let weak = Rc::downgrade(&self.shared);
        let off = Closure::<dyn FnMut()>::new(move || {
            let Some(shared) = weak.upgrade() else { return };
            let removed = shared.listeners.borrow_mut().remove(id);
            if removed && shared.listeners.borrow().is_empty() {
                shared.engine.borrow_mut().observe_trace(-1);
            }
        });
        Ok(off.into_js_value().unchecked_into())
    }

    /// Lets a visualiser attach (docs/ATTACH_PROTOCOL.md): `target` is a name (visualisers in
    /// other same-origin tabs, over the `BroadcastChannel` `switchyard:NAME`; a second
    /// `expose` of the same name replaces the first) or a `MessagePort` whose other end the
    /// visualiser holds (the in-page devtools panel or a popup, on any origin). Several
    /// exposures can be in force at once. Returns a function that stops this one (and closes
    /// its channel or port).
    pub fn expose(&self, target: JsValue) -> JsResult<Function> {
        // The target is read first (`instanceof` may run a proxy's trap), then the bus checked.
        let port = target.dyn_ref::<web_sys::MessagePort>().cloned();
        let name = if port.is_some() {
            None
        } else {
            Some(
                target
                    .as_string()
                    .filter(|n| !n.is_empty() && n.len() <= 256)
                    .ok_or_else(|| {
                        invalid_option(
                            "name",
                            "must be a non-empty string of at most 256 bytes, or a MessagePort",
                        )
                    })?,
            )
        };
        self.ensure_open("expose")?;
        let id = match (port, name) {
            (Some(port), _) => self.shared.expose_port(port),
            (None, name) => self
                .shared
                .expose(&name.unwrap_or_default())
                .map_err(|_| invalid_option("name", "could not open a BroadcastChannel"))?,
        };
        let weak = Rc::downgrade(&self.shared);
        let stop = Closure::<dyn FnMut()>::new(move || {
            if let Some(shared) = weak.upgrade() {
                shared.unexpose(id);
            }
        });
        Ok(stop.into_js_value().unchecked_into())
    }

    /// Internal (`switchyard/bridge`'s link registry): `reader` is how the attach state reads
    /// the bridge links serving this bus (a function answering an array of link views,
    /// docs/ATTACH_PROTOCOL.md `links`), or `undefined`/`null` when none is open. Each call also
    /// says the links changed, so a watching visualiser gets a fresh state (at most every
    /// 100 ms), and answers whether one watches. Nothing is read, and nothing costs, while no
    /// visualiser is attached.
    #[wasm_bindgen(js_name = __links)]
    pub fn set_links(&self, reader: JsValue) -> bool {
        self.shared.links_reader.replace(reader);
        self.shared.note_change()
    }

    /// Closes the bus: every subscription is removed, timers stop, listeners and viewers are
    /// dropped, pending `idle()` promises resolve. Later `publish` and `subscribe` throw
    /// `E_CLOSED`.
    pub fn close(&self) {
        if self.shared.closed.replace(true) {
            return;
        }
        let ids: Vec<_> = self
            .shared
            .engine
            .borrow()
            .bus
            .subscriptions()
            .iter()
            .map(|s| s.id)
            .collect();
        {
            let mut engine = self.shared.engine.borrow_mut();
            let now = engine.now();
            for id in ids {
                engine.bus.unsubscribe(id, now);
            }
        }
        let handlers = self.shared.handlers.borrow_mut().clear();
        drop(handlers);
        self.shared.host_timers.borrow_mut().clear();
        if self.shared.listeners.borrow_mut().clear() > 0 {
            self.shared.engine.borrow_mut().observe_trace(-1);
        }
        self.shared.unexpose_all();
        self.shared.links_reader.replace(JsValue::UNDEFINED);
        self.shared.reschedule();
        let waiters = core::mem::take(&mut *self.shared.idle_waiters.borrow_mut());
        for resolve in waiters {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    }

    /// A deadline on the bus clock (used by the package's `waitFor`); returns its id.
    #[wasm_bindgen(js_name = __setTimer)]
    pub fn set_timer(&self, ms: JsValue, callback: JsValue) -> JsResult<u32> {
        let ms = ms
            .as_f64()
            .filter(|ms| ms.is_finite() && *ms >= 0.0)
            .ok_or_else(|| {
                invalid_option(
                    "timeoutMs",
                    "must be a finite number of milliseconds, not negative",
                )
            })?;
        let callback = callback.dyn_into::<Function>().map_err(|_| {
            error(
                ErrorCode::InvalidHandler,
                "timer callback must be a function",
            )
        })?;
        let deadline = self
            .shared
            .now()
            .saturating_add(options::millis_to_duration(ms));
        let id = self.shared.host_timers.borrow_mut().add(deadline, callback);
        self.shared.reschedule();
        Ok(id)
    }

    /// Cancels a deadline made by `__setTimer`.
    #[wasm_bindgen(js_name = __clearTimer)]
    pub fn clear_timer(&self, id: JsValue) -> bool {
        let Some(id) = id
            .as_f64()
            .filter(|id| *id >= 0.0 && *id <= f64::from(u32::MAX))
        else {
            return false;
        };
        let cancelled = self.shared.host_timers.borrow_mut().cancel(id as u32);
        self.shared.reschedule();
        cancelled
    }
}

/// The object-answering methods as Rust sees them (JavaScript calls the `*_for_js` exports,
/// which answer through [`hand_back`]).
impl EventBus {
    /// A promise that resolves when nothing is queued and ready, nothing is in flight and no
    /// retry is pending.
    pub fn idle(&self) -> Promise {
        if self.shared.closed.get() || self.shared.engine.borrow().bus.is_idle() {
            return Promise::resolve(&JsValue::UNDEFINED);
        }
        let shared = Rc::clone(&self.shared);
        Promise::new(&mut |resolve, _reject| shared.idle_waiters.borrow_mut().push(resolve))
    }

    /// Counters, gauges and latency percentiles.
    pub fn metrics(&self) -> JsValue {
        to_js(&MetricsView::from(
            &self.shared.engine.borrow().bus.metrics(),
        ))
    }

    /// Every active subscription, in creation order.
    pub fn subscriptions(&self) -> Array {
        let engine = self.shared.engine.borrow();
        let now = engine.now();
        engine
            .bus
            .subscriptions()
            .iter()
            .map(|info| to_js(&SubscriptionView::new(info, now)))
            .collect()
    }

    /// Dead letters, oldest first.
    pub fn dead_letters(&self) -> Array {
        self.shared
            .engine
            .borrow()
            .bus
            .dead_letters()
            .map(|d| to_js(&DeadLetterView::from(d)))
            .collect()
    }

    /// Current leak reports.
    pub fn leaks(&self) -> Array {
        let reports = {
            let mut engine = self.shared.engine.borrow_mut();
            let now = engine.now();
            engine.bus.leaks(now)
        };
        self.shared.finish();
        reports.iter().map(|r| to_js(&LeakView::from(r))).collect()
    }
}

impl Shared {
    /// `redrive(ids?)`.
    pub fn redrive(self: &Rc<Self>, ids: &JsValue) -> JsResult<u32> {
        let moved = if ids.is_undefined() || ids.is_null() {
            let mut engine = self.engine.borrow_mut();
            let now = engine.now();
            engine.bus.redrive_all(now)
        } else {
            if !options::is_array(ids, "ids")? {
                return Err(invalid_option("ids", "must be an array of dead-letter ids"));
            }
            // Read through `length` and `Reflect.get`, never `Array.from`: a proxy's getters
            // may throw and a length near 2^32 must be refused, not allocated.
            let length = Reflect::get(ids, &JsValue::from_str("length"))
                .ok()
                .and_then(|n| n.as_f64())
                .ok_or_else(|| invalid_option("ids", "could not be read"))?;
            if length > f64::from(MAX_STORE) {
                return Err(invalid_option(
                    "ids",
                    &concat(&[
                        "must hold at most ",
                        &decimal(u64::from(MAX_STORE)),
                        " ids (the most dead letters a bus keeps)",
                    ]),
                ));
            }
            let mut parsed = Vec::with_capacity(length as usize);
            for index in 0..length as u32 {
                let id = Reflect::get_u32(ids, index)
                    .map_err(|_| invalid_option("ids", "could not be read"))?
                    .as_f64()
                    .filter(|n| n.is_finite() && *n >= 0.0 && n.fract() == 0.0)
                    .ok_or_else(|| {
                        invalid_option("ids", "must contain only non-negative integer ids")
                    })?;
                parsed.push(DeadLetterId(id as u64));
            }
            let mut engine = self.engine.borrow_mut();
            let now = engine.now();
            parsed
                .into_iter()
                .filter(|id| engine.bus.redrive(*id, now).is_ok())
                .count()
        };
        self.finish();
        Ok(u32::try_from(moved).unwrap_or(u32::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::js_field;

    #[test]
    fn js_field_camel_cases_each_segment_and_uses_the_js_option_names() {
        assert_eq!(js_field("capacity"), "capacity");
        assert_eq!(js_field("max_deliveries"), "maxDeliveries");
        assert_eq!(js_field("retry.max_attempts"), "retry.attempts");
        assert_eq!(js_field("retry.backoff"), "retry.backoffMs");
        assert_eq!(js_field("retry.max_backoff"), "retry.maxBackoffMs");
        assert_eq!(
            js_field("breaker.failure_ratio.window"),
            "breaker.failureRatio.window"
        );
        assert_eq!(js_field("delivery.size"), "delivery.size");
    }
}
