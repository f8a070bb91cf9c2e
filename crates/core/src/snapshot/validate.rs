//! Checking a snapshot before anything is built from it.
//!
//! [`validate`] reads the whole snapshot and either names the first problem it finds or
//! returns a [`MessageIndex`], the lookups the build step needs (message by id, each
//! message's topic). Lookups are sorted `Vec`s searched by bisection: the WebAssembly build
//! pays for one small sort per element type instead of a B-tree per key type.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use super::{Snapshot, SnapshotError, SubscriptionSnapshot};
use crate::error::ConfigError;
use crate::id::{MessageId, SubscriptionId};
use crate::subscription::DeliveryStrategy;
use crate::topic::{validate_topic, Pattern};

pub(super) fn corrupt(reason: String) -> SnapshotError {
    SnapshotError::Corrupt(reason)
}

/// Where each message of a validated snapshot is, for the build step.
#[derive(Debug)]
pub(super) struct MessageIndex {
    /// `(message id, position in Snapshot::messages)`, sorted by id, ids unique.
    by_id: Vec<(u64, usize)>,
    /// For each message, in snapshot order, the position of its topic in `Snapshot::topics`.
    topic_of: Vec<usize>,
}

impl MessageIndex {
    /// The position in `Snapshot::messages` of the message with `id`.
    pub(super) fn position(&self, id: MessageId) -> Option<usize> {
        lookup(&self.by_id, id.0)
    }

    /// The position in `Snapshot::topics` of the topic of the message at `position`.
    pub(super) fn topic_of(&self, position: usize) -> Option<usize> {
        self.topic_of.get(position).copied()
    }
}

/// The value stored with `key` in `pairs` (sorted by key).
fn lookup(pairs: &[(u64, usize)], key: u64) -> Option<usize> {
    pairs
        .binary_search_by(|(k, _)| k.cmp(&key))
        .ok()
        .and_then(|i| pairs.get(i))
        .map(|(_, value)| *value)
}

/// Sorts `pairs` by key and returns a key that appears more than once, with the value of its
/// second appearance, if any.
fn sort_finding_duplicate(pairs: &mut [(u64, usize)]) -> Option<(u64, usize)> {
    crate::sort::sort_by_key(pairs, |pair| *pair);
    pairs.windows(2).find(|w| w[0].0 == w[1].0).map(|w| w[1])
}

/// Checks a snapshot's internal consistency without building anything.
pub(super) fn validate<E>(snapshot: &Snapshot<E>) -> Result<MessageIndex, SnapshotError> {
    // Topics: valid names, each once.
    let mut topics: Vec<(&str, usize)> = Vec::with_capacity(snapshot.topics.len());
    for (position, topic) in snapshot.topics.iter().enumerate() {
        validate_topic(&topic.name).map_err(|e| corrupt(format!("topic `{}` {e}", topic.name)))?;
        topics.push((&topic.name, position));
    }
    crate::sort::sort_by_key(&mut topics, |pair| *pair);
    if let Some(w) = topics.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(corrupt(format!("topic `{}` appears twice", w[0].0)));
    }
    let topic_position = |name: &str| -> Option<usize> {
        topics
            .binary_search_by(|(n, _)| (*n).cmp(name))
            .ok()
            .and_then(|i| topics.get(i))
            .map(|(_, position)| *position)
    };

    // Messages: ids within the sequence handed out, each once, on known topics.
    let mut by_id: Vec<(u64, usize)> = Vec::with_capacity(snapshot.messages.len());
    let mut topic_of: Vec<usize> = Vec::with_capacity(snapshot.messages.len());
    for (position, m) in snapshot.messages.iter().enumerate() {
        if m.id.0 == 0 || m.id.0 > snapshot.last_message {
            return Err(corrupt(format!(
                "message id {} is outside the sequence handed out (1..={})",
                m.id.0, snapshot.last_message
            )));
        }
        let Some(topic) = topic_position(&m.topic) else {
            return Err(corrupt(format!(
                "message {} names unknown topic `{}`",
                m.id.0, m.topic
            )));
        };
        let topic_seq = snapshot.topics.get(topic).map_or(0, |t| t.seq);
        if m.topic_seq == 0 || m.topic_seq > topic_seq {
            return Err(corrupt(format!(
                "message {} has topic sequence {} beyond its topic's",
                m.id.0, m.topic_seq
            )));
        }
        if let Some(origin) = &m.origin {
            let problem = if origin.realm.is_empty() {
                Some("an empty origin realm")
            } else if origin.realm.len() > crate::message::MAX_ORIGIN_REALM_BYTES {
                Some("an origin realm longer than 128 bytes")
            } else if origin.hops == 0 {
                Some("an origin with 0 hops")
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(corrupt(format!("message {} has {problem}", m.id.0)));
            }
        }
        by_id.push((m.id.0, position));
        topic_of.push(topic);
    }
    if let Some((id, _)) = sort_finding_duplicate(&mut by_id) {
        return Err(corrupt(format!("message {id} appears twice")));
    }
    let index = MessageIndex { by_id, topic_of };

    // Every reference names a stored message; every stored message is referenced.
    let mut referenced = vec![false; snapshot.messages.len()];
    let mut reference = |id: MessageId, by: &dyn fmt::Display| -> Result<&str, SnapshotError> {
        let found = index.position(id).and_then(|position| {
            let seen = referenced.get_mut(position)?;
            *seen = true;
            snapshot.messages.get(position)
        });
        found.map(|m| m.topic.as_str()).ok_or_else(|| {
            corrupt(format!(
                "{by} names message {}, which is not in the snapshot",
                id.0
            ))
        })
    };
    for topic in &snapshot.topics {
        for id in &topic.retained {
            let of = reference(
                *id,
                &format_args!("retained list of topic `{}`", topic.name),
            )?;
            if of != topic.name {
                return Err(corrupt(format!(
                    "topic `{}` retains message {} of another topic",
                    topic.name, id.0
                )));
            }
        }
    }

    // Subscriptions: ids and creation orders each once, valid patterns and options, queues
    // holding messages their pattern matches.
    let mut ids: Vec<(u64, usize)> = Vec::with_capacity(snapshot.subscriptions.len());
    let mut orders: Vec<(u64, usize)> = Vec::with_capacity(snapshot.subscriptions.len());
    for (position, s) in snapshot.subscriptions.iter().enumerate() {
        let name = SubscriptionName(s.id);
        if s.order >= snapshot.next_order {
            return Err(corrupt(format!(
                "{name} has a creation order {} that was never issued (next is {})",
                s.order, snapshot.next_order
            )));
        }
        ids.push((s.id.to_bits(), position));
        orders.push((s.order, position));
        let pattern = Pattern::parse(&s.pattern)
            .map_err(|e| corrupt(format!("{name} pattern `{}` {e}", s.pattern)))?;
        validate_subscription(s).map_err(|e| corrupt(format!("{name} option {e}")))?;
        // A queue longer than its capacity is not corrupt: a live bus holds one after
        // `set_capacity` shrinks a `reject` queue, or below the messages it has in flight
        // (written back into the queue here). The restored bus drains or evicts it back
        // under the bound exactly as the live one would.
        for q in s.queue.iter().chain(s.delayed.iter().map(|(_, q)| q)) {
            let topic = reference(q.message, &format_args!("the queue of {name}"))?;
            if !pattern.matches(topic) {
                return Err(corrupt(format!(
                    "{name} queues message {} on topic `{topic}`, which its pattern does not match",
                    q.message.0
                )));
            }
            if q.attempt == 0 {
                return Err(corrupt(format!(
                    "{name} queues message {} at attempt 0",
                    q.message.0
                )));
            }
        }
    }
    if let Some((bits, _)) = sort_finding_duplicate(&mut ids) {
        let name = SubscriptionName(SubscriptionId::from_bits(bits));
        return Err(corrupt(format!("{name} appears twice")));
    }
    if let Some((order, _)) = sort_finding_duplicate(&mut orders) {
        return Err(corrupt(format!(
            "two subscriptions have creation order {order}"
        )));
    }

    // Dead letters: increasing ids below the counter, each on a topic its pattern matches, and
    // with its subscription's pattern while that subscription exists (a redrive queues the
    // letter there, and the queue check above would then refuse the bus's own snapshot).
    let mut previous = 0u64;
    for d in &snapshot.dead_letters {
        if d.id.0 <= previous || d.id.0 >= snapshot.next_dead_letter {
            return Err(corrupt(format!(
                "dead letter id {} is duplicated, out of order or unissued",
                d.id.0
            )));
        }
        previous = d.id.0;
        let topic = reference(d.message, &format_args!("dead letter {}", d.id.0))?;
        let pattern = Pattern::parse(&d.pattern).map_err(|e| {
            corrupt(format!(
                "dead letter {} pattern `{}` {e}",
                d.id.0, d.pattern
            ))
        })?;
        if !pattern.matches(topic) {
            return Err(corrupt(format!(
                "dead letter {} holds message {} on topic `{topic}`, which its pattern `{}` does not match",
                d.id.0, d.message.0, d.pattern
            )));
        }
        let owner = lookup(&ids, d.subscription.to_bits())
            .and_then(|position| snapshot.subscriptions.get(position));
        if let Some(owner) = owner.filter(|owner| owner.pattern != d.pattern) {
            return Err(corrupt(format!(
                "dead letter {} names {} with pattern `{}`, but that subscription's pattern is `{}`",
                d.id.0,
                SubscriptionName(d.subscription),
                d.pattern,
                owner.pattern
            )));
        }
    }

    if let Some(unused) = referenced.iter().position(|seen| !seen) {
        let id = snapshot.messages.get(unused).map_or(0, |m| m.id.0);
        return Err(corrupt(format!(
            "message {id} is stored but nothing refers to it"
        )));
    }
    Ok(index)
}

/// Displays a subscription id as `subscription 3v1` (index, generation) in errors.
struct SubscriptionName(SubscriptionId);

impl fmt::Display for SubscriptionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "subscription {}v{}", self.0.index, self.0.generation)
    }
}

/// The option checks `Bus::subscribe` applies, on stored settings.
fn validate_subscription(s: &SubscriptionSnapshot) -> Result<(), ConfigError> {
    if s.capacity == 0 {
        return Err(ConfigError::new("capacity", "must be at least 1"));
    }
    if s.concurrency == 0 {
        return Err(ConfigError::new("concurrency", "must be at least 1"));
    }
    if s.max_deliveries == Some(0) {
        return Err(ConfigError::new("max_deliveries", "must be at least 1"));
    }
    if let DeliveryStrategy::Batched { size: 0, .. } = s.delivery {
        return Err(ConfigError::new("delivery.size", "must be at least 1"));
    }
    s.retry.validate().map_err(|e| e.within("retry"))?;
    if let Some(breaker) = &s.breaker {
        breaker
            .policy()
            .validate()
            .map_err(|e| e.within("breaker"))?;
    }
    if s.weak && s.owner.is_none() {
        return Err(ConfigError::new("weak", "needs an owner"));
    }
    Ok(())
}
