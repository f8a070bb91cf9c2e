//! The bus's timer queue: a min-heap with lazy deletion. Every timer is re-checked against
//! the current state when it fires, so a stale timer does nothing.

use alloc::collections::BinaryHeap;
use core::cmp::Reverse;

use super::slab::Key;
use crate::time::Instant;

/// What a timer does when it fires.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    /// Re-evaluate a subscription: a retry became due, a batch window closed, or a breaker
    /// cooldown ended.
    Wake(Key),
    /// A pending delivery (by token bits) reaches its timeout.
    Deadline(u64),
    /// A queued message (by id) reaches its TTL in a subscription's queue.
    Expiry(Key, u64),
    /// A subscription may have become idle (leak detection).
    Idle(Key),
    /// A trend window ends (leak detection).
    Trend,
}

/// Timers ordered by due instant.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, Timer)>>,
}

impl Timers {
    pub(crate) fn arm(&mut self, at: Instant, timer: Timer) {
        self.heap.push(Reverse((at, timer)));
    }

    /// The earliest due instant.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _))| *at)
    }

    /// Removes and returns the earliest timer if it is due at `now`.
    #[inline]
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<Timer> {
        match self.heap.peek() {
            Some(Reverse((at, _))) if *at <= now => self.heap.pop().map(|Reverse((_, t))| t),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_fire_in_due_order_and_only_when_due() {
        let key = Key {
            index: 0,
            generation: 0,
        };
        let mut timers = Timers::default();
        timers.arm(Instant::from_millis(20), Timer::Wake(key));
        timers.arm(Instant::from_millis(10), Timer::Deadline(1));
        assert_eq!(timers.next(), Some(Instant::from_millis(10)));
        assert_eq!(timers.pop_due(Instant::from_millis(9)), None);
        assert_eq!(
            timers.pop_due(Instant::from_millis(20)),
            Some(Timer::Deadline(1))
        );
        assert_eq!(
            timers.pop_due(Instant::from_millis(20)),
            Some(Timer::Wake(key))
        );
        assert_eq!(timers.next(), None);
    }
}
