//! Changing a live subscription's queue bound and overflow policy.
//!
//! [`Bus::set_capacity`] and [`Bus::set_overflow`] act on a subscription that is already
//! receiving messages, without losing anything silently:
//!
//! * **Growing** the capacity only raises the bound.
//! * **Shrinking** it below the current depth applies the subscription's overflow policy to
//!   the excess, exactly as if those messages had arrived at a full queue:
//!   - `DropOldest` evicts the oldest waiting messages (queue head first, then relaxed-mode
//!     retries in due order), each counted as dropped and traced `dropped` with `detail` 0;
//!   - `DropNewest` evicts the newest waiting messages (queue tail first), counted and traced
//!     `dropped` with `detail` 1;
//!   - `Reject` keeps every queued message and refuses new publishes that match the
//!     subscription until what it holds is below the new capacity (an over-full reject queue
//!     drains normally).
//! * Messages in flight count toward the bound (a subscription holds at most `capacity`
//!   messages: waiting, waiting for a retry, or being handled) but are never evicted: a
//!   shrink evicts waiting messages only, so until the deliveries in flight finish, a
//!   subscription may hold more than its new capacity.
//! * Changing the policy never changes the queue; it governs the next overflow (or the next
//!   shrink). To shrink under a new policy, set the policy first.
//!
//! A stale id or a capacity of zero is refused with a [`QueueLimitError`] and changes nothing.
//! The change itself is not a trace event; the drops it causes are.
//!
//! ```
//! use switchyard_core::{Bus, Config, Instant, Overflow, PublishOptions, SubscribeOptions};
//!
//! let mut bus: Bus<u32> = Bus::new(Config::default()).unwrap();
//! let now = Instant::from_millis(0);
//! let options = SubscribeOptions { capacity: Some(8), overflow: Some(Overflow::DropOldest), ..Default::default() };
//! let slow = bus.subscribe("jobs", options, now).unwrap();
//! for n in 1..=5 {
//!     bus.publish("jobs", n, PublishOptions::default(), now).unwrap();
//! }
//!
//! // Shrinking to 2 evicts the three oldest waiting messages, counted as drops.
//! assert_eq!(bus.set_capacity(slow, 2, now), Ok(3));
//! let info = bus.subscription(slow).unwrap();
//! assert_eq!((info.capacity, info.depth, info.stats.counters.dropped), (2, 2, 3));
//! assert_eq!(bus.poll_delivery(now).unwrap().items[0].message.payload, 4);
//! ```

use core::fmt;

use super::dispatch::Count;
use super::inflight::held;
use super::subscriber::{Queued, Subscriber};
use super::{key, Bus};
use crate::id::SubscriptionId;
use crate::subscription::Overflow;
use crate::time::Instant;
use crate::trace::TraceKind;

/// Why [`Bus::set_capacity`] or [`Bus::set_overflow`] refused a change. Nothing changed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum QueueLimitError {
    /// The subscription id is stale or was never issued.
    UnknownSubscription(SubscriptionId),
    /// A queue must hold at least one message.
    ZeroCapacity,
}

impl fmt::Display for QueueLimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueueLimitError::UnknownSubscription(id) => {
                write!(f, "subscription {id:?} is not active")
            }
            QueueLimitError::ZeroCapacity => f.write_str("`capacity` must be at least 1"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for QueueLimitError {}

/// Which end of a queue an eviction takes from.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum End {
    Oldest,
    Newest,
}

impl End {
    /// The `dropped` trace detail of an eviction from this end (as for an overflow).
    fn trace_detail(self) -> u64 {
        match self {
            End::Oldest => 0,
            End::Newest => 1,
        }
    }
}

impl<P> Subscriber<P> {
    /// Takes one waiting message from `end`: the queue first, then the relaxed-mode retries.
    /// Evicting the strict-mode retry that holds the queue back lifts the hold.
    fn evict(&mut self, end: End) -> Option<Queued<P>> {
        let item = match end {
            End::Oldest => self.queue.pop_front(),
            End::Newest => self.queue.pop_back(),
        };
        let item = match item {
            Some(item) => {
                // A strict-mode hold is for the retry at the head: once no retry heads the
                // queue, nothing is waiting for it.
                if self.queue.front().is_none_or(|head| head.attempt <= 1) {
                    self.retry_at = None;
                }
                item
            }
            None if self.delayed.is_empty() => return None,
            None => match end {
                End::Oldest => self.delayed.remove(0).1,
                End::Newest => self.delayed.pop()?.1,
            },
        };
        self.accepted = self.accepted.saturating_sub(1);
        Some(item)
    }
}

impl<P> Bus<P> {
    /// Sets the bound of subscription `id` to `capacity` (at least 1): the most messages it
    /// holds, waiting or in flight. Returns how many waiting messages were evicted to fit.
    ///
    /// Growing only raises the bound. Shrinking below the current depth applies the
    /// subscription's overflow policy to the excess: `DropOldest` evicts the oldest waiting
    /// messages, `DropNewest` the newest (each counted as dropped and traced `dropped`, detail
    /// 0 or 1), and `Reject` keeps them all and refuses matching publishes until the depth is
    /// below `capacity`. Messages in flight count toward the bound but are never evicted.
    /// See the
    /// [module docs](self).
    ///
    /// Errors (nothing changes): [`QueueLimitError::ZeroCapacity`],
    /// [`QueueLimitError::UnknownSubscription`].
    pub fn set_capacity(
        &mut self,
        id: SubscriptionId,
        capacity: usize,
        now: Instant,
    ) -> Result<usize, QueueLimitError> {
        if capacity == 0 {
            return Err(QueueLimitError::ZeroCapacity);
        }
        let k = key(id);
        if self.subs.get(k).is_none() {
            return Err(QueueLimitError::UnknownSubscription(id));
        }
        self.observe(now);
        let end = {
            let Some(sub) = self.subs.get_mut(k) else {
                return Err(QueueLimitError::UnknownSubscription(id));
            };
            sub.capacity = capacity;
            match sub.overflow {
                Overflow::Reject => return Ok(0),
                Overflow::DropOldest => End::Oldest,
                Overflow::DropNewest => End::Newest,
            }
        };
        let mut evicted = 0;
        while let Some(sub) = self.subs.get_mut(k) {
            if held(sub) <= capacity {
                break;
            }
            let Some(item) = sub.evict(end) else { break };
            evicted += 1;
            self.count(Some(k), item.topic, Count::Dropped);
            self.emit(
                TraceKind::Dropped,
                Some(k),
                Some(&item.message),
                end.trace_detail(),
            );
        }
        if evicted > 0 {
            // The head (and so the ready key) or the retry hold may have changed.
            self.refresh(k);
        }
        Ok(evicted)
    }

    /// Sets the overflow policy of subscription `id`. The queue is unchanged; the policy
    /// governs the next message that arrives at a full queue (and the next
    /// [`Bus::set_capacity`] shrink).
    ///
    /// Error (nothing changes): [`QueueLimitError::UnknownSubscription`].
    pub fn set_overflow(
        &mut self,
        id: SubscriptionId,
        overflow: Overflow,
        now: Instant,
    ) -> Result<(), QueueLimitError> {
        let sub = self
            .subs
            .get_mut(key(id))
            .ok_or(QueueLimitError::UnknownSubscription(id))?;
        sub.overflow = overflow;
        self.observe(now);
        Ok(())
    }
}
