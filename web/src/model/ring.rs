//! A fixed-capacity FIFO that forgets its oldest entries: every history the visualiser keeps
//! is one of these, so memory stays flat however long the bus runs.

use std::collections::VecDeque;

/// A bounded ring buffer. Pushing onto a full ring evicts the oldest entry and counts it.
#[derive(Clone, Debug)]
pub struct Ring<T> {
    items: VecDeque<T>,
    capacity: usize,
    evicted: u64,
}

impl<T> Ring<T> {
    /// An empty ring holding at most `capacity` entries (at least 1).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Ring {
            items: VecDeque::with_capacity(capacity.min(4096)),
            capacity,
            evicted: 0,
        }
    }

    /// Appends `item`, evicting the oldest entry when full.
    pub fn push(&mut self, item: T) {
        if self.items.len() == self.capacity {
            self.items.pop_front();
            self.evicted = self.evicted.saturating_add(1);
        }
        self.items.push_back(item);
    }

    /// Removes and returns the oldest entry (not counted as evicted).
    pub fn pop_front(&mut self) -> Option<T> {
        self.items.pop_front()
    }

    /// Entries, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator {
        self.items.iter()
    }

    /// Mutable entries, oldest first.
    pub fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut T> {
        self.items.iter_mut()
    }

    /// The newest entry.
    pub fn last(&self) -> Option<&T> {
        self.items.back()
    }

    /// The entry at `index` (0 = oldest).
    pub fn get(&self, index: usize) -> Option<&T> {
        self.items.get(index)
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The most entries held at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Entries evicted since creation.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Forgets everything (the eviction count too).
    pub fn clear(&mut self) {
        self.items.clear();
        self.evicted = 0;
    }
}
