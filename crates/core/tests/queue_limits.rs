//! Changing a live subscription's capacity and overflow policy (`Bus::set_capacity`,
//! `Bus::set_overflow`), driven with simulated time.

mod common;

use core::time::Duration;

use common::*;
use switchyard_core::{
    Bus, Config, MessageId, OrderingMode, Outcome, Overflow, PublishError, PublishOptions,
    QueueLimitError, RetryPolicy, SubscribeOptions, SubscriptionId, TraceKind,
};

fn queue(bus: &mut Bus<u32>, capacity: usize, overflow: Overflow) -> SubscriptionId {
    sub_with(
        bus,
        "t",
        SubscribeOptions {
            capacity: Some(capacity),
            overflow: Some(overflow),
            ..Default::default()
        },
    )
}

/// (message id, detail) of every `dropped` trace event.
fn drops(bus: &Bus<u32>) -> Vec<(u64, u64)> {
    bus.trace_since(0)
        .events
        .iter()
        .filter(|e| e.kind == TraceKind::Dropped)
        .map(|e| (e.message.map_or(0, |m: MessageId| m.0), e.detail))
        .collect()
}

fn payloads(log: Vec<(SubscriptionId, Vec<u32>)>) -> Vec<u32> {
    flat(log).into_iter().map(|(_, p)| p).collect()
}

#[test]
fn growing_the_capacity_only_raises_the_bound() {
    let mut bus = bus();
    let s = queue(&mut bus, 2, Overflow::Reject);
    publish(&mut bus, "t", 1);
    publish(&mut bus, "t", 2);
    assert!(bus
        .publish("t", 3, PublishOptions::default(), ms(0))
        .is_err());

    assert_eq!(bus.set_capacity(s, 4, ms(0)), Ok(0));
    let info = bus.subscription(s).unwrap();
    assert_eq!((info.capacity, info.depth), (4, 2));
    publish(&mut bus, "t", 3);
    publish(&mut bus, "t", 4);
    assert!(matches!(
        bus.publish("t", 5, PublishOptions::default(), ms(0)),
        Err(PublishError::Backpressure { capacity: 4, .. })
    ));
    assert_eq!(payloads(drain(&mut bus, ms(0))), [1, 2, 3, 4]);
    assert!(drops(&bus).is_empty());
    assert!(conserved(&bus));
}

#[test]
fn shrinking_a_drop_oldest_queue_evicts_the_oldest_and_counts_and_traces_them() {
    let mut bus = bus();
    let s = queue(&mut bus, 8, Overflow::DropOldest);
    for n in 1..=5 {
        publish(&mut bus, "t", n);
    }
    assert_eq!(bus.set_capacity(s, 2, ms(0)), Ok(3));

    let info = bus.subscription(s).unwrap();
    assert_eq!((info.capacity, info.depth), (2, 2));
    assert_eq!(info.stats.counters.dropped, 3);
    assert_eq!(bus.metrics().totals.dropped, 3);
    assert_eq!(drops(&bus), [(1, 0), (2, 0), (3, 0)]);
    assert!(conserved(&bus));
    assert_eq!(payloads(drain(&mut bus, ms(0))), [4, 5]);
    assert!(conserved(&bus));
}

#[test]
fn shrinking_a_drop_newest_queue_evicts_the_newest() {
    let mut bus = bus();
    let s = queue(&mut bus, 8, Overflow::DropNewest);
    for n in 1..=5 {
        publish(&mut bus, "t", n);
    }
    assert_eq!(bus.set_capacity(s, 2, ms(0)), Ok(3));
    assert_eq!(bus.subscription(s).unwrap().stats.counters.dropped, 3);
    assert_eq!(drops(&bus), [(5, 1), (4, 1), (3, 1)]);
    assert_eq!(payloads(drain(&mut bus, ms(0))), [1, 2]);
    assert!(conserved(&bus));
}

#[test]
fn shrinking_a_reject_queue_keeps_every_message_and_refuses_publishes_until_it_drains() {
    let mut bus = bus();
    let s = queue(&mut bus, 8, Overflow::Reject);
    for n in 1..=4 {
        publish(&mut bus, "t", n);
    }
    assert_eq!(bus.set_capacity(s, 2, ms(0)), Ok(0));
    assert_eq!(bus.subscription(s).unwrap().depth, 4);
    assert!(drops(&bus).is_empty());

    let refused = |bus: &mut Bus<u32>| {
        matches!(
            bus.publish("t", 99, PublishOptions::default(), ms(0)),
            Err(PublishError::Backpressure { subscription, capacity: 2, .. }) if subscription == s
        )
    };
    let deliver_one = |bus: &mut Bus<u32>| {
        let d = bus.poll_delivery(ms(0)).expect("a message is waiting");
        bus.complete(d.token, Outcome::Delivered, ms(0)).unwrap();
        d.items[0].message.payload
    };
    assert!(refused(&mut bus));
    assert_eq!(deliver_one(&mut bus), 1);
    assert_eq!(deliver_one(&mut bus), 2);
    // Depth 2 at capacity 2: still full.
    assert!(refused(&mut bus));
    assert_eq!(deliver_one(&mut bus), 3);
    publish(&mut bus, "t", 5);
    assert_eq!(payloads(drain(&mut bus, ms(0))), [4, 5]);
    assert_eq!(bus.metrics().publishes_rejected, 2);
    assert!(conserved(&bus));
}

#[test]
fn a_delivery_in_flight_is_never_evicted_by_a_shrink() {
    let mut bus = bus();
    let s = queue(&mut bus, 8, Overflow::DropOldest);
    for n in 1..=3 {
        publish(&mut bus, "t", n);
    }
    let first = bus.poll_delivery(ms(0)).unwrap();
    assert_eq!(first.items[0].message.payload, 1);
    // The message in flight fills capacity 1 on its own: both waiting ones are evicted.
    assert_eq!(bus.set_capacity(s, 1, ms(0)), Ok(2));
    assert_eq!(drops(&bus), [(2, 0), (3, 0)]);
    assert!(conserved(&bus));
    bus.complete(first.token, Outcome::Delivered, ms(0))
        .expect("the in-flight delivery is still outstanding");
    assert_eq!(payloads(drain(&mut bus, ms(0))), [] as [u32; 0]);
    let counters = bus.subscription(s).unwrap().stats.counters;
    assert_eq!((counters.delivered, counters.dropped), (1, 2));
    assert!(conserved(&bus));
}

#[test]
fn zero_capacity_and_stale_ids_are_refused_and_change_nothing() {
    let mut bus = bus();
    let s = queue(&mut bus, 4, Overflow::DropOldest);
    publish(&mut bus, "t", 1);
    publish(&mut bus, "t", 2);
    assert_eq!(
        bus.set_capacity(s, 0, ms(0)),
        Err(QueueLimitError::ZeroCapacity)
    );

    let gone = sub(&mut bus, "other");
    assert!(bus.unsubscribe(gone, ms(0)));
    assert_eq!(
        bus.set_capacity(gone, 1, ms(0)),
        Err(QueueLimitError::UnknownSubscription(gone))
    );
    assert_eq!(
        bus.set_overflow(gone, Overflow::Reject, ms(0)),
        Err(QueueLimitError::UnknownSubscription(gone))
    );
    // A fresh subscription in the same slot is not reached through the stale id.
    let fresh = queue(&mut bus, 3, Overflow::DropNewest);
    assert_eq!(
        bus.set_capacity(gone, 1, ms(0)),
        Err(QueueLimitError::UnknownSubscription(gone))
    );
    assert_eq!(bus.subscription(fresh).unwrap().capacity, 3);

    let info = bus.subscription(s).unwrap();
    assert_eq!(
        (info.capacity, info.overflow, info.depth),
        (4, Overflow::DropOldest, 2)
    );
    assert!(drops(&bus).is_empty());
    assert_eq!(
        QueueLimitError::ZeroCapacity.to_string(),
        "`capacity` must be at least 1"
    );
}

#[test]
fn a_new_overflow_policy_keeps_the_queue_and_governs_the_next_overflow() {
    let mut bus = bus();
    let s = queue(&mut bus, 2, Overflow::Reject);
    publish(&mut bus, "t", 1);
    publish(&mut bus, "t", 2);
    assert!(bus
        .publish("t", 3, PublishOptions::default(), ms(0))
        .is_err());

    bus.set_overflow(s, Overflow::DropOldest, ms(0)).unwrap();
    let info = bus.subscription(s).unwrap();
    assert_eq!((info.overflow, info.depth), (Overflow::DropOldest, 2));
    assert!(drops(&bus).is_empty());
    publish(&mut bus, "t", 3);
    assert_eq!(payloads(drain(&mut bus, ms(0))), [2, 3]);
    assert_eq!(bus.subscription(s).unwrap().stats.counters.dropped, 1);
    assert!(conserved(&bus));
}

#[test]
fn setting_the_policy_first_makes_it_govern_the_shrink() {
    let mut bus = bus();
    let s = queue(&mut bus, 8, Overflow::Reject);
    for n in 1..=4 {
        publish(&mut bus, "t", n);
    }
    bus.set_overflow(s, Overflow::DropNewest, ms(0)).unwrap();
    assert_eq!(bus.set_capacity(s, 1, ms(0)), Ok(3));
    assert_eq!(payloads(drain(&mut bus, ms(0))), [1]);
    assert!(conserved(&bus));
}

#[test]
fn evicting_a_strict_retry_that_holds_the_queue_lifts_the_hold() {
    let mut bus = traced_bus_retrying_after_10_s(3);
    let s = queue(&mut bus, 8, Overflow::DropOldest);
    publish(&mut bus, "t", 1);
    publish(&mut bus, "t", 2);
    let first = bus.poll_delivery(ms(0)).unwrap();
    bus.complete(first.token, Outcome::Failed("boom".into()), ms(0))
        .unwrap();
    // Strict ordering: the retry of 1 holds 2 back for 10 s.
    assert!(bus.poll_delivery(ms(1)).is_none());

    assert_eq!(bus.set_capacity(s, 1, ms(1)), Ok(1));
    assert_eq!(drops(&bus), [(1, 0)]);
    assert_eq!(payloads(drain(&mut bus, ms(1))), [2]);
    assert!(bus.is_idle());
    assert!(conserved(&bus));
}

#[test]
fn a_shrink_that_keeps_the_strict_retry_at_the_head_keeps_its_hold() {
    let mut bus = traced_bus_retrying_after_10_s(3);
    let s = queue(&mut bus, 8, Overflow::DropNewest);
    for n in 1..=3 {
        publish(&mut bus, "t", n);
    }
    let first = bus.poll_delivery(ms(0)).unwrap();
    bus.complete(first.token, Outcome::Failed("boom".into()), ms(0))
        .unwrap();
    // Queue: [retry of 1, 2, 3], held for 10 s. Drop-newest evicts 3 and 2; 1 keeps waiting.
    assert_eq!(bus.set_capacity(s, 1, ms(1)), Ok(2));
    assert_eq!(drops(&bus), [(3, 1), (2, 1)]);
    assert!(
        bus.poll_delivery(ms(1)).is_none(),
        "1 is still held for its retry"
    );
    assert_eq!(payloads(drain(&mut bus, ms(10_000))), [1]);
    assert!(conserved(&bus));
}

#[test]
fn shrinking_a_relaxed_queue_evicts_waiting_retries_after_the_queue() {
    let mut bus = bus_with(Config {
        trace_capacity: 4096,
        retry: RetryPolicy {
            max_attempts: 3,
            backoff: Duration::from_millis(100),
            ..RetryPolicy::default()
        },
        ..Config::default()
    });
    let s = sub_with(
        &mut bus,
        "t",
        SubscribeOptions {
            capacity: Some(8),
            overflow: Some(Overflow::DropOldest),
            ordering: OrderingMode::Relaxed,
            ..Default::default()
        },
    );
    publish(&mut bus, "t", 1);
    publish(&mut bus, "t", 2);
    let first = bus.poll_delivery(ms(0)).unwrap();
    bus.complete(first.token, Outcome::Failed("boom".into()), ms(0))
        .unwrap();
    // Queue: [2]; waiting retry: [1]. Like an overflow, the shrink takes the queue head
    // first; a waiting retry is evicted only once the queue is empty.
    assert_eq!(bus.subscription(s).unwrap().depth, 2);
    assert_eq!(bus.set_capacity(s, 1, ms(0)), Ok(1));
    assert_eq!(drops(&bus), [(2, 0)]);
    assert!(conserved(&bus));
    assert_eq!(payloads(drain(&mut bus, ms(100))), [1]);
    assert!(conserved(&bus));
}

#[test]
fn a_max_deliveries_subscription_can_accept_again_after_its_queue_is_shrunk() {
    let mut bus = bus();
    let s = sub_with(
        &mut bus,
        "t",
        SubscribeOptions {
            capacity: Some(8),
            overflow: Some(Overflow::DropOldest),
            max_deliveries: Some(3),
            ..Default::default()
        },
    );
    for n in 1..=3 {
        publish(&mut bus, "t", n);
    }
    assert_eq!(bus.set_capacity(s, 1, ms(0)), Ok(2));
    // The two evicted messages no longer count toward the three it may accept.
    bus.set_capacity(s, 8, ms(0)).unwrap();
    publish(&mut bus, "t", 4);
    publish(&mut bus, "t", 5);
    publish(&mut bus, "t", 6);
    assert_eq!(payloads(drain(&mut bus, ms(0))), [3, 4, 5]);
    assert!(conserved(&bus));
}
