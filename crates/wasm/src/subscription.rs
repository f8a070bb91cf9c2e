//! `bus.subscribe(pattern, handler, options?)` and the `Subscription` it returns.

use std::rc::Rc;

use js_sys::{Error, Function, Object, Reflect};
use switchyard_core::{
    Instant, OrderingMode, SubscribeError, SubscribeOptions, SubscriptionId, UnknownSubscription,
};
use wasm_bindgen::prelude::*;

use crate::bus::{js_field, EventBus};
use crate::error::{error, invalid_option, ErrorCode, JsResult};
use crate::handlers::{AbortHook, EventTarget, HandlerEntry};
use crate::options::{self, Options};
use crate::state::Shared;
use crate::views::{to_js, SubscriptionView};

/// Option names `subscribe` accepts.
const SUBSCRIBE_OPTIONS: &[&str] = &[
    "priority",
    "once",
    "filter",
    "capacity",
    "overflow",
    "delivery",
    "concurrency",
    "ordering",
    "retry",
    "timeoutMs",
    "breaker",
    "group",
    "replay",
    "name",
    "owner",
    "weak",
    "signal",
];

/// Longest name or group accepted.
const MAX_NAME: usize = 256;

/// What `subscribe` options add on the host side.
struct HostOptions {
    filter: Option<Function>,
    owner: Option<Object>,
    signal: Option<EventTarget>,
    aborted: bool,
}

fn parse_subscribe(
    value: &JsValue,
    bus_retry: switchyard_core::RetryPolicy,
) -> JsResult<(SubscribeOptions, HostOptions)> {
    let options = Options::new(value, "options", SUBSCRIBE_OPTIONS)?;
    let mut core = SubscribeOptions::default();
    if let Some(priority) = options.integer("priority", f64::from(i32::MIN), f64::from(i32::MAX))? {
        core.priority = priority as i32;
    }
    if options.bool("once")? == Some(true) {
        core.max_deliveries = Some(1);
    }
    let filter = options.function("filter")?;
    core.has_filter = filter.is_some();
    core.capacity = options.count("capacity", 1)?;
    core.overflow = options::overflow(&options)?;
    if let Some(delivery) = options.get("delivery")? {
        core.delivery = options::delivery(&delivery, "delivery")?;
    }
    if let Some(concurrency) = options.u32("concurrency", 1)? {
        core.concurrency = concurrency;
    }
    if let Some(ordering) = options.choice(
        "ordering",
        &[
            ("strict", OrderingMode::Strict),
            ("relaxed", OrderingMode::Relaxed),
        ],
    )? {
        core.ordering = ordering;
    }
    core.retry = options::retry(&options, bus_retry)?;
    core.timeout = options.millis("timeoutMs")?;
    core.breaker = options::breaker(&options)?;
    core.group = options.string("group", MAX_NAME)?;
    if let Some(replay) = options.count("replay", 0)? {
        core.replay = replay;
    }
    core.name = options.string("name", MAX_NAME)?;
    let owner = match options.get("owner")? {
        None => None,
        Some(owner) if owner.is_object() || owner.is_function() => {
            Some(owner.unchecked_into::<Object>())
        }
        Some(_) => return Err(invalid_option("owner", "must be an object")),
    };
    core.weak = options.bool("weak")?.unwrap_or(false);
    if core.weak && owner.is_none() {
        return Err(invalid_option("weak", "needs an `owner`"));
    }
    let (signal, aborted) = match options.get("signal")? {
        None => (None, false),
        Some(signal) => {
            let aborted = Reflect::get(&signal, &JsValue::from_str("aborted"))
                .ok()
                .and_then(|a| a.as_bool())
                .ok_or_else(|| invalid_option("signal", "must be an AbortSignal"))?;
            let listens = Reflect::get(&signal, &JsValue::from_str("addEventListener"))
                .is_ok_and(|f| f.is_function());
            if !listens {
                return Err(invalid_option("signal", "must be an AbortSignal"));
            }
            (Some(signal.unchecked_into::<EventTarget>()), aborted)
        }
    };
    Ok((
        core,
        HostOptions {
            filter,
            owner,
            signal,
            aborted,
        },
    ))
}

/// The `SubscribeError` as a `SwitchyardError`.
fn subscribe_error(pattern: &str, e: SubscribeError) -> JsValue {
    match e {
        SubscribeError::InvalidPattern(why) => error(
            ErrorCode::InvalidPattern,
            &format!("pattern `{pattern}` {why}"),
        ),
        SubscribeError::InvalidOption(e) => invalid_option(&js_field(&e.field), e.problem),
    }
}

#[wasm_bindgen]
impl EventBus {
    /// Calls `handler(payload, meta)` for each message published on a topic matching
    /// `pattern` (`*` = one segment, `**` = zero or more). See docs/API.md for the options.
    pub fn subscribe(
        &self,
        pattern: JsValue,
        handler: JsValue,
        options: JsValue,
    ) -> JsResult<Subscription> {
        self.ensure_open("subscribe")?;
        let pattern = pattern.as_string().ok_or_else(|| {
            error(
                ErrorCode::InvalidPattern,
                "subscribe(): `pattern` must be a string",
            )
        })?;
        let handler = handler.dyn_into::<Function>().map_err(|_| {
            error(
                ErrorCode::InvalidHandler,
                "subscribe(): `handler` must be a function",
            )
        })?;
        let (bus_retry, capture_stacks) = {
            let engine = self.shared.engine.borrow();
            (engine.bus.config().retry, engine.capture_stacks)
        };
        let (mut core, host) = parse_subscribe(&options, bus_retry)?;
        if let Some(owner) = &host.owner {
            core.owner = Some(self.shared.owner_id(owner));
        }
        if capture_stacks {
            core.stack = Reflect::get(&Error::new("subscribe"), &JsValue::from_str("stack"))
                .ok()
                .and_then(|s| s.as_string());
        }
        let name = core.name.clone();
        let batched = !matches!(core.delivery, switchyard_core::DeliveryStrategy::Immediate);
        let limited = core.max_deliveries.is_some();
        let id = {
            let mut engine = self.shared.engine.borrow_mut();
            let now = engine.now();
            engine
                .bus
                .subscribe(&pattern, core, now)
                .map_err(|e| subscribe_error(&pattern, e))?
        };
        let subscription = Subscription {
            shared: Rc::clone(&self.shared),
            id,
            pattern,
            name,
        };
        let abort = match host.signal {
            Some(_) if host.aborted => {
                subscription.remove();
                None
            }
            Some(signal) => Some(abort_hook(&self.shared, id, signal)),
            None => None,
        };
        if self.shared.engine.borrow().bus.is_active(id) {
            let entry = HandlerEntry {
                handler,
                filter: host.filter,
                batched,
                limited,
                abort,
            };
            let previous = self.shared.handlers.borrow_mut().insert(id, entry);
            drop(previous);
        }
        self.shared.finish();
        Ok(subscription)
    }
}

#[wasm_bindgen]
impl EventBus {
    /// The `Subscription` with this id (as in `subscriptions()`, events and views), or
    /// `undefined` if it is not active. Restored buses use it to manage their subscriptions.
    #[wasm_bindgen(js_name = getSubscription)]
    pub fn get_subscription(&self, id: JsValue) -> Option<Subscription> {
        let bits = id
            .as_f64()
            .filter(|n| n.is_finite() && *n >= 0.0 && n.fract() == 0.0)?;
        let id = SubscriptionId::from_bits(bits as u64);
        let info = self.shared.engine.borrow().bus.subscription(id)?;
        Some(Subscription {
            shared: Rc::clone(&self.shared),
            id,
            pattern: info.pattern,
            name: info.name,
        })
    }
}

/// Unsubscribes `id` when `signal` aborts.
fn abort_hook(shared: &Rc<Shared>, id: SubscriptionId, signal: EventTarget) -> AbortHook {
    let weak = Rc::downgrade(shared);
    let listener = Closure::<dyn FnMut()>::new(move || {
        if let Some(shared) = weak.upgrade() {
            shared.unsubscribe(id);
        }
    });
    let _ = signal.add_event_listener("abort", listener.as_ref().unchecked_ref());
    AbortHook { signal, listener }
}

impl Shared {
    /// Removes a subscription and its handler; false if it was not active.
    pub fn unsubscribe(self: &Rc<Self>, id: SubscriptionId) -> bool {
        let removed = {
            let mut engine = self.engine.borrow_mut();
            let now = engine.now();
            engine.bus.unsubscribe(id, now)
        };
        let entry = self.handlers.borrow_mut().remove(id);
        drop(entry);
        self.finish();
        removed
    }

    /// Runs `f` on the engine, then finishes the operation.
    fn on_subscription<T>(
        self: &Rc<Self>,
        f: impl FnOnce(&mut switchyard_core::Bus<JsValue>, Instant) -> T,
    ) -> T {
        let result = {
            let mut engine = self.engine.borrow_mut();
            let now = engine.now();
            f(&mut engine.bus, now)
        };
        self.finish();
        result
    }
}

/// One subscription. Keeps its bus alive; `unsubscribe()` (or `using`) removes it.
#[wasm_bindgen]
pub struct Subscription {
    shared: Rc<Shared>,
    id: SubscriptionId,
    pattern: String,
    name: Option<String>,
}

impl core::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("pattern", &self.pattern)
            .field("name", &self.name)
            .finish()
    }
}

impl Subscription {
    fn remove(&self) -> bool {
        self.shared.unsubscribe(self.id)
    }

    /// The engine id.
    pub fn engine_id(&self) -> SubscriptionId {
        self.id
    }
}

#[wasm_bindgen]
impl Subscription {
    /// The subscription id (`SubscriptionId::to_bits`, as in trace events and views).
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> f64 {
        self.id.to_bits() as f64
    }

    /// The pattern it was subscribed with.
    #[wasm_bindgen(getter)]
    pub fn pattern(&self) -> String {
        self.pattern.clone()
    }

    /// Its name, or `undefined`.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> Option<String> {
        self.name.clone()
    }

    /// Whether it still receives messages.
    #[wasm_bindgen(getter)]
    pub fn active(&self) -> bool {
        self.shared.engine.borrow().bus.is_active(self.id)
    }

    /// Removes it: it receives nothing more, not even a message being dispatched right now.
    /// Queued messages are dropped (and counted). Returns false if it was already removed.
    pub fn unsubscribe(&self) -> bool {
        self.remove()
    }

    /// Stops deliveries; messages keep queueing under its overflow policy. False if removed.
    pub fn pause(&self) -> bool {
        self.shared
            .on_subscription(|bus, now| bus.pause(self.id, now))
            .is_ok()
    }

    /// Resumes deliveries. False if removed.
    pub fn resume(&self) -> bool {
        self.shared
            .on_subscription(|bus, now| bus.resume(self.id, now))
            .is_ok()
    }

    /// Swaps the delivery strategy (`'immediate'` or `{ batch: { size, maxWaitMs } }`),
    /// keeping every queued message. False if removed.
    #[wasm_bindgen(js_name = setDelivery)]
    pub fn set_delivery(&self, strategy: JsValue) -> JsResult<bool> {
        let strategy = options::delivery(&strategy, "strategy")?;
        let batched = !matches!(strategy, switchyard_core::DeliveryStrategy::Immediate);
        let changed = {
            let mut engine = self.shared.engine.borrow_mut();
            if !engine.bus.is_active(self.id) {
                return Ok(false);
            }
            let now = engine.now();
            engine.bus.set_delivery(self.id, strategy, now)
        };
        if changed.is_ok() {
            if let Some(entry) = self.shared.handlers.borrow_mut().get_mut(self.id) {
                entry.batched = batched;
            }
        }
        self.shared.finish();
        match changed {
            Ok(()) => Ok(true),
            Err(SubscribeError::InvalidOption(e)) => {
                Err(invalid_option(&js_field(&e.field), e.problem))
            }
            Err(SubscribeError::InvalidPattern(_)) => Ok(false),
        }
    }

    /// Hands a batched subscription's queued messages out now. False if removed.
    pub fn flush(&self) -> bool {
        let flushed: Result<(), UnknownSubscription> = self
            .shared
            .on_subscription(|bus, now| bus.flush(self.id, now));
        flushed.is_ok()
    }

    /// Configuration, gauges (depth, high water, lag, in flight) and counters, or `null`
    /// once removed.
    pub fn stats(&self) -> JsValue {
        let engine = self.shared.engine.borrow();
        let now = engine.now();
        engine
            .bus
            .subscription(self.id)
            .map_or(JsValue::NULL, |info| {
                to_js(&SubscriptionView::new(&info, now))
            })
    }
}
