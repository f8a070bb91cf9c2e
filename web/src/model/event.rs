//! The one trace-event shape every source produces: the core's [`TraceEvent`] with the
//! subscription id flattened to its bits and time in fractional milliseconds, which is also
//! the attach protocol's and the recording's wire form.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use switchyard_core::{TraceEvent, TraceKind};

/// One lifecycle event as the views see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the source's trace (never reused).
    pub cursor: u64,
    /// When, in milliseconds on the source's clock.
    pub at: f64,
    /// What happened.
    pub kind: TraceKind,
    /// The subscription concerned (`SubscriptionId::to_bits`), if any.
    #[serde(default)]
    pub subscription: Option<u64>,
    /// The message concerned (its global sequence number), if any.
    #[serde(default)]
    pub message: Option<u64>,
    /// The topic (or, for subscribe events, the pattern) concerned, if any.
    #[serde(default)]
    pub topic: Option<Arc<str>>,
    /// Kind-specific number (see [`TraceKind`]).
    #[serde(default)]
    pub detail: u64,
    /// Which realm published the message first, when it arrived over a bridge link
    /// (`meta.origin`); `None` for a message published on this bus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<EventOrigin>,
}

/// `meta.origin` of a bridged message, as far as the views read it (the wire form also carries
/// `id`, `seq` and `hops`, which are ignored).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventOrigin {
    /// The publishing realm's id (a tab's or worker's UUID, `mqtt:…` for foreign MQTT clients).
    pub realm: Arc<str>,
}

impl From<&TraceEvent> for Event {
    fn from(event: &TraceEvent) -> Self {
        Event {
            cursor: event.cursor,
            at: event.at.as_millis_f64(),
            kind: event.kind,
            subscription: event.subscription.map(|id| id.to_bits()),
            message: event.message.map(|id| id.0),
            topic: event.topic.clone(),
            detail: event.detail,
            origin: event.origin.as_ref().map(|o| EventOrigin {
                realm: Arc::from(&*o.realm),
            }),
        }
    }
}

/// A short, readable description of what `event.detail` means for its kind.
pub fn describe_detail(event: &Event) -> String {
    let d = event.detail;
    match event.kind {
        TraceKind::Published => format!("matched {d}"),
        TraceKind::Enqueued => format!("depth {d}"),
        TraceKind::Delivering | TraceKind::Failed => format!("attempt {d}"),
        TraceKind::Delivered => format!("handler {}", format_micros(d)),
        TraceKind::RetryScheduled => format!("in {}", format_micros(d)),
        TraceKind::DeadLettered => {
            let reason = match d {
                0 => "handler_error",
                1 => "timeout",
                2 => "expired",
                3 => "rejected",
                _ => "unknown",
            };
            format!("reason {reason}")
        }
        TraceKind::Dropped => match d {
            0 => "oldest",
            1 => "newest",
            2 => "subscription removed",
            3 => "retained, topic evicted",
            _ => "unknown",
        }
        .to_string(),
        TraceKind::BatchFlushed => format!("size {d}"),
        TraceKind::DeadLetterEvicted => format!("dead letter #{d} dropped (store full)"),
        TraceKind::Unsubscribed => match d {
            1 => "weak owner reclaimed".to_string(),
            2 => "once / max reached".to_string(),
            3 => "owner collected while subscribed (leak)".to_string(),
            _ => String::new(),
        },
        _ if d == 0 => String::new(),
        _ => d.to_string(),
    }
}

/// Microseconds as a short human duration (`850µs`, `12.4ms`, `3.20s`).
pub fn format_micros(micros: u64) -> String {
    if micros < 1_000 {
        format!("{micros}µs")
    } else if micros < 1_000_000 {
        format!("{:.1}ms", micros as f64 / 1_000.0)
    } else {
        format!("{:.2}s", micros as f64 / 1_000_000.0)
    }
}

/// Milliseconds as a short human duration.
pub fn format_millis(millis: f64) -> String {
    if !millis.is_finite() || millis < 0.0 {
        return "–".to_string();
    }
    format_micros((millis * 1_000.0) as u64)
}
