//! Creation stacks for leak reports (`captureStacks`): where the user called `subscribe`.
//!
//! `new Error().stack` taken inside the bindings begins with the package's own frames: the
//! wasm-bindgen import that builds the error, the wasm frames of the engine call, the binding
//! `__subscribe` and the glue's `subscribe` wrapper. Six of V8's default ten
//! (`Error.stackTraceLimit`), which would leave four for the user's code. So the limit is
//! raised by [`INTERNAL_FRAMES`] while the error is built, and the frames down to the
//! `subscribe` binding are cut: the stack starts at the user's `subscribe` call and keeps as
//! many of their frames as the limit says.
//!
//! The text is handled with JavaScript's string methods (`split`, `includes`, `join`): Rust's
//! substring search would add kilobytes to the `.wasm` for a feature that runs once per
//! subscribe with `captureStacks` on.

use crate::prelude::*;
use js_sys::{Array, Error, JsString, Reflect};
use wasm_bindgen::prelude::*;

use crate::error::concat;

/// Frames allowed for the package's own frames on top of `Error.stackTraceLimit`.
pub const INTERNAL_FRAMES: f64 = 12.0;

/// The stack of the `subscribe` call being made, starting at the caller's frame.
pub fn subscribe_stack() -> Option<String> {
    let constructor: JsValue = Error::new("").constructor().into();
    let key = JsValue::from_str("stackTraceLimit");
    let limit = Reflect::get(&constructor, &key)
        .ok()
        .and_then(|l| l.as_f64());
    if let Some(limit) = limit {
        let _ = Reflect::set(
            &constructor,
            &key,
            &JsValue::from_f64(limit + INTERNAL_FRAMES),
        );
    }
    let stack = Reflect::get(&Error::new("subscribe"), &JsValue::from_str("stack"));
    if let Some(limit) = limit {
        let _ = Reflect::set(&constructor, &key, &JsValue::from_f64(limit));
    }
    let stack = stack.ok()?.dyn_into::<JsString>().ok()?;
    let keep = limit
        .filter(|l| l.is_finite() && *l >= 0.0)
        .map(|l| l.min(f64::from(u32::MAX)) as u32);
    Some(trim(&stack, keep).into())
}

/// `stack` without the frames above the user's `subscribe` call, with at most `keep` of the
/// caller's frames. V8 writes a header line (`Error: subscribe`), which stays; SpiderMonkey
/// and JavaScriptCore write frames only. The cut is after the `__subscribe` binding frame and
/// the glue's `subscribe` frame that calls it; without a `__subscribe` frame (the bindings
/// called directly), after the first frame naming `subscribe`.
pub fn trim(stack: &JsString, keep: Option<u32>) -> JsString {
    let lines = stack.split("\n");
    let len = lines.length();
    let line = |i: u32| lines.get(i).unchecked_into::<JsString>();
    let header = u32::from(len > 0 && line(0).starts_with("Error", 0));
    let names = |i: &u32, what: &str| line(*i).includes(what, 0);
    let mut first_user = match (header..len).find(|i| names(i, "__subscribe")) {
        Some(at) if at + 1 < len && names(&(at + 1), "subscribe") => at + 2,
        Some(at) => at + 1,
        None => (header..len)
            .find(|i| names(i, "subscribe"))
            .map_or(header, |at| at + 1),
    };
    // `waitFor` and `stream` subscribe from inside the glue, so their own frames come next:
    // `stream` itself, or `waitFor`'s promise executor, `new Promise` and `waitFor`. They are cut
    // only in exactly that shape, in the script of the glue's `subscribe` frame, and by name
    // (`.stream (` in V8, `stream@` elsewhere): in a one-file bundle the user's frames share the
    // glue's script, so the script alone must never decide.
    if first_user > header {
        let glue = script_of(&line(first_user - 1));
        let in_glue = |i: u32| i < len && glue.length() > 0 && script_of(&line(i)) == glue;
        let method = |i: u32, name: &str| {
            in_glue(i)
                && (names(&i, &concat(&[".", name, " ("])) || names(&i, &concat(&[name, "@"])))
        };
        let native = |i: u32| i < len && script_of(&line(i)).length() == 0;
        if method(first_user, "stream") {
            first_user += 1;
        } else if in_glue(first_user) && native(first_user + 1) && method(first_user + 2, "waitFor")
        {
            first_user += 3;
        } else if in_glue(first_user) && method(first_user + 1, "waitFor") {
            // SpiderMonkey lists no native frame for `new Promise`.
            first_user += 2;
        }
    }
    let kept = Array::new();
    if header == 1 {
        kept.push(&lines.get(0));
    }
    let mut frames = 0;
    for i in first_user..len {
        if keep.is_some_and(|keep| frames >= keep) {
            break;
        }
        let text = line(i);
        if text.length() > 0 {
            kept.push(&text);
            frames += 1;
        }
    }
    kept.join("\n")
}

/// The script a stack frame names, without its `:line:column`: `file` in V8's
/// `at f (file:1:2)` and `at file:1:2`, and in SpiderMonkey's and JavaScriptCore's `f@file:1:2`;
/// empty when the line names none (`at new Promise (<anonymous>)`).
fn script_of(frame: &JsString) -> JsString {
    let len = frame.length();
    let end = if frame.ends_with(")", len as i32) {
        len.saturating_sub(1)
    } else {
        len
    };
    let body = frame.slice(0, end);
    // Two colons from the end: `:line:column`.
    let mut cut = body.length() as i32;
    for _ in 0..2 {
        cut = body.last_index_of(":", cut - 1);
        if cut <= 0 {
            return JsString::from("");
        }
    }
    let start = ["(", "@", " "]
        .iter()
        .map(|mark| body.last_index_of(mark, cut))
        .max()
        .unwrap_or(-1);
    body.slice((start + 1) as u32, cut as u32)
}
