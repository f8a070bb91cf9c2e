//! The engine: [`Bus`].
//!
//! H1 writes the module docs with a complete runnable example.

use alloc::vec::Vec;

use crate::config::Config;
use crate::dead_letter::DeadLetter;
use crate::delivery::{Delivery, Outcome};
use crate::error::{ConfigError, PublishError, RedriveError, SettleError, SubscribeError, UnknownSubscription};
use crate::id::{DeadLetterId, DeliveryToken, OwnerId, SubscriptionId};
use crate::leak::LeakReport;
use crate::message::{PublishOptions, Published};
use crate::metrics::BusMetrics;
use crate::subscription::{DeliveryStrategy, SubscribeOptions, SubscriptionInfo};
use crate::time::Instant;
use crate::topic::TopicError;
use crate::trace::TraceBatch;

/// A sans-IO event bus over payloads of type `P`.
///
/// Method groups:
/// * subscriptions: [`subscribe`](Bus::subscribe), [`unsubscribe`](Bus::unsubscribe),
///   [`pause`](Bus::pause), [`resume`](Bus::resume), [`set_delivery`](Bus::set_delivery),
///   [`flush`](Bus::flush), [`subscription`](Bus::subscription);
/// * publishing: [`publish`](Bus::publish), [`routes`](Bus::routes);
/// * delivery: [`poll_delivery`](Bus::poll_delivery), [`complete`](Bus::complete),
///   [`settle`](Bus::settle), [`mark_filtered`](Bus::mark_filtered);
/// * time: [`poll_timeout`](Bus::poll_timeout), [`handle_timeout`](Bus::handle_timeout);
/// * reliability: dead letters, redrive, owners, leaks;
/// * observability: [`metrics`](Bus::metrics), [`trace_since`](Bus::trace_since).
pub struct Bus<P> {
    _todo: core::marker::PhantomData<P>,
}

impl<P> Bus<P> {
    /// A bus with `config`, or the first invalid field.
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        todo!("H1 {config:?}")
    }
    /// The configuration in force.
    pub fn config(&self) -> &Config {
        todo!("H1")
    }

    // ---- subscriptions ----

    /// Adds a subscription. Replay (if asked) enqueues retained messages immediately.
    pub fn subscribe(&mut self, pattern: &str, options: SubscribeOptions, now: Instant) -> Result<SubscriptionId, SubscribeError> {
        todo!("H1 {pattern} {options:?} {now:?}")
    }
    /// Removes a subscription; its queued messages are discarded (counted as dropped) and its
    /// in-flight deliveries are forgotten. Returns false if it was not active.
    pub fn unsubscribe(&mut self, id: SubscriptionId, now: Instant) -> bool {
        todo!("H1 {id:?} {now:?}")
    }
    /// Stops handing out deliveries for `id`; messages keep queueing under its policy.
    pub fn pause(&mut self, id: SubscriptionId, now: Instant) -> Result<(), UnknownSubscription> {
        todo!("H1 {id:?} {now:?}")
    }
    /// Undoes [`Bus::pause`].
    pub fn resume(&mut self, id: SubscriptionId, now: Instant) -> Result<(), UnknownSubscription> {
        todo!("H1 {id:?} {now:?}")
    }
    /// Swaps the delivery strategy; every queued message is kept.
    pub fn set_delivery(&mut self, id: SubscriptionId, strategy: DeliveryStrategy, now: Instant) -> Result<(), SubscribeError> {
        todo!("H1 {id:?} {strategy:?} {now:?}")
    }
    /// Makes a batched subscription's queued messages ready now.
    pub fn flush(&mut self, id: SubscriptionId, now: Instant) -> Result<(), UnknownSubscription> {
        todo!("H1 {id:?} {now:?}")
    }
    /// State and counters of one subscription.
    pub fn subscription(&self, id: SubscriptionId) -> Option<SubscriptionInfo> {
        todo!("H1 {id:?}")
    }
    /// Every active subscription, in creation order.
    pub fn subscriptions(&self) -> Vec<SubscriptionInfo> {
        todo!("H1")
    }
    /// Whether `id` names an active subscription.
    pub fn is_active(&self, id: SubscriptionId) -> bool {
        todo!("H1 {id:?}")
    }

    // ---- publishing ----

    /// Routes and enqueues a message. On error nothing changed.
    pub fn publish(&mut self, topic: &str, payload: P, options: PublishOptions, now: Instant) -> Result<Published, PublishError> {
        let _ = payload;
        todo!("H1 {topic} {options:?} {now:?}")
    }
    /// The subscriptions a publish on `topic` would reach, in delivery order, from the route
    /// cache, plus the route epoch (changes whenever the subscription set changes).
    pub fn routes(&mut self, topic: &str) -> Result<(&[SubscriptionId], u64), TopicError> {
        todo!("H1 {topic}")
    }

    // ---- delivery ----

    /// The next handler call the host must make, or `None` when nothing is ready.
    pub fn poll_delivery(&mut self, now: Instant) -> Option<Delivery<P>> {
        todo!("H1 {now:?}")
    }
    /// Reports how a delivery's handler call ended.
    pub fn complete(&mut self, token: DeliveryToken, outcome: Outcome, now: Instant) -> Result<(), SettleError> {
        todo!("H1 {token:?} {outcome:?} {now:?}")
    }
    /// Settles a delivery previously completed as [`Outcome::Pending`].
    pub fn settle(&mut self, token: DeliveryToken, result: Result<(), alloc::string::String>, now: Instant) -> Result<(), SettleError> {
        todo!("H1 {token:?} {result:?} {now:?}")
    }
    /// Marks item `index` of an outstanding delivery as rejected by the host's filter.
    pub fn mark_filtered(&mut self, token: DeliveryToken, index: usize) -> Result<(), SettleError> {
        todo!("H1 {token:?} {index}")
    }

    // ---- time ----

    /// When the host must next call [`Bus::handle_timeout`] (retry due, batch window,
    /// breaker cooldown, delivery timeout, TTL), if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        todo!("H1")
    }
    /// Fires everything due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        todo!("H1 {now:?}")
    }
    /// True when nothing is queued and ready, nothing is in flight and no retry is pending.
    pub fn is_idle(&self) -> bool {
        todo!("H1")
    }

    // ---- reliability ----

    /// Dead letters, oldest first.
    pub fn dead_letters(&self) -> impl Iterator<Item = &DeadLetter<P>> {
        todo!("H1");
        #[allow(unreachable_code)]
        core::iter::empty()
    }
    /// Moves a dead letter back to its subscription's queue with attempts reset.
    pub fn redrive(&mut self, id: DeadLetterId, now: Instant) -> Result<(), RedriveError> {
        todo!("H1 {id:?} {now:?}")
    }
    /// Redrives every dead letter that can be; returns how many moved.
    pub fn redrive_all(&mut self, now: Instant) -> usize {
        todo!("H1 {now:?}")
    }
    /// Drops every dead letter; returns how many.
    pub fn purge_dead_letters(&mut self) -> usize {
        todo!("H1")
    }
    /// The host's owner object was released (garbage-collected).
    pub fn owner_released(&mut self, owner: OwnerId, now: Instant) {
        todo!("H1 {owner:?} {now:?}")
    }
    /// Current leak reports.
    pub fn leaks(&mut self, now: Instant) -> Vec<LeakReport> {
        todo!("H1 {now:?}")
    }

    // ---- observability ----

    /// Counters, gauges and latency percentiles.
    pub fn metrics(&self) -> BusMetrics {
        todo!("H1")
    }
    /// Trace events at or after `cursor`.
    pub fn trace_since(&self, cursor: u64) -> TraceBatch {
        todo!("H1 {cursor}")
    }
    /// Resizes the trace ring (0 turns tracing off and clears it).
    pub fn set_trace_capacity(&mut self, capacity: usize) {
        todo!("H1 {capacity}")
    }
}
