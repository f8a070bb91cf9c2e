//! Property tests for the router: for random patterns and topics over a small alphabet, the
//! trie (with its route cache) returns exactly what a naive scan of `Pattern::matches` over
//! every installed pattern returns, in rank order, through random insertions, re-ranks and
//! removals. Since every route is checked against the model right after each change, a
//! stale cached route fails the test.

use proptest::prelude::*;
use switchyard_core::router::{Rank, Router};
use switchyard_core::{Pattern, SubscriptionId};

const LITERALS: [&str; 3] = ["a", "b", "c"];

fn pattern_text() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        3 => prop::sample::select(&LITERALS[..]).prop_map(str::to_owned),
        1 => Just("*".to_owned()),
        1 => Just("**".to_owned()),
    ];
    prop::collection::vec(segment, 1..=5).prop_map(|segments| segments.join("."))
}

fn topic_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(&LITERALS[..]), 1..=5)
        .prop_map(|segments| segments.join("."))
}

#[derive(Clone, Debug)]
enum Op {
    /// Subscribe a new id to this pattern with this priority.
    Insert(String, i32),
    /// Change the priority of the n-th live subscription (modulo the live count).
    Rerank(usize, i32),
    /// Remove the n-th live subscription (modulo the live count).
    Remove(usize),
    /// Route this topic and compare with the model.
    Route(String),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (pattern_text(), -2i32..=2).prop_map(|(p, priority)| Op::Insert(p, priority)),
        1 => (any::<usize>(), -2i32..=2).prop_map(|(n, priority)| Op::Rerank(n, priority)),
        2 => any::<usize>().prop_map(Op::Remove),
        4 => topic_text().prop_map(Op::Route),
    ]
}

/// What the router should hold: live subscriptions in creation order.
#[derive(Default)]
struct Model {
    live: Vec<(Pattern, SubscriptionId, Rank)>,
    next_order: u64,
}

impl Model {
    /// The naive answer: scan every pattern, then sort by priority desc, order asc.
    fn route(&self, topic: &str) -> Vec<SubscriptionId> {
        let mut matched: Vec<&(Pattern, SubscriptionId, Rank)> = self
            .live
            .iter()
            .filter(|(pattern, _, _)| pattern.matches(topic))
            .collect();
        matched.sort_by_key(|(_, _, rank)| (std::cmp::Reverse(rank.priority), rank.order));
        matched.into_iter().map(|(_, id, _)| *id).collect()
    }
}

fn all_topics() -> Vec<String> {
    let mut topics = Vec::new();
    let mut level: Vec<String> = LITERALS.iter().map(|s| (*s).to_owned()).collect();
    for _ in 0..4 {
        topics.extend(level.iter().cloned());
        level = level
            .iter()
            .flat_map(|t| LITERALS.iter().map(move |s| format!("{t}.{s}")))
            .collect();
    }
    topics
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_trie_routes_exactly_like_a_naive_scan_in_rank_order(
        ops in prop::collection::vec(op(), 1..80),
        cache_capacity in 0usize..6,
    ) {
        let mut router = Router::new(cache_capacity);
        let mut model = Model::default();
        for op in ops {
            match op {
                Op::Insert(text, priority) => {
                    let pattern = Pattern::parse(&text).expect("generated patterns are valid");
                    let order = model.next_order;
                    model.next_order += 1;
                    let id = SubscriptionId { index: order as u32, generation: 1 };
                    let rank = Rank { priority, order };
                    let before = router.epoch();
                    router.insert(&pattern, id, rank);
                    prop_assert_ne!(router.epoch(), before);
                    model.live.push((pattern, id, rank));
                }
                Op::Rerank(n, priority) => {
                    if model.live.is_empty() { continue; }
                    let index = n % model.live.len();
                    let (pattern, id, rank) = &mut model.live[index];
                    let before = router.epoch();
                    let changed = rank.priority != priority;
                    rank.priority = priority;
                    router.insert(pattern, *id, *rank);
                    prop_assert_eq!(router.epoch() != before, changed);
                }
                Op::Remove(n) => {
                    if model.live.is_empty() { continue; }
                    let (pattern, id, _) = model.live.remove(n % model.live.len());
                    let before = router.epoch();
                    prop_assert!(router.remove(&pattern, id));
                    prop_assert_ne!(router.epoch(), before);
                    prop_assert!(!router.remove(&pattern, id), "a second removal finds nothing");
                }
                Op::Route(topic) => {
                    let routed = router.route(&topic);
                    prop_assert_eq!(routed.to_vec(), model.route(&topic), "topic {}", topic);
                }
            }
            prop_assert_eq!(router.len(), model.live.len());
        }
        // Finally every topic of up to four segments, twice (cold, then possibly cached).
        for _ in 0..2 {
            for topic in all_topics() {
                prop_assert_eq!(router.route(&topic).to_vec(), model.route(&topic), "topic {}", topic);
            }
        }
        for (pattern, _, _) in &model.live {
            let expected = model.live.iter().filter(|(other, _, _)| other.as_str() == pattern.as_str()).count();
            prop_assert_eq!(router.count_for(pattern), expected);
        }
    }

    #[test]
    fn removing_everything_leaves_a_router_that_routes_nowhere(
        patterns in prop::collection::vec(pattern_text(), 1..40),
        topics in prop::collection::vec(topic_text(), 1..10),
    ) {
        let mut router = Router::new(8);
        let installed: Vec<(Pattern, SubscriptionId)> = patterns
            .iter()
            .enumerate()
            .map(|(index, text)| {
                let pattern = Pattern::parse(text).expect("generated patterns are valid");
                let id = SubscriptionId { index: index as u32, generation: 0 };
                router.insert(&pattern, id, Rank { priority: 0, order: index as u64 });
                (pattern, id)
            })
            .collect();
        for topic in &topics {
            router.route(topic); // fill the cache
        }
        for (pattern, id) in &installed {
            prop_assert!(router.remove(pattern, *id));
        }
        prop_assert!(router.is_empty());
        for topic in &topics {
            prop_assert!(router.route(topic).is_empty(), "topic {}", topic);
        }
    }

    #[test]
    fn matches_agrees_with_validate_and_never_panics_on_arbitrary_text(
        pattern in "[ab*.]{0,12}",
        topic in "[ab.]{0,12}",
    ) {
        if let Ok(pattern) = Pattern::parse(&pattern) {
            let _ = pattern.matches(&topic);
            let mut router = Router::new(2);
            router.insert(&pattern, SubscriptionId { index: 0, generation: 0 }, Rank { priority: 0, order: 0 });
            let routed = !router.route(&topic).is_empty();
            if switchyard_core::topic::validate_topic(&topic).is_ok() {
                prop_assert_eq!(routed, pattern.matches(&topic));
            }
        }
    }
}
