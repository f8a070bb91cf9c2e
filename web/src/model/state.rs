//! Snapshots of a bus's state in one shape for every source: built from the core's
//! `SubscriptionInfo`/`BusMetrics`/dead letters/leak reports for built-in scenarios, parsed
//! from attach frames (camelCase JSON, see docs/ATTACH_PROTOCOL.md), and stored in recordings.
//!
//! The parts of the attach schema are strict: every field must be there (an `Option` may be
//! `null`), so a field the npm package renames or drops fails the parse with its name instead
//! of reading as zero. Only what the protocol calls optional has a default. The package's
//! output is checked against these types by `tests/node/attach-shape.test.mjs` and
//! `web/tests/model.rs` through the shared fixture `web/tests/fixtures/attach-state.json`.

use serde::{Deserialize, Serialize};

/// Message counters (per bus, topic or subscription).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    /// Messages published (per subscription: enqueued for it).
    pub published: u64,
    /// Successful handler calls, per message.
    pub delivered: u64,
    /// Failed attempts.
    pub failed: u64,
    /// Retries scheduled.
    pub retried: u64,
    /// Messages dead-lettered.
    pub dead_lettered: u64,
    /// Messages dropped by an overflow policy.
    pub dropped: u64,
    /// Messages a filter rejected.
    pub filtered: u64,
}

/// Latency percentiles in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Latency {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Samples.
    pub count: u64,
    /// Largest sample.
    pub max: u64,
}

/// One subscription's configuration, gauges and counters.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubState {
    /// `SubscriptionId::to_bits`.
    pub id: u64,
    /// Pattern text.
    pub pattern: String,
    /// Name, if any.
    pub name: Option<String>,
    /// Priority.
    pub priority: i32,
    /// Consumer group.
    pub group: Option<String>,
    /// Paused by the host.
    pub paused: bool,
    /// Queue bound.
    pub capacity: u64,
    /// `reject`, `drop-oldest` or `drop-newest`.
    pub overflow: String,
    /// `immediate` or `batched(size, max_wait ms)`.
    pub delivery: String,
    /// `strict` or `relaxed`.
    pub ordering: String,
    /// Messages waiting.
    pub depth: u64,
    /// Highest depth seen.
    pub high_water: u64,
    /// Deliveries outstanding.
    pub in_flight: u64,
    /// When the oldest queued message was enqueued (ms), if any.
    pub oldest_queued_at: Option<f64>,
    /// Age of the oldest queued message (ms) as the source computed it, when it sends one.
    pub lag_ms: Option<f64>,
    /// `closed`, `open` or `half-open`.
    pub breaker: String,
    /// When it was created (ms).
    pub created_at: f64,
    /// Counters.
    pub counters: Counts,
    /// Publish → delivered latency.
    pub latency: Latency,
    /// Handler duration.
    pub handler: Latency,
}

impl SubState {
    /// The name if it has one, else the pattern.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.pattern)
    }
    /// Depth as a fraction of capacity, in `[0, 1]`.
    pub fn fill(&self) -> f64 {
        if self.capacity == 0 {
            0.0
        } else {
            (self.depth as f64 / self.capacity as f64).clamp(0.0, 1.0)
        }
    }
    /// Whether its breaker is open or half-open.
    pub fn breaker_open(&self) -> bool {
        self.breaker == "open" || self.breaker == "half-open"
    }
}

/// One topic's counters and latency.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicState {
    /// The topic.
    pub topic: String,
    /// Counters.
    pub counters: Counts,
    /// Publish → delivered latency over its subscriptions.
    pub latency: Latency,
}

/// One dead letter, payload included (rendered as text only).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetterState {
    /// Dead-letter id.
    pub id: u64,
    /// Message id.
    pub message: u64,
    /// Topic it was published on.
    pub topic: String,
    /// Subscription (`to_bits`).
    pub subscription: u64,
    /// That subscription's name.
    pub subscription_name: Option<String>,
    /// That subscription's pattern.
    pub pattern: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last error text.
    pub last_error: Option<String>,
    /// `handler_error`, `timeout`, `expired` or `rejected`.
    pub reason: String,
    /// When it was dead-lettered (ms).
    pub dead_lettered_at: f64,
    /// The payload (`null` when absent: a message published without one is `undefined`,
    /// which a structured clone may leave out).
    #[serde(default)]
    pub payload: serde_json::Value,
}

/// One subscription named in a leak report.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeakSuspectState {
    /// Subscription (`to_bits`).
    pub subscription: u64,
    /// Name.
    pub name: Option<String>,
    /// Pattern.
    pub pattern: String,
    /// Age at report time (ms).
    pub age_ms: f64,
    /// Creation stack, when captured.
    pub stack: Option<String>,
}

/// A suspected leak.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeakState {
    /// `max_listeners`, `owner_released`, `idle` or `trend`.
    pub reason: String,
    /// The reason's numbers in words ("23 listeners, limit 20").
    pub detail: String,
    /// The pattern concerned.
    pub pattern: String,
    /// When it was detected (ms).
    pub detected_at: f64,
    /// The subscriptions concerned.
    pub suspects: Vec<LeakSuspectState>,
}

/// A named producer of messages and the topics it publishes to (scenarios know theirs; an
/// attached bus may send none, and the views then show one anonymous publisher).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublisherState {
    /// Display name.
    pub name: String,
    /// Topics it publishes to (concrete topics, or patterns such as `storm.*`).
    pub topics: Vec<String>,
}

/// One bridge link serving the bus (`switchyard/bridge`: `shareTopics`, `linkPort`,
/// `connectMqtt`), as the attach state's `links[]` carries it; `None` where a field does not
/// apply to the link's kind.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BridgeLinkState {
    /// Unique among the links of the bus's realm.
    pub id: u64,
    /// `tabs`, `port` or `mqtt`.
    pub kind: String,
    /// `tabs:<channel>`, `port` or `mqtt:<broker>`.
    pub name: String,
    /// The bus's own realm id.
    pub realm: String,
    /// `leader`, `follower`, `disconnected` (tabs, port); `connecting`, `connected`, `waiting`,
    /// `closed` (mqtt).
    pub state: String,
    /// Shared patterns (mqtt: `out …`, `in …`).
    pub topics: Vec<String>,
    /// Realms heard from (tabs: live peers; port: the other end).
    pub remotes: Vec<String>,
    /// Messages sent to other realms (or the broker).
    pub sent: u64,
    /// Messages received and published here.
    pub received: u64,
    /// Waiting to be sent: the outgoing queue, or the MQTT outbox.
    pub queued: u64,
    /// Messages dropped.
    pub dropped: u64,
    /// Duplicates not delivered.
    pub duplicates: u64,
    /// Gaps reported (tabs, port).
    pub gaps: Option<u64>,
    /// Messages missed in those gaps.
    pub missed: Option<u64>,
    /// Live peers (tabs, port).
    pub peers: Option<u64>,
    /// Sent, awaiting the broker's acknowledgement (mqtt).
    pub in_flight: Option<u64>,
    /// Round-trip median, ms (mqtt, once measured).
    pub rtt_p50_ms: Option<f64>,
    /// Round-trip 99th percentile, ms.
    pub rtt_p99_ms: Option<f64>,
    /// Reconnects (mqtt).
    pub reconnects: Option<u64>,
    /// Dead letters made (mqtt).
    pub dead_lettered: Option<u64>,
    /// The last error, if any.
    pub last_error: Option<String>,
    /// The link's own `metrics()` (shown as they are).
    pub metrics: serde_json::Value,
}

impl BridgeLinkState {
    /// Whether the link is not currently carrying messages (closed, disconnected, or an MQTT
    /// link waiting to reconnect).
    pub fn down(&self) -> bool {
        matches!(
            self.state.as_str(),
            "disconnected" | "closed" | "waiting" | "connecting"
        )
    }
}

/// Everything the views need besides the trace: one snapshot of a bus.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BusState {
    /// When the snapshot was taken (ms, source clock).
    pub at: f64,
    /// Active subscriptions, in creation order.
    pub subscriptions: Vec<SubState>,
    /// Bus-wide counters.
    pub totals: Counts,
    /// Per-topic counters.
    pub topics: Vec<TopicState>,
    /// Messages queued over all subscriptions.
    pub queued: u64,
    /// Deliveries in flight.
    pub in_flight: u64,
    /// Subscriptions with an open breaker.
    pub breakers_open: u64,
    /// Publishes refused by the cascade limit.
    pub cascades_refused: u64,
    /// Publishes refused by `reject` backpressure.
    pub publishes_rejected: u64,
    /// Dead letters evicted because the store was full.
    pub dead_letters_evicted: u64,
    /// Dead letters, oldest first.
    pub dead_letters: Vec<DeadLetterState>,
    /// Suspected leaks.
    pub leaks: Vec<LeakState>,
    /// Known publishers.
    pub publishers: Vec<PublisherState>,
    /// Bridge links serving the bus.
    pub links: Vec<BridgeLinkState>,
}
