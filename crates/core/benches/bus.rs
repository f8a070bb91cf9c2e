//! Engine benchmarks: publish → deliver with 1, 10 and 100 subscriptions, the same through
//! inline dispatch (`inline_deliver/N`: cached route + one `record_inline` per publish;
//! `inline_rotating/N`: the same with publishes rotating over N topics),
//! subscribe + unsubscribe churn (`subscribe_unsubscribe`: 100 subscriptions on two patterns;
//! `subscribe_unsubscribe_with/N`: N on the churned pattern), and the bytes per subscription
//! and per queued message.
//!
//! Run: `cargo bench -p switchyard-core --bench bus`. The `publish_deliver/N` groups report
//! throughput in deliveries, so criterion's time per element is the cost of one immediate
//! delivery (publish share + poll + complete). Medians land in
//! `target/criterion/<group>/<case>/new/estimates.json`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use switchyard_core::bus::Footprint;
use switchyard_core::{Bus, Config, Instant, Outcome, PublishOptions, SubscribeOptions};

fn bus_with_subscribers(count: usize) -> Bus<u64> {
    let mut bus = Bus::new(Config {
        max_listeners: 0,
        ..Config::default()
    })
    .expect("valid config");
    for n in 0..count {
        let pattern = if n % 2 == 0 {
            "orders.eu.created"
        } else {
            "orders.*.created"
        };
        bus.subscribe(pattern, SubscribeOptions::default(), Instant::ZERO)
            .expect("valid pattern");
    }
    bus
}

fn publish_deliver(c: &mut Criterion) {
    let mut group = c.benchmark_group("publish_deliver");
    for subscribers in [1usize, 10, 100] {
        let mut bus = bus_with_subscribers(subscribers);
        let now = Instant::ZERO;
        group.throughput(Throughput::Elements(subscribers as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(subscribers),
            &subscribers,
            |b, _| {
                let mut payload = 0u64;
                b.iter(|| {
                    payload += 1;
                    bus.publish("orders.eu.created", payload, PublishOptions::default(), now)
                        .expect("room");
                    while let Some(delivery) = bus.poll_delivery(now) {
                        black_box(&delivery.items[0].message.payload);
                        bus.complete(delivery.token, Outcome::Delivered, now)
                            .expect("outstanding");
                    }
                });
            },
        );
    }
    group.finish();
}

/// The inline fast path next to the slow one: the route is cached once, then each publish is
/// one `record_inline` call (the host calls the handlers itself; here `black_box` stands in).
fn inline_deliver(c: &mut Criterion) {
    let mut group = c.benchmark_group("inline_deliver");
    for subscribers in [1usize, 3, 10, 100] {
        let mut bus = bus_with_subscribers(subscribers);
        let now = Instant::ZERO;
        let route = bus.inline_route("orders.eu.created").expect("valid topic");
        assert!(route.eligible);
        group.throughput(Throughput::Elements(subscribers as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(subscribers),
            &subscribers,
            |b, _| {
                let mut payload = 0u64;
                b.iter(|| {
                    payload += 1;
                    let receipt = bus.record_inline(&route, 1, now).expect("fresh route");
                    for id in route.subscriptions.iter() {
                        black_box((id, payload, receipt.first.id));
                    }
                });
            },
        );
    }
    group.finish();
}

/// What the JavaScript glue's batches cost the engine when publishes rotate over many topics
/// (the `wildcard-1-of-1000` JS case): `topics` patterns `svc<i>.*.created`, one subscription
/// each, every route cached once, then each iteration records one already-delivered publish
/// on the next topic (`record_inline_delivered`, a run of one, as `__inlineRecord` does for a
/// batch that never repeats a topic). With one topic the state stays in cache; with 1 000
/// every record touches cold topic and subscription state: the cost of one record. With the
/// trace ring off the glue sums a batch (up to 4 096 publishes) per route, so in the rotating
/// case a topic is recorded once per batch, not once per publish.
fn inline_rotating(c: &mut Criterion) {
    let mut group = c.benchmark_group("inline_rotating");
    for topics in [1usize, 1000] {
        let mut bus: Bus<u64> = Bus::new(Config {
            max_listeners: 0,
            ..Config::default()
        })
        .expect("valid config");
        for n in 0..topics {
            bus.subscribe(
                &format!("svc{n}.*.created"),
                SubscribeOptions::default(),
                Instant::ZERO,
            )
            .expect("valid pattern");
        }
        let now = Instant::ZERO;
        // The scrambled order of the JS case (a stride coprime with the count).
        let routes: Vec<_> = (0..topics)
            .map(|n| {
                let route = bus
                    .inline_route(&format!("svc{}.eu.created", (n * 11) % topics))
                    .expect("valid topic");
                assert!(route.eligible && route.subscriptions.len() == 1);
                route
            })
            .collect();
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(BenchmarkId::from_parameter(topics), &topics, |b, _| {
            let mut next = 0;
            b.iter(|| {
                let receipt = bus
                    .record_inline_delivered(&routes[next], 1, now)
                    .expect("a route of this bus");
                next = if next + 1 == routes.len() {
                    0
                } else {
                    next + 1
                };
                black_box(receipt.first.id)
            });
        });
    }
    group.finish();
}

fn churn(c: &mut Criterion) {
    let mut bus = bus_with_subscribers(100);
    c.bench_function("subscribe_unsubscribe", |b| {
        b.iter(|| {
            let id = bus
                .subscribe(
                    "orders.*.created",
                    SubscribeOptions::default(),
                    Instant::ZERO,
                )
                .expect("valid");
            black_box(bus.unsubscribe(id, Instant::ZERO));
        });
    });
}

/// The JS `churn` case natively: one subscription added and removed on a pattern that already
/// has N (3 as in the JS benchmark, then many), as a component does on mount and unmount.
fn churn_same_pattern(c: &mut Criterion) {
    let mut group = c.benchmark_group("subscribe_unsubscribe_with");
    for existing in [3usize, 1000] {
        let mut bus: Bus<u64> = Bus::new(Config {
            max_listeners: 0,
            ..Config::default()
        })
        .expect("valid config");
        for _ in 0..existing {
            bus.subscribe("orders.created", SubscribeOptions::default(), Instant::ZERO)
                .expect("valid pattern");
        }
        group.bench_with_input(BenchmarkId::from_parameter(existing), &existing, |b, _| {
            b.iter(|| {
                let id = bus
                    .subscribe("orders.created", SubscribeOptions::default(), Instant::ZERO)
                    .expect("valid");
                black_box(bus.unsubscribe(id, Instant::ZERO));
            });
        });
    }
    group.finish();
}

fn footprint(_: &mut Criterion) {
    let f = Footprint::of::<u64>();
    println!(
        "footprint (u64 payload): queued reference {} B, subscription {} B + profile {} B, \
         in-flight delivery {} B, envelope {} B + payload",
        f.queued_reference, f.subscription, f.subscription_profile, f.in_flight, f.envelope
    );
}

criterion_group!(
    benches,
    footprint,
    publish_deliver,
    inline_deliver,
    inline_rotating,
    churn,
    churn_same_pattern
);
criterion_main!(benches);
