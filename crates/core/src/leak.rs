//! Leak detection: too many listeners on one pattern, subscriptions outliving their owner,
//! idle subscriptions on busy topics, and a rising subscription count.

use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;
use serde::{Deserialize, Serialize};

use crate::id::SubscriptionId;
use crate::time::Instant;

/// Why a subscription (or a pattern) is suspected of leaking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LeakReason {
    /// The pattern crossed `max_listeners` active subscriptions.
    MaxListeners {
        /// Active subscriptions on the pattern when it crossed.
        count: usize,
        /// The configured limit.
        limit: usize,
    },
    /// Its owner was released while it was still active.
    OwnerReleased,
    /// It received nothing for `idle_for` while a topic it matches was published to.
    Idle {
        /// How long it has been idle.
        idle_for: Duration,
    },
    /// Subscribes minus unsubscribes rose in each of `windows` consecutive windows.
    Trend {
        /// Consecutive rising windows.
        windows: u32,
        /// Net growth over those windows.
        growth: i64,
    },
}

impl LeakReason {
    /// The snake_case kind: `max_listeners`, `owner_released`, `idle`, `trend`.
    pub const fn kind(&self) -> &'static str {
        match self {
            LeakReason::MaxListeners { .. } => "max_listeners",
            LeakReason::OwnerReleased => "owner_released",
            LeakReason::Idle { .. } => "idle",
            LeakReason::Trend { .. } => "trend",
        }
    }
}

/// One suspected-leak subscription inside a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeakSuspect {
    /// Its id.
    pub subscription: SubscriptionId,
    /// Its name.
    pub name: Option<String>,
    /// Its pattern.
    pub pattern: String,
    /// Its age at report time.
    pub age: Duration,
    /// Its creation order.
    pub order: u64,
    /// Creation stack, when the host captured one.
    pub stack: Option<String>,
}

/// A suspected leak.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeakReport {
    /// Why.
    pub reason: LeakReason,
    /// The pattern concerned (`**` for a bus-wide trend).
    pub pattern: String,
    /// When it was detected.
    pub detected_at: Instant,
    /// The subscriptions concerned, in creation order.
    pub suspects: Vec<LeakSuspect>,
}
