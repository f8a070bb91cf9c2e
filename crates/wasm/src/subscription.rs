//! `bus.subscribe(pattern, handler, options?)` and the by-id methods behind the package's
//! JavaScript `Subscription` class (`js/src/subscription.js`).

use crate::prelude::*;
use alloc::rc::Rc;
use core::cell::{Cell, RefCell};

use js_sys::{Function, Object, Reflect};
use switchyard_core::{
    Instant, OrderingMode, SubscribeError, SubscribeOptions, SubscriptionId, UnknownSubscription,
};
use wasm_bindgen::prelude::*;

use crate::bus::{js_field, EventBus};
use crate::error::{concat, error, invalid_option, ErrorCode, JsResult};
use crate::handlers::{AbortHook, EventTarget, Functions, HandlerEntry};
use crate::hooks::hand_back;
use crate::options::{self, well_formed_text, Options};
use crate::shared::SUBSCRIBE_OPTIONS;
use crate::state::Shared;
use crate::views::{to_js, SubscriptionView};

/// Longest name or group accepted.
const MAX_NAME: usize = 256;

/// What `subscribe` options add on the host side.
struct HostOptions {
    filter: Option<Function>,
    owner: Option<Object>,
    signal: Option<EventTarget>,
    aborted: bool,
}

impl HostOptions {
    /// No filter, owner or signal.
    const NONE: HostOptions = HostOptions {
        filter: None,
        owner: None,
        signal: None,
        aborted: false,
    };
}

fn parse_subscribe(
    value: &JsValue,
    bus_retry: switchyard_core::RetryPolicy,
) -> JsResult<(SubscribeOptions, HostOptions)> {
    // No options (the common case): every option takes its default. Reading the seventeen
    // names of an absent object would cost a boundary crossing each for nothing.
    if value.is_undefined() || value.is_null() {
        return Ok((SubscribeOptions::default(), HostOptions::NONE));
    }
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

thread_local! {
    /// The pattern string `subscribe` was called with last, and its text: a component that
    /// subscribes and unsubscribes the same pattern over and over pays one `===` check instead
    /// of copying the string into wasm memory each time.
    static LAST_PATTERN: RefCell<Option<(JsValue, Rc<str>)>> = const { RefCell::new(None) };
}

/// The text of `pattern`; `E_INVALID_PATTERN` if it is not a string or not well-formed.
fn pattern_text(pattern: &JsValue) -> JsResult<Rc<str>> {
    LAST_PATTERN.with(|last| {
        if let Some((value, text)) = &*last.borrow() {
            if value == pattern {
                return Ok(Rc::clone(text));
            }
        }
        let text: Rc<str> =
            well_formed_text(pattern, ErrorCode::InvalidPattern, "subscribe(): `pattern`")?.into();
        *last.borrow_mut() = Some((pattern.clone(), Rc::clone(&text)));
        Ok(text)
    })
}

/// The `SubscribeError` as a `SwitchyardError`.
fn subscribe_error(pattern: &str, e: SubscribeError) -> JsValue {
    match e {
        SubscribeError::InvalidPattern(why) => error(
            ErrorCode::InvalidPattern,
            &concat(&["pattern `", pattern, "` ", &why.message()]),
        ),
        SubscribeError::InvalidOption(e) => invalid_option(&js_field(&e.field), e.problem),
    }
}

#[wasm_bindgen]
impl EventBus {
    /// `bus.subscribe(pattern, handler, options?)` for the package's JavaScript, which builds
    /// the `Subscription` object itself (no wasm allocation and no finalizer per subscription):
    /// calls `handler(payload, meta)` for each message published on a topic matching `pattern`
    /// (`*` = one segment, `**` = zero or more; see docs/API.md for the options) and answers
    /// the subscription id (as in `id`). A name given in the options is handed back
    /// ([`hand_back`]) last, so the common unnamed case crosses back as a plain number.
    #[wasm_bindgen(js_name = __subscribe)]
    pub fn subscribe_by_id(
        &self,
        pattern: JsValue,
        handler: JsValue,
        options: JsValue,
    ) -> JsResult<f64> {
        let (id, name) = self.add_subscription(&pattern, handler, &options)?;
        if let Some(name) = name {
            hand_back(JsValue::from_str(&name));
        }
        Ok(id.to_bits() as f64)
    }
}

impl EventBus {
    /// Validates and adds a subscription; answers its id and name.
    fn add_subscription(
        &self,
        pattern: &JsValue,
        handler: JsValue,
        options: &JsValue,
    ) -> JsResult<(SubscriptionId, Option<String>)> {
        self.ensure_open("subscribe")?;
        let pattern = pattern_text(pattern)?;
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
        let (mut core, host) = parse_subscribe(options, bus_retry)?;
        if capture_stacks {
            core.stack = crate::stacks::subscribe_stack();
        }
        // Reading the options (and the stack) ran JavaScript, which may have closed the bus.
        self.ensure_open("subscribe")?;
        let owner_id = host.owner.as_ref().map(|owner| self.shared.owner_id(owner));
        core.owner = owner_id.or(core.owner);
        let name = core.name.clone();
        let batched = !matches!(core.delivery, switchyard_core::DeliveryStrategy::Immediate);
        let limited = core.max_deliveries.is_some();
        // The abort listener goes on before the subscription exists: a signal that refuses it
        // is refused as an option with nothing subscribed (the hook's drop removes it again if
        // the engine refuses the subscription).
        let aborted = host.signal.is_some() && host.aborted;
        let subscribed = Rc::new(Cell::new(None));
        let abort = match host.signal {
            Some(signal) if !aborted => Some(abort_hook(&self.shared, &subscribed, signal)?),
            _ => None,
        };
        let (id, now) = {
            let mut engine = self.shared.engine.borrow_mut();
            let now = engine.now();
            let id = engine
                .bus
                .subscribe(&pattern, core, now)
                .map_err(|e| subscribe_error(&pattern, e))?;
            (id, now)
        };
        subscribed.set(Some(id));
        if aborted {
            self.shared.unsubscribe(id);
        }
        if self.shared.engine.borrow().bus.is_active(id) {
            // An owned subscription's functions are held by its owner (see `owners`).
            let owned = host
                .owner
                .as_ref()
                .zip(owner_id)
                .and_then(|(owner, owner_id)| {
                    self.shared.hold_by_owner(
                        owner,
                        owner_id,
                        id.to_bits() as f64,
                        &handler,
                        host.filter.as_ref(),
                    )
                });
            let functions = match owned {
                Some(owned) => Functions::Owned(owned),
                None => Functions::Strong {
                    handler,
                    filter: host.filter,
                },
            };
            let entry = HandlerEntry {
                functions,
                batched,
                limited,
                abort,
            };
            let previous = self.shared.handlers.borrow_mut().insert(id, entry);
            drop(previous);
        }
        self.shared.finish_at(Some(now));
        Ok((id, name))
    }
}

#[wasm_bindgen]
impl EventBus {
    /// `bus.getSubscription(id)` for the package's JavaScript: hands back ([`hand_back`])
    /// `[id, pattern, name]` for the active subscription with this id (as in
    /// `subscriptions()`, events and views), `null` if there is none. Restored buses use it to
    /// manage their subscriptions.
    #[wasm_bindgen(js_name = __getSubscription)]
    pub fn get_subscription(&self, id: JsValue) {
        let found = id.as_f64().and_then(subscription_id).and_then(|id| {
            self.shared
                .engine
                .borrow()
                .bus
                .subscription(id)
                .map(|info| (id, info))
        });
        hand_back(found.map_or(JsValue::NULL, |(id, info)| {
            js_sys::Array::of3(
                &JsValue::from(id.to_bits() as f64),
                &JsValue::from_str(&info.pattern),
                &info
                    .name
                    .as_deref()
                    .map_or(JsValue::NULL, JsValue::from_str),
            )
            .into()
        }));
    }
}

/// The subscription id a JS number stands for (`id` of a `Subscription`), if it can be one.
fn subscription_id(id: f64) -> Option<SubscriptionId> {
    (id.is_finite() && id >= 0.0 && id.fract() == 0.0).then(|| SubscriptionId::from_bits(id as u64))
}

/// The methods of the package's JavaScript `Subscription` class (`js/src/subscription.js`), by
/// id. An id that is not a subscription id answers as a removed subscription does.
#[wasm_bindgen]
impl EventBus {
    /// `subscription.unsubscribe()`.
    #[wasm_bindgen(js_name = __unsubscribe)]
    pub fn unsubscribe_by_id(&self, id: f64) -> bool {
        subscription_id(id).is_some_and(|id| self.shared.unsubscribe(id))
    }

    /// `subscription.active`.
    #[wasm_bindgen(js_name = __subscriptionActive)]
    pub fn subscription_active(&self, id: f64) -> bool {
        subscription_id(id).is_some_and(|id| self.shared.is_active(id))
    }

    /// `subscription.pause()`.
    #[wasm_bindgen(js_name = __pause)]
    pub fn pause_by_id(&self, id: f64) -> bool {
        subscription_id(id).is_some_and(|id| self.shared.pause(id))
    }

    /// `subscription.resume()`.
    #[wasm_bindgen(js_name = __resume)]
    pub fn resume_by_id(&self, id: f64) -> bool {
        subscription_id(id).is_some_and(|id| self.shared.resume(id))
    }

    /// `subscription.flush()`.
    #[wasm_bindgen(js_name = __flush)]
    pub fn flush_by_id(&self, id: f64) -> bool {
        subscription_id(id).is_some_and(|id| self.shared.flush(id))
    }

    /// `subscription.setDelivery(strategy)`.
    #[wasm_bindgen(js_name = __setDelivery)]
    pub fn set_delivery_by_id(&self, id: f64, strategy: JsValue) -> JsResult<bool> {
        match subscription_id(id) {
            Some(id) => self.shared.set_delivery(id, &strategy),
            None => options::delivery(&strategy, "strategy").map(|_| false),
        }
    }

    /// `subscription.stats()`, answered through [`hand_back`] (see there why).
    #[wasm_bindgen(js_name = __subscriptionStats)]
    pub fn subscription_stats(&self, id: f64) {
        hand_back(self.stats_by_id(id));
    }
}

impl EventBus {
    /// `subscription.stats()` for Rust callers: configuration, gauges and counters, or `null`
    /// once removed (JavaScript gets it through `__subscriptionStats`).
    pub fn stats_by_id(&self, id: f64) -> JsValue {
        subscription_id(id).map_or(JsValue::NULL, |id| self.shared.stats(id))
    }
}

/// Unsubscribes the subscription `subscribed` names (once set) when `signal` aborts; refuses a
/// signal whose `addEventListener` throws.
fn abort_hook(
    shared: &Rc<Shared>,
    subscribed: &Rc<Cell<Option<SubscriptionId>>>,
    signal: EventTarget,
) -> JsResult<AbortHook> {
    let weak = Rc::downgrade(shared);
    let subscribed = Rc::clone(subscribed);
    let listener = Closure::<dyn FnMut()>::new(move || {
        if let (Some(shared), Some(id)) = (weak.upgrade(), subscribed.get()) {
            shared.unsubscribe(id);
        }
    });
    signal
        .add_event_listener("abort", listener.as_ref().unchecked_ref())
        .map_err(|_| invalid_option("signal", "must be an AbortSignal"))?;
    Ok(AbortHook { signal, listener })
}

impl Shared {
    /// Removes a subscription and its handler; false if it was not active.
    pub fn unsubscribe(self: &Rc<Self>, id: SubscriptionId) -> bool {
        let (removed, now) = {
            let mut engine = self.engine.borrow_mut();
            let now = engine.now();
            (engine.bus.unsubscribe(id, now), now)
        };
        let entry = self.handlers.borrow_mut().remove(id);
        drop(entry);
        self.finish_at(Some(now));
        removed
    }

    /// Whether `id` still receives messages.
    pub fn is_active(&self, id: SubscriptionId) -> bool {
        self.engine.borrow().bus.is_active(id)
    }

    /// Stops deliveries to `id`; false if it was removed.
    pub fn pause(self: &Rc<Self>, id: SubscriptionId) -> bool {
        self.on_subscription(|bus, now| bus.pause(id, now)).is_ok()
    }

    /// Resumes deliveries to `id`; false if it was removed.
    pub fn resume(self: &Rc<Self>, id: SubscriptionId) -> bool {
        self.on_subscription(|bus, now| bus.resume(id, now)).is_ok()
    }

    /// Hands `id`'s queued messages out now; false if it was removed.
    pub fn flush(self: &Rc<Self>, id: SubscriptionId) -> bool {
        let flushed: Result<(), UnknownSubscription> =
            self.on_subscription(|bus, now| bus.flush(id, now));
        flushed.is_ok()
    }

    /// Swaps `id`'s delivery strategy; false if it was removed, an error if `strategy` is
    /// invalid.
    pub fn set_delivery(self: &Rc<Self>, id: SubscriptionId, strategy: &JsValue) -> JsResult<bool> {
        let strategy = options::delivery(strategy, "strategy")?;
        let batched = !matches!(strategy, switchyard_core::DeliveryStrategy::Immediate);
        let changed = {
            let mut engine = self.engine.borrow_mut();
            if !engine.bus.is_active(id) {
                return Ok(false);
            }
            let now = engine.now();
            engine.bus.set_delivery(id, strategy, now)
        };
        if changed.is_ok() {
            if let Some(entry) = self.handlers.borrow_mut().get_mut(id) {
                entry.batched = batched;
            }
        }
        self.finish();
        match changed {
            Ok(()) => Ok(true),
            Err(SubscribeError::InvalidOption(e)) => {
                Err(invalid_option(&js_field(&e.field), e.problem))
            }
            Err(SubscribeError::InvalidPattern(_)) => Ok(false),
        }
    }

    /// `id`'s configuration, gauges and counters, or `null` once removed.
    pub fn stats(&self, id: SubscriptionId) -> JsValue {
        let engine = self.engine.borrow();
        let now = engine.now();
        engine.bus.subscription(id).map_or(JsValue::NULL, |info| {
            to_js(&SubscriptionView::new(&info, now))
        })
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
