//! The JS-facing API driven from Rust through the exported types, in headless Chromium and
//! Firefox (`cargo test --target wasm32-unknown-unknown -p switchyard-wasm` with CHROMEDRIVER
//! or GECKODRIVER set).
#![cfg(target_arch = "wasm32")]

mod common;

use common::{bus, code, js_fn, json, number, string, Recorder};
use js_sys::{Array, Promise};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const NONE: JsValue = JsValue::UNDEFINED;

#[wasm_bindgen_test]
fn sync_handlers_run_in_fifo_order_before_publish_returns() {
    let bus = bus("{}");
    let mut rec = Recorder::new();
    bus.subscribe_by_id("t".into(), rec.handler("a"), NONE)
        .unwrap();
    for i in 0..3 {
        bus.publish("t".into(), JsValue::from(i), NONE).unwrap();
    }
    assert_eq!(rec.entries(), ["a:0", "a:1", "a:2"]);
}

#[wasm_bindgen_test]
fn higher_priority_runs_first_and_ties_keep_subscription_order() {
    let bus = bus("{}");
    let mut rec = Recorder::new();
    bus.subscribe_by_id("t".into(), rec.handler("low"), json(r#"{"priority": -1}"#))
        .unwrap();
    bus.subscribe_by_id("t".into(), rec.handler("first"), NONE)
        .unwrap();
    bus.subscribe_by_id("t".into(), rec.handler("high"), json(r#"{"priority": 5}"#))
        .unwrap();
    bus.subscribe_by_id("t".into(), rec.handler("second"), NONE)
        .unwrap();
    bus.publish("t".into(), JsValue::from(1), NONE).unwrap();
    assert_eq!(rec.entries(), ["high:1", "first:1", "second:1", "low:1"]);
}

#[wasm_bindgen_test]
fn once_delivers_one_message_then_deactivates() {
    let bus = bus("{}");
    let mut rec = Recorder::new();
    let sub = bus
        .subscribe_by_id("t".into(), rec.handler("once"), json(r#"{"once": true}"#))
        .unwrap();
    bus.publish("t".into(), JsValue::from(1), NONE).unwrap();
    bus.publish("t".into(), JsValue::from(2), NONE).unwrap();
    assert_eq!(rec.entries(), ["once:1"]);
    assert!(!bus.subscription_active(sub));
}

#[wasm_bindgen_test]
fn a_filter_counts_rejected_messages_as_filtered() {
    let bus = bus("{}");
    let mut rec = Recorder::new();
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &"filter".into(), &js_fn("p", "return p > 1")).unwrap();
    let sub = bus
        .subscribe_by_id("t".into(), rec.handler("f"), options.into())
        .unwrap();
    for i in 0..4 {
        bus.publish("t".into(), JsValue::from(i), NONE).unwrap();
    }
    assert_eq!(rec.entries(), ["f:2", "f:3"]);
    assert_eq!(
        number(&bus.stats_by_id(sub), &["counters", "filtered"]),
        2.0
    );
}

#[wasm_bindgen_test]
fn wildcards_match_one_or_many_segments() {
    let bus = bus("{}");
    let mut rec = Recorder::new();
    bus.subscribe_by_id("a.*".into(), rec.handler("star"), NONE)
        .unwrap();
    bus.subscribe_by_id("a.**".into(), rec.handler("glob"), NONE)
        .unwrap();
    for topic in ["a", "a.b", "a.b.c"] {
        bus.publish(topic.into(), JsValue::from(topic), NONE)
            .unwrap();
    }
    assert_eq!(
        rec.entries(),
        ["glob:a", "star:a.b", "glob:a.b", "glob:a.b.c"]
    );
}

#[wasm_bindgen_test]
fn a_throwing_handler_does_not_stop_others_and_is_dead_lettered() {
    let bus = bus("{}");
    let mut rec = Recorder::new();
    bus.subscribe_by_id(
        "t".into(),
        js_fn("p", "throw new Error('boom')"),
        json(r#"{"priority": 1}"#),
    )
    .unwrap();
    bus.subscribe_by_id("t".into(), rec.handler("ok"), NONE)
        .unwrap();
    bus.publish("t".into(), JsValue::from(7), NONE).unwrap();
    assert_eq!(rec.entries(), ["ok:7"]);
    let letters = bus.dead_letters();
    assert_eq!(letters.length(), 1);
    assert_eq!(
        string(&letters.get(0), "lastError").as_deref(),
        Some("Error: boom")
    );
}

#[wasm_bindgen_test]
fn retries_follow_backoff_on_the_manual_clock_then_redrive_succeeds() {
    let bus = bus(r#"{"clock": "manual", "retry": {"attempts": 3, "backoffMs": 10}}"#);
    let calls = Array::new();
    let handler = js_sys::Function::new_with_args(
        "calls, p, m",
        "calls.push(m.attempt); if (p === 'bad') throw 1;",
    )
    .bind1(&JsValue::NULL, &calls);
    bus.subscribe_by_id("t".into(), handler.into(), NONE)
        .unwrap();
    bus.publish("t".into(), "bad".into(), NONE).unwrap();
    assert_eq!(calls.length(), 1);
    bus.advance(JsValue::from(10)).unwrap();
    assert_eq!(calls.length(), 2);
    bus.advance(JsValue::from(20)).unwrap();
    assert_eq!(calls.length(), 3);
    assert_eq!(bus.dead_letters().length(), 1);
    assert_eq!(bus.redrive(NONE).unwrap(), 1);
    assert_eq!(
        calls.get(3).as_f64(),
        Some(1.0),
        "attempts reset by redrive"
    );
    assert_eq!(
        bus.dead_letters().length(),
        0,
        "the redriven message waits for its retry"
    );
    bus.advance(JsValue::from(30)).unwrap();
    assert_eq!(calls.length(), 6);
    assert_eq!(bus.purge_dead_letters(), 1);
}

#[wasm_bindgen_test]
fn reject_backpressure_is_atomic_and_names_the_subscription() {
    let bus = bus("{}");
    let mut rec = Recorder::new();
    bus.subscribe_by_id("t".into(), rec.handler("free"), NONE)
        .unwrap();
    let full = bus
        .subscribe_by_id(
            "t".into(),
            rec.handler("full"),
            json(r#"{"capacity": 1, "name": "slow"}"#),
        )
        .unwrap();
    bus.pause_by_id(full);
    bus.publish("t".into(), JsValue::from(1), NONE).unwrap();
    let error = bus.publish("t".into(), JsValue::from(2), NONE).unwrap_err();
    assert_eq!(code(&error), "E_BACKPRESSURE");
    assert!(string(&error, "message")
        .unwrap_or_default()
        .contains("slow"));
    assert_eq!(rec.entries(), ["free:1"]);
}

#[wasm_bindgen_test]
fn bad_input_is_refused_with_codes_and_the_bus_keeps_working() {
    let bus = bus("{}");
    assert_eq!(
        code(
            &bus.subscribe_by_id(JsValue::from(5), js_fn("", ""), NONE)
                .unwrap_err()
        ),
        "E_INVALID_PATTERN"
    );
    assert_eq!(
        code(
            &bus.subscribe_by_id("a..b".into(), js_fn("", ""), NONE)
                .unwrap_err()
        ),
        "E_INVALID_PATTERN"
    );
    assert_eq!(
        code(
            &bus.subscribe_by_id("t".into(), JsValue::from(5), NONE)
                .unwrap_err()
        ),
        "E_INVALID_HANDLER"
    );
    assert_eq!(
        code(
            &bus.subscribe_by_id("t".into(), js_fn("", ""), json(r#"{"priority": "x"}"#))
                .unwrap_err()
        ),
        "E_INVALID_OPTION"
    );
    assert_eq!(
        code(
            &bus.subscribe_by_id("t".into(), js_fn("", ""), json(r#"{"nope": 1}"#))
                .unwrap_err()
        ),
        "E_INVALID_OPTION"
    );
    assert_eq!(
        code(&bus.publish("a.*".into(), NONE, NONE).unwrap_err()),
        "E_INVALID_TOPIC"
    );
    assert_eq!(
        code(
            &bus.publish("t".into(), NONE, json(r#"{"ttlMs": -1}"#))
                .unwrap_err()
        ),
        "E_INVALID_OPTION"
    );
    assert_eq!(
        code(&bus.advance(JsValue::from(1)).unwrap_err()),
        "E_INVALID_OPTION"
    );
    assert_eq!(
        code(&bus.trace(JsValue::from("x")).unwrap_err()),
        "E_INVALID_OPTION"
    );
    assert_eq!(
        code(&bus.on("nope".into(), js_fn("", "")).unwrap_err()),
        "E_INVALID_OPTION"
    );
    assert!(switchyard_wasm::EventBus::new(json(r#"{"capacity": 0}"#)).is_err());
    let mut rec = Recorder::new();
    bus.subscribe_by_id("t".into(), rec.handler("ok"), NONE)
        .unwrap();
    bus.publish("t".into(), JsValue::from(1), NONE).unwrap();
    assert_eq!(rec.entries(), ["ok:1"]);
}

#[wasm_bindgen_test]
fn close_refuses_later_publishes_and_subscribes() {
    let bus = bus("{}");
    bus.subscribe_by_id("t".into(), js_fn("", ""), NONE)
        .unwrap();
    bus.close();
    assert_eq!(
        code(&bus.publish("t".into(), NONE, NONE).unwrap_err()),
        "E_CLOSED"
    );
    assert_eq!(
        code(
            &bus.subscribe_by_id("t".into(), js_fn("", ""), NONE)
                .unwrap_err()
        ),
        "E_CLOSED"
    );
}

#[wasm_bindgen_test]
fn lifecycle_listeners_see_js_event_names() {
    let bus = bus("{}");
    let kinds = Array::new();
    let listener = js_sys::Function::new_with_args("kinds, e", "kinds.push(e.kind)")
        .bind1(&JsValue::NULL, &kinds);
    let off = bus.on("*".into(), listener.into()).unwrap();
    bus.subscribe_by_id("t".into(), js_fn("", ""), NONE)
        .unwrap();
    bus.publish("t".into(), NONE, NONE).unwrap();
    let seen: Vec<String> = kinds.iter().filter_map(|k| k.as_string()).collect();
    for expected in [
        "subscriber_added",
        "published",
        "message_enqueued",
        "delivering",
        "delivered",
    ] {
        assert!(seen.iter().any(|k| k == expected), "{expected} in {seen:?}");
    }
    off.call0(&JsValue::NULL).unwrap();
    let before = kinds.length();
    bus.publish("t".into(), NONE, NONE).unwrap();
    assert_eq!(kinds.length(), before);
}

#[wasm_bindgen_test]
async fn async_handlers_stay_pending_until_their_promise_settles() {
    let bus = bus("{}");
    let done = Array::new();
    let handler = js_sys::Function::new_with_args(
        "done, p",
        "return Promise.resolve().then(() => done.push(p))",
    )
    .bind1(&JsValue::NULL, &done);
    bus.subscribe_by_id("t".into(), handler.into(), NONE)
        .unwrap();
    bus.publish("t".into(), JsValue::from(1), NONE).unwrap();
    bus.publish("t".into(), JsValue::from(2), NONE).unwrap();
    assert!(!bus.is_idle());
    JsFuture::from(bus.idle()).await.unwrap();
    assert_eq!(done.length(), 2);
    assert_eq!(number(&bus.metrics(), &["totals", "delivered"]), 2.0);
}

#[wasm_bindgen_test]
async fn a_rejected_promise_is_retried_on_the_real_clock() {
    let bus = bus(r#"{"retry": {"attempts": 2, "backoffMs": 5}}"#);
    let calls = Array::new();
    let handler = js_sys::Function::new_with_args(
        "calls, p, m",
        "calls.push(m.attempt); return m.attempt === 1 ? Promise.reject(new Error('first')) : undefined;",
    )
    .bind1(&JsValue::NULL, &calls);
    bus.subscribe_by_id("t".into(), handler.into(), NONE)
        .unwrap();
    bus.publish("t".into(), NONE, NONE).unwrap();
    JsFuture::from(bus.idle()).await.unwrap();
    assert_eq!(calls.length(), 2);
    assert_eq!(bus.dead_letters().length(), 0);
    let _unused: Promise = bus.idle();
}

#[wasm_bindgen_test]
fn a_snapshot_restores_queued_messages_and_reattaches_handlers_by_name() {
    let bus = bus(r#"{"clock": "manual"}"#);
    let sub = bus
        .subscribe_by_id("jobs".into(), js_fn("", ""), json(r#"{"name": "worker"}"#))
        .unwrap();
    bus.pause_by_id(sub);
    bus.publish("jobs".into(), JsValue::from(1), NONE).unwrap();
    bus.publish("jobs".into(), JsValue::from(2), NONE).unwrap();
    let snapshot = bus.snapshot().unwrap();
    assert_eq!(
        string(&snapshot, "format").as_deref(),
        Some("switchyard.snapshot")
    );
    assert_eq!(number(&snapshot, &["version"]), 2.0);
    let field = |name: &str| js_sys::Reflect::get(&snapshot, &name.into()).unwrap();
    let bytes: js_sys::Uint8Array = wasm_bindgen::JsCast::dyn_into(field("bytes")).unwrap();
    assert!(bytes.length() > 0);
    assert_eq!(number(&snapshot, &["payloads", "length"]), 2.0);

    // A structured clone (what IndexedDB stores) restores like the original.
    let clone = js_sys::Function::new_with_args("s", "return structuredClone(s);")
        .call1(&NONE, &snapshot)
        .unwrap();
    let mut rec = Recorder::new();
    let handlers = js_sys::Object::new();
    js_sys::Reflect::set(&handlers, &"worker".into(), &rec.handler("restored")).unwrap();
    let options = json(r#"{"clock": "manual"}"#);
    js_sys::Reflect::set(&options, &"handlers".into(), &handlers).unwrap();
    let restored = switchyard_wasm::EventBus::restore(clone, options).unwrap();
    let info = restored.subscriptions().get(0);
    assert_eq!(number(&info, &["depth"]), 2.0);
    assert!(restored.resume_by_id(number(&info, &["id"])));
    assert_eq!(rec.entries(), ["restored:1", "restored:2"]);

    // Not an object, truncated bytes, a missing payload: refused, naming the field.
    let refused = |value: JsValue| switchyard_wasm::EventBus::restore(value, NONE).unwrap_err();
    assert_eq!(code(&refused(JsValue::from(5))), "E_INVALID_OPTION");
    let truncated = js_sys::Object::assign(
        &js_sys::Object::new(),
        wasm_bindgen::JsCast::unchecked_ref(&snapshot),
    );
    js_sys::Reflect::set(
        &truncated,
        &"bytes".into(),
        &bytes.subarray(0, bytes.length() - 1),
    )
    .unwrap();
    let error = refused(truncated.into());
    assert_eq!(code(&error), "E_INVALID_OPTION");
    assert!(string(&error, "message")
        .unwrap_or_default()
        .contains("snapshot.bytes"));
    let missing = js_sys::Object::assign(
        &js_sys::Object::new(),
        wasm_bindgen::JsCast::unchecked_ref(&snapshot),
    );
    js_sys::Reflect::set(&missing, &"payloads".into(), &Array::new()).unwrap();
    let error = refused(missing.into());
    assert!(string(&error, "message")
        .unwrap_or_default()
        .contains("snapshot.payloads"));
    // The original bus is untouched and still restorable.
    assert_eq!(number(&bus.subscriptions().get(0), &["depth"]), 2.0);
    assert!(switchyard_wasm::EventBus::restore(snapshot, NONE).is_ok());
}
