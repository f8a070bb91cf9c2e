//! Leak detection over simulated time: what the `idle` and `trend` detectors report, and what
//! they do not, with the bus driven only through `handle_timeout` / `leaks` at chosen instants.

mod common;

use core::time::Duration;

use common::*;
use switchyard_core::bus::MAX_RELEASED_REPORTS;
use switchyard_core::{Config, LeakReason, OwnerId, SubscribeOptions};

const MINUTE: u64 = 60_000;

/// Runs every timer due up to `until`, in order, as a host's timer would.
fn run_timers(bus: &mut switchyard_core::Bus<u32>, until: u64) {
    while let Some(at) = bus.poll_timeout() {
        if at > ms(until) {
            break;
        }
        bus.handle_timeout(at);
    }
}

#[test]
fn two_hundred_subscriptions_added_steadily_over_an_hour_are_reported_as_a_trend() {
    let mut bus = bus_with(Config {
        trend_window: Some(Duration::from_millis(5 * MINUTE)),
        trend_windows: 5,
        ..Config::default()
    });
    // One subscription every 18 s, for an hour: the net count rises in every 5-minute window.
    let mut reported_at = None;
    for i in 0..200u64 {
        let at = i * 18_000;
        run_timers(&mut bus, at);
        if reported_at.is_none() && bus.metrics().leaks_suspected > 0 {
            reported_at = Some(at);
        }
        bus.subscribe("ui.render", SubscribeOptions::default(), ms(at))
            .unwrap();
    }
    run_timers(&mut bus, 60 * MINUTE);
    let reported_at = reported_at.expect("a trend report within the hour");
    assert!(
        reported_at <= 26 * MINUTE,
        "reported once five windows rose (at {reported_at} ms)"
    );
    let leaks = bus.leaks(ms(60 * MINUTE));
    let trend = leaks
        .iter()
        .find(|l| matches!(l.reason, LeakReason::Trend { .. }))
        .expect("the trend report is kept while the rise lasts");
    assert_eq!(trend.pattern, "**");
    assert!(
        matches!(trend.reason, LeakReason::Trend { windows, growth } if windows >= 5 && growth > 0)
    );
    assert!(!trend.suspects.is_empty());
}

#[test]
fn two_hundred_subscriptions_made_at_once_then_an_idle_hour_are_no_trend_and_not_idle() {
    let mut bus = bus_with(Config {
        trend_window: Some(Duration::from_millis(5 * MINUTE)),
        trend_windows: 5,
        idle_after: Some(Duration::from_millis(5 * MINUTE)),
        ..Config::default()
    });
    for _ in 0..200 {
        sub(&mut bus, "ui.render");
    }
    run_timers(&mut bus, 60 * MINUTE);
    // One rising window is a burst, not a trend; a subscription nothing was published for is
    // quiet, not stuck. (200 on one pattern is what `max_listeners` reports: off here.)
    let leaks = bus.leaks(ms(60 * MINUTE));
    assert!(
        leaks
            .iter()
            .all(|l| !matches!(l.reason, LeakReason::Trend { .. } | LeakReason::Idle { .. })),
        "{leaks:?}"
    );
}

#[test]
fn a_subscription_whose_messages_wait_an_idle_hour_is_reported_idle_by_its_timer() {
    let mut bus = bus_with(Config {
        idle_after: Some(Duration::from_millis(5 * MINUTE)),
        ..Config::default()
    });
    let stuck = sub(&mut bus, "jobs.run");
    let healthy = sub(&mut bus, "jobs.done");
    publish(&mut bus, "jobs.run", 1);
    // The stuck consumer takes its delivery and never completes it; the healthy one keeps up.
    let taken = bus.poll_delivery(ms(0)).expect("the first delivery");
    assert_eq!(taken.subscription, stuck);
    for minute in 1..=60u64 {
        let at = minute * MINUTE;
        run_timers(&mut bus, at);
        bus.publish("jobs.run", 2, Default::default(), ms(at))
            .unwrap();
        bus.publish("jobs.done", 3, Default::default(), ms(at))
            .unwrap();
        while let Some(d) = bus.poll_delivery(ms(at)) {
            assert_eq!(d.subscription, healthy);
            bus.complete(d.token, switchyard_core::Outcome::Delivered, ms(at))
                .unwrap();
        }
    }
    assert_eq!(
        bus.metrics().leaks_suspected,
        1,
        "reported once per episode"
    );
    let leaks = bus.leaks(ms(60 * MINUTE));
    assert_eq!(leaks.len(), 1, "{leaks:?}");
    assert_eq!(leaks[0].suspects[0].subscription, stuck);
    assert_eq!(
        leaks[0].reason,
        LeakReason::Idle {
            idle_for: Duration::from_millis(60 * MINUTE)
        }
    );
}

#[test]
fn owner_released_reports_are_kept_up_to_their_bound_oldest_forgotten_first() {
    let mut bus = bus();
    let total = MAX_RELEASED_REPORTS as u64 + 3;
    for owner in 0..total {
        let options = SubscribeOptions {
            owner: Some(OwnerId(owner)),
            ..Default::default()
        };
        sub_with(&mut bus, "t", options);
        bus.owner_released(OwnerId(owner), ms(owner));
    }
    let leaks = bus.leaks(ms(total));
    assert_eq!(leaks.len(), MAX_RELEASED_REPORTS);
    assert_eq!(
        leaks[0].detected_at,
        ms(3),
        "the three oldest were forgotten"
    );
    assert_eq!(bus.metrics().leaks_suspected, total);
    assert_eq!(bus.metrics().active_subscriptions, 0);
}

#[test]
fn a_trend_report_names_the_subscriptions_made_during_the_rise_not_the_older_ones() {
    let mut bus = bus_with(Config {
        trend_window: Some(Duration::from_millis(MINUTE)),
        trend_windows: 3,
        ..Config::default()
    });
    let old = bus
        .subscribe("app.ready", SubscribeOptions::default(), ms(0))
        .unwrap();
    // A flat minute, then one more subscription in each of three minutes.
    let mut rising = Vec::new();
    for minute in 2..5u64 {
        run_timers(&mut bus, minute * MINUTE);
        rising.push(
            bus.subscribe(
                "ui.render",
                SubscribeOptions::default(),
                ms(minute * MINUTE),
            )
            .unwrap(),
        );
    }
    run_timers(&mut bus, 5 * MINUTE);
    let leaks = bus.leaks(ms(5 * MINUTE));
    assert_eq!(leaks.len(), 1, "{leaks:?}");
    let suspects: Vec<_> = leaks[0].suspects.iter().map(|s| s.subscription).collect();
    assert_eq!(suspects, rising);
    assert!(!suspects.contains(&old));
}
