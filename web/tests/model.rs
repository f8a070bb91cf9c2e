//! The data model, sources and view-data builders, in headless Chromium:
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown -p switchyard-web`.

use std::sync::Arc;

use switchyard_core::TraceKind;
use switchyard_web::model::state::{BridgeLinkState, BusState, DeadLetterState, SubState};
use switchyard_web::model::{
    Event, MarbleKind, Model, Ring, Update, LOG_CAPACITY, MARBLES_PER_LANE, PRESSURE_SAMPLES,
};
use switchyard_web::source::recording::{self, ImportError, Player, Recorder};
use switchyard_web::source::{Driver, ScenarioId, Tuning};
use switchyard_web::views::event_log::{filter, LogFilter};
use switchyard_web::views::inspector::tree;
use switchyard_web::views::{backpressure, timeline, topology};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn event(
    cursor: u64,
    at: f64,
    kind: TraceKind,
    sub: Option<u64>,
    message: Option<u64>,
    topic: Option<&str>,
    detail: u64,
) -> Event {
    Event {
        cursor,
        at,
        kind,
        subscription: sub,
        message,
        topic: topic.map(Arc::from),
        detail,
        origin: None,
    }
}

fn sub(id: u64, pattern: &str, depth: u64, capacity: u64) -> SubState {
    SubState {
        id,
        pattern: pattern.to_string(),
        name: Some(format!("sub-{id}")),
        capacity,
        depth,
        overflow: "drop-oldest".to_string(),
        delivery: "immediate".to_string(),
        ordering: "strict".to_string(),
        breaker: "closed".to_string(),
        ..SubState::default()
    }
}

/// Runs `id` for `ms` of simulated time in 16 ms frames, feeding a model.
/// A topic of an attached state, with no counters.
fn topic_state(topic: &str) -> switchyard_web::model::state::TopicState {
    switchyard_web::model::state::TopicState {
        topic: topic.into(),
        ..Default::default()
    }
}

/// A model whose subscription 1 (topic `t`) had one delivery attempt per `(at, message,
/// failed)`, its outcome `outcome_after` ms later, applied at `now`.
fn lane_model(
    deliveries: impl Iterator<Item = (f64, u64, bool)>,
    outcome_after: f64,
    now: f64,
) -> Model {
    let mut events = Vec::new();
    for (i, (at, message, failed)) in deliveries.enumerate() {
        let cursor = i as u64 * 2;
        events.push(event(
            cursor,
            at,
            TraceKind::Delivering,
            Some(1),
            Some(message),
            Some("t"),
            1,
        ));
        let outcome = if failed {
            TraceKind::Failed
        } else {
            TraceKind::Delivered
        };
        events.push(event(
            cursor + 1,
            at + outcome_after,
            outcome,
            Some(1),
            Some(message),
            Some("t"),
            1,
        ));
    }
    let mut model = Model::default();
    model.apply(
        Update {
            events,
            ..Update::default()
        },
        now,
    );
    model
}

/// A model that has applied `state` at 1 ms.
fn model_of(state: BusState) -> Model {
    let mut model = Model::default();
    model.apply(
        Update {
            state: Some(state),
            ..Update::default()
        },
        1.0,
    );
    model
}

/// The keys of a topology's edges (`ts:<topic>><subscription>`...).
fn edge_keys(graph: &topology::TopologyView) -> Vec<&str> {
    graph.edges.iter().map(|e| e.key.as_str()).collect()
}

fn run(id: ScenarioId, ms: f64) -> (Driver, Model) {
    let mut driver = Driver::new(id, Tuning::default()).expect("scenario starts");
    let mut model = Model::default();
    let mut t = 0.0;
    while t < ms {
        let update = driver.tick(16.0);
        model.apply(update, driver.clock());
        t += 16.0;
    }
    (driver, model)
}

fn count(model: &Model, kind: TraceKind) -> u64 {
    model.kind_count(kind)
}

#[wasm_bindgen_test]
fn capacity_and_overflow_controls_apply_to_the_running_bus_without_a_restart() {
    let (mut driver, mut model) = run(ScenarioId::SlowConsumer, 4_000.0);
    let archiver = |model: &Model| {
        model
            .state
            .subscriptions
            .iter()
            .find(|s| s.name.as_deref() == Some("archiver"))
            .cloned()
            .expect("the archiver subscribes")
    };
    // The state as of now, not as of the last periodic snapshot.
    model.apply(driver.snapshot_now(), driver.clock());
    let before = archiver(&model);
    assert!(
        before.depth > 8,
        "the archiver's queue builds up ({})",
        before.depth
    );
    let clock = driver.clock();

    let evicted = driver.set_tuning(Tuning {
        capacity: Some(8),
        ..Tuning::default()
    });
    model.apply(driver.snapshot_now(), driver.clock());
    let shrunk = archiver(&model);
    assert_eq!(driver.clock(), clock, "the same run continues");
    assert_eq!(shrunk.id, before.id, "the same subscription");
    assert_eq!(
        (shrunk.capacity, shrunk.overflow.as_str()),
        (8, "drop-oldest")
    );
    assert!(shrunk.depth <= 8);
    assert_eq!(evicted as u64, before.depth - shrunk.depth);
    assert_eq!(
        shrunk.counters.dropped,
        before.counters.dropped + evicted as u64,
        "evictions count as drops"
    );

    // Back to the scenario's own limits, with another policy.
    driver.set_tuning(Tuning {
        overflow: Some(switchyard_core::Overflow::Reject),
        ..Tuning::default()
    });
    model.apply(driver.snapshot_now(), driver.clock());
    let restored = archiver(&model);
    assert_eq!(
        (restored.capacity, restored.overflow.as_str()),
        (512, "reject")
    );
}

#[wasm_bindgen_test]
fn a_ring_forgets_its_oldest_entries_and_counts_them() {
    let mut ring = Ring::new(3);
    for i in 0..5 {
        ring.push(i);
    }
    assert_eq!(ring.iter().copied().collect::<Vec<_>>(), vec![2, 3, 4]);
    assert_eq!(ring.evicted(), 2);
    assert_eq!(ring.last(), Some(&4));
}

#[wasm_bindgen_test]
fn a_ring_of_capacity_zero_still_keeps_the_newest_entry() {
    let mut ring = Ring::new(0);
    ring.push("a");
    ring.push("b");
    assert_eq!(ring.len(), 1);
    assert_eq!(ring.last(), Some(&"b"));
}

#[wasm_bindgen_test]
fn every_scenario_runs_on_the_real_engine_and_produces_trace_and_state() {
    for id in ScenarioId::ALL {
        let (_, model) = run(id, 3_000.0);
        assert!(model.events_seen > 0, "{}: no trace events", id.name());
        assert!(
            count(&model, TraceKind::Published) > 0,
            "{}: nothing published",
            id.name()
        );
        assert!(
            count(&model, TraceKind::Delivered) > 0,
            "{}: nothing delivered",
            id.name()
        );
        assert!(
            !model.state.subscriptions.is_empty(),
            "{}: no subscriptions in the snapshot",
            id.name()
        );
        assert!(
            model.state.totals.published > 0,
            "{}: metrics count no publish",
            id.name()
        );
    }
}

#[wasm_bindgen_test]
fn the_retry_scenario_retries_and_then_delivers() {
    let (_, model) = run(ScenarioId::Retry, 6_000.0);
    assert!(count(&model, TraceKind::RetryScheduled) > 0);
    assert!(model.state.totals.retried > 0);
    let lane_kinds: Vec<MarbleKind> = model
        .lanes
        .values()
        .flat_map(|l| l.marbles.iter().map(|m| m.kind))
        .collect();
    assert!(
        lane_kinds.contains(&MarbleKind::DeliveredAfterRetry),
        "a retried message is finally delivered"
    );
}

#[wasm_bindgen_test]
fn the_backpressure_scenario_drops_rejects_and_dead_letters() {
    let (_, model) = run(ScenarioId::BackpressureDlq, 8_000.0);
    assert!(
        model.state.totals.dropped > 0,
        "drop-oldest/newest queues dropped"
    );
    assert!(
        model.state.publishes_rejected > 0,
        "the reject queue refused publishes"
    );
    assert!(
        !model.state.dead_letters.is_empty(),
        "the mailer dead-lettered"
    );
    assert!(
        model.state.subscriptions.iter().any(|s| s.fill() >= 0.8),
        "a queue is nearly full"
    );
}

#[wasm_bindgen_test]
fn the_leaky_scenario_reports_leaks_with_creation_stacks() {
    let (_, model) = run(ScenarioId::LeakyComponent, 8_000.0);
    assert!(!model.state.leaks.is_empty(), "leaks are reported");
    assert!(
        model
            .state
            .leaks
            .iter()
            .flat_map(|l| &l.suspects)
            .any(|s| s.stack.is_some()),
        "stacks are kept"
    );
}

#[wasm_bindgen_test]
fn the_cascade_scenario_is_refused_by_the_cascade_limit() {
    let (_, model) = run(ScenarioId::Cascade, 3_000.0);
    assert!(model.state.cascades_refused > 0);
}

#[wasm_bindgen_test]
fn redriving_a_dead_letter_moves_it_back_to_its_queue() {
    let (mut driver, _) = run(ScenarioId::BackpressureDlq, 6_000.0);
    let before = driver.snapshot_now().state.expect("snapshot").dead_letters;
    let first = before.first().expect("a dead letter").id;
    assert_eq!(driver.redrive(Some(first)), Ok(1));
    let after = driver.snapshot_now().state.expect("snapshot").dead_letters;
    assert!(after.iter().all(|d| d.id != first));
    assert!(
        driver.redrive(Some(first)).is_err(),
        "a redriven dead letter is gone"
    );
    assert_eq!(driver.purge(), after.len());
}

#[wasm_bindgen_test]
fn storm_history_stays_bounded() {
    let (_, model) = run(ScenarioId::Storm, 2_000.0);
    assert!(
        model.events_seen > LOG_CAPACITY as u64,
        "the storm overflows the log"
    );
    assert_eq!(model.log.len(), LOG_CAPACITY);
    assert!(model
        .lanes
        .values()
        .all(|l| l.marbles.len() <= MARBLES_PER_LANE));
    assert!(model.pressure.values().all(|p| p.len() <= PRESSURE_SAMPLES));
    assert!(model.lanes.len() <= 200);
    assert!(
        model.rates.published() > 10_000.0,
        "rate {}",
        model.rates.published()
    );
}

#[wasm_bindgen_test]
fn a_delivery_after_a_later_message_is_marked_out_of_order() {
    let mut model = Model::default();
    let events = vec![
        event(
            0,
            1.0,
            TraceKind::Delivering,
            Some(9),
            Some(5),
            Some("a"),
            1,
        ),
        event(
            1,
            2.0,
            TraceKind::Delivered,
            Some(9),
            Some(5),
            Some("a"),
            10,
        ),
        event(
            2,
            100.0,
            TraceKind::Delivering,
            Some(9),
            Some(3),
            Some("a"),
            1,
        ),
        event(
            3,
            101.0,
            TraceKind::Delivered,
            Some(9),
            Some(3),
            Some("a"),
            10,
        ),
    ];
    model.apply(
        Update {
            events,
            ..Update::default()
        },
        101.0,
    );
    let lane = &model.lanes[&9];
    let marbles: Vec<_> = lane.marbles.iter().collect();
    assert_eq!(marbles.len(), 2);
    assert!(!marbles[0].out_of_order);
    assert!(marbles[1].out_of_order);
    assert_eq!(lane.out_of_order, 1);
}

#[wasm_bindgen_test]
fn a_failed_attempt_then_a_retry_is_drawn_as_retrying_then_delivered_after_retry() {
    let mut model = Model::default();
    let events = vec![
        event(
            0,
            1.0,
            TraceKind::Delivering,
            Some(1),
            Some(7),
            Some("a"),
            1,
        ),
        event(1, 2.0, TraceKind::Failed, Some(1), Some(7), Some("a"), 1),
        event(
            2,
            2.0,
            TraceKind::RetryScheduled,
            Some(1),
            Some(7),
            Some("a"),
            300_000,
        ),
        event(
            3,
            400.0,
            TraceKind::Delivering,
            Some(1),
            Some(7),
            Some("a"),
            2,
        ),
        event(
            4,
            401.0,
            TraceKind::Delivered,
            Some(1),
            Some(7),
            Some("a"),
            5,
        ),
    ];
    model.apply(
        Update {
            events,
            ..Update::default()
        },
        401.0,
    );
    let kinds: Vec<MarbleKind> = model.lanes[&1].marbles.iter().map(|m| m.kind).collect();
    assert_eq!(
        kinds,
        vec![MarbleKind::Retrying, MarbleKind::DeliveredAfterRetry]
    );
}

#[wasm_bindgen_test]
fn backpressure_history_is_sampled_from_snapshots_and_shows_the_trend() {
    let mut model = Model::default();
    for i in 0..40u64 {
        let at = i as f64 * 250.0;
        let state = BusState {
            at,
            subscriptions: vec![sub(1, "jobs.*", 10 + i * 2, 100)],
            ..BusState::default()
        };
        model.apply(
            Update {
                state: Some(state),
                ..Update::default()
            },
            at,
        );
    }
    assert_eq!(model.pressure[&1].len(), 40);
    let (cards, hidden) = backpressure::build(&model);
    assert_eq!(hidden, 0);
    assert_eq!(cards[0].trend, backpressure::Trend::Rising);
    assert!(cards[0].alert, "88/100 is past the threshold");
    assert!(cards[0].depth_points.split_whitespace().count() == 40);
}

#[wasm_bindgen_test]
fn the_topology_links_topics_to_the_subscriptions_whose_patterns_match() {
    let model = model_of(BusState {
        at: 1.0,
        subscriptions: vec![
            sub(1, "orders.*", 0, 10),
            sub(2, "orders.**", 0, 10),
            sub(3, "users.created", 0, 10),
        ],
        topics: vec![
            topic_state("orders.created"),
            topic_state("orders.eu.created"),
        ],
        ..BusState::default()
    });
    let graph = topology::build(&model, (640.0, 270.0));
    let edges = edge_keys(&graph);
    assert!(edges.contains(&"ts:orders.created>1"));
    assert!(edges.contains(&"ts:orders.created>2"));
    assert!(edges.contains(&"ts:orders.eu.created>2"));
    assert!(!edges.contains(&"ts:orders.eu.created>1"));
    assert!(!edges.iter().any(|e| e.ends_with(">3")));
    assert_eq!(
        graph
            .nodes
            .iter()
            .filter(|n| n.class.contains("sub"))
            .count(),
        3
    );
}

#[wasm_bindgen_test]
fn the_quieter_line_sits_below_every_node_it_leaves_out() {
    let model = model_of(BusState {
        at: 1.0,
        subscriptions: (1..=9).map(|i| sub(i, "orders.*", 0, 10)).collect(),
        topics: vec![topic_state("orders.created")],
        ..BusState::default()
    });
    // The devtools panel's topology: about 150 px high, 3 subscriptions fit.
    let height = 150.0;
    let graph = topology::build(&model, (860.0, height));
    assert!(graph.hidden_subs > 0);
    // The line's text sits at `height - 6` with ~11 px glyphs: nodes (26 px) end above it.
    let lowest = graph
        .nodes
        .iter()
        .map(|n| n.y + 13.0)
        .fold(f64::NEG_INFINITY, f64::max);
    assert!(lowest <= height - 16.0, "a node reaches y = {lowest}");
}

#[wasm_bindgen_test]
fn topology_wildcards_match_one_or_any_number_of_segments_as_the_bus_does() {
    let model = model_of(BusState {
        at: 1.0,
        subscriptions: vec![
            sub(1, "a.*.c", 0, 10),
            sub(2, "a.**", 0, 10),
            sub(3, "a.**.z", 0, 10),
            sub(4, "**", 0, 10),
            sub(5, "a.b", 0, 10),
        ],
        topics: ["a", "a.b.c", "a.b.c.z", "a.c", "x.y"]
            .into_iter()
            .map(topic_state)
            .collect(),
        publishers: vec![switchyard_web::model::state::PublisherState {
            name: "p".into(),
            topics: vec!["a.*.c".into(), "x.y".into()],
        }],
        ..BusState::default()
    });
    let graph = topology::build(&model, (860.0, 600.0));
    let edges = edge_keys(&graph);
    let linked = |topic: &str, to: &str| edges.contains(&format!("ts:{topic}>{to}").as_str());
    // `*` is exactly one segment.
    assert!(linked("a.b.c", "1"), "{edges:?}");
    assert!(!linked("a.c", "1") && !linked("a.b.c.z", "1"), "{edges:?}");
    // `**` is zero or more segments, at the end, inside or alone.
    for t in ["a", "a.b.c", "a.b.c.z", "a.c"] {
        assert!(linked(t, "2"), "a.** takes {t}: {edges:?}");
    }
    assert!(!linked("x.y", "2"), "{edges:?}");
    assert!(linked("a.b.c.z", "3") && !linked("a.b.c", "3"), "{edges:?}");
    for t in ["a", "a.b.c", "a.b.c.z", "a.c", "x.y"] {
        assert!(linked(t, "4"), "** takes {t}: {edges:?}");
    }
    // A literal pattern is the whole topic, not a prefix.
    assert!(!edges.iter().any(|e| e.ends_with(">5")), "{edges:?}");
    // A publisher's patterns reach topics by the same rules.
    let published: Vec<&str> = edges
        .iter()
        .filter_map(|e| e.strip_prefix("pt:p>"))
        .collect();
    assert_eq!(published, ["a.b.c", "x.y"]);
}

#[wasm_bindgen_test]
fn a_crowded_lane_is_thinned_to_one_marble_per_bucket_keeping_the_worst() {
    let model = lane_model(
        (0..20u64).map(|i| (i as f64 * 30.0, i + 1, i == 5)),
        1.0,
        600.0,
    );
    // Slots of 200 ms: the widest marble (two digits) plus the gap, at this scale.
    let px_per_ms = (timeline::marble_width(20) + timeline::MARBLE_GAP_PX) / 200.0;
    let shown = timeline::visible_marbles(&model.lanes[&1], 600.0, 1_000.0, px_per_ms);
    assert!(shown.len() <= 4, "{} marbles in 4 buckets", shown.len());
    assert!(
        shown.iter().any(|m| m.kind == MarbleKind::Failed),
        "the failure survives thinning"
    );
}

#[wasm_bindgen_test]
fn a_storm_lane_draws_marbles_that_never_overlap_and_stay_near_their_time() {
    // 50 000 msg/s over 200 lanes: 250 deliveries a second on this lane, six-digit ids.
    let deliveries = (0..250u64).map(|i| (10_000.0 + i as f64 * 4.0, 612_000 + i, i == 117));
    let model = lane_model(deliveries, 0.5, 11_000.0);
    // The timeline's 1 s window on a 560 px wide lane area.
    let px_per_ms = 0.56;
    let shown = timeline::visible_marbles(&model.lanes[&1], 11_000.0, 1_000.0, px_per_ms);
    assert!(shown.len() >= 8, "only {} marbles", shown.len());
    for pair in shown.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let room = (b.drawn_at - a.drawn_at) * px_per_ms;
        let needed = (timeline::marble_width(a.message) + timeline::marble_width(b.message)) / 2.0
            + timeline::MARBLE_GAP_PX;
        assert!(
            room >= needed - 1e-6,
            "{} and {} overlap: {room:.1} px apart, {needed:.1} needed",
            a.message,
            b.message
        );
    }
    for m in &shown {
        let off = (m.drawn_at - m.at).abs() * px_per_ms;
        assert!(
            off <= timeline::marble_width(m.message) + timeline::MARBLE_GAP_PX,
            "{} moved {off:.1} px",
            m.message
        );
    }
    assert!(
        shown.iter().any(|m| m.kind == MarbleKind::Failed),
        "the one failure is drawn"
    );
}

#[wasm_bindgen_test]
fn a_publishers_rate_counts_the_quieter_topics_left_out_of_the_drawing() {
    let mut model = Model::default();
    let topics: Vec<String> = (0..40).map(|i| format!("storm.p{i}")).collect();
    let state = BusState {
        at: 1.0,
        subscriptions: vec![sub(1, "storm.*", 0, 10)],
        publishers: vec![switchyard_web::model::state::PublisherState {
            name: "firehose".into(),
            topics: vec!["storm.*".into()],
        }],
        ..BusState::default()
    };
    // The rates' window opens at 100 ms and closes at the next update, 800 ms later.
    model.apply(Update::default(), 100.0);
    let mut events = Vec::new();
    let mut id = 0;
    for round in 0..20u64 {
        for t in &topics {
            id += 1;
            events.push(event(
                id,
                100.0 + round as f64 * 40.0,
                TraceKind::Published,
                None,
                Some(id),
                Some(t),
                1,
            ));
        }
    }
    model.apply(
        Update {
            state: Some(state),
            events,
            ..Update::default()
        },
        900.0,
    );
    let graph = topology::build(&model, (860.0, 270.0));
    assert!(graph.hidden_topics > 0, "some topics are left out");
    let total: f64 = topics.iter().map(|t| model.rates.topic(t)).sum();
    assert!(total > 0.0);
    let publisher = graph
        .nodes
        .iter()
        .find(|n| n.class.contains("publisher"))
        .expect("the publisher is drawn");
    assert_eq!(publisher.sub_label, switchyard_web::views::fmt_rate(total));
}

#[wasm_bindgen_test]
fn the_event_log_filters_by_kind_topic_and_regex_and_inverts() {
    let mut model = Model::default();
    let events = vec![
        event(
            0,
            1.0,
            TraceKind::Published,
            None,
            Some(1),
            Some("orders.created"),
            2,
        ),
        event(
            1,
            2.0,
            TraceKind::Delivered,
            Some(1),
            Some(1),
            Some("orders.created"),
            5,
        ),
        event(
            2,
            3.0,
            TraceKind::Published,
            None,
            Some(2),
            Some("users.deleted"),
            1,
        ),
    ];
    model.apply(
        Update {
            events,
            ..Update::default()
        },
        3.0,
    );
    let by_kind = filter(
        &model,
        &LogFilter {
            kind: Some(TraceKind::Published),
            ..LogFilter::default()
        },
    )
    .expect("ok");
    assert_eq!(by_kind.len(), 2);
    let by_topic = filter(
        &model,
        &LogFilter {
            topic: "users".into(),
            ..LogFilter::default()
        },
    )
    .expect("ok");
    assert_eq!(by_topic.len(), 1);
    let topics = |text: &str| {
        filter(
            &model,
            &LogFilter {
                topic: text.into(),
                ..LogFilter::default()
            },
        )
        .map(|events| events.len())
    };
    // A text with `*` is a switchyard pattern over whole segments, not a substring.
    assert_eq!(topics("orders.*"), Ok(2));
    assert_eq!(topics("*.deleted"), Ok(1));
    assert_eq!(topics("**"), Ok(3));
    assert!(topics("order*").unwrap_err().starts_with("topic pattern"));
    assert_eq!(topics("  ord "), Ok(2));
    let by_regex = filter(
        &model,
        &LogFilter {
            regex: "^delivered".into(),
            ..LogFilter::default()
        },
    )
    .expect("ok");
    assert_eq!(by_regex.len(), 1);
    let inverted = filter(
        &model,
        &LogFilter {
            regex: "^delivered".into(),
            invert: true,
            ..LogFilter::default()
        },
    )
    .expect("ok");
    assert_eq!(inverted.len(), 2);
    let bad = filter(
        &model,
        &LogFilter {
            regex: "(".into(),
            ..LogFilter::default()
        },
    );
    assert!(bad.unwrap_err().starts_with("regex"));
}

#[wasm_bindgen_test]
fn payload_search_keeps_matches_and_their_ancestors_only() {
    let payload = serde_json::json!({ "order": { "id": 7, "items": [{ "sku": "RED-1" }, { "sku": "BLUE-2" }] }, "note": "x" });
    let all = tree(&payload, "");
    assert!(all.len() >= 8);
    let found = tree(&payload, "blue");
    let paths: Vec<&str> = found.iter().map(|l| l.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "",
            "order",
            "order.items",
            "order.items.1",
            "order.items.1.sku"
        ]
    );
    assert!(found.last().expect("line").hit);
}

#[wasm_bindgen_test]
fn a_recording_round_trips_through_ndjson_and_replays_from_its_first_event() {
    let mut recorder = Recorder::new("scenario:test");
    let state = BusState {
        at: 0.5,
        dead_letters: vec![DeadLetterState {
            id: 1,
            payload: serde_json::json!({"a": "<b>"}),
            ..Default::default()
        }],
        ..BusState::default()
    };
    recorder.record(&Update {
        state: Some(state.clone()),
        ..Update::default()
    });
    let events: Vec<Event> = (0..5)
        .map(|i| {
            event(
                i,
                1.0 + i as f64 * 100.0,
                TraceKind::Published,
                None,
                Some(i + 1),
                Some("t"),
                0,
            )
        })
        .collect();
    recorder.record(&Update {
        events: events.clone(),
        ..Update::default()
    });
    let text = recorder.to_ndjson();
    assert!(text
        .lines()
        .next()
        .expect("header")
        .contains("\"version\":1"));
    let lines = recording::parse(&text).expect("parses");
    let mut player = Player::new(lines);
    let first = player.step();
    assert_eq!(first.events, vec![events[0].clone()]);
    assert_eq!(
        first
            .state
            .expect("state before the first event")
            .dead_letters[0]
            .payload,
        serde_json::json!({"a": "<b>"})
    );
    player.speed = 2.0;
    let later = player.advance(100.0);
    assert_eq!(
        later.events,
        events[1..3].to_vec(),
        "200 ms of recording in 100 ms at 2×"
    );
    assert!(!player.finished());
}

#[wasm_bindgen_test]
fn a_busy_recording_keeps_only_the_snapshots_its_events_need() {
    // 2 000 events per 100 ms frame: the 50 000 kept cover the last 2.5 s, so of the
    // snapshots (one per 250 ms at most) only the last one before that window and those
    // inside it are worth keeping.
    let mut recorder = Recorder::new("scenario:storm");
    let mut cursor = 0;
    for frame in 0..40u32 {
        let at = f64::from(frame) * 100.0;
        let events = (0..2_000)
            .map(|i| {
                cursor += 1;
                event(
                    cursor,
                    at + 1.0 + f64::from(i) * 0.01,
                    TraceKind::Delivered,
                    Some(1),
                    Some(cursor),
                    Some("t"),
                    0,
                )
            })
            .collect();
        recorder.record(&Update {
            events,
            state: Some(BusState {
                at,
                ..BusState::default()
            }),
            ..Update::default()
        });
    }
    assert_eq!(recorder.len(), recording::RECORDED_EVENTS);
    assert!(
        recorder.states() <= 10,
        "{} snapshots kept",
        recorder.states()
    );
    let lines = recording::parse(&recorder.to_ndjson()).expect("parses");
    let first = Player::new(lines).step();
    let state = first.state.expect("the replay starts with a snapshot");
    let first_event = first.events.first().expect("an event").at;
    assert!(state.at <= first_event && first_event - state.at < 300.0);
}

#[wasm_bindgen_test]
fn importing_something_else_fails_with_a_clear_error() {
    assert_eq!(recording::parse(""), Err(ImportError::Empty));
    assert!(matches!(
        recording::parse("{\"hello\":1}"),
        Err(ImportError::NotARecording(_))
    ));
    assert_eq!(
        recording::parse("{\"type\":\"header\",\"format\":\"switchyard-recording\",\"version\":2}"),
        Err(ImportError::UnsupportedVersion(2))
    );
    let bad = "{\"type\":\"header\",\"format\":\"switchyard-recording\",\"version\":1}\n{\"type\":\"event\",\"kind\":\"nope\"}";
    assert!(matches!(
        recording::parse(bad),
        Err(ImportError::BadLine { line: 2, .. })
    ));
    let empty = "{\"type\":\"header\",\"format\":\"switchyard-recording\",\"version\":1}\n";
    assert_eq!(recording::parse(empty), Err(ImportError::NoEvents));
}

#[wasm_bindgen_test]
fn the_url_chooses_the_scenario_and_autoplay() {
    use switchyard_web::app::{launch_from_query, Launch};
    assert_eq!(
        launch_from_query(""),
        Ok(Launch::Scenario {
            id: ScenarioId::Basic,
            autoplay: true
        })
    );
    assert_eq!(
        launch_from_query("?scenario=storm&autoplay=1"),
        Ok(Launch::Scenario {
            id: ScenarioId::Storm,
            autoplay: true
        })
    );
    assert_eq!(
        launch_from_query("?scenario=retry"),
        Ok(Launch::Scenario {
            id: ScenarioId::Retry,
            autoplay: false
        })
    );
    assert_eq!(
        launch_from_query("?attach=demo"),
        Ok(Launch::Attach("demo".into()))
    );
    assert_eq!(launch_from_query("?devtools=1"), Ok(Launch::Devtools));
    assert!(launch_from_query("?scenario=nope")
        .unwrap_err()
        .contains("unknown scenario"));
}

#[wasm_bindgen_test]
fn attach_names_are_checked() {
    use switchyard_web::source::attach::validate_name;
    assert!(validate_name("demo-1").is_ok());
    assert!(validate_name("").is_err());
    assert!(validate_name("a/b").is_err());
    assert!(validate_name(&"x".repeat(65)).is_err());
}

#[wasm_bindgen_test]
fn the_event_log_names_every_drop_and_removal_reason_the_engine_traces() {
    use switchyard_web::model::event::describe_detail;
    let drop = |detail| {
        describe_detail(&event(
            1,
            0.0,
            TraceKind::Dropped,
            Some(0),
            Some(1),
            Some("t"),
            detail,
        ))
    };
    let removal = |detail| {
        describe_detail(&event(
            1,
            0.0,
            TraceKind::Unsubscribed,
            Some(0),
            None,
            None,
            detail,
        ))
    };
    assert_eq!(drop(0), "oldest");
    assert_eq!(drop(1), "newest");
    assert_eq!(drop(2), "subscription removed");
    assert_eq!(drop(3), "retained, topic evicted");
    assert_eq!(removal(0), "");
    assert_eq!(removal(1), "weak owner reclaimed");
    assert_eq!(removal(3), "owner collected while subscribed (leak)");
}

/// The state a real bus sent a viewer (written by `tests/node/attach-shape.test.mjs`, which
/// checks the npm package still produces exactly these keys).
const ATTACH_STATE: &str = include_str!("fixtures/attach-state.json");

#[wasm_bindgen_test]
fn the_visualiser_reads_every_field_of_the_state_a_real_bus_sends() {
    use switchyard_web::source::attach::parse_state;
    let value = js_sys::JSON::parse(ATTACH_STATE).expect("the fixture is JSON");
    let state = parse_state(value).expect("the visualiser parses the package's state");
    let names: Vec<_> = state.subscriptions.iter().map(|s| s.name.clone()).collect();
    assert_eq!(
        names,
        [
            Some("billing".to_string()),
            Some("flaky".to_string()),
            Some("audit".to_string()),
            None,
            Some("bridge:port".to_string()),
        ]
    );
    let billing = &state.subscriptions[0];
    assert_eq!(billing.priority, 2);
    assert_eq!(billing.counters.delivered, 1);
    assert_eq!(state.subscriptions[1].group.as_deref(), Some("payments"));
    let batched = &state.subscriptions[3];
    assert_eq!(
        (batched.delivery.as_str(), batched.capacity),
        ("batched", 8)
    );
    assert_eq!(batched.overflow, "drop-oldest");
    // The order, and the job the link received from the worker.
    assert_eq!(state.totals.published, 2);
    let topics: Vec<&str> = state.topics.iter().map(|t| t.topic.as_str()).collect();
    assert_eq!(topics, ["jobs.done", "orders.created"]);
    let letter = &state.dead_letters[0];
    assert_eq!(letter.subscription_name.as_deref(), Some("flaky"));
    assert_eq!(letter.reason, "handler_error");
    assert_eq!(letter.payload["total"], 5);
    assert_eq!(state.leaks[0].reason, "max_listeners");
    assert_eq!(state.leaks[0].suspects.len(), 2);
    let link = &state.links[0];
    assert_eq!(
        (link.kind.as_str(), link.name.as_str(), link.realm.as_str()),
        ("port", "port", "page")
    );
    assert_eq!(link.state, "follower");
    assert_eq!(link.remotes, ["worker"]);
    assert_eq!(
        (link.received, link.gaps, link.in_flight),
        (1, Some(0), None)
    );
    assert_eq!(link.metrics["received"], 1);
}

/// A `Published` event of a message bridged from `realm`.
fn bridged(cursor: u64, at: f64, topic: &str, realm: &str) -> Event {
    Event {
        origin: Some(switchyard_web::model::event::EventOrigin {
            realm: Arc::from(realm),
        }),
        ..event(
            cursor,
            at,
            TraceKind::Published,
            None,
            Some(cursor),
            Some(topic),
            1,
        )
    }
}

fn link(kind: &str, name: &str, state: &str, remotes: &[&str]) -> BridgeLinkState {
    BridgeLinkState {
        id: 1,
        kind: kind.into(),
        name: name.into(),
        realm: "11111111-2222-3333-4444-555555555555".into(),
        state: state.into(),
        topics: vec!["cart.**".into()],
        remotes: remotes.iter().map(|r| r.to_string()).collect(),
        ..BridgeLinkState::default()
    }
}

#[wasm_bindgen_test]
fn remote_realms_are_publishers_of_the_topology_named_by_the_link_they_came_through() {
    let mut model = Model::default();
    let tab = "3f2a9c1e-0000-4000-8000-000000000001";
    let far = "9c01d2e3-0000-4000-8000-000000000002";
    let state = BusState {
        at: 10.0,
        links: vec![
            link("tabs", "tabs:shop", "follower", &[tab]),
            link("mqtt", "mqtt:ws://broker:8080", "connected", &[]),
        ],
        ..BusState::default()
    };
    model.apply(
        Update {
            events: vec![
                event(
                    1,
                    1.0,
                    TraceKind::Published,
                    None,
                    Some(1),
                    Some("cart.local"),
                    1,
                ),
                bridged(2, 2.0, "cart.add", tab),
                bridged(3, 3.0, "cart.add", tab),
                bridged(4, 4.0, "price.eur", far),
                bridged(5, 5.0, "sensor.t", "mqtt:11111111"),
            ],
            state: Some(state),
            ..Update::default()
        },
        10.0,
    );
    let publishers = topology::publishers(&model);
    let labels: Vec<&str> = publishers.iter().map(|p| p.label.as_str()).collect();
    // This bus's own code first, then the remote realms, the most recently heard first.
    assert_eq!(
        labels,
        ["publish()", "mqtt clients", "mqtt 9c01…", "tab 3f2a…"]
    );
    assert_eq!(publishers[0].topics, ["cart.local"]);
    let tab_node = &publishers[3];
    assert!(tab_node.remote);
    assert_eq!(tab_node.topics, ["cart.add"]);
    assert!(tab_node.title.contains(tab), "{}", tab_node.title);
    assert!(
        tab_node.title.contains("via tabs:shop"),
        "{}",
        tab_node.title
    );
    assert!(tab_node.title.contains("2 messages"), "{}", tab_node.title);
    let graph = topology::build(&model, (860.0, 270.0));
    let remote: Vec<&str> = graph
        .nodes
        .iter()
        .filter(|n| n.class.contains("remote"))
        .map(|n| n.label.as_str())
        .collect();
    assert_eq!(remote, ["mqtt clients", "mqtt 9c01…", "tab 3f2a…"]);
    let edges: Vec<&str> = graph.edges.iter().map(|e| e.key.as_str()).collect();
    assert!(
        edges.contains(&format!("pt:realm:{tab}>cart.add").as_str()),
        "{edges:?}"
    );
    assert!(edges.contains(&"pt:publish()>cart.local"), "{edges:?}");
    assert!(!edges.contains(&format!("pt:realm:{tab}>cart.local").as_str()));
}

#[wasm_bindgen_test]
fn without_bridged_messages_the_topology_keeps_one_anonymous_publisher() {
    let mut model = Model::default();
    model.apply(
        Update {
            events: vec![event(
                1,
                1.0,
                TraceKind::Published,
                None,
                Some(1),
                Some("a.b"),
                0,
            )],
            ..Update::default()
        },
        1.0,
    );
    let publishers = topology::publishers(&model);
    assert_eq!(publishers.len(), 1);
    assert_eq!(publishers[0].label, "publish()");
    assert_eq!(publishers[0].topics, ["**"]);
}

#[wasm_bindgen_test]
fn the_links_view_shows_state_queue_gaps_for_tabs_and_outbox_rtt_reconnects_for_mqtt() {
    use switchyard_web::views::links;
    let mut model = Model::default();
    let tabs = BridgeLinkState {
        sent: 12,
        received: 30,
        queued: 2,
        dropped: 1,
        duplicates: 4,
        gaps: Some(1),
        missed: Some(7),
        peers: Some(2),
        ..link("tabs", "tabs:shop", "leader", &[])
    };
    let mqtt = BridgeLinkState {
        id: 2,
        queued: 5,
        in_flight: Some(3),
        rtt_p50_ms: Some(4.2),
        rtt_p99_ms: Some(18.0),
        reconnects: Some(2),
        dead_lettered: Some(0),
        duplicates: 1,
        last_error: Some("socket closed".into()),
        ..link("mqtt", "mqtt:ws://broker:8080", "waiting", &[])
    };
    model.apply(
        Update {
            state: Some(BusState {
                at: 1.0,
                links: vec![tabs, mqtt],
                ..BusState::default()
            }),
            ..Update::default()
        },
        1.0,
    );
    let rows = links::rows(&model);
    assert_eq!(rows.len(), 2);
    let (t, m) = (&rows[0], &rows[1]);
    assert_eq!((t.state.as_str(), t.tone), ("leader", "ok"));
    assert_eq!(t.peers, "2");
    assert_eq!((t.sent.as_str(), t.received.as_str()), ("12", "30"));
    let figures: Vec<&str> = links::stats(t).iter().map(|f| f.0).collect();
    assert_eq!(
        figures,
        [
            "peers",
            "queued",
            "sent",
            "received",
            "dropped",
            "duplicates",
            "gaps"
        ]
    );
    assert_eq!(t.queued, "2");
    assert_eq!(t.gaps, "1 (7 missed)");
    assert!(t.gapped);
    assert_eq!((t.rtt.as_str(), t.reconnects.as_str()), ("–", "–"));
    assert_eq!(t.realm, "1111…");
    assert_eq!((m.state.as_str(), m.tone), ("waiting", "warn"));
    assert_eq!((m.queued.as_str(), m.in_flight.as_str()), ("5", "3"));
    assert_eq!(m.rtt, "4 / 18 ms");
    assert_eq!(m.reconnects, "2");
    assert_eq!((m.gaps.as_str(), m.peers.as_str()), ("–", "–"));
    assert_eq!(m.error, "socket closed");
    let figures: Vec<&str> = links::stats(m).iter().map(|f| f.0).collect();
    assert_eq!(
        figures,
        [
            "outbox",
            "in flight",
            "rtt p50/p99",
            "reconnects",
            "sent",
            "received",
            "dropped",
            "duplicates",
            "dead letters"
        ]
    );
    model.state.links = vec![link("tabs", "tabs:shop", "disconnected", &[])];
    assert_eq!(links::rows(&model)[0].tone, "bad");
}

#[wasm_bindgen_test]
fn a_field_missing_from_the_state_fails_the_parse_and_is_named() {
    use switchyard_web::source::attach::parse_state;
    for (field, path) in [
        ("depth", "subscriptions"),
        ("deadLettered", "metrics.totals"),
        ("reason", "deadLetters"),
    ] {
        let value = js_sys::JSON::parse(ATTACH_STATE).unwrap();
        let mut target = value.clone();
        for key in path.split('.') {
            target = js_sys::Reflect::get(&target, &key.into()).unwrap();
            if js_sys::Array::is_array(&target) {
                target = js_sys::Array::from(&target).get(0);
            }
        }
        js_sys::Reflect::delete_property(&target.into(), &field.into()).unwrap();
        let error = parse_state(value).expect_err(field);
        assert!(error.contains(field), "{field}: {error}");
    }
}

#[wasm_bindgen_test]
fn a_recorded_state_with_missing_fields_still_imports_with_empty_values() {
    // Recordings are written by hand or by older builds: unlike the attach protocol's state,
    // their snapshots are read leniently.
    let text = "{\"type\":\"header\",\"format\":\"switchyard-recording\",\"version\":1}\n\
        {\"type\":\"state\",\"state\":{\"at\":10,\"subscriptions\":[{\"id\":1,\"pattern\":\"a.*\",\"name\":\"x\"}],\
        \"deadLetters\":[{\"id\":7,\"topic\":\"a.b\",\"payload\":{\"k\":1}}]}}\n\
        {\"type\":\"event\",\"cursor\":0,\"at\":11,\"kind\":\"published\",\"topic\":\"a.b\"}";
    let lines = recording::parse(text).expect("imports");
    let state = lines
        .iter()
        .find_map(|line| match line {
            recording::Line::State { state } => Some(state),
            _ => None,
        })
        .expect("a state line");
    assert_eq!(state.subscriptions[0].name.as_deref(), Some("x"));
    assert_eq!(state.subscriptions[0].depth, 0);
    assert_eq!(state.dead_letters[0].payload["k"], 1);
    assert_eq!(state.dead_letters[0].attempts, 0);
    assert!(
        state.topics.is_empty() && state.publishers.is_empty(),
        "a missing list is empty, not one made-up empty entry: {:?}",
        state.topics
    );
}

#[wasm_bindgen_test]
fn the_views_stable_sort_orders_like_the_standard_one_and_keeps_ties_in_order() {
    let mut seed = 7u64;
    for len in [0, 1, 2, 3, 5, 8, 17, 100, 1000] {
        let items: Vec<(u8, usize)> = (0..len)
            .map(|i| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((seed >> 60) as u8, i)
            })
            .collect();
        let mut ours = items.clone();
        switchyard_web::sort::sort_by(&mut ours, |a, b| a.0.cmp(&b.0));
        let mut expected = items;
        expected.sort_by_key(|item| item.0);
        assert_eq!(ours, expected, "{len} items");
    }
    let mut descending = vec![3, 1, 4, 1, 5, 9, 2, 6];
    switchyard_web::sort::sort_by(&mut descending, |a, b| b.cmp(a));
    assert_eq!(descending, vec![9, 6, 5, 4, 3, 2, 1, 1]);
}

#[wasm_bindgen_test]
fn a_form_controls_number_is_read_and_anything_else_is_none() {
    use switchyard_web::views::parse_number;
    assert_eq!(parse_number("0.05"), Some(0.05));
    assert_eq!(parse_number("15000"), Some(15_000.0));
    assert_eq!(parse_number(" 2.5 "), Some(2.5));
    assert_eq!(parse_number(""), None);
    assert_eq!(parse_number("  "), None);
    assert_eq!(parse_number("fast"), None);
}

/// A frame's `columns` as the bus sends them (docs/ATTACH_PROTOCOL.md): `stride` numbers per
/// event in a `Float64Array`, with `kinds`, `topics` and `origins` tables.
fn columns(stride: u32, rows: &[f64], kinds: &[&str], topics: &[&str]) -> wasm_bindgen::JsValue {
    let object = js_sys::Object::new();
    let set = |key: &str, value: &wasm_bindgen::JsValue| {
        js_sys::Reflect::set(&object, &key.into(), value).unwrap();
    };
    let strings = |list: &[&str]| -> js_sys::Array {
        list.iter()
            .map(|s| wasm_bindgen::JsValue::from_str(s))
            .collect()
    };
    set("stride", &stride.into());
    set("data", &js_sys::Float64Array::from(rows).into());
    set("kinds", &strings(kinds).into());
    set("topics", &strings(topics).into());
    set("origins", &js_sys::Array::new().into());
    object.into()
}

#[wasm_bindgen_test]
fn columns_decode_to_the_events_the_objects_would_give() {
    use switchyard_web::source::attach::decode_columns;
    let kinds: Vec<&str> = TraceKind::ALL.iter().map(|k| k.as_str()).collect();
    let nan = f64::NAN;
    let rows = [
        // cursor, at, kind, subscription, message, topic, detail, origin
        0.0,
        1.5,
        TraceKind::Published as u8 as f64,
        nan,
        7.0,
        0.0,
        2.0,
        -1.0,
        1.0,
        1.5,
        TraceKind::Enqueued as u8 as f64,
        4_294_967_297.0,
        7.0,
        0.0,
        1.0,
        -1.0,
        2.0,
        2.25,
        TraceKind::Subscribed as u8 as f64,
        3.0,
        nan,
        1.0,
        0.0,
        -1.0,
        3.0,
        3.0,
        TraceKind::Paused as u8 as f64,
        3.0,
        nan,
        -1.0,
        0.0,
        0.0,
    ];
    let (events, unknown) =
        decode_columns(&columns(8, &rows, &kinds, &["orders.created", "orders.*"])).unwrap();
    assert_eq!(unknown, 0);
    assert_eq!(
        events,
        vec![
            event(
                0,
                1.5,
                TraceKind::Published,
                None,
                Some(7),
                Some("orders.created"),
                2
            ),
            event(
                1,
                1.5,
                TraceKind::Enqueued,
                Some(4_294_967_297),
                Some(7),
                Some("orders.created"),
                1
            ),
            event(
                2,
                2.25,
                TraceKind::Subscribed,
                Some(3),
                None,
                Some("orders.*"),
                0
            ),
            event(3, 3.0, TraceKind::Paused, Some(3), None, None, 0),
        ]
    );
}

#[wasm_bindgen_test]
fn columns_of_a_newer_bus_skip_unknown_kinds_as_missed_and_read_a_longer_stride() {
    use switchyard_web::source::attach::decode_columns;
    // Kind 1 is a name this build does not know; each row has a ninth, unknown column.
    let rows = [
        0.0, 1.0, 0.0, 1.0, 2.0, 0.0, 0.0, -1.0, 42.0, 1.0, 2.0, 1.0, 1.0, 3.0, 0.0, 0.0, -1.0,
        42.0,
    ];
    let (events, unknown) =
        decode_columns(&columns(9, &rows, &["delivered", "teleported"], &["t"])).unwrap();
    assert_eq!(unknown, 1);
    assert_eq!(
        events,
        vec![event(
            0,
            1.0,
            TraceKind::Delivered,
            Some(1),
            Some(2),
            Some("t"),
            0
        )]
    );
    // Not columns at all: an error naming the field, not a panic.
    let bad = columns(3, &[1.0, 2.0, 3.0], &[], &[]);
    assert!(decode_columns(&bad).unwrap_err().contains("stride"));
    let no_data = js_sys::Object::new();
    js_sys::Reflect::set(&no_data, &"stride".into(), &8.into()).unwrap();
    assert!(decode_columns(&no_data.into())
        .unwrap_err()
        .contains("Float64Array"));
}

#[wasm_bindgen_test]
fn topology_columns_never_overlap_down_to_the_docked_panel_width() {
    // 360 px: the narrowest topology pane of the docked panel (a 980 px window).
    for width in (360..=1400).step_by(10) {
        let width = f64::from(width);
        let c = topology::columns(width);
        let gaps = [
            (c.topic_x - c.node_w / 2.0) - (c.pub_x + c.node_w / 2.0),
            (c.sub_x - c.sub_w / 2.0) - (c.topic_x + c.node_w / 2.0),
        ];
        assert!(
            gaps.iter().all(|g| *g >= 8.0),
            "at {width} px: gaps {gaps:?} ({c:?})"
        );
        assert!(
            c.pub_x - c.node_w / 2.0 >= 0.0 && c.sub_x + c.sub_w / 2.0 <= width,
            "at {width} px: {c:?}"
        );
    }
    // Wide panes keep the usual places and sizes.
    let wide = topology::columns(1000.0);
    assert_eq!(
        (wide.node_w, wide.sub_w, wide.topic_x),
        (130.0, 190.0, 450.0)
    );
}

#[wasm_bindgen_test]
fn a_javascript_exception_reads_as_its_name_and_message_without_a_stack() {
    use switchyard_web::js::error_text;
    use wasm_bindgen::JsValue;
    let thrown = js_sys::Function::new_no_args("return null.x")
        .call0(&JsValue::NULL)
        .expect_err("reading a property of null throws");
    let text = error_text(&thrown);
    assert!(text.starts_with("TypeError: "), "{text}");
    assert!(!text.contains("JsValue(") && !text.contains("\n"), "{text}");
    assert_eq!(
        error_text(&js_sys::Error::new("boom").into()),
        "Error: boom"
    );
    let document = web_sys::window()
        .and_then(|w| w.document())
        .expect("document");
    let refused = document
        .create_element("<not a name>")
        .expect_err("an invalid element name throws a DOMException");
    let text = error_text(&refused);
    assert!(text.starts_with("InvalidCharacterError: "), "{text}");
    assert_eq!(error_text(&JsValue::from_str("plain words")), "plain words");
}
