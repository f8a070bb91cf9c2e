//! The bus's timer queue: a min-heap with lazy deletion. Every timer is re-checked against
//! the current state when it fires, so a stale timer does nothing.
//!
//! A timer goes stale when its cause goes away first (a pending delivery settles before its
//! timeout, a subscription is removed). Stale timers are never reported as the next deadline
//! ([`Bus::next_live_timeout`]), are discarded from the front of the queue as the bus runs,
//! and are swept out whenever the queue has doubled since the last sweep, so delivery
//! timeouts of deliveries that settled early do not pile up. Staleness is judged
//! conservatively (only a vanished subscription or delivery makes a timer stale): a TTL
//! (`Expiry`) timer stays until it fires even if its message was delivered long before, so
//! long TTLs at a high publish rate still grow the queue until they fall due.

use alloc::collections::BinaryHeap;
use core::cmp::Reverse;

use super::inflight::{key_of, InFlight};
use super::slab::{Key, Slab};
use super::subscriber::Subscriber;
use super::Bus;
use crate::id::DeliveryToken;
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
    /// The queue's length after the last sweep; the next sweep runs once it has doubled.
    swept_len: usize,
}

/// Below this many queued timers there is no sweep (a sweep visits every timer).
const SWEEP_FLOOR: usize = 64;

impl Timers {
    pub(crate) fn arm(&mut self, at: Instant, timer: Timer) {
        self.heap.push(Reverse((at, timer)));
    }

    /// The earliest due instant.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _))| *at)
    }

    /// How many timers are queued, stale ones included.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// The earliest due instant of a timer that `is_live` accepts. O(1) when the earliest
    /// timer is live (the usual case after [`Timers::discard_stale`]); otherwise a scan.
    pub(crate) fn next_live(&self, is_live: impl Fn(&Timer) -> bool) -> Option<Instant> {
        let Reverse((at, timer)) = self.heap.peek()?;
        if is_live(timer) {
            return Some(*at);
        }
        self.heap
            .iter()
            .filter(|Reverse((_, timer))| is_live(timer))
            .map(|Reverse((at, _))| *at)
            .min()
    }

    /// Drops the stale timers at the front of the queue, and every stale timer when the
    /// queue has doubled since the last sweep (amortised O(log n) per armed timer).
    pub(crate) fn discard_stale(&mut self, is_live: impl Fn(&Timer) -> bool) {
        while let Some(Reverse((_, timer))) = self.heap.peek() {
            if is_live(timer) {
                break;
            }
            self.heap.pop();
        }
        if self.heap.len() >= SWEEP_FLOOR.max(self.swept_len.saturating_mul(2)) {
            self.heap.retain(|Reverse((_, timer))| is_live(timer));
            self.swept_len = self.heap.len();
        }
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

/// Whether `timer` can still do something when it fires. Conservative: only timers whose
/// subscription or delivery is gone are stale; anything else is re-checked when it fires.
fn is_live<P>(subs: &Slab<Subscriber<P>>, in_flight: &Slab<InFlight<P>>, timer: &Timer) -> bool {
    match *timer {
        Timer::Wake(key) | Timer::Idle(key) | Timer::Expiry(key, _) => subs.get(key).is_some(),
        Timer::Deadline(bits) => in_flight.get(key_of(DeliveryToken(bits))).is_some(),
        Timer::Trend => true,
    }
}

impl<P> Bus<P> {
    /// The earliest instant at which a live timer is due (what `poll_timeout` reports).
    pub(crate) fn next_live_timeout(&self) -> Option<Instant> {
        self.timers
            .next_live(|timer| is_live(&self.subs, &self.in_flight, timer))
    }

    /// Discards stale timers (see [`Timers::discard_stale`]).
    pub(crate) fn discard_stale_timers(&mut self) {
        let (subs, in_flight) = (&self.subs, &self.in_flight);
        self.timers
            .discard_stale(|timer| is_live(subs, in_flight, timer));
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

    fn wake(index: u32) -> Timer {
        Timer::Wake(Key {
            index,
            generation: 0,
        })
    }

    #[test]
    fn next_live_skips_stale_timers_without_removing_them() {
        let mut timers = Timers::default();
        timers.arm(Instant::from_millis(10), wake(1));
        timers.arm(Instant::from_millis(30), wake(2));
        timers.arm(Instant::from_millis(20), wake(3));
        let live = |timer: &Timer| *timer != wake(1);
        assert_eq!(timers.next_live(live), Some(Instant::from_millis(20)));
        assert_eq!(timers.next_live(|_| false), None);
        assert_eq!(timers.len(), 3);
    }

    #[test]
    fn discard_stale_pops_stale_heads_and_keeps_the_first_live_timer() {
        let mut timers = Timers::default();
        timers.arm(Instant::from_millis(10), wake(1));
        timers.arm(Instant::from_millis(20), wake(2));
        timers.arm(Instant::from_millis(30), wake(3));
        timers.discard_stale(|timer| *timer != wake(1) && *timer != wake(3));
        assert_eq!(timers.next(), Some(Instant::from_millis(20)));
        assert_eq!(timers.len(), 2, "wake(3) is not at the front: no sweep yet");
    }

    #[test]
    fn a_queue_that_doubled_is_swept_of_every_stale_timer() {
        let mut timers = Timers::default();
        timers.arm(Instant::from_millis(1), wake(0));
        for n in 1..SWEEP_FLOOR as u32 {
            timers.arm(Instant::from_millis(1_000 + u64::from(n)), wake(n));
        }
        timers.discard_stale(|timer| matches!(timer, Timer::Wake(key) if key.index % 2 == 0));
        assert_eq!(timers.len(), SWEEP_FLOOR / 2);
        assert_eq!(timers.next(), Some(Instant::from_millis(1)));
    }
}
