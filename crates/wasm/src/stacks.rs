//! Creation stacks for leak reports (`captureStacks`): where the user called `subscribe`.
//!
//! `new Error().stack` taken inside the bindings begins with the package's own frames: the
//! wasm-bindgen import that builds the error, the wasm frames of the engine call, the binding
//! `__subscribe` and the glue's `subscribe` wrapper. Six of V8's default ten
//! (`Error.stackTraceLimit`), which would leave four for the user's code. So the limit is
//! raised by [`INTERNAL_FRAMES`] while the error is built, and the frames down to the
//! `subscribe` binding are cut: the stack starts at the user's `subscribe` call and keeps as
//! many of their frames as the limit says.

use js_sys::{Error, Reflect};
use wasm_bindgen::prelude::*;

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
    let stack = Reflect::get(&Error::new("subscribe"), &JsValue::from_str("stack"))
        .ok()
        .and_then(|s| s.as_string());
    if let Some(limit) = limit {
        let _ = Reflect::set(&constructor, &key, &JsValue::from_f64(limit));
    }
    let keep = limit
        .filter(|l| l.is_finite() && *l >= 0.0)
        .map(|l| l as usize);
    Some(trim(&stack?, keep))
}

/// `stack` without the frames above the user's `subscribe` call, with at most `keep` frames
/// (V8 writes a header line, `Error: subscribe`, which stays; SpiderMonkey and JavaScriptCore
/// write frames only). A stack without the `__subscribe` binding frame (the bindings called
/// directly) loses the frames down to the first `subscribe` one.
pub fn trim(stack: &str, keep: Option<usize>) -> String {
    let lines: Vec<&str> = stack.lines().collect();
    let header = lines
        .first()
        .filter(|l| l.starts_with("Error"))
        .map(|_| 1)
        .unwrap_or(0);
    let frames = &lines[header..];
    let cut = match frames.iter().position(|l| l.contains("__subscribe")) {
        // The glue's public `subscribe` wrapper calls the binding.
        Some(at) if frames.get(at + 1).is_some_and(|l| l.contains("subscribe")) => at + 2,
        Some(at) => at + 1,
        None => frames
            .iter()
            .position(|l| l.contains("subscribe"))
            .map_or(0, |at| at + 1),
    };
    let user = &frames[cut.min(frames.len())..];
    let user = &user[..keep.unwrap_or(user.len()).min(user.len())];
    let mut out: Vec<&str> = lines[..header].to_vec();
    out.extend_from_slice(user);
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::trim;

    const V8: &str = "Error: subscribe\n    at imports.wbg.__wbg_new_1 (file:///p/node_modules/switchyard/node/switchyard.js:10:5)\n    at wasm://wasm/0012:wasm-function[1]:0x1\n    at wasm://wasm/0012:wasm-function[2]:0x2\n    at wasm://wasm/0012:wasm-function[3]:0x3\n    at EventBus.__subscribe (file:///p/node_modules/switchyard/node/switchyard.js:20:5)\n    at EventBus.subscribe (file:///p/node_modules/switchyard/node/index.cjs:30:5)\n    at new Cart (file:///p/app.mjs:4:9)\n    at main (file:///p/app.mjs:9:1)";

    #[test]
    fn the_stack_starts_at_the_users_subscribe_call() {
        assert_eq!(
            trim(V8, None),
            "Error: subscribe\n    at new Cart (file:///p/app.mjs:4:9)\n    at main (file:///p/app.mjs:9:1)"
        );
    }

    #[test]
    fn at_most_the_limit_of_user_frames_is_kept() {
        assert_eq!(
            trim(V8, Some(1)),
            "Error: subscribe\n    at new Cart (file:///p/app.mjs:4:9)"
        );
    }

    #[test]
    fn a_spidermonkey_stack_is_trimmed_the_same_way() {
        let stack = "__wbg_new@http://h/web/switchyard.js:1:1\n@http://h/web/switchyard_bg.wasm:wasm-function[7]:0x9\n__subscribe@http://h/web/switchyard.js:2:2\nsubscribe@http://h/web/index.js:3:3\nmount@http://h/app.js:4:4\n";
        assert_eq!(trim(stack, None), "mount@http://h/app.js:4:4");
    }
}
