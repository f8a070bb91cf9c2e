//! Property tests: random sequences of bus operations, checking conservation, per-subscription
//! FIFO, priority order within a message, and that counters equal what the host observed.

use core::time::Duration;
use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;
use switchyard_core::{
    BreakerPolicy, Bus, Config, Delivery, DeliveryItem, DeliveryStrategy, Envelope, InlineError,
    Instant, OrderingMode, Outcome, Overflow, PublishOptions, RetryPolicy, SubscribeOptions,
    SubscriptionId,
};

const PATTERNS: [&str; 6] = ["a", "a.*", "a.**", "**", "b.c", "*.c"];
const TOPICS: [&str; 4] = ["a", "a.b", "b.c", "a.c"];

#[derive(Clone, Debug)]
enum Op {
    Subscribe {
        pattern: usize,
        priority: i32,
        capacity: usize,
        overflow: u8,
        batched: bool,
        relaxed: bool,
        concurrency: u32,
        breaker: bool,
    },
    Unsubscribe(usize),
    Publish {
        topic: usize,
        ttl: Option<u64>,
    },
    Poll,
    Complete {
        pick: usize,
        outcome: u8,
    },
    Settle {
        pick: usize,
        ok: bool,
    },
    MarkFiltered {
        pick: usize,
        index: usize,
    },
    Advance(u64),
    Swap {
        pick: usize,
        batched: bool,
    },
    Pause(usize),
    Resume(usize),
    Flush(usize),
    Redrive,
    /// A publish the host delivers inline when the route is eligible (else the slow path);
    /// `outcomes` picks, per subscription of the route, ok / throw / promise.
    InlinePublish {
        topic: usize,
        outcomes: Vec<u8>,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0..PATTERNS.len(), -2..3i32, 1..6usize, 0..3u8, any::<bool>(), any::<bool>(), 1..3u32, any::<bool>()).prop_map(
            |(pattern, priority, capacity, overflow, batched, relaxed, concurrency, breaker)| Op::Subscribe {
                pattern, priority, capacity, overflow, batched: batched && priority == 0, relaxed, concurrency, breaker
            }
        ),
        1 => (0..8usize).prop_map(Op::Unsubscribe),
        5 => (0..TOPICS.len(), prop::option::weighted(0.2, 1..80u64)).prop_map(|(topic, ttl)| Op::Publish { topic, ttl }),
        6 => Just(Op::Poll),
        5 => (0..4usize, 0..5u8).prop_map(|(pick, outcome)| Op::Complete { pick, outcome }),
        2 => (0..4usize, any::<bool>()).prop_map(|(pick, ok)| Op::Settle { pick, ok }),
        1 => (0..4usize, 0..3usize).prop_map(|(pick, index)| Op::MarkFiltered { pick, index }),
        2 => (1..60u64).prop_map(Op::Advance),
        1 => (0..8usize, any::<bool>()).prop_map(|(pick, batched)| Op::Swap { pick, batched }),
        1 => (0..8usize).prop_map(Op::Pause),
        1 => (0..8usize).prop_map(Op::Resume),
        1 => (0..8usize).prop_map(Op::Flush),
        1 => Just(Op::Redrive),
        4 => (0..TOPICS.len(), prop::collection::vec(0..8u8, 0..6))
            .prop_map(|(topic, outcomes)| Op::InlinePublish { topic, outcomes }),
    ]
}

/// What the host saw.
#[derive(Default)]
struct Observed {
    delivered: u64,
    filtered: u64,
    /// Message ids handed to each subscription on their first attempt, in order (FIFO check).
    handed: BTreeMap<SubscriptionId, Vec<u64>>,
    /// Subscriptions that received a redriven message (a second first attempt).
    fifo_exempt: Vec<SubscriptionId>,
    per_sub_delivered: BTreeMap<SubscriptionId, u64>,
}

struct Outstanding {
    delivery: Delivery<u32>,
    pending: bool,
    filtered: Vec<usize>,
}

fn check_conservation(bus: &Bus<u32>) -> Result<(), TestCaseError> {
    let m = bus.metrics();
    let t = m.totals;
    let held = t.delivered
        + t.filtered
        + t.dropped
        + t.dead_lettered
        + m.queued as u64
        + m.in_flight_messages as u64;
    prop_assert_eq!(
        t.matched + t.redriven,
        held,
        "conservation broken: {:?} {:?}",
        t,
        (m.queued, m.in_flight_messages)
    );
    prop_assert_eq!(
        m.dead_letters as u64 + m.dead_letters_evicted + t.redriven,
        t.dead_lettered
    );
    for (id, stats) in &m.subscriptions {
        let c = stats.counters;
        let info = bus.subscription(*id).unwrap();
        // The difference is what is in flight for this subscription.
        prop_assert!(
            c.delivered + c.filtered + c.dropped + c.dead_lettered + info.depth as u64
                <= c.matched + c.redriven
        );
    }
    Ok(())
}

/// Which bus the random operations drive.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Flavour {
    /// Trace ring, retention and host filters on: inline dispatch is never eligible.
    Featured,
    /// Plain subscriptions, no trace, no retention: inline dispatch is eligible often.
    Inline,
}

fn run(ops: Vec<Op>, flavour: Flavour) -> Result<(), TestCaseError> {
    let featured = flavour == Flavour::Featured;
    let config = Config {
        retry: RetryPolicy {
            max_attempts: 2,
            backoff: Duration::from_millis(10),
            ..RetryPolicy::default()
        },
        timeout: Some(Duration::from_millis(40)),
        dead_letter_capacity: 100_000,
        trace_capacity: if featured { 256 } else { 0 },
        retain: if featured { 2 } else { 0 },
        ..Config::default()
    };
    let mut bus: Bus<u32> = Bus::new(config).unwrap();
    let mut now = 0u64;
    let mut subs: Vec<SubscriptionId> = Vec::new();
    let mut outstanding: Vec<Outstanding> = Vec::new();
    let mut seen = Observed::default();
    let mut payload = 0u32;

    for op in ops {
        let t = Instant::from_millis(now);
        match op {
            Op::Subscribe {
                pattern,
                priority,
                capacity,
                overflow,
                batched,
                relaxed,
                concurrency,
                breaker,
            } => {
                let options = SubscribeOptions {
                    priority,
                    capacity: Some(capacity),
                    overflow: Some(
                        [Overflow::Reject, Overflow::DropOldest, Overflow::DropNewest]
                            [overflow as usize],
                    ),
                    delivery: if batched {
                        DeliveryStrategy::Batched {
                            size: 2,
                            max_wait: Duration::from_millis(20),
                        }
                    } else {
                        DeliveryStrategy::Immediate
                    },
                    ordering: if relaxed {
                        OrderingMode::Relaxed
                    } else {
                        OrderingMode::Strict
                    },
                    concurrency,
                    breaker: (breaker && featured).then_some(BreakerPolicy {
                        failures: 2,
                        cooldown: Duration::from_millis(30),
                        failure_ratio: None,
                    }),
                    replay: 1,
                    has_filter: featured,
                    ..Default::default()
                };
                let id = bus.subscribe(PATTERNS[pattern], options, t).unwrap();
                subs.push(id);
            }
            Op::Unsubscribe(i) => {
                if let Some(id) = subs.get(i % subs.len().max(1)).copied() {
                    bus.unsubscribe(id, t);
                    subs.retain(|s| *s != id);
                }
            }
            Op::Publish { topic, ttl } => {
                payload += 1;
                let options = PublishOptions {
                    ttl: ttl.map(Duration::from_millis),
                    ..Default::default()
                };
                let _ = bus.publish(TOPICS[topic], payload, options, t);
            }
            Op::InlinePublish { topic, outcomes } => {
                payload += 1;
                if !featured {
                    // A top-level emit: the host is not inside a handler, so it finishes the
                    // synchronous deliveries it holds, and (sometimes) drains what is ready.
                    let drain_first = outcomes.first().is_some_and(|o| o % 2 == 1);
                    finish_synchronous(&mut bus, &mut outstanding, &mut seen, t, drain_first);
                }
                // A timer due at `t` fires inside `record_inline` and may move the epoch: the
                // documented answer is `Stale`, and the host re-queries the route once.
                let mut recorded = None;
                for _ in 0..2 {
                    let route = bus.inline_route(TOPICS[topic]).unwrap();
                    if !route.eligible {
                        break;
                    }
                    match bus.record_inline(&route, 1, t) {
                        Err(InlineError::Stale) => continue,
                        receipt => recorded = Some((route, receipt.unwrap())),
                    }
                    break;
                }
                let Some((route, receipt)) = recorded else {
                    let _ = bus.publish(TOPICS[topic], payload, PublishOptions::default(), t);
                    check_conservation(&bus)?;
                    continue;
                };
                let message = receipt.first;
                for (n, id) in route.subscriptions.iter().enumerate() {
                    seen.handed.entry(*id).or_default().push(message.id.0);
                    match outcomes.get(n).copied().unwrap_or(0) {
                        // The handler threw.
                        6 => bus
                            .inline_failed(message, *id, payload, "x".into(), t)
                            .unwrap(),
                        // The handler returned a promise.
                        7 => {
                            let token = bus.inline_pending(message, *id, payload, t).unwrap();
                            let envelope = Envelope {
                                id: message.id,
                                topic: TOPICS[topic].into(),
                                topic_seq: message.topic_seq,
                                published_at: message.published_at,
                                causation: None,
                                correlation: None,
                                depth: 0,
                                headers: Vec::new(),
                                expires_at: None,
                                payload,
                            };
                            outstanding.push(Outstanding {
                                delivery: Delivery {
                                    token,
                                    subscription: *id,
                                    has_filter: false,
                                    items: vec![DeliveryItem {
                                        message: Arc::new(envelope),
                                        attempt: 1,
                                    }],
                                },
                                pending: true,
                                filtered: Vec::new(),
                            });
                        }
                        _ => {
                            seen.delivered += 1;
                            *seen.per_sub_delivered.entry(*id).or_default() += 1;
                        }
                    }
                }
            }
            Op::Poll => {
                if let Some(delivery) = bus.poll_delivery(t) {
                    let first_tries = delivery
                        .items
                        .iter()
                        .filter(|i| i.attempt == 1)
                        .map(|i| i.message.id.0);
                    seen.handed
                        .entry(delivery.subscription)
                        .or_default()
                        .extend(first_tries);
                    outstanding.push(Outstanding {
                        delivery,
                        pending: false,
                        filtered: Vec::new(),
                    });
                }
            }
            Op::Complete { pick, outcome } => {
                if outstanding.is_empty() {
                    continue;
                }
                let index = pick % outstanding.len();
                if outstanding[index].pending {
                    continue;
                }
                let o = &outstanding[index];
                let outcome = match outcome {
                    0 | 1 => Outcome::Delivered,
                    2 => Outcome::Failed("x".into()),
                    3 => Outcome::Pending,
                    _ => Outcome::Filtered,
                };
                let result = bus.complete(o.delivery.token, outcome.clone(), t);
                if outcome == Outcome::Pending {
                    if result.is_ok() {
                        outstanding[index].pending = true;
                    } else {
                        outstanding.remove(index);
                    }
                    continue;
                }
                let o = outstanding.remove(index);
                if result.is_ok() {
                    tally(
                        &mut seen,
                        &o,
                        outcome == Outcome::Delivered,
                        outcome == Outcome::Filtered,
                    );
                }
            }
            Op::Settle { pick, ok } => {
                if outstanding.is_empty() {
                    continue;
                }
                let index = pick % outstanding.len();
                if !outstanding[index].pending {
                    continue;
                }
                let o = outstanding.remove(index);
                let result = bus.settle(
                    o.delivery.token,
                    if ok { Ok(()) } else { Err("x".into()) },
                    t,
                );
                if result.is_ok() {
                    tally(&mut seen, &o, ok, false);
                }
            }
            Op::MarkFiltered { pick, index } => {
                if outstanding.is_empty() {
                    continue;
                }
                let at = pick % outstanding.len();
                let o = &mut outstanding[at];
                if bus.mark_filtered(o.delivery.token, index).is_ok()
                    && !o.filtered.contains(&index)
                {
                    o.filtered.push(index);
                }
            }
            Op::Advance(ms) => {
                now += ms;
                bus.handle_timeout(Instant::from_millis(now));
            }
            Op::Swap { pick, batched } => {
                if let Some(id) = subs.get(pick % subs.len().max(1)).copied() {
                    let strategy = if batched {
                        DeliveryStrategy::Batched {
                            size: 3,
                            max_wait: Duration::from_millis(15),
                        }
                    } else {
                        DeliveryStrategy::Immediate
                    };
                    bus.set_delivery(id, strategy, t).unwrap();
                }
            }
            Op::Pause(i) => {
                if let Some(id) = subs.get(i % subs.len().max(1)).copied() {
                    bus.pause(id, t).unwrap();
                }
            }
            Op::Resume(i) => {
                if let Some(id) = subs.get(i % subs.len().max(1)).copied() {
                    bus.resume(id, t).unwrap();
                }
            }
            Op::Flush(i) => {
                if let Some(id) = subs.get(i % subs.len().max(1)).copied() {
                    bus.flush(id, t).unwrap();
                }
            }
            Op::Redrive => {
                let targets: Vec<SubscriptionId> =
                    bus.dead_letters().map(|d| d.subscription).collect();
                if bus.redrive_all(t) > 0 {
                    seen.fifo_exempt.extend(targets);
                }
            }
        }
        check_conservation(&bus)?;
    }

    let m = bus.metrics();
    prop_assert_eq!(
        m.totals.delivered,
        seen.delivered,
        "delivered counter differs from what the host saw"
    );
    prop_assert_eq!(m.totals.filtered >= seen.filtered, true);
    for (id, stats) in &m.subscriptions {
        prop_assert_eq!(
            stats.counters.delivered,
            seen.per_sub_delivered.get(id).copied().unwrap_or(0)
        );
    }
    for (id, ids) in &seen.handed {
        if !seen.fifo_exempt.contains(id) {
            prop_assert!(
                ids.windows(2).all(|w| w[0] < w[1]),
                "subscription {:?} saw {:?}",
                id,
                ids
            );
        }
    }
    Ok(())
}

/// Completes every outstanding non-pending delivery as delivered; with `drain`, also runs
/// every ready delivery to completion.
fn finish_synchronous(
    bus: &mut Bus<u32>,
    outstanding: &mut Vec<Outstanding>,
    seen: &mut Observed,
    t: Instant,
    drain: bool,
) {
    let (pending, done): (Vec<_>, Vec<_>) = outstanding.drain(..).partition(|o| o.pending);
    *outstanding = pending;
    for o in done {
        if bus
            .complete(o.delivery.token, Outcome::Delivered, t)
            .is_ok()
        {
            tally(seen, &o, true, false);
        }
    }
    if !drain {
        return;
    }
    while let Some(delivery) = bus.poll_delivery(t) {
        let first_tries = delivery
            .items
            .iter()
            .filter(|i| i.attempt == 1)
            .map(|i| i.message.id.0);
        seen.handed
            .entry(delivery.subscription)
            .or_default()
            .extend(first_tries);
        let o = Outstanding {
            delivery,
            pending: false,
            filtered: Vec::new(),
        };
        if bus
            .complete(o.delivery.token, Outcome::Delivered, t)
            .is_ok()
        {
            tally(seen, &o, true, false);
        }
    }
}

fn tally(seen: &mut Observed, o: &Outstanding, success: bool, all_filtered: bool) {
    let items = o.delivery.items.len() as u64;
    let filtered = if all_filtered {
        items
    } else {
        o.filtered.len() as u64
    };
    seen.filtered += filtered;
    if success && !all_filtered {
        seen.delivered += items - filtered;
        *seen
            .per_sub_delivered
            .entry(o.delivery.subscription)
            .or_default() += items - filtered;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_operation_sequences_conserve_every_message(ops in prop::collection::vec(op(), 1..120)) {
        run(ops, Flavour::Featured)?;
    }

    #[test]
    fn random_sequences_with_inline_publishes_conserve_every_message(
        ops in prop::collection::vec(op(), 1..120)
    ) {
        run(ops, Flavour::Inline)?;
    }

    #[test]
    fn within_a_message_higher_priority_goes_first_then_subscription_order(
        priorities in prop::collection::vec(-3..4i32, 1..8),
        topics in prop::collection::vec(0..TOPICS.len(), 1..10),
        patterns in prop::collection::vec(0..PATTERNS.len(), 8),
    ) {
        let mut bus: Bus<u32> = Bus::new(Config::default()).unwrap();
        let mut subs = Vec::new();
        for (i, priority) in priorities.iter().enumerate() {
            let options = SubscribeOptions { priority: *priority, ..Default::default() };
            let pattern = PATTERNS[patterns[i]];
            subs.push((bus.subscribe(pattern, options, Instant::ZERO).unwrap(), *priority, pattern));
        }
        let mut expected = Vec::new();
        for (n, topic) in topics.iter().enumerate() {
            bus.publish(TOPICS[*topic], n as u32, PublishOptions::default(), Instant::ZERO).unwrap();
            let mut matching: Vec<_> = subs.iter().enumerate()
                .filter(|(_, (_, _, p))| switchyard_core::Pattern::parse(p).unwrap().matches(TOPICS[*topic]))
                .map(|(order, (id, priority, _))| (core::cmp::Reverse(*priority), order, *id))
                .collect();
            matching.sort();
            expected.extend(matching.into_iter().map(|(_, _, id)| (id, n as u32)));
        }
        let mut actual = Vec::new();
        while let Some(d) = bus.poll_delivery(Instant::ZERO) {
            actual.push((d.subscription, d.items[0].message.payload));
            bus.complete(d.token, Outcome::Delivered, Instant::ZERO).unwrap();
        }
        prop_assert_eq!(actual, expected);
    }
}
