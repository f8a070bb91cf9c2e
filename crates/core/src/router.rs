//! Routing: a segment trie over subscription patterns with a bounded per-topic route cache.
//!
//! A publish walks the trie once per distinct topic (literal child, `*` child, `**` child
//! that may absorb zero or more segments); the sorted result is cached per topic and the
//! whole cache is invalidated (epoch bump) whenever a pattern is inserted or removed. Cost is
//! flat in the number of non-matching patterns.

use alloc::sync::Arc;

use crate::id::SubscriptionId;
use crate::topic::Pattern;

/// Delivery rank of a subscription within one message: higher `priority` first, then lower
/// creation `order`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Rank {
    /// Subscription priority.
    pub priority: i32,
    /// Creation order.
    pub order: u64,
}

/// The routing table.
#[derive(Debug)]
pub struct Router {
    _todo: (),
}

impl Router {
    /// An empty router whose cache holds at most `cache_capacity` topics (0 = no cache).
    pub fn new(cache_capacity: usize) -> Self {
        todo!("H3 {cache_capacity}")
    }
    /// Adds `id` under `pattern` with `rank`. Bumps the epoch.
    pub fn insert(&mut self, pattern: &Pattern, id: SubscriptionId, rank: Rank) {
        todo!("H3 {pattern:?} {id:?} {rank:?}")
    }
    /// Removes `id` from `pattern`; false if it was not there. Bumps the epoch if removed.
    pub fn remove(&mut self, pattern: &Pattern, id: SubscriptionId) -> bool {
        todo!("H3 {pattern:?} {id:?}")
    }
    /// Subscriptions matching the concrete, already validated `topic`, sorted by rank
    /// (each at most once even if several of its patterns' paths match).
    pub fn route(&mut self, topic: &str) -> Arc<[SubscriptionId]> {
        todo!("H3 {topic}")
    }
    /// Changes whenever the set of (pattern, id) pairs changes.
    pub fn epoch(&self) -> u64 {
        todo!("H3")
    }
    /// Active subscriptions under exactly this pattern text.
    pub fn count_for(&self, pattern: &Pattern) -> usize {
        todo!("H3 {pattern:?}")
    }
}
