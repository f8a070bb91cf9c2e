//! Restoring a snapshot: [`Bus::restore`].
//!
//! Order of work: version check, a fresh bus from the configuration, [`validate`] (which also
//! indexes the messages), every payload decoded, and only then the bus state built. Every
//! failure returns before the new bus escapes, so a refused snapshot leaves nothing behind.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::validate::{corrupt, validate, MessageIndex};
use super::{
    MessageSnapshot, PayloadCodec, QueuedSnapshot, Restored, Snapshot, SnapshotError,
    GONE_SUBSCRIPTION, SNAPSHOT_VERSION,
};
use crate::bus::slab::Key;
use crate::bus::subscriber::{Latencies, Profile, Queued, Subscriber};
use crate::bus::timers::Timer;
use crate::bus::topics::Birth;
use crate::bus::{sid, Bus};
use crate::config::Config;
use crate::dead_letter::{DeadLetter, DeadLetterStore};
use crate::id::{MessageId, SubscriptionId};
use crate::message::{Envelope, Origin};
use crate::router::Rank;
use crate::time::Instant;
use crate::topic::Pattern;

/// The restored messages, in snapshot order, each with the index of its topic on the new bus.
struct Messages<'a, P> {
    index: &'a MessageIndex,
    envelopes: Vec<(u32, Arc<Envelope<P>>)>,
}

impl<P> Messages<'_, P> {
    /// The message with `id` and its topic index (validation guarantees it exists).
    fn get(&self, id: MessageId) -> Result<(u32, Arc<Envelope<P>>), SnapshotError> {
        self.index
            .position(id)
            .and_then(|position| self.envelopes.get(position))
            .map(|(topic, message)| (*topic, Arc::clone(message)))
            .ok_or_else(|| corrupt(format!("message {} is referenced but missing", id.0)))
    }
}

impl<P> Bus<P> {
    /// Builds a new bus with `config` from `snapshot`, decoding payloads with `codec`; `now`
    /// is the host's current time (see the [module docs](crate::snapshot) on time).
    ///
    /// The snapshot is validated and every payload decoded before anything is built: on any
    /// error no bus is returned. Subscriptions get new ids, returned as a mapping in
    /// [`Restored::subscriptions`]; dead letters of a restored subscription name its new id.
    /// Per-subscription settings (capacity, retry, ...) come from the snapshot; bus-wide ones
    /// from `config`. If `config` holds fewer dead letters or retained messages than the
    /// snapshot, the oldest are evicted (dead letters counted as evicted); if it keeps fewer
    /// topics ([`Config::max_topics`]), idle topics past the bound are evicted (counted in
    /// [`BusMetrics::topics_evicted`](crate::BusMetrics::topics_evicted)).
    pub fn restore<C: PayloadCodec<P>>(
        config: Config,
        snapshot: Snapshot<C::Encoded>,
        codec: &C,
        now: Instant,
    ) -> Result<Restored<P>, SnapshotError> {
        if snapshot.version > SNAPSHOT_VERSION {
            return Err(SnapshotError::NewerVersion {
                found: snapshot.version,
                supported: SNAPSHOT_VERSION,
            });
        }
        if snapshot.version == 0 {
            return Err(corrupt(String::from("format version 0 does not exist")));
        }
        let mut bus = Bus::new(config).map_err(SnapshotError::InvalidConfig)?;
        let index = validate(&snapshot)?;

        let clock = snapshot.clock;
        let shift = move |t: Instant| rebase(t, clock, now);

        // Decode every payload first: nothing is built if one fails.
        let mut decoded = Vec::with_capacity(snapshot.messages.len());
        for message in snapshot.messages {
            let MessageSnapshot { id, payload, .. } = message;
            let payload = codec
                .decode(payload)
                .map_err(|e| SnapshotError::Payload(format!("message {}: {e}", id.0)))?;
            decoded.push((
                MessageSnapshot {
                    id,
                    topic: message.topic,
                    topic_seq: message.topic_seq,
                    published_at: message.published_at,
                    causation: message.causation,
                    correlation: message.correlation,
                    depth: message.depth,
                    headers: message.headers,
                    expires_at: message.expires_at,
                    origin: message.origin,
                    payload: (),
                },
                payload,
            ));
        }

        // Topics (their bus index by snapshot position), then messages sharing their names.
        // Nothing is evicted until every message is in place (see `trim` below): they are all
        // idle now. Born before every message and route of the new bus.
        bus.now = now;
        let mut topic_indices: Vec<u32> = Vec::with_capacity(snapshot.topics.len());
        for topic in &snapshot.topics {
            let (index, entry) = bus.topics.intern(&topic.name, Birth::default());
            entry.seq = topic.seq;
            // Older than anything the new bus publishes: no second chance yet.
            entry.swept_seq = topic.seq;
            entry.counters = topic.counters;
            entry.latency = topic.latency.clone();
            topic_indices.push(index);
        }
        let mut envelopes = Vec::with_capacity(decoded.len());
        for (position, (meta, payload)) in decoded.into_iter().enumerate() {
            let topic = index
                .topic_of(position)
                .and_then(|topic| topic_indices.get(topic))
                .and_then(|&topic| Some((topic, bus.topics.get(topic)?)));
            let Some((topic, entry)) = topic else {
                return Err(corrupt(format!(
                    "message {} names unknown topic `{}`",
                    meta.id.0, meta.topic
                )));
            };
            let envelope = Envelope {
                id: meta.id,
                topic: Arc::clone(&entry.name),
                topic_seq: meta.topic_seq,
                published_at: shift(meta.published_at),
                causation: meta.causation,
                correlation: meta.correlation.map(Arc::from),
                depth: meta.depth,
                headers: meta
                    .headers
                    .into_iter()
                    .map(|(k, v)| (Box::from(k), Box::from(v)))
                    .collect(),
                expires_at: meta.expires_at.map(shift),
                origin: meta.origin.map(|o| {
                    Arc::new(Origin {
                        realm: Box::from(o.realm),
                        id: o.id,
                        seq: o.seq,
                        hops: o.hops,
                    })
                }),
                payload,
            };
            envelopes.push((topic, Arc::new(envelope)));
        }
        let messages = Messages {
            index: &index,
            envelopes,
        };
        let queued = |q: &QueuedSnapshot| -> Result<Queued<P>, SnapshotError> {
            let (topic, message) = messages.get(q.message)?;
            Ok(Queued {
                message,
                enqueued_at: shift(q.enqueued_at),
                first_failure_at: shift(q.first_failure_at),
                attempt: q.attempt,
                topic,
            })
        };

        let retain = bus.config.retain;
        for (topic, &bus_index) in snapshot.topics.iter().zip(&topic_indices) {
            let skip = topic.retained.len().saturating_sub(retain);
            let kept = topic.retained.get(skip..).unwrap_or_default();
            let mut retained = VecDeque::with_capacity(kept.len());
            for id in kept {
                retained.push_back(messages.get(*id)?.1);
            }
            if let Some(entry) = bus.topics.get_mut(bus_index) {
                entry.retained = retained;
            }
        }

        // Subscriptions in creation order.
        let mut mapping: Vec<(SubscriptionId, SubscriptionId)> =
            Vec::with_capacity(snapshot.subscriptions.len());
        let mut subscriptions = snapshot.subscriptions;
        crate::sort::sort_by_key(&mut subscriptions, |s| s.order);
        for snap in subscriptions {
            let pattern = Pattern::parse(&snap.pattern)
                .map_err(|e| corrupt(format!("subscription pattern `{}` {e}", snap.pattern)))?;
            // Plain loops rather than `collect` into a `Result`: one adapter less per element
            // type in the WebAssembly build.
            let mut queue = VecDeque::with_capacity(snap.queue.len());
            for q in &snap.queue {
                queue.push_back(queued(q)?);
            }
            // By due time; equal times keep their snapshot order (the position is in the key).
            let mut delayed = Vec::with_capacity(snap.delayed.len());
            for (position, (due, q)) in snap.delayed.iter().enumerate() {
                delayed.push((shift(*due), position, queued(q)?));
            }
            crate::sort::sort_by_key(&mut delayed, |(due, position, _)| (*due, *position));
            let delayed = delayed.into_iter().map(|(due, _, q)| (due, q)).collect();
            let latencies = match (snap.latency, snap.handler_latency) {
                (None, None) => None,
                (latency, handler) => Some(Box::new(Latencies {
                    latency: latency.unwrap_or_default(),
                    handler: handler.unwrap_or_default(),
                })),
            };
            let grouped = snap.group.is_some();
            let subscriber = Subscriber {
                pattern: Arc::new(pattern.clone()),
                profile: Box::new(Profile {
                    name: snap.name,
                    group: snap.group,
                    created_at: shift(snap.created_at),
                    retry: snap.retry,
                    timeout: snap.timeout,
                    max_deliveries: snap.max_deliveries,
                    owner: snap.owner,
                    weak: snap.weak,
                    stack: snap.stack,
                }),
                priority: snap.priority,
                order: snap.order,
                capacity: snap.capacity,
                overflow: snap.overflow,
                delivery: snap.delivery,
                ordering: snap.ordering,
                concurrency: snap.concurrency,
                has_filter: snap.has_filter,
                paused: snap.paused,
                flush_requested: snap.flush_requested,
                breaker: snap.breaker.map(|b| Box::new(b.restored(shift))),
                queue,
                delayed,
                retry_at: snap.retry_at.map(shift),
                batch_timer: None,
                in_flight: Vec::new(),
                // In-flight messages were written back to the queue by the snapshot.
                in_flight_messages: 0,
                accepted: snap.accepted,
                successes: snap.successes,
                ready_key: None,
                idle: snap.idle.shifted(shift),
                idle_flagged: snap.idle_flagged,
                counters: snap.counters,
                high_water: snap.high_water,
                latencies,
                breaker_opened: snap.breaker_opened,
            };
            let Some(k) = bus.subs.insert(subscriber) else {
                return Err(corrupt(String::from("too many subscriptions")));
            };
            if grouped {
                bus.grouped += 1;
            }
            bus.router.insert(
                &pattern,
                sid(k),
                Rank {
                    priority: snap.priority,
                    order: snap.order,
                },
            );
            // The crossing (if any) was reported before the snapshot; only the count is rebuilt.
            let _ = bus.leaks.listeners.on_subscribe(pattern.as_str());
            arm_timers(&mut bus, k);
            bus.refresh(k);
            mapping.push((snap.id, sid(k)));
        }

        // Dead letters, naming the new subscription ids: old id bits → position in `mapping`,
        // sorted for bisection.
        let mut renamed: Vec<(u64, usize)> = mapping
            .iter()
            .enumerate()
            .map(|(position, (old, _))| (old.to_bits(), position))
            .collect();
        crate::sort::sort_by_key(&mut renamed, |pair| *pair);
        let new_id = |old: SubscriptionId| -> SubscriptionId {
            renamed
                .binary_search_by(|(bits, _)| bits.cmp(&old.to_bits()))
                .ok()
                .and_then(|i| renamed.get(i))
                .and_then(|(_, position)| mapping.get(*position))
                .map_or(GONE_SUBSCRIPTION, |(_, new)| *new)
        };
        let mut entries = Vec::with_capacity(snapshot.dead_letters.len());
        for d in snapshot.dead_letters {
            entries.push(DeadLetter {
                id: d.id,
                message: messages.get(d.message)?.1,
                subscription: new_id(d.subscription),
                subscription_name: d.subscription_name,
                pattern: d.pattern,
                attempts: d.attempts,
                last_error: d.last_error,
                reason: d.reason,
                first_failure_at: shift(d.first_failure_at),
                dead_lettered_at: shift(d.dead_lettered_at),
            });
        }
        let capacity = bus.config.dead_letter_capacity;
        let (store, _evicted) = DeadLetterStore::from_parts(
            capacity,
            entries,
            snapshot.next_dead_letter,
            snapshot.counters.dead_letters_evicted,
        )
        .map_err(|reason| corrupt(String::from(reason)))?;
        bus.dead = store;

        bus.next_message = snapshot.last_message;
        bus.next_order = snapshot.next_order;
        bus.rng = snapshot.rng;
        // Inserted one by one rather than collected: `collect` into a B-tree sorts with its own
        // copy of the stable sort (kilobytes of WebAssembly). A repeated key keeps its last value
        // either way.
        bus.groups.clear();
        for (group, cursor) in snapshot.groups {
            bus.groups.insert(group, cursor);
        }
        let counters = snapshot.counters;
        bus.totals = counters.totals;
        bus.late_settles = counters.late_settles;
        bus.cascades_refused = counters.cascades_refused;
        bus.publishes_rejected = counters.publishes_rejected;
        bus.reclaimed = counters.reclaimed;
        bus.expired = counters.expired;
        bus.leaks.suspected = counters.leaks_suspected;
        bus.leaks.released.clear();
        bus.leaks.released.extend(snapshot.released_owners);
        // Everything is in place: idle topics past `Config::max_topics` go (counted), and so
        // do topics held only by their retained messages once the decoding table is gone.
        drop(messages);
        bus.topics.trim();
        bus.trace_dropped_retained();

        Ok(Restored {
            bus,
            subscriptions: mapping,
        })
    }
}

/// Moves `t` from a timeline where the bus clock read `clock` to one where it reads `now`.
fn rebase(t: Instant, clock: Instant, now: Instant) -> Instant {
    let (t, clock, now) = (t.as_micros(), clock.as_micros(), now.as_micros());
    if now >= clock {
        Instant::from_micros(t.saturating_add(now - clock))
    } else {
        Instant::from_micros(t.saturating_sub(clock - now))
    }
}

/// Arms the timers a restored subscription needs: retry waits, breaker cooldown, TTLs and
/// the idle watch. (Batch windows are armed by `refresh`.)
fn arm_timers<P>(bus: &mut Bus<P>, k: Key) {
    let idle_after = bus.config.idle_after;
    let Some(sub) = bus.subs.get(k) else { return };
    let mut timers: Vec<(Instant, Timer)> = Vec::new();
    timers.extend(sub.retry_at.map(|at| (at, Timer::Wake(k))));
    timers.extend(sub.delayed.iter().map(|(due, _)| (*due, Timer::Wake(k))));
    timers.extend(
        sub.breaker
            .as_ref()
            .and_then(|b| b.next_deadline())
            .map(|at| (at, Timer::Wake(k))),
    );
    let items = sub.queue.iter().chain(sub.delayed.iter().map(|(_, q)| q));
    timers.extend(items.filter_map(|q| {
        q.message
            .expires_at
            .map(|at| (at, Timer::Expiry(k, q.message.id.0)))
    }));
    if let Some(idle_after) = idle_after {
        timers.extend(sub.idle.deadline(idle_after).map(|at| (at, Timer::Idle(k))));
    }
    for (at, timer) in timers {
        bus.timers.arm(at, timer);
    }
}
