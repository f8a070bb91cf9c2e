//! Helpers shared by the integration tests.
#![allow(dead_code)]

use core::time::Duration;

use switchyard_core::{
    Bus, Config, Instant, Outcome, PublishOptions, RetryPolicy, SubscribeOptions, SubscriptionId,
};

pub fn ms(millis: u64) -> Instant {
    Instant::from_millis(millis)
}

/// Every routed (message, subscription) pair is delivered, filtered, dropped, dead-lettered,
/// queued or in flight.
pub fn conserved(bus: &Bus<u32>) -> bool {
    let m = bus.metrics();
    let t = m.totals;
    t.matched + t.redriven
        == t.delivered
            + t.filtered
            + t.dropped
            + t.dead_lettered
            + m.queued as u64
            + m.in_flight_messages as u64
}

/// [`conserved`] for each active subscription, counting each message of a batch in flight:
/// everything it was routed is delivered, filtered, dropped, dead-lettered, waiting or in
/// flight (`in_flight_messages`, not `in_flight`, which counts a batch once).
pub fn conserved_per_subscription(bus: &Bus<u32>) -> bool {
    bus.subscriptions().iter().all(|info| {
        let c = info.stats.counters;
        c.matched + c.redriven
            == c.delivered
                + c.filtered
                + c.dropped
                + c.dead_lettered
                + info.depth as u64
                + info.in_flight_messages as u64
    })
}

pub fn bus() -> Bus<u32> {
    Bus::new(Config {
        trace_capacity: 4096,
        ..Config::default()
    })
    .expect("default config is valid")
}

pub fn bus_with(config: Config) -> Bus<u32> {
    Bus::new(config).expect("test config is valid")
}

/// A traced bus whose failed deliveries are retried after 10 s, `max_attempts` attempts in all.
pub fn traced_bus_retrying_after_10_s(max_attempts: u32) -> Bus<u32> {
    bus_with(Config {
        trace_capacity: 4096,
        retry: RetryPolicy {
            max_attempts,
            backoff: Duration::from_secs(10),
            ..RetryPolicy::default()
        },
        ..Config::default()
    })
}

pub fn sub(bus: &mut Bus<u32>, pattern: &str) -> SubscriptionId {
    bus.subscribe(pattern, SubscribeOptions::default(), ms(0))
        .expect("valid pattern")
}

pub fn sub_with(bus: &mut Bus<u32>, pattern: &str, options: SubscribeOptions) -> SubscriptionId {
    bus.subscribe(pattern, options, ms(0))
        .expect("valid subscription")
}

pub fn publish(bus: &mut Bus<u32>, topic: &str, payload: u32) {
    bus.publish(topic, payload, PublishOptions::default(), ms(0))
        .expect("publish succeeds");
}

/// Runs every ready delivery to completion as `Delivered`; returns (subscription, payloads).
pub fn drain(bus: &mut Bus<u32>, now: Instant) -> Vec<(SubscriptionId, Vec<u32>)> {
    let mut log = Vec::new();
    while let Some(delivery) = bus.poll_delivery(now) {
        log.push((
            delivery.subscription,
            delivery.items.iter().map(|i| i.message.payload).collect(),
        ));
        bus.complete(delivery.token, Outcome::Delivered, now)
            .expect("outstanding");
    }
    log
}

/// Flattens a drain log into (subscription, payload) pairs.
pub fn flat(log: Vec<(SubscriptionId, Vec<u32>)>) -> Vec<(SubscriptionId, u32)> {
    log.into_iter()
        .flat_map(|(s, ps)| ps.into_iter().map(move |p| (s, p)))
        .collect()
}
