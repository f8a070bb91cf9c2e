//! The topic table: per-topic sequence numbers, counters, latency and retained messages,
//! bounded by [`Config::max_topics`](crate::Config::max_topics).
//!
//! Every topic published to gets an entry, found by name on each publish and named by a dense
//! `u32` index (its [`TopicHandle`](super::TopicHandle)) by queued items and inline routes. An
//! application that publishes on ever new topics (`order.<uuid>.created`) would grow the table
//! forever, so entries that nothing needs any more are evicted.
//!
//! # When a topic may be evicted
//!
//! Only when nothing but the table and its own retained messages refers to it: no message of
//! it is queued, delayed, in flight or dead-lettered anywhere. Every such message holds its
//! [`Envelope`], whose `topic` is a clone of the entry's name (each place that builds an
//! envelope takes the name from the entry), so the entry is evictable exactly when its name
//! has no other owner than the table itself (the entry and the name index: [`TABLE_OWNERS`])
//! and one per retained message, and no retained envelope is shared. Other owners only make
//! the test more careful: trace events (bounded by the trace ring) and envelopes the host
//! still holds keep a topic.
//!
//! Retained messages (`Config::retain`) do not pin their topic: an app that retains the last
//! message of every `order.<uuid>` topic would otherwise grow without bound, which is what
//! `max_topics` promises to prevent. Retention is a replay cache, so, as in any bounded
//! cache, the least recently published topics go first, taking their retained messages with
//! them: each is counted (`BusMetrics::retained_evicted`) and traced `dropped` with no
//! subscription and detail [`DROPPED_RETAINED`]. A later subscriber's `replay` no longer sees
//! them. They were never owed to a subscription, so conservation is unaffected.
//!
//! The one reference without a name is a batch of inline publishes the host has delivered but
//! not recorded yet. Eviction happens only when an engine call creates a topic, and a host
//! records its batch before any other engine call (see [`super::inline`]), so no batch is ever
//! pending then.
//!
//! # Which one: a clock sweep
//!
//! Past the bound, a new topic evicts the least recently used idle one, approximately (the
//! *clock* or second-chance algorithm): a topic published again since the hand last passed it
//! has its "used" bit set; a hand walks the slots, clearing set bits and evicting the first idle
//! entry whose bit was clear. The bit costs the publish path nothing: it is the topic's
//! sequence number having moved past the one the hand saw (`seq > swept_seq`). A new entry
//! starts without it, its first publish included (it takes the slot just behind the hand), so
//! a topic used once (`order.<uuid>.created`) goes when the hand next comes round, before any
//! topic used since, and a stream of one-off topics never pushes out the ones in use. Clearing
//! a bit is paid for by the publish that set it, and each sweep skips at most [`SWEEP_SKIPS`] busy or
//! vacant slots, so the cost is amortised O(1) per publish and nothing is allocated. When more
//! than that many busy topics block the hand, the table briefly holds more than the bound, and
//! the next new topics evict more than one until it is back within it. Busy topics are never
//! evicted, so the bound counts idle topics (retention alone does not make a topic busy).
//!
//! # What eviction forgets, and what it keeps
//!
//! The topic's own counters, latency histogram and sequence number go. The bus totals keep
//! everything (they are counted separately), and the eviction is counted
//! (`BusMetrics::topics_evicted`). A topic published again after its eviction starts a new
//! lifetime: a new entry whose sequence numbers restart at 1.
//!
//! # Stale handles
//!
//! A slot freed by an eviction is reused by the next new topic, so a handle held across an
//! eviction could name another topic. Each entry remembers its [`Birth`]: a route computed
//! before the entry existed carries an older inline epoch, so it is refused as naming an
//! unknown topic (see `Bus::routed_topic`). A host that caches routes (the JavaScript
//! glue) sees the inline epoch move when an evicted topic had a route handed out under the
//! current epoch; otherwise every cached route to it is stale already, and the epoch stays,
//! so the routes of the topics still in use stay cached.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::hash::HashMap;

use super::inline::InlineRoute;
use super::Bus;
use crate::message::Envelope;
use crate::metrics::{Counters, Histogram};
use crate::trace::TraceKind;

/// The `dropped` trace detail of a retained message discarded with its evicted topic (0, 1
/// and 2 are the overflow ends and an unsubscribe).
pub(crate) const DROPPED_RETAINED: u64 = 3;

/// Owners of an idle topic's name: the entry and the key of the name index.
pub(crate) const TABLE_OWNERS: usize = 2;

/// Most busy or vacant slots one sweep passes before giving up (the table then holds more
/// than the bound until a later sweep evicts enough).
pub(crate) const SWEEP_SKIPS: usize = 32;

/// When a topic entry was created, so routes to an earlier occupant of its slot are refused.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Birth {
    /// [`Bus::inline_epoch`] once the entry existed: its routes carry this epoch or a later one.
    pub(crate) epoch: u64,
}

/// One topic that has been published to (or routed inline).
#[derive(Debug)]
pub(crate) struct TopicEntry<P> {
    pub(crate) name: Arc<str>,
    /// Last per-topic sequence number handed out in this entry's lifetime.
    pub(crate) seq: u64,
    pub(crate) counters: Counters,
    pub(crate) latency: Option<Histogram>,
    /// The last `Config::retain` messages, oldest first.
    pub(crate) retained: VecDeque<Arc<Envelope<P>>>,
    /// `seq` when the eviction hand last passed, or 1 for a new entry (its first publish is
    /// not a reuse): published since (`seq > swept_seq`), the topic gets a second chance.
    pub(crate) swept_seq: u64,
    pub(crate) born: Birth,
    /// The inline epoch of the last route handed out for it, if any.
    pub(crate) routed_epoch: Option<u64>,
}

impl<P> TopicEntry<P> {
    fn new(name: Arc<str>, born: Birth) -> Self {
        TopicEntry {
            name,
            seq: 0,
            counters: Counters::default(),
            latency: None,
            retained: VecDeque::new(),
            swept_seq: 1,
            born,
            routed_epoch: None,
        }
    }

    /// Published since the eviction hand last passed (its second chance).
    fn used_since_sweep(&self) -> bool {
        self.seq > self.swept_seq
    }

    /// Nothing but the table and the topic's own retained messages refer to it: idle, or held
    /// only by retention (each retained envelope names the topic once, and nothing else holds
    /// the envelope: it is not queued, in flight or dead-lettered anywhere).
    pub(crate) fn is_evictable(&self) -> bool {
        Arc::strong_count(&self.name) == TABLE_OWNERS + self.retained.len()
            && self.retained.iter().all(|m| Arc::strong_count(m) == 1)
    }
}

/// Topics by name, stored densely so queued items can name theirs with a `u32`.
#[derive(Debug)]
pub(crate) struct TopicTable<P> {
    /// Entries by index; `None` for a slot freed by an eviction (listed in `free`).
    slots: Vec<Option<TopicEntry<P>>>,
    /// Name → index into `slots`; hashed, because it is looked up on every publish.
    by_name: HashMap<Arc<str>, u32>,
    /// Vacant slots, reused before the table grows.
    free: Vec<u32>,
    /// The clock hand: the next slot the sweep looks at.
    hand: usize,
    /// Idle entries kept at most (`Config::max_topics`, at least 1).
    limit: usize,
    /// Entries evicted so far.
    evicted: u64,
    /// Retained messages that left with their evicted topic, so far.
    retained_evicted: u64,
    /// Retained messages of topics evicted since the bus last traced them.
    dropped_retained: Vec<Arc<Envelope<P>>>,
}

impl<P> TopicTable<P> {
    /// An empty table keeping at most `limit` idle topics.
    pub(crate) fn new(limit: usize) -> Self {
        TopicTable {
            slots: Vec::new(),
            by_name: HashMap::default(),
            free: Vec::new(),
            hand: 0,
            limit: limit.max(1),
            evicted: 0,
            retained_evicted: 0,
            dropped_retained: Vec::new(),
        }
    }

    /// Topics in the table.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Entries evicted so far.
    pub(crate) fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Retained messages discarded with their evicted topic so far.
    pub(crate) fn retained_evicted(&self) -> u64 {
        self.retained_evicted
    }

    /// The retained messages discarded by evictions since the last call (to trace them).
    pub(crate) fn take_dropped_retained(&mut self) -> Vec<Arc<Envelope<P>>> {
        core::mem::take(&mut self.dropped_retained)
    }

    /// The index of `topic`, if it is in the table.
    #[inline]
    pub(crate) fn find(&self, topic: &str) -> Option<u32> {
        self.by_name.get(topic).copied()
    }

    #[inline]
    pub(crate) fn get(&self, index: u32) -> Option<&TopicEntry<P>> {
        self.slots.get(index as usize)?.as_ref()
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, index: u32) -> Option<&mut TopicEntry<P>> {
        self.slots.get_mut(index as usize)?.as_mut()
    }

    #[inline]
    pub(crate) fn counters_mut(&mut self, index: u32) -> Option<&mut Counters> {
        self.get_mut(index).map(|e| &mut e.counters)
    }

    /// Every entry with its index, in index order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &TopicEntry<P>)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(index, slot)| Some((index as u32, slot.as_ref()?)))
    }

    /// The index and entry of `topic`, creating the entry (born `born`) on first use. Never
    /// evicts: a caller that creates topics calls [`TopicTable::make_room`] first.
    pub(crate) fn intern(&mut self, topic: &str, born: Birth) -> (u32, &mut TopicEntry<P>) {
        let index = match self.by_name.get(topic) {
            Some(index) => *index,
            None => self.create(topic, born),
        };
        // Indices in `by_name` name occupied slots (`create` just filled this one); the
        // fallbacks only keep a broken invariant from panicking.
        let position = index as usize;
        if position >= self.slots.len() {
            self.slots.resize_with(position + 1, || None);
        }
        let entry = self.slots[position].get_or_insert_with(|| TopicEntry::new(topic.into(), born));
        (index, entry)
    }

    fn create(&mut self, topic: &str, born: Birth) -> u32 {
        let name: Arc<str> = Arc::from(topic);
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                self.slots.push(None);
                (self.slots.len() - 1) as u32
            }
        };
        if let Some(slot) = self.slots.get_mut(index as usize) {
            *slot = Some(TopicEntry::new(Arc::clone(&name), born));
        }
        self.by_name.insert(name, index);
        index
    }

    /// Evicts idle topics until one more fits within the bound (see the [module docs](self)).
    /// Returns whether an evicted topic had a route handed out under `live_epoch`, the current
    /// inline epoch: the caller must then move the epoch so that no host uses that route.
    pub(crate) fn make_room(&mut self, live_epoch: u64) -> bool {
        let mut routed = false;
        let mut skips = 0;
        while self.by_name.len() >= self.limit && skips < SWEEP_SKIPS && !self.slots.is_empty() {
            if self.hand >= self.slots.len() {
                self.hand = 0;
            }
            let index = self.hand;
            self.hand += 1;
            match self.slots.get_mut(index).and_then(Option::as_mut) {
                Some(entry) if entry.used_since_sweep() => entry.swept_seq = entry.seq,
                Some(entry) if entry.is_evictable() => {
                    routed |= entry.routed_epoch == Some(live_epoch);
                    self.evict(index);
                }
                _ => skips += 1,
            }
        }
        routed
    }

    /// Evicts idle topics, in index order, until the table is within its bound (after a
    /// restore, which creates every topic of the snapshot first). Returns how many went.
    #[cfg(feature = "snapshot")]
    pub(crate) fn trim(&mut self) -> usize {
        let mut evicted = 0;
        for index in 0..self.slots.len() {
            if self.by_name.len() <= self.limit {
                break;
            }
            if self.get(index as u32).is_some_and(TopicEntry::is_evictable) {
                self.evict(index);
                evicted += 1;
            }
        }
        evicted
    }

    fn evict(&mut self, index: usize) {
        let Some(entry) = self.slots.get_mut(index).and_then(Option::take) else {
            return;
        };
        self.by_name.remove(&*entry.name);
        self.free.push(index as u32);
        self.evicted = self.evicted.saturating_add(1);
        if !entry.retained.is_empty() {
            self.retained_evicted = self
                .retained_evicted
                .saturating_add(entry.retained.len() as u64);
            self.dropped_retained.extend(entry.retained);
        }
    }
}

impl<P> Bus<P> {
    /// Evicts idle topics past the bound so that a new topic fits, moving the inline epoch if
    /// a host may hold a current route to an evicted one, and returns the new topic's birth.
    /// The caller creates the topic next (with [`TopicTable::intern`]).
    pub(crate) fn make_topic_room(&mut self) -> Birth {
        if self.topics.make_room(self.inline_epoch()) {
            self.bump_inline_epoch();
        }
        self.trace_dropped_retained();
        Birth {
            epoch: self.inline_epoch(),
        }
    }

    /// Traces the retained messages that left with evicted topics: `dropped`, no
    /// subscription, detail 3. They were kept for replay, not routed to anyone, so they are
    /// outside the conservation sum; `BusMetrics::retained_evicted` counts them.
    pub(crate) fn trace_dropped_retained(&mut self) {
        let dropped = self.topics.take_dropped_retained();
        for message in &dropped {
            self.emit(TraceKind::Dropped, None, Some(message), DROPPED_RETAINED);
        }
    }

    /// The index and entry of `topic`, created on first use (after making room).
    pub(crate) fn intern_topic(&mut self, topic: &str) -> (u32, &mut TopicEntry<P>) {
        let born = match self.topics.find(topic) {
            Some(_) => Birth::default(),
            None => self.make_topic_room(),
        };
        self.topics.intern(topic, born)
    }

    /// The entry `route` was computed for: `None` if its handle names no topic, or a topic
    /// created in the slot after the route was computed (the route's topic was evicted).
    ///
    /// A route of the current epoch always names its topic (evicting a topic whose route is
    /// current moves the epoch), so only an older one needs the birth check.
    pub(crate) fn routed_topic(&self, route: &InlineRoute) -> Option<&TopicEntry<P>> {
        let entry = self.topics.get(route.topic.0)?;
        (route.epoch == self.inline_epoch() || route.epoch >= entry.born.epoch).then_some(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(limit: usize) -> TopicTable<()> {
        TopicTable::new(limit)
    }

    /// Publishes on `topic` the way the bus does: room first when it is new.
    fn add(table: &mut TopicTable<()>, topic: &str) -> u32 {
        if table.find(topic).is_none() {
            table.make_room(0);
        }
        let (index, entry) = table.intern(topic, Birth::default());
        entry.seq += 1;
        index
    }

    #[test]
    fn a_topic_used_since_the_hand_passed_gets_a_second_chance() {
        let mut t = table(3);
        for topic in ["a", "b", "c"] {
            add(&mut t, topic);
        }
        // Each was published once: the hand takes the first it meets.
        add(&mut t, "d");
        assert!(t.find("a").is_none());
        // `b` is published again, `c` is not: `c` goes next.
        add(&mut t, "b");
        add(&mut t, "e");
        assert!(t.find("b").is_some() && t.find("c").is_none());
        assert_eq!((t.len(), t.evicted()), (3, 2));
    }

    #[test]
    fn an_evicted_slot_is_reused_by_the_next_new_topic() {
        let mut t = table(2);
        add(&mut t, "a");
        add(&mut t, "b");
        add(&mut t, "c");
        assert!(t.find("a").is_none() && t.find("c").is_some());
        assert_eq!(
            t.slots.len(),
            2,
            "the slot freed by the eviction was reused"
        );
        assert_eq!(t.by_name.len(), 2);
        assert!(t.free.is_empty());
    }

    #[test]
    fn a_topic_whose_name_has_another_owner_is_never_evicted() {
        let mut t = table(1);
        add(&mut t, "held");
        let held = t.get(0).map(|e| Arc::clone(&e.name));
        for n in 0..100 {
            add(&mut t, &alloc::format!("t{n}"));
        }
        assert!(t.find("held").is_some());
        assert!(t.len() <= 2, "one busy topic and the one just created");
        drop(held);
        add(&mut t, "x");
        add(&mut t, "y");
        assert!(
            t.find("held").is_none(),
            "idle again, evicted like any other"
        );
    }

    #[test]
    fn a_sweep_passes_a_bounded_number_of_busy_topics() {
        let mut t = table(4);
        let mut held = Vec::new();
        for n in 0..(SWEEP_SKIPS * 2) {
            let index = t.intern(&alloc::format!("busy{n}"), Birth::default()).0;
            held.extend(t.get(index).map(|e| Arc::clone(&e.name)));
        }
        let before = t.hand;
        assert!(!t.make_room(0));
        // Two passes at most: one clearing the second chances, one skipping busy topics.
        assert!(t.hand - before <= SWEEP_SKIPS * 3);
        assert_eq!(t.evicted(), 0);
    }

    #[test]
    fn making_room_reports_an_evicted_route_of_the_live_epoch() {
        let mut t = table(1);
        let index = add(&mut t, "a");
        if let Some(e) = t.get_mut(index) {
            e.routed_epoch = Some(7);
        }
        assert!(t.make_room(7));
        let index = add(&mut t, "b");
        if let Some(e) = t.get_mut(index) {
            e.routed_epoch = Some(6);
        }
        assert!(
            !t.make_room(7),
            "a route of an older epoch is stale already"
        );
    }

    #[cfg(feature = "snapshot")]
    #[test]
    fn trim_evicts_idle_topics_down_to_the_bound() {
        let mut t = table(2);
        for n in 0..5 {
            t.intern(&alloc::format!("t{n}"), Birth::default());
        }
        assert_eq!(t.len(), 5);
        assert_eq!(t.trim(), 3);
        assert_eq!(t.len(), 2);
        assert_eq!(t.free.len(), 3);
    }
}
