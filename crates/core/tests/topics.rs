//! The topic table stays within `Config::max_topics`: idle topics are evicted (least recently
//! used first, approximately), busy ones never, counters stay exact, stale inline handles are
//! refused, and snapshots round-trip.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{bus_with, conserved, drain, ms, publish, sub, sub_with};
use proptest::prelude::*;
use switchyard_core::snapshot::{Restored, SerdeCodec, Snapshot};
use switchyard_core::{
    Bus, Config, InlineError, Outcome, PublishOptions, RetryPolicy, SubscribeOptions, TraceKind,
};

fn bounded(max_topics: usize) -> Bus<u32> {
    bus_with(Config {
        max_topics,
        ..Config::default()
    })
}

/// `snapshot` restored into a bus keeping at most `max_topics` idle topics.
fn restore_bounded(snapshot: Snapshot<u32>, max_topics: usize) -> Restored<u32> {
    Bus::restore(
        Config {
            max_topics,
            ..Config::default()
        },
        snapshot,
        &SerdeCodec,
        ms(0),
    )
    .unwrap()
}

/// The topics the bus keeps per-topic state for, by name.
fn kept(bus: &Bus<u32>) -> BTreeSet<String> {
    bus.metrics().topics.into_iter().map(|t| t.topic).collect()
}

fn topic_counters(bus: &Bus<u32>, topic: &str) -> Option<switchyard_core::Counters> {
    bus.metrics()
        .topics
        .into_iter()
        .find(|t| t.topic == topic)
        .map(|t| t.counters)
}

/// Publishes `count` topics nobody else uses (`noise.<n>`), so older idle topics are evicted.
fn churn(bus: &mut Bus<u32>, count: u32) {
    for n in 0..count {
        publish(bus, &format!("noise.{n}"), n);
    }
}

/// [`churn`], each message delivered before the next topic.
fn churn_delivered(bus: &mut Bus<u32>, count: u32) {
    for n in 0..count {
        publish(bus, &format!("noise.{n}"), n);
        drain(bus, ms(0));
    }
}

#[test]
fn a_zero_topic_bound_is_refused_with_the_field_named() {
    let error = Bus::<u32>::new(Config {
        max_topics: 0,
        ..Config::default()
    })
    .unwrap_err();
    assert_eq!(error.field, "max_topics");
}

#[test]
fn publishing_100_000_distinct_topics_keeps_the_table_at_the_default_bound() {
    let mut bus = bus_with(Config::default());
    let orders = sub(&mut bus, "order.*.created");
    for n in 0..100_000u32 {
        let published = bus
            .publish(
                &format!("order.{n}.created"),
                n,
                PublishOptions::default(),
                ms(0),
            )
            .unwrap();
        assert_eq!(published.topic_seq, 1);
        drain(&mut bus, ms(0));
    }
    let metrics = bus.metrics();
    assert_eq!(metrics.topics.len(), 10_000);
    assert_eq!(metrics.topics_evicted, 90_000);
    assert_eq!(metrics.totals.published, 100_000);
    assert_eq!(metrics.totals.delivered, 100_000);
    let stats = bus.subscription(orders).unwrap().stats.counters;
    assert_eq!(stats.delivered, 100_000);
    assert!(conserved(&bus));
}

#[test]
fn the_least_recently_published_idle_topics_go_first() {
    let mut bus = bounded(100);
    for n in 0..100u32 {
        publish(&mut bus, &format!("t.{n}"), n);
    }
    // `hot` is published between every new topic: it never goes.
    for n in 0..1_000u32 {
        publish(&mut bus, "hot", n);
        publish(&mut bus, &format!("u.{n}"), n);
    }
    let kept = kept(&bus);
    assert!(kept.contains("hot"));
    assert_eq!(kept.len(), 100);
    assert!(
        kept.iter().all(|t| !t.starts_with("t.")),
        "the oldest went first"
    );
    assert!(kept.contains("u.999") && kept.contains("u.950"));
    assert_eq!(topic_counters(&bus, "hot").unwrap().published, 1_000);
}

#[test]
fn a_topic_published_again_after_its_eviction_restarts_its_sequence_at_1() {
    let mut bus = bounded(2);
    let opts = PublishOptions::default;
    assert_eq!(bus.publish("a", 1, opts(), ms(0)).unwrap().topic_seq, 1);
    assert_eq!(bus.publish("a", 2, opts(), ms(0)).unwrap().topic_seq, 2);
    churn(&mut bus, 10);
    assert!(!kept(&bus).contains("a"));
    let again = bus.publish("a", 3, opts(), ms(0)).unwrap();
    assert_eq!(
        (again.id.0, again.topic_seq),
        (13, 1),
        "ids stay global and increasing"
    );
}

#[test]
fn a_topic_with_a_queued_message_is_never_evicted() {
    let mut bus = bounded(2);
    let s = sub(&mut bus, "keep");
    bus.pause(s, ms(0)).unwrap();
    publish(&mut bus, "keep", 7);
    churn(&mut bus, 100);
    assert!(kept(&bus).contains("keep"));
    bus.resume(s, ms(0)).unwrap();
    assert_eq!(drain(&mut bus, ms(0)), vec![(s, vec![7])]);
    let counters = topic_counters(&bus, "keep").unwrap();
    assert_eq!((counters.published, counters.delivered), (1, 1));
    assert!(conserved(&bus));
    // Idle again: the next new topics may take its place.
    churn(&mut bus, 100);
    assert!(!kept(&bus).contains("keep"));
}

#[test]
fn a_topic_with_a_message_in_flight_is_never_evicted() {
    let mut bus = bounded(2);
    sub(&mut bus, "busy");
    publish(&mut bus, "busy", 1);
    let delivery = bus.poll_delivery(ms(0)).unwrap();
    let token = delivery.token;
    drop(delivery);
    churn(&mut bus, 100);
    assert!(kept(&bus).contains("busy"));
    assert_eq!(bus.metrics().in_flight, 1);
    bus.complete(token, Outcome::Delivered, ms(0)).unwrap();
    assert_eq!(topic_counters(&bus, "busy").unwrap().delivered, 1);
}

#[test]
fn a_settled_in_flight_message_counts_on_its_own_topic() {
    let mut bus = bounded(2);
    sub(&mut bus, "busy");
    publish(&mut bus, "busy", 1);
    let delivery = bus.poll_delivery(ms(0)).unwrap();
    let token = delivery.token;
    drop(delivery);
    bus.complete(token, Outcome::Pending, ms(0)).unwrap();
    churn(&mut bus, 100);
    bus.settle(token, Ok(()), ms(1)).unwrap();
    let counters = topic_counters(&bus, "busy").unwrap();
    assert_eq!((counters.published, counters.delivered), (1, 1));
    assert!(conserved(&bus));
}

#[test]
fn a_topic_with_a_dead_lettered_message_is_never_evicted() {
    let mut bus = bounded(2);
    let s = sub(&mut bus, "fails");
    publish(&mut bus, "fails", 1);
    let delivery = bus.poll_delivery(ms(0)).unwrap();
    let token = delivery.token;
    drop(delivery);
    bus.complete(token, Outcome::Failed("boom".into()), ms(0))
        .unwrap();
    assert_eq!(bus.dead_letters().count(), 1);
    churn(&mut bus, 100);
    assert!(kept(&bus).contains("fails"));
    // Redriven, it is counted on the same topic entry.
    assert_eq!(bus.redrive_all(ms(1)), 1);
    assert_eq!(drain(&mut bus, ms(1)), vec![(s, vec![1])]);
    let counters = topic_counters(&bus, "fails").unwrap();
    assert_eq!(
        (
            counters.dead_lettered,
            counters.redriven,
            counters.delivered
        ),
        (1, 1, 1)
    );
    assert!(conserved(&bus));
}

#[test]
fn a_topic_with_a_retry_waiting_is_never_evicted() {
    let mut bus = bounded(2);
    let retry = RetryPolicy {
        max_attempts: 2,
        backoff: core::time::Duration::from_millis(50),
        ..Default::default()
    };
    let s = sub_with(
        &mut bus,
        "retry",
        SubscribeOptions {
            retry: Some(retry),
            ..Default::default()
        },
    );
    publish(&mut bus, "retry", 9);
    let delivery = bus.poll_delivery(ms(0)).unwrap();
    let token = delivery.token;
    drop(delivery);
    bus.complete(token, Outcome::Failed("later".into()), ms(0))
        .unwrap();
    churn(&mut bus, 100);
    assert!(kept(&bus).contains("retry"));
    assert_eq!(drain(&mut bus, ms(100)), vec![(s, vec![9])]);
    let counters = topic_counters(&bus, "retry").unwrap();
    assert_eq!(
        (counters.failed, counters.retried, counters.delivered),
        (1, 1, 1)
    );
}

#[test]
fn topics_held_only_by_retained_messages_are_evicted_past_the_bound_with_them_counted_and_traced() {
    let mut bus = bus_with(Config {
        max_topics: 2,
        retain: 1,
        // A trace event naming a topic keeps it: a small ring (16 events) lets the old ones go.
        trace_capacity: 16,
        ..Config::default()
    });
    churn(&mut bus, 60);
    let metrics = bus.metrics();
    assert!(
        metrics.topics.len() <= 18,
        "retention alone does not pin a topic"
    );
    assert_eq!(metrics.retained_evicted, metrics.topics_evicted);
    assert_eq!(metrics.topics_evicted as usize, 60 - metrics.topics.len());
    let events = bus.trace_since(0).events;
    let last = events
        .iter()
        .rev()
        .find(|e| e.kind == TraceKind::Dropped)
        .expect("the newest eviction is still in the ring");
    let n = last.message.expect("names the message").0 - 1;
    assert_eq!(
        (last.detail, last.subscription, last.topic.as_deref()),
        (3, None, Some(format!("noise.{n}").as_str()))
    );
    // Replay finds the retained messages of the topics still kept: the two newest.
    sub_with(
        &mut bus,
        "noise.*",
        SubscribeOptions {
            replay: 100,
            ..Default::default()
        },
    );
    let replayed: Vec<u32> = common::flat(drain(&mut bus, ms(0)))
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    assert_eq!(replayed.len(), 60 - metrics.topics_evicted as usize);
    assert_eq!(replayed.last(), Some(&59));
    assert!(conserved(&bus));
}

#[test]
fn a_retained_message_that_is_also_queued_keeps_its_topic() {
    let mut bus = bus_with(Config {
        max_topics: 2,
        retain: 1,
        ..Config::default()
    });
    let parked = sub(&mut bus, "held");
    bus.pause(parked, ms(0)).unwrap();
    publish(&mut bus, "held", 7);
    churn(&mut bus, 10);
    assert!(kept(&bus).contains("held"), "its message is still queued");
    bus.resume(parked, ms(0)).unwrap();
    drain(&mut bus, ms(0));
    churn(&mut bus, 10);
    assert!(!kept(&bus).contains("held"), "held by retention alone now");
    assert_eq!(bus.metrics().retained_evicted, 19);
    assert!(conserved(&bus));
}

#[test]
fn a_restored_bus_evicts_retained_topics_past_its_bound() {
    let mut bus = bus_with(Config {
        retain: 1,
        ..Config::default()
    });
    churn(&mut bus, 10);
    let snapshot = bus.snapshot(&SerdeCodec).unwrap();
    let config = Config {
        retain: 1,
        max_topics: 4,
        ..Config::default()
    };
    let restored = Bus::restore(config, snapshot, &SerdeCodec, ms(0)).unwrap();
    let metrics = restored.bus.metrics();
    assert_eq!(metrics.topics.len(), 4);
    assert_eq!(metrics.retained_evicted, 6);
}

#[test]
fn global_counters_and_conservation_survive_evictions() {
    let mut bus = bounded(8);
    let all = sub(&mut bus, "**");
    let some = sub(&mut bus, "*.even");
    let mut expected_pairs = 0u64;
    for n in 0..500u32 {
        let topic = if n % 2 == 0 {
            format!("t{n}.even")
        } else {
            format!("t{n}.odd")
        };
        publish(&mut bus, &topic, n);
        expected_pairs += if n % 2 == 0 { 2 } else { 1 };
        if n % 7 == 0 {
            drain(&mut bus, ms(0));
        }
    }
    drain(&mut bus, ms(0));
    let metrics = bus.metrics();
    assert_eq!(metrics.totals.published, 500);
    assert_eq!(metrics.totals.matched, expected_pairs);
    assert_eq!(metrics.totals.delivered, expected_pairs);
    assert!(metrics.topics.len() <= 8);
    assert_eq!(metrics.topics_evicted, 500 - metrics.topics.len() as u64);
    assert_eq!(bus.subscription(all).unwrap().stats.counters.delivered, 500);
    assert_eq!(
        bus.subscription(some).unwrap().stats.counters.delivered,
        250
    );
    assert!(conserved(&bus));
}

#[test]
fn a_stale_inline_route_to_an_evicted_topic_is_refused_and_counts_nothing_on_the_new_topic() {
    let mut bus = bounded(1);
    sub(&mut bus, "**");
    let route_a = bus.inline_route("a").unwrap();
    assert!(route_a.eligible);
    bus.record_inline(&route_a, 1, ms(0)).unwrap();

    // `b` takes the slot `a` had: the route to `a` was current, so the epoch moves.
    let epoch = bus.inline_epoch();
    let route_b = bus.inline_route("b").unwrap();
    assert_ne!(bus.inline_epoch(), epoch);
    assert_eq!(route_b.topic, route_a.topic, "the slot was reused");
    assert_eq!(
        bus.record_inline(&route_a, 1, ms(0)),
        Err(InlineError::Stale)
    );
    assert_eq!(
        bus.record_inline_delivered(&route_a, 1, ms(0)),
        Err(InlineError::UnknownTopic(route_a.topic))
    );
    assert_eq!(
        bus.inline_adopt(&route_a, 0, true, 5, ms(0)).unwrap_err(),
        InlineError::UnknownTopic(route_a.topic)
    );
    let metrics = bus.metrics();
    assert_eq!(metrics.totals.published, 1, "nothing recorded against `b`");
    assert_eq!(topic_counters(&bus, "b").unwrap().published, 0);

    // Re-queried, `a` is a new topic whose sequence starts again.
    bus.record_inline(&route_b, 1, ms(0)).unwrap();
    let route_a = bus.inline_route("a").unwrap();
    let receipt = bus.record_inline(&route_a, 1, ms(0)).unwrap();
    assert_eq!((receipt.first.id.0, receipt.first.topic_seq), (3, 1));
    assert!(conserved(&bus));
}

#[test]
fn the_inline_epoch_moves_only_when_an_evicted_topic_had_a_current_route() {
    let mut bus = bounded(2);
    sub(&mut bus, "**");
    bus.inline_route("a").unwrap();
    bus.inline_route("b").unwrap();
    let epoch = bus.inline_epoch();
    // `c` evicts `a`, whose route is current: cached routes must be re-queried.
    let route_c = bus.inline_route("c").unwrap();
    assert_ne!(bus.inline_epoch(), epoch);
    // `d` evicts `b`, whose route is stale already: `c`'s route stays good.
    let epoch = bus.inline_epoch();
    bus.inline_route("d").unwrap();
    assert_eq!(bus.inline_epoch(), epoch);
    assert_eq!(kept(&bus), BTreeSet::from(["c".into(), "d".into()]));
    assert!(bus.record_inline(&route_c, 1, ms(0)).is_ok());
}

#[test]
fn inline_publishes_on_rotating_topics_keep_the_table_at_the_bound() {
    let mut bus = bounded(16);
    let s = sub(&mut bus, "job.*");
    let mut delivered = 0;
    for n in 0..2_000u32 {
        let route = bus.inline_route(&format!("job.{n}")).unwrap();
        let receipt = bus.record_inline_delivered(&route, 1, ms(0)).unwrap();
        assert_eq!(receipt.first.topic_seq, 1);
        assert_eq!(receipt.first.id.0, u64::from(n) + 1);
        delivered += 1;
    }
    let metrics = bus.metrics();
    assert_eq!(metrics.topics.len(), 16);
    assert_eq!(metrics.topics_evicted, 2_000 - 16);
    assert_eq!(metrics.totals.delivered, delivered);
    assert_eq!(
        bus.subscription(s).unwrap().stats.counters.delivered,
        delivered
    );
    assert!(conserved(&bus));
}

#[test]
fn a_snapshot_taken_after_evictions_round_trips() {
    let mut bus = bounded(10);
    let held = sub(&mut bus, "held.*");
    sub(&mut bus, "**");
    bus.pause(held, ms(0)).unwrap();
    for n in 0..5u32 {
        publish(&mut bus, &format!("held.{n}"), n);
    }
    churn_delivered(&mut bus, 50);
    let original = bus.metrics();
    assert!(original.topics_evicted > 0);
    assert_eq!(original.topics.len(), 10);

    let snapshot = bus.snapshot(&SerdeCodec).unwrap();
    let bytes = snapshot.to_bytes();
    let decoded = Snapshot::<u32>::from_bytes(&bytes).unwrap();
    assert_eq!(decoded, snapshot);
    let mut restored = restore_bounded(decoded, 10);
    let metrics = restored.bus.metrics();
    assert_eq!(metrics.topics, original.topics);
    assert_eq!(metrics.totals, original.totals);
    assert_eq!(metrics.topics_evicted, 0, "counted per bus, not persisted");
    assert_eq!(
        restored.bus.snapshot(&SerdeCodec).unwrap().topics,
        snapshot.topics
    );

    // The held messages still arrive, counted on their topics; later topics evict as before.
    let new_held = restored.new_id(held).unwrap();
    restored.bus.resume(new_held, ms(0)).unwrap();
    let log = common::flat(drain(&mut restored.bus, ms(0)));
    assert_eq!(log.iter().filter(|(s, _)| *s == new_held).count(), 5);
    assert_eq!(
        topic_counters(&restored.bus, "held.3").unwrap().delivered,
        2
    );
    churn_delivered(&mut restored.bus, 50);
    assert_eq!(restored.bus.metrics().topics.len(), 10);
}

#[test]
fn restoring_into_a_smaller_bound_evicts_idle_topics_and_keeps_busy_ones() {
    let mut bus = bounded(100);
    let held = sub(&mut bus, "held.*");
    bus.pause(held, ms(0)).unwrap();
    for n in 0..5u32 {
        publish(&mut bus, &format!("held.{n}"), n);
    }
    churn(&mut bus, 45);
    let snapshot = bus.snapshot(&SerdeCodec).unwrap();
    assert_eq!(snapshot.topics.len(), 50);

    let mut restored = restore_bounded(snapshot, 10);
    let metrics = restored.bus.metrics();
    assert_eq!(metrics.topics.len(), 10);
    assert_eq!(metrics.topics_evicted, 40);
    assert_eq!(
        metrics.totals,
        bus.metrics().totals,
        "totals keep everything"
    );
    let kept = kept(&restored.bus);
    assert!((0..5).all(|n| kept.contains(&format!("held.{n}"))));
    let new_held = restored.new_id(held).unwrap();
    restored.bus.resume(new_held, ms(0)).unwrap();
    assert_eq!(common::flat(drain(&mut restored.bus, ms(0))).len(), 5);
    assert!(conserved(&restored.bus));
}

/// One step of the property test.
#[derive(Clone, Debug)]
enum Step {
    /// Publish on topic `t<n>`.
    Publish(u8),
    /// Let the paused subscription receive everything queued.
    Drain,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0u8..12).prop_map(Step::Publish),
        1 => Just(Step::Drain),
    ]
}

proptest! {
    /// Whatever the mix of publishes and drains: a new topic leaves the table within the bound
    /// or, past it, holding only busy topics (it never grows otherwise); a topic with a queued
    /// message is always kept; sequence numbers count publishes within a topic's lifetime;
    /// totals and conservation stay exact.
    #[test]
    fn the_table_stays_bounded_and_busy_topics_stay(
        bound in 1usize..6,
        steps in proptest::collection::vec(step(), 1..120),
    ) {
        let mut bus = bounded(bound);
        let s = sub(&mut bus, "*");
        bus.pause(s, ms(0)).unwrap();
        let mut queued: BTreeMap<String, usize> = BTreeMap::new();
        let mut seqs: BTreeMap<String, u64> = BTreeMap::new();
        let mut published = 0u64;
        let mut len = 0;
        for step in steps {
            let mut created = false;
            match step {
                Step::Publish(n) => {
                    let topic = format!("t{n}");
                    let present = kept(&bus).contains(&topic);
                    let seq = seqs.entry(topic.clone()).or_insert(0);
                    if !present {
                        *seq = 0;
                        created = true;
                    }
                    let receipt = bus.publish(&topic, u32::from(n), PublishOptions::default(), ms(0)).unwrap();
                    *seq += 1;
                    published += 1;
                    prop_assert_eq!(receipt.topic_seq, *seq);
                    prop_assert_eq!(receipt.id.0, published);
                    *queued.entry(topic).or_insert(0) += 1;
                }
                Step::Drain => {
                    bus.resume(s, ms(0)).unwrap();
                    drain(&mut bus, ms(0));
                    bus.pause(s, ms(0)).unwrap();
                    queued.clear();
                }
            }
            let kept = kept(&bus);
            for topic in queued.keys() {
                prop_assert!(kept.contains(topic), "busy topic {} was evicted", topic);
            }
            if created {
                prop_assert!(kept.len() <= bound.max(queued.len()));
            } else {
                prop_assert!(kept.len() <= len);
            }
            len = kept.len();
            let metrics = bus.metrics();
            prop_assert_eq!(metrics.totals.published, published);
            prop_assert!(conserved(&bus));
        }
    }
}
