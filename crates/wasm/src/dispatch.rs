//! The host half of the sans-IO delivery loop: take the next delivery from the engine, run the
//! handler with nothing borrowed, report the outcome.
//!
//! * A subscription whose `owner` was collected before the `FinalizationRegistry` called back
//!   is released on the spot (as the callback would), so its delivery is dropped, not failed.
//! * A handler that returns normally is `Delivered`; one that throws (anything, including
//!   non-`Error` values) is `Failed` with a description of what was thrown, and the engine's
//!   retry policy decides between a retry and a dead letter. Other subscribers are unaffected.
//! * A handler that returns a thenable is `Pending`; when it settles the outcome is reported
//!   with `settle` (a rejection is a failure like a throw).
//! * A filter runs before the handler for each message; falsy means "filtered" (counted, not
//!   delivered). A filter that throws fails the delivery like a handler would.
//! * While a handler or a filter runs, publishes it makes carry its message as their causation
//!   (so the cascade limit refuses a filter that publishes in a loop, as it does a handler).

use crate::prelude::*;
use alloc::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect};
use switchyard_core::{Delivery, DeliveryToken, Envelope, Instant, Outcome, SubscriptionId};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::error::{concat, describe_thrown};
use crate::hooks::{deliver, make_meta, origin_value, Returned};
use crate::state::Shared;

impl Shared {
    /// Runs every ready delivery (no-op when a loop is already running further up the stack).
    pub fn drain(self: &Rc<Self>) {
        self.drain_at(None);
    }

    /// [`Shared::drain`] starting at `now` when the caller just read the clock.
    pub fn drain_at(self: &Rc<Self>, now: Option<Instant>) {
        if self.dispatching.replace(true) {
            return;
        }
        self.write_inline_cell();
        // One clock read per delivery: the instant a handler completed is also when the next
        // delivery is polled (reading `performance.now()` is a boundary crossing).
        let mut now = now.unwrap_or_else(|| self.now());
        loop {
            let next = self.engine.borrow_mut().bus.poll_delivery(now);
            let Some(delivery) = next else { break };
            now = self.run(delivery);
        }
        self.dispatching.set(false);
        self.write_inline_cell();
    }

    /// Runs one delivery and reports its outcome; returns when it completed.
    fn run(self: &Rc<Self>, delivery: Delivery<JsValue>) -> Instant {
        let token = delivery.token;
        let subscription = delivery.subscription;
        let found = self.handlers.borrow().get(subscription).map(|entry| {
            (
                entry.functions.get(),
                entry.functions.owner_id(),
                entry.batched,
                entry.limited,
            )
        });
        let Some((functions, owner, batched, limited)) = found else {
            // Only reachable if the engine hands out a delivery for an id the host never
            // registered; fail it visibly rather than lose it.
            return self.report(
                token,
                Outcome::Failed("switchyard: no handler registered for this subscription".into()),
            );
        };
        let Some((handler, filter)) = functions else {
            // The owner was collected (taking the handler with it) and the
            // `FinalizationRegistry` has not called back yet: release it now, as the callback
            // would. The subscription ends (reclaimed or reported as `owner_released`) and this
            // delivery, in flight to it, is dropped with the rest of its queue: not a failure.
            drop(delivery);
            if let Some(owner) = owner {
                self.release_owner(owner);
            }
            if !self.engine.borrow().bus.is_active(subscription) {
                return self.now();
            }
            // Unreachable in practice (the owner's release ends the subscription); fail the
            // delivery visibly rather than lose it.
            return self.report(
                token,
                Outcome::Failed(
                    "switchyard: the subscription's owner was garbage-collected".into(),
                ),
            );
        };

        if !batched && filter.is_none() {
            if let [item] = delivery.items.as_slice() {
                if let Some(result) = self.call_with_meta(&handler, &item.message, item.attempt) {
                    drop(delivery);
                    return self.conclude(token, subscription, limited, result);
                }
            }
        }

        let mut payloads = Vec::with_capacity(delivery.items.len());
        let mut metas = Vec::with_capacity(delivery.items.len());
        let mut last_message = None;
        for (index, item) in delivery.items.iter().enumerate() {
            let payload = item.message.payload.clone();
            let meta = self.meta(&item.message, item.attempt);
            if let Some(filter) = &filter {
                // A filter that publishes is under the cascade limit as a handler is: its
                // publishes are caused by the message it looks at.
                let previous = self.set_current(Some(item.message.id));
                let kept = filter.call2(&JsValue::UNDEFINED, &payload, &meta);
                self.set_current(previous);
                match kept {
                    Ok(keep) if keep.is_truthy() => {}
                    Ok(_) => {
                        let _ = self.engine.borrow_mut().bus.mark_filtered(token, index);
                        continue;
                    }
                    Err(thrown) => {
                        let reason = concat(&["filter threw: ", &describe_thrown(&thrown)]);
                        return self.report(token, Outcome::Failed(reason));
                    }
                }
            }
            last_message = Some(item.message.id);
            payloads.push(payload);
            metas.push(meta);
        }
        drop(delivery);
        if payloads.is_empty() {
            return self.report(token, Outcome::Filtered);
        }

        let previous = self.set_current(last_message);
        let result = if batched {
            let payloads: Array = payloads.into_iter().collect();
            let metas: Array = metas.into_iter().collect();
            handler.call2(&JsValue::UNDEFINED, &payloads, &metas)
        } else {
            handler.call2(&JsValue::UNDEFINED, &payloads[0], &metas[0])
        };
        self.set_current(previous);
        let result = result.map(|returned| Returned::of(&returned));

        self.conclude(token, subscription, limited, result)
    }

    /// The common case in one boundary crossing: the registered `deliver` hook builds `meta`
    /// and calls the handler. `None` when no hooks are registered.
    fn call_with_meta(
        &self,
        handler: &Function,
        message: &Envelope<JsValue>,
        attempt: u32,
    ) -> Option<Result<Returned, JsValue>> {
        let topic = self.topic_value(&message.topic);
        let headers = if message.headers.is_empty() {
            JsValue::UNDEFINED
        } else {
            headers(&message.headers).into()
        };
        let previous = self.set_current(Some(message.id));
        let result = deliver(
            handler,
            &message.payload,
            message.id.0 as f64,
            &topic,
            message.topic_seq as f64,
            attempt,
            message.published_at.as_millis_f64(),
            message
                .causation
                .map_or(JsValue::NULL, |id| JsValue::from_f64(id.0 as f64)),
            message
                .correlation
                .as_deref()
                .map_or(JsValue::NULL, JsValue::from_str),
            headers,
            origin_value(message.origin.as_deref()),
        );
        self.set_current(previous);
        result
    }

    /// Reports how a handler call ended (a thenable makes it pending); returns when.
    fn conclude(
        self: &Rc<Self>,
        token: DeliveryToken,
        subscription: SubscriptionId,
        limited: bool,
        result: Result<Returned, JsValue>,
    ) -> Instant {
        let completed = match result {
            Ok(Returned::Thenable(promise)) => {
                let at = self.report(token, Outcome::Pending);
                self.await_settle(token, promise);
                at
            }
            Ok(Returned::Value) => self.report(token, Outcome::Delivered),
            Err(thrown) => self.report(token, Outcome::Failed(describe_thrown(&thrown))),
        };
        if limited {
            self.forget_if_gone(subscription);
        }
        completed
    }

    /// Tells the engine how a delivery ended. A delivery whose subscription was removed while
    /// its handler ran is unknown to the engine by then; that is expected and ignored.
    fn report(&self, token: DeliveryToken, outcome: Outcome) -> Instant {
        let mut engine = self.engine.borrow_mut();
        let now = engine.now();
        let _ = engine.bus.complete(token, outcome, now);
        now
    }

    /// Settles a pending delivery when its promise does.
    pub fn await_settle(self: &Rc<Self>, token: DeliveryToken, promise: Promise) {
        let weak = Rc::downgrade(self);
        wasm_bindgen_futures::spawn_local(async move {
            let result = JsFuture::from(promise).await;
            let Some(shared) = weak.upgrade() else { return };
            let result = result
                .map(|_| ())
                .map_err(|thrown| describe_thrown(&thrown));
            {
                let mut engine = shared.engine.borrow_mut();
                let now = engine.now();
                // A late settle (after a timeout) is counted by the engine and ignored here.
                let _ = engine.bus.settle(token, result, now);
            }
            shared.finish();
        });
    }

    /// Drops the handler of a subscription the engine removed by itself (`once`).
    pub fn forget_if_gone(&self, id: SubscriptionId) {
        if self.engine.borrow().bus.is_active(id) {
            return;
        }
        let removed = self.handlers.borrow_mut().remove(id);
        drop(removed);
    }
}

/// `returned` as a promise if it is a thenable (an object or function with a callable `then`).
pub fn thenable(returned: &JsValue) -> Option<Promise> {
    if !(returned.is_object() || returned.is_function()) {
        return None;
    }
    if let Some(promise) = returned.dyn_ref::<Promise>() {
        return Some(promise.clone());
    }
    let then = Reflect::get(returned, &JsValue::from_str("then")).ok()?;
    if !then.is_function() {
        return None;
    }
    Some(Promise::resolve(returned))
}

impl Shared {
    /// The `meta` argument of a handler call.
    fn meta<P>(&self, message: &Envelope<P>, attempt: u32) -> JsValue {
        let topic = self.topic_value(&message.topic);
        let headers = if message.headers.is_empty() {
            JsValue::UNDEFINED
        } else {
            headers(&message.headers).into()
        };
        make_meta(
            message.id.0 as f64,
            &topic,
            message.topic_seq as f64,
            attempt,
            message.published_at.as_millis_f64(),
            message
                .causation
                .map_or(JsValue::NULL, |id| JsValue::from_f64(id.0 as f64)),
            message
                .correlation
                .as_deref()
                .map_or(JsValue::NULL, JsValue::from_str),
            headers,
            origin_value(message.origin.as_deref()),
        )
    }

    /// `topic` as a JS string, reusing the last one made (deliveries of one publish, and
    /// publishes in a loop, share their topic; decoding it once saves a UTF-8 decode per call).
    pub fn topic_value(&self, topic: &str) -> JsValue {
        let mut cache = self.topic_cache.borrow_mut();
        if let Some((text, value)) = cache.as_ref() {
            if text.as_str() == topic {
                return value.clone();
            }
        }
        let value = JsValue::from_str(topic);
        *cache = Some((topic.to_owned(), value.clone()));
        value
    }

    /// The Rust text of `topic` if it is the JS string last seen (`===`, no UTF-8 encoding).
    pub fn cached_topic(&self, topic: &JsValue) -> Option<String> {
        match self.topic_cache.borrow().as_ref() {
            Some((text, value)) if value == topic => Some(text.clone()),
            _ => None,
        }
    }

    /// Seeds the topic cache with the string a publish was given.
    pub fn remember_topic(&self, topic: String, value: JsValue) {
        *self.topic_cache.borrow_mut() = Some((topic, value));
    }
}

/// Headers as a plain object.
pub fn headers(pairs: &[(Box<str>, Box<str>)]) -> Object {
    let object = Object::new();
    for (key, value) in pairs {
        let _ = Reflect::set(&object, &JsValue::from_str(key), &JsValue::from_str(value));
    }
    object
}

/// Calls `f` with no `this`, ignoring what it throws (used for resolve functions).
pub fn call_quietly(f: &Function, value: &JsValue) {
    let _ = f.call1(&JsValue::UNDEFINED, value);
}
