//! Snapshot tests: round trips (in memory, through JSON and through the binary form), what a
//! restored bus owes and delivers, time rebasing, and every kind of inconsistent snapshot
//! being refused.

use super::*;
use crate::breaker::BreakerPolicy;
use crate::bus::key;
use crate::config::Config;
use crate::delivery::{Delivery, Outcome};
use crate::error::RedriveError;
use crate::message::Envelope;
use crate::message::PublishOptions;
use crate::retry::Jitter;
use crate::subscription::SubscribeOptions;
use alloc::format;
use alloc::string::ToString;
use alloc::sync::Arc;
use alloc::vec;

fn ms(millis: u64) -> Instant {
    Instant::from_millis(millis)
}

pub(super) fn config() -> Config {
    Config {
        retain: 2,
        retry: RetryPolicy {
            max_attempts: 3,
            backoff: Duration::from_millis(100),
            factor: 2.0,
            max_backoff: Duration::from_secs(1),
            jitter: Jitter::Full,
        },
        ..Config::default()
    }
}

fn publish(bus: &mut Bus<String>, topic: &str, payload: &str, now: Instant) {
    bus.publish(topic, payload.to_string(), PublishOptions::default(), now)
        .unwrap();
}

fn to_json(bus: &Bus<String>) -> String {
    serde_json::to_string(&bus.snapshot(&SerdeCodec).unwrap()).unwrap()
}

fn from_json(json: &str) -> Snapshot<String> {
    serde_json::from_str(json).unwrap()
}

/// Drives a bus to quiescence, completing every delivery as delivered, and returns
/// (subscription, payload, attempt) in delivery order.
fn drain(bus: &mut Bus<String>, mut now: Instant) -> Vec<(SubscriptionId, String, u32)> {
    let mut log = Vec::new();
    for _ in 0..1_000 {
        if let Some(delivery) = bus.poll_delivery(now) {
            let Delivery {
                token,
                subscription,
                items,
                ..
            } = delivery;
            for item in items {
                log.push((subscription, item.message.payload.clone(), item.attempt));
            }
            bus.complete(token, Outcome::Delivered, now).unwrap();
        } else if let Some(next) = bus.poll_timeout() {
            now = now.max(next);
            bus.handle_timeout(now);
        } else {
            break;
        }
    }
    log
}

/// A bus with something in every corner: queued messages, an in-flight delivery, a strict
/// retry wait, a relaxed retry, an open breaker, a paused subscription, dead letters
/// (one of a removed subscription), retained messages and counters.
pub(super) fn busy_bus() -> (Bus<String>, Vec<SubscriptionId>) {
    let t0 = ms(1_000);
    let mut bus: Bus<String> = Bus::new(config()).unwrap();
    let gone = bus
        .subscribe("orders.eu", SubscribeOptions::default(), t0)
        .unwrap();
    let strict = bus
        .subscribe(
            "orders.*",
            SubscribeOptions {
                name: Some("strict".into()),
                ..Default::default()
            },
            t0,
        )
        .unwrap();
    let relaxed = bus
        .subscribe(
            "orders.**",
            SubscribeOptions {
                ordering: OrderingMode::Relaxed,
                priority: 5,
                ..Default::default()
            },
            t0,
        )
        .unwrap();
    let breaker = bus
        .subscribe(
            "audit",
            SubscribeOptions {
                breaker: Some(BreakerPolicy {
                    failures: 1,
                    cooldown: Duration::from_secs(5),
                    failure_ratio: None,
                }),
                retry: Some(RetryPolicy {
                    max_attempts: 1,
                    ..RetryPolicy::default()
                }),
                ..Default::default()
            },
            t0,
        )
        .unwrap();
    let paused = bus
        .subscribe("orders.us", SubscribeOptions::default(), t0)
        .unwrap();
    bus.pause(paused, t0).unwrap();

    // A dead letter for `gone`, which is then removed.
    bus.publish(
        "orders.eu",
        "eu-1".to_string(),
        PublishOptions::default(),
        t0,
    )
    .unwrap();
    let mut now = t0;
    while let Some(d) = bus.poll_delivery(now) {
        let outcome = if d.subscription == gone {
            Outcome::Rejected("no".into())
        } else {
            Outcome::Delivered
        };
        bus.complete(d.token, outcome, now).unwrap();
    }
    bus.unsubscribe(gone, now);

    // The audit breaker opens after one failure; its message is dead-lettered.
    publish(&mut bus, "audit", "audit-1", now);
    publish(&mut bus, "audit", "audit-2", now);
    let d = bus.poll_delivery(now).unwrap();
    assert_eq!(d.subscription, breaker);
    bus.complete(d.token, Outcome::Failed("audit down".into()), now)
        .unwrap();

    // strict + relaxed: one failure each (retry waits), more queued behind.
    now = ms(1_010);
    publish(&mut bus, "orders.us", "us-1", now);
    publish(&mut bus, "orders.us", "us-2", now);
    publish(&mut bus, "orders.us", "us-3", now);
    let first = bus.poll_delivery(now).unwrap();
    assert_eq!(first.subscription, relaxed);
    bus.complete(first.token, Outcome::Failed("relaxed boom".into()), now)
        .unwrap();
    let second = bus.poll_delivery(now).unwrap();
    assert_eq!(second.subscription, strict);
    bus.complete(second.token, Outcome::Failed("strict boom".into()), now)
        .unwrap();
    // An async delivery left pending (in flight) on `relaxed`.
    let pending = bus.poll_delivery(now).unwrap();
    assert_eq!(pending.subscription, relaxed);
    bus.complete(pending.token, Outcome::Pending, now).unwrap();
    (bus, vec![strict, relaxed, breaker, paused])
}

/// `snapshot` with the old subscription ids replaced through `mapping`.
fn renumbered(
    mut snapshot: Snapshot<String>,
    mapping: &[(SubscriptionId, SubscriptionId)],
) -> Snapshot<String> {
    let map = |id: SubscriptionId| {
        mapping
            .iter()
            .find(|(o, _)| *o == id)
            .map_or(id, |(_, n)| *n)
    };
    for s in &mut snapshot.subscriptions {
        s.id = map(s.id);
    }
    for d in &mut snapshot.dead_letters {
        d.subscription = map(d.subscription);
    }
    snapshot
}

#[test]
fn a_json_round_trip_keeps_every_queued_message_dead_letter_retained_message_and_counter() {
    let (bus, _) = busy_bus();
    let before = bus.snapshot(&SerdeCodec).unwrap();
    let json = serde_json::to_string(&before).unwrap();
    let restored = Bus::restore(config(), from_json(&json), &SerdeCodec, before.clock).unwrap();
    let after = restored.bus.snapshot(&SerdeCodec).unwrap();
    assert_eq!(after, renumbered(before.clone(), &restored.subscriptions));

    // Spot checks of what the equality covers.
    let metrics = restored.bus.metrics();
    let original = bus.metrics();
    assert_eq!(metrics.totals, original.totals);
    assert_eq!(
        metrics.queued,
        original.queued + original.in_flight_messages,
        "in-flight items are queued again"
    );
    assert_eq!(metrics.in_flight, 0);
    assert_eq!(metrics.dead_letters, 2);
    assert_eq!(metrics.dead_letters, original.dead_letters);
    assert_eq!(metrics.topics, original.topics);
    assert_eq!(metrics.breakers_open, 1);
    let retained: usize = restored
        .bus
        .topics
        .iter()
        .map(|(_, t)| t.retained.len())
        .sum();
    assert_eq!(
        retained,
        2 + 2 + 1,
        "orders.us keeps 2 of 3, audit 2, orders.eu 1"
    );
    for (old, new) in &restored.subscriptions {
        let (a, b) = (
            bus.subscription(*old).unwrap(),
            restored.bus.subscription(*new).unwrap(),
        );
        assert_eq!(
            (a.pattern, a.name, a.paused, a.stats.counters),
            (b.pattern, b.name, b.paused, b.stats.counters)
        );
    }
}

#[test]
fn a_restored_bus_delivers_exactly_what_the_original_still_owed() {
    let (bus, subs) = busy_bus();
    let relaxed = subs[1];
    let snapshot = bus.snapshot(&SerdeCodec).unwrap();
    let clock = snapshot.clock;
    let json = serde_json::to_string(&snapshot).unwrap();
    let mut restored = Bus::restore(config(), from_json(&json), &SerdeCodec, clock).unwrap();

    // The pending delivery (us-2 on `relaxed`) died with the page; it comes back queued.
    let in_flight: Vec<&str> = bus
        .in_flight
        .iter()
        .flat_map(|(_, e)| e.items.iter())
        .map(|q| q.message.payload.as_str())
        .collect();
    assert_eq!(in_flight, ["us-2"]);

    let new_relaxed = restored.new_id(relaxed).unwrap();
    let mut log = drain(&mut restored.bus, clock);
    log.sort();
    let mut expected: Vec<(SubscriptionId, String, u32)> = vec![
        // relaxed: us-2 back from flight (attempt 1), us-1 retried (attempt 2), us-3.
        (new_relaxed, "us-1".into(), 2),
        (new_relaxed, "us-2".into(), 1),
        (new_relaxed, "us-3".into(), 1),
        // strict: us-1 retried, then us-2 and us-3 in order.
        (restored.new_id(subs[0]).unwrap(), "us-1".into(), 2),
        (restored.new_id(subs[0]).unwrap(), "us-2".into(), 1),
        (restored.new_id(subs[0]).unwrap(), "us-3".into(), 1),
        // breaker: audit-2 after the cooldown.
        (restored.new_id(subs[2]).unwrap(), "audit-2".into(), 1),
    ];
    expected.sort();
    assert_eq!(log, expected);
    // The paused subscription still holds its three messages.
    let paused = restored
        .bus
        .subscription(restored.new_id(subs[3]).unwrap())
        .unwrap();
    assert_eq!((paused.paused, paused.depth), (true, 3));
}

#[test]
fn strict_order_survives_a_restore() {
    let (bus, subs) = busy_bus();
    let json = to_json(&bus);
    let snapshot = from_json(&json);
    let clock = snapshot.clock;
    let mut restored = Bus::restore(config(), snapshot, &SerdeCodec, clock).unwrap();
    let strict = restored.new_id(subs[0]).unwrap();
    let log = drain(&mut restored.bus, clock);
    let strict_order: Vec<&str> = log
        .iter()
        .filter(|(s, _, _)| *s == strict)
        .map(|(_, p, _)| p.as_str())
        .collect();
    assert_eq!(strict_order, ["us-1", "us-2", "us-3"]);
}

#[test]
fn instants_move_onto_the_new_clock() {
    let (bus, subs) = busy_bus();
    let snapshot = bus.snapshot(&SerdeCodec).unwrap();
    let clock = snapshot.clock;
    let strict_retry = bus.subs.get(key(subs[0])).unwrap().retry_at.unwrap();
    let breaker_until = bus.subscription(subs[2]).unwrap().breaker;
    // The page reloaded: the host's clock restarted near zero.
    let now = ms(3);
    let restored = Bus::restore(config(), snapshot, &SerdeCodec, now).unwrap();
    let shift =
        |t: Instant| Instant::from_micros(t.as_micros() - clock.as_micros() + now.as_micros());
    let new_strict = restored
        .bus
        .subs
        .get(key(restored.new_id(subs[0]).unwrap()))
        .unwrap();
    assert_eq!(new_strict.retry_at, Some(shift(strict_retry)));
    let crate::BreakerState::Open { until } = breaker_until else {
        panic!("breaker should be open")
    };
    assert_eq!(
        restored
            .bus
            .subscription(restored.new_id(subs[2]).unwrap())
            .unwrap()
            .breaker,
        crate::BreakerState::Open {
            until: shift(until)
        }
    );
    let due = restored.bus.poll_timeout().unwrap();
    assert!(due >= now && due <= shift(strict_retry), "{due:?}");
}

#[test]
fn dead_letters_follow_their_subscription_to_its_new_id_and_can_be_redriven() {
    let (bus, subs) = busy_bus();
    let snapshot = bus.snapshot(&SerdeCodec).unwrap();
    let clock = snapshot.clock;
    let mut restored = Bus::restore(config(), snapshot, &SerdeCodec, clock).unwrap();
    let audit = restored.new_id(subs[2]).unwrap();
    let letters: Vec<(DeadLetterId, SubscriptionId, String)> = restored
        .bus
        .dead_letters()
        .map(|d| (d.id, d.subscription, d.message.payload.clone()))
        .collect();
    assert_eq!(letters.len(), 2);
    let (gone_id, gone_sub, gone_payload) = letters[0].clone();
    assert_eq!(
        (gone_sub, gone_payload.as_str()),
        (GONE_SUBSCRIPTION, "eu-1")
    );
    assert_eq!(letters[1].1, audit);
    assert_eq!(
        restored.bus.redrive(gone_id, clock),
        Err(RedriveError::SubscriptionGone(GONE_SUBSCRIPTION)),
        "the removed subscription stays gone"
    );
    assert_eq!(restored.bus.redrive(letters[1].0, clock), Ok(()));
    assert_eq!(restored.bus.subscription(audit).unwrap().depth, 2);
}

#[test]
fn each_message_is_stored_once_and_shared_again_after_restore() {
    let mut bus: Bus<String> = Bus::new(Config::default()).unwrap();
    let t0 = ms(0);
    for _ in 0..3 {
        bus.subscribe("a.**", SubscribeOptions::default(), t0)
            .unwrap();
    }
    publish(&mut bus, "a.b", "shared", t0);
    let snapshot = bus.snapshot(&SerdeCodec).unwrap();
    assert_eq!(snapshot.messages.len(), 1);
    let restored = Bus::restore(Config::default(), snapshot, &SerdeCodec, t0).unwrap();
    let queued: Vec<&Arc<Envelope<String>>> = restored
        .bus
        .subs
        .iter()
        .flat_map(|(_, s)| s.queue.iter().map(|q| &q.message))
        .collect();
    assert_eq!(queued.len(), 3);
    assert!(queued.iter().all(|m| Arc::ptr_eq(m, queued[0])));
}

#[test]
fn publishing_after_restore_continues_every_sequence() {
    let (bus, _) = busy_bus();
    let snapshot = bus.snapshot(&SerdeCodec).unwrap();
    let clock = snapshot.clock;
    let last = snapshot.last_message;
    let mut restored = Bus::restore(config(), snapshot, &SerdeCodec, clock).unwrap();
    let published = restored
        .bus
        .publish("orders.us", "us-4".into(), PublishOptions::default(), clock)
        .unwrap();
    assert_eq!(published.id, MessageId(last + 1));
    assert_eq!(published.topic_seq, 4);
    let subscribed = restored
        .bus
        .subscribe("x", SubscribeOptions::default(), clock)
        .unwrap();
    assert_eq!(restored.bus.subscription(subscribed).unwrap().order, 5);
}

#[test]
fn a_snapshot_from_a_newer_version_is_refused() {
    let (bus, _) = busy_bus();
    let mut snapshot = bus.snapshot(&SerdeCodec).unwrap();
    snapshot.version = SNAPSHOT_VERSION + 1;
    let error = Bus::restore(config(), snapshot, &SerdeCodec, ms(0)).unwrap_err();
    assert_eq!(
        error,
        SnapshotError::NewerVersion {
            found: SNAPSHOT_VERSION + 1,
            supported: SNAPSHOT_VERSION
        }
    );
    assert_eq!(
        error.to_string(),
        "snapshot format version 3 is newer than the newest this build reads (2)"
    );
}

fn refused(edit: impl FnOnce(&mut Snapshot<String>)) -> String {
    let (bus, _) = busy_bus();
    let mut snapshot = bus.snapshot(&SerdeCodec).unwrap();
    edit(&mut snapshot);
    match Bus::restore(config(), snapshot, &SerdeCodec, ms(0)) {
        Err(SnapshotError::Corrupt(reason)) => reason,
        other => panic!(
            "expected a corrupt snapshot, got {:?}",
            other.map(|r| r.subscriptions)
        ),
    }
}

#[test]
fn a_queued_message_missing_from_the_snapshot_is_refused() {
    let reason = refused(|s| {
        let id = s.subscriptions[0].queue[0].message;
        s.messages.retain(|m| m.id != id);
    });
    assert!(reason.contains("not in the snapshot"), "{reason}");
}

#[test]
fn duplicate_subscription_ids_are_refused() {
    let reason = refused(|s| s.subscriptions[1].id = s.subscriptions[0].id);
    assert!(reason.contains("appears twice"), "{reason}");
}

#[test]
fn duplicate_messages_and_dead_letter_ids_are_refused() {
    let reason = refused(|s| {
        let copy = s.messages[0].clone();
        s.messages.push(copy);
    });
    assert!(reason.contains("appears twice"), "{reason}");
    let reason = refused(|s| s.dead_letters[1].id = s.dead_letters[0].id);
    assert!(reason.contains("dead letter id"), "{reason}");
}

#[test]
fn a_dead_letter_its_pattern_does_not_match_is_refused() {
    let reason = refused(|s| s.dead_letters[0].pattern = "elsewhere.*".into());
    assert!(reason.contains("does not match"), "{reason}");
}

#[test]
fn a_dead_letter_whose_subscription_has_another_pattern_is_refused() {
    // One flipped bit in a subscription's pattern (`orders.*` -> `orders/*`) left its dead
    // letters restorable; a redrive then queued them where the bus's own snapshot was refused.
    let reason = refused(|s| {
        let live: Vec<_> = s.subscriptions.iter().map(|sub| sub.id).collect();
        let letter = s
            .dead_letters
            .iter()
            .find(|d| live.contains(&d.subscription));
        let letter = letter
            .expect("a dead letter of a live subscription")
            .subscription;
        let owner = s
            .subscriptions
            .iter_mut()
            .find(|sub| sub.id == letter)
            .unwrap();
        owner.pattern.push_str(".**");
    });
    assert!(reason.contains("that subscription's pattern"), "{reason}");
}

#[test]
fn inconsistent_sequences_and_options_are_refused() {
    assert!(refused(|s| s.last_message = 1).contains("outside the sequence"));
    assert!(refused(|s| s.topics[0].seq = 0).contains("topic sequence"));
    assert!(refused(|s| s.next_order = 0).contains("creation order"));
    assert!(refused(|s| s.subscriptions[0].pattern = "a..b".into()).contains("pattern"));
    assert!(refused(|s| s.subscriptions[0].retry.max_attempts = 0).contains("retry.max_attempts"));
    assert!(refused(|s| s.subscriptions[0].queue[0].attempt = 0).contains("attempt 0"));
    assert!(refused(|s| s.next_dead_letter = 1).contains("dead letter id"));
    assert!(refused(|s| s.version = 0).contains("version 0"));
    assert!(refused(|s| s.subscriptions[0].pattern = "elsewhere".into()).contains("does not match"));
    assert!(refused(|s| {
        let topic = s.topics.iter().position(|t| t.name == "audit").unwrap();
        let other = s.messages.iter().find(|m| m.topic != "audit").unwrap().id;
        s.topics[topic].retained.push(other);
    })
    .contains("of another topic"));
}

#[test]
fn duplicate_topics_and_creation_orders_are_refused() {
    let reason = refused(|s| {
        let copy = s.topics[0].clone();
        s.topics.push(copy);
    });
    assert!(reason.contains("appears twice"), "{reason}");
    let reason = refused(|s| s.subscriptions[1].order = s.subscriptions[0].order);
    assert!(
        reason.contains("two subscriptions have creation order"),
        "{reason}"
    );
}

#[test]
fn a_message_on_an_unknown_or_invalid_topic_is_refused() {
    let reason = refused(|s| s.messages[0].topic = "nowhere".into());
    assert!(reason.contains("unknown topic `nowhere`"), "{reason}");
    let reason = refused(|s| s.topics[0].name = "a..b".into());
    assert!(reason.contains("topic `a..b`"), "{reason}");
}

#[test]
fn deliveries_in_flight_go_back_to_the_head_of_their_own_subscription_queue() {
    let t0 = ms(0);
    let mut bus: Bus<String> = Bus::new(Config::default()).unwrap();
    let wide = bus
        .subscribe(
            "t",
            SubscribeOptions {
                concurrency: 3,
                ..Default::default()
            },
            t0,
        )
        .unwrap();
    let narrow = bus.subscribe("t", SubscribeOptions::default(), t0).unwrap();
    for payload in ["m1", "m2", "m3"] {
        publish(&mut bus, "t", payload, t0);
    }
    // Breadth first: m1 to both, then m2 and m3 to `wide` (narrow is at its limit of one).
    let mut started = Vec::new();
    for at in 1..=4 {
        let d = bus.poll_delivery(ms(at)).unwrap();
        started.push((d.subscription, d.items[0].message.payload.clone()));
        bus.complete(d.token, Outcome::Pending, ms(at)).unwrap();
    }
    assert!(bus.poll_delivery(ms(5)).is_none());
    assert_eq!(
        started,
        [
            (wide, "m1".to_string()),
            (narrow, "m1".to_string()),
            (wide, "m2".to_string()),
            (wide, "m3".to_string()),
        ]
    );

    let snapshot = bus.snapshot(&SerdeCodec).unwrap();
    let ids = |sub: SubscriptionId| -> Vec<u64> {
        let s = snapshot.subscriptions.iter().find(|s| s.id == sub).unwrap();
        s.queue.iter().map(|q| q.message.0).collect()
    };
    assert_eq!(ids(wide), [1, 2, 3], "three in flight, oldest first");
    assert_eq!(ids(narrow), [1, 2, 3], "one in flight, then two queued");

    let mut restored = Bus::restore(Config::default(), snapshot, &SerdeCodec, ms(5)).unwrap();
    let log = drain(&mut restored.bus, ms(5));
    let per = |old: SubscriptionId| -> Vec<String> {
        let new = restored.new_id(old).unwrap();
        log.iter()
            .filter(|(s, _, _)| *s == new)
            .map(|(_, p, _)| p.clone())
            .collect()
    };
    assert_eq!(per(wide), ["m1", "m2", "m3"]);
    assert_eq!(per(narrow), ["m1", "m2", "m3"]);
}

#[test]
fn an_unreferenced_message_is_refused() {
    let reason = refused(|s| {
        let mut extra = s.messages[0].clone();
        extra.id = MessageId(s.last_message);
        s.messages.retain(|m| m.id != extra.id);
        s.messages.push(extra.clone());
        for sub in &mut s.subscriptions {
            sub.queue.retain(|q| q.message != extra.id);
            sub.delayed.retain(|(_, q)| q.message != extra.id);
        }
        for topic in &mut s.topics {
            topic.retained.retain(|id| *id != extra.id);
        }
        s.dead_letters.retain(|d| d.message != extra.id);
    });
    assert!(reason.contains("nothing refers to it"), "{reason}");
}

/// Payloads are `u32` on the bus and text in the snapshot; "bad" text fails to decode.
struct Text;
impl PayloadCodec<u32> for Text {
    type Encoded = String;
    fn encode(&self, payload: &u32) -> Result<String, String> {
        if *payload == 666 {
            Err("unencodable".into())
        } else {
            Ok(payload.to_string())
        }
    }
    fn decode(&self, text: String) -> Result<u32, String> {
        text.parse()
            .map_err(|_| format!("`{text}` is not a number"))
    }
}

#[test]
fn a_payload_that_fails_to_decode_refuses_the_whole_restore() {
    let mut bus: Bus<u32> = Bus::new(Config::default()).unwrap();
    bus.subscribe("n", SubscribeOptions::default(), ms(0))
        .unwrap();
    for n in [1, 2, 3] {
        bus.publish("n", n, PublishOptions::default(), ms(0))
            .unwrap();
    }
    let mut snapshot = bus.snapshot(&Text).unwrap();
    assert_eq!(
        snapshot
            .messages
            .iter()
            .map(|m| m.payload.as_str())
            .collect::<Vec<_>>(),
        ["1", "2", "3"]
    );
    snapshot.messages[1].payload = "two".into();
    let error = Bus::restore(Config::default(), snapshot, &Text, ms(0)).unwrap_err();
    assert_eq!(
        error,
        SnapshotError::Payload("message 2: `two` is not a number".into())
    );
}

#[test]
fn a_payload_that_fails_to_encode_fails_the_snapshot_and_changes_nothing() {
    let mut bus: Bus<u32> = Bus::new(Config::default()).unwrap();
    bus.subscribe("n", SubscribeOptions::default(), ms(0))
        .unwrap();
    bus.publish("n", 666, PublishOptions::default(), ms(0))
        .unwrap();
    assert_eq!(
        bus.snapshot(&Text).unwrap_err(),
        SnapshotError::Payload("message 1: unencodable".into())
    );
    assert_eq!(bus.metrics().queued, 1);
}

#[test]
fn an_invalid_config_is_refused_naming_the_field() {
    let (bus, _) = busy_bus();
    let snapshot = bus.snapshot(&SerdeCodec).unwrap();
    let error = Bus::restore(
        Config {
            capacity: 0,
            ..config()
        },
        snapshot,
        &SerdeCodec,
        ms(0),
    )
    .unwrap_err();
    assert_eq!(
        error,
        SnapshotError::InvalidConfig(ConfigError::new("capacity", "must be at least 1"))
    );
    assert_eq!(
        error.to_string(),
        "invalid configuration: `capacity` must be at least 1"
    );
}

#[test]
fn a_smaller_dead_letter_store_evicts_the_oldest_and_counts_them() {
    let (bus, _) = busy_bus();
    let snapshot = bus.snapshot(&SerdeCodec).unwrap();
    let restored = Bus::restore(
        Config {
            dead_letter_capacity: 1,
            ..config()
        },
        snapshot,
        &SerdeCodec,
        ms(0),
    )
    .unwrap();
    let metrics = restored.bus.metrics();
    assert_eq!((metrics.dead_letters, metrics.dead_letters_evicted), (1, 1));
}

#[test]
fn an_empty_bus_round_trips() {
    let bus: Bus<String> = Bus::new(Config::default()).unwrap();
    let json = to_json(&bus);
    let restored = Bus::restore(Config::default(), from_json(&json), &SerdeCodec, ms(0)).unwrap();
    assert!(restored.subscriptions.is_empty());
    assert!(restored.bus.is_idle());
    assert_eq!(restored.bus.metrics(), bus.metrics());
}

#[test]
fn corrupt_errors_display_their_reason() {
    assert_eq!(
        SnapshotError::Corrupt("x".into()).to_string(),
        "corrupt snapshot: x"
    );
    assert_eq!(
        SnapshotError::Payload("y".into()).to_string(),
        "payload codec failed: y"
    );
}

mod restore_is_invisible {
    //! Property: snapshotting and restoring a quiescent-host bus (no delivery in flight)
    //! at any point changes nothing the host can observe afterwards.
    use super::*;
    use proptest::prelude::*;

    const PATTERNS: [&str; 4] = ["a", "a.*", "**", "*.c"];
    const TOPICS: [&str; 3] = ["a", "a.b", "b.c"];

    #[derive(Clone, Debug)]
    enum Op {
        Subscribe {
            pattern: usize,
            relaxed: bool,
            breaker: bool,
            batched: bool,
        },
        Publish {
            topic: usize,
            ttl: bool,
        },
        Deliver,
        Advance(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            1 => (0..PATTERNS.len(), any::<bool>(), any::<bool>(), any::<bool>())
                .prop_map(|(pattern, relaxed, breaker, batched)| Op::Subscribe { pattern, relaxed, breaker, batched }),
            3 => (0..TOPICS.len(), any::<bool>()).prop_map(|(topic, ttl)| Op::Publish { topic, ttl }),
            3 => Just(Op::Deliver),
            1 => (1..80u64).prop_map(Op::Advance),
        ]
    }

    /// The host's handler: fails every payload divisible by 3, rejects those divisible by 7.
    fn outcome(payload: u32) -> Outcome {
        match payload {
            p if p % 7 == 0 => Outcome::Rejected("seven".into()),
            p if p % 3 == 0 => Outcome::Failed("three".into()),
            _ => Outcome::Delivered,
        }
    }

    /// One handler call: the subscription, its (payload, attempt) items, and when.
    type Handled = (SubscriptionId, Vec<(u32, u32)>, Instant);

    fn handle_one(bus: &mut Bus<u32>, now: Instant) -> Option<(SubscriptionId, Vec<(u32, u32)>)> {
        let delivery = bus.poll_delivery(now)?;
        let items = delivery
            .items
            .iter()
            .map(|i| (i.message.payload, i.attempt))
            .collect();
        let first = delivery.items[0].message.payload;
        bus.complete(delivery.token, outcome(first), now).unwrap();
        Some((delivery.subscription, items))
    }

    fn drain(bus: &mut Bus<u32>, mut now: Instant) -> Vec<Handled> {
        let mut log = Vec::new();
        for _ in 0..10_000 {
            if let Some((sub, items)) = handle_one(bus, now) {
                log.push((sub, items, now));
            } else if let Some(next) = bus.poll_timeout() {
                now = now.max(next);
                bus.handle_timeout(now);
            } else {
                break;
            }
        }
        log
    }

    fn config() -> Config {
        Config {
            retain: 1,
            dead_letter_capacity: 3,
            retry: RetryPolicy {
                max_attempts: 3,
                backoff: Duration::from_millis(10),
                factor: 2.0,
                max_backoff: Duration::from_millis(50),
                jitter: Jitter::Full,
            },
            ..Config::default()
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
        #[test]
        fn a_restored_bus_behaves_exactly_like_the_original(ops in prop::collection::vec(op(), 1..60), through in 0u8..3) {
            let mut bus: Bus<u32> = Bus::new(config()).unwrap();
            let mut now = Instant::from_millis(1);
            let mut payload = 0u32;
            for op in ops {
                match op {
                    Op::Subscribe { pattern, relaxed, breaker, batched } => {
                        let options = SubscribeOptions {
                            ordering: if relaxed { OrderingMode::Relaxed } else { OrderingMode::Strict },
                            breaker: breaker.then_some(BreakerPolicy { failures: 2, cooldown: Duration::from_millis(30), failure_ratio: None }),
                            delivery: if batched {
                                DeliveryStrategy::Batched { size: 2, max_wait: Duration::from_millis(15) }
                            } else {
                                DeliveryStrategy::Immediate
                            },
                            capacity: Some(4),
                            overflow: Some(if pattern % 2 == 0 { Overflow::DropOldest } else { Overflow::DropNewest }),
                            ..SubscribeOptions::default()
                        };
                        bus.subscribe(PATTERNS[pattern], options, now).unwrap();
                    }
                    Op::Publish { topic, ttl } => {
                        payload += 1;
                        let options = PublishOptions { ttl: ttl.then_some(Duration::from_millis(25)), ..PublishOptions::default() };
                        bus.publish(TOPICS[topic], payload, options, now).unwrap();
                    }
                    Op::Deliver => {
                        handle_one(&mut bus, now);
                    }
                    Op::Advance(by) => {
                        now = now.saturating_add(Duration::from_millis(by));
                        bus.handle_timeout(now);
                    }
                }
            }
            let snapshot = bus.snapshot(&SerdeCodec).unwrap();
            // Kept in memory, through JSON (serde), or through the binary form.
            let snapshot = match through {
                0 => snapshot,
                1 => serde_json::from_str(&serde_json::to_string(&snapshot).unwrap()).unwrap(),
                _ => Snapshot::from_bytes(&snapshot.to_bytes()).unwrap(),
            };
            let mut restored = Bus::restore(config(), snapshot, &SerdeCodec, bus.now).unwrap();
            let clock = bus.now;
            let original_log = drain(&mut bus, clock);
            let restored_log: Vec<_> = drain(&mut restored.bus, clock)
                .into_iter()
                .map(|(new, items, at)| {
                    let old = restored.subscriptions.iter().find(|(_, n)| *n == new).map(|(o, _)| *o).unwrap();
                    (old, items, at)
                })
                .collect();
            prop_assert_eq!(&original_log, &restored_log);
            let (a, b) = (bus.metrics(), restored.bus.metrics());
            prop_assert_eq!(a.totals, b.totals);
            prop_assert_eq!(a.topics, b.topics);
            prop_assert_eq!((a.dead_letters, a.dead_letters_evicted, a.expired), (b.dead_letters, b.dead_letters_evicted, b.expired));
            let dead_a: Vec<_> = bus.dead_letters().map(|d| (d.id, d.message.payload, d.attempts, d.reason)).collect();
            let dead_b: Vec<_> = restored.bus.dead_letters().map(|d| (d.id, d.message.payload, d.attempts, d.reason)).collect();
            prop_assert_eq!(dead_a, dead_b);
        }
    }
}
