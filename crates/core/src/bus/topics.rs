//! The topic table: per-topic sequence numbers, counters, latency and retained messages.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;

use hashbrown::HashMap;

use crate::message::Envelope;
use crate::metrics::{Counters, Histogram};

/// One topic that has been published to.
#[derive(Debug)]
pub(crate) struct TopicEntry<P> {
    pub(crate) name: Arc<str>,
    /// Last per-topic sequence number handed out.
    pub(crate) seq: u64,
    pub(crate) counters: Counters,
    pub(crate) latency: Option<Histogram>,
    /// The last `Config::retain` messages, oldest first.
    pub(crate) retained: VecDeque<Arc<Envelope<P>>>,
}

/// Topics by name, stored densely so queued items can name theirs with a `u32`.
#[derive(Debug)]
pub(crate) struct TopicTable<P> {
    pub(crate) entries: Vec<TopicEntry<P>>,
    /// Name → index into `entries`; hashed, because `intern` runs on every publish.
    pub(crate) by_name: HashMap<Arc<str>, u32>,
}

impl<P> Default for TopicTable<P> {
    fn default() -> Self {
        TopicTable {
            entries: Vec::new(),
            by_name: HashMap::default(),
        }
    }
}

impl<P> TopicTable<P> {
    /// The index and entry of `topic`, creating the entry on first use.
    pub(crate) fn intern(&mut self, topic: &str) -> (u32, &mut TopicEntry<P>) {
        let index = match self.by_name.get(topic) {
            Some(index) => *index,
            None => self.create(topic),
        };
        // Indices in `by_name` always point into `entries`; `create` just pushed this one.
        let last = self.entries.len().saturating_sub(1);
        let slot = (index as usize).min(last);
        (slot as u32, &mut self.entries[slot])
    }

    fn create(&mut self, topic: &str) -> u32 {
        let index = self.entries.len() as u32;
        let name: Arc<str> = Arc::from(topic);
        self.entries.push(TopicEntry {
            name: Arc::clone(&name),
            seq: 0,
            counters: Counters::default(),
            latency: None,
            retained: VecDeque::new(),
        });
        self.by_name.insert(name, index);
        index
    }

    #[inline]
    pub(crate) fn counters_mut(&mut self, index: u32) -> Option<&mut Counters> {
        self.entries
            .get_mut(index as usize)
            .map(|e| &mut e.counters)
    }
}
