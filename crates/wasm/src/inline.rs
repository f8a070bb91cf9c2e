//! The fast path: a publish whose route the engine declares *inline-eligible* (every matched
//! subscription immediate, idle, unpaused, without filter, group, `once` or breaker; tracing
//! off; nothing queued anywhere) is delivered by calling the handlers right here, in route
//! order, and recorded with **one** engine call ([`Bus::record_inline`]) instead of a
//! poll and a completion per subscription. Ids, sequence numbers, counters, conservation and
//! run-to-completion are the engine's, exactly as on the slow path (see
//! `switchyard_core::bus::inline`).
//!
//! Routes are cached per topic together with the handler of each routed subscription, and
//! re-queried whenever [`Bus::inline_epoch`] moves. A handler that throws, or returns a
//! promise, hands its delivery back to the engine (`inline_failed` / `inline_pending`), which
//! then applies retries, dead letters and timeouts as usual. A subscription removed by an
//! earlier handler of the same message is reported as skipped and not called.
//!
//! [`Bus::record_inline`]: switchyard_core::Bus::record_inline
//! [`Bus::inline_epoch`]: switchyard_core::Bus::inline_epoch

use std::collections::HashMap;
use std::rc::Rc;

use js_sys::{Function, Promise};
use switchyard_core::{InlineError, InlineMessage, InlineRoute, Instant, SubscriptionId};
use wasm_bindgen::prelude::*;

use crate::dispatch::thenable;
use crate::error::describe_thrown;
use crate::hooks::{deliver, make_meta};
use crate::state::Shared;

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
            let _ = self
                .engine
                .borrow_mut()
                .bus
                .inline_skipped(message, subscription);
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
                handler.call2(&JsValue::UNDEFINED, payload, &meta)
            }
        };
        match result {
            Ok(returned) => {
                if let Some(promise) = thenable(&returned) {
                    self.hand_back_pending(message, subscription, payload, promise);
                }
            }
            Err(thrown) => {
                let reason = describe_thrown(&thrown);
                let mut engine = self.engine.borrow_mut();
                let _ =
                    engine
                        .bus
                        .inline_failed(message, subscription, payload.clone(), reason, now);
            }
        }
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
