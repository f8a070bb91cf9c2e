//! Read-only views: subscription info and metrics.

use alloc::string::String;
use alloc::vec::Vec;

use super::inflight::{in_flight_items, key_of};
use super::slab::Key;
use super::subscriber::Subscriber;
use super::{sid, Bus};
use crate::breaker::BreakerState;
use crate::id::DeliveryToken;
use crate::metrics::{BusMetrics, Percentiles, SubscriptionStats, TopicStats};
use crate::subscription::SubscriptionInfo;

impl<P> Bus<P> {
    pub(crate) fn stats(&self, sub: &Subscriber<P>) -> SubscriptionStats {
        let (latency, handler) = match &sub.latencies {
            Some(l) => (l.latency.percentiles(), l.handler.percentiles()),
            None => (Percentiles::default(), Percentiles::default()),
        };
        SubscriptionStats {
            counters: sub.counters,
            high_water: sub.high_water,
            latency,
            handler,
            breaker_opened: sub.breaker_opened,
        }
    }

    pub(crate) fn info(&self, key: Key, sub: &Subscriber<P>) -> SubscriptionInfo {
        debug_assert_eq!(
            sub.in_flight_messages,
            in_flight_items(sub, &self.in_flight),
            "the in-flight message count follows every delivery started and finished"
        );
        debug_assert!(
            sub.in_flight.iter().enumerate().all(|(at, token)| self
                .in_flight
                .get(key_of(DeliveryToken(*token)))
                .is_some_and(|entry| entry.position == at)),
            "each delivery knows where its token sits in its subscription's list"
        );
        SubscriptionInfo {
            id: sid(key),
            pattern: String::from(sub.pattern.as_str()),
            name: sub.profile.name.clone(),
            priority: sub.priority,
            group: sub.profile.group.clone(),
            order: sub.order,
            created_at: sub.profile.created_at,
            paused: sub.paused,
            capacity: sub.capacity,
            overflow: sub.overflow,
            delivery: sub.delivery,
            ordering: sub.ordering,
            depth: sub.depth(),
            high_water: sub.high_water,
            in_flight: sub.in_flight.len(),
            in_flight_messages: sub.in_flight_messages,
            oldest_queued_at: sub.oldest_queued_at(),
            breaker: sub.breaker.as_ref().map(|b| b.state()).unwrap_or_default(),
            owner: sub.profile.owner,
            weak: sub.profile.weak,
            stats: self.stats(sub),
        }
    }

    pub(crate) fn collect_metrics(&self) -> BusMetrics {
        let mut subs: Vec<(Key, &Subscriber<P>)> = self.subs.iter().collect();
        crate::sort::sort_by_key(&mut subs, |(_, s)| s.order);
        // Sorted by name before anything is copied: with thousands of topics, moving
        // references is cheaper than moving `TopicStats`.
        let mut entries: Vec<_> = self.topics.iter().map(|(_, t)| t).collect();
        crate::sort::sort_by(&mut entries, |a, b| a.name.cmp(&b.name));
        let topics: Vec<TopicStats> = entries
            .into_iter()
            .map(|t| TopicStats {
                topic: String::from(&*t.name),
                counters: t.counters,
                latency: t
                    .latency
                    .as_ref()
                    .map(|h| h.percentiles())
                    .unwrap_or_default(),
            })
            .collect();
        BusMetrics {
            totals: self.totals,
            topics,
            subscriptions: subs.iter().map(|(k, s)| (sid(*k), self.stats(s))).collect(),
            active_subscriptions: self.subs.len(),
            queued: subs.iter().map(|(_, s)| s.depth()).sum(),
            in_flight: self.in_flight.len(),
            in_flight_messages: self.in_flight.iter().map(|(_, e)| e.items.len()).sum(),
            dead_letters: self.dead.len(),
            dead_letters_evicted: self.dead.evicted(),
            late_settles: self.late_settles,
            cascades_refused: self.cascades_refused,
            publishes_rejected: self.publishes_rejected,
            reclaimed: self.reclaimed,
            leaks_suspected: self.leaks.suspected,
            expired: self.expired,
            breakers_open: subs
                .iter()
                .filter(|(_, s)| {
                    matches!(
                        s.breaker.as_ref().map(|b| b.state()),
                        Some(BreakerState::Open { .. })
                    )
                })
                .count(),
            topics_evicted: self.topics.evicted(),
            retained_evicted: self.topics.retained_evicted(),
        }
    }
}

impl<P> Bus<P> {
    /// Counts a publish the host refused for going past `max_cascade_depth` by its own count of
    /// causation hops (hops the engine cannot see, such as publishes made by the host's
    /// lifecycle-event listeners), so [`BusMetrics::cascades_refused`] covers every refusal.
    /// Nothing else changes and no trace event is recorded (a listener of such events could
    /// otherwise feed itself refusals forever).
    pub fn note_cascade_refused(&mut self) {
        self.cascades_refused = self.cascades_refused.saturating_add(1);
    }
}
