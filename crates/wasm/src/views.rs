//! The JSON shapes the package returns (`subscriptions()`, `stats()`, `metrics()`,
//! `deadLetters()`, `leaks()`), also sent to the visualiser in attach frames.
//!
//! camelCase, times in milliseconds on the bus clock, latencies in microseconds, ids as
//! numbers (subscription ids are `SubscriptionId::to_bits`). Absent values are `null`.

use serde::Serialize;
use switchyard_core::{
    BreakerState, BusMetrics, Counters, DeadLetter, DeliveryStrategy, Instant, LeakReason,
    LeakReport, OrderingMode, Percentiles, SubscriptionInfo, SubscriptionStats,
};
use wasm_bindgen::prelude::*;

use crate::options::overflow_name;

/// Serializes a view into a plain JS value (`null` for `None`, objects for maps).
pub fn to_js<T: Serialize>(view: &T) -> JsValue {
    let serializer = serde_wasm_bindgen::Serializer::new()
        .serialize_missing_as_null(true)
        .serialize_maps_as_objects(true);
    view.serialize(&serializer).unwrap_or(JsValue::NULL)
}

/// Message counters.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CountersView {
    published: f64,
    delivered: f64,
    failed: f64,
    retried: f64,
    dead_lettered: f64,
    dropped: f64,
    filtered: f64,
}

impl From<&Counters> for CountersView {
    fn from(c: &Counters) -> Self {
        CountersView {
            published: c.published as f64,
            delivered: c.delivered as f64,
            failed: c.failed as f64,
            retried: c.retried as f64,
            dead_lettered: c.dead_lettered as f64,
            dropped: c.dropped as f64,
            filtered: c.filtered as f64,
        }
    }
}

/// Latency percentiles in microseconds.
#[derive(Serialize)]
pub struct LatencyView {
    p50: f64,
    p90: f64,
    p99: f64,
    count: f64,
    max: f64,
}

impl From<&Percentiles> for LatencyView {
    fn from(p: &Percentiles) -> Self {
        LatencyView {
            p50: p.p50 as f64,
            p90: p.p90 as f64,
            p99: p.p99 as f64,
            count: p.count as f64,
            max: p.max as f64,
        }
    }
}

/// A batched delivery strategy.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchView {
    size: f64,
    max_wait_ms: Option<f64>,
}

/// One subscription: configuration, gauges, counters (`subscriptions()` and `stats()`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionView {
    id: f64,
    pattern: String,
    name: Option<String>,
    priority: i32,
    group: Option<String>,
    paused: bool,
    capacity: f64,
    overflow: &'static str,
    /// `'immediate'` or `'batched'`.
    delivery: &'static str,
    /// The batch settings when `delivery` is `'batched'`.
    batch: Option<BatchView>,
    ordering: &'static str,
    depth: f64,
    high_water: f64,
    in_flight: f64,
    /// When the oldest queued message was enqueued.
    oldest_queued_at: Option<f64>,
    /// Age of the oldest queued message (ms), 0 when nothing is queued.
    lag_ms: f64,
    /// `'closed'`, `'open'` or `'half-open'`.
    breaker: &'static str,
    breaker_opened: f64,
    created_at: f64,
    weak: bool,
    has_owner: bool,
    counters: CountersView,
    latency: LatencyView,
    handler: LatencyView,
}

impl SubscriptionView {
    /// The view of `info` at `now`.
    pub fn new(info: &SubscriptionInfo, now: Instant) -> Self {
        let (delivery, batch) = match info.delivery {
            DeliveryStrategy::Immediate => ("immediate", None),
            DeliveryStrategy::Batched { size, max_wait } => (
                "batched",
                Some(BatchView {
                    size: size as f64,
                    max_wait_ms: (max_wait != core::time::Duration::MAX)
                        .then_some(max_wait.as_secs_f64() * 1000.0),
                }),
            ),
        };
        let SubscriptionStats {
            counters,
            high_water,
            latency,
            handler,
            breaker_opened,
        } = &info.stats;
        SubscriptionView {
            id: info.id.to_bits() as f64,
            pattern: info.pattern.clone(),
            name: info.name.clone(),
            priority: info.priority,
            group: info.group.clone(),
            paused: info.paused,
            capacity: info.capacity as f64,
            overflow: overflow_name(info.overflow),
            delivery,
            batch,
            ordering: match info.ordering {
                OrderingMode::Strict => "strict",
                OrderingMode::Relaxed => "relaxed",
            },
            depth: info.depth as f64,
            high_water: (*high_water).max(info.high_water) as f64,
            in_flight: info.in_flight as f64,
            oldest_queued_at: info.oldest_queued_at.map(Instant::as_millis_f64),
            lag_ms: info.oldest_queued_at.map_or(0.0, |at| {
                now.saturating_duration_since(at).as_secs_f64() * 1000.0
            }),
            breaker: match info.breaker {
                BreakerState::Closed => "closed",
                BreakerState::Open { .. } => "open",
                BreakerState::HalfOpen => "half-open",
            },
            breaker_opened: *breaker_opened as f64,
            created_at: info.created_at.as_millis_f64(),
            weak: info.weak,
            has_owner: info.owner.is_some(),
            counters: counters.into(),
            latency: latency.into(),
            handler: handler.into(),
        }
    }
}

/// One topic's counters.
#[derive(Serialize)]
pub struct TopicView {
    topic: String,
    counters: CountersView,
    latency: LatencyView,
}

/// Everything `metrics()` reports.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricsView {
    totals: CountersView,
    topics: Vec<TopicView>,
    active_subscriptions: f64,
    queued: f64,
    in_flight: f64,
    dead_letters: f64,
    dead_letters_evicted: f64,
    late_settles: f64,
    cascades_refused: f64,
    publishes_rejected: f64,
    reclaimed: f64,
    leaks_suspected: f64,
    expired: f64,
    breakers_open: f64,
}

impl From<&BusMetrics> for MetricsView {
    fn from(m: &BusMetrics) -> Self {
        MetricsView {
            totals: (&m.totals).into(),
            topics: m
                .topics
                .iter()
                .map(|t| TopicView {
                    topic: t.topic.clone(),
                    counters: (&t.counters).into(),
                    latency: (&t.latency).into(),
                })
                .collect(),
            active_subscriptions: m.active_subscriptions as f64,
            queued: m.queued as f64,
            in_flight: m.in_flight as f64,
            dead_letters: m.dead_letters as f64,
            dead_letters_evicted: m.dead_letters_evicted as f64,
            late_settles: m.late_settles as f64,
            cascades_refused: m.cascades_refused as f64,
            publishes_rejected: m.publishes_rejected as f64,
            reclaimed: m.reclaimed as f64,
            leaks_suspected: m.leaks_suspected as f64,
            expired: m.expired as f64,
            breakers_open: m.breakers_open as f64,
        }
    }
}

/// One dead letter, payload included.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetterView {
    id: f64,
    message: f64,
    topic: String,
    subscription: f64,
    subscription_name: Option<String>,
    pattern: String,
    attempts: u32,
    last_error: Option<String>,
    /// `'handler_error'`, `'timeout'`, `'expired'` or `'rejected'`.
    reason: &'static str,
    first_failure_at: f64,
    dead_lettered_at: f64,
    published_at: f64,
    correlation_id: Option<String>,
    #[serde(with = "serde_wasm_bindgen::preserve")]
    payload: JsValue,
}

impl From<&DeadLetter<JsValue>> for DeadLetterView {
    fn from(d: &DeadLetter<JsValue>) -> Self {
        DeadLetterView {
            id: d.id.0 as f64,
            message: d.message.id.0 as f64,
            topic: d.message.topic.to_string(),
            subscription: d.subscription.to_bits() as f64,
            subscription_name: d.subscription_name.clone(),
            pattern: d.pattern.clone(),
            attempts: d.attempts,
            last_error: d.last_error.clone(),
            reason: d.reason.as_str(),
            first_failure_at: d.first_failure_at.as_millis_f64(),
            dead_lettered_at: d.dead_lettered_at.as_millis_f64(),
            published_at: d.message.published_at.as_millis_f64(),
            correlation_id: d.message.correlation.as_deref().map(str::to_owned),
            payload: d.message.payload.clone(),
        }
    }
}

/// One subscription named in a leak report.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeakSuspectView {
    subscription: f64,
    name: Option<String>,
    pattern: String,
    age_ms: f64,
    stack: Option<String>,
}

/// A suspected leak.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeakView {
    /// `'max_listeners'`, `'owner_released'`, `'idle'` or `'trend'`.
    reason: &'static str,
    /// The reason's numbers in words.
    detail: String,
    pattern: String,
    detected_at: f64,
    suspects: Vec<LeakSuspectView>,
}

impl From<&LeakReport> for LeakView {
    fn from(r: &LeakReport) -> Self {
        let detail = match &r.reason {
            LeakReason::MaxListeners { count, limit } => {
                format!("{count} listeners, limit {limit}")
            }
            LeakReason::OwnerReleased => "owner was garbage-collected while subscribed".to_owned(),
            LeakReason::Idle { idle_for } => format!(
                "idle for {} ms on a busy topic",
                idle_for.as_secs().saturating_mul(1000) + u64::from(idle_for.subsec_millis())
            ),
            LeakReason::Trend { windows, growth } => {
                format!("grew by {growth} over {windows} windows")
            }
        };
        LeakView {
            reason: r.reason.kind(),
            detail,
            pattern: r.pattern.clone(),
            detected_at: r.detected_at.as_millis_f64(),
            suspects: r
                .suspects
                .iter()
                .map(|s| LeakSuspectView {
                    subscription: s.subscription.to_bits() as f64,
                    name: s.name.clone(),
                    pattern: s.pattern.clone(),
                    age_ms: s.age.as_secs_f64() * 1000.0,
                    stack: s.stack.clone(),
                })
                .collect(),
        }
    }
}
