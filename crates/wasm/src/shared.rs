//! What the Rust bindings and the package's JavaScript (`crates/wasm/js/src`) share, written
//! once here: `cargo xtask gen` writes `crates/wasm/js/src/generated.js` from this file, and
//! `cargo xtask test` (suite `js`) fails when that file is stale.
//!
//! This file uses nothing but `core` (xtask compiles it too, with `#[path]`): constants only.

/// Every `code` a `SwitchyardError` can carry, in the order of `ErrorCode`'s discriminants.
/// `E_INVALID_RECEIVER` is thrown by the JavaScript only (a method called on something that is
/// not a bus or a subscription), and so is `E_NOT_CLONEABLE` (`switchyard/bridge`: a payload
/// that cannot be structured-cloned to another realm), and so is `E_UNSUPPORTED` (a feature that
/// another entry of the package carries: `bus.snapshot()` / `EventBus.restore()` on a bus of
/// `switchyard`, whose `.wasm` leaves them to `switchyard/snapshot`).
pub const ERROR_CODES: [&str; 11] = [
    "E_INVALID_TOPIC",
    "E_INVALID_PATTERN",
    "E_INVALID_OPTION",
    "E_INVALID_HANDLER",
    "E_INVALID_RECEIVER",
    "E_BACKPRESSURE",
    "E_CASCADE",
    "E_CLOSED",
    "E_TIMEOUT",
    "E_NOT_CLONEABLE",
    "E_UNSUPPORTED",
];

/// Option names `new EventBus(options)` accepts.
pub const BUS_OPTIONS: &[&str] = &[
    "capacity",
    "overflow",
    "retry",
    "deadLetterCapacity",
    "maxListeners",
    "traceCapacity",
    "maxCascadeDepth",
    "timeoutMs",
    "retain",
    "maxTopics",
    "idleAfterMs",
    "trendWindowMs",
    "trendWindows",
    "captureStacks",
    "clock",
];

/// Option names `subscribe` accepts.
pub const SUBSCRIBE_OPTIONS: &[&str] = &[
    "priority",
    "once",
    "filter",
    "capacity",
    "overflow",
    "delivery",
    "concurrency",
    "ordering",
    "retry",
    "timeoutMs",
    "breaker",
    "group",
    "replay",
    "name",
    "owner",
    "weak",
    "signal",
];

/// Option names `publish` accepts.
pub const PUBLISH_OPTIONS: &[&str] = &["headers", "correlationId", "ttlMs", "origin"];

/// Option names `waitFor` accepts (checked by `options::read_method_options` for the
/// JavaScript that implements it).
pub const WAIT_FOR_OPTIONS: &[&str] = &["signal", "timeoutMs", "filter"];

/// Option names `stream` accepts (checked like `waitFor`'s; all but `signal` are passed on
/// to `subscribe`).
pub const STREAM_OPTIONS: &[&str] = &[
    "capacity", "overflow", "filter", "priority", "name", "group", "replay", "signal",
];

/// The JS name of every trace kind (`bus.on(kind)`, `trace()`), in the order of
/// `events::KINDS`.
pub const TRACE_KINDS: [&str; 24] = [
    "subscriber_added",
    "subscriber_removed",
    "published",
    "message_enqueued",
    "delivering",
    "delivered",
    "filtered",
    "failed",
    "retry_scheduled",
    "dead_letter",
    "dropped",
    "backpressure",
    "batch_flush",
    "strategy_swapped",
    "paused",
    "resumed",
    "circuit_opened",
    "circuit_half_open",
    "circuit_closed",
    "leak_suspected",
    "redriven",
    "timed_out",
    "cascade_refused",
    "dead_letter_evicted",
];

/// The inline cell (`f64` slots in wasm memory, one cell per bus; see `inline::InlineCell`)
/// and the batch area (one per instance; see `inline::BatchArea`).
pub mod cell {
    /// The inline epoch, or `-1` while the fast path must not run.
    pub const STAMP: usize = 0;
    /// The manual clock's time in ms, or `-1` on the real clock.
    pub const MANUAL_NOW: usize = 1;
    /// `1` while a batch must be recorded as runs in publish order (the trace ring is on).
    pub const ORDERED: usize = 2;
    /// Slots in a bus's cell.
    pub const SLOTS: usize = 3;
    /// Most `(topic handle, publishes)` pairs one `__inlineRecord` call records: the batch
    /// area holds twice as many `f64`s.
    pub const MAX_BATCH_TOPICS: usize = 1024;
}
