//! Taking a snapshot: [`Bus::snapshot`].
//!
//! Every referenced message is collected once into a list sorted by id (a sorted `Vec`, not a
//! map: one small sort instead of a B-tree instantiation per key type, which matters for the
//! WebAssembly build), then each payload is encoded once by the host's codec.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::{
    BusCounters, DeadLetterSnapshot, MessageSnapshot, OriginSnapshot, PayloadCodec, QueuedSnapshot,
    Snapshot, SnapshotError, SubscriptionSnapshot, TopicSnapshot, GONE_SUBSCRIPTION,
    SNAPSHOT_VERSION,
};
use crate::bus::slab::Key;
use crate::bus::subscriber::{Queued, Subscriber};
use crate::bus::{key, sid, Bus};
use crate::id::{MessageId, OwnerId};
use crate::message::Envelope;
use crate::time::Instant;

fn queued_snapshot<P>(item: &Queued<P>) -> QueuedSnapshot {
    QueuedSnapshot {
        message: item.message.id,
        enqueued_at: item.enqueued_at,
        first_failure_at: item.first_failure_at,
        attempt: item.attempt,
    }
}

/// Every message the snapshot refers to, noted as it is met (duplicates included); sorted and
/// deduplicated by id once at the end.
struct MessageTable<'a, P> {
    messages: Vec<&'a Arc<Envelope<P>>>,
}

impl<'a, P> MessageTable<'a, P> {
    fn note(&mut self, message: &'a Arc<Envelope<P>>) -> MessageId {
        self.messages.push(message);
        message.id
    }

    /// Each message once, oldest (smallest id) first.
    fn into_sorted(mut self) -> Vec<&'a Arc<Envelope<P>>> {
        crate::sort::sort_by_key(&mut self.messages, |m| m.id.0);
        self.messages.dedup_by_key(|m| m.id.0);
        self.messages
    }
}

/// A delivery in flight, as it will be written back to its queue: its subscription, when it
/// started, its first message id (the tie-break) and its items.
type WrittenBack = (Key, Instant, u64, Vec<QueuedSnapshot>);

impl<P> Bus<P> {
    /// Writes the bus state to a [`Snapshot`], encoding each payload once with `codec`.
    ///
    /// The bus is not changed. Deliveries in flight are written back at the head of their
    /// subscription's queue (see the [module docs](crate::snapshot)). Fails only when the
    /// codec does ([`SnapshotError::Payload`]).
    pub fn snapshot<C: PayloadCodec<P>>(
        &self,
        codec: &C,
    ) -> Result<Snapshot<C::Encoded>, SnapshotError> {
        let mut table = MessageTable {
            messages: Vec::new(),
        };

        // Deliveries in flight, grouped by subscription, oldest first within each.
        let mut written_back: Vec<WrittenBack> = self
            .in_flight
            .iter()
            .map(|(_, entry)| {
                let items: Vec<QueuedSnapshot> = entry
                    .items
                    .iter()
                    .map(|item| {
                        table.note(&item.message);
                        queued_snapshot(item)
                    })
                    .collect();
                let first = items.first().map_or(0, |q| q.message.0);
                (entry.subscription, entry.started_at, first, items)
            })
            .collect();
        crate::sort::sort_by_key(&mut written_back, |(k, started, first, _)| {
            (*k, *started, *first)
        });

        let mut subs: Vec<(Key, &Subscriber<P>)> = self.subs.iter().collect();
        crate::sort::sort_by_key(&mut subs, |(_, s)| s.order);
        let mut subscriptions = Vec::with_capacity(subs.len());
        for (k, sub) in subs {
            let start = written_back.partition_point(|(of, ..)| *of < k);
            let end = written_back.partition_point(|(of, ..)| *of <= k);
            let in_flight = written_back.get_mut(start..end).unwrap_or_default();
            subscriptions.push(subscription_snapshot(k, sub, in_flight, &mut table));
        }

        let dead_letters = self
            .dead
            .iter()
            .map(|d| DeadLetterSnapshot {
                id: d.id,
                message: table.note(&d.message),
                subscription: if self.subs.get(key(d.subscription)).is_some() {
                    d.subscription
                } else {
                    GONE_SUBSCRIPTION
                },
                subscription_name: d.subscription_name.clone(),
                pattern: d.pattern.clone(),
                attempts: d.attempts,
                last_error: d.last_error.clone(),
                reason: d.reason,
                first_failure_at: d.first_failure_at,
                dead_lettered_at: d.dead_lettered_at,
            })
            .collect();

        let topics = self
            .topics
            .iter()
            .map(|(_, t)| TopicSnapshot {
                name: String::from(&*t.name),
                seq: t.seq,
                counters: t.counters,
                latency: t.latency.clone(),
                retained: t.retained.iter().map(|m| table.note(m)).collect(),
            })
            .collect();

        let table = table.into_sorted();
        let mut messages = Vec::with_capacity(table.len());
        for message in table {
            let payload = codec
                .encode(&message.payload)
                .map_err(|e| SnapshotError::Payload(format!("message {}: {e}", message.id.0)))?;
            messages.push(MessageSnapshot {
                id: message.id,
                topic: String::from(&*message.topic),
                topic_seq: message.topic_seq,
                published_at: message.published_at,
                causation: message.causation,
                correlation: message.correlation.as_deref().map(String::from),
                depth: message.depth,
                headers: message
                    .headers
                    .iter()
                    .map(|(k, v)| (String::from(&**k), String::from(&**v)))
                    .collect(),
                expires_at: message.expires_at,
                origin: message.origin.as_deref().map(|o| OriginSnapshot {
                    realm: String::from(&*o.realm),
                    id: o.id,
                    seq: o.seq,
                    hops: o.hops,
                }),
                payload,
            });
        }

        // Hash maps iterate in no fixed order: sort, so equal buses give equal snapshots.
        let mut groups: Vec<(String, u64)> =
            self.groups.iter().map(|(g, c)| (g.clone(), *c)).collect();
        crate::sort::sort_by(&mut groups, |a, b| a.0.cmp(&b.0));
        let mut released_owners: Vec<OwnerId> = self.leaks.released.iter().copied().collect();
        crate::sort::sort_by_key(&mut released_owners, |o| o.0);
        Ok(Snapshot {
            version: SNAPSHOT_VERSION,
            clock: self.now,
            last_message: self.next_message,
            next_order: self.next_order,
            rng: self.rng.clone(),
            groups,
            topics,
            messages,
            subscriptions,
            dead_letters,
            next_dead_letter: self.dead.peek_next_id().0,
            counters: BusCounters {
                totals: self.totals,
                late_settles: self.late_settles,
                cascades_refused: self.cascades_refused,
                publishes_rejected: self.publishes_rejected,
                reclaimed: self.reclaimed,
                expired: self.expired,
                leaks_suspected: self.leaks.suspected,
                dead_letters_evicted: self.dead.evicted(),
            },
            released_owners,
        })
    }
}

/// One subscription's configuration and state; `in_flight` (its deliveries in flight, oldest
/// first) goes back at the head of its queue.
fn subscription_snapshot<'a, P>(
    k: Key,
    sub: &'a Subscriber<P>,
    in_flight: &mut [WrittenBack],
    table: &mut MessageTable<'a, P>,
) -> SubscriptionSnapshot {
    let mut queue = Vec::with_capacity(sub.queue.len());
    for (.., items) in in_flight {
        queue.append(items);
    }
    for item in &sub.queue {
        table.note(&item.message);
        queue.push(queued_snapshot(item));
    }
    let delayed = sub
        .delayed
        .iter()
        .map(|(due, item)| {
            table.note(&item.message);
            (*due, queued_snapshot(item))
        })
        .collect();
    SubscriptionSnapshot {
        id: sid(k),
        pattern: String::from(sub.pattern.as_str()),
        name: sub.profile.name.clone(),
        group: sub.profile.group.clone(),
        created_at: sub.profile.created_at,
        order: sub.order,
        priority: sub.priority,
        capacity: sub.capacity,
        overflow: sub.overflow,
        delivery: sub.delivery,
        ordering: sub.ordering,
        concurrency: sub.concurrency,
        has_filter: sub.has_filter,
        paused: sub.paused,
        flush_requested: sub.flush_requested,
        retry: sub.profile.retry,
        timeout: sub.profile.timeout,
        max_deliveries: sub.profile.max_deliveries,
        accepted: sub.accepted,
        successes: sub.successes,
        owner: sub.profile.owner,
        weak: sub.profile.weak,
        stack: sub.profile.stack.clone(),
        // A half-open trial in flight is written back to the queue: the trial is free again.
        breaker: sub.breaker.as_deref().map(|b| b.clone().restored(|t| t)),
        queue,
        delayed,
        retry_at: sub.retry_at,
        idle: sub.idle,
        idle_flagged: sub.idle_flagged,
        counters: sub.counters,
        high_water: sub.high_water,
        latency: sub.latencies.as_ref().map(|l| l.latency.clone()),
        handler_latency: sub.latencies.as_ref().map(|l| l.handler.clone()),
        breaker_opened: sub.breaker_opened,
    }
}
