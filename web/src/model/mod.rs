//! The data model behind every view: one [`Model`] fed by [`Update`]s from whichever source is
//! active (a built-in scenario, an attached bus, or a replayed recording). It aggregates the
//! trace into bounded histories once per animation frame; the views only read it.
//!
//! ```
//! use switchyard_web::model::{Model, Update};
//! let mut model = Model::default();
//! model.apply(Update::default(), 16.0);
//! assert_eq!(model.log.len(), 0);
//! ```

pub mod event;
pub mod rates;
pub mod ring;
pub mod state;

use std::collections::HashMap;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use switchyard_core::TraceKind;

pub use event::Event;
pub use rates::Rates;
pub use ring::Ring;
pub use state::BusState;

/// Events kept for the event log.
pub const LOG_CAPACITY: usize = 5_000;
/// Marbles kept per timeline lane.
pub const MARBLES_PER_LANE: usize = 256;
/// Routine first-attempt deliveries closer than this to the previous marble are not drawn
/// (sampled out); failures, retries, drops, dead letters and out-of-order deliveries always are.
pub const MARBLE_MIN_GAP_MS: f64 = 25.0;
/// How often backpressure is sampled (ms).
pub const PRESSURE_SAMPLE_MS: f64 = 250.0;
/// Backpressure history length: 60 s.
pub const PRESSURE_SAMPLES: usize = 240;
/// How often subscription populations are sampled (ms).
pub const POPULATION_SAMPLE_MS: f64 = 500.0;
/// Population history length: 60 s.
pub const POPULATION_SAMPLES: usize = 120;
/// Payloads kept for the inspector.
pub const PAYLOADS_KEPT: usize = 512;
/// Remote realms remembered as publishers (the least recently heard go first).
pub const MAX_REMOTE_REALMS: usize = 32;
/// Topics remembered per publisher (local or remote realm).
pub const MAX_PUBLISHER_TOPICS: usize = 256;

/// A realm whose messages arrived here over a bridge link (`meta.origin.realm`): a publisher
/// of the topology like a local one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RemoteRealm {
    /// Its realm id.
    pub realm: Arc<str>,
    /// Topics it published here, first seen first (at most [`MAX_PUBLISHER_TOPICS`]).
    pub topics: Vec<Arc<str>>,
    /// Its messages published here since the model was reset.
    pub published: u64,
    /// When its last message was published here (ms).
    pub last_at: f64,
}

/// Adds `topic` to `topics` unless it is there or the list is full.
fn remember_topic(topics: &mut Vec<Arc<str>>, topic: &Arc<str>) {
    // The newest first: a realm publishing one topic in a loop costs one comparison.
    if topics.len() < MAX_PUBLISHER_TOPICS && !topics.iter().rev().any(|t| t == topic) {
        topics.push(topic.clone());
    }
}

/// What a source produced since the previous frame.
#[derive(Clone, Debug, Default)]
pub struct Update {
    /// New trace events, oldest first.
    pub events: Vec<Event>,
    /// Events the source's ring overwrote before they could be read.
    pub missed: u64,
    /// A fresh snapshot, when one was taken.
    pub state: Option<BusState>,
    /// Payloads of recently published messages: (message id, topic, payload).
    pub payloads: Vec<(u64, Arc<str>, Arc<serde_json::Value>)>,
}

/// How a delivery attempt ended, as drawn on the timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MarbleKind {
    /// Handed to the handler, not finished yet.
    InFlight,
    /// Delivered on the first attempt.
    Delivered,
    /// Delivered after at least one retry.
    DeliveredAfterRetry,
    /// The attempt failed; a retry follows.
    Retrying,
    /// The attempt failed.
    Failed,
    /// Dead-lettered.
    DeadLettered,
    /// Dropped by the overflow policy.
    Dropped,
    /// Rejected by the subscription's filter.
    Filtered,
    /// Moved back from the dead letters.
    Redriven,
}

impl MarbleKind {
    /// CSS class suffix and legend key.
    pub fn class(self) -> &'static str {
        match self {
            MarbleKind::InFlight => "inflight",
            MarbleKind::Delivered => "delivered",
            MarbleKind::DeliveredAfterRetry => "retried",
            MarbleKind::Retrying => "retrying",
            MarbleKind::Failed => "failed",
            MarbleKind::DeadLettered => "dead",
            MarbleKind::Dropped => "dropped",
            MarbleKind::Filtered => "filtered",
            MarbleKind::Redriven => "redriven",
        }
    }
}

/// One marble on a swim lane.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Marble {
    /// Message id (global sequence number).
    pub message: u64,
    /// When the attempt started (or the drop happened), ms.
    pub at: f64,
    /// How it ended.
    pub kind: MarbleKind,
    /// Attempt number (1 = first).
    pub attempt: u32,
    /// Delivered after a message published later (relaxed ordering).
    pub out_of_order: bool,
}

/// One subscription's swim lane.
#[derive(Clone, Debug)]
pub struct Lane {
    /// Recent marbles, oldest first.
    pub marbles: Ring<Marble>,
    /// Highest message id delivered so far.
    max_delivered: u64,
    /// Out-of-order deliveries seen.
    pub out_of_order: u64,
    /// Last event time (ms).
    pub last_activity: f64,
    /// Routine deliveries not drawn because the lane is busier than one marble per
    /// [`MARBLE_MIN_GAP_MS`].
    pub sampled_out: u64,
}

impl Default for Lane {
    fn default() -> Self {
        Lane {
            marbles: Ring::new(MARBLES_PER_LANE),
            max_delivered: 0,
            out_of_order: 0,
            last_activity: 0.0,
            sampled_out: 0,
        }
    }
}

impl Lane {
    fn latest_for(&mut self, message: u64) -> Option<&mut Marble> {
        self.marbles
            .iter_mut()
            .rev()
            .take(8)
            .find(|m| m.message == message)
    }

    fn crowded(&self, at: f64) -> bool {
        self.marbles
            .last()
            .is_some_and(|m| at - m.at < MARBLE_MIN_GAP_MS)
    }

    fn observe(&mut self, event: &Event) {
        let Some(message) = event.message else { return };
        self.last_activity = event.at;
        let attempt = u32::try_from(event.detail).unwrap_or(u32::MAX);
        match event.kind {
            TraceKind::Delivering => {
                if attempt <= 1 && self.crowded(event.at) {
                    self.sampled_out = self.sampled_out.saturating_add(1);
                } else {
                    self.marbles.push(Marble {
                        message,
                        at: event.at,
                        kind: MarbleKind::InFlight,
                        attempt: attempt.max(1),
                        out_of_order: false,
                    });
                }
            }
            TraceKind::Delivered => {
                let out_of_order = message < self.max_delivered;
                if out_of_order {
                    self.out_of_order = self.out_of_order.saturating_add(1);
                } else {
                    self.max_delivered = message;
                }
                let crowded = self.crowded(event.at);
                match self.latest_for(message) {
                    Some(m) => {
                        m.kind = if m.attempt > 1 {
                            MarbleKind::DeliveredAfterRetry
                        } else {
                            MarbleKind::Delivered
                        };
                        m.out_of_order = out_of_order;
                    }
                    None if crowded && !out_of_order => {}
                    None => self.marbles.push(Marble {
                        message,
                        at: event.at,
                        kind: MarbleKind::Delivered,
                        attempt: 1,
                        out_of_order,
                    }),
                }
            }
            TraceKind::Failed | TraceKind::TimedOut => match self.latest_for(message) {
                Some(m) => m.kind = MarbleKind::Failed,
                None => self.marbles.push(Marble {
                    message,
                    at: event.at,
                    kind: MarbleKind::Failed,
                    attempt: attempt.max(1),
                    out_of_order: false,
                }),
            },
            TraceKind::RetryScheduled => {
                if let Some(m) = self.latest_for(message) {
                    m.kind = MarbleKind::Retrying;
                }
            }
            TraceKind::DeadLettered
            | TraceKind::Dropped
            | TraceKind::Filtered
            | TraceKind::Redriven => {
                let kind = match event.kind {
                    TraceKind::DeadLettered => MarbleKind::DeadLettered,
                    TraceKind::Dropped => MarbleKind::Dropped,
                    TraceKind::Filtered => MarbleKind::Filtered,
                    _ => MarbleKind::Redriven,
                };
                self.marbles.push(Marble {
                    message,
                    at: event.at,
                    kind,
                    attempt: 0,
                    out_of_order: false,
                });
            }
            _ => {}
        }
    }
}

/// One backpressure sample of a subscription.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PressureSample {
    /// When (ms).
    pub at: f64,
    /// Queue depth.
    pub depth: u64,
    /// High-water mark.
    pub high_water: u64,
    /// Capacity.
    pub capacity: u64,
    /// Age of the oldest queued message (ms).
    pub lag_ms: f64,
    /// Drops so far.
    pub dropped: u64,
}

/// Active subscriptions at one instant, bus-wide and per pattern.
#[derive(Clone, Debug, PartialEq)]
pub struct PopulationSample {
    /// When (ms).
    pub at: f64,
    /// All active subscriptions.
    pub total: u32,
}

/// The aggregated state every view reads.
#[derive(Debug)]
pub struct Model {
    /// The source's latest time (ms).
    pub now: f64,
    /// The latest snapshot.
    pub state: BusState,
    /// Recent events for the event log, oldest first.
    pub log: Ring<Event>,
    /// Events received since the model was reset.
    pub events_seen: u64,
    /// Events the source lost before the model could read them.
    pub missed: u64,
    /// Smoothed rates.
    pub rates: Rates,
    /// Swim lanes by subscription.
    pub lanes: FxHashMap<u64, Lane>,
    /// Backpressure history by subscription.
    pub pressure: FxHashMap<u64, Ring<PressureSample>>,
    /// Bus-wide population history.
    pub population: Ring<PopulationSample>,
    /// Population history per pattern: (time, count).
    pub pattern_population: HashMap<String, Ring<(f64, u32)>>,
    /// Recent payloads by message id, for the inspector.
    pub payloads: Ring<(u64, Arc<str>, Arc<serde_json::Value>)>,
    /// Realms whose bridged messages were published here, most recently heard last.
    pub remotes: Vec<RemoteRealm>,
    /// Topics this bus's own code published on (messages without an origin), at most
    /// [`MAX_PUBLISHER_TOPICS`].
    pub local_topics: rustc_hash::FxHashSet<Arc<str>>,
    /// Counts per trace kind since reset, indexed by `TraceKind as usize`.
    kind_counts: [u64; TraceKind::ALL.len()],
    last_pressure_sample: Option<f64>,
    last_population_sample: Option<f64>,
}

impl Default for Model {
    fn default() -> Self {
        Model {
            now: 0.0,
            state: BusState::default(),
            log: Ring::new(LOG_CAPACITY),
            events_seen: 0,
            missed: 0,
            rates: Rates::default(),
            lanes: FxHashMap::default(),
            pressure: FxHashMap::default(),
            population: Ring::new(POPULATION_SAMPLES),
            pattern_population: HashMap::new(),
            payloads: Ring::new(PAYLOADS_KEPT),
            remotes: Vec::new(),
            local_topics: rustc_hash::FxHashSet::default(),
            kind_counts: [0; TraceKind::ALL.len()],
            last_pressure_sample: None,
            last_population_sample: None,
        }
    }
}

impl Model {
    /// Forgets everything (a new source or scenario starts).
    pub fn reset(&mut self) {
        *self = Model::default();
    }

    /// Folds one frame's update in; `now` is the source's current time (ms).
    pub fn apply(&mut self, update: Update, now: f64) {
        self.now = self.now.max(now);
        self.missed = self.missed.saturating_add(update.missed);
        for (id, topic, payload) in update.payloads {
            self.payloads.push((id, topic, payload));
        }
        for event in update.events {
            self.ingest(event);
        }
        self.rates.advance(self.now);
        if let Some(state) = update.state {
            self.apply_state(state);
        }
    }

    fn ingest(&mut self, event: Event) {
        self.events_seen = self.events_seen.saturating_add(1);
        if let Some(n) = self.kind_counts.get_mut(event.kind as usize) {
            *n = n.saturating_add(1);
        }
        self.rates.observe(&event);
        if event.kind == TraceKind::Published {
            self.note_publisher(&event);
        }
        if let Some(sub) = event.subscription {
            match event.kind {
                TraceKind::Unsubscribed => {
                    self.lanes.remove(&sub);
                }
                TraceKind::Delivering
                | TraceKind::Delivered
                | TraceKind::Failed
                | TraceKind::TimedOut
                | TraceKind::RetryScheduled
                | TraceKind::DeadLettered
                | TraceKind::Dropped
                | TraceKind::Filtered
                | TraceKind::Redriven => self.lanes.entry(sub).or_default().observe(&event),
                _ => {}
            }
        }
        self.log.push(event);
    }

    /// Attributes a publish to its realm: a remote one (bridged, `origin`) or this bus's code.
    fn note_publisher(&mut self, event: &Event) {
        let Some(topic) = &event.topic else { return };
        let Some(origin) = &event.origin else {
            if self.local_topics.len() < MAX_PUBLISHER_TOPICS && !self.local_topics.contains(topic)
            {
                self.local_topics.insert(topic.clone());
            }
            return;
        };
        let at = match self.remotes.iter().rposition(|r| r.realm == origin.realm) {
            Some(at) => at,
            None => {
                if self.remotes.len() == MAX_REMOTE_REALMS {
                    self.remotes.remove(0);
                }
                self.remotes.push(RemoteRealm {
                    realm: origin.realm.clone(),
                    ..RemoteRealm::default()
                });
                self.remotes.len() - 1
            }
        };
        let remote = &mut self.remotes[at];
        remote.published = remote.published.saturating_add(1);
        remote.last_at = event.at;
        remember_topic(&mut remote.topics, topic);
        // Most recently heard last (the oldest go first when the list is full).
        if at + 1 != self.remotes.len() {
            let heard = self.remotes.remove(at);
            self.remotes.push(heard);
        }
    }

    fn apply_state(&mut self, state: BusState) {
        let at = state.at;
        self.now = self.now.max(at);
        let due = |last: Option<f64>, every: f64| last.is_none_or(|t| at - t >= every || at < t);
        if due(self.last_pressure_sample, PRESSURE_SAMPLE_MS) {
            self.last_pressure_sample = Some(at);
            for sub in &state.subscriptions {
                let lag_ms = sub.oldest_queued_at.map_or(0.0, |t| (at - t).max(0.0));
                self.pressure
                    .entry(sub.id)
                    .or_insert_with(|| Ring::new(PRESSURE_SAMPLES))
                    .push(PressureSample {
                        at,
                        depth: sub.depth,
                        high_water: sub.high_water,
                        capacity: sub.capacity,
                        lag_ms,
                        dropped: sub.counters.dropped,
                    });
            }
            self.pressure
                .retain(|id, _| state.subscriptions.iter().any(|s| s.id == *id));
            self.lanes
                .retain(|id, _| state.subscriptions.iter().any(|s| s.id == *id));
        }
        if due(self.last_population_sample, POPULATION_SAMPLE_MS) {
            self.last_population_sample = Some(at);
            let total = u32::try_from(state.subscriptions.len()).unwrap_or(u32::MAX);
            self.population.push(PopulationSample { at, total });
            let mut counts: HashMap<&str, u32> = HashMap::new();
            for sub in &state.subscriptions {
                *counts.entry(sub.pattern.as_str()).or_default() += 1;
            }
            for (pattern, count) in &counts {
                self.pattern_population
                    .entry((*pattern).to_string())
                    .or_insert_with(|| Ring::new(POPULATION_SAMPLES))
                    .push((at, *count));
            }
            for (pattern, history) in self.pattern_population.iter_mut() {
                if !counts.contains_key(pattern.as_str()) {
                    history.push((at, 0));
                }
            }
            // Forget patterns that have had no subscription for the whole window.
            self.pattern_population
                .retain(|_, h| h.iter().any(|(_, c)| *c > 0));
        }
        self.state = state;
    }

    /// Events of `kind` received since reset.
    pub fn kind_count(&self, kind: TraceKind) -> u64 {
        self.kind_counts.get(kind as usize).copied().unwrap_or(0)
    }

    /// The payload of message `id`, if it is still kept (recent publishes and dead letters).
    pub fn payload(&self, id: u64) -> Option<Arc<serde_json::Value>> {
        if let Some(dl) = self.state.dead_letters.iter().find(|d| d.message == id) {
            return Some(Arc::new(dl.payload.clone()));
        }
        self.payloads
            .iter()
            .rev()
            .find(|(m, _, _)| *m == id)
            .map(|(_, _, p)| p.clone())
    }

    /// The subscription with these id bits in the latest snapshot.
    pub fn subscription(&self, id: u64) -> Option<&state::SubState> {
        self.state.subscriptions.iter().find(|s| s.id == id)
    }

    /// A readable name for subscription `id`: its name, pattern, or `#index`.
    pub fn subscription_label(&self, id: u64) -> String {
        match self.subscription(id) {
            Some(s) => s.label().to_string(),
            None => format!("#{}", id & 0xFFFF_FFFF),
        }
    }
}
