//! Helpers shared by the wasm-bindgen-test suites: option objects from JSON, recording
//! handlers, and error-code checks.
#![allow(dead_code)]

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Reflect, JSON};
use switchyard_wasm::EventBus;
use wasm_bindgen::prelude::*;

/// A JS value parsed from JSON (option objects in tests).
pub fn json(text: &str) -> JsValue {
    JSON::parse(text).expect("test JSON is valid")
}

/// A bus with `options` (JSON).
pub fn bus(options: &str) -> EventBus {
    EventBus::new(json(options)).expect("valid bus options")
}

/// A handler that records `label` and the payload's `String()` in `log`.
pub struct Recorder {
    pub log: Rc<RefCell<Vec<String>>>,
    closures: Vec<Closure<dyn FnMut(JsValue, JsValue)>>,
}

impl Recorder {
    pub fn new() -> Self {
        Recorder {
            log: Rc::new(RefCell::new(Vec::new())),
            closures: Vec::new(),
        }
    }

    /// A handler function logging `label:payload`.
    pub fn handler(&mut self, label: &str) -> JsValue {
        let log = Rc::clone(&self.log);
        let label = label.to_owned();
        let closure =
            Closure::<dyn FnMut(JsValue, JsValue)>::new(move |payload: JsValue, _meta: JsValue| {
                log.borrow_mut().push(format!("{label}:{}", text(&payload)));
            });
        let function = closure.as_ref().clone();
        self.closures.push(closure);
        function
    }

    /// What was logged so far.
    pub fn entries(&self) -> Vec<String> {
        self.log.borrow().clone()
    }
}

/// `String(value)` for logging.
pub fn text(value: &JsValue) -> String {
    value
        .as_string()
        .or_else(|| value.as_f64().map(|n| format!("{n}")))
        .unwrap_or_else(|| format!("{value:?}"))
}

/// A JS function from source (for handlers that throw or return promises).
pub fn js_fn(args: &str, body: &str) -> JsValue {
    Function::new_with_args(args, body).into()
}

/// The `code` of a thrown SwitchyardError.
pub fn code(error: &JsValue) -> String {
    Reflect::get(error, &JsValue::from_str("code"))
        .ok()
        .and_then(|c| c.as_string())
        .unwrap_or_default()
}

/// A numeric property of an object.
pub fn number(object: &JsValue, path: &[&str]) -> f64 {
    let mut value = object.clone();
    for key in path {
        value = Reflect::get(&value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED);
    }
    value.as_f64().unwrap_or(f64::NAN)
}

/// A string property of an object.
pub fn string(object: &JsValue, key: &str) -> Option<String> {
    Reflect::get(object, &JsValue::from_str(key))
        .ok()
        .and_then(|v| v.as_string())
}
