//! Error types. Every error leaves the bus unchanged.

use alloc::string::String;
use core::fmt;

use crate::id::SubscriptionId;
use crate::topic::TopicError;

/// A bad configuration or option value, naming the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// Dotted path of the offending field, e.g. `retry.max_attempts`.
    pub field: String,
    /// What is wrong with it.
    pub problem: &'static str,
}

impl ConfigError {
    /// A new error for `field`.
    pub fn new(field: &str, problem: &'static str) -> Self {
        ConfigError {
            field: field.into(),
            problem,
        }
    }
    /// Prefixes the field path with `outer.`.
    pub fn within(mut self, outer: &str) -> Self {
        let mut field = String::with_capacity(outer.len() + 1 + self.field.len());
        field.push_str(outer);
        field.push('.');
        field.push_str(&self.field);
        self.field = field;
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` {}", self.field, self.problem)
    }
}

/// Why [`crate::Bus::subscribe`] failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubscribeError {
    /// The pattern is invalid.
    InvalidPattern(TopicError),
    /// An option is invalid.
    InvalidOption(ConfigError),
}

/// Why [`crate::Bus::publish`] failed. Nothing was enqueued for anyone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublishError {
    /// The topic is invalid.
    InvalidTopic(TopicError),
    /// A matched subscription with the `reject` policy is full: it holds `capacity` messages,
    /// counting those in flight.
    Backpressure {
        /// The full subscription.
        subscription: SubscriptionId,
        /// Its name, if any.
        name: Option<String>,
        /// Its pattern.
        pattern: String,
        /// Its capacity.
        capacity: usize,
    },
    /// The publish is more causation hops from its root than allowed.
    Cascade {
        /// Depth this publish would have.
        depth: u32,
        /// The configured limit.
        limit: u32,
    },
    /// A publish option is invalid.
    InvalidOption(ConfigError),
}

/// Why reporting an outcome failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SettleError {
    /// No delivery with this token is outstanding (never issued, or already finished).
    UnknownToken,
    /// The delivery had timed out; the late outcome was ignored and counted.
    TimedOut,
    /// `settle` on a delivery that was not reported as pending, or `Pending` twice.
    NotPending,
}

/// The subscription id is stale or was never issued.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct UnknownSubscription(pub SubscriptionId);

/// Why a redrive failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedriveError {
    /// No dead letter with this id.
    UnknownDeadLetter,
    /// Its subscription no longer exists; the dead letter stays.
    SubscriptionGone(SubscriptionId),
    /// The subscription holds its capacity (queued, retrying and in-flight messages); the dead
    /// letter stays.
    QueueFull(SubscriptionId),
}

macro_rules! display_via_debug {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { fmt::Debug::fmt(self, f) }
        }
        #[cfg(feature = "std")]
        impl std::error::Error for $t {}
    )*};
}
display_via_debug!(
    SubscribeError,
    PublishError,
    SettleError,
    UnknownSubscription,
    RedriveError
);
#[cfg(feature = "std")]
impl std::error::Error for ConfigError {}
