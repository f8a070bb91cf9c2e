//! The built-in scenarios: each is a bus configuration, a set of subscriptions with simulated
//! handlers, producers publishing at a rate, and an optional scripted behaviour. They run on
//! the real `switchyard-core` engine through [`super::driver::Driver`].

use core::time::Duration;

use serde_json::{json, Value};
use switchyard_core::{
    BreakerPolicy, Config, DeliveryStrategy, OrderingMode, Overflow, RetryPolicy, SubscribeOptions,
};

/// The scenarios, in menu order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScenarioId {
    /// Publish / subscribe.
    Basic,
    /// A failure, then success on retry.
    Retry,
    /// Several subscribers on overlapping patterns, priorities and a consumer group.
    Broadcast,
    /// Batched delivery, strategy swaps and explicit flushes.
    Batched,
    /// Full queues under every overflow policy, failures into dead letters, a breaker.
    BackpressureDlq,
    /// An async handler slower than its producer.
    SlowConsumer,
    /// Components mount and unmount; some forget to unsubscribe.
    LeakyComponent,
    /// An A→B→A loop caught by the cascade limit.
    Cascade,
    /// 50 000 messages/s across 200 subscriptions.
    Storm,
}

impl ScenarioId {
    /// Every scenario, in menu order.
    pub const ALL: [ScenarioId; 9] = [
        ScenarioId::Basic,
        ScenarioId::Retry,
        ScenarioId::Broadcast,
        ScenarioId::Batched,
        ScenarioId::BackpressureDlq,
        ScenarioId::SlowConsumer,
        ScenarioId::LeakyComponent,
        ScenarioId::Cascade,
        ScenarioId::Storm,
    ];

    /// The URL name (`?scenario=NAME`).
    pub fn name(self) -> &'static str {
        match self {
            ScenarioId::Basic => "basic",
            ScenarioId::Retry => "retry",
            ScenarioId::Broadcast => "broadcast",
            ScenarioId::Batched => "batched",
            ScenarioId::BackpressureDlq => "backpressure-dlq",
            ScenarioId::SlowConsumer => "slow-consumer",
            ScenarioId::LeakyComponent => "leaky-component",
            ScenarioId::Cascade => "cascade",
            ScenarioId::Storm => "storm",
        }
    }

    /// The scenario with URL name `name`.
    pub fn from_name(name: &str) -> Option<ScenarioId> {
        ScenarioId::ALL.into_iter().find(|s| s.name() == name)
    }

    /// One line on what to look at.
    pub fn description(self) -> &'static str {
        match self {
            ScenarioId::Basic => "An order service publishes; billing, audit and analytics subscribe with exact, `*` and `**` patterns.",
            ScenarioId::Retry => "charge-card fails the first attempt of every third payment and succeeds on retry (backoff 300 ms ×2); a few exhaust 3 attempts and are dead-lettered.",
            ScenarioId::Broadcast => "One news feed, five subscribers: priorities decide order, a consumer group shares messages round-robin.",
            ScenarioId::Batched => "analytics receives batches of 10 (or after 1 s); audit swaps between immediate and batched every 6 s and is flushed explicitly.",
            ScenarioId::BackpressureDlq => "Jobs arrive faster than workers finish: drop-oldest and reject queues fill, the mailer fails into dead letters and trips its breaker.",
            ScenarioId::SlowConsumer => "The archiver's async handler takes 40 ms while sensors publish 80/s: its queue grows and drops its oldest; the dashboard is unaffected.",
            ScenarioId::LeakyComponent => "UI components mount and unmount; about a third forget to unsubscribe and are reported when their owner is collected or listeners pile up.",
            ScenarioId::Cascade => "ping's handler publishes pong, pong's publishes ping: the cascade limit (16 hops) refuses the loop each round.",
            ScenarioId::Storm => "50 000 messages/s over 200 subscriptions: the views aggregate per frame.",
        }
    }
}

/// How a simulated handler behaves.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HandlerSpec {
    /// Handler time in ms; above 0 the handler is async (pending, settled by a timer).
    pub latency_ms: f64,
    /// Probability that an attempt fails.
    pub failure_rate: f64,
    /// Fail the first attempt of every n-th message (deterministic retries).
    pub fail_first_of_every: Option<u64>,
    /// Topic the handler publishes to (causation = the message it handles).
    pub publishes: Option<&'static str>,
}

/// A subscription the scenario creates at start.
#[derive(Clone, Debug)]
pub struct SubscriptionDef {
    /// Pattern.
    pub pattern: String,
    /// Options (name, capacity, policy...).
    pub options: SubscribeOptions,
    /// Its simulated handler.
    pub handler: HandlerSpec,
}

/// Payload builder: message number and topic to JSON.
pub type PayloadFn = fn(u64, &str) -> Value;

/// A producer publishing at a steady rate, cycling through its topics.
#[derive(Clone, Debug)]
pub struct ProducerDef {
    /// Display name.
    pub name: &'static str,
    /// Topics it publishes to, in turn.
    pub topics: Vec<String>,
    /// Messages per second (before the rate control's scale).
    pub rate: f64,
    /// Payload builder.
    pub payload: PayloadFn,
}

/// Scripted behaviour on top of steady producers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Behaviour {
    /// Nothing more.
    Steady,
    /// Components mount and unmount; some leak.
    Leaky,
    /// Swap subscription `index` between immediate and batched every `every_ms`, flush
    /// subscription `flush_index` every `flush_ms`.
    StrategyCycle {
        /// Subscription swapped.
        index: usize,
        /// Swap period.
        every_ms: f64,
        /// Subscription flushed.
        flush_index: usize,
        /// Flush period.
        flush_ms: f64,
    },
    /// Publish a root `topic` message every `every_ms`.
    CascadeRoots {
        /// Root topic.
        topic: &'static str,
        /// Period.
        every_ms: f64,
    },
}

/// A complete scenario.
#[derive(Clone, Debug)]
pub struct ScenarioDef {
    /// Which.
    pub id: ScenarioId,
    /// Bus configuration.
    pub config: Config,
    /// Subscriptions created at start.
    pub subscriptions: Vec<SubscriptionDef>,
    /// Producers.
    pub producers: Vec<ProducerDef>,
    /// Scripted behaviour.
    pub behaviour: Behaviour,
}

fn sub(pattern: &str, name: &str, handler: HandlerSpec) -> SubscriptionDef {
    SubscriptionDef {
        pattern: pattern.to_string(),
        options: SubscribeOptions {
            name: Some(name.to_string()),
            ..SubscribeOptions::default()
        },
        handler,
    }
}

fn sync_ok() -> HandlerSpec {
    HandlerSpec::default()
}

fn async_ok(latency_ms: f64) -> HandlerSpec {
    HandlerSpec {
        latency_ms,
        ..HandlerSpec::default()
    }
}

fn order(n: u64, topic: &str) -> Value {
    let names = ["Ada", "Grace", "Linus", "Barbara", "Ken", "Margaret"];
    let name = names
        .get((n % names.len() as u64) as usize)
        .copied()
        .unwrap_or("Ada");
    json!({
        "orderId": format!("ord-{n:05}"),
        "event": topic,
        "customer": { "id": format!("c-{}", n % 97), "name": name },
        "items": [ { "sku": format!("SKU-{}", n % 13), "qty": 1 + n % 3 }, { "sku": "GIFT-WRAP", "qty": 1 } ],
        "total": ((n * 1737) % 20000) as f64 / 100.0,
        "currency": "EUR"
    })
}

fn payment(n: u64, _topic: &str) -> Value {
    json!({ "paymentId": format!("pay-{n:05}"), "amount": ((n * 911) % 50000) as f64 / 100.0, "card": { "brand": "visa", "last4": format!("{:04}", (n * 37) % 10000) } })
}

fn news(n: u64, topic: &str) -> Value {
    json!({ "headline": format!("Story {n} on {topic}"), "words": 300 + (n * 53) % 900, "breaking": topic.ends_with("breaking") })
}

fn job(n: u64, _topic: &str) -> Value {
    let kinds = ["resize", "transcode", "email", "report"];
    let kind = kinds[(n % 4) as usize];
    json!({ "jobId": n, "kind": kind, "priority": n % 3 })
}

fn reading(n: u64, topic: &str) -> Value {
    json!({ "sensor": topic, "celsius": 18.0 + ((n * 7) % 90) as f64 / 10.0, "sample": n })
}

fn ui_event(n: u64, topic: &str) -> Value {
    json!({ "topic": topic, "theme": if n.is_multiple_of(2) { "dark" } else { "light" }, "n": n })
}

fn tick(n: u64, _topic: &str) -> Value {
    Value::from(n)
}

fn topics(list: &[&str]) -> Vec<String> {
    list.iter().map(|t| (*t).to_string()).collect()
}

fn traced(capacity: usize) -> Config {
    Config {
        trace_capacity: capacity,
        dead_letter_capacity: 200,
        ..Config::default()
    }
}

/// The definition of scenario `id`.
pub fn definition(id: ScenarioId) -> ScenarioDef {
    match id {
        ScenarioId::Basic => ScenarioDef {
            id,
            config: traced(8_192),
            subscriptions: vec![
                sub("orders.created", "billing", async_ok(8.0)),
                sub("orders.*", "audit-log", sync_ok()),
                sub("orders.**", "analytics", async_ok(20.0)),
            ],
            producers: vec![
                ProducerDef {
                    name: "checkout",
                    topics: topics(&["orders.created"]),
                    rate: 4.0,
                    payload: order,
                },
                ProducerDef {
                    name: "warehouse",
                    topics: topics(&["orders.shipped", "orders.eu.returned"]),
                    rate: 1.5,
                    payload: order,
                },
            ],
            behaviour: Behaviour::Steady,
        },
        ScenarioId::Retry => {
            let retry = RetryPolicy {
                max_attempts: 3,
                backoff: Duration::from_millis(300),
                factor: 2.0,
                ..RetryPolicy::default()
            };
            let mut charge = sub(
                "payments.charge",
                "charge-card",
                HandlerSpec {
                    latency_ms: 15.0,
                    failure_rate: 0.04,
                    fail_first_of_every: Some(3),
                    publishes: None,
                },
            );
            charge.options.retry = Some(retry);
            ScenarioDef {
                id,
                config: traced(8_192),
                subscriptions: vec![charge, sub("payments.*", "fraud-check", sync_ok())],
                producers: vec![ProducerDef {
                    name: "checkout",
                    topics: topics(&["payments.charge"]),
                    rate: 4.0,
                    payload: payment,
                }],
                behaviour: Behaviour::Steady,
            }
        }
        ScenarioId::Broadcast => {
            let mut archive = sub("news.**", "archive", sync_ok());
            archive.options.priority = 10;
            let mut group_a = sub("news.*.breaking", "push-notifier-1", async_ok(5.0));
            group_a.options.group = Some("push".into());
            let mut group_b = sub("news.*.breaking", "push-notifier-2", async_ok(5.0));
            group_b.options.group = Some("push".into());
            ScenarioDef {
                id,
                config: traced(8_192),
                subscriptions: vec![
                    archive,
                    sub("news.sports.*", "sports-desk", async_ok(10.0)),
                    sub("news.weather.*", "weather-widget", sync_ok()),
                    group_a,
                    group_b,
                ],
                producers: vec![ProducerDef {
                    name: "newsroom",
                    topics: topics(&[
                        "news.sports.football",
                        "news.weather.today",
                        "news.sports.breaking",
                        "news.politics.breaking",
                        "news.weather.breaking",
                    ]),
                    rate: 6.0,
                    payload: news,
                }],
                behaviour: Behaviour::Steady,
            }
        }
        ScenarioId::Batched => {
            let mut analytics = sub("clicks.*", "analytics", async_ok(12.0));
            analytics.options.delivery = DeliveryStrategy::Batched {
                size: 10,
                max_wait: Duration::from_secs(1),
            };
            ScenarioDef {
                id,
                config: traced(8_192),
                subscriptions: vec![
                    analytics,
                    sub("clicks.**", "audit", sync_ok()),
                    sub("clicks.button", "ui-state", sync_ok()),
                ],
                producers: vec![ProducerDef {
                    name: "browser",
                    topics: topics(&["clicks.button", "clicks.link", "clicks.button"]),
                    rate: 8.0,
                    payload: ui_event,
                }],
                behaviour: Behaviour::StrategyCycle {
                    index: 1,
                    every_ms: 6_000.0,
                    flush_index: 0,
                    flush_ms: 4_000.0,
                },
            }
        }
        ScenarioId::BackpressureDlq => {
            let mut worker = sub("jobs.*", "worker", async_ok(25.0));
            worker.options.capacity = Some(64);
            worker.options.overflow = Some(Overflow::DropOldest);
            let mut thumbnails = sub("jobs.submitted", "thumbnailer", async_ok(12.0));
            thumbnails.options.capacity = Some(48);
            thumbnails.options.overflow = Some(Overflow::DropNewest);
            let mut ledger = sub("jobs.submitted", "ledger", async_ok(9.0));
            ledger.options.capacity = Some(128);
            ledger.options.overflow = Some(Overflow::Reject);
            let mut mailer = sub(
                "jobs.*",
                "mailer",
                HandlerSpec {
                    latency_ms: 4.0,
                    failure_rate: 0.45,
                    ..HandlerSpec::default()
                },
            );
            mailer.options.retry = Some(RetryPolicy {
                max_attempts: 2,
                backoff: Duration::from_millis(100),
                ..RetryPolicy::default()
            });
            mailer.options.breaker = Some(BreakerPolicy {
                failures: 6,
                cooldown: Duration::from_secs(2),
                failure_ratio: None,
            });
            ScenarioDef {
                id,
                config: traced(16_384),
                subscriptions: vec![worker, thumbnails, ledger, mailer],
                producers: vec![ProducerDef {
                    name: "api",
                    topics: topics(&["jobs.submitted"]),
                    rate: 120.0,
                    payload: job,
                }],
                behaviour: Behaviour::Steady,
            }
        }
        ScenarioId::SlowConsumer => {
            let mut archiver = sub("sensors.**", "archiver", async_ok(40.0));
            archiver.options.capacity = Some(512);
            archiver.options.overflow = Some(Overflow::DropOldest);
            ScenarioDef {
                id,
                config: traced(16_384),
                subscriptions: vec![
                    archiver,
                    sub("sensors.*.temp", "dashboard", sync_ok()),
                    sub("sensors.kitchen.*", "kitchen-alarm", sync_ok()),
                ],
                producers: vec![ProducerDef {
                    name: "sensors",
                    topics: topics(&[
                        "sensors.kitchen.temp",
                        "sensors.garage.temp",
                        "sensors.attic.temp",
                        "sensors.kitchen.humidity",
                    ]),
                    rate: 80.0,
                    payload: reading,
                }],
                behaviour: Behaviour::Steady,
            }
        }
        ScenarioId::LeakyComponent => ScenarioDef {
            id,
            config: Config {
                max_listeners: 12,
                trend_window: Some(Duration::from_secs(2)),
                trend_windows: 3,
                ..traced(8_192)
            },
            subscriptions: vec![sub("ui.**", "devtools-logger", sync_ok())],
            producers: vec![ProducerDef {
                name: "app-shell",
                topics: topics(&[
                    "ui.theme.changed",
                    "ui.cart.updated",
                    "ui.theme.changed",
                    "ui.toast.shown",
                ]),
                rate: 5.0,
                payload: ui_event,
            }],
            behaviour: Behaviour::Leaky,
        },
        ScenarioId::Cascade => {
            let config = Config {
                max_cascade_depth: 16,
                ..traced(8_192)
            };
            ScenarioDef {
                id,
                config,
                subscriptions: vec![
                    sub(
                        "loop.ping",
                        "ping→pong",
                        HandlerSpec {
                            latency_ms: 20.0,
                            publishes: Some("loop.pong"),
                            ..HandlerSpec::default()
                        },
                    ),
                    sub(
                        "loop.pong",
                        "pong→ping",
                        HandlerSpec {
                            latency_ms: 20.0,
                            publishes: Some("loop.ping"),
                            ..HandlerSpec::default()
                        },
                    ),
                    sub("loop.*", "loop-monitor", sync_ok()),
                ],
                producers: Vec::new(),
                behaviour: Behaviour::CascadeRoots {
                    topic: "loop.ping",
                    every_ms: 1_500.0,
                },
            }
        }
        ScenarioId::Storm => {
            let subscriptions = (0..200)
                .map(|i| {
                    let mut def = sub(
                        &format!("storm.p{i}"),
                        &format!("consumer-{i:03}"),
                        HandlerSpec {
                            failure_rate: if i % 40 == 7 { 0.01 } else { 0.0 },
                            ..HandlerSpec::default()
                        },
                    );
                    def.options.ordering = OrderingMode::Strict;
                    def
                })
                .collect();
            ScenarioDef {
                id,
                config: Config {
                    trace_capacity: 65_536,
                    dead_letter_capacity: 200,
                    ..Config::default()
                },
                subscriptions,
                producers: vec![ProducerDef {
                    name: "firehose",
                    topics: (0..200).map(|i| format!("storm.p{i}")).collect(),
                    rate: 50_000.0,
                    payload: tick,
                }],
                behaviour: Behaviour::Steady,
            }
        }
    }
}

/// Topics a leaky component of kind `n` subscribes to, and its name.
pub fn leaky_component(n: u64) -> (&'static str, &'static str) {
    match n % 3 {
        0 => ("ui.theme.changed", "ThemeBadge"),
        1 => ("ui.cart.*", "CartIcon"),
        _ => ("ui.toast.**", "ToastHost"),
    }
}
