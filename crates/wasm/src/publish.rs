//! `bus.publish(topic, payload, options?)`.
//!
//! The outermost publish runs every delivery it made ready before returning, so synchronous
//! handlers on immediate subscriptions have run when it returns. A publish made by a handler
//! only enqueues (its messages are delivered after the current message reached everyone) and
//! records the handler's message as its causation.

use alloc::sync::Arc;

use js_sys::Array;
use switchyard_core::{Origin, PublishError, PublishOptions, MAX_ORIGIN_REALM_BYTES};
use wasm_bindgen::prelude::*;

use crate::bus::{js_field, EventBus};
use crate::error::{concat, decimal, error, error_with, invalid_option, ErrorCode, JsResult};
use crate::hooks::make_published;
use crate::options::{well_formed_text, Options};
use crate::shared::PUBLISH_OPTIONS;

/// Most headers per message.
const MAX_HEADERS: u32 = 64;
/// Longest header name, header value or correlation id.
const MAX_HEADER_BYTES: usize = 1024;
/// Field names of the `origin` publish option (all required).
const ORIGIN_OPTIONS: &[&str] = &["realm", "id", "seq", "hops"];

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = Object, js_name = entries)]
    fn object_entries(object: &JsValue) -> Result<Array, JsValue>;
}

fn parse_publish(value: &JsValue) -> JsResult<PublishOptions> {
    let options = Options::new(value, "options", PUBLISH_OPTIONS)?;
    let mut publish = PublishOptions::default();
    if let Some(headers) = options.get("headers")? {
        if !headers.is_object() || crate::options::is_array(&headers, "headers")? {
            return Err(invalid_option(
                "headers",
                "must be an object of string values",
            ));
        }
        let entries =
            object_entries(&headers).map_err(|_| invalid_option("headers", "could not be read"))?;
        if entries.length() > MAX_HEADERS {
            return Err(invalid_option(
                "headers",
                &concat(&[
                    "must have at most ",
                    &decimal(u64::from(MAX_HEADERS)),
                    " entries",
                ]),
            ));
        }
        for entry in entries.iter() {
            let pair = Array::from(&entry);
            let key = pair.get(0).as_string().unwrap_or_default();
            let value = pair
                .get(1)
                .as_string()
                .ok_or_else(|| invalid_option(&concat(&["headers.", &key]), "must be a string"))?;
            if key.len() > MAX_HEADER_BYTES || value.len() > MAX_HEADER_BYTES {
                return Err(invalid_option(
                    &concat(&["headers.", &key]),
                    "is too long (1024 bytes at most)",
                ));
            }
            publish
                .headers
                .push((key.into_boxed_str(), value.into_boxed_str()));
        }
    }
    if let Some(correlation) = options.string("correlationId", MAX_HEADER_BYTES)? {
        publish.correlation = Some(Arc::from(correlation));
    }
    publish.ttl = options.millis("ttlMs")?;
    if let Some(origin) = options.nested("origin", ORIGIN_OPTIONS)? {
        publish.origin = Some(Arc::new(parse_origin(&origin)?));
    }
    Ok(publish)
}

/// `options.origin`: `{ realm, id, seq, hops }`, every field required (a bridge republishing a
/// remote message gives them all; see `MessageMeta.origin`). Types and ranges are checked here;
/// the engine checks the realm is not empty ([`Origin::validate`]).
fn parse_origin(origin: &Options) -> JsResult<Origin> {
    let realm = origin.string("realm", MAX_ORIGIN_REALM_BYTES)?;
    let id = origin.integer("id", 0.0, f64::MAX)?;
    let seq = origin.integer("seq", 0.0, f64::MAX)?;
    let hops = origin.integer("hops", 1.0, 255.0)?;
    match (realm, id, seq, hops) {
        (Some(realm), Some(id), Some(seq), Some(hops)) => Ok(Origin {
            realm: realm.into_boxed_str(),
            id: id as u64,
            seq: seq as u64,
            hops: hops as u8,
        }),
        (realm, id, seq, _) => {
            let missing = if realm.is_none() {
                "realm"
            } else if id.is_none() {
                "id"
            } else if seq.is_none() {
                "seq"
            } else {
                "hops"
            };
            Err(invalid_option(&origin.name(missing), "is required"))
        }
    }
}

/// The `PublishError` as a `SwitchyardError`.
fn publish_error(topic: &str, e: PublishError) -> JsValue {
    match e {
        PublishError::InvalidTopic(why) => error(
            ErrorCode::InvalidTopic,
            &concat(&["topic `", topic, "` ", &why.message()]),
        ),
        PublishError::Backpressure {
            subscription,
            name,
            pattern,
            capacity,
        } => {
            let who = match &name {
                Some(name) => concat(&["subscription `", name, "` (pattern `", &pattern, "`)"]),
                None => concat(&["subscription on `", &pattern, "`"]),
            };
            error_with(
                ErrorCode::Backpressure,
                &concat(&[
                    "publish to `",
                    topic,
                    "` refused: ",
                    &who,
                    " is full (it holds its capacity of ",
                    &decimal(capacity as u64),
                    " messages, queued or in flight; overflow 'reject'); nothing was enqueued",
                ]),
                &[
                    (
                        "subscription",
                        JsValue::from_f64(subscription.to_bits() as f64),
                    ),
                    (
                        "subscriptionName",
                        name.map_or(JsValue::NULL, |n| JsValue::from_str(&n)),
                    ),
                    ("pattern", JsValue::from_str(&pattern)),
                    ("capacity", JsValue::from_f64(capacity as f64)),
                ],
            )
        }
        PublishError::Cascade { depth, limit } => error(
            ErrorCode::Cascade,
            &concat(&[
                "publish to `",
                topic,
                "` refused: it is ",
                &decimal(u64::from(depth)),
                " causation hops from its root publish (limit ",
                &decimal(u64::from(limit)),
                "); is a handler publishing in a loop?",
            ]),
        ),
        PublishError::InvalidOption(e) => invalid_option(&js_field(&e.field), e.problem),
    }
}

#[wasm_bindgen]
impl EventBus {
    /// Publishes `payload` on the concrete `topic`; returns `{ id, seq, matched }`.
    pub fn publish(&self, topic: JsValue, payload: JsValue, options: JsValue) -> JsResult<JsValue> {
        self.ensure_open("publish")?;
        let topic_text = match self.shared.cached_topic(&topic) {
            Some(text) => text,
            None => well_formed_text(&topic, ErrorCode::InvalidTopic, "publish(): `topic`")?,
        };
        let mut publish = if options.is_undefined() {
            PublishOptions::default()
        } else {
            let parsed = parse_publish(&options)?;
            // Reading the options ran JavaScript, which may have closed the bus.
            self.ensure_open("publish")?;
            parsed
        };
        publish.causation = self.shared.current.get();
        let listener_depth = self.shared.listener_depth_now();
        if listener_depth > 0 {
            let mut engine = self.shared.engine.borrow_mut();
            let limit = engine.bus.config().max_cascade_depth;
            if listener_depth > limit {
                // Counted like the engine's own refusals (`metrics().cascadesRefused`).
                engine.bus.note_cascade_refused();
                drop(engine);
                return Err(publish_error(
                    &topic_text,
                    PublishError::Cascade {
                        depth: listener_depth,
                        limit,
                    },
                ));
            }
        }
        self.shared.remember_topic(topic_text.clone(), topic);
        let now = self.shared.now();
        let published =
            self.shared
                .engine
                .borrow_mut()
                .bus
                .publish(&topic_text, payload, publish, now);
        if let Ok(published) = &published {
            self.shared
                .listener_cascade
                .borrow_mut()
                .record(published.id, listener_depth);
        }
        self.shared.finish_at(Some(now));
        let published = published.map_err(|e| publish_error(&topic_text, e))?;
        Ok(make_published(
            published.id.0 as f64,
            published.topic_seq as f64,
            published.matched as f64,
        ))
    }
}
