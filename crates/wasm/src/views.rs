//! The JSON shapes the package returns (`subscriptions()`, `stats()`, `metrics()`,
//! `deadLetters()`, `leaks()`), also sent to the visualiser in attach frames.
//!
//! camelCase, times in milliseconds on the bus clock, latencies in microseconds, ids as
//! numbers (subscription ids are `SubscriptionId::to_bits`). Absent values are `null`. The
//! shapes are the contract written down in `js/index.d.ts` (`SubscriptionInfo`, `Metrics`,
//! `DeadLetter`, `LeakReport`); keys are set in the order listed there.
//!
//! Each view borrows what the engine reported and builds its plain object with [`JsObject`],
//! one property at a time. That is a few bytes of code per field, where a serde `Serialize`
//! derive plus `serde-wasm-bindgen` cost kilobytes per view in the `.wasm` (see "Where the
//! bytes go" in docs/ARCHITECTURE.md).
//!
//! ```no_run
//! use switchyard_wasm::views::JsObject;
//!
//! // { id: 7, name: null, paused: false }
//! let view = JsObject::new()
//!     .number("id", 7.0)
//!     .optional_string("name", None)
//!     .bool("paused", false)
//!     .build();
//! ```

use crate::prelude::*;
use js_sys::{Array, Object, Reflect};
use switchyard_core::{
    BreakerState, BusMetrics, Counters, DeadLetter, DeliveryStrategy, Instant, LeakReason,
    LeakReport, OrderingMode, Percentiles, SubscriptionInfo, SubscriptionStats,
};
use wasm_bindgen::prelude::*;

use crate::error::{concat, decimal, signed_decimal};
use crate::hooks::origin_value;
use crate::options::overflow_name;

/// A view that knows its JavaScript shape.
pub trait ToJs {
    /// A fresh plain JS object (or array) holding the view.
    fn to_js(&self) -> JsValue;
}

/// The plain JS value of `view`.
pub fn to_js<T: ToJs>(view: &T) -> JsValue {
    view.to_js()
}

/// Builds one plain JS object, property by property; keys keep the order they were set in.
///
/// Setting a property on a fresh `Object` cannot fail unless a script has put a throwing
/// setter for that key on `Object.prototype`; the property is then left out rather than the
/// exception escaping through the engine.
#[must_use = "call `build` to get the object"]
pub struct JsObject(Object);

impl JsObject {
    /// An empty object.
    pub fn new() -> Self {
        JsObject(Object::new())
    }

    /// Sets `key` to `value`.
    pub fn value(self, key: &str, value: &JsValue) -> Self {
        let _ = Reflect::set(&self.0, &JsValue::from_str(key), value);
        self
    }

    /// Sets `key` to a number.
    pub fn number(self, key: &str, value: f64) -> Self {
        self.value(key, &JsValue::from_f64(value))
    }

    /// Sets `key` to a number, or `null` when absent.
    pub fn optional_number(self, key: &str, value: Option<f64>) -> Self {
        match value {
            Some(number) => self.number(key, number),
            None => self.value(key, &JsValue::NULL),
        }
    }

    /// Sets `key` to a string.
    pub fn string(self, key: &str, value: &str) -> Self {
        self.value(key, &JsValue::from_str(value))
    }

    /// Sets `key` to a string, or `null` when absent.
    pub fn optional_string(self, key: &str, value: Option<&str>) -> Self {
        match value {
            Some(text) => self.string(key, text),
            None => self.value(key, &JsValue::NULL),
        }
    }

    /// Sets `key` to a boolean.
    pub fn bool(self, key: &str, value: bool) -> Self {
        self.value(key, &JsValue::from_bool(value))
    }

    /// The finished object.
    pub fn build(self) -> JsValue {
        self.0.into()
    }
}

impl Default for JsObject {
    fn default() -> Self {
        JsObject::new()
    }
}

/// Milliseconds in `duration`, with fractions.
fn millis(duration: core::time::Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// `{ published, delivered, failed, retried, deadLettered, dropped, filtered }`.
fn counters(c: &Counters) -> JsValue {
    JsObject::new()
        .number("published", c.published as f64)
        .number("matched", c.matched as f64)
        .number("redriven", c.redriven as f64)
        .number("delivered", c.delivered as f64)
        .number("failed", c.failed as f64)
        .number("retried", c.retried as f64)
        .number("deadLettered", c.dead_lettered as f64)
        .number("dropped", c.dropped as f64)
        .number("filtered", c.filtered as f64)
        .build()
}

/// `{ p50, p90, p99, count, max }`, in microseconds.
fn latency(p: &Percentiles) -> JsValue {
    JsObject::new()
        .number("p50", p.p50 as f64)
        .number("p90", p.p90 as f64)
        .number("p99", p.p99 as f64)
        .number("count", p.count as f64)
        .number("max", p.max as f64)
        .build()
}

/// One subscription: configuration, gauges, counters (`subscriptions()` and `stats()`).
pub struct SubscriptionView<'a> {
    info: &'a SubscriptionInfo,
    now: Instant,
}

impl<'a> SubscriptionView<'a> {
    /// The view of `info` at `now` (which dates `lagMs`).
    pub fn new(info: &'a SubscriptionInfo, now: Instant) -> Self {
        SubscriptionView { info, now }
    }
}

impl ToJs for SubscriptionView<'_> {
    fn to_js(&self) -> JsValue {
        let info = self.info;
        // `delivery` is 'immediate' or 'batched'; `batch` holds the batch settings or null.
        let (delivery, batch) = match info.delivery {
            DeliveryStrategy::Immediate => ("immediate", JsValue::NULL),
            DeliveryStrategy::Batched { size, max_wait } => (
                "batched",
                JsObject::new()
                    .number("size", size as f64)
                    .optional_number(
                        "maxWaitMs",
                        (max_wait != core::time::Duration::MAX).then_some(millis(max_wait)),
                    )
                    .build(),
            ),
        };
        let SubscriptionStats {
            counters: subscription_counters,
            high_water,
            latency: delivery_latency,
            handler,
            breaker_opened,
        } = &info.stats;
        JsObject::new()
            .number("id", info.id.to_bits() as f64)
            .string("pattern", &info.pattern)
            .optional_string("name", info.name.as_deref())
            .number("priority", f64::from(info.priority))
            .optional_string("group", info.group.as_deref())
            .bool("paused", info.paused)
            .number("capacity", info.capacity as f64)
            .string("overflow", overflow_name(info.overflow))
            .string("delivery", delivery)
            .value("batch", &batch)
            .string(
                "ordering",
                match info.ordering {
                    OrderingMode::Strict => "strict",
                    OrderingMode::Relaxed => "relaxed",
                },
            )
            .number("depth", info.depth as f64)
            .number("highWater", (*high_water).max(info.high_water) as f64)
            // Messages in flight (a batch counts each), so `depth + inFlight` is what the
            // subscription holds against its capacity.
            .number("inFlight", info.in_flight_messages as f64)
            .number("inFlightDeliveries", info.in_flight as f64)
            // When the oldest queued message was enqueued, and its age (0 when none).
            .optional_number(
                "oldestQueuedAt",
                info.oldest_queued_at.map(Instant::as_millis_f64),
            )
            .number(
                "lagMs",
                info.oldest_queued_at
                    .map_or(0.0, |at| millis(self.now.saturating_duration_since(at))),
            )
            .string(
                "breaker",
                match info.breaker {
                    BreakerState::Closed => "closed",
                    BreakerState::Open { .. } => "open",
                    BreakerState::HalfOpen => "half-open",
                },
            )
            .number("breakerOpened", *breaker_opened as f64)
            .number("createdAt", info.created_at.as_millis_f64())
            .bool("weak", info.weak)
            .bool("hasOwner", info.owner.is_some())
            .value("counters", &counters(subscription_counters))
            .value("latency", &latency(delivery_latency))
            .value("handler", &latency(handler))
            .build()
    }
}

/// Everything `metrics()` reports: totals, per-topic counters and the bus gauges.
///
/// Unlike the other views it is written as one JSON text and parsed by JavaScript once
/// (`JSON.parse`): a bus keeps up to `maxTopics` (10 000) topics, and setting their ~17
/// properties one `Reflect.set` at a time (each key a string decoded from wasm memory) took
/// ~50 ms at 5 000 topics on an idle machine. The shape is the same plain objects, keys in the
/// same order; `JSON.parse` defines properties, so a setter on `Object.prototype` never runs.
pub struct MetricsView<'a>(&'a BusMetrics);

impl<'a> From<&'a BusMetrics> for MetricsView<'a> {
    fn from(metrics: &'a BusMetrics) -> Self {
        MetricsView(metrics)
    }
}

impl MetricsView<'_> {
    /// The JSON text of the view.
    pub fn to_json(&self) -> String {
        let m = self.0;
        let mut json = Json::with_capacity(256 + m.topics.len() * 240);
        json.open('{');
        json.key("totals");
        json.counters(&m.totals);
        json.key("topics");
        json.open('[');
        for t in &m.topics {
            json.comma();
            json.open('{');
            json.key("topic");
            json.string(&t.topic);
            json.key("counters");
            json.counters(&t.counters);
            json.key("latency");
            json.latency(&t.latency);
            json.close('}');
        }
        json.close(']');
        for (key, value) in [
            ("activeSubscriptions", m.active_subscriptions as u64),
            ("queued", m.queued as u64),
            // Messages, so that matched + redriven = delivered + filtered + dropped +
            // deadLettered + queued + inFlight holds for batched deliveries too.
            ("inFlight", m.in_flight_messages as u64),
            ("inFlightDeliveries", m.in_flight as u64),
            ("deadLetters", m.dead_letters as u64),
            ("deadLettersEvicted", m.dead_letters_evicted),
            ("lateSettles", m.late_settles),
            ("cascadesRefused", m.cascades_refused),
            ("publishesRejected", m.publishes_rejected),
            ("reclaimed", m.reclaimed),
            ("leaksSuspected", m.leaks_suspected),
            ("expired", m.expired),
            ("breakersOpen", m.breakers_open as u64),
            ("topicsEvicted", m.topics_evicted),
            ("retainedEvicted", m.retained_evicted),
        ] {
            json.key(key);
            json.number(value);
        }
        json.close('}');
        json.0
    }
}

impl ToJs for MetricsView<'_> {
    fn to_js(&self) -> JsValue {
        // The text is well-formed by construction; `undefined` only if JSON.parse itself was
        // replaced by something that throws.
        js_sys::JSON::parse(&self.to_json()).unwrap_or(JsValue::UNDEFINED)
    }
}

/// A JSON text written in one buffer (objects, arrays, unsigned integers, strings).
struct Json(String);

impl Json {
    fn with_capacity(capacity: usize) -> Self {
        Json(String::with_capacity(capacity))
    }

    fn open(&mut self, bracket: char) {
        self.0.push(bracket);
    }

    fn close(&mut self, bracket: char) {
        self.0.push(bracket);
    }

    /// A comma unless this is the first item of an object or array.
    fn comma(&mut self) {
        if !self.0.ends_with(['{', '[']) {
            self.0.push(',');
        }
    }

    fn key(&mut self, key: &str) {
        self.comma();
        self.string(key);
        self.0.push(':');
    }

    /// An integer: exact below 2^53, as `u64 as f64` rounds it above (JSON.parse rounds the
    /// same way).
    fn number(&mut self, mut n: u64) {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for &digit in &digits[start..] {
            self.0.push(char::from(digit));
        }
    }

    fn string(&mut self, text: &str) {
        self.0.push('"');
        for c in text.chars() {
            match c {
                '"' => self.0.push_str("\\\""),
                '\\' => self.0.push_str("\\\\"),
                c if (c as u32) < 0x20 => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    self.0.push_str("\\u00");
                    self.0.push(char::from(HEX[(c as usize) >> 4]));
                    self.0.push(char::from(HEX[(c as usize) & 15]));
                }
                c => self.0.push(c),
            }
        }
        self.0.push('"');
    }

    /// As [`counters`].
    fn counters(&mut self, c: &Counters) {
        self.open('{');
        for (key, value) in [
            ("published", c.published),
            ("matched", c.matched),
            ("redriven", c.redriven),
            ("delivered", c.delivered),
            ("failed", c.failed),
            ("retried", c.retried),
            ("deadLettered", c.dead_lettered),
            ("dropped", c.dropped),
            ("filtered", c.filtered),
        ] {
            self.key(key);
            self.number(value);
        }
        self.close('}');
    }

    /// As [`latency`].
    fn latency(&mut self, p: &Percentiles) {
        self.open('{');
        for (key, value) in [
            ("p50", p.p50),
            ("p90", p.p90),
            ("p99", p.p99),
            ("count", p.count),
            ("max", p.max),
        ] {
            self.key(key);
            self.number(value);
        }
        self.close('}');
    }
}

/// One dead letter, payload included (the JS value itself, not a copy).
pub struct DeadLetterView<'a>(&'a DeadLetter<JsValue>);

impl<'a> From<&'a DeadLetter<JsValue>> for DeadLetterView<'a> {
    fn from(letter: &'a DeadLetter<JsValue>) -> Self {
        DeadLetterView(letter)
    }
}

impl ToJs for DeadLetterView<'_> {
    fn to_js(&self) -> JsValue {
        let d = self.0;
        JsObject::new()
            .number("id", d.id.0 as f64)
            .number("message", d.message.id.0 as f64)
            .string("topic", &d.message.topic)
            .number("subscription", d.subscription.to_bits() as f64)
            .optional_string("subscriptionName", d.subscription_name.as_deref())
            .string("pattern", &d.pattern)
            .number("attempts", f64::from(d.attempts))
            .optional_string("lastError", d.last_error.as_deref())
            // 'handler_error', 'timeout', 'expired' or 'rejected'.
            .string("reason", d.reason.as_str())
            .number("firstFailureAt", d.first_failure_at.as_millis_f64())
            .number("deadLetteredAt", d.dead_lettered_at.as_millis_f64())
            .number("publishedAt", d.message.published_at.as_millis_f64())
            .optional_string("correlationId", d.message.correlation.as_deref())
            .value("origin", &origin_value(d.message.origin.as_deref()))
            .value("payload", &d.message.payload)
            .build()
    }
}

/// A suspected leak: why, on which pattern, and the subscriptions suspected.
pub struct LeakView<'a>(&'a LeakReport);

impl<'a> From<&'a LeakReport> for LeakView<'a> {
    fn from(report: &'a LeakReport) -> Self {
        LeakView(report)
    }
}

impl ToJs for LeakView<'_> {
    fn to_js(&self) -> JsValue {
        let r = self.0;
        let suspects: Array = r
            .suspects
            .iter()
            .map(|s| {
                JsObject::new()
                    .number("subscription", s.subscription.to_bits() as f64)
                    .optional_string("name", s.name.as_deref())
                    .string("pattern", &s.pattern)
                    .number("ageMs", millis(s.age))
                    .optional_string("stack", s.stack.as_deref())
                    .build()
            })
            .collect();
        JsObject::new()
            // 'max_listeners', 'owner_released', 'idle' or 'trend'.
            .string("reason", r.reason.kind())
            .string("detail", &leak_detail(&r.reason))
            .string("pattern", &r.pattern)
            .number("detectedAt", r.detected_at.as_millis_f64())
            .value("suspects", &suspects)
            .build()
    }
}

/// The numbers of a leak reason in words: "23 listeners, limit 20".
fn leak_detail(reason: &LeakReason) -> String {
    match reason {
        LeakReason::MaxListeners { count, limit } => concat(&[
            &decimal(*count as u64),
            " listeners, limit ",
            &decimal(*limit as u64),
        ]),
        LeakReason::OwnerReleased => "owner was garbage-collected while subscribed".into(),
        LeakReason::Idle { idle_for } => {
            let whole_millis = idle_for
                .as_secs()
                .saturating_mul(1000)
                .saturating_add(u64::from(idle_for.subsec_millis()));
            concat(&["idle for ", &decimal(whole_millis), " ms on a busy topic"])
        }
        LeakReason::Trend { windows, growth } => concat(&[
            "grew by ",
            &signed_decimal(*growth),
            " over ",
            &decimal(u64::from(*windows)),
            " windows",
        ]),
    }
}
