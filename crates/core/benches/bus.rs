//! Engine benchmarks: publish → deliver with 1, 10 and 100 subscriptions, the same through
//! inline dispatch (`inline_deliver/N`: cached route + one `record_inline` per publish),
//! subscribe + unsubscribe churn, and the bytes per subscription and per queued message.
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

fn footprint(_: &mut Criterion) {
    let f = Footprint::of::<u64>();
    println!(
        "footprint (u64 payload): queued reference {} B, subscription {} B + profile {} B, \
         in-flight delivery {} B, envelope {} B + payload",
        f.queued_reference, f.subscription, f.subscription_profile, f.in_flight, f.envelope
    );
}

criterion_group!(benches, footprint, publish_deliver, inline_deliver, churn);
criterion_main!(benches);
