//! # switchyard-wasm
//!
//! The JavaScript face of [`switchyard_core`], built into the npm package `switchyard`.
//!
//! The engine is sans-IO; this crate is its host in JavaScript: it keeps handlers (keyed by
//! subscription id), runs them when the engine hands out deliveries, reports outcomes (a
//! returned promise makes a delivery pending until it settles), feeds the engine time from
//! `performance.now()` or a manual clock, arms one `setTimeout` for the engine's next
//! deadline, reports garbage-collected owners through a `FinalizationRegistry`, turns trace
//! events into `bus.on()` lifecycle events, and speaks the visualiser's attach protocol over
//! `BroadcastChannel`.
//!
//! One module per job: [`bus`] (the `EventBus` class), [`subscription`] (`subscribe` and the
//! by-id methods behind the JavaScript `Subscription` class), [`shared`] (what the JavaScript
//! shares: error codes, option and trace names, the inline cell layout), [`publish`],
//! [`dispatch`] (the delivery loop), [`inline`] (the fast path), [`timer`] and [`clock`] (time),
//! [`events`] (`on`), [`expose`] (attach protocol), [`owners`] (leaks), [`snapshot`] (persist
//! and restore), [`views`] (the JSON shapes returned), [`options`]
//! (argument validation), [`hooks`] (object constructors registered by the JS entry),
//! [`handlers`] (the JS side of each subscription), [`state`] (what a bus shares, and the
//! no-borrow-across-JS rule) and [`error`] (`SwitchyardError`).
//!
//! ```no_run
//! use switchyard_wasm::EventBus;
//! use wasm_bindgen::{prelude::*, JsValue};
//!
//! let bus = EventBus::new(JsValue::UNDEFINED).unwrap();
//! let handler = Closure::<dyn FnMut(JsValue, JsValue)>::new(|payload: JsValue, _meta: JsValue| {
//!     let _ = payload;
//! });
//! let id = bus.subscribe_by_id("orders.*".into(), handler.as_ref().clone(), JsValue::UNDEFINED).unwrap();
//! bus.publish("orders.created".into(), JsValue::from(42), JsValue::UNDEFINED).unwrap();
//! bus.unsubscribe_by_id(id);
//! ```
//!
//! No Rust panic is reachable from JavaScript: every argument arrives as a `JsValue` and is
//! checked here; bad input becomes a `SwitchyardError` and changes nothing.

pub mod bus;
pub mod clock;
pub mod dispatch;
pub mod error;
pub mod events;
pub mod expose;
pub mod handlers;
pub mod hooks;
pub mod inline;
pub mod options;
pub mod owners;
pub mod publish;
pub mod shared;
pub mod snapshot;
pub mod stacks;
pub mod state;
pub mod subscription;
pub mod timer;
pub mod views;

pub use bus::EventBus;
pub use error::{ErrorCode, JsResult};
