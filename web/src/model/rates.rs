//! Rates (per second) smoothed over half-second windows: messages published per topic,
//! enqueued per (topic, subscription) edge, delivered and failed per subscription.

use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

use switchyard_core::TraceKind;

use super::event::Event;

/// How often window counts are folded into the smoothed rates (ms).
pub const RATE_WINDOW_MS: f64 = 500.0;
/// Weight of the newest window in the smoothed rate.
const SMOOTHING: f64 = 0.5;
/// Rates below this are forgotten (keeps the maps bounded by what is active).
const FORGET_BELOW: f64 = 0.01;

/// A key's smoothed rate and the count of the window in progress.
#[derive(Clone, Copy, Debug, Default)]
struct Meter {
    pending: u32,
    rate: f64,
}

fn fold<K: Eq + std::hash::Hash>(map: &mut HashMap<K, Meter>, seconds: f64) {
    map.retain(|_, meter| {
        let window = f64::from(meter.pending) / seconds;
        meter.rate = SMOOTHING * window + (1.0 - SMOOTHING) * meter.rate;
        meter.pending = 0;
        meter.rate >= FORGET_BELOW
    });
}

fn bump<K: Eq + std::hash::Hash>(map: &mut HashMap<K, Meter>, key: K) {
    let meter = map.entry(key).or_default();
    meter.pending = meter.pending.saturating_add(1);
}

fn read<K: Eq + std::hash::Hash>(map: &HashMap<K, Meter>, key: &K) -> f64 {
    map.get(key).map_or(0.0, |m| m.rate)
}

/// Smoothed event rates.
#[derive(Debug, Default)]
pub struct Rates {
    window_start: Option<f64>,
    published: Meter,
    delivered: Meter,
    topics: HashMap<Arc<str>, Meter>,
    edges: HashMap<(Arc<str>, u64), Meter>,
    sub_delivered: HashMap<u64, Meter>,
    sub_failed: HashMap<u64, Meter>,
    sub_dropped: HashMap<u64, Meter>,
    refused: HashMap<Arc<str>, Meter>,
    realms: HashMap<Arc<str>, Meter>,
}

impl Rates {
    /// Counts one event into the window in progress.
    pub fn observe(&mut self, event: &Event) {
        match event.kind {
            TraceKind::Published => {
                self.published.pending = self.published.pending.saturating_add(1);
                if let Some(topic) = &event.topic {
                    bump(&mut self.topics, topic.clone());
                }
                if let Some(origin) = &event.origin {
                    bump(&mut self.realms, origin.realm.clone());
                }
            }
            TraceKind::Enqueued => {
                if let (Some(topic), Some(sub)) = (&event.topic, event.subscription) {
                    bump(&mut self.edges, (topic.clone(), sub));
                }
            }
            TraceKind::Delivered => {
                self.delivered.pending = self.delivered.pending.saturating_add(1);
                if let Some(sub) = event.subscription {
                    bump(&mut self.sub_delivered, sub);
                }
            }
            TraceKind::Failed | TraceKind::TimedOut => {
                if let Some(sub) = event.subscription {
                    bump(&mut self.sub_failed, sub);
                }
            }
            TraceKind::CascadeRefused | TraceKind::Backpressure => {
                if let Some(topic) = &event.topic {
                    bump(&mut self.refused, topic.clone());
                }
            }
            TraceKind::Dropped => {
                if let Some(sub) = event.subscription {
                    bump(&mut self.sub_dropped, sub);
                }
            }
            _ => {}
        }
    }

    /// Folds the window into the rates when it is at least [`RATE_WINDOW_MS`] old.
    pub fn advance(&mut self, now: f64) {
        let start = *self.window_start.get_or_insert(now);
        let elapsed = now - start;
        if elapsed < RATE_WINDOW_MS {
            return;
        }
        let seconds = elapsed / 1_000.0;
        for meter in [&mut self.published, &mut self.delivered] {
            let window = f64::from(meter.pending) / seconds;
            meter.rate = SMOOTHING * window + (1.0 - SMOOTHING) * meter.rate;
            meter.pending = 0;
        }
        fold(&mut self.topics, seconds);
        fold(&mut self.edges, seconds);
        fold(&mut self.sub_delivered, seconds);
        fold(&mut self.sub_failed, seconds);
        fold(&mut self.sub_dropped, seconds);
        fold(&mut self.refused, seconds);
        fold(&mut self.realms, seconds);
        self.window_start = Some(now);
    }

    /// Messages published per second over the bus.
    pub fn published(&self) -> f64 {
        self.published.rate
    }
    /// Deliveries per second over the bus.
    pub fn delivered(&self) -> f64 {
        self.delivered.rate
    }
    /// Messages published per second on `topic`.
    pub fn topic(&self, topic: &str) -> f64 {
        self.topics.get(topic).map_or(0.0, |m| m.rate)
    }
    /// Every topic with a non-negligible rate.
    pub fn topics(&self) -> impl Iterator<Item = (&Arc<str>, f64)> {
        self.topics.iter().map(|(k, m)| (k, m.rate))
    }
    /// Every (topic, subscription) edge with a non-negligible rate.
    pub fn edges(&self) -> impl Iterator<Item = (&Arc<str>, u64, f64)> {
        self.edges.iter().map(|((t, s), m)| (t, *s, m.rate))
    }
    /// Deliveries per second to `sub`.
    pub fn sub_delivered(&self, sub: u64) -> f64 {
        read(&self.sub_delivered, &sub)
    }
    /// Failed attempts per second of `sub`.
    pub fn sub_failed(&self, sub: u64) -> f64 {
        read(&self.sub_failed, &sub)
    }
    /// Drops per second of `sub`.
    pub fn sub_dropped(&self, sub: u64) -> f64 {
        read(&self.sub_dropped, &sub)
    }
    /// Publishes per second on `topic` refused by backpressure or the cascade limit.
    pub fn refused(&self, topic: &str) -> f64 {
        self.refused.get(topic).map_or(0.0, |m| m.rate)
    }
    /// Bridged messages per second first published by `realm` (`meta.origin.realm`).
    pub fn realm(&self, realm: &str) -> f64 {
        self.realms.get(realm).map_or(0.0, |m| m.rate)
    }
    /// Forgets everything.
    pub fn clear(&mut self) {
        *self = Rates::default();
    }
}
