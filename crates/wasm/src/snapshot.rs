//! `bus.snapshot()` and `EventBus.restore(snapshot, options?)`: persist a bus (in IndexedDB, or
//! anywhere the structured clone algorithm reaches) and recover it after a reload without
//! losing a message.
//!
//! # The snapshot object
//!
//! ```text
//! { format: 'switchyard.snapshot', version: 1, bytes: Uint8Array, payloads: unknown[] }
//! ```
//!
//! `bytes` is the engine's versioned [`Snapshot`] in its binary form ([`Snapshot::to_bytes`]:
//! postcard's layout, compact, no self-description, so its size is what the state needs), in
//! which each payload is a `u32` index into `payloads`. `payloads` holds each message's
//! payload once, as the JS value itself (never copied or encoded, so a `Map`, a `Date`, a
//! `BigInt` or a typed array survives a structured clone). Everything in the object is
//! structured-clonable: store it with IndexedDB, `structuredClone`, `postMessage` or Node's
//! `v8.serialize`. (`JSON.stringify` cannot hold a `Uint8Array` or most payloads.)
//!
//! `version` is [`SNAPSHOT_VERSION`], the engine format the bytes were written in; the bytes
//! repeat it and must agree. A newer version is refused, naming `snapshot.version`.
//!
//! # Restoring
//!
//! `restore` reads the object (a throwing getter is an error, not an exception), decodes the
//! bytes (truncated, corrupt or trailing bytes are refused, naming `snapshot.bytes`), and hands
//! the engine snapshot to [`Bus::restore`], which validates everything (a payload index
//! outside `payloads` is refused naming `snapshot.payloads`) before building the new bus. Any
//! problem is an `E_INVALID_OPTION` `SwitchyardError` and no bus is built. Decoding never
//! panics: [`Snapshot::from_bytes`] checks every length against the bytes left, and the engine
//! re-checks every value it relies on.
//!
//! Handlers are code and are not in the snapshot. `restore` re-attaches them from
//! `options.handlers`, keyed by subscription name (or by the old subscription id as a string);
//! a value is a handler function or `{ handler, filter }`. A restored subscription with no
//! handler is paused, so its messages wait in its queue instead of failing. Owner objects are
//! not in the snapshot either: a restored subscription that had an `owner` is held by the new
//! bus like any other (never released), and new owners are numbered after the restored ones.

use crate::prelude::*;
use alloc::rc::Rc;
use core::cell::RefCell;

use js_sys::{Array, ArrayBuffer, Function, Object, Reflect, Uint8Array};
use switchyard_core::snapshot::{PayloadCodec, Snapshot, SnapshotError, SNAPSHOT_VERSION};
use switchyard_core::{Bus, DeliveryStrategy};
use wasm_bindgen::prelude::*;

use crate::bus::{config_from, js_field, EventBus, BUS_OPTIONS};
use crate::error::{concat, decimal, invalid_option, JsResult};
use crate::handlers::{Functions, HandlerEntry};
use crate::options::Options;
use crate::state::{Engine, Shared};

/// The `format` field of every snapshot object.
pub const FORMAT: &str = "switchyard.snapshot";

/// Payloads as indices into a side list of the JS values themselves: filled while a snapshot
/// is written, read while one is restored.
#[derive(Default)]
struct PayloadList {
    values: RefCell<Vec<JsValue>>,
}

impl PayloadCodec<JsValue> for PayloadList {
    type Encoded = u32;

    fn encode(&self, payload: &JsValue) -> Result<u32, String> {
        let mut values = self.values.borrow_mut();
        let index =
            u32::try_from(values.len()).map_err(|_| String::from("more than 2^32 payloads"))?;
        values.push(payload.clone());
        Ok(index)
    }

    fn decode(&self, index: u32) -> Result<JsValue, String> {
        let values = self.values.borrow();
        values.get(index as usize).cloned().ok_or_else(|| {
            concat(&[
                "payload index ",
                &decimal(u64::from(index)),
                " is outside snapshot.payloads (",
                &decimal(values.len() as u64),
                " values)",
            ])
        })
    }
}

#[wasm_bindgen]
extern "C" {
    /// `Uint8Array.from(bytes)`: a copy, or what copying a detached view throws.
    #[wasm_bindgen(catch, js_namespace = Uint8Array, js_name = from)]
    fn uint8_array_copy(bytes: &JsValue) -> Result<Uint8Array, JsValue>;
}

/// Reads one field of the snapshot object; a throwing getter is an `E_INVALID_OPTION`.
fn field(snapshot: &JsValue, name: &str) -> JsResult<JsValue> {
    Reflect::get(snapshot, &JsValue::from_str(name))
        .map_err(|_| invalid_option(&concat(&["snapshot.", name]), "threw when read"))
}

/// The engine snapshot and payloads in a snapshot object, checked down to the last byte.
fn read_snapshot(snapshot: &JsValue) -> JsResult<(Snapshot<u32>, PayloadList)> {
    if !snapshot.is_object() || crate::options::is_array(snapshot, "snapshot")? {
        return Err(invalid_option(
            "snapshot",
            "must be the object bus.snapshot() returned",
        ));
    }
    if field(snapshot, "format")?.as_string().as_deref() != Some(FORMAT) {
        return Err(invalid_option(
            "snapshot.format",
            "must be 'switchyard.snapshot': this is not what bus.snapshot() returned",
        ));
    }
    let version = field(snapshot, "version")?
        .as_f64()
        .filter(|v| v.fract() == 0.0 && *v >= 1.0 && *v <= f64::from(u32::MAX))
        .ok_or_else(|| invalid_option("snapshot.version", "must be a format version (1, 2, ...)"))?
        as u32;
    if version > SNAPSHOT_VERSION {
        return Err(invalid_option(
            "snapshot.version",
            &concat(&[
                "is ",
                &decimal(u64::from(version)),
                ": the snapshot was written by a newer version of switchyard (this one reads up to ",
                &decimal(u64::from(SNAPSHOT_VERSION)),
                ")",
            ]),
        ));
    }
    let bytes = field(snapshot, "bytes")?;
    // `ArrayBuffer.isView` is false for a proxy of a typed array (whose methods throw when
    // called on it); a detached buffer makes the copy throw.
    if !ArrayBuffer::is_view(&bytes) || !bytes.is_instance_of::<Uint8Array>() {
        return Err(invalid_option("snapshot.bytes", "must be a Uint8Array"));
    }
    let bytes = uint8_array_copy(&bytes)
        .map_err(|_| {
            invalid_option(
                "snapshot.bytes",
                "could not be read (is its buffer detached?)",
            )
        })?
        .to_vec();
    let payloads = field(snapshot, "payloads")?;
    if !crate::options::is_array(&payloads, "snapshot.payloads")? {
        return Err(invalid_option("snapshot.payloads", "must be an array"));
    }
    let payloads = PayloadList {
        values: RefCell::new(payload_values(&payloads, bytes.len())?),
    };
    let engine = Snapshot::<u32>::from_bytes(&bytes).map_err(|e| match e {
        // `version` is at most SNAPSHOT_VERSION here: bytes of a newer one disagree with it.
        SnapshotError::NewerVersion { found, .. } => version_mismatch(found, version),
        SnapshotError::Corrupt(reason) => invalid_option(
            "snapshot.bytes",
            &concat(&["is truncated or corrupt: ", &reason]),
        ),
        other => invalid_option("snapshot.bytes", &other.to_string()),
    })?;
    if engine.version != version {
        return Err(version_mismatch(engine.version, version));
    }
    Ok((engine, payloads))
}

/// The values of the `snapshot.payloads` array, read one by one (a proxy's throwing getter is
/// an `E_INVALID_OPTION`, not an exception). Each payload the bytes refer to takes at least one
/// byte, so values past `bytes` bytes can never be referred to and are not read: a length of
/// 2^32 - 1 allocates nothing.
fn payload_values(payloads: &JsValue, bytes: usize) -> JsResult<Vec<JsValue>> {
    let unreadable = || invalid_option("snapshot.payloads", "could not be read");
    let length = Reflect::get(payloads, &JsValue::from_str("length"))
        .map_err(|_| unreadable())?
        .as_f64()
        .ok_or_else(unreadable)?;
    let wanted = (length as usize).min(bytes);
    let mut values = Vec::with_capacity(wanted);
    for index in 0..wanted as u32 {
        values.push(Reflect::get_u32(payloads, index).map_err(|_| unreadable())?);
    }
    Ok(values)
}

/// The bytes hold format version `found`, the object says `version`.
fn version_mismatch(found: u32, version: u32) -> JsValue {
    invalid_option(
        "snapshot.bytes",
        &concat(&[
            "is corrupt: it holds format version ",
            &decimal(u64::from(found)),
            ", not snapshot.version ",
            &decimal(u64::from(version)),
        ]),
    )
}

/// A refused restore as the `E_INVALID_OPTION` naming the part at fault.
fn refused(error: SnapshotError) -> JsValue {
    match error {
        SnapshotError::Payload(reason) => invalid_option(
            "snapshot.payloads",
            &concat(&["does not match snapshot.bytes: ", &reason]),
        ),
        SnapshotError::InvalidConfig(e) => invalid_option(&js_field(&e.field), e.problem),
        other => invalid_option(
            "snapshot.bytes",
            &concat(&["was refused: ", &other.to_string()]),
        ),
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
            .map_err(|_| invalid_option(&concat(&["handlers.", key]), "threw when read"))?;
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
                &concat(&["handlers.", key]),
                "must be a function or { handler, filter }",
            )
        })?;
        return Ok(Some((handler, field("filter"))));
    }
    Ok(None)
}

#[wasm_bindgen]
impl EventBus {
    /// The whole bus as `{ format, version, bytes, payloads }` (see the module docs).
    /// Deliveries in flight are written back at the head of their queues, so after a restore
    /// they run again.
    pub fn snapshot(&self) -> JsResult<JsValue> {
        let payloads = PayloadList::default();
        let snapshot = self
            .shared
            .engine
            .borrow()
            .bus
            .snapshot(&payloads)
            .map_err(|e| {
                invalid_option(
                    "payload",
                    &concat(&["cannot be saved in a snapshot: ", &e.to_string()]),
                )
            })?;
        let bytes = snapshot.to_bytes();
        let values = payloads.values.into_inner();
        let list = Array::new_with_length(values.len() as u32);
        for (index, value) in values.iter().enumerate() {
            list.set(index as u32, value.clone());
        }
        let object = Object::new();
        let fields: [(&str, JsValue); 4] = [
            ("format", JsValue::from_str(FORMAT)),
            ("version", JsValue::from(snapshot.version)),
            ("bytes", Uint8Array::from(bytes.as_slice()).into()),
            ("payloads", list.into()),
        ];
        for (name, value) in fields {
            // A fresh plain object: defining its own properties cannot fail.
            let _ = Reflect::set(&object, &JsValue::from_str(name), &value);
        }
        Ok(object.into())
    }

    /// A bus rebuilt from `snapshot` (what `snapshot()` returned, possibly after a structured
    /// clone), with the bus options of `options` plus `handlers` (see the module docs).
    /// Nothing is built if anything is wrong.
    pub fn restore(snapshot: JsValue, options: JsValue) -> JsResult<EventBus> {
        let (parsed, payloads) = read_snapshot(&snapshot)?;
        let (options, handlers) = restore_options(&options)?;
        let (config, clock, capture_stacks) = config_from(&options)?;
        let trace_capacity = config.trace_capacity;
        let now = clock.now();
        let restored = Bus::restore(config, parsed, &payloads, now).map_err(refused)?;
        let mut bus = restored.bus;
        let mut entries = Vec::new();
        let mut last_owner = 0;
        for (old, new) in &restored.subscriptions {
            let Some(info) = bus.subscription(*new) else {
                continue;
            };
            last_owner = info.owner.map_or(last_owner, |o| o.0.max(last_owner));
            let mut keys = Vec::with_capacity(2);
            if let Some(name) = &info.name {
                keys.push(name.clone());
            }
            keys.push(decimal(old.to_bits()));
            match handler_for(&handlers, &keys)? {
                Some((handler, filter)) => {
                    let batched = !matches!(info.delivery, DeliveryStrategy::Immediate);
                    entries.push((
                        *new,
                        HandlerEntry {
                            functions: Functions::Strong { handler, filter },
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
        if last_owner > 0 {
            shared.reserve_owner_ids(last_owner);
        }
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
