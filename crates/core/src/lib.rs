//! # switchyard-core
//!
//! A `#![no_std]` + `alloc`, sans-IO event bus engine. It routes published messages to
//! subscriptions through a segment trie (`*` = one segment, `**` = zero or more), keeps one
//! bounded queue per subscription, and hands deliveries to the host one at a time. It never
//! calls a handler and never reads a clock:
//!
//! * **inputs**: [`Bus::publish`], [`Bus::subscribe`], [`Bus::complete`], [`Bus::settle`],
//!   [`Bus::handle_timeout`] — each takes `now` as an [`Instant`];
//! * **outputs**: [`Bus::poll_delivery`] (the next handler call the host must make) and
//!   [`Bus::poll_timeout`] (when the host must call [`Bus::handle_timeout`] next).
//!
//! Because the host holds no borrow of the bus while a handler runs, handlers may publish,
//! subscribe and unsubscribe freely; a publish made during a delivery is delivered after the
//! current message has reached all its subscribers (run to completion, breadth first).
//!
//! See the [`bus`] module for a complete example.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod breaker;
pub mod bus;
pub mod config;
pub mod dead_letter;
pub mod delivery;
pub mod error;
pub mod hash;
pub mod id;
pub mod leak;
pub mod message;
pub mod metrics;
pub mod retry;
pub mod router;
#[cfg(feature = "snapshot")]
pub mod snapshot;
mod sort;
pub mod subscription;
pub mod time;
pub mod topic;
pub mod trace;

pub use breaker::{BreakerPolicy, BreakerState};
pub use bus::{
    Bus, InlineAdoption, InlineError, InlineMessage, InlineReceipt, InlineRoute, QueueLimitError,
    TopicHandle,
};
pub use config::Config;
pub use dead_letter::{DeadLetter, DeadLetterReason};
pub use delivery::{Delivery, DeliveryItem, Outcome};
pub use error::{
    ConfigError, PublishError, RedriveError, SettleError, SubscribeError, UnknownSubscription,
};
pub use id::{DeadLetterId, DeliveryToken, MessageId, OwnerId, SubscriptionId};
pub use leak::{LeakReason, LeakReport};
pub use message::{Envelope, Origin, PublishOptions, Published, MAX_ORIGIN_REALM_BYTES};
pub use metrics::{BusMetrics, Counters, Histogram, Percentiles, SubscriptionStats, TopicStats};
pub use retry::{Jitter, RetryPolicy};
#[cfg(feature = "snapshot")]
pub use snapshot::{PayloadCodec, Restored, SerdeCodec, Snapshot, SnapshotError, SNAPSHOT_VERSION};
pub use subscription::{
    DeliveryStrategy, OrderingMode, Overflow, SubscribeOptions, SubscriptionInfo,
};
pub use time::Instant;
pub use topic::{Pattern, TopicError};
pub use trace::{TraceBatch, TraceEvent, TraceKind};
