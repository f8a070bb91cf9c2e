//! `SwitchyardError`: the one error class the package throws.
//!
//! Every error carries a stable `code` (see [`ErrorCode`]) and a message that names the
//! offending argument or option. The JS entry files register the real `SwitchyardError` class
//! (a subclass of `Error`) through [`crate::hooks::register_hooks`]; until then (for example inside
//! wasm-bindgen tests) errors are plain `Error`s with `name = "SwitchyardError"` and a `code`.
//!
//! Messages are assembled with [`concat`] and [`decimal`] rather than `format!`: the
//! formatting machinery of `core::fmt` (and above all float formatting) is a large share of
//! a small `.wasm`, and a message needs nothing but text and whole numbers.
//!
//! ```
//! use switchyard_wasm::error::{concat, decimal};
//!
//! let message = concat(&["must be at most ", &decimal(256), " bytes long"]);
//! assert_eq!(message, "must be at most 256 bytes long");
//! ```

use crate::prelude::*;
use js_sys::{Error, Reflect};
use wasm_bindgen::prelude::*;

/// What every fallible binding returns: the error is always a `SwitchyardError` value.
pub type JsResult<T> = Result<T, JsValue>;

/// The machine-readable kind of a `SwitchyardError`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// A published topic is not a string or not a valid concrete topic.
    InvalidTopic = 0,
    /// A subscription pattern is not a string or not a valid pattern.
    InvalidPattern = 1,
    /// An option (or a positional number such as `advance(ms)`) is unknown or has a bad value.
    InvalidOption = 2,
    /// A handler, filter or listener is not a function.
    InvalidHandler = 3,
    /// A method was called on something that is not a bus or a subscription (thrown by the
    /// package's JavaScript only).
    InvalidReceiver = 4,
    /// A publish was refused because a `reject` subscription queue is full; nothing was enqueued.
    Backpressure = 5,
    /// A publish was refused because it is too many causation hops deep.
    Cascade = 6,
    /// The bus was closed.
    Closed = 7,
    /// A `waitFor` timed out.
    Timeout = 8,
    /// A payload cannot be structured-cloned to another realm (thrown by `switchyard/bridge`'s
    /// JavaScript only).
    NotCloneable = 9,
    /// The method is carried by another entry of the package: `bus.snapshot()` and
    /// `EventBus.restore()` on a bus of `switchyard`, whose `.wasm` is built without them
    /// (they are in `switchyard/snapshot`). Thrown by the package's JavaScript only.
    Unsupported = 10,
}

impl ErrorCode {
    /// The `code` string seen by JavaScript (from [`ERROR_CODES`](crate::shared::ERROR_CODES),
    /// indexed by the discriminant).
    pub const fn as_str(self) -> &'static str {
        crate::shared::ERROR_CODES[self as usize]
    }
}

/// Whether two strings are equal, at compile time.
const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

// Each variant indexes its own code in `shared::ERROR_CODES` (a wrong order fails the build).
const _: () = {
    assert!(same(ErrorCode::InvalidTopic.as_str(), "E_INVALID_TOPIC"));
    assert!(same(
        ErrorCode::InvalidPattern.as_str(),
        "E_INVALID_PATTERN"
    ));
    assert!(same(ErrorCode::InvalidOption.as_str(), "E_INVALID_OPTION"));
    assert!(same(
        ErrorCode::InvalidHandler.as_str(),
        "E_INVALID_HANDLER"
    ));
    assert!(same(
        ErrorCode::InvalidReceiver.as_str(),
        "E_INVALID_RECEIVER"
    ));
    assert!(same(ErrorCode::Backpressure.as_str(), "E_BACKPRESSURE"));
    assert!(same(ErrorCode::Cascade.as_str(), "E_CASCADE"));
    assert!(same(ErrorCode::Closed.as_str(), "E_CLOSED"));
    assert!(same(ErrorCode::Timeout.as_str(), "E_TIMEOUT"));
    assert!(same(ErrorCode::NotCloneable.as_str(), "E_NOT_CLONEABLE"));
    assert!(same(ErrorCode::Unsupported.as_str(), "E_UNSUPPORTED"));
};

/// A `SwitchyardError` with `code` and `message`.
pub fn error(code: ErrorCode, message: &str) -> JsValue {
    if let Some(value) = crate::hooks::make_error(code.as_str(), message) {
        return value;
    }
    let plain = Error::new(message);
    plain.set_name("SwitchyardError");
    let _ = Reflect::set(
        &plain,
        &JsValue::from_str("code"),
        &JsValue::from_str(code.as_str()),
    );
    plain.into()
}

/// `error` plus extra properties (for example the full subscription of `E_BACKPRESSURE`).
pub fn error_with(code: ErrorCode, message: &str, extra: &[(&str, JsValue)]) -> JsValue {
    let value = error(code, message);
    for (key, field) in extra {
        let _ = Reflect::set(&value, &JsValue::from_str(key), field);
    }
    value
}

/// Shorthand for an `E_INVALID_OPTION` naming `option`.
pub fn invalid_option(option: &str, problem: &str) -> JsValue {
    error(
        ErrorCode::InvalidOption,
        &concat(&["option `", option, "` ", problem]),
    )
}

/// `parts` joined into one string, with no separator.
pub fn concat(parts: &[&str]) -> String {
    let mut text = String::with_capacity(parts.iter().map(|part| part.len()).sum());
    for part in parts {
        text.push_str(part);
    }
    text
}

/// `n` in decimal digits (`"1024"`).
pub fn decimal(mut n: u64) -> String {
    let mut reversed = Vec::with_capacity(20);
    loop {
        reversed.push(b'0' + (n % 10) as u8);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    reversed
        .iter()
        .rev()
        .map(|&digit| char::from(digit))
        .collect()
}

/// `n` in decimal digits, with a leading `-` when negative (`"-2147483648"`).
pub fn signed_decimal(n: i64) -> String {
    let digits = decimal(n.unsigned_abs());
    if n < 0 {
        concat(&["-", &digits])
    } else {
        digits
    }
}

/// A short, never-throwing description of any thrown JS value (for dead letters and traces).
pub fn describe_thrown(value: &JsValue) -> String {
    if let Some(text) = value.as_string() {
        return text;
    }
    if let Some(err) = value.dyn_ref::<Error>() {
        // `String(err.message)` can only be a string here: Error.prototype.message is one.
        let name: String = Reflect::get(err, &JsValue::from_str("name"))
            .ok()
            .and_then(|n| n.as_string())
            .unwrap_or_else(|| "Error".into());
        let message: String = Reflect::get(err, &JsValue::from_str("message"))
            .ok()
            .and_then(|m| m.as_string())
            .unwrap_or_default();
        return if message.is_empty() {
            name
        } else {
            concat(&[&name, ": ", &message])
        };
    }
    if value.is_undefined() {
        return "undefined".into();
    }
    if value.is_null() {
        return "null".into();
    }
    // Numbers, booleans, symbols, bigints and objects: `String(value)` (formatting floats in
    // Rust would pull a large formatter into the .wasm). It may throw (`Object.create(null)`,
    // a hostile `toString`); then fall back to the type.
    match safe_string(value) {
        Ok(text) => text,
        Err(_) => concat(&[
            "<thrown ",
            &value.js_typeof().as_string().unwrap_or_default(),
            ">",
        ]),
    }
}

#[wasm_bindgen]
extern "C" {
    /// `String(value)`, catching what a hostile `toString` throws.
    #[wasm_bindgen(catch, js_name = String)]
    fn safe_string(value: &JsValue) -> Result<String, JsValue>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_writes_every_digit_of_the_extremes() {
        assert_eq!(decimal(0), "0");
        assert_eq!(decimal(7), "7");
        assert_eq!(decimal(1_000_000), "1000000");
        assert_eq!(decimal(u64::MAX), "18446744073709551615");
    }

    #[test]
    fn signed_decimal_puts_the_sign_before_the_digits() {
        assert_eq!(signed_decimal(0), "0");
        assert_eq!(signed_decimal(-5), "-5");
        assert_eq!(signed_decimal(i64::MIN), "-9223372036854775808");
        assert_eq!(signed_decimal(i64::MAX), "9223372036854775807");
    }

    #[test]
    fn concat_joins_parts_without_separators() {
        assert_eq!(concat(&[]), "");
        assert_eq!(
            concat(&["option `", "retry.attempts", "` ", "must be a number"]),
            "option `retry.attempts` must be a number"
        );
    }
}
