//! What a subscription's `capacity` bounds: every message it holds, waiting, waiting for a
//! retry or in flight (see docs/ARCHITECTURE.md, "What a queue's capacity bounds").

mod common;

use core::time::Duration;

use common::*;
use switchyard_core::snapshot::SerdeCodec;
use switchyard_core::{
    Bus, Config, DeliveryStrategy, OrderingMode, Outcome, Overflow, PublishError, PublishOptions,
    RedriveError, RetryPolicy, SubscribeOptions, SubscriptionId,
};

fn queue(
    bus: &mut Bus<u32>,
    capacity: usize,
    overflow: Overflow,
    concurrency: u32,
    ordering: OrderingMode,
) -> SubscriptionId {
    sub_with(
        bus,
        "t",
        SubscribeOptions {
            capacity: Some(capacity),
            overflow: Some(overflow),
            concurrency,
            ordering,
            ..Default::default()
        },
    )
}

/// Messages `id` holds: waiting plus inside its deliveries in flight.
fn held(bus: &Bus<u32>, id: SubscriptionId) -> usize {
    let info = bus.subscription(id).expect("active");
    info.depth + info.in_flight_messages
}

/// Hands out one delivery and leaves it pending (an async handler that has not settled).
fn start_pending(bus: &mut Bus<u32>) -> switchyard_core::DeliveryToken {
    let delivery = bus.poll_delivery(ms(0)).expect("a delivery is ready");
    bus.complete(delivery.token, Outcome::Pending, ms(0))
        .expect("outstanding");
    delivery.token
}

fn restores(bus: &Bus<u32>) -> Bus<u32> {
    let snapshot = bus.snapshot(&SerdeCodec).expect("snapshot");
    Bus::restore(Config::default(), snapshot, &SerdeCodec, ms(0))
        .map(|restored| restored.bus)
        .unwrap_or_else(|e| panic!("the bus's own snapshot is refused: {e}"))
}

#[test]
fn a_message_in_flight_counts_against_the_capacity_of_a_reject_queue() {
    let mut bus = bus();
    let s = queue(&mut bus, 2, Overflow::Reject, 1, OrderingMode::Strict);
    publish(&mut bus, "t", 1);
    start_pending(&mut bus);
    publish(&mut bus, "t", 2);
    let refused = bus.publish("t", 3, PublishOptions::default(), ms(0));
    assert!(
        matches!(refused, Err(PublishError::Backpressure { capacity: 2, .. })),
        "{refused:?}"
    );
    assert_eq!(held(&bus, s), 2);
    assert!(conserved(&bus) && conserved_per_subscription(&bus));
}

#[test]
fn the_snapshot_of_a_full_queue_with_a_pending_delivery_restores() {
    let mut bus = bus();
    queue(&mut bus, 2, Overflow::DropOldest, 1, OrderingMode::Strict);
    publish(&mut bus, "t", 1);
    start_pending(&mut bus);
    publish(&mut bus, "t", 2);
    publish(&mut bus, "t", 3);
    let mut restored = restores(&bus);
    let info = restored
        .subscriptions()
        .into_iter()
        .next()
        .expect("one subscription");
    assert_eq!((info.depth, info.capacity), (2, 2));
    assert_eq!(payloads(drain(&mut restored, ms(0))), [1, 3]);
}

#[test]
fn drop_oldest_drops_the_new_message_when_every_held_message_is_in_flight() {
    let mut bus = bus();
    let s = queue(&mut bus, 1, Overflow::DropOldest, 1, OrderingMode::Strict);
    publish(&mut bus, "t", 1);
    let token = start_pending(&mut bus);
    publish(&mut bus, "t", 2);
    let info = bus.subscription(s).unwrap();
    assert_eq!((info.depth, info.stats.counters.dropped), (0, 1));
    assert!(conserved(&bus) && conserved_per_subscription(&bus));
    bus.settle(token, Ok(()), ms(0)).unwrap();
    assert_eq!(bus.subscription(s).unwrap().stats.counters.delivered, 1);
}

#[test]
fn a_failed_delivery_waiting_for_its_retry_never_pushes_a_queue_over_its_capacity() {
    for ordering in [OrderingMode::Strict, OrderingMode::Relaxed] {
        for overflow in [Overflow::DropOldest, Overflow::DropNewest] {
            let mut bus = traced_bus_retrying_after_10_s(5);
            let s = queue(&mut bus, 3, overflow, 2, ordering);
            let mut next = 0;
            for round in 0..6u64 {
                // Fill the queue, start what may start, fill again, then fail what is in flight.
                for _ in 0..4 {
                    next += 1;
                    publish_at(&mut bus, next, round * 20_000);
                }
                let mut tokens = Vec::new();
                while let Some(delivery) = bus.poll_delivery(ms(round * 20_000)) {
                    bus.complete(delivery.token, Outcome::Pending, ms(round * 20_000))
                        .unwrap();
                    tokens.push(delivery.token);
                }
                for _ in 0..4 {
                    next += 1;
                    publish_at(&mut bus, next, round * 20_000);
                }
                for token in tokens {
                    bus.settle(token, Err("no".into()), ms(round * 20_000 + 1))
                        .unwrap();
                    let info = bus.subscription(s).unwrap();
                    assert!(
                        info.depth + info.in_flight_messages <= 3,
                        "{ordering:?} {overflow:?} round {round}: depth {} + in flight {}",
                        info.depth,
                        info.in_flight_messages
                    );
                    assert!(
                        info.stats.high_water <= 3,
                        "high water {}",
                        info.stats.high_water
                    );
                    assert!(conserved(&bus) && conserved_per_subscription(&bus));
                }
                restores(&bus);
            }
        }
    }
}

fn publish_at(bus: &mut Bus<u32>, payload: u32, at: u64) {
    bus.publish("t", payload, PublishOptions::default(), ms(at))
        .expect("publish succeeds");
}

#[test]
fn a_batch_in_flight_counts_each_of_its_messages_against_the_capacity() {
    let mut bus = bus();
    let s = sub_with(
        &mut bus,
        "t",
        SubscribeOptions {
            capacity: Some(3),
            overflow: Some(Overflow::Reject),
            delivery: DeliveryStrategy::Batched {
                size: 2,
                max_wait: Duration::from_millis(50),
            },
            ..Default::default()
        },
    );
    publish(&mut bus, "t", 1);
    publish(&mut bus, "t", 2);
    start_pending(&mut bus);
    publish(&mut bus, "t", 3);
    assert!(bus
        .publish("t", 4, PublishOptions::default(), ms(0))
        .is_err());
    let info = bus.subscription(s).unwrap();
    assert_eq!(
        (info.depth, info.in_flight, info.in_flight_messages),
        (1, 1, 2)
    );
    assert!(conserved(&bus) && conserved_per_subscription(&bus));
    restores(&bus);
}

#[test]
fn redrive_refuses_when_the_messages_in_flight_fill_the_capacity() {
    let mut bus = traced_bus_retrying_after_10_s(5);
    let s = sub_with(
        &mut bus,
        "t",
        SubscribeOptions {
            capacity: Some(1),
            retry: Some(RetryPolicy {
                max_attempts: 1,
                ..RetryPolicy::default()
            }),
            ..Default::default()
        },
    );
    publish(&mut bus, "t", 1);
    let delivery = bus.poll_delivery(ms(0)).unwrap();
    bus.complete(delivery.token, Outcome::Failed("no".into()), ms(0))
        .unwrap();
    let dead = bus.dead_letters().next().unwrap().id;
    publish(&mut bus, "t", 2);
    start_pending(&mut bus);
    assert_eq!(bus.redrive(dead, ms(0)), Err(RedriveError::QueueFull(s)));
    assert!(conserved(&bus) && conserved_per_subscription(&bus));
}

#[test]
fn a_reject_queue_shrunk_below_its_depth_still_restores_from_its_snapshot() {
    let mut bus = bus();
    let s = queue(&mut bus, 4, Overflow::Reject, 1, OrderingMode::Strict);
    for n in 1..=4 {
        publish(&mut bus, "t", n);
    }
    bus.set_capacity(s, 2, ms(0)).unwrap();
    let mut restored = restores(&bus);
    let info = restored.subscriptions().into_iter().next().unwrap();
    assert_eq!((info.depth, info.capacity), (4, 2));
    assert!(restored
        .publish("t", 5, PublishOptions::default(), ms(0))
        .is_err());
    assert_eq!(payloads(drain(&mut restored, ms(0))), [1, 2, 3, 4]);
}

#[test]
fn an_over_full_drop_oldest_queue_is_evicted_back_under_its_capacity_by_the_next_publish() {
    let mut bus = bus();
    let s = queue(&mut bus, 4, Overflow::Reject, 1, OrderingMode::Strict);
    for n in 1..=4 {
        publish(&mut bus, "t", n);
    }
    bus.set_capacity(s, 2, ms(0)).unwrap();
    bus.set_overflow(s, Overflow::DropOldest, ms(0)).unwrap();
    publish(&mut bus, "t", 5);
    let info = bus.subscription(s).unwrap();
    assert_eq!((info.depth, info.stats.counters.dropped), (2, 3));
    assert!(conserved(&bus) && conserved_per_subscription(&bus));
    assert_eq!(payloads(drain(&mut bus, ms(0))), [4, 5]);
}

fn payloads(log: Vec<(SubscriptionId, Vec<u32>)>) -> Vec<u32> {
    flat(log).into_iter().map(|(_, p)| p).collect()
}

#[test]
fn conservation_counts_each_message_of_a_batch_in_flight_overall_and_per_subscription() {
    let mut bus = traced_bus_retrying_after_10_s(5);
    let batched = sub_with(
        &mut bus,
        "t",
        SubscribeOptions {
            delivery: DeliveryStrategy::Batched {
                size: 3,
                max_wait: Duration::from_millis(50),
            },
            concurrency: 2,
            ..Default::default()
        },
    );
    sub(&mut bus, "t");
    for n in 1..=7 {
        publish(&mut bus, "t", n);
    }
    let mut batches = Vec::new();
    while let Some(delivery) = bus.poll_delivery(ms(0)) {
        let batch = delivery.subscription == batched;
        bus.complete(delivery.token, Outcome::Pending, ms(0))
            .unwrap();
        if batch {
            batches.push(delivery.token);
        }
    }
    let metrics = bus.metrics();
    // Two batches of 3 and the plain subscription's one delivery (concurrency 1).
    assert_eq!((metrics.in_flight_messages, metrics.in_flight), (7, 3));
    assert_eq!(batches.len(), 2);
    assert!(conserved(&bus) && conserved_per_subscription(&bus));
    bus.settle(batches[0], Err("no".into()), ms(1)).unwrap();
    bus.settle(batches[1], Ok(()), ms(1)).unwrap();
    assert!(conserved(&bus) && conserved_per_subscription(&bus));
    let info = bus.subscription(batched).unwrap();
    assert_eq!((info.depth, info.stats.counters.delivered), (4, 3));
}

/// A route taken while `t`'s queue was empty, made stale by a slow-path publish that fills
/// the queue; then the host hands a message over on it (a late `inline_adopt`, running on the
/// full subscription).
fn adopt_late_on_a_full_queue(
    overflow: Overflow,
    delivery: DeliveryStrategy,
) -> (
    Bus<u32>,
    SubscriptionId,
    Option<switchyard_core::DeliveryToken>,
) {
    let mut bus = bus_with(Config {
        trace_capacity: 64,
        ..Config::default()
    });
    let s = sub_with(
        &mut bus,
        "t",
        SubscribeOptions {
            capacity: Some(1),
            overflow: Some(overflow),
            delivery,
            ..Default::default()
        },
    );
    // The topic exists (a route of a topic never published is ineligible and unusable).
    publish(&mut bus, "t", 0);
    assert_eq!(payloads(drain(&mut bus, ms(100))), vec![0]);
    let route = bus.inline_route("t").expect("valid topic");
    publish(&mut bus, "t", 1);
    assert_eq!(held(&bus, s), 1);
    let adopted = bus
        .inline_adopt(&route, 0, true, 2, ms(0))
        .expect("a route of this bus is never refused");
    assert!(conserved(&bus));
    (bus, s, adopted.running)
}

#[test]
fn a_message_handed_over_late_to_a_full_drop_oldest_queue_evicts_its_oldest_waiting_message() {
    // The fuzzer's case: a batched (so never inline-eligible) subscription on a route seen
    // earlier.
    let batched = DeliveryStrategy::Batched {
        size: 3,
        max_wait: Duration::from_millis(14),
    };
    for delivery in [DeliveryStrategy::Immediate, batched] {
        let (mut bus, s, running) = adopt_late_on_a_full_queue(Overflow::DropOldest, delivery);
        let info = bus.subscription(s).expect("active");
        assert_eq!((info.depth, info.in_flight_messages), (0, 1), "{info:?}");
        assert_eq!(info.stats.counters.dropped, 1);
        let token = running.expect("the running handler holds a delivery");
        bus.complete(token, Outcome::Delivered, ms(0))
            .expect("outstanding");
        assert_eq!(payloads(drain(&mut bus, ms(100))), Vec::<u32>::new());
        let info = bus.subscription(s).expect("active");
        assert_eq!(info.stats.counters.delivered, 2);
        assert!(conserved(&bus));
    }
}

#[test]
fn a_message_handed_over_late_to_a_full_drop_newest_queue_is_dropped_and_not_in_flight() {
    let (mut bus, s, running) =
        adopt_late_on_a_full_queue(Overflow::DropNewest, DeliveryStrategy::Immediate);
    assert_eq!(
        running, None,
        "no delivery for a message the queue had no room for"
    );
    let info = bus.subscription(s).expect("active");
    assert_eq!((info.depth, info.in_flight_messages), (1, 0), "{info:?}");
    assert_eq!(info.stats.counters.dropped, 1);
    assert_eq!(payloads(drain(&mut bus, ms(100))), vec![1]);
    assert!(conserved(&bus));
}
