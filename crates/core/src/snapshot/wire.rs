//! The snapshot's binary form: [`Snapshot::to_bytes`] and [`Snapshot::from_bytes`].
//!
//! The layout is [postcard]'s encoding of the serde data model of [`Snapshot`], written by hand
//! so a host that stores bytes (the WebAssembly build) links neither serde's visitors nor a
//! serde format: one small encoder and one validating decoder instead of a derived
//! `Serialize`/`Deserialize` pair per type. The bytes are exactly what
//! `postcard::to_allocvec(&snapshot)` writes, and the decoder accepts exactly what
//! `postcard::take_from_bytes` accepts with nothing left over (postcard's `from_bytes`
//! ignores trailing bytes; this decoder refuses them). Both directions are tested against
//! postcard, so there is one format whichever way a native host writes it.
//!
//! # Layout
//!
//! * Unsigned integers are LEB128 varints (at most 5 bytes for a `u32`, 10 for a `u64`);
//!   `usize` is written as a `u64`. `i32` is zig-zag encoded, then a varint.
//! * `f64` is its 8 IEEE 754 bytes, little-endian; `bool` is one byte, `0` or `1`.
//! * A string or a list is its length as a varint, then its UTF-8 bytes or its elements.
//! * An `Option` is a byte, `0` (none) or `1` (some, followed by the value).
//! * An enum is its variant index as a varint, followed by the variant's fields.
//! * A struct or a tuple is its fields in declaration order, with nothing between them;
//!   a [`Duration`] is its seconds (`u64`) and nanoseconds (`u32`).
//!
//! The first field, [`Snapshot::version`], decides the rest: a version newer than
//! [`SNAPSHOT_VERSION`] is refused before anything else is read.
//!
//! # Decoding never trusts the bytes
//!
//! Every length is checked against the bytes left before anything is allocated, so a forged
//! length cannot make the decoder reserve memory the input does not back; every tag, bool and
//! varint is checked; strings must be UTF-8; nothing may follow the snapshot. Any problem is a
//! [`SnapshotError::Corrupt`] naming the byte offset. Decoding only checks the form: whether
//! the content is consistent is [`Bus::restore`](crate::Bus::restore)'s job.
//!
//! ```
//! use switchyard_core::snapshot::{SerdeCodec, Snapshot};
//! use switchyard_core::{Bus, Config, Instant, PublishOptions, SubscribeOptions};
//!
//! let now = Instant::from_millis(1);
//! let mut bus: Bus<String> = Bus::new(Config::default()).unwrap();
//! bus.subscribe("a.*", SubscribeOptions::default(), now).unwrap();
//! bus.publish("a.b", "hello".to_string(), PublishOptions::default(), now).unwrap();
//!
//! let snapshot = bus.snapshot(&SerdeCodec).unwrap();
//! let bytes = snapshot.to_bytes();
//! assert_eq!(Snapshot::<String>::from_bytes(&bytes).unwrap(), snapshot);
//! assert!(Snapshot::<String>::from_bytes(&bytes[..bytes.len() - 1]).is_err());
//! ```
//!
//! [postcard]: https://docs.rs/postcard

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use super::{
    BusCounters, DeadLetterSnapshot, MessageSnapshot, OriginSnapshot, QueuedSnapshot, Snapshot,
    SnapshotError, SubscriptionSnapshot, TopicSnapshot, SNAPSHOT_VERSION,
};
use crate::breaker::{Breaker, BreakerPolicy, BreakerState};
use crate::dead_letter::DeadLetterReason;
use crate::id::{DeadLetterId, MessageId, OwnerId, SubscriptionId};
use crate::leak::IdleWatch;
use crate::metrics::{Counters, Histogram};
use crate::retry::{Jitter, RetryPolicy, Rng};
use crate::subscription::{DeliveryStrategy, OrderingMode, Overflow};
use crate::time::Instant;

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;

impl<E: Wire> Snapshot<E> {
    /// The snapshot in its binary form (see the [module docs](self) for the layout).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.put(&mut out);
        out
    }

    /// Reads a snapshot written by [`to_bytes`](Self::to_bytes) (or by postcard from the serde
    /// form), refusing bytes that are truncated, malformed or followed by anything:
    /// [`SnapshotError::Corrupt`] with the byte offset, or [`SnapshotError::NewerVersion`]
    /// for a format this build cannot read. Never panics, whatever the bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SnapshotError> {
        let mut reader = Reader {
            bytes,
            at: 0,
            error: None,
            version: SNAPSHOT_VERSION,
        };
        let snapshot = Self::take(&mut reader);
        if let Some(error) = reader.error {
            return Err(error.into_snapshot_error());
        }
        if reader.at < bytes.len() {
            return Err(SnapshotError::Corrupt(format!(
                "{} bytes follow the snapshot",
                bytes.len() - reader.at
            )));
        }
        Ok(snapshot)
    }
}

/// A value with a binary form: implemented for every part of a [`Snapshot`] and for the
/// encoded payload types a host may choose ([`PayloadCodec::Encoded`](super::PayloadCodec)):
/// `u8`, `u32`, `u64`, `String`, `bool`, `f64`, and options, lists (`Vec<u8>`) and pairs of
/// them. Its reader is not public: a host combines these forms rather than adding its own.
pub trait Wire: Sized {
    /// Appends the value's bytes to `out`.
    fn put(&self, out: &mut Vec<u8>);
    /// Reads one value, checking its form. On malformed bytes the reader keeps the first
    /// error and every later read returns a placeholder (zero, empty, the first variant)
    /// without consuming anything, so decoding code needs no branch per field and the
    /// caller checks once at the end.
    fn take(reader: &mut Reader<'_>) -> Self;
}

/// A position in bytes being decoded, with the first problem found (see [`Wire::take`]).
#[derive(Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    error: Option<WireError>,
    /// The format version being read (set from [`Snapshot::version`] once read): version 1
    /// messages have no origin.
    version: u32,
}

/// What is wrong with the bytes, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct WireError {
    at: usize,
    problem: WireProblem,
}

/// The kinds of malformed bytes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum WireProblem {
    Truncated,
    Varint,
    Tag,
    Utf8,
    Overflow,
    Newer(u32),
}

impl WireError {
    fn into_snapshot_error(self) -> SnapshotError {
        let problem = match self.problem {
            WireProblem::Newer(found) => {
                return SnapshotError::NewerVersion {
                    found,
                    supported: SNAPSHOT_VERSION,
                }
            }
            WireProblem::Truncated => "the bytes end in the middle of a value",
            WireProblem::Varint => "malformed or out-of-range integer",
            WireProblem::Tag => "invalid tag (option, bool or enum variant)",
            WireProblem::Utf8 => "text that is not UTF-8",
            WireProblem::Overflow => "a duration or size too large",
        };
        SnapshotError::Corrupt(format!("byte {}: {problem}", self.at))
    }
}

impl<'a> Reader<'a> {
    /// Records `problem` at `at` unless an earlier problem was recorded.
    fn fail(&mut self, at: usize, problem: WireProblem) {
        if self.error.is_none() {
            self.error = Some(WireError { at, problem });
        }
    }

    /// The bytes left, or none after an error.
    fn left(&self) -> usize {
        match self.error {
            Some(_) => 0,
            None => self.bytes.len().saturating_sub(self.at),
        }
    }

    fn byte(&mut self) -> u8 {
        self.slice(1).first().copied().unwrap_or(0)
    }

    /// The next `len` bytes; empty (with the error recorded) if fewer are left.
    fn slice(&mut self, len: usize) -> &'a [u8] {
        if len > self.left() {
            self.fail(self.at, WireProblem::Truncated);
            return &[];
        }
        let start = self.at;
        self.at += len;
        self.bytes.get(start..self.at).unwrap_or(&[])
    }

    /// A LEB128 varint of at most `bits` bits, as postcard reads it: at most
    /// `ceil(bits / 7)` bytes, the last one holding no bit above `bits`.
    fn varint(&mut self, bits: u32) -> u64 {
        let start = self.at;
        let max_bytes = bits.div_ceil(7);
        let last_max = (1u8 << (bits % 7)) - 1;
        let mut value = 0u64;
        for i in 0..max_bytes {
            let byte = self.byte();
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                if i == max_bytes - 1 && byte > last_max {
                    break;
                }
                return value;
            }
        }
        self.fail(start, WireProblem::Varint);
        0
    }

    /// A length (of a string or a list), a `usize` varint.
    fn len(&mut self) -> usize {
        // A `usize` varint never exceeds `usize::MAX`.
        self.varint(usize::BITS) as usize
    }

    /// An option, bool or enum tag below `count` (0 after an error).
    fn tag(&mut self, count: u32) -> u32 {
        let start = self.at;
        let tag = self.varint(32);
        if tag < u64::from(count) {
            return tag as u32;
        }
        self.fail(start, WireProblem::Tag);
        0
    }
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

impl Wire for u8 {
    fn put(&self, out: &mut Vec<u8>) {
        out.push(*self);
    }
    fn take(reader: &mut Reader<'_>) -> Self {
        reader.byte()
    }
}

impl Wire for u64 {
    fn put(&self, out: &mut Vec<u8>) {
        put_varint(out, *self);
    }
    fn take(reader: &mut Reader<'_>) -> Self {
        reader.varint(64)
    }
}

impl Wire for u32 {
    fn put(&self, out: &mut Vec<u8>) {
        put_varint(out, u64::from(*self));
    }
    fn take(reader: &mut Reader<'_>) -> Self {
        // A 32-bit varint never exceeds `u32::MAX`.
        reader.varint(32) as u32
    }
}

impl Wire for usize {
    fn put(&self, out: &mut Vec<u8>) {
        put_varint(out, *self as u64);
    }
    fn take(reader: &mut Reader<'_>) -> Self {
        // serde reads a `usize` as a `u64`, then refuses what does not fit.
        let start = reader.at;
        let value = reader.varint(64);
        usize::try_from(value).unwrap_or_else(|_| {
            reader.fail(start, WireProblem::Varint);
            0
        })
    }
}

impl Wire for i32 {
    fn put(&self, out: &mut Vec<u8>) {
        put_varint(out, u64::from(((*self << 1) ^ (*self >> 31)) as u32));
    }
    fn take(reader: &mut Reader<'_>) -> Self {
        let zigzag = u32::take(reader);
        ((zigzag >> 1) as i32) ^ -((zigzag & 1) as i32)
    }
}

impl Wire for bool {
    fn put(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
    fn take(reader: &mut Reader<'_>) -> Self {
        let start = reader.at;
        match reader.byte() {
            0 => false,
            1 => true,
            _ => {
                reader.fail(start, WireProblem::Tag);
                false
            }
        }
    }
}

impl Wire for f64 {
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn take(reader: &mut Reader<'_>) -> Self {
        let mut bytes = [0u8; 8];
        for (to, from) in bytes.iter_mut().zip(reader.slice(8)) {
            *to = *from;
        }
        f64::from_le_bytes(bytes)
    }
}

impl Wire for String {
    fn put(&self, out: &mut Vec<u8>) {
        self.len().put(out);
        out.extend_from_slice(self.as_bytes());
    }
    fn take(reader: &mut Reader<'_>) -> Self {
        let len = reader.len();
        let start = reader.at;
        match core::str::from_utf8(reader.slice(len)) {
            Ok(text) => String::from(text),
            Err(_) => {
                reader.fail(start, WireProblem::Utf8);
                String::new()
            }
        }
    }
}

/// The most memory a list reserves before its elements decode (postcard reserves up to 1 MiB).
const MAX_PREALLOC_BYTES: usize = 64 * 1024;

impl<T: Wire> Wire for Vec<T> {
    fn put(&self, out: &mut Vec<u8>) {
        self.len().put(out);
        for item in self {
            item.put(out);
        }
    }
    fn take(reader: &mut Reader<'_>) -> Self {
        let len = reader.len();
        // Every element takes at least one byte, so `len` is capped by the bytes left; but an
        // element may be hundreds of bytes in memory, so a forged length followed by filler
        // could still reserve far more than the input's size: reserve at most
        // `MAX_PREALLOC_BYTES` up front and let the vector grow as elements really decode.
        // Stop at the first error.
        let fits = MAX_PREALLOC_BYTES / core::mem::size_of::<T>().max(1);
        let mut items = Vec::with_capacity(len.min(reader.left()).min(fits));
        for _ in 0..len {
            if reader.error.is_some() {
                break;
            }
            items.push(T::take(reader));
        }
        items
    }
}

impl<T: Wire> Wire for Option<T> {
    fn put(&self, out: &mut Vec<u8>) {
        match self {
            None => out.push(0),
            Some(value) => {
                out.push(1);
                value.put(out);
            }
        }
    }
    fn take(reader: &mut Reader<'_>) -> Self {
        bool::take(reader).then(|| T::take(reader))
    }
}

impl<A: Wire, B: Wire> Wire for (A, B) {
    fn put(&self, out: &mut Vec<u8>) {
        self.0.put(out);
        self.1.put(out);
    }
    fn take(reader: &mut Reader<'_>) -> Self {
        (A::take(reader), B::take(reader))
    }
}

impl Wire for Duration {
    fn put(&self, out: &mut Vec<u8>) {
        self.as_secs().put(out);
        self.subsec_nanos().put(out);
    }
    fn take(reader: &mut Reader<'_>) -> Self {
        let start = reader.at;
        let secs = u64::take(reader);
        let nanos = u32::take(reader);
        // serde's rule: nanoseconds past a second carry into the seconds, which may not
        // overflow.
        if secs.checked_add(u64::from(nanos / 1_000_000_000)).is_none() {
            reader.fail(start, WireProblem::Overflow);
            return Duration::ZERO;
        }
        Duration::new(secs, nanos)
    }
}

/// `Wire` for a struct: its fields in order, each with its own `Wire`.
macro_rules! wire_struct {
    ($type:ident $(<$param:ident>)? { $($field:ident),+ $(,)? }) => {
        impl$(<$param: Wire>)? Wire for $type$(<$param>)? {
            fn put(&self, out: &mut Vec<u8>) {
                $(self.$field.put(out);)+
            }
            fn take(reader: &mut Reader<'_>) -> Self {
                $type { $($field: Wire::take(reader),)+ }
            }
        }
    };
}

/// `Wire` for a one-field tuple struct (serde's newtype struct: just the field).
macro_rules! wire_newtype {
    ($($type:ident),+) => {
        $(impl Wire for $type {
            fn put(&self, out: &mut Vec<u8>) {
                self.0.put(out);
            }
            fn take(reader: &mut Reader<'_>) -> Self {
                $type(u64::take(reader))
            }
        })+
    };
}

/// `Wire` for an enum of unit variants: the variant index (declaration order).
macro_rules! wire_unit_enum {
    ($type:ident { $first:ident $(, $rest:ident)* $(,)? }) => {
        impl Wire for $type {
            fn put(&self, out: &mut Vec<u8>) {
                put_varint(out, *self as u64);
            }
            fn take(reader: &mut Reader<'_>) -> Self {
                const VARIANTS: &[$type] = &[$type::$first $(, $type::$rest)*];
                let tag = reader.tag(VARIANTS.len() as u32);
                VARIANTS.get(tag as usize).copied().unwrap_or($type::$first)
            }
        }
    };
}

wire_newtype!(MessageId, OwnerId, DeadLetterId);
wire_struct!(SubscriptionId { index, generation });
wire_unit_enum!(Overflow {
    Reject,
    DropOldest,
    DropNewest
});
wire_unit_enum!(OrderingMode { Strict, Relaxed });
wire_unit_enum!(DeadLetterReason {
    HandlerError,
    Timeout,
    Expired,
    Rejected,
});
wire_struct!(Counters {
    published,
    delivered,
    failed,
    retried,
    dead_lettered,
    dropped,
    filtered,
    matched,
    redriven,
});
wire_struct!(Histogram {
    buckets,
    count,
    max
});
wire_struct!(Rng { state });
wire_struct!(IdleWatch {
    last_received,
    waiting_since,
    reported,
});
wire_struct!(BreakerPolicy {
    failures,
    cooldown,
    failure_ratio,
});
wire_struct!(Breaker {
    policy,
    state,
    consecutive_failures,
    window_bits,
    window_len,
    trial_in_flight,
});
wire_struct!(RetryPolicy {
    max_attempts,
    backoff,
    factor,
    max_backoff,
    jitter,
});
wire_struct!(QueuedSnapshot {
    message,
    enqueued_at,
    first_failure_at,
    attempt,
});
wire_struct!(TopicSnapshot {
    name,
    seq,
    counters,
    latency,
    retained,
});
wire_struct!(DeadLetterSnapshot {
    id,
    message,
    subscription,
    subscription_name,
    pattern,
    attempts,
    last_error,
    reason,
    first_failure_at,
    dead_lettered_at,
});
wire_struct!(BusCounters {
    totals,
    late_settles,
    cascades_refused,
    publishes_rejected,
    reclaimed,
    expired,
    leaks_suspected,
    dead_letters_evicted,
});
wire_struct!(SubscriptionSnapshot {
    id,
    pattern,
    name,
    group,
    created_at,
    order,
    priority,
    capacity,
    overflow,
    delivery,
    ordering,
    concurrency,
    has_filter,
    paused,
    flush_requested,
    retry,
    timeout,
    max_deliveries,
    accepted,
    successes,
    owner,
    weak,
    stack,
    breaker,
    queue,
    delayed,
    retry_at,
    idle,
    idle_flagged,
    counters,
    high_water,
    latency,
    handler_latency,
    breaker_opened,
});

impl Wire for Instant {
    fn put(&self, out: &mut Vec<u8>) {
        self.as_micros().put(out);
    }
    fn take(reader: &mut Reader<'_>) -> Self {
        Instant::from_micros(u64::take(reader))
    }
}

impl Wire for DeliveryStrategy {
    fn put(&self, out: &mut Vec<u8>) {
        match self {
            DeliveryStrategy::Immediate => out.push(0),
            DeliveryStrategy::Batched { size, max_wait } => {
                out.push(1);
                size.put(out);
                max_wait.put(out);
            }
        }
    }
    fn take(reader: &mut Reader<'_>) -> Self {
        match reader.tag(2) {
            0 => DeliveryStrategy::Immediate,
            _ => DeliveryStrategy::Batched {
                size: Wire::take(reader),
                max_wait: Wire::take(reader),
            },
        }
    }
}

impl Wire for Jitter {
    fn put(&self, out: &mut Vec<u8>) {
        match self {
            Jitter::None => out.push(0),
            Jitter::Full => out.push(1),
            Jitter::Proportional(ratio) => {
                out.push(2);
                ratio.put(out);
            }
        }
    }
    fn take(reader: &mut Reader<'_>) -> Self {
        match reader.tag(3) {
            0 => Jitter::None,
            1 => Jitter::Full,
            _ => Jitter::Proportional(Wire::take(reader)),
        }
    }
}

impl Wire for BreakerState {
    fn put(&self, out: &mut Vec<u8>) {
        match self {
            BreakerState::Closed => out.push(0),
            BreakerState::Open { until } => {
                out.push(1);
                until.put(out);
            }
            BreakerState::HalfOpen => out.push(2),
        }
    }
    fn take(reader: &mut Reader<'_>) -> Self {
        match reader.tag(3) {
            0 => BreakerState::Closed,
            1 => BreakerState::Open {
                until: Wire::take(reader),
            },
            _ => BreakerState::HalfOpen,
        }
    }
}

wire_struct!(OriginSnapshot {
    realm,
    id,
    seq,
    hops,
});

/// Written in field order; a version 1 message has no `origin` field (read as `None`).
impl<E: Wire> Wire for MessageSnapshot<E> {
    fn put(&self, out: &mut Vec<u8>) {
        self.id.put(out);
        self.topic.put(out);
        self.topic_seq.put(out);
        self.published_at.put(out);
        self.causation.put(out);
        self.correlation.put(out);
        self.depth.put(out);
        self.headers.put(out);
        self.expires_at.put(out);
        self.origin.put(out);
        self.payload.put(out);
    }
    fn take(reader: &mut Reader<'_>) -> Self {
        MessageSnapshot {
            id: Wire::take(reader),
            topic: Wire::take(reader),
            topic_seq: Wire::take(reader),
            published_at: Wire::take(reader),
            causation: Wire::take(reader),
            correlation: Wire::take(reader),
            depth: Wire::take(reader),
            headers: Wire::take(reader),
            expires_at: Wire::take(reader),
            origin: if reader.version >= 2 {
                Wire::take(reader)
            } else {
                None
            },
            payload: Wire::take(reader),
        }
    }
}

impl<E: Wire> Wire for Snapshot<E> {
    fn put(&self, out: &mut Vec<u8>) {
        self.version.put(out);
        self.clock.put(out);
        self.last_message.put(out);
        self.next_order.put(out);
        self.rng.put(out);
        self.groups.put(out);
        self.topics.put(out);
        self.messages.put(out);
        self.subscriptions.put(out);
        self.dead_letters.put(out);
        self.next_dead_letter.put(out);
        self.counters.put(out);
        self.released_owners.put(out);
    }
    fn take(reader: &mut Reader<'_>) -> Self {
        let start = reader.at;
        let version = u32::take(reader);
        if version > SNAPSHOT_VERSION {
            // A newer layout: nothing after the version can be read.
            reader.fail(start, WireProblem::Newer(version));
        }
        reader.version = version;
        Snapshot {
            version,
            clock: Wire::take(reader),
            last_message: Wire::take(reader),
            next_order: Wire::take(reader),
            rng: Wire::take(reader),
            groups: Wire::take(reader),
            topics: Wire::take(reader),
            messages: Wire::take(reader),
            subscriptions: Wire::take(reader),
            dead_letters: Wire::take(reader),
            next_dead_letter: Wire::take(reader),
            counters: Wire::take(reader),
            released_owners: Wire::take(reader),
        }
    }
}
