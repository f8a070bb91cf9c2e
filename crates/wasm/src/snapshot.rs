//! `bus.snapshot()` and `EventBus.restore(snapshot, options?)`: persist a bus (in IndexedDB, or
//! anywhere the structured clone algorithm reaches) and recover it after a reload without
//! losing a message.
//!
//! A snapshot is a plain JS object: the engine's versioned [`Snapshot`], with 64-bit counters as
//! `BigInt`s and each payload stored once, as the JS value itself (never copied or encoded, so a
//! `Map`, a `Date` or a typed array survives a structured clone). Store it with IndexedDB,
//! `structuredClone`, `postMessage` or Node's `v8.serialize`; plain `JSON.stringify` cannot hold
//! its BigInts.
//!
//! Handlers are code and are not in the snapshot. `restore` re-attaches them from
//! `options.handlers`, keyed by subscription name (or by the old subscription id as a string);
//! a value is a handler function or `{ handler, filter }`. A restored subscription with no
//! handler is paused, so its messages wait in its queue instead of failing.

use std::rc::Rc;

use js_sys::{Function, Reflect};
use serde::{Deserialize, Serialize};
use switchyard_core::snapshot::{PayloadCodec, Snapshot};
use switchyard_core::{Bus, DeliveryStrategy};
use wasm_bindgen::prelude::*;

use crate::bus::{config_from, EventBus, BUS_OPTIONS};
use crate::error::{invalid_option, JsResult};
use crate::handlers::HandlerEntry;
use crate::options::Options;
use crate::state::{Engine, Shared};

/// A payload inside a snapshot: the JS value itself (only serde-wasm-bindgen can carry it).
#[derive(Serialize, Deserialize)]
struct Payload(#[serde(with = "serde_wasm_bindgen::preserve")] JsValue);

/// Stores payloads as themselves.
struct JsPayloads;

impl PayloadCodec<JsValue> for JsPayloads {
    type Encoded = Payload;

    fn encode(&self, payload: &JsValue) -> Result<Payload, String> {
        Ok(Payload(payload.clone()))
    }

    fn decode(&self, encoded: Payload) -> Result<JsValue, String> {
        Ok(encoded.0)
    }
}

/// A restored subscription's handler from `options.handlers`.
fn handler_for(
    handlers: &JsValue,
    keys: &[String],
) -> JsResult<Option<(Function, Option<Function>)>> {
    if handlers.is_undefined() {
        return Ok(None);
    }
    for key in keys {
        let value = Reflect::get(handlers, &JsValue::from_str(key))
            .map_err(|_| invalid_option(&format!("handlers.{key}"), "threw when read"))?;
        if value.is_undefined() {
            continue;
        }
        if let Some(handler) = value.dyn_ref::<Function>() {
            return Ok(Some((handler.clone(), None)));
        }
        let field = |name: &str| {
            Reflect::get(&value, &JsValue::from_str(name))
                .ok()
                .and_then(|f| f.dyn_into::<Function>().ok())
        };
        let handler = field("handler").ok_or_else(|| {
            invalid_option(
                &format!("handlers.{key}"),
                "must be a function or { handler, filter }",
            )
        })?;
        return Ok(Some((handler, field("filter"))));
    }
    Ok(None)
}

#[wasm_bindgen]
impl EventBus {
    /// The whole bus as a JSON string (see the module docs). Deliveries in flight are
    /// written back at the head of their queues, so after a restore they run again.
    pub fn snapshot(&self) -> JsResult<JsValue> {
        let snapshot = self
            .shared
            .engine
            .borrow()
            .bus
            .snapshot(&JsPayloads)
            .map_err(|e| {
                invalid_option("payload", &format!("cannot be saved in a snapshot: {e}"))
            })?;
        let serializer =
            serde_wasm_bindgen::Serializer::new().serialize_large_number_types_as_bigints(true);
        snapshot
            .serialize(&serializer)
            .map_err(|_| invalid_option("snapshot", "could not be encoded"))
    }

    /// A bus rebuilt from `snapshot` (what `snapshot()` returned, possibly after a structured
    /// clone), with the bus options of `options` plus `handlers` (see the module docs).
    /// Nothing is built if anything is wrong.
    pub fn restore(snapshot: JsValue, options: JsValue) -> JsResult<EventBus> {
        if !snapshot.is_object() {
            return Err(invalid_option(
                "snapshot",
                "must be the object bus.snapshot() returned",
            ));
        }
        let parsed: Snapshot<Payload> = serde_wasm_bindgen::from_value(snapshot).map_err(|e| {
            invalid_option("snapshot", &format!("is not a switchyard snapshot ({e})"))
        })?;
        let (options, handlers) = restore_options(&options)?;
        let (config, clock, capture_stacks) = config_from(&options)?;
        let trace_capacity = config.trace_capacity;
        let now = clock.now();
        let restored = Bus::restore(config, parsed, &JsPayloads, now)
            .map_err(|e| invalid_option("snapshot", &format!("was refused: {e}")))?;
        let mut bus = restored.bus;
        let mut entries = Vec::new();
        for (old, new) in &restored.subscriptions {
            let Some(info) = bus.subscription(*new) else {
                continue;
            };
            let mut keys = Vec::with_capacity(2);
            if let Some(name) = &info.name {
                keys.push(name.clone());
            }
            keys.push(format!("{}", old.to_bits()));
            match handler_for(&handlers, &keys)? {
                Some((handler, filter)) => {
                    let batched = !matches!(info.delivery, DeliveryStrategy::Immediate);
                    entries.push((
                        *new,
                        HandlerEntry {
                            handler,
                            filter,
                            batched,
                            limited: true,
                            abort: None,
                        },
                    ));
                }
                None => {
                    let _ = bus.pause(*new, now);
                }
            }
        }
        let engine = Engine {
            bus,
            clock,
            capture_stacks,
            trace_capacity,
            trace_observers: 0,
            events_cursor: 0,
        };
        let shared = Shared::new(engine);
        for (id, entry) in entries {
            let previous = shared.handlers.borrow_mut().insert(id, entry);
            drop(previous);
        }
        shared.finish();
        Ok(EventBus {
            shared: Rc::clone(&shared),
        })
    }
}

/// `restore` options: the bus options plus `handlers`.
fn restore_options(options: &JsValue) -> JsResult<(Options, JsValue)> {
    let mut known: Vec<&str> = BUS_OPTIONS.to_vec();
    known.push("handlers");
    let options = Options::new(options, "options", &known)?;
    let handlers = options.get("handlers")?.unwrap_or(JsValue::UNDEFINED);
    if !(handlers.is_undefined() || handlers.is_object()) {
        return Err(invalid_option(
            "handlers",
            "must be an object of handlers keyed by subscription name",
        ));
    }
    Ok((options, handlers))
}
