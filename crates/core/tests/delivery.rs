//! Routing, ordering, dispatch and backpressure of `Bus`, driven with simulated time.

mod common;

use core::time::Duration;

use common::*;
use switchyard_core::{
    Bus, Config, DeliveryStrategy, MessageId, Outcome, Overflow, PublishError, PublishOptions,
    SettleError, SubscribeError, SubscribeOptions, TopicError, TraceKind,
};

#[test]
fn a_message_reaches_every_matching_subscription_once() {
    let mut bus = bus();
    let exact = sub(&mut bus, "orders.eu.created");
    let star = sub(&mut bus, "orders.*.created");
    let glob = sub(&mut bus, "orders.**");
    let _other = sub(&mut bus, "invoices.**");
    publish(&mut bus, "orders.eu.created", 1);
    assert_eq!(
        flat(drain(&mut bus, ms(0))),
        [(exact, 1), (star, 1), (glob, 1)]
    );
}

#[test]
fn higher_priority_receives_each_message_first_and_ties_go_in_subscription_order() {
    let mut bus = bus();
    let low = sub_with(
        &mut bus,
        "a",
        SubscribeOptions {
            priority: -1,
            ..Default::default()
        },
    );
    let first = sub(&mut bus, "a");
    let high = sub_with(
        &mut bus,
        "a",
        SubscribeOptions {
            priority: 5,
            ..Default::default()
        },
    );
    let second = sub(&mut bus, "a");
    publish(&mut bus, "a", 1);
    publish(&mut bus, "a", 2);
    assert_eq!(
        flat(drain(&mut bus, ms(0))),
        [
            (high, 1),
            (first, 1),
            (second, 1),
            (low, 1),
            (high, 2),
            (first, 2),
            (second, 2),
            (low, 2)
        ]
    );
}

#[test]
fn a_publish_from_a_handler_is_delivered_after_the_current_message_reached_everyone() {
    let mut bus = bus();
    let a = sub(&mut bus, "**");
    let b = sub(&mut bus, "**");
    publish(&mut bus, "first", 1);
    let mut log = Vec::new();
    while let Some(d) = bus.poll_delivery(ms(0)) {
        let message = &d.items[0].message;
        log.push((d.subscription, message.payload));
        if message.payload == 1 && d.subscription == a {
            let options = PublishOptions {
                causation: Some(message.id),
                ..Default::default()
            };
            bus.publish("second", 2, options, ms(0)).unwrap();
        }
        bus.complete(d.token, Outcome::Delivered, ms(0)).unwrap();
    }
    assert_eq!(log, [(a, 1), (b, 1), (a, 2), (b, 2)]);
}

#[test]
fn a_subscription_removed_during_dispatch_receives_nothing_more() {
    let mut bus = bus();
    let a = sub(&mut bus, "t");
    let b = sub(&mut bus, "t");
    publish(&mut bus, "t", 1);
    publish(&mut bus, "t", 2);
    let d = bus.poll_delivery(ms(0)).unwrap();
    assert_eq!(d.subscription, a);
    assert!(bus.unsubscribe(b, ms(0)));
    bus.complete(d.token, Outcome::Delivered, ms(0)).unwrap();
    assert_eq!(flat(drain(&mut bus, ms(0))), [(a, 2)]);
    // Its two queued messages count as dropped, so nothing vanished silently.
    assert_eq!(bus.metrics().totals.dropped, 2);
}

#[test]
fn a_subscription_removed_while_its_delivery_is_in_flight_forgets_the_token() {
    let mut bus = bus();
    let a = sub(&mut bus, "t");
    publish(&mut bus, "t", 1);
    let d = bus.poll_delivery(ms(0)).unwrap();
    bus.unsubscribe(a, ms(0));
    assert_eq!(
        bus.complete(d.token, Outcome::Delivered, ms(0)),
        Err(SettleError::UnknownToken)
    );
    assert_eq!(bus.metrics().totals.dropped, 1);
    assert!(bus.is_idle());
}

#[test]
fn a_subscription_added_during_dispatch_does_not_receive_the_message_in_flight() {
    let mut bus = bus();
    let a = sub(&mut bus, "t");
    publish(&mut bus, "t", 1);
    let d = bus.poll_delivery(ms(0)).unwrap();
    let late = sub(&mut bus, "t");
    bus.complete(d.token, Outcome::Delivered, ms(0)).unwrap();
    publish(&mut bus, "t", 2);
    assert_eq!(flat(drain(&mut bus, ms(0))), [(a, 2), (late, 2)]);
}

#[test]
fn an_invalid_topic_is_refused_and_changes_nothing() {
    let mut bus = bus();
    sub(&mut bus, "**");
    for (topic, error) in [
        ("", TopicError::Empty),
        ("a..b", TopicError::EmptySegment { index: 1 }),
        ("a.*", TopicError::WildcardInTopic { index: 1 }),
    ] {
        assert_eq!(
            bus.publish(topic, 0, PublishOptions::default(), ms(0)),
            Err(PublishError::InvalidTopic(error))
        );
    }
    let ok = bus
        .publish("a", 0, PublishOptions::default(), ms(0))
        .unwrap();
    assert_eq!(ok.id, MessageId(1));
    assert_eq!(bus.metrics().totals.published, 1);
}

#[test]
fn invalid_patterns_and_options_are_refused_with_the_field_named() {
    let mut bus = bus();
    assert!(matches!(
        bus.subscribe("a.***", SubscribeOptions::default(), ms(0)),
        Err(SubscribeError::InvalidPattern(_))
    ));
    let bad = SubscribeOptions {
        capacity: Some(0),
        ..Default::default()
    };
    match bus.subscribe("a", bad, ms(0)) {
        Err(SubscribeError::InvalidOption(e)) => assert_eq!(e.field, "capacity"),
        other => panic!("unexpected {other:?}"),
    }
    let bad = SubscribeOptions {
        delivery: DeliveryStrategy::Batched {
            size: 0,
            max_wait: Duration::ZERO,
        },
        ..Default::default()
    };
    match bus.subscribe("a", bad, ms(0)) {
        Err(SubscribeError::InvalidOption(e)) => assert_eq!(e.field, "delivery.size"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(bus.subscriptions().is_empty());
}

#[test]
fn every_message_gets_a_global_and_a_per_topic_sequence_number() {
    let mut bus = bus();
    let opts = PublishOptions::default;
    let a1 = bus.publish("a", 0, opts(), ms(0)).unwrap();
    let b1 = bus.publish("b", 0, opts(), ms(0)).unwrap();
    let a2 = bus.publish("a", 0, opts(), ms(5)).unwrap();
    assert_eq!((a1.id, a1.topic_seq), (MessageId(1), 1));
    assert_eq!((b1.id, b1.topic_seq), (MessageId(2), 1));
    assert_eq!((a2.id, a2.topic_seq), (MessageId(3), 2));
}

#[test]
fn causation_and_correlation_are_recorded_and_correlation_is_inherited() {
    let mut bus = bus();
    sub(&mut bus, "**");
    let options = PublishOptions {
        correlation: Some("req-7".into()),
        ..Default::default()
    };
    bus.publish("a", 1, options, ms(0)).unwrap();
    let d = bus.poll_delivery(ms(0)).unwrap();
    let parent = d.items[0].message.id;
    let child = PublishOptions {
        causation: Some(parent),
        ..Default::default()
    };
    bus.publish("b", 2, child, ms(0)).unwrap();
    bus.complete(d.token, Outcome::Delivered, ms(0)).unwrap();
    let d = bus.poll_delivery(ms(0)).unwrap();
    let message = &d.items[0].message;
    assert_eq!(message.causation, Some(parent));
    assert_eq!(message.correlation.as_deref(), Some("req-7"));
    assert_eq!(message.depth, 1);
}

#[test]
fn a_cascade_deeper_than_the_limit_is_refused_and_counted() {
    let mut bus = bus_with(Config {
        max_cascade_depth: 3,
        trace_capacity: 64,
        ..Config::default()
    });
    sub(&mut bus, "ping");
    publish(&mut bus, "ping", 0);
    let mut refused = None;
    while let Some(d) = bus.poll_delivery(ms(0)) {
        let options = PublishOptions {
            causation: Some(d.items[0].message.id),
            ..Default::default()
        };
        if let Err(e) = bus.publish("ping", 0, options, ms(0)) {
            refused = Some(e);
        }
        bus.complete(d.token, Outcome::Delivered, ms(0)).unwrap();
    }
    assert_eq!(refused, Some(PublishError::Cascade { depth: 4, limit: 3 }));
    assert_eq!(bus.metrics().totals.delivered, 4);
    assert_eq!(bus.metrics().cascades_refused, 1);
    assert!(bus
        .trace_since(0)
        .events
        .iter()
        .any(|e| e.kind == TraceKind::CascadeRefused));
}

#[test]
fn reject_overflow_fails_atomically_and_names_the_full_subscription() {
    let mut bus = bus();
    let roomy = sub(&mut bus, "t");
    let full = sub_with(
        &mut bus,
        "t",
        SubscribeOptions {
            capacity: Some(1),
            name: Some("slow".into()),
            ..Default::default()
        },
    );
    publish(&mut bus, "t", 1);
    let err = bus
        .publish("t", 2, PublishOptions::default(), ms(0))
        .unwrap_err();
    assert_eq!(
        err,
        PublishError::Backpressure {
            subscription: full,
            name: Some("slow".into()),
            pattern: "t".into(),
            capacity: 1
        }
    );
    // Nothing was enqueued for anyone and no sequence number was used.
    assert_eq!(bus.subscription(roomy).unwrap().depth, 1);
    let next = bus
        .publish("u", 3, PublishOptions::default(), ms(0))
        .unwrap();
    assert_eq!(next.id, MessageId(2));
    let metrics = bus.metrics();
    assert_eq!(metrics.publishes_rejected, 1);
    assert_eq!(metrics.totals.published, 2);
    assert!(bus
        .trace_since(0)
        .events
        .iter()
        .any(|e| e.kind == TraceKind::Backpressure));
}

#[test]
fn drop_oldest_evicts_the_head_and_counts_it() {
    let mut bus = bus();
    let s = sub_with(
        &mut bus,
        "t",
        SubscribeOptions {
            capacity: Some(2),
            overflow: Some(Overflow::DropOldest),
            ..Default::default()
        },
    );
    for n in 1..=4 {
        publish(&mut bus, "t", n);
    }
    assert_eq!(flat(drain(&mut bus, ms(0))), [(s, 3), (s, 4)]);
    let info = bus.subscription(s).unwrap();
    assert_eq!(info.stats.counters.dropped, 2);
    assert_eq!(info.high_water, 2);
    let dropped: Vec<u64> = bus
        .trace_since(0)
        .events
        .iter()
        .filter(|e| e.kind == TraceKind::Dropped)
        .map(|e| e.detail)
        .collect();
    assert_eq!(dropped, [0, 0]);
}

#[test]
fn drop_oldest_keeps_oldest_message_first_order_across_subscriptions() {
    // Found by the snapshot property test: evicting the head must move the subscription's
    // place in the ready index to its new head, or it overtakes older messages elsewhere.
    let mut bus = bus();
    let everything = sub_with(
        &mut bus,
        "**",
        SubscribeOptions {
            capacity: Some(1),
            overflow: Some(Overflow::DropOldest),
            ..Default::default()
        },
    );
    let only_a = sub(&mut bus, "a");
    publish(&mut bus, "a", 1);
    publish(&mut bus, "x", 2);
    assert_eq!(flat(drain(&mut bus, ms(0))), [(only_a, 1), (everything, 2)]);
}

#[test]
fn drop_newest_keeps_the_queue_and_counts_the_new_message() {
    let mut bus = bus();
    let s = sub_with(
        &mut bus,
        "t",
        SubscribeOptions {
            capacity: Some(2),
            overflow: Some(Overflow::DropNewest),
            ..Default::default()
        },
    );
    for n in 1..=4 {
        let published = bus
            .publish("t", n, PublishOptions::default(), ms(0))
            .unwrap();
        assert_eq!(published.matched, 1);
    }
    assert_eq!(flat(drain(&mut bus, ms(0))), [(s, 1), (s, 2)]);
    assert_eq!(bus.subscription(s).unwrap().stats.counters.dropped, 2);
}

#[test]
fn a_slow_consumer_grows_its_own_queue_and_others_are_unaffected() {
    let mut bus = bus();
    let slow = sub(&mut bus, "t");
    let fast = sub(&mut bus, "t");
    let mut fast_seen = 0;
    for n in 0..5 {
        publish(&mut bus, "t", n);
        while let Some(d) = bus.poll_delivery(ms(0)) {
            if d.subscription == slow {
                bus.complete(d.token, Outcome::Pending, ms(0)).unwrap();
            } else {
                fast_seen += 1;
                bus.complete(d.token, Outcome::Delivered, ms(0)).unwrap();
            }
        }
    }
    assert_eq!(fast_seen, 5);
    let info = bus.subscription(slow).unwrap();
    assert_eq!((info.depth, info.in_flight, info.high_water), (4, 1, 4));
    assert_eq!(bus.subscription(fast).unwrap().depth, 0);
}

#[test]
fn a_once_subscription_is_removed_after_its_first_delivery() {
    let mut bus = bus();
    let once = sub_with(
        &mut bus,
        "t",
        SubscribeOptions {
            max_deliveries: Some(1),
            ..Default::default()
        },
    );
    let always = sub(&mut bus, "t");
    publish(&mut bus, "t", 1);
    publish(&mut bus, "t", 2);
    assert_eq!(
        flat(drain(&mut bus, ms(0))),
        [(once, 1), (always, 1), (always, 2)]
    );
    assert!(!bus.is_active(once));
    let removed = bus
        .trace_since(0)
        .events
        .into_iter()
        .find(|e| e.kind == TraceKind::Unsubscribed)
        .unwrap();
    assert_eq!((removed.subscription, removed.detail), (Some(once), 2));
}

#[test]
fn a_once_subscription_whose_message_was_filtered_waits_for_the_next_one() {
    let mut bus = bus();
    let once = sub_with(
        &mut bus,
        "t",
        SubscribeOptions {
            max_deliveries: Some(1),
            has_filter: true,
            ..Default::default()
        },
    );
    publish(&mut bus, "t", 1);
    let d = bus.poll_delivery(ms(0)).unwrap();
    assert!(d.has_filter);
    bus.complete(d.token, Outcome::Filtered, ms(0)).unwrap();
    publish(&mut bus, "t", 2);
    assert_eq!(flat(drain(&mut bus, ms(0))), [(once, 2)]);
    assert!(!bus.is_active(once));
}

#[test]
fn a_consumer_group_hands_each_message_to_one_member_round_robin() {
    let mut bus = bus();
    let group = || SubscribeOptions {
        group: Some("workers".into()),
        ..Default::default()
    };
    let w1 = sub_with(&mut bus, "jobs", group());
    let w2 = sub_with(&mut bus, "jobs", group());
    let audit = sub(&mut bus, "jobs");
    for n in 1..=4 {
        publish(&mut bus, "jobs", n);
    }
    assert_eq!(
        flat(drain(&mut bus, ms(0))),
        [
            (w1, 1),
            (audit, 1),
            (w2, 2),
            (audit, 2),
            (w1, 3),
            (audit, 3),
            (w2, 4),
            (audit, 4)
        ]
    );
}

#[test]
fn replay_enqueues_the_last_retained_messages_of_matching_topics_in_id_order() {
    let mut bus = bus_with(Config {
        retain: 2,
        ..Config::default()
    });
    publish(&mut bus, "a.x", 1);
    publish(&mut bus, "b.x", 2);
    publish(&mut bus, "a.x", 3);
    publish(&mut bus, "a.y", 4);
    publish(&mut bus, "a.x", 5); // a.x retains 3 and 5
    let s = sub_with(
        &mut bus,
        "a.*",
        SubscribeOptions {
            replay: 3,
            ..Default::default()
        },
    );
    let none = sub(&mut bus, "a.*");
    assert_eq!(flat(drain(&mut bus, ms(0))), [(s, 3), (s, 4), (s, 5)]);
    assert_eq!(bus.subscription(none).unwrap().stats.counters.published, 0);
}

#[test]
fn a_filtered_outcome_counts_as_filtered_not_delivered() {
    let mut bus = bus();
    let s = sub_with(
        &mut bus,
        "t",
        SubscribeOptions {
            has_filter: true,
            ..Default::default()
        },
    );
    publish(&mut bus, "t", 1);
    let d = bus.poll_delivery(ms(0)).unwrap();
    bus.complete(d.token, Outcome::Filtered, ms(0)).unwrap();
    let counters = bus.subscription(s).unwrap().stats.counters;
    assert_eq!((counters.filtered, counters.delivered), (1, 0));
}

#[test]
fn mark_filtered_filters_single_items_of_a_batch() {
    let mut bus = bus();
    let batched = DeliveryStrategy::Batched {
        size: 3,
        max_wait: Duration::from_secs(1),
    };
    let s = sub_with(
        &mut bus,
        "t",
        SubscribeOptions {
            delivery: batched,
            has_filter: true,
            ..Default::default()
        },
    );
    for n in 1..=3 {
        publish(&mut bus, "t", n);
    }
    let d = bus.poll_delivery(ms(0)).unwrap();
    assert_eq!(d.items.len(), 3);
    bus.mark_filtered(d.token, 1).unwrap();
    assert_eq!(
        bus.mark_filtered(d.token, 3),
        Err(SettleError::UnknownToken)
    );
    bus.complete(d.token, Outcome::Delivered, ms(0)).unwrap();
    let counters = bus.subscription(s).unwrap().stats.counters;
    assert_eq!((counters.delivered, counters.filtered), (2, 1));
}

#[test]
fn a_batch_is_handed_out_when_it_is_full() {
    let mut bus = bus();
    let batched = DeliveryStrategy::Batched {
        size: 2,
        max_wait: Duration::from_secs(10),
    };
    let s = sub_with(
        &mut bus,
        "t",
        SubscribeOptions {
            delivery: batched,
            ..Default::default()
        },
    );
    publish(&mut bus, "t", 1);
    assert!(bus.poll_delivery(ms(0)).is_none());
    publish(&mut bus, "t", 2);
    publish(&mut bus, "t", 3);
    assert_eq!(drain(&mut bus, ms(0)), [(s, vec![1, 2])]);
    let flushed = bus
        .trace_since(0)
        .events
        .into_iter()
        .find(|e| e.kind == TraceKind::BatchFlushed)
        .unwrap();
    assert_eq!(flushed.detail, 2);
}

#[test]
fn a_batch_is_handed_out_when_its_oldest_message_waited_max_wait() {
    let mut bus = bus();
    let batched = DeliveryStrategy::Batched {
        size: 10,
        max_wait: Duration::from_millis(50),
    };
    let s = sub_with(
        &mut bus,
        "t",
        SubscribeOptions {
            delivery: batched,
            ..Default::default()
        },
    );
    bus.publish("t", 1, PublishOptions::default(), ms(10))
        .unwrap();
    bus.publish("t", 2, PublishOptions::default(), ms(20))
        .unwrap();
    assert!(bus.poll_delivery(ms(59)).is_none());
    assert_eq!(bus.poll_timeout(), Some(ms(60)));
    bus.handle_timeout(ms(60));
    assert_eq!(drain(&mut bus, ms(60)), [(s, vec![1, 2])]);
}

#[test]
fn flush_hands_out_a_partial_batch_now() {
    let mut bus = bus();
    let batched = DeliveryStrategy::Batched {
        size: 10,
        max_wait: Duration::from_secs(60),
    };
    let s = sub_with(
        &mut bus,
        "t",
        SubscribeOptions {
            delivery: batched,
            ..Default::default()
        },
    );
    publish(&mut bus, "t", 1);
    bus.flush(s, ms(0)).unwrap();
    assert_eq!(drain(&mut bus, ms(0)), [(s, vec![1])]);
}

#[test]
fn swapping_the_strategy_keeps_every_queued_message() {
    let mut bus = bus();
    let s = sub(&mut bus, "t");
    bus.pause(s, ms(0)).unwrap();
    for n in 1..=5 {
        publish(&mut bus, "t", n);
    }
    let batched = DeliveryStrategy::Batched {
        size: 2,
        max_wait: Duration::from_secs(60),
    };
    bus.set_delivery(s, batched, ms(0)).unwrap();
    bus.resume(s, ms(0)).unwrap();
    assert_eq!(drain(&mut bus, ms(0)), [(s, vec![1, 2]), (s, vec![3, 4])]);
    bus.set_delivery(s, DeliveryStrategy::Immediate, ms(0))
        .unwrap();
    assert_eq!(drain(&mut bus, ms(0)), [(s, vec![5])]);
    assert!(bus
        .trace_since(0)
        .events
        .iter()
        .any(|e| e.kind == TraceKind::StrategySwapped));
}

#[test]
fn a_paused_subscription_queues_and_resume_delivers_in_order() {
    let mut bus = bus();
    let paused = sub(&mut bus, "t");
    let other = sub(&mut bus, "t");
    bus.pause(paused, ms(0)).unwrap();
    publish(&mut bus, "t", 1);
    publish(&mut bus, "t", 2);
    assert_eq!(flat(drain(&mut bus, ms(0))), [(other, 1), (other, 2)]);
    assert!(bus.subscription(paused).unwrap().paused);
    bus.resume(paused, ms(0)).unwrap();
    assert_eq!(flat(drain(&mut bus, ms(0))), [(paused, 1), (paused, 2)]);
}

#[test]
fn a_stale_subscription_id_never_reaches_a_newer_subscription() {
    let mut bus = bus();
    let old = sub(&mut bus, "t");
    assert!(bus.unsubscribe(old, ms(0)));
    let new = sub(&mut bus, "t");
    assert_eq!(old.index, new.index);
    assert!(!bus.unsubscribe(old, ms(0)));
    assert!(bus.pause(old, ms(0)).is_err());
    assert!(bus.subscription(old).is_none());
    assert!(bus.is_active(new));
}

#[test]
fn a_concurrency_limit_bounds_the_deliveries_in_flight() {
    let mut bus = bus();
    let s = sub_with(
        &mut bus,
        "t",
        SubscribeOptions {
            concurrency: 2,
            ..Default::default()
        },
    );
    for n in 1..=3 {
        publish(&mut bus, "t", n);
    }
    let a = bus.poll_delivery(ms(0)).unwrap();
    bus.complete(a.token, Outcome::Pending, ms(0)).unwrap();
    let b = bus.poll_delivery(ms(0)).unwrap();
    bus.complete(b.token, Outcome::Pending, ms(0)).unwrap();
    assert!(bus.poll_delivery(ms(0)).is_none());
    assert_eq!(bus.subscription(s).unwrap().in_flight, 2);
    bus.settle(a.token, Ok(()), ms(1)).unwrap();
    let c = bus.poll_delivery(ms(1)).unwrap();
    assert_eq!(c.items[0].message.payload, 3);
}

#[test]
fn outcomes_are_reported_once_and_settle_needs_a_pending_delivery() {
    let mut bus = bus();
    sub(&mut bus, "t");
    publish(&mut bus, "t", 1);
    let d = bus.poll_delivery(ms(0)).unwrap();
    assert_eq!(
        bus.settle(d.token, Ok(()), ms(0)),
        Err(SettleError::NotPending)
    );
    bus.complete(d.token, Outcome::Pending, ms(0)).unwrap();
    assert_eq!(
        bus.complete(d.token, Outcome::Pending, ms(0)),
        Err(SettleError::NotPending)
    );
    bus.settle(d.token, Ok(()), ms(0)).unwrap();
    assert_eq!(
        bus.settle(d.token, Ok(()), ms(0)),
        Err(SettleError::UnknownToken)
    );
    assert_eq!(
        bus.complete(d.token, Outcome::Delivered, ms(0)),
        Err(SettleError::UnknownToken)
    );
}

#[test]
fn subscription_info_reports_depth_high_water_in_flight_and_oldest_queued() {
    let mut bus = bus();
    let s = sub(&mut bus, "t");
    bus.publish("t", 1, PublishOptions::default(), ms(5))
        .unwrap();
    bus.publish("t", 2, PublishOptions::default(), ms(7))
        .unwrap();
    let d = bus.poll_delivery(ms(8)).unwrap();
    let info = bus.subscription(s).unwrap();
    assert_eq!((info.depth, info.high_water, info.in_flight), (1, 2, 1));
    assert_eq!(info.oldest_queued_at, Some(ms(7)));
    bus.complete(d.token, Outcome::Delivered, ms(9)).unwrap();
    let stats = bus.subscription(s).unwrap().stats;
    assert_eq!(stats.latency.count, 1);
    assert_eq!(stats.handler.count, 1);
}

#[test]
fn routes_lists_subscriptions_in_delivery_order_and_the_epoch_moves_on_change() {
    let mut bus = bus();
    let a = sub(&mut bus, "a.*");
    let b = sub_with(
        &mut bus,
        "a.b",
        SubscribeOptions {
            priority: 1,
            ..Default::default()
        },
    );
    let (routes, epoch) = bus.routes("a.b").unwrap();
    assert_eq!(routes, [b, a]);
    bus.unsubscribe(b, ms(0));
    let (routes, next) = bus.routes("a.b").unwrap();
    assert_eq!(routes, [a]);
    assert_ne!(epoch, next);
    assert!(bus.routes("a.*").is_err());
}

#[test]
fn metrics_count_per_topic_and_for_the_bus() {
    let mut bus = bus();
    sub(&mut bus, "t.*");
    sub(&mut bus, "t.a");
    publish(&mut bus, "t.a", 1);
    publish(&mut bus, "t.b", 2);
    drain(&mut bus, ms(3));
    let metrics = bus.metrics();
    assert_eq!(metrics.totals.published, 2);
    assert_eq!(metrics.totals.delivered, 3);
    let topics: Vec<(&str, u64, u64)> = metrics
        .topics
        .iter()
        .map(|t| (t.topic.as_str(), t.counters.published, t.counters.delivered))
        .collect();
    assert_eq!(topics, [("t.a", 1, 2), ("t.b", 1, 1)]);
    assert_eq!(metrics.topics[0].latency.count, 2);
    assert_eq!(metrics.active_subscriptions, 2);
}

#[test]
fn the_trace_records_the_lifecycle_in_order() {
    let mut bus = bus();
    let s = sub(&mut bus, "t");
    publish(&mut bus, "t", 1);
    drain(&mut bus, ms(0));
    bus.pause(s, ms(0)).unwrap();
    bus.resume(s, ms(0)).unwrap();
    bus.unsubscribe(s, ms(0));
    let kinds: Vec<TraceKind> = bus.trace_since(0).events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            TraceKind::Subscribed,
            TraceKind::Published,
            TraceKind::Enqueued,
            TraceKind::Delivering,
            TraceKind::Delivered,
            TraceKind::Paused,
            TraceKind::Resumed,
            TraceKind::Unsubscribed,
        ]
    );
}

#[test]
fn with_tracing_off_nothing_is_recorded_until_it_is_turned_on() {
    let mut bus: Bus<u32> = Bus::new(Config::default()).unwrap();
    sub(&mut bus, "t");
    publish(&mut bus, "t", 1);
    assert!(bus.trace_since(0).events.is_empty());
    bus.set_trace_capacity(8);
    publish(&mut bus, "t", 2);
    assert_eq!(bus.trace_since(0).events.len(), 2);
}

#[test]
fn the_bus_is_idle_only_when_nothing_is_ready_or_in_flight() {
    let mut bus = bus();
    assert!(bus.is_idle());
    sub(&mut bus, "t");
    publish(&mut bus, "t", 1);
    assert!(!bus.is_idle());
    let d = bus.poll_delivery(ms(0)).unwrap();
    assert!(!bus.is_idle());
    bus.complete(d.token, Outcome::Delivered, ms(0)).unwrap();
    assert!(bus.is_idle());
}

#[test]
fn max_deliveries_removes_the_subscription_after_that_many_deliveries() {
    let mut bus = bus();
    let three = sub_with(
        &mut bus,
        "t",
        SubscribeOptions {
            max_deliveries: Some(3),
            ..Default::default()
        },
    );
    for n in 1..=5 {
        let published = bus
            .publish("t", n, PublishOptions::default(), ms(0))
            .unwrap();
        assert_eq!(published.matched, usize::from(n <= 3), "message {n}");
    }
    assert_eq!(
        flat(drain(&mut bus, ms(0))),
        [(three, 1), (three, 2), (three, 3)]
    );
    assert!(!bus.is_active(three));
}

#[test]
fn a_paused_subscription_with_a_full_reject_queue_refuses_publishes_until_drained() {
    let mut bus = bus();
    let s = sub_with(
        &mut bus,
        "t",
        SubscribeOptions {
            capacity: Some(1),
            ..Default::default()
        },
    );
    bus.pause(s, ms(0)).unwrap();
    publish(&mut bus, "t", 1);
    assert!(matches!(
        bus.publish("t", 2, PublishOptions::default(), ms(0)),
        Err(PublishError::Backpressure { .. })
    ));
    bus.resume(s, ms(0)).unwrap();
    drain(&mut bus, ms(0));
    publish(&mut bus, "t", 3);
    assert_eq!(flat(drain(&mut bus, ms(0))), [(s, 3)]);
}
