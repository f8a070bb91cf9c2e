//! Inline dispatch: eligibility, the epoch, ids, counters, trace and conservation against the
//! slow path, and what happens to a message whose handler throws, returns a promise or
//! unsubscribes another subscription (the host hands it over with `inline_adopt`).

mod common;

use core::time::Duration;

use common::{bus_with, conserved, drain, ms, publish, sub, sub_with};
use switchyard_core::trace::{TraceEvent, TraceKind};
use switchyard_core::{
    BreakerPolicy, Bus, Config, DeliveryStrategy, DeliveryToken, InlineError, InlineReceipt,
    InlineRoute, Instant, MessageId, Outcome, PublishOptions, RetryPolicy, SettleError,
    SubscribeOptions,
};

fn plain() -> Bus<u32> {
    bus_with(Config::default())
}

/// Delivers one publish on `topic` inline as the glue does: the route and the next numbers
/// first (`record_inline` with 0 publishes), then, every handler having returned, the record.
fn emit_inline(bus: &mut Bus<u32>, topic: &str, now: Instant) -> InlineReceipt {
    let route = bus.inline_route(topic).expect("valid topic");
    assert!(route.eligible, "{topic} should be eligible");
    let next = bus
        .record_inline(&route, 0, now)
        .expect("fresh route")
        .first;
    let receipt = bus
        .record_inline_delivered(&route, 1, now)
        .expect("a route of this bus");
    assert_eq!(receipt.first, next, "the numbers the handlers saw");
    receipt
}

/// Starts an inline publish on `topic` whose handler at `running` in the route is
/// interrupted (it threw, returned a promise or calls the bus): the handlers before it
/// returned, and the message is handed over. Returns the route, the message's id and the
/// running delivery.
fn interrupted(
    bus: &mut Bus<u32>,
    topic: &str,
    running: usize,
    payload: u32,
    now: Instant,
) -> (InlineRoute, MessageId, DeliveryToken) {
    let route = bus.inline_route(topic).expect("valid topic");
    assert!(route.eligible, "{topic} should be eligible");
    let next = bus
        .record_inline(&route, 0, now)
        .expect("fresh route")
        .first;
    let adopted = bus
        .inline_adopt(&route, running, true, payload, now)
        .expect("a route of this bus");
    assert_eq!(adopted.message.id, next.id);
    let token = adopted.running.expect("the running handler's delivery");
    (route, next.id, token)
}

#[test]
fn a_plain_route_is_eligible_and_lists_subscriptions_in_delivery_order() {
    let mut bus = plain();
    let low = sub(&mut bus, "a.*");
    let high = sub_with(
        &mut bus,
        "a.**",
        SubscribeOptions {
            priority: 5,
            ..Default::default()
        },
    );
    let route = bus.inline_route("a.b").unwrap();
    assert!(route.eligible);
    assert_eq!(&route.subscriptions[..], &[high, low]);
    assert_eq!(route.epoch, bus.inline_epoch());
}

#[test]
fn an_invalid_topic_is_a_typed_error() {
    let mut bus = plain();
    assert!(bus.inline_route("a.*").is_err());
    assert!(bus.inline_route("").is_err());
    assert!(bus.metrics().topics.is_empty());
}

#[test]
fn each_special_subscription_makes_its_routes_ineligible() {
    let breaker = BreakerPolicy {
        failures: 2,
        cooldown: Duration::from_millis(30),
        failure_ratio: None,
    };
    let specials = [
        SubscribeOptions {
            delivery: DeliveryStrategy::Batched {
                size: 2,
                max_wait: Duration::from_millis(5),
            },
            ..Default::default()
        },
        SubscribeOptions {
            breaker: Some(breaker),
            ..Default::default()
        },
        SubscribeOptions {
            group: Some("workers".into()),
            ..Default::default()
        },
        SubscribeOptions {
            max_deliveries: Some(1),
            ..Default::default()
        },
        SubscribeOptions {
            has_filter: true,
            ..Default::default()
        },
    ];
    for options in specials {
        let mut bus = plain();
        sub(&mut bus, "a");
        sub_with(&mut bus, "a", options.clone());
        assert!(!bus.inline_route("a").unwrap().eligible, "{options:?}");
        assert!(bus.inline_route("other").unwrap().eligible);
    }
}

#[test]
fn a_paused_subscription_makes_its_routes_ineligible_until_resumed() {
    let mut bus = plain();
    let s = sub(&mut bus, "a");
    bus.pause(s, ms(0)).unwrap();
    assert!(!bus.inline_route("a").unwrap().eligible);
    bus.resume(s, ms(0)).unwrap();
    assert!(bus.inline_route("a").unwrap().eligible);
}

#[test]
fn retaining_makes_every_route_ineligible_but_tracing_does_not() {
    let mut retaining = bus_with(Config {
        retain: 1,
        ..Config::default()
    });
    sub(&mut retaining, "a");
    assert!(!retaining.inline_route("a").unwrap().eligible);

    let mut bus = plain();
    sub(&mut bus, "a");
    bus.set_trace_capacity(16);
    assert!(bus.inline_route("a").unwrap().eligible);
}

#[test]
fn a_message_ready_anywhere_blocks_inline_until_it_is_delivered() {
    let mut bus = plain();
    sub(&mut bus, "a");
    let other = sub(&mut bus, "b");
    publish(&mut bus, "b", 1);
    // "a" does not reach `other`, but `other`'s message is older and must go first.
    assert!(!bus.inline_route("a").unwrap().eligible);
    assert_eq!(drain(&mut bus, ms(0)), [(other, vec![1])]);
    assert!(bus.inline_route("a").unwrap().eligible);
}

#[test]
fn a_delivery_in_flight_blocks_inline_while_a_pending_one_blocks_only_its_subscription() {
    let mut bus = plain();
    let a = sub(&mut bus, "a");
    sub(&mut bus, "b");
    publish(&mut bus, "a", 1);
    let delivery = bus.poll_delivery(ms(0)).unwrap();
    // The host is inside a slow-path handler: an inline dispatch now would recurse.
    assert!(!bus.inline_route("b").unwrap().eligible);
    bus.complete(delivery.token, Outcome::Pending, ms(0))
        .unwrap();
    assert!(bus.inline_route("b").unwrap().eligible);
    assert!(!bus.inline_route("a").unwrap().eligible);
    bus.settle(delivery.token, Ok(()), ms(1)).unwrap();
    assert!(bus.inline_route("a").unwrap().eligible);
    assert_eq!(bus.subscription(a).unwrap().stats.counters.delivered, 1);
}

#[test]
fn inline_ids_and_sequence_numbers_interleave_with_slow_path_publishes() {
    let mut bus = plain();
    let s = sub(&mut bus, "a");
    publish(&mut bus, "a", 1); // id 1, seq 1
    drain(&mut bus, ms(0));
    let first = emit_inline(&mut bus, "a", ms(0)).first; // id 2, seq 2
    assert_eq!((first.id, first.topic_seq), (MessageId(2), 2));
    let published = bus
        .publish("a", 3, PublishOptions::default(), ms(0))
        .unwrap();
    assert_eq!((published.id, published.topic_seq), (MessageId(3), 3));
    drain(&mut bus, ms(0));

    let route = bus.inline_route("a").unwrap();
    let receipt = bus.record_inline(&route, 3, ms(1)).unwrap();
    assert_eq!(receipt.count, 3);
    let last = receipt.message(2).unwrap();
    assert_eq!((last.id, last.topic_seq), (MessageId(6), 6));
    assert_eq!(receipt.message(3), None);
    let after = bus
        .publish("b", 0, PublishOptions::default(), ms(1))
        .unwrap();
    assert_eq!((after.id, after.topic_seq), (MessageId(7), 1));
    assert_eq!(bus.subscription(s).unwrap().stats.counters.delivered, 6);
}

#[test]
fn counters_and_conservation_equal_the_slow_path_for_the_same_sequence() {
    let topics = ["orders.eu", "orders.us", "orders.eu", "audit", "orders.eu"];
    let build = || {
        let mut bus = plain();
        let ids = [
            sub(&mut bus, "orders.*"),
            sub(&mut bus, "orders.eu"),
            sub(&mut bus, "**"),
        ];
        (bus, ids)
    };
    let (mut slow, _) = build();
    let (mut fast, _) = build();
    for (n, topic) in topics.iter().enumerate() {
        let now = ms(n as u64);
        slow.publish(topic, n as u32, PublishOptions::default(), now)
            .unwrap();
        drain(&mut slow, now);
        emit_inline(&mut fast, topic, now);
        assert!(conserved(&fast));
    }
    let (s, f) = (slow.metrics(), fast.metrics());
    assert_eq!(s.totals, f.totals);
    assert_eq!(s.totals.delivered, 12);
    assert_eq!(s.topics, f.topics);
    assert_eq!(s.subscriptions, f.subscriptions);
    assert_eq!(
        slow.publish("x", 0, PublishOptions::default(), ms(9))
            .unwrap(),
        fast.publish("x", 0, PublishOptions::default(), ms(9))
            .unwrap()
    );
}

#[test]
fn a_handler_throwing_inline_retries_like_a_failed_first_attempt() {
    let retry = RetryPolicy {
        max_attempts: 2,
        backoff: Duration::from_millis(10),
        ..RetryPolicy::default()
    };
    let mut bus = bus_with(Config {
        retry,
        ..Config::default()
    });
    let ok = sub(&mut bus, "a");
    let flaky = sub(&mut bus, "a");
    // `ok`'s handler returned, `flaky`'s threw.
    let (_, id, token) = interrupted(&mut bus, "a", 1, 7, ms(0));
    bus.complete(token, Outcome::Failed("boom".into()), ms(0))
        .unwrap();
    assert!(drain(&mut bus, ms(0)).is_empty());
    assert!(conserved(&bus));
    let c = bus.subscription(flaky).unwrap().stats.counters;
    assert_eq!((c.delivered, c.failed, c.retried), (0, 1, 1));
    assert_eq!(bus.subscription(ok).unwrap().stats.counters.delivered, 1);
    assert!(!bus.inline_route("a").unwrap().eligible);

    // The retry is due 10 ms later, as attempt 2 of the same message.
    assert!(bus.poll_delivery(ms(5)).is_none());
    let retry = bus.poll_delivery(ms(10)).unwrap();
    assert_eq!(retry.subscription, flaky);
    let item = &retry.items[0];
    assert_eq!(
        (item.attempt, item.message.id, item.message.payload),
        (2, id, 7)
    );
    assert_eq!(&*item.message.topic, "a");
    bus.complete(retry.token, Outcome::Failed("again".into()), ms(10))
        .unwrap();
    let dead: Vec<_> = bus.dead_letters().collect();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 2);
    assert_eq!(dead[0].last_error.as_deref(), Some("again"));
    assert!(conserved(&bus));
    assert!(bus.inline_route("a").unwrap().eligible);
}

#[test]
fn a_handler_throwing_inline_without_retries_is_dead_lettered_at_once() {
    let mut bus = bus_with(Config {
        retry: RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        },
        ..Config::default()
    });
    let s = sub(&mut bus, "a");
    let (_, _, token) = interrupted(&mut bus, "a", 0, 1, ms(0));
    bus.complete(token, Outcome::Failed("no".into()), ms(3))
        .unwrap();
    let dead: Vec<_> = bus.dead_letters().collect();
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].attempts, dead[0].subscription), (1, s));
    assert_eq!(dead[0].message.published_at, ms(0));
    let t = bus.metrics().totals;
    assert_eq!((t.delivered, t.failed, t.dead_lettered), (0, 1, 1));
    assert!(conserved(&bus));
}

#[test]
fn a_handler_returning_a_promise_inline_settles_like_a_slow_path_pending_delivery() {
    let mut bus = plain();
    let s = sub(&mut bus, "a");
    let (_, _, token) = interrupted(&mut bus, "a", 0, 4, ms(0));
    bus.complete(token, Outcome::Pending, ms(0)).unwrap();
    assert_eq!(bus.metrics().in_flight_messages, 1);
    assert_eq!(bus.metrics().totals.delivered, 0);
    assert!(conserved(&bus));
    // The next publish queues behind the pending delivery (concurrency 1).
    assert!(!bus.inline_route("a").unwrap().eligible);
    publish(&mut bus, "a", 5);
    assert!(bus.poll_delivery(ms(0)).is_none());
    bus.settle(token, Ok(()), ms(2)).unwrap();
    assert_eq!(drain(&mut bus, ms(2)), [(s, vec![5])]);
    assert_eq!(bus.metrics().totals.delivered, 2);
    assert!(conserved(&bus));
}

#[test]
fn a_promise_returned_inline_times_out_under_the_subscription_timeout() {
    let mut bus = bus_with(Config {
        timeout: Some(Duration::from_millis(50)),
        retry: RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        },
        ..Config::default()
    });
    sub(&mut bus, "a");
    let (_, _, token) = interrupted(&mut bus, "a", 0, 4, ms(10));
    bus.complete(token, Outcome::Pending, ms(10)).unwrap();
    assert_eq!(bus.poll_timeout(), Some(ms(60)));
    bus.handle_timeout(ms(60));
    assert_eq!(
        bus.settle(token, Ok(()), ms(61)),
        Err(SettleError::TimedOut)
    );
    assert_eq!(bus.dead_letters().count(), 1);
    assert!(conserved(&bus));
}

#[test]
fn a_subscription_a_running_handler_removes_gets_nothing_and_is_counted_dropped() {
    let mut bus = plain();
    let first = sub(&mut bus, "a");
    let second = sub(&mut bus, "a");
    // `first`'s handler unsubscribes `second` before its turn: a bus call, so the message
    // is handed over first.
    let (_, _, token) = interrupted(&mut bus, "a", 0, 1, ms(0));
    bus.unsubscribe(second, ms(0));
    bus.complete(token, Outcome::Delivered, ms(0)).unwrap();
    assert!(drain(&mut bus, ms(0)).is_empty());
    let t = bus.metrics().totals;
    assert_eq!((t.delivered, t.dropped), (1, 1));
    assert_eq!(bus.subscription(first).unwrap().stats.counters.delivered, 1);
    assert!(conserved(&bus));
}

#[test]
fn the_epoch_changes_on_each_eligibility_affecting_event() {
    let mut bus = plain();
    let mut seen = vec![bus.inline_epoch()];
    let mut changed = |bus: &Bus<u32>, what: &str| {
        let epoch = bus.inline_epoch();
        assert!(!seen.contains(&epoch), "epoch did not change on {what}");
        seen.push(epoch);
    };
    let s = sub(&mut bus, "a");
    changed(&bus, "subscribe");
    bus.pause(s, ms(0)).unwrap();
    changed(&bus, "pause");
    bus.resume(s, ms(0)).unwrap();
    changed(&bus, "resume");
    bus.set_delivery(
        s,
        DeliveryStrategy::Batched {
            size: 2,
            max_wait: Duration::from_millis(5),
        },
        ms(0),
    )
    .unwrap();
    changed(&bus, "strategy swap");
    bus.set_delivery(s, DeliveryStrategy::Immediate, ms(0))
        .unwrap();
    changed(&bus, "strategy swap back");
    publish(&mut bus, "a", 1);
    changed(&bus, "a queue becoming non-empty");
    let d = bus.poll_delivery(ms(0)).unwrap();
    changed(&bus, "a delivery handed out");
    bus.complete(d.token, Outcome::Pending, ms(0)).unwrap();
    changed(&bus, "a delivery going pending");
    bus.settle(d.token, Ok(()), ms(0)).unwrap();
    changed(&bus, "a settle");
    bus.set_trace_capacity(4);
    changed(&bus, "tracing on");
    bus.unsubscribe(s, ms(0));
    changed(&bus, "unsubscribe");

    // Recording inline deliveries changes nothing about eligibility: the epoch stays.
    let mut bus = plain();
    sub(&mut bus, "a");
    let route = bus.inline_route("a").unwrap();
    bus.record_inline_delivered(&route, 5, ms(0)).unwrap();
    assert_eq!(bus.inline_epoch(), route.epoch);
    bus.record_inline(&route, 0, ms(1)).unwrap();
}

#[test]
fn a_breaker_opening_changes_the_epoch() {
    let mut bus = plain();
    let s = sub_with(
        &mut bus,
        "a",
        SubscribeOptions {
            breaker: Some(BreakerPolicy {
                failures: 1,
                cooldown: Duration::from_millis(30),
                failure_ratio: None,
            }),
            retry: Some(RetryPolicy {
                max_attempts: 1,
                ..RetryPolicy::default()
            }),
            ..Default::default()
        },
    );
    publish(&mut bus, "a", 1);
    let d = bus.poll_delivery(ms(0)).unwrap();
    let before = bus.inline_epoch();
    bus.complete(d.token, Outcome::Failed("x".into()), ms(0))
        .unwrap();
    assert_ne!(bus.inline_epoch(), before);
    assert_eq!(d.subscription, s);
}

#[test]
fn a_stale_or_ineligible_route_is_refused_and_records_nothing() {
    let mut bus = plain();
    sub(&mut bus, "a");
    let route = bus.inline_route("a").unwrap();
    sub(&mut bus, "a");
    assert_eq!(bus.record_inline(&route, 0, ms(0)), Err(InlineError::Stale));
    bus.pause(route.subscriptions[0], ms(0)).unwrap();
    let ineligible = bus.inline_route("a").unwrap();
    assert_eq!(
        bus.record_inline(&ineligible, 0, ms(0)),
        Err(InlineError::NotEligible)
    );
    let t = bus.metrics().totals;
    assert_eq!((t.published, t.matched, t.delivered), (0, 0, 0));
    assert_eq!(
        bus.publish("a", 1, PublishOptions::default(), ms(0))
            .unwrap()
            .id,
        MessageId(1)
    );
}

#[test]
fn a_retry_falling_due_makes_a_cached_route_stale_so_it_cannot_overtake() {
    let mut bus = bus_with(Config {
        retry: RetryPolicy {
            max_attempts: 2,
            backoff: Duration::from_millis(10),
            ..RetryPolicy::default()
        },
        ..Config::default()
    });
    let a = sub(&mut bus, "a");
    let b = sub(&mut bus, "b");
    publish(&mut bus, "a", 1);
    let d = bus.poll_delivery(ms(0)).unwrap();
    bus.complete(d.token, Outcome::Failed("x".into()), ms(0))
        .unwrap();
    // Waiting for its retry, `a` is not ready: "b" may go inline.
    let route = bus.inline_route("b").unwrap();
    assert!(route.eligible);
    // At 10 ms the retry is due and must go before a new message on "b".
    assert_eq!(
        bus.record_inline(&route, 0, ms(10)),
        Err(InlineError::Stale)
    );
    assert_eq!(bus.metrics().totals.published, 1);
    publish(&mut bus, "b", 2);
    assert_eq!(drain(&mut bus, ms(10)), [(a, vec![1]), (b, vec![2])]);
}

/// Every event of `bus`'s trace ring, oldest first.
fn trace_of(bus: &Bus<u32>) -> Vec<TraceEvent> {
    bus.trace_since(0).events
}

/// Two buses with the same subscriptions and a trace ring of `capacity` events.
fn traced_pair(capacity: usize) -> (Bus<u32>, Bus<u32>) {
    let build = || {
        let mut bus = bus_with(Config {
            trace_capacity: capacity,
            ..Config::default()
        });
        sub(&mut bus, "orders.*");
        sub_with(
            &mut bus,
            "orders.eu",
            SubscribeOptions {
                priority: 3,
                ..Default::default()
            },
        );
        sub(&mut bus, "**");
        bus
    };
    (build(), build())
}

#[test]
fn inline_publishes_write_the_slow_paths_trace_events_and_metrics() {
    let (mut slow, mut fast) = traced_pair(4096);
    let topics = [
        "orders.eu",
        "orders.us",
        "orders.eu",
        "audit",
        "nobody.listens.here",
    ];
    for (n, topic) in topics.iter().enumerate() {
        let now = ms(n as u64 * 3);
        slow.publish(topic, n as u32, PublishOptions::default(), now)
            .unwrap();
        drain(&mut slow, now);
        emit_inline(&mut fast, topic, now);
    }
    let (s, f) = (trace_of(&slow), trace_of(&fast));
    // 3 subscribed, 5 published, (3 + 2 + 3 + 1 + 1) pairs × (enqueued, delivering, delivered).
    assert_eq!(s.len(), 3 + 5 + 10 * 3);
    assert_eq!(s, f);
    assert_eq!(slow.trace_since(0).cursor, fast.trace_since(0).cursor);
    let (sm, fm) = (slow.metrics(), fast.metrics());
    assert_eq!(sm.totals, fm.totals);
    assert_eq!(sm.topics, fm.topics);
    assert_eq!(sm.subscriptions, fm.subscriptions);
}

#[test]
fn a_run_recorded_with_one_call_traces_like_the_same_publishes_one_by_one() {
    for capacity in [4096, 40, 7] {
        let (mut slow, mut fast) = traced_pair(capacity);
        let now = ms(2);
        for n in 0..12 {
            slow.publish("orders.eu", n, PublishOptions::default(), now)
                .unwrap();
            drain(&mut slow, now);
        }
        let route = fast.inline_route("orders.eu").unwrap();
        let receipt = fast.record_inline_delivered(&route, 12, now).unwrap();
        assert_eq!(receipt.count, 12);
        assert_eq!(
            slow.trace_since(0),
            fast.trace_since(0),
            "capacity {capacity}"
        );
        assert_eq!(slow.metrics().totals, fast.metrics().totals);
    }
}

#[test]
fn a_handler_throwing_inline_traces_exactly_what_the_slow_path_traces() {
    let (mut slow, mut fast) = traced_pair(4096);
    let now = ms(1);
    // The second subscription of the route throws.
    slow.publish("orders.eu", 7, PublishOptions::default(), now)
        .unwrap();
    let mut n = 0;
    while let Some(delivery) = slow.poll_delivery(now) {
        let outcome = if n == 1 {
            Outcome::Failed("boom".into())
        } else {
            Outcome::Delivered
        };
        n += 1;
        slow.complete(delivery.token, outcome, now).unwrap();
    }
    let (_, _, token) = interrupted(&mut fast, "orders.eu", 1, 7, now);
    fast.complete(token, Outcome::Failed("boom".into()), now)
        .unwrap();
    drain(&mut fast, now);

    assert_eq!(trace_of(&slow), trace_of(&fast));
    assert_eq!(slow.trace_since(0).cursor, fast.trace_since(0).cursor);
    assert_eq!(slow.metrics().totals, fast.metrics().totals);
}

#[test]
fn a_promise_returned_inline_traces_its_settlement_not_an_early_delivered() {
    let (_, mut fast) = traced_pair(4096);
    let (_, id, token) = interrupted(&mut fast, "audit", 0, 1, ms(0));
    fast.complete(token, Outcome::Pending, ms(0)).unwrap();
    let kinds = |bus: &Bus<u32>| -> Vec<TraceKind> {
        trace_of(bus)
            .into_iter()
            .map(|e| e.kind)
            .filter(|kind| *kind != TraceKind::Subscribed)
            .collect()
    };
    assert_eq!(
        kinds(&fast),
        [
            TraceKind::Published,
            TraceKind::Enqueued,
            TraceKind::Delivering
        ]
    );
    fast.settle(token, Ok(()), ms(4)).unwrap();
    let events = trace_of(&fast);
    let last = events.last().expect("settled");
    assert_eq!((last.kind, last.detail), (TraceKind::Delivered, 4000));
    assert_eq!(last.message, Some(id));
}

#[test]
fn a_subscription_removed_mid_dispatch_traces_a_dropped_event_instead_of_its_delivery() {
    let (_, mut fast) = traced_pair(4096);
    let route = fast.inline_route("orders.us").unwrap();
    let [first, second] = route.subscriptions[..] else {
        panic!("two subscriptions");
    };
    // `first`'s handler unsubscribes `second`.
    let (_, id, token) = interrupted(&mut fast, "orders.us", 0, 0, ms(0));
    fast.unsubscribe(second, ms(0));
    fast.complete(token, Outcome::Delivered, ms(0)).unwrap();
    assert!(drain(&mut fast, ms(0)).is_empty());
    let events = trace_of(&fast);
    assert!(!events.iter().any(|e| e.subscription == Some(second)
        && matches!(e.kind, TraceKind::Delivering | TraceKind::Delivered)));
    assert!(events
        .iter()
        .any(|e| (e.kind, e.subscription, e.message, e.detail)
            == (TraceKind::Dropped, Some(second), Some(id), 2)));
    assert!(events
        .iter()
        .any(|e| e.kind == TraceKind::Delivered && e.subscription == Some(first)));
    let cursors: Vec<u64> = events.iter().map(|e| e.cursor).collect();
    assert_eq!(cursors, (0..events.len() as u64).collect::<Vec<_>>());
    assert!(conserved(&fast));
}

#[test]
fn promises_timing_out_together_time_out_in_the_order_they_went_pending_on_both_paths() {
    let build = || {
        let mut bus = bus_with(Config {
            trace_capacity: 4096,
            timeout: Some(Duration::from_millis(40)),
            ..Config::default()
        });
        let subs = [sub(&mut bus, "**"), sub(&mut bus, "**")];
        (bus, subs)
    };
    let (mut slow, subs) = build();
    let (mut fast, _) = build();
    // A first message both handlers return from, then one both answer with a promise.
    publish(&mut slow, "a", 1);
    drain(&mut slow, ms(0));
    publish(&mut slow, "a", 2);
    while let Some(delivery) = slow.poll_delivery(ms(0)) {
        slow.complete(delivery.token, Outcome::Pending, ms(0))
            .unwrap();
    }
    emit_inline(&mut fast, "a", ms(0));
    let (_, _, token) = interrupted(&mut fast, "a", 0, 2, ms(0));
    fast.complete(token, Outcome::Pending, ms(0)).unwrap();
    while let Some(delivery) = fast.poll_delivery(ms(0)) {
        fast.complete(delivery.token, Outcome::Pending, ms(0))
            .unwrap();
    }

    slow.handle_timeout(ms(40));
    fast.handle_timeout(ms(40));
    let timed_out = |bus: &Bus<u32>| -> Vec<_> {
        trace_of(bus)
            .into_iter()
            .filter(|e| e.kind == TraceKind::TimedOut)
            .map(|e| e.subscription.unwrap())
            .collect()
    };
    assert_eq!(timed_out(&slow), subs);
    assert_eq!(timed_out(&fast), subs);
    assert_eq!(trace_of(&slow), trace_of(&fast));
}
