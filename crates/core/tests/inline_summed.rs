//! Recording inline publishes summed per route: while the trace ring is off, a host that
//! records after the fact may record a batch as one call per route (its publishes summed, the
//! routes in any order) instead of one call per run in publish order, and the engine ends up
//! in the same state.

mod common;

use common::{bus_with, conserved, ms, sub};
use switchyard_core::{Bus, Config, InlineRoute, PublishOptions, SubscriptionId};

/// A bus with wildcard and exact subscriptions over three topics (fan-outs 1, 2 and 3).
fn routed_bus(config: Config) -> (Bus<u32>, Vec<SubscriptionId>, Vec<InlineRoute>) {
    let mut bus = bus_with(config);
    let subs = vec![
        sub(&mut bus, "orders.*"),
        sub(&mut bus, "orders.eu"),
        sub(&mut bus, "**"),
        sub(&mut bus, "audit"),
    ];
    let routes = ["orders.eu", "orders.us", "audit"]
        .iter()
        .map(|topic| {
            let route = bus.inline_route(topic).expect("valid topic");
            assert!(route.eligible);
            route
        })
        .collect();
    (bus, subs, routes)
}

/// Runs of publishes, as `(route index, publishes)` in publish order.
const RUNS: [(usize, u32); 7] = [(0, 3), (1, 1), (0, 2), (2, 5), (1, 4), (0, 1), (2, 1)];

#[test]
fn a_batch_summed_per_route_leaves_the_state_its_runs_in_publish_order_leave() {
    let now = ms(7);
    let (mut in_order, subs, in_order_routes) = routed_bus(Config::default());
    for (route, publishes) in RUNS {
        in_order
            .record_inline_delivered(&in_order_routes[route], publishes, now)
            .expect("a route of this bus");
    }

    let (mut summed, _, routes) = routed_bus(Config::default());
    assert!(!summed.inline_runs_ordered());
    // Routes in reverse order of their first publish, each once with its total.
    for route in [2usize, 1, 0] {
        let total = RUNS
            .iter()
            .filter(|(r, _)| *r == route)
            .map(|(_, n)| n)
            .sum();
        summed
            .record_inline_delivered(&routes[route], total, now)
            .expect("a route of this bus");
    }

    assert_eq!(summed.metrics(), in_order.metrics());
    for id in &subs {
        assert_eq!(summed.subscription(*id), in_order.subscription(*id));
    }
    assert!(conserved(&summed));
    // The next ids and per-topic sequence numbers are the same on both.
    for (route, expected) in routes.iter().zip(&in_order_routes) {
        let next = summed
            .record_inline(route, 0, now)
            .expect("fresh route")
            .first;
        let expected = in_order
            .record_inline(expected, 0, now)
            .expect("fresh route")
            .first;
        assert_eq!((next.id, next.topic_seq), (expected.id, expected.topic_seq));
    }
    let a = summed.publish("orders.us", 1, PublishOptions::default(), now);
    let b = in_order.publish("orders.us", 1, PublishOptions::default(), now);
    assert_eq!(a.expect("room"), b.expect("room"));
}

#[test]
fn runs_must_stay_in_publish_order_only_while_the_trace_ring_is_on() {
    let (mut bus, _, _) = routed_bus(Config::default());
    assert!(!bus.inline_runs_ordered());
    bus.set_trace_capacity(64);
    assert!(bus.inline_runs_ordered());
    bus.set_trace_capacity(0);
    assert!(!bus.inline_runs_ordered());

    let traced = bus_with(Config {
        trace_capacity: 16,
        ..Config::default()
    });
    assert!(traced.inline_runs_ordered());
}
