//! Inline dispatch: the fast path for hosts that call plain synchronous handlers themselves.
//!
//! The slow path costs the host three engine calls per (message, subscription) pair
//! ([`Bus::publish`], [`Bus::poll_delivery`], [`Bus::complete`]). For a JavaScript host each
//! call crosses the JS↔wasm boundary, which dwarfs the handler itself. Inline dispatch lets
//! the host deliver a publish to every subscription of a cached route **itself** and tell the
//! engine with **one** call per publish, [`Bus::record_inline`], which keeps every invariant
//! of the slow path: global ids and per-topic sequence numbers, published / matched /
//! delivered counters on the bus, the topic and each subscription (so conservation holds),
//! latency histograms, idle watches and run-to-completion ordering.
//!
//! # When a route is eligible
//!
//! [`Bus::inline_route`] answers [`InlineRoute::eligible`] only when the slow path would
//! hand the message to every matched subscription at once, in route order, with nothing the
//! engine must decide per delivery:
//!
//! * the bus retains nothing (`Config::retain == 0`);
//! * no subscription anywhere is ready (nothing queued that must go first) and no delivery
//!   is in flight that is not pending (the host is not inside a slow-path handler);
//! * every matched subscription is immediate, not paused, has an empty queue, no retry
//!   waiting, nothing in flight, no circuit breaker, no consumer group, no `max_deliveries`
//!   (`once`) and no filter.
//!
//! # Tracing
//!
//! With the trace ring on, [`Bus::record_inline`] writes exactly the events the slow path
//! writes for the same publishes delivered successfully by a host draining
//! [`Bus::poll_delivery`] / [`Bus::complete`] at the same instant: per message `published`,
//! `enqueued` per subscription, then `delivering` and `delivered` per subscription in route
//! order. A hand-back takes back what did not happen: [`Bus::inline_failed`] and
//! [`Bus::inline_pending`] remove the pair's `delivered` (the engine then traces the failure,
//! or the settlement, as usual), [`Bus::inline_skipped`] replaces its `delivering` and
//! `delivered` with `dropped` (detail 2). Events of publishes a handler makes, and of its
//! subscribe / unsubscribe calls, follow the whole inline message rather than sitting
//! between its deliveries, and `delivered` reports 0 µs: the host recorded the run at one
//! instant.
//!
//! Inline publishes carry no headers, TTL, correlation or causation (depth 0): a publish
//! with options goes through [`Bus::publish`].
//!
//! # The epoch
//!
//! [`Bus::inline_epoch`] changes whenever the answer of [`Bus::inline_route`] for any topic
//! could change: subscriptions added or removed, paused or resumed, strategy swapped, a queue
//! or the ready set changing, a delivery handed out, completed, made pending or settled, a
//! breaker changing state, the trace capacity changing. [`Bus::record_inline`] checks the
//! route's epoch itself and refuses a stale route with [`InlineError::Stale`] (recording
//! nothing), so a host may cache routes per topic and simply re-query on that error.
//!
//! # Payload ownership
//!
//! The inline path never stores a payload: the host keeps it and hands its handlers its own
//! value. Only when a delivery goes back to the engine ([`Bus::inline_failed`],
//! [`Bus::inline_pending`]) does the host pass a payload `P` (a clone of its own, e.g. a
//! `JsValue` handle), from which the engine builds the message envelope exactly as
//! [`Bus::publish`] would have.
//!
//! # Integration note for the JavaScript glue (H5): the exact call sequence
//!
//! ```text
//! emit(topic, payload)                       // no options, not inside a handler
//!   if dispatching: publish(topic, payload, {causation: current id}); drain(); return
//!   route = cache[topic]
//!   if !route: route = cache[topic] = bus.inline_route(topic)   // TopicError → throw
//!   if !route.eligible: publish(topic, payload); drain(); return  // slow path
//!   receipt = bus.record_inline(route, 1, now)
//!     on InlineError::Stale: route = cache[topic] = bus.inline_route(topic); retry once,
//!                            then fall back to the slow path
//!   msg = receipt.first                      // meta.id = msg.id, meta.seq = msg.topic_seq
//!   dispatching = true
//!   for sub of route.subscriptions (in order):
//!     if sub was unsubscribed meanwhile: bus.inline_skipped(msg, sub); continue
//!     try r = handler[sub](payload, meta)
//!       if r is a thenable: token = bus.inline_pending(msg, sub, payload, now)
//!                           r.then(() => bus.settle(token, Ok), e => bus.settle(token, Err(e)))
//!     catch e: bus.inline_failed(msg, sub, payload, String(e), now)
//!   dispatching = false
//!   drain()     // poll_delivery/complete loop: runs whatever the handlers published
//! ```
//!
//! Fewer calls (optional): the receipt tells the host the next id (`first.id + count`) and
//! the topic's next sequence number, and both stay consecutive as long as the engine sees no
//! other call. So a host that emits a run of `k` consecutive messages on **one** topic may
//! assign their ids and sequence numbers itself and record the whole run with one
//! `record_inline(route, k, now)` **before any other engine call** (an emit on another topic
//! ends the run); the receipt's `first` must equal what it assigned, which it can assert.
//!
//! A route, message or handle belongs to the bus that issued it; hand-backs name a
//! subscription from the message's route.
//!
//! Handlers that emit while `dispatching` must use [`Bus::publish`] (slow path) so the
//! follow-up is delivered after the current message has reached every subscriber (run to
//! completion, no recursion). `subscribe`, `unsubscribe`, `pause`, ... from a handler are
//! ordinary engine calls; they change the epoch, so the next emit re-queries its route. A
//! subscription paused by a handler during an inline dispatch still receives the message
//! being dispatched (the dispatch of that message has started); unsubscribed ones do not
//! (report them with [`Bus::inline_skipped`]).
//!
//! # Example
//!
//! ```
//! use switchyard_core::{Bus, Config, Instant, SubscribeOptions};
//!
//! let mut bus: Bus<&str> = Bus::new(Config::default()).unwrap();
//! let now = Instant::from_millis(0);
//! let a = bus.subscribe("orders.*", SubscribeOptions::default(), now).unwrap();
//! let b = bus.subscribe("orders.eu", SubscribeOptions::default(), now).unwrap();
//!
//! let route = bus.inline_route("orders.eu").unwrap();
//! assert!(route.eligible);
//! assert_eq!(&route.subscriptions[..], &[a, b]);
//!
//! // The host calls both handlers itself, then records the publish with one call.
//! let receipt = bus.record_inline(&route, 1, now).unwrap();
//! assert_eq!(receipt.first.id.0, 1);
//! assert_eq!(bus.metrics().totals.delivered, 2);
//!
//! // A pause changes the epoch; the cached route is refused and re-queried.
//! bus.pause(b, now).unwrap();
//! assert!(bus.record_inline(&route, 1, now).is_err());
//! assert!(!bus.inline_route("orders.eu").unwrap().eligible);
//! ```

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use super::inflight::{token_of, InFlight};
use super::subscriber::{Queued, Subscriber};
use super::timers::Timer;
use super::{key, Bus};
use crate::dead_letter::DeadLetterReason;
use crate::id::{DeliveryToken, MessageId, SubscriptionId};
use crate::message::Envelope;
use crate::subscription::DeliveryStrategy;
use crate::time::Instant;
use crate::topic::{validate_topic, TopicError};
use crate::trace::TraceKind;

/// A published topic's interned index on one bus: cheaper to pass than the topic string.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicHandle(pub u32);

/// What [`Bus::inline_route`] answers for a topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InlineRoute {
    /// The topic's handle.
    pub topic: TopicHandle,
    /// The subscriptions a publish reaches, in delivery order (higher priority first, ties
    /// in subscription order).
    pub subscriptions: Arc<[SubscriptionId]>,
    /// Whether the host may deliver this topic inline (see the [module docs](self)).
    pub eligible: bool,
    /// [`Bus::inline_epoch`] when this answer was computed.
    pub epoch: u64,
}

/// One message delivered inline: what the host shows as its metadata, and what it hands
/// back with [`Bus::inline_failed`], [`Bus::inline_pending`] or [`Bus::inline_skipped`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct InlineMessage {
    /// Its global id (sequence number).
    pub id: MessageId,
    /// Its topic.
    pub topic: TopicHandle,
    /// Its per-topic sequence number.
    pub topic_seq: u64,
    /// When it was published.
    pub published_at: Instant,
}

/// The messages one [`Bus::record_inline`] call recorded: `count` consecutive ids and
/// per-topic sequence numbers starting at `first`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct InlineReceipt {
    /// The first message recorded (when `count > 0`).
    pub first: InlineMessage,
    /// How many messages were recorded.
    pub count: u32,
}

impl InlineReceipt {
    /// The `n`th message recorded (0-based), if `n < count`.
    pub fn message(&self, n: u32) -> Option<InlineMessage> {
        (n < self.count).then(|| InlineMessage {
            id: MessageId(self.first.id.0.saturating_add(u64::from(n))),
            topic_seq: self.first.topic_seq.saturating_add(u64::from(n)),
            ..self.first
        })
    }
}

/// Why an inline call was refused. Nothing changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InlineError {
    /// The route was computed under an older [`Bus::inline_epoch`] (re-query it with
    /// [`Bus::inline_route`]).
    Stale,
    /// The route is not eligible for inline dispatch: use [`Bus::publish`].
    NotEligible,
    /// The topic handle names no topic of this bus.
    UnknownTopic(TopicHandle),
    /// The message was never recorded on this bus (id or sequence number out of range).
    UnknownMessage(MessageId),
    /// The subscription is not active (use [`Bus::inline_skipped`] for one removed during
    /// the dispatch).
    UnknownSubscription(SubscriptionId),
    /// The subscription's pattern does not match the message's topic.
    NotRouted(SubscriptionId),
    /// [`Bus::inline_skipped`] on a subscription that is still active.
    StillActive(SubscriptionId),
}

impl fmt::Display for InlineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InlineError::Stale => f.write_str("the inline route is stale: query it again"),
            InlineError::NotEligible => {
                f.write_str("the route is not eligible for inline dispatch")
            }
            InlineError::UnknownTopic(t) => write!(f, "no topic with handle {}", t.0),
            InlineError::UnknownMessage(id) => write!(f, "message {} was never recorded", id.0),
            InlineError::UnknownSubscription(s) => write!(f, "subscription {s:?} is not active"),
            InlineError::NotRouted(s) => {
                write!(f, "subscription {s:?} does not match the message's topic")
            }
            InlineError::StillActive(s) => write!(f, "subscription {s:?} is still active"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for InlineError {}

/// Whether one subscription may take deliveries inline.
fn accepts_inline<P>(sub: &Subscriber<P>) -> bool {
    matches!(sub.delivery, DeliveryStrategy::Immediate)
        && !sub.paused
        && sub.queue.is_empty()
        && sub.delayed.is_empty()
        && sub.retry_at.is_none()
        && sub.in_flight.is_empty()
        && sub.breaker.is_none()
        && !sub.has_filter
        && sub.profile.group.is_none()
        && sub.profile.max_deliveries.is_none()
}

impl<P> Bus<P> {
    /// Changes whenever the answer of [`Bus::inline_route`] for any topic could change (see
    /// the [module docs](self)). Cheap: two loads and an add.
    #[inline]
    pub fn inline_epoch(&self) -> u64 {
        self.inline_epoch.wrapping_add(self.router.epoch())
    }

    /// Marks every cached inline route stale.
    #[inline]
    pub(crate) fn bump_inline_epoch(&mut self) {
        self.inline_epoch = self.inline_epoch.wrapping_add(1);
    }

    /// The route of `topic` and whether the host may deliver it inline. An invalid topic is
    /// a [`TopicError`] and changes nothing. An eligible answer interns the topic (it then
    /// appears in the metrics with zero counts until published).
    pub fn inline_route(&mut self, topic: &str) -> Result<InlineRoute, TopicError> {
        let known = self.topics.by_name.get(topic).copied();
        if known.is_none() {
            validate_topic(topic)?;
        }
        let subscriptions = self.router.route(topic);
        let epoch = self.inline_epoch();
        let eligible = self.config.retain == 0
            && self.ready.is_empty()
            && self.in_flight.iter().all(|(_, entry)| entry.pending)
            && subscriptions
                .iter()
                .all(|id| self.subs.get(key(*id)).is_some_and(accepts_inline));
        let handle = match known {
            Some(index) => index,
            None if eligible => self.topics.intern(topic).0,
            None => u32::MAX,
        };
        Ok(InlineRoute {
            topic: TopicHandle(handle),
            subscriptions,
            eligible,
            epoch,
        })
    }

    /// Records that `publishes` messages on `route`'s topic were delivered inline, at `now`,
    /// to every subscription of the route, and returns their ids and sequence numbers.
    ///
    /// Counts exactly what [`Bus::publish`] followed by a successful [`Bus::complete`] per
    /// subscription would: published and matched on the bus, the topic and each
    /// subscription, delivered for each pair, latency and handler-duration samples of 0 µs
    /// (the handler ran at `now`), the idle watch; with the trace ring on, it also writes the
    /// slow path's trace events for those deliveries (see [Tracing](self#tracing)).
    ///
    /// Timers due at `now` fire first (as in [`Bus::poll_delivery`]). Errors, with nothing
    /// recorded: [`InlineError::NotEligible`] for an ineligible route, [`InlineError::Stale`]
    /// if the epoch moved since the route was computed (including because a timer just
    /// fired). `publishes == 0` records nothing and returns a receipt with `count == 0`.
    pub fn record_inline(
        &mut self,
        route: &InlineRoute,
        publishes: u32,
        now: Instant,
    ) -> Result<InlineReceipt, InlineError> {
        if !route.eligible {
            return Err(InlineError::NotEligible);
        }
        if route.epoch != self.inline_epoch() {
            return Err(InlineError::Stale);
        }
        let index = route.topic.0;
        if self.topics.entries.get(index as usize).is_none() {
            return Err(InlineError::UnknownTopic(route.topic));
        }
        self.observe(now);
        if self.timers.next().is_some_and(|at| at <= self.now) {
            self.fire_due();
            if route.epoch != self.inline_epoch() {
                return Err(InlineError::Stale);
            }
        }
        let now = self.now;
        let n = u64::from(publishes);
        let fanout = route.subscriptions.len() as u64;
        let pairs = n.saturating_mul(fanout);
        let Some(entry) = self.topics.entries.get_mut(index as usize) else {
            return Err(InlineError::UnknownTopic(route.topic));
        };
        let first = InlineMessage {
            id: MessageId(self.next_message.saturating_add(1)),
            topic: route.topic,
            topic_seq: entry.seq.saturating_add(1),
            published_at: now,
        };
        if publishes == 0 {
            return Ok(InlineReceipt { first, count: 0 });
        }
        self.next_message = self.next_message.saturating_add(n);
        entry.seq = entry.seq.saturating_add(n);
        let c = &mut entry.counters;
        c.published = c.published.saturating_add(n);
        c.matched = c.matched.saturating_add(pairs);
        c.delivered = c.delivered.saturating_add(pairs);
        if fanout > 0 {
            entry
                .latency
                .get_or_insert_with(Default::default)
                .record_many(0, pairs);
        }
        let t = &mut self.totals;
        t.published = t.published.saturating_add(n);
        t.matched = t.matched.saturating_add(pairs);
        t.delivered = t.delivered.saturating_add(pairs);
        let count = publishes;
        for id in route.subscriptions.iter() {
            let Some(sub) = self.subs.get_mut(key(*id)) else {
                continue;
            };
            let c = &mut sub.counters;
            c.published = c.published.saturating_add(n);
            c.matched = c.matched.saturating_add(n);
            c.delivered = c.delivered.saturating_add(n);
            sub.accepted = sub.accepted.saturating_add(count);
            sub.successes = sub.successes.saturating_add(count);
            // The slow path enqueues each message before handing it out: depth 1.
            sub.high_water = sub.high_water.max(1);
            sub.idle.on_received(now);
            sub.idle_flagged = false;
            let latencies = sub.latencies_mut();
            latencies.latency.record_many(0, n);
            latencies.handler.record_many(0, n);
        }
        if self.trace.enabled() {
            self.trace_inline(route, first, count);
        }
        Ok(InlineReceipt { first, count })
    }

    /// Writes the trace events the slow path writes for `count` messages from `first` on
    /// `route`, each published and then delivered successfully to every subscription of the
    /// route by a host draining `poll_delivery` / `complete`: per message `published`
    /// (detail: matched), an `enqueued` per subscription (depth 1), then per subscription in
    /// route order `delivering` (attempt 1) and `delivered` (0 µs), all at the bus clock.
    ///
    /// Messages whose events would all be overwritten within this run are only counted
    /// (their cursors are consumed), so a long run costs at most one ring's worth of events.
    fn trace_inline(&mut self, route: &InlineRoute, first: InlineMessage, count: u32) {
        let Some(topic) = self
            .topics
            .entries
            .get(route.topic.0 as usize)
            .map(|entry| Arc::clone(&entry.name))
        else {
            return;
        };
        let now = self.now;
        let fanout = route.subscriptions.len() as u64;
        let per_message = fanout.saturating_mul(3).saturating_add(1);
        let total = per_message.saturating_mul(u64::from(count));
        let capacity = self.trace.capacity() as u64;
        let hidden = total.saturating_sub(capacity) / per_message;
        self.trace
            .skip_overwritten(hidden.saturating_mul(per_message));
        for n in hidden..u64::from(count) {
            let id = Some(MessageId(first.id.0.saturating_add(n)));
            let topic = || Some(Arc::clone(&topic));
            self.trace
                .push(now, TraceKind::Published, None, id, topic(), fanout);
            for sub in route.subscriptions.iter() {
                self.trace
                    .push(now, TraceKind::Enqueued, Some(*sub), id, topic(), 1);
            }
            for sub in route.subscriptions.iter() {
                self.trace
                    .push(now, TraceKind::Delivering, Some(*sub), id, topic(), 1);
                self.trace
                    .push(now, TraceKind::Delivered, Some(*sub), id, topic(), 0);
            }
        }
    }

    /// Takes back the trace event of `kind` that [`Bus::record_inline`] wrote for the pair,
    /// if it is still held (see [`TraceRing::retract`](crate::trace::TraceRing)).
    fn retract_inline_event(
        &mut self,
        kind: TraceKind,
        message: &InlineMessage,
        subscription: SubscriptionId,
    ) {
        if self.trace.enabled() {
            self.trace.retract(|event| {
                event.kind == kind
                    && event.message == Some(message.id)
                    && event.subscription == Some(subscription)
            });
        }
    }

    /// The inline handler of `subscription` failed on `message` (threw): the delivery is
    /// handed back to the engine and follows the retry policy exactly as a slow-path attempt
    /// 1 reported [`crate::Outcome::Failed`] would (counted failed, then retry scheduled or
    /// dead-lettered with `reason`). `payload` is the host's copy of the message payload.
    pub fn inline_failed(
        &mut self,
        message: InlineMessage,
        subscription: SubscriptionId,
        payload: P,
        reason: String,
        now: Instant,
    ) -> Result<(), InlineError> {
        self.check_hand_back(&message, subscription)?;
        self.observe(now);
        self.retract_inline_event(TraceKind::Delivered, &message, subscription);
        let entry = self.hand_back(message, subscription, payload, message.published_at, false);
        self.finish_failure(entry, reason, DeadLetterReason::HandlerError);
        Ok(())
    }

    /// The inline handler of `subscription` returned a promise for `message`: the delivery
    /// becomes a pending delivery in flight, exactly as a slow-path delivery completed with
    /// [`crate::Outcome::Pending`] at `now`. Settle it with [`Bus::settle`]; the
    /// subscription's timeout applies from `now`. `payload` is the host's copy.
    pub fn inline_pending(
        &mut self,
        message: InlineMessage,
        subscription: SubscriptionId,
        payload: P,
        now: Instant,
    ) -> Result<DeliveryToken, InlineError> {
        self.check_hand_back(&message, subscription)?;
        self.observe(now);
        let started_at = self.now;
        let entry = self.hand_back(message, subscription, payload, started_at, true);
        let k = key(subscription);
        let Some(slot) = self.in_flight.insert(entry) else {
            // The in-flight table is full (2^32 deliveries): undo the hand-back.
            self.recount_delivered(&message, subscription);
            return Err(InlineError::UnknownSubscription(subscription));
        };
        let token = token_of(slot);
        self.retract_inline_event(TraceKind::Delivered, &message, subscription);
        let timeout = self.subs.get_mut(k).and_then(|sub| {
            sub.in_flight.push(token.0);
            sub.profile.timeout
        });
        if let Some(timeout) = timeout {
            self.timers
                .arm(started_at.saturating_add(timeout), Timer::Deadline(token.0));
        }
        self.bump_inline_epoch();
        self.refresh(k);
        Ok(token)
    }

    /// `subscription` was removed while `message` was being dispatched inline, before its
    /// handler ran: it receives nothing more, so the pair is recounted from delivered to
    /// dropped (as the slow path drops a removed subscription's queued messages).
    pub fn inline_skipped(
        &mut self,
        message: InlineMessage,
        subscription: SubscriptionId,
    ) -> Result<(), InlineError> {
        self.check_message(&message)?;
        if self.is_active(subscription) {
            return Err(InlineError::StillActive(subscription));
        }
        let topic = message.topic.0;
        if let Some(c) = self.topics.counters_mut(topic) {
            c.delivered = c.delivered.saturating_sub(1);
            c.dropped = c.dropped.saturating_add(1);
        }
        self.totals.delivered = self.totals.delivered.saturating_sub(1);
        self.totals.dropped = self.totals.dropped.saturating_add(1);
        if self.trace.enabled() {
            self.retract_inline_event(TraceKind::Delivered, &message, subscription);
            self.retract_inline_event(TraceKind::Delivering, &message, subscription);
            let topic = self
                .topics
                .entries
                .get(topic as usize)
                .map(|entry| Arc::clone(&entry.name));
            self.trace.push(
                self.now,
                TraceKind::Dropped,
                Some(subscription),
                Some(message.id),
                topic,
                2,
            );
        }
        Ok(())
    }

    /// Checks that `message` was recorded on this bus.
    fn check_message(&self, message: &InlineMessage) -> Result<(), InlineError> {
        let entry = self
            .topics
            .entries
            .get(message.topic.0 as usize)
            .ok_or(InlineError::UnknownTopic(message.topic))?;
        let id = message.id.0;
        if id == 0
            || id > self.next_message
            || message.topic_seq == 0
            || message.topic_seq > entry.seq
        {
            return Err(InlineError::UnknownMessage(message.id));
        }
        Ok(())
    }

    /// Checks a failure or pending hand-back before anything changes.
    fn check_hand_back(
        &self,
        message: &InlineMessage,
        subscription: SubscriptionId,
    ) -> Result<(), InlineError> {
        self.check_message(message)?;
        let sub = self
            .subs
            .get(key(subscription))
            .ok_or(InlineError::UnknownSubscription(subscription))?;
        let topic = self
            .topics
            .entries
            .get(message.topic.0 as usize)
            .ok_or(InlineError::UnknownTopic(message.topic))?;
        if !sub.pattern.matches(&topic.name) {
            return Err(InlineError::NotRouted(subscription));
        }
        Ok(())
    }

    /// Undoes the uncounting of [`Bus::hand_back`].
    fn recount_delivered(&mut self, message: &InlineMessage, subscription: SubscriptionId) {
        if let Some(sub) = self.subs.get_mut(key(subscription)) {
            sub.counters.delivered = sub.counters.delivered.saturating_add(1);
            sub.successes = sub.successes.saturating_add(1);
        }
        if let Some(c) = self.topics.counters_mut(message.topic.0) {
            c.delivered = c.delivered.saturating_add(1);
        }
        self.totals.delivered = self.totals.delivered.saturating_add(1);
    }

    /// Takes back a pair counted delivered by [`Bus::record_inline`]: uncounts the delivery
    /// and rebuilds the message as the slow path would have stored it.
    fn hand_back(
        &mut self,
        message: InlineMessage,
        subscription: SubscriptionId,
        payload: P,
        started_at: Instant,
        pending: bool,
    ) -> InFlight<P> {
        let k = key(subscription);
        let topic = message.topic.0;
        if let Some(sub) = self.subs.get_mut(k) {
            sub.counters.delivered = sub.counters.delivered.saturating_sub(1);
            sub.successes = sub.successes.saturating_sub(1);
        }
        let name = match self.topics.entries.get_mut(topic as usize) {
            Some(entry) => {
                entry.counters.delivered = entry.counters.delivered.saturating_sub(1);
                Arc::clone(&entry.name)
            }
            None => Arc::from(""),
        };
        self.totals.delivered = self.totals.delivered.saturating_sub(1);
        let envelope = Envelope {
            id: message.id,
            topic: name,
            topic_seq: message.topic_seq,
            published_at: message.published_at,
            causation: None,
            correlation: None,
            depth: 0,
            headers: Vec::new(),
            expires_at: None,
            payload,
        };
        let items = alloc::vec![Queued {
            message: Arc::new(envelope),
            enqueued_at: message.published_at,
            first_failure_at: message.published_at,
            attempt: 1,
            topic,
        }];
        InFlight {
            subscription: k,
            items,
            filtered: Vec::new(),
            started_at,
            pending,
        }
    }
}
