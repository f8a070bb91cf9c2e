//! Deliveries: what the host must run, and how it reports back.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::id::{DeliveryToken, SubscriptionId};
use crate::message::Envelope;

/// One message in a delivery, with the attempt number (1 for the first try).
#[derive(Debug)]
pub struct DeliveryItem<P> {
    /// The shared message.
    pub message: Arc<Envelope<P>>,
    /// 1 on the first delivery, incremented by each retry; reset by redrive.
    pub attempt: u32,
}

impl<P> Clone for DeliveryItem<P> {
    fn clone(&self) -> Self {
        DeliveryItem {
            message: Arc::clone(&self.message),
            attempt: self.attempt,
        }
    }
}

/// A handler call the host must make: for an immediate subscription one item, for a batched
/// subscription up to the batch size, in FIFO order.
///
/// The host runs the handler holding no borrow of the bus, then reports with
/// [`crate::Bus::complete`] (and, for [`Outcome::Pending`], later [`crate::Bus::settle`]).
#[derive(Debug)]
pub struct Delivery<P> {
    /// Names this delivery when reporting its outcome.
    pub token: DeliveryToken,
    /// The subscription whose handler must run.
    pub subscription: SubscriptionId,
    /// Whether the subscription has a filter the host must evaluate first
    /// (report rejected items with [`crate::Bus::mark_filtered`]).
    pub has_filter: bool,
    /// The messages, oldest first. Immediate deliveries have exactly one.
    pub items: Vec<DeliveryItem<P>>,
}

/// How a handler call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The handler returned normally.
    Delivered,
    /// The host's filter rejected every item: counted as filtered, not delivered.
    Filtered,
    /// The handler failed; the retry policy decides between retry and dead letter.
    Failed(String),
    /// The handler refused the message for good: dead-lettered as `rejected`, no retry.
    Rejected(String),
    /// The handler started asynchronous work; settle later with [`crate::Bus::settle`].
    Pending,
}
