//! Retries, timeouts, dead letters, breakers, TTL and leak detection, with simulated time.

mod common;

use core::time::Duration;

use common::*;
use switchyard_core::{
    BreakerPolicy, BreakerState, Config, DeadLetterReason, LeakReason, OrderingMode, Outcome,
    OwnerId, PublishOptions, RedriveError, RetryPolicy, SettleError, SubscribeOptions, TraceKind,
};

fn retry(max_attempts: u32, backoff_ms: u64) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        backoff: Duration::from_millis(backoff_ms),
        factor: 2.0,
        ..RetryPolicy::default()
    }
}

fn fail(bus: &mut switchyard_core::Bus<u32>, now: switchyard_core::Instant) -> (u32, u32) {
    let d = bus.poll_delivery(now).expect("a delivery is ready");
    let seen = (d.items[0].message.payload, d.items[0].attempt);
    bus.complete(d.token, Outcome::Failed("boom".into()), now)
        .unwrap();
    seen
}

#[test]
fn a_redelivery_increments_the_attempt() {
    let mut bus = bus_with(Config {
        retry: retry(3, 10),
        ..Config::default()
    });
    sub(&mut bus, "t");
    publish(&mut bus, "t", 1);
    assert_eq!(fail(&mut bus, ms(0)), (1, 1));
    assert_eq!(bus.poll_timeout(), Some(ms(10)));
    assert_eq!(fail(&mut bus, ms(10)), (1, 2));
    // Exponential backoff: 20 ms after the second failure.
    assert_eq!(bus.poll_timeout(), Some(ms(30)));
    assert_eq!(fail(&mut bus, ms(30)), (1, 3));
    assert_eq!(bus.metrics().totals.retried, 2);
}

#[test]
fn retrying_stops_at_max_attempts_and_the_dead_letter_is_recorded() {
    let mut bus = bus_with(Config {
        retry: retry(2, 10),
        trace_capacity: 256,
        ..Config::default()
    });
    let s = sub_with(
        &mut bus,
        "t",
        SubscribeOptions {
            name: Some("worker".into()),
            ..Default::default()
        },
    );
    publish(&mut bus, "t", 1);
    fail(&mut bus, ms(0));
    fail(&mut bus, ms(10));
    assert!(bus.poll_delivery(ms(1_000)).is_none());
    let dead: Vec<_> = bus.dead_letters().collect();
    assert_eq!(dead.len(), 1);
    let d = dead[0];
    assert_eq!(
        (d.subscription, d.attempts, d.reason),
        (s, 2, DeadLetterReason::HandlerError)
    );
    assert_eq!(d.subscription_name.as_deref(), Some("worker"));
    assert_eq!(d.last_error.as_deref(), Some("boom"));
    assert_eq!((d.first_failure_at, d.dead_lettered_at), (ms(0), ms(10)));
    let counters = bus.metrics().totals;
    assert_eq!(
        (counters.failed, counters.retried, counters.dead_lettered),
        (2, 1, 1)
    );
    assert!(bus
        .trace_since(0)
        .events
        .iter()
        .any(|e| e.kind == TraceKind::DeadLettered));
    assert!(bus.is_idle());
}

#[test]
fn a_failing_handler_never_stops_the_other_subscribers() {
    let mut bus = bus();
    let bad = sub(&mut bus, "t");
    let good = sub(&mut bus, "t");
    publish(&mut bus, "t", 1);
    let mut seen = Vec::new();
    while let Some(d) = bus.poll_delivery(ms(0)) {
        seen.push(d.subscription);
        let outcome = if d.subscription == bad {
            Outcome::Failed("x".into())
        } else {
            Outcome::Delivered
        };
        bus.complete(d.token, outcome, ms(0)).unwrap();
    }
    assert_eq!(seen, [bad, good]);
}

#[test]
fn strict_ordering_holds_later_messages_back_until_the_retry() {
    let mut bus = bus_with(Config {
        retry: retry(2, 100),
        ..Config::default()
    });
    sub(&mut bus, "t");
    publish(&mut bus, "t", 1);
    publish(&mut bus, "t", 2);
    fail(&mut bus, ms(0));
    assert!(bus.poll_delivery(ms(50)).is_none());
    assert!(!bus.is_idle());
    let order: Vec<u32> = flat(drain(&mut bus, ms(100)))
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    assert_eq!(order, [1, 2]);
}

#[test]
fn relaxed_ordering_lets_later_messages_go_ahead_of_a_retry() {
    let mut bus = bus_with(Config {
        retry: retry(2, 100),
        ..Config::default()
    });
    sub_with(
        &mut bus,
        "t",
        SubscribeOptions {
            ordering: OrderingMode::Relaxed,
            ..Default::default()
        },
    );
    publish(&mut bus, "t", 1);
    publish(&mut bus, "t", 2);
    publish(&mut bus, "t", 3);
    fail(&mut bus, ms(0));
    let early: Vec<u32> = flat(drain(&mut bus, ms(10)))
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    assert_eq!(early, [2, 3]);
    assert_eq!(
        bus.subscription(bus.subscriptions()[0].id).unwrap().depth,
        1
    );
    let late: Vec<u32> = flat(drain(&mut bus, ms(100)))
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    assert_eq!(late, [1]);
}

#[test]
fn a_rejected_message_is_dead_lettered_without_retry() {
    let mut bus = bus_with(Config {
        retry: retry(5, 10),
        ..Config::default()
    });
    sub(&mut bus, "t");
    publish(&mut bus, "t", 1);
    let d = bus.poll_delivery(ms(0)).unwrap();
    bus.complete(d.token, Outcome::Rejected("malformed".into()), ms(0))
        .unwrap();
    let dead: Vec<_> = bus.dead_letters().collect();
    assert_eq!(
        (dead[0].reason, dead[0].attempts),
        (DeadLetterReason::Rejected, 1)
    );
    assert_eq!(bus.metrics().totals.retried, 0);
}

#[test]
fn a_pending_delivery_that_times_out_fails_and_follows_the_retry_policy() {
    let config = Config {
        retry: retry(2, 10),
        timeout: Some(Duration::from_millis(50)),
        trace_capacity: 64,
        ..Config::default()
    };
    let mut bus = bus_with(config);
    sub(&mut bus, "t");
    publish(&mut bus, "t", 1);
    let first = bus.poll_delivery(ms(0)).unwrap();
    bus.complete(first.token, Outcome::Pending, ms(0)).unwrap();
    assert_eq!(bus.poll_timeout(), Some(ms(50)));
    bus.handle_timeout(ms(50));
    assert_eq!(
        bus.settle(first.token, Ok(()), ms(55)),
        Err(SettleError::TimedOut)
    );
    assert_eq!(bus.metrics().late_settles, 1);
    let second = bus.poll_delivery(ms(60)).unwrap();
    assert_eq!(second.items[0].attempt, 2);
    bus.complete(second.token, Outcome::Pending, ms(60))
        .unwrap();
    bus.handle_timeout(ms(110));
    let dead: Vec<_> = bus.dead_letters().collect();
    assert_eq!(
        (dead[0].reason, dead[0].last_error.as_deref()),
        (DeadLetterReason::Timeout, Some("timeout"))
    );
    assert!(bus
        .trace_since(0)
        .events
        .iter()
        .any(|e| e.kind == TraceKind::TimedOut));
}

#[test]
fn a_message_still_queued_past_its_ttl_is_dead_lettered_as_expired() {
    let mut bus = bus();
    let s = sub(&mut bus, "t");
    bus.pause(s, ms(0)).unwrap();
    let ttl = PublishOptions {
        ttl: Some(Duration::from_millis(30)),
        ..Default::default()
    };
    bus.publish("t", 1, ttl, ms(0)).unwrap();
    bus.publish("t", 2, PublishOptions::default(), ms(0))
        .unwrap();
    assert_eq!(bus.poll_timeout(), Some(ms(30)));
    bus.handle_timeout(ms(30));
    bus.resume(s, ms(30)).unwrap();
    assert_eq!(flat(drain(&mut bus, ms(30))), [(s, 2)]);
    let dead: Vec<_> = bus.dead_letters().collect();
    assert_eq!(
        (dead[0].message.payload, dead[0].reason),
        (1, DeadLetterReason::Expired)
    );
    assert_eq!(bus.metrics().expired, 1);
}

#[test]
fn a_breaker_opens_after_consecutive_failures_and_keeps_messages_queued() {
    let breaker = BreakerPolicy {
        failures: 2,
        cooldown: Duration::from_millis(100),
        failure_ratio: None,
    };
    let mut bus = bus_with(Config {
        trace_capacity: 256,
        ..Config::default()
    });
    let s = sub_with(
        &mut bus,
        "t",
        SubscribeOptions {
            breaker: Some(breaker),
            ..Default::default()
        },
    );
    for n in 1..=4 {
        publish(&mut bus, "t", n);
    }
    fail(&mut bus, ms(0));
    fail(&mut bus, ms(0));
    let info = bus.subscription(s).unwrap();
    assert_eq!(info.breaker, BreakerState::Open { until: ms(100) });
    assert_eq!((info.depth, info.stats.breaker_opened), (2, 1));
    assert_eq!(bus.metrics().breakers_open, 1);
    assert!(bus.poll_delivery(ms(50)).is_none());

    // Cooldown over: one trial goes through; its success closes the breaker.
    assert_eq!(bus.poll_timeout(), Some(ms(100)));
    let trial = bus.poll_delivery(ms(100)).unwrap();
    assert_eq!(bus.subscription(s).unwrap().breaker, BreakerState::HalfOpen);
    assert!(bus.poll_delivery(ms(100)).is_none());
    bus.complete(trial.token, Outcome::Delivered, ms(100))
        .unwrap();
    assert_eq!(bus.subscription(s).unwrap().breaker, BreakerState::Closed);
    assert_eq!(flat(drain(&mut bus, ms(100))).len(), 1);
    let kinds: Vec<TraceKind> = bus
        .trace_since(0)
        .events
        .iter()
        .map(|e| e.kind)
        .filter(|k| {
            matches!(
                k,
                TraceKind::CircuitOpened | TraceKind::CircuitHalfOpen | TraceKind::CircuitClosed
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            TraceKind::CircuitOpened,
            TraceKind::CircuitHalfOpen,
            TraceKind::CircuitClosed
        ]
    );
}

#[test]
fn a_failed_half_open_trial_opens_the_breaker_again() {
    let breaker = BreakerPolicy {
        failures: 1,
        cooldown: Duration::from_millis(10),
        failure_ratio: None,
    };
    let mut bus = bus();
    let s = sub_with(
        &mut bus,
        "t",
        SubscribeOptions {
            breaker: Some(breaker),
            ..Default::default()
        },
    );
    publish(&mut bus, "t", 1);
    publish(&mut bus, "t", 2);
    fail(&mut bus, ms(0));
    fail(&mut bus, ms(10));
    assert_eq!(
        bus.subscription(s).unwrap().breaker,
        BreakerState::Open { until: ms(20) }
    );
    assert_eq!(bus.subscription(s).unwrap().stats.breaker_opened, 2);
}

#[test]
fn redrive_moves_a_dead_letter_back_with_the_attempt_reset() {
    let mut bus = bus_with(Config {
        retry: retry(1, 10),
        trace_capacity: 64,
        ..Config::default()
    });
    let s = sub(&mut bus, "t");
    publish(&mut bus, "t", 7);
    fail(&mut bus, ms(0));
    let id = bus.dead_letters().next().unwrap().id;
    bus.redrive(id, ms(5)).unwrap();
    assert_eq!(bus.dead_letters().count(), 0);
    let d = bus.poll_delivery(ms(5)).unwrap();
    assert_eq!(
        (
            d.subscription,
            d.items[0].message.payload,
            d.items[0].attempt
        ),
        (s, 7, 1)
    );
    bus.complete(d.token, Outcome::Delivered, ms(5)).unwrap();
    assert_eq!(bus.redrive(id, ms(5)), Err(RedriveError::UnknownDeadLetter));
    assert_eq!(bus.metrics().totals.redriven, 1);
    assert!(bus
        .trace_since(0)
        .events
        .iter()
        .any(|e| e.kind == TraceKind::Redriven));
}

#[test]
fn redrive_to_a_removed_or_full_subscription_fails_and_the_dead_letter_stays() {
    let mut bus = bus();
    let gone = sub(&mut bus, "gone");
    let full = sub_with(
        &mut bus,
        "full",
        SubscribeOptions {
            capacity: Some(1),
            ..Default::default()
        },
    );
    publish(&mut bus, "gone", 1);
    publish(&mut bus, "full", 2);
    fail(&mut bus, ms(0));
    fail(&mut bus, ms(0));
    bus.unsubscribe(gone, ms(0));
    bus.pause(full, ms(0)).unwrap();
    publish(&mut bus, "full", 3);
    let ids: Vec<_> = bus.dead_letters().map(|d| d.id).collect();
    assert_eq!(
        bus.redrive(ids[0], ms(0)),
        Err(RedriveError::SubscriptionGone(gone))
    );
    assert_eq!(
        bus.redrive(ids[1], ms(0)),
        Err(RedriveError::QueueFull(full))
    );
    assert_eq!(bus.redrive_all(ms(0)), 0);
    assert_eq!(bus.dead_letters().count(), 2);
    assert_eq!(bus.purge_dead_letters(), 2);
}

#[test]
fn a_full_dead_letter_store_evicts_the_oldest_and_counts_it() {
    let mut bus = bus_with(Config {
        dead_letter_capacity: 2,
        ..Config::default()
    });
    sub(&mut bus, "t");
    for n in 1..=3 {
        publish(&mut bus, "t", n);
        fail(&mut bus, ms(0));
    }
    let kept: Vec<u32> = bus.dead_letters().map(|d| d.message.payload).collect();
    assert_eq!(kept, [2, 3]);
    assert_eq!(bus.metrics().dead_letters_evicted, 1);
}

#[test]
fn a_dead_letter_evicted_from_the_full_store_is_traced_with_its_message_and_id() {
    let mut bus = bus_with(Config {
        dead_letter_capacity: 1,
        trace_capacity: 256,
        ..Config::default()
    });
    let s = sub(&mut bus, "t");
    publish(&mut bus, "t", 1);
    fail(&mut bus, ms(0));
    let first = bus.dead_letters().next().expect("dead-lettered").message.id;
    let first_letter = bus.dead_letters().next().expect("still held").id;
    let trace = bus.trace_since(0);
    assert!(trace
        .events
        .iter()
        .all(|e| e.kind != TraceKind::DeadLetterEvicted));

    publish(&mut bus, "t", 2);
    fail(&mut bus, ms(0));
    let evictions: Vec<_> = bus
        .trace_since(trace.cursor)
        .events
        .into_iter()
        .filter(|e| e.kind == TraceKind::DeadLetterEvicted)
        .collect();
    assert_eq!(evictions.len(), 1);
    let evicted = &evictions[0];
    assert_eq!(evicted.message, Some(first));
    assert_eq!(evicted.subscription, Some(s));
    assert_eq!(evicted.topic.as_deref(), Some("t"));
    assert_eq!(evicted.detail, first_letter.0);
}

#[test]
fn releasing_an_owner_reclaims_weak_subscriptions_and_ends_and_reports_strong_ones() {
    let mut bus = bus();
    let owner = OwnerId(9);
    let weak = sub_with(
        &mut bus,
        "t",
        SubscribeOptions {
            owner: Some(owner),
            weak: true,
            ..Default::default()
        },
    );
    let strong = sub_with(
        &mut bus,
        "t",
        SubscribeOptions {
            owner: Some(owner),
            ..Default::default()
        },
    );
    bus.owner_released(owner, ms(10));
    assert!(!bus.is_active(weak));
    // The host can no longer call a released owner's handlers: the strong one ends too, and
    // stays reported (it was never unsubscribed).
    assert!(!bus.is_active(strong));
    let leaks = bus.leaks(ms(10));
    assert_eq!(leaks.len(), 1);
    assert_eq!(leaks[0].reason, LeakReason::OwnerReleased);
    assert_eq!(leaks[0].suspects[0].subscription, strong);
    let metrics = bus.metrics();
    assert_eq!((metrics.reclaimed, metrics.leaks_suspected), (1, 1));
    assert_eq!(metrics.active_subscriptions, 0);
    assert!(!bus.unsubscribe(strong, ms(11)));
    assert_eq!(
        bus.leaks(ms(11)).len(),
        1,
        "the report outlives the subscription"
    );
}

#[test]
fn crossing_max_listeners_is_reported_once_per_crossing() {
    let mut bus = bus_with(Config {
        max_listeners: 2,
        trace_capacity: 64,
        ..Config::default()
    });
    let subs: Vec<_> = (0..4).map(|_| sub(&mut bus, "hot")).collect();
    assert_eq!(bus.metrics().leaks_suspected, 1);
    let leaks = bus.leaks(ms(0));
    assert_eq!(
        leaks[0].reason,
        LeakReason::MaxListeners { count: 4, limit: 2 }
    );
    assert_eq!(
        leaks[0]
            .suspects
            .iter()
            .map(|s| s.subscription)
            .collect::<Vec<_>>(),
        subs
    );
    bus.unsubscribe(subs[0], ms(0));
    bus.unsubscribe(subs[1], ms(0));
    sub(&mut bus, "hot");
    assert_eq!(bus.metrics().leaks_suspected, 2);
    assert!(bus
        .trace_since(0)
        .events
        .iter()
        .any(|e| e.kind == TraceKind::LeakSuspected));
}

#[test]
fn a_subscription_that_receives_nothing_while_its_topic_is_busy_is_reported_idle() {
    let mut bus = bus_with(Config {
        idle_after: Some(Duration::from_secs(10)),
        ..Config::default()
    });
    let stuck = sub(&mut bus, "t");
    let _quiet = sub(&mut bus, "never");
    bus.publish("t", 1, PublishOptions::default(), ms(1_000))
        .unwrap();
    assert!(bus.leaks(ms(10_999)).is_empty());
    let leaks = bus.leaks(ms(11_000));
    assert_eq!(leaks.len(), 1);
    assert_eq!(
        leaks[0].reason,
        LeakReason::Idle {
            idle_for: Duration::from_secs(11)
        }
    );
    assert_eq!(leaks[0].suspects[0].subscription, stuck);
    assert_eq!(bus.metrics().leaks_suspected, 1);
    drain(&mut bus, ms(11_001));
    assert!(bus.leaks(ms(11_002)).is_empty());
}

#[test]
fn a_paused_subscription_is_not_idle_until_it_is_resumed() {
    let mut bus = bus_with(Config {
        idle_after: Some(Duration::from_secs(10)),
        ..Config::default()
    });
    let s = sub(&mut bus, "t");
    bus.pause(s, ms(0)).unwrap();
    publish(&mut bus, "t", 1);
    assert!(bus.leaks(ms(20_000)).is_empty());
    bus.resume(s, ms(20_000)).unwrap();
    assert_eq!(bus.leaks(ms(20_000)).len(), 1);
}

#[test]
fn a_subscription_count_rising_over_consecutive_windows_is_reported() {
    let config = Config {
        trend_window: Some(Duration::from_millis(100)),
        trend_windows: 3,
        ..Config::default()
    };
    let mut bus = bus_with(config);
    for w in 0..3u64 {
        bus.subscribe("t", SubscribeOptions::default(), ms(w * 100))
            .unwrap();
    }
    assert_eq!(bus.poll_timeout(), Some(ms(300)));
    bus.handle_timeout(ms(300));
    let leaks = bus.leaks(ms(300));
    assert_eq!(leaks.len(), 1);
    assert_eq!(
        leaks[0].reason,
        LeakReason::Trend {
            windows: 3,
            growth: 3
        }
    );
    assert_eq!(bus.metrics().leaks_suspected, 1);
}

#[test]
fn a_failed_batch_is_retried_as_a_batch_with_the_attempt_incremented() {
    let mut bus = bus_with(Config {
        retry: retry(2, 10),
        ..Config::default()
    });
    let batched = switchyard_core::DeliveryStrategy::Batched {
        size: 2,
        max_wait: Duration::from_secs(1),
    };
    sub_with(
        &mut bus,
        "t",
        SubscribeOptions {
            delivery: batched,
            ..Default::default()
        },
    );
    publish(&mut bus, "t", 1);
    publish(&mut bus, "t", 2);
    publish(&mut bus, "t", 3);
    let first = bus.poll_delivery(ms(0)).unwrap();
    bus.complete(first.token, Outcome::Failed("x".into()), ms(0))
        .unwrap();
    assert!(
        bus.poll_delivery(ms(5)).is_none(),
        "strict: the retry holds the queue back"
    );
    let again = bus.poll_delivery(ms(10)).unwrap();
    let seen: Vec<(u32, u32)> = again
        .items
        .iter()
        .map(|i| (i.message.payload, i.attempt))
        .collect();
    assert_eq!(seen, [(1, 2), (2, 2)]);
}

#[test]
fn a_subscription_timeout_overrides_the_bus_timeout() {
    let config = Config {
        timeout: Some(Duration::from_secs(60)),
        ..Config::default()
    };
    let mut bus = bus_with(config);
    let options = SubscribeOptions {
        timeout: Some(Duration::from_millis(5)),
        ..Default::default()
    };
    sub_with(&mut bus, "t", options);
    publish(&mut bus, "t", 1);
    let d = bus.poll_delivery(ms(0)).unwrap();
    bus.complete(d.token, Outcome::Pending, ms(0)).unwrap();
    assert_eq!(bus.poll_timeout(), Some(ms(5)));
    bus.handle_timeout(ms(5));
    assert_eq!(
        bus.dead_letters().next().unwrap().reason,
        DeadLetterReason::Timeout
    );
}

#[test]
fn a_settle_before_the_timeout_disarms_it() {
    let mut bus = bus_with(Config {
        timeout: Some(Duration::from_millis(5)),
        ..Config::default()
    });
    sub(&mut bus, "t");
    publish(&mut bus, "t", 1);
    let d = bus.poll_delivery(ms(0)).unwrap();
    bus.complete(d.token, Outcome::Pending, ms(0)).unwrap();
    bus.settle(d.token, Ok(()), ms(1)).unwrap();
    bus.handle_timeout(ms(10));
    assert_eq!(bus.metrics().totals.delivered, 1);
    assert_eq!(bus.dead_letters().count(), 0);
}

#[test]
fn a_ttl_also_expires_a_message_waiting_for_a_relaxed_retry() {
    let mut bus = bus_with(Config {
        retry: retry(3, 100),
        ..Config::default()
    });
    sub_with(
        &mut bus,
        "t",
        SubscribeOptions {
            ordering: OrderingMode::Relaxed,
            ..Default::default()
        },
    );
    let ttl = PublishOptions {
        ttl: Some(Duration::from_millis(50)),
        ..Default::default()
    };
    bus.publish("t", 1, ttl, ms(0)).unwrap();
    fail(&mut bus, ms(0));
    bus.handle_timeout(ms(50));
    let dead: Vec<_> = bus.dead_letters().collect();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].reason, DeadLetterReason::Expired);
    assert!(bus.is_idle());
}
