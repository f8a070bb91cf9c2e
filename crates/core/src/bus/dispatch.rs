//! Dispatch internals: keeping the ready index current, handing out deliveries, and
//! finishing them (success, filter, failure → retry or dead letter, timeout, expiry).

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cmp::Reverse;

use super::inflight::{key_of, token_of, InFlight};
use super::slab::Key;
use super::subscriber::{Queued, ReadyKey};
use super::timers::Timer;
use super::{sid, Bus};
use crate::breaker::Transition;
use crate::dead_letter::{DeadLetter, DeadLetterReason};
use crate::delivery::{Delivery, DeliveryItem};
use crate::id::{DeliveryToken, MessageId};
use crate::message::Envelope;
use crate::metrics::Counters;
use crate::subscription::{DeliveryStrategy, OrderingMode};
use crate::time::Instant;
use crate::trace::TraceKind;

/// Which counter an event bumps (on the subscription, its message's topic and the bus).
#[derive(Copy, Clone, Debug)]
pub(crate) enum Count {
    Delivered,
    Failed,
    Retried,
    DeadLettered,
    Dropped,
    Filtered,
}

impl Count {
    #[inline]
    fn bump(self, counters: &mut Counters) {
        let field = match self {
            Count::Delivered => &mut counters.delivered,
            Count::Failed => &mut counters.failed,
            Count::Retried => &mut counters.retried,
            Count::DeadLettered => &mut counters.dead_lettered,
            Count::Dropped => &mut counters.dropped,
            Count::Filtered => &mut counters.filtered,
        };
        *field = field.saturating_add(1);
    }
}

/// The trace `detail` of a dead-letter reason (its position in [`DeadLetterReason`]).
fn reason_index(reason: DeadLetterReason) -> u64 {
    match reason {
        DeadLetterReason::HandlerError => 0,
        DeadLetterReason::Timeout => 1,
        DeadLetterReason::Expired => 2,
        DeadLetterReason::Rejected => 3,
    }
}

impl<P> Bus<P> {
    /// Records a trace event; one branch when tracing is off.
    #[inline]
    pub(crate) fn emit(
        &mut self,
        kind: TraceKind,
        subscription: Option<Key>,
        message: Option<&Arc<Envelope<P>>>,
        detail: u64,
    ) {
        if self.trace.enabled() {
            self.trace.push(
                self.now,
                kind,
                subscription.map(sid),
                message.map(|m| m.id),
                message.map(|m| Arc::clone(&m.topic)),
                detail,
            );
        }
    }

    /// Moves the bus clock forward (never back).
    #[inline]
    pub(crate) fn observe(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
    }

    /// Bumps a counter on a subscription (if still present), the topic and the bus.
    #[inline]
    pub(crate) fn count(&mut self, key: Option<Key>, topic: u32, what: Count) {
        if let Some(sub) = key.and_then(|k| self.subs.get_mut(k)) {
            what.bump(&mut sub.counters);
        }
        if let Some(counters) = self.topics.counters_mut(topic) {
            what.bump(counters);
        }
        what.bump(&mut self.totals);
    }

    /// Re-evaluates whether subscription `key` may be handed a delivery now and updates the
    /// ready index, breaker state and batch timer accordingly.
    pub(crate) fn refresh(&mut self, key: Key) {
        self.bump_inline_epoch();
        let now = self.now;
        let Some(sub) = self.subs.get_mut(key) else {
            return;
        };
        let transition = sub.breaker.as_mut().and_then(|b| b.poll(now));
        sub.release_due_retries(now);
        let waiting = sub.retry_at.is_some() || !sub.delayed.is_empty();
        if sub.queue.is_empty() {
            sub.flush_requested = false;
        }
        let (head, wake) = sub.readiness(now);
        let desired = head.map(|head| ReadyKey {
            head: head.0,
            priority: Reverse(sub.priority),
            order: sub.order,
            index: key.index,
        });
        let refiled = sub.ready_key != desired;
        self.ready.refile(&mut sub.ready_key, desired);
        if let Some(at) = wake {
            if sub.batch_timer != Some(at) {
                sub.batch_timer = Some(at);
                self.timers.arm(at, Timer::Wake(key));
            }
        }
        self.waiting.set(key.index, waiting);
        if refiled {
            self.ready.compact(&self.subs);
        }
        if let Some(transition) = transition {
            self.on_breaker_transition(key, transition);
        }
    }

    /// Traces and counts a breaker state change, arming the cooldown timer on opening.
    pub(crate) fn on_breaker_transition(&mut self, key: Key, transition: Transition) {
        let kind = match transition {
            Transition::Opened => {
                let deadline = self.subs.get_mut(key).and_then(|sub| {
                    sub.breaker_opened = sub.breaker_opened.saturating_add(1);
                    sub.breaker.as_ref().and_then(|b| b.next_deadline())
                });
                if let Some(at) = deadline {
                    self.timers.arm(at, Timer::Wake(key));
                }
                TraceKind::CircuitOpened
            }
            Transition::HalfOpened => TraceKind::CircuitHalfOpen,
            Transition::Closed => TraceKind::CircuitClosed,
        };
        self.emit(kind, Some(key), None, 0);
    }

    /// Fires every timer due at the bus clock.
    pub(crate) fn fire_due(&mut self) {
        while let Some(timer) = self.timers.pop_due(self.now) {
            match timer {
                Timer::Wake(key) => {
                    if let Some(sub) = self.subs.get_mut(key) {
                        if matches!(sub.batch_timer, Some(at) if at <= self.now) {
                            sub.batch_timer = None;
                        }
                    }
                    self.refresh(key);
                }
                Timer::Deadline(_, bits) => self.time_out(DeliveryToken(bits)),
                Timer::Expiry(key, id) => self.expire(key, MessageId(id)),
                Timer::Idle(key) => self.check_idle(key),
                Timer::Trend => self.poll_trend(),
            }
        }
    }

    /// Dead-letters expired messages at the head of `key`'s queue; true if any were.
    fn expire_heads(&mut self, key: Key) -> bool {
        let now = self.now;
        let mut expired = Vec::new();
        if let Some(sub) = self.subs.get_mut(key) {
            while let Some(head) = sub.queue.front() {
                match head.message.expires_at {
                    Some(at) if at <= now => expired.extend(sub.queue.pop_front()),
                    _ => break,
                }
            }
        }
        let any = !expired.is_empty();
        for item in expired {
            self.expired_one(key, item);
        }
        any
    }

    /// A TTL timer fired: dead-letter message `id` if it is still waiting in `key`'s queue.
    fn expire(&mut self, key: Key, id: MessageId) {
        let now = self.now;
        let Some(sub) = self.subs.get_mut(key) else {
            return;
        };
        let expired = |q: &Queued<P>| {
            q.message.id == id && matches!(q.message.expires_at, Some(at) if at <= now)
        };
        let item = if let Some(pos) = sub.queue.iter().position(expired) {
            sub.queue.remove(pos)
        } else if let Some(pos) = sub.delayed.iter().position(|(_, q)| expired(q)) {
            Some(sub.delayed.remove(pos).1)
        } else {
            None
        };
        if let Some(item) = item {
            self.expired_one(key, item);
            self.refresh(key);
        }
    }

    fn expired_one(&mut self, key: Key, item: Queued<P>) {
        self.expired = self.expired.saturating_add(1);
        let first_failure = self.now;
        self.dead_letter(key, item, DeadLetterReason::Expired, None, first_failure);
    }

    /// Hands out the next delivery, or `None` when no subscription is ready.
    pub(crate) fn next_delivery(&mut self) -> Option<Delivery<P>> {
        loop {
            let ready = self.ready.first(&self.subs)?;
            let key = self.subs.key_at(ready.index)?;
            if let Some(sub) = self.subs.get_mut(key) {
                self.ready.pop_first(&mut sub.ready_key);
            }
            if self.expire_heads(key) {
                self.refresh(key);
                continue;
            }
            let delivery = self.take_delivery(key);
            self.ready.compact(&self.subs);
            return delivery;
        }
    }

    fn take_delivery(&mut self, key: Key) -> Option<Delivery<P>> {
        let now = self.now;
        let sub = self.subs.get_mut(key)?;
        let count = sub.batch_len();
        if count == 0 {
            self.refresh(key);
            return None;
        }
        let mut items = self.spare_items.pop().unwrap_or_default();
        if count == 1 {
            items.extend(sub.queue.pop_front());
        } else {
            items.extend(sub.queue.drain(..count));
        }
        if let Some(breaker) = sub.breaker.as_mut() {
            breaker.on_start();
        }
        let batched = matches!(sub.delivery, DeliveryStrategy::Batched { .. });
        let has_filter = sub.has_filter;
        let delivery_items: Vec<DeliveryItem<P>> = items
            .iter()
            .map(|q| DeliveryItem {
                message: Arc::clone(&q.message),
                attempt: q.attempt,
            })
            .collect();
        let carried = items.len();
        let position = sub.in_flight.len();
        let slot = self.in_flight.insert(InFlight {
            subscription: key,
            items,
            filtered: Vec::new(),
            started_at: now,
            pending: false,
            position,
        })?;
        let token = token_of(slot);
        if let Some(sub) = self.subs.get_mut(key) {
            sub.in_flight.push(token.0);
            sub.in_flight_messages += carried;
            sub.idle.on_received(now);
            sub.idle_flagged = false;
        }
        self.refresh(key);
        if self.trace.enabled() {
            for item in &delivery_items {
                self.emit(
                    TraceKind::Delivering,
                    Some(key),
                    Some(&item.message),
                    u64::from(item.attempt),
                );
            }
            if batched {
                self.emit(
                    TraceKind::BatchFlushed,
                    Some(key),
                    None,
                    delivery_items.len() as u64,
                );
            }
        }
        Some(Delivery {
            token,
            subscription: sid(key),
            has_filter,
            items: delivery_items,
        })
    }

    /// Keeps an emptied item buffer for the next delivery (bounded pool).
    fn recycle(&mut self, mut items: Vec<Queued<P>>) {
        if self.spare_items.len() < 64 && items.capacity() <= 64 {
            items.clear();
            self.spare_items.push(items);
        }
    }

    /// Removes an outstanding delivery from the table and from its subscription.
    pub(crate) fn take_in_flight(&mut self, token: DeliveryToken) -> Option<InFlight<P>> {
        let entry = self.in_flight.remove(key_of(token))?;
        self.bump_inline_epoch();
        if let Some(sub) = self.subs.get_mut(entry.subscription) {
            // Where it was put, else (never expected) found by a walk.
            let at = if sub.in_flight.get(entry.position) == Some(&token.0) {
                Some(entry.position)
            } else {
                sub.in_flight.iter().position(|t| *t == token.0)
            };
            if let Some(pos) = at {
                sub.in_flight.swap_remove(pos);
                // The last token took its place.
                if let Some(moved) = sub.in_flight.get(pos) {
                    if let Some(other) = self.in_flight.get_mut(key_of(DeliveryToken(*moved))) {
                        other.position = pos;
                    }
                }
                sub.in_flight_messages = sub.in_flight_messages.saturating_sub(entry.items.len());
            }
        }
        Some(entry)
    }

    /// The handler succeeded (items the filter rejected count as filtered).
    pub(crate) fn finish_success(&mut self, entry: InFlight<P>) {
        let now = self.now;
        let InFlight {
            subscription: key,
            items,
            filtered,
            started_at,
            ..
        } = entry;
        let handler_micros = now.saturating_duration_since(started_at).as_micros() as u64;
        let Some(sub) = self.subs.get_mut(key) else {
            self.recycle(items);
            return;
        };
        // One pass with the subscription, topic table and totals borrowed side by side: this
        // is the hot path of every delivery.
        let mut delivered = 0u32;
        let mut filtered_back = 0u32;
        for (index, item) in items.iter().enumerate() {
            let topic = self.topics.get_mut(item.topic);
            let kind = if filtered.contains(&index) {
                filtered_back += 1;
                Count::Filtered.bump(&mut sub.counters);
                Count::Filtered.bump(&mut self.totals);
                if let Some(topic) = topic {
                    Count::Filtered.bump(&mut topic.counters);
                }
                TraceKind::Filtered
            } else {
                delivered += 1;
                let latency = now
                    .saturating_duration_since(item.message.published_at)
                    .as_micros() as u64;
                Count::Delivered.bump(&mut sub.counters);
                Count::Delivered.bump(&mut self.totals);
                sub.latencies_mut().latency.record(latency);
                if let Some(topic) = topic {
                    Count::Delivered.bump(&mut topic.counters);
                    topic
                        .latency
                        .get_or_insert_with(Default::default)
                        .record(latency);
                }
                TraceKind::Delivered
            };
            if self.trace.enabled() {
                let detail = if kind == TraceKind::Delivered {
                    handler_micros
                } else {
                    0
                };
                let message = &item.message;
                self.trace.push(
                    now,
                    kind,
                    Some(sid(key)),
                    Some(message.id),
                    Some(Arc::clone(&message.topic)),
                    detail,
                );
            }
        }
        sub.latencies_mut().handler.record(handler_micros);
        sub.successes = sub.successes.saturating_add(delivered);
        sub.accepted = sub.accepted.saturating_sub(filtered_back);
        let transition = sub.breaker.as_mut().and_then(|b| b.on_success());
        let finished = matches!(sub.profile.max_deliveries, Some(max) if sub.successes >= max);
        self.recycle(items);
        if let Some(transition) = transition {
            self.on_breaker_transition(key, transition);
        }
        if finished {
            self.remove_subscription(key, 2);
        } else {
            self.refresh(key);
        }
    }

    /// The handler failed (or timed out): each item follows the retry policy.
    pub(crate) fn finish_failure(
        &mut self,
        entry: InFlight<P>,
        error: String,
        exhausted: DeadLetterReason,
    ) {
        let now = self.now;
        let InFlight {
            subscription: key,
            mut items,
            filtered,
            ..
        } = entry;
        let Some(sub) = self.subs.get(key) else {
            return;
        };
        let retry = sub.profile.retry;
        let ordering = sub.ordering;
        let mut strict_retries = Vec::new();
        let mut latest_due = None;
        for (index, mut item) in items.drain(..).enumerate() {
            if filtered.contains(&index) {
                self.count(Some(key), item.topic, Count::Filtered);
                self.emit(TraceKind::Filtered, Some(key), Some(&item.message), 0);
                if let Some(sub) = self.subs.get_mut(key) {
                    sub.accepted = sub.accepted.saturating_sub(1);
                }
                continue;
            }
            self.count(Some(key), item.topic, Count::Failed);
            self.emit(
                TraceKind::Failed,
                Some(key),
                Some(&item.message),
                u64::from(item.attempt),
            );
            if item.attempt <= 1 {
                item.first_failure_at = now;
            }
            if exhausted != DeadLetterReason::Rejected && retry.allows_retry_after(item.attempt) {
                let delay = retry.delay_after(item.attempt, &mut self.rng);
                let due = now.saturating_add(delay);
                self.count(Some(key), item.topic, Count::Retried);
                self.emit(
                    TraceKind::RetryScheduled,
                    Some(key),
                    Some(&item.message),
                    delay.as_micros() as u64,
                );
                item.attempt = item.attempt.saturating_add(1);
                latest_due = latest_due.max(Some(due));
                match ordering {
                    OrderingMode::Strict => strict_retries.push(item),
                    OrderingMode::Relaxed => {
                        if let Some(sub) = self.subs.get_mut(key) {
                            sub.delay(due, item);
                        }
                        self.timers.arm(due, Timer::Wake(key));
                    }
                }
            } else {
                let first_failure = item.first_failure_at;
                self.dead_letter(key, item, exhausted, Some(error.clone()), first_failure);
            }
        }
        self.recycle(items);
        let Some(sub) = self.subs.get_mut(key) else {
            return;
        };
        if !strict_retries.is_empty() {
            for item in strict_retries.into_iter().rev() {
                sub.queue.push_front(item);
            }
            if let Some(due) = latest_due {
                sub.retry_at = sub.retry_at.max(Some(due));
                self.timers.arm(due, Timer::Wake(key));
            }
        }
        let transition = match exhausted {
            // A rejection is a verdict on the message, not a fault of the handler.
            DeadLetterReason::Rejected => sub.breaker.as_mut().and_then(|b| b.on_success()),
            _ => sub.breaker.as_mut().and_then(|b| b.on_failure(now)),
        };
        if let Some(transition) = transition {
            self.on_breaker_transition(key, transition);
        }
        self.refresh(key);
    }

    /// A pending delivery's timer fired: if it is still pending and past its deadline, it
    /// fails with reason `timeout`.
    fn time_out(&mut self, token: DeliveryToken) {
        let now = self.now;
        let Some(entry) = self.in_flight.get(key_of(token)) else {
            return;
        };
        let Some(timeout) = self
            .subs
            .get(entry.subscription)
            .and_then(|s| s.profile.timeout)
        else {
            return;
        };
        if !entry.pending || entry.started_at.saturating_add(timeout) > now {
            return;
        }
        let Some(entry) = self.take_in_flight(token) else {
            return;
        };
        self.timed_out.insert(token);
        let key = entry.subscription;
        if let Some(first) = entry.items.first() {
            let message = Arc::clone(&first.message);
            self.emit(
                TraceKind::TimedOut,
                Some(key),
                Some(&message),
                timeout.as_micros() as u64,
            );
        }
        self.finish_failure(entry, String::from("timeout"), DeadLetterReason::Timeout);
    }

    /// Moves one (message, subscription) pair to the dead-letter store.
    pub(crate) fn dead_letter(
        &mut self,
        key: Key,
        item: Queued<P>,
        reason: DeadLetterReason,
        error: Option<String>,
        first_failure_at: Instant,
    ) {
        self.count(Some(key), item.topic, Count::DeadLettered);
        self.emit(
            TraceKind::DeadLettered,
            Some(key),
            Some(&item.message),
            reason_index(reason),
        );
        let (name, pattern) = match self.subs.get_mut(key) {
            Some(sub) => {
                sub.accepted = sub.accepted.saturating_sub(1);
                (sub.profile.name.clone(), String::from(sub.pattern.as_str()))
            }
            None => (None, String::new()),
        };
        let id = self.dead.next_id();
        let attempts = item.attempt;
        let evicted = self.dead.push(DeadLetter {
            id,
            message: item.message,
            subscription: sid(key),
            subscription_name: name,
            pattern,
            attempts,
            last_error: error,
            reason,
            first_failure_at,
            dead_lettered_at: self.now,
        });
        if let Some(evicted) = evicted {
            self.emit_dead_letter_evicted(&evicted);
        }
    }

    /// Traces a dead letter the full store dropped (counted by the store itself).
    pub(crate) fn emit_dead_letter_evicted(&mut self, letter: &DeadLetter<P>) {
        if self.trace.enabled() {
            self.trace.push(
                self.now,
                TraceKind::DeadLetterEvicted,
                Some(letter.subscription),
                Some(letter.message.id),
                Some(Arc::clone(&letter.message.topic)),
                letter.id.0,
            );
        }
    }
}
