//! The bounded dead-letter store. When it is full the oldest entry is evicted and counted.
//!
//! A message lands here when its subscription's handler failed on every allowed attempt
//! (`handler_error`), its last attempt timed out (`timeout`), it stayed queued past its TTL
//! (`expired`) or the handler refused it for good (`rejected`). The store is a FIFO ordered
//! by [`DeadLetterId`]; ids come from [`DeadLetterStore::next_id`] and are never reused, so a
//! host holding an id of an entry that was evicted or redriven never reaches another entry.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use switchyard_core::dead_letter::{DeadLetter, DeadLetterReason, DeadLetterStore};
//! use switchyard_core::{Envelope, Instant, MessageId, SubscriptionId};
//!
//! let mut store = DeadLetterStore::new(2);
//! let message = Arc::new(Envelope {
//!     id: MessageId(1), topic: "orders.created".into(), topic_seq: 1,
//!     published_at: Instant::ZERO, causation: None, correlation: None, depth: 0,
//!     headers: Vec::new(), expires_at: None, origin: None, payload: "order #1",
//! });
//! let mut dead_letter = |store: &mut DeadLetterStore<&str>| DeadLetter {
//!     id: store.next_id(),
//!     message: Arc::clone(&message),
//!     subscription: SubscriptionId { index: 0, generation: 0 },
//!     subscription_name: None,
//!     pattern: "orders.*".into(),
//!     attempts: 3,
//!     last_error: Some("boom".into()),
//!     reason: DeadLetterReason::HandlerError,
//!     first_failure_at: Instant::ZERO,
//!     dead_lettered_at: Instant::from_millis(700),
//! };
//!
//! let first = dead_letter(&mut store);
//! let first_id = first.id;
//! assert!(store.push(first).is_none());
//! let second = dead_letter(&mut store);
//! assert!(store.push(second).is_none());
//! let third = dead_letter(&mut store);
//! let evicted = store.push(third).expect("full: the oldest goes");
//! assert_eq!(evicted.id, first_id);
//! assert_eq!(store.evicted(), 1);
//! assert!(store.get(first_id).is_none());
//! assert_eq!(store.purge(), 2);
//! ```
//!
//! # How the bus uses this
//!
//! The bus owns one store sized by `Config::dead_letter_capacity`. To dead-letter, it takes an
//! id with [`DeadLetterStore::next_id`], builds the [`DeadLetter`] (sharing the message's
//! `Arc`, never copying the payload) and [`push`](DeadLetterStore::push)es it; an entry
//! returned by `push` was evicted and must be traced, while the running count is
//! [`DeadLetterStore::evicted`] (reported as `BusMetrics::dead_letters_evicted`). Redrive is
//! [`remove`](DeadLetterStore::remove) followed by re-enqueueing with attempts reset; when the
//! redrive cannot happen (subscription gone, queue full) the bus puts the entry back with
//! [`DeadLetterStore::reinsert`] so it keeps its id and place.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
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
        DeadLetterStore {
            capacity,
            entries: VecDeque::new(),
            next_id: 1,
            evicted: 0,
        }
    }
    /// Allocates the next id (ids are never reused; the first is 1).
    pub fn next_id(&mut self) -> DeadLetterId {
        let id = DeadLetterId(self.next_id);
        self.next_id = self.next_id.saturating_add(1);
        id
    }
    /// The id [`DeadLetterStore::next_id`] will hand out next, without taking it.
    pub fn peek_next_id(&self) -> DeadLetterId {
        DeadLetterId(self.next_id)
    }
    /// Adds an entry; returns the evicted oldest entry when the store was full.
    ///
    /// With capacity 0 the entry itself is returned (evicted at once) and counted.
    /// Entries stay ordered by id: one pushed with an id lower than the newest held (which
    /// [`DeadLetterStore::next_id`] never produces) is inserted in its place.
    pub fn push(&mut self, entry: DeadLetter<P>) -> Option<DeadLetter<P>> {
        if self.capacity == 0 {
            self.evicted = self.evicted.saturating_add(1);
            return Some(entry);
        }
        self.insert_in_order(entry);
        if self.entries.len() > self.capacity {
            self.evicted = self.evicted.saturating_add(1);
            self.entries.pop_front()
        } else {
            None
        }
    }
    /// Puts back an entry taken out with [`DeadLetterStore::remove`] (a redrive that could
    /// not happen), in its place by id. Not counted as a new dead letter; if the store filled
    /// up in between, the oldest entry is evicted and counted as by [`DeadLetterStore::push`].
    pub fn reinsert(&mut self, entry: DeadLetter<P>) -> Option<DeadLetter<P>> {
        self.push(entry)
    }
    /// Entries, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &DeadLetter<P>> {
        self.entries.iter()
    }
    /// The entry with this id.
    pub fn get(&self, id: DeadLetterId) -> Option<&DeadLetter<P>> {
        let index = self.position(id)?;
        self.entries.get(index)
    }
    /// Removes and returns the entry with this id.
    pub fn remove(&mut self, id: DeadLetterId) -> Option<DeadLetter<P>> {
        let index = self.position(id)?;
        self.entries.remove(index)
    }
    /// Removes every entry for which `drop` returns true; returns them, oldest first.
    pub fn drain_where(
        &mut self,
        mut drop: impl FnMut(&DeadLetter<P>) -> bool,
    ) -> Vec<DeadLetter<P>> {
        let mut kept = VecDeque::with_capacity(self.entries.len());
        let mut drained = Vec::new();
        for entry in self.entries.drain(..) {
            if drop(&entry) {
                drained.push(entry);
            } else {
                kept.push_back(entry);
            }
        }
        self.entries = kept;
        drained
    }
    /// Removes everything; returns how many were removed.
    pub fn purge(&mut self) -> usize {
        let removed = self.entries.len();
        self.entries.clear();
        removed
    }
    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    /// Most entries held at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
    /// Entries evicted because the store was full, since creation.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Rebuilds a store from a snapshot's parts: `entries` oldest first with strictly
    /// increasing ids all below `next_id`. Entries beyond `capacity` are evicted (oldest
    /// first) and counted, never dropped silently; the evicted entries are returned.
    #[cfg(feature = "snapshot")]
    pub(crate) fn from_parts(
        capacity: usize,
        entries: Vec<DeadLetter<P>>,
        next_id: u64,
        evicted: u64,
    ) -> Result<(Self, Vec<DeadLetter<P>>), &'static str> {
        let mut previous: Option<DeadLetterId> = None;
        for entry in &entries {
            if previous.is_some_and(|p| entry.id <= p) {
                return Err("dead letter ids are not unique and increasing");
            }
            if entry.id.0 >= next_id || entry.id.0 == 0 {
                return Err("a dead letter id is outside the range the store has handed out");
            }
            previous = Some(entry.id);
        }
        let mut store = DeadLetterStore {
            capacity,
            entries: VecDeque::from(entries),
            next_id,
            evicted,
        };
        let excess = store.entries.len().saturating_sub(capacity);
        let overflow: Vec<_> = store.entries.drain(..excess).collect();
        store.evicted = store.evicted.saturating_add(overflow.len() as u64);
        Ok((store, overflow))
    }

    fn position(&self, id: DeadLetterId) -> Option<usize> {
        self.entries
            .binary_search_by_key(&id, |entry| entry.id)
            .ok()
    }

    fn insert_in_order(&mut self, entry: DeadLetter<P>) {
        match self.entries.back() {
            Some(last) if entry.id < last.id => {
                let index = self.entries.partition_point(|held| held.id < entry.id);
                self.entries.insert(index, entry);
            }
            _ => self.entries.push_back(entry),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(feature = "snapshot")]
    use alloc::vec;

    fn message(id: u64) -> Arc<Envelope<u32>> {
        Arc::new(Envelope {
            id: crate::id::MessageId(id),
            topic: "a.b".into(),
            topic_seq: id,
            published_at: Instant::from_millis(id),
            causation: None,
            correlation: None,
            depth: 0,
            headers: Vec::new(),
            expires_at: None,
            origin: None,
            payload: id as u32,
        })
    }

    fn letter(store: &mut DeadLetterStore<u32>, message_id: u64) -> DeadLetter<u32> {
        DeadLetter {
            id: store.next_id(),
            message: message(message_id),
            subscription: SubscriptionId {
                index: 1,
                generation: 0,
            },
            subscription_name: Some("audit".into()),
            pattern: "a.*".into(),
            attempts: 2,
            last_error: Some("boom".into()),
            reason: DeadLetterReason::HandlerError,
            first_failure_at: Instant::from_millis(10),
            dead_lettered_at: Instant::from_millis(20),
        }
    }

    fn ids(store: &DeadLetterStore<u32>) -> Vec<u64> {
        store.iter().map(|e| e.id.0).collect()
    }

    #[test]
    fn reasons_have_snake_case_names() {
        assert_eq!(DeadLetterReason::HandlerError.as_str(), "handler_error");
        assert_eq!(DeadLetterReason::Timeout.as_str(), "timeout");
        assert_eq!(DeadLetterReason::Expired.as_str(), "expired");
        assert_eq!(DeadLetterReason::Rejected.as_str(), "rejected");
    }

    #[test]
    fn ids_start_at_one_and_are_never_reused() {
        let mut store = DeadLetterStore::<u32>::new(1);
        assert_eq!(store.peek_next_id(), DeadLetterId(1));
        let a = letter(&mut store, 1);
        assert_eq!(a.id, DeadLetterId(1));
        store.push(a);
        let removed = store.remove(DeadLetterId(1)).unwrap();
        assert_eq!(removed.id, DeadLetterId(1));
        store.purge();
        assert_eq!(store.next_id(), DeadLetterId(2));
    }

    #[test]
    fn push_keeps_entries_oldest_first() {
        let mut store = DeadLetterStore::new(10);
        for m in 1..=3 {
            let entry = letter(&mut store, m);
            assert!(store.push(entry).is_none());
        }
        assert_eq!(ids(&store), [1, 2, 3]);
        assert_eq!(store.len(), 3);
        assert!(!store.is_empty());
    }

    #[test]
    fn a_full_store_evicts_the_oldest_and_counts_it() {
        let mut store = DeadLetterStore::new(2);
        for m in 1..=2 {
            let entry = letter(&mut store, m);
            store.push(entry);
        }
        let third = letter(&mut store, 3);
        let evicted = store.push(third).expect("oldest evicted");
        assert_eq!(evicted.id, DeadLetterId(1));
        assert_eq!(evicted.message.payload, 1);
        assert_eq!(ids(&store), [2, 3]);
        assert_eq!(store.evicted(), 1);
    }

    #[test]
    fn capacity_zero_evicts_every_entry_at_once_and_counts_it() {
        let mut store = DeadLetterStore::new(0);
        let entry = letter(&mut store, 1);
        let back = store.push(entry).expect("evicted at once");
        assert_eq!(back.id, DeadLetterId(1));
        assert!(store.is_empty());
        assert_eq!(store.evicted(), 1);
    }

    #[test]
    fn get_and_remove_find_entries_by_id() {
        let mut store = DeadLetterStore::new(10);
        for m in 1..=4 {
            let entry = letter(&mut store, m * 10);
            store.push(entry);
        }
        assert_eq!(
            store.get(DeadLetterId(3)).map(|e| e.message.payload),
            Some(30)
        );
        assert!(store.get(DeadLetterId(99)).is_none());
        let removed = store.remove(DeadLetterId(2)).expect("present");
        assert_eq!(removed.message.payload, 20);
        assert!(store.remove(DeadLetterId(2)).is_none(), "removed only once");
        assert_eq!(ids(&store), [1, 3, 4]);
    }

    #[test]
    fn reinsert_puts_a_failed_redrive_back_in_its_place() {
        let mut store = DeadLetterStore::new(10);
        for m in 1..=3 {
            let entry = letter(&mut store, m);
            store.push(entry);
        }
        let taken = store.remove(DeadLetterId(2)).unwrap();
        assert!(store.reinsert(taken).is_none());
        assert_eq!(ids(&store), [1, 2, 3]);
        assert_eq!(store.evicted(), 0);
    }

    #[test]
    fn drain_where_removes_only_matching_entries_in_order() {
        let mut store = DeadLetterStore::new(10);
        for m in 1..=5 {
            let entry = letter(&mut store, m);
            store.push(entry);
        }
        let drained = store.drain_where(|e| e.message.payload % 2 == 1);
        assert_eq!(
            drained.iter().map(|e| e.id.0).collect::<Vec<_>>(),
            [1, 3, 5]
        );
        assert_eq!(ids(&store), [2, 4]);
    }

    #[test]
    fn purge_removes_everything_and_reports_how_many() {
        let mut store = DeadLetterStore::new(10);
        for m in 1..=3 {
            let entry = letter(&mut store, m);
            store.push(entry);
        }
        assert_eq!(store.purge(), 3);
        assert!(store.is_empty());
        assert_eq!(store.purge(), 0);
        assert_eq!(store.evicted(), 0, "a purge is not an eviction");
    }

    #[test]
    fn eviction_and_shared_messages_do_not_copy_payloads() {
        let mut store = DeadLetterStore::new(1);
        let shared = message(7);
        let mut entry = letter(&mut store, 7);
        entry.message = Arc::clone(&shared);
        store.push(entry);
        assert_eq!(Arc::strong_count(&shared), 2);
        let next = letter(&mut store, 8);
        drop(store.push(next));
        assert_eq!(Arc::strong_count(&shared), 1);
    }

    #[cfg(feature = "snapshot")]
    #[test]
    fn from_parts_refuses_duplicate_or_unissued_ids() {
        let mut source = DeadLetterStore::new(10);
        let a = letter(&mut source, 1);
        let mut b = letter(&mut source, 2);
        b.id = a.id;
        assert!(DeadLetterStore::from_parts(10, vec![a, b], 5, 0).is_err());

        let mut source = DeadLetterStore::new(10);
        let c = letter(&mut source, 1);
        assert!(
            DeadLetterStore::from_parts(10, vec![c], 1, 0).is_err(),
            "id 1 not below next_id 1"
        );
    }

    #[cfg(feature = "snapshot")]
    #[test]
    fn from_parts_evicts_and_counts_what_no_longer_fits() {
        let mut source = DeadLetterStore::new(10);
        let entries: Vec<_> = (1..=3).map(|m| letter(&mut source, m)).collect();
        let (mut store, overflow) = DeadLetterStore::from_parts(2, entries, 4, 5).unwrap();
        assert_eq!(overflow.iter().map(|e| e.id.0).collect::<Vec<_>>(), [1]);
        assert_eq!(ids(&store), [2, 3]);
        assert_eq!(store.evicted(), 6);
        assert_eq!(store.next_id(), DeadLetterId(4));
    }
}
