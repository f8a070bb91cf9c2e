//! The bounded dead-letter store. When it is full the oldest entry is evicted and counted.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::sync::Arc;
use serde::{Deserialize, Serialize};

use crate::id::{DeadLetterId, SubscriptionId};
use crate::message::Envelope;
use crate::time::Instant;

/// Why a message was dead-lettered.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeadLetterReason {
    /// The handler failed on every allowed attempt.
    HandlerError,
    /// The last attempt was not settled within the timeout.
    Timeout,
    /// The message was still queued past its TTL.
    Expired,
    /// The handler rejected it for good ([`crate::Outcome::Rejected`]).
    Rejected,
}

impl DeadLetterReason {
    /// The snake_case name used in JS and the trace (`handler_error`, `timeout`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            DeadLetterReason::HandlerError => "handler_error",
            DeadLetterReason::Timeout => "timeout",
            DeadLetterReason::Expired => "expired",
            DeadLetterReason::Rejected => "rejected",
        }
    }
}

/// One dead-lettered (message, subscription) pair.
#[derive(Debug)]
pub struct DeadLetter<P> {
    /// Its id.
    pub id: DeadLetterId,
    /// The message.
    pub message: Arc<Envelope<P>>,
    /// The subscription it failed for.
    pub subscription: SubscriptionId,
    /// That subscription's name when it was dead-lettered.
    pub subscription_name: Option<String>,
    /// That subscription's pattern.
    pub pattern: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last error text, if any.
    pub last_error: Option<String>,
    /// Why.
    pub reason: DeadLetterReason,
    /// When the first attempt failed (or when it expired).
    pub first_failure_at: Instant,
    /// When it was dead-lettered.
    pub dead_lettered_at: Instant,
}

/// A bounded FIFO of dead letters.
#[derive(Debug)]
pub struct DeadLetterStore<P> {
    capacity: usize,
    entries: VecDeque<DeadLetter<P>>,
    next_id: u64,
    evicted: u64,
}

impl<P> DeadLetterStore<P> {
    /// An empty store holding at most `capacity` entries (0 = every dead letter is evicted
    /// at once, still counted).
    pub fn new(capacity: usize) -> Self {
        todo!("H2: {capacity}")
    }
    /// Allocates the next id (ids are never reused).
    pub fn next_id(&mut self) -> DeadLetterId {
        todo!("H2")
    }
    /// Adds an entry; returns the evicted oldest entry when the store was full.
    pub fn push(&mut self, entry: DeadLetter<P>) -> Option<DeadLetter<P>> {
        todo!("H2: {:?}", entry.id)
    }
    /// Entries, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &DeadLetter<P>> {
        self.entries.iter()
    }
    /// The entry with this id.
    pub fn get(&self, id: DeadLetterId) -> Option<&DeadLetter<P>> {
        todo!("H2: {id:?}")
    }
    /// Removes and returns the entry with this id.
    pub fn remove(&mut self, id: DeadLetterId) -> Option<DeadLetter<P>> {
        todo!("H2: {id:?}")
    }
    /// Removes everything; returns how many were removed.
    pub fn purge(&mut self) -> usize {
        todo!("H2")
    }
    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    /// Entries evicted because the store was full, since creation.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }
}
