//! Object construction delegated to small JS functions the package's entry registers once
//! (`__registerHooks`). Building a handler's `meta` with one call to a JS object literal gives
//! V8 and SpiderMonkey a fixed object shape and costs one boundary crossing, where setting
//! eight properties one `Reflect.set` at a time from Rust costs eight crossings, eight key
//! strings and a dictionary-mode object. Without registered hooks (the Rust API used directly,
//! as in the wasm-bindgen tests) the same objects are built with `Reflect.set`.

use core::cell::RefCell;

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;

use crate::dispatch::thenable;
use switchyard_core::Origin;

#[wasm_bindgen]
extern "C" {
    /// `{ error, meta, deliver, takeThenable, published, hold, event }`, registered by the
    /// entry file.
    #[derive(Clone)]
    pub type Hooks;
    #[wasm_bindgen(method, js_name = error)]
    fn error(this: &Hooks, code: &str, message: &str) -> JsValue;
    #[wasm_bindgen(method, js_name = meta)]
    #[allow(clippy::too_many_arguments)]
    fn meta(
        this: &Hooks,
        id: f64,
        topic: &JsValue,
        seq: f64,
        attempt: u32,
        published_at: f64,
        causation_id: JsValue,
        correlation_id: JsValue,
        headers: JsValue,
        origin: JsValue,
    ) -> JsValue;
    /// Calls the handler; `1` if it returned a thenable (then held for `takeThenable`),
    /// else `0`. A number crosses the boundary without a handle to allocate and free.
    #[wasm_bindgen(method, catch, js_name = deliver)]
    #[allow(clippy::too_many_arguments)]
    fn deliver(
        this: &Hooks,
        handler: &Function,
        payload: &JsValue,
        id: f64,
        topic: &JsValue,
        seq: f64,
        attempt: u32,
        published_at: f64,
        causation_id: JsValue,
        correlation_id: JsValue,
        headers: JsValue,
        origin: JsValue,
    ) -> Result<u32, JsValue>;
    #[wasm_bindgen(method, js_name = takeThenable)]
    fn take_thenable(this: &Hooks) -> JsValue;
    #[wasm_bindgen(method, js_name = published)]
    fn published(this: &Hooks, id: f64, seq: f64, matched: f64) -> JsValue;
    #[wasm_bindgen(method, js_name = hold)]
    fn hold(this: &Hooks, value: &JsValue);
    #[wasm_bindgen(method, js_name = event)]
    #[allow(clippy::too_many_arguments)]
    fn event(
        this: &Hooks,
        cursor: f64,
        at: f64,
        kind: &JsValue,
        subscription: JsValue,
        message: JsValue,
        topic: JsValue,
        detail: f64,
        origin: JsValue,
    ) -> JsValue;
}

thread_local! {
    static HOOKS: RefCell<Option<Hooks>> = const { RefCell::new(None) };
}

/// Registers the constructors (called once by the package's entry files; not public API).
#[wasm_bindgen(js_name = __registerHooks)]
pub fn register_hooks(hooks: JsValue) {
    if hooks.is_object() {
        HOOKS.with(|slot| *slot.borrow_mut() = Some(hooks.unchecked_into()));
    }
}

/// Seeds the engine's hash maps (`switchyard_core::hash`) with 64 random bits, `high` and `low`
/// halves: the package's JavaScript calls it once, before the first bus, with
/// `crypto.getRandomValues` (global in browsers and Node 19+).
#[wasm_bindgen(js_name = __seedHashes)]
pub fn seed_hashes(high: u32, low: u32) {
    switchyard_core::hash::seed_hashes((u64::from(high) << 32) | u64::from(low));
}

/// Calls `f` with the registered hooks (without cloning the handle), or returns `None`.
fn with_hooks<T>(f: impl FnOnce(&Hooks) -> T) -> Option<T> {
    HOOKS.with(|slot| slot.borrow().as_ref().map(f))
}

fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (key, value) in fields {
        let _ = Reflect::set(&object, &JsValue::from_str(key), value);
    }
    object.into()
}

/// A `SwitchyardError` (or, unregistered, `null` so the caller builds a plain `Error`).
pub fn make_error(code: &str, message: &str) -> Option<JsValue> {
    with_hooks(|h| h.error(code, message))
}

/// A message's `meta.origin`: `null` for a local publish, else a frozen
/// `{ realm, id, seq, hops }` (built only for bridged messages).
pub fn origin_value(origin: Option<&Origin>) -> JsValue {
    let Some(origin) = origin else {
        return JsValue::NULL;
    };
    let value = object(&[
        ("realm", JsValue::from_str(&origin.realm)),
        ("id", JsValue::from_f64(origin.id as f64)),
        ("seq", JsValue::from_f64(origin.seq as f64)),
        ("hops", JsValue::from_f64(f64::from(origin.hops))),
    ]);
    Object::freeze(value.unchecked_ref::<Object>()).into()
}

/// A handler's `meta`. `headers` is `undefined` for none (the hook shares one frozen `{}`);
/// `origin` is [`origin_value`]'s.
#[allow(clippy::too_many_arguments)]
pub fn make_meta(
    id: f64,
    topic: &JsValue,
    seq: f64,
    attempt: u32,
    published_at: f64,
    causation_id: JsValue,
    correlation_id: JsValue,
    headers: JsValue,
    origin: JsValue,
) -> JsValue {
    HOOKS.with(|slot| match slot.borrow().as_ref() {
        Some(h) => h.meta(
            id,
            topic,
            seq,
            attempt,
            published_at,
            causation_id,
            correlation_id,
            headers,
            origin,
        ),
        None => object(&[
            ("id", id.into()),
            ("topic", topic.clone()),
            ("seq", seq.into()),
            ("attempt", attempt.into()),
            ("publishedAt", published_at.into()),
            ("causationId", causation_id),
            ("correlationId", correlation_id),
            (
                "headers",
                if headers.is_undefined() {
                    Object::new().into()
                } else {
                    headers
                },
            ),
            ("origin", origin),
        ]),
    })
}

/// What a handler returned, as far as delivery cares.
pub enum Returned {
    /// Anything but a thenable: the delivery is done.
    Value,
    /// A thenable (as a promise): the delivery is pending until it settles.
    Thenable(Promise),
}

impl Returned {
    /// Classifies a value a handler returned.
    pub fn of(value: &JsValue) -> Returned {
        thenable(value).map_or(Returned::Value, Returned::Thenable)
    }
}

/// Calls `handler(payload, meta)` through the `deliver` hook: one crossing builds `meta`, makes
/// the call and tells whether a thenable came back. `Err` is what the handler threw; `None`
/// when no hooks are registered.
#[allow(clippy::too_many_arguments)]
pub fn deliver(
    handler: &Function,
    payload: &JsValue,
    id: f64,
    topic: &JsValue,
    seq: f64,
    attempt: u32,
    published_at: f64,
    causation_id: JsValue,
    correlation_id: JsValue,
    headers: JsValue,
    origin: JsValue,
) -> Option<Result<Returned, JsValue>> {
    with_hooks(|h| {
        let code = h.deliver(
            handler,
            payload,
            id,
            topic,
            seq,
            attempt,
            published_at,
            causation_id,
            correlation_id,
            headers,
            origin,
        )?;
        Ok(if code == 0 {
            Returned::Value
        } else {
            Returned::of(&h.take_thenable())
        })
    })
}

/// Hands an export's result object to the glue, which returns it to the caller (`takeHeld` in
/// js/src/held.js), so that the export itself returns nothing.
///
/// Why: V8 inlines a call from optimised JavaScript into a wasm export whose signature is
/// simple (one result of a number type or `externref`). When JavaScript that runs during such a
/// call (a handler, a `Promise` executor, or just building objects, which adds map transitions)
/// invalidates the optimised caller, V8 lazily deoptimises it on return, and Node 20's V8
/// (11.3) cannot rebuild the frame of an inlined call returning `externref`: it aborts the
/// process (`unreachable code` in `Deoptimizer::DoComputeBuiltinContinuation`). A void (or
/// number) result is rebuilt correctly, so every export that answers an object and may run
/// JavaScript answers through here. (Exports returning a `Result` cross as several values, which
/// V8 does not inline.)
pub fn hand_back(value: JsValue) {
    with_hooks(|h| h.hold(&value));
}

/// `publish`'s result `{ id, seq, matched }`.
pub fn make_published(id: f64, seq: f64, matched: f64) -> JsValue {
    match with_hooks(|h| h.published(id, seq, matched)) {
        Some(result) => result,
        None => object(&[
            ("id", id.into()),
            ("seq", seq.into()),
            ("matched", matched.into()),
        ]),
    }
}

/// A trace event `{ cursor, at, kind, subscription, message, topic, detail }`, plus `origin`
/// (see [`origin_value`]) when it is not `null`: only `published` events of bridged messages.
#[allow(clippy::too_many_arguments)]
pub fn make_event(
    cursor: f64,
    at: f64,
    kind: &JsValue,
    subscription: JsValue,
    message: JsValue,
    topic: JsValue,
    detail: f64,
    origin: JsValue,
) -> JsValue {
    HOOKS.with(|slot| match slot.borrow().as_ref() {
        Some(h) => h.event(
            cursor,
            at,
            kind,
            subscription,
            message,
            topic,
            detail,
            origin,
        ),
        None => {
            let event = object(&[
                ("cursor", cursor.into()),
                ("at", at.into()),
                ("kind", kind.clone()),
                ("subscription", subscription),
                ("message", message),
                ("topic", topic),
                ("detail", detail.into()),
            ]);
            if !origin.is_null() {
                let _ = Reflect::set(&event, &JsValue::from_str("origin"), &origin);
            }
            event
        }
    })
}
