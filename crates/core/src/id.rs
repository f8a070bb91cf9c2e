//! Identifiers handed to the host. All are plain `Copy` values that are cheap to pass to JS.

use serde::{Deserialize, Serialize};

/// A subscription handle. Generational: once a subscription is removed, its id never
/// reaches a later subscription that reuses the same slot.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SubscriptionId {
    /// Slot index in the subscription table.
    pub index: u32,
    /// Generation of the slot when this subscription was created.
    pub generation: u32,
}

impl SubscriptionId {
    /// Packs the id into one integer (generation in the high 32 bits), e.g. for JavaScript.
    pub const fn to_bits(self) -> u64 {
        ((self.generation as u64) << 32) | self.index as u64
    }

    /// The inverse of [`SubscriptionId::to_bits`].
    pub const fn from_bits(bits: u64) -> Self {
        SubscriptionId {
            index: bits as u32,
            generation: (bits >> 32) as u32,
        }
    }
}

/// A message's id: its global sequence number on this bus, starting at 1.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MessageId(pub u64);

/// Names one delivery handed out by [`crate::Bus::poll_delivery`], to report its outcome.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DeliveryToken(pub u64);

/// An opaque owner chosen by the host (for example the id of a JS object registered with a
/// `FinalizationRegistry`). See [`crate::Bus::owner_released`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OwnerId(pub u64);

/// A dead letter's id, unique for the life of the bus.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DeadLetterId(pub u64);
