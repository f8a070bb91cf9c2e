//! The fast path: a publish whose route the engine declares *inline-eligible* (every matched
//! subscription immediate, idle, unpaused, without filter, group, `once` or breaker; no `on()`
//! listener or visualiser; nothing queued anywhere; `retain` 0) is delivered by the package's
//! JavaScript (`js/src/fastpath.js`), which calls the handlers itself, with **no** wasm call per
//! publish, and records a batch of publishes (on one topic or several) with one
//! `__inlineRecord` call before anything else touches the engine. Ids, sequence numbers,
//! counters, conservation and run-to-completion are the engine's, exactly as on the slow path
//! (see `switchyard_core::bus::inline`).
//!
//! # The entry points the glue uses
//!
//! * `__inlineCell` / `__inlineMemory`: an [`InlineCell`] in wasm memory that the bindings
//!   rewrite after every operation, so the glue validates its cached routes with one load and
//!   no call.
//! * `__inlineBatch`: the [`BatchArea`], one per instance, into which the glue writes a batch
//!   right before the call that records it.
//! * `__inlineRoute(topic)`: an eligible route with the handler of each subscription (for an
//!   owned one, the `WeakRef` to it), the next id and the topic's last sequence number (the
//!   glue numbers its publishes itself).
//! * `__inlineRecord(runs, at)`: records a batch whose handlers have all returned, with
//!   [`Bus::record_inline_delivered`], which is never refused: the deliveries happened.
//! * `__inlineEnter(runs, at, running, payload)`: something is about to read or change the bus
//!   from inside a handler (the glue's wrappers of every other method call it first), or a
//!   handler threw or returned a thenable. Records the batch except its last message, the one
//!   being dispatched, and hands that one to the engine with [`Bus::inline_adopt`]: delivered
//!   to the subscriptions whose handlers returned, **in flight** to the one whose handler runs,
//!   **queued** for the rest. A snapshot, `metrics()`, `stats()`, `trace()` or `deadLetters()`
//!   read from now on is what the slow path shows at the same point, and the engine's
//!   dispatch loop delivers the message to the remaining subscriptions.
//! * `__inlineOutcome(outcome, value)`: how the running handler ended (returned, threw,
//!   returned a thenable), reported as the slow path reports a delivery.
//! * `__inlineExit()`: the glue's dispatch ended; the engine's dispatch loop runs what is
//!   queued (the rest of the message, then what its handlers published).
//!
//! Publishes through the bindings themselves (with options, from inside a handler, or on a
//! route the glue could not cache) take the engine's slow path.
//!
//! [`Bus::record_inline_delivered`]: switchyard_core::Bus::record_inline_delivered
//! [`Bus::inline_adopt`]: switchyard_core::Bus::inline_adopt

use crate::prelude::*;
use core::cell::Cell;

use switchyard_core::{DeliveryToken, InlineError, InlineRoute, Instant, Outcome, TopicHandle};
use wasm_bindgen::prelude::*;

use crate::bus::EventBus;
use crate::dispatch::thenable;
use crate::error::describe_thrown;
use crate::shared::cell;
use crate::state::{Engine, Shared};

/// The fast path's state on one bus.
#[derive(Default)]
pub struct InlineState {
    /// What the JS glue reads to validate its own route cache.
    cell: InlineCell,
    /// Routes the JS glue delivers itself.
    js: JsRoutes,
    /// The delivery [`Bus::inline_adopt`](switchyard_core::Bus::inline_adopt) put in flight
    /// for the handler running when the glue entered the engine's dispatch.
    running: Cell<Option<DeliveryToken>>,
}

/// Slots of the inline cell (`f64`s JavaScript reads in wasm memory).
/// `STAMP` is the inline epoch, or `-1` while the glue must not deliver inline (a dispatch
/// loop runs, events are being emitted, the bus is closed, has an `on()` listener or a
/// visualiser, or retains messages):
/// one comparison tells the glue whether a cached route is still good.
const CELL_STAMP: usize = cell::STAMP;
const CELL_MANUAL_NOW: usize = cell::MANUAL_NOW;
/// `1` while a batch must be recorded as runs in publish order (the trace ring is on), `0`
/// while the glue may sum it per route
/// ([`Bus::inline_runs_ordered`](switchyard_core::Bus::inline_runs_ordered)).
const CELL_ORDERED: usize = cell::ORDERED;
/// Most pairs one `__inlineRecord` call records (the glue's `MAX_BATCH_TOPICS`).
const MAX_BATCH_TOPICS: usize = cell::MAX_BATCH_TOPICS;
const CELL_SLOTS: usize = cell::SLOTS;
/// `f64`s in the batch area: a `(topic handle, publishes)` pair per run.
const BATCH_SLOTS: usize = 2 * MAX_BATCH_TOPICS;

/// The largest integer an `f64` holds exactly (epochs are reported modulo this).
const EXACT_F64: u64 = (1 << 53) - 1;

/// Numbers shared with the JS glue in wasm memory, so it can validate its cached routes
/// without calling in: the engine writes the stamp and the manual clock (`-1` for the real
/// clock) after every operation. A few slots per bus: an app may hold thousands of buses
/// (one per component or compat emitter), and every 64 KiB of wasm memory they take is a
/// `memory.grow`, which costs about 1 ms in V8 once the memory passes 64 MiB.
pub struct InlineCell {
    slots: Box<[Cell<f64>; CELL_SLOTS]>,
}

impl Default for InlineCell {
    fn default() -> Self {
        InlineCell {
            slots: Box::new(core::array::from_fn(|_| Cell::new(0.0))),
        }
    }
}

impl InlineCell {
    /// The cell's address in wasm memory (8-byte aligned).
    fn address(&self) -> u32 {
        self.slots.as_ptr() as usize as u32
    }
}

/// Where the glue writes the `(topic handle, publishes)` pairs of a batch, right before the
/// `__inlineRecord` or `__inlineEnter` call that reads them. One per instance, shared by every
/// bus: the glue keeps a batch's pairs in its own state until that call, and the call runs no
/// JavaScript before it has read them.
pub struct BatchArea([Cell<f64>; BATCH_SLOTS]);

thread_local! {
    static BATCH: BatchArea = const { BatchArea([const { Cell::new(0.0) }; BATCH_SLOTS]) };
}

impl BatchArea {
    /// How many `(topic handle, publishes)` pairs a batch of `topics` runs has in the area:
    /// at most [`MAX_BATCH_TOPICS`].
    fn runs(topics: u32) -> usize {
        (topics as usize).min(MAX_BATCH_TOPICS)
    }

    /// The `n`th `(topic handle, publishes)` pair the glue wrote (`n` below
    /// [`BatchArea::runs`]; the `as` casts saturate, so junk cannot index anything). Read
    /// once per run of a batch, so it is kept to two loads.
    #[inline(always)]
    fn run(n: usize) -> (u32, u32) {
        let at = n.saturating_mul(2);
        BATCH.with(
            |area| match (area.0.get(at), area.0.get(at.saturating_add(1))) {
                (Some(handle), Some(count)) => (handle.get() as u32, count.get() as u32),
                _ => (u32::MAX, 0),
            },
        )
    }

    /// The area's address in wasm memory (8-byte aligned).
    fn address() -> u32 {
        BATCH.with(|area| area.0.as_ptr() as usize as u32)
    }
}

/// Routes the JS glue delivers itself, indexed by topic handle (what `__inlineRecord`
/// records). Handles are the engine's dense topic indices, so a vector is the map. The engine
/// reuses the index of a topic evicted past `maxTopics`, so the vector never outgrows the
/// topic table, and a slot's route is replaced when the glue routes the topic now in it: the
/// engine moves the inline epoch whenever a route current in the glue's cache lost its topic,
/// and the glue records its batch before any call that could evict, so no batch names an
/// index whose topic changed.
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
        let inline = self.inline.borrow();
        let slots = &inline.cell.slots;
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
        slots[CELL_ORDERED].set(f64::from(u8::from(engine.bus.inline_runs_ordered())));
    }

    /// Records the runs of publishes the glue wrote into the cell for `topics` topics (see
    /// `__inlineRecord`), all delivered at `now`; with `adopt`, the last message of the last
    /// run is the one being dispatched and is left out. Returns how many were recorded.
    fn record_runs(&self, topics: u32, now: Instant, adopt: bool) -> u32 {
        // Recording runs no JavaScript: the routes and the engine stay borrowed for the whole
        // batch, and each run is recorded against the cached route itself (no clone).
        let inline = self.inline.borrow();
        let mut engine = self.engine.borrow_mut();
        let runs = BatchArea::runs(topics);
        let mut recorded = 0u32;
        for index in 0..runs {
            let (handle, count) = BatchArea::run(index);
            let count = if adopt && index + 1 == runs {
                count.saturating_sub(1)
            } else {
                count
            };
            let receipt = match inline.js.get(handle) {
                Some(route) => engine.bus.record_inline_delivered(route, count, now),
                None => engine
                    .bus
                    .record_inline_delivered(&unknown_route(handle), count, now),
            };
            // A handle the engine does not know is not one `__inlineRoute` gave out: the
            // glue only writes those. Nothing can be recorded against it.
            if let Ok(receipt) = receipt {
                recorded = recorded.saturating_add(receipt.count);
            }
        }
        recorded
    }

    /// The route the glue cached under `handle`. Every handle the glue writes came from
    /// `__inlineRoute`, which keeps its route; were one missing, its publishes are still
    /// numbered (recorded against no subscription) so later ids stay what handlers see.
    fn route_for(&self, handle: u32) -> InlineRoute {
        self.inline
            .borrow()
            .js
            .get(handle)
            .cloned()
            .unwrap_or_else(|| unknown_route(handle))
    }
}

/// What a handle `__inlineRoute` never gave out is recorded against: no subscription, and an
/// epoch newer than any topic's birth, so the engine numbers the publishes on whatever topic
/// holds the slot rather than refusing them (the ids handlers saw are what matters here).
fn unknown_route(handle: u32) -> InlineRoute {
    InlineRoute {
        topic: TopicHandle(handle),
        subscriptions: alloc::sync::Arc::from(Vec::new()),
        eligible: false,
        epoch: u64::MAX,
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

/// The address of the [`BatchArea`] in wasm memory.
#[wasm_bindgen(js_name = __inlineBatch)]
pub fn inline_batch() -> u32 {
    BatchArea::address()
}

#[wasm_bindgen]
impl EventBus {
    /// The address of this bus's inline cell in wasm memory (written fresh now).
    #[wasm_bindgen(js_name = __inlineCell)]
    pub fn inline_cell(&self) -> u32 {
        self.shared.write_inline_cell();
        self.shared.inline.borrow().cell.address()
    }

    /// The inline route of `topic` for the glue: `[handle, nextId, lastSeq, handlers]`, or
    /// `null` when it must use the slow path (ineligible, invalid topic, closed, dispatching,
    /// a handler missing or an owned one collected). `handlers` holds each subscription's
    /// function, or for an owned subscription the `WeakRef` to it. Answered through [`crate::hooks::hand_back`] (see there why).
    #[wasm_bindgen(js_name = __inlineRoute)]
    pub fn inline_route_for_js(&self, topic: &str) {
        crate::hooks::hand_back(self.inline_route(topic));
    }

    /// Records the batch the glue wrote into the batch area: for each of its first `topics`
    /// `(handle, publishes)` pairs, a run of `publishes` consecutive messages it delivered on
    /// the route cached under `handle`, all at `at_ms` on the bus clock, in the order written.
    /// Returns how many messages were recorded: all of them.
    ///
    /// The glue numbered the messages itself (ids in publish order across topics, sequence
    /// numbers per topic). With the trace ring on it writes one pair per run of publishes on
    /// one topic, so the engine assigns every message the id its handlers saw (which the
    /// trace ring shows); with it off, one pair per route summing its publishes in the batch
    /// ([`Bus::inline_runs_ordered`](switchyard_core::Bus::inline_runs_ordered): the
    /// counters, next id and sequence numbers come out the same). The deliveries have already happened, so nothing refuses them: a route whose epoch
    /// moved since (a promise settled, a signal aborted) is recorded as it was delivered
    /// ([`Bus::record_inline_delivered`](switchyard_core::Bus::record_inline_delivered)).
    #[wasm_bindgen(js_name = __inlineRecord)]
    pub fn inline_record(&self, topics: u32, at_ms: f64) -> u32 {
        let shared = &self.shared;
        let recorded = shared.record_runs(topics, Instant::from_millis_f64(at_ms), false);
        shared.finish();
        shared.write_inline_cell();
        recorded
    }

    /// The glue must hand the message it is dispatching to the engine (see the module docs):
    /// records the batch in the batch area (`topics` runs delivered at `at_ms`) except its last
    /// message, which is the one being dispatched: the handlers of the subscriptions before
    /// `running` in its route returned, the one at `running` is running now (or has just
    /// thrown or returned a thenable: `__inlineOutcome` follows), the later ones have not run.
    /// `payload` is the message's payload. From now on this is the engine's dispatch: what
    /// handlers publish is queued behind the message, which reaches everyone first.
    #[wasm_bindgen(js_name = __inlineEnter)]
    pub fn inline_enter(&self, topics: u32, at_ms: f64, running: u32, payload: JsValue) {
        let shared = &self.shared;
        let now = Instant::from_millis_f64(at_ms);
        shared.record_runs(topics, now, true);
        let last = BatchArea::runs(topics).checked_sub(1).map(BatchArea::run);
        if let Some((handle, _)) = last {
            let route = shared.route_for(handle);
            let adopted = shared.engine.borrow_mut().bus.inline_adopt(
                &route,
                running as usize,
                true,
                payload,
                now,
            );
            match adopted {
                Ok(adopted) => {
                    shared.inline.borrow().running.set(adopted.running);
                    shared.current.set(Some(adopted.message.id));
                }
                // Only for a route `__inlineRoute` never gave out (see `route_for`): keep the
                // numbering the handlers saw.
                Err(_) => {
                    let _ = shared
                        .engine
                        .borrow_mut()
                        .bus
                        .record_inline_delivered(&route, 1, now);
                }
            }
        }
        shared.dispatching.set(true);
        shared.write_inline_cell();
    }

    /// How the handler running when the glue called `__inlineEnter` ended: `outcome` 0 =
    /// returned, 1 = threw `value`, 2 = returned the thenable `value` (pending until it
    /// settles). Reported to the engine as the slow path reports a delivery; a delivery whose
    /// subscription was removed meanwhile is unknown to the engine by then, as on the slow
    /// path.
    #[wasm_bindgen(js_name = __inlineOutcome)]
    pub fn inline_outcome(&self, outcome: u32, value: JsValue) {
        let shared = &self.shared;
        let Some(token) = shared.inline.borrow().running.take() else {
            return;
        };
        let promise = if outcome == 2 { thenable(&value) } else { None };
        let reported = match (outcome, &promise) {
            (1, _) => Outcome::Failed(describe_thrown(&value)),
            (_, Some(_)) => Outcome::Pending,
            _ => Outcome::Delivered,
        };
        let accepted = {
            let mut engine = shared.engine.borrow_mut();
            let now = engine.now();
            engine.bus.complete(token, reported, now).is_ok()
        };
        if let (true, Some(promise)) = (accepted, promise) {
            shared.await_settle(token, promise);
        }
        shared.write_inline_cell();
    }

    /// The glue's dispatch ended: deliver what is queued (the rest of the message handed over
    /// with `__inlineEnter`, then what its handlers published), run housekeeping.
    #[wasm_bindgen(js_name = __inlineExit)]
    pub fn inline_exit(&self) {
        let shared = &self.shared;
        shared.inline.borrow().running.set(None);
        shared.current.set(None);
        shared.dispatching.set(false);
        shared.finish();
        shared.write_inline_cell();
    }
}

impl EventBus {
    /// [`EventBus::inline_route_for_js`]'s answer.
    fn inline_route(&self, topic: &str) -> JsValue {
        let shared = &self.shared;
        let answer = (|| {
            if shared.closed.get() || shared.dispatching.get() || shared.emitting.get() {
                return None;
            }
            // U+FFFD may stand for a lone surrogate the string conversion replaced: the slow
            // path checks the JS string itself (see `options::well_formed_text`).
            if topic.chars().any(|c| c == '\u{FFFD}') {
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
                // An owned subscription's handler goes as its `WeakRef` (the glue's route
                // cache must not keep the owner alive); a collected one keeps the slow path,
                // which ends the subscription.
                let handlers = js_sys::Array::new();
                {
                    let table = shared.handlers.borrow();
                    for id in route.subscriptions.iter() {
                        handlers.push(&table.get(*id)?.functions.inline_handler()?);
                    }
                }
                let now = engine.now();
                // Zero publishes records nothing and reports the next id and sequence number
                // (after firing the timers due now: a retry falling due makes it stale).
                let first = match engine.bus.record_inline(&route, 0, now) {
                    Ok(receipt) => receipt.first,
                    Err(InlineError::Stale) => continue,
                    Err(_) => return None,
                };
                drop(engine);
                let answer = js_sys::Array::of4(
                    &JsValue::from(route.topic.0),
                    &JsValue::from_f64(first.id.0 as f64),
                    &JsValue::from_f64(first.topic_seq.saturating_sub(1) as f64),
                    &handlers,
                );
                shared.inline.borrow_mut().js.insert(route);
                return Some(answer.into());
            }
            None
        })();
        shared.write_inline_cell();
        answer.unwrap_or(JsValue::NULL)
    }

    /// The bus is being freed in the middle of a glue dispatch it entered (a handler called
    /// `free()`): the glue can no longer call `__inlineOutcome` or `__inlineExit`, so the
    /// running delivery is forgotten and the dispatch ends here. The caller closes the bus,
    /// which removes every subscription, so nothing is left waiting for that delivery.
    pub(crate) fn abandon_inline_dispatch(&self) {
        let shared = &self.shared;
        if shared.inline.borrow().running.take().is_some() {
            shared.current.set(None);
            shared.dispatching.set(false);
        }
    }
}
