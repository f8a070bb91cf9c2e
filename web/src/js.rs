//! JavaScript values in the visualiser's own text.

use wasm_bindgen::{JsCast, JsValue};

/// What a JavaScript exception says, for the status line: an `Error`'s (a `DOMException` is
/// one) `name: message` (the name alone when the message is empty), a thrown string as it is,
/// anything else in wasm-bindgen's debug form. Not `format!("{e:?}")` of every value, which
/// wraps an `Error` as `JsValue(TypeError: … <the whole stack>)`.
pub fn error_text(error: &JsValue) -> String {
    if let Some(error) = error.dyn_ref::<js_sys::Error>() {
        let name = String::from(error.name());
        let message = String::from(error.message());
        return if message.is_empty() {
            name
        } else {
            format!("{name}: {message}")
        };
    }
    error.as_string().unwrap_or_else(|| format!("{error:?}"))
}
