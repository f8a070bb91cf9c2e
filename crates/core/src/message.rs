//! Messages as stored by the bus: one [`Envelope`] per publish, shared by reference with every
//! subscription queue it was routed to (never cloned per subscriber).

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::time::Duration;

use crate::id::MessageId;
use crate::time::Instant;

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
