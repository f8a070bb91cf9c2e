//! The engine: [`Bus`], a sans-IO event bus.
//!
//! A `Bus<P>` routes published messages of payload type `P` to subscriptions and queues
//! them, but never calls a handler and never reads a clock. The host drives it:
//!
//! 1. [`Bus::publish`] validates the topic, routes it through the pattern trie and enqueues
//!    one shared [`Envelope`] (an `Arc`, never cloned per subscriber) on
//!    every matching subscription's bounded queue;
//! 2. [`Bus::poll_delivery`] hands out the next handler call to make;
//! 3. the host runs the handler **holding no borrow of the bus**, so the handler may
//!    publish, subscribe and unsubscribe freely;
//! 4. [`Bus::complete`] reports the outcome ([`Outcome`]); an asynchronous handler reports
//!    [`Outcome::Pending`] and later calls [`Bus::settle`];
//! 5. [`Bus::poll_timeout`] says when to call [`Bus::handle_timeout`] (retries, batch
//!    windows, breaker cooldowns, pending-delivery timeouts, TTLs).
//!
//! # Ordering
//!
//! Deliveries go out breadth first: the oldest message first, and within one message the
//! subscription with the higher priority first, ties in subscription order. So a message
//! published from inside a handler is delivered only after the current message has reached
//! every subscriber (run to completion, no recursion). Each subscription sees its messages in
//! FIFO order; with the default strict ordering, a message waiting for its retry holds back
//! the later ones.
//!
//! A subscription removed while a message is being dispatched receives nothing more, not even
//! that message; one added during dispatch does not receive the message in flight (routing
//! happens at publish).
//!
//! # Inline dispatch (fast path)
//!
//! A host that calls plain synchronous handlers itself (the JavaScript glue) may skip the
//! three calls per delivery: [`Bus::inline_route`] tells whether a topic's route is
//! *eligible* (nothing queued that must go first, plain subscriptions), the host delivers
//! the publishes itself and records them afterwards with one call per run
//! ([`Bus::record_inline_delivered`]), keeping ids, sequence numbers, counters, trace and
//! conservation exactly as the slow path would; a message a handler interrupts (it throws,
//! returns a promise or calls the bus) is handed over mid-dispatch with [`Bus::inline_adopt`].
//! See the [`inline`] module docs for the eligibility rules, the epoch and the host's exact
//! call sequence.
//!
//! # Example
//!
//! A host loop with two subscribers where one handler publishes a follow-up message:
//!
//! ```
//! use switchyard_core::{Bus, Config, Instant, Outcome, PublishOptions, SubscribeOptions};
//!
//! let mut bus: Bus<String> = Bus::new(Config::default()).unwrap();
//! let now = Instant::from_millis(0);
//!
//! // Higher priority receives each message first.
//! let audit = bus
//!     .subscribe("orders.**", SubscribeOptions { priority: 10, ..Default::default() }, now)
//!     .unwrap();
//! let mailer = bus.subscribe("orders.*.created", SubscribeOptions::default(), now).unwrap();
//!
//! bus.publish("orders.eu.created", "order 42".to_string(), PublishOptions::default(), now)
//!     .unwrap();
//!
//! let mut log = Vec::new();
//! while let Some(delivery) = bus.poll_delivery(now) {
//!     let message = &delivery.items[0].message;
//!     log.push((delivery.subscription, message.topic.to_string()));
//!     if delivery.subscription == mailer {
//!         // A handler may publish: the follow-up waits until the current message has
//!         // reached all its subscribers. `causation` lets the bus catch A→B→A loops.
//!         let options = PublishOptions { causation: Some(message.id), ..Default::default() };
//!         bus.publish("orders.eu.mailed", "sent".to_string(), options, now).unwrap();
//!     }
//!     bus.complete(delivery.token, Outcome::Delivered, now).unwrap();
//! }
//!
//! assert_eq!(
//!     log,
//!     [
//!         (audit, "orders.eu.created".to_string()),
//!         (mailer, "orders.eu.created".to_string()),
//!         (audit, "orders.eu.mailed".to_string()),
//!     ]
//! );
//! assert!(bus.is_idle());
//! assert_eq!(bus.metrics().totals.delivered, 3);
//! ```
//!
//! Asynchronous handlers report [`Outcome::Pending`] and settle later; failures follow the
//! retry policy and end in the dead-letter store:
//!
//! ```
//! use core::time::Duration;
//! use switchyard_core::{Bus, Config, Instant, Outcome, PublishOptions, RetryPolicy, SubscribeOptions};
//!
//! let retry = RetryPolicy { max_attempts: 2, backoff: Duration::from_millis(100), ..Default::default() };
//! let mut bus: Bus<u32> = Bus::new(Config { retry, ..Default::default() }).unwrap();
//! let t0 = Instant::from_millis(0);
//! bus.subscribe("jobs", SubscribeOptions::default(), t0).unwrap();
//! bus.publish("jobs", 7, PublishOptions::default(), t0).unwrap();
//!
//! let first = bus.poll_delivery(t0).unwrap();
//! bus.complete(first.token, Outcome::Pending, t0).unwrap();
//! bus.settle(first.token, Err("database down".into()), t0).unwrap();
//!
//! // The retry is due 100 ms later; nothing is ready before.
//! assert!(bus.poll_delivery(t0).is_none());
//! let due = bus.poll_timeout().unwrap();
//! assert_eq!(due, Instant::from_millis(100));
//! bus.handle_timeout(due);
//! let second = bus.poll_delivery(due).unwrap();
//! assert_eq!(second.items[0].attempt, 2);
//! bus.complete(second.token, Outcome::Failed("still down".into()), due).unwrap();
//!
//! // Out of attempts: dead-lettered, with the last error.
//! let dead: Vec<_> = bus.dead_letters().collect();
//! assert_eq!(dead.len(), 1);
//! assert_eq!(dead[0].last_error.as_deref(), Some("still down"));
//! ```

// Internal state (for snapshots, `crate::snapshot`)
//
// Everything lives in plain `pub(crate)` fields of [`Bus`]:
// * `config`, `now` (the latest instant seen), `next_message` (last global sequence
//   number handed out), `next_order` (next subscription creation order), `rng`;
// * `subs`: a generational slab of `subscriber::Subscriber`s. Each holds its pattern,
//   options (`profile`, `capacity`, `overflow`, `delivery`, `ordering`, `concurrency`,
//   `priority`, `has_filter`, `breaker`), its FIFO `queue` of `subscriber::Queued` items
//   (`message`, `enqueued_at`, `first_failure_at`, `attempt`, `topic` index), relaxed
//   retries in `delayed` (due instant, item), a strict retry wait in `retry_at`, and its
//   counters. `ready_key`, `batch_timer` and `in_flight` are derived/transient;
// * `topics`: a `topics::TopicTable` (per-topic sequence, counters, retained messages;
//   idle topics past `Config::max_topics` are evicted, see its module docs);
// * `dead`: the dead-letter store; `totals` and the bus-wide counters (`late_settles`,
//   `cascades_refused`, `publishes_rejected`, `reclaimed`, `expired`); `leaks` (listener
//   counts, released owners, trend tracker; each subscription also has an `idle` watch);
//   `groups` (round-robin cursor per consumer group) and `grouped`;
// * scratch space with no state worth keeping: `scratch`, `spare_items`, `last_routes`;
// * derived indexes that a restore rebuilds by calling `refresh` on every subscription:
//   `ready`, `timers`, the router (re-insert each pattern), `in_flight` (deliveries in flight
//   are not persisted: put their items back at the head of their queues instead).

mod dispatch;
mod inflight;
pub mod inline;
mod leaks;
pub mod limits;
mod observe;
mod ready;
pub(crate) mod slab;
pub(crate) mod subscriber;
pub(crate) mod timers;
pub(crate) mod topics;
mod waiting;

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::hash::HashMap;

use crate::breaker::Breaker;
use crate::config::Config;
use crate::dead_letter::{DeadLetter, DeadLetterReason, DeadLetterStore};
use crate::delivery::{Delivery, Outcome};
use crate::error::{
    ConfigError, PublishError, RedriveError, SettleError, SubscribeError, UnknownSubscription,
};
use crate::id::{DeadLetterId, DeliveryToken, MessageId, OwnerId, SubscriptionId};
use crate::leak::{IdleWatch, LeakReport};
use crate::message::{Envelope, PublishOptions, Published};
use crate::metrics::{BusMetrics, Counters};
use crate::retry::Rng;
use crate::router::{Rank, Router};
use crate::subscription::{DeliveryStrategy, Overflow, SubscribeOptions, SubscriptionInfo};
use crate::time::Instant;
use crate::topic::{validate_topic, TopicError};
use crate::trace::{TraceBatch, TraceKind, TraceRing};

use dispatch::Count;
use inflight::{held, key_of, InFlight, TimedOutTokens};
use slab::{Key, Slab};
use subscriber::{PatternCache, Profile, Queued, Subscriber};
use timers::{Timer, Timers};
use topics::{Birth, TopicTable};

pub use inline::{
    InlineAdoption, InlineError, InlineMessage, InlineReceipt, InlineRoute, TopicHandle,
};
pub use leaks::MAX_RELEASED_REPORTS;
pub use limits::QueueLimitError;

/// The public id of a slab key.
#[inline]
pub(crate) fn sid(key: Key) -> SubscriptionId {
    SubscriptionId {
        index: key.index,
        generation: key.generation,
    }
}

/// The slab key of a public id.
#[inline]
pub(crate) fn key(id: SubscriptionId) -> Key {
    Key {
        index: id.index,
        generation: id.generation,
    }
}

/// Sizes in bytes of the bus's per-item internal records, for capacity planning and the
/// benchmark report. Heap buffers (queue storage, names, route-cache entries) come on top.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Footprint {
    /// One queued reference to a shared message (what each matched subscription stores).
    pub queued_reference: usize,
    /// One subscription's inline record.
    pub subscription: usize,
    /// One subscription's out-of-line configuration (boxed, rarely read).
    pub subscription_profile: usize,
    /// One delivery in flight (plus its items).
    pub in_flight: usize,
    /// One message envelope without payload or headers (allocated once per publish).
    pub envelope: usize,
}

impl Footprint {
    /// The footprint for payload type `P`.
    pub fn of<P>() -> Self {
        Footprint {
            queued_reference: core::mem::size_of::<Queued<P>>(),
            subscription: core::mem::size_of::<Subscriber<P>>(),
            subscription_profile: core::mem::size_of::<Profile>(),
            in_flight: core::mem::size_of::<InFlight<P>>(),
            envelope: core::mem::size_of::<Envelope<()>>(),
        }
    }
}

/// A sans-IO event bus over payloads of type `P`.
///
/// Method groups:
/// * subscriptions: [`subscribe`](Bus::subscribe), [`unsubscribe`](Bus::unsubscribe),
///   [`pause`](Bus::pause), [`resume`](Bus::resume), [`set_delivery`](Bus::set_delivery),
///   [`flush`](Bus::flush), [`set_capacity`](Bus::set_capacity),
///   [`set_overflow`](Bus::set_overflow), [`subscription`](Bus::subscription);
/// * publishing: [`publish`](Bus::publish), [`routes`](Bus::routes);
/// * delivery: [`poll_delivery`](Bus::poll_delivery), [`complete`](Bus::complete),
///   [`settle`](Bus::settle), [`mark_filtered`](Bus::mark_filtered);
/// * time: [`poll_timeout`](Bus::poll_timeout), [`handle_timeout`](Bus::handle_timeout);
/// * reliability: [`dead_letters`](Bus::dead_letters), [`redrive`](Bus::redrive),
///   [`owner_released`](Bus::owner_released), [`leaks`](Bus::leaks);
/// * observability: [`metrics`](Bus::metrics), [`trace_since`](Bus::trace_since).
///
/// See the [module docs](crate::bus) for the delivery semantics and a host loop.
pub struct Bus<P> {
    pub(crate) config: Config,
    /// The latest instant any input carried.
    pub(crate) now: Instant,
    pub(crate) subs: Slab<Subscriber<P>>,
    pub(crate) router: Router,
    pub(crate) topics: TopicTable<P>,
    /// Subscriptions that may be handed a delivery, in dispatch order.
    pub(crate) ready: ready::ReadyIndex,
    pub(crate) in_flight: Slab<InFlight<P>>,
    pub(crate) timed_out: TimedOutTokens,
    pub(crate) timers: Timers,
    pub(crate) dead: DeadLetterStore<P>,
    pub(crate) rng: Rng,
    pub(crate) trace: TraceRing,
    /// Subscriptions holding a retry that is not yet due (for [`Bus::is_idle`]).
    pub(crate) waiting: waiting::WaitingSet,
    /// Round-robin cursor per consumer group.
    pub(crate) groups: HashMap<String, u64>,
    /// Active subscriptions that belong to a consumer group.
    pub(crate) grouped: usize,
    /// Last global sequence number handed out.
    pub(crate) next_message: u64,
    /// Creation order of the next subscription.
    pub(crate) next_order: u64,
    pub(crate) totals: Counters,
    pub(crate) late_settles: u64,
    pub(crate) cascades_refused: u64,
    pub(crate) publishes_rejected: u64,
    pub(crate) reclaimed: u64,
    pub(crate) expired: u64,
    pub(crate) leaks: leaks::LeakState,
    /// The last answer of [`Bus::routes`].
    pub(crate) last_routes: Arc<[SubscriptionId]>,
    /// Bumped whenever inline eligibility could change (see [`Bus::inline_epoch`], which
    /// adds the router's epoch).
    pub(crate) inline_epoch: u64,
    /// The pattern subscribed last, shared by the next subscription to the same pattern.
    patterns: PatternCache,
    /// Publish scratch space: the subscriptions a message goes to.
    scratch: Vec<Key>,
    /// Emptied in-flight item buffers, reused so steady-state dispatch does not allocate.
    spare_items: Vec<Vec<Queued<P>>>,
}

impl<P> core::fmt::Debug for Bus<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Bus")
            .field("subscriptions", &self.subs.len())
            .field("topics", &self.topics.len())
            .field("in_flight", &self.in_flight.len())
            .field("dead_letters", &self.dead.len())
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

/// Validates subscription options that the bus does not check elsewhere.
fn validate_options(options: &SubscribeOptions) -> Result<(), ConfigError> {
    if options.capacity == Some(0) {
        return Err(ConfigError::new("capacity", "must be at least 1"));
    }
    if options.max_deliveries == Some(0) {
        return Err(ConfigError::new("max_deliveries", "must be at least 1"));
    }
    validate_strategy(&options.delivery)?;
    if let Some(retry) = &options.retry {
        retry.validate().map_err(|e| e.within("retry"))?;
    }
    if let Some(breaker) = &options.breaker {
        breaker.validate().map_err(|e| e.within("breaker"))?;
    }
    if options.weak && options.owner.is_none() {
        return Err(ConfigError::new("weak", "needs an owner"));
    }
    Ok(())
}

fn validate_strategy(strategy: &DeliveryStrategy) -> Result<(), ConfigError> {
    match strategy {
        DeliveryStrategy::Batched { size: 0, .. } => {
            Err(ConfigError::new("delivery.size", "must be at least 1"))
        }
        _ => Ok(()),
    }
}

impl<P> Bus<P> {
    /// A bus with `config`, or the first invalid field.
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Bus {
            now: Instant::ZERO,
            subs: Slab::default(),
            router: Router::new(config.route_cache_capacity),
            topics: TopicTable::new(config.max_topics),
            ready: ready::ReadyIndex::default(),
            in_flight: Slab::default(),
            timed_out: TimedOutTokens::default(),
            timers: Timers::default(),
            dead: DeadLetterStore::new(config.dead_letter_capacity),
            rng: Rng::new(config.seed),
            trace: TraceRing::new(config.trace_capacity),
            waiting: waiting::WaitingSet::default(),
            groups: HashMap::default(),
            grouped: 0,
            next_message: 0,
            next_order: 0,
            totals: Counters::default(),
            late_settles: 0,
            cascades_refused: 0,
            publishes_rejected: 0,
            reclaimed: 0,
            expired: 0,
            leaks: leaks::LeakState::new(&config)?,
            last_routes: Arc::from(Vec::new()),
            inline_epoch: 0,
            patterns: PatternCache::default(),
            scratch: Vec::new(),
            spare_items: Vec::new(),
            config,
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    // ---- subscriptions ----

    /// Adds a subscription to `pattern` (`*` = one segment, `**` = zero or more).
    ///
    /// A bad pattern or option is refused and nothing changes. With `options.replay = n`, the
    /// last `n` retained messages of topics the pattern matches (see `Config::retain`) are
    /// enqueued at once, oldest first.
    pub fn subscribe(
        &mut self,
        pattern: &str,
        options: SubscribeOptions,
        now: Instant,
    ) -> Result<SubscriptionId, SubscribeError> {
        let pattern = self
            .patterns
            .parse(pattern)
            .map_err(SubscribeError::InvalidPattern)?;
        validate_options(&options).map_err(SubscribeError::InvalidOption)?;
        self.observe(now);
        let order = self.next_order;
        let subscriber = Subscriber {
            pattern,
            profile: Box::new(Profile {
                name: options.name,
                group: options.group,
                created_at: now,
                retry: options.retry.unwrap_or(self.config.retry),
                timeout: options.timeout.or(self.config.timeout),
                max_deliveries: options.max_deliveries,
                owner: options.owner,
                weak: options.weak,
                stack: options.stack,
            }),
            priority: options.priority,
            order,
            capacity: options.capacity.unwrap_or(self.config.capacity),
            overflow: options.overflow.unwrap_or(self.config.overflow),
            delivery: options.delivery,
            ordering: options.ordering,
            concurrency: options.concurrency.max(1),
            has_filter: options.has_filter,
            paused: false,
            flush_requested: false,
            breaker: options.breaker.map(|policy| Box::new(Breaker::new(policy))),
            queue: VecDeque::new(),
            delayed: Vec::new(),
            retry_at: None,
            batch_timer: None,
            in_flight: Vec::new(),
            in_flight_messages: 0,
            accepted: 0,
            successes: 0,
            ready_key: None,
            idle: IdleWatch::new(now),
            idle_flagged: false,
            counters: Counters::default(),
            high_water: 0,
            latencies: None,
            breaker_opened: 0,
        };
        let pattern = Arc::clone(&subscriber.pattern);
        let grouped = subscriber.profile.group.is_some();
        let Some(key) = self.subs.insert(subscriber) else {
            return Err(SubscribeError::InvalidOption(ConfigError::new(
                "subscriptions",
                "too many",
            )));
        };
        self.next_order = self.next_order.saturating_add(1);
        if grouped {
            self.grouped += 1;
        }
        // The key is fresh (the slab bumps a slot's generation on every removal).
        self.router.insert_new(
            &pattern,
            sid(key),
            Rank {
                priority: options.priority,
                order,
            },
        );
        self.emit(TraceKind::Subscribed, Some(key), None, 0);
        if options.replay > 0 {
            self.replay(key, options.replay);
        }
        self.on_subscribed(key, &pattern);
        Ok(sid(key))
    }

    /// Enqueues the last `n` retained messages of topics matching `key`'s pattern.
    fn replay(&mut self, key: Key, n: usize) {
        let Some(sub) = self.subs.get(key) else {
            return;
        };
        let limit = n.min(sub.capacity);
        let limit = match sub.profile.max_deliveries {
            Some(max) => limit.min(max as usize),
            None => limit,
        };
        let mut retained: Vec<(u32, Arc<Envelope<P>>)> = Vec::new();
        for (index, topic) in self.topics.iter() {
            if !topic.retained.is_empty() && sub.pattern.matches(&topic.name) {
                retained.extend(topic.retained.iter().map(|m| (index, Arc::clone(m))));
            }
        }
        crate::sort::sort_by_key(&mut retained, |(_, m)| m.id);
        let skip = retained.len().saturating_sub(limit);
        for (topic, message) in retained.into_iter().skip(skip) {
            if let Some(counters) = self.topics.counters_mut(topic) {
                counters.matched = counters.matched.saturating_add(1);
            }
            self.totals.matched = self.totals.matched.saturating_add(1);
            self.enqueue(key, topic, message);
        }
    }

    /// Removes a subscription; its queued messages are discarded (counted as dropped) and its
    /// in-flight deliveries are forgotten (their items counted as dropped; a later
    /// `complete`/`settle` of their tokens returns [`SettleError::UnknownToken`]).
    /// Returns false if it was not active.
    pub fn unsubscribe(&mut self, id: SubscriptionId, now: Instant) -> bool {
        self.observe(now);
        self.remove_subscription(key(id), 0)
    }

    /// Removes subscription `key` (trace `detail`: 0 by the host, 1 weak owner released,
    /// 2 `max_deliveries` reached, 3 owner released while it was not weak: a reported leak).
    pub(crate) fn remove_subscription(&mut self, key: Key, detail: u64) -> bool {
        let Some(sub) = self.subs.remove(key) else {
            return false;
        };
        self.waiting.set(key.index, false);
        self.router.remove(&sub.pattern, sid(key));
        self.ready.forget(sub.ready_key);
        if sub.profile.group.is_some() {
            self.grouped = self.grouped.saturating_sub(1);
        }
        // Usually nothing is queued or in flight: skip gathering the (empty) drops.
        if !(sub.in_flight.is_empty() && sub.queue.is_empty() && sub.delayed.is_empty()) {
            let mut dropped: Vec<Queued<P>> = Vec::new();
            for token in &sub.in_flight {
                if let Some(entry) = self.in_flight.remove(key_of(DeliveryToken(*token))) {
                    dropped.extend(entry.items);
                }
            }
            dropped.extend(sub.queue);
            dropped.extend(sub.delayed.into_iter().map(|(_, q)| q));
            for item in dropped {
                self.count(None, item.topic, Count::Dropped);
                self.emit(TraceKind::Dropped, Some(key), Some(&item.message), 2);
            }
        }
        self.emit(TraceKind::Unsubscribed, Some(key), None, detail);
        self.on_unsubscribed(&sub.pattern);
        true
    }

    fn subscriber_mut(
        &mut self,
        id: SubscriptionId,
    ) -> Result<&mut Subscriber<P>, UnknownSubscription> {
        self.subs.get_mut(key(id)).ok_or(UnknownSubscription(id))
    }

    /// Stops handing out deliveries for `id`; messages keep queueing under its policy.
    pub fn pause(&mut self, id: SubscriptionId, now: Instant) -> Result<(), UnknownSubscription> {
        self.observe(now);
        let sub = self.subscriber_mut(id)?;
        if !sub.paused {
            sub.paused = true;
            self.emit(TraceKind::Paused, Some(key(id)), None, 0);
            self.refresh(key(id));
        }
        Ok(())
    }

    /// Undoes [`Bus::pause`].
    pub fn resume(&mut self, id: SubscriptionId, now: Instant) -> Result<(), UnknownSubscription> {
        self.observe(now);
        self.fire_due();
        let idle_after = self.config.idle_after;
        let sub = self.subscriber_mut(id)?;
        if sub.paused {
            sub.paused = false;
            // An idle check skipped while paused is due again now.
            if let Some(at) = idle_after.and_then(|after| sub.idle.deadline(after)) {
                let now = self.now;
                self.timers.arm(at.max(now), Timer::Idle(key(id)));
            }
            self.emit(TraceKind::Resumed, Some(key(id)), None, 0);
            self.refresh(key(id));
        }
        Ok(())
    }

    /// Swaps the delivery strategy; every queued message is kept, in order.
    pub fn set_delivery(
        &mut self,
        id: SubscriptionId,
        strategy: DeliveryStrategy,
        now: Instant,
    ) -> Result<(), SubscribeError> {
        validate_strategy(&strategy).map_err(SubscribeError::InvalidOption)?;
        self.observe(now);
        let sub = self.subs.get_mut(key(id)).ok_or_else(|| {
            SubscribeError::InvalidOption(ConfigError::new("subscription", "is not active"))
        })?;
        sub.delivery = strategy;
        sub.batch_timer = None;
        self.emit(TraceKind::StrategySwapped, Some(key(id)), None, 0);
        self.refresh(key(id));
        Ok(())
    }

    /// Makes a batched subscription's queued messages ready now (in batches of at most its
    /// size). No effect on an immediate subscription or an empty queue.
    pub fn flush(&mut self, id: SubscriptionId, now: Instant) -> Result<(), UnknownSubscription> {
        self.observe(now);
        let sub = self.subscriber_mut(id)?;
        if !sub.queue.is_empty() {
            sub.flush_requested = true;
        }
        self.refresh(key(id));
        Ok(())
    }

    /// State and counters of one subscription.
    pub fn subscription(&self, id: SubscriptionId) -> Option<SubscriptionInfo> {
        self.subs.get(key(id)).map(|sub| self.info(key(id), sub))
    }

    /// Every active subscription, in creation order.
    pub fn subscriptions(&self) -> Vec<SubscriptionInfo> {
        let mut subs: Vec<(Key, &Subscriber<P>)> = self.subs.iter().collect();
        crate::sort::sort_by_key(&mut subs, |(_, s)| s.order);
        subs.into_iter().map(|(k, s)| self.info(k, s)).collect()
    }

    /// Whether `id` names an active subscription.
    pub fn is_active(&self, id: SubscriptionId) -> bool {
        self.subs.get(key(id)).is_some()
    }

    // ---- publishing ----

    /// Routes and enqueues a message on every matching subscription.
    ///
    /// Within a consumer group one matching member is picked, round-robin. A subscription that
    /// has accepted its `max_deliveries` is skipped. If any target with the
    /// [`Overflow::Reject`] policy is full, the publish fails with
    /// [`PublishError::Backpressure`] naming it, and nothing changes (no sequence number is
    /// consumed); `drop-oldest` and `drop-newest` targets drop (counted and traced) instead.
    ///
    /// `options.causation` names the message whose handler is publishing; it must be in
    /// flight (handed out and not yet finished) for its depth and correlation to be known.
    /// A publish more than `Config::max_cascade_depth` hops from its root is refused with
    /// [`PublishError::Cascade`].
    ///
    /// The first publish on a topic creates its per-topic entry; past `Config::max_topics`
    /// that evicts the least recently used idle topic (see [`Config::max_topics`]).
    pub fn publish(
        &mut self,
        topic: &str,
        payload: P,
        options: PublishOptions,
        now: Instant,
    ) -> Result<Published, PublishError> {
        // A topic already in the table was validated when first published.
        let known = self.topics.find(topic).is_some();
        if !known {
            validate_topic(topic).map_err(PublishError::InvalidTopic)?;
        }
        if let Some(origin) = &options.origin {
            origin.validate().map_err(PublishError::InvalidOption)?;
        }
        self.observe(now);
        let (depth, inherited) = match options.causation {
            Some(parent) => match self.in_flight_message(parent) {
                Some(message) => (message.depth.saturating_add(1), message.correlation.clone()),
                None => (1, None),
            },
            None => (0, None),
        };
        if depth > self.config.max_cascade_depth {
            self.cascades_refused = self.cascades_refused.saturating_add(1);
            if self.trace.enabled() {
                self.trace.push(
                    now,
                    TraceKind::CascadeRefused,
                    None,
                    options.causation,
                    Some(Arc::from(topic)),
                    u64::from(depth),
                );
            }
            return Err(PublishError::Cascade {
                depth,
                limit: self.config.max_cascade_depth,
            });
        }
        let routes = self.router.route(topic);
        self.select_targets(&routes);
        self.check_backpressure(topic)?;

        // Committed from here on. A new topic may evict idle ones past `Config::max_topics`.
        let born = if known {
            Birth::default()
        } else {
            self.make_topic_room()
        };
        let (topic_index, entry) = self.topics.intern(topic, born);
        self.next_message = self.next_message.saturating_add(1);
        entry.seq = entry.seq.saturating_add(1);
        let targets = self.scratch.len() as u64;
        entry.counters.published = entry.counters.published.saturating_add(1);
        entry.counters.matched = entry.counters.matched.saturating_add(targets);
        self.totals.published = self.totals.published.saturating_add(1);
        self.totals.matched = self.totals.matched.saturating_add(targets);
        let message = Arc::new(Envelope {
            id: MessageId(self.next_message),
            topic: Arc::clone(&entry.name),
            topic_seq: entry.seq,
            published_at: now,
            causation: options.causation,
            correlation: options.correlation.or(inherited),
            depth,
            headers: options.headers,
            expires_at: options.ttl.map(|ttl| now.saturating_add(ttl)),
            origin: options.origin,
            payload,
        });
        if self.config.retain > 0 {
            entry.retained.push_back(Arc::clone(&message));
            if entry.retained.len() > self.config.retain {
                entry.retained.pop_front();
            }
        }
        self.emit(TraceKind::Published, None, Some(&message), targets);
        if let Some(origin) = &message.origin {
            if self.trace.enabled() {
                self.trace.set_last_origin(origin);
            }
        }
        let published = Published {
            id: message.id,
            topic_seq: message.topic_seq,
            matched: self.scratch.len(),
        };
        let targets = core::mem::take(&mut self.scratch);
        for &target in &targets {
            self.enqueue(target, topic_index, Arc::clone(&message));
        }
        self.scratch = targets;
        Ok(published)
    }

    /// The message `id` if it is inside a delivery in flight.
    fn in_flight_message(&self, id: MessageId) -> Option<&Arc<Envelope<P>>> {
        self.in_flight
            .iter()
            .flat_map(|(_, entry)| entry.items.iter())
            .map(|item| &item.message)
            .find(|m| m.id == id)
    }

    /// Fills `scratch` with the subscriptions a message routed to `routes` goes to: skips
    /// saturated `max_deliveries` subscriptions and picks one member per consumer group.
    fn select_targets(&mut self, routes: &[SubscriptionId]) {
        self.scratch.clear();
        let now = self.now;
        let idle_after = self.config.idle_after;
        for &id in routes {
            let k = key(id);
            if let Some(sub) = self.subs.get_mut(k) {
                if let Some(idle_after) = idle_after {
                    let before = sub.idle.deadline(idle_after);
                    sub.idle.on_matched(now);
                    let after = sub.idle.deadline(idle_after);
                    if let (None, Some(at)) = (before, after) {
                        self.timers.arm(at, Timer::Idle(k));
                    }
                }
                if !sub.saturated() {
                    self.scratch.push(k);
                }
            }
        }
        if self.grouped > 0 {
            self.pick_group_members();
        }
    }

    /// Keeps one member of each consumer group in `scratch` (round-robin per group).
    fn pick_group_members(&mut self) {
        let mut chosen: Vec<Key> = Vec::with_capacity(self.scratch.len());
        let mut decided: Vec<&str> = Vec::new();
        for &k in &self.scratch {
            let Some(group) = self.subs.get(k).and_then(|s| s.profile.group.as_deref()) else {
                chosen.push(k);
                continue;
            };
            if decided.contains(&group) {
                continue;
            }
            decided.push(group);
            let members: Vec<Key> = self
                .scratch
                .iter()
                .copied()
                .filter(|m| {
                    self.subs.get(*m).and_then(|s| s.profile.group.as_deref()) == Some(group)
                })
                .collect();
            let cursor = self.groups.entry(String::from(group)).or_insert(0);
            let pick = members.get((*cursor % members.len().max(1) as u64) as usize);
            *cursor = cursor.wrapping_add(1);
            chosen.extend(pick);
        }
        crate::sort::sort_by_key(&mut chosen, |k| {
            self.subs
                .get(*k)
                .map(|s| (core::cmp::Reverse(s.priority), s.order))
        });
        self.scratch = chosen;
    }

    /// Refuses the publish if a `reject` target is full (changing nothing but the refusal
    /// counter and trace).
    fn check_backpressure(&mut self, topic: &str) -> Result<(), PublishError> {
        let full = self.scratch.iter().find_map(|&k| {
            let sub = self.subs.get(k)?;
            (sub.overflow == Overflow::Reject && held(sub) >= sub.capacity).then_some((k, sub))
        });
        let Some((k, sub)) = full else { return Ok(()) };
        let error = PublishError::Backpressure {
            subscription: sid(k),
            name: sub.profile.name.clone(),
            pattern: String::from(sub.pattern.as_str()),
            capacity: sub.capacity,
        };
        self.publishes_rejected = self.publishes_rejected.saturating_add(1);
        if self.trace.enabled() {
            let capacity = sub.capacity as u64;
            self.trace.push(
                self.now,
                TraceKind::Backpressure,
                Some(sid(k)),
                None,
                Some(Arc::from(topic)),
                capacity,
            );
        }
        Err(error)
    }

    /// Puts `message` on `key`'s queue under its overflow policy. The queue is full when the
    /// subscription holds `capacity` messages, counting those in flight (see
    /// [`held`]); in-flight messages are never evicted, so when nothing is waiting the new
    /// message is the one dropped.
    fn enqueue(&mut self, key: Key, topic: u32, message: Arc<Envelope<P>>) {
        let now = self.now;
        let Some(sub) = self.subs.get_mut(key) else {
            return;
        };
        sub.counters.published = sub.counters.published.saturating_add(1);
        sub.counters.matched = sub.counters.matched.saturating_add(1);
        // Dropping the head changes the key the ready index holds for this subscription.
        let mut dropped_head = false;
        let mut evicted = Vec::new();
        let mut full = held(sub) >= sub.capacity;
        if full && sub.overflow != Overflow::DropNewest {
            // Reject was checked before commit; a full reject queue here only arises from
            // replay, which drops the oldest as well. An over-full queue (a shrunk capacity,
            // a restored snapshot) is evicted back under the bound.
            while full {
                let oldest = match sub.queue.pop_front() {
                    Some(item) => Some(item),
                    None if !sub.delayed.is_empty() => Some(sub.delayed.remove(0).1),
                    None => None,
                };
                let Some(old) = oldest else { break };
                dropped_head = true;
                sub.accepted = sub.accepted.saturating_sub(1);
                evicted.push(old);
                full = held(sub) >= sub.capacity;
            }
            if sub.retry_at.is_some() && sub.queue.front().is_none_or(|head| head.attempt <= 1) {
                // The strict-mode retry that held the queue back was evicted.
                sub.retry_at = None;
            }
        }
        for old in evicted {
            self.count(Some(key), old.topic, Count::Dropped);
            self.emit(TraceKind::Dropped, Some(key), Some(&old.message), 0);
        }
        if full {
            // DropNewest, or every message held is in flight: the new one is dropped.
            self.count(Some(key), topic, Count::Dropped);
            self.emit(TraceKind::Dropped, Some(key), Some(&message), 1);
            if dropped_head {
                self.refresh(key);
            }
            return;
        }
        let Some(sub) = self.subs.get_mut(key) else {
            return;
        };
        let expires_at = message.expires_at;
        let id = message.id;
        sub.queue.push_back(Queued {
            message,
            enqueued_at: now,
            first_failure_at: now,
            attempt: 1,
            topic,
        });
        sub.accepted = sub.accepted.saturating_add(1);
        sub.note_depth();
        let depth = sub.depth() as u64;
        let needs_refresh = dropped_head || sub.ready_key.is_none();
        if let Some(at) = expires_at {
            self.timers.arm(at, Timer::Expiry(key, id.0));
        }
        if self.trace.enabled() {
            let message = self
                .subs
                .get(key)
                .and_then(|s| s.queue.back())
                .map(|q| Arc::clone(&q.message));
            self.emit(TraceKind::Enqueued, Some(key), message.as_ref(), depth);
        }
        if needs_refresh {
            self.refresh(key);
        }
    }

    /// The subscriptions a publish on `topic` would reach, in delivery order, from the route
    /// cache, plus the route epoch (changes whenever the subscription set changes).
    ///
    /// This is the raw routing result: consumer-group selection and `max_deliveries`
    /// saturation are applied by [`Bus::publish`] on top of it.
    pub fn routes(&mut self, topic: &str) -> Result<(&[SubscriptionId], u64), TopicError> {
        validate_topic(topic)?;
        self.last_routes = self.router.route(topic);
        Ok((&self.last_routes, self.router.epoch()))
    }

    // ---- delivery ----

    /// The next handler call the host must make, or `None` when nothing is ready.
    ///
    /// Fires any timers due at `now` first (so TTLs, retries and batch windows are honoured
    /// without a separate [`Bus::handle_timeout`] call).
    pub fn poll_delivery(&mut self, now: Instant) -> Option<Delivery<P>> {
        self.observe(now);
        self.fire_due();
        self.discard_stale_timers();
        self.next_delivery()
    }

    /// Reports how a delivery's handler call ended.
    ///
    /// Errors: [`SettleError::UnknownToken`] if the token is not outstanding (finished
    /// already, or its subscription was removed); [`SettleError::TimedOut`] if it timed out
    /// (the outcome is ignored and counted in `late_settles`); [`SettleError::NotPending`]
    /// if it was already reported [`Outcome::Pending`] (use [`Bus::settle`]).
    pub fn complete(
        &mut self,
        token: DeliveryToken,
        outcome: Outcome,
        now: Instant,
    ) -> Result<(), SettleError> {
        self.observe(now);
        self.check_outstanding(token, false)?;
        match outcome {
            Outcome::Pending => {
                // A pending delivery no longer holds back inline dispatch.
                self.bump_inline_epoch();
                let Some(entry) = self.in_flight.get_mut(key_of(token)) else {
                    return Err(SettleError::UnknownToken);
                };
                entry.pending = true;
                let started_at = entry.started_at;
                let timeout = self
                    .subs
                    .get(entry.subscription)
                    .and_then(|s| s.profile.timeout);
                if let Some(timeout) = timeout {
                    self.timers
                        .arm_deadline(started_at.saturating_add(timeout), token);
                }
            }
            Outcome::Delivered => self.finish(token, |bus, entry| bus.finish_success(entry)),
            Outcome::Filtered => self.finish(token, |bus, mut entry| {
                entry.filtered = (0..entry.items.len()).collect();
                bus.finish_success(entry)
            }),
            Outcome::Failed(error) => self.finish(token, |bus, entry| {
                bus.finish_failure(entry, error, DeadLetterReason::HandlerError)
            }),
            Outcome::Rejected(error) => self.finish(token, |bus, entry| {
                bus.finish_failure(entry, error, DeadLetterReason::Rejected)
            }),
        }
        Ok(())
    }

    /// Settles a delivery previously completed as [`Outcome::Pending`]: `Ok` counts as
    /// delivered, `Err(reason)` as a failure that follows the retry policy.
    pub fn settle(
        &mut self,
        token: DeliveryToken,
        result: Result<(), String>,
        now: Instant,
    ) -> Result<(), SettleError> {
        self.observe(now);
        self.fire_due();
        self.check_outstanding(token, true)?;
        match result {
            Ok(()) => self.finish(token, |bus, entry| bus.finish_success(entry)),
            Err(error) => self.finish(token, |bus, entry| {
                bus.finish_failure(entry, error, DeadLetterReason::HandlerError)
            }),
        }
        Ok(())
    }

    /// Checks that `token` is outstanding and in the expected pending state.
    fn check_outstanding(
        &mut self,
        token: DeliveryToken,
        want_pending: bool,
    ) -> Result<(), SettleError> {
        match self.in_flight.get(key_of(token)) {
            Some(entry) if entry.pending == want_pending => Ok(()),
            Some(_) => Err(SettleError::NotPending),
            None if self.timed_out.take(token) => {
                self.late_settles = self.late_settles.saturating_add(1);
                Err(SettleError::TimedOut)
            }
            None => Err(SettleError::UnknownToken),
        }
    }

    fn finish(&mut self, token: DeliveryToken, then: impl FnOnce(&mut Self, InFlight<P>)) {
        if let Some(entry) = self.take_in_flight(token) {
            then(self, entry);
        }
    }

    /// Marks item `index` of an outstanding delivery as rejected by the host's filter: when
    /// the delivery completes, that item counts as filtered rather than delivered or failed.
    pub fn mark_filtered(&mut self, token: DeliveryToken, index: usize) -> Result<(), SettleError> {
        let Some(entry) = self.in_flight.get_mut(key_of(token)) else {
            return Err(SettleError::UnknownToken);
        };
        if index >= entry.items.len() {
            return Err(SettleError::UnknownToken);
        }
        if !entry.filtered.contains(&index) {
            entry.filtered.push(index);
        }
        Ok(())
    }

    // ---- time ----

    /// When the host must next call [`Bus::handle_timeout`] (retry due, batch window,
    /// breaker cooldown, delivery timeout, TTL), if ever. Timers whose cause has gone away
    /// (a pending delivery that settled, a removed subscription) are not reported.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_live_timeout()
    }

    /// Fires everything due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.observe(now);
        self.fire_due();
        self.discard_stale_timers();
    }

    /// True when nothing is queued and ready, nothing is in flight and no retry is pending.
    /// O(1): the subscriptions holding a retry are counted as they change.
    pub fn is_idle(&self) -> bool {
        debug_assert_eq!(
            self.waiting.count(),
            self.subs
                .iter()
                .filter(|(_, s)| s.retry_at.is_some() || !s.delayed.is_empty())
                .count(),
            "the waiting count follows every retry scheduled or released"
        );
        self.ready.is_empty() && self.in_flight.len() == 0 && self.waiting.count() == 0
    }

    // ---- reliability ----

    /// Dead letters, oldest first.
    pub fn dead_letters(&self) -> impl Iterator<Item = &DeadLetter<P>> {
        self.dead.iter()
    }

    /// Moves a dead letter back to the tail of its subscription's queue with attempts reset
    /// to 1 (traced as `redriven`). If the subscription is gone or its queue is full, the
    /// dead letter stays and the error says why.
    pub fn redrive(&mut self, id: DeadLetterId, now: Instant) -> Result<(), RedriveError> {
        self.observe(now);
        let entry = self.dead.get(id).ok_or(RedriveError::UnknownDeadLetter)?;
        let subscription = entry.subscription;
        let sub = self
            .subs
            .get(key(subscription))
            .ok_or(RedriveError::SubscriptionGone(subscription))?;
        if held(sub) >= sub.capacity {
            return Err(RedriveError::QueueFull(subscription));
        }
        let Some(entry) = self.dead.remove(id) else {
            return Err(RedriveError::UnknownDeadLetter);
        };
        // The dead letter's message keeps its topic in the table: this finds it.
        let (topic, _) = self.intern_topic(&entry.message.topic);
        let k = key(subscription);
        self.count_redriven(k, topic);
        self.emit(
            TraceKind::Redriven,
            Some(k),
            Some(&entry.message),
            u64::from(entry.attempts),
        );
        let Some(sub) = self.subs.get_mut(k) else {
            return Ok(());
        };
        sub.queue.push_back(Queued {
            message: entry.message,
            enqueued_at: now,
            first_failure_at: now,
            attempt: 1,
            topic,
        });
        sub.accepted = sub.accepted.saturating_add(1);
        sub.note_depth();
        self.refresh(k);
        Ok(())
    }

    fn count_redriven(&mut self, k: Key, topic: u32) {
        if let Some(sub) = self.subs.get_mut(k) {
            sub.counters.redriven = sub.counters.redriven.saturating_add(1);
        }
        if let Some(counters) = self.topics.counters_mut(topic) {
            counters.redriven = counters.redriven.saturating_add(1);
        }
        self.totals.redriven = self.totals.redriven.saturating_add(1);
    }

    /// Redrives every dead letter that can be; returns how many moved.
    pub fn redrive_all(&mut self, now: Instant) -> usize {
        let ids: Vec<DeadLetterId> = self.dead.iter().map(|d| d.id).collect();
        ids.into_iter()
            .filter(|id| self.redrive(*id, now).is_ok())
            .count()
    }

    /// Drops every dead letter; returns how many.
    pub fn purge_dead_letters(&mut self) -> usize {
        self.dead.purge()
    }

    /// The host's owner object was released (garbage-collected). Every subscription it owned
    /// ends, since the host can no longer reach its handler: `weak` ones are removed and
    /// counted as reclaimed (the owner ending them was intended); any other is reported as a
    /// leak ([`crate::LeakReason::OwnerReleased`]: it was never unsubscribed), then removed.
    /// Those reports stay in [`Bus::leaks`] (the latest
    /// [`MAX_RELEASED_REPORTS`](crate::bus::MAX_RELEASED_REPORTS)); snapshots do not carry
    /// them.
    pub fn owner_released(&mut self, owner: OwnerId, now: Instant) {
        self.observe(now);
        self.release_owner(owner);
    }

    /// Current leak reports: patterns over `max_listeners`, subscriptions whose owner was
    /// released, idle subscriptions and a rising subscription count.
    pub fn leaks(&mut self, now: Instant) -> Vec<LeakReport> {
        self.observe(now);
        self.leak_reports()
    }

    // ---- observability ----

    /// Counters, gauges and latency percentiles.
    pub fn metrics(&self) -> BusMetrics {
        self.collect_metrics()
    }

    /// Trace events at or after `cursor`.
    pub fn trace_since(&self, cursor: u64) -> TraceBatch {
        self.trace.since(cursor)
    }

    /// Resizes the trace ring (0 turns tracing off and clears it).
    pub fn set_trace_capacity(&mut self, capacity: usize) {
        self.trace.set_capacity(capacity);
        self.bump_inline_epoch();
    }
}
