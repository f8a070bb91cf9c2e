//! The bus's timer queue: a min-heap with lazy deletion. Every timer is re-checked against
//! the current state when it fires, so a stale timer does nothing.
//!
//! A timer goes stale when its cause goes away first (a pending delivery settles before its
//! timeout, a subscription is removed). Stale timers are never reported as the next deadline
//! ([`Bus::next_live_timeout`]), are discarded from the front of the queue as the bus runs,
//! and are swept out whenever the queue has doubled since the last sweep, so delivery
//! timeouts of deliveries that settled early do not pile up. Between sweeps staleness is
//! judged in O(1) and conservatively (a vanished subscription or delivery, or a TTL timer
//! whose subscription has nothing queued, delayed or in flight); a sweep also drops every TTL
//! (`Expiry`) timer whose message is no longer queued, delayed or in flight in its
//! subscription (delivered, dropped, expired), so long TTLs at a high publish rate keep the
//! queue within twice the messages actually waiting. A message in flight keeps its TTL timer:
//! if its delivery fails, it waits again (for a retry) and its TTL still applies.

use alloc::collections::BinaryHeap;
use alloc::vec::Vec;
use core::cmp::Reverse;

use super::inflight::{key_of, InFlight};
use super::slab::{Key, Slab};
use super::subscriber::{Queued, Subscriber};
use super::Bus;
use crate::id::DeliveryToken;
use crate::time::Instant;

/// What a timer does when it fires.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    /// Re-evaluate a subscription: a retry became due, a batch window closed, or a breaker
    /// cooldown ended.
    Wake(Key),
    /// A pending delivery reaches its timeout: `(arming order, token bits)`. Deadlines due
    /// at the same instant fire in the order they were armed (by [`Timers::arm_deadline`]),
    /// not by token bits, which depend on the in-flight table's history: two deliveries
    /// timing out together then time out in the order they went pending, on the slow path
    /// and with inline dispatch alike.
    Deadline(u64, u64),
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
    /// How many delivery deadlines were armed so far (their tie-break).
    deadlines: u64,
}

/// Below this many queued timers there is no sweep (a sweep visits every timer).
const SWEEP_FLOOR: usize = 64;

impl Timers {
    pub(crate) fn arm(&mut self, at: Instant, timer: Timer) {
        self.heap.push(Reverse((at, timer)));
    }

    /// Arms the timeout of the pending delivery `token` (see [`Timer::Deadline`]).
    pub(crate) fn arm_deadline(&mut self, at: Instant, token: DeliveryToken) {
        let order = self.deadlines;
        self.deadlines = order.wrapping_add(1);
        self.arm(at, Timer::Deadline(order, token.0));
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

    /// Drops the stale timers at the front of the queue.
    pub(crate) fn discard_stale_front(&mut self, is_live: impl Fn(&Timer) -> bool) {
        while let Some(Reverse((_, timer))) = self.heap.peek() {
            if is_live(timer) {
                break;
            }
            self.heap.pop();
        }
    }

    /// Whether the queue has doubled since the last sweep (so a sweep, which visits every
    /// timer, costs amortised O(1) per armed timer).
    pub(crate) fn sweep_due(&self) -> bool {
        self.heap.len() >= SWEEP_FLOOR.max(self.swept_len.saturating_mul(2))
    }

    /// Keeps only the timers `keep` accepts.
    pub(crate) fn sweep(&mut self, mut keep: impl FnMut(&Timer) -> bool) {
        self.heap.retain(|Reverse((_, timer))| keep(timer));
        self.swept_len = self.heap.len();
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

/// Whether `timer` can still do something when it fires, judged in O(1) and conservatively:
/// only timers whose subscription or delivery is gone, and TTL timers of a subscription with
/// nothing queued, delayed or in flight, are stale; anything else is re-checked when it fires.
fn is_live<P>(subs: &Slab<Subscriber<P>>, in_flight: &Slab<InFlight<P>>, timer: &Timer) -> bool {
    match *timer {
        Timer::Wake(key) | Timer::Idle(key) => subs.get(key).is_some(),
        Timer::Expiry(key, _) => subs
            .get(key)
            .is_some_and(|sub| sub.depth() > 0 || !sub.in_flight.is_empty()),
        Timer::Deadline(_, bits) => in_flight.get(key_of(DeliveryToken(bits))).is_some(),
        Timer::Trend => true,
    }
}

impl<P> Bus<P> {
    /// The earliest instant at which a live timer is due (what `poll_timeout` reports).
    pub(crate) fn next_live_timeout(&self) -> Option<Instant> {
        self.timers
            .next_live(|timer| is_live(&self.subs, &self.in_flight, timer))
    }

    /// Discards the stale timers at the front of the queue and, when the queue has doubled
    /// since the last sweep, every stale timer, TTL timers of messages no longer waiting
    /// included.
    pub(crate) fn discard_stale_timers(&mut self) {
        let (subs, in_flight) = (&self.subs, &self.in_flight);
        self.timers
            .discard_stale_front(|timer| is_live(subs, in_flight, timer));
        if !self.timers.sweep_due() {
            return;
        }
        let waiting = waiting_with_ttl(subs, in_flight);
        self.timers.sweep(|timer| match *timer {
            Timer::Expiry(key, id) => waiting.binary_search(&(key, id)).is_ok(),
            _ => is_live(subs, in_flight, timer),
        });
    }
}

/// Every `(subscription, message id)` whose message has a TTL and is queued, delayed for a
/// retry or in flight (it may fail and wait again), sorted.
fn waiting_with_ttl<P>(
    subs: &Slab<Subscriber<P>>,
    in_flight: &Slab<InFlight<P>>,
) -> Vec<(Key, u64)> {
    let mut waiting = Vec::new();
    let mut note = |key: Key, item: &Queued<P>| {
        if item.message.expires_at.is_some() {
            waiting.push((key, item.message.id.0));
        }
    };
    for (key, sub) in subs.iter() {
        let queued = sub.queue.iter();
        let delayed = sub.delayed.iter().map(|(_, item)| item);
        queued.chain(delayed).for_each(|item| note(key, item));
    }
    for (_, delivery) in in_flight.iter() {
        for item in &delivery.items {
            note(delivery.subscription, item);
        }
    }
    crate::sort::sort_by_key(&mut waiting, |entry| *entry);
    waiting
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
        timers.arm(Instant::from_millis(10), Timer::Deadline(0, 1));
        assert_eq!(timers.next(), Some(Instant::from_millis(10)));
        assert_eq!(timers.pop_due(Instant::from_millis(9)), None);
        assert_eq!(
            timers.pop_due(Instant::from_millis(20)),
            Some(Timer::Deadline(0, 1))
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
        timers.discard_stale_front(|timer| *timer != wake(1) && *timer != wake(3));
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
        assert!(timers.sweep_due());
        timers.sweep(|timer| matches!(timer, Timer::Wake(key) if key.index % 2 == 0));
        assert!(!timers.sweep_due());
        assert_eq!(timers.len(), SWEEP_FLOOR / 2);
        assert_eq!(timers.next(), Some(Instant::from_millis(1)));
    }

    mod ttl {
        use core::time::Duration;

        use crate::{Bus, Config, Instant, Outcome, PublishOptions, SubscribeOptions};

        fn publish_with_ttl(bus: &mut Bus<u32>, payload: u32, ttl_ms: u64, now: Instant) {
            let options = PublishOptions {
                ttl: Some(Duration::from_millis(ttl_ms)),
                ..Default::default()
            };
            bus.publish("t", payload, options, now).expect("publish");
        }

        #[test]
        fn ttl_timers_of_delivered_messages_do_not_pile_up() {
            let mut bus = Bus::new(Config::default()).expect("config");
            bus.subscribe("t", SubscribeOptions::default(), Instant::from_millis(0))
                .expect("subscribe");
            // A backlog of one keeps the subscription's queue from ever being empty, so only
            // the sweep's exact check can tell the delivered messages' timers are stale.
            publish_with_ttl(&mut bus, 0, 86_400_000, Instant::from_millis(0));
            for n in 1..10_000 {
                let now = Instant::from_millis(u64::from(n));
                publish_with_ttl(&mut bus, n, 86_400_000, now);
                let delivery = bus.poll_delivery(now).expect("a delivery");
                bus.complete(delivery.token, Outcome::Delivered, now)
                    .expect("outstanding");
            }
            assert_eq!(bus.metrics().queued, 1);
            assert!(
                bus.timers.len() <= 2 * super::SWEEP_FLOOR,
                "{} timers queued for one waiting message",
                bus.timers.len()
            );
        }

        #[test]
        fn a_sweep_keeps_the_ttl_timer_of_a_message_still_waiting() {
            let mut bus = Bus::new(Config::default()).expect("config");
            let paused = bus
                .subscribe("t", SubscribeOptions::default(), Instant::from_millis(0))
                .expect("subscribe");
            bus.pause(paused, Instant::from_millis(0)).expect("pause");
            publish_with_ttl(&mut bus, 1, 50, Instant::from_millis(0));
            // Enough other timers that the queue doubles and is swept.
            for n in 0..(4 * super::SWEEP_FLOOR as u32) {
                bus.timers.arm(
                    Instant::from_millis(10_000),
                    super::Timer::Wake(super::Key {
                        index: 1_000 + n,
                        generation: 0,
                    }),
                );
            }
            bus.handle_timeout(Instant::from_millis(1));
            assert_eq!(bus.timers.len(), 1, "only the TTL timer survives the sweep");
            bus.handle_timeout(Instant::from_millis(50));
            assert_eq!(bus.metrics().totals.dead_lettered, 1, "expired on time");
        }
    }
}
