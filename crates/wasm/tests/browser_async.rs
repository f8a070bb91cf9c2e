//! `waitFor`, `stream` and `idle()` in headless Chromium and Firefox, on the real clock
//! (`setTimeout`, `AbortController`, microtasks of a real browser event loop).
//!
//! `waitFor` and `stream` live in the package's JavaScript modules (`crates/wasm/js/src`),
//! which `cargo xtask pack` bundles into every entry. These tests install the same modules
//! (`install.js`, bundled as a script by `cargo xtask test`, which names the file in
//! `SWITCHYARD_GLUE`; see build.rs) over this crate's exported classes, as the entries do, and
//! then drive the bus only through JavaScript method calls, as a user of the package would.
#![cfg(target_arch = "wasm32")]

mod common;

use std::cell::OnceCell;

use common::{code, js_fn, json, number, string};
use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// The package's `install.js` and the modules it imports, bundled as a script that defines
/// `SwitchyardGlue.install` (see build.rs).
const GLUE: &str = include_str!(concat!(env!("OUT_DIR"), "/glue.js"));

thread_local! {
    /// `{ EventBus, Subscription, SwitchyardError }` after the glue ran (once per page).
    static API: OnceCell<JsValue> = const { OnceCell::new() };
}

/// What an entry file exports: the glue's `install(wasm)` over this crate's exports.
fn api() -> JsValue {
    API.with(|cell| cell.get_or_init(install_glue).clone())
}

fn install_glue() -> JsValue {
    let seed = switchyard_wasm::EventBus::new(JsValue::UNDEFINED).expect("a bus with defaults");
    let namespace = Object::new();
    set(&namespace, "EventBus", &constructor_of(seed.into()));
    set(
        &namespace,
        "__registerHooks",
        &Closure::<dyn Fn(JsValue)>::new(switchyard_wasm::hooks::register_hooks).into_js_value(),
    );
    set(
        &namespace,
        "__readOptions",
        &Closure::<dyn Fn(String, JsValue) -> Result<(), JsValue>>::new(
            |method: String, options: JsValue| {
                switchyard_wasm::options::read_method_options(&method, &options)
            },
        )
        .into_js_value(),
    );
    set(
        &namespace,
        "__inlineMemory",
        &Closure::<dyn Fn() -> JsValue>::new(switchyard_wasm::inline::inline_memory)
            .into_js_value(),
    );
    set(
        &namespace,
        "__inlineBatch",
        &Closure::<dyn Fn() -> u32>::new(switchyard_wasm::inline::inline_batch).into_js_value(),
    );
    set(
        &namespace,
        "__seedHashes",
        &Closure::<dyn Fn(u32, u32)>::new(switchyard_wasm::hooks::seed_hashes).into_js_value(),
    );
    let install = Function::new_with_args(
        "wasm",
        &format!("{GLUE}\nreturn SwitchyardGlue.install(wasm);"),
    );
    install
        .call1(&JsValue::NULL, &namespace)
        .expect("glue.js installs over the exported classes")
}

fn constructor_of(instance: JsValue) -> JsValue {
    Reflect::get(&instance, &"constructor".into()).expect("an exported class instance")
}

fn set(object: &Object, key: &str, value: &JsValue) {
    Reflect::set(object, &key.into(), value).expect("setting a property on a plain object");
}

fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

/// `new EventBus(options)` through the installed package.
fn new_bus(options: &str) -> JsValue {
    let class: Function = get(&api(), "EventBus").unchecked_into();
    Reflect::construct(&class, &Array::of1(&json(options))).expect("valid bus options")
}

/// `target[method](...args)`, as JavaScript calls it.
fn call(target: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let function: Function = get(target, method)
        .dyn_into()
        .unwrap_or_else(|_| panic!("`{method}` is a method"));
    function.apply(target, &args.iter().collect::<Array>())
}

/// Awaits a promise (or any value, as `await` does).
async fn settle(value: JsValue) -> Result<JsValue, JsValue> {
    JsFuture::from(Promise::resolve(&value)).await
}

/// Awaits a `setTimeout(ms)`: lets the browser run timers, microtasks and promise callbacks.
async fn sleep(ms: u32) {
    let timeout = js_fn(
        "ms",
        "return new Promise((resolve) => setTimeout(resolve, ms))",
    );
    let promise = call(&timeout, "call", &[JsValue::NULL, ms.into()]).expect("setTimeout");
    settle(promise).await.expect("a timeout resolves");
}

fn publish(bus: &JsValue, topic: &str, payload: JsValue) -> JsValue {
    call(bus, "publish", &[topic.into(), payload]).expect("a valid publish")
}

/// How many subscriptions the bus has (waitFor and stream subscribe under the hood).
fn subscription_count(bus: &JsValue) -> u32 {
    call(bus, "subscriptions", &[])
        .expect("subscriptions()")
        .unchecked_into::<Array>()
        .length()
}

fn is_switchyard_error(error: &JsValue) -> bool {
    let instance_of = js_fn("value, Class", "return value instanceof Class");
    call(
        &instance_of,
        "call",
        &[JsValue::NULL, error.clone(), get(&api(), "SwitchyardError")],
    )
    .is_ok_and(|answer| answer.is_truthy())
}

/// `performance.now()`, for checking that a timeout did not fire early.
fn now_ms() -> f64 {
    let performance = get(&js_sys::global(), "performance");
    call(&performance, "now", &[])
        .ok()
        .and_then(|value| value.as_f64())
        .unwrap_or(f64::NAN)
}

/// The `payload` of a `stream.next()` result, which must not be `done`.
async fn next_payload(stream: &JsValue) -> JsValue {
    let result = settle(call(stream, "next", &[]).expect("next()"))
        .await
        .expect("next() resolves");
    assert_eq!(
        get(&result, "done"),
        JsValue::FALSE,
        "the stream ended early"
    );
    get(&get(&result, "value"), "payload")
}

// ---- waitFor ----

#[wasm_bindgen_test]
async fn wait_for_resolves_with_the_next_matching_payload_and_unsubscribes() {
    let bus = new_bus("{}");
    let waiting = call(&bus, "waitFor", &["user.*".into()]).unwrap();
    assert_eq!(subscription_count(&bus), 1);
    publish(&bus, "order.created", "not this".into());
    publish(&bus, "user.created", "first".into());
    let later = publish(&bus, "user.deleted", "second".into());
    assert_eq!(
        settle(waiting).await.unwrap(),
        JsValue::from("first"),
        "the first matching message wins"
    );
    assert_eq!(
        number(&later, &["matched"]),
        0.0,
        "settled waiters match nothing"
    );
    assert_eq!(subscription_count(&bus), 0);
}

#[wasm_bindgen_test]
async fn wait_for_skips_payloads_its_filter_rejects() {
    let bus = new_bus("{}");
    let options = Object::new();
    set(&options, "filter", &js_fn("p", "return p.ok === true"));
    let waiting = call(&bus, "waitFor", &["jobs.*".into(), options.into()]).unwrap();
    publish(&bus, "jobs.a", json(r#"{"ok": false, "n": 1}"#));
    publish(&bus, "jobs.b", json(r#"{"ok": true, "n": 2}"#));
    publish(&bus, "jobs.c", json(r#"{"ok": true, "n": 3}"#));
    let payload = settle(waiting).await.unwrap();
    assert_eq!(number(&payload, &["n"]), 2.0);
    assert_eq!(subscription_count(&bus), 0);
}

#[wasm_bindgen_test]
async fn wait_for_rejects_with_e_timeout_once_timeout_ms_passes_on_the_real_clock() {
    let bus = new_bus("{}");
    let started = now_ms();
    let waiting = call(
        &bus,
        "waitFor",
        &["never".into(), json(r#"{"timeoutMs": 30}"#)],
    )
    .unwrap();
    let error = settle(waiting).await.unwrap_err();
    let elapsed = now_ms() - started;
    assert!(is_switchyard_error(&error), "a SwitchyardError: {error:?}");
    assert_eq!(code(&error), "E_TIMEOUT");
    assert!(
        string(&error, "message")
            .unwrap_or_default()
            .contains("never"),
        "the message names the pattern"
    );
    assert!(
        elapsed >= 29.0,
        "rejected after {elapsed} ms, before the 30 ms timeout"
    );
    assert_eq!(subscription_count(&bus), 0);
    assert_eq!(
        number(&publish(&bus, "never", JsValue::NULL), &["matched"]),
        0.0
    );
}

#[wasm_bindgen_test]
async fn wait_for_that_resolves_in_time_is_not_rejected_by_its_timeout_later() {
    let bus = new_bus("{}");
    let waiting = call(&bus, "waitFor", &["t".into(), json(r#"{"timeoutMs": 20}"#)]).unwrap();
    publish(&bus, "t", JsValue::from(7));
    assert_eq!(settle(waiting).await.unwrap(), JsValue::from(7));
    sleep(40).await;
    assert!(
        settle(call(&bus, "idle", &[]).unwrap()).await.is_ok(),
        "no timer left pending"
    );
    assert!(call(&bus, "isIdle", &[]).unwrap().is_truthy());
}

#[wasm_bindgen_test]
async fn wait_for_with_an_already_aborted_signal_rejects_with_its_reason_and_subscribes_nothing() {
    let bus = new_bus("{}");
    let controller = js_fn(
        "",
        "const c = new AbortController(); c.abort(new Error('gone')); return c;",
    );
    let controller = call(&controller, "call", &[JsValue::NULL]).unwrap();
    let options = Object::new();
    set(&options, "signal", &get(&controller, "signal"));
    let waiting = call(&bus, "waitFor", &["t".into(), options.into()]).unwrap();
    let error = settle(waiting).await.unwrap_err();
    assert_eq!(string(&error, "message").as_deref(), Some("gone"));
    assert_eq!(subscription_count(&bus), 0);
    assert_eq!(
        number(&publish(&bus, "t", JsValue::NULL), &["matched"]),
        0.0
    );
}

#[wasm_bindgen_test]
async fn wait_for_aborted_while_pending_rejects_and_leaves_no_subscription_behind() {
    let bus = new_bus("{}");
    let new_controller = js_fn("", "return new AbortController();");
    let controller = call(&new_controller, "call", &[JsValue::NULL]).unwrap();
    let options = Object::new();
    set(&options, "signal", &get(&controller, "signal"));
    set(&options, "timeoutMs", &JsValue::from(60_000));
    let waiting = call(&bus, "waitFor", &["t".into(), options.into()]).unwrap();
    assert_eq!(subscription_count(&bus), 1);
    sleep(5).await;
    call(&controller, "abort", &[]).unwrap();
    let error = settle(waiting).await.unwrap_err();
    assert_eq!(string(&error, "name").as_deref(), Some("AbortError"));
    assert_eq!(subscription_count(&bus), 0);
    assert_eq!(
        number(&publish(&bus, "t", JsValue::NULL), &["matched"]),
        0.0
    );
    assert!(
        call(&bus, "isIdle", &[]).unwrap().is_truthy(),
        "the 60 s timeout was cleared with the subscription"
    );
}

// ---- stream ----

#[wasm_bindgen_test]
async fn stream_yields_messages_in_publish_order_with_their_meta() {
    let bus = new_bus("{}");
    let stream = call(&bus, "stream", &["orders.*".into()]).unwrap();
    for (topic, n) in [("orders.a", 1), ("orders.b", 2), ("orders.c", 3)] {
        publish(&bus, topic, JsValue::from(n));
    }
    let mut seen = Vec::new();
    for _ in 0..3 {
        let result = settle(call(&stream, "next", &[]).unwrap()).await.unwrap();
        let value = get(&result, "value");
        seen.push((
            number(&value, &["payload"]),
            string(&get(&value, "meta"), "topic").unwrap_or_default(),
        ));
    }
    assert_eq!(
        seen,
        [
            (1.0, "orders.a".to_owned()),
            (2.0, "orders.b".to_owned()),
            (3.0, "orders.c".to_owned())
        ]
    );
    settle(call(&stream, "return", &[]).unwrap()).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_pending_next_resolves_when_a_message_arrives_later() {
    let bus = new_bus("{}");
    let stream = call(&bus, "stream", &["t".into()]).unwrap();
    let next = call(&stream, "next", &[]).unwrap();
    sleep(10).await;
    publish(&bus, "t", "late".into());
    let result = settle(next).await.unwrap();
    assert_eq!(
        get(&get(&result, "value"), "payload"),
        JsValue::from("late")
    );
    settle(call(&stream, "return", &[]).unwrap()).await.unwrap();
}

#[wasm_bindgen_test]
async fn an_unpulled_stream_keeps_a_bounded_queue_and_drop_oldest_counts_what_it_evicts() {
    let bus = new_bus("{}");
    let stream = call(
        &bus,
        "stream",
        &[
            "t".into(),
            json(r#"{"capacity": 2, "overflow": "drop-oldest"}"#),
        ],
    )
    .unwrap();
    for n in 1..=6 {
        publish(&bus, "t", JsValue::from(n));
    }
    sleep(0).await;
    // Message 1 was handed to the stream (in flight, waiting for a pull) and counts against
    // the capacity of 2, which every message held includes: one place is left for the queue,
    // where each of 3..6 evicted the one before it.
    let stats = call(&get(&stream, "subscription"), "stats", &[]).unwrap();
    assert_eq!(number(&stats, &["depth"]), 1.0);
    assert_eq!(number(&stats, &["inFlight"]), 1.0);
    assert_eq!(number(&stats, &["counters", "dropped"]), 4.0);
    let mut pulled = Vec::new();
    for _ in 0..2 {
        pulled.push(next_payload(&stream).await.as_f64().unwrap_or(f64::NAN));
    }
    assert_eq!(pulled, [1.0, 6.0]);
    settle(call(&stream, "return", &[]).unwrap()).await.unwrap();
}

#[wasm_bindgen_test]
async fn an_unpulled_stream_with_reject_refuses_publishes_past_capacity_and_loses_nothing() {
    let bus = new_bus("{}");
    let stream = call(
        &bus,
        "stream",
        &["t".into(), json(r#"{"capacity": 2, "overflow": "reject"}"#)],
    )
    .unwrap();
    // Message 1 goes to the stream (in flight until pulled), 2 waits in the queue: the
    // subscription holds 2 messages, its capacity, so 3 is refused.
    for n in 1..=2 {
        publish(&bus, "t", JsValue::from(n));
    }
    let refused = call(&bus, "publish", &["t".into(), JsValue::from(3)]).unwrap_err();
    assert!(
        is_switchyard_error(&refused),
        "a SwitchyardError: {refused:?}"
    );
    assert_eq!(code(&refused), "E_BACKPRESSURE");
    let stats = call(&get(&stream, "subscription"), "stats", &[]).unwrap();
    assert_eq!(number(&stats, &["depth"]), 1.0);
    assert_eq!(number(&stats, &["inFlight"]), 1.0);
    assert_eq!(number(&stats, &["counters", "dropped"]), 0.0);
    let mut pulled = Vec::new();
    for _ in 0..2 {
        pulled.push(next_payload(&stream).await.as_f64().unwrap_or(f64::NAN));
    }
    assert_eq!(pulled, [1.0, 2.0]);
    sleep(0).await;
    publish(&bus, "t", JsValue::from(5));
    assert_eq!(next_payload(&stream).await, JsValue::from(5));
    settle(call(&stream, "return", &[]).unwrap()).await.unwrap();
}

#[wasm_bindgen_test]
async fn return_unsubscribes_ends_pending_pulls_and_later_publishes_match_nothing() {
    let bus = new_bus("{}");
    let stream = call(&bus, "stream", &["t".into()]).unwrap();
    let subscription = get(&stream, "subscription");
    let pending = call(&stream, "next", &[]).unwrap();
    assert_eq!(subscription_count(&bus), 1);
    let returned = settle(call(&stream, "return", &[]).unwrap()).await.unwrap();
    assert_eq!(get(&returned, "done"), JsValue::TRUE);
    let ended = settle(pending).await.unwrap();
    assert_eq!(get(&ended, "done"), JsValue::TRUE, "a pending next() ends");
    assert_eq!(get(&subscription, "active"), JsValue::FALSE);
    assert_eq!(subscription_count(&bus), 0);
    assert_eq!(
        number(&publish(&bus, "t", JsValue::from(1)), &["matched"]),
        0.0
    );
    let after = settle(call(&stream, "next", &[]).unwrap()).await.unwrap();
    assert_eq!(get(&after, "done"), JsValue::TRUE);
    assert!(call(&bus, "isIdle", &[]).unwrap().is_truthy());
}

#[wasm_bindgen_test]
async fn return_releases_a_message_handed_to_the_stream_but_not_pulled() {
    let bus = new_bus("{}");
    let stream = call(&bus, "stream", &["t".into()]).unwrap();
    publish(&bus, "t", JsValue::from(1));
    sleep(0).await;
    assert!(
        !call(&bus, "isIdle", &[]).unwrap().is_truthy(),
        "the handed-over message is in flight"
    );
    settle(call(&stream, "return", &[]).unwrap()).await.unwrap();
    settle(call(&bus, "idle", &[]).unwrap()).await.unwrap();
    assert_eq!(subscription_count(&bus), 0);
}

// ---- idle ----

#[wasm_bindgen_test]
async fn idle_resolves_only_after_async_handlers_settle_on_real_timers() {
    let bus = new_bus("{}");
    let done = Array::new();
    let handler = Function::new_with_args(
        "done, p",
        "return new Promise((resolve) => setTimeout(() => { done.push(p); resolve(); }, 15));",
    )
    .bind1(&JsValue::NULL, &done);
    let failing = js_fn(
        "",
        "return new Promise((_, reject) => setTimeout(() => reject(new Error('late failure')), 5));",
    );
    call(&bus, "subscribe", &["t".into(), handler.into()]).unwrap();
    call(&bus, "subscribe", &["t".into(), failing]).unwrap();
    publish(&bus, "t", JsValue::from(1));
    publish(&bus, "t", JsValue::from(2));
    assert!(!call(&bus, "isIdle", &[]).unwrap().is_truthy());
    settle(call(&bus, "idle", &[]).unwrap()).await.unwrap();
    assert_eq!(done.length(), 2, "both async deliveries settled first");
    let metrics = call(&bus, "metrics", &[]).unwrap();
    assert_eq!(number(&metrics, &["totals", "delivered"]), 2.0);
    let letters: Array = call(&bus, "deadLetters", &[]).unwrap().unchecked_into();
    assert_eq!(
        letters.length(),
        2,
        "the rejections are dead letters, not lost"
    );
    assert!(call(&bus, "isIdle", &[]).unwrap().is_truthy());
}

#[wasm_bindgen_test]
async fn idle_on_an_idle_bus_resolves_at_once() {
    let bus = new_bus("{}");
    assert!(call(&bus, "isIdle", &[]).unwrap().is_truthy());
    settle(call(&bus, "idle", &[]).unwrap()).await.unwrap();
}
