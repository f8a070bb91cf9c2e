//! A bridged message's origin: validated at publish, kept with the message through retries,
//! dead letters, redrive, snapshots and the trace.

mod common;

use std::sync::Arc;

use common::*;
#[cfg(feature = "snapshot")]
use switchyard_core::snapshot::{SerdeCodec, Snapshot};
#[cfg(feature = "snapshot")]
use switchyard_core::Bus;
use switchyard_core::{
    Config, Origin, Outcome, PublishError, PublishOptions, RetryPolicy, TraceKind,
};

fn origin(hops: u8) -> Arc<Origin> {
    Arc::new(Origin {
        realm: "tab-7f3a".into(),
        id: 41,
        seq: 9,
        hops,
    })
}

fn bridged(origin: Arc<Origin>) -> PublishOptions {
    PublishOptions {
        origin: Some(origin),
        ..PublishOptions::default()
    }
}

#[test]
fn a_bridged_message_carries_its_origin_to_the_handler() {
    let mut bus = bus();
    sub(&mut bus, "cart.*");
    bus.publish("cart.add", 1, bridged(origin(1)), ms(0))
        .unwrap();
    bus.publish("cart.add", 2, PublishOptions::default(), ms(0))
        .unwrap();
    let first = bus.poll_delivery(ms(0)).unwrap();
    assert_eq!(first.items[0].message.origin.as_deref(), Some(&*origin(1)));
    bus.complete(first.token, Outcome::Delivered, ms(0))
        .unwrap();
    let second = bus.poll_delivery(ms(0)).unwrap();
    assert_eq!(second.items[0].message.origin, None);
}

#[test]
fn a_bad_origin_is_refused_naming_the_field_and_nothing_is_published() {
    let mut bus = bus();
    sub(&mut bus, "cart.*");
    let cases = [
        ("", 1, "origin.realm"),
        (&*"x".repeat(129), 1, "origin.realm"),
        ("tab", 0, "origin.hops"),
    ];
    for (realm, hops, field) in cases {
        let bad = Arc::new(Origin {
            realm: realm.into(),
            id: 1,
            seq: 1,
            hops,
        });
        match bus.publish("cart.add", 1, bridged(bad), ms(0)) {
            Err(PublishError::InvalidOption(e)) => assert_eq!(e.field, field),
            other => panic!("expected InvalidOption for {field}, got {other:?}"),
        }
    }
    // 128 bytes is the bound, inclusive.
    let longest = Arc::new(Origin {
        realm: "é".repeat(64).into(),
        id: u64::MAX,
        seq: 0,
        hops: 255,
    });
    assert_eq!(bus.metrics().totals.published, 0);
    bus.publish("cart.add", 1, bridged(longest), ms(0)).unwrap();
    assert_eq!(bus.metrics().totals.published, 1);
}

#[test]
fn the_origin_survives_retries_dead_letters_and_redrive() {
    let mut bus = bus_with(Config {
        retry: RetryPolicy {
            max_attempts: 2,
            backoff: core::time::Duration::from_millis(10),
            ..RetryPolicy::default()
        },
        ..Config::default()
    });
    sub(&mut bus, "cart.*");
    bus.publish("cart.add", 1, bridged(origin(2)), ms(0))
        .unwrap();
    for now in [ms(0), ms(10)] {
        let d = bus.poll_delivery(now).unwrap();
        assert_eq!(d.items[0].message.origin.as_deref(), Some(&*origin(2)));
        bus.complete(d.token, Outcome::Failed("boom".into()), now)
            .unwrap();
    }
    let letter = bus.dead_letters().next().unwrap();
    assert_eq!(letter.message.origin.as_deref(), Some(&*origin(2)));
    let id = letter.id;
    bus.redrive(id, ms(20)).unwrap();
    let d = bus.poll_delivery(ms(20)).unwrap();
    assert_eq!(d.items[0].message.origin.as_deref(), Some(&*origin(2)));
}

#[cfg(feature = "snapshot")]
#[test]
fn the_origin_survives_a_snapshot_in_both_forms() {
    let mut bus = bus();
    sub(&mut bus, "cart.*");
    bus.publish("cart.add", 1, bridged(origin(3)), ms(0))
        .unwrap();
    bus.publish("cart.add", 2, PublishOptions::default(), ms(0))
        .unwrap();
    let snapshot = bus.snapshot(&SerdeCodec).unwrap();
    let read = Snapshot::<u32>::from_bytes(&snapshot.to_bytes()).unwrap();
    assert_eq!(read, snapshot);
    let mut restored = Bus::restore(Config::default(), read, &SerdeCodec, ms(5)).unwrap();
    let d = restored.bus.poll_delivery(ms(5)).unwrap();
    assert_eq!(d.items[0].message.origin.as_deref(), Some(&*origin(3)));
    restored
        .bus
        .complete(d.token, Outcome::Delivered, ms(5))
        .unwrap();
    let d = restored.bus.poll_delivery(ms(5)).unwrap();
    assert_eq!(d.items[0].message.origin, None);
}

#[cfg(feature = "snapshot")]
#[test]
fn a_snapshot_with_a_forged_origin_is_refused() {
    let mut bus = bus();
    sub(&mut bus, "cart.*");
    bus.publish("cart.add", 1, bridged(origin(3)), ms(0))
        .unwrap();
    let mut snapshot = bus.snapshot(&SerdeCodec).unwrap();
    snapshot.messages[0].origin.as_mut().unwrap().hops = 0;
    let error = Bus::restore(Config::default(), snapshot, &SerdeCodec, ms(5)).unwrap_err();
    assert!(error.to_string().contains("0 hops"), "{error}");
}

#[test]
fn the_published_trace_event_names_the_origin() {
    let mut bus = bus_with(Config {
        trace_capacity: 64,
        ..Config::default()
    });
    sub(&mut bus, "cart.*");
    bus.publish("cart.add", 1, bridged(origin(1)), ms(0))
        .unwrap();
    bus.publish("cart.add", 2, PublishOptions::default(), ms(0))
        .unwrap();
    let published: Vec<_> = bus
        .trace_since(0)
        .events
        .into_iter()
        .filter(|e| e.kind == TraceKind::Published)
        .map(|e| e.origin.map(|o| o.realm.to_string()))
        .collect();
    assert_eq!(published, [Some("tab-7f3a".to_string()), None]);
    // Only published events carry it.
    assert!(bus
        .trace_since(0)
        .events
        .iter()
        .all(|e| e.kind == TraceKind::Published || e.origin.is_none()));
}
