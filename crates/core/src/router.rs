//! Routing: a segment trie over subscription patterns with a bounded per-topic route cache.
//!
//! # The trie
//!
//! Every pattern is a path from the root, one edge per segment: literal segments are keys
//! of a per-node ordered map, and each node has at most one `*` child and one `**` child.
//! A subscription id sits at the node where its pattern ends. Routing a topic advances a
//! small set of *states* (nodes) one topic segment at a time:
//!
//! * from each state, follow the literal child named by the segment and the `*` child;
//! * a state reached through a `**` edge may also stay where it is (the `**` absorbs the
//!   segment);
//! * after every step (and before the first), every state's `**` child joins the set (the
//!   `**` absorbs nothing), and duplicates are merged.
//!
//! The ids at the final states are the matches. The set only ever holds nodes on paths
//! that still match the topic's prefix, so patterns that do not match cost nothing beyond
//! one failed map lookup per step: routing cost depends on the topic's length and on the
//! patterns that (partly) match it, not on how many patterns are installed. Merging
//! duplicate states keeps `a.**.**.**` and friends polynomial.
//!
//! # Order and the cache
//!
//! A route lists each matching subscription once, highest [`Rank::priority`] first and, at
//! equal priority, lowest [`Rank::order`] (oldest subscription) first. Routes are cached per
//! topic as shared `Arc<[SubscriptionId]>` slices, so a repeated publish to the same topic
//! costs one map lookup and a reference-count increment. Every change to the set of
//! (pattern, id) pairs bumps the [`epoch`](Router::epoch); a cached route from an older
//! epoch is never served, and is recomputed on its next use. The cache holds at most
//! `cache_capacity` topics: when a new topic does not fit, entries of older epochs are
//! dropped first, and if all are current the whole cache is cleared. Clearing is O(n) but
//! happens at most once per `cache_capacity` misses, so it costs O(1) amortised per miss
//! and needs no per-entry bookkeeping on the hit path (an LRU list would cost a write on
//! every hit).
//!
//! Both the literal children of a node and the cache are `hashbrown` hash maps (with
//! default features off, so `no_std`) hashed by the seeded hasher of [`crate::hash`], seeded
//! per map. An ordered
//! `BTreeMap` was measured first: its O(log n) string comparisons made routing with 100 000
//! non-matching patterns 2.1× slower than with 10, over budget; a hash lookup costs the
//! same whatever the map's size. No code depends on map iteration order (routes are
//! sorted by rank), so results are deterministic anyway. See `docs/ARCHITECTURE.md`,
//! *Routing*, for the measurements.
//!
//! # Examples
//!
//! ```
//! use switchyard_core::router::{Rank, Router};
//! use switchyard_core::{Pattern, SubscriptionId};
//!
//! let id = |index| SubscriptionId { index, generation: 0 };
//! let mut router = Router::new(1024);
//! router.insert(&Pattern::parse("orders.**")?, id(0), Rank { priority: 0, order: 0 });
//! router.insert(&Pattern::parse("orders.*.created")?, id(1), Rank { priority: 5, order: 1 });
//! router.insert(&Pattern::parse("invoices.*")?, id(2), Rank { priority: 9, order: 2 });
//!
//! // Higher priority first; `invoices.*` does not match.
//! assert_eq!(&*router.route("orders.eu.created"), &[id(1), id(0)]);
//! assert_eq!(&*router.route("orders"), &[id(0)]);
//!
//! let epoch = router.epoch();
//! assert!(router.remove(&Pattern::parse("orders.*.created")?, id(1)));
//! assert_ne!(router.epoch(), epoch);
//! assert_eq!(&*router.route("orders.eu.created"), &[id(0)]);
//! # Ok::<(), switchyard_core::TopicError>(())
//! ```

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cmp::{Ordering, Reverse};

use crate::hash::HashMap;

use crate::id::SubscriptionId;
use crate::topic::{Pattern, Segment};

/// Delivery rank of a subscription within one message: higher `priority` first, then lower
/// creation `order`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Rank {
    /// Subscription priority.
    pub priority: i32,
    /// Creation order.
    pub order: u64,
}

impl Rank {
    /// `Less` if `self` is delivered before `other`.
    fn delivery_order(&self, other: &Rank) -> Ordering {
        (Reverse(self.priority), self.order).cmp(&(Reverse(other.priority), other.order))
    }
}

/// The routing table. See the [module docs](self).
#[derive(Debug)]
pub struct Router {
    root: Node,
    /// (pattern, id) pairs installed.
    len: usize,
    epoch: u64,
    cache: RouteCache,
    /// Scratch buffer for ranking a route, kept to save an allocation per trie walk (its
    /// capacity is at most the largest route computed, itself at most `len`).
    matched: Vec<(SubscriptionId, Rank)>,
}

impl Router {
    /// An empty router whose cache holds at most `cache_capacity` topics (0 = no cache).
    pub fn new(cache_capacity: usize) -> Self {
        Router {
            root: Node::default(),
            len: 0,
            matched: Vec::new(),
            epoch: 0,
            cache: RouteCache {
                capacity: cache_capacity,
                routes: HashMap::default(),
            },
        }
    }

    /// Adds `id` under `pattern` with `rank`. Bumps the epoch.
    ///
    /// Inserting an id already under `pattern` updates its rank (bumping the epoch only if
    /// the rank changed); it is never listed twice.
    pub fn insert(&mut self, pattern: &Pattern, id: SubscriptionId, rank: Rank) {
        let node = self.root.path_to(pattern.segments());
        match node
            .subscribers
            .iter_mut()
            .find(|(existing, _)| *existing == id)
        {
            Some((_, existing_rank)) if *existing_rank == rank => return,
            Some((_, existing_rank)) => *existing_rank = rank,
            None => {
                node.subscribers.push((id, rank));
                self.len += 1;
            }
        }
        self.bump_epoch();
    }

    /// [`insert`](Router::insert) for an `id` the caller knows is not under `pattern` yet
    /// (the bus's ids are never reused): skips the search for it, which costs a comparison
    /// per subscription already on the pattern. Bumps the epoch.
    pub(crate) fn insert_new(&mut self, pattern: &Pattern, id: SubscriptionId, rank: Rank) {
        let node = self.root.path_to(pattern.segments());
        debug_assert!(node.subscribers.iter().all(|(existing, _)| *existing != id));
        node.subscribers.push((id, rank));
        self.len += 1;
        self.bump_epoch();
    }

    /// Removes `id` from `pattern`; false if it was not there. Bumps the epoch if removed.
    /// Trie nodes left without subscribers or children are freed.
    pub fn remove(&mut self, pattern: &Pattern, id: SubscriptionId) -> bool {
        let removed = self.root.remove(pattern.segments(), id);
        if removed {
            self.len -= 1;
            self.bump_epoch();
        }
        removed
    }

    /// Subscriptions matching the concrete, already validated `topic`, sorted by rank
    /// (each at most once even if several of its patterns' paths match).
    ///
    /// Served from the cache when this topic was routed since the last change. An invalid
    /// `topic` is routed as if its segments were literals; it never panics.
    pub fn route(&mut self, topic: &str) -> Arc<[SubscriptionId]> {
        if let Some(route) = self.cache.get(topic, self.epoch) {
            return route;
        }
        let route = self.compute_route(topic);
        self.cache.put(topic, self.epoch, &route);
        route
    }

    /// Changes whenever the set of (pattern, id) pairs changes.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Active subscriptions under exactly this pattern text.
    pub fn count_for(&self, pattern: &Pattern) -> usize {
        self.root
            .find(pattern.segments())
            .map_or(0, |node| node.subscribers.len())
    }

    /// (pattern, id) pairs installed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no pattern is installed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Topics currently cached (current or stale).
    pub fn cached_topics(&self) -> usize {
        self.cache.routes.len()
    }

    /// Drops every cached route (routing stays correct; the next route of each topic walks
    /// the trie again). The epoch does not change.
    pub fn clear_cache(&mut self) {
        self.cache.routes.clear();
    }

    fn bump_epoch(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
    }

    /// Walks the trie (see the module docs) and ranks what matched.
    fn compute_route(&mut self, topic: &str) -> Arc<[SubscriptionId]> {
        let mut states = States::starting_at(&self.root);
        for segment in topic.split('.') {
            if states.current.is_empty() {
                break;
            }
            states.advance(segment);
        }
        let matched = &mut self.matched;
        matched.clear();
        matched.extend(
            states
                .current
                .iter()
                .flat_map(|state| state.node.subscribers.iter().copied()),
        );
        if matched.len() > 1 {
            // Each id once (keeping its best rank if it was inserted under several patterns
            // with different ranks), then delivery order; ties broken by id for determinism.
            crate::sort::sort_by(matched, |(a, rank_a), (b, rank_b)| {
                a.cmp(b).then(rank_a.delivery_order(rank_b))
            });
            matched.dedup_by_key(|(id, _)| *id);
            crate::sort::sort_by(matched, |(a, rank_a), (b, rank_b)| {
                rank_a.delivery_order(rank_b).then(a.cmp(b))
            });
        }
        matched.iter().map(|(id, _)| *id).collect()
    }
}

/// One trie node: the path from the root spells a pattern prefix.
#[derive(Debug, Default)]
struct Node {
    /// Keyed by `String` (not `Box<str>`) so that `entry_ref` finds an existing child by
    /// `&str` and copies the key only when it creates one.
    literals: HashMap<String, Node>,
    star: Option<Box<Node>>,
    globstar: Option<Box<Node>>,
    /// Subscriptions whose pattern ends here, in insertion order (unsorted: routes sort).
    subscribers: Vec<(SubscriptionId, Rank)>,
}

impl Node {
    fn is_empty(&self) -> bool {
        self.subscribers.is_empty()
            && self.literals.is_empty()
            && self.star.is_none()
            && self.globstar.is_none()
    }

    /// The node spelled by `segments`, if it exists.
    fn find(&self, segments: &[Segment]) -> Option<&Node> {
        segments
            .iter()
            .try_fold(self, |node, segment| match segment {
                Segment::Literal(text) => node.literals.get(&**text),
                Segment::Star => node.star.as_deref(),
                Segment::GlobStar => node.globstar.as_deref(),
            })
    }

    /// Removes `id` from the node spelled by `segments`, pruning nodes that become empty.
    /// Recursion depth is bounded by the pattern's segment count (at most 32).
    /// The node where `segments` end, creating the missing ones. An existing literal child
    /// is found by reference: its key is copied only when the child is created.
    fn path_to(&mut self, segments: &[Segment]) -> &mut Node {
        let mut node = self;
        for segment in segments {
            node = match segment {
                Segment::Literal(text) => node.literals.entry_ref(&**text).or_default(),
                Segment::Star => node.star.get_or_insert_with(Box::default),
                Segment::GlobStar => node.globstar.get_or_insert_with(Box::default),
            };
        }
        node
    }

    fn remove(&mut self, segments: &[Segment], id: SubscriptionId) -> bool {
        let Some((segment, rest)) = segments.split_first() else {
            // From the end: the subscription removed is most often the one added last.
            let Some(position) = self
                .subscribers
                .iter()
                .rposition(|(existing, _)| *existing == id)
            else {
                return false;
            };
            self.subscribers.swap_remove(position);
            return true;
        };
        match segment {
            Segment::Literal(text) => {
                let Some(child) = self.literals.get_mut(&**text) else {
                    return false;
                };
                let removed = child.remove(rest, id);
                if removed && child.is_empty() {
                    self.literals.remove(&**text);
                }
                removed
            }
            Segment::Star => Self::remove_from_slot(&mut self.star, rest, id),
            Segment::GlobStar => Self::remove_from_slot(&mut self.globstar, rest, id),
        }
    }

    fn remove_from_slot(
        slot: &mut Option<Box<Node>>,
        rest: &[Segment],
        id: SubscriptionId,
    ) -> bool {
        let Some(child) = slot.as_deref_mut() else {
            return false;
        };
        let removed = child.remove(rest, id);
        if removed && child.is_empty() {
            *slot = None;
        }
        removed
    }
}

/// A node reached while routing, and whether it was reached through a `**` edge (so it may
/// absorb further segments).
#[derive(Copy, Clone)]
struct State<'a> {
    node: &'a Node,
    inside_globstar: bool,
}

impl State<'_> {
    /// Identity of the state for merging duplicates.
    fn key(&self) -> (usize, bool) {
        (
            core::ptr::from_ref(self.node) as usize,
            self.inside_globstar,
        )
    }
}

/// The state sets of one routing walk: the current one and a buffer for the next.
struct States<'a> {
    current: Vec<State<'a>>,
    next: Vec<State<'a>>,
}

impl<'a> States<'a> {
    /// The states before the first segment: the root and its `**` chain.
    fn starting_at(root: &'a Node) -> Self {
        // Room for typical walks without regrowing.
        let mut current = Vec::with_capacity(8);
        current.push(State {
            node: root,
            inside_globstar: false,
        });
        let mut states = States {
            current,
            next: Vec::with_capacity(8),
        };
        states.close_and_merge();
        states
    }

    /// Moves every state across one topic segment.
    fn advance(&mut self, segment: &str) {
        self.next.clear();
        for state in &self.current {
            if let Some(child) = state.node.literals.get(segment) {
                self.next.push(State {
                    node: child,
                    inside_globstar: false,
                });
            }
            if let Some(child) = state.node.star.as_deref() {
                self.next.push(State {
                    node: child,
                    inside_globstar: false,
                });
            }
            if state.inside_globstar {
                self.next.push(*state);
            }
        }
        core::mem::swap(&mut self.current, &mut self.next);
        self.close_and_merge();
    }

    /// Adds every state's `**` child (transitively: `**` may absorb nothing), then merges
    /// duplicates.
    fn close_and_merge(&mut self) {
        let mut index = 0;
        while let Some(state) = self.current.get(index) {
            if let Some(child) = state.node.globstar.as_deref() {
                self.current.push(State {
                    node: child,
                    inside_globstar: true,
                });
            }
            index += 1;
        }
        if self.current.len() > 1 {
            crate::sort::sort_by_key(&mut self.current, State::key);
            self.current.dedup_by_key(|state| state.key());
        }
    }
}

/// Routes by topic, tagged with the epoch they were computed in.
#[derive(Debug)]
struct RouteCache {
    capacity: usize,
    routes: HashMap<Box<str>, CachedRoute>,
}

#[derive(Debug)]
struct CachedRoute {
    epoch: u64,
    route: Arc<[SubscriptionId]>,
}

impl RouteCache {
    /// The cached route of `topic` if it was computed in `epoch`.
    fn get(&self, topic: &str, epoch: u64) -> Option<Arc<[SubscriptionId]>> {
        self.routes
            .get(topic)
            .filter(|cached| cached.epoch == epoch)
            .map(|cached| Arc::clone(&cached.route))
    }

    /// Caches `route` for `topic` (a no-op when the capacity is 0).
    fn put(&mut self, topic: &str, epoch: u64, route: &Arc<[SubscriptionId]>) {
        if self.capacity == 0 {
            return;
        }
        if let Some(stale) = self.routes.get_mut(topic) {
            *stale = CachedRoute {
                epoch,
                route: Arc::clone(route),
            };
            return;
        }
        if self.routes.len() >= self.capacity {
            self.routes.retain(|_, cached| cached.epoch == epoch);
            if self.routes.len() >= self.capacity {
                self.routes.clear();
            }
        }
        self.routes.insert(
            topic.into(),
            CachedRoute {
                epoch,
                route: Arc::clone(route),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(index: u32) -> SubscriptionId {
        SubscriptionId {
            index,
            generation: 0,
        }
    }

    fn rank(priority: i32, order: u64) -> Rank {
        Rank { priority, order }
    }

    fn pattern(source: &str) -> Pattern {
        Pattern::parse(source).expect("valid pattern")
    }

    /// A router with `sources[i]` installed as `id(i)`, priority 0, order `i`.
    fn router_with(sources: &[&str]) -> Router {
        let mut router = Router::new(16);
        for (index, source) in sources.iter().enumerate() {
            router.insert(&pattern(source), id(index as u32), rank(0, index as u64));
        }
        router
    }

    fn routed(router: &mut Router, topic: &str) -> Vec<u32> {
        router.route(topic).iter().map(|id| id.index).collect()
    }

    #[test]
    fn an_empty_router_routes_nowhere() {
        let mut router = Router::new(4);
        assert!(router.is_empty());
        assert!(router.route("a.b").is_empty());
    }

    #[test]
    fn literal_star_and_globstar_patterns_route_like_matches() {
        let sources = ["a.b", "a.*", "a.**", "**", "**.b", "*.*.*", "a.**.b", "b"];
        let mut router = router_with(&sources);
        for topic in ["a", "a.b", "a.c", "a.b.b", "b", "c.a.b", "a.x.y.b"] {
            let expected: Vec<u32> = (0..sources.len() as u32)
                .filter(|&index| pattern(sources[index as usize]).matches(topic))
                .collect();
            assert_eq!(routed(&mut router, topic), expected, "{topic}");
        }
    }

    #[test]
    fn routes_are_sorted_by_priority_then_subscription_order() {
        let mut router = Router::new(16);
        router.insert(&pattern("a.*"), id(0), rank(0, 0));
        router.insert(&pattern("a.b"), id(1), rank(10, 1));
        router.insert(&pattern("**"), id(2), rank(0, 2));
        router.insert(&pattern("a.**"), id(3), rank(-5, 3));
        router.insert(&pattern("*.b"), id(4), rank(10, 4));
        assert_eq!(routed(&mut router, "a.b"), [1, 4, 0, 2, 3]);
    }

    #[test]
    fn an_id_reached_along_several_paths_is_listed_once() {
        // `**.**` matches `a.b` in three ways; `a.**.**.b` in one but through merged states.
        let mut router = router_with(&["**.**", "a.**.**.b"]);
        assert_eq!(routed(&mut router, "a.b"), [0, 1]);
        // The same id under two matching patterns.
        router.insert(&pattern("a.*"), id(0), rank(0, 0));
        assert_eq!(routed(&mut router, "a.b"), [0, 1]);
    }

    #[test]
    fn an_id_under_two_patterns_keeps_its_best_rank() {
        let mut router = Router::new(0);
        router.insert(&pattern("a"), id(0), rank(0, 0));
        router.insert(&pattern("*"), id(0), rank(7, 0));
        router.insert(&pattern("**"), id(1), rank(3, 1));
        assert_eq!(routed(&mut router, "a"), [0, 1]);
    }

    #[test]
    fn many_consecutive_globstars_route_quickly() {
        let deep = ["**"; 31].join(".") + ".z";
        let mut router = router_with(&[&deep, "**"]);
        let topic = ["a"; 32].join(".");
        assert_eq!(routed(&mut router, &topic), [1]);
        assert_eq!(routed(&mut router, &(["a"; 31].join(".") + ".z")), [0, 1]);
    }

    #[test]
    fn insert_and_remove_bump_the_epoch_only_on_change() {
        let mut router = Router::new(16);
        let p = pattern("a.*");
        let start = router.epoch();
        router.insert(&p, id(0), rank(0, 0));
        let after_insert = router.epoch();
        assert_ne!(after_insert, start);

        router.insert(&p, id(0), rank(0, 0));
        assert_eq!(
            router.epoch(),
            after_insert,
            "re-inserting the same pair changes nothing"
        );
        assert_eq!(router.len(), 1);

        router.insert(&p, id(0), rank(3, 0));
        let after_rerank = router.epoch();
        assert_ne!(after_rerank, after_insert, "a new rank changes routes");
        assert_eq!(router.len(), 1);

        assert!(!router.remove(&p, id(1)));
        assert!(!router.remove(&pattern("a.b"), id(0)));
        assert_eq!(router.epoch(), after_rerank);

        assert!(router.remove(&p, id(0)));
        assert_ne!(router.epoch(), after_rerank);
        assert!(router.is_empty());
    }

    #[test]
    fn insert_new_adds_the_id_ranked_and_bumps_the_epoch() {
        let mut router = router_with(&["orders.*"]);
        let before = router.epoch();
        router.insert_new(&pattern("orders.*"), id(7), rank(5, 7));
        assert_ne!(router.epoch(), before);
        assert_eq!(router.len(), 2);
        assert_eq!(router.count_for(&pattern("orders.*")), 2);
        assert_eq!(routed(&mut router, "orders.eu"), [7, 0]);
    }

    #[test]
    fn churning_one_pattern_reuses_its_trie_path_and_removes_the_newest_first() {
        let mut router = router_with(&["a.b", "a.b", "a.c"]);
        for n in 10..20 {
            router.insert_new(&pattern("a.b"), id(n), rank(0, u64::from(n)));
            assert_eq!(router.count_for(&pattern("a.b")), 3);
            assert!(router.remove(&pattern("a.b"), id(n)));
        }
        assert_eq!(routed(&mut router, "a.b"), [0, 1]);
        assert_eq!(routed(&mut router, "a.c"), [2]);
        assert!(router.remove(&pattern("a.b"), id(0)));
        assert_eq!(routed(&mut router, "a.b"), [1]);
    }

    #[test]
    fn a_cached_route_is_never_served_after_a_change() {
        let mut router = Router::new(16);
        router.insert(&pattern("a.*"), id(0), rank(0, 0));
        let first = router.route("a.b");
        assert!(
            Arc::ptr_eq(&first, &router.route("a.b")),
            "second route is the cached one"
        );

        router.insert(&pattern("a.b"), id(1), rank(1, 1));
        assert_eq!(routed(&mut router, "a.b"), [1, 0]);
        router.remove(&pattern("a.*"), id(0));
        assert_eq!(routed(&mut router, "a.b"), [1]);
        router.insert(&pattern("a.b"), id(1), rank(-1, 1));
        router.insert(&pattern("**"), id(2), rank(0, 2));
        assert_eq!(routed(&mut router, "a.b"), [2, 1]);
    }

    #[test]
    fn a_full_cache_drops_stale_entries_first_then_everything() {
        let mut router = Router::new(2);
        router.insert(&pattern("**"), id(0), rank(0, 0));
        router.route("a");
        router.route("b");
        assert_eq!(router.cached_topics(), 2);
        let b = router.route("b");
        router.route("c"); // full, all current: cleared, then `c` cached
        assert_eq!(router.cached_topics(), 1);
        assert!(
            !Arc::ptr_eq(&b, &router.route("b")),
            "b was evicted and recomputed"
        );
        assert_eq!(router.cached_topics(), 2);

        router.insert(&pattern("x"), id(1), rank(0, 1)); // both entries now stale
        router.route("d"); // stale entries make room
        assert_eq!(router.cached_topics(), 1);
        assert_eq!(routed(&mut router, "x"), [0, 1]);
    }

    #[test]
    fn a_zero_capacity_cache_caches_nothing_and_still_routes() {
        let mut router = router_with(&["a.**"]);
        router.cache.capacity = 0;
        router.clear_cache();
        assert_eq!(routed(&mut router, "a.b"), [0]);
        assert_eq!(router.cached_topics(), 0);
        let mut uncached = Router::new(0);
        uncached.insert(&pattern("a"), id(0), rank(0, 0));
        assert_eq!(routed(&mut uncached, "a"), [0]);
        assert_eq!(uncached.cached_topics(), 0);
    }

    #[test]
    fn removing_the_last_subscriber_prunes_the_trie() {
        let mut router = router_with(&["a.b.c", "a.*.**", "**.d"]);
        for (index, source) in ["a.b.c", "a.*.**", "**.d"].iter().enumerate() {
            assert!(router.remove(&pattern(source), id(index as u32)));
        }
        assert!(router.root.is_empty());
        assert!(router.is_empty());
    }

    #[test]
    fn pruning_keeps_nodes_other_patterns_still_use() {
        let mut router = router_with(&["a.b", "a.b.c", "a.**"]);
        assert!(router.remove(&pattern("a.b.c"), id(1)));
        assert_eq!(routed(&mut router, "a.b"), [0, 2]);
        assert!(router.remove(&pattern("a.b"), id(0)));
        assert_eq!(routed(&mut router, "a.b"), [2]);
        assert_eq!(routed(&mut router, "a.b.c"), [2]);
    }

    #[test]
    fn count_for_counts_ids_under_exactly_that_pattern() {
        let mut router = Router::new(4);
        router.insert(&pattern("a.*"), id(0), rank(0, 0));
        router.insert(&pattern("a.*"), id(1), rank(0, 1));
        router.insert(&pattern("a.**"), id(2), rank(0, 2));
        router.insert(&pattern("a.*.*"), id(3), rank(0, 3));
        assert_eq!(router.count_for(&pattern("a.*")), 2);
        assert_eq!(router.count_for(&pattern("a.**")), 1);
        assert_eq!(router.count_for(&pattern("a")), 0);
        assert_eq!(router.count_for(&pattern("a.b")), 0);
        assert_eq!(router.count_for(&pattern("x.y.z")), 0);
        router.remove(&pattern("a.*"), id(0));
        assert_eq!(router.count_for(&pattern("a.*")), 1);
    }

    #[test]
    fn routing_an_invalid_topic_does_not_panic() {
        let mut router = router_with(&["**", "a.*"]);
        assert_eq!(routed(&mut router, ""), [0]);
        assert_eq!(routed(&mut router, "a..b"), [0]);
        assert_eq!(routed(&mut router, "a.*"), [0, 1]);
        let long = ["a"; 200].join(".");
        assert_eq!(routed(&mut router, &long), [0]);
    }
}
