//! Deliveries handed to the host and not yet finished.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crate::hash::HashSet;

use super::slab::{Key, Slab};
use super::subscriber::{Queued, Subscriber};
use crate::id::DeliveryToken;
use crate::time::Instant;

/// One outstanding delivery.
#[derive(Debug)]
pub(crate) struct InFlight<P> {
    /// The subscription it was handed out for.
    pub(crate) subscription: Key,
    /// Its messages, oldest first.
    pub(crate) items: Vec<Queued<P>>,
    /// Indices of items the host's filter rejected.
    pub(crate) filtered: Vec<usize>,
    /// When it was handed out.
    pub(crate) started_at: Instant,
    /// The host reported [`crate::Outcome::Pending`].
    pub(crate) pending: bool,
    /// Where its token sits in its subscription's `in_flight` list, so finishing it is O(1)
    /// (kept when another token is swapped into its place).
    pub(crate) position: usize,
}

/// Messages inside `sub`'s deliveries in flight (a batch carries several).
pub(crate) fn in_flight_items<P>(sub: &Subscriber<P>, in_flight: &Slab<InFlight<P>>) -> usize {
    sub.in_flight
        .iter()
        .filter_map(|token| in_flight.get(key_of(DeliveryToken(*token))))
        .map(|entry| entry.items.len())
        .sum()
}

/// Every message `sub` holds against its capacity: waiting (queued or waiting for a retry)
/// and inside its deliveries in flight. See `docs/ARCHITECTURE.md`, "What a queue's capacity
/// bounds". O(1): reads the subscription's in-flight message count, not the deliveries.
#[inline]
pub(crate) fn held<P>(sub: &Subscriber<P>) -> usize {
    sub.depth() + sub.in_flight_messages
}

/// Packs a slab key into a token (generation in the high half).
pub(crate) fn token_of(key: Key) -> DeliveryToken {
    DeliveryToken((u64::from(key.generation) << 32) | u64::from(key.index))
}

/// The slab key a token names.
pub(crate) fn key_of(token: DeliveryToken) -> Key {
    Key {
        index: token.0 as u32,
        generation: (token.0 >> 32) as u32,
    }
}

/// Tokens of pending deliveries that timed out, remembered (boundedly) so a late settle
/// gets [`crate::SettleError::TimedOut`] rather than `UnknownToken`.
#[derive(Debug, Default)]
pub(crate) struct TimedOutTokens {
    order: VecDeque<u64>,
    set: HashSet<u64>,
}

impl TimedOutTokens {
    /// Most tokens remembered; older ones are forgotten first.
    const LIMIT: usize = 4096;

    pub(crate) fn insert(&mut self, token: DeliveryToken) {
        if self.set.insert(token.0) {
            self.order.push_back(token.0);
            if self.order.len() > Self::LIMIT {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
        }
    }

    /// Forgets `token` and says whether it was remembered.
    pub(crate) fn take(&mut self, token: DeliveryToken) -> bool {
        if self.set.remove(&token.0) {
            self.order.retain(|t| *t != token.0);
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_through_its_slab_key() {
        let key = Key {
            index: 7,
            generation: 3,
        };
        assert_eq!(key_of(token_of(key)), key);
        assert_eq!(token_of(key).0, (3 << 32) | 7);
    }

    #[test]
    fn timed_out_tokens_are_remembered_once_and_forgotten_when_taken() {
        let mut tokens = TimedOutTokens::default();
        tokens.insert(DeliveryToken(5));
        assert!(tokens.take(DeliveryToken(5)));
        assert!(!tokens.take(DeliveryToken(5)));
    }

    #[test]
    fn the_oldest_timed_out_tokens_are_forgotten_past_the_limit() {
        let mut tokens = TimedOutTokens::default();
        for n in 0..=TimedOutTokens::LIMIT as u64 {
            tokens.insert(DeliveryToken(n));
        }
        assert!(!tokens.take(DeliveryToken(0)));
        assert!(tokens.take(DeliveryToken(TimedOutTokens::LIMIT as u64)));
    }
}
