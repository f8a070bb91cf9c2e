//! The fast path: a publish whose route the engine declares *inline-eligible* (every matched
//! subscription immediate, idle, unpaused, without filter, group, `once` or breaker; no
//! `on()` listener or visualiser; nothing queued anywhere) is delivered by calling the handlers right here, in route
//! order, and recorded with **one** engine call ([`Bus::record_inline`]) instead of a
//! poll and a completion per subscription. Ids, sequence numbers, counters, conservation and
//! run-to-completion are the engine's, exactly as on the slow path (see
//! `switchyard_core::bus::inline`).
//!
//! Routes are cached per topic together with the handler of each routed subscription, and
//! re-queried whenever [`Bus::inline_epoch`] moves. A bus with `traceCapacity` delivers
//! inline too: the engine writes the same trace events as the slow path, read later by
//! `bus.trace()`. A bus with an `on()` listener or an attached visualiser (they must see each
//! event before `publish` returns), or that retains messages, never delivers inline, and does
//! not even look a route up. A handler that throws,
//! or returns a promise, hands its delivery back to the engine (`inline_failed` /
//! `inline_pending`), which then applies retries, dead letters and timeouts as usual. A
//! subscription removed by an earlier handler of the same message is reported as skipped and
//! not called.
//!
//! The package's JavaScript glue goes one step further (see the second half of this file and
//! `js/glue.js`): it calls the handlers of an eligible route itself, with **no** wasm call per
//! publish, and records a batch of publishes (on one topic or several) with one
//! `__inlineRecord` call before anything else touches the engine. It validates its cached
//! routes against an [`InlineCell`] the bindings rewrite after every operation, and writes the
//! batch into the same cell. This Rust path remains for the publishes the glue hands over (a
//! route it could not cache) and for Rust callers.
//!
//! [`Bus::record_inline`]: switchyard_core::Bus::record_inline
//! [`Bus::inline_epoch`]: switchyard_core::Bus::inline_epoch

use std::collections::HashMap;
use std::rc::Rc;

use js_sys::{Function, Promise};
use switchyard_core::{InlineError, InlineMessage, InlineRoute, Instant, SubscriptionId};
use wasm_bindgen::prelude::*;

use crate::bus::EventBus;
use crate::dispatch::thenable;
use crate::error::describe_thrown;
use crate::hooks::{deliver, make_meta, Returned};
use crate::state::{Engine, Shared};

/// Most topics whose routes are cached (the cache is cleared when it grows past this).
const MAX_CACHED_TOPICS: usize = 1024;

/// A topic's inline route and the handler of each of its subscriptions.
pub struct CachedRoute {
    route: InlineRoute,
    handlers: Vec<Option<Function>>,
}

/// Inline routes per topic.
#[derive(Default)]
pub struct RouteCache {
    routes: HashMap<String, Rc<CachedRoute>>,
    /// What the JS glue reads to validate its own route cache.
    cell: InlineCell,
    /// Routes the JS glue delivers itself.
    js: JsRoutes,
}

/// What the inline path did with a publish.
pub enum Inline {
    /// Delivered and recorded: `(id, seq, matched)`.
    Done(f64, f64, f64),
    /// Not eligible (or the topic is invalid): use the slow path.
    SlowPath,
}

impl Shared {
    /// The cached route of `topic`, re-queried when the inline epoch moved.
    fn cached_route(&self, topic: &str, fresh: bool) -> Option<Rc<CachedRoute>> {
        let epoch = self.engine.borrow().bus.inline_epoch();
        if !fresh {
            if let Some(cached) = self.routes.borrow().routes.get(topic) {
                if cached.route.epoch == epoch {
                    return Some(Rc::clone(cached));
                }
            }
        }
        let route = self.engine.borrow_mut().bus.inline_route(topic).ok()?;
        let handlers = {
            let table = self.handlers.borrow();
            route
                .subscriptions
                .iter()
                .map(|id| table.get(*id).map(|entry| entry.handler.clone()))
                .collect()
        };
        let cached = Rc::new(CachedRoute { route, handlers });
        let mut cache = self.routes.borrow_mut();
        if cache.routes.len() >= MAX_CACHED_TOPICS {
            cache.routes.clear();
        }
        cache.routes.insert(topic.to_owned(), Rc::clone(&cached));
        Some(cached)
    }

    /// Tries to deliver a publish of `payload` on `topic` inline (see the module docs).
    /// Only for a publish with no options made outside any handler.
    pub fn publish_inline(
        self: &Rc<Self>,
        topic: &str,
        topic_value: &JsValue,
        payload: &JsValue,
    ) -> Inline {
        let Some(mut cached) = self.cached_route(topic, false) else {
            return Inline::SlowPath;
        };
        if !cached.route.eligible || cached.handlers.iter().any(Option::is_none) {
            return Inline::SlowPath;
        }
        let now = self.now();
        let mut receipt = self
            .engine
            .borrow_mut()
            .bus
            .record_inline(&cached.route, 1, now);
        if matches!(receipt, Err(InlineError::Stale)) {
            match self.cached_route(topic, true) {
                Some(fresh)
                    if fresh.route.eligible && fresh.handlers.iter().all(Option::is_some) =>
                {
                    cached = fresh;
                    receipt = self
                        .engine
                        .borrow_mut()
                        .bus
                        .record_inline(&cached.route, 1, now);
                }
                _ => return Inline::SlowPath,
            }
        }
        let Ok(receipt) = receipt else {
            return Inline::SlowPath;
        };
        let message = receipt.first;

        self.dispatching.set(true);
        let previous = self.current.replace(Some(message.id));
        for (id, handler) in cached
            .route
            .subscriptions
            .iter()
            .zip(cached.handlers.iter())
        {
            let Some(handler) = handler else { continue };
            self.deliver_inline(message, *id, handler, topic_value, payload, now);
        }
        self.current.set(previous);
        self.dispatching.set(false);
        self.finish_at(Some(now));
        Inline::Done(
            message.id.0 as f64,
            message.topic_seq as f64,
            cached.route.subscriptions.len() as f64,
        )
    }

    /// Calls one handler of an inline publish and hands failures and promises back.
    fn deliver_inline(
        self: &Rc<Self>,
        message: InlineMessage,
        subscription: SubscriptionId,
        handler: &Function,
        topic: &JsValue,
        payload: &JsValue,
        now: Instant,
    ) {
        if !self.engine.borrow().bus.is_active(subscription) {
            let _ = self.following_retractions(|| {
                self.engine
                    .borrow_mut()
                    .bus
                    .inline_skipped(message, subscription)
            });
            return;
        }
        let id = message.id.0 as f64;
        let seq = message.topic_seq as f64;
        let at = message.published_at.as_millis_f64();
        let result = match deliver(
            handler,
            payload,
            id,
            topic,
            seq,
            1,
            at,
            JsValue::NULL,
            JsValue::NULL,
            JsValue::UNDEFINED,
        ) {
            Some(result) => result,
            None => {
                let meta = make_meta(
                    id,
                    topic,
                    seq,
                    1,
                    at,
                    JsValue::NULL,
                    JsValue::NULL,
                    JsValue::UNDEFINED,
                );
                handler
                    .call2(&JsValue::UNDEFINED, payload, &meta)
                    .map(|returned| Returned::of(&returned))
            }
        };
        match result {
            Ok(Returned::Value) => {}
            Ok(Returned::Thenable(promise)) => self.following_retractions(|| {
                self.hand_back_pending(message, subscription, payload, promise);
            }),
            Err(thrown) => {
                let reason = describe_thrown(&thrown);
                let _ = self.following_retractions(|| {
                    self.engine.borrow_mut().bus.inline_failed(
                        message,
                        subscription,
                        payload.clone(),
                        reason,
                        now,
                    )
                });
            }
        }
    }

    /// Runs a hand-back. It takes back the inline trace events of the delivery it replaces
    /// (recorded before any `on()` listener an earlier handler of this message added, so
    /// before the listeners' cursor) and renumbers the later ones: the listeners' cursor
    /// moves back with them, so they skip no event.
    fn following_retractions<R>(&self, hand_back: impl FnOnce() -> R) -> R {
        let before = self.engine.borrow().bus.trace_retracted();
        let result = hand_back();
        let mut engine = self.engine.borrow_mut();
        let taken_back = engine.bus.trace_retracted().saturating_sub(before);
        engine.events_cursor = engine.events_cursor.saturating_sub(taken_back);
        result
    }

    fn hand_back_pending(
        self: &Rc<Self>,
        message: InlineMessage,
        subscription: SubscriptionId,
        payload: &JsValue,
        promise: Promise,
    ) {
        let token = {
            let mut engine = self.engine.borrow_mut();
            let now = engine.now();
            engine
                .bus
                .inline_pending(message, subscription, payload.clone(), now)
        };
        if let Ok(token) = token {
            self.await_settle(token, promise);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The JavaScript fast path (glue.js): the glue calls handlers itself and records runs of
// publishes with one call. These entry points are its only contact with the engine; the cell
// tells it, with no call, whether what it cached may still be used.
// ---------------------------------------------------------------------------------------------

/// Slots of the inline cell (`f64`s JavaScript reads, and writes batches into, in wasm memory).
/// `STAMP` is the inline epoch, or `-1` while the glue must not deliver inline (a dispatch
/// loop runs, events are being emitted, the bus is closed, has an `on()` listener or a
/// visualiser, or retains messages):
/// one comparison tells the glue whether a cached route is still good.
const CELL_STAMP: usize = 0;
const CELL_MANUAL_NOW: usize = 1;
/// Where the glue writes the `(topic handle, publishes)` pairs `__inlineRecord` reads.
const CELL_BATCH: usize = 4;
/// Most topics one `__inlineRecord` call records (the glue's `MAX_BATCH_TOPICS`).
const MAX_BATCH_TOPICS: usize = 256;
const CELL_SLOTS: usize = CELL_BATCH + 2 * MAX_BATCH_TOPICS;

/// The largest integer an `f64` holds exactly (epochs are reported modulo this).
const EXACT_F64: u64 = (1 << 53) - 1;

/// Numbers shared with the JS glue in wasm memory, so it can validate its cached routes
/// without calling in: the engine writes the stamp and the manual clock (`-1` for the real
/// clock) after every operation; the glue writes the batch it asks `__inlineRecord` to record.
pub struct InlineCell {
    slots: Box<[std::cell::Cell<f64>; CELL_SLOTS]>,
}

impl Default for InlineCell {
    fn default() -> Self {
        InlineCell {
            slots: Box::new(std::array::from_fn(|_| std::cell::Cell::new(0.0))),
        }
    }
}

impl InlineCell {
    /// The cell's address in wasm memory (8-byte aligned).
    fn address(&self) -> u32 {
        self.slots.as_ptr() as usize as u32
    }

    /// The `(topic handle, publishes)` pairs the glue wrote for `topics` topics (at most
    /// [`MAX_BATCH_TOPICS`]; the `as` casts saturate, so junk cannot index anything).
    fn batch(&self, topics: u32) -> Vec<(u32, u32)> {
        self.slots[CELL_BATCH..]
            .chunks_exact(2)
            .take(topics as usize)
            .map(|pair| (pair[0].get() as u32, pair[1].get() as u32))
            .collect()
    }
}

/// Routes the JS glue delivers itself, indexed by topic handle (what `__inlineRecord`
/// records). Handles are the engine's dense topic indices, so a vector is the map.
#[derive(Default)]
pub struct JsRoutes {
    by_handle: Vec<Option<InlineRoute>>,
}

impl JsRoutes {
    fn get(&self, handle: u32) -> Option<&InlineRoute> {
        self.by_handle.get(handle as usize)?.as_ref()
    }

    fn insert(&mut self, route: InlineRoute) {
        let index = route.topic.0 as usize;
        if self.by_handle.len() <= index {
            self.by_handle.resize(index + 1, None);
        }
        if let Some(slot) = self.by_handle.get_mut(index) {
            *slot = Some(route);
        }
    }
}

impl Shared {
    /// Writes the inline cell (see [`InlineCell`]). Cheap; called whenever the engine may
    /// have changed.
    pub fn write_inline_cell(&self) {
        let Ok(engine) = self.engine.try_borrow() else {
            return;
        };
        let routes = self.routes.borrow();
        let slots = &routes.cell.slots;
        let busy = self.dispatching.get()
            || self.emitting.get()
            || self.closed.get()
            || !inline_possible(&engine);
        slots[CELL_STAMP].set(if busy {
            -1.0
        } else {
            (engine.bus.inline_epoch() & EXACT_F64) as f64
        });
        let manual = match engine.clock {
            crate::clock::Clock::Manual { now_ms } => now_ms,
            crate::clock::Clock::Real => -1.0,
        };
        slots[CELL_MANUAL_NOW].set(manual);
    }

    /// Whether any publish may be delivered inline now (see [`inline_possible`]).
    pub fn inline_possible(&self) -> bool {
        inline_possible(&self.engine.borrow())
    }

    /// The route the glue cached under `handle` and the subscription at `index` of it.
    fn js_route_subscription(&self, handle: u32, index: u32) -> Option<SubscriptionId> {
        let routes = self.routes.borrow();
        let route = routes.js.get(handle)?;
        route.subscriptions.get(index as usize).copied()
    }
}

/// Whether any route can be inline-eligible: not while trace events are passed on as they
/// happen (someone listens with `on()` or a visualiser is attached: they are emitted after
/// each engine call, interleaved with the handlers) or messages are retained for replay.
/// A `traceCapacity` alone does not stop it: inline deliveries write the slow path's trace
/// events into the ring (see `switchyard_core::bus::inline`). Checking this first spares a
/// bus a route query per publish that would only answer "not eligible".
fn inline_possible(engine: &Engine) -> bool {
    engine.trace_observers == 0 && engine.bus.config().retain == 0
}

/// The wasm memory (the glue reads the inline cell through it).
#[wasm_bindgen(js_name = __inlineMemory)]
pub fn inline_memory() -> JsValue {
    wasm_bindgen::memory()
}

#[wasm_bindgen]
impl EventBus {
    /// The address of this bus's inline cell in wasm memory (written fresh now).
    #[wasm_bindgen(js_name = __inlineCell)]
    pub fn inline_cell(&self) -> u32 {
        self.shared.write_inline_cell();
        self.shared.routes.borrow().cell.address()
    }

    /// The inline route of `topic` for the glue: `[handle, nextId, lastSeq, handlers]`, or
    /// `null` when it must use the slow path (ineligible, invalid topic, closed, dispatching,
    /// a handler missing).
    #[wasm_bindgen(js_name = __inlineRoute)]
    pub fn inline_route_for_js(&self, topic: &str) -> JsValue {
        let shared = &self.shared;
        let answer = (|| {
            if shared.closed.get() || shared.dispatching.get() || shared.emitting.get() {
                return None;
            }
            for _ in 0..2 {
                let mut engine = shared.engine.borrow_mut();
                if !inline_possible(&engine) {
                    return None;
                }
                let route = engine.bus.inline_route(topic).ok()?;
                if !route.eligible {
                    return None;
                }
                let now = engine.now();
                // Zero publishes records nothing and reports the next id and sequence number.
                let first = match engine.bus.record_inline(&route, 0, now) {
                    Ok(receipt) => receipt.first,
                    Err(InlineError::Stale) => continue,
                    Err(_) => return None,
                };
                drop(engine);
                let handlers = js_sys::Array::new();
                {
                    let table = shared.handlers.borrow();
                    for id in route.subscriptions.iter() {
                        handlers.push(&table.get(*id)?.handler);
                    }
                }
                let answer = js_sys::Array::of4(
                    &JsValue::from(route.topic.0),
                    &JsValue::from_f64(first.id.0 as f64),
                    &JsValue::from_f64(first.topic_seq.saturating_sub(1) as f64),
                    &handlers,
                );
                shared.routes.borrow_mut().js.insert(route);
                return Some(answer.into());
            }
            None
        })();
        shared.write_inline_cell();
        answer.unwrap_or(JsValue::NULL)
    }

    /// Records the batch the glue wrote into the inline cell: for each of its first `topics`
    /// `(handle, publishes)` pairs, a run of `publishes` consecutive messages it delivered on
    /// the route cached under `handle`, all at `at_ms` on the bus clock, in the order written.
    /// Returns how many messages were recorded.
    ///
    /// The glue numbered the messages itself (ids in publish order across topics, sequence
    /// numbers per topic) and writes one pair per run of publishes on one topic, so the
    /// engine assigns every message the id its handlers saw (which the trace ring shows).
    /// Each topic's next sequence number and the next id match once the whole batch is
    /// recorded; that is why one call records every run before anything (a timer, a drain)
    /// can run. The
    /// deliveries have already happened: a route whose epoch moved since (a promise settled, a
    /// signal aborted) is recorded anyway, under the current epoch.
    #[wasm_bindgen(js_name = __inlineRecord)]
    pub fn inline_record(&self, topics: u32, at_ms: f64) -> u32 {
        let shared = &self.shared;
        let batch = shared.routes.borrow().cell.batch(topics);
        let now = Instant::from_millis_f64(at_ms);
        let mut recorded = 0u32;
        for (handle, count) in batch {
            let Some(mut route) = shared.routes.borrow().js.get(handle).cloned() else {
                continue;
            };
            for _ in 0..3 {
                let mut engine = shared.engine.borrow_mut();
                route.epoch = engine.bus.inline_epoch();
                match engine.bus.record_inline(&route, count, now) {
                    Ok(receipt) => {
                        recorded = recorded.saturating_add(receipt.count);
                        break;
                    }
                    Err(InlineError::Stale) => continue,
                    Err(_) => break,
                }
            }
        }
        shared.finish();
        shared.write_inline_cell();
        recorded
    }

    /// The glue runs handlers of message `id`: publishes they make are its follow-ups
    /// (enqueued, delivered after it reached everyone, caused by it).
    #[wasm_bindgen(js_name = __inlineEnter)]
    pub fn inline_enter(&self, id: f64) {
        self.shared.dispatching.set(true);
        self.shared
            .current
            .set(Some(switchyard_core::MessageId(id as u64)));
        self.shared.write_inline_cell();
    }

    /// The glue's dispatch ended: deliver what its handlers published, run housekeeping.
    #[wasm_bindgen(js_name = __inlineExit)]
    pub fn inline_exit(&self) {
        self.shared.current.set(None);
        self.shared.dispatching.set(false);
        self.shared.finish();
        self.shared.write_inline_cell();
    }

    /// Runs housekeeping after hand-backs (timers for retries, idle watches).
    #[wasm_bindgen(js_name = __inlineFinish)]
    pub fn inline_finish(&self) {
        self.shared.finish();
        self.shared.write_inline_cell();
    }

    /// Whether the subscription at `index` of the route under `handle` is still active.
    #[wasm_bindgen(js_name = __inlineActive)]
    pub fn inline_active(&self, handle: u32, index: u32) -> bool {
        self.shared
            .js_route_subscription(handle, index)
            .is_some_and(|id| self.shared.engine.borrow().bus.is_active(id))
    }

    /// Hands a delivery of a recorded message back to the engine: `outcome` 0 = skipped (the
    /// subscription was removed before its handler ran), 1 = failed (`value` was thrown),
    /// 2 = pending (`value` is the thenable the handler returned). Returns whether the engine
    /// accepted it.
    #[wasm_bindgen(js_name = __inlineHandBack)]
    #[allow(clippy::too_many_arguments)]
    pub fn inline_hand_back(
        &self,
        handle: u32,
        index: u32,
        id: f64,
        seq: f64,
        at_ms: f64,
        payload: JsValue,
        outcome: u32,
        value: JsValue,
    ) -> bool {
        let shared = &self.shared;
        let Some(subscription) = shared.js_route_subscription(handle, index) else {
            return false;
        };
        let message = InlineMessage {
            id: switchyard_core::MessageId(id as u64),
            topic: switchyard_core::TopicHandle(handle),
            topic_seq: seq as u64,
            published_at: Instant::from_millis_f64(at_ms),
        };
        let accepted = shared.following_retractions(|| match outcome {
            0 => shared
                .engine
                .borrow_mut()
                .bus
                .inline_skipped(message, subscription)
                .is_ok(),
            1 => {
                let reason = describe_thrown(&value);
                let mut engine = shared.engine.borrow_mut();
                let now = engine.now();
                engine
                    .bus
                    .inline_failed(message, subscription, payload, reason, now)
                    .is_ok()
            }
            _ => match thenable(&value) {
                Some(promise) => {
                    shared.hand_back_pending(message, subscription, &payload, promise);
                    true
                }
                None => false,
            },
        });
        shared.write_inline_cell();
        accepted
    }
}
