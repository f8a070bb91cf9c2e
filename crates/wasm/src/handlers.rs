//! The JS side of each subscription: its handler, filter and abort hook, keyed by
//! `SubscriptionId`. The engine only knows ids; the functions live here.
//!
//! A subscription with an `owner` is held through its owner (see [`crate::owners`]): the
//! table keeps only weak references to its functions, so a handler that uses `this` or
//! closes over its owner does not keep the owner alive.

use crate::prelude::*;
use js_sys::Function;
use switchyard_core::SubscriptionId;
use wasm_bindgen::prelude::*;

/// Removes an `abort` listener from an `AbortSignal` when the subscription goes away.
pub struct AbortHook {
    /// The signal.
    pub signal: EventTarget,
    /// The listener registered on it.
    pub listener: Closure<dyn FnMut()>,
}

impl Drop for AbortHook {
    fn drop(&mut self) {
        let _ = self
            .signal
            .remove_event_listener("abort", self.listener.as_ref().unchecked_ref());
    }
}

#[wasm_bindgen]
extern "C" {
    /// Anything with `addEventListener` / `removeEventListener` (an `AbortSignal`, in practice).
    pub type EventTarget;
    #[wasm_bindgen(method, catch, js_name = addEventListener)]
    pub fn add_event_listener(
        this: &EventTarget,
        kind: &str,
        listener: &Function,
    ) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch, js_name = removeEventListener)]
    pub fn remove_event_listener(
        this: &EventTarget,
        kind: &str,
        listener: &Function,
    ) -> Result<(), JsValue>;
}

/// A subscription's handler and filter, held strongly, or through their owner.
pub enum Functions {
    /// Held by the table (no owner).
    Strong {
        /// The handler.
        handler: Function,
        /// The filter, if any.
        filter: Option<Function>,
    },
    /// Held by the owner; the table keeps weak references (see [`crate::owners::OwnedFunctions`]).
    Owned(crate::owners::OwnedFunctions),
}

impl Functions {
    /// The handler and filter, or `None` once the owner (and with it the handler) was
    /// collected and the release is not processed yet.
    pub fn get(&self) -> Option<(Function, Option<Function>)> {
        match self {
            Functions::Strong { handler, filter } => Some((handler.clone(), filter.clone())),
            Functions::Owned(owned) => owned.get(),
        }
    }

    /// The owner's number, for functions held by an owner.
    pub fn owner_id(&self) -> Option<switchyard_core::OwnerId> {
        match self {
            Functions::Strong { .. } => None,
            Functions::Owned(owned) => Some(owned.owner_id()),
        }
    }

    /// What the glue's inline route caches for this handler: the function itself when the
    /// table holds it strongly; for an owned subscription the `WeakRef` to it (a cached
    /// function would keep its owner alive; the glue dereferences it once per task, see
    /// `fastpath.js`), or `None` once the owner was collected (the slow path then ends the
    /// subscription, see [`crate::owners`]).
    pub fn inline_handler(&self) -> Option<JsValue> {
        match self {
            Functions::Strong { handler, .. } => Some(handler.clone().into()),
            Functions::Owned(owned) => owned.handler_ref(),
        }
    }
}

/// What the host holds for one subscription.
pub struct HandlerEntry {
    /// `handler(payload, meta)` (or `handler(payloads, metas)` when batched) and
    /// `filter(payload, meta)` (falsy means "not for me", counted as filtered).
    pub functions: Functions,
    /// Whether deliveries come in batches (arrays).
    pub batched: bool,
    /// Whether the engine removes it after its deliveries run out (`once`).
    pub limited: bool,
    /// Unsubscribes on abort; removed with the entry.
    pub abort: Option<AbortHook>,
}

/// Handler entries in slots indexed like the engine's subscription table.
#[derive(Default)]
pub struct HandlerTable {
    slots: Vec<Option<(SubscriptionId, HandlerEntry)>>,
    len: usize,
}

impl HandlerTable {
    /// The entry of `id`, if it is still present (a stale generation finds nothing).
    pub fn get(&self, id: SubscriptionId) -> Option<&HandlerEntry> {
        match self.slots.get(id.index as usize) {
            Some(Some((held, entry))) if *held == id => Some(entry),
            _ => None,
        }
    }

    /// The entry of `id`, mutably.
    pub fn get_mut(&mut self, id: SubscriptionId) -> Option<&mut HandlerEntry> {
        match self.slots.get_mut(id.index as usize) {
            Some(Some((held, entry))) if *held == id => Some(entry),
            _ => None,
        }
    }

    /// Stores `entry` for `id`, returning what the slot held before (to be dropped by the
    /// caller outside any borrow).
    pub fn insert(&mut self, id: SubscriptionId, entry: HandlerEntry) -> Option<HandlerEntry> {
        let index = id.index as usize;
        if self.slots.len() <= index {
            self.slots.resize_with(index + 1, || None);
        }
        let previous = self
            .slots
            .get_mut(index)
            .and_then(|slot| slot.replace((id, entry)));
        if previous.is_none() {
            self.len += 1;
        }
        previous.map(|(_, entry)| entry)
    }

    /// Removes the entry of `id`.
    pub fn remove(&mut self, id: SubscriptionId) -> Option<HandlerEntry> {
        let slot = self.slots.get_mut(id.index as usize)?;
        match slot {
            Some((held, _)) if *held == id => {
                self.len -= 1;
                slot.take().map(|(_, entry)| entry)
            }
            _ => None,
        }
    }

    /// Removes every entry whose id `keep` rejects; returns the removed entries.
    pub fn remove_where(
        &mut self,
        mut gone: impl FnMut(SubscriptionId) -> bool,
    ) -> Vec<HandlerEntry> {
        let mut removed = Vec::new();
        for slot in &mut self.slots {
            if matches!(slot, Some((id, _)) if gone(*id)) {
                if let Some((_, entry)) = slot.take() {
                    removed.push(entry);
                }
            }
        }
        self.len -= removed.len();
        removed
    }

    /// Removes everything.
    pub fn clear(&mut self) -> Vec<HandlerEntry> {
        self.len = 0;
        self.slots
            .drain(..)
            .flatten()
            .map(|(_, entry)| entry)
            .collect()
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
