//! Messages as stored by the bus: one [`Envelope`] per publish, shared by reference with every
//! subscription queue it was routed to (never cloned per subscriber).

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::time::Duration;

use crate::error::ConfigError;
use crate::id::MessageId;
use crate::time::Instant;

/// Longest [`Origin::realm`], in bytes.
pub const MAX_ORIGIN_REALM_BYTES: usize = 128;

/// Where a message published by a bridge came from: the realm (another tab, a worker, a broker
/// connection) that published it first, with the id and per-topic sequence number it had there,
/// and how many links it has crossed. A message published locally has no origin.
///
/// A bridge publishes a message it received with the origin it arrived with and `hops` one
/// higher, and forwards nothing whose `hops` reached its hop limit, so links that form a cycle
/// cannot pass a message around forever.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Origin {
    /// The publishing realm's id (non-empty, at most [`MAX_ORIGIN_REALM_BYTES`] bytes).
    pub realm: Box<str>,
    /// The message's id on the publishing realm's bus.
    pub id: u64,
    /// The message's per-topic sequence number there.
    pub seq: u64,
    /// Links crossed so far (1 after the first, at most 255).
    pub hops: u8,
}

impl Origin {
    /// Checks the realm (non-empty, at most [`MAX_ORIGIN_REALM_BYTES`] bytes) and the hop count
    /// (at least 1), naming the offending field (`origin.realm`, `origin.hops`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.realm.is_empty() {
            return Err(ConfigError::new("origin.realm", "must not be empty"));
        }
        if self.realm.len() > MAX_ORIGIN_REALM_BYTES {
            return Err(ConfigError::new(
                "origin.realm",
                "must be at most 128 bytes long",
            ));
        }
        if self.hops == 0 {
            return Err(ConfigError::new("origin.hops", "must be between 1 and 255"));
        }
        Ok(())
    }
}

/// A published message and its metadata. Immutable once published.
#[derive(Debug)]
pub struct Envelope<P> {
    /// Global sequence number on this bus (starts at 1).
    pub id: MessageId,
    /// The concrete topic it was published on.
    pub topic: Arc<str>,
    /// Sequence number within its topic (starts at 1).
    pub topic_seq: u64,
    /// When it was published.
    pub published_at: Instant,
    /// The message whose handler published this one, if any.
    pub causation: Option<MessageId>,
    /// Correlation id: given at publish, else inherited from the causing message.
    pub correlation: Option<Arc<str>>,
    /// Causation hops from the root publish (0 for a publish made outside any handler).
    pub depth: u32,
    /// Optional headers, in the order given.
    pub headers: Vec<(Box<str>, Box<str>)>,
    /// A message still queued at or after this instant is dead-lettered as `expired`.
    pub expires_at: Option<Instant>,
    /// Where a bridged message came from; `None` for a local publish. Behind an `Arc` so a local
    /// message pays one pointer for it and a trace event shares it.
    pub origin: Option<Arc<Origin>>,
    /// The payload.
    pub payload: P,
}

/// Per-publish options.
#[derive(Clone, Debug, Default)]
pub struct PublishOptions {
    /// Headers carried with the message.
    pub headers: Vec<(Box<str>, Box<str>)>,
    /// Correlation id; when `None`, inherited from the causing message.
    pub correlation: Option<Arc<str>>,
    /// The message whose handler is publishing (the host knows which handler is running).
    /// Publishing more than `Config::max_cascade_depth` hops deep fails with
    /// [`crate::PublishError::Cascade`].
    pub causation: Option<MessageId>,
    /// Time to live while queued.
    pub ttl: Option<Duration>,
    /// Where the message came from, for a bridge republishing a remote message (checked by
    /// [`Origin::validate`]: a bad one fails the publish with [`crate::PublishError::InvalidOption`]).
    pub origin: Option<Arc<Origin>>,
}

/// What a successful publish reports.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Published {
    /// The new message's id (its global sequence number).
    pub id: MessageId,
    /// Its per-topic sequence number.
    pub topic_seq: u64,
    /// How many subscriptions it was enqueued for (after consumer-group selection and
    /// `drop-newest` drops are *not* subtracted: a dropped message still matched).
    pub matched: usize,
}
