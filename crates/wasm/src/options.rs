//! Reading option objects from JavaScript without trusting them.
//!
//! [`Options`] wraps one option object: it refuses names it does not know, reads each property
//! once through `Reflect.get` (so a throwing getter becomes an `E_INVALID_OPTION` error instead of
//! an exception in the middle of an update), and checks types and ranges (no NaN, no negative
//! or fractional counts). Errors name the option by its full dotted path, e.g. `retry.backoffMs`.
//!
//! The parsers for the bus, subscribe and publish options live in `bus.rs`, `subscription.rs`
//! and `publish.rs`; they only ever go through this module.

use crate::prelude::*;
use core::time::Duration;

use js_sys::{Array, Function, JsString, Reflect};
use switchyard_core::{BreakerPolicy, DeliveryStrategy, Jitter, Overflow, RetryPolicy};
use wasm_bindgen::prelude::*;

use crate::error::{concat, decimal, error, invalid_option, signed_decimal, ErrorCode, JsResult};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = Object, js_name = keys)]
    fn object_keys(object: &JsValue) -> Result<Array, JsValue>;
    /// `Array.isArray(value)`, which throws for a revoked proxy.
    #[wasm_bindgen(catch, js_namespace = Array, js_name = isArray)]
    fn array_is_array(value: &JsValue) -> Result<bool, JsValue>;
    /// A JS string, for `String.prototype.isWellFormed`.
    type WellFormed;
    /// `string.isWellFormed()` (throws where the engine lacks it).
    #[wasm_bindgen(method, catch, js_name = isWellFormed)]
    fn is_well_formed(this: &WellFormed) -> Result<bool, JsValue>;
}

/// `Array.isArray(value)` for an argument or option named `name`: a revoked proxy (which makes
/// `Array.isArray` throw) is refused as `E_INVALID_OPTION` naming it, never a raw `TypeError`.
pub fn is_array(value: &JsValue, name: &str) -> JsResult<bool> {
    if !value.is_object() {
        return Ok(false);
    }
    array_is_array(value).map_err(|_| invalid_option(name, "is a revoked proxy"))
}

/// The text of a topic or pattern argument, refused with `code` when it is not a string or is
/// not well-formed UTF-16 (a lone surrogate). `what` names the argument in the message
/// (`` publish(): `topic` ``). Every topic and pattern from JavaScript goes through here:
/// converting a lone surrogate to UTF-8 replaces it with U+FFFD, so `'s.\ud800'` and
/// `'s.\udbff'` would otherwise be one topic. Costs nothing more for text without U+FFFD.
pub fn well_formed_text(value: &JsValue, code: ErrorCode, what: &str) -> JsResult<String> {
    let text = value
        .as_string()
        .ok_or_else(|| error(code, &concat(&[what, " must be a string"])))?;
    // `chars().any`, not `str::contains`, whose searcher links panic formatting into the .wasm.
    if text.chars().any(|c| c == '\u{FFFD}') {
        let well_formed = value
            .unchecked_ref::<WellFormed>()
            .is_well_formed()
            .unwrap_or_else(|_| value.unchecked_ref::<JsString>().is_valid_utf16());
        if !well_formed {
            return Err(error(
                code,
                &concat(&[
                    what,
                    " must be well-formed UTF-16: it holds a lone surrogate (\\ud800-\\udfff without its pair)",
                ]),
            ));
        }
    }
    Ok(text)
}

/// The error for an option name not in `known`.
fn unknown_option(shown: &str, known: &[&str]) -> JsValue {
    invalid_option(
        shown,
        &concat(&[
            "is not a known option (expected one of: ",
            &join_names(&mut known.iter().copied(), ""),
            ")",
        ]),
    )
}

/// The options of the methods written in JavaScript (`waitFor`, `stream`: `method` names one,
/// and its names come from [`shared`](crate::shared)), checked with the rules of
/// [`Options::new`] and handed back ([`hand_back`](crate::hooks::hand_back)) as a plain copy,
/// each property read once, in the object's key order (a name is checked just before it is
/// read). Undefined and null are no options (an empty copy). The messages name the method for
/// an object that is not one (`waitFor(): options must be a plain object`, `stream(): options
/// could not be read (a revoked proxy?)`) and the option otherwise.
#[wasm_bindgen(js_name = __readOptions)]
pub fn read_method_options(method: &str, value: &JsValue) -> JsResult<()> {
    let known = match method {
        "waitFor" => crate::shared::WAIT_FOR_OPTIONS,
        _ => crate::shared::STREAM_OPTIONS,
    };
    let copy = js_sys::Object::new();
    if !(value.is_undefined() || value.is_null()) {
        let refused = |problem: &str| {
            error(
                ErrorCode::InvalidOption,
                &concat(&[method, "(): options ", problem]),
            )
        };
        let unreadable = "could not be read (a revoked proxy?)";
        if !value.is_object() || value.is_function() {
            return Err(refused("must be a plain object"));
        }
        if array_is_array(value).map_err(|_| refused(unreadable))? {
            return Err(refused("must be a plain object"));
        }
        let keys = object_keys(value).map_err(|_| refused(unreadable))?;
        for key in keys.iter() {
            let name = key.as_string().unwrap_or_default();
            if !known.contains(&name.as_str()) {
                return Err(unknown_option(&name, known));
            }
            let field =
                Reflect::get(value, &key).map_err(|_| invalid_option(&name, "threw when read"))?;
            // A plain fresh object: defining a property cannot fail.
            let _ = Reflect::set(&copy, &key, &field);
        }
    }
    crate::hooks::hand_back(copy.into());
    Ok(())
}

/// Largest integer a JS number holds exactly.
const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

/// One option object being read.
pub struct Options {
    object: JsValue,
    path: String,
}

impl Options {
    /// Wraps `value` (undefined and null mean "no options"), refusing a non-object and any
    /// property name not in `known`. `path` names the object in errors (`"options"`,
    /// `"retry"`); nested objects get `outer.inner` paths.
    pub fn new(value: &JsValue, path: &str, known: &[&str]) -> JsResult<Self> {
        let path = path.to_owned();
        if value.is_undefined() || value.is_null() {
            return Ok(Options {
                object: JsValue::UNDEFINED,
                path,
            });
        }
        if !value.is_object() || value.is_function() || is_array(value, &path)? {
            return Err(invalid_option(&path, "must be a plain object"));
        }
        let keys =
            object_keys(value).map_err(|_| invalid_option(&path, "could not be enumerated"))?;
        for key in keys.iter() {
            let name = key.as_string().unwrap_or_default();
            if !known.contains(&name.as_str()) {
                let shown = if path == "options" {
                    name.clone()
                } else {
                    concat(&[&path, ".", &name])
                };
                return Err(unknown_option(&shown, known));
            }
        }
        Ok(Options {
            object: value.clone(),
            path,
        })
    }

    /// The dotted name of `key` for error messages.
    pub fn name(&self, key: &str) -> String {
        if self.path == "options" {
            key.to_owned()
        } else {
            concat(&[&self.path, ".", key])
        }
    }

    /// The raw value of `key`, `None` when absent or `undefined`.
    pub fn get(&self, key: &str) -> JsResult<Option<JsValue>> {
        if self.object.is_undefined() {
            return Ok(None);
        }
        let value = Reflect::get(&self.object, &JsValue::from_str(key))
            .map_err(|_| invalid_option(&self.name(key), "threw when read"))?;
        Ok(if value.is_undefined() {
            None
        } else {
            Some(value)
        })
    }

    /// A finite number in `[min, max]`.
    pub fn number(&self, key: &str, min: f64, max: f64) -> JsResult<Option<f64>> {
        let Some(value) = self.get(key)? else {
            return Ok(None);
        };
        let number = value
            .as_f64()
            .ok_or_else(|| invalid_option(&self.name(key), "must be a number"))?;
        if !number.is_finite() {
            return Err(invalid_option(&self.name(key), "must be a finite number"));
        }
        if number < min || number > max {
            // Bounds are whole numbers (at most 2^53 in magnitude), so printing them as
            // integers is exact and keeps float formatting out of the .wasm.
            return Err(invalid_option(
                &self.name(key),
                &concat(&[
                    "must be between ",
                    &signed_decimal(min as i64),
                    " and ",
                    &signed_decimal(max as i64),
                ]),
            ));
        }
        Ok(Some(number))
    }

    /// An integer in `[min, max]` (at most 2^53 - 1).
    pub fn integer(&self, key: &str, min: f64, max: f64) -> JsResult<Option<f64>> {
        let Some(number) = self.number(key, min, max.min(MAX_SAFE))? else {
            return Ok(None);
        };
        if number.fract() != 0.0 {
            return Err(invalid_option(&self.name(key), "must be an integer"));
        }
        Ok(Some(number))
    }

    /// A count: an integer in `[min, 2^32 - 1]` as `usize`.
    pub fn count(&self, key: &str, min: u32) -> JsResult<Option<usize>> {
        Ok(self
            .integer(key, f64::from(min), f64::from(u32::MAX))?
            .map(|n| n as usize))
    }

    /// An integer in `[min, 2^32 - 1]` as `u32`.
    pub fn u32(&self, key: &str, min: u32) -> JsResult<Option<u32>> {
        Ok(self
            .integer(key, f64::from(min), f64::from(u32::MAX))?
            .map(|n| n as u32))
    }

    /// A duration in milliseconds (finite, not negative, fractions allowed).
    pub fn millis(&self, key: &str) -> JsResult<Option<Duration>> {
        Ok(self.number(key, 0.0, MAX_SAFE)?.map(millis_to_duration))
    }

    /// A boolean.
    pub fn bool(&self, key: &str) -> JsResult<Option<bool>> {
        let Some(value) = self.get(key)? else {
            return Ok(None);
        };
        value
            .as_bool()
            .map(Some)
            .ok_or_else(|| invalid_option(&self.name(key), "must be a boolean"))
    }

    /// A string of at most `max_len` bytes.
    pub fn string(&self, key: &str, max_len: usize) -> JsResult<Option<String>> {
        let Some(value) = self.get(key)? else {
            return Ok(None);
        };
        // Well-formed: two names differing only in lone surrogates would otherwise become the
        // same text (U+FFFD), and `restore` matches handlers to subscriptions by name.
        let what = concat(&["option `", &self.name(key), "`"]);
        let text = well_formed_text(&value, ErrorCode::InvalidOption, &what)?;
        if text.len() > max_len {
            return Err(invalid_option(
                &self.name(key),
                &concat(&["must be at most ", &decimal(max_len as u64), " bytes long"]),
            ));
        }
        Ok(Some(text))
    }

    /// A function.
    pub fn function(&self, key: &str) -> JsResult<Option<Function>> {
        let Some(value) = self.get(key)? else {
            return Ok(None);
        };
        value
            .dyn_into::<Function>()
            .map(Some)
            .map_err(|_| invalid_option(&self.name(key), "must be a function"))
    }

    /// One of the strings in `choices`.
    pub fn choice<T: Copy>(&self, key: &str, choices: &[(&str, T)]) -> JsResult<Option<T>> {
        let Some(value) = self.get(key)? else {
            return Ok(None);
        };
        let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
        let index = self.choice_index(key, &value, &names)?;
        Ok(choices.get(index).map(|(_, choice)| *choice))
    }

    /// The position of `value` in `names`: the one copy of the lookup and its error path,
    /// whatever type `choice` maps the names to.
    fn choice_index(&self, key: &str, value: &JsValue, names: &[&str]) -> JsResult<usize> {
        let text = value.as_string();
        names
            .iter()
            .position(|name| text.as_deref() == Some(*name))
            .ok_or_else(|| {
                let joined = join_names(&mut names.iter().copied(), "'");
                invalid_option(&self.name(key), &concat(&["must be one of ", &joined]))
            })
    }

    /// A nested option object under `key`.
    pub fn nested(&self, key: &str, known: &[&str]) -> JsResult<Option<Options>> {
        let Some(value) = self.get(key)? else {
            return Ok(None);
        };
        Options::new(&value, &self.name(key), known).map(Some)
    }
}

/// Milliseconds (finite, not negative) as a `Duration`, saturating.
pub fn millis_to_duration(millis: f64) -> Duration {
    let micros = (millis * 1000.0).round();
    if micros.is_nan() || micros <= 0.0 {
        Duration::ZERO
    } else if micros >= u64::MAX as f64 {
        Duration::from_micros(u64::MAX)
    } else {
        Duration::from_micros(micros as u64)
    }
}

/// `overflow`: `'reject' | 'drop-oldest' | 'drop-newest'`.
pub fn overflow(options: &Options) -> JsResult<Option<Overflow>> {
    options.choice(
        "overflow",
        &[
            ("reject", Overflow::Reject),
            ("drop-oldest", Overflow::DropOldest),
            ("drop-newest", Overflow::DropNewest),
        ],
    )
}

/// The JS name of an overflow policy.
pub fn overflow_name(overflow: Overflow) -> &'static str {
    match overflow {
        Overflow::Reject => "reject",
        Overflow::DropOldest => "drop-oldest",
        Overflow::DropNewest => "drop-newest",
    }
}

/// `retry: { attempts, backoffMs, maxBackoffMs, factor, jitter }`, starting from `base`.
pub fn retry(options: &Options, base: RetryPolicy) -> JsResult<Option<RetryPolicy>> {
    let Some(retry) = options.nested(
        "retry",
        &["attempts", "backoffMs", "maxBackoffMs", "factor", "jitter"],
    )?
    else {
        return Ok(None);
    };
    let mut policy = base;
    if let Some(attempts) = retry.u32("attempts", 1)? {
        policy.max_attempts = attempts;
    }
    if let Some(backoff) = retry.millis("backoffMs")? {
        policy.backoff = backoff;
    }
    if let Some(max) = retry.millis("maxBackoffMs")? {
        policy.max_backoff = max;
    }
    if let Some(factor) = retry.number("factor", 1.0, 1e6)? {
        policy.factor = factor;
    }
    if let Some(jitter) = retry.get("jitter")? {
        policy.jitter = match (
            jitter.as_bool(),
            jitter.as_string().as_deref(),
            jitter.as_f64(),
        ) {
            (Some(false), _, _) | (_, Some("none"), _) => Jitter::None,
            (Some(true), _, _) | (_, Some("full"), _) => Jitter::Full,
            (_, _, Some(ratio)) if (0.0..=1.0).contains(&ratio) => Jitter::Proportional(ratio),
            _ => {
                return Err(invalid_option(
                    &retry.name("jitter"),
                    "must be a boolean, 'none', 'full' or a ratio between 0 and 1",
                ))
            }
        };
    }
    if policy.max_backoff < policy.backoff {
        return Err(invalid_option(
            &retry.name("maxBackoffMs"),
            "must not be less than backoffMs",
        ));
    }
    Ok(Some(policy))
}

/// `delivery: 'immediate' | { batch: { size, maxWaitMs } }`.
pub fn delivery(value: &JsValue, name: &str) -> JsResult<DeliveryStrategy> {
    if value.as_string().as_deref() == Some("immediate") {
        return Ok(DeliveryStrategy::Immediate);
    }
    if !value.is_object() {
        return Err(invalid_option(
            name,
            "must be 'immediate' or { batch: { size, maxWaitMs } }",
        ));
    }
    let outer = Options::new(value, name, &["batch"])?;
    let batch = outer
        .nested("batch", &["size", "maxWaitMs"])?
        .ok_or_else(|| {
            invalid_option(
                name,
                "must be 'immediate' or { batch: { size, maxWaitMs } }",
            )
        })?;
    let size = batch
        .count("size", 1)?
        .ok_or_else(|| invalid_option(&batch.name("size"), "is required"))?;
    let max_wait = batch.millis("maxWaitMs")?.unwrap_or(Duration::MAX);
    Ok(DeliveryStrategy::Batched { size, max_wait })
}

/// `breaker: { failures, cooldownMs }`.
pub fn breaker(options: &Options) -> JsResult<Option<BreakerPolicy>> {
    let Some(breaker) = options.nested("breaker", &["failures", "cooldownMs"])? else {
        return Ok(None);
    };
    let failures = breaker.u32("failures", 1)?.unwrap_or(5);
    let cooldown = breaker
        .millis("cooldownMs")?
        .unwrap_or(Duration::from_secs(30));
    Ok(Some(BreakerPolicy {
        failures,
        cooldown,
        failure_ratio: None,
    }))
}

/// `names` separated by `", "`, each between two `quote`s: one non-generic copy of the code
/// for every list in an error message (`[..].join` is instantiated per element type).
fn join_names(names: &mut dyn Iterator<Item = &str>, quote: &str) -> String {
    let mut joined = String::new();
    for (index, name) in names.enumerate() {
        if index > 0 {
            joined.push_str(", ");
        }
        joined.push_str(quote);
        joined.push_str(name);
        joined.push_str(quote);
    }
    joined
}
