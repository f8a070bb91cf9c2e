//! `Bus::is_idle` is answered from a count of subscriptions holding a retry, kept current as
//! retries are scheduled, fall due, are evicted, expire or lose their subscription. Debug
//! builds (these tests) also check the count against a scan of every subscription on each
//! call, so every `is_idle` below verifies it.

mod common;

use core::time::Duration;

use common::{bus_with, ms, publish, sub_with};
use switchyard_core::{
    Bus, Config, Instant, OrderingMode, Outcome, Overflow, PublishOptions, RetryPolicy,
    SubscribeOptions, SubscriptionId,
};

fn retrying_bus() -> Bus<u32> {
    bus_with(Config {
        retry: RetryPolicy {
            max_attempts: 3,
            backoff: Duration::from_millis(100),
            factor: 1.0,
            ..RetryPolicy::default()
        },
        ..Config::default()
    })
}

fn with_ordering(bus: &mut Bus<u32>, ordering: OrderingMode) -> SubscriptionId {
    sub_with(
        bus,
        "t",
        SubscribeOptions {
            ordering,
            ..Default::default()
        },
    )
}

/// Fails the next ready delivery at `now`.
fn fail_next(bus: &mut Bus<u32>, now: Instant) {
    let delivery = bus.poll_delivery(now).expect("a delivery is ready");
    bus.complete(delivery.token, Outcome::Failed("boom".into()), now)
        .expect("outstanding");
}

/// Delivers everything ready at `now`.
fn deliver_all(bus: &mut Bus<u32>, now: Instant) {
    while let Some(delivery) = bus.poll_delivery(now) {
        bus.complete(delivery.token, Outcome::Delivered, now)
            .expect("outstanding");
    }
}

#[test]
fn a_relaxed_retry_keeps_the_bus_busy_until_it_is_delivered() {
    let mut bus = retrying_bus();
    with_ordering(&mut bus, OrderingMode::Relaxed);
    assert!(bus.is_idle());
    publish(&mut bus, "t", 1);
    assert!(!bus.is_idle());
    fail_next(&mut bus, ms(0));
    assert!(bus.poll_delivery(ms(50)).is_none());
    assert!(!bus.is_idle(), "a delayed retry is pending");
    deliver_all(&mut bus, ms(100));
    assert!(bus.is_idle());
}

#[test]
fn a_strict_retry_hold_keeps_the_bus_busy_until_it_is_released_and_delivered() {
    let mut bus = retrying_bus();
    with_ordering(&mut bus, OrderingMode::Strict);
    publish(&mut bus, "t", 1);
    publish(&mut bus, "t", 2);
    fail_next(&mut bus, ms(0));
    assert!(bus.poll_delivery(ms(99)).is_none());
    assert!(!bus.is_idle());
    deliver_all(&mut bus, ms(100));
    assert!(bus.is_idle());
}

#[test]
fn removing_a_subscription_with_a_pending_retry_makes_the_bus_idle() {
    let mut bus = retrying_bus();
    let relaxed = with_ordering(&mut bus, OrderingMode::Relaxed);
    let strict = with_ordering(&mut bus, OrderingMode::Strict);
    publish(&mut bus, "t", 1);
    fail_next(&mut bus, ms(0));
    fail_next(&mut bus, ms(0));
    assert!(!bus.is_idle());
    assert!(bus.unsubscribe(relaxed, ms(1)));
    assert!(
        !bus.is_idle(),
        "the strict subscription still holds its retry"
    );
    assert!(bus.unsubscribe(strict, ms(1)));
    assert!(bus.is_idle());
    // The slot is reused by a new subscription, which starts with no retry.
    with_ordering(&mut bus, OrderingMode::Relaxed);
    assert!(bus.is_idle());
}

#[test]
fn evicting_or_expiring_a_delayed_retry_makes_the_bus_idle() {
    let mut bus = retrying_bus();
    let evicting = with_ordering(&mut bus, OrderingMode::Relaxed);
    publish(&mut bus, "t", 1);
    fail_next(&mut bus, ms(0));
    assert!(!bus.is_idle());
    // Shrinking to 1 keeps the retry; publishing a newer message then drops the oldest.
    bus.set_overflow(evicting, Overflow::DropOldest, ms(0))
        .unwrap();
    bus.set_capacity(evicting, 1, ms(0)).unwrap();
    assert!(!bus.is_idle());
    publish(&mut bus, "t", 2);
    deliver_all(&mut bus, ms(0));
    assert!(bus.is_idle(), "the retry was dropped for the newer message");
    bus.unsubscribe(evicting, ms(0));

    with_ordering(&mut bus, OrderingMode::Relaxed);
    let ttl = PublishOptions {
        ttl: Some(Duration::from_millis(50)),
        ..Default::default()
    };
    bus.publish("t", 3, ttl, ms(0)).unwrap();
    fail_next(&mut bus, ms(0));
    assert!(!bus.is_idle());
    bus.handle_timeout(ms(50));
    assert!(bus.is_idle(), "the retry expired and was dead-lettered");
}

#[test]
fn exhausted_retries_leave_the_bus_idle() {
    let mut bus = retrying_bus();
    with_ordering(&mut bus, OrderingMode::Strict);
    publish(&mut bus, "t", 1);
    for at in [0, 100, 200] {
        assert!(!bus.is_idle());
        fail_next(&mut bus, ms(at));
    }
    assert!(bus.is_idle());
    assert_eq!(bus.dead_letters().count(), 1);
}
