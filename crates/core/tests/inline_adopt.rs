//! Inline dispatch recorded after the fact: [`Bus::inline_adopt`] hands the engine a message
//! a host is in the middle of delivering (something reads or changes the bus from inside a
//! handler), and [`Bus::record_inline_delivered`] records runs whose handlers already ran,
//! without refusal. Every state is compared with the slow path at the same point.

mod common;

use core::time::Duration;

use common::{bus_with, conserved, drain, ms, sub};
use switchyard_core::snapshot::SerdeCodec;
use switchyard_core::trace::TraceEvent;
use switchyard_core::{
    Bus, Config, InlineError, InlineRoute, Instant, MessageId, Outcome, PublishOptions,
    RetryPolicy, SubscriptionId,
};

fn traced() -> Config {
    Config {
        trace_capacity: 4096,
        ..Config::default()
    }
}

/// Two buses with three subscriptions on "t" (the second, "*", also gets "u").
fn pair(config: Config) -> (Bus<u32>, Bus<u32>, [SubscriptionId; 3]) {
    let (slow, fast, [first, second, third, _]) = pair_and_u(config);
    (slow, fast, [first, second, third])
}

/// [`pair`], plus the id of a fourth subscription, on "u".
fn pair_and_u(config: Config) -> (Bus<u32>, Bus<u32>, [SubscriptionId; 4]) {
    let build = || {
        let mut bus = bus_with(config.clone());
        let subs = [
            sub(&mut bus, "t"),
            sub(&mut bus, "*"),
            sub(&mut bus, "t"),
            sub(&mut bus, "u"),
        ];
        (bus, subs)
    };
    let (slow, subs) = build();
    let (fast, same) = build();
    assert_eq!(subs, same);
    (slow, fast, subs)
}

fn route(bus: &mut Bus<u32>, topic: &str) -> InlineRoute {
    let route = bus.inline_route(topic).expect("valid topic");
    assert!(route.eligible);
    route
}

fn trace_of(bus: &Bus<u32>) -> Vec<TraceEvent> {
    bus.trace_since(0).events
}

/// Everything observable about a bus's state, for slow/fast comparisons.
fn state(bus: &Bus<u32>) -> impl PartialEq + core::fmt::Debug {
    let m = bus.metrics();
    (
        m.totals,
        m.topics,
        m.subscriptions,
        m.queued,
        m.in_flight_messages,
        trace_of(bus),
        bus.dead_letters()
            .map(|d| (d.id, d.message.id, d.subscription, d.attempts, d.reason))
            .collect::<Vec<_>>(),
        bus.snapshot(&SerdeCodec).expect("u32 payloads encode"),
    )
}

#[test]
fn a_message_adopted_while_its_second_handler_runs_is_in_the_slow_paths_state() {
    let (mut slow, mut fast, [first, second, third]) = pair(traced());
    let now = ms(3);
    slow.publish("t", 7, PublishOptions::default(), now)
        .unwrap();
    let d = slow.poll_delivery(now).unwrap();
    assert_eq!(d.subscription, first);
    slow.complete(d.token, Outcome::Delivered, now).unwrap();
    let running = slow.poll_delivery(now).unwrap();
    assert_eq!(running.subscription, second);

    let r = route(&mut fast, "t");
    let adopted = fast.inline_adopt(&r, 1, true, 7, now).unwrap();
    assert_eq!(adopted.message.id, MessageId(1));
    let token = adopted.running.expect("the running handler's delivery");

    // Mid-dispatch: first delivered, second in flight, third queued, on both.
    assert_eq!(state(&slow), state(&fast));
    let m = fast.metrics();
    assert_eq!(
        (m.totals.delivered, m.in_flight_messages, m.queued),
        (1, 1, 1)
    );
    assert!(conserved(&fast));

    slow.complete(running.token, Outcome::Delivered, now)
        .unwrap();
    fast.complete(token, Outcome::Delivered, now).unwrap();
    assert_eq!(drain(&mut slow, now), [(third, vec![7])]);
    assert_eq!(drain(&mut fast, now), [(third, vec![7])]);
    assert_eq!(state(&slow), state(&fast));
    assert!(conserved(&fast));
}

#[test]
fn a_snapshot_taken_mid_dispatch_restores_a_bus_that_still_delivers_to_the_rest() {
    let (_, mut fast, [_, second, third]) = pair(Config::default());
    let r = route(&mut fast, "t");
    fast.inline_adopt(&r, 1, true, 9, ms(0)).unwrap();
    let snapshot = fast.snapshot(&SerdeCodec).unwrap();

    let restored = Bus::<u32>::restore(Config::default(), snapshot, &SerdeCodec, ms(0)).unwrap();
    let mut bus = restored.bus;
    let new_id = |old: SubscriptionId| {
        restored
            .subscriptions
            .iter()
            .find(|(o, _)| *o == old)
            .map(|(_, n)| *n)
            .expect("restored")
    };
    // The running delivery is written back at its queue's head (it runs again), the third
    // subscription's is still queued: nobody whose handler had not returned loses it.
    assert_eq!(
        drain(&mut bus, ms(1)),
        [(new_id(second), vec![9]), (new_id(third), vec![9])]
    );
    assert!(conserved(&bus));
}

#[test]
fn a_handler_publishing_after_adoption_is_delivered_after_the_message_reached_everyone() {
    let (mut slow, mut fast, [first, second, third, u]) = pair_and_u(traced());
    let now = ms(0);
    // first's handler publishes on "u" while it runs.
    slow.publish("t", 1, PublishOptions::default(), now)
        .unwrap();
    let d = slow.poll_delivery(now).unwrap();
    let caused = PublishOptions {
        causation: Some(MessageId(1)),
        ..Default::default()
    };
    slow.publish("u", 2, caused.clone(), now).unwrap();
    slow.complete(d.token, Outcome::Delivered, now).unwrap();

    let r = route(&mut fast, "t");
    let adopted = fast.inline_adopt(&r, 0, true, 1, now).unwrap();
    fast.publish("u", 2, caused, now).unwrap();
    fast.complete(adopted.running.unwrap(), Outcome::Delivered, now)
        .unwrap();

    // "*" (second) matches "u" too, and was subscribed before `u`.
    let order = [
        (second, vec![1]),
        (third, vec![1]),
        (second, vec![2]),
        (u, vec![2]),
    ];
    assert_eq!(drain(&mut slow, now), order);
    assert_eq!(drain(&mut fast, now), order);
    assert_eq!(state(&slow), state(&fast));
    assert_eq!(d.subscription, first);
}

#[test]
fn a_handler_that_threw_is_adopted_and_fails_like_a_slow_path_first_attempt() {
    let config = Config {
        retry: RetryPolicy {
            max_attempts: 2,
            backoff: Duration::from_millis(10),
            ..RetryPolicy::default()
        },
        ..traced()
    };
    let (mut slow, mut fast, [first, _, _]) = pair(config);
    let now = ms(1);
    slow.publish("t", 5, PublishOptions::default(), now)
        .unwrap();
    let d = slow.poll_delivery(now).unwrap();
    slow.complete(d.token, Outcome::Failed("boom".into()), now)
        .unwrap();

    let r = route(&mut fast, "t");
    let adopted = fast.inline_adopt(&r, 0, true, 5, now).unwrap();
    fast.complete(
        adopted.running.unwrap(),
        Outcome::Failed("boom".into()),
        now,
    )
    .unwrap();
    assert_eq!(state(&slow), state(&fast));

    drain(&mut slow, now);
    drain(&mut fast, now);
    let retried = |bus: &mut Bus<u32>| drain(bus, ms(11));
    assert_eq!(retried(&mut slow), [(first, vec![5])]);
    assert_eq!(retried(&mut fast), [(first, vec![5])]);
    assert_eq!(state(&slow), state(&fast));
    assert!(conserved(&fast));
}

#[test]
fn adopting_before_any_handler_ran_queues_the_message_for_everyone() {
    let (mut slow, mut fast, subs) = pair(traced());
    slow.publish("t", 3, PublishOptions::default(), ms(0))
        .unwrap();
    let r = route(&mut fast, "t");
    let adopted = fast.inline_adopt(&r, 0, false, 3, ms(0)).unwrap();
    assert_eq!(adopted.running, None);
    assert_eq!(state(&slow), state(&fast));
    let everyone: Vec<_> = subs.iter().map(|s| (*s, vec![3])).collect();
    assert_eq!(drain(&mut fast, ms(0)), everyone);
    assert_eq!(drain(&mut slow, ms(0)), everyone);
    assert_eq!(state(&slow), state(&fast));
}

#[test]
fn adopting_after_every_handler_returned_records_what_a_delivered_record_records() {
    let (mut recorded, mut adopted, _) = pair(traced());
    let r = route(&mut recorded, "t");
    recorded.record_inline_delivered(&r, 1, ms(2)).unwrap();
    let r = route(&mut adopted, "t");
    let answer = adopted.inline_adopt(&r, 3, false, 0, ms(2)).unwrap();
    assert_eq!(answer.running, None);
    assert_eq!(answer.message.topic_seq, 1);
    assert_eq!(state(&recorded), state(&adopted));
}

#[test]
fn a_subscription_removed_before_its_turn_is_counted_dropped_when_adopted() {
    let (_, mut fast, [first, second, third]) = pair(traced());
    let r = route(&mut fast, "t");
    fast.unsubscribe(third, ms(0));
    let adopted = fast.inline_adopt(&r, 1, true, 4, ms(0)).unwrap();
    let t = fast.metrics().totals;
    assert_eq!((t.matched, t.delivered, t.dropped), (3, 1, 1));
    assert!(conserved(&fast));
    fast.complete(adopted.running.unwrap(), Outcome::Delivered, ms(0))
        .unwrap();
    assert!(drain(&mut fast, ms(0)).is_empty());
    assert_eq!(
        fast.subscription(first).unwrap().stats.counters.delivered,
        1
    );
    assert_eq!(
        fast.subscription(second).unwrap().stats.counters.delivered,
        1
    );
    assert!(conserved(&fast));
}

#[test]
fn adopting_beyond_the_route_or_with_a_foreign_topic_is_a_typed_error_that_changes_nothing() {
    let (_, mut fast, _) = pair(Config::default());
    let r = route(&mut fast, "t");
    let before = fast.metrics();
    assert_eq!(
        fast.inline_adopt(&r, 3, true, 0, ms(0)),
        Err(InlineError::BeyondRoute {
            delivered: 3,
            running: true,
            subscriptions: 3
        })
    );
    assert!(fast.inline_adopt(&r, 4, false, 0, ms(0)).is_err());
    let mut foreign = r.clone();
    foreign.topic = switchyard_core::TopicHandle(99);
    // Later instants: a refused call must not move the bus clock either.
    assert!(matches!(
        fast.inline_adopt(&foreign, 0, true, 0, ms(500)),
        Err(InlineError::UnknownTopic(_))
    ));
    assert!(matches!(
        fast.record_inline_delivered(&foreign, 1, ms(500)),
        Err(InlineError::UnknownTopic(_))
    ));
    assert_eq!(fast.metrics(), before);
    // A message adopted at 0 ms is stamped with the bus clock: still 0 ms.
    fast.inline_adopt(&r, 0, false, 0, ms(0)).unwrap();
    let delivery = fast.poll_delivery(ms(0)).expect("a delivery");
    assert_eq!(delivery.items[0].message.id, MessageId(1));
    assert_eq!(
        delivery.items[0].message.published_at,
        ms(0),
        "the bus clock did not move"
    );
}

#[test]
fn delivered_runs_are_recorded_even_when_the_route_went_stale() {
    let (_, mut bus, [first, second, third]) = pair(traced());
    let r = route(&mut bus, "t");
    // The handlers of five publishes ran; then the bus changed before the run was recorded.
    sub(&mut bus, "t");
    bus.pause(first, ms(0)).unwrap();
    assert_eq!(bus.record_inline(&r, 5, ms(0)), Err(InlineError::Stale));
    let receipt = bus.record_inline_delivered(&r, 5, ms(0)).unwrap();
    assert_eq!((receipt.first.id, receipt.count), (MessageId(1), 5));
    for s in [first, second, third] {
        assert_eq!(bus.subscription(s).unwrap().stats.counters.delivered, 5);
    }
    let t = bus.metrics().totals;
    assert_eq!((t.published, t.matched, t.delivered), (5, 15, 15));
    assert!(conserved(&bus));
    assert_eq!(
        bus.publish("t", 0, PublishOptions::default(), ms(0))
            .unwrap()
            .id,
        MessageId(6)
    );
}

#[test]
fn a_delivered_run_counts_a_since_removed_subscription_on_the_bus_and_topic() {
    let (_, mut bus, [_, second, _]) = pair(Config::default());
    let r = route(&mut bus, "t");
    bus.unsubscribe(second, ms(0));
    bus.record_inline_delivered(&r, 2, ms(0)).unwrap();
    let m = bus.metrics();
    assert_eq!((m.totals.matched, m.totals.delivered), (6, 6));
    let topic = m.topics.iter().find(|t| &*t.topic == "t").unwrap();
    assert_eq!(topic.counters.delivered, 6);
    assert!(conserved(&bus));
}

#[test]
fn a_retry_falling_due_does_not_refuse_a_delivered_run_and_still_goes_out_next() {
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
    bus.publish("a", 1, PublishOptions::default(), ms(0))
        .unwrap();
    let d = bus.poll_delivery(ms(0)).unwrap();
    bus.complete(d.token, Outcome::Failed("x".into()), ms(0))
        .unwrap();
    let r = route(&mut bus, "b");
    let at: Instant = ms(10);
    let receipt = bus.record_inline_delivered(&r, 1, at).unwrap();
    assert_eq!(receipt.first.id, MessageId(2));
    assert_eq!(bus.subscription(b).unwrap().stats.counters.delivered, 1);
    assert_eq!(drain(&mut bus, at), [(a, vec![1])]);
    assert!(conserved(&bus));
}

mod random {
    //! Adoption at any point of any message, with any outcome of the running handler, leaves
    //! the bus exactly where the slow path leaves it, then and after the message is finished.

    use super::*;
    use proptest::prelude::*;
    use switchyard_core::SubscribeOptions;

    /// How the running handler ends.
    #[derive(Clone, Debug)]
    enum Ending {
        Returns,
        Throws,
        Settles(bool),
    }

    fn ending() -> impl Strategy<Value = Ending> {
        prop_oneof![
            Just(Ending::Returns),
            Just(Ending::Throws),
            any::<bool>().prop_map(Ending::Settles),
        ]
    }

    /// A bus with one subscription per priority, all on "t" (some through wildcards).
    fn build(priorities: &[i32]) -> Bus<u32> {
        let mut bus = bus_with(Config {
            retry: RetryPolicy {
                max_attempts: 2,
                backoff: Duration::from_millis(5),
                ..RetryPolicy::default()
            },
            ..traced()
        });
        for (n, priority) in priorities.iter().enumerate() {
            let pattern = ["t", "*", "**"][n % 3];
            let options = SubscribeOptions {
                priority: *priority,
                ..Default::default()
            };
            bus.subscribe(pattern, options, ms(0))
                .expect("valid subscription");
        }
        bus
    }

    fn finish(bus: &mut Bus<u32>, token: switchyard_core::DeliveryToken, ending: &Ending) {
        let now = ms(1);
        match ending {
            Ending::Returns => bus.complete(token, Outcome::Delivered, now).unwrap(),
            Ending::Throws => bus
                .complete(token, Outcome::Failed("thrown".into()), now)
                .unwrap(),
            Ending::Settles(ok) => {
                bus.complete(token, Outcome::Pending, now).unwrap();
                let result = if *ok { Ok(()) } else { Err("rejected".into()) };
                bus.settle(token, result, ms(2)).unwrap();
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        #[test]
        fn adopting_anywhere_matches_the_slow_path(
            priorities in prop::collection::vec(-2i32..3, 1..6),
            earlier in 0u32..4,
            at in any::<prop::sample::Index>(),
            ending in ending(),
        ) {
            let mut slow = build(&priorities);
            let mut fast = build(&priorities);
            let running = at.index(priorities.len());
            let route = fast.inline_route("t").unwrap();
            prop_assert!(route.eligible);

            // Earlier publishes on the topic whose handlers all returned.
            for n in 0..earlier {
                slow.publish("t", n, PublishOptions::default(), ms(0)).unwrap();
                drain(&mut slow, ms(0));
            }
            fast.record_inline_delivered(&route, earlier, ms(0)).unwrap();

            // The message: `running` handlers returned, the next one runs.
            slow.publish("t", 99, PublishOptions::default(), ms(0)).unwrap();
            let mut in_flight = None;
            for n in 0..=running {
                let d = slow.poll_delivery(ms(0)).unwrap();
                prop_assert_eq!(d.subscription, route.subscriptions[n]);
                if n < running {
                    slow.complete(d.token, Outcome::Delivered, ms(0)).unwrap();
                } else {
                    in_flight = Some(d.token);
                }
            }
            let adopted = fast.inline_adopt(&route, running, true, 99, ms(0)).unwrap();
            prop_assert_eq!(adopted.message.id, MessageId(u64::from(earlier) + 1));
            prop_assert_eq!(state(&slow), state(&fast));
            prop_assert!(conserved(&fast));

            finish(&mut slow, in_flight.unwrap(), &ending);
            finish(&mut fast, adopted.running.unwrap(), &ending);
            prop_assert_eq!(drain(&mut slow, ms(2)), drain(&mut fast, ms(2)));
            // Retries fall due later.
            prop_assert_eq!(drain(&mut slow, ms(20)), drain(&mut fast, ms(20)));
            prop_assert_eq!(state(&slow), state(&fast));
            prop_assert!(conserved(&fast));
        }
    }
}
