//! Runs a built-in scenario on the real engine: publishes at each producer's rate, runs every
//! delivery's simulated handler (latency, failures, async settles by timer), drives
//! `poll_timeout`/`handle_timeout`, and reads the trace by cursor once per frame.
//!
//! The driver keeps its own clock, which moves only while the scenario plays, so pausing
//! freezes the bus exactly where it is.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

use core::time::Duration;
use serde_json::Value;
use switchyard_core::{
    BreakerState, Bus, DeadLetterReason, DeliveryStrategy, Instant, LeakReason, OrderingMode,
    Outcome, Overflow, OwnerId, PublishOptions, SubscribeOptions, SubscriptionId, SubscriptionInfo,
};

use super::scenarios::{self, Behaviour, HandlerSpec, ScenarioDef, ScenarioId};
use super::Tuning;
use crate::model::state::{
    BusState, Counts, DeadLetterState, Latency, LeakState, LeakSuspectState, PublisherState,
    SubState, TopicState,
};
use crate::model::{Event, Update};
use crate::source::rng::Rng;

/// The payload type of scenario buses.
pub type Payload = Arc<Value>;

/// Longest simulated step per frame (ms): a frame after a long stall does not replay the gap,
/// and a slow frame does not make the next one slower (a step's work grows with its length, so
/// a 100 ms step after a stall made the next frames stall too). At 60 fps a step is 16.7 ms.
const MAX_STEP_MS: f64 = 50.0;
/// Most deliveries run per frame.
const DELIVERY_BUDGET: usize = 40_000;
/// How often a state snapshot is taken (ms): the period of the backpressure samples and of the
/// recorder's snapshots (the views refresh about as often). A snapshot of a storm's 200
/// subscriptions is the most expensive thing a frame does, so not more often than needed.
const STATE_EVERY_MS: f64 = 250.0;
/// Leaked components kept before the simulated page "reloads".
const LEAKY_RELOAD_AT: usize = 36;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Settle {
    due_micros: u64,
    token: u64,
    ok: bool,
}

#[derive(Debug)]
struct Producer {
    def: scenarios::ProducerDef,
    owed: f64,
    next_topic: usize,
    sent: u64,
}

#[derive(Debug)]
struct Component {
    owner: u64,
    sub: SubscriptionId,
    unmount_at: f64,
    leaks: bool,
    collected_at: Option<f64>,
}

/// A scenario running on a `Bus<Payload>`.
pub struct Driver {
    id: ScenarioId,
    bus: Bus<Payload>,
    handlers: HashMap<u64, HandlerSpec>,
    /// Each subscription's own queue limits (before any tuning override), restored when a
    /// control goes back to "scenario default".
    limits: HashMap<u64, (usize, Overflow)>,
    producers: Vec<Producer>,
    behaviour: Behaviour,
    tuning: Tuning,
    pending: BinaryHeap<Reverse<Settle>>,
    rng: Rng,
    clock: f64,
    cursor: u64,
    last_state: Option<f64>,
    next_behaviour_at: f64,
    next_flush_at: f64,
    swapped: bool,
    components: Vec<Component>,
    next_owner: u64,
    payload_stride: u64,
    published: u64,
    notes: Vec<String>,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("scenario", &self.id)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

fn now_instant(ms: f64) -> Instant {
    Instant::from_millis_f64(ms)
}

impl Driver {
    /// Starts scenario `id` with `tuning` applied (capacity, overflow and delivery overrides
    /// are applied to every subscription at creation).
    pub fn new(id: ScenarioId, tuning: Tuning) -> Result<Driver, String> {
        let def: ScenarioDef = scenarios::definition(id);
        let bus =
            Bus::new(def.config.clone()).map_err(|e| format!("scenario {}: {e}", id.name()))?;
        let payload_stride = if id == ScenarioId::Storm { 97 } else { 1 };
        let mut driver = Driver {
            id,
            bus,
            handlers: HashMap::default(),
            limits: HashMap::default(),
            producers: def
                .producers
                .iter()
                .cloned()
                .map(|def| Producer {
                    def,
                    owed: 0.0,
                    next_topic: 0,
                    sent: 0,
                })
                .collect(),
            behaviour: def.behaviour,
            tuning,
            pending: BinaryHeap::new(),
            rng: Rng::new(0x5157_C4A2_D00D_0001 ^ id.name().len() as u64),
            clock: 0.0,
            cursor: 0,
            last_state: None,
            next_behaviour_at: 0.0,
            next_flush_at: 0.0,
            swapped: false,
            components: Vec::new(),
            next_owner: 1,
            payload_stride,
            published: 0,
            notes: Vec::new(),
        };
        for sub in def.subscriptions {
            driver.subscribe(&sub.pattern, sub.options, sub.handler)?;
        }
        Ok(driver)
    }

    /// Which scenario runs.
    pub fn scenario(&self) -> ScenarioId {
        self.id
    }

    /// The driver's clock (ms).
    pub fn clock(&self) -> f64 {
        self.clock
    }

    /// Problems met while running (errors a scenario did not expect), newest last.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    fn note(&mut self, text: String) {
        if self.notes.len() >= 20 {
            self.notes.remove(0);
        }
        self.notes.push(text);
    }

    fn subscribe(
        &mut self,
        pattern: &str,
        mut options: SubscribeOptions,
        handler: HandlerSpec,
    ) -> Result<SubscriptionId, String> {
        let own_limits = (
            options.capacity.unwrap_or(self.bus.config().capacity),
            options.overflow.unwrap_or(self.bus.config().overflow),
        );
        if let Some(capacity) = self.tuning.capacity {
            options.capacity = Some(capacity);
        }
        if let Some(overflow) = self.tuning.overflow {
            options.overflow = Some(overflow);
        }
        if let Some(strategy) = self.tuning.delivery {
            options.delivery = strategy;
        }
        let id = self
            .bus
            .subscribe(pattern, options, now_instant(self.clock))
            .map_err(|e| format!("subscribe {pattern}: {e}"))?;
        self.handlers.insert(id.to_bits(), handler);
        self.limits.insert(id.to_bits(), own_limits);
        Ok(id)
    }

    /// Applies new live controls to the running bus, keeping every queued message except
    /// what a smaller capacity evicts:
    ///
    /// * a delivery-strategy change is swapped on every subscription;
    /// * an overflow or capacity change is applied with `Bus::set_overflow` and
    ///   `Bus::set_capacity` (policy first, so the new policy decides what a shrink evicts);
    ///   going back to "scenario default" restores each subscription's own limits.
    ///
    /// Returns how many queued messages a shrink evicted (counted and traced as drops).
    pub fn set_tuning(&mut self, tuning: Tuning) -> usize {
        let now = now_instant(self.clock);
        let ids: Vec<SubscriptionId> = self.bus.subscriptions().iter().map(|s| s.id).collect();
        if tuning.delivery != self.tuning.delivery {
            if let Some(strategy) = tuning.delivery {
                for &id in &ids {
                    if let Err(e) = self.bus.set_delivery(id, strategy, now) {
                        self.note(format!("set_delivery: {e}"));
                    }
                }
            }
        }
        let mut evicted = 0;
        if tuning.overflow != self.tuning.overflow || tuning.capacity != self.tuning.capacity {
            for &id in &ids {
                let (own_capacity, own_overflow) = self
                    .limits
                    .get(&id.to_bits())
                    .copied()
                    .unwrap_or((self.bus.config().capacity, self.bus.config().overflow));
                let overflow = tuning.overflow.unwrap_or(own_overflow);
                let capacity = tuning.capacity.unwrap_or(own_capacity);
                let result = self
                    .bus
                    .set_overflow(id, overflow, now)
                    .and_then(|()| self.bus.set_capacity(id, capacity, now));
                match result {
                    Ok(n) => evicted += n,
                    Err(e) => self.note(format!("queue limits: {e}")),
                }
            }
        }
        self.tuning = tuning;
        evicted
    }

    /// Advances the scenario by `dt_ms` of real time and returns what happened.
    pub fn tick(&mut self, dt_ms: f64) -> Update {
        let step = if dt_ms.is_finite() {
            dt_ms.clamp(0.0, MAX_STEP_MS)
        } else {
            0.0
        };
        self.clock += step;
        let now = now_instant(self.clock);
        self.settle_due(now);
        self.fire_timers(now);
        self.run_behaviour(now);
        let payloads = self.produce(step, now);
        self.deliver(now);
        self.fire_timers(now);
        let mut update = self.read_trace();
        update.payloads = payloads;
        if self
            .last_state
            .is_none_or(|t| self.clock - t >= STATE_EVERY_MS)
        {
            self.last_state = Some(self.clock);
            update.state = Some(self.snapshot());
        }
        update
    }

    /// Takes a fresh snapshot now.
    pub fn snapshot_now(&mut self) -> Update {
        let mut update = self.read_trace();
        self.last_state = Some(self.clock);
        update.state = Some(self.snapshot());
        update
    }

    fn settle_due(&mut self, now: Instant) {
        while let Some(Reverse(next)) = self.pending.peek().copied() {
            if next.due_micros > now.as_micros() {
                break;
            }
            self.pending.pop();
            let result = if next.ok {
                Ok(())
            } else {
                Err("simulated async failure".to_string())
            };
            // A settle may legitimately be refused (the delivery timed out, or its
            // subscription was removed); the engine counts those itself.
            let _ = self
                .bus
                .settle(switchyard_core::DeliveryToken(next.token), result, now);
        }
    }

    fn fire_timers(&mut self, now: Instant) {
        for _ in 0..4 {
            match self.bus.poll_timeout() {
                Some(due) if due <= now => self.bus.handle_timeout(now),
                _ => break,
            }
        }
    }

    fn produce(&mut self, step: f64, now: Instant) -> Vec<(u64, Arc<str>, Arc<Value>)> {
        let mut payloads = Vec::new();
        let scale = self.tuning.rate_scale.clamp(0.0, 100.0);
        let Driver {
            producers,
            bus,
            published,
            payload_stride,
            ..
        } = self;
        for producer in producers.iter_mut() {
            let rate = producer.def.rate * scale;
            producer.owed += rate * step / 1_000.0;
            let count = producer.owed.floor().min(rate.max(1.0));
            producer.owed -= count;
            let topics = producer.def.topics.len();
            if topics == 0 {
                continue;
            }
            for _ in 0..count as u64 {
                let topic = producer.def.topics[producer.next_topic % topics].as_str();
                producer.next_topic = producer.next_topic.wrapping_add(1);
                producer.sent = producer.sent.saturating_add(1);
                let payload = Arc::new((producer.def.payload)(producer.sent, topic));
                // Refusals (backpressure, cascade) are traced and counted by the engine.
                if let Ok(done) =
                    bus.publish(topic, payload.clone(), PublishOptions::default(), now)
                {
                    *published = published.saturating_add(1);
                    if done.id.0 % *payload_stride == 0 {
                        payloads.push((done.id.0, Arc::from(topic), payload));
                    }
                }
            }
        }
        payloads
    }

    fn handler_for(&self, sub: u64) -> HandlerSpec {
        let mut spec = self.handlers.get(&sub).cloned().unwrap_or_default();
        if let Some(latency) = self.tuning.latency_ms {
            spec.latency_ms = latency;
        }
        if let Some(rate) = self.tuning.failure_rate {
            spec.failure_rate = rate;
        }
        spec
    }

    fn deliver(&mut self, now: Instant) {
        let mut budget = DELIVERY_BUDGET;
        while budget > 0 {
            let Some(delivery) = self.bus.poll_delivery(now) else {
                break;
            };
            budget -= 1;
            let spec = self.handler_for(delivery.subscription.to_bits());
            let mut fails = false;
            for item in &delivery.items {
                if let Some(every) = spec.fail_first_of_every {
                    if item.attempt == 1 && every > 0 && item.message.id.0 % every == 0 {
                        fails = true;
                    }
                }
                if let Some(topic) = spec.publishes {
                    let options = PublishOptions {
                        causation: Some(item.message.id),
                        ..PublishOptions::default()
                    };
                    let payload = Arc::new(scenarios_payload(item.message.depth, topic));
                    // A refusal here is the point of the cascade scenario: the engine traces it.
                    let _ = self.bus.publish(topic, payload, options, now);
                }
            }
            if !fails && spec.failure_rate > 0.0 {
                fails = self.rng.chance(spec.failure_rate);
            }
            let token = delivery.token;
            if spec.latency_ms > 0.0 {
                if self.bus.complete(token, Outcome::Pending, now).is_ok() {
                    let jitter = 0.6 + 0.8 * self.rng.next_f64();
                    let due = now.saturating_add(Duration::from_micros(
                        (spec.latency_ms * jitter * 1_000.0) as u64,
                    ));
                    self.pending.push(Reverse(Settle {
                        due_micros: due.as_micros(),
                        token: token.0,
                        ok: !fails,
                    }));
                }
            } else {
                let outcome = if fails {
                    Outcome::Failed("simulated handler error".to_string())
                } else {
                    Outcome::Delivered
                };
                if let Err(e) = self.bus.complete(token, outcome, now) {
                    self.note(format!("complete: {e}"));
                }
            }
        }
    }

    fn run_behaviour(&mut self, now: Instant) {
        match self.behaviour {
            Behaviour::Steady => {}
            Behaviour::StrategyCycle {
                index,
                every_ms,
                flush_index,
                flush_ms,
            } => {
                let ids: Vec<SubscriptionId> =
                    self.bus.subscriptions().iter().map(|s| s.id).collect();
                if self.clock >= self.next_behaviour_at {
                    if self.next_behaviour_at > 0.0 {
                        if let Some(id) = ids.get(index).copied() {
                            self.swapped = !self.swapped;
                            let strategy = if self.swapped {
                                DeliveryStrategy::Batched {
                                    size: 5,
                                    max_wait: Duration::from_millis(800),
                                }
                            } else {
                                DeliveryStrategy::Immediate
                            };
                            if let Err(e) = self.bus.set_delivery(id, strategy, now) {
                                self.note(format!("swap: {e}"));
                            }
                        }
                    }
                    self.next_behaviour_at = self.clock + every_ms;
                }
                if self.clock >= self.next_flush_at {
                    if self.next_flush_at > 0.0 {
                        if let Some(id) = ids.get(flush_index).copied() {
                            let _ = self.bus.flush(id, now);
                        }
                    }
                    self.next_flush_at = self.clock + flush_ms;
                }
            }
            Behaviour::CascadeRoots { topic, every_ms } => {
                if self.clock >= self.next_behaviour_at {
                    self.next_behaviour_at = self.clock + every_ms;
                    let payload = Arc::new(scenarios_payload(0, topic));
                    if let Ok(p) =
                        self.bus
                            .publish(topic, payload.clone(), PublishOptions::default(), now)
                    {
                        self.published = self.published.saturating_add(1);
                        let _ = p;
                    }
                }
            }
            Behaviour::Leaky => self.run_leaky(now),
        }
    }

    fn run_leaky(&mut self, now: Instant) {
        // Mount a component every 350 ms.
        if self.clock >= self.next_behaviour_at {
            self.next_behaviour_at = self.clock + 350.0;
            let owner = self.next_owner;
            self.next_owner += 1;
            let (pattern, kind) = scenarios::leaky_component(owner);
            let options = SubscribeOptions {
                name: Some(format!("{kind}#{owner}")),
                owner: Some(OwnerId(owner)),
                stack: Some(format!(
                    "at {kind}.mount (src/components/{kind}.tsx:{}:9)\nat renderRoute (src/router.tsx:88:5)\nat App (src/App.tsx:21:3)",
                    14 + owner % 30
                )),
                ..SubscribeOptions::default()
            };
            match self.subscribe(pattern, options, HandlerSpec::default()) {
                Ok(sub) => {
                    let lifetime = 900.0 + 1_800.0 * self.rng.next_f64();
                    // ToastHost always cleans up; the others forget a third of the time.
                    let leaks = kind != "ToastHost" && self.rng.chance(0.4);
                    self.components.push(Component {
                        owner,
                        sub,
                        unmount_at: self.clock + lifetime,
                        leaks,
                        collected_at: None,
                    });
                }
                Err(e) => self.note(e),
            }
        }
        // Unmount due components: the careful ones unsubscribe; the leaky ones are collected
        // later without ever unsubscribing.
        let clock = self.clock;
        let mut released = Vec::new();
        let mut unsubscribe = Vec::new();
        self.components.retain_mut(|c| {
            if c.collected_at.is_some() {
                return true;
            }
            if clock < c.unmount_at {
                return true;
            }
            if c.leaks {
                c.collected_at = Some(clock + 500.0);
                released.push(c.owner);
                true
            } else {
                unsubscribe.push(c.sub);
                false
            }
        });
        for sub in unsubscribe {
            self.unsubscribe(sub, now);
        }
        for owner in released {
            self.bus.owner_released(OwnerId(owner), now);
        }
        let leaked = self
            .components
            .iter()
            .filter(|c| c.collected_at.is_some())
            .count();
        if leaked >= LEAKY_RELOAD_AT {
            // The simulated page reloads: every component's subscription goes away.
            let gone: Vec<SubscriptionId> = self.components.drain(..).map(|c| c.sub).collect();
            for sub in gone {
                self.unsubscribe(sub, now);
            }
        }
    }

    /// Removes a subscription and what the driver keeps for it.
    fn unsubscribe(&mut self, sub: SubscriptionId, now: Instant) {
        self.bus.unsubscribe(sub, now);
        self.handlers.remove(&sub.to_bits());
        self.limits.remove(&sub.to_bits());
    }

    fn read_trace(&mut self) -> Update {
        let batch = self.bus.trace_since(self.cursor);
        self.cursor = batch.cursor;
        Update {
            events: batch.events.iter().map(Event::from).collect(),
            missed: batch.missed,
            state: None,
            payloads: Vec::new(),
        }
    }

    /// Moves dead letter `id` (or all of them) back to its queue; returns how many moved.
    pub fn redrive(&mut self, id: Option<u64>) -> Result<usize, String> {
        let now = now_instant(self.clock);
        let moved = match id {
            Some(id) => self
                .bus
                .redrive(switchyard_core::DeadLetterId(id), now)
                .map(|()| 1)
                .map_err(|e| format!("redrive #{id}: {e}"))?,
            None => self.bus.redrive_all(now),
        };
        self.last_state = None;
        Ok(moved)
    }

    /// Drops every dead letter; returns how many.
    pub fn purge(&mut self) -> usize {
        self.last_state = None;
        self.bus.purge_dead_letters()
    }

    fn snapshot(&mut self) -> BusState {
        let now = now_instant(self.clock);
        let metrics = self.bus.metrics();
        let subscriptions = self.bus.subscriptions().iter().map(sub_state).collect();
        let dead_letters = self
            .bus
            .dead_letters()
            .map(|d| DeadLetterState {
                id: d.id.0,
                message: d.message.id.0,
                topic: d.message.topic.to_string(),
                subscription: d.subscription.to_bits(),
                subscription_name: d.subscription_name.clone(),
                pattern: d.pattern.clone(),
                attempts: d.attempts,
                last_error: d.last_error.clone(),
                reason: reason_name(d.reason).to_string(),
                dead_lettered_at: d.dead_lettered_at.as_millis_f64(),
                payload: (*d.message.payload).clone(),
            })
            .collect();
        let leaks = self
            .bus
            .leaks(now)
            .into_iter()
            .map(|l| leak_state(&l))
            .collect();
        let publishers = match self.behaviour {
            Behaviour::CascadeRoots { topic, .. } => vec![PublisherState {
                name: "scheduler".into(),
                topics: vec![topic.to_string()],
            }],
            _ => self
                .producers
                .iter()
                .map(|p| {
                    let mut topics: Vec<String> = p.def.topics.clone();
                    crate::sort::sort_by(&mut topics, Ord::cmp);
                    topics.dedup();
                    PublisherState {
                        name: p.def.name.to_string(),
                        topics,
                    }
                })
                .collect(),
        };
        BusState {
            at: self.clock,
            subscriptions,
            totals: counts(&metrics.totals),
            topics: metrics
                .topics
                .iter()
                .map(|t| TopicState {
                    topic: t.topic.clone(),
                    counters: counts(&t.counters),
                    latency: latency(&t.latency),
                })
                .collect(),
            queued: metrics.queued as u64,
            in_flight: metrics.in_flight as u64,
            breakers_open: metrics.breakers_open as u64,
            cascades_refused: metrics.cascades_refused,
            publishes_rejected: metrics.publishes_rejected,
            dead_letters_evicted: metrics.dead_letters_evicted,
            dead_letters,
            leaks,
            publishers,
            links: Vec::new(),
        }
    }
}

fn scenarios_payload(depth: u32, topic: &str) -> Value {
    serde_json::json!({ "hop": depth, "topic": topic })
}

fn reason_name(reason: DeadLetterReason) -> &'static str {
    reason.as_str()
}

fn counts(c: &switchyard_core::Counters) -> Counts {
    Counts {
        published: c.published,
        delivered: c.delivered,
        failed: c.failed,
        retried: c.retried,
        dead_lettered: c.dead_lettered,
        dropped: c.dropped,
        filtered: c.filtered,
    }
}

fn latency(p: &switchyard_core::Percentiles) -> Latency {
    Latency {
        p50: p.p50,
        p90: p.p90,
        p99: p.p99,
        count: p.count,
        max: p.max,
    }
}

/// The wire name of an overflow policy.
pub fn overflow_name(overflow: Overflow) -> &'static str {
    match overflow {
        Overflow::Reject => "reject",
        Overflow::DropOldest => "drop-oldest",
        Overflow::DropNewest => "drop-newest",
    }
}

/// The wire form of a delivery strategy.
pub fn delivery_name(strategy: DeliveryStrategy) -> String {
    match strategy {
        DeliveryStrategy::Immediate => "immediate".to_string(),
        DeliveryStrategy::Batched { size, max_wait } => {
            format!("batched({size}, {}ms)", max_wait.as_millis())
        }
    }
}

fn sub_state(info: &SubscriptionInfo) -> SubState {
    SubState {
        id: info.id.to_bits(),
        pattern: info.pattern.clone(),
        name: info.name.clone(),
        priority: info.priority,
        group: info.group.clone(),
        paused: info.paused,
        capacity: info.capacity as u64,
        overflow: overflow_name(info.overflow).to_string(),
        delivery: delivery_name(info.delivery),
        ordering: match info.ordering {
            OrderingMode::Strict => "strict",
            OrderingMode::Relaxed => "relaxed",
        }
        .to_string(),
        depth: info.depth as u64,
        high_water: info.high_water as u64,
        in_flight: info.in_flight as u64,
        oldest_queued_at: info.oldest_queued_at.map(|t| t.as_millis_f64()),
        lag_ms: None,
        breaker: match info.breaker {
            BreakerState::Closed => "closed",
            BreakerState::Open { .. } => "open",
            BreakerState::HalfOpen => "half-open",
        }
        .to_string(),
        created_at: info.created_at.as_millis_f64(),
        counters: counts(&info.stats.counters),
        latency: latency(&info.stats.latency),
        handler: latency(&info.stats.handler),
    }
}

fn leak_state(report: &switchyard_core::LeakReport) -> LeakState {
    let detail = match &report.reason {
        LeakReason::MaxListeners { count, limit } => format!("{count} listeners, limit {limit}"),
        LeakReason::OwnerReleased => "owner was collected while still subscribed".to_string(),
        LeakReason::Idle { idle_for } => format!(
            "idle for {:.1}s while its topics were published",
            idle_for.as_secs_f64()
        ),
        LeakReason::Trend { windows, growth } => {
            format!("count rose in {windows} windows in a row (+{growth})")
        }
    };
    LeakState {
        reason: report.reason.kind().to_string(),
        detail,
        pattern: report.pattern.clone(),
        detected_at: report.detected_at.as_millis_f64(),
        suspects: report
            .suspects
            .iter()
            .map(|s| LeakSuspectState {
                subscription: s.subscription.to_bits(),
                name: s.name.clone(),
                pattern: s.pattern.clone(),
                age_ms: s.age.as_secs_f64() * 1_000.0,
                stack: s.stack.clone(),
            })
            .collect(),
    }
}
