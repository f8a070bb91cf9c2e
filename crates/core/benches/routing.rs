//! Wildcard routing cost against 10, 1 000 and 100 000 installed non-matching patterns.
//!
//! `cold`: a router without route cache, so every call walks the trie and ranks the result.
//! `warm`: the topic's route is cached, so a call is one cache lookup.
//! The goal (issue 3): routing with 100 000 non-matching patterns within 2× of routing with 10.
//!
//! Run: `cargo bench -p switchyard-core --bench routing`; criterion writes the medians to
//! `target/criterion/route_*/*/new/estimates.json`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use switchyard_core::router::{Rank, Router};
use switchyard_core::{Pattern, SubscriptionId};

/// The topic every benchmark routes.
const TOPIC: &str = "orders.eu.created";

/// Patterns that do match `TOPIC`.
const MATCHING: [&str; 3] = ["orders.eu.created", "orders.*.created", "orders.**"];

/// The `index`-th non-matching pattern. A mix of shapes, several of which share a prefix or
/// a `**` node with the topic, so the walk really does look them up:
/// `svc7.orders.created`, `svc7.*`, `orders.eu.v7`, `**.x7`, `orders.*.y7`.
fn non_matching(index: usize) -> String {
    match index % 5 {
        0 => format!("svc{index}.orders.created"),
        1 => format!("svc{index}.*"),
        2 => format!("orders.eu.v{index}"),
        3 => format!("**.x{index}"),
        _ => format!("orders.*.y{index}"),
    }
}

fn router_with(non_matching_count: usize, cache_capacity: usize) -> Router {
    let mut router = Router::new(cache_capacity);
    let mut order = 0u64;
    let mut install = |router: &mut Router, text: &str| {
        let pattern = Pattern::parse(text).expect("benchmark patterns are valid");
        let id = SubscriptionId {
            index: order as u32,
            generation: 0,
        };
        router.insert(&pattern, id, Rank { priority: 0, order });
        order += 1;
    };
    for text in MATCHING {
        install(&mut router, text);
    }
    for index in 0..non_matching_count {
        install(&mut router, &non_matching(index));
    }
    router
}

fn routing(c: &mut Criterion) {
    for (name, cache_capacity) in [("route_cold", 0), ("route_warm", 1024)] {
        let mut group = c.benchmark_group(name);
        for count in [10, 1_000, 100_000] {
            let mut router = router_with(count, cache_capacity);
            assert_eq!(router.route(TOPIC).len(), MATCHING.len());
            group.bench_with_input(BenchmarkId::from_parameter(count), &count, |b, _| {
                b.iter(|| router.route(black_box(TOPIC)))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, routing);
criterion_main!(benches);
