//! Fuzzes arbitrary sequences of bus operations, as a host would make them, including bad
//! input, stale ids and tokens, failures, timeouts, breakers, TTLs, redrive, purge, owners,
//! leak checks and snapshot/restore (through JSON or not) at random points; and publishes
//! delivered inline with the protocol of the JavaScript glue (cached route and numbers from
//! `inline_route` / `record_inline(route, 0)`, batches recorded with
//! `record_inline_delivered` before any other call, in publish order or summed per route, a
//! handler that throws, returns a promise or calls the bus handed over with `inline_adopt`),
//! plus late records and adoptions on stale, foreign or evicted routes.
//!
//! After every operation it checks that nothing panicked and that conservation holds: every
//! (message, subscription) pair routed (plus every redrive) is delivered, filtered, dropped,
//! dead-lettered, still queued or in flight; and every dead letter is held, evicted,
//! redriven or purged.
#![no_main]

use core::time::Duration;
use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use switchyard_core::snapshot::{SerdeCodec, Snapshot};
use switchyard_core::{
    BreakerPolicy, Bus, Config, DeliveryStrategy, DeliveryToken, InlineError, InlineRoute, Instant,
    Jitter, MessageId, OrderingMode, Outcome, Overflow, OwnerId, PublishOptions, RetryPolicy,
    SubscribeOptions, SubscriptionId,
};

const PATTERNS: [&str; 8] = ["a", "a.*", "a.**", "**", "b.c", "*.c", "**.c", "a.*.**"];
const TOPICS: [&str; 5] = ["a", "a.b", "b.c", "a.c", "a.b.c"];

#[derive(Arbitrary, Debug)]
struct Setup {
    retain: u8,
    dead_letter_capacity: u8,
    max_listeners: u8,
    trace_capacity: u8,
    max_attempts: u8,
    jitter: u8,
    timeout: Option<u8>,
    idle_after: Option<u8>,
    trend_window: Option<u8>,
    max_cascade_depth: u8,
    max_topics: u8,
    seed: u64,
}

#[derive(Arbitrary, Debug)]
struct SubscribeArgs {
    pattern: u8,
    priority: i8,
    capacity: u8,
    overflow: u8,
    batched: Option<(u8, u8)>,
    relaxed: bool,
    concurrency: u8,
    breaker: Option<(u8, u8, bool)>,
    max_deliveries: Option<u8>,
    group: Option<bool>,
    replay: u8,
    retry: Option<(u8, u8)>,
    timeout: Option<u8>,
    owner: Option<(u8, bool)>,
    has_filter: bool,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Subscribe(SubscribeArgs),
    SubscribeRaw(String),
    Unsubscribe(u8),
    Publish {
        topic: u8,
        payload: u32,
        ttl: Option<u8>,
        caused_by: Option<u8>,
    },
    PublishRaw(String),
    Poll,
    Complete {
        pick: u8,
        outcome: u8,
    },
    Settle {
        pick: u8,
        ok: bool,
    },
    MarkFiltered {
        pick: u8,
        index: u8,
    },
    Advance(u16),
    HandleTimeout,
    Pause(u8),
    Resume(u8),
    Flush(u8),
    SetDelivery {
        pick: u8,
        batched: Option<(u8, u8)>,
    },
    Redrive(u8),
    RedriveAll,
    Purge,
    OwnerReleased(u8),
    Leaks,
    Routes(u8),
    Trace(u8),
    SetTraceCapacity(u8),
    Inspect(u8),
    SnapshotRestore {
        through_json: bool,
    },
    /// Restores a copy from a snapshot with one JSON leaf changed (or one array element
    /// removed): restore must refuse it or return a bus that works without panicking.
    CorruptRestore {
        leaf: u16,
        value: u64,
        remove: bool,
        ops_after: Vec<u8>,
    },
    /// A top-level publish the host delivers inline when its route is eligible (else the
    /// slow path). `acts[n]` is what the handler of the route's `n`th subscription does:
    /// returns (most values), throws, returns a promise, or calls the bus (a publish or an
    /// unsubscribe). Consecutive inline publishes form one batch.
    InlinePublish {
        topic: u8,
        payload: u32,
        acts: Vec<u8>,
    },
    /// Records publishes against a route seen earlier (perhaps stale, ineligible, or of an
    /// evicted topic): never refused unless the topic is gone, never breaks conservation.
    InlineLateRecord {
        pick: u8,
        publishes: u8,
    },
    /// Adopts a message on a route seen earlier, at any point of its dispatch.
    InlineLateAdopt {
        pick: u8,
        delivered: u8,
        running: bool,
        payload: u32,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    setup: Setup,
    ops: Vec<Op>,
}

fn ms(n: impl Into<u64>) -> Duration {
    Duration::from_millis(n.into())
}

fn config(s: &Setup) -> Config {
    Config {
        capacity: 4,
        retain: usize::from(s.retain % 4),
        dead_letter_capacity: usize::from(s.dead_letter_capacity % 6),
        max_listeners: usize::from(s.max_listeners % 4),
        trace_capacity: usize::from(s.trace_capacity % 64),
        retry: RetryPolicy {
            max_attempts: u32::from(s.max_attempts % 4).max(1),
            backoff: ms(5u8),
            factor: 2.0,
            max_backoff: ms(40u8),
            jitter: match s.jitter % 3 {
                0 => Jitter::None,
                1 => Jitter::Full,
                _ => Jitter::Proportional(0.5),
            },
        },
        timeout: s.timeout.map(|t| ms(t % 50 + 1)),
        idle_after: s.idle_after.map(|t| ms(t % 100 + 1)),
        trend_window: s.trend_window.map(|t| ms(t % 50 + 1)),
        trend_windows: 2,
        max_cascade_depth: u32::from(s.max_cascade_depth % 4),
        // A handful of topics, so most runs evict.
        max_topics: usize::from(s.max_topics % 6) + 1,
        seed: s.seed,
        ..Config::default()
    }
}

fn options(a: &SubscribeArgs) -> SubscribeOptions {
    SubscribeOptions {
        name: Some(format!("sub{}", a.pattern)),
        priority: i32::from(a.priority % 3),
        max_deliveries: a.max_deliveries.map(|m| u32::from(m % 4)),
        has_filter: a.has_filter,
        group: a.group.map(|g| if g { "g1".into() } else { "g2".into() }),
        replay: usize::from(a.replay % 4),
        capacity: Some(usize::from(a.capacity % 5)),
        overflow: Some(match a.overflow % 3 {
            0 => Overflow::Reject,
            1 => Overflow::DropOldest,
            _ => Overflow::DropNewest,
        }),
        delivery: strategy(a.batched),
        concurrency: u32::from(a.concurrency % 3),
        ordering: if a.relaxed {
            OrderingMode::Relaxed
        } else {
            OrderingMode::Strict
        },
        retry: a.retry.map(|(attempts, backoff)| RetryPolicy {
            max_attempts: u32::from(attempts % 4),
            backoff: ms(backoff % 20),
            factor: 1.5,
            max_backoff: ms(30u8),
            jitter: Jitter::None,
        }),
        timeout: a.timeout.map(|t| ms(t % 30)),
        breaker: a.breaker.map(|(failures, cooldown, ratio)| BreakerPolicy {
            failures: u32::from(failures % 3),
            cooldown: ms(cooldown % 40),
            failure_ratio: ratio.then_some((0.5, u32::from(failures % 70))),
        }),
        owner: a.owner.map(|(o, _)| OwnerId(u64::from(o % 3))),
        weak: a.owner.is_some_and(|(_, weak)| weak),
        stack: None,
    }
}

fn strategy(batched: Option<(u8, u8)>) -> DeliveryStrategy {
    match batched {
        None => DeliveryStrategy::Immediate,
        Some((size, wait)) => DeliveryStrategy::Batched {
            size: usize::from(size % 4),
            max_wait: ms(wait % 30),
        },
    }
}

struct Outstanding {
    token: DeliveryToken,
    /// The message (of the first item) being delivered: what a handler's publish is caused by.
    message: MessageId,
    pending: bool,
}

/// The inline host's own state, as the glue keeps it.
#[derive(Default)]
struct InlineHost {
    /// Cached routes by topic index, valid while their epoch is the bus's.
    cached: BTreeMap<usize, InlineRoute>,
    /// The next id the host hands out (from `record_inline(route, 0)`, then counted).
    next_id: u64,
    /// The batch: runs of publishes on one route, with the id of each run's first publish.
    batch: Vec<(InlineRoute, u32, u64)>,
    /// Routes seen lately, for late records and adoptions.
    seen: Vec<InlineRoute>,
}

struct Harness {
    config: Config,
    bus: Bus<u32>,
    now: Instant,
    subs: Vec<SubscriptionId>,
    outstanding: Vec<Outstanding>,
    purged: u64,
    inline: InlineHost,
}

fn pick<T>(items: &[T], at: u8) -> Option<usize> {
    (!items.is_empty()).then(|| usize::from(at) % items.len())
}

impl Harness {
    fn sub(&self, at: u8) -> SubscriptionId {
        match pick(&self.subs, at) {
            Some(i) => self.subs[i],
            // A never-issued id: every call must refuse it cleanly.
            None => SubscriptionId {
                index: u32::from(at),
                generation: 7,
            },
        }
    }

    fn apply(&mut self, op: &Op) {
        let now = self.now;
        // Any engine call but an inline publish on a cached route: the batch is recorded
        // first (an inline publish whose route must be queried records it itself).
        if !matches!(op, Op::InlinePublish { .. }) {
            self.flush_inline();
            self.inline.cached.clear();
        }
        match op {
            Op::Subscribe(args) => {
                if let Ok(id) = self.bus.subscribe(
                    PATTERNS[usize::from(args.pattern) % PATTERNS.len()],
                    options(args),
                    now,
                ) {
                    self.subs.push(id);
                }
            }
            Op::SubscribeRaw(pattern) => {
                if let Ok(id) = self
                    .bus
                    .subscribe(pattern, SubscribeOptions::default(), now)
                {
                    self.subs.push(id);
                }
            }
            Op::Unsubscribe(at) => {
                let id = self.sub(*at);
                self.bus.unsubscribe(id, now);
            }
            Op::Publish {
                topic,
                payload,
                ttl,
                caused_by,
            } => {
                let causation = caused_by
                    .and_then(|c| pick(&self.outstanding, c))
                    .map(|i| self.outstanding[i].message);
                let options = PublishOptions {
                    ttl: ttl.map(|t| ms(t % 60)),
                    causation,
                    headers: vec![("k".into(), "v".into())],
                    ..PublishOptions::default()
                };
                let _ = self.bus.publish(
                    TOPICS[usize::from(*topic) % TOPICS.len()],
                    *payload,
                    options,
                    now,
                );
            }
            Op::PublishRaw(topic) => {
                let _ = self.bus.publish(topic, 0, PublishOptions::default(), now);
            }
            Op::Poll => {
                if let Some(delivery) = self.bus.poll_delivery(now) {
                    assert!(
                        !delivery.items.is_empty(),
                        "a delivery carries at least one item"
                    );
                    self.outstanding.push(Outstanding {
                        token: delivery.token,
                        message: delivery.items[0].message.id,
                        pending: false,
                    });
                }
            }
            Op::Complete { pick: at, outcome } => {
                let Some(i) = pick(&self.outstanding, *at) else {
                    return;
                };
                let token = self.outstanding[i].token;
                let outcome = match outcome % 5 {
                    0 => Outcome::Delivered,
                    1 => Outcome::Filtered,
                    2 => Outcome::Failed("boom".into()),
                    3 => Outcome::Rejected("no".into()),
                    _ => Outcome::Pending,
                };
                let pending = outcome == Outcome::Pending;
                let result = self.bus.complete(token, outcome, now);
                if result.is_ok() && pending {
                    self.outstanding[i].pending = true;
                } else if !(self.outstanding[i].pending && result.is_err()) {
                    self.outstanding.swap_remove(i);
                }
            }
            Op::Settle { pick: at, ok } => {
                let Some(i) = pick(&self.outstanding, *at) else {
                    return;
                };
                let token = self.outstanding[i].token;
                let result = if *ok { Ok(()) } else { Err("late boom".into()) };
                let settled = self.bus.settle(token, result, now);
                if settled.is_ok() || self.outstanding[i].pending {
                    self.outstanding.swap_remove(i);
                }
            }
            Op::MarkFiltered { pick: at, index } => {
                let Some(i) = pick(&self.outstanding, *at) else {
                    return;
                };
                let token = self.outstanding[i].token;
                let _ = self.bus.mark_filtered(token, usize::from(*index % 4));
            }
            Op::Advance(by) => {
                self.now = now.saturating_add(ms(*by % 200));
                self.bus.handle_timeout(self.now);
            }
            Op::HandleTimeout => {
                if let Some(at) = self.bus.poll_timeout() {
                    self.now = self.now.max(at);
                    self.bus.handle_timeout(self.now);
                }
            }
            Op::Pause(at) => {
                let _ = self.bus.pause(self.sub(*at), now);
            }
            Op::Resume(at) => {
                let _ = self.bus.resume(self.sub(*at), now);
            }
            Op::Flush(at) => {
                let _ = self.bus.flush(self.sub(*at), now);
            }
            Op::SetDelivery { pick: at, batched } => {
                let id = self.sub(*at);
                let _ = self.bus.set_delivery(id, strategy(*batched), now);
            }
            Op::Redrive(at) => {
                let ids: Vec<_> = self.bus.dead_letters().map(|d| d.id).collect();
                if let Some(i) = pick(&ids, *at) {
                    let _ = self.bus.redrive(ids[i], now);
                }
            }
            Op::RedriveAll => {
                self.bus.redrive_all(now);
            }
            Op::Purge => {
                self.purged += self.bus.purge_dead_letters() as u64;
            }
            Op::OwnerReleased(owner) => self.bus.owner_released(OwnerId(u64::from(owner % 3)), now),
            Op::Leaks => {
                for report in self.bus.leaks(now) {
                    assert!(!report.pattern.is_empty());
                }
            }
            Op::Routes(topic) => {
                let _ = self.bus.routes(TOPICS[usize::from(*topic) % TOPICS.len()]);
            }
            Op::Trace(cursor) => {
                let batch = self.bus.trace_since(u64::from(*cursor));
                assert!(batch.events.windows(2).all(|w| w[0].cursor < w[1].cursor));
            }
            Op::SetTraceCapacity(capacity) => {
                self.bus.set_trace_capacity(usize::from(capacity % 32))
            }
            Op::Inspect(at) => {
                let id = self.sub(*at);
                if let Some(info) = self.bus.subscription(id) {
                    // The capacity bounds every message held, in flight included (no
                    // operation here shrinks a capacity, the one way past it).
                    assert!(
                        info.depth + info.in_flight_messages <= info.capacity,
                        "{info:?}"
                    );
                }
                let _ = self.bus.subscriptions();
                let _ = self.bus.is_idle();
            }
            Op::SnapshotRestore { through_json } => self.snapshot_restore(*through_json),
            Op::CorruptRestore {
                leaf,
                value,
                remove,
                ops_after,
            } => self.corrupt_restore(*leaf, *value, *remove, ops_after),
            Op::InlinePublish {
                topic,
                payload,
                acts,
            } => self.inline_publish(usize::from(*topic) % TOPICS.len(), *payload, acts),
            Op::InlineLateRecord {
                pick: at,
                publishes,
            } => {
                if let Some(i) = pick(&self.inline.seen, *at) {
                    let route = self.inline.seen[i].clone();
                    match self
                        .bus
                        .record_inline_delivered(&route, u32::from(*publishes % 4), now)
                    {
                        Ok(_) | Err(InlineError::UnknownTopic(_)) => {}
                        Err(error) => {
                            panic!("a late record is only refused for its topic: {error}")
                        }
                    }
                }
            }
            Op::InlineLateAdopt {
                pick: at,
                delivered,
                running,
                payload,
            } => {
                if let Some(i) = pick(&self.inline.seen, *at) {
                    let route = self.inline.seen[i].clone();
                    let adopted = self.bus.inline_adopt(
                        &route,
                        usize::from(*delivered % 4),
                        *running,
                        *payload,
                        now,
                    );
                    if let Ok(adopted) = adopted {
                        if let Some(token) = adopted.running {
                            self.outstanding.push(Outstanding {
                                token,
                                message: adopted.message.id,
                                pending: false,
                            });
                        }
                    }
                }
            }
        }
    }

    /// The glue's cached route for `topic`, re-queried (after recording the batch: the
    /// engine answers with the next id) when the epoch moved; `None` for the slow path.
    fn inline_route(&mut self, topic: usize) -> Option<InlineRoute> {
        if let Some(route) = self.inline.cached.get(&topic) {
            if route.epoch == self.bus.inline_epoch() {
                return Some(route.clone());
            }
        }
        self.flush_inline();
        self.inline.cached.remove(&topic);
        let route = self.bus.inline_route(TOPICS[topic]).expect("a valid topic");
        if self.inline.seen.len() >= 8 {
            self.inline.seen.remove(0);
        }
        self.inline.seen.push(route.clone());
        if !route.eligible {
            return None;
        }
        match self.bus.record_inline(&route, 0, self.now) {
            Ok(receipt) => {
                assert_eq!(receipt.count, 0, "0 publishes record nothing");
                self.inline.next_id = receipt.first.id.0;
                self.inline.cached.insert(topic, route.clone());
                Some(route)
            }
            // A timer fell due and changed the epoch: the slow path.
            Err(InlineError::Stale) => None,
            Err(error) => panic!("a fresh eligible route was refused: {error}"),
        }
    }

    /// One top-level publish, inline when its route is eligible.
    fn inline_publish(&mut self, topic: usize, payload: u32, acts: &[u8]) {
        let Some(route) = self.inline_route(topic) else {
            self.flush_inline();
            self.inline.cached.clear();
            let _ = self
                .bus
                .publish(TOPICS[topic], payload, PublishOptions::default(), self.now);
            return;
        };
        let id = self.inline.next_id;
        self.inline.next_id += 1;
        match self.inline.batch.last_mut() {
            Some((last, count, _)) if last.topic == route.topic => *count += 1,
            _ => self.inline.batch.push((route.clone(), 1, id)),
        }
        for n in 0..route.subscriptions.len() {
            let act = acts.get(n).copied().unwrap_or(0) % 12;
            if act < 8 {
                continue; // returned
            }
            // Throws, returns a promise or calls the bus: hand the message over first, with
            // the batch before it.
            let mut pairs = self.batch_pairs();
            if let Some((_, count, _)) = pairs.last_mut() {
                *count -= 1;
            }
            self.record_pairs(&pairs);
            let adopted = self
                .bus
                .inline_adopt(&route, n, true, payload, self.now)
                .expect("a route recorded before any other call is never refused");
            assert_eq!(adopted.message.id.0, id, "the id the handlers saw");
            self.inline.cached.clear();
            let outcome = match act {
                8 => Outcome::Failed("thrown".into()),
                9 => Outcome::Pending,
                10 => {
                    let options = PublishOptions {
                        causation: Some(adopted.message.id),
                        ..PublishOptions::default()
                    };
                    let topic = TOPICS[usize::from(payload as u8) % TOPICS.len()];
                    let _ = self.bus.publish(topic, payload, options, self.now);
                    Outcome::Delivered
                }
                _ => {
                    let victim = self.sub(payload as u8);
                    self.bus.unsubscribe(victim, self.now);
                    Outcome::Delivered
                }
            };
            if let Some(token) = adopted.running {
                let pending = outcome == Outcome::Pending;
                // Refused only when the handler removed its own subscription.
                if self.bus.complete(token, outcome, self.now).is_ok() && pending {
                    self.outstanding.push(Outstanding {
                        token,
                        message: adopted.message.id,
                        pending: true,
                    });
                }
            }
            return;
        }
    }

    /// The batch as the glue writes it: runs in publish order while the trace ring is on,
    /// else one pair per route summing its publishes, the last publish's route last.
    fn batch_pairs(&mut self) -> Vec<(InlineRoute, u32, u64)> {
        let runs = std::mem::take(&mut self.inline.batch);
        if self.bus.inline_runs_ordered() || runs.is_empty() {
            return runs;
        }
        let current = runs[runs.len() - 1].0.topic;
        let mut summed: Vec<(InlineRoute, u32, u64)> = Vec::new();
        for (route, count, first) in runs {
            match summed.iter_mut().find(|(r, _, _)| r.topic == route.topic) {
                Some((_, total, _)) => *total += count,
                None => summed.push((route, count, first)),
            }
        }
        let at = summed
            .iter()
            .position(|(r, _, _)| r.topic == current)
            .expect("the current route is in the batch");
        let last = summed.remove(at);
        summed.push(last);
        summed
    }

    /// Records `pairs` with `record_inline_delivered`; in publish order, each run gets the ids
    /// its handlers saw.
    fn record_pairs(&mut self, pairs: &[(InlineRoute, u32, u64)]) {
        let ordered = self.bus.inline_runs_ordered();
        for (route, count, first) in pairs {
            let receipt = self
                .bus
                .record_inline_delivered(route, *count, self.now)
                .expect("a batch recorded before any other call is never refused");
            if ordered && *count > 0 {
                assert_eq!(receipt.first.id.0, *first, "the ids the handlers saw");
            }
        }
    }

    /// Records the batch (before any other engine call).
    fn flush_inline(&mut self) {
        let pairs = self.batch_pairs();
        self.record_pairs(&pairs);
    }

    fn snapshot_restore(&mut self, through_json: bool) {
        let before = self.bus.metrics();
        let snapshot = self
            .bus
            .snapshot(&SerdeCodec)
            .expect("u32 payloads always encode");
        let snapshot = if through_json {
            let json = serde_json::to_string(&snapshot).expect("a snapshot serialises");
            serde_json::from_str::<Snapshot<u32>>(&json).expect("a snapshot deserialises")
        } else {
            snapshot
        };
        let restored = match Bus::restore(self.config.clone(), snapshot, &SerdeCodec, self.now) {
            Ok(restored) => restored,
            Err(error) => panic!("a live bus's snapshot must restore: {error}"),
        };
        let after = restored.bus.metrics();
        assert_eq!(after.totals, before.totals);
        assert_eq!(after.queued, before.queued + before.in_flight_messages);
        assert_eq!(after.dead_letters, before.dead_letters);
        assert_eq!(after.active_subscriptions, before.active_subscriptions);
        self.subs = self
            .subs
            .iter()
            .map(|old| restored.new_id(*old).unwrap_or(*old))
            .collect();
        self.bus = restored.bus;
        // Deliveries in flight died with the old bus; their messages are queued again. Its
        // routes belong to it.
        self.outstanding.clear();
        self.inline.seen.clear();
    }

    fn corrupt_restore(&mut self, leaf: u16, value: u64, remove: bool, ops_after: &[u8]) {
        let snapshot = self
            .bus
            .snapshot(&SerdeCodec)
            .expect("u32 payloads always encode");
        let mut json = serde_json::to_value(&snapshot).expect("a snapshot serialises");
        if !mutate(&mut json, usize::from(leaf), value, remove) {
            return;
        }
        let Ok(corrupted) = serde_json::from_value::<Snapshot<u32>>(json) else {
            return;
        };
        let Ok(restored) = Bus::restore(self.config.clone(), corrupted, &SerdeCodec, self.now)
        else {
            return;
        };
        // Accepted: the copy must work (no conservation check: its counters may be edited).
        let mut copy = Harness {
            config: self.config.clone(),
            bus: restored.bus,
            now: self.now,
            subs: restored.subscriptions.iter().map(|(_, new)| *new).collect(),
            outstanding: Vec::new(),
            purged: 0,
            inline: InlineHost::default(),
        };
        for (i, byte) in ops_after.iter().take(32).enumerate() {
            let op = match byte % 8 {
                0 => Op::Poll,
                1 => Op::Complete {
                    pick: *byte,
                    outcome: byte / 8,
                },
                2 => Op::Advance(u16::from(*byte)),
                3 => Op::Publish {
                    topic: *byte,
                    payload: i as u32,
                    ttl: None,
                    caused_by: None,
                },
                4 => Op::RedriveAll,
                5 => Op::Leaks,
                6 => Op::Unsubscribe(*byte),
                _ => Op::SnapshotRestore { through_json: true },
            };
            copy.apply(&op);
            let _ = copy.bus.metrics();
        }
    }

    fn check_conservation(&self) {
        let m = self.bus.metrics();
        let t = m.totals;
        let held = t.delivered
            + t.filtered
            + t.dropped
            + t.dead_lettered
            + m.queued as u64
            + m.in_flight_messages as u64;
        assert_eq!(
            t.matched + t.redriven,
            held,
            "conservation: {t:?} queued {} in flight {}",
            m.queued,
            m.in_flight_messages
        );
        // Each subscription's in-flight message count (kept as deliveries start and finish)
        // adds up to the messages in the bus's in-flight table.
        let counted: usize = self
            .bus
            .subscriptions()
            .iter()
            .map(|info| info.in_flight_messages)
            .sum();
        assert_eq!(counted, m.in_flight_messages, "in-flight message counts");
        assert_eq!(
            m.dead_letters as u64 + m.dead_letters_evicted + t.redriven + self.purged,
            t.dead_lettered,
            "dead letters: {m:?}"
        );
    }
}

/// Changes the `leaf`-th number (depth first) of `json` to `value` (or a boundary value), or
/// with `remove`, drops the `leaf`-th array element. Returns false if there is no such leaf.
fn mutate(json: &mut serde_json::Value, leaf: usize, value: u64, remove: bool) -> bool {
    fn walk(json: &mut serde_json::Value, target: &mut usize, value: u64, remove: bool) -> bool {
        use serde_json::Value;
        match json {
            Value::Number(n) if !remove => {
                if *target == 0 {
                    let replacement = match value % 4 {
                        0 => 0,
                        1 => n.as_u64().map_or(1, |v| v.wrapping_add(1)),
                        2 => u64::MAX,
                        _ => value,
                    };
                    *n = replacement.into();
                    return true;
                }
                *target -= 1;
                false
            }
            Value::Array(items) => {
                if remove && !items.is_empty() {
                    if *target == 0 {
                        items.remove((value as usize) % items.len());
                        return true;
                    }
                    *target -= 1;
                }
                items
                    .iter_mut()
                    .any(|item| walk(item, target, value, remove))
            }
            Value::Object(fields) => fields
                .values_mut()
                .any(|item| walk(item, target, value, remove)),
            _ => false,
        }
    }
    let mut target = leaf;
    walk(json, &mut target, value, remove)
}

fuzz_target!(|input: Input| {
    let config = config(&input.setup);
    let Ok(bus) = Bus::new(config.clone()) else {
        return;
    };
    let mut harness = Harness {
        config,
        bus,
        now: Instant::ZERO,
        subs: Vec::new(),
        outstanding: Vec::new(),
        purged: 0,
        inline: InlineHost::default(),
    };
    for op in input.ops.iter().take(256) {
        harness.apply(op);
        harness.check_conservation();
    }
    harness.flush_inline();
    harness.check_conservation();
});
