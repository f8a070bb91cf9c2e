//! Inline dispatch: the fast path for hosts that call plain synchronous handlers themselves.
//!
//! The slow path costs the host three engine calls per (message, subscription) pair
//! ([`Bus::publish`], [`Bus::poll_delivery`], [`Bus::complete`]). For a JavaScript host each
//! call crosses the JS↔wasm boundary, which dwarfs the handler itself. Inline dispatch lets
//! the host deliver a publish to every subscription of a cached route **itself** and tell the
//! engine **afterwards**, with one call per run of publishes, keeping every invariant of the
//! slow path: global ids and per-topic sequence numbers, published / matched / delivered
//! counters on the bus, the topic and each subscription (so conservation holds), latency
//! histograms, idle watches, the trace ring and run-to-completion ordering.
//!
//! # The protocol
//!
//! There is one protocol, the one the JavaScript glue uses (`crates/wasm/src/inline.rs`,
//! `crates/wasm/js/src/fastpath.js`). The host records only what already happened, so nothing it
//! records is ever taken back:
//!
//! * [`Bus::inline_route`] answers a topic's route and whether it is eligible; the host caches
//!   it while [`Bus::inline_epoch`] stays put. [`Bus::record_inline`] with **0** publishes
//!   checks the cached route is still current (firing the timers due first) and tells the next
//!   id and sequence number, from which the host numbers its publishes itself;
//! * when every handler of a message returned, the message is **delivered**: the host adds it
//!   to its batch and records the batch later with [`Bus::record_inline_delivered`], one call
//!   per run of publishes on one topic (in publish order while [`Bus::inline_runs_ordered`],
//!   else summed per route). Never refused: the handlers saw their ids, so the engine counts
//!   them, however stale the route became meanwhile;
//! * when a handler is interrupted (it throws, returns a promise, or calls the bus: a read, a
//!   publish, a subscribe...), the host first records the batch before the message, then
//!   hands the message over with [`Bus::inline_adopt`]: delivered to the handlers that
//!   returned, **in flight** to the one running (reported with [`Bus::complete`]), **queued**
//!   for the rest. From there on it is the slow path's dispatch: the host's
//!   [`Bus::poll_delivery`] loop delivers the rest, then what the handlers published.
//!
//! ```text
//!  host (glue)                                   engine (Bus)
//!  ───────────                                   ────────────
//!  first emit on a topic, or epoch moved:
//!    flush batch ──────────────────────────────▶ record_inline_delivered(run, k, at) per run
//!    ─────────────────────────────────────────▶ inline_route(topic)        → route, epoch
//!    ─────────────────────────────────────────▶ record_inline(route, 0, now) → next id, seq
//!  emit(topic, payload), route cached, epoch same:
//!    id, seq = host's counters; batch += (route, 1)
//!    for sub in route: handler(payload, {id, seq})
//!    ├─ all returned ──────── (no engine call; the batch is recorded at its end)
//!    └─ handler i throws / returns a promise / calls the bus:
//!         ───────────────────────────────────▶ record_inline_delivered(run, k, at) per run
//!                                                 of the batch but this message
//!         ───────────────────────────────────▶ inline_adopt(route, i, true, payload, at)
//!                                                 → running token
//!         (the handler's own engine calls run now, as on the slow path)
//!         ───────────────────────────────────▶ complete(token, Delivered | Failed | Pending)
//!         ───────────────────────────────────▶ poll_delivery / complete until empty
//!  end of batch (any other engine call, a full batch, end of task):
//!    ─────────────────────────────────────────▶ record_inline_delivered(run, k, at) per run
//! ```
//!
//! The host must record the whole batch, runs in publish order, **before any other engine
//! call**, so the engine assigns each message the id its handlers saw, and so no topic of the
//! batch is evicted before it is recorded (an engine call creating a topic may evict idle
//! ones, and a topic whose publishes are not recorded yet looks idle). While the trace ring
//! is off the order does not matter ([`Bus::inline_runs_ordered`]): a batch summed per route
//! leaves the same state, and costs one record per topic however often each was published (a
//! hand-over still records the message being dispatched last). After [`Bus::inline_adopt`]
//! the dispatch is the engine's: publishes the handlers make go through [`Bus::publish`] and
//! are delivered after the adopted message reached every subscriber (run to completion, no
//! recursion); a subscription removed meanwhile gets nothing (its queued copy is counted
//! dropped, as on the slow path).
//!
//! A route belongs to the bus that issued it.
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
//! With the trace ring on, [`Bus::record_inline_delivered`] writes exactly the events the
//! slow path writes for the same publishes delivered successfully by a host draining
//! [`Bus::poll_delivery`] / [`Bus::complete`] at the same instant: per message `published`,
//! `enqueued` per subscription, then `delivering` and `delivered` per subscription in route
//! order. [`Bus::inline_adopt`] writes the slow path's events up to the point it records
//! (`published`, `enqueued` for everyone, `delivering` and `delivered` for the handlers that
//! returned, `delivering` for the running one); what follows is traced as it happens, so the
//! handlers' own events sit where the slow path puts them. What differs from a slow-path
//! trace: every event of a batch carries the instant the batch is recorded at, and
//! `delivered` reports 0 µs (the slow path measures the handler); a host recording at the
//! publish instant reproduces the slow path's trace exactly.
//!
//! Inline publishes carry no headers, TTL, correlation or causation (depth 0): a publish
//! with options goes through [`Bus::publish`].
//!
//! # The epoch
//!
//! [`Bus::inline_epoch`] changes whenever the answer of [`Bus::inline_route`] for any topic
//! could change: subscriptions added or removed, paused or resumed, strategy swapped, a queue
//! or the ready set changing, a delivery handed out, completed, made pending or settled, a
//! breaker changing state, the trace capacity changing, a topic evicted from the topic table
//! while a route to it was current (see [`TopicHandle`]). [`Bus::record_inline`] checks the
//! route's epoch itself and refuses a stale route with [`InlineError::Stale`] (recording
//! nothing), so a host may cache routes per topic and simply re-query on that error.
//! [`Bus::record_inline_delivered`] and [`Bus::inline_adopt`] do not check it: they record
//! deliveries that happened, whatever changed since.
//!
//! # Payload ownership
//!
//! The inline path never stores a payload: the host keeps it and hands its handlers its own
//! value. Only a message handed over with [`Bus::inline_adopt`] takes a payload `P` from the
//! host (a clone of its own, e.g. a `JsValue` handle), from which the engine builds the
//! message envelope exactly as [`Bus::publish`] would have.
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
//! let next = bus.record_inline(&route, 0, now).unwrap().first;
//! assert_eq!((next.id.0, next.topic_seq), (1, 1));
//!
//! // The host calls both handlers of two publishes itself, then records them with one call.
//! let receipt = bus.record_inline_delivered(&route, 2, now).unwrap();
//! assert_eq!((receipt.first.id.0, receipt.count), (1, 2));
//! assert_eq!(bus.metrics().totals.delivered, 4);
//!
//! // A pause changes the epoch: the cached route is refused and re-queried.
//! bus.pause(b, now).unwrap();
//! assert!(bus.record_inline(&route, 0, now).is_err());
//! assert!(!bus.inline_route("orders.eu").unwrap().eligible);
//! ```
//!
//! A handler reads the bus while the host delivers inline: the message is adopted first, so
//! the read sees what the slow path shows, and the host's poll loop finishes the message.
//!
//! ```
//! use switchyard_core::{Bus, Config, Instant, Outcome, SubscribeOptions};
//!
//! let mut bus: Bus<&str> = Bus::new(Config::default()).unwrap();
//! let now = Instant::from_millis(0);
//! let a = bus.subscribe("jobs", SubscribeOptions::default(), now).unwrap();
//! let b = bus.subscribe("jobs", SubscribeOptions::default(), now).unwrap();
//! let route = bus.inline_route("jobs").unwrap();
//!
//! // `a`'s handler is running and asks for the metrics: hand the message over first.
//! let adopted = bus.inline_adopt(&route, 0, true, "job 1", now).unwrap();
//! let metrics = bus.metrics();
//! assert_eq!((metrics.in_flight_messages, metrics.queued), (1, 1));
//!
//! // `a`'s handler returned; the engine delivers the rest.
//! bus.complete(adopted.running.unwrap(), Outcome::Delivered, now).unwrap();
//! let next = bus.poll_delivery(now).unwrap();
//! assert_eq!((next.subscription, next.items[0].message.payload), (b, "job 1"));
//! bus.complete(next.token, Outcome::Delivered, now).unwrap();
//! assert_eq!(bus.subscription(a).unwrap().stats.counters.delivered, 1);
//! assert_eq!(bus.metrics().totals.delivered, 2);
//! ```

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use super::dispatch::Count;
use super::inflight::{token_of, InFlight};
use super::subscriber::Subscriber;
use super::timers::Timer;
use super::{key, Bus};
use crate::id::{DeliveryToken, MessageId, SubscriptionId};
use crate::message::Envelope;
use crate::subscription::DeliveryStrategy;
use crate::time::Instant;
use crate::topic::{validate_topic, TopicError};
use crate::trace::TraceKind;

/// A published topic's interned index on one bus: cheaper to pass than the topic string.
///
/// Idle topics past [`Config::max_topics`](crate::Config::max_topics) are evicted and their
/// index reused by a later topic; a route or message naming an evicted topic is refused with
/// [`InlineError::UnknownTopic`] (never counted on the slot's new topic), and
/// [`Bus::inline_epoch`] moves when a route current under it may name an evicted topic.
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

/// One message delivered inline: the id, sequence number and publish instant the engine
/// recorded for it (what the host showed its handlers as metadata).
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

/// The messages one [`Bus::record_inline_delivered`] (or [`Bus::record_inline`]) call
/// recorded: `count` consecutive ids and per-topic sequence numbers starting at `first`
/// (with `count == 0`, `first` is the next message's numbers: nothing was recorded).
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

/// What [`Bus::inline_adopt`] recorded.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct InlineAdoption {
    /// The message, with the id and sequence number its handlers were shown.
    pub message: InlineMessage,
    /// The delivery in flight to the subscription whose handler is running, to report with
    /// [`Bus::complete`]; `None` when none was running, that subscription is gone, or it was
    /// full and its overflow policy dropped the message (a late hand-over on a stale route).
    pub running: Option<DeliveryToken>,
}

/// Why an inline call was refused. Nothing changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InlineError {
    /// The route was computed under an older [`Bus::inline_epoch`] (re-query it with
    /// [`Bus::inline_route`]).
    Stale,
    /// The route is not eligible for inline dispatch: use [`Bus::publish`].
    NotEligible,
    /// The topic handle names no topic of this bus (or one evicted since the route was
    /// computed).
    UnknownTopic(TopicHandle),
    /// [`Bus::inline_adopt`] was told more handlers ran (or run) than the route has
    /// subscriptions.
    BeyondRoute {
        /// Handlers said to have returned.
        delivered: usize,
        /// Whether one more was said to be running.
        running: bool,
        /// Subscriptions in the route.
        subscriptions: usize,
    },
}

impl fmt::Display for InlineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InlineError::Stale => f.write_str("the inline route is stale: query it again"),
            InlineError::NotEligible => {
                f.write_str("the route is not eligible for inline dispatch")
            }
            InlineError::UnknownTopic(t) => write!(f, "no topic with handle {}", t.0),
            InlineError::BeyondRoute {
                delivered,
                running,
                subscriptions,
            } => write!(
                f,
                "{delivered} handlers returned{} but the route has {subscriptions} subscriptions",
                if *running { " and one runs" } else { "" }
            ),
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

    /// Whether a host recording after the fact must record its publishes as runs in publish
    /// order: only while the trace ring is on, whose events carry each message's id and
    /// order. Otherwise [`Bus::record_inline_delivered`] calls at one instant commute and add
    /// up: recording a route's publishes of a batch as one call, in any order among routes,
    /// leaves the same counters, next id and per-topic sequence numbers as recording each run
    /// as it happened (an inline message keeps no id of its own once recorded), so a host may
    /// sum a batch per route and record each topic once.
    #[inline]
    pub fn inline_runs_ordered(&self) -> bool {
        self.trace.enabled()
    }

    /// The route of `topic` and whether the host may deliver it inline. An invalid topic is
    /// a [`TopicError`] and changes nothing. An eligible answer interns the topic (it then
    /// appears in the metrics with zero counts until published).
    pub fn inline_route(&mut self, topic: &str) -> Result<InlineRoute, TopicError> {
        let known = self.topics.find(topic);
        if known.is_none() {
            validate_topic(topic)?;
        }
        let subscriptions = self.router.route(topic);
        let eligible = self.config.retain == 0
            && self.ready.is_empty()
            && self.in_flight.iter().all(|(_, entry)| entry.pending)
            && subscriptions
                .iter()
                .all(|id| self.subs.get(key(*id)).is_some_and(accepts_inline));
        let handle = match known {
            Some(index) => index,
            None if eligible => {
                let born = self.make_topic_room();
                self.topics.intern(topic, born).0
            }
            None => u32::MAX,
        };
        // After any eviction making room (which may move it), and remembered by the topic: an
        // eviction moves the epoch again if this route is still current then.
        let epoch = self.inline_epoch();
        if let Some(entry) = self.topics.get_mut(handle) {
            entry.routed_epoch = Some(epoch);
        }
        Ok(InlineRoute {
            topic: TopicHandle(handle),
            subscriptions,
            eligible,
            epoch,
        })
    }

    /// Checks that `route` is still current and, with `publishes > 0`, records that many
    /// messages on its topic whose handlers **all returned**, at `now`; returns their ids and
    /// sequence numbers. With `publishes == 0` (what the JavaScript glue calls when it caches
    /// a route) it records nothing and returns the next message's id and sequence number on
    /// the topic in a receipt with `count == 0`, from which the host numbers its publishes.
    ///
    /// Timers due at `now` fire first (as in [`Bus::poll_delivery`]), so a retry falling due
    /// makes the route stale instead of being overtaken. Errors, with nothing recorded:
    /// [`InlineError::NotEligible`] for an ineligible route, [`InlineError::Stale`] if the
    /// epoch moved since the route was computed (including because a timer just fired),
    /// [`InlineError::UnknownTopic`] for a route of another bus. Once checked, it counts
    /// exactly what [`Bus::record_inline_delivered`] counts. A delivery recorded here cannot
    /// be taken back: a handler that throws or returns a promise is handed over with
    /// [`Bus::inline_adopt`] instead (see the [module docs](self)).
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
        if self.routed_topic(route).is_none() {
            return Err(InlineError::UnknownTopic(route.topic));
        }
        self.observe(now);
        if self.timers.next().is_some_and(|at| at <= self.now) {
            self.fire_due();
            if route.epoch != self.inline_epoch() {
                return Err(InlineError::Stale);
            }
        }
        self.commit_inline(route, publishes)
    }

    /// Records that `publishes` messages on `route`'s topic **were already delivered** inline
    /// to every subscription of the route (every handler returned), at `now`, and returns
    /// their ids and sequence numbers. Never refused for a route this bus issued, however
    /// stale: the handlers ran, so the engine's ids, sequence numbers and counters must follow
    /// what they saw.
    ///
    /// Counts exactly what [`Bus::publish`] followed by a successful [`Bus::complete`] per
    /// subscription would: published and matched on the bus, the topic and each
    /// subscription, delivered for each pair, latency and handler-duration samples of 0 µs
    /// (the handler ran at `now`), the idle watch; with the trace ring on, it also writes the
    /// slow path's trace events for those deliveries (see [Tracing](self#tracing)). A
    /// subscription of the route that was removed since (its handler ran before) counts its
    /// deliveries on the bus and the topic only, as a slow-path delivery whose subscription is
    /// removed after completing would. Eligibility and the epoch are not checked and no timer
    /// fires first (what fell due is handled by the next [`Bus::poll_delivery`] or
    /// [`Bus::handle_timeout`]): the deliveries are history, not a decision. The only error is
    /// [`InlineError::UnknownTopic`] for a route of another bus, or one whose topic was evicted
    /// since it was computed (see [`TopicHandle`]). A host that records its publishes before
    /// any other engine call never meets the latter: topics are evicted only by calls that
    /// create one ([`Bus::publish`] and [`Bus::inline_route`]; a restore trims its new bus).
    pub fn record_inline_delivered(
        &mut self,
        route: &InlineRoute,
        publishes: u32,
        now: Instant,
    ) -> Result<InlineReceipt, InlineError> {
        if self.routed_topic(route).is_none() {
            return Err(InlineError::UnknownTopic(route.topic));
        }
        self.observe(now);
        self.commit_inline(route, publishes)
    }

    /// Counts `publishes` messages delivered inline to every subscription of `route` at the
    /// bus clock (see [`Bus::record_inline_delivered`]); the topic was checked by the caller.
    fn commit_inline(
        &mut self,
        route: &InlineRoute,
        publishes: u32,
    ) -> Result<InlineReceipt, InlineError> {
        let index = route.topic.0;
        let now = self.now;
        let n = u64::from(publishes);
        let fanout = route.subscriptions.len() as u64;
        let pairs = n.saturating_mul(fanout);
        let Some(entry) = self.topics.get_mut(index) else {
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
        for id in route.subscriptions.iter() {
            self.count_delivered_inline(*id, publishes, now);
        }
        if self.trace.enabled() {
            self.trace_inline(route, first, publishes);
        }
        Ok(InlineReceipt {
            first,
            count: publishes,
        })
    }

    /// Counts `count` messages delivered inline on subscription `id` (if it is still active):
    /// published, matched and delivered, 0 µs latency and handler samples, the idle watch.
    fn count_delivered_inline(&mut self, id: SubscriptionId, count: u32, now: Instant) {
        let Some(sub) = self.subs.get_mut(key(id)) else {
            return;
        };
        let n = u64::from(count);
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

    /// The host must hand the engine a message it is in the middle of delivering inline:
    /// something is about to read or change the bus from inside a handler (a publish, a
    /// subscribe, `metrics`, a snapshot...), or a handler threw or returned a promise. Records
    /// one publish on `route`'s topic (the next id and sequence number, published at `now`)
    /// in the state the slow path would be in at this point of its dispatch:
    ///
    /// * `route.subscriptions[..delivered]` (their handlers returned) are delivered, counted
    ///   and traced exactly as [`Bus::record_inline_delivered`] would;
    /// * with `running`, `route.subscriptions[delivered]` has the message **in flight** (a
    ///   delivery handed out at `now`, as [`Bus::poll_delivery`] hands one out): the host
    ///   reports how its handler ended with [`Bus::complete`] and the returned
    ///   [`InlineAdoption::running`] token. Its message is enqueued first, like the others:
    ///   on a route that went stale (or was never eligible) the subscription may already hold
    ///   its `capacity`, and then its overflow policy applies as for any enqueue (the oldest
    ///   waiting message is evicted, except under `drop-newest`, or when everything held is
    ///   in flight, where this message is dropped and no delivery is running), so a
    ///   hand-over never takes a subscription past its capacity;
    /// * the later subscriptions have it **queued**, as [`Bus::publish`] enqueues it: the
    ///   host's [`Bus::poll_delivery`] loop delivers it to them, in route order, after the
    ///   running delivery completes (and before anything published meanwhile).
    ///
    /// So a snapshot, metrics, stats or trace read from now on show what the slow path would
    /// show, and a bus restored from a snapshot taken now still delivers the message to every
    /// subscription whose handler had not run. `payload` is the host's copy of the payload
    /// (the engine keeps it for the queued and in-flight deliveries).
    ///
    /// Never refused for a route this bus issued: the earlier handlers ran. A subscription of
    /// the route removed since counts its delivery as delivered if its handler returned, and
    /// as dropped (trace `dropped`, detail 2) otherwise, as the slow path counts a removed
    /// subscription's queued or in-flight message. Errors, with nothing recorded:
    /// [`InlineError::UnknownTopic`] for a route of another bus (or of a topic evicted since,
    /// as for [`Bus::record_inline_delivered`]),
    /// [`InlineError::BeyondRoute`] if `delivered` (plus the running one) exceeds the route.
    pub fn inline_adopt(
        &mut self,
        route: &InlineRoute,
        delivered: usize,
        running: bool,
        payload: P,
        now: Instant,
    ) -> Result<InlineAdoption, InlineError> {
        let topic = route.topic.0;
        let fanout = route.subscriptions.len();
        if delivered.saturating_add(usize::from(running)) > fanout {
            return Err(InlineError::BeyondRoute {
                delivered,
                running,
                subscriptions: fanout,
            });
        }
        // Refused before anything moves, the bus clock included.
        if self.routed_topic(route).is_none() {
            return Err(InlineError::UnknownTopic(route.topic));
        }
        self.observe(now);
        let now = self.now;
        let id = MessageId(self.next_message.saturating_add(1));
        let Some(entry) = self.topics.get_mut(topic) else {
            return Err(InlineError::UnknownTopic(route.topic));
        };
        // The publish, as `Bus::publish` commits it.
        self.next_message = id.0;
        entry.seq = entry.seq.saturating_add(1);
        entry.counters.published = entry.counters.published.saturating_add(1);
        entry.counters.matched = entry.counters.matched.saturating_add(fanout as u64);
        self.totals.published = self.totals.published.saturating_add(1);
        self.totals.matched = self.totals.matched.saturating_add(fanout as u64);
        let message = Arc::new(Envelope {
            id,
            topic: Arc::clone(&entry.name),
            topic_seq: entry.seq,
            published_at: now,
            causation: None,
            correlation: None,
            depth: 0,
            headers: Vec::new(),
            expires_at: None,
            origin: None,
            payload,
        });
        let recorded = InlineMessage {
            id,
            topic: route.topic,
            topic_seq: message.topic_seq,
            published_at: now,
        };
        self.emit(TraceKind::Published, None, Some(&message), fanout as u64);

        // Enqueued for everyone, in route order: the handed-out ones were enqueued at depth 1
        // before their delivery; the rest really are. A removed subscription whose handler
        // had not returned loses the message (dropped, as its queue would be).
        for (n, id) in route.subscriptions.iter().enumerate() {
            let k = key(*id);
            self.note_matched(k);
            let active = self.is_active(*id);
            if n < delivered {
                self.emit(TraceKind::Enqueued, Some(k), Some(&message), 1);
            } else if !active {
                self.count(None, topic, Count::Dropped);
                self.emit(TraceKind::Dropped, Some(k), Some(&message), 2);
            } else if n == delivered && running {
                // Enqueued like the rest (under its overflow policy, so a late hand-over on
                // a stale route never takes it past its capacity), then handed out below.
                self.enqueue(k, topic, Arc::clone(&message));
            } else {
                self.enqueue(k, topic, Arc::clone(&message));
            }
        }

        // Delivered by the handlers that returned.
        for id in route.subscriptions.iter().take(delivered) {
            let k = key(*id);
            self.count_delivered_inline(*id, 1, now);
            self.count(None, topic, Count::Delivered);
            if let Some(entry) = self.topics.get_mut(topic) {
                entry.latency.get_or_insert_with(Default::default).record(0);
            }
            self.emit(TraceKind::Delivering, Some(k), Some(&message), 1);
            self.emit(TraceKind::Delivered, Some(k), Some(&message), 0);
        }

        // In flight to the one running.
        let mut token = None;
        if let Some(id) = route
            .subscriptions
            .get(delivered)
            .filter(|id| running && self.is_active(**id))
        {
            token = self.hand_out_adopted(key(*id), &message, topic);
        }
        Ok(InlineAdoption {
            message: recorded,
            running: token,
        })
    }

    /// Hands `message` out to `k` as [`Bus::poll_delivery`] would (in flight, not pending),
    /// taking it back from the tail of its queue, where [`Bus::inline_adopt`] enqueued it
    /// under the subscription's overflow policy. `None` if it is gone (counted dropped
    /// already), if its queue had no room for the message (a late hand-over on a stale route;
    /// dropped by the overflow policy already), or if the in-flight table is full (then
    /// counted dropped here).
    fn hand_out_adopted(
        &mut self,
        k: super::slab::Key,
        message: &Arc<Envelope<P>>,
        topic: u32,
    ) -> Option<DeliveryToken> {
        let now = self.now;
        let sub = self.subs.get_mut(k)?;
        if sub.queue.back().map(|q| q.message.id) != Some(message.id) {
            return None;
        }
        let item = sub.queue.pop_back()?;
        let position = sub.in_flight.len();
        let Some(slot) = self.in_flight.insert(InFlight {
            subscription: k,
            items: alloc::vec![item],
            filtered: Vec::new(),
            started_at: now,
            pending: false,
            position,
        }) else {
            if let Some(sub) = self.subs.get_mut(k) {
                sub.accepted = sub.accepted.saturating_sub(1);
            }
            self.count(Some(k), topic, Count::Dropped);
            self.emit(TraceKind::Dropped, Some(k), Some(message), 2);
            self.refresh(k);
            return None;
        };
        let token = token_of(slot);
        if let Some(sub) = self.subs.get_mut(k) {
            sub.in_flight.push(token.0);
            sub.in_flight_messages += 1;
            sub.idle.on_received(now);
            sub.idle_flagged = false;
        }
        self.refresh(k);
        self.emit(TraceKind::Delivering, Some(k), Some(message), 1);
        Some(token)
    }

    /// A publish matched subscription `k`: starts its idle wait as [`Bus::publish`] does.
    fn note_matched(&mut self, k: super::slab::Key) {
        let now = self.now;
        let Some(idle_after) = self.config.idle_after else {
            return;
        };
        let Some(sub) = self.subs.get_mut(k) else {
            return;
        };
        let before = sub.idle.deadline(idle_after);
        sub.idle.on_matched(now);
        if let (None, Some(at)) = (before, sub.idle.deadline(idle_after)) {
            self.timers.arm(at, Timer::Idle(k));
        }
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
            .get(route.topic.0)
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
}
