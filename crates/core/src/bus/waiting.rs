//! Which subscriptions hold a retry that is not yet due, kept current so that
//! [`Bus::is_idle`](super::Bus::is_idle) is O(1) instead of a scan of every subscription (the
//! JavaScript host asks after every batch).
//!
//! A subscription *waits* while it has a delayed retry or a strict-order retry hold
//! (`delayed` non-empty or `retry_at` set). Both change only where the bus then calls
//! `refresh` on the subscription (a failure scheduling a retry, a retry falling due, an
//! eviction, an expiry, a drop of the oldest), which records the new answer here; removing a
//! subscription forgets it.

use alloc::vec::Vec;

/// One flag per subscription slab index, and how many are set.
#[derive(Debug, Default)]
pub(crate) struct WaitingSet {
    flags: Vec<bool>,
    count: usize,
}

impl WaitingSet {
    /// Records whether the subscription at slab `index` waits for a retry.
    pub(crate) fn set(&mut self, index: u32, waiting: bool) {
        let index = index as usize;
        if self.flags.len() <= index {
            if !waiting {
                return;
            }
            self.flags.resize(index + 1, false);
        }
        let Some(flag) = self.flags.get_mut(index) else {
            return;
        };
        if *flag != waiting {
            *flag = waiting;
            if waiting {
                self.count = self.count.saturating_add(1);
            } else {
                self.count = self.count.saturating_sub(1);
            }
        }
    }

    /// How many subscriptions wait for a retry.
    pub(crate) fn count(&self) -> usize {
        self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setting_a_flag_twice_counts_it_once_and_clearing_uncounts_it() {
        let mut set = WaitingSet::default();
        set.set(3, true);
        set.set(3, true);
        set.set(0, true);
        assert_eq!(set.count(), 2);
        set.set(3, false);
        set.set(3, false);
        assert_eq!(set.count(), 1);
        set.set(0, false);
        assert_eq!(set.count(), 0);
    }

    #[test]
    fn clearing_an_index_never_set_allocates_nothing() {
        let mut set = WaitingSet::default();
        set.set(1000, false);
        assert!(set.flags.is_empty());
        assert_eq!(set.count(), 0);
    }
}
