//! `poll_timeout` reports only timers that can still do something: a deadline whose cause went
//! away first (a pending delivery that settled, a subscription that was removed) is skipped.

mod common;

use core::time::Duration;

use common::{bus, conserved, ms, publish, sub_with};
use switchyard_core::{Jitter, Outcome, PublishOptions, RetryPolicy, SubscribeOptions};

fn with_timeout(millis: u64) -> SubscribeOptions {
    SubscribeOptions {
        timeout: Some(Duration::from_millis(millis)),
        ..Default::default()
    }
}

#[test]
fn a_pending_deliverys_timeout_is_reported_and_fires() {
    let mut bus = bus();
    sub_with(&mut bus, "t", with_timeout(100));
    publish(&mut bus, "t", 1);
    let delivery = bus.poll_delivery(ms(0)).expect("a delivery");
    bus.complete(delivery.token, Outcome::Pending, ms(0))
        .unwrap();
    assert_eq!(bus.poll_timeout(), Some(ms(100)));
    bus.handle_timeout(ms(100));
    assert_eq!(
        bus.dead_letters().count(),
        1,
        "timed out into the dead letters"
    );
    assert_eq!(bus.poll_timeout(), None);
}

#[test]
fn a_timeout_whose_delivery_settled_first_is_not_reported() {
    let mut bus = bus();
    sub_with(&mut bus, "t", with_timeout(600_000));
    publish(&mut bus, "t", 1);
    let delivery = bus.poll_delivery(ms(0)).expect("a delivery");
    bus.complete(delivery.token, Outcome::Pending, ms(0))
        .unwrap();
    bus.settle(delivery.token, Ok(()), ms(5)).unwrap();
    assert!(bus.is_idle());
    assert_eq!(bus.poll_timeout(), None);
}

#[test]
fn the_earliest_live_deadline_is_reported_behind_a_stale_one() {
    let mut bus = bus();
    sub_with(&mut bus, "fast", with_timeout(100));
    sub_with(&mut bus, "slow", with_timeout(300));
    publish(&mut bus, "fast", 1);
    publish(&mut bus, "slow", 2);
    let fast = bus.poll_delivery(ms(0)).expect("fast");
    let slow = bus.poll_delivery(ms(0)).expect("slow");
    bus.complete(fast.token, Outcome::Pending, ms(0)).unwrap();
    bus.complete(slow.token, Outcome::Pending, ms(0)).unwrap();
    bus.settle(fast.token, Ok(()), ms(1)).unwrap();
    assert_eq!(bus.poll_timeout(), Some(ms(300)));
}

#[test]
fn a_retry_of_a_removed_subscription_is_not_reported() {
    let mut bus = bus();
    let retry = RetryPolicy {
        max_attempts: 3,
        backoff: Duration::from_millis(50),
        ..Default::default()
    };
    let id = sub_with(
        &mut bus,
        "t",
        SubscribeOptions {
            retry: Some(retry),
            ..Default::default()
        },
    );
    publish(&mut bus, "t", 1);
    let delivery = bus.poll_delivery(ms(0)).expect("a delivery");
    bus.complete(delivery.token, Outcome::Failed("boom".into()), ms(0))
        .unwrap();
    assert_eq!(bus.poll_timeout(), Some(ms(50)), "the retry is due");
    assert!(bus.unsubscribe(id, ms(1)));
    assert_eq!(bus.poll_timeout(), None);
}

#[test]
fn many_early_settles_leave_no_deadline_behind() {
    let mut bus = bus();
    sub_with(&mut bus, "t", with_timeout(86_400_000));
    for n in 0..10_000 {
        publish(&mut bus, "t", n);
        let delivery = bus.poll_delivery(ms(0)).expect("a delivery");
        bus.complete(delivery.token, Outcome::Pending, ms(0))
            .unwrap();
        bus.settle(delivery.token, Ok(()), ms(0)).unwrap();
    }
    assert_eq!(bus.poll_timeout(), None);
    assert_eq!(bus.metrics().totals.delivered, 10_000);
}

#[test]
fn a_message_that_fails_after_a_sweep_while_in_flight_still_expires_on_time() {
    let mut bus = bus();
    let retry = RetryPolicy {
        max_attempts: 5,
        backoff: Duration::from_millis(5_000),
        jitter: Jitter::None,
        ..Default::default()
    };
    sub_with(
        &mut bus,
        "t",
        SubscribeOptions {
            retry: Some(retry),
            ..Default::default()
        },
    );
    let ttl = PublishOptions {
        ttl: Some(Duration::from_millis(1_000)),
        ..Default::default()
    };
    bus.publish("t", 1, ttl, ms(0)).unwrap();
    let delivery = bus.poll_delivery(ms(0)).expect("a delivery");
    bus.complete(delivery.token, Outcome::Pending, ms(0))
        .unwrap();
    // Timers are discarded while the message is in flight (its queue is empty).
    bus.handle_timeout(ms(1));
    assert!(bus.poll_delivery(ms(2)).is_none());
    bus.settle(delivery.token, Err("boom".into()), ms(10))
        .unwrap();
    assert_eq!(
        bus.poll_timeout(),
        Some(ms(1_000)),
        "the TTL, not the retry"
    );
    bus.handle_timeout(ms(1_000));
    assert_eq!(bus.metrics().totals.dead_lettered, 1, "expired at its TTL");
    assert!(conserved(&bus));
}
