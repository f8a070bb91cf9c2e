//! The ready index: subscriptions that may be handed a delivery now, smallest
//! [`ReadyKey`] first. A binary heap with lazy deletion: a subscription records the key it
//! is filed under (`Subscriber::ready_key`), and a heap entry that no longer matches its
//! subscription's record is stale and skipped. Pushing and popping are O(log n) and reuse
//! the heap's buffer, so steady-state dispatch allocates nothing here.

use alloc::collections::BinaryHeap;
use core::cmp::Reverse;

use super::slab::Slab;
use super::subscriber::{ReadyKey, Subscriber};

#[derive(Debug, Default)]
pub(crate) struct ReadyIndex {
    heap: BinaryHeap<Reverse<ReadyKey>>,
    /// Subscriptions currently filed (entries that are not stale).
    live: usize,
}

/// Whether `key` is what its subscription is filed under.
fn is_live<P>(subs: &Slab<Subscriber<P>>, key: &ReadyKey) -> bool {
    subs.get_index(key.index)
        .is_some_and(|s| s.ready_key == Some(*key))
}

impl ReadyIndex {
    /// Files a subscription under `desired` instead of `*current`.
    #[inline]
    pub(crate) fn refile(&mut self, current: &mut Option<ReadyKey>, desired: Option<ReadyKey>) {
        if *current == desired {
            return;
        }
        if current.is_some() {
            self.live = self.live.saturating_sub(1);
        }
        if let Some(key) = desired {
            self.heap.push(Reverse(key));
            self.live += 1;
        }
        *current = desired;
    }

    /// A subscription filed under `current` is going away.
    pub(crate) fn forget(&mut self, current: Option<ReadyKey>) {
        if current.is_some() {
            self.live = self.live.saturating_sub(1);
        }
    }

    /// The smallest live key, discarding stale entries on the way.
    pub(crate) fn first<P>(&mut self, subs: &Slab<Subscriber<P>>) -> Option<ReadyKey> {
        while let Some(Reverse(top)) = self.heap.peek() {
            if is_live(subs, top) {
                return Some(*top);
            }
            self.heap.pop();
        }
        None
    }

    /// Removes the top entry (the caller has just read it with [`ReadyIndex::first`]) and
    /// unfiles its subscription.
    pub(crate) fn pop_first(&mut self, current: &mut Option<ReadyKey>) {
        if self.heap.pop().is_some() && current.take().is_some() {
            self.live = self.live.saturating_sub(1);
        }
    }

    /// Drops stale entries once they outnumber live ones, so the heap stays proportional to
    /// the number of subscriptions however often they change state without being polled.
    pub(crate) fn compact<P>(&mut self, subs: &Slab<Subscriber<P>>) {
        if self.heap.len() > 2 * self.live + 64 {
            self.heap.retain(|Reverse(key)| is_live(subs, key));
        }
    }

    /// True when no subscription is ready.
    pub(crate) fn is_empty(&self) -> bool {
        self.live == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(head: u64, priority: i32, order: u64) -> ReadyKey {
        ReadyKey {
            head,
            priority: Reverse(priority),
            order,
            index: order as u32,
        }
    }

    #[test]
    fn keys_order_by_head_then_higher_priority_then_creation() {
        let mut keys = [key(2, 9, 0), key(1, 0, 3), key(1, 5, 2), key(1, 5, 1)];
        keys.sort();
        assert_eq!(
            keys,
            [key(1, 5, 1), key(1, 5, 2), key(1, 0, 3), key(2, 9, 0)]
        );
    }

    #[test]
    fn refiling_counts_live_entries_once() {
        let mut index = ReadyIndex::default();
        let mut filed = None;
        index.refile(&mut filed, Some(key(1, 0, 0)));
        index.refile(&mut filed, Some(key(1, 0, 0)));
        assert_eq!(index.live, 1);
        index.refile(&mut filed, Some(key(2, 0, 0)));
        assert_eq!((index.live, index.heap.len()), (1, 2));
        index.refile(&mut filed, None);
        assert!(index.is_empty());
    }
}
