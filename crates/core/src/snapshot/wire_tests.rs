//! The binary form against postcard, its reference: the same bytes out, the same verdict on
//! any bytes in (accepted with the same value, or refused), and clear errors that never panic.

use super::*;
use crate::breaker::{BreakerPolicy, BreakerState};
use crate::retry::Jitter;
use crate::snapshot::tests::{busy_bus, config};
use crate::snapshot::{MessageSnapshot, SerdeCodec};
use crate::{Bus, Config};
use alloc::format;
use alloc::string::ToString;
use alloc::vec;
use proptest::prelude::*;

/// A snapshot with every field away from its default, including the corners of each form:
/// `u64::MAX`, negative `i32`, fractional floats, `Some` everywhere, every enum's data-carrying
/// variant, non-ASCII text, a duration with 999 999 999 ns. Not meant to restore, only to
/// encode.
fn exotic() -> Snapshot<String> {
    let (bus, _) = busy_bus();
    let mut snapshot = bus.snapshot(&SerdeCodec).unwrap();
    snapshot.groups.push(("workers ✓".into(), 7));
    snapshot.counters.totals.published = u64::MAX;
    snapshot.rng = crate::retry::Rng::new(u64::MAX - 1);
    let message = snapshot.messages.first_mut().unwrap();
    message.causation = Some(MessageId(u64::MAX));
    message.correlation = Some("c-1".into());
    message.headers = vec![("trace".into(), "x".into()), ("é".into(), String::new())];
    message.expires_at = Some(Instant::from_micros(1 << 40));
    message.payload = "payload ✓".into();
    message.origin = Some(OriginSnapshot {
        realm: "tab-✓".into(),
        id: u64::MAX,
        seq: 1 << 40,
        hops: 255,
    });
    let mut breaker = Breaker::new(BreakerPolicy {
        failures: 3,
        cooldown: Duration::new(2, 999_999_999),
        failure_ratio: Some((0.5, 10)),
    });
    breaker.state = BreakerState::Open {
        until: Instant::from_millis(9),
    };
    breaker.window_bits = 0b1011;
    breaker.window_len = 4;
    breaker.trial_in_flight = true;
    let s = snapshot.subscriptions.first_mut().unwrap();
    s.priority = -300;
    s.name = Some("naïve".into());
    s.group = Some("workers ✓".into());
    s.overflow = Overflow::DropNewest;
    s.delivery = DeliveryStrategy::Batched {
        size: 300,
        max_wait: Duration::from_micros(1_500),
    };
    s.ordering = OrderingMode::Relaxed;
    s.retry.jitter = Jitter::Proportional(0.25);
    s.retry.factor = 1.5;
    s.timeout = Some(Duration::from_millis(1_500));
    s.max_deliveries = Some(200);
    s.owner = Some(OwnerId(1 << 35));
    s.weak = true;
    s.stack = Some("at f (a.js:1:2)\n".into());
    s.breaker = Some(breaker);
    s.retry_at = Some(Instant::from_millis(3));
    s.idle_flagged = true;
    s.high_water = 1 << 20;
    s.handler_latency = s.latency.clone();
    snapshot.released_owners = vec![OwnerId(1), OwnerId(u64::MAX)];
    snapshot
}

/// Our verdict on `bytes` must be postcard's: the same value, or both refusing. A version
/// newer than this build's is refused by us up front, whatever postcard makes of the rest.
fn agrees_with_postcard(bytes: &[u8]) {
    let ours = Snapshot::<String>::from_bytes(bytes);
    // The version (the first field) decides the layout postcard is asked to read.
    let legacy = matches!(postcard::take_from_bytes::<u32>(bytes), Ok((0 | 1, _)));
    let theirs = if legacy {
        match postcard::take_from_bytes::<v1::SnapshotV1<String>>(bytes) {
            Ok((snapshot, [])) => Some(snapshot.upgrade()),
            _ => None,
        }
    } else {
        match postcard::take_from_bytes::<Snapshot<String>>(bytes) {
            Ok((snapshot, [])) => Some(snapshot),
            _ => None,
        }
    };
    match (ours, theirs) {
        // Compared through postcard's own encoding, so a NaN read from flipped float bits
        // compares equal to itself.
        (Ok(ours), Some(theirs)) => assert_eq!(
            postcard::to_allocvec(&ours).unwrap(),
            postcard::to_allocvec(&theirs).unwrap()
        ),
        (Err(_), None) => {}
        (Err(SnapshotError::NewerVersion { found, .. }), Some(theirs)) => {
            assert_eq!(found, theirs.version);
            assert!(found > SNAPSHOT_VERSION);
        }
        (ours, theirs) => panic!(
            "verdicts differ on {bytes:?}: ours {:?}, postcard {}",
            ours.map(|_| "accepted"),
            if theirs.is_some() {
                "accepted"
            } else {
                "refused"
            }
        ),
    }
}

/// The version 1 layout (before [`MessageSnapshot::origin`]), as serde types postcard reads.
mod v1 {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub struct MessageSnapshotV1<E> {
        pub id: MessageId,
        pub topic: String,
        pub topic_seq: u64,
        pub published_at: Instant,
        pub causation: Option<MessageId>,
        pub correlation: Option<String>,
        pub depth: u32,
        pub headers: Vec<(String, String)>,
        pub expires_at: Option<Instant>,
        pub payload: E,
    }

    #[derive(Serialize, Deserialize)]
    pub struct SnapshotV1<E> {
        pub version: u32,
        pub clock: Instant,
        pub last_message: u64,
        pub next_order: u64,
        pub rng: crate::retry::Rng,
        pub groups: Vec<(String, u64)>,
        pub topics: Vec<super::super::TopicSnapshot>,
        pub messages: Vec<MessageSnapshotV1<E>>,
        pub subscriptions: Vec<super::super::SubscriptionSnapshot>,
        pub dead_letters: Vec<super::super::DeadLetterSnapshot>,
        pub next_dead_letter: u64,
        pub counters: super::super::BusCounters,
        pub released_owners: Vec<OwnerId>,
    }

    impl<E> SnapshotV1<E> {
        /// The same snapshot as this build's type: no message has an origin.
        pub fn upgrade(self) -> Snapshot<E> {
            Snapshot {
                version: self.version,
                clock: self.clock,
                last_message: self.last_message,
                next_order: self.next_order,
                rng: self.rng,
                groups: self.groups,
                topics: self.topics,
                messages: self
                    .messages
                    .into_iter()
                    .map(|m| MessageSnapshot {
                        id: m.id,
                        topic: m.topic,
                        topic_seq: m.topic_seq,
                        published_at: m.published_at,
                        causation: m.causation,
                        correlation: m.correlation,
                        depth: m.depth,
                        headers: m.headers,
                        expires_at: m.expires_at,
                        origin: None,
                        payload: m.payload,
                    })
                    .collect(),
                subscriptions: self.subscriptions,
                dead_letters: self.dead_letters,
                next_dead_letter: self.next_dead_letter,
                counters: self.counters,
                released_owners: self.released_owners,
            }
        }

        /// This build's snapshot in the version 1 layout (origins dropped).
        pub fn downgrade(snapshot: Snapshot<E>) -> SnapshotV1<E> {
            SnapshotV1 {
                version: 1,
                clock: snapshot.clock,
                last_message: snapshot.last_message,
                next_order: snapshot.next_order,
                rng: snapshot.rng,
                groups: snapshot.groups,
                topics: snapshot.topics,
                messages: snapshot
                    .messages
                    .into_iter()
                    .map(|m| MessageSnapshotV1 {
                        id: m.id,
                        topic: m.topic,
                        topic_seq: m.topic_seq,
                        published_at: m.published_at,
                        causation: m.causation,
                        correlation: m.correlation,
                        depth: m.depth,
                        headers: m.headers,
                        expires_at: m.expires_at,
                        payload: m.payload,
                    })
                    .collect(),
                subscriptions: snapshot.subscriptions,
                dead_letters: snapshot.dead_letters,
                next_dead_letter: snapshot.next_dead_letter,
                counters: snapshot.counters,
                released_owners: snapshot.released_owners,
            }
        }
    }
}

#[test]
fn a_version_1_snapshot_is_read_and_restored_with_no_origins() {
    let (bus, _) = busy_bus();
    let snapshot = bus.snapshot(&SerdeCodec).unwrap();
    assert!(!snapshot.messages.is_empty());
    let old = postcard::to_allocvec(&v1::SnapshotV1::downgrade(snapshot.clone())).unwrap();
    agrees_with_postcard(&old);
    let read = Snapshot::<String>::from_bytes(&old).unwrap();
    assert_eq!(read.version, 1);
    assert!(read.messages.iter().all(|m| m.origin.is_none()));
    assert_eq!(read.messages.len(), snapshot.messages.len());
    let restored = Bus::restore(config(), read, &SerdeCodec, Instant::from_millis(1)).unwrap();
    assert_eq!(
        restored.bus.metrics().totals.published,
        bus.metrics().totals.published
    );
}

#[test]
fn the_binary_form_is_postcards_byte_for_byte() {
    let empty = Bus::<String>::new(Config::default())
        .unwrap()
        .snapshot(&SerdeCodec)
        .unwrap();
    let busy = busy_bus().0.snapshot(&SerdeCodec).unwrap();
    for snapshot in [empty, busy, exotic()] {
        let bytes = snapshot.to_bytes();
        assert_eq!(bytes, postcard::to_allocvec(&snapshot).unwrap());
        assert_eq!(Snapshot::<String>::from_bytes(&bytes).unwrap(), snapshot);
    }
}

/// `snapshot` with each message's payload replaced by `payload(position)`.
fn with_payloads<T>(snapshot: &Snapshot<String>, payload: impl Fn(usize) -> T) -> Snapshot<T> {
    let messages = snapshot.messages.iter().enumerate();
    Snapshot {
        version: snapshot.version,
        clock: snapshot.clock,
        last_message: snapshot.last_message,
        next_order: snapshot.next_order,
        rng: snapshot.rng.clone(),
        groups: snapshot.groups.clone(),
        topics: snapshot.topics.clone(),
        messages: messages
            .map(|(i, m)| MessageSnapshot {
                id: m.id,
                topic: m.topic.clone(),
                topic_seq: m.topic_seq,
                published_at: m.published_at,
                causation: m.causation,
                correlation: m.correlation.clone(),
                depth: m.depth,
                headers: m.headers.clone(),
                expires_at: m.expires_at,
                origin: m.origin.clone(),
                payload: payload(i),
            })
            .collect(),
        subscriptions: snapshot.subscriptions.clone(),
        dead_letters: snapshot.dead_letters.clone(),
        next_dead_letter: snapshot.next_dead_letter,
        counters: snapshot.counters,
        released_owners: snapshot.released_owners.clone(),
    }
}

#[test]
fn other_payload_forms_are_postcards_too() {
    let snapshot = exotic();
    // Indices into a side list, as the WebAssembly build stores payloads.
    let indices = with_payloads(&snapshot, |i| i as u32 * 1000);
    let bytes = indices.to_bytes();
    assert_eq!(bytes, postcard::to_allocvec(&indices).unwrap());
    assert_eq!(Snapshot::<u32>::from_bytes(&bytes).unwrap(), indices);
    // Opaque byte strings.
    let blobs = with_payloads(&snapshot, |i| vec![0u8, 0x80, 0xff, i as u8]);
    let bytes = blobs.to_bytes();
    assert_eq!(bytes, postcard::to_allocvec(&blobs).unwrap());
    assert_eq!(Snapshot::<Vec<u8>>::from_bytes(&bytes).unwrap(), blobs);
}

#[test]
fn a_restore_from_the_binary_form_delivers_what_the_original_owed() {
    let (bus, _) = busy_bus();
    let bytes = bus.snapshot(&SerdeCodec).unwrap().to_bytes();
    let snapshot = Snapshot::<String>::from_bytes(&bytes).unwrap();
    let restored = Bus::restore(config(), snapshot, &SerdeCodec, Instant::ZERO);
    let restored = restored.unwrap();
    assert_eq!(restored.bus.metrics().totals, bus.metrics().totals);
    assert_eq!(
        restored.bus.dead_letters().count(),
        bus.dead_letters().count()
    );
}

#[test]
fn every_truncation_flipped_byte_and_extension_gets_postcards_verdict() {
    let bytes = exotic().to_bytes();
    for len in 0..bytes.len() {
        agrees_with_postcard(&bytes[..len]);
    }
    for i in 0..bytes.len() {
        for mask in [0x01, 0x02, 0x40, 0x7f, 0x80, 0xff] {
            let mut flipped = bytes.clone();
            flipped[i] ^= mask;
            agrees_with_postcard(&flipped);
        }
    }
    for extra in [0u8, 1, 0xff] {
        let mut longer = bytes.clone();
        longer.push(extra);
        agrees_with_postcard(&longer);
    }
}

#[test]
fn refusals_name_the_byte_and_the_problem() {
    let bytes = exotic().to_bytes();
    let last = bytes.len() - 1;
    assert_eq!(
        Snapshot::<String>::from_bytes(&bytes[..last]),
        Err(SnapshotError::Corrupt(format!(
            "byte {last}: the bytes end in the middle of a value"
        )))
    );
    let mut longer = bytes.clone();
    longer.extend([0, 0]);
    assert_eq!(
        Snapshot::<String>::from_bytes(&longer),
        Err(SnapshotError::Corrupt("2 bytes follow the snapshot".into()))
    );
    // version 1, then a clock varint that never ends within 10 bytes.
    let mut endless = vec![1u8];
    endless.extend([0x80; 11]);
    assert_eq!(
        Snapshot::<String>::from_bytes(&endless),
        Err(SnapshotError::Corrupt(
            "byte 1: malformed or out-of-range integer".into()
        ))
    );
    // version 1, clock, sequence, order, rng, then a group named by the bytes [0xff].
    let bad_text = [1u8, 0, 0, 0, 0, 1, 1, 0xff, 0];
    assert_eq!(
        Snapshot::<String>::from_bytes(&bad_text),
        Err(SnapshotError::Corrupt(
            "byte 7: text that is not UTF-8".into()
        ))
    );
    let error = Snapshot::<String>::from_bytes(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    assert!(matches!(error, Err(SnapshotError::Corrupt(e)) if e.starts_with("byte ")));
}

#[test]
fn a_newer_version_is_refused_before_its_layout_is_read() {
    let mut bytes = exotic().to_bytes();
    bytes[0] = 3;
    // Even bytes that are nothing but a version.
    for bytes in [&bytes[..], &[3][..], &[0x80, 0x01][..]] {
        let error = Snapshot::<String>::from_bytes(bytes).unwrap_err();
        let found = if bytes.len() == 2 { 128 } else { 3 };
        assert_eq!(
            error,
            SnapshotError::NewerVersion {
                found,
                supported: SNAPSHOT_VERSION
            }
        );
    }
    assert_eq!(
        Snapshot::<String>::from_bytes(&[3])
            .unwrap_err()
            .to_string(),
        "snapshot format version 3 is newer than the newest this build reads (2)"
    );
}

#[test]
fn a_forged_length_reserves_nothing_the_bytes_do_not_back() {
    // version 1, four zero fields, then a group list claiming 2^63 - 1 entries.
    let mut forged = vec![1u8, 0, 0, 0, 0];
    forged.extend([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    assert_eq!(
        Snapshot::<String>::from_bytes(&forged),
        Err(SnapshotError::Corrupt(format!(
            "byte {}: the bytes end in the middle of a value",
            forged.len()
        )))
    );
    // The same for a string claiming `u64::MAX >> 1` bytes.
    let mut forged = vec![1u8, 0, 0, 0, 0, 1];
    forged.extend([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    let error = Snapshot::<String>::from_bytes(&forged).unwrap_err();
    assert!(error.to_string().contains("end in the middle"), "{error}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_edit_of_good_bytes_gets_postcards_verdict(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = exotic().to_bytes();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        agrees_with_postcard(&bytes);
    }

    #[test]
    fn random_bytes_get_postcards_verdict(mut bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        // Both layouts this build reads: version 1 (no origins) and 2.
        let version = 1 + (bytes.len() % 2) as u8;
        if let Some(first) = bytes.first_mut() {
            *first = version;
        }
        agrees_with_postcard(&bytes);
    }
}

#[test]
fn each_integer_form_round_trips_at_its_limits() {
    fn round_trip<T: Wire + PartialEq + core::fmt::Debug + serde::Serialize>(value: T) {
        let mut out = Vec::new();
        value.put(&mut out);
        assert_eq!(out, postcard::to_allocvec(&value).unwrap(), "{value:?}");
        let mut reader = Reader {
            bytes: &out,
            at: 0,
            error: None,
            version: SNAPSHOT_VERSION,
        };
        assert_eq!(T::take(&mut reader), value);
        assert_eq!((reader.at, reader.error), (out.len(), None));
    }
    for v in [
        0u64,
        1,
        127,
        128,
        16_383,
        16_384,
        u64::from(u32::MAX),
        u64::MAX,
    ] {
        round_trip(v);
    }
    for v in [0u32, 127, 128, u32::MAX] {
        round_trip(v);
    }
    for v in [0i32, -1, 1, -64, 64, i32::MIN, i32::MAX] {
        round_trip(v);
    }
    for v in [0.0f64, -0.0, 1.5, f64::MAX, f64::INFINITY] {
        round_trip(v);
    }
    for v in [Duration::ZERO, Duration::new(u64::MAX, 999_999_999)] {
        round_trip(v);
    }
    round_trip(usize::MAX);
    round_trip(Some(String::from("ü")));
    round_trip(Option::<u8>::None);
}

#[test]
fn a_duration_whose_nanoseconds_overflow_its_seconds_is_refused() {
    // u64::MAX seconds, then 10^9 nanoseconds: serde refuses it, so do we.
    let mut bytes = Vec::new();
    u64::MAX.put(&mut bytes);
    1_000_000_000u32.put(&mut bytes);
    let mut reader = Reader {
        bytes: &bytes,
        at: 0,
        error: None,
        version: SNAPSHOT_VERSION,
    };
    assert_eq!(Duration::take(&mut reader), Duration::ZERO);
    assert_eq!(
        reader.error.map(WireError::into_snapshot_error),
        Some(SnapshotError::Corrupt(
            "byte 0: a duration or size too large".into()
        ))
    );
    assert!(postcard::from_bytes::<Duration>(&bytes).is_err());
    // 999 999 999 ns more is fine, and so is a carry that fits.
    let carried = [0x00, 0x80, 0x94, 0xeb, 0xdc, 0x03];
    let mut reader = Reader {
        bytes: &carried,
        at: 0,
        error: None,
        version: SNAPSHOT_VERSION,
    };
    assert_eq!(Duration::take(&mut reader), Duration::from_secs(1));
    assert_eq!(reader.error, None);
    assert_eq!(
        postcard::from_bytes::<Duration>(&carried).unwrap(),
        Duration::from_secs(1)
    );
}
